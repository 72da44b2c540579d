"""What every platform client shares: one error type with stable codes, and a request helper that retries
only what is safe to retry, honours Retry-After, paces itself and counts what it did."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import time
from collections.abc import Iterable, Mapping
from contextlib import AbstractAsyncContextManager
from dataclasses import asdict, dataclass
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, stop_after_attempt

from engine import jsontext

log = logging.getLogger("engine.platforms")

RATE_LIMITED = "RATE_LIMITED"
AUTH_FAILED = "AUTH_FAILED"
PLATFORM_UNAVAILABLE = "PLATFORM_UNAVAILABLE"
TIMEOUT = "TIMEOUT"
MALFORMED_RESPONSE = "MALFORMED_RESPONSE"
NOT_FOUND = "NOT_FOUND"
VALIDATION_FAILED = "VALIDATION_FAILED"

_REDACTED = "***"
# What `_pace` hands out when there is nothing to pace: one shared no-op, not a new context manager per
# request (an unpaced client sends hundreds a second, and CPU is what limits the engine then).
UNPACED: AbstractAsyncContextManager[Any] = contextlib.nullcontext()


class PlatformError(Exception):
    """A platform call that failed, classified so the caller knows what to do next.

    `retryable` says trying again later can succeed; `ambiguous` says a write may or may not have been
    applied, so the caller must look the record up before creating it again.
    """

    def __init__(
        self,
        code: str,
        message: str,
        *,
        platform: str,
        status: int | None = None,
        platform_code: int | str | None = None,
        retryable: bool = False,
        ambiguous: bool = False,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.platform = platform
        self.status = status
        self.platform_code = platform_code
        self.retryable = retryable
        self.ambiguous = ambiguous
        # Seconds as the platform sent them; the retry loop waits at least this long.
        self.retry_after = retry_after

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"

    def __reduce__(self) -> tuple[Any, ...]:
        # Keyword-only attributes would be lost by the default Exception pickling (worker processes).
        return (_rebuild_error, (self.__dict__.copy(),))

    def __repr__(self) -> str:
        return (
            f"PlatformError(code={self.code!r}, message={self.message!r}, platform={self.platform!r}, "
            f"status={self.status!r}, platform_code={self.platform_code!r}, retryable={self.retryable!r}, "
            f"ambiguous={self.ambiguous!r})"
        )


def _rebuild_error(state: dict[str, Any]) -> PlatformError:
    err = PlatformError.__new__(PlatformError)
    Exception.__init__(err, f"{state['code']}: {state['message']}")
    err.__dict__.update(state)
    return err


@dataclass
class ClientStats:
    requests: int = 0
    retries: int = 0
    responses_429: int = 0
    waits_for_pacing: float = 0.0
    retry_wait_seconds: float = 0.0
    token_refreshes: int = 0

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


@dataclass(frozen=True)
class ErrorInfo:
    """What a platform-specific classifier extracts from an error response."""

    code: str
    message: str
    platform_code: int | str | None = None


def parse_retry_after(value: str | None) -> float | None:
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        seconds = when.timestamp() - time.time()
    return max(0.0, seconds)


def generic_error_info(status: int, message: str) -> ErrorInfo:
    if status in (401, 403):
        code = AUTH_FAILED
    elif status == 404:
        code = NOT_FOUND
    elif status == 429:
        code = RATE_LIMITED
    elif status >= 500:
        code = PLATFORM_UNAVAILABLE
    elif status == 408:
        code = TIMEOUT
    else:
        code = VALIDATION_FAILED
    return ErrorInfo(code, message or f"HTTP {status}")


def short_body(response: httpx.Response, limit: int = 300) -> str:
    text = response.text.strip()
    return text if len(text) <= limit else text[:limit] + "…"


class PlatformHttpClient:
    """Base for the platform clients; subclasses override the `_hook` methods.

    Idempotent requests retry 429, 5xx, timeouts, dropped connections and malformed bodies. A
    non-idempotent write retries only failures that prove the request was never applied (429, failure
    to connect); anything else becomes PlatformError(ambiguous=True) because a blind retry could create
    a duplicate in the target.
    """

    platform = "platform"

    def __init__(
        self,
        base_url: str,
        *,
        time_scale: float = 1.0,
        timeout: float = 30.0,
        max_attempts: int = 6,
        backoff_base: float = 0.5,
        backoff_cap: float = 30.0,
        transport: httpx.AsyncBaseTransport | None = None,
        headers: Mapping[str, str] | None = None,
        pacing: bool = True,
    ) -> None:
        if time_scale <= 0:
            raise ValueError("time_scale must be positive")
        self.base_url = base_url
        self.time_scale = time_scale
        # False only against a sandbox serving with --no-limits: there is no limit to keep to.
        self.pacing = pacing
        self.max_attempts = max(1, max_attempts)
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.stats = ClientStats()
        self._client = httpx.AsyncClient(
            base_url=base_url,
            timeout=timeout,
            transport=transport,
            headers={"Accept": "application/json", **(headers or {})},
            # Many coroutines share one client; the platform limits are enforced by pacing, not here.
            limits=httpx.Limits(max_connections=100, max_keepalive_connections=50),
        )

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_url={self.base_url!r})"

    async def aclose(self) -> None:
        await self._client.aclose()

    async def __aenter__(self) -> PlatformHttpClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # ---- hooks -------------------------------------------------------------------------------------
    def _secrets(self) -> Iterable[str]:
        """Values that must never leak into an error message or log line."""
        return ()

    async def _before_attempt(self, paced: bool) -> dict[str, str]:
        """Authorise one attempt; returns extra headers for it."""
        return {}

    def _pace(self, paced: bool) -> AbstractAsyncContextManager[Any]:
        """Held around the send itself, so a limiter can see when each request is over. `paced` is
        False for requests outside the platform's limit (Fortnox's token endpoint)."""
        return self._paced() if paced and self.pacing else UNPACED

    def _paced(self) -> AbstractAsyncContextManager[Any]:
        """The platform's limiter, around one request that counts against its limit."""
        return UNPACED

    def _after_response(self, response: httpx.Response) -> None:
        """Observe rate-limit headers on every response, good or bad."""

    def _error_info(self, response: httpx.Response) -> ErrorInfo:
        return generic_error_info(response.status_code, short_body(response))

    # ---- helpers -----------------------------------------------------------------------------------
    def redact(self, text: str) -> str:
        for secret in self._secrets():
            if secret and len(secret) >= 4:
                text = text.replace(secret, _REDACTED)
        return text

    def _error(self, code: str, message: str, **kwargs: Any) -> PlatformError:
        return PlatformError(code, self.redact(message), platform=self.platform, **kwargs)

    def _backoff(self, retry_state: RetryCallState) -> float:
        exc = retry_state.outcome.exception() if retry_state.outcome else None
        retry_after = exc.retry_after if isinstance(exc, PlatformError) else None
        if retry_after is not None:
            # Not scaled by time_scale: the server states its own seconds, and a time-compressed
            # sandbox already compresses them. A little spread keeps waiters from returning in lockstep.
            return retry_after * (1.0 + random.uniform(0.0, 0.1))
        ceiling = min(self.backoff_cap, self.backoff_base * 2 ** (retry_state.attempt_number - 1))
        return (ceiling / 2 + random.uniform(0.0, ceiling / 2)) * self.time_scale

    async def _sleep(self, seconds: float) -> None:
        self.stats.retries += 1
        self.stats.retry_wait_seconds += seconds
        await asyncio.sleep(seconds)

    @staticmethod
    def _should_retry(exc: BaseException) -> bool:
        return isinstance(exc, PlatformError) and exc.retryable and not exc.ambiguous

    def _log_retry(self, retry_state: RetryCallState) -> None:
        exc = retry_state.outcome.exception() if retry_state.outcome else None
        wait = retry_state.next_action.sleep if retry_state.next_action else 0.0
        log.info(
            "%s attempt %d failed (%s); retrying in %.3fs",
            self.platform,
            retry_state.attempt_number,
            exc,
            wait,
        )

    async def request(
        self,
        method: str,
        url: str,
        *,
        idempotent: bool | None = None,
        params: Mapping[str, Any] | None = None,
        json_body: Any = None,
        data: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        auth: httpx.Auth | tuple[str, str] | None = None,
        paced: bool = True,
    ) -> tuple[httpx.Response, Any]:
        """Send with retries; returns the final response and its decoded JSON (None for an empty body)."""
        if idempotent is None:
            idempotent = method.upper() in ("GET", "HEAD", "OPTIONS")
        args = (method, url, idempotent, params, json_body, data, headers, auth, paced)
        # Most requests succeed at once, and running even those through tenacity cost tens of µs of CPU
        # per request (the backfill benchmark is CPU-bound), so the first attempt is made here and
        # tenacity takes over only when it failed in a way worth retrying.
        try:
            return await self._attempt(*args)
        except PlatformError as exc:
            if self.max_attempts == 1 or not self._should_retry(exc):
                raise
            first: PlatformError | None = exc
        retrying = AsyncRetrying(
            stop=stop_after_attempt(self.max_attempts),
            wait=self._backoff,
            retry=retry_if_exception(self._should_retry),
            sleep=self._sleep,
            before_sleep=self._log_retry,
            reraise=True,
        )
        result: tuple[httpx.Response, Any] | None = None
        async for attempt in retrying:
            with attempt:
                if first is not None:
                    # Tenacity's attempt 1 is the one made above: its failure, replayed, so the
                    # attempt count, backoff, stats and log lines are what they would be.
                    failed, first = first, None
                    raise failed
                result = await self._attempt(*args)
        assert result is not None
        return result

    async def _attempt(
        self,
        method: str,
        url: str,
        idempotent: bool,
        params: Mapping[str, Any] | None,
        json_body: Any,
        data: Mapping[str, str] | None,
        headers: Mapping[str, str] | None,
        auth: httpx.Auth | tuple[str, str] | None,
        paced: bool,
    ) -> tuple[httpx.Response, Any]:
        extra = await self._before_attempt(paced)
        if headers:
            extra.update(headers)
        where = f"{method} {url}"
        # `from None` everywhere below: httpx exceptions carry the request, Authorization header
        # included, and a chained cause would keep it reachable from the error we hand out.
        try:
            # Built before the pacing slot is taken: the slot then only covers the exchange itself.
            content: bytes | None = None
            if json_body is not None:
                content = jsontext.dumps_bytes(json_body)
                if not any(k.lower() == "content-type" for k in extra):  # as httpx's json= does
                    extra["Content-Type"] = "application/json"
            request = self._client.build_request(
                method, url, params=params, content=content, data=data, headers=extra
            )
            async with self._pace(paced):
                self.stats.requests += 1
                # Streamed, so the pace ends as soon as the answer's head is in (which proves the
                # server had the request) and a rate-limit slot does not also wait for the body.
                response = await self._client.send(
                    request, auth=auth if auth is not None else httpx.USE_CLIENT_DEFAULT, stream=True
                )
            try:
                await response.aread()
            finally:
                await response.aclose()
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            code = PLATFORM_UNAVAILABLE if isinstance(exc, httpx.ConnectError) else TIMEOUT
            raise self._error(
                code, f"{where}: could not connect ({type(exc).__name__}: {exc})", retryable=True
            ) from None
        except httpx.TimeoutException as exc:
            raise self._error(
                TIMEOUT,
                f"{where}: no answer in time ({type(exc).__name__})",
                retryable=True,
                ambiguous=not idempotent,
            ) from None
        except httpx.TransportError as exc:
            raise self._error(
                PLATFORM_UNAVAILABLE,
                f"{where}: connection failed ({type(exc).__name__}: {exc})",
                retryable=True,
                ambiguous=not idempotent,
            ) from None

        self._after_response(response)
        status = response.status_code
        if status == 429:
            self.stats.responses_429 += 1
        if status >= 400:
            raise self._classified(response, idempotent)
        raw = response.content
        if not raw or raw.isspace():
            return response, None
        try:
            body = jsontext.loads(raw)
        except json.JSONDecodeError:
            raise self._error(
                MALFORMED_RESPONSE,
                f"{where}: HTTP {status} with a body that is not JSON: {short_body(response, 120)!r}",
                status=status,
                retryable=True,
                ambiguous=not idempotent,
            ) from None
        return response, body

    def _classified(self, response: httpx.Response, idempotent: bool) -> PlatformError:
        status = response.status_code
        try:
            info = self._error_info(response)
        except Exception:  # a broken error body must not hide the status
            info = generic_error_info(status, short_body(response))
        rate_limited = status == 429 or info.code == RATE_LIMITED
        server_side = status >= 500 or status == 408
        return self._error(
            RATE_LIMITED if rate_limited else info.code,
            info.message,
            status=status,
            platform_code=info.platform_code,
            # A 429 is refused before any work happens, so it is safe to retry even for a create.
            retryable=rate_limited or server_side,
            ambiguous=server_side and not rate_limited and not idempotent,
            retry_after=parse_retry_after(response.headers.get("Retry-After")),
        )
