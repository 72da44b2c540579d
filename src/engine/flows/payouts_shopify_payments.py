"""Payouts: Shopify Payments → Fortnox invoice payments and a voucher per payout
(engine.flows.payout_booking).

This module only reads Shopify: the shop's Shopify Payments payouts by the day they were issued, and
each payout's balance transactions, turned into the shared `Payout` shape by
engine.mapping.payouts_shopify. A transaction names its order by Shopify's order id only; the name the
invoice is matched on comes from the order's own record here (the orders flow keeps the order's name
with its id) and, for an order this program never synced, from Shopify.

Every run reads every payout issued since the exclusion date, as the Stripe flow does: a line waits in
PAYOUT_INVOICE_NOT_FOUND until its order is synced, and its payout must be read again then. The flow
needs the Shopify scope read_shopify_payments_payouts; it starts disabled and is enabled when the
shop's connection grants that scope.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import date, datetime

from engine.flows import orders_to_fortnox, payout_booking
from engine.flows.base import FlowContext, Outcome
from engine.mapping.payouts import Payout
from engine.mapping.payouts_shopify import payout_from_shopify
from engine.runtime.records import dumps

KEY = "shopify_payments_payouts_to_fortnox"
ENTITY = payout_booking.ENTITY
NAME = "Payouts (Shopify Payments)"
ACTION = "Book Shopify Payments payouts in Fortnox"
SOURCE_PLATFORM = "shopify"
TARGET_PLATFORM = "fortnox"
SOURCE_SIDE = "A"
TARGET_SIDE = "B"
# The Shopify scope the flow reads with; connect enables the flow when the shop grants it.
SHOPIFY_SCOPE = "read_shopify_payments_payouts"


# -- what the runner calls ---------------------------------------------------------------------------
async def fetch_since(ctx: FlowContext, start: datetime, end: datetime) -> AsyncIterator[list[dict]]:
    """Payouts issued from `start`'s day up to `end`'s; Shopify filters by day only."""
    payouts = await ctx.source.list_payouts(date_min=start.date())
    if page := [p for p in payouts if date.fromisoformat(str(p["date"])) <= end.date()]:
        yield page


fetch_by_source_id = payout_booking.fetch_payout
reference_of = payout_booking.reference_of


async def fetch_one(ctx: FlowContext, ref: str) -> dict | None:
    """The payout `ref` names: its id, or a line's label ("123 charge #1001")."""
    payout_id = ref.split(" ", 1)[0]
    return await fetch_by_source_id(ctx, payout_id) if payout_id.isdigit() else None


async def process(ctx: FlowContext, payout: dict) -> Outcome:
    if payout.get("status") not in payout_booking.BOOKED_STATUSES:
        return Outcome.SKIPPED  # scheduled or in transit: booked once it is paid
    transactions = await ctx.source.payout_transactions(str(payout["id"]))
    shaped = await _with_order_names(ctx, payout_from_shopify(payout, transactions))
    return await payout_booking.book(ctx, shaped, ctx.settings.payouts_shopify_payments, dumps(payout))


async def _with_order_names(ctx: FlowContext, payout: Payout) -> Payout:
    """The payout with each line's order name, found from its Shopify order id."""
    names: dict[str, str | None] = {}
    for order_id in {line.order_id for line in payout.lines if line.order_id}:
        names[order_id] = await _order_name(ctx, order_id)
    lines = [replace(ln, order_name=names[ln.order_id]) if ln.order_id else ln for ln in payout.lines]
    return replace(payout, lines=lines)


async def _order_name(ctx: FlowContext, order_id: str) -> str | None:
    """The order's name as the orders flow recorded it with its id; an order it never synced is
    read from Shopify (its invoice may still exist, made by hand or before this program)."""
    known = await ctx.recorder.areference(orders_to_fortnox.ENTITY, order_id)
    if known is not None and known.source_label:
        return str(known.source_label)
    order = await orders_to_fortnox.fetch_by_source_id(ctx, order_id)
    return orders_to_fortnox.reference_of(order) if order is not None else None
