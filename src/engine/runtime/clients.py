"""Platform clients built from a Connector row and its secret; one client per connector per
process, so every task of a worker shares one rate budget per platform account."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from engine.errors import EngineError
from engine.platforms.fortnox import FortnoxClient, TokenSet
from engine.platforms.shopify import ShopifyClient
from engine.secrets import SecretStore
from engine.store.models import Connector


class SecretTokenStore:
    """Fortnox tokens kept in the connector's secret entry; the store writes atomically."""

    def __init__(self, secrets: SecretStore, ref: str) -> None:
        self.secrets = secrets
        self.ref = ref

    def load(self) -> TokenSet | None:
        data = self.secrets.get(self.ref) or {}
        if not data.get("refresh_token"):
            return None
        expires = data.get("expires_at")
        return TokenSet(
            access_token=data.get("access_token") or "",
            refresh_token=data["refresh_token"],
            expires_at=datetime.fromisoformat(expires) if expires else datetime(1970, 1, 1, tzinfo=UTC),
        )

    def save(self, tokens: TokenSet) -> None:
        data = dict(self.secrets.get(self.ref) or {})
        data.update(
            access_token=tokens.access_token,
            refresh_token=tokens.refresh_token,
            expires_at=tokens.expires_at.isoformat(),
        )
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
    if connector.platform == "shopify":
        return ShopifyClient(connector.base_url, secret["access_token"], time_scale=scale, timeout=timeout)
    if connector.platform == "fortnox":
        return FortnoxClient(
            connector.base_url,
            opts["token_url"],
            opts["client_id"],
            secret["client_secret"],
            SecretTokenStore(secrets, connector.credential_ref),
            time_scale=scale,
            timeout=timeout,
        )
    raise MissingCredentials(f"No client for platform {connector.platform!r} yet")


class ClientPool:
    def __init__(self, secrets: SecretStore) -> None:
        self.secrets = secrets
        self._clients: dict[int, Any] = {}
        self._stale: list[Any] = []

    def get(self, connector: Connector) -> Any:
        assert connector.id is not None
        client = self._clients.get(connector.id)
        if client is None:
            client = self._clients[connector.id] = build_client(connector, self.secrets)
        return client

    def forget(self, connector_id: int) -> None:
        """Drop a cached client after its credentials changed (it is closed by `aclose`)."""
        client = self._clients.pop(connector_id, None)
        if client is not None:
            self._stale.append(client)

    async def aclose(self) -> None:
        for client in [*self._clients.values(), *self._stale]:
            await client.aclose()
        self._clients.clear()
        self._stale.clear()
