"""Stripe payouts imitation: auth, the list envelope, payouts and balance transactions.

Payouts are derived from the Shopify orders paid through the "stripe" gateway: one automatic payout per
day, two days after the charges, in SEK minor units (foreign charges converted at the sandbox rates).

Facts followed (Stripe API reference; a chargeback's balance transaction as Stripe's own webhook
fixtures show it):
- A charge in the buyer's currency settles in SEK: its balance transaction has the SEK amount and
  `exchange_rate` (SEK per buyer unit); the charge object keeps the buyer's amount and currency and
  the order's number in its `metadata`.
- A refund's and a dispute's own `metadata` are empty: the order is found through their `charge`, which
  `expand[]=data.source.charge` turns into the charge object (nested expansion expands the parents too).
- A lost chargeback is `type` "adjustment" with `reporting_category` "dispute", its source a `dp_`
  dispute; the amount is negative and the dispute fee (fee_details type "stripe_fee") makes the net
  lower still.
- A payout can fail after it was paid (the bank returns it): its status becomes "failed" with a
  `failure_code` and `failure_balance_transaction`, a `payout_failure` transaction (reporting category
  "payout_reversal") puts the money back in the balance, and the next payout carries it.
- Lists are newest first; `limit` 1–100; `starting_after` / `ending_before` take an id of the list and
  not both; a list's expansions are written `data.…`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import random
from collections import defaultdict
from datetime import datetime
from typing import Any
from urllib.parse import unquote_to_bytes

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route, Router
from starlette.types import Receive, Scope, Send

from engine.sandbox.common import header, json_response, send_json
from engine.sandbox.generator import DAY, FX_TO_SEK, SHOP_TZ, OrderRecord, cents_of
from engine.sandbox.order_money import pair
from engine.sandbox.state import SandboxState, StripeStore

DISPUTE_FEE = 15_000  # öre
# Which payout (counted from the oldest) the bank sends back after it was paid.
FAILED_PAYOUT = 2
EXPANDABLE = ("data.source", "data.source.charge")


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


def _txn(
    txn_id: str, kind: str, category: str, amount: int, fee: int, created: float, source: Any
) -> dict[str, Any]:
    return {
        "id": txn_id,
        "object": "balance_transaction",
        "amount": amount,
        "fee": fee,
        "net": amount - fee,
        "fee_details": [],
        "currency": "sek",
        "exchange_rate": None,
        "type": kind,
        "reporting_category": category,
        "created": int(created),
        "source": source,
    }


def _charge_lines(record: OrderRecord) -> list[dict[str, Any]]:
    o = record.data
    # Stripe charges what the buyer paid, in the buyer's currency, and settles it in SEK.
    buyer = o["presentment_currency"]
    paid = pair(o, "total_price")[1]
    amount = _sek(paid, buyer)
    fee = round(amount * 0.015) + 180
    charge_id = _sid("ch", o["id"])
    charge = {
        "id": charge_id,
        "object": "charge",
        "amount": paid,
        "currency": buyer.lower(),
        "balance_transaction": _sid("txn", "charge", o["id"]),
        "metadata": {"order_id": o["name"]},
        "paid": True,
        "status": "succeeded",
    }
    line = _txn(charge["balance_transaction"], "charge", "charge", amount, fee, record.created_ts, charge)
    line["fee_details"] = [{"amount": fee, "currency": "sek", "type": "stripe_fee"}]
    line["exchange_rate"] = None if buyer == "SEK" else FX_TO_SEK[buyer]
    lines = [line]
    for refund in o["refunds"]:
        given_back = sum(cents_of(t["amount"]) for t in refund["transactions"])
        # A refund is in its charge's currency (amount, currency), settled in SEK at a rate.
        source = {
            "id": _sid("re", refund["id"]),
            "object": "refund",
            "amount": given_back,
            "currency": buyer.lower(),
            "charge": charge,
            "metadata": {},
        }
        txn = _txn(
            _sid("txn", "refund", refund["id"]),
            "refund",
            "refund",
            -_sek(given_back, buyer),
            0,
            record.created_ts,
            source,
        )
        txn["exchange_rate"] = line["exchange_rate"]
        lines.append(txn)
    return lines


def _dispute(by_day: dict[str, list[dict[str, Any]]], charges: list[dict[str, Any]]) -> None:
    """A buyer's bank takes one charge back within a week (lost), on a day whose payout covers it."""
    rng = random.Random("stripe-dispute")
    for line in rng.sample(charges, len(charges)):
        charge = line["source"]
        for later in range(1, 8):
            created = line["created"] + later * DAY
            day = datetime.fromtimestamp(created, SHOP_TZ).date().isoformat()
            if day not in by_day or sum(t["net"] for t in by_day[day]) <= line["amount"] + DISPUTE_FEE:
                continue
            dispute = {
                "id": _sid("dp", charge["id"]),
                "object": "dispute",
                "amount": charge["amount"],
                "currency": charge["currency"],
                "charge": charge,
                "metadata": {},
                "reason": "fraudulent",
                "status": "lost",
            }
            txn = _txn(
                _sid("txn", "dispute", charge["id"]),
                "adjustment",
                "dispute",
                -line["amount"],
                0,
                created,
                dispute,
            )
            txn.update(fee=DISPUTE_FEE, net=-line["amount"] - DISPUTE_FEE)
            txn["fee_details"] = [
                {"amount": DISPUTE_FEE, "currency": "sek", "description": "Dispute fee", "type": "stripe_fee"}
            ]
            by_day[day].append(txn)
            return


def build_payouts(store: StripeStore, orders: list[OrderRecord], now: float) -> None:
    """Fill `store` from the orders; deterministic for the same orders."""
    by_day: dict[str, list[dict[str, Any]]] = defaultdict(list)
    charges = []
    for record in orders:
        if record.data["gateway"] != "stripe" or record.data["financial_status"] in (
            "pending",
            "authorized",
            "voided",
        ):
            continue
        day = datetime.fromtimestamp(record.created_ts, SHOP_TZ).date().isoformat()
        lines = _charge_lines(record)
        by_day[day] += lines
        charges.append(lines[0])
    _dispute(by_day, charges)
    payouts = []
    returned: dict[str, Any] | None = None
    for day in sorted(by_day):
        created = datetime.fromisoformat(day).replace(tzinfo=SHOP_TZ).timestamp() + DAY + 6 * 3600
        if created > now:
            continue
        txns = by_day[day]
        if returned is not None and created >= returned["arrival_date"] + DAY / 2:
            # The failed payout's money came back to the balance; this payout pays it out again.
            failure = returned["failure_balance_transaction"]
            reversal = _txn(failure, "payout_failure", "payout_reversal", returned["amount"], 0,
                            returned["arrival_date"] + DAY / 2, returned["id"])  # fmt: skip
            txns.append(reversal)
            returned = None
        arrival = created + DAY
        net = sum(t["net"] for t in txns)
        payout_id = _sid("po", day)
        payout_txn = _txn(_sid("txn", "payout", day), "payout", "payout", -net, 0, created, payout_id)
        payout = {
            "id": payout_id,
            "object": "payout",
            "amount": net,
            "currency": "sek",
            "arrival_date": int(arrival),
            "created": int(created),
            "status": "paid" if arrival <= now else "in_transit",
            "automatic": True,
            "balance_transaction": payout_txn["id"],
            "failure_balance_transaction": None,
            "failure_code": None,
            "failure_message": None,
            "method": "standard",
            "type": "bank_account",
            "livemode": False,
            "metadata": {},
        }
        if len(payouts) == FAILED_PAYOUT and arrival + DAY <= now:
            payout.update(
                status="failed",
                failure_code="account_closed",
                failure_message="The bank account has been closed.",
                failure_balance_transaction=_sid("txn", "failure", payout_id),
            )
            returned = payout
        payouts.append(payout)
        store.balance_transactions[payout_id] = sorted([*txns, payout_txn], key=lambda t: -t["created"])
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
    if params.get("starting_after") and params.get("ending_before"):
        raise StripeError(400, "You may only specify one of these parameters: ending_before, starting_after.")
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
        expand = _expansions(request)
        return _list(request, [_expanded(t, expand) for t in items], "/v1/balance_transactions")


def _expansions(request: Request) -> set[str]:
    wanted = set(request.query_params.getlist("expand[]"))
    for path in sorted(wanted - set(EXPANDABLE)):
        hint = (
            f" You may want to try expanding 'data.{path}' instead." if f"data.{path}" in EXPANDABLE else ""
        )
        raise StripeError(400, f"This property cannot be expanded ({path}).{hint}", "expand")
    return wanted


def _id_of(value: Any) -> Any:
    return value["id"] if isinstance(value, dict) else value


def _expanded(txn: dict[str, Any], expand: set[str]) -> dict[str, Any]:
    """Objects are stored expanded; an answer shows ids where nothing asked for the object."""
    source = txn["source"]
    if not expand or not isinstance(source, dict):
        return {**txn, "source": _id_of(source)}
    if "charge" in source and "data.source.charge" not in expand:
        source = {**source, "charge": _id_of(source["charge"])}
    return {**txn, "source": source}


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


ACCOUNT_ID = "acct_1SandboxJunipeer"


def _masked(key: str) -> str:
    """As Stripe shows a key in its errors: the mode prefix and the last six characters."""
    return f"{key[:8]}{'*' * (len(key) - 14)}{key[-6:]}"


def _permissions_for(scope: Scope) -> list[str]:
    """A restricted key's permission each read needs; an expanded source is a charge (or refund,
    dispute) read as well."""
    path = scope["path"].split("/stripe/v1", 1)[-1]
    needed = ["rak_payout_read"] if path.startswith("/payouts") else []
    if path.startswith("/balance_transactions"):
        needed.append("rak_balance_read")
        if b"data.source" in unquote_to_bytes(scope.get("query_string", b"")):
            needed.append("rak_charge_read")
    return needed


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
        creds = self.state.creds
        if key == creds.stripe_restricted_key:
            with self.state.lock:
                lacking = [
                    p for p in _permissions_for(scope) if p not in self.state.stripe.restricted_permissions
                ]
            if lacking:
                message = (
                    f"The provided key '{_masked(key)}' does not have the required permissions for this "
                    f"endpoint on account '{ACCOUNT_ID}'. Having the '{lacking[0]}' permission would allow "
                    "this request to continue."
                )
                await send_json(send, 403, {"error": {"type": "invalid_request_error", "message": message}})
                return
        elif key != creds.stripe_api_key:
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
