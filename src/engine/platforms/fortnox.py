"""Fortnox API v3 client: OAuth token rotation, the 25-per-5-seconds pace, and ErrorInformation mapping."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from datetime import UTC, date, datetime, timedelta
from typing import Any, Protocol
from urllib.parse import quote
from zoneinfo import ZoneInfo

import httpx
from pydantic import BaseModel, Field, field_validator

from engine.platforms.fortnox_codes import FORTNOX_CODES, GENERAL_CODES, MESSAGE_PATTERNS, MESSAGE_PREFIXES
from engine.platforms.fortnox_scopes import scope_for_path
from engine.platforms.http import (
    AUTH_FAILED,
    NOT_FOUND,
    ErrorInfo,
    PlatformError,
    PlatformHttpClient,
    generic_error_info,
    short_body,
)
from engine.platforms.pacing import SlidingWindowLimiter

log = logging.getLogger("engine.platforms.fortnox")

RATE_LIMIT_REQUESTS = 25
RATE_LIMIT_WINDOW = 5.0
TOKEN_EXPIRY_MARGIN = 60.0
PAGE_LIMIT = 500
# Fortnox reads `lastmodified` as Swedish local time.
FORTNOX_TZ = ZoneInfo("Europe/Stockholm")
RECONNECT_HINT = "reconnect the Fortnox connector (sign in to Fortnox again) to issue new tokens"
SCOPE_MISSING = "FORTNOX_SCOPE_MISSING"
SCOPE_HINT = "connect Fortnox again (`junipeer connect fortnox`) so the consent asks for it"

_AUTH_CODES = {number for number, (name, _) in FORTNOX_CODES.items() if name == AUTH_FAILED}

LOOKUP_ENVELOPES = {
    "termsofpayments": "TermsOfPayments",
    "wayofdeliveries": "WayOfDeliveries",
    "modesofpayments": "ModesOfPayments",
    "accounts": "Accounts",
    "currencies": "Currencies",
    "vatcodes": "VATCodes",
    "voucherseries": "VoucherSeriesCollection",
}


class TokenSet(BaseModel):
    access_token: str = Field(repr=False)
    # Empty for a service account: its access tokens come from the client-credentials grant.
    refresh_token: str = Field(default="", repr=False)
    expires_at: datetime
    # The scopes the token was granted, space separated, as the token answer states them.
    scope: str = ""

    @field_validator("expires_at")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        # A store that lost the offset must not make every expiry comparison raise.
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)

    def expires_within(self, seconds: float) -> bool:
        return self.expires_at - timedelta(seconds=seconds) <= datetime.now(UTC)


class TokenStore(Protocol):
    def load(self) -> TokenSet | None: ...

    def save(self, tokens: TokenSet) -> None:
        """Must be atomic and durable before returning: the old refresh token is already dead."""
        ...


class MemoryTokenStore:
    def __init__(self, tokens: TokenSet | None = None) -> None:
        self.tokens = tokens
        self.saves = 0

    def __repr__(self) -> str:
        return f"MemoryTokenStore(saves={self.saves})"

    def load(self) -> TokenSet | None:
        return self.tokens

    def save(self, tokens: TokenSet) -> None:
        self.tokens = tokens
        self.saves += 1


def _ci_get(mapping: Any, *names: str) -> Any:
    if not isinstance(mapping, dict):
        return None
    wanted = {n.casefold() for n in names}
    for key, value in mapping.items():
        if isinstance(key, str) and key.casefold() in wanted:
            return value
    return None


def _as_int(value: Any) -> int | str | None:
    if value is None:
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return str(value)


def parse_error_information(status: int, body: Any, fallback: str = "") -> ErrorInfo:
    """Turn a Fortnox error body into a stable engine code, keeping Fortnox's own message.

    A documented number decides, unless it is a general one (a validation failure); then the start
    of the message may say more; then the HTTP status."""
    info = _ci_get(body, "ErrorInformation")
    source = info if isinstance(info, dict) else body
    message = _ci_get(source, "message")
    platform_code = _as_int(_ci_get(source, "code"))
    message = str(message) if message else fallback or f"HTTP {status}"
    known = FORTNOX_CODES.get(platform_code) if isinstance(platform_code, int) else None
    if known is not None and known[0] not in GENERAL_CODES:
        return ErrorInfo(known[0], message, platform_code)
    if status in (401, 403, 429) or status >= 500:
        return ErrorInfo(generic_error_info(status, message).code, message, platform_code)
    text = message.strip().casefold()
    by_text = next((name for prefix, name in MESSAGE_PREFIXES if text.startswith(prefix)), None) or next(
        (name for pattern, name in MESSAGE_PATTERNS if pattern.match(message.strip())), None
    )
    if by_text:
        return ErrorInfo(by_text, message, platform_code)
    if known is not None:
        return ErrorInfo(known[0], message, platform_code)
    return ErrorInfo(generic_error_info(status, message).code, message, platform_code)


def _path(*parts: str | int) -> str:
    return "/".join(quote(str(p), safe="") for p in parts)


class FortnoxClient(PlatformHttpClient):
    platform = "fortnox"

    def __init__(
        self,
        base_url: str,
        token_url: str,
        client_id: str,
        client_secret: str,
        token_store: TokenStore,
        *,
        time_scale: float = 1.0,
        timeout: float = 30.0,
        max_attempts: int = 6,
        transport: httpx.AsyncBaseTransport | None = None,
        backoff_base: float = 0.5,
        backoff_cap: float = 30.0,
        safety_margin: float = 0.03,
        pacing: bool = True,
        tenant_id: str | None = None,
    ) -> None:
        super().__init__(
            base_url,
            time_scale=time_scale,
            timeout=timeout,
            max_attempts=max_attempts,
            backoff_base=backoff_base,
            backoff_cap=backoff_cap,
            transport=transport,
            pacing=pacing,
        )
        self.token_url = token_url
        self.client_id = client_id
        self.__client_secret = client_secret
        self.token_store = token_store
        # A service account's company: its tokens come by client credentials with this TenantId.
        self.tenant_id = tenant_id
        self.limiter = SlidingWindowLimiter(
            RATE_LIMIT_REQUESTS, RATE_LIMIT_WINDOW * time_scale, safety_margin=safety_margin
        )
        self._tokens: TokenSet | None = None
        self._loaded = False
        self._refresh_lock = asyncio.Lock()
        self._refresh_task: asyncio.Task[TokenSet] | None = None

    async def __aenter__(self) -> FortnoxClient:
        return self

    # ---- hooks -------------------------------------------------------------------------------------
    def _secrets(self) -> Iterable[str]:
        yield self.__client_secret
        if self._tokens is not None:
            yield self._tokens.access_token
            yield self._tokens.refresh_token

    async def _before_attempt(self, paced: bool) -> dict[str, str]:
        if not paced:
            return {}
        # Token before slot: a refresh must not hold a slot that then sits unused.
        tokens = await self._valid_tokens()
        return {"Authorization": f"Bearer {tokens.access_token}"}

    @contextlib.asynccontextmanager
    async def _paced(self) -> AsyncIterator[None]:
        async with self.limiter.slot() as waited:
            self.stats.waits_for_pacing += waited
            yield

    def _error_info(self, response: httpx.Response) -> ErrorInfo:
        try:
            body = response.json()
        except ValueError:
            body = None
        info = parse_error_information(response.status_code, body, short_body(response))
        if info.code == SCOPE_MISSING:
            path = response.request.url.path
            scope = scope_for_path(path)
            named = f"the {scope!r} scope" if scope else "a scope it was not granted"
            return ErrorInfo(
                info.code,
                f"{info.message}: {response.request.method} {path} needs {named}; {SCOPE_HINT}",
                info.platform_code,
            )
        return info

    # ---- tokens ------------------------------------------------------------------------------------
    @staticmethod
    def _usable(tokens: TokenSet | None) -> bool:
        # Token lifetimes are not scaled by time_scale: expires_in is the server's own statement in
        # real seconds, just like Retry-After.
        return tokens is not None and not tokens.expires_within(TOKEN_EXPIRY_MARGIN)

    async def _valid_tokens(self) -> TokenSet:
        if not self._loaded:
            self._tokens = self.token_store.load()
            self._loaded = True
        if self._usable(self._tokens):
            assert self._tokens is not None
            return self._tokens
        return await self._refresh_shared(stale=self._tokens.access_token if self._tokens else None)

    async def refresh(self) -> TokenSet:
        """Rotate the tokens now (grant_type=refresh_token); the new refresh token is saved first."""
        return await self._refresh_shared(stale=None, force=True)

    async def _refresh_shared(self, stale: str | None, force: bool = False) -> TokenSet:
        async with self._refresh_lock:
            current = self._tokens
            if not force and current is not None and current.access_token != stale and self._usable(current):
                return current  # someone else refreshed while we waited for the lock
            if self._refresh_task is None or self._refresh_task.done():
                task = asyncio.get_running_loop().create_task(self._rotate())
                # If every waiter was cancelled, nobody reads the outcome; don't warn about it.
                task.add_done_callback(lambda t: t.cancelled() or t.exception())
                self._refresh_task = task
            # Shielded: a caller cancelled mid-rotation must not abandon a refresh the server may
            # already have applied, or the new refresh token would be lost with it.
            return await asyncio.shield(self._refresh_task)

    async def _rotate(self) -> TokenSet:
        stored = self.token_store.load()
        mine = self._tokens
        if stored is not None and mine is not None and stored.refresh_token != mine.refresh_token:
            # Another process sharing the store rotated already; our refresh token is dead.
            self._tokens = stored
            if self._usable(stored):
                return stored
        if self.tenant_id:
            return await self._service_account_token()
        current = self._tokens or stored
        if current is None or not current.refresh_token:
            raise self._error(AUTH_FAILED, f"No Fortnox tokens are stored; {RECONNECT_HINT}", status=None)
        try:
            # Retried like an idempotent call on purpose: if the first attempt was applied but its
            # answer lost, the old token is dead either way, and a retry can only help.
            _, body = await self.request(
                "POST",
                self.token_url,
                idempotent=True,
                data={"grant_type": "refresh_token", "refresh_token": current.refresh_token},
                auth=(self.client_id, self.__client_secret),
                headers={"Content-Type": "application/x-www-form-urlencoded"},
                paced=False,
            )
        except PlatformError as err:
            if err.status in (400, 401, 403):
                raise self._error(
                    AUTH_FAILED,
                    f"Fortnox refused the refresh token ({err.message}); {RECONNECT_HINT}",
                    status=err.status,
                    platform_code=err.platform_code,
                ) from None
            raise
        access = _ci_get(body, "access_token")
        refresh = _ci_get(body, "refresh_token")
        if not access or not refresh:
            raise self._error(
                "MALFORMED_RESPONSE", "The Fortnox token answer lacks access_token/refresh_token"
            )
        return self._keep(body, str(access), str(refresh))

    def _keep(self, body: Any, access: str, refresh: str) -> TokenSet:
        expires_in = float(_ci_get(body, "expires_in") or 3600)
        tokens = TokenSet(
            access_token=access,
            refresh_token=refresh,
            expires_at=datetime.now(UTC) + timedelta(seconds=expires_in),
            scope=str(_ci_get(body, "scope") or ""),
        )
        # Synchronous and before anything else awaits: the old refresh token is already invalid, so the
        # new one must be durable before the new access token is used. A failing save propagates.
        self.token_store.save(tokens)
        self._tokens = tokens
        self._loaded = True
        self.stats.token_refreshes += 1
        log.info("fortnox tokens renewed; access token valid until %s", tokens.expires_at.isoformat())
        return tokens

    async def _service_account_token(self) -> TokenSet:
        """A new access token for a service account: client credentials and the TenantId, no
        refresh token to rotate (fortnox.se/developer, "Get Access-Token using Client-Credentials")."""
        try:
            _, body = await self.request(
                "POST",
                self.token_url,
                idempotent=True,
                data={"grant_type": "client_credentials"},
                auth=(self.client_id, self.__client_secret),
                headers={
                    "Content-Type": "application/x-www-form-urlencoded",
                    "TenantId": str(self.tenant_id),
                },
                paced=False,
            )
        except PlatformError as err:
            if err.status in (400, 401, 403):
                raise self._error(
                    AUTH_FAILED,
                    f"Fortnox refused the service account's client credentials ({err.message}); "
                    "check the client id, secret and TenantId, and that a system administrator "
                    "consented to the app as a service account",
                    status=err.status,
                ) from None
            raise
        access = _ci_get(body, "access_token")
        if not access:
            raise self._error("MALFORMED_RESPONSE", "The Fortnox token answer lacks access_token")
        return self._keep(body, str(access), "")

    # ---- request plumbing --------------------------------------------------------------------------
    async def _api(
        self,
        method: str,
        path: str,
        *,
        idempotent: bool | None = None,
        params: dict[str, Any] | None = None,
        json_body: Any = None,
    ) -> Any:
        try:
            _, body = await self.request(
                method, path, idempotent=idempotent, params=params, json_body=json_body
            )
            return body
        except PlatformError as err:
            if not self._is_token_rejection(err):
                raise
            stale = self._tokens.access_token if self._tokens else None
        # A rejected token means the request was not applied, so even a create may go again, once.
        log.info("fortnox rejected the access token; refreshing and retrying once")
        await self._refresh_shared(stale=stale)
        _, body = await self.request(method, path, idempotent=idempotent, params=params, json_body=json_body)
        return body

    @staticmethod
    def _is_token_rejection(err: PlatformError) -> bool:
        return err.status == 401 or (err.status == 403 and err.platform_code in _AUTH_CODES)

    def _unwrap(self, body: Any, envelope: str) -> dict:
        inner = _ci_get(body, envelope)
        if not isinstance(inner, dict):
            raise self._error("MALFORMED_RESPONSE", f"expected a {envelope!r} object in the Fortnox answer")
        return inner

    async def _get_one(self, resource: str, number: str, envelope: str) -> dict:
        return self._unwrap(await self._api("GET", _path(resource, number)), envelope)

    async def _create(self, resource: str, envelope: str, payload: dict) -> dict:
        body = await self._api("POST", resource, idempotent=False, json_body={envelope: payload})
        return self._unwrap(body, envelope)

    async def _update(self, resource: str, number: str, envelope: str, payload: dict) -> dict:
        body = await self._api("PUT", _path(resource, number), idempotent=True, json_body={envelope: payload})
        return self._unwrap(body, envelope)

    async def _action(
        self, resource: str, number: str, action: str, envelope: str, *, safe_to_repeat: bool = False
    ) -> dict:
        """PUT an action. `safe_to_repeat` for actions Fortnox refuses to do twice (createinvoice,
        bookkeep): a lost answer is then simply asked again, and the caller meets the refusal."""
        body = await self._api("PUT", f"{_path(resource, number)}/{action}", idempotent=safe_to_repeat)
        return self._unwrap(body, envelope)

    async def list_all(self, resource: str, envelope: str, params: dict | None = None) -> list[dict]:
        """Every item of a list resource, following MetaInformation @TotalPages."""
        items: list[dict] = []
        page = 1
        while True:
            body = await self._api(
                "GET", resource, params={**(params or {}), "limit": PAGE_LIMIT, "page": page}
            )
            found = _ci_get(body, envelope)
            if not isinstance(body, dict) or not (
                found is None or (isinstance(found, list) and all(isinstance(i, dict) for i in found))
            ):
                raise self._error("MALFORMED_RESPONSE", f"expected {envelope!r} in the Fortnox list answer")
            items.extend(found or [])
            meta = _ci_get(body, "MetaInformation") or {}
            try:
                total_pages = int(_ci_get(meta, "@TotalPages") or 1)
            except (TypeError, ValueError):
                total_pages = 1
            if page >= total_pages or not found:
                return items
            page += 1

    # ---- customers ---------------------------------------------------------------------------------
    async def get_customer(self, number: str) -> dict:
        return await self._get_one("customers", number, "Customer")

    async def find_customers_by_email(self, email: str) -> list[dict]:
        wanted = email.strip().casefold()
        if not wanted:  # an empty search would list every customer
            return []
        found = await self.list_all("customers", "Customers", {"email": email.strip()})
        return [c for c in found if str(c.get("Email") or "").strip().casefold() == wanted]

    async def find_customers_by_external_reference(
        self, reference: str, since: datetime, name: str | None = None
    ) -> list[dict]:
        """Customers whose ExternalReference is exactly `reference`, among those changed since `since`.

        Fortnox has no search on ExternalReference and its list rows leave the field out, so this
        lists what changed since then (a create counts) and reads the candidates one by one, the ones
        named `name` first; it stops at the first match. Meant for the rare look after an interrupted
        create, where `since` is the moment the create was announced."""
        stamp = (since - timedelta(minutes=2)).astimezone(FORTNOX_TZ).strftime("%Y-%m-%d %H:%M")
        rows = await self.list_all("customers", "Customers", {"lastmodified": stamp})
        wanted = (name or "").strip()
        rows.sort(key=lambda r: str(r.get("Name") or "").strip() != wanted)
        for row in rows:
            customer = await self.get_customer(str(row.get("CustomerNumber")))
            if str(customer.get("ExternalReference") or "") == reference:
                return [customer]
        return []

    async def create_customer(self, customer: dict) -> dict:
        return await self._create("customers", "Customer", customer)

    async def update_customer(self, number: str, customer: dict) -> dict:
        return await self._update("customers", number, "Customer", customer)

    # ---- articles ----------------------------------------------------------------------------------
    async def get_article(self, number: str) -> dict | None:
        try:
            return await self._get_one("articles", number, "Article")
        except PlatformError as err:
            if err.status == 404 or err.code in (NOT_FOUND, "ARTICLE_NOT_FOUND"):
                return None
            raise

    async def create_article(self, article: dict) -> dict:
        return await self._create("articles", "Article", article)

    async def list_articles(self) -> list[dict]:
        return await self.list_all("articles", "Articles")

    # ---- orders ------------------------------------------------------------------------------------
    async def create_order(self, order: dict) -> dict:
        return await self._create("orders", "Order", order)

    async def get_order(self, number: str) -> dict:
        return await self._get_one("orders", number, "Order")

    async def update_order(self, number: str, order: dict) -> dict:
        return await self._update("orders", number, "Order", order)

    async def find_orders_by_reference(self, ref: str) -> list[dict]:
        """Orders whose ExternalInvoiceReference1 is exactly `ref`, each read in full.

        Orders can only be searched by `externalinvoicereference1`, and a search matches substrings
        ("#10" finds "#1001"); list rows lack most fields (no YourOrderNumber, no InvoiceReference),
        so each candidate is read and compared exactly."""
        return await self._find_by_reference("orders", "Orders", ref, self.get_order)

    async def _find_by_reference(
        self,
        resource: str,
        envelope: str,
        ref: str,
        read: Callable[[str], Awaitable[dict]],
        field: str = "ExternalInvoiceReference1",
    ) -> list[dict]:
        if not ref:  # an empty search would match every document without a reference
            return []
        rows = await self.list_all(resource, envelope, {field.lower(): ref})
        found = []
        for row in rows:
            listed = row.get(field)
            if listed is not None and listed != ref:
                continue  # the list row already shows it is another document's reference
            document = await read(str(row.get("DocumentNumber")))
            if document.get(field) == ref:
                found.append(document)
        return found

    async def create_invoice_from_order(self, number: str) -> dict:
        return await self._action("orders", number, "createinvoice", "Invoice", safe_to_repeat=True)

    async def cancel_order(self, number: str) -> dict:
        return await self._action("orders", number, "cancel", "Order")

    # ---- invoices ----------------------------------------------------------------------------------
    async def get_invoice(self, number: str) -> dict:
        return await self._get_one("invoices", number, "Invoice")

    async def find_invoices_by_reference(
        self, ref: str, field: str = "ExternalInvoiceReference1"
    ) -> list[dict]:
        """Invoices whose `field` (ExternalInvoiceReference1 or 2) is exactly `ref`, each read in full
        (the engine writes the order name in the first; invoice list rows carry no YourOrderNumber)."""
        return await self._find_by_reference("invoices", "Invoices", ref, self.get_invoice, field)

    async def update_invoice(self, number: str, invoice: dict) -> dict:
        return await self._update("invoices", number, "Invoice", invoice)

    async def bookkeep_invoice(self, number: str) -> dict:
        return await self._action("invoices", number, "bookkeep", "Invoice", safe_to_repeat=True)

    async def cancel_invoice(self, number: str) -> dict:
        return await self._action("invoices", number, "cancel", "Invoice")

    async def credit_invoice(self, number: str) -> dict:
        return await self._action("invoices", number, "credit", "Invoice")

    # ---- invoice payments --------------------------------------------------------------------------
    async def create_invoice_payment(self, payment: dict) -> dict:
        return await self._create("invoicepayments", "InvoicePayment", payment)

    async def get_invoice_payment(self, number: str) -> dict:
        return await self._get_one("invoicepayments", number, "InvoicePayment")

    async def invoice_payments(self, invoice_number: str) -> list[dict]:
        """The payments registered on one invoice, each read in full (list rows lack the mode of
        payment and the write-offs). The `invoicenumber` filter is a search, so rows are compared
        exactly."""
        rows = await self.list_all("invoicepayments", "InvoicePayments", {"invoicenumber": invoice_number})
        return [
            await self._get_one("invoicepayments", str(r.get("Number")), "InvoicePayment")
            for r in rows
            if str(r.get("InvoiceNumber")) == str(invoice_number)
        ]

    async def bookkeep_invoice_payment(self, number: str) -> dict:
        return await self._action(
            "invoicepayments", number, "bookkeep", "InvoicePayment", safe_to_repeat=True
        )

    # ---- vouchers ----------------------------------------------------------------------------------
    async def financial_year(self, day: date) -> dict | None:
        """The financial year `day` falls in, or None: Fortnox lists none for a date outside them."""
        rows = await self.list_all("financialyears", "FinancialYears", {"date": day.isoformat()})
        return rows[0] if rows else None

    async def create_voucher(self, voucher: dict, financial_year: int) -> dict:
        body = await self._api(
            "POST",
            "vouchers",
            idempotent=False,
            params={"financialyear": financial_year},
            json_body={"Voucher": voucher},
        )
        return self._unwrap(body, "Voucher")

    async def find_vouchers(self, day: date, description: str, financial_year: int) -> list[dict]:
        """Vouchers of `day` whose Description is exactly `description`."""
        rows = await self.list_all(
            "vouchers",
            "Vouchers",
            {"financialyear": financial_year, "fromdate": day.isoformat(), "todate": day.isoformat()},
        )
        return [r for r in rows if str(r.get("Description") or "") == description]

    # ---- settings dropdowns ------------------------------------------------------------------------
    async def lookup(self, kind: str) -> list[dict]:
        envelope = LOOKUP_ENVELOPES.get(kind)
        if envelope is None:
            raise ValueError(f"unknown Fortnox lookup {kind!r}; expected one of {sorted(LOOKUP_ENVELOPES)}")
        return await self.list_all(kind, envelope)
