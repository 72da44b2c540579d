"""VAT, rows and accounts end to end: what Fortnox holds after Export One of real-shaped orders, over
real HTTP against the strict sandbox."""

from __future__ import annotations

import asyncio
from typing import Any

from engine.errors import hint
from engine.sandbox.generator import cents_of, money
from tests.e2e.conftest import INTENDED_ERRORS, Sandbox, sync


def _export(service, iid: int, ref: str) -> Any:
    flow = service.flows(iid)[0]
    return asyncio.run(service.run_now(service.export_one(flow, ref)))


def _entity(service, iid: int, ref: str):
    [entity] = service.entities(iid, entity_type="order", ref=ref)
    return entity


def _invoice(sb: Sandbox, ref: str) -> dict[str, Any]:
    [invoice] = [i for i in sb.get("fortnox/invoices") if i["ExternalInvoiceReference1"] == ref]
    return invoice


def _customer(sb: Sandbox, number: str) -> dict[str, Any]:
    return next(c for c in sb.get("fortnox/customers") if c["CustomerNumber"] == number)


def _replace(sb: Sandbox, order: dict[str, Any], **fields: Any) -> dict[str, Any]:
    """Store fields of a Shopify order exactly as given (real shapes the factory doesn't make), with
    the order's total following its lines and shipping as Shopify's would."""
    merged = {**order, **fields}
    if "line_items" in fields:
        # Lines copied from another keep its `*_set` twins; the amounts given here are the true ones.
        fields["line_items"] = [
            {k: v for k, v in li.items() if k not in ("price_set", "total_discount_set")}
            for li in fields["line_items"]
        ]
    total = sum(
        cents_of(li["price"]) * li["quantity"] - cents_of(li["total_discount"]) for li in merged["line_items"]
    ) + sum(cents_of(s["discounted_price"]) for s in merged["shipping_lines"])
    fields["total_price"] = money(total)
    twin = {"amount": money(total), "currency_code": order["currency"]}
    fields["total_price_set"] = {"shop_money": twin, "presentment_money": twin}
    return sb.post(f"shopify/orders/{order['id']}", {"replace": fields})


def _untaxed(holders: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{**h, "tax_lines": []} for h in holders]


def test_german_consumer_waits_for_its_oss_account_then_books_there(connected) -> None:
    service, sb, iid = connected
    service.save_settings(iid, "sales_accounts", {"oss_accounts": {}})
    order = sb.post(
        "shopify/orders",
        {"financial_status": "paid", "shipping_country": "DE", "line_items": [{"sku": "TEE-ORG-BLK-M"}]},
    )
    assert _export(service, iid, order["name"]).failed == 1
    failed = _entity(service, iid, order["name"])
    assert failed.error_code == "OSS_COUNTRY_TAX_MAPPING_MISSING"
    assert "Germany (DE) at 19 % VAT" in failed.error_message
    assert hint("OSS_COUNTRY_TAX_MAPPING_MISSING") in failed.error_message
    # Stopped before anything reached Fortnox: no customer, no order.
    assert order["name"] not in sb.fortnox_orders_by_ref()
    assert str(order["customer"]["id"]) not in {c["ExternalReference"] for c in sb.get("fortnox/customers")}

    service.save_settings(iid, "sales_accounts", {"oss_accounts": {"DE": "3162"}})
    assert _export(service, iid, order["name"]).synced == 1
    invoice = _invoice(sb, order["name"])
    goods, shipping = invoice["InvoiceRows"]
    assert (goods["ArticleNumber"], goods["AccountNumber"], goods["VAT"]) == ("TEE-ORG-BLK-M", 3162, 19)
    # Fortnox's Freight would carry Swedish VAT: German shipping goes as a row on the OSS account.
    assert (shipping["AccountNumber"], shipping["VAT"], invoice["Freight"]) == (3162, 19, 0)
    assert abs(invoice["Total"] - float(order["total_price"])) < 0.005
    assert _customer(sb, invoice["CustomerNumber"])["VATType"] == "EUVAT"


def test_gift_card_is_a_liability_and_a_custom_line_gets_the_order_lines_account(connected) -> None:
    service, sb, iid = connected
    order = sb.post(
        "shopify/orders",
        {"financial_status": "paid", "shipping_country": "SE", "line_items": [{"sku": "MUG-STN-BLU-OS"}]},
    )
    gift_card = {
        **order["line_items"][0],
        "id": 1,
        "sku": None,
        "product_id": None,
        "variant_id": None,
        "quantity": 1,
        "total_discount": "0.00",
        "discount_allocations": [],
        "title": "Presentkort",
        "price": "500.00",
        "gift_card": True,
        "taxable": False,
        "tax_lines": [],
    }
    custom = {
        **order["line_items"][0],
        "id": 2,
        "sku": "",
        "product_id": None,
        "variant_id": None,
        "quantity": 1,
        "total_discount": "0.00",
        "discount_allocations": [],
        "title": "Presentinslagning",
        "price": "49.00",
        "tax_lines": [{"title": "Moms", "rate": 0.25, "price": "9.80"}],
    }
    order = _replace(sb, order, line_items=[*order["line_items"], gift_card, custom])
    assert _export(service, iid, order["name"]).synced == 1
    invoice = _invoice(sb, order["name"])
    article, card, wrapping = invoice["InvoiceRows"]
    assert (article["ArticleNumber"], article["VAT"]) == ("MUG-STN-BLU-OS", 25)
    assert (card["ArticleNumber"], card["AccountNumber"], card["VAT"], card["Total"]) == ("", 2421, 0, 500)
    assert (wrapping["ArticleNumber"], wrapping["AccountNumber"], wrapping["VAT"]) == ("", 3001, 25)
    assert abs(invoice["Total"] - float(order["total_price"])) < 0.005


def test_eu_business_with_vat_number_is_reverse_charged(connected) -> None:
    service, sb, iid = connected
    order = sb.post(
        "shopify/orders",
        {"financial_status": "paid", "shipping_country": "NL", "line_items": [{"sku": "BLNKT-WOOL-GRY-OS"}]},
    )
    billing = {**order["billing_address"], "company": "Atelier Noord B.V."}
    order = _replace(
        sb,
        order,
        note_attributes=[{"name": "VAT number", "value": "NL 123456789 B01"}],
        billing_address=billing,
        line_items=_untaxed(order["line_items"]),
        shipping_lines=_untaxed(order["shipping_lines"]),
    )
    assert _export(service, iid, order["name"]).synced == 1
    invoice = _invoice(sb, order["name"])
    assert [(r["AccountNumber"], r["VAT"]) for r in invoice["InvoiceRows"]] == [(3108, 0), (3108, 0)]
    assert invoice["TotalVAT"] == 0 and abs(invoice["Total"] - float(order["total_price"])) < 0.005
    customer = _customer(sb, invoice["CustomerNumber"])
    assert (customer["VATType"], customer["VATNumber"], customer["Type"]) == (
        "EUREVERSEDVAT",
        "NL123456789B01",
        "COMPANY",
    )


def test_buyer_outside_the_eu_is_export(connected) -> None:
    service, sb, iid = connected
    order = sb.post("shopify/orders", {"financial_status": "paid", "shipping_country": "US"})
    assert _export(service, iid, order["name"]).synced == 1
    invoice = _invoice(sb, order["name"])
    assert {(r["AccountNumber"], r["VAT"]) for r in invoice["InvoiceRows"]} == {(3105, 0)}
    assert _customer(sb, invoice["CustomerNumber"])["VATType"] == "EXPORT"


def test_missing_and_inactive_accounts_end_in_their_codes_with_fortnox_message(connected) -> None:
    service, sb, iid = connected
    order = sb.post("shopify/orders", {"financial_status": "paid", "shipping_country": "SE"})
    tip = {
        **order["line_items"][0],
        "id": 3,
        "sku": None,
        "product_id": None,
        "variant_id": None,
        "quantity": 1,
        "total_discount": "0.00",
        "discount_allocations": [],
        "title": "Tip",
        "price": "50.00",
        "taxable": False,
        "tax_lines": [],
        "tip_payment_gateway": "stripe",
        "tip_payment_method": "card",
    }
    order = _replace(sb, order, line_items=[*order["line_items"], tip], total_tip_received="50.00")
    for account, code, message in (
        ("3999", "FORTNOX_ACCOUNT_NOT_FOUND", "Kunde inte hitta konto 3999"),
        ("3051", "FORTNOX_ACCOUNT_INACTIVE", 'Konto "3051" är inte aktivt'),
    ):
        service.save_settings(iid, "order_lines", {"tip_account": account})
        assert _export(service, iid, order["name"]).failed == 1
        entity = _entity(service, iid, order["name"])
        assert entity.error_code == code
        assert message in entity.error_message and hint(code) in entity.error_message
    service.save_settings(iid, "order_lines", {"tip_account": "3990"})
    assert _export(service, iid, order["name"]).synced == 1
    tip_row = _invoice(sb, order["name"])["InvoiceRows"][-1]
    assert (tip_row["AccountNumber"], tip_row["VAT"], tip_row["Total"]) == (3990, 0, 50)


def test_the_demo_shop_has_every_situation_and_books_them(connected) -> None:
    service, sb, iid = connected
    shop = sb.get("shopify/orders")
    lines = [li for o in shop for li in o["line_items"]]
    assert any(li["gift_card"] for li in lines)
    assert any(li.get("tip_payment_gateway") for li in lines)
    assert any(li["sku"] is None for li in lines) and any(li["sku"] == "" for li in lines)
    assert any(o["note_attributes"] for o in shop)
    sync(service)
    errors = {e.error_code for e in service.entities(iid, entity_type="order") if e.error_code}
    assert errors <= INTENDED_ERRORS
    invoices = {i["ExternalInvoiceReference1"]: i for i in sb.get("fortnox/invoices")}
    booked = [invoices[o["name"]] for o in shop if o["name"] in invoices]
    accounts = {r["AccountNumber"] for i in booked for r in i["InvoiceRows"]}
    assert {2421, 3990} <= accounts
