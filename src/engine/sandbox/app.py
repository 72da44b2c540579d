"""Assembles the sandbox ASGI app: one port, four prefixes, faults and stats around the API paths."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import ClientDisconnect
from starlette.routing import Mount, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from engine.sandbox import control, fortnox_oauth, shopify_oauth, shopify_payments
from engine.sandbox.common import send_json
from engine.sandbox.fortnox import FortnoxApp
from engine.sandbox.fortnox import err as fortnox_err
from engine.sandbox.shopify import API_ROOT as SHOPIFY_API_ROOT
from engine.sandbox.shopify import OAUTH_PREFIX as SHOPIFY_OAUTH_PREFIX
from engine.sandbox.shopify import THROTTLED, ShopifyApp, admin_router, oauth_router
from engine.sandbox.shopify_payments_ledger import build_ledger
from engine.sandbox.state import SandboxConfig, SandboxState
from engine.sandbox.stripe import StripeApp, build_payouts

PLATFORM_PREFIXES = (("/shopify/", "shopify"), ("/fortnox/", "fortnox"), ("/stripe/", "stripe"))


class DropConnection(Exception):
    """Raised after a partial response so uvicorn closes the socket mid-body (the `drop` fault)."""


class _HideDrops(logging.Filter):
    """Our own dropped connections, and clients that vanish mid-request (a killed worker), are not
    server errors."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        return not isinstance(exc, DropConnection | ClientDisconnect)


_filter_installed = False


def _install_log_filter() -> None:
    global _filter_installed
    if not _filter_installed:
        logging.getLogger("uvicorn.error").addFilter(_HideDrops())
        _filter_installed = True


def _fault_body(platform: str, kind: str) -> dict[str, Any]:
    if kind == "error_5xx":
        return {
            "shopify": {"errors": "Service Unavailable"},
            # No ErrorInformation code exists for an outage; clients go by the 5xx status.
            "fortnox": {"ErrorInformation": {"error": 1, "message": "Service temporarily unavailable"}},
            "stripe": {
                "error": {"type": "api_error", "message": "An unknown error occurred (sandbox fault)."}
            },
        }[platform]
    return {
        "shopify": {"errors": THROTTLED},
        "fortnox": fortnox_err("RATE_LIMITED", 429).body(),
        "stripe": {
            "error": {"type": "invalid_request_error", "code": "rate_limit", "message": "Too many requests."}
        },
    }[platform]


async def _buffer_body(receive: Receive) -> Receive:
    pending: list[Message] = []
    while True:
        message = await receive()
        pending.append(message)
        if message["type"] != "http.request" or not message.get("more_body"):
            break

    async def replay() -> Message:
        return pending.pop(0) if pending else await receive()

    return replay


async def _client_left_within(receive: Receive, delay: float) -> bool:
    """Sleep `delay` but wake early when the client hangs up, so abandoned requests don't pile up."""
    try:
        async with asyncio.timeout(delay):
            while (await receive())["type"] != "http.disconnect":
                pass
    except TimeoutError:
        return False
    return True


class TrafficMiddleware:
    """Counts API traffic per platform and injects the configured faults (never on /_sandbox/ or OAuth)."""

    def __init__(self, app: ASGIApp, state: SandboxState) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        platform = next((name for prefix, name in PLATFORM_PREFIXES if path.startswith(prefix)), None)
        if platform is None:
            await self.app(scope, receive, send)
            return
        state = self.state
        status: list[int | str] = [0]

        async def counting_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        kind, cfg = None, None
        if not path.startswith("/fortnox/oauth-v1/"):
            with state.lock:
                kind, cfg = state.faults.pick(platform, scope["method"], path)
        try:
            if kind is None or cfg is None:
                await self.app(scope, receive, counting_send)
            elif kind in ("error_5xx", "rate_429"):
                # Answered before routing: nothing is applied.
                headers = (
                    {"Retry-After": f"{2.0 * state.config.time_scale:.3f}"} if platform == "shopify" else None
                )
                if kind == "rate_429" and platform == "shopify":
                    headers = {**(headers or {}), "X-Shopify-Shop-Api-Call-Limit": "40/40"}
                await send_json(
                    counting_send, 503 if kind == "error_5xx" else 429, _fault_body(platform, kind), headers
                )
            elif kind == "slow":
                # The body is taken in first, so a client that gives up during the delay still gets its
                # write applied, as with a slow real server.
                replay = await _buffer_body(receive)
                await asyncio.sleep(cfg.slow_seconds)
                await self.app(scope, replay, counting_send)
            else:
                await self._misdeliver(kind, cfg.timeout_seconds, scope, receive, counting_send, status)
        finally:
            with state.lock:
                state.stats.record(platform, path, status[0])

    async def _misdeliver(
        self, kind: str, delay: float, scope: Scope, receive: Receive, send: Send, status: list[int | str]
    ) -> None:
        """Run the request to completion (the write is applied), then deliver the answer badly."""
        start: Message = {}
        chunks: list[bytes] = []

        async def capture(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        await self.app(scope, receive, capture)
        body = b"".join(chunks)
        headers = [(k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"]
        if kind == "timeout":
            if await _client_left_within(receive, delay):
                return
            await send(
                {
                    "type": "http.response.start",
                    "status": start.get("status", 200),
                    "headers": [*headers, (b"content-length", str(len(body)).encode())],
                }
            )
            await send({"type": "http.response.body", "body": body})
        elif kind in ("malformed_json", "wrong_shape"):
            bad = body[: max(1, len(body) // 2)] if kind == "malformed_json" else b"[" + body + b"]"
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [*headers, (b"content-length", str(len(bad)).encode())],
                }
            )
            await send({"type": "http.response.body", "body": bad})
        else:
            # Promise the full length, send half, then fail: uvicorn closes the socket and the client
            # sees the connection end before the body does (httpx: RemoteProtocolError).
            await send(
                {
                    "type": "http.response.start",
                    "status": start.get("status", 200),
                    "headers": [*headers, (b"content-length", str(len(body)).encode())],
                }
            )
            await send({"type": "http.response.body", "body": body[: len(body) // 2], "more_body": True})
            status[0] = "dropped"
            raise DropConnection()


def build_app(config: SandboxConfig, now: float | None = None) -> Starlette:
    """The whole sandbox as one Starlette app; `now` pins the generated data (tests)."""
    _install_log_filter()
    state = SandboxState(config, now)
    orders = [state.shopify.orders[i] for i in state.shopify.order_ids]
    build_payouts(state.stripe, orders, state.generated_at)
    build_ledger(state.shopify_payments, orders, state.generated_at, config.seed)
    app = Starlette(
        routes=[
            Mount(
                f"{SHOPIFY_API_ROOT}/{{version}}",
                app=ShopifyApp(state, admin_router(*shopify_payments.ROUTES)),
            ),
            Route(f"{SHOPIFY_OAUTH_PREFIX}/access_token", shopify_oauth.access_token, methods=["POST"]),
            Mount(SHOPIFY_OAUTH_PREFIX, app=ShopifyApp(state, oauth_router())),
            Route("/fortnox/oauth-v1/auth", fortnox_oauth.authorize, methods=["GET"]),
            Route("/fortnox/oauth-v1/token", fortnox_oauth.token, methods=["POST"]),
            Mount("/fortnox/3", app=FortnoxApp(state)),
            Mount("/stripe/v1", app=StripeApp(state)),
            Mount("/_sandbox", routes=control.ROUTES),
        ],
        middleware=[Middleware(TrafficMiddleware, state=state)],
    )
    app.state.sandbox = state
    return app


__all__ = ["DropConnection", "SandboxConfig", "build_app"]
