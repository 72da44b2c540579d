"""`/_sandbox/` control endpoints: drive the fake shop, inspect state, stats and faults.

They hand out every credential and change what the platforms answer, so each request must carry the
control token the sandbox printed (`Authorization: Bearer <token>`), and a browser page on another
origin must not reach them: a request whose Origin is not the sandbox's own is refused, and a POST
must declare JSON (a cross-origin form post cannot, without a preflight the sandbox never answers).
"""

from __future__ import annotations

import bisect
import json
import secrets
import time
from datetime import datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from engine.sandbox.common import BodyError, json_response, read_json
from engine.sandbox.faults import FaultConfig
from engine.sandbox.fortnox import FortnoxError, create_article_in
from engine.sandbox.generator import COUNTRIES, OrderRecord, cents_of, iso, reprice
from engine.sandbox.shopify import refund_summary
from engine.sandbox.state import SandboxState, public


class ControlError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def _state(request: Request) -> SandboxState:
    return request.app.state.sandbox  # type: ignore[no-any-return]


async def _body(request: Request) -> dict[str, Any]:
    try:
        data = await read_json(request)
    except BodyError as exc:
        raise ControlError(400, f"invalid JSON: {exc}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ControlError(400, "the body must be a JSON object")
    return data


async def _refusal(request: Request) -> Response | None:
    """Why this request may not reach a control endpoint (an answer saying so), or None."""
    origin = request.headers.get("origin")
    if origin is not None and origin != f"{request.url.scheme}://{request.url.netloc}":
        return json_response({"error": f"cross-origin request from {origin} refused"}, 403)
    expected = f"Bearer {_state(request).control_token}".encode()
    if not secrets.compare_digest(request.headers.get("authorization", "").encode(), expected):
        return json_response(
            {"error": "the control endpoints need the control token the sandbox printed when it started"},
            401,
            {"WWW-Authenticate": 'Bearer realm="junipeer-sandbox"'},
        )
    if request.method == "POST":
        media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        # No body and no type (an action such as stats/reset) declares nothing a browser form could.
        if media_type != "application/json" and (media_type or await request.body()):
            return json_response({"error": "POST a JSON body (Content-Type: application/json)"}, 415)
    return None


def _wrap(handler: Any) -> Any:
    async def endpoint(request: Request) -> Response:
        refusal = await _refusal(request)
        if refusal is not None:
            return refusal
        try:
            return await handler(request)
        except ControlError as exc:
            return json_response({"error": str(exc)}, exc.status)
        except FortnoxError as exc:
            return json_response(exc.body(), exc.status)
        except (ValueError, KeyError, TypeError) as exc:
            return json_response({"error": f"{type(exc).__name__}: {exc}"}, 400)

    return endpoint


async def info(request: Request) -> Response:
    base = f"{request.url.scheme}://{request.url.netloc}"
    return json_response(_state(request).info(base))


async def create_shopify_order(request: Request) -> Response:
    state = _state(request)
    body = await _body(request)
    if "order" in body:
        return _replay_shopify_order(state, body["order"])
    with state.lock:
        store = state.shopify
        now = time.time()
        # A new order is newer than every existing one, even within the same second.
        last = store.orders[store.order_ids[-1]].created_ts if store.order_ids else 0.0
        record = store.factory.build(max(float(int(now)), last), now, body)
        record.updated_ts = record.created_ts
        record.data["updated_at"] = record.data["created_at"]
        store.add_order(record)
        store.sync_customers()
        return json_response(record.data, 201)


def _timestamp(order: dict[str, Any], field: str, default: float) -> float:
    value = order.get(field)
    if value is None:
        order[field] = iso(default)
        return default
    if not isinstance(value, str):
        raise ControlError(400, f"order.{field} must be an ISO 8601 timestamp")
    try:
        stamp = datetime.fromisoformat(value)
    except ValueError:
        raise ControlError(400, f"order.{field} is not an ISO 8601 timestamp: {value!r}") from None
    if stamp.tzinfo is None:
        raise ControlError(400, f"order.{field} needs an offset, as Shopify writes it: {value!r}")
    return stamp.timestamp()


def _replay_shopify_order(state: SandboxState, order: Any) -> Response:
    """Store a complete order as Shopify's REST API returned it, so a real order can be replayed.

    Only what is absent is filled (id, name, order_number, number, timestamps); the rest is kept
    exactly as given, however it is shaped: the point is to meet the engine with real data."""
    if not isinstance(order, dict):
        raise ControlError(400, "order must be an object: a Shopify order as the REST API returns it")
    order = json.loads(json.dumps(order))  # a private copy; the caller's object stays the caller's
    with state.lock:
        store = state.shopify
        if order.get("id") is None:
            order["id"] = max(store.order_ids, default=5_100_000_000) + 17
        if not isinstance(order["id"], int) or isinstance(order["id"], bool) or order["id"] <= 0:
            raise ControlError(400, "order.id must be a positive integer")
        if order["id"] in store.orders:
            raise ControlError(409, f"a Shopify order with id {order['id']} exists already")
        if order.get("order_number") is None:
            numbers = [int(r.data.get("order_number") or 0) for r in store.orders.values()]
            order["order_number"] = max(numbers, default=1000) + 1
        order.setdefault("number", int(order["order_number"]) - 1000)
        order.setdefault("name", f"#{order['order_number']}")
        if str(order["order_number"]) in store.by_name:
            raise ControlError(409, f"a Shopify order numbered {order['order_number']} exists already")
        now = time.time()
        created = _timestamp(order, "created_at", now)
        processed = _timestamp(order, "processed_at", created)
        updated = _timestamp(order, "updated_at", max(created, processed))
        order.setdefault("refunds", [])
        record = OrderRecord(order, created, updated, processed)
        store.add_order(record)
        customer = order.get("customer")
        known = isinstance(customer, dict) and customer.get("id") in store.customers
        if isinstance(customer, dict) and isinstance(customer.get("id"), int) and not known:
            store.customers[customer["id"]] = customer
            bisect.insort(store.customer_ids, customer["id"])
        return json_response(order, 201)


def _record(state: SandboxState, order_id: int) -> Any:
    record = state.shopify.orders.get(order_id)
    if record is None:
        raise ControlError(404, f"no Shopify order {order_id}")
    return record


async def update_shopify_order(request: Request) -> Response:
    state = _state(request)
    body = await _body(request)
    with state.lock:
        record = _record(state, request.path_params["order_id"])
        order = record.data
        for field in (
            "note",
            "tags",
            "email",
            "financial_status",
            "fulfillment_status",
            "note_attributes",
            "phone",
        ):
            if field in body:
                order[field] = body[field]
        if "email" in body:
            order["contact_email"] = body["email"]
            if body["email"] is None and order.get("customer"):
                # As when Shopify withholds a customer's contact data: the customer keeps its id only.
                order["customer"].pop("email", None)
        if "line_items" in body:
            by_id = {li["id"]: li for li in order["line_items"]}
            by_sku = {li["sku"]: li for li in order["line_items"]}
            for change in body["line_items"]:
                line = by_id.get(change.get("id")) or by_sku.get(change.get("sku"))
                if line is None:
                    raise ControlError(400, f"no line item matching {change}")
                if "quantity" in change:
                    quantity = int(change["quantity"])
                    if quantity <= 0:
                        order["line_items"].remove(line)
                        continue
                    line["quantity"] = quantity
                if "price" in change:
                    # The buyer's new price; its shop-currency twin is derived again.
                    line["price"] = f"{cents_of(change['price']) / 100:.2f}"
                    line.pop("price_set", None)
        reprice(order)
        # Top-level fields stored exactly as given, however odd: how a test makes an order that is
        # malformed ("created_at": "not-a-date") without the generator ever making one.
        replace = body.get("replace") or {}
        if not isinstance(replace, dict):
            raise ControlError(400, "replace must be an object of order fields")
        order.update(replace)
        record.touch(time.time())
        state.shopify.changed(record.id)
        return json_response(order)


async def refund_shopify_order(request: Request) -> Response:
    state = _state(request)
    body = await _body(request)
    with state.lock:
        record = _record(state, request.path_params["order_id"])
        lines = [(int(li["line_item_id"]), int(li.get("quantity", 1))) for li in body.get("line_items", [])]
        known = {li["id"] for li in record.data["line_items"]}
        if any(line_id not in known for line_id, _ in lines):
            raise ControlError(400, "unknown line_item_id")
        amount = cents_of(body["amount"]) if body.get("amount") is not None else None
        if amount is None and not lines:
            raise ControlError(400, "give amount and/or line_items")
        now = time.time()
        refund = state.shopify.factory.add_refund(
            record, now, lines, bool(body.get("shipping", False)), amount, body.get("note")
        )
        record.data["financial_status"] = refund_summary(record.data)
        record.touch(now)
        state.shopify.changed(record.id)
        return json_response(refund, 201)


async def set_shopify_scopes(request: Request) -> Response:
    """What the shop's token was granted, e.g. without `read_all_orders` to hide orders older than 60 days."""
    state = _state(request)
    scopes = (await _body(request)).get("scopes")
    if not isinstance(scopes, list) or not all(isinstance(x, str) and x for x in scopes):
        raise ControlError(400, "scopes must be a list of scope handles such as read_orders")
    with state.lock:
        state.shopify.scopes = list(dict.fromkeys(scopes))
        return json_response({"scopes": state.shopify.scopes})


async def set_stripe_key_permissions(request: Request) -> Response:
    """What the restricted key (rk_…) may read, e.g. without rak_payout_read to see the connection
    test name the missing permission."""
    state = _state(request)
    permissions = (await _body(request)).get("permissions")
    if not isinstance(permissions, list) or not all(isinstance(x, str) and x for x in permissions):
        raise ControlError(400, "permissions must be a list such as rak_payout_read")
    with state.lock:
        state.stripe.restricted_permissions = set(permissions)
        return json_response({"permissions": sorted(state.stripe.restricted_permissions)})


async def dump_shopify(request: Request) -> Response:
    state = _state(request)
    kind = request.path_params["kind"]
    with state.lock:
        store = state.shopify
        store.sync_customers()
        if kind == "orders":
            return json_response([store.orders[i].data for i in store.order_ids])
        if kind == "products":
            return json_response([store.products[i] for i in store.product_ids])
        if kind == "customers":
            return json_response([store.customers[i] for i in store.customer_ids])
        if kind == "payouts":  # Shopify Payments, each with its balance transactions
            ledger = state.shopify_payments
            return json_response(
                [
                    {
                        **p,
                        "transactions": [
                            t for t in ledger.transactions.values() if t["payout_id"] == p["id"]
                        ],
                    }
                    for p in ledger.payouts.values()
                ]
            )
    raise ControlError(404, f"unknown kind {kind!r}")


async def dump_stripe(request: Request) -> Response:
    """Stripe's payouts (newest first) or their balance transactions, each with its source."""
    state = _state(request)
    kind = request.path_params["kind"]
    with state.lock:
        if kind == "payouts":
            return json_response(state.stripe.payouts)
        if kind == "balance_transactions":
            return json_response(
                [{"payout": p, **t} for p, txns in state.stripe.balance_transactions.items() for t in txns]
            )
    raise ControlError(404, f"unknown kind {kind!r}")


async def dump_fortnox(request: Request) -> Response:
    state = _state(request)
    kind = request.path_params["kind"]
    with state.lock:
        store = state.fortnox
        objects = {
            "orders": store.orders,
            "invoices": store.invoices,
            "customers": store.customers,
            "articles": store.articles,
            "invoicepayments": store.payments,
            "vouchers": store.vouchers,
        }.get(kind)
        if objects is None:
            raise ControlError(404, f"unknown kind {kind!r}")
        return json_response([public(o) for o in objects.values()])


async def set_fortnox_settings(request: Request) -> Response:
    """Company settings an operator changes in Fortnox itself, e.g. öresutjämning to whole kronor."""
    state = _state(request)
    body = await _body(request)
    with state.lock:
        if "round_whole_kronor" in body:
            state.fortnox.round_whole_kronor = bool(body["round_whole_kronor"])
        return json_response({"round_whole_kronor": state.fortnox.round_whole_kronor})


async def create_fortnox_article(request: Request) -> Response:
    state = _state(request)
    body = await _body(request)
    body = body.get("Article", body)
    with state.lock:
        return json_response({"Article": public(create_article_in(state.fortnox, body))}, 201)


async def expire_tokens(request: Request) -> Response:
    """Expire every access token; with {"revoke": true} the refresh tokens too, as when the user
    disconnects the integration in Fortnox (only a new consent helps then)."""
    state = _state(request)
    body = await _body(request)
    with state.lock:
        count = len(state.fortnox.access_tokens)
        state.fortnox.access_tokens.clear()
        if body.get("revoke"):
            state.fortnox.refresh_tokens.clear()
    return json_response({"expired": count})


async def expire_shopify_tokens(request: Request) -> Response:
    """End every Admin API token the client-credentials grant issued, as 24 hours passing does."""
    state = _state(request)
    with state.lock:
        count = len(state.shopify.issued_tokens)
        state.shopify.issued_tokens.clear()
    return json_response({"expired": count})


async def set_fortnox_redirect_uris(request: Request) -> Response:
    """The redirect URIs registered with the sandbox's Fortnox app (the developer portal's list)."""
    state = _state(request)
    uris = (await _body(request)).get("uris")
    if not isinstance(uris, list) or not uris or not all(isinstance(u, str) and u for u in uris):
        raise ControlError(400, '{"uris": [...]} must list at least one redirect URI')
    with state.lock:
        state.fortnox.redirect_uris = list(uris)
    return json_response({"uris": uris})


async def get_stats(request: Request) -> Response:
    state = _state(request)
    with state.lock:
        return json_response(state.stats.snapshot())


async def reset_stats(request: Request) -> Response:
    state = _state(request)
    with state.lock:
        state.stats.reset()
    return json_response({"reset": True})


async def set_faults(request: Request) -> Response:
    state = _state(request)
    body = await _body(request)
    platform = str(body.get("platform", "*"))
    cfg = FaultConfig.from_json(body)
    with state.lock:
        state.faults.set(platform, cfg)
        return json_response(state.faults.describe())


async def clear_faults(request: Request) -> Response:
    state = _state(request)
    with state.lock:
        state.faults.clear()
    return json_response({})


async def get_faults(request: Request) -> Response:
    state = _state(request)
    with state.lock:
        return json_response(state.faults.describe())


async def countries(request: Request) -> Response:
    return json_response({code: {"currency": c.currency, "rates": c.rates} for code, c in COUNTRIES.items()})


ROUTES = [
    Route("/", _wrap(info), methods=["GET"]),
    Route("/countries", _wrap(countries), methods=["GET"]),
    Route("/shopify/orders", _wrap(create_shopify_order), methods=["POST"]),
    Route("/shopify/orders/{order_id:int}", _wrap(update_shopify_order), methods=["POST"]),
    Route("/shopify/orders/{order_id:int}/refunds", _wrap(refund_shopify_order), methods=["POST"]),
    Route("/shopify/access-scopes", _wrap(set_shopify_scopes), methods=["POST"]),
    Route("/shopify/expire-tokens", _wrap(expire_shopify_tokens), methods=["POST"]),
    Route("/shopify/{kind}", _wrap(dump_shopify), methods=["GET"]),
    Route("/stripe/key-permissions", _wrap(set_stripe_key_permissions), methods=["POST"]),
    Route("/stripe/{kind}", _wrap(dump_stripe), methods=["GET"]),
    Route("/fortnox/articles", _wrap(create_fortnox_article), methods=["POST"]),
    Route("/fortnox/expire-tokens", _wrap(expire_tokens), methods=["POST"]),
    Route("/fortnox/settings", _wrap(set_fortnox_settings), methods=["POST"]),
    Route("/fortnox/redirect-uris", _wrap(set_fortnox_redirect_uris), methods=["POST"]),
    Route("/fortnox/{kind}", _wrap(dump_fortnox), methods=["GET"]),
    Route("/stats", _wrap(get_stats), methods=["GET"]),
    Route("/stats/reset", _wrap(reset_stats), methods=["POST"]),
    Route("/faults", _wrap(get_faults), methods=["GET"]),
    Route("/faults", _wrap(set_faults), methods=["POST"]),
    Route("/faults", _wrap(clear_faults), methods=["DELETE"]),
]
