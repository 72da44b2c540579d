"""Stripe payouts booked in Fortnox, over HTTP against the sandbox: every payout reconciles to the öre,
every voucher balances, every payment and voucher exists once whatever fails on the way, and a line
whose order is not in Fortnox yet waits with a code until it is."""

from __future__ import annotations

import asyncio
from collections import Counter, defaultdict
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest

from engine.service import Service
from tests.e2e.conftest import Sandbox, sync

CENT = Decimal("0.01")


def _money(value: Any) -> Decimal:
    return Decimal(str(value)).quantize(CENT)


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


def _payouts(sb: Sandbox) -> list[tuple[dict, list[dict]]]:
    """The sandbox's paid Stripe payouts, each with its charge and refund transactions."""
    return [
        (
            p,
            [
                t
                for t in _stripe(sb, "balance_transactions", payout=p["id"], **{"expand[]": "data.source"})
                if t["type"] in ("charge", "refund")
            ],
        )
        for p in _stripe(sb, "payouts")
        if p["status"] == "paid"
    ]


def _arrival(payout: dict) -> str:
    return datetime.fromtimestamp(payout["arrival_date"], UTC).date().isoformat()


def _books(sb: Sandbox) -> tuple[dict[str, dict], dict[str, dict], list[dict], list[dict]]:
    invoices = sb.get("fortnox/invoices")
    by_order = {i["ExternalInvoiceReference1"]: i for i in invoices if not i["Credit"] and not i["Cancelled"]}
    by_number = {str(i["DocumentNumber"]): i for i in invoices}
    return by_order, by_number, sb.get("fortnox/invoicepayments"), sb.get("fortnox/vouchers")


def _invoice_of(line: dict, by_order: dict[str, dict], by_number: dict[str, dict]) -> dict | None:
    invoice = by_order.get(line["source"]["metadata"]["order_id"])
    if invoice is None or line["type"] == "charge":
        return invoice
    credit = invoice.get("CreditInvoiceReference")
    return by_number.get(str(credit)) if credit else None


def _balanced(voucher: dict) -> bool:
    rows = voucher["VoucherRows"]
    return sum(_money(r["Debit"]) for r in rows) == sum(_money(r["Credit"]) for r in rows) > 0


def test_every_payout_reconciles_to_the_ore_and_unpaid_invoices_are_the_orders_in_no_payout(
    with_stripe,
) -> None:
    service, sb, iid = with_stripe
    sync(service)  # one run: the payouts wait for the orders of the same run to be invoiced

    by_order, by_number, payments, vouchers = _books(sb)
    assert not [v for v in vouchers if not _balanced(v)]
    assert not {k: n for k, n in Counter(v["Description"] for v in vouchers).items() if n > 1}
    payments_on = defaultdict(list)
    for p in payments:
        payments_on[str(p["InvoiceNumber"])].append(p)
    assert not {k: len(v) for k, v in payments_on.items() if len(v) > 1}, "an invoice was paid twice"

    booked = waiting = 0
    paid_orders: set[str] = set()
    for payout, lines in _payouts(sb):
        day = _arrival(payout)
        invoices = [_invoice_of(t, by_order, by_number) for t in lines]
        entity = service.entities(iid, entity_type="payout", ref=payout["id"], limit=1)
        if any(i is None for i in invoices):
            # An order the orders flow could not sync (the shop's intended errors): the payout waits.
            assert entity and entity[0].error_code == "PAYOUT_INVOICE_NOT_FOUND"
            assert not [v for v in vouchers if payout["id"] in v["Description"]]
            # its other lines are paid all the same: each line is booked on its own
            for line, invoice in zip(lines, invoices, strict=True):
                if invoice is not None and line["type"] == "charge":
                    assert len(payments_on[str(invoice["DocumentNumber"])]) == 1
                    paid_orders.add(invoice["ExternalInvoiceReference1"])
            waiting += 1
            continue
        money_in = Decimal(0)
        fees = Decimal(0)
        for line, invoice in zip(lines, invoices, strict=True):
            assert invoice is not None
            [payment] = payments_on[str(invoice["DocumentNumber"])]
            assert payment["PaymentDate"] == day and payment["Booked"]
            assert _money(payment["Amount"]) == _money(line["net"] / 100)
            written_off = sum((_money(w["Amount"]) for w in payment["WriteOffs"]), Decimal(0))
            assert written_off == _money(line["fee"] / 100)
            assert all(str(w["AccountNumber"]) == "6570" for w in payment["WriteOffs"])
            money_in += _money(payment["Amount"]) + written_off
            fees += written_off
            if line["type"] == "charge":
                paid_orders.add(invoice["ExternalInvoiceReference1"])
        # payments on invoices − refunds on credit invoices − fees written off = the payout, to the öre
        assert money_in - fees == _money(payout["amount"] / 100)
        [voucher] = [v for v in vouchers if v["Description"] == f"Stripe payout {payout['id']}"]
        assert voucher["TransactionDate"] == day
        rows = voucher["VoucherRows"]
        bank = sum(_money(r["Debit"]) - _money(r["Credit"]) for r in rows if r["Account"] == 1930)
        assert bank == _money(payout["amount"] / 100)
        assert entity and entity[0].status == "synced"
        booked += 1
    assert booked >= 5 and waiting >= 1

    unpaid = {ref for ref, i in by_order.items() if _money(i["Balance"]) != 0}
    assert unpaid == set(by_order) - paid_orders

    # explain answers for a payout and for an order it paid
    payout, lines = next((p, ls) for p, ls in _payouts(sb) if ls and all(
        _invoice_of(t, by_order, by_number) for t in ls))  # fmt: skip
    told = asyncio.run(service.explain(iid, payout["id"]))
    assert told.verdict == "SYNCED" and "voucher" in told.summary
    order_ref = next(t["source"]["metadata"]["order_id"] for t in lines if t["type"] == "charge")
    told = asyncio.run(service.explain(iid, order_ref))
    assert f"paid by payout {payout['id']} on {_arrival(payout)}" in told.summary
    unpaid_ref = next(iter(unpaid))
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
    assert len(lines) == len(payments)


def test_what_fortnox_refuses_ends_in_its_code(with_stripe) -> None:
    service, sb, iid = with_stripe
    service.save_settings(iid, "payouts_stripe", {"fee_account": None})
    sync(service)
    sync(service)
    lines = service.entities(iid, entity_type="payout_line", limit=500)
    assert {e.error_code for e in lines if e.status == "error"} >= {"PAYOUT_FEE_WRITEOFF_FAILED"}
    # Refunds carry no fee and are paid back; no charge is paid without its fee written off.
    assert all(p["Amount"] < 0 for p in sb.get("fortnox/invoicepayments"))
    assert not sb.get("fortnox/vouchers")

    # 3051 is in the chart but inactive: the voucher is refused, nothing half-booked stays behind.
    service.save_settings(iid, "payouts_stripe", {"fee_account": "6570", "bank_account": "3051"})
    sync(service)
    codes = {e.error_code for e in service.entities(iid, entity_type="payout", limit=500)}
    assert "FORTNOX_ACCOUNT_INACTIVE" in codes
    assert not sb.get("fortnox/vouchers")
    service.save_settings(iid, "payouts_stripe", {"bank_account": "1930"})
    sync(service)
    assert sb.get("fortnox/vouchers")
