"""Buyers' countries as Fortnox names them, buyers whose data Shopify withholds, and the engine
finding its own documents in Fortnox's list subsets: end to end over HTTP against the sandbox."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterator

import pytest

from engine.sandbox.server import SandboxConfig, start_in_thread
from engine.service import Service
from tests.e2e.conftest import Sandbox, sync
from tests.e2e.test_order_flow import _answers_time_out_after


@pytest.fixture
def shop() -> Iterator[Sandbox]:
    with start_in_thread(SandboxConfig(orders=0, seed=7, time_scale=0.01)) as running:
        sb = Sandbox(running)
        yield sb
        sb.http.close()


@pytest.fixture
def linked(service: Service, shop: Sandbox) -> tuple[Service, Sandbox, int]:
    return service, shop, asyncio.run(service.connect_sandbox(shop.info, "Shop")).id  # type: ignore[return-value]


def _fortnox(sb: Sandbox, what: str, key: str, value: str) -> list[dict]:
    return [d for d in sb.get(f"fortnox/{what}") if str(d.get(key)) == str(value)]


def test_each_buyer_gets_fortnox_name_for_their_country(linked) -> None:
    service, sb, iid = linked
    expected = {"SE": "Sverige", "DE": "Germany", "NO": "Norway", "US": "United States"}
    placed = {
        code: sb.post(
            "shopify/orders",
            {
                "financial_status": "paid",
                "shipping_country": code,
                "email": f"buyer.{code.lower()}@example.com",
            },
        )
        for code in expected
    }
    sync(service)
    for code, order in placed.items():
        if code == "SE":
            assert order["shipping_address"]["country"] == "Sweden"  # Shopify's name, not Fortnox's
        [entity] = service.entities(iid, entity_type="order", ref=order["name"])
        assert entity.status == "synced", (code, entity.error_code, entity.error_message)
        [fortnox_order] = _fortnox(sb, "orders", "YourOrderNumber", order["name"])
        assert (fortnox_order["Country"], fortnox_order["DeliveryCountry"]) == (
            expected[code],
            expected[code],
        )
        [invoice] = _fortnox(sb, "invoices", "ExternalInvoiceReference1", order["name"])
        assert invoice["Country"] == expected[code]
        [customer] = _fortnox(sb, "customers", "CustomerNumber", fortnox_order["CustomerNumber"])
        assert (customer["CountryCode"], customer["Country"]) == (code, expected[code])


def test_withheld_buyer_waits_for_a_default_name_then_syncs_once(linked) -> None:
    service, sb, iid = linked
    service.save_settings(iid, "customer", {"default_name": "", "default_email": ""})
    buyer = "hidden.buyer@example.com"
    first = sb.post(
        "shopify/orders", {"financial_status": "paid", "email": buyer, "customer_data_withheld": True}
    )
    assert first["email"] is None and "billing_address" not in first and "email" not in first["customer"]
    sync(service)

    [entity] = service.entities(iid, entity_type="order", ref=first["name"])
    assert (entity.status, entity.error_code) == ("error", "FORTNOX_CUSTOMER_NAME_EMPTY")
    assert "Customer Settings" in entity.error_message
    assert not _fortnox(sb, "orders", "YourOrderNumber", first["name"])
    assert not sb.get("fortnox/customers")

    service.save_settings(iid, "customer", {"default_name": "Webbkund", "default_email": "kund@example.se"})
    done = asyncio.run(service.run_now(service.retry_entity(entity.id)))
    assert done.synced == 1
    second = sb.post(
        "shopify/orders", {"financial_status": "paid", "email": buyer, "customer_data_withheld": True}
    )
    sync(service)

    assert service.entity(entity.id).status == "synced"
    customers = sb.get("fortnox/customers")
    assert [(c["Name"], c["Email"], c["ExternalReference"]) for c in customers] == [
        ("Webbkund", "kund@example.se", str(first["customer"]["id"]))
    ]
    for order in (first, second):
        [fortnox_order] = _fortnox(sb, "orders", "YourOrderNumber", order["name"])
        assert fortnox_order["CustomerNumber"] == customers[0]["CustomerNumber"]
        assert fortnox_order["CustomerName"] == "Webbkund" and fortnox_order["Country"] == ""


def test_orders_whose_create_answer_is_lost_are_found_in_list_subsets(linked) -> None:
    """Fortnox's order list rows carry no YourOrderNumber or InvoiceReference; the engine finds the
    orders it created (answer lost) by ExternalInvoiceReference1 and reads them whole."""
    service, sb, iid = linked
    placed = [
        sb.post("shopify/orders", {"financial_status": "paid", "email": f"b{i}@example.com"})
        for i in range(3)
    ]
    _answers_time_out_after(service, 0.5)
    sb.post("faults", {"platform": "fortnox", "method": "POST", "path": "/orders", "drop": 1.0, "seed": 3})
    sync(service)
    sb.http.delete("faults")

    counts = Counter(o["YourOrderNumber"] for o in sb.get("fortnox/orders"))
    assert counts == Counter({o["name"]: 1 for o in placed})
    for order in placed:
        [entity] = service.entities(iid, entity_type="order", ref=order["name"])
        assert entity.status == "synced", (entity.error_code, entity.error_message)
        assert len(_fortnox(sb, "invoices", "ExternalInvoiceReference1", order["name"])) == 1
    assert any(log.code == "ADOPTED" for log in service.logs(iid, text="Adopted"))


def test_an_edited_order_keeps_its_rows_in_fortnox(linked) -> None:
    """An order edited in Shopify before it is invoiced is updated in Fortnox with the RowIds just
    read: each Fortnox row stays the line it was (a bookkeeper's change to a row stays on that row)
    and the removed line's row goes. Without RowIds Fortnox pairs rows by position and the
    bookkeeper's change would move to another line."""
    service, sb, _ = linked
    order = sb.post(
        "shopify/orders",
        {
            "financial_status": "authorized",
            "line_items": [
                {"sku": "TEE-ORG-BLK-M", "quantity": 1},
                {"sku": "MUG-STN-BLU-OS", "quantity": 2},
                {"sku": "COFFEE-BEAN-ETH-250G", "quantity": 1},
            ],
        },
    )
    sync(service)
    [before] = _fortnox(sb, "orders", "YourOrderNumber", order["name"])
    assert [r["ArticleNumber"] for r in before["OrderRows"]] == [
        "TEE-ORG-BLK-M",
        "MUG-STN-BLU-OS",
        "COFFEE-BEAN-ETH-250G",
    ]
    tee, mug, coffee = (r["RowId"] for r in before["OrderRows"])
    with sb.fortnox_user() as bookkeeper:
        rows = [{"RowId": tee}, {"RowId": mug, "Unit": "förp"}, {"RowId": coffee}]
        answer = bookkeeper.put(f"orders/{before['DocumentNumber']}", json={"Order": {"OrderRows": rows}})
        assert answer.status_code == 200, answer.text

    edited = sb.post(
        f"shopify/orders/{order['id']}",
        {"line_items": [{"sku": "TEE-ORG-BLK-M", "quantity": 0}, {"sku": "MUG-STN-BLU-OS", "quantity": 3}]},
    )
    sync(service)
    [after] = _fortnox(sb, "orders", "YourOrderNumber", order["name"])
    assert [(r["ArticleNumber"], r["OrderedQuantity"], r["VAT"], r["Unit"]) for r in after["OrderRows"]] == [
        ("MUG-STN-BLU-OS", 3, 25, "förp"),
        ("COFFEE-BEAN-ETH-250G", 1, 12, "st"),
    ]
    assert abs(after["Total"] - float(edited["total_price"])) < 0.005
