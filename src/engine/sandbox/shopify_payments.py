"""Shopify Payments' REST resources: payouts and balance transactions (see
engine.sandbox.shopify_payments_ledger for what they hold).

Both lists are newest first, as Shopify lists them, and page with the same `page_info` cursors and
Link headers as orders.json; since_id / last_id keep ids above / below a bound. They need the
`read_shopify_payments_payouts` scope (engine.sandbox.shopify_oauth).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from engine.sandbox.common import json_response
from engine.sandbox.shopify import ShopifyError, fields_of, int_list, paginate, subset
from engine.sandbox.state import SandboxState

PAYOUT_FILTERS = ("since_id", "last_id", "date_min", "date_max", "date", "status")
PAYOUT_STATUSES = ("scheduled", "in_transit", "paid", "failed", "canceled")
TRANSACTION_FILTERS = ("since_id", "last_id", "payout_id", "payout_status", "test")


def _state(request: Request) -> SandboxState:
    return request.app.state.sandbox  # type: ignore[no-any-return]


def _one_int(f: dict[str, str], param: str) -> int | None:
    if param not in f:
        return None
    values = int_list(f[param], param)
    if len(values) != 1:
        raise ShopifyError(400, {param: "must be one integer"})
    return values.pop()


def _day(value: str, param: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ShopifyError(400, {param: f"is not a valid date (YYYY-MM-DD): {value!r}"}) from None


def _id_checks(f: dict[str, str]) -> list[Callable[[dict[str, Any]], bool]]:
    checks = []
    since, last = _one_int(f, "since_id"), _one_int(f, "last_id")
    if since is not None:
        checks.append(lambda o: o["id"] > since)
    if last is not None:
        checks.append(lambda o: o["id"] < last)
    return checks


def _payout_matcher(f: dict[str, str]) -> Callable[[dict[str, Any]], bool]:
    checks = _id_checks(f)
    for param, compare in (
        ("date_min", lambda d, b: d >= b),
        ("date_max", lambda d, b: d <= b),
        ("date", lambda d, b: d == b),
    ):
        if param in f:
            bound = _day(f[param], param)
            checks.append(lambda o, c=compare, b=bound: c(date.fromisoformat(o["date"]), b))
    if "status" in f:
        if f["status"] not in PAYOUT_STATUSES:
            raise ShopifyError(400, {"status": f"must be one of {', '.join(PAYOUT_STATUSES)}"})
        checks.append(lambda o: o["status"] == f["status"])
    return lambda o: all(check(o) for check in checks)


def _transaction_matcher(f: dict[str, str]) -> Callable[[dict[str, Any]], bool]:
    checks = _id_checks(f)
    payout = _one_int(f, "payout_id")
    if payout is not None:
        checks.append(lambda t: t["payout_id"] == payout)
    if "payout_status" in f:
        wanted = f["payout_status"]
        if wanted not in (*PAYOUT_STATUSES, "pending"):
            raise ShopifyError(400, {"payout_status": "is invalid"})
        checks.append(lambda t: t["payout_status"] == wanted)
    if "test" in f:
        if f["test"] not in ("true", "false"):
            raise ShopifyError(400, {"test": "must be true or false"})
        test = f["test"] == "true"
        checks.append(lambda t: t["test"] is test)
    return lambda t: all(check(t) for check in checks)


def _newest_first(
    request: Request,
    objects: dict[int, dict[str, Any]],
    allowed: tuple[str, ...],
    matcher: Callable[[dict[str, str]], Callable[[dict[str, Any]], bool]],
) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """Page `objects` by descending id with the orders' cursor paging (which walks ascending ids):
    it walks the negated ids."""
    negated = sorted(-i for i in objects)

    def matcher_for(f: dict[str, str]) -> Callable[[int], bool]:
        match = matcher(f)
        return lambda n: match(objects[-n])

    page, headers = paginate(request, negated, allowed, matcher_for)
    fields = fields_of(request)
    return [subset(objects[-n], fields) for n in page], headers


async def list_payouts(request: Request) -> Response:
    state = _state(request)
    with state.lock:
        page, headers = _newest_first(
            request, state.shopify_payments.payouts, PAYOUT_FILTERS, _payout_matcher
        )
    return json_response({"payouts": page}, headers=headers)


async def get_payout(request: Request) -> Response:
    state = _state(request)
    with state.lock:
        payout = state.shopify_payments.payouts.get(request.path_params["payout_id"])
        if payout is None:
            raise ShopifyError(404, "Not Found")
        return json_response({"payout": payout})


async def list_transactions(request: Request) -> Response:
    state = _state(request)
    with state.lock:
        page, headers = _newest_first(
            request, state.shopify_payments.transactions, TRANSACTION_FILTERS, _transaction_matcher
        )
    return json_response({"transactions": page}, headers=headers)


ROUTES = [
    Route("/shopify_payments/payouts.json", list_payouts, methods=["GET"]),
    Route("/shopify_payments/payouts/{payout_id:int}.json", get_payout, methods=["GET"]),
    Route("/shopify_payments/balance/transactions.json", list_transactions, methods=["GET"]),
]
