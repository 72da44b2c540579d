from __future__ import annotations

import re
from datetime import datetime

import httpx

from engine.sandbox import SandboxConfig, start_in_thread

from .conftest import shopify_client

LINK = re.compile(r'<([^>]+)>; rel="(next|previous)"')


def links(response: httpx.Response) -> dict[str, str]:
    return {rel: url for url, rel in LINK.findall(response.headers.get("link", ""))}


def test_auth_required(sandbox) -> None:
    url = sandbox.info["shopify"]["base_url"] + "orders.json"
    for headers in ({}, {"X-Shopify-Access-Token": "shpat_sandbox_wrong"}):
        response = httpx.get(url, headers=headers)
        assert response.status_code == 401
        assert response.json() == {
            "errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"
        }


def test_pagination_walks_every_order_once(shopify, control) -> None:
    expected = [o["id"] for o in control.get("shopify/orders").json()]
    seen: list[int] = []
    response = shopify.get("orders.json", params={"status": "any", "limit": 37})
    assert "previous" not in links(response)
    pages = 0
    while True:
        assert response.status_code == 200
        assert response.headers["x-shopify-shop-api-call-limit"].endswith("/40")
        seen += [o["id"] for o in response.json()["orders"]]
        pages += 1
        nxt = links(response).get("next")
        if pages > 1:
            assert "previous" in links(response)
        if nxt is None:
            break
        response = shopify.get(nxt)
    assert seen == sorted(expected)
    assert len(seen) == len(set(seen)) >= 200
    assert pages == -(-len(expected) // 37)


def test_previous_link_goes_back(shopify) -> None:
    first = shopify.get("orders.json", params={"status": "any", "limit": 10})
    second = shopify.get(links(first)["next"])
    back = shopify.get(links(second)["previous"])
    assert [o["id"] for o in back.json()["orders"]] == [o["id"] for o in first.json()["orders"]]


def test_single_page_has_no_link(shopify) -> None:
    response = shopify.get("orders.json", params={"status": "any", "limit": 250, "name": "#1001"})
    assert "link" not in response.headers
    assert [o["name"] for o in response.json()["orders"]] == ["#1001"]


def test_page_info_rejects_other_params(shopify) -> None:
    first = shopify.get("orders.json", params={"status": "any", "limit": 5})
    page_info = links(first)["next"].split("page_info=")[1]
    ok = shopify.get("orders.json", params={"page_info": page_info, "limit": 5, "fields": "id,name"})
    assert ok.status_code == 200
    assert set(ok.json()["orders"][0]) == {"id", "name"}
    bad = shopify.get("orders.json", params={"page_info": page_info, "status": "any"})
    assert bad.status_code == 400
    assert "page_info" in bad.json()["errors"]
    assert shopify.get("orders.json", params={"page_info": "garbage!"}).status_code == 400


def test_limit_bounds(shopify) -> None:
    assert shopify.get("orders.json", params={"limit": 251}).status_code == 400
    assert len(shopify.get("orders.json", params={"status": "any"}).json()["orders"]) == 50


def test_status_filters(shopify, control) -> None:
    everything = control.get("shopify/orders").json()
    cancelled = {o["id"] for o in everything if o["cancelled_at"]}
    assert cancelled, "the generator cancels about 5% of the orders"

    def ids(**params: str) -> set[int]:
        return {o["id"] for o in shopify.get("orders.json", params={"limit": 250, **params}).json()["orders"]}

    assert ids(status="cancelled") == cancelled
    assert ids() == {o["id"] for o in everything if not o["cancelled_at"]}
    assert ids(status="any") == {o["id"] for o in everything}
    paid = ids(status="any", financial_status="paid")
    assert paid == {o["id"] for o in everything if o["financial_status"] == "paid"}
    assert shopify.get("orders/count.json", params={"status": "any"}).json() == {"count": len(everything)}


def test_updated_at_window_with_offsets(shopify, control) -> None:
    everything = control.get("shopify/orders").json()
    stamps = sorted(datetime.fromisoformat(o["updated_at"]) for o in everything)
    lo, hi = stamps[50], stamps[120]
    # Same instants written with a different offset must select the same orders.
    params = {
        "status": "any",
        "limit": 250,
        "updated_at_min": lo.astimezone().isoformat(),
        "updated_at_max": hi.isoformat(),
    }
    got = {o["id"] for o in shopify.get("orders.json", params=params).json()["orders"]}
    want = {o["id"] for o in everything if lo <= datetime.fromisoformat(o["updated_at"]) <= hi}
    assert got == want and len(got) >= 71
    assert all(o["updated_at"].endswith("+01:00") for o in everything)


def test_name_filter_with_and_without_hash(shopify) -> None:
    for name in ("#1005", "1005"):
        orders = shopify.get("orders.json", params={"status": "any", "name": name}).json()["orders"]
        assert [o["name"] for o in orders] == ["#1005"]


def test_order_shape(shopify) -> None:
    order = shopify.get("orders.json", params={"status": "any", "limit": 1}).json()["orders"][0]
    for key in ("total_price", "subtotal_price", "total_tax", "total_discounts"):
        assert re.fullmatch(r"-?\d+\.\d\d", order[key])
    assert order["taxes_included"] is True
    assert order["total_price_set"]["presentment_money"]["currency_code"] == order["presentment_currency"]
    line = order["line_items"][0]
    assert {"sku", "price", "quantity", "total_discount", "tax_lines"} <= set(line)
    assert order["shipping_address"]["country_code"]
    assert order["customer"]["default_address"]
    single = shopify.get(f"orders/{order['id']}.json").json()["order"]
    assert single == order
    missing = shopify.get("orders/1.json")
    assert missing.status_code == 404 and missing.json() == {"errors": "Not Found"}


def test_cancel_bumps_updated_at(shopify, control) -> None:
    order = next(o for o in control.get("shopify/orders").json() if not o["cancelled_at"])
    response = shopify.post(f"orders/{order['id']}/cancel.json", json={"reason": "customer"})
    assert response.status_code == 200
    cancelled = response.json()["order"]
    assert cancelled["cancelled_at"] and cancelled["cancel_reason"] == "customer"
    assert datetime.fromisoformat(cancelled["updated_at"]) > datetime.fromisoformat(order["updated_at"])
    assert shopify.post(f"orders/{order['id']}/cancel.json").status_code == 422


def test_products_customers_inventory(shopify) -> None:
    products = shopify.get("products.json", params={"limit": 250}).json()["products"]
    assert 35 <= len(products) <= 45
    variant = products[0]["variants"][0]
    assert {"id", "sku", "price", "inventory_item_id", "inventory_quantity"} <= set(variant)
    assert " " not in variant["sku"]
    first = shopify.get("products.json", params={"limit": 10})
    assert "next" in links(first)
    customers = shopify.get("customers.json", params={"limit": 250}).json()["customers"]
    assert len(customers) >= 60
    item = variant["inventory_item_id"]
    levels = shopify.get("inventory_levels.json", params={"inventory_item_ids": str(item)}).json()
    location = levels["inventory_levels"][0]["location_id"]
    body = {"inventory_item_id": item, "location_id": location, "available": 3}
    assert shopify.post("inventory_levels/set.json", json=body).json()["inventory_level"]["available"] == 3
    again = shopify.get("inventory_levels.json", params={"inventory_item_ids": str(item)}).json()
    assert again["inventory_levels"][0]["available"] == 3


def test_refunds_endpoint(shopify, control) -> None:
    refunded = next(o for o in control.get("shopify/orders").json() if o["financial_status"] == "refunded")
    refunds = shopify.get(f"orders/{refunded['id']}/refunds.json").json()["refunds"]
    assert refunds and refunds[0]["transactions"][0]["kind"] == "refund"


def test_leaky_bucket() -> None:
    with (
        start_in_thread(SandboxConfig(orders=20, time_scale=1.0)) as sandbox,
        shopify_client(sandbox.info) as c,
    ):
        statuses = []
        last = None
        for _ in range(45):
            last = c.get("shop.json")
            statuses.append(last.status_code)
            if last.status_code == 429:
                break
        assert statuses[:40] == [200] * 40
        assert last is not None and last.status_code == 429
        assert last.headers["x-shopify-shop-api-call-limit"] == "40/40"
        assert 0 < float(last.headers["retry-after"]) <= 0.5
        assert last.json()["errors"].startswith("Exceeded 2 calls per second")


def test_leak_is_scaled() -> None:
    # time_scale 0.01 -> 200 calls/s leak: a short pause frees the bucket.
    with (
        start_in_thread(SandboxConfig(orders=5, time_scale=0.01)) as sandbox,
        shopify_client(sandbox.info) as c,
    ):
        headers = [c.get("shop.json").headers["x-shopify-shop-api-call-limit"] for _ in range(3)]
        assert all(h.endswith("/40") for h in headers)


def test_ids_since_id_and_created_filters(shopify, control) -> None:
    everything = control.get("shopify/orders").json()
    wanted = [everything[3]["id"], everything[7]["id"]]
    got = shopify.get("orders.json", params={"status": "any", "ids": ",".join(map(str, wanted))}).json()
    assert [o["id"] for o in got["orders"]] == wanted
    after = shopify.get("orders.json", params={"status": "any", "since_id": everything[-5]["id"]}).json()
    assert [o["id"] for o in after["orders"]] == [o["id"] for o in everything[-4:]]
    pivot = everything[100]["created_at"]
    older = shopify.get("orders/count.json", params={"status": "any", "created_at_max": pivot}).json()[
        "count"
    ]
    assert older == sum(1 for o in everything if o["created_at"] <= pivot)
    bad = shopify.get("orders.json", params={"created_at_min": "yesterday"})
    assert bad.status_code == 400
