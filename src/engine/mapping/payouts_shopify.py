"""A Shopify Payments payout and its balance transactions as a `Payout` (engine.mapping.payouts).

Shopify sends decimal strings in the payout currency, signed as the balance moves: a refund or a
dispute is negative, a dispute's chargeback fee positive (so its net is lower still). A transaction
names its order by id only (`source_order_id`); the order's name is not in it. Shopify Payments
converts a foreign buyer's payment when it captures it and shows only the payout currency, so no line
carries a buyer amount or rate. `date` is the day Shopify issued the payout; the REST resource has no
arrival date, so it stands for the day the money is booked.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from engine.mapping.payouts import LineKind, Payout, PayoutLine

PROVIDER = "shopify_payments"
KINDS: dict[str, LineKind] = {
    "charge": "charge",
    "refund": "refund",
    "dispute": "dispute",
    "reserve": "reserve",
    "adjustment": "adjustment",
    "credit": "adjustment",
    "debit": "adjustment",
    "payout_failure": "returned",
    "payout_cancellation": "returned",
}


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _line(txn: dict[str, Any]) -> PayoutLine:
    return PayoutLine(
        id=str(txn["id"]),
        kind=KINDS.get(str(txn["type"]), "other"),
        amount=Decimal(txn["amount"]),
        fee=Decimal(txn["fee"]),
        net=Decimal(txn["net"]),
        currency=str(txn["currency"]).upper(),
        order_id=_text(txn.get("source_order_id")),
        source_id=_text(txn.get("source_id")),
    )


def payout_from_shopify(payout: dict[str, Any], transactions: list[dict[str, Any]]) -> Payout:
    """`transactions` are those of `payout` (balance/transactions.json?payout_id=); one of another
    payout is a caller's mistake and raises ValueError rather than entering this payout's voucher."""
    stray = [t["id"] for t in transactions if t.get("payout_id") != payout["id"]]
    if stray:
        raise ValueError(f"balance transactions {stray} are not of payout {payout['id']}")
    return Payout(
        id=str(payout["id"]),
        provider=PROVIDER,
        status=str(payout["status"]),
        amount=Decimal(payout["amount"]),
        currency=str(payout["currency"]).upper(),
        arrival_date=date.fromisoformat(payout["date"]),
        # The payout's own movement out of the balance, should Shopify list it, is the payout itself.
        lines=[_line(t) for t in transactions if t["type"] != "payout"],
    )
