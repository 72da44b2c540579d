"""The payments and voucher rows a payout's lines make, per line kind (engine.flows.payout_booking);
reading the providers' payouts is tests/engine/mapping/test_payouts_readers.py."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from engine.errors import EngineError
from engine.flows.payout_booking import payment_payload, voucher_rows
from engine.mapping.payouts import Payout, PayoutLine
from engine.mapping.settings import StripePayouts


def _payout(*lines: PayoutLine, status: str = "paid") -> Payout:
    total = sum((ln.net for ln in lines), Decimal(0))
    return Payout("po_1", "stripe", status, total, "SEK", date(2026, 12, 6), list(lines))


def _rows(payout: Payout, conf: StripePayouts) -> list[tuple[int, float, float]]:
    return [(r["Account"], r["Debit"], r["Credit"]) for r in voucher_rows(payout, conf)]


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


DISPUTE = PayoutLine("txn_d", "dispute", Decimal("-1000"), Decimal("150"), Decimal("-1150"), "SEK", "#1001")


def test_a_lost_dispute_is_a_customer_loss_and_its_fee_a_fee() -> None:
    assert _rows(_payout(CHARGE, DISPUTE), StripePayouts()) == [
        (1580, 0.0, 983.2), (6351, 1000.0, 0.0), (6570, 150.0, 0.0), (1930, 0.0, 166.8)
    ]  # fmt: skip
    with pytest.raises(EngineError) as missing:
        voucher_rows(_payout(CHARGE, DISPUTE), StripePayouts(dispute_account=None))
    assert missing.value.code == "PAYOUT_LINE_ACCOUNT_MISSING"
    adjustment = PayoutLine("txn_a", "adjustment", Decimal("-5"), Decimal(0), Decimal("-5"), "SEK")
    with pytest.raises(EngineError) as no_other:
        voucher_rows(_payout(CHARGE, adjustment), StripePayouts())
    assert no_other.value.code == "PAYOUT_LINE_ACCOUNT_MISSING"
    assert _rows(_payout(CHARGE, adjustment), StripePayouts(other_lines_account="2890"))[1] == (
        2890,
        5.0,
        0.0,
    )


def test_a_reserve_and_returned_money_stay_on_the_payment_account() -> None:
    reserve = PayoutLine("txn_h", "reserve", Decimal("-500"), Decimal(0), Decimal("-500"), "SEK")
    returned = PayoutLine("txn_f", "returned", Decimal("2000"), Decimal(0), Decimal("2000"), "SEK", None)
    assert _rows(_payout(CHARGE, reserve, returned), StripePayouts()) == [
        (1580, 0.0, 983.2), (1580, 500.0, 0.0), (1580, 0.0, 2000.0), (1930, 2483.2, 0.0)
    ]  # fmt: skip


def test_a_failed_payout_reaches_no_bank_and_books_only_its_lines_of_no_invoice() -> None:
    assert voucher_rows(_payout(CHARGE, REFUND, status="failed"), StripePayouts()) == []
    assert _rows(_payout(CHARGE, DISPUTE, status="failed"), StripePayouts()) == [
        (1580, 0.0, 1150.0), (6351, 1000.0, 0.0), (6570, 150.0, 0.0)
    ]  # fmt: skip


def test_an_order_never_invoiced_is_held_for_its_buyer_on_the_voucher() -> None:
    refund = PayoutLine("txn_r", "refund", Decimal("-1000"), Decimal(0), Decimal("-1000"), "SEK", "#1001")
    unbilled = voucher_rows(_payout(CHARGE, refund), StripePayouts(), frozenset({"txn_c", "txn_r"}))
    assert [(r["Account"], r["Debit"], r["Credit"]) for r in unbilled] == [
        (2890, 0.0, 1000.0), (6570, 16.8, 0.0), (2890, 1000.0, 0.0), (1930, 0.0, 16.8)
    ]  # fmt: skip
