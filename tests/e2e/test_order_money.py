"""Discounts, currencies and totals end to end: the Fortnox invoice totals what the buyer paid in
Shopify, to the öre, or the order ends in a coded error; over real HTTP against the sandbox."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

from engine.store.models import Entity

CENT = Decimal("0.005")


def _export(service, iid: int, ref: str) -> Entity:
    flow = service.flows(iid)[0]
    asyncio.run(service.run_now(service.export_one(flow, ref)))
    [entity] = service.entities(iid, entity_type="order", ref=ref)
    return entity


def _money(holder: dict[str, Any], key: str, side: str = "shop_money") -> Decimal:
    return Decimal(holder[f"{key}_set"][side]["amount"])


def _documents(sb, ref: str) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    orders = [o for o in sb.get("fortnox/orders") if o["YourOrderNumber"] == ref]
    invoices = [i for i in sb.get("fortnox/invoices") if i["ExternalInvoiceReference1"] == ref]
    assert len(orders) <= 1 and len(invoices) <= 1
    return (orders[0] if orders else None), (invoices[0] if invoices else None)


def _synced_invoice(service, sb, iid: int, order: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    entity = _export(service, iid, order["name"])
    assert entity.status == "synced", (entity.error_code, entity.error_message)
    fortnox_order, invoice = _documents(sb, order["name"])
    assert fortnox_order is not None and invoice is not None and invoice["Booked"]
    return fortnox_order, invoice


def _discounts(order: dict[str, Any], side: str = "shop_money") -> list[Decimal]:
    return [
        sum((_money(a, "amount", side) for a in li["discount_allocations"]), Decimal(0))
        for li in order["line_items"]
    ]


def test_a_discount_code_reaches_the_rows_and_the_invoice_totals_what_was_paid(connected) -> None:
    service, sb, iid = connected
    order = sb.post(
        "shopify/orders",
        {
            "discount_code": "WELCOME10",
            "line_items": [
                {"sku": "TEE-ORG-BLK-M", "quantity": 3},
                {"sku": "COFFEE-BEAN-ETH-250G", "quantity": 1},
            ],
        },
    )
    # As Shopify sends it: the code's amounts only in the allocations.
    assert all(li["total_discount"] == "0.00" for li in order["line_items"])
    assert _discounts(order) == [Decimal("89.70"), Decimal("15.90")]
    fortnox_order, invoice = _synced_invoice(service, sb, iid, order)
    assert [Decimal(str(r["Discount"])) for r in fortnox_order["OrderRows"]] == [
        Decimal("89.70"),
        Decimal("15.90"),
    ]
    assert abs(Decimal(str(invoice["Total"])) - Decimal(order["total_price"])) < CENT
    assert Decimal(order["total_price"]) == Decimal("897.00") - Decimal("89.70") + Decimal(
        "159.00"
    ) - Decimal("15.90") + Decimal(order["shipping_lines"][0]["price"])


def test_an_automatic_discount_reduces_only_the_entitled_rows(connected) -> None:
    service, sb, iid = connected
    order = sb.post(
        "shopify/orders",
        {
            "automatic_discount": "Winter sale",
            "line_items": [
                {"sku": "HOOD-MER-GRY-M", "quantity": 1},
                {"sku": "MUG-STN-BLU-OS", "quantity": 2},
            ],
        },
    )
    [application] = order["discount_applications"]
    assert application["type"] == "automatic" and application["target_selection"] == "entitled"
    fortnox_order, invoice = _synced_invoice(service, sb, iid, order)
    assert [r["Discount"] for r in fortnox_order["OrderRows"]] == [179.80, 0]
    assert abs(Decimal(str(invoice["Total"])) - Decimal(order["total_price"])) < CENT


def test_free_shipping_leaves_no_freight(connected) -> None:
    service, sb, iid = connected
    order = sb.post(
        "shopify/orders",
        {"discount_code": "FREESHIP", "line_items": [{"sku": "TOTE-CANV-NAT-OS", "quantity": 2}]},
    )
    [shipping] = order["shipping_lines"]
    assert Decimal(shipping["price"]) > 0 and _money(
        shipping["discount_allocations"][0], "amount"
    ) == Decimal(shipping["price"])
    fortnox_order, invoice = _synced_invoice(service, sb, iid, order)
    assert fortnox_order["Freight"] == 0
    assert invoice["Total"] == 398.00 and order["total_price"] == "398.00"


def test_an_order_level_fixed_amount_is_spread_across_the_rows(connected) -> None:
    service, sb, iid = connected
    order = sb.post(
        "shopify/orders",
        {
            "discount_code": "SAVE100",
            "line_items": [
                {"sku": "TEE-ORG-BLK-M", "quantity": 1},
                {"sku": "CHOC-BAR-DARK-80G", "quantity": 3},
                {"sku": "BOOK-COOK-NORD-HC", "quantity": 1},
            ],
        },
    )
    assert sum(_discounts(order)) == Decimal("100.00") and order["discount_codes"][0]["amount"] == "100.00"
    fortnox_order, invoice = _synced_invoice(service, sb, iid, order)
    assert sum(Decimal(str(r["Discount"])) for r in fortnox_order["OrderRows"]) == Decimal("100.00")
    assert abs(Decimal(str(invoice["Total"])) - Decimal(order["total_price"])) < CENT


def _euro_order(sb) -> dict[str, Any]:
    return sb.post(
        "shopify/orders",
        {
            "shipping_country": "DE",
            "discount_code": "BLACKWEEK15",
            "line_items": [
                {"sku": "HOOD-MER-GRY-M", "quantity": 1},
                {"sku": "SOCK-WOOL-RED-M", "quantity": 3},
            ],
        },
    )


def test_a_euro_buyer_is_booked_in_the_shops_kronor_by_default(connected) -> None:
    service, sb, iid = connected
    order = _euro_order(sb)
    assert order["currency"] == "SEK" and order["presentment_currency"] == "EUR"
    fortnox_order, invoice = _synced_invoice(service, sb, iid, order)
    assert invoice["Currency"] == "SEK" and invoice["CurrencyRate"] == 1
    assert abs(Decimal(str(invoice["Total"])) - Decimal(order["total_price"])) < CENT
    first = fortnox_order["OrderRows"][0]
    assert Decimal(str(first["Price"])) == Decimal(order["line_items"][0]["price"])


def test_a_euro_buyer_in_euro_with_use_presentment_currency(connected) -> None:
    service, sb, iid = connected
    service.save_settings(iid, "order", {"use_presentment_currency": True})
    order = _euro_order(sb)
    paid = _money(order, "total_price", "presentment_money")
    booked = Decimal(order["total_price"])
    fortnox_order, invoice = _synced_invoice(service, sb, iid, order)
    assert invoice["Currency"] == "EUR"
    assert abs(Decimal(str(invoice["Total"])) - paid) < CENT
    # The goods' rows, then shipping as a row of its own: Freight would carry Swedish VAT.
    rows, [shipping] = fortnox_order["OrderRows"][:-1], fortnox_order["OrderRows"][-1:]
    assert [Decimal(str(r["Price"])) for r in rows] == [
        _money(li, "price", "presentment_money") for li in order["line_items"]
    ]
    assert [Decimal(str(r["Discount"])) for r in rows] == _discounts(order, "presentment_money")
    assert Decimal(str(shipping["Price"])) == _money(
        order["shipping_lines"][0], "discounted_price", "presentment_money"
    )
    # The rate is the order's own (shop total over the buyer's total), so the books meet the shop's SEK.
    assert invoice["CurrencyRate"] == float((booked / paid).quantize(Decimal("0.0001")))
    assert abs(Decimal(str(invoice["Total"])) * Decimal(str(invoice["CurrencyRate"])) - booked) < Decimal(
        "0.05"
    )


def test_a_total_fortnox_would_round_ends_in_a_coded_error_and_no_invoice(connected) -> None:
    service, sb, iid = connected
    sb.post("fortnox/settings", {"round_whole_kronor": True})
    order = sb.post(
        "shopify/orders",
        {"discount_code": "WELCOME10", "line_items": [{"sku": "SOCK-WOOL-GRY-S", "quantity": 1}]},
    )
    assert not order["total_price"].endswith(".00")
    entity = _export(service, iid, order["name"])
    assert entity.status == "error" and entity.error_code == "FORTNOX_TOTAL_MISMATCH"
    rounded = Decimal(order["total_price"]).quantize(Decimal(1))
    assert f"totals {rounded:.2f} SEK but the buyer paid {order['total_price']} SEK" in entity.error_message
    assert "öresutjämning" in entity.error_message
    fortnox_order, invoice = _documents(sb, order["name"])
    assert fortnox_order is not None and invoice is None, "a wrong total must never be invoiced"

    # Once the company stops rounding, a Retry finishes the same Fortnox order.
    sb.post("fortnox/settings", {"round_whole_kronor": False})
    again, invoice = _synced_invoice(service, sb, iid, order)
    assert again["DocumentNumber"] == fortnox_order["DocumentNumber"]
    assert abs(Decimal(str(invoice["Total"])) - Decimal(order["total_price"])) < CENT


def test_an_amount_the_document_cannot_hold_is_refused_before_anything_is_created(connected) -> None:
    service, sb, iid = connected
    order = sb.post("shopify/orders", {"line_items": [{"sku": "MUG-STN-WHT-OS", "quantity": 1}]})
    # A fee Shopify charged on top (e.g. duties) that has no row on the document.
    charged = Decimal(order["total_price"]) + Decimal("25.00")
    total = {"amount": f"{charged:.2f}", "currency_code": "SEK"}
    sb.post(
        f"shopify/orders/{order['id']}",
        {
            "replace": {
                "total_price": total["amount"],
                "total_price_set": {"shop_money": total, "presentment_money": total},
            }
        },
    )
    entity = _export(service, iid, order["name"])
    assert entity.status == "error" and entity.error_code == "FORTNOX_TOTAL_MISMATCH"
    assert f"would total {Decimal(order['total_price']):.2f} SEK but the buyer paid {charged:.2f} SEK" in (
        entity.error_message
    )
    assert _documents(sb, order["name"]) == (None, None)
