"""Shopify Admin REST API imitation: orders, products, customers, inventory.

Served at every Admin API version Shopify supports at the time of the request (see
engine.sandbox.shopify_versions).

Lists are sorted by id ascending (Shopify's default for cursor pagination). page_info is urlsafe
base64 JSON holding the original filters plus the boundary id, so later pages need no server state.
"""

from __future__ import annotations

import base64
import binascii
import bisect
import json
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route, Router
from starlette.types import Receive, Scope, Send

from engine.sandbox import shopify_oauth, shopify_versions
from engine.sandbox.common import (
    BodyError,
    add_header_send,
    header,
    json_response,
    raw_json_response,
    read_json,
    send_json,
)
from engine.sandbox.generator import SHOP_DOMAIN, SHOP_TZ, iso, refunded_cents
from engine.sandbox.order_money import pair
from engine.sandbox.state import SandboxState

# The versioned Admin API: /shopify/admin/api/{version}/…
API_ROOT = "/shopify/admin/api"
# Outside the versioned API: what the token may do (GET access_scopes.json).
OAUTH_PREFIX = "/shopify/admin/oauth"
INVALID_TOKEN = "[API] Invalid API key or access token (unrecognized login or wrong password)"
THROTTLED = (
    "Exceeded 2 calls per second for api client. Reduce request rates to resume uninterrupted service."
)
MAX_LIMIT = 250

ORDER_FILTERS = (
    "ids",
    "since_id",
    "created_at_min",
    "created_at_max",
    "updated_at_min",
    "updated_at_max",
    "processed_at_min",
    "processed_at_max",
    "status",
    "financial_status",
    "fulfillment_status",
    "name",
    "attribution_app_id",
)
UNPAID = {"pending", "authorized", "partially_paid"}


class ShopifyError(Exception):
    def __init__(self, status: int, errors: Any) -> None:
        super().__init__(str(errors))
        self.status = status
        self.errors = errors


def _state(request: Request) -> SandboxState:
    return request.app.state.sandbox  # type: ignore[no-any-return]


def parse_time(value: str, param: str) -> float:
    """ISO 8601 with any offset; a value without an offset is read in the shop's time zone."""
    try:
        dt = datetime.fromisoformat(value.strip().replace(" ", "+", 1) if "T" in value else value.strip())
    except ValueError:
        raise ShopifyError(400, {param: f"is not a valid ISO 8601 timestamp: {value!r}"}) from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=SHOP_TZ)
    return dt.timestamp()


def int_list(value: str, param: str) -> set[int]:
    try:
        return {int(v) for v in value.split(",") if v.strip()}
    except ValueError:
        raise ShopifyError(400, {param: "must be a comma separated list of integers"}) from None


def limit_of(request: Request) -> int:
    raw = request.query_params.get("limit", "50")
    try:
        limit = int(raw)
    except ValueError:
        raise ShopifyError(400, {"limit": "must be an integer"}) from None
    if limit < 1 or limit > MAX_LIMIT:
        raise ShopifyError(400, {"limit": f"must be between 1 and {MAX_LIMIT}"})
    return limit


def _encode_cursor(filters: dict[str, str], direction: str, boundary: int) -> str:
    raw = json.dumps({"f": filters, "d": direction, "b": boundary}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(token: str) -> tuple[dict[str, str], str, int]:
    try:
        padded = token + "=" * (-len(token) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode()))
        return dict(data["f"]), str(data["d"]), int(data["b"])
    except (ValueError, KeyError, TypeError, binascii.Error):
        raise ShopifyError(400, {"page_info": "Invalid value."}) from None


def _order_matcher(f: dict[str, str]) -> Callable[[Any], bool]:
    """Compile the filters once per request into a predicate over OrderRecord."""
    checks: list[Callable[[Any], bool]] = []
    if "ids" in f:
        ids = int_list(f["ids"], "ids")
        checks.append(lambda r: r.id in ids)
    if "since_id" in f:
        since = next(iter(int_list(f["since_id"], "since_id")), 0)
        checks.append(lambda r: r.id > since)
    for field in ("created_at", "updated_at", "processed_at"):
        attr = field.replace("_at", "_ts")
        # The JSON shows whole seconds, so compare whole seconds or a bound copied from it would miss.
        if f"{field}_min" in f:
            lo = parse_time(f[f"{field}_min"], f"{field}_min")
            checks.append(lambda r, a=attr, lo=lo: int(getattr(r, a)) >= lo)
        if f"{field}_max" in f:
            hi = parse_time(f[f"{field}_max"], f"{field}_max")
            checks.append(lambda r, a=attr, hi=hi: int(getattr(r, a)) <= hi)
    status = f.get("status", "open")
    if status == "open":
        checks.append(lambda r: r.data["cancelled_at"] is None and r.data["closed_at"] is None)
    elif status == "closed":
        checks.append(lambda r: r.data["closed_at"] is not None)
    elif status == "cancelled":
        checks.append(lambda r: r.data["cancelled_at"] is not None)
    elif status != "any":
        raise ShopifyError(400, {"status": "must be one of open, closed, cancelled, any"})
    fin = f.get("financial_status", "any")
    if fin == "unpaid":
        checks.append(lambda r: r.data["financial_status"] in UNPAID)
    elif fin != "any":
        checks.append(lambda r: r.data["financial_status"] == fin)
    ful = f.get("fulfillment_status", "any")
    if ful in ("shipped", "fulfilled"):
        checks.append(lambda r: r.data["fulfillment_status"] == "fulfilled")
    elif ful == "partial":
        checks.append(lambda r: r.data["fulfillment_status"] == "partial")
    elif ful == "unshipped":
        checks.append(lambda r: r.data["fulfillment_status"] is None)
    elif ful == "unfulfilled":
        checks.append(lambda r: r.data["fulfillment_status"] in (None, "partial"))
    elif ful != "any":
        raise ShopifyError(400, {"fulfillment_status": "is invalid"})
    if "name" in f:
        wanted = {n.strip().lstrip("#") for n in f["name"].split(",") if n.strip()}
        checks.append(lambda r: str(r.data["order_number"]) in wanted)
    return lambda r: all(check(r) for check in checks)


def _filters_from(request: Request, allowed: tuple[str, ...]) -> dict[str, str]:
    return {k: v for k, v in request.query_params.items() if k in allowed}


def paginate(
    request: Request,
    ids_sorted: list[int],
    allowed: tuple[str, ...],
    matcher_for: Callable[[dict[str, str]], Callable[[int], bool]],
) -> tuple[list[int], dict[str, str]]:
    """Apply filters + cursor; returns the page's ids and the Link header (if any)."""
    params = request.query_params
    limit = limit_of(request)
    token = params.get("page_info")
    if token is not None:
        extra = sorted(k for k in params if k not in ("page_info", "limit", "fields"))
        if extra:
            raise ShopifyError(
                400, {"page_info": f"page_info cannot be combined with other parameters: {', '.join(extra)}"}
            )
        filters, direction, boundary = _decode_cursor(token)
    else:
        filters, direction, boundary = _filters_from(request, allowed), "next", 0
    match = matcher_for(filters)
    # Walk outwards from the cursor and stop one match past the page, so paging costs O(page), not O(all).
    if direction == "prev":
        pos = bisect.bisect_left(ids_sorted, boundary)
        page = []
        while pos > 0 and len(page) < limit:
            pos -= 1
            if match(ids_sorted[pos]):
                page.append(ids_sorted[pos])
        page.reverse()
        has_prev = any(match(ids_sorted[i]) for i in range(pos - 1, -1, -1))
        has_next = True
    else:
        pos = bisect.bisect_right(ids_sorted, boundary) if token is not None else 0
        page = []
        while pos < len(ids_sorted) and len(page) < limit:
            if match(ids_sorted[pos]):
                page.append(ids_sorted[pos])
            pos += 1
        has_next = any(match(ids_sorted[i]) for i in range(pos, len(ids_sorted)))
        has_prev = (
            token is not None
            and bool(page)
            and any(match(ids_sorted[i]) for i in range(bisect.bisect_left(ids_sorted, page[0]) - 1, -1, -1))
        )
    links = []
    base = str(request.url).split("?", 1)[0]
    fields = params.get("fields")
    suffix = f"&fields={fields}" if fields else ""
    if page and has_prev:
        cursor = _encode_cursor(filters, "prev", page[0])
        links.append(f'<{base}?limit={limit}{suffix}&page_info={cursor}>; rel="previous"')
    if page and has_next:
        cursor = _encode_cursor(filters, "next", page[-1])
        links.append(f'<{base}?limit={limit}{suffix}&page_info={cursor}>; rel="next"')
    return page, ({"Link": ", ".join(links)} if links else {})


def fields_of(request: Request) -> list[str] | None:
    raw = request.query_params.get("fields")
    return [f.strip() for f in raw.split(",") if f.strip()] if raw else None


def subset(obj: dict[str, Any], fields: list[str] | None) -> dict[str, Any]:
    return obj if fields is None else {k: obj[k] for k in fields if k in obj}


def _record(state: SandboxState, order_id: int) -> Any:
    record = state.shopify.orders.get(order_id)
    if record is None or not state.shopify.visible(record):
        raise ShopifyError(404, "Not Found")
    return record


async def list_orders(request: Request) -> Response:
    state = _state(request)
    with state.lock:
        store = state.shopify

        def matcher_for(f: dict[str, str]) -> Callable[[int], bool]:
            m = _order_matcher(f)
            now = time.time()
            return lambda i: m(store.orders[i]) and store.visible(store.orders[i], now)

        page, headers = paginate(request, store.order_ids, ORDER_FILTERS, matcher_for)
        fields = fields_of(request)
        if fields is None:
            body = '{"orders":[' + ",".join(store.order_json(i) for i in page) + "]}"
            return raw_json_response(body.encode(), headers=headers)
        return json_response(
            {"orders": [subset(store.orders[i].data, fields) for i in page]}, headers=headers
        )


async def count_orders(request: Request) -> Response:
    state = _state(request)
    with state.lock:
        match = _order_matcher(_filters_from(request, ORDER_FILTERS))
        now = time.time()
        count = sum(1 for r in state.shopify.orders.values() if match(r) and state.shopify.visible(r, now))
    return json_response({"count": count})


async def get_order(request: Request) -> Response:
    state = _state(request)
    with state.lock:
        record = _record(state, request.path_params["order_id"])
        fields = fields_of(request)
        if fields is None:
            body = '{"order":' + state.shopify.order_json(record.id) + "}"
            return raw_json_response(body.encode())
        return json_response({"order": subset(record.data, fields)})


async def cancel_order(request: Request) -> Response:
    state = _state(request)
    try:
        body = await read_json(request) or {}
    except BodyError:
        raise ShopifyError(400, {"base": ["Invalid JSON"]}) from None
    with state.lock:
        record = _record(state, request.path_params["order_id"])
        order = record.data
        if order["cancelled_at"] is not None:
            raise ShopifyError(422, {"base": ["Order has already been cancelled"]})
        now = time.time()
        record.touch(now)
        order["cancelled_at"] = order["updated_at"]
        order["closed_at"] = order["updated_at"]
        order["cancel_reason"] = str(body.get("reason") or "other")
        if order["financial_status"] in ("pending", "authorized"):
            order["financial_status"] = "voided"
        state.shopify.changed(record.id)
        return json_response({"order": order})


async def list_refunds(request: Request) -> Response:
    state = _state(request)
    with state.lock:
        record = _record(state, request.path_params["order_id"])
        return json_response({"refunds": record.data["refunds"]})


PRODUCT_FILTERS = ("ids", "since_id", "product_type", "vendor", "status", "updated_at_min", "updated_at_max")


def _simple_matcher(objects: dict[int, dict[str, Any]]) -> Callable[[dict[str, str]], Callable[[int], bool]]:
    def matcher_for(f: dict[str, str]) -> Callable[[int], bool]:
        ids = int_list(f["ids"], "ids") if "ids" in f else None
        since = next(iter(int_list(f["since_id"], "since_id")), 0) if "since_id" in f else 0
        equal = {k: f[k] for k in ("product_type", "vendor", "status") if k in f}
        lo = parse_time(f["updated_at_min"], "updated_at_min") if "updated_at_min" in f else None
        hi = parse_time(f["updated_at_max"], "updated_at_max") if "updated_at_max" in f else None

        def match(i: int) -> bool:
            obj = objects[i]
            if (ids is not None and i not in ids) or i <= since:
                return False
            if any(obj.get(k) != v for k, v in equal.items()):
                return False
            if lo is not None or hi is not None:
                ts = datetime.fromisoformat(obj["updated_at"]).timestamp()
                if (lo is not None and ts < lo) or (hi is not None and ts > hi):
                    return False
            return True

        return match

    return matcher_for


async def list_products(request: Request) -> Response:
    state = _state(request)
    with state.lock:
        store = state.shopify
        page, headers = paginate(request, store.product_ids, PRODUCT_FILTERS, _simple_matcher(store.products))
        fields = fields_of(request)
        return json_response({"products": [subset(store.products[i], fields) for i in page]}, headers=headers)


async def get_product(request: Request) -> Response:
    state = _state(request)
    with state.lock:
        product = state.shopify.products.get(request.path_params["product_id"])
        if product is None:
            raise ShopifyError(404, "Not Found")
        return json_response({"product": product})


async def count_products(request: Request) -> Response:
    state = _state(request)
    with state.lock:
        return json_response({"count": len(state.shopify.products)})


async def list_customers(request: Request) -> Response:
    state = _state(request)
    with state.lock:
        store = state.shopify
        store.sync_customers()
        allowed = ("ids", "since_id", "updated_at_min", "updated_at_max")
        page, headers = paginate(request, store.customer_ids, allowed, _simple_matcher(store.customers))
        fields = fields_of(request)
        return json_response(
            {"customers": [subset(store.customers[i], fields) for i in page]}, headers=headers
        )


async def search_customers(request: Request) -> Response:
    state = _state(request)
    query = request.query_params.get("query", "")
    wanted = query.split("email:", 1)[1].strip().lower() if "email:" in query else query.strip().lower()
    with state.lock:
        store = state.shopify
        store.sync_customers()
        hits = [c for c in store.customers.values() if wanted and wanted in (c["email"] or "").lower()]
        return json_response({"customers": hits[: limit_of(request)]})


async def get_customer(request: Request) -> Response:
    state = _state(request)
    with state.lock:
        state.shopify.sync_customers()
        customer = state.shopify.customers.get(request.path_params["customer_id"])
        if customer is None:
            raise ShopifyError(404, "Not Found")
        return json_response({"customer": customer})


def _level(state: SandboxState, item: int) -> dict[str, Any]:
    from engine.sandbox.generator import LOCATION_ID

    return {
        "inventory_item_id": item,
        "location_id": LOCATION_ID,
        "available": state.shopify.inventory[item],
        "updated_at": state.shopify.inventory_updated.get(item, iso(time.time() - 86_400)),
        "admin_graphql_api_id": f"gid://shopify/InventoryLevel/{LOCATION_ID}?inventory_item_id={item}",
    }


async def list_inventory_levels(request: Request) -> Response:
    state = _state(request)
    raw = request.query_params.get("inventory_item_ids")
    if not raw and not request.query_params.get("location_ids"):
        raise ShopifyError(422, {"base": ["inventory_item_ids or location_ids is required"]})
    with state.lock:
        store = state.shopify
        items = sorted(int_list(raw, "inventory_item_ids")) if raw else sorted(store.inventory)
        levels = [_level(state, i) for i in items if i in store.inventory]
        return json_response({"inventory_levels": levels[: limit_of(request)]})


async def set_inventory_level(request: Request) -> Response:
    state = _state(request)
    try:
        body = await read_json(request) or {}
        item = int(body["inventory_item_id"])
        int(body["location_id"])
        available = int(body["available"])
    except (BodyError, KeyError, TypeError, ValueError):
        raise ShopifyError(
            422, {"base": ["inventory_item_id, location_id and available are required integers"]}
        ) from None
    with state.lock:
        store = state.shopify
        if item not in store.inventory:
            raise ShopifyError(404, "Not Found")
        store.inventory[item] = available
        store.inventory_updated[item] = iso(time.time())
        variant = store.variant_by_item[item]
        variant["inventory_quantity"] = available
        variant["updated_at"] = store.inventory_updated[item]
        return json_response({"inventory_level": _level(state, item)})


async def get_shop(request: Request) -> Response:
    return json_response(
        {
            "shop": {
                "id": 60_000_000_001,
                "name": "Junipeer Demo",
                "domain": SHOP_DOMAIN,
                "myshopify_domain": SHOP_DOMAIN,
                "currency": "SEK",
                "enabled_presentment_currencies": ["SEK", "EUR", "NOK", "USD"],
                "iana_timezone": "Europe/Stockholm",
                "timezone": "(GMT+01:00) Europe/Stockholm",
                "country_code": "SE",
                "taxes_included": True,
                "plan_name": "basic",
            }
        }
    )


async def list_access_scopes(request: Request) -> Response:
    scopes = _state(request).shopify.scopes
    return json_response({"access_scopes": [{"handle": handle} for handle in scopes]})


def refund_summary(order: dict[str, Any]) -> str:
    """Financial status after refunds, the way Shopify derives it."""
    refunded = refunded_cents(order)
    if refunded <= 0:
        return str(order["financial_status"])
    # Refunds move the buyer's currency, so they are compared with what the buyer paid.
    return "refunded" if refunded >= pair(order, "total_price")[1] else "partially_refunded"


async def not_found(scope: Scope, receive: Receive, send: Send) -> None:
    await send_json(send, 404, {"errors": "Not Found"})


ROUTES = [
    Route("/orders.json", list_orders, methods=["GET"]),
    Route("/orders/count.json", count_orders, methods=["GET"]),
    Route("/orders/{order_id:int}.json", get_order, methods=["GET"]),
    Route("/orders/{order_id:int}/cancel.json", cancel_order, methods=["POST"]),
    Route("/orders/{order_id:int}/refunds.json", list_refunds, methods=["GET"]),
    Route("/products.json", list_products, methods=["GET"]),
    Route("/products/count.json", count_products, methods=["GET"]),
    Route("/products/{product_id:int}.json", get_product, methods=["GET"]),
    Route("/customers.json", list_customers, methods=["GET"]),
    Route("/customers/search.json", search_customers, methods=["GET"]),
    Route("/customers/{customer_id:int}.json", get_customer, methods=["GET"]),
    Route("/inventory_levels.json", list_inventory_levels, methods=["GET"]),
    Route("/inventory_levels/set.json", set_inventory_level, methods=["POST"]),
    Route("/shop.json", get_shop, methods=["GET"]),
]


def admin_router(*more: Route) -> Router:
    """The versioned Admin API's routes, plus those of resources kept in modules of their own."""
    return Router(routes=[*ROUTES, *more], default=not_found)


def oauth_router() -> Router:
    return Router(
        routes=[Route("/access_scopes.json", list_access_scopes, methods=["GET"])], default=not_found
    )


class ShopifyApp:
    """Auth and the leaky bucket in front of the routes; errors become Shopify-shaped JSON."""

    def __init__(self, state: SandboxState, router: Router | None = None) -> None:
        self.state = state
        self.router = router or admin_router()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        state = self.state
        requested = scope.get("path_params", {}).get("version")
        if requested is not None:
            served = shopify_versions.served_version(requested, datetime.now(UTC))
            if served is None:
                await send_json(send, 404, {"errors": "Not Found"})
                return
            send = add_header_send(send, shopify_versions.HEADER, lambda: served)
        token = header(scope, b"x-shopify-access-token") or ""
        with state.lock:
            app = shopify_oauth.app_of(state, token)
            needed = shopify_oauth.scope_needed(scope["method"], scope["path"])
            granted = set(state.shopify.scopes)
        if app is None:
            await send_json(send, 401, {"errors": INVALID_TOKEN})
            return
        if needed is not None and not shopify_oauth.has_scope(granted, needed):
            await send_json(send, 403, {"errors": shopify_oauth.missing_scope_message(needed)})
            return
        if state.config.limits:
            with state.lock:
                allowed, calls, wait = state.shopify_bucket(app).take()
            if not allowed:
                await send_json(
                    send,
                    429,
                    {"errors": THROTTLED},
                    {"Retry-After": f"{wait:.3f}", "X-Shopify-Shop-Api-Call-Limit": "40/40"},
                )
                return
        else:
            calls = 1
        send = add_header_send(send, "X-Shopify-Shop-Api-Call-Limit", lambda: f"{calls}/40")
        try:
            await self.router(scope, receive, send)
        except ShopifyError as exc:
            await send_json(send, exc.status, {"errors": exc.errors})
