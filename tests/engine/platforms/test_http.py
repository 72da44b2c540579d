"""Retry, ambiguity and secret-handling rules of the shared request helper, driven through the clients."""

import json
import time

import httpx
import pytest

from engine.platforms.fortnox import FortnoxClient, MemoryTokenStore
from engine.platforms.http import PlatformError, parse_retry_after
from engine.platforms.shopify import ShopifyClient

SHOP = "https://shop.test/admin/api/2024-10/"
TOKEN = "shpat_secret_token_123"


def shopify(handler, **kw) -> ShopifyClient:
    # A compressed clock keeps the bucket pacing after a 429 (40/40 → 32) to milliseconds.
    kw.setdefault("time_scale", 0.001)
    kw.setdefault("backoff_base", 1.0)
    kw.setdefault("backoff_cap", 5.0)
    return ShopifyClient(SHOP, TOKEN, transport=httpx.MockTransport(handler), **kw)


def order_body(n: int = 1) -> dict:
    return {"order": {"id": n, "name": f"#{1000 + n}"}}


async def test_retry_after_is_honoured_then_succeeds() -> None:
    calls: list[float] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(time.monotonic())
        if len(calls) < 3:
            return httpx.Response(429, headers={"Retry-After": "0.05"}, json={"errors": "Exceeded 2 calls"})
        return httpx.Response(200, json=order_body())

    async with shopify(handler) as client:
        assert (await client.get_order(1))["id"] == 1
        assert client.stats.retries == 2
        assert client.stats.responses_429 == 2
        assert client.stats.requests == 3
    assert calls[1] - calls[0] >= 0.05
    assert calls[2] - calls[1] >= 0.05


async def test_retries_are_numbered_from_the_first_attempt(caplog: pytest.LogCaptureFixture) -> None:
    """The first attempt is made before tenacity takes over; its failure still counts as attempt 1."""
    calls = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        return httpx.Response(503) if calls < 3 else httpx.Response(200, json=order_body())

    caplog.set_level("INFO", logger="engine.platforms")
    async with shopify(handler, max_attempts=3) as client:
        await client.get_order(1)
        assert (client.stats.requests, client.stats.retries) == (3, 2)
    lines = [r.getMessage() for r in caplog.records if "retrying" in r.getMessage()]
    assert [line.split(" failed")[0] for line in lines] == ["shopify attempt 1", "shopify attempt 2"]

    calls = -10  # never succeeds within max_attempts: the last failure is raised as it was
    async with shopify(handler, max_attempts=2) as client:
        with pytest.raises(PlatformError, match="PLATFORM_UNAVAILABLE"):
            await client.get_order(1)
        assert client.stats.requests == 2


async def test_retry_after_is_not_compressed_by_time_scale() -> None:
    """The server (or a time-compressed sandbox) already speaks in real seconds."""
    calls: list[float] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(time.monotonic())
        if len(calls) == 1:
            return httpx.Response(429, headers={"Retry-After": "0.04"})
        return httpx.Response(200, json=order_body())

    async with shopify(handler, time_scale=0.02) as client:
        await client.get_order(1)
    assert 0.04 <= calls[1] - calls[0] < 0.5


async def test_gives_up_after_max_attempts() -> None:
    calls = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        return httpx.Response(503, text="upstream down")

    async with shopify(handler, max_attempts=4) as client:
        with pytest.raises(PlatformError) as info:
            await client.get_order(1)
    assert calls == 4
    err = info.value
    assert err.code == "PLATFORM_UNAVAILABLE"
    assert err.retryable and not err.ambiguous
    assert err.status == 503


async def test_get_retries_timeouts_and_malformed_json() -> None:
    calls = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise httpx.ReadTimeout("slow", request=request)
        if calls == 2:
            return httpx.Response(200, text="{not json")
        if calls == 3:
            raise httpx.RemoteProtocolError("dropped", request=request)
        return httpx.Response(200, json=order_body())

    async with shopify(handler) as client:
        assert (await client.get_order(1))["id"] == 1
    assert calls == 4


async def test_post_is_not_retried_after_read_timeout() -> None:
    calls = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        raise httpx.ReadTimeout("slow", request=request)

    async with shopify(handler) as client:
        with pytest.raises(PlatformError) as info:
            await client.cancel_order(1)
    assert calls == 1
    assert info.value.code == "TIMEOUT"
    assert info.value.ambiguous and info.value.retryable


@pytest.mark.parametrize(
    "failure",
    [
        lambda r: httpx.Response(502, text="bad gateway"),
        lambda r: httpx.Response(200, text="<html>"),
        lambda r: httpx.Response(200, content=b'{"id": "\xff is not UTF-8"}'),
    ],
    ids=["502", "html", "not utf-8"],
)
async def test_post_5xx_or_garbled_answer_is_ambiguous(failure) -> None:
    calls = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        return failure(request)

    async with shopify(handler) as client:
        with pytest.raises(PlatformError) as info:
            await client.cancel_order(1)
    assert calls == 1
    assert info.value.ambiguous and info.value.retryable
    assert info.value.code in ("PLATFORM_UNAVAILABLE", "MALFORMED_RESPONSE")


async def test_post_is_retried_after_429_and_connect_errors() -> None:
    calls = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        if calls == 1:
            return httpx.Response(429, headers={"Retry-After": "0.01"})
        if calls == 2:
            raise httpx.ConnectError("refused", request=request)
        assert json.loads(request.content) == {"reason": "customer"}
        assert request.headers["Content-Type"] == "application/json"
        return httpx.Response(200, json=order_body())

    async with shopify(handler) as client:
        assert (await client.cancel_order(1, reason="customer"))["id"] == 1
    assert calls == 3


async def test_validation_errors_are_not_retried() -> None:
    calls = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        return httpx.Response(422, json={"errors": {"base": ["Cannot cancel a fulfilled order"]}})

    async with shopify(handler) as client:
        with pytest.raises(PlatformError) as info:
            await client.cancel_order(1)
    assert calls == 1
    assert info.value.code == "VALIDATION_FAILED"
    assert "Cannot cancel a fulfilled order" in info.value.message
    assert not info.value.retryable


async def test_secrets_never_reach_errors_or_reprs() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        assert request.headers["X-Shopify-Access-Token"] == TOKEN
        return httpx.Response(401, json={"errors": f"Invalid API key or access token ({TOKEN})"})

    async with shopify(handler) as client:
        with pytest.raises(PlatformError) as info:
            await client.get_order(1)
        assert TOKEN not in repr(client) and TOKEN not in str(client)
    err = info.value
    assert err.code == "AUTH_FAILED"
    for text in (str(err), repr(err), err.message, repr(err.args)):
        assert TOKEN not in text
    assert err.__cause__ is None


async def test_fortnox_secrets_absent_when_refresh_is_rejected() -> None:
    secret, refresh = "client-secret-xyz", "refresh-token-abc"

    def handler(request: httpx.Request) -> httpx.Response:
        body = request.content.decode()
        return httpx.Response(
            400, json={"error": "invalid_grant", "error_description": f"bad {body} {secret}"}
        )

    from datetime import UTC, datetime

    from engine.platforms.fortnox import TokenSet

    store = MemoryTokenStore(
        TokenSet(access_token="old-access", refresh_token=refresh, expires_at=datetime.now(UTC))
    )
    client = FortnoxClient(
        "https://api.test/3/",
        "https://apps.test/oauth-v1/token",
        "client-id",
        secret,
        store,
        transport=httpx.MockTransport(handler),
        backoff_base=0.001,
    )
    async with client:
        with pytest.raises(PlatformError) as info:
            await client.get_order("1")
        err = info.value
        assert err.code == "AUTH_FAILED"
        assert "reconnect" in err.message.lower()
        for text in (str(err), repr(err), repr(client), repr(store), repr(store.tokens)):
            assert secret not in text
            assert refresh not in text
            assert "old-access" not in text


def test_parse_retry_after() -> None:
    assert parse_retry_after("1.5") == 1.5
    assert parse_retry_after(None) is None
    assert parse_retry_after("garbage") is None
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0


def test_platform_error_survives_pickling() -> None:
    import pickle

    err = PlatformError("TIMEOUT", "slow", platform="fortnox", status=None, retryable=True, ambiguous=True)
    back = pickle.loads(pickle.dumps(err))
    assert (back.code, back.message, back.platform, back.retryable, back.ambiguous) == (
        "TIMEOUT",
        "slow",
        "fortnox",
        True,
        True,
    )
    assert str(back) == "TIMEOUT: slow"
