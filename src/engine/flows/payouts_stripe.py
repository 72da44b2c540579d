"""Payouts: Stripe → Fortnox invoice payments and a voucher per payout (engine.flows.payout_booking).

This module only reads Stripe: payouts by arrival date, and each payout's balance transactions with
their source and its charge expanded (StripeClient.payout_transactions), turned into the shared
`Payout` shape by engine.mapping.payouts_stripe.

Every run reads every payout that arrived since the exclusion date, not only those new since the
last run: a line waits in PAYOUT_INVOICE_NOT_FOUND until its order is synced, and its payout must be
read again then. A payout booked already is recognised by its entity and costs no further request.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime

from engine.flows import payout_booking
from engine.flows.base import FlowContext, Outcome
from engine.mapping.payouts_stripe import payout_from_stripe
from engine.runtime.records import dumps

KEY = "stripe_payouts_to_fortnox"
ENTITY = payout_booking.ENTITY
NAME = "Payouts (Stripe)"
ACTION = "Book Stripe payouts in Fortnox"
SOURCE_PLATFORM = "stripe"
TARGET_PLATFORM = "fortnox"
SOURCE_SIDE = "C"
TARGET_SIDE = "B"


# -- what the runner calls ---------------------------------------------------------------------------
def fetch_since(ctx: FlowContext, start: datetime, end: datetime) -> AsyncIterator[list[dict]]:
    return ctx.source.iter_payouts(int(start.timestamp()), int(end.timestamp()))


fetch_by_source_id = payout_booking.fetch_payout
reference_of = payout_booking.reference_of


async def fetch_one(ctx: FlowContext, ref: str) -> dict | None:
    """The payout `ref` names: its id, or a line's label ("po_… charge #1001")."""
    return await fetch_by_source_id(ctx, ref.split(" ", 1)[0])


async def process(ctx: FlowContext, payout: dict) -> Outcome:
    if payout.get("status") not in payout_booking.BOOKED_STATUSES:
        return Outcome.SKIPPED  # not read further: a payout in transit is booked once it is paid
    transactions = await ctx.source.payout_transactions(str(payout["id"]))
    shaped = payout_from_stripe(payout, transactions)
    return await payout_booking.book(ctx, shaped, ctx.settings.payouts_stripe, dumps(payout))
