"""Shopify Admin REST client: orders, refunds, products, customers and Shopify Payments payouts, paced by
the leaky-bucket header."""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator, Iterable
from datetime import UTC, date, datetime, timedelta
from typing import Any, Protocol
from urllib.parse import parse_qs, quote, urljoin, urlsplit

import httpx

from engine.platforms.http import (
    ErrorInfo,
    PlatformError,
    PlatformHttpClient,
    generic_error_info,
    short_body,
)
from engine.platforms.pacing import LeakyBucketPacer

CALL_LIMIT_HEADER = "X-Shopify-Shop-Api-Call-Limit"
# Seconds before a 24-hour token's end when it is renewed (a tenth of a shorter lifetime).
TOKEN_RENEWAL_MARGIN = 300.0
MISSING_SCOPE = re.compile(r"requires merchant approval for (\w+) scope")


def _iso(value: datetime) -> str:
    if value.tzinfo is None:
        raise ValueError("Shopify filters need timezone-aware datetimes")
    return value.isoformat()


def _flatten_errors(errors: Any) -> str:
    if isinstance(errors, str):
        return errors
    if isinstance(errors, list):
        return "; ".join(_flatten_errors(e) for e in errors)
    if isinstance(errors, dict):
        return "; ".join(f"{k}: {_flatten_errors(v)}" for k, v in errors.items())
    return str(errors)


def _path_id(value: int | str) -> str:
    return quote(str(value), safe="")


class ShopifyTokenCache(Protocol):
    def load(self) -> tuple[str, datetime] | None: ...
    def save(self, token: str, expires_at: datetime) -> None: ...


class ShopifyClient(PlatformHttpClient):
    """With `access_token` a custom app's token (it never expires); with `client_id` and
    `client_secret` instead, a Dev Dashboard app that takes 24-hour tokens by the client-credentials
    grant and renews them before they expire and after a 401, once for all concurrent requests."""

    platform = "shopify"

    def __init__(
        self,
        base_url: str,
        access_token: str | None = None,
        *,
        client_id: str | None = None,
        client_secret: str | None = None,
        token_cache: ShopifyTokenCache | None = None,
        time_scale: float = 1.0,
        timeout: float = 30.0,
        max_attempts: int = 6,
        transport: httpx.AsyncBaseTransport | None = None,
        backoff_base: float = 0.5,
        backoff_cap: float = 30.0,
        leak_rate: float = 2.0,
        bucket_capacity: int = 40,
        bucket_threshold: float = 0.8,
        pacing: bool = True,
    ) -> None:
        super().__init__(
            base_url,
            time_scale=time_scale,
            timeout=timeout,
            max_attempts=max_attempts,
            backoff_base=backoff_base,
            backoff_cap=backoff_cap,
            transport=transport,
            headers={"X-Shopify-Access-Token": access_token} if access_token else None,
            pacing=pacing,
        )
        if not access_token and not (client_id and client_secret):
            raise ValueError("a Shopify client needs an access token, or a client id and secret")
        self.__token = access_token or ""
        self.client_id = client_id
        self.__client_secret = client_secret or ""
        self.token_cache = token_cache
        self._issued: tuple[str, datetime, float] | None = None  # token, expiry, renewal margin
        self._renew_lock = asyncio.Lock()
        self._scopes: frozenset[str] | None = None
        # leak_rate is per platform second; the sandbox compresses time, so real drain is faster.
        self.pacer = LeakyBucketPacer(
            capacity=bucket_capacity, leak_rate=leak_rate / time_scale, threshold_ratio=bucket_threshold
        )

    async def __aenter__(self) -> ShopifyClient:
        return self

    # ---- hooks -------------------------------------------------------------------------------------
    def _secrets(self) -> Iterable[str]:
        yield self.__token
        yield self.__client_secret
        if self._issued is not None:
            yield self._issued[0]

    # ---- client-credentials tokens -----------------------------------------------------------------
    @property
    def renews_tokens(self) -> bool:
        return not self.__token

    @property
    def token_url(self) -> str:
        # Not under the versioned API: {shop}/admin/oauth/access_token.
        return urljoin(self.base_url.rstrip("/") + "/", "../../oauth/access_token")

    async def _before_attempt(self, paced: bool) -> dict[str, str]:
        if not paced or not self.renews_tokens:
            return {}
        return {"X-Shopify-Access-Token": await self._valid_token()}

    def _due(self, issued: tuple[str, datetime, float] | None) -> bool:
        return issued is None or issued[1] - timedelta(seconds=issued[2]) <= datetime.now(UTC)

    async def _valid_token(self) -> str:
        if self._issued is None and self.token_cache is not None:
            cached = self.token_cache.load()
            if cached is not None:
                self._issued = (*cached, TOKEN_RENEWAL_MARGIN)
        if not self._due(self._issued):
            assert self._issued is not None
            return self._issued[0]
        return await self._renew(stale=self._issued[0] if self._issued else None)

    async def _renew(self, stale: str | None) -> str:
        async with self._renew_lock:
            current = self._issued
            if current is not None and current[0] != stale and not self._due(current):
                return current[0]  # renewed by another request while this one waited
            _, body = await super().request(
                "POST",
                self.token_url,
                idempotent=True,
                data={
                    "client_id": str(self.client_id),
                    "client_secret": self.__client_secret,
                    "grant_type": "client_credentials",
                },
                paced=False,
            )
            token = body.get("access_token") if isinstance(body, dict) else None
            if not token:
                raise self._error("MALFORMED_RESPONSE", "the Shopify token answer has no access_token")
            lifetime = float(body.get("expires_in") or 86_399)
            expires = datetime.now(UTC) + timedelta(seconds=lifetime)
            # Renewed a little before the end, so a request never leaves with a token about to die.
            self._issued = (str(token), expires, min(TOKEN_RENEWAL_MARGIN, lifetime / 10))
            if self.token_cache is not None:
                self.token_cache.save(str(token), expires)
            self.stats.token_refreshes += 1
            return str(token)

    async def request(self, method: str, url: str, **kwargs: Any) -> tuple[httpx.Response, Any]:
        try:
            return await super().request(method, url, **kwargs)
        except PlatformError as err:
            if err.status != 401 or not self.renews_tokens or not kwargs.get("paced", True):
                raise
            stale = self._issued[0] if self._issued else None
        # A refused token means the request was not applied, so even a write may go again, once.
        await self._renew(stale=stale)
        return await super().request(method, url, **kwargs)

    @contextlib.asynccontextmanager
    async def _paced(self) -> AsyncIterator[None]:
        self.stats.waits_for_pacing += await self.pacer.acquire()
        yield

    def _after_response(self, response: httpx.Response) -> None:
        raw = response.headers.get(CALL_LIMIT_HEADER)
        if raw:
            used, _, capacity = raw.partition("/")
            with contextlib.suppress(ValueError):
                self.pacer.observe(int(used), int(capacity))
        if response.status_code == 429:
            self.pacer.saturate()

    def _error_info(self, response: httpx.Response) -> ErrorInfo:
        message = ""
        try:
            body = response.json()
        except ValueError:
            body = None
        if isinstance(body, dict):
            errors = body.get("errors", body.get("error"))
            if errors is not None:
                message = _flatten_errors(errors)
        if not message:
            message = short_body(response) or f"HTTP {response.status_code}"
        missing = MISSING_SCOPE.search(message) if response.status_code == 403 else None
        if missing:
            return ErrorInfo(
                "SHOPIFY_SCOPE_MISSING",
                f"{message} Grant the app the {missing.group(1)} scope in Shopify, then connect again.",
            )
        if response.status_code == 401 and self.renews_tokens:
            message += f" (the client-credentials grant at {self.token_url} no longer issues usable tokens)"
        return generic_error_info(response.status_code, message)

    # ---- requests ----------------------------------------------------------------------------------
    async def _get(self, path: str, params: dict[str, Any] | None = None) -> tuple[httpx.Response, Any]:
        return await self.request("GET", path, params=params)

    @staticmethod
    def _order_filters(
        updated_at_min: datetime | None,
        updated_at_max: datetime | None,
        created_at_min: datetime | None,
        created_at_max: datetime | None,
        status: str,
    ) -> dict[str, str]:
        params = {"status": status}
        for name, value in (
            ("updated_at_min", updated_at_min),
            ("updated_at_max", updated_at_max),
            ("created_at_min", created_at_min),
            ("created_at_max", created_at_max),
        ):
            if value is not None:
                params[name] = _iso(value)
        return params

    async def _iter_pages(
        self, path: str, envelope: str, params: dict[str, Any], limit: int, fields: list[str] | None
    ) -> AsyncIterator[list[dict]]:
        params = {**params, "limit": limit}
        if fields:
            params["fields"] = ",".join(fields)
        while True:
            response, body = await self._get(path, params)
            yield self._records(body, envelope)
            page_info = _next_page_info(response)
            if not page_info:
                return
            # Shopify rejects a page_info request that repeats the original filters.
            params = {"page_info": page_info, "limit": limit}
            if fields:
                params["fields"] = ",".join(fields)

    async def iter_order_pages(
        self,
        *,
        updated_at_min: datetime | None = None,
        updated_at_max: datetime | None = None,
        created_at_min: datetime | None = None,
        created_at_max: datetime | None = None,
        status: str = "any",
        limit: int = 250,
        fields: list[str] | None = None,
    ) -> AsyncIterator[list[dict]]:
        params = self._order_filters(updated_at_min, updated_at_max, created_at_min, created_at_max, status)
        async for page in self._iter_pages("orders.json", "orders", params, max(1, min(limit, 250)), fields):
            yield page

    async def count_orders(
        self,
        *,
        updated_at_min: datetime | None = None,
        updated_at_max: datetime | None = None,
        created_at_min: datetime | None = None,
        created_at_max: datetime | None = None,
        status: str = "any",
    ) -> int:
        params = self._order_filters(updated_at_min, updated_at_max, created_at_min, created_at_max, status)
        _, body = await self._get("orders/count.json", params)
        count = body.get("count") if isinstance(body, dict) else None
        if not isinstance(count, int) or isinstance(count, bool) or count < 0:
            raise self._error("MALFORMED_RESPONSE", "expected a 'count' number in the orders/count answer")
        return count

    async def get_order(self, order_id: int | str) -> dict:
        _, body = await self._get(f"orders/{_path_id(order_id)}.json")
        return self._unwrap(body, "order")

    async def find_order(self, ref: str) -> dict | None:
        """Find by name ("#1001"), order number ("1001") or id; None when nothing matches."""
        ref = ref.strip()
        if not ref:
            return None
        number = ref.lstrip("#")
        name = f"#{number}"
        _, body = await self._get("orders.json", {"name": name, "status": "any", "limit": 250})
        for order in self._records(body, "orders"):
            # The name filter is not guaranteed to be exact, so confirm the match here.
            if order.get("name") == name or str(order.get("order_number")) == number:
                return order
        if ref.startswith("#") or not number.isdigit():
            return None
        try:
            return await self.get_order(number)
        except PlatformError as err:
            if err.code == "NOT_FOUND":
                return None
            raise

    async def shop(self) -> dict:
        _, body = await self._get("shop.json")
        return self._unwrap(body, "shop")

    async def access_scopes(self) -> frozenset[str]:
        """The scopes the token was granted (read once per client: they change only on reinstall)."""
        if self._scopes is None:
            # Not under the versioned API: {shop}/admin/oauth/access_scopes.json.
            url = urljoin(self.base_url.rstrip("/") + "/", "../../oauth/access_scopes.json")
            _, body = await self._get(url)
            self._scopes = frozenset(str(r.get("handle")) for r in self._records(body, "access_scopes"))
        return self._scopes

    async def get_refunds(self, order_id: int | str) -> list[dict]:
        _, body = await self._get(f"orders/{_path_id(order_id)}/refunds.json")
        return self._records(body, "refunds")

    async def cancel_order(self, order_id: int | str, reason: str = "other") -> dict:
        _, body = await self.request(
            "POST", f"orders/{_path_id(order_id)}/cancel.json", json_body={"reason": reason}, idempotent=False
        )
        return self._unwrap(body, "order")

    async def list_products(self) -> list[dict]:
        return [
            p async for page in self._iter_pages("products.json", "products", {}, 250, None) for p in page
        ]

    async def list_customers(self) -> list[dict]:
        return [
            c async for page in self._iter_pages("customers.json", "customers", {}, 250, None) for c in page
        ]

    async def list_payouts(self, *, date_min: date | None = None, status: str | None = None) -> list[dict]:
        """Shopify Payments payouts (newest first), issued on or after `date_min`."""
        params = {"date_min": date_min.isoformat()} if date_min else {}
        if status:
            params["status"] = status
        path = "shopify_payments/payouts.json"
        return [p async for page in self._iter_pages(path, "payouts", params, 250, None) for p in page]

    async def get_payout(self, payout_id: int | str) -> dict:
        _, body = await self._get(f"shopify_payments/payouts/{_path_id(payout_id)}.json")
        return self._unwrap(body, "payout")

    async def payout_transactions(self, payout_id: int | str) -> list[dict]:
        """The Shopify Payments balance transactions one payout paid out."""
        path, params = "shopify_payments/balance/transactions.json", {"payout_id": str(payout_id)}
        return [t async for page in self._iter_pages(path, "transactions", params, 250, None) for t in page]

    def _records(self, body: Any, key: str) -> list[dict]:
        """The list under `key` of a list answer; an answer of another shape is MALFORMED_RESPONSE
        here rather than a KeyError or AttributeError wherever a record is read."""
        records = body.get(key) if isinstance(body, dict) else None
        if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
            raise self._error("MALFORMED_RESPONSE", f"expected a list of {key!r} objects in the response")
        return records

    def _unwrap(self, body: Any, key: str) -> dict:
        if not isinstance(body, dict) or not isinstance(body.get(key), dict):
            raise self._error("MALFORMED_RESPONSE", f"expected a {key!r} object in the response")
        return body[key]


def _next_page_info(response: httpx.Response) -> str | None:
    url = response.links.get("next", {}).get("url")
    if not url:
        return None
    values = parse_qs(urlsplit(url).query).get("page_info")
    return values[0] if values else None
