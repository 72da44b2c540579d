"""A Stripe payout and its balance transactions as a `Payout` (engine.mapping.payouts).

Stripe sends integer minor units of each currency (none for zero-decimal currencies such as JPY,
three for BHD and its like) and lower-case currency codes. The list of a payout's balance transactions
(`balance_transactions?payout=`) includes the payout's own transaction (type "payout"), which is the
payout itself, not a line. Read with `expand[]=data.source.charge`: a charge's `metadata.order_id`
names the shop order; a refund or a dispute names it through its expanded `charge`. A charge settled
from another currency keeps the buyer's amount and currency on the charge, and the balance
transaction's `exchange_rate` is settlement per buyer unit.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from engine.mapping.payouts import LineKind, Payout, PayoutLine

PROVIDER = "stripe"
# Stripe's zero- and three-decimal currencies (docs.stripe.com/currencies); every other has two.
ZERO_DECIMAL = frozenset({
    "BIF", "CLP", "DJF", "GNF", "JPY", "KMF", "KRW", "MGA", "PYG", "RWF", "UGX", "VND", "VUV", "XAF",
    "XOF", "XPF",
})  # fmt: skip
THREE_DECIMAL = frozenset({"BHD", "JOD", "KWD", "OMR", "TND"})
KINDS: dict[str, LineKind] = {
    "charge": "charge",
    "refund": "refund",
    "partial_capture_reversal": "refund",
    "dispute": "dispute",
    "dispute_reversal": "dispute",
    "fee": "fee",
    "other_adjustment": "adjustment",
    "payout_reversal": "returned",
    "risk_reserved_funds": "reserve",
}


def to_major(minor: int, currency: str) -> Decimal:
    """Stripe's integer amount in `currency`'s major units, exactly."""
    code = currency.upper()
    places = 0 if code in ZERO_DECIMAL else 3 if code in THREE_DECIMAL else 2
    return Decimal(int(minor)).scaleb(-places)


def _order_name(source: Any) -> str | None:
    if not isinstance(source, dict):
        return None
    charge = source if source.get("object") == "charge" else source.get("charge")
    metadata = charge.get("metadata") if isinstance(charge, dict) else None
    name = (metadata or {}).get("order_id")
    return str(name) if name else None


def _line(txn: dict[str, Any]) -> PayoutLine:
    currency = str(txn["currency"])
    source = txn.get("source")
    buyer_amount = buyer_currency = rate = None
    # A charge or a refund converted from the buyer's currency keeps its amount in that currency.
    converted = isinstance(source, dict) and source.get("object") in ("charge", "refund")
    if txn.get("exchange_rate") is not None and converted and source.get("currency"):
        buyer_currency = str(source["currency"]).upper()
        buyer_amount = to_major(source["amount"], buyer_currency)
        rate = Decimal(str(txn["exchange_rate"]))
    return PayoutLine(
        id=str(txn["id"]),
        kind=KINDS.get(str(txn.get("reporting_category")), "other"),
        amount=to_major(txn["amount"], currency),
        fee=to_major(txn["fee"], currency),
        net=to_major(txn["net"], currency),
        currency=currency.upper(),
        order_name=_order_name(source),
        buyer_amount=buyer_amount,
        buyer_currency=buyer_currency,
        exchange_rate=rate,
        source_id=source.get("id") if isinstance(source, dict) else source,
    )


def payout_from_stripe(payout: dict[str, Any], transactions: list[dict[str, Any]]) -> Payout:
    currency = str(payout["currency"])
    return Payout(
        id=str(payout["id"]),
        provider=PROVIDER,
        status=str(payout["status"]),
        amount=to_major(payout["amount"], currency),
        currency=currency.upper(),
        # Stripe's arrival_date is a midnight UTC timestamp of the bank day.
        arrival_date=datetime.fromtimestamp(payout["arrival_date"], UTC).date(),
        lines=[_line(t) for t in transactions if t["id"] != payout.get("balance_transaction")],
    )
