from __future__ import annotations

import time
from datetime import datetime

import httpx
import pytest

from engine.sandbox import SandboxConfig, start_in_thread
from engine.sandbox.client import control_client

from .conftest import fortnox_client, shopify_client


def test_create_order_is_visible_to_polling(shopify, control) -> None:
    before = control.get("shopify/orders").json()
    last = before[-1]
    body = {
        "email": "new.buyer@example.com",
        "shipping_country": "DE",
        "line_items": [{"sku": "MUG-STN-BLU-OS", "quantity": 2}],
    }
    created = control.post("shopify/orders", json=body)
    assert created.status_code == 201
    order = created.json()
    assert order["order_number"] == last["order_number"] + 1
    assert (
        order["currency"] == "SEK"
        and order["presentment_currency"] == "EUR"
        and order["shipping_address"]["country_code"] == "DE"
    )
    assert order["line_items"][0]["tax_lines"][0]["rate"] == 0.19
    assert order["customer"]["email"] == "new.buyer@example.com"
    polled = shopify.get(
        "orders.json", params={"updated_at_min": order["updated_at"], "status": "any"}
    ).json()
    assert order["id"] in {o["id"] for o in polled["orders"]}
    same_customer = control.post("shopify/orders", json={"email": "new.buyer@example.com"}).json()
    assert same_customer["customer"]["id"] == order["customer"]["id"]


def test_update_order_bumps_updated_at(shopify, control) -> None:
    order = control.get("shopify/orders").json()[10]
    line = order["line_items"][0]
    changed = control.post(
        f"shopify/orders/{order['id']}",
        json={"note": "gift", "line_items": [{"id": line["id"], "quantity": line["quantity"] + 1}]},
    ).json()
    assert changed["note"] == "gift"
    assert changed["updated_at"] > order["updated_at"]
    assert float(changed["total_price"]) > float(order["total_price"])
    fetched = shopify.get(f"orders/{order['id']}.json").json()["order"]
    assert fetched["updated_at"] == changed["updated_at"] and fetched["note"] == "gift"
    assert control.post("shopify/orders/1", json={}).status_code == 404


def test_refund_updates_status(shopify, control) -> None:
    order = next(o for o in control.get("shopify/orders").json() if o["financial_status"] == "paid")
    refund = control.post(
        f"shopify/orders/{order['id']}/refunds", json={"amount": "10.00", "note": "goodwill"}
    )
    assert refund.status_code == 201
    assert refund.json()["transactions"][0]["amount"] == "10.00"
    after = shopify.get(f"orders/{order['id']}.json").json()["order"]
    assert after["financial_status"] == "partially_refunded"
    assert after["updated_at"] > order["updated_at"]
    line = order["line_items"][0]
    full = control.post(
        f"shopify/orders/{order['id']}/refunds",
        json={
            "line_items": [
                {"line_item_id": li["id"], "quantity": li["quantity"]} for li in order["line_items"]
            ],
            "shipping": True,
        },
    )
    assert full.status_code == 201 and full.json()["refund_line_items"][0]["line_item_id"] == line["id"]
    assert shopify.get(f"orders/{order['id']}/refunds.json").json()["refunds"][-1]["id"] == full.json()["id"]
    assert shopify.get(f"orders/{order['id']}.json").json()["order"]["financial_status"] == "refunded"


def test_dumps_and_article_fix(sandbox, control, fortnox) -> None:
    for kind in ("orders", "products", "customers"):
        assert isinstance(control.get(f"shopify/{kind}").json(), list)
    for kind in ("orders", "invoices", "customers", "articles"):
        assert isinstance(control.get(f"fortnox/{kind}").json(), list)
    assert fortnox.get("articles/ENGRAVING-TEXT").status_code == 404
    made = control.post(
        "fortnox/articles", json={"ArticleNumber": "ENGRAVING-TEXT", "Description": "Engraving"}
    )
    assert made.status_code == 201
    assert fortnox.get("articles/ENGRAVING-TEXT").status_code == 200
    assert control.get("").json()["base_url"] == sandbox.base_url


def test_stats() -> None:
    with start_in_thread(SandboxConfig(orders=10, limits=False)) as sb, shopify_client(sb.info) as shop:
        control = control_client(sb.info)
        shop.get("orders.json")
        shop.get("orders/5100000017.json")
        httpx.get(sb.info["shopify"]["base_url"] + "orders.json")
        stats = control.get("stats").json()
        assert stats["shopify"]["requests"] == 3
        assert stats["shopify"]["by_status"] == {"200": 2, "401": 1}
        version = sb.info["shopify"]["base_url"].rstrip("/").rsplit("/", 1)[1]
        assert stats["shopify"]["by_path"][f"/shopify/admin/api/{version}/orders/{{id}}.json"] == 1
        assert stats["fortnox"]["requests"] == 0
        control.post("stats/reset")
        assert control.get("stats").json()["shopify"]["requests"] == 0


@pytest.fixture()
def faulty():
    with (
        start_in_thread(SandboxConfig(orders=10, limits=False)) as sb,
        fortnox_client(sb.info) as fortnox,
        control_client(sb.info) as control,
    ):
        yield sb, fortnox, control


def customers(control: httpx.Client) -> list[str]:
    return [c["Name"] for c in control.get("fortnox/customers").json()]


def test_fault_5xx_applies_nothing(faulty) -> None:
    _, fortnox, control = faulty
    assert control.post("faults", json={"platform": "fortnox", "error_5xx": 1.0}).status_code == 200
    response = fortnox.post("customers", json={"Customer": {"Name": "Ghost"}})
    assert response.status_code == 503
    assert customers(control) == []
    assert control.get("faults").json()["fortnox"]["error_5xx"] == 1.0
    # The token endpoint and the control API never fail.
    assert control.get("stats").status_code == 200
    control.delete("faults")
    assert fortnox.post("customers", json={"Customer": {"Name": "Real"}}).status_code == 201


def test_a_fault_aimed_at_one_step_leaves_the_others_alone(faulty) -> None:
    _, fortnox, control = faulty
    aimed = {"platform": "fortnox", "error_5xx": 1.0, "method": "POST", "path": "/customers"}
    assert control.post("faults", json=aimed).status_code == 200
    assert fortnox.get("customers").status_code == 200  # another method
    assert (
        fortnox.post("articles", json={"Article": {"ArticleNumber": "A1", "Description": "A"}}).status_code
        == 201
    )
    assert fortnox.post("customers", json={"Customer": {"Name": "Ghost"}}).status_code == 503
    assert customers(control) == []


def test_fault_429_applies_nothing(faulty) -> None:
    sb, fortnox, control = faulty
    control.post("faults", json={"platform": "*", "rate_429": 1.0})
    response = fortnox.post("customers", json={"Customer": {"Name": "Ghost"}})
    assert response.status_code == 429 and response.json()["ErrorInformation"]["message"] == "För många anrop"
    assert customers(control) == []
    with shopify_client(sb.info) as shop:
        throttled = shop.get("orders.json")
        assert throttled.status_code == 429 and "retry-after" in throttled.headers


def test_fault_timeout_applies_the_write(faulty) -> None:
    _, fortnox, control = faulty
    control.post("faults", json={"platform": "fortnox", "timeout": 1.0, "timeout_seconds": 1.0})
    with pytest.raises(httpx.ReadTimeout):
        fortnox.post("customers", json={"Customer": {"Name": "Applied"}}, timeout=0.3)
    assert customers(control) == ["Applied"]


def test_fault_drop_applies_the_write(faulty) -> None:
    _, fortnox, control = faulty
    control.post("faults", json={"platform": "fortnox", "drop": 1.0})
    with pytest.raises(httpx.RemoteProtocolError):
        fortnox.post("customers", json={"Customer": {"Name": "Dropped"}})
    assert customers(control) == ["Dropped"]
    assert control.get("stats").json()["fortnox"]["by_status"].get("dropped") == 1


def test_fault_malformed_and_slow(faulty) -> None:
    _, fortnox, control = faulty
    control.post("faults", json={"platform": "fortnox", "malformed_json": 1.0})
    broken = fortnox.get("currencies")
    assert broken.status_code == 200
    with pytest.raises(ValueError):
        broken.json()
    control.post("faults", json={"platform": "fortnox", "slow": 1.0, "slow_seconds": 0.2})
    started = datetime.now()
    assert fortnox.get("currencies").json()["Currencies"]
    assert (datetime.now() - started).total_seconds() >= 0.2


def test_fault_rates_are_seeded(faulty) -> None:
    _, fortnox, control = faulty

    def run() -> list[int]:
        control.post("faults", json={"platform": "fortnox", "error_5xx": 0.5, "seed": 7})
        return [fortnox.get("currencies").status_code for _ in range(20)]

    first = run()
    assert first == run()
    assert 503 in first and 200 in first


def test_fault_slow_still_applies_when_client_gives_up(faulty) -> None:
    _, fortnox, control = faulty
    control.post("faults", json={"platform": "fortnox", "slow": 1.0, "slow_seconds": 0.5})
    with pytest.raises(httpx.ReadTimeout):
        fortnox.post("customers", json={"Customer": {"Name": "Patient"}}, timeout=0.1)
    deadline = datetime.now().timestamp() + 3
    while customers(control) != ["Patient"] and datetime.now().timestamp() < deadline:
        time.sleep(0.05)
    assert customers(control) == ["Patient"]


def test_a_real_order_is_replayed_as_given(shopify, control) -> None:
    """POST {"order": …} stores a complete REST order unchanged, filling only what is absent."""
    real = control.get("shopify/orders").json()[3]
    for key in ("id", "name", "order_number", "number", "created_at", "updated_at", "processed_at"):
        real.pop(key)
    real["line_items"][0]["sku"] = None  # a shape the generator never makes must survive as given
    real["total_tip_received"] = "12.00"
    stored = control.post("shopify/orders", json={"order": real})
    assert stored.status_code == 201
    order = stored.json()
    assert order["name"] == f"#{order['order_number']}" and order["id"] > 0
    served = shopify.get(f"orders/{order['id']}.json").json()["order"]
    assert served == order
    assert served["line_items"][0]["sku"] is None and served["total_tip_received"] == "12.00"
    assert datetime.fromisoformat(served["created_at"]).tzinfo is not None
    polled = shopify.get("orders.json", params={"updated_at_min": served["updated_at"], "status": "any"})
    assert order["id"] in {o["id"] for o in polled.json()["orders"]}

    again = control.post("shopify/orders", json={"order": order})
    assert again.status_code == 409
    assert control.post("shopify/orders", json={"order": ["not", "an", "order"]}).status_code == 400
    dated = {**real, "created_at": "2026-11-02 10:00"}
    assert "offset" in control.post("shopify/orders", json={"order": dated}).json()["error"]


def test_without_read_all_orders_older_orders_vanish_silently(shopify, control) -> None:
    real = control.get("shopify/orders").json()[0]
    for key in ("id", "name", "order_number", "number", "updated_at", "processed_at"):
        real.pop(key)
    real["created_at"] = datetime.fromtimestamp(time.time() - 61 * 86_400).astimezone().isoformat()
    old = control.post("shopify/orders", json={"order": real}).json()
    scopes = shopify.get("../../oauth/access_scopes.json").json()["access_scopes"]
    assert {"handle": "read_all_orders"} in scopes
    count = shopify.get("orders/count.json", params={"status": "any"}).json()["count"]
    try:
        control.post("shopify/access-scopes", json={"scopes": ["read_orders"]})
        assert shopify.get("../../oauth/access_scopes.json").json() == {
            "access_scopes": [{"handle": "read_orders"}]
        }
        assert shopify.get(f"orders/{old['id']}.json").status_code == 404
        listed = shopify.get("orders.json", params={"status": "any", "limit": 250}).json()["orders"]
        assert old["id"] not in {o["id"] for o in listed}
        assert shopify.get("orders/count.json", params={"status": "any"}).json()["count"] == count - 1
    finally:
        control.post("shopify/access-scopes", json={"scopes": ["read_orders", "read_all_orders"]})
    assert shopify.get(f"orders/{old['id']}.json").status_code == 200
