"""Reading Stripe payouts into the shared shape, and the payments and voucher rows made of them."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from engine.errors import EngineError
from engine.flows.payout_booking import payment_payload, voucher_rows
from engine.flows.payouts_stripe import read_payout
from engine.mapping.payouts import Payout, PayoutLine
from engine.mapping.settings import StripePayouts

PAYOUT = {"id": "po_1", "status": "paid", "amount": 95_020, "currency": "sek", "arrival_date": 1_796_533_200}


def _txn(tid: str, kind: str, amount: int, fee: int, source: dict | str) -> dict:
    return {"id": tid, "type": kind, "amount": amount, "fee": fee, "net": amount - fee, "currency": "sek",
            "exchange_rate": None, "source": source}  # fmt: skip


def test_a_stripe_payout_reads_as_lines_in_kronor_with_their_orders() -> None:
    payout = read_payout(
        PAYOUT,
        [
            _txn("txn_c", "charge", 100_000, 1_680, {"id": "ch_1", "metadata": {"order_id": "#1001"}}),
            _txn("txn_r", "refund", -3_300, 0, {"id": "re_1", "metadata": {"order_id": "#1001"}}),
            _txn("txn_p", "payout", -95_020, 0, "po_1"),
        ],
    )
    assert payout.amount == Decimal("950.20") and payout.currency == "SEK"
    assert payout.arrival_date == date(2026, 12, 6)
    charge, refund = payout.lines  # the payout's own transaction is not a line
    assert (charge.kind, charge.amount, charge.fee, charge.net) == (
        "charge",
        1000,
        Decimal("16.80"),
        Decimal("983.20"),
    )
    assert charge.order_name == "#1001" and charge.source_id == "ch_1"
    assert (refund.kind, refund.net, refund.order_name) == ("refund", Decimal("-33.00"), "#1001")
    assert sum(line.net for line in payout.lines) == payout.amount


def _payout(*lines: PayoutLine) -> Payout:
    total = sum((ln.net for ln in lines), Decimal(0))
    return Payout("po_1", "stripe", "paid", total, "SEK", date(2026, 12, 6), list(lines))


CHARGE = PayoutLine("txn_c", "charge", Decimal("1000"), Decimal("16.80"), Decimal("983.20"), "SEK", "#1001")
REFUND = PayoutLine("txn_r", "refund", Decimal("-33"), Decimal(0), Decimal("-33"), "SEK", "#1001")


def test_a_charge_pays_what_reached_stripe_and_writes_the_fee_off() -> None:
    payload = payment_payload(
        _payout(CHARGE), CHARGE, {"DocumentNumber": "7", "Currency": "SEK"}, StripePayouts()
    )
    assert payload["Amount"] == 983.2 and payload["PaymentDate"] == "2026-12-06"
    assert payload["WriteOffs"][0]["Amount"] == 16.8 and payload["WriteOffs"][0]["AccountNumber"] == 6570
    with pytest.raises(EngineError) as no_fee_account:
        payment_payload(_payout(CHARGE), CHARGE, {"DocumentNumber": "7"}, StripePayouts(fee_account=None))
    assert no_fee_account.value.code == "PAYOUT_FEE_WRITEOFF_FAILED"
    with pytest.raises(EngineError) as euro:
        payment_payload(_payout(CHARGE), CHARGE, {"DocumentNumber": "7", "Currency": "EUR"}, StripePayouts())
    assert euro.value.code == "PAYOUT_CURRENCY_MISMATCH"


def test_the_voucher_moves_the_payout_to_the_bank_and_balances() -> None:
    payout = _payout(CHARGE, REFUND)
    rows = voucher_rows(payout, StripePayouts())
    assert [(r["Account"], r["Debit"], r["Credit"]) for r in rows] == [(1580, 0.0, 950.2), (1930, 950.2, 0.0)]
    through = voucher_rows(payout, StripePayouts(interim_account="1940"))
    assert [r["Account"] for r in through] == [1580, 1940, 1940, 1930]
    assert sum(r["Debit"] for r in through) == pytest.approx(sum(r["Credit"] for r in through))
    fee = PayoutLine("txn_f", "fee", Decimal("-5"), Decimal(0), Decimal("-5"), "SEK")
    with_fee = voucher_rows(_payout(CHARGE, fee), StripePayouts())
    assert [(r["Account"], r["Debit"], r["Credit"]) for r in with_fee] == [
        (1580, 0.0, 983.2), (6570, 5.0, 0.0), (1930, 978.2, 0.0)
    ]  # fmt: skip
    wrong = Payout("po_1", "stripe", "paid", Decimal("1"), "SEK", date(2026, 12, 6), [CHARGE])
    with pytest.raises(EngineError) as mismatch:
        voucher_rows(wrong, StripePayouts())
    assert mismatch.value.code == "PAYOUT_TOTAL_MISMATCH"


def test_a_dispute_waits_for_its_account_then_is_booked_on_it() -> None:
    dispute = PayoutLine(
        "txn_d", "dispute", Decimal("-1000"), Decimal("15"), Decimal("-1015"), "SEK", "#1001"
    )
    payout = _payout(CHARGE, dispute)
    with pytest.raises(EngineError) as missing:
        voucher_rows(payout, StripePayouts())
    assert missing.value.code == "PAYOUT_LINE_ACCOUNT_MISSING"
    rows = voucher_rows(payout, StripePayouts(other_lines_account="2890"))
    assert [(r["Account"], r["Debit"], r["Credit"]) for r in rows] == [
        (1580, 0.0, 983.2), (2890, 1015.0, 0.0), (1930, 0.0, 31.8)
    ]  # fmt: skip
