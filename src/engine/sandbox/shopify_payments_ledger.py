"""Shopify Payments in the demo shop: which orders it took, and the payouts and balance
transactions those orders make.

Facts followed (shopify.dev REST "Payouts" and "Transactions" resources, and the example answers in
Shopify's own API library):
- A payout is {id, status scheduled|in_transit|paid|failed|canceled, date (the day it was issued),
  currency, amount, summary{charges_/refunds_/adjustments_/reserved_funds_/retried_payouts_ gross and
  fee amounts}}; amounts are decimal strings.
- A balance transaction is {id, type, test, payout_id, payout_status, currency, amount, fee, net,
  source_id, source_type, source_order_id, source_order_transaction_id, processed_at,
  adjustment_order_transactions}; `net = amount - fee`. Money out is negative: a refund
  (source_type "Payments::Refund") and a dispute (source_type "Payments::Dispute", its chargeback fee
  positive, so its net is below its amount); a reserve has no source at all. A transaction not yet
  paid out has no payout_id and payout_status "pending".
- Shopify Payments settles in the payout currency, the shop's SEK: a foreign buyer's payment is
  converted when it is captured, with a currency-conversion fee on top of the processing fee (none on
  refunds or chargebacks); the transaction shows SEK only.

Which orders: Klarna is one of the methods Shopify Payments offers, so a share of the generated Klarna
orders is paid through the "shopify_payments" gateway instead. The share is drawn from a random
stream of its own, so every other generated value stays as it was. Payouts are derived once, from the
orders as the sandbox starts; deterministic for the same orders and `now`.
"""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from engine.sandbox.generator import SHOP_TZ, OrderRecord, iso
from engine.sandbox.order_money import SHOP_CURRENCY, cents_of, money, pair, to_shop

GATEWAY = "shopify_payments"
SHARE = 0.75  # of the Klarna orders
PROCESSING = (0.018, 180)  # share of the amount, plus öre per payment
CONVERSION = 0.02  # on top, when the buyer paid in another currency
CHARGEBACK_FEE = 15_000  # öre, for a dispute lost
RESERVE = 50_000  # öre held back by Shopify, released a week later
UNPAID = ("pending", "authorized", "voided")
SUMMARY_KEYS = {
    "charge": "charges",
    "refund": "refunds",
    "dispute": "adjustments",
    "reserve": "reserved_funds",
}


@dataclass
class ShopifyPaymentsStore:
    payouts: dict[int, dict[str, Any]] = field(default_factory=dict)
    transactions: dict[int, dict[str, Any]] = field(default_factory=dict)


def take_orders(records: list[OrderRecord], seed: int) -> None:
    """Move a share of the Klarna orders to Shopify Payments (their refunds and tips with them)."""
    rng = random.Random(f"{seed}:shopify-payments")
    for record in records:
        order = record.data
        if order["gateway"] != "klarna" or rng.random() >= SHARE:
            continue
        order["gateway"] = GATEWAY
        order["payment_gateway_names"] = [GATEWAY]
        for refund in order["refunds"]:
            for transaction in refund["transactions"]:
                transaction["gateway"] = GATEWAY


@dataclass
class _Line:
    kind: str
    ts: float
    amount: int  # öre
    fee: int
    source_type: str | None = None
    order_id: int | None = None
    order_transaction_id: int | None = None


def _fee(amount: int, foreign: bool) -> int:
    share, fixed = PROCESSING
    return round(amount * share) + fixed + (round(amount * CONVERSION) if foreign else 0)


def _day(ts: float) -> date:
    return datetime.fromtimestamp(ts, SHOP_TZ).date()


def _order_lines(record: OrderRecord) -> list[_Line]:
    order = record.data
    amount = pair(order, "total_price")[0]
    foreign = order["presentment_currency"] != SHOP_CURRENCY
    # The order transaction Shopify Payments captured; the sandbox's orders carry none of their own.
    captured = record.id + 1
    lines = [
        _Line("charge", record.processed_ts, amount, _fee(amount, foreign), "charge", record.id, captured)
    ]
    for refund in order["refunds"]:
        moved = sum(to_shop(cents_of(t["amount"]), t["currency"]) for t in refund["transactions"])
        ts = datetime.fromisoformat(refund["processed_at"]).timestamp()
        kept = refund["transactions"][0]["id"]
        lines.append(_Line("refund", ts, -moved, 0, "Payments::Refund", record.id, kept))
    return lines


def _dispute(
    records: list[OrderRecord], by_day: dict[date, list[_Line]], today: date, rng: random.Random
) -> _Line | None:
    """A buyer's bank takes one plain paid order's money back (a chargeback, lost) within a week, on
    a day whose payout still covers it."""
    candidates = [r for r in records if r.data["financial_status"] == "paid" and not r.data["refunds"]]
    for record in rng.sample(candidates, len(candidates)):
        amount = pair(record.data, "total_price")[0]
        for later in range(1, 8):
            ts = record.processed_ts + later * 86_400
            day = _day(ts)
            if day < today and sum(x.amount - x.fee for x in by_day.get(day, [])) > amount + CHARGEBACK_FEE:
                return _Line(
                    "dispute", ts, -amount, CHARGEBACK_FEE, "Payments::Dispute", record.id, record.id + 1
                )
    return None


def _reserve(days: list[date]) -> list[_Line]:
    """Funds held back on the first payout's day and released a week later."""
    if len(days) < 2:
        return []
    held = datetime.combine(days[0], datetime.min.time(), SHOP_TZ).timestamp() + 23 * 3600
    released_day = days[min(len(days) - 1, 7)]
    released = datetime.combine(released_day, datetime.min.time(), SHOP_TZ).timestamp() + 23 * 3600
    return [_Line("reserve", held, -RESERVE, 0), _Line("reserve", released, RESERVE, 0)]


def _status(issued: date, today: date) -> str:
    return "paid" if issued < today else "in_transit"


def build_ledger(store: ShopifyPaymentsStore, records: list[OrderRecord], now: float, seed: int) -> None:
    """Fill `store` from the orders paid through Shopify Payments. A day's transactions are paid
    out the next day; a day whose money does not cover what went out waits for the next day's."""
    paid = [r for r in records if r.data["gateway"] == GATEWAY and r.data["financial_status"] not in UNPAID]
    today = _day(now)
    by_day: dict[date, list[_Line]] = defaultdict(list)
    for line in (line for record in paid for line in _order_lines(record) if line.ts <= now):
        by_day[_day(line.ts)].append(line)
    dispute = _dispute(paid, by_day, today, random.Random(f"{seed}:shopify-payments-dispute"))
    extra = _reserve(sorted(day for day in by_day if day < today)) + ([dispute] if dispute else [])
    for line in extra:
        by_day[_day(line.ts)].append(line)

    next_txn = 64_100_000_000
    waiting: list[_Line] = []
    for day in sorted(by_day):
        waiting += by_day[day]
        issued = day + timedelta(days=1)
        net = sum(line.amount - line.fee for line in waiting)
        payout_id = None
        if issued <= today and net > 0:
            payout_id = 71_100_000 + issued.toordinal()
            store.payouts[payout_id] = _payout(payout_id, issued, _status(issued, today), waiting)
        elif issued <= today:
            continue
        for line in sorted(waiting, key=lambda item: item.ts):
            next_txn += 13
            status = store.payouts[payout_id]["status"] if payout_id else "pending"
            store.transactions[next_txn] = _transaction(next_txn, line, payout_id, status)
        waiting = []
    for line in sorted(waiting, key=lambda item: item.ts):
        next_txn += 13
        store.transactions[next_txn] = _transaction(next_txn, line, None, "pending")


def _payout(payout_id: int, issued: date, status: str, lines: list[_Line]) -> dict[str, Any]:
    summary: dict[str, int] = defaultdict(int)
    for line in lines:
        key = SUMMARY_KEYS[line.kind]
        summary[f"{key}_gross_amount"] += line.amount
        summary[f"{key}_fee_amount"] += line.fee
    keys = ("adjustments", "charges", "refunds", "reserved_funds", "retried_payouts")
    return {
        "id": payout_id,
        "status": status,
        "date": issued.isoformat(),
        "currency": SHOP_CURRENCY,
        "amount": money(sum(line.amount - line.fee for line in lines)),
        "summary": {
            f"{key}_{part}_amount": money(summary[f"{key}_{part}_amount"])
            for key in keys
            for part in ("fee", "gross")
        },
    }


def _transaction(txn_id: int, line: _Line, payout_id: int | None, payout_status: str) -> dict[str, Any]:
    return {
        "id": txn_id,
        "type": line.kind,
        "test": False,
        "payout_id": payout_id,
        "payout_status": payout_status,
        "currency": SHOP_CURRENCY,
        "amount": money(line.amount),
        "fee": money(line.fee),
        "net": money(line.amount - line.fee),
        "source_id": None if line.source_type is None else txn_id + 1,
        "source_type": line.source_type,
        "source_order_id": line.order_id,
        "source_order_transaction_id": line.order_transaction_id,
        "processed_at": iso(line.ts),
        "adjustment_order_transactions": None,
    }
