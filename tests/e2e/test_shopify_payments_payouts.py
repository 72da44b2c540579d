"""Shopify Payments payouts booked in Fortnox, over HTTP against the sandbox: every payout reconciles to
the öre with its chargeback and its reserve, every voucher balances, a payment whose answer was lost
is adopted rather than made twice, and the flow runs only for a shop that grants its scope."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import httpx
import pytest

from engine.mapping.payouts import Payout
from engine.mapping.payouts_shopify import payout_from_shopify
from engine.service import Service
from tests.e2e.conftest import Sandbox, sync
from tests.e2e.payout_books import check_books

KEY = "shopify_payments_payouts_to_fortnox"
SCOPE = "read_shopify_payments_payouts"


def _shopify(sb: Sandbox, path: str, key: str, **params: Any) -> list[dict]:
    shop = sb.info["shopify"]
    with httpx.Client(headers={"X-Shopify-Access-Token": shop["access_token"]}, timeout=10) as api:
        found, url, query = [], shop["base_url"] + path, {"limit": 250, **params}
        while True:
            response = api.get(url, params=query)
            response.raise_for_status()
            found += response.json()[key]
            if "next" not in response.links:
                return found
            url, query = response.links["next"]["url"], None


def _payouts(sb: Sandbox) -> list[Payout]:
    """The shop's Shopify Payments payouts in the shared shape, each line named by its order's name
    as Shopify has it (the transactions carry the order's id only)."""
    names = {str(o["id"]): o["name"] for o in _shopify(sb, "orders.json", "orders", status="any")}
    read = []
    for payout in _shopify(sb, "shopify_payments/payouts.json", "payouts"):
        txns = _shopify(
            sb, "shopify_payments/balance/transactions.json", "transactions", payout_id=payout["id"]
        )
        shaped = payout_from_shopify(payout, txns)
        lines = [
            ln if ln.order_id is None else type(ln)(**{**ln.__dict__, "order_name": names[ln.order_id]})
            for ln in shaped.lines
        ]
        read.append(Payout(**{**shaped.__dict__, "lines": lines}))
    return read


@pytest.fixture
def shop(service: Service, sandbox: Sandbox) -> tuple[Service, Sandbox, int]:
    integ = asyncio.run(service.connect_sandbox(sandbox.info, "Shop", shopify_payments=True))
    return service, sandbox, integ.id  # type: ignore[return-value]


def test_every_payout_reconciles_with_its_chargeback_and_reserve(shop) -> None:
    service, sb, iid = shop
    assert service.flow(iid, KEY).enabled  # the sandbox shop grants read_shopify_payments_payouts
    sync(service)

    payouts = _payouts(sb)
    books = check_books(service, iid, sb, payouts, "Shopify Payments", payment_account=1583)
    assert books.booked["paid"] >= 3
    # The chargeback is a customer loss with its fee; the reserve is held and released on 1583.
    reserves = [
        ln for p in payouts if p.status == "paid" and p.id not in books.waiting for ln in p.lines
        if ln.kind == "reserve"
    ]  # fmt: skip
    assert books.kinds["dispute"] == 1
    assert reserves and books.kinds["reserve"] == len(reserves)
    payments = sb.get("fortnox/invoicepayments")
    assert {p["ModeOfPaymentAccount"] for p in payments if p["ModeOfPayment"] == "SP"} == {1583}
    shop_orders = {str(ln.order_name) for p in payouts for ln in p.lines if ln.kind == "charge"}
    # unpaid invoices of Shopify Payments orders are exactly those in no booked payout
    assert books.unpaid & shop_orders == (shop_orders & books.invoiced) - books.paid_orders

    payout = next(p for p in payouts if p.id in books.vouchers)
    told = asyncio.run(service.explain(iid, payout.id))
    assert told.verdict == "SYNCED" and "voucher" in told.summary


def test_a_lost_payment_answer_is_adopted_not_repeated(shop) -> None:
    service, sb, iid = shop
    payouts = service.flow(iid, KEY)
    service.set_flow_enabled(payouts.id, False)  # type: ignore[arg-type]
    sync(service)  # the orders, invoiced
    service.set_flow_enabled(payouts.id, True)  # type: ignore[arg-type]
    # Fortnox registers every payment and voucher, and the connection drops before each answer.
    sb.post("faults", {"platform": "fortnox", "drop": 1.0, "method": "POST"})
    try:
        sync(service)
    finally:
        sb.http.delete("faults").raise_for_status()
    sync(service)
    payments = [p for p in sb.get("fortnox/invoicepayments") if p["ModeOfPayment"] == "SP"]
    assert payments
    assert not [k for k, n in Counter(str(p["InvoiceNumber"]) for p in payments).items() if n > 1]
    vouchers = [v for v in sb.get("fortnox/vouchers") if v["Description"].startswith("Shopify Payments")]
    assert vouchers and not [k for k, n in Counter(v["Description"] for v in vouchers).items() if n > 1]
    adopted = service.logs(iid, text="ADOPTED", limit=500)
    assert any("invoice payment" in e.message for e in adopted)
    check_books(service, iid, sb, _payouts(sb), "Shopify Payments", payment_account=1583)


def test_a_shop_without_the_payouts_scope_keeps_the_flow_off(service: Service, sandbox: Sandbox) -> None:
    sandbox.post(
        "shopify/access-scopes",
        {"scopes": ["read_orders", "write_orders", "read_all_orders", "read_products", "read_customers"]},
    )
    integ = asyncio.run(service.connect_sandbox(sandbox.info, "Shop", shopify_payments=True))
    flow = service.flow(integ.id, KEY)  # type: ignore[arg-type]
    assert not flow.enabled
    # The orders-only shop stays connected: the scope is needed only once the flow is on.
    [shopify] = [c for c in service.connectors(integ.id) if c.platform == "shopify"]  # type: ignore[arg-type]
    assert shopify.status == "connected"
    service.set_flow_enabled(flow.id, True)  # type: ignore[arg-type]
    ok, message = asyncio.run(service.test_connection(shopify.id))  # type: ignore[arg-type]
    assert not ok and SCOPE in message
