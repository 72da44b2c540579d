"""Making an integration on your own accounts: create it, connect Shopify, Fortnox and Stripe (real
hosts by default, any base URL for proxies and the sandbox), test each connection and say what is
missing, keep an idle Fortnox grant alive, enable flows, go live.

Part of the service facade (`Service` inherits it): the console and the CLI call these, never a
platform directly. Secrets go to the secret store only; the database and every message carry
connection facts (domain, client id, URLs, granted scopes), never a token or a secret.

Several connections per connector (e.g. "test" and "production"): the connector row holds the active
one; the others wait in its options under `saved_connections` with their own secret entries, and
connecting with only a connection's name switches back to it.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from sqlmodel import Session, select

from engine.errors import EngineError
from engine.flows import FLOW_MODULES
from engine.mapping import filters as filters_mod
from engine.platforms import fortnox_oauth
from engine.platforms.fortnox_scopes import scopes_for
from engine.platforms.http import PlatformError
from engine.store.models import (
    Connector,
    Flow,
    FlowFilter,
    Integration,
    ScheduleRule,
    TimeHistory,
    utcnow,
)

if TYPE_CHECKING:
    from engine.runtime.clients import ClientPool
    from engine.secrets import SecretStore

# Which side of an integration each platform sits on: the shop sells (A), the ERP books (B), the
# payment provider pays out (C).
SIDES = {"shopify": "A", "fortnox": "B", "stripe": "C"}
SHOP_DOMAIN = re.compile(r"^[a-z0-9][a-z0-9-]*\.myshopify\.com$")
API_VERSION = re.compile(r"^\d{4}-(01|04|07|10)$")
# A stable Admin API version supported into 2027 (each is supported at least 12 months); editable,
# because Shopify quietly serves the oldest supported version to a request for a retired one.
DEFAULT_SHOPIFY_API_VERSION = "2026-07"
DEFAULT_STRIPE_BASE_URL = "https://api.stripe.com/v1/"
# Scopes a Shopify token must have for the orders flow, and the one that lifts the 60-day window.
SHOPIFY_REQUIRED_SCOPES = ("read_orders",)
SAVED = "saved_connections"
LEGACY_CREDENTIAL_REF = re.compile(r"^integration-\d+/")


@dataclass
class ConnectResult:
    connector: Connector
    ok: bool
    message: str


def shop_domain(value: str) -> str:
    """`name.myshopify.com` from what an operator typed (a URL or the bare domain)."""
    text = value.strip().lower()
    if "://" in text:
        text = urlsplit(text).netloc
    text = text.rstrip("/")
    if not SHOP_DOMAIN.match(text):
        raise EngineError(
            "BAD_INPUT",
            f"{value!r} is not a shop domain like your-shop.myshopify.com (the admin's permanent "
            "domain, not the shop's own web address)",
        )
    return text


def base_url(value: str, what: str) -> str:
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise EngineError("BAD_INPUT", f"The {what} {value!r} is not an http(s) URL")
    return value.strip().rstrip("/") + "/"


def _new_ref(platform: str) -> str:
    return f"connector-{uuid.uuid4().hex}/{platform}"


class ConnectMixin:
    """Connecting, as part of `engine.service.Service`."""

    secrets: SecretStore
    if TYPE_CHECKING:

        def session(self) -> Session: ...

        @property
        def pool(self) -> ClientPool: ...

    # -- integrations and flows -----------------------------------------------------------------
    def create_integration(self, name: str, *, flows_enabled: bool = False) -> Integration:
        """A new integration in onboarding, with its flows (off until enabled, unless
        `flows_enabled`) and a 15-minute scheduling rule that runs once it is Live."""
        name = name.strip()
        if not name:
            raise EngineError("BAD_INPUT", "An integration needs a name")
        with self.session() as s:
            if s.exec(select(Integration).where(Integration.name == name)).first() is not None:
                raise EngineError("INTEGRATION_EXISTS", f"An integration is already named {name!r}")
            integ = Integration(name=name)
            s.add(integ)
            s.commit()
            ensure_flows(s, integ.id, enabled=flows_enabled)  # type: ignore[arg-type]
            return integ

    def enable_flow(self, integration_id: int, key: str, enabled: bool = True) -> Flow:
        """Turn a flow on or off. On is refused while the connected Fortnox grant lacks a scope the
        flow needs: every record would fail on it."""
        flow = self.flow(integration_id, key)  # type: ignore[attr-defined]
        if enabled:
            missing = self.missing_fortnox_scopes(integration_id, [flow.key])
            if missing:
                raise EngineError(
                    "FORTNOX_SCOPE_MISSING",
                    f"{flow.name} needs the Fortnox scope{'s' if len(missing) > 1 else ''} "
                    f"{', '.join(missing)}, which the connected Fortnox grant lacks: connect Fortnox "
                    "again (`junipeer connect fortnox`) to ask for them",
                )
        self.set_flow_enabled(flow.id, enabled)  # type: ignore[attr-defined]
        flow.enabled = enabled
        return flow

    def not_ready_for_live(self, integration_id: int) -> list[str]:
        """What is left before an integration may go Live (the Get Started steps not done)."""
        left = []
        conns = {c.platform: c for c in self.connectors(integration_id)}  # type: ignore[attr-defined]
        for platform in ("shopify", "fortnox"):
            conn = conns.get(platform)
            if conn is None:
                left.append(f"connect {platform.title()}")
            elif conn.status != "connected":
                left.append(f"{platform.title()} is disconnected: run its connection test or connect again")
        for _cat, _name, label in self.missing_settings(integration_id):  # type: ignore[attr-defined]
            left.append(f"save the required setting {label}")
        if not any(f.enabled for f in self.flows(integration_id)):  # type: ignore[attr-defined]
            left.append("enable a flow")
        return left

    def set_live(self, integration_id: int, live: bool) -> Integration:
        if live:
            left = self.not_ready_for_live(integration_id)
            if left:
                raise EngineError("NOT_READY", "Not ready to go Live: " + "; ".join(left))
        return self.update_integration(integration_id, live_mode=live, onboarding_mode=not live)  # type: ignore[attr-defined,no-any-return]

    # -- connections ------------------------------------------------------------------------------
    def _connector_row(self, s: Session, integration_id: int, platform: str, connection: str) -> Connector:
        """The connector of `platform`, made the active holder of `connection`: a new row, the row
        as it is, or the row with its active connection saved aside and `connection` brought back
        (or started afresh with a secret entry of its own)."""
        connection = connection.strip() or "default"
        side = SIDES[platform]
        conn = s.exec(
            select(Connector).where(Connector.integration_id == integration_id, Connector.side == side)
        ).first()
        if conn is None:
            return Connector(
                integration_id=integration_id,
                side=side,
                platform=platform,
                base_url="",
                credential_ref=_new_ref(platform),
                connection_name=connection,
            )
        if conn.connection_name == connection:
            return conn
        options = dict(conn.options or {})
        saved = dict(options.pop(SAVED, {}))
        saved[conn.connection_name] = {
            "base_url": conn.base_url,
            "options": options,
            "credential_ref": conn.credential_ref,
        }
        back = saved.pop(connection, None)
        if back is not None:
            conn.base_url, conn.credential_ref = back["base_url"], back["credential_ref"]
            options = dict(back["options"])
        else:
            conn.credential_ref, options = _new_ref(platform), {}
        conn.options = {**options, SAVED: saved}
        conn.connection_name = connection
        conn.status = "disconnected"
        return conn

    def connection_names(self, connector: Connector) -> list[str]:
        return sorted({connector.connection_name, *((connector.options or {}).get(SAVED) or {})})

    def remove_connection(self, integration_id: int, platform: str, connection: str) -> Connector:
        """Forget a saved credential set (Manage Connections > remove): its secret leaves the secret
        store. The one in use can't be removed: syncing would stop with no credentials at all, so
        the operator switches to another first."""
        connection = connection.strip()
        with self.session() as s:
            conn = s.exec(
                select(Connector).where(
                    Connector.integration_id == integration_id, Connector.side == SIDES[platform]
                )
            ).first()
            if conn is not None and conn.connection_name == connection:
                raise EngineError(
                    "CONNECTION_IN_USE",
                    f"{platform.title()} is using the connection {connection!r}: switch to another one "
                    "before removing it",
                )
            saved = dict(((conn.options or {}) if conn else {}).get(SAVED) or {})
            gone = saved.pop(connection, None)
            if conn is None or gone is None:
                raise EngineError(
                    "NO_CONNECTION", f"{platform.title()} has no saved connection named {connection!r}"
                )
            conn.options = {**(conn.options or {}), SAVED: saved}
            s.add(conn)
            s.commit()
            s.refresh(conn)
        self.secrets.delete(gone["credential_ref"])
        return conn

    async def use_connection(self, integration_id: int, platform: str, connection: str) -> ConnectResult:
        """Switch a connector to a connection saved earlier, and test it."""
        with self.session() as s:
            conn = self._connector_row(s, integration_id, platform, connection)
            if conn.id is None or not self.secrets.get(conn.credential_ref):
                raise EngineError(
                    "NO_CONNECTION",
                    f"{platform.title()} has no connection named {connection!r}: connect it with its "
                    "credentials first",
                )
            s.add(conn)
            s.commit()
        return await self._tested(conn)

    def _store(
        self,
        integration_id: int,
        platform: str,
        connection: str,
        url: str,
        options: dict[str, Any],
        secret: dict[str, Any],
    ) -> Connector:
        with self.session() as s:
            conn = self._connector_row(s, integration_id, platform, connection)
            saved = (conn.options or {}).get(SAVED)
            if LEGACY_CREDENTIAL_REF.match(conn.credential_ref):
                # Named after the integration id every database shares: another workspace's connect
                # would overwrite it (the old entry stays for a connection saved aside to read).
                conn.credential_ref = _new_ref(platform)
            conn.base_url = url
            conn.options = {**options, **({SAVED: saved} if saved else {})}
            conn.status = "disconnected"
            s.add(conn)
            s.commit()
            self.secrets.set(conn.credential_ref, {**secret, "revision": uuid.uuid4().hex})
            return conn

    async def _tested(self, conn: Connector) -> ConnectResult:
        ok, message = await self.test_connection(conn.id)  # type: ignore[arg-type]
        with self.session() as s:
            row = s.get(Connector, conn.id)
        assert row is not None
        return ConnectResult(row, ok, message)

    async def connect_shopify(
        self,
        integration_id: int,
        *,
        shop: str,
        api_version: str | None = None,
        access_token: str | None = None,
        client_id: str | None = None,
        client_secret: str | None = None,
        webhook_secret: str | None = None,
        url: str | None = None,
        connection: str = "default",
        time_scale: float = 1.0,
        pacing: bool = True,
    ) -> ConnectResult:
        """A custom app's Admin API token, or a Dev Dashboard app's client id and secret (24-hour
        tokens by the client-credentials grant, renewed by the client)."""
        domain = shop_domain(shop)
        version = (api_version or DEFAULT_SHOPIFY_API_VERSION).strip()
        if not API_VERSION.match(version):
            raise EngineError("BAD_INPUT", f"{version!r} is not an Admin API version like 2026-07")
        if bool(access_token) == bool(client_id or client_secret):
            raise EngineError(
                "BAD_INPUT",
                "Give either an Admin API access token, or a client id and client secret (not both)",
            )
        if not access_token and not (client_id and client_secret):
            raise EngineError("BAD_INPUT", "The client-credentials grant needs both a client id and a secret")
        api = base_url(url, "Shopify base URL") if url else f"https://{domain}/admin/api/{version}/"
        options: dict[str, Any] = {
            "shop_domain": domain,
            "api_version": version,
            "auth": "token" if access_token else "client_credentials",
            "time_scale": time_scale,
            "pacing": pacing,
        }
        secret: dict[str, Any] = {"access_token": access_token} if access_token else {}
        if client_id:
            options["client_id"] = client_id.strip()
            secret["client_secret"] = client_secret
        if webhook_secret:
            secret["webhook_secret"] = webhook_secret
        conn = self._store(integration_id, "shopify", connection, api, options, secret)
        result = await self._tested(conn)
        if result.ok:
            await self._enable_scoped_flows(conn)
        return result

    def fortnox_scopes(self, integration_id: int) -> list[str]:
        """What a Fortnox consent asks for: what the enabled flows need, or, before any flow is
        enabled (a new integration), what the shop's flows need (a payouts flow, enabled once its
        payment provider is connected, asks for its scopes at the next consent)."""
        flows = self.flows(integration_id)  # type: ignore[attr-defined]
        enabled = [f.key for f in flows if f.enabled]
        return scopes_for(enabled or [f.key for f in flows if f.source_side == SIDES["shopify"]])

    def missing_fortnox_scopes(self, integration_id: int, flow_keys: list[str] | None = None) -> list[str]:
        """Scopes the flows need (the given ones; by default those a consent asks for) that the
        stored Fortnox grant lacks; empty when Fortnox is not connected or its scopes are unknown."""
        conn = next((c for c in self.connectors(integration_id) if c.platform == "fortnox"), None)  # type: ignore[attr-defined]
        granted = str((self.secrets.get(conn.credential_ref) or {}).get("scope") or "") if conn else ""
        if not granted:
            return []
        needed = scopes_for(flow_keys) if flow_keys is not None else self.fortnox_scopes(integration_id)
        return [s for s in needed if s not in set(granted.split())]

    def fortnox_authorization(
        self,
        integration_id: int,
        *,
        client_id: str,
        redirect_uri: str = fortnox_oauth.DEFAULT_REDIRECT_URI,
        auth_url: str | None = None,
        service: bool = False,
    ) -> tuple[str, str]:
        """(authorize URL, state) for a Fortnox consent asking for the scopes the flows need."""
        if not client_id.strip():
            raise EngineError("BAD_INPUT", "Fortnox needs the app's client id")
        state = fortnox_oauth.new_state()
        url = fortnox_oauth.authorize_url(
            base_url(auth_url, "Fortnox auth URL").rstrip("/")
            if auth_url
            else fortnox_oauth.DEFAULT_AUTH_URL,
            client_id.strip(),
            redirect_uri,
            self.fortnox_scopes(integration_id),
            state,
            service=service,
        )
        return url, state

    async def connect_fortnox(
        self,
        integration_id: int,
        *,
        client_id: str,
        client_secret: str,
        code: str | None = None,
        redirect_uri: str = fortnox_oauth.DEFAULT_REDIRECT_URI,
        refresh_token: str | None = None,
        tenant_id: str | None = None,
        url: str | None = None,
        auth_url: str | None = None,
        token_url: str | None = None,
        connection: str = "default",
        time_scale: float = 1.0,
        pacing: bool = True,
    ) -> ConnectResult:
        """Store a Fortnox grant and test it: an authorization code from the consent (exchanged
        here), a service account (client credentials with the TenantId), or a refresh token of a
        grant made elsewhere. A repeated connect to the same app with a refresh token keeps the
        stored, newer tokens while they work: Fortnox rotated the handed-in one long ago."""
        if not client_id.strip() or not client_secret:
            raise EngineError("BAD_INPUT", "Fortnox needs the app's client id and client secret")
        if sum(bool(x) for x in (code, refresh_token, tenant_id)) != 1:
            raise EngineError(
                "BAD_INPUT",
                "Give one of: an authorization code, a service account's TenantId, a refresh token",
            )
        tokens_at = base_url(token_url, "Fortnox token URL").rstrip("/") if token_url else None
        options: dict[str, Any] = {
            "client_id": client_id.strip(),
            "token_url": tokens_at or fortnox_oauth.DEFAULT_TOKEN_URL,
            "auth_url": base_url(auth_url, "Fortnox auth URL").rstrip("/")
            if auth_url
            else fortnox_oauth.DEFAULT_AUTH_URL,
            "redirect_uri": redirect_uri,
            "time_scale": time_scale,
            "pacing": pacing,
        }
        secret: dict[str, Any] = {"client_secret": client_secret}
        if tenant_id:
            options["tenant_id"] = str(tenant_id).strip()
        elif code:
            answer = await fortnox_oauth.exchange_code(
                options["token_url"], options["client_id"], client_secret, code, redirect_uri
            )
            expires = datetime.now(UTC) + timedelta(seconds=float(answer.get("expires_in") or 3600))
            secret.update(
                access_token=str(answer["access_token"]),
                refresh_token=str(answer.get("refresh_token") or ""),
                expires_at=expires.isoformat(),
                scope=str(answer.get("scope") or ""),
                renewed_at=datetime.now(UTC).isoformat(),
            )
        else:
            secret["refresh_token"] = refresh_token
        api = base_url(url, "Fortnox base URL") if url else fortnox_oauth.DEFAULT_BASE_URL
        fallback = None
        if refresh_token:
            with self.session() as s:
                current = self._connector_row(s, integration_id, "fortnox", connection)
            if current.id is not None:
                kept = kept_fortnox_tokens(current, self.secrets.get(current.credential_ref) or {}, options)
                if kept:
                    fallback, secret = secret, {**secret, **kept}
        conn = self._store(integration_id, "fortnox", connection, api, options, secret)
        result = await self._tested(conn)
        if not result.ok and fallback is not None:
            # The kept tokens no longer work (revoked, or refreshed elsewhere): the handed-in refresh
            # token is the only other one there is.
            self.secrets.set(conn.credential_ref, {**fallback, "revision": uuid.uuid4().hex})
            result = await self._tested(conn)
        return result

    async def connect_stripe(
        self, integration_id: int, *, api_key: str, url: str | None = None, connection: str = "default"
    ) -> ConnectResult:
        """A restricted key (rk_…) that may read payouts and balance transactions."""
        key = api_key.strip()
        if not key.startswith(("rk_", "sk_")):
            raise EngineError("BAD_INPUT", "A Stripe API key starts with rk_ (restricted, preferred) or sk_")
        api = base_url(url, "Stripe base URL") if url else DEFAULT_STRIPE_BASE_URL
        conn = self._store(integration_id, "stripe", connection, api, {}, {"api_key": key})
        with self.session() as s:
            ensure_flows(s, integration_id, enabled=True)
            flows = list(s.exec(select(Flow).where(Flow.integration_id == integration_id)))
            shop_flows = {f.key for f in flows if f.source_side == SIDES["shopify"]}
            payouts = [f for f in flows if f.source_side == SIDES["stripe"]]
            for flow in payouts:
                flow.enabled = True  # connecting Stripe is asking for its payouts to be booked
                s.add(flow)
            # A rule that runs every shop flow runs the payouts too.
            for rule in s.exec(select(ScheduleRule).where(ScheduleRule.integration_id == integration_id)):
                if shop_flows <= set(rule.flow_keys):
                    rule.flow_keys = list(dict.fromkeys([*rule.flow_keys, *(f.key for f in payouts)]))
                    s.add(rule)
            s.commit()
        return await self._tested(conn)

    # -- testing a connection ---------------------------------------------------------------------
    async def test_connection(self, connector_id: int) -> tuple[bool, str]:
        """Call the platform with the stored credentials and say what works and what is missing.
        The connector's status (and why) is kept for its badge."""
        with self.session() as s:
            conn = s.get(Connector, connector_id)
            if conn is None:
                raise EngineError("NO_CONNECTOR", f"No connector {connector_id}")
        try:
            client = self.pool.get(conn)
            ok, message = await getattr(self, f"_check_{conn.platform}")(conn, client)
        except Exception as exc:  # shown on the connector card, never raised at the operator
            ok, message = False, f"Disconnected: {exc}"
        with self.session() as s:
            row = s.get(Connector, connector_id)
            assert row is not None
            row.status = "connected" if ok else "disconnected"
            row.checked_at = utcnow()
            row.options = {**(row.options or {}), "status_message": message}
            s.add(row)
            s.commit()
        return ok, message

    def _shopify_scopes_needed(self, integration_id: int) -> list[str]:
        """The orders' scopes, and those of the enabled flows that need one more (Shopify Payments
        payouts): a shop that only exports orders never needs to grant those."""
        enabled = {f.key for f in self.flows(integration_id) if f.enabled}  # type: ignore[attr-defined]
        extra = [
            m.SHOPIFY_SCOPE for k, m in FLOW_MODULES.items() if k in enabled and hasattr(m, "SHOPIFY_SCOPE")
        ]
        return [*SHOPIFY_REQUIRED_SCOPES, *extra]

    async def _enable_scoped_flows(self, conn: Connector) -> None:
        """Turn on the flows needing a Shopify scope the shop has granted, as the orders flow is:
        connecting a shop that grants read_shopify_payments_payouts asks for its Shopify Payments
        payouts to be booked. A flow that has run before is left as the operator left it."""
        scopes = await self.pool.get(conn).access_scopes()
        wanted = {k for k, m in FLOW_MODULES.items() if getattr(m, "SHOPIFY_SCOPE", None) in scopes}
        with self.session() as s:
            flows = list(s.exec(select(Flow).where(Flow.integration_id == conn.integration_id)))
            orders_on = any(f.key == "orders_to_fortnox" and f.enabled for f in flows)
            for flow in flows:
                if orders_on and flow.key in wanted and not flow.enabled and flow.last_synced_at is None:
                    flow.enabled = True
                    s.add(flow)
                    for rule in s.exec(
                        select(ScheduleRule).where(ScheduleRule.integration_id == conn.integration_id)
                    ):
                        if "orders_to_fortnox" in rule.flow_keys and flow.key not in rule.flow_keys:
                            rule.flow_keys = [*rule.flow_keys, flow.key]
                            s.add(rule)
            s.commit()

    async def _check_shopify(self, conn: Connector, client: Any) -> tuple[bool, str]:
        shop = await client.shop()
        scopes = await client.access_scopes()
        missing = [s for s in self._shopify_scopes_needed(conn.integration_id) if s not in scopes]
        expected = (conn.options or {}).get("shop_domain")
        found = shop.get("myshopify_domain")
        if expected and found and found != expected:
            return False, f"Disconnected: the token belongs to {found}, not {expected}"
        if missing:
            return False, f"Disconnected: the app lacks the scope {', '.join(missing)} ({found or 'shop'})"
        n = await client.count_orders(status="any")
        message = f"Connected to {shop.get('name') or found}: {n} orders readable"
        if "read_all_orders" not in scopes:
            message += " (the last 60 days only: the token lacks read_all_orders)"
        return True, message

    async def _check_fortnox(self, conn: Connector, client: Any) -> tuple[bool, str]:
        terms = await client.lookup("termsofpayments")
        missing = self.missing_fortnox_scopes(conn.integration_id)
        if missing:
            return False, (
                f"Disconnected: the Fortnox grant lacks the scope{'s' if len(missing) > 1 else ''} "
                f"{', '.join(missing)} that the enabled flows need; connect Fortnox again to ask for them"
            )
        how = "service account" if (conn.options or {}).get("tenant_id") else "signed in"
        return True, f"Connected ({how}): {len(terms)} terms of payment"

    async def _check_stripe(self, conn: Connector, client: Any) -> tuple[bool, str]:
        payouts = await client.recent_payouts(limit=1)
        if payouts:
            await client.balance_transactions(str(payouts[0]["id"]), limit=1)
        return True, "Connected: payouts and their balance transactions are readable"

    # -- keeping an idle Fortnox grant alive ------------------------------------------------------
    async def keep_fortnox_alive(
        self, pool: ClientPool | None = None, min_age: timedelta | None = None
    ) -> int:
        """Refresh every signed-in Fortnox connection whose tokens have not changed for `min_age`
        (default a day): a refresh token left unused for 31–45 days dies, and an integration with
        nothing to sync would otherwise lose its grant. Returns how many were refreshed."""
        min_age = timedelta(days=1) if min_age is None else min_age
        clients = pool or self.pool
        with self.session() as s:
            conns = list(s.exec(select(Connector).where(Connector.platform == "fortnox")))
        refreshed = 0
        for conn in conns:
            stored = self.secrets.get(conn.credential_ref) or {}
            if not stored.get("refresh_token") or (conn.options or {}).get("tenant_id"):
                continue  # nothing to keep alive: no grant yet, or a service account
            renewed = stored.get("renewed_at")
            if renewed and datetime.fromisoformat(renewed) > datetime.now(UTC) - min_age:
                continue
            why = None
            try:
                await clients.get(conn).refresh()
                refreshed += 1
                status = "connected"
            except (PlatformError, EngineError) as exc:
                status = "disconnected"
                # The badge says why: an expired or revoked grant is fixed by signing in again.
                why = f"Disconnected: the keep-alive refresh failed ({exc.code}: {exc.message})"
            with self.session() as s:
                row = s.get(Connector, conn.id)
                if row is not None:
                    row.status, row.checked_at = status, utcnow()
                    if why:
                        row.options = {**(row.options or {}), "status_message": why}
                    s.add(row)
                    s.commit()
        return refreshed


def ensure_flows(s: Session, integration_id: int, *, enabled: bool) -> None:
    """Every known flow of the integration, with the recommended status filter and a Time History;
    a flow that exists already is left as it is. A first scheduling rule, too."""
    sides = {c.side for c in s.exec(select(Connector).where(Connector.integration_id == integration_id))}
    for key, module in FLOW_MODULES.items():
        flow = s.exec(select(Flow).where(Flow.integration_id == integration_id, Flow.key == key)).first()
        if flow is not None:
            continue
        source = getattr(module, "SOURCE_SIDE", "A")
        flow = Flow(
            integration_id=integration_id,
            key=key,
            name=module.NAME,
            action=module.ACTION,
            entity_type=module.ENTITY,
            source_side=source,
            target_side=getattr(module, "TARGET_SIDE", "B"),
            # A flow reading an optional platform (Stripe) starts once that platform is connected, one
            # needing a Shopify scope beyond the orders' once the shop grants it (connect_shopify).
            enabled=enabled and (source == "A" or source in sides) and not hasattr(module, "SHOPIFY_SCOPE"),
        )
        s.add(flow)
        s.commit()
        s.add(TimeHistory(flow_id=flow.id))  # type: ignore[arg-type]
        if source != "A":
            continue  # the order status filter is about shop orders
        preset = filters_mod.PRESETS["status"]
        s.add(
            FlowFilter(
                flow_id=flow.id,  # type: ignore[arg-type]
                name=preset.name,
                kind="preset",
                preset=preset.key,
                conditions=[{"field": preset.field, "operator": "one_of", "value": list(preset.default)}],
            )
        )
    if not s.exec(select(ScheduleRule).where(ScheduleRule.integration_id == integration_id)).first():
        s.add(
            ScheduleRule(
                integration_id=integration_id,
                name="Every 15 minutes",
                # The shop's flows; connecting Stripe adds its payouts (connect_stripe).
                flow_keys=[k for k, m in FLOW_MODULES.items() if getattr(m, "SOURCE_SIDE", "A") == "A"],
                interval_minutes=15,
            )
        )
    s.commit()


def kept_fortnox_tokens(conn: Connector, stored: dict[str, Any], options: dict[str, Any]) -> dict[str, Any]:
    """The stored Fortnox tokens to keep on a repeated connect to the same app: Fortnox rotates the
    refresh token at every refresh, so the stored one is newer than any the caller could hand in,
    and writing the older one back would leave the connection dead."""
    same_app = (conn.options or {}).get("client_id") == options.get("client_id")
    if not same_app or not stored.get("refresh_token"):
        return {}
    keys = ("refresh_token", "access_token", "expires_at", "scope", "renewed_at")
    return {k: stored[k] for k in keys if k in stored}
