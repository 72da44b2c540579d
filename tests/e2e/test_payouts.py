"""Stripe payouts booked in Fortnox, over HTTP against the sandbox: every payout reconciles to the öre,
every voucher balances, every payment and voucher exists once whatever fails on the way, and a line
whose order is not in Fortnox yet waits with a code until it is."""

from __future__ import annotations

import asyncio
from collections import Counter
from decimal import Decimal
from typing import Any

import httpx
import pytest

from engine.mapping.payouts import Payout
from engine.mapping.payouts_stripe import payout_from_stripe
from engine.sandbox.server import SandboxConfig, start_in_thread
from engine.service import Service
from tests.e2e.conftest import Sandbox, sync
from tests.e2e.payout_books import check_books, money


@pytest.fixture
def with_stripe(service: Service, sandbox: Sandbox) -> tuple[Service, Sandbox, int]:
    integ = asyncio.run(service.connect_sandbox(sandbox.info, "Shop", stripe=True))
    return service, sandbox, integ.id  # type: ignore[return-value]


def _stripe(sb: Sandbox, path: str, **params: Any) -> list[dict]:
    stripe = sb.info["stripe"]
    items: list[dict] = []
    while True:
        body = httpx.get(
            stripe["base_url"] + path,
            params={"limit": 100, **params, **({"starting_after": items[-1]["id"]} if items else {})},
            headers={"Authorization": f"Bearer {stripe['api_key']}"},
            timeout=10,
        ).json()
        items += body["data"]
        if not body["has_more"]:
            return items


def _payouts(sb: Sandbox) -> list[Payout]:
    """The sandbox's Stripe payouts with their balance transactions, sources and charges expanded,
    read into the shared shape."""
    expand = {"expand[]": ["data.source", "data.source.charge"]}
    return [
        payout_from_stripe(p, _stripe(sb, "balance_transactions", payout=p["id"], **expand))
        for p in _stripe(sb, "payouts")
    ]


def test_every_payout_reconciles_to_the_ore_and_unpaid_invoices_are_the_orders_in_no_payout(
    with_stripe,
) -> None:
    service, sb, iid = with_stripe
    sync(service)  # one run: the payouts wait for the orders of the same run to be invoiced

    payouts = _payouts(sb)
    books = check_books(service, iid, sb, payouts, "Stripe", payment_account=1580)
    assert books.booked["paid"] >= 5 and books.waiting
    # The task says how many payouts it read, as they were listed (nothing counts them up front).
    [task] = [t for t in service.tasks(iid) if t.flow_id == service.flow(iid, "stripe_payouts_to_fortnox").id]
    assert task.total == task.synced + task.failed + task.skipped >= books.booked["paid"]
    # The lost dispute is booked: the charge's money as a customer loss, the dispute fee as a fee.
    assert books.kinds["dispute"] == 1
    # The payout the bank sent back is booked without the bank, its charges paid; the next payout
    # carries its money back from the payment account to the bank, once.
    [failed] = [p for p in payouts if p.status == "failed"]
    assert books.booked["failed"] == 1 and failed.id not in books.waiting
    [carrier] = [p for p in payouts if any(ln.kind == "returned" for ln in p.lines)]
    [returned] = [ln for ln in carrier.lines if ln.kind == "returned"]
    assert returned.net == failed.amount and returned.source_id == failed.id
    assert books.kinds["returned"] == 1 and carrier.id in books.vouchers
    assert sum(
        (money(r["Credit"]) - money(r["Debit"]) for r in books.vouchers[carrier.id]["VoucherRows"]
         if r["Account"] == 1580 and r["Description"].startswith("returned")),
        Decimal(0),
    ) == failed.amount  # fmt: skip

    stripe_orders = {str(ln.order_name) for p in payouts for ln in p.lines if ln.kind == "charge"}
    # unpaid invoices of Stripe orders are exactly those in no booked payout
    assert books.unpaid & stripe_orders == (stripe_orders & books.invoiced) - books.paid_orders
    assert not books.paid_orders - stripe_orders

    # explain answers for a payout and for an order it paid
    payout = next(p for p in payouts if p.status == "paid" and p.id not in books.waiting)
    told = asyncio.run(service.explain(iid, payout.id))
    assert told.verdict == "SYNCED" and "voucher" in told.summary
    order_ref = next(str(ln.order_name) for ln in payout.lines if ln.kind == "charge")
    told = asyncio.run(service.explain(iid, order_ref))
    [invoice] = [i for i in sb.get("fortnox/invoices") if i["ExternalInvoiceReference1"] == order_ref]
    day = max(payout.arrival_date.isoformat(), invoice["InvoiceDate"])
    assert f"paid by payout {payout.id} on {day}" in told.summary
    unpaid_ref = next(iter(books.unpaid & stripe_orders - books.paid_orders))
    assert "in no payout" in asyncio.run(service.explain(iid, unpaid_ref)).summary


def test_a_late_order_waits_with_payout_invoice_not_found_then_books_once_synced(with_stripe) -> None:
    service, sb, iid = with_stripe
    orders = service.flow(iid, "orders_to_fortnox")
    service.set_flow_enabled(orders.id, False)  # type: ignore[arg-type]
    sync(service)
    assert not sb.get("fortnox/invoicepayments") and not sb.get("fortnox/vouchers")
    lines = service.entities(iid, entity_type="payout_line", limit=500)
    assert lines and {e.error_code for e in lines} == {"PAYOUT_INVOICE_NOT_FOUND"}
    [log] = service.logs(iid, ref=lines[0].retriever_reference, level="error", limit=1)
    assert (
        "is the order synced" in log.message.lower()
        or "check that the order is synced" in log.message.lower()
    )
    payout = service.entities(iid, entity_type="payout", limit=1)[0]
    assert payout.error_code == "PAYOUT_INVOICE_NOT_FOUND" and "voucher is made once every line is" in (
        payout.error_message or ""
    )

    service.set_flow_enabled(orders.id, True)  # type: ignore[arg-type]
    sync(service)
    sync(service)
    assert sb.get("fortnox/vouchers")
    assert service.entities(iid, entity_type="payout_line", status="synced", limit=500)


def _sync_under(service: Service, sb: Sandbox, fault: dict) -> None:
    sb.post("faults", {"platform": "fortnox", **fault})
    try:
        sync(service)
    finally:
        sb.http.delete("faults").raise_for_status()


def test_lost_answers_of_payments_and_vouchers_are_adopted_not_repeated(with_stripe) -> None:
    service, sb, iid = with_stripe
    payouts = service.flow(iid, "stripe_payouts_to_fortnox")
    service.set_flow_enabled(payouts.id, False)  # type: ignore[arg-type]
    sync(service)  # the orders, invoiced
    service.set_flow_enabled(payouts.id, True)  # type: ignore[arg-type]
    # Fortnox registers every payment and voucher, and the connection drops before each answer.
    _sync_under(service, sb, {"drop": 1.0, "method": "POST"})
    sync(service)
    payments = sb.get("fortnox/invoicepayments")
    vouchers = sb.get("fortnox/vouchers")
    assert payments and vouchers
    assert not [k for k, n in Counter(str(p["InvoiceNumber"]) for p in payments).items() if n > 1]
    assert not [k for k, n in Counter(v["Description"] for v in vouchers).items() if n > 1]
    adopted = service.logs(iid, text="ADOPTED", limit=500)
    assert any("invoice payment" in e.message for e in adopted)
    assert any("voucher" in e.message for e in adopted)
    lines = service.entities(iid, entity_type="payout_line", status="synced", limit=500)
    # a line of an order never invoiced is on its payout's voucher, not a payment
    assert len([e for e in lines if e.storer_reference != "unbilled"]) == len(payments)


def test_what_fortnox_refuses_ends_in_its_code(with_stripe) -> None:
    service, sb, iid = with_stripe
    service.save_settings(iid, "payouts_stripe", {"fee_account": None})
    sync(service)
    sync(service)
    lines = service.entities(iid, entity_type="payout_line", limit=500)
    assert {e.error_code for e in lines if e.status == "error"} >= {"PAYOUT_FEE_WRITEOFF_FAILED"}
    # Refunds carry no fee and are paid back; no charge is paid without its fee written off.
    assert all(p["Amount"] < 0 for p in sb.get("fortnox/invoicepayments") if p["ModeOfPayment"] == "K")
    assert not _stripe_vouchers(sb)

    # 3051 is in the chart but inactive: the voucher is refused, nothing half-booked stays behind.
    service.save_settings(iid, "payouts_stripe", {"fee_account": "6570", "bank_account": "3051"})
    sync(service)
    codes = {e.error_code for e in service.entities(iid, entity_type="payout", limit=500)}
    assert "FORTNOX_ACCOUNT_INACTIVE" in codes
    assert not _stripe_vouchers(sb)
    service.save_settings(iid, "payouts_stripe", {"bank_account": "1930"})
    sync(service)
    assert _stripe_vouchers(sb)


def _stripe_vouchers(sb: Sandbox) -> list[dict]:
    """The Stripe payouts' vouchers; the shop's Shopify Payments payouts are booked beside them."""
    return [v for v in sb.get("fortnox/vouchers") if v["Description"].startswith("Stripe payout")]


def test_a_payout_failing_after_it_was_booked_is_reported_not_booked_again(with_stripe) -> None:
    service, sb, iid = with_stripe
    sync(service)
    booked = {e.source_id for e in service.entities(iid, entity_type="payout", status="synced", limit=500)}
    state = sb.running.state
    with state.lock:  # the bank sends a booked payout back
        payout = next(p for p in state.stripe.payouts if p["status"] == "paid" and p["id"] in booked)
        payout["status"] = "failed"
    vouchers = len(sb.get("fortnox/vouchers"))
    sync(service)
    sync(service)
    [entity] = service.entities(iid, entity_type="payout", ref=payout["id"], limit=1)
    assert entity.status == "synced" and entity.error_code == "PAYOUT_FAILED_AFTER_BOOKING"
    told = service.logs(iid, text="failed after it was booked", limit=50)
    assert len(told) == 1 and "reverse its voucher" in told[0].message  # told once, not every run
    assert len(sb.get("fortnox/vouchers")) == vouchers


def test_a_buyers_currency_converted_at_the_providers_rate_books_the_difference(
    service: Service,
) -> None:
    """Stripe converts a foreign buyer's money at its own rate, the invoice's kronor came from the
    shop's: the few öre between them are written off as an exchange gain or loss on the payment, and
    the invoice ends paid (without this, Fortnox refuses the payment as more than the balance)."""
    with start_in_thread(SandboxConfig(orders=200, seed=1, time_scale=0.01, limits=False)) as running:
        sb = Sandbox(running)
        iid = asyncio.run(service.connect_sandbox(sb.info, "Shop", stripe=True)).id
        sync(service)
        payouts = _payouts(sb)
        books = check_books(service, iid, sb, payouts, "Stripe", payment_account=1580)
        converted = [ln for p in payouts for ln in p.lines if ln.buyer_currency and ln.kind == "charge"]
        assert converted and books.exchange != 0
        failed = service.entities(iid, entity_type="payout_line", status="error", limit=100)
        assert {e.error_code for e in failed} <= {"PAYOUT_INVOICE_NOT_FOUND"}, [
            e.error_message for e in failed
        ]
        sb.http.close()


def test_invoices_in_the_buyers_currency_are_paid_in_it_at_the_providers_rate(service: Service) -> None:
    """With Use presentment currency a euro buyer's invoice is in euro: Stripe settled the charge in
    kronor, so the payment carries the euro amount (AmountCurrency) and the rate Stripe converted at,
    and the invoice ends paid in full in its own currency."""
    with start_in_thread(SandboxConfig(orders=200, seed=1, time_scale=0.01, limits=False)) as running:
        sb = Sandbox(running)
        iid = asyncio.run(service.connect_sandbox(sb.info, "Shop", stripe=True)).id
        service.save_settings(iid, "order", {"use_presentment_currency": True})
        sync(service)
        payouts = _payouts(sb)
        check_books(service, iid, sb, payouts, "Stripe", payment_account=1580)
        foreign = [i for i in sb.get("fortnox/invoices") if i["Currency"] != "SEK" and not i["Credit"]]
        payments = {str(p["InvoiceNumber"]): p for p in sb.get("fortnox/invoicepayments")}
        paid = [i for i in foreign if str(i["DocumentNumber"]) in payments]
        assert paid, "no invoice in a buyer's currency was paid by a payout"
        for invoice in paid:
            payment = payments[str(invoice["DocumentNumber"])]
            fee = sum((money(w["Amount"]) for w in payment["WriteOffs"]), Decimal(0))
            assert money(payment["AmountCurrency"]) + fee == money(invoice["Total"]), (invoice, payment)
            assert money(invoice["Balance"]) == 0 and payment["CurrencyRate"] not in (0, 1)
        failed = service.entities(iid, entity_type="payout_line", status="error", limit=100)
        assert {e.error_code for e in failed} <= {"PAYOUT_INVOICE_NOT_FOUND"}, [
            e.error_message for e in failed
        ]
        sb.http.close()
