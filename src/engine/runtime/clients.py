"""Platform clients built from a Connector row and its secret; one client per connector per pool,
so every task of a worker shares its pacing, and the pools of every process share a Fortnox
connection's budget through the database."""

from __future__ import annotations

import os
import socket
import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.engine import Engine

from engine.errors import EngineError
from engine.platforms.fortnox import RATE_LIMIT_REQUESTS, FortnoxClient, TokenSet
from engine.platforms.shopify import ShopifyClient
from engine.platforms.stripe import StripeClient
from engine.runtime.budget import BudgetShare
from engine.secrets import SecretStore
from engine.store.models import Connector


class SecretTokenStore:
    """Fortnox tokens kept in the connector's secret entry; the store writes atomically."""

    def __init__(self, secrets: SecretStore, ref: str) -> None:
        self.secrets = secrets
        self.ref = ref

    def load(self) -> TokenSet | None:
        data = self.secrets.get(self.ref) or {}
        if not data.get("refresh_token") and not data.get("access_token"):
            return None
        expires = data.get("expires_at")
        return TokenSet(
            access_token=data.get("access_token") or "",
            refresh_token=data.get("refresh_token") or "",
            expires_at=datetime.fromisoformat(expires) if expires else datetime(1970, 1, 1, tzinfo=UTC),
            scope=data.get("scope") or "",
        )

    def save(self, tokens: TokenSet) -> None:
        data = dict(self.secrets.get(self.ref) or {})
        data.update(
            access_token=tokens.access_token,
            refresh_token=tokens.refresh_token,
            expires_at=tokens.expires_at.isoformat(),
            scope=tokens.scope,
            # When the tokens last changed: the keep-alive leaves a connection refreshed since alone.
            renewed_at=datetime.now(UTC).isoformat(),
        )
        self.secrets.set(self.ref, data)


class SecretShopifyTokens:
    """A Dev Dashboard app's current Admin API token, kept in the connector's secret entry so every
    process reuses it until it is due for renewal."""

    def __init__(self, secrets: SecretStore, ref: str) -> None:
        self.secrets = secrets
        self.ref = ref

    def load(self) -> tuple[str, datetime] | None:
        data = self.secrets.get(self.ref) or {}
        if not data.get("access_token") or not data.get("expires_at"):
            return None
        return data["access_token"], datetime.fromisoformat(data["expires_at"])

    def save(self, token: str, expires_at: datetime) -> None:
        data = dict(self.secrets.get(self.ref) or {})
        data.update(access_token=token, expires_at=expires_at.isoformat())
        self.secrets.set(self.ref, data)


class MissingCredentials(EngineError):
    def __init__(self, message: str) -> None:
        super().__init__("CREDENTIALS_MISSING", message)


def build_client(connector: Connector, secrets: SecretStore) -> Any:
    secret = secrets.get(connector.credential_ref)
    if not secret:
        raise MissingCredentials(
            f"No credentials stored for the {connector.platform} connector: "
            "add them in Configure > Connectors"
        )
    opts = connector.options or {}
    scale = float(opts.get("time_scale", 1.0))
    timeout = float(opts.get("timeout", 30.0))
    pacing = bool(opts.get("pacing", True))
    if connector.platform == "shopify":
        if opts.get("auth") == "client_credentials":
            return ShopifyClient(
                connector.base_url,
                client_id=opts["client_id"],
                client_secret=secret["client_secret"],
                token_cache=SecretShopifyTokens(secrets, connector.credential_ref),
                time_scale=scale,
                timeout=timeout,
                pacing=pacing,
            )
        return ShopifyClient(
            connector.base_url, secret["access_token"], time_scale=scale, timeout=timeout, pacing=pacing
        )
    if connector.platform == "fortnox":
        return FortnoxClient(
            connector.base_url,
            opts["token_url"],
            opts["client_id"],
            secret["client_secret"],
            SecretTokenStore(secrets, connector.credential_ref),
            time_scale=scale,
            timeout=timeout,
            pacing=pacing,
            tenant_id=opts.get("tenant_id"),
        )
    if connector.platform == "stripe":
        return StripeClient(connector.base_url, secret["api_key"], time_scale=scale, timeout=timeout)
    raise MissingCredentials(f"No client for platform {connector.platform!r} yet")


class ClientPool:
    """Clients by connector. New credentials carry a new `revision` in the secret entry, so every
    pool (the console's, the engine thread's) rebuilds that connector's client on its next use."""

    def __init__(self, secrets: SecretStore, db: Engine | None = None) -> None:
        self.secrets = secrets
        # With a database, a paced Fortnox client takes its share of the connection's budget with
        # every other pool using it (runtime/budget.py); without one it has the whole budget.
        self.db = db
        self.holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._clients: dict[int, tuple[str | None, Any]] = {}
        self._stale: list[Any] = []
        self._shares: dict[int, BudgetShare] = {}

    def get(self, connector: Connector) -> Any:
        assert connector.id is not None
        revision = (self.secrets.get(connector.credential_ref) or {}).get("revision")
        cached = self._clients.get(connector.id)
        if cached is not None and cached[0] == revision:
            return cached[1]
        if cached is not None:
            self._stale.append(cached[1])
        client = build_client(connector, self.secrets)
        self._clients[connector.id] = (revision, client)
        if self.db is not None and isinstance(client, FortnoxClient) and client.pacing:
            share = self._shares.get(connector.id)
            if share is not None:  # keep this pool's row: leaving and joining again would blink
                share.follow(client.limiter)
            else:
                self._shares[connector.id] = BudgetShare(
                    self.db,
                    f"fortnox:{connector.credential_ref}",
                    self.holder,
                    client.limiter,
                    RATE_LIMIT_REQUESTS,
                )
        return client

    async def aclose(self) -> None:
        for closable in [*(c for _, c in self._clients.values()), *self._shares.values(), *self._stale]:
            await closable.aclose()
        self._clients.clear()
        self._shares.clear()
        self._stale.clear()
