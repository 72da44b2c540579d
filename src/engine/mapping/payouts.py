"""A payout as the payouts flows book it, whichever payment provider paid it out.

Each provider's flow reads its own API (Stripe's payouts and balance transactions, Shopify
Payments' payouts and balance transactions) and turns it into this one shape, so matching lines to
invoices, registering payments, writing off fees and making the payout's voucher are written once.

Money is `Decimal` in major units of the settlement currency (Stripe sends integer minor units,
Shopify decimal strings: each reader converts). Signs follow the provider's balance: money in is
positive (a charge), money out negative (a refund, a dispute, a fee). `amount` is the gross,
`fee` what the provider kept (positive), `net = amount - fee`. The payout's `amount` is the sum of its
lines' `net`: what reached the bank.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Literal

# "returned": a failed payout's money put back in the provider's balance, which a later payout
# carries (Stripe's payout_failure, Shopify's payout_failure / payout_cancellation).
LineKind = Literal["charge", "refund", "dispute", "fee", "adjustment", "reserve", "returned", "other"]


@dataclass(frozen=True)
class PayoutLine:
    id: str  # the provider's balance transaction id (txn_…, or Shopify's numeric id)
    kind: LineKind
    amount: Decimal  # gross, settlement currency
    fee: Decimal
    net: Decimal
    currency: str  # settlement currency, upper case ("SEK")
    # The shop order the line is for, as the provider knows it: its name ("#1001", Stripe's charge
    # metadata) and/or Shopify's order id (Shopify Payments' source_order_id). None for lines that
    # belong to no order (a fee, a reserve).
    order_name: str | None = None
    order_id: str | None = None
    # What the buyer paid in their own currency when it differs from the settlement currency, and
    # the rate the provider converted at (settlement per buyer unit).
    buyer_amount: Decimal | None = None
    buyer_currency: str | None = None
    exchange_rate: Decimal | None = None
    source_id: str | None = None  # ch_… / re_… / dp_…, for the operator


@dataclass(frozen=True)
class Payout:
    id: str  # po_… or Shopify's numeric payout id
    provider: str  # "stripe" | "shopify_payments"
    status: str  # the provider's word; "paid" and "failed" payouts are booked (payout_booking)
    amount: Decimal  # what reached the bank, settlement currency
    currency: str
    arrival_date: date  # the day the money is booked on the bank account
    lines: list[PayoutLine] = field(default_factory=list)
