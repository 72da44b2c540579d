"""Stripe payouts over real HTTP: every payout of the sandbox, read as the booking reads it
(expand[]=data.source.charge), adds up to the öre and names its orders."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from engine.mapping.payouts_stripe import payout_from_stripe
from engine.sandbox.server import SandboxConfig, start_in_thread
from tests.e2e.conftest import Sandbox


@pytest.fixture(scope="module")
def shop() -> Iterator[Sandbox]:
    with start_in_thread(SandboxConfig(orders=200, seed=1, limits=False)) as running:
        sb = Sandbox(running)
        yield sb
        sb.http.close()


def test_every_payout_reads_to_the_ore_with_its_orders(shop: Sandbox) -> None:
    info = shop.info["stripe"]
    client = httpx.Client(base_url=info["base_url"], headers={"Authorization": f"Bearer {info['api_key']}"})
    payouts, params = [], {"limit": 7}
    while True:
        page = client.get("payouts", params=params).json()
        payouts += page["data"]
        if not page["has_more"]:
            break
        params = {"limit": 7, "starting_after": page["data"][-1]["id"]}
    names = {o["name"] for o in shop.get("shopify/orders") if o["gateway"] == "stripe"}
    kinds = set()
    for raw in payouts:
        txns, params = [], {"payout": raw["id"], "limit": 4, "expand[]": "data.source.charge"}
        while True:
            page = client.get("balance_transactions", params=params).json()
            txns += page["data"]
            if not page["has_more"]:
                break
            params = {**params, "starting_after": page["data"][-1]["id"]}
        payout = payout_from_stripe(raw, txns)
        assert sum(line.net for line in payout.lines) == payout.amount > 0
        for line in payout.lines:
            kinds.add(line.kind)
            if line.kind in ("charge", "refund", "dispute"):
                assert line.order_name in names
            if line.buyer_currency:
                assert line.buyer_currency != "SEK" and line.exchange_rate and line.buyer_amount
    assert {"charge", "refund", "dispute", "returned"} <= kinds  # returned: the failed payout's money
    assert {p["status"] for p in payouts} >= {"paid", "failed"}


def test_the_control_dumps_show_what_the_apis_serve(shop: Sandbox) -> None:
    """/_sandbox/stripe/… and /_sandbox/shopify/payouts: what a test counts against, the same as the APIs."""
    info = shop.info["stripe"]
    client = httpx.Client(base_url=info["base_url"], headers={"Authorization": f"Bearer {info['api_key']}"})
    first = client.get("payouts", params={"limit": 100}).json()["data"]
    dumped = shop.get("stripe/payouts")
    assert [p["id"] for p in dumped][: len(first)] == [p["id"] for p in first]
    txns = shop.get("stripe/balance_transactions")
    assert {t["payout"] for t in txns} == {p["id"] for p in dumped}
    for payout in dumped:
        own = [t for t in txns if t["payout"] == payout["id"] and t["type"] not in ("payout",)]
        assert own, payout["id"]
    shopify_payouts = shop.get("shopify/payouts")
    assert shopify_payouts and all(
        sum(float(t["net"]) for t in p["transactions"] if t["type"] != "payout")
        == pytest.approx(float(p["amount"]))
        for p in shopify_payouts
    )
    assert shop.http.get("stripe/charges").status_code == 404
