import asyncio
import base64
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs

import httpx
import pytest

from engine.platforms.fortnox import FortnoxClient, MemoryTokenStore, TokenSet, parse_error_information
from engine.platforms.http import PlatformError

API = "https://api.test/3/"
TOKEN_URL = "https://apps.test/oauth-v1/token"


def tokens(access: str = "a0", refresh: str = "r0", valid_for: float = 3600) -> TokenSet:
    return TokenSet(
        access_token=access,
        refresh_token=refresh,
        expires_at=datetime.now(UTC) + timedelta(seconds=valid_for),
    )


class FakeFortnox:
    """A token endpoint that rotates, and an API that accepts only the newest access token."""

    def __init__(self, store: MemoryTokenStore, *, refresh_delay: float = 0.0) -> None:
        self.store = store
        self.valid_access = {store.tokens.access_token} if store.tokens else set()
        self.valid_refresh = store.tokens.refresh_token if store.tokens else None
        self.refreshes = 0
        self.refresh_delay = refresh_delay
        self.api_calls = 0
        self.routes: dict[tuple[str, str], httpx.Response] = {}

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        if str(request.url) == TOKEN_URL:
            return await self.token(request)
        self.api_calls += 1
        bearer = request.headers.get("Authorization", "").removeprefix("Bearer ")
        if bearer not in self.valid_access:
            return httpx.Response(
                401, json={"ErrorInformation": {"message": "Unauthorized", "code": 2000310}}
            )
        # The client must have saved the rotated token before using the access token it came with.
        assert self.store.tokens is not None and self.store.tokens.access_token == bearer
        key = (request.method, request.url.path.removeprefix("/3/"))
        return self.routes.get(key) or httpx.Response(200, json={"Order": {"DocumentNumber": "1"}})

    async def token(self, request: httpx.Request) -> httpx.Response:
        assert request.headers["Authorization"] == "Basic " + base64.b64encode(b"cid:csecret").decode()
        form = parse_qs(request.content.decode())
        assert form["grant_type"] == ["refresh_token"]
        if self.refresh_delay:
            await asyncio.sleep(self.refresh_delay)
        if form["refresh_token"] != [self.valid_refresh]:
            return httpx.Response(400, json={"error": "invalid_grant"})
        self.refreshes += 1
        access, refresh = f"a{self.refreshes}", f"r{self.refreshes}"
        self.valid_access = {access}
        self.valid_refresh = refresh
        return httpx.Response(
            200,
            json={
                "access_token": access,
                "refresh_token": refresh,
                "expires_in": 3600,
                "token_type": "bearer",
            },
        )


def make_client(store: MemoryTokenStore, handler, **kw) -> FortnoxClient:
    kw.setdefault("backoff_base", 0.001)
    kw.setdefault("backoff_cap", 0.005)
    return FortnoxClient(
        API, TOKEN_URL, "cid", "csecret", store, transport=httpx.MockTransport(handler), **kw
    )


@pytest.mark.parametrize(
    ("status", "body", "code", "message", "platform_code"),
    [
        # documented numbers decide
        (
            400,
            {"ErrorInformation": {"error": 1, "message": "Kan inte hitta artikeln", "code": 2000428}},
            "ARTICLE_NOT_FOUND",
            "Kan inte hitta artikeln",
            2000428,
        ),
        (
            400,
            {"ErrorInformation": {"error": 1, "message": "Kunde inte hitta konto", "code": 2001304}},
            "FORTNOX_ACCOUNT_NOT_FOUND",
            "Kunde inte hitta konto",
            2001304,
        ),
        # 2000637 is a general customer-validation number: its message tells what was wrong
        (
            400,
            {
                "ErrorInformation": {
                    "message": "Kundnummer 1 används redan. Kundnumret har redan använts men blivit raderat.",
                    "code": 2000637,
                }
            },
            "FORTNOX_CUSTOMER_NUMBER_TAKEN",
            "Kundnummer 1 används redan. Kundnumret har redan använts men blivit raderat.",
            2000637,
        ),
        (
            400,
            {"errorInformation": {"Error": 1, "Message": "Kundnamn måste anges", "Code": "2000637"}},
            "FORTNOX_CUSTOMER_NAME_EMPTY",
            "Kundnamn måste anges",
            2000637,
        ),
        (
            400,
            {"ErrorInformation": {"message": "Namnet saknas", "code": 2000637}},
            "VALIDATION_FAILED",
            "Namnet saknas",
            2000637,
        ),
        # numbers nobody documents: the start of the message, whatever the number
        (
            400,
            {"ErrorInformation": {"message": "Ogiltigt land: Sweden", "code": 2000999}},
            "FORTNOX_COUNTRY_INVALID",
            "Ogiltigt land: Sweden",
            2000999,
        ),
        (
            400,
            {"ErrorInformation": {"message": "Kunde inte hämta/hitta leveranssätt.", "code": 0}},
            "FORTNOX_WAY_OF_DELIVERY_NOT_FOUND",
            "Kunde inte hämta/hitta leveranssätt.",
            0,
        ),
        (
            400,
            {"ErrorInformation": {"message": "Fakturan är bokförd och kan inte ändras", "code": 0}},
            "INVOICE_BOOKED",
            "Fakturan är bokförd och kan inte ändras",
            0,
        ),
        # then the HTTP status, the message kept as Fortnox sent it
        (400, {"ErrorInformation": {"message": "Odd", "code": 1}}, "VALIDATION_FAILED", "Odd", 1),
        (
            400,
            {"ErrorInformation": {"message": "Felaktigt fältnamn", "code": 2001399}},
            "VALIDATION_FAILED",
            "Felaktigt fältnamn",
            2001399,
        ),
        (404, {"ErrorInformation": {"message": "Gone", "code": 1}}, "NOT_FOUND", "Gone", 1),
        (403, {"ErrorInformation": {"message": "Nope", "code": 1}}, "AUTH_FAILED", "Nope", 1),
        (500, {"message": "boom"}, "PLATFORM_UNAVAILABLE", "boom", None),
        (429, None, "RATE_LIMITED", "HTTP 429", None),
        (
            401,
            {"ErrorInformation": {"message": "Ogiltig inloggning", "code": 2000310}},
            "AUTH_FAILED",
            "Ogiltig inloggning",
            2000310,
        ),
    ],
)
def test_error_information_is_classified(status, body, code, message, platform_code) -> None:
    info = parse_error_information(status, body)
    assert (info.code, info.message, info.platform_code) == (code, message, platform_code)


async def test_client_raises_classified_error_with_platform_message() -> None:
    store = MemoryTokenStore(tokens())
    fake = FakeFortnox(store)
    fake.routes[("POST", "orders")] = httpx.Response(
        400,
        json={"ErrorInformation": {"error": 1, "message": "Kan inte hitta artikeln: SKU-9", "code": 2000428}},
    )
    async with make_client(store, fake) as client:
        with pytest.raises(PlatformError) as info:
            await client.create_order({"CustomerNumber": "1"})
    err = info.value
    assert err.code == "ARTICLE_NOT_FOUND"
    assert str(err) == "ARTICLE_NOT_FOUND: Kan inte hitta artikeln: SKU-9"
    assert (err.status, err.platform_code, err.platform) == (400, 2000428, "fortnox")
    assert not err.retryable and not err.ambiguous
    assert fake.api_calls == 1


async def test_expired_token_is_rotated_and_saved_before_use() -> None:
    store = MemoryTokenStore(tokens(valid_for=-10))
    fake = FakeFortnox(store)
    async with make_client(store, fake) as client:
        assert (await client.get_order("1"))["DocumentNumber"] == "1"
        assert client.stats.token_refreshes == 1
    assert store.tokens.refresh_token == "r1"
    assert store.saves == 1


async def test_one_refresh_for_ten_concurrent_requests() -> None:
    store = MemoryTokenStore(tokens(valid_for=-10))
    fake = FakeFortnox(store, refresh_delay=0.02)
    async with make_client(store, fake) as client:
        await asyncio.gather(*(client.get_order(str(n)) for n in range(10)))
    assert fake.refreshes == 1
    assert store.saves == 1
    assert fake.api_calls == 10


async def test_401_refreshes_once_and_retries_even_a_create() -> None:
    store = MemoryTokenStore(tokens())
    fake = FakeFortnox(store)
    fake.valid_access = {"revoked-elsewhere"}  # the stored access token no longer works
    async with make_client(store, fake) as client:
        await asyncio.gather(*(client.create_order({"CustomerNumber": "1"}) for _ in range(5)))
    assert fake.refreshes == 1
    assert fake.api_calls == 10


async def test_second_401_is_auth_failed() -> None:
    store = MemoryTokenStore(tokens())
    calls = 0

    async def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        if str(request.url) == TOKEN_URL:
            return httpx.Response(200, json={"access_token": "n", "refresh_token": "m", "expires_in": 3600})
        calls += 1
        return httpx.Response(401, json={"ErrorInformation": {"message": "Invalid login", "code": 2000310}})

    async with make_client(store, handler) as client:
        with pytest.raises(PlatformError) as info:
            await client.get_customer("1")
    assert info.value.code == "AUTH_FAILED"
    assert calls == 2
    assert store.saves == 1


async def test_failed_save_stops_before_the_new_token_is_used() -> None:
    class BrokenStore(MemoryTokenStore):
        def save(self, tokens: TokenSet) -> None:
            raise OSError("disk full")

    store = BrokenStore(tokens(valid_for=-1))
    fake = FakeFortnox(store)
    async with make_client(store, fake) as client:
        with pytest.raises(OSError):
            await client.get_order("1")
    assert fake.api_calls == 0


async def test_missing_tokens_ask_for_reconnect() -> None:
    async with make_client(MemoryTokenStore(), FakeFortnox(MemoryTokenStore())) as client:
        with pytest.raises(PlatformError) as info:
            await client.get_order("1")
    assert info.value.code == "AUTH_FAILED"
    assert "reconnect" in info.value.message


async def test_adopts_tokens_rotated_by_another_process() -> None:
    store = MemoryTokenStore(tokens(valid_for=-1))
    fake = FakeFortnox(store)
    async with make_client(store, fake) as client:
        await client.get_order("1")  # loads and rotates to a1/r1
        # another worker sharing the store rotates to a2/r2 behind our back
        other = make_client(store, fake)
        await other.refresh()
        await other.aclose()
        # our a1 is now rejected; the 401 path picks up the stored r2 pair instead of burning r1
        assert (await client.get_order("1"))["DocumentNumber"] == "1"
    assert fake.refreshes == 2


async def test_list_all_follows_total_pages_and_email_filter_is_exact() -> None:
    store = MemoryTokenStore(tokens())
    fake = FakeFortnox(store)
    pages = {
        "1": [
            {"CustomerNumber": "1", "Email": "Anna@Example.com"},
            {"CustomerNumber": "2", "Email": "xanna@example.com"},
        ],
        "2": [{"CustomerNumber": "3", "Email": "anna@example.com "}],
    }
    seen = []

    async def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/3/customers":
            seen.append(dict(request.url.params))
            page = request.url.params["page"]
            meta = {"@TotalResources": 3, "@TotalPages": 2, "@CurrentPage": int(page)}
            return httpx.Response(200, json={"Customers": pages[page], "MetaInformation": meta})
        return await fake(request)

    async with make_client(store, handler) as client:
        found = await client.find_customers_by_email("anna@example.com")
    assert [c["CustomerNumber"] for c in found] == ["1", "3"]
    assert seen == [
        {"email": "anna@example.com", "limit": "500", "page": "1"},
        {"email": "anna@example.com", "limit": "500", "page": "2"},
    ]


async def test_reference_searches_read_each_candidate_and_keep_exact_matches() -> None:
    """List rows are Fortnox's list subset (no YourOrderNumber, no InvoiceReference) and a search
    matches substrings: the client reads each candidate and keeps only exact references."""
    store = MemoryTokenStore(tokens())
    full = {
        "orders/1": {"DocumentNumber": "1", "ExternalInvoiceReference1": "#1001", "InvoiceReference": "7"},
        "orders/4": {"DocumentNumber": "4", "ExternalInvoiceReference1": "#1001-B", "InvoiceReference": None},
        "invoices/7": {
            "DocumentNumber": "7",
            "ExternalInvoiceReference1": "#1001",
            "YourOrderNumber": "1001",
        },
    }
    reads: list[str] = []

    async def handler(request: httpx.Request) -> httpx.Response:
        path, params = request.url.path.removeprefix("/3/"), request.url.params
        if path in ("orders", "invoices"):
            assert dict(params).keys() == {"externalinvoicereference1", "limit", "page"}
            assert params["externalinvoicereference1"] == "#1001"
        if path == "orders":
            rows = [
                {"DocumentNumber": "1", "ExternalInvoiceReference1": "#1001"},
                {"DocumentNumber": "2", "ExternalInvoiceReference1": "#10010"},
                {"DocumentNumber": "4"},
            ]
            return httpx.Response(200, json={"Orders": rows, "MetaInformation": {"@TotalPages": 1}})
        if path == "invoices":
            rows = [{"DocumentNumber": "7", "ExternalInvoiceReference1": "#1001"}]
            return httpx.Response(200, json={"Invoices": rows, "MetaInformation": {"@TotalPages": 1}})
        if path in full:
            reads.append(path)
            envelope = "Order" if path.startswith("orders") else "Invoice"
            return httpx.Response(200, json={envelope: full[path]})
        raise AssertionError(path)

    async with make_client(store, handler) as client:
        orders = await client.find_orders_by_reference("#1001")
        invoices = await client.find_invoices_by_reference("#1001")
    assert [(o["DocumentNumber"], o["InvoiceReference"]) for o in orders] == [("1", "7")]
    assert [(i["DocumentNumber"], i["YourOrderNumber"]) for i in invoices] == [("7", "1001")]
    assert reads == ["orders/1", "orders/4", "invoices/7"]


async def test_get_article_none_on_404_and_actions_use_put() -> None:
    store = MemoryTokenStore(tokens())
    fake = FakeFortnox(store)
    fake.routes[("GET", "articles/SKU 1")] = httpx.Response(
        404, json={"ErrorInformation": {"message": "Article not found", "code": 2000428}}
    )
    fake.routes[("PUT", "orders/5/createinvoice")] = httpx.Response(
        200, json={"Invoice": {"DocumentNumber": "9"}}
    )
    async with make_client(store, fake) as client:
        assert await client.get_article("SKU 1") is None
        assert (await client.create_invoice_from_order("5"))["DocumentNumber"] == "9"


@pytest.mark.parametrize(
    ("call", "path"),
    [
        ("create_invoice_from_order", "/3/orders/5/createinvoice"),
        ("bookkeep_invoice", "/3/invoices/5/bookkeep"),
    ],
)
async def test_actions_fortnox_refuses_twice_are_asked_again_after_a_5xx(call: str, path: str) -> None:
    """Fortnox answers a second createinvoice / bookkeep with a refusal, so asking again after a
    lost answer can't make a second invoice: the client retries them inside the attempt."""
    store = MemoryTokenStore(tokens())
    fake = FakeFortnox(store)
    attempts = 0

    async def handler(request: httpx.Request) -> httpx.Response:
        nonlocal attempts
        if request.method == "PUT" and request.url.path == path:
            attempts += 1
            if attempts < 3:
                return httpx.Response(500, json={"message": "Internal error"})
            return httpx.Response(200, json={"Invoice": {"DocumentNumber": "9"}})
        return await fake(request)

    async with make_client(store, handler) as client:
        assert (await getattr(client, call)("5"))["DocumentNumber"] == "9"
    assert attempts == 3


async def test_cancel_5xx_is_ambiguous_and_not_retried() -> None:
    store = MemoryTokenStore(tokens())
    fake = FakeFortnox(store)
    fake.routes[("PUT", "orders/5/cancel")] = httpx.Response(500, json={"message": "Internal error"})
    async with make_client(store, fake) as client:
        with pytest.raises(PlatformError) as info:
            await client.cancel_order("5")
    assert info.value.ambiguous and info.value.retryable
    assert fake.api_calls == 1


async def test_update_order_is_retried_as_idempotent() -> None:
    store = MemoryTokenStore(tokens())
    fake = FakeFortnox(store)
    attempts = 0

    async def handler(request: httpx.Request) -> httpx.Response:
        nonlocal attempts
        if request.method == "PUT" and request.url.path == "/3/orders/5":
            attempts += 1
            if attempts < 3:
                return httpx.Response(503, text="busy")
        return await fake(request)

    async with make_client(store, handler) as client:
        await client.update_order("5", {"Remarks": "x"})
    assert attempts == 3


async def test_lookup_rejects_unknown_kinds() -> None:
    async with make_client(MemoryTokenStore(tokens()), FakeFortnox(MemoryTokenStore())) as client:
        with pytest.raises(ValueError):
            await client.lookup("bananas")


@pytest.mark.parametrize(
    "answer",
    [
        {"Customers": {"CustomerNumber": "1"}},  # one object where a list belongs
        {"Customers": ["1", "2"]},  # a list, but not of customers
        [{"Customers": []}],  # the whole answer inside a list
    ],
)
async def test_a_list_answer_of_the_wrong_shape_is_malformed_response(answer) -> None:
    store = MemoryTokenStore(tokens())
    fake = FakeFortnox(store)

    async def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/3/customers":
            return httpx.Response(200, json=answer)
        return await fake(request)

    async with make_client(store, handler) as client:
        with pytest.raises(PlatformError) as info:
            await client.find_customers_by_email("anna@example.com")
    assert info.value.code == "MALFORMED_RESPONSE"
