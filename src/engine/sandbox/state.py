"""In-memory store for the three platforms plus the sandbox's own bookkeeping.

Handlers run on one event loop and never await while holding `SandboxState.lock`, so each request's
read-modify-write is atomic; the lock also makes the store safe for callers on other threads.
"""

from __future__ import annotations

import bisect
import json
import re
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

# The sandbox app's registered redirect URI is what `junipeer connect fortnox` listens on by default.
from engine.platforms.fortnox_oauth import DEFAULT_REDIRECT_URI
from engine.platforms.fortnox_scopes import KNOWN_SCOPES
from engine.sandbox import fortnox_company, shopify_versions
from engine.sandbox.buyers_and_lines import add_situations
from engine.sandbox.faults import FaultInjector
from engine.sandbox.generator import (
    FX_TO_SEK,
    SHIPPING_METHODS,
    SHOP_DOMAIN,
    GeneratedData,
    OrderRecord,
    generate,
)
from engine.sandbox.limits import LeakyBucket, SlidingWindow
from engine.sandbox.shopify_payments_ledger import ShopifyPaymentsStore, take_orders


@dataclass
class SandboxConfig:
    host: str = "127.0.0.1"
    port: int = 0
    orders: int = 200
    seed: int = 1
    time_scale: float = 1.0  # multiplies every rate-limit window / leak period
    limits: bool = True


@dataclass
class Credentials:
    shopify_access_token: str
    shopify_webhook_secret: str
    shopify_client_id: str
    shopify_client_secret: str
    fortnox_client_id: str
    fortnox_client_secret: str
    fortnox_refresh_token: str
    fortnox_tenant_id: str
    stripe_api_key: str
    stripe_restricted_key: str
    stripe_webhook_secret: str

    @classmethod
    def random(cls) -> Credentials:
        # Prefixes look like the real ones but deliberately miss the secret-scanner patterns.
        return cls(
            shopify_access_token=f"shpat_sandbox_{secrets.token_hex(16)}",
            shopify_webhook_secret=f"shpss_sandbox_{secrets.token_hex(16)}",
            shopify_client_id=f"sandbox-shopify-app-{secrets.token_hex(8)}",
            shopify_client_secret=f"sandbox-shopify-secret-{secrets.token_hex(16)}",
            fortnox_client_id=f"sandbox-client-{secrets.token_hex(8)}",
            fortnox_client_secret=f"sandbox-secret-{secrets.token_hex(16)}",
            fortnox_refresh_token=f"sandbox-refresh-{secrets.token_hex(20)}",
            fortnox_tenant_id=str(secrets.randbelow(9_000_000) + 1_000_000),
            stripe_api_key=f"sk_test_sandbox_{secrets.token_hex(16)}",
            stripe_restricted_key=f"rk_test_sandbox_{secrets.token_hex(16)}",
            stripe_webhook_secret=f"whsec_sandbox_{secrets.token_hex(16)}",
        )


def public(obj: dict[str, Any]) -> dict[str, Any]:
    """Drop the underscore-prefixed bookkeeping keys before an object leaves the sandbox."""
    return {k: v for k, v in obj.items() if not k.startswith("_")}


# What the demo app's token was granted; `read_all_orders` lifts the 60-day window on orders.
SHOPIFY_SCOPES: tuple[str, ...] = (
    "read_orders", "write_orders", "read_all_orders", "read_products", "read_customers",
    "read_inventory", "write_inventory", "read_shopify_payments_payouts",
)  # fmt: skip
ORDER_HISTORY_DAYS = 60


class ShopifyStore:
    def __init__(self, data: GeneratedData) -> None:
        self.factory = data.factory
        self.scopes: list[str] = list(SHOPIFY_SCOPES)
        # Admin API tokens issued by the client-credentials grant → when each stops working.
        self.issued_tokens: dict[str, float] = {}
        self.orders: dict[int, OrderRecord] = {}
        self.order_ids: list[int] = []
        self.by_name: dict[str, int] = {}
        self._json: dict[int, str] = {}
        for record in data.orders:
            self.add_order(record)
        self.products = {p["id"]: p for p in data.products}
        self.product_ids = sorted(self.products)
        self.customers = {c["id"]: c for c in data.customers}
        self.customer_ids = sorted(self.customers)
        self.inventory: dict[int, int] = dict(data.inventory)
        self.inventory_updated: dict[int, str] = {}
        self.variant_by_item = {v["inventory_item_id"]: v for p in data.products for v in p["variants"]}

    def add_order(self, record: OrderRecord) -> None:
        self.orders[record.id] = record
        bisect.insort(self.order_ids, record.id)
        self.by_name[str(record.data["order_number"])] = record.id

    def sync_customers(self) -> None:
        for c in self.factory.customers:
            if c["id"] not in self.customers:
                self.customers[c["id"]] = c
                bisect.insort(self.customer_ids, c["id"])

    def order_json(self, order_id: int) -> str:
        # Serialising is the expensive part of a list request, so each order is encoded once per change.
        cached = self._json.get(order_id)
        if cached is None:
            cached = json.dumps(self.orders[order_id].data, separators=(",", ":"), ensure_ascii=False)
            self._json[order_id] = cached
        return cached

    def changed(self, order_id: int) -> None:
        self._json.pop(order_id, None)

    def visible(self, record: OrderRecord, now: float | None = None) -> bool:
        """Without `read_all_orders` Shopify shows only the last 60 days of orders, silently: lists
        leave the older ones out and a single read answers 404."""
        if "read_all_orders" in self.scopes:
            return True
        return record.created_ts >= (time.time() if now is None else now) - ORDER_HISTORY_DAYS * 86_400


def _lookups() -> dict[str, list[dict[str, Any]]]:
    ways = [{"Code": code, "Description": title} for code, title in SHIPPING_METHODS.items()]
    return {
        "termsofpayments": [
            {"Code": "0", "Description": "Betalning direkt", "_days": 0},
            {"Code": "10", "Description": "10 dagar netto", "_days": 10},
            {"Code": "30", "Description": "30 dagar netto", "_days": 30},
            {"Code": "K", "Description": "Kortbetalning", "_days": 0},
            {"Code": "KL", "Description": "Klarna", "_days": 0},
            {"Code": "PP", "Description": "PayPal", "_days": 0},
        ],
        "wayofdeliveries": ways,
        "modesofpayments": [
            {"Code": "BG", "Description": "Bankgiro", "AccountNumber": 1930},
            {"Code": "K", "Description": "Kortbetalning (Stripe)", "AccountNumber": 1580},
            {"Code": "KL", "Description": "Klarna", "AccountNumber": 1581},
            {"Code": "PP", "Description": "PayPal", "AccountNumber": 1582},
            {"Code": "SP", "Description": "Shopify Payments", "AccountNumber": 1583},
        ],
        "accounts": fortnox_company.account_rows(),
        "currencies": [
            {"Code": code, "Description": code, "BuyRate": rate, "SellRate": rate, "Unit": 1}
            for code, rate in FX_TO_SEK.items()
        ],
        "vatcodes": fortnox_company.vat_code_rows(),
    }


class FortnoxStore:
    def __init__(self, data: GeneratedData, creds: Credentials) -> None:
        now = time.time()
        self.articles: dict[str, dict[str, Any]] = {
            a["ArticleNumber"]: {**a, "_modified": now} for a in data.articles
        }
        self.customers: dict[str, dict[str, Any]] = {}
        self.orders: dict[str, dict[str, Any]] = {}
        self.invoices: dict[str, dict[str, Any]] = {}
        self.payments: dict[str, dict[str, Any]] = {}
        self.vouchers: dict[str, dict[str, Any]] = {}  # "series/number/year" → voucher
        self.counters = {"customer": 0, "order": 0, "invoice": 0, "payment": 0, "row": 0, "article": 0}
        self.lookups = _lookups()
        # The company's VAT rates are those of its VAT codes, not whatever the shop charges.
        self.vat_percents = fortnox_company.vat_percents(self.lookups["vatcodes"])
        self.round_whole_kronor = False  # the company's öresutjämning setting; Fortnox can have it on
        self.client_id = creds.fortnox_client_id
        self.client_secret = creds.fortnox_client_secret
        self.tenant_id = creds.fortnox_tenant_id
        # What the app is registered for in the developer portal; an authorize request asking for
        # more is refused with invalid_scope.
        self.app_scopes: frozenset[str] = KNOWN_SCOPES
        self.redirect_uris: list[str] = [DEFAULT_REDIRECT_URI]
        # The grant the sandbox hands out in its info, as if someone had consented already.
        self.refresh_tokens: dict[str, FortnoxGrant] = {
            creds.fortnox_refresh_token: FortnoxGrant(creds.fortnox_client_id, KNOWN_SCOPES, time.time())
        }
        self.access_tokens: dict[str, FortnoxGrant] = {}  # expires_at: when the token stops working
        self.codes: dict[str, FortnoxGrant] = {}  # authorization codes not yet exchanged
        # The scopes a system administrator approved for a service account (account_type=service):
        # the client-credentials grant issues tokens with these, and only once they exist.
        self.service_consent: frozenset[str] | None = None

    def next_number(self, kind: str) -> str:
        self.counters[kind] += 1
        return str(self.counters[kind])


@dataclass
class FortnoxGrant:
    """What a code or token stands for: the app, the scopes consented to, and a time (expiry for
    codes and access tokens; the last use for refresh tokens, which die when left unused)."""

    client_id: str
    scopes: frozenset[str]
    at: float
    redirect_uri: str = ""
    account_type: str = ""
    offline: bool = True


# What the sandbox's restricted key (rk_…) may do: the payouts flow reads payouts, their balance
# transactions and, expanded, the charges behind them. The secret key (sk_…) may do everything.
RESTRICTED_KEY_PERMISSIONS = ("rak_payout_read", "rak_balance_read", "rak_charge_read")


class StripeStore:
    def __init__(self) -> None:
        self.payouts: list[dict[str, Any]] = []  # newest first, as Stripe lists them
        self.balance_transactions: dict[str, list[dict[str, Any]]] = {}
        self.restricted_permissions: set[str] = set(RESTRICTED_KEY_PERMISSIONS)


_NUMERIC_SEGMENT = re.compile(r"/\d+(?=/|\.json|$)")
_ID_AFTER_PREFIX = {"/fortnox/3/": 1, "/stripe/v1/": 1}


def endpoint_of(path: str) -> str:
    """Fold object ids out of a path so by_path stays a short list of endpoints."""
    for prefix, position in _ID_AFTER_PREFIX.items():
        if path.startswith(prefix):
            parts = path[len(prefix) :].split("/")
            if len(parts) > position:
                parts[position] = "{id}"
            return prefix + "/".join(parts)
    if path.startswith("/shopify/admin/api/"):
        return _NUMERIC_SEGMENT.sub("/{id}", path)
    return path


class Stats:
    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.data: dict[str, dict[str, Any]] = {}

    def record(self, platform: str, path: str, status: int | str) -> None:
        entry = self.data.setdefault(platform, {"requests": 0, "429": 0, "by_status": {}, "by_path": {}})
        entry["requests"] += 1
        if status == 429:
            entry["429"] += 1
        key = str(status)
        entry["by_status"][key] = entry["by_status"].get(key, 0) + 1
        norm = endpoint_of(path)
        entry["by_path"][norm] = entry["by_path"].get(norm, 0) + 1

    def snapshot(self) -> dict[str, Any]:
        out = {}
        for platform in ("shopify", "fortnox", "stripe"):
            entry = self.data.get(platform, {"requests": 0, "429": 0, "by_status": {}, "by_path": {}})
            out[platform] = {
                "requests": entry["requests"],
                "429": entry["429"],
                "by_status": dict(entry["by_status"]),
                "by_path": dict(entry["by_path"]),
            }
        return out


class SandboxState:
    def __init__(self, config: SandboxConfig, now: float | None = None) -> None:
        self.config = config
        self.lock = threading.RLock()
        self.creds = Credentials.random()
        self.control_token = secrets.token_urlsafe(24)
        self.generated_at = float(int(time.time() if now is None else now))
        data = generate(config.seed, config.orders, self.generated_at)
        take_orders(data.orders, config.seed)
        self.shopify = ShopifyStore(data)
        add_situations(data.orders, data.factory, config.seed)
        self.fortnox = FortnoxStore(data, self.creds)
        self.stripe = StripeStore()
        self.shopify_payments = ShopifyPaymentsStore()
        self.stats = Stats()
        self.faults = FaultInjector()
        self._buckets: dict[str, LeakyBucket] = {}
        self._windows: dict[str, SlidingWindow] = {}

    def shopify_bucket(self, token: str) -> LeakyBucket:
        bucket = self._buckets.get(token)
        if bucket is None:
            scale = max(self.config.time_scale, 1e-6)
            bucket = self._buckets[token] = LeakyBucket(capacity=40, leak_per_second=2.0 / scale)
        return bucket

    def fortnox_window(self, client_id: str) -> SlidingWindow:
        window = self._windows.get(client_id)
        if window is None:
            window = self._windows[client_id] = SlidingWindow(25, 5.0 * self.config.time_scale)
        return window

    def info(self, base_url: str) -> dict[str, Any]:
        c = self.creds
        current = shopify_versions.supported_versions(datetime.now(UTC))[-1]
        return {
            "base_url": base_url,
            "shopify": {
                "base_url": f"{base_url}/shopify/admin/api/{current}/",
                "api_version": current,
                "access_token": c.shopify_access_token,
                "shop_domain": SHOP_DOMAIN,
                "webhook_secret": c.shopify_webhook_secret,
                "client_id": c.shopify_client_id,
                "client_secret": c.shopify_client_secret,
            },
            "fortnox": {
                "base_url": f"{base_url}/fortnox/3/",
                "auth_url": f"{base_url}/fortnox/oauth-v1/auth",
                "token_url": f"{base_url}/fortnox/oauth-v1/token",
                "client_id": c.fortnox_client_id,
                "client_secret": c.fortnox_client_secret,
                "refresh_token": c.fortnox_refresh_token,
                "tenant_id": c.fortnox_tenant_id,
                "redirect_uri": DEFAULT_REDIRECT_URI,
            },
            "stripe": {
                "base_url": f"{base_url}/stripe/v1/",
                # The key the product asks for: restricted to what the payouts flow reads.
                "api_key": c.stripe_restricted_key,
                "secret_key": c.stripe_api_key,
                "webhook_secret": c.stripe_webhook_secret,
            },
            "control_url": f"{base_url}/_sandbox/",
            "control_token": self.control_token,
            "time_scale": self.config.time_scale,
            "limits": self.config.limits,
            "seed": self.config.seed,
            "orders": self.config.orders,
        }
