"""Stripe payouts imitation: auth, the list envelope, payouts and balance transactions.

Payouts are derived from the Shopify orders paid through the "stripe" gateway: one automatic payout per
day, two days after the charges, in SEK minor units (foreign charges converted at the sandbox rates).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections import defaultdict
from datetime import datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route, Router
from starlette.types import Receive, Scope, Send

from engine.sandbox.common import header, json_response, send_json
from engine.sandbox.generator import DAY, FX_TO_SEK, SHOP_TZ, OrderRecord, cents_of
from engine.sandbox.order_money import pair
from engine.sandbox.state import SandboxState, StripeStore


class StripeError(Exception):
    def __init__(self, status: int, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.body = {"error": {"type": "invalid_request_error", "message": message}}
        if param:
            self.body["error"]["param"] = param


def _sid(prefix: str, *parts: Any) -> str:
    digest = hashlib.sha1("|".join(map(str, parts)).encode()).hexdigest()[:24]
    return f"{prefix}_{digest}"


def _sek(cents: int, currency: str) -> int:
    return round(cents * FX_TO_SEK[currency])


def build_payouts(store: StripeStore, orders: list[OrderRecord], now: float) -> None:
    """Fill `store` from the orders; deterministic for the same orders."""
    by_day: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for record in orders:
        o = record.data
        if o["gateway"] != "stripe" or o["financial_status"] in ("pending", "authorized", "voided"):
            continue
        day = datetime.fromtimestamp(record.created_ts, SHOP_TZ).date().isoformat()
        # Stripe charges what the buyer paid, in the buyer's currency, and settles it in SEK.
        buyer = o["presentment_currency"]
        amount = _sek(pair(o, "total_price")[1], buyer)
        fee = round(amount * 0.015) + 180
        charge = _sid("ch", o["id"])
        by_day[day].append(
            {
                "id": _sid("txn", "charge", o["id"]),
                "object": "balance_transaction",
                "amount": amount,
                "fee": fee,
                "net": amount - fee,
                "fee_details": [{"amount": fee, "currency": "sek", "type": "stripe_fee"}],
                "currency": "sek",
                "exchange_rate": None if buyer == "SEK" else FX_TO_SEK[buyer],
                "type": "charge",
                "reporting_category": "charge",
                "created": int(record.created_ts),
                "source": {"id": charge, "object": "charge", "metadata": {"order_id": o["name"]}},
            }
        )
        for refund in o["refunds"]:
            refunded = _sek(sum(cents_of(t["amount"]) for t in refund["transactions"]), buyer)
            by_day[day].append(
                {
                    "id": _sid("txn", "refund", refund["id"]),
                    "object": "balance_transaction",
                    "amount": -refunded,
                    "fee": 0,
                    "net": -refunded,
                    "fee_details": [],
                    "currency": "sek",
                    "exchange_rate": None,
                    "type": "refund",
                    "reporting_category": "refund",
                    "created": int(record.created_ts),
                    "source": {
                        "id": _sid("re", refund["id"]),
                        "object": "refund",
                        "charge": charge,
                        "metadata": {"order_id": o["name"]},
                    },
                }
            )
    payouts = []
    for day in sorted(by_day):
        txns = by_day[day]
        created = datetime.fromisoformat(day).replace(tzinfo=SHOP_TZ).timestamp() + DAY + 6 * 3600
        if created > now:
            continue
        arrival = created + DAY
        net = sum(t["net"] for t in txns)
        payout_id = _sid("po", day)
        payout_txn = {
            "id": _sid("txn", "payout", day),
            "object": "balance_transaction",
            "amount": -net,
            "fee": 0,
            "net": -net,
            "fee_details": [],
            "currency": "sek",
            "exchange_rate": None,
            "type": "payout",
            "reporting_category": "payout",
            "created": int(created),
            "source": payout_id,
        }
        payouts.append(
            {
                "id": payout_id,
                "object": "payout",
                "amount": net,
                "currency": "sek",
                "arrival_date": int(arrival),
                "created": int(created),
                "status": "paid" if arrival <= now else "in_transit",
                "automatic": True,
                "balance_transaction": payout_txn["id"],
                "method": "standard",
                "type": "bank_account",
                "livemode": False,
                "metadata": {},
            }
        )
        store.balance_transactions[payout_id] = [*sorted(txns, key=lambda t: -t["created"]), payout_txn]
    store.payouts = sorted(payouts, key=lambda p: -p["created"])


def _range_filter(request: Request, field: str) -> list[Any]:
    checks = []
    for op in ("gt", "gte", "lt", "lte"):
        raw = request.query_params.get(f"{field}[{op}]")
        if raw is None:
            continue
        try:
            bound = int(raw)
        except ValueError:
            raise StripeError(400, f"Invalid integer: {raw}", f"{field}[{op}]") from None
        checks.append(
            {
                "gt": lambda v, b=bound: v > b,
                "gte": lambda v, b=bound: v >= b,
                "lt": lambda v, b=bound: v < b,
                "lte": lambda v, b=bound: v <= b,
            }[op]
        )
    return [lambda o, c=c: c(o[field]) for c in checks]


def _list(request: Request, items: list[dict[str, Any]], url: str) -> Response:
    params = request.query_params
    try:
        limit = int(params.get("limit", "10"))
    except ValueError:
        raise StripeError(400, "Invalid integer", "limit") from None
    if not 1 <= limit <= 100:
        raise StripeError(400, "limit must be between 1 and 100", "limit")
    ids = [i["id"] for i in items]
    start, end = 0, len(items)
    if params.get("starting_after"):
        if params["starting_after"] not in ids:
            raise StripeError(400, f"No such object: '{params['starting_after']}'", "starting_after")
        start = ids.index(params["starting_after"]) + 1
        end = start + limit
    elif params.get("ending_before"):
        if params["ending_before"] not in ids:
            raise StripeError(400, f"No such object: '{params['ending_before']}'", "ending_before")
        end = ids.index(params["ending_before"])
        start = max(0, end - limit)
    else:
        end = limit
    page = items[start:end]
    has_more = end < len(items) if not params.get("ending_before") else start > 0
    return json_response({"object": "list", "url": url, "has_more": has_more, "data": page})


async def list_payouts(request: Request) -> Response:
    state: SandboxState = request.app.state.sandbox
    with state.lock:
        checks = _range_filter(request, "created") + _range_filter(request, "arrival_date")
        status = request.query_params.get("status")
        items = [
            p
            for p in state.stripe.payouts
            if all(c(p) for c in checks) and (not status or p["status"] == status)
        ]
        return _list(request, items, "/v1/payouts")


async def get_payout(request: Request) -> Response:
    state: SandboxState = request.app.state.sandbox
    with state.lock:
        payout = next((p for p in state.stripe.payouts if p["id"] == request.path_params["payout_id"]), None)
        if payout is None:
            raise StripeError(404, f"No such payout: '{request.path_params['payout_id']}'", "id")
        return json_response(payout)


async def list_balance_transactions(request: Request) -> Response:
    state: SandboxState = request.app.state.sandbox
    with state.lock:
        payout = request.query_params.get("payout")
        if payout:
            if payout not in state.stripe.balance_transactions:
                raise StripeError(404, f"No such payout: '{payout}'", "payout")
            items = state.stripe.balance_transactions[payout]
        else:
            items = sorted(
                (t for txns in state.stripe.balance_transactions.values() for t in txns),
                key=lambda t: -t["created"],
            )
        if request.query_params.get("type"):
            items = [t for t in items if t["type"] == request.query_params["type"]]
        expand = request.query_params.getlist("expand[]")
        response_items = items
        if "data.source" not in expand:
            # Without expansion Stripe sends the source id only.
            response_items = [
                {**t, "source": t["source"]["id"] if isinstance(t["source"], dict) else t["source"]}
                for t in items
            ]
        return _list(request, response_items, "/v1/balance_transactions")


async def not_found(scope: Scope, receive: Receive, send: Send) -> None:
    message = f"Unrecognized request URL ({scope['method']}: /v1{scope['path'].split('/stripe/v1', 1)[-1]})."
    await send_json(send, 404, {"error": {"type": "invalid_request_error", "message": message}})


def _key_from(scope: Scope) -> str:
    auth = header(scope, b"authorization") or ""
    scheme, _, value = auth.partition(" ")
    if scheme.lower() == "bearer":
        return value.strip()
    if scheme.lower() == "basic":
        try:
            return base64.b64decode(value).decode().partition(":")[0]
        except (ValueError, binascii.Error, UnicodeDecodeError):
            return ""
    return ""


class StripeApp:
    def __init__(self, state: SandboxState) -> None:
        self.state = state
        self.router = Router(
            routes=[
                Route("/payouts", list_payouts, methods=["GET"]),
                Route("/payouts/{payout_id}", get_payout, methods=["GET"]),
                Route("/balance_transactions", list_balance_transactions, methods=["GET"]),
            ],
            default=not_found,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        key = _key_from(scope)
        if key != self.state.creds.stripe_api_key:
            shown = f"{key[:8]}{'*' * 8}{key[-4:]}" if key else ""
            message = (
                f"Invalid API Key provided: {shown}"
                if key
                else "You did not provide an API key. Provide it in the Authorization header (Bearer auth)."
            )
            await send_json(send, 401, {"error": {"type": "invalid_request_error", "message": message}})
            return
        try:
            await self.router(scope, receive, send)
        except StripeError as exc:
            await send_json(send, exc.status, exc.body)
