"""Payouts: Stripe → Fortnox invoice payments and a voucher per payout (engine.flows.payout_booking).

This module only reads Stripe: payouts by arrival date, and each payout's balance transactions with
their source expanded (a charge's or refund's `metadata.order_id` names the shop order), turned into
the shared `Payout` shape. Amounts arrive as integers in minor units and become `Decimal`.

Every run reads every payout that arrived since the exclusion date, not only those new since the
last run: a line waits in PAYOUT_INVOICE_NOT_FOUND until its order is synced, and its payout must be
read again then. A payout booked already is recognised by its entity and costs no further request.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from engine.flows import payout_booking
from engine.flows.base import FlowContext, Outcome
from engine.mapping.payouts import LineKind, Payout, PayoutLine
from engine.platforms.http import PlatformError
from engine.runtime.records import dumps

KEY = "stripe_payouts_to_fortnox"
ENTITY = payout_booking.ENTITY
NAME = "Payouts (Stripe)"
ACTION = "Book Stripe payouts in Fortnox"
SOURCE_PLATFORM = "stripe"
TARGET_PLATFORM = "fortnox"
SOURCE_SIDE = "C"
TARGET_SIDE = "B"

# Currencies Stripe counts in whole units (no minor unit); every other is in hundredths.
ZERO_DECIMAL = frozenset(
    {
        "BIF",
        "CLP",
        "DJF",
        "GNF",
        "JPY",
        "KMF",
        "KRW",
        "MGA",
        "PYG",
        "RWF",
        "UGX",
        "VND",
        "VUV",
        "XAF",
        "XOF",
        "XPF",
    }
)
KINDS: dict[str, LineKind] = {
    "charge": "charge",
    "payment": "charge",
    "refund": "refund",
    "payment_refund": "refund",
    "payment_failure_refund": "refund",
    "stripe_fee": "fee",
    "tax_fee": "fee",
    "application_fee": "fee",
    "adjustment": "adjustment",
    "reserve_transaction": "reserve",
}


def _major(minor: Any, currency: str) -> Decimal:
    amount = Decimal(int(minor or 0))
    return amount if currency.upper() in ZERO_DECIMAL else amount / 100


def _kind(txn: dict) -> LineKind:
    if txn.get("reporting_category") == "dispute" or str(txn.get("type", "")).startswith("dispute"):
        return "dispute"
    return KINDS.get(str(txn.get("type")), "other")


def read_line(txn: dict) -> PayoutLine:
    currency = str(txn.get("currency") or "").upper()
    source = txn.get("source") if isinstance(txn.get("source"), dict) else {}
    metadata = source.get("metadata") if isinstance(source.get("metadata"), dict) else {}
    buyer_currency = str(source.get("currency") or "").upper() or None
    converted = buyer_currency is not None and buyer_currency != currency and source.get("amount") is not None
    rate = txn.get("exchange_rate")
    return PayoutLine(
        id=str(txn["id"]),
        kind=_kind(txn),
        amount=_major(txn.get("amount"), currency),
        fee=_major(txn.get("fee"), currency),
        net=_major(txn.get("net"), currency),
        currency=currency,
        order_name=str(metadata["order_id"]) if metadata.get("order_id") else None,
        buyer_amount=_major(source["amount"], str(buyer_currency)) if converted else None,
        buyer_currency=buyer_currency if converted else None,
        exchange_rate=Decimal(str(rate)) if rate is not None else None,
        source_id=str(source.get("id")) if source.get("id") else None,
    )


def read_payout(payout: dict, transactions: list[dict]) -> Payout:
    """A Stripe payout and its balance transactions as the shared shape; the payout's own
    transaction (type "payout") is the money leaving the balance, not a line of it."""
    currency = str(payout.get("currency") or "").upper()
    return Payout(
        id=str(payout["id"]),
        provider="stripe",
        status=str(payout.get("status")),
        amount=_major(payout.get("amount"), currency),
        currency=currency,
        arrival_date=datetime.fromtimestamp(int(payout["arrival_date"]), UTC).date(),
        lines=[read_line(t) for t in transactions if t.get("type") != "payout"],
    )


# -- what the runner calls ---------------------------------------------------------------------------
def fetch_since(ctx: FlowContext, start: datetime, end: datetime) -> AsyncIterator[list[dict]]:
    return ctx.source.iter_payouts(int(start.timestamp()), int(end.timestamp()))


async def fetch_by_source_id(ctx: FlowContext, source_id: str) -> dict | None:
    try:
        return await ctx.source.get_payout(source_id)  # type: ignore[no-any-return]
    except PlatformError as exc:
        if exc.status == 404:
            return None
        raise


async def fetch_one(ctx: FlowContext, ref: str) -> dict | None:
    """The payout `ref` names: its id, or a line's label ("po_… charge #1001")."""
    return await fetch_by_source_id(ctx, ref.split(" ", 1)[0])


def reference_of(payout: dict) -> str:
    return str(payout.get("id"))


async def process(ctx: FlowContext, payout: dict) -> Outcome:
    if payout.get("status") != "paid":
        return Outcome.SKIPPED  # not read further: a payout in transit is booked once it is paid
    transactions = await ctx.source.payout_transactions(str(payout["id"]))
    shaped = read_payout(payout, transactions)
    return await payout_booking.book(ctx, shaped, ctx.settings.payouts_stripe, dumps(payout))
