"""Shopify Payments over real HTTP: the sandbox's payouts and balance transactions as Shopify serves
them, read with the engine's own ShopifyClient and turned into the payouts' shape."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import httpx
import pytest

from engine.mapping.payouts_shopify import payout_from_shopify
from engine.platforms.shopify import ShopifyClient
from engine.sandbox.server import SandboxConfig, start_in_thread
from tests.e2e.conftest import Sandbox

SCOPE = "read_shopify_payments_payouts"


@pytest.fixture(scope="module")
def shop() -> Iterator[Sandbox]:
    with start_in_thread(SandboxConfig(orders=200, seed=1, limits=False)) as running:
        sb = Sandbox(running)
        yield sb
        sb.http.close()


@pytest.fixture
def api(shop: Sandbox) -> Iterator[httpx.Client]:
    info = shop.info["shopify"]
    with httpx.Client(
        base_url=info["base_url"], headers={"X-Shopify-Access-Token": info["access_token"]}, timeout=10
    ) as client:
        yield client


def every_page(api: httpx.Client, path: str, key: str, params: dict[str, Any]) -> list[dict]:
    found, url, query = [], path, params
    while True:
        response = api.get(url, params=query)
        assert response.status_code == 200, response.text
        found += response.json()[key]
        following = response.links.get("next")
        if not following:
            return found
        url, query = following["url"], None


def test_payouts_page_newest_first_and_filter(api: httpx.Client) -> None:
    whole = api.get("shopify_payments/payouts.json", params={"limit": 250}).json()["payouts"]
    assert len(whole) >= 10
    assert [p["date"] for p in whole] == sorted((p["date"] for p in whole), reverse=True)
    assert every_page(api, "shopify_payments/payouts.json", "payouts", {"limit": 3}) == whole
    # A cursor carries the filters; repeating them beside it is refused, as Shopify does.
    first = api.get("shopify_payments/payouts.json", params={"limit": 3})
    cursor = first.links["next"]["url"].split("page_info=")[1]
    again = api.get("shopify_payments/payouts.json", params={"page_info": cursor, "status": "paid"})
    assert again.status_code == 400

    middle = whole[len(whole) // 2]["date"]
    since = api.get("shopify_payments/payouts.json", params={"date_min": middle}).json()["payouts"]
    assert since and all(p["date"] >= middle for p in since)
    assert {p["id"] for p in since} == {p["id"] for p in whole if p["date"] >= middle}
    older = api.get("shopify_payments/payouts.json", params={"last_id": whole[0]["id"]}).json()["payouts"]
    assert whole[0] not in older and whole[1] in older
    paid = api.get("shopify_payments/payouts.json", params={"status": "paid", "limit": 250}).json()
    assert paid["payouts"] and all(p["status"] == "paid" for p in paid["payouts"])
    assert api.get("shopify_payments/payouts.json", params={"status": "sent"}).status_code == 400
    assert api.get("shopify_payments/payouts.json", params={"date_min": "yesterday"}).status_code == 400
    assert api.get("shopify_payments/payouts.json", params={"limit": 251}).status_code == 400

    one = api.get(f"shopify_payments/payouts/{whole[0]['id']}.json").json()["payout"]
    assert one == whole[0]
    assert api.get("shopify_payments/payouts/1.json").status_code == 404


def test_transactions_add_up_to_each_payout_and_name_real_orders(api: httpx.Client, shop: Sandbox) -> None:
    payouts = api.get("shopify_payments/payouts.json", params={"limit": 250}).json()["payouts"]
    orders = {o["id"]: o for o in shop.get("shopify/orders")}
    kinds: set[str] = set()
    for payout in payouts:
        txns = every_page(
            api,
            "shopify_payments/balance/transactions.json",
            "transactions",
            {"payout_id": payout["id"], "limit": 5},
        )
        assert txns and {t["payout_id"] for t in txns} == {payout["id"]}
        assert {t["payout_status"] for t in txns} == {payout["status"]}
        # To the öre: what reached the bank is what the transactions left after fees.
        assert sum(Decimal(t["net"]) for t in txns) == Decimal(payout["amount"]) > 0
        for t in txns:
            assert Decimal(t["net"]) == Decimal(t["amount"]) - Decimal(t["fee"]) and t["currency"] == "SEK"
            kinds.add(t["type"])
            if t["type"] in ("charge", "refund", "dispute"):
                order = orders[t["source_order_id"]]
                assert order["gateway"] == "shopify_payments"
            if t["type"] == "charge":
                # Settled in the shop's kronor, whatever the buyer paid in.
                assert Decimal(t["amount"]) == Decimal(orders[t["source_order_id"]]["total_price"])
    assert {"charge", "refund", "dispute", "reserve"} <= kinds
    foreign = [
        o
        for o in orders.values()
        if o["gateway"] == "shopify_payments" and o["currency"] != o["presentment_currency"]
    ]
    assert foreign, "some Shopify Payments buyer pays in another currency"


def test_signs_of_money_going_out(api: httpx.Client) -> None:
    txns = every_page(api, "shopify_payments/balance/transactions.json", "transactions", {"limit": 250})
    dispute = next(t for t in txns if t["type"] == "dispute")
    assert Decimal(dispute["amount"]) < 0 < Decimal(dispute["fee"])
    assert Decimal(dispute["net"]) < Decimal(dispute["amount"])
    assert dispute["source_type"] == "Payments::Dispute"
    refunds = [t for t in txns if t["type"] == "refund"]
    assert refunds and all(Decimal(t["amount"]) < 0 for t in refunds)
    reserves = [t for t in txns if t["type"] == "reserve"]
    assert sum(Decimal(t["amount"]) for t in reserves) == 0 and all(
        t["source_type"] is None for t in reserves
    )
    pending = every_page(
        api, "shopify_payments/balance/transactions.json", "transactions", {"payout_status": "pending"}
    )
    assert all(t["payout_id"] is None for t in pending)
    assert api.get("shopify_payments/balance/transactions.json", params={"payout_id": "x"}).status_code == 400


def test_payouts_need_their_scope(shop: Sandbox, api: httpx.Client) -> None:
    granted = api.get(shop.info["shopify"]["base_url"] + "../../oauth/access_scopes.json").json()
    handles = [s["handle"] for s in granted["access_scopes"]]
    try:
        shop.post("shopify/access-scopes", {"scopes": [h for h in handles if h != SCOPE]})
        for path in ("shopify_payments/payouts.json", "shopify_payments/balance/transactions.json"):
            refused = api.get(path)
            assert refused.status_code == 403
            assert SCOPE in refused.json()["errors"]
        assert api.get("orders/count.json").status_code == 200
    finally:
        shop.post("shopify/access-scopes", {"scopes": handles})


def test_engine_reads_a_payout_that_adds_up(shop: Sandbox) -> None:
    info = shop.info["shopify"]

    async def read() -> list[Any]:
        async with ShopifyClient(info["base_url"], info["access_token"], pacing=False) as client:
            payouts = await client.list_payouts(status="paid")
            return [payout_from_shopify(p, await client.payout_transactions(p["id"])) for p in payouts[:5]]

    for payout in asyncio.run(read()):
        assert payout.provider == "shopify_payments" and payout.currency == "SEK"
        assert sum(line.net for line in payout.lines) == payout.amount
        assert all(line.order_id for line in payout.lines if line.kind == "charge")
