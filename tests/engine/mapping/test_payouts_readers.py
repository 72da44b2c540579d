"""The two payout readers: a provider's payout and its balance transactions become one `Payout`
whose lines' net adds up to what reached the bank, signed as the balance moved."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from engine.mapping.payouts_shopify import payout_from_shopify
from engine.mapping.payouts_stripe import payout_from_stripe, to_major


def shopify_txn(txn_id: int, kind: str, amount: str, fee: str, net: str, **more: object) -> dict:
    return {
        "id": txn_id, "type": kind, "test": False, "payout_id": 623721858, "payout_status": "paid",
        "currency": "SEK", "amount": amount, "fee": fee, "net": net, "source_id": txn_id + 1,
        "source_type": "charge", "source_order_id": None, "source_order_transaction_id": None,
        "processed_at": "2026-11-24T10:15:02+01:00", **more,
    }  # fmt: skip


SHOPIFY_PAYOUT = {
    "id": 623721858,
    "status": "paid",
    "date": "2026-11-25",
    "currency": "SEK",
    "amount": "650.45",
}
REFUND = {"source_order_id": 5100000017, "source_type": "Payments::Refund"}
DISPUTE = {"source_order_id": 5100000034, "source_type": "Payments::Dispute"}
SHOPIFY_TXNS = [
    shopify_txn(1, "charge", "1000.00", "19.80", "980.20", source_order_id=5100000017),
    shopify_txn(2, "refund", "-100.00", "0.00", "-100.00", **REFUND),
    shopify_txn(3, "dispute", "-199.75", "150.00", "-349.75", **DISPUTE),
    shopify_txn(4, "reserve", "-500.00", "0.00", "-500.00", source_id=None, source_type=None),
    shopify_txn(5, "reserve", "620.00", "0.00", "620.00", source_id=None, source_type=None),
]  # fmt: skip


def test_shopify_payout_lines_add_up_with_their_signs() -> None:
    payout = payout_from_shopify(SHOPIFY_PAYOUT, SHOPIFY_TXNS)
    assert (payout.id, payout.provider, payout.status) == ("623721858", "shopify_payments", "paid")
    assert payout.amount == Decimal("650.45") and payout.arrival_date == date(2026, 11, 25)
    assert sum(line.net for line in payout.lines) == payout.amount
    charge, refund, dispute, held, released = payout.lines
    assert (charge.kind, charge.amount, charge.fee, charge.net) == (
        "charge",
        Decimal("1000.00"),
        Decimal("19.80"),
        Decimal("980.20"),
    )
    assert refund.kind == "refund" and refund.net < 0 and refund.order_id == "5100000017"
    assert (
        dispute.kind == "dispute" and dispute.amount < 0 < dispute.fee and dispute.net == Decimal("-349.75")
    )
    assert held.kind == released.kind == "reserve" and held.order_id is None and held.source_id is None
    # Shopify Payments names the order by id only, and shows the payout currency only.
    assert all(line.order_name is None and line.buyer_amount is None for line in payout.lines)


def test_shopify_refuses_another_payouts_transaction() -> None:
    stray = shopify_txn(9, "charge", "10.00", "0.20", "9.80", payout_id=1)
    with pytest.raises(ValueError, match="not of payout"):
        payout_from_shopify(SHOPIFY_PAYOUT, [*SHOPIFY_TXNS, stray])


def charge(amount: int, currency: str, name: str) -> dict:
    return {
        "id": f"ch_{name}",
        "object": "charge",
        "amount": amount,
        "currency": currency,
        "metadata": {"order_id": name},
    }


def stripe_txn(
    txn_id: str, kind: str, category: str, amount: int, fee: int, source: object, rate: float | None = None
) -> dict:
    return {
        "id": txn_id, "object": "balance_transaction", "amount": amount, "fee": fee, "net": amount - fee,
        "currency": "sek", "exchange_rate": rate, "type": kind, "reporting_category": category,
        "created": 1764000000, "source": source,
    }  # fmt: skip


def test_stripe_payout_in_major_units_without_its_own_transaction() -> None:
    euro = charge(2990, "eur", "#1002")
    yen = charge(1500, "jpy", "#1003")
    refund = {"id": "re_1", "object": "refund", "charge": euro, "metadata": {}}
    dispute = {"id": "dp_1", "object": "dispute", "charge": "ch_#1001", "metadata": {}}
    txns = [
        stripe_txn("txn_payout", "payout", "payout", -40_000, 0, "po_1"),
        stripe_txn("txn_1", "charge", "charge", 19_900, 479, charge(19_900, "sek", "#1001")),
        stripe_txn("txn_2", "charge", "charge", 34_385, 696, euro, rate=11.5),
        stripe_txn("txn_3", "charge", "charge", 1_080, 196, yen, rate=0.072),
        stripe_txn("txn_4", "refund", "refund", -5_000, 0, refund),
        stripe_txn("txn_5", "adjustment", "dispute", -19_900, 15_000, dispute),
    ]  # fmt: skip
    net = sum(t["net"] for t in txns[1:])
    payout = {"id": "po_1", "object": "payout", "amount": net, "currency": "sek", "arrival_date": 1764028800,
              "status": "paid", "balance_transaction": "txn_payout"}  # fmt: skip
    read = payout_from_stripe(payout, txns)
    assert [line.id for line in read.lines] == ["txn_1", "txn_2", "txn_3", "txn_4", "txn_5"]
    assert sum(line.net for line in read.lines) == read.amount == Decimal(net) / 100
    assert read.arrival_date == date(2025, 11, 25) and read.currency == "SEK"
    plain, foreign, zero_decimal, refunded, disputed = read.lines
    assert plain.order_name == "#1001" and plain.fee == Decimal("4.79") and plain.buyer_amount is None
    assert (foreign.buyer_amount, foreign.buyer_currency, foreign.exchange_rate) == (
        Decimal("29.90"),
        "EUR",
        Decimal("11.5"),
    )
    assert zero_decimal.buyer_amount == Decimal(1500) and zero_decimal.buyer_currency == "JPY"
    assert refunded.kind == "refund" and refunded.order_name == "#1002" and refunded.net == Decimal("-50.00")
    # Without the charge expanded, a dispute knows its source but not its order.
    assert disputed.kind == "dispute" and disputed.order_name is None and disputed.source_id == "dp_1"
    assert disputed.net == Decimal("-349.00")


def test_a_failed_payouts_money_returned_is_a_line_of_its_own_kind() -> None:
    failure = stripe_txn("txn_f", "payout_failure", "payout_reversal", 40_000, 0, "po_failed")
    payout = {"id": "po_2", "object": "payout", "amount": 40_000, "currency": "sek",
              "arrival_date": 1764028800, "status": "paid", "balance_transaction": "txn_p2"}  # fmt: skip
    [line] = payout_from_stripe(payout, [failure]).lines
    assert (line.kind, line.net, line.source_id, line.order_name) == (
        "returned",
        Decimal(400),
        "po_failed",
        None,
    )


def test_minor_units_per_currency_exponent() -> None:
    assert to_major(12345, "sek") == Decimal("123.45")
    assert to_major(500, "JPY") == Decimal(500)
    assert to_major(12345, "kwd") == Decimal("12.345")
    assert to_major(-1, "eur") == Decimal("-0.01")
