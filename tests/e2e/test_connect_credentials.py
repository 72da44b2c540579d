"""Credentials that never clobber each other: two workspaces sharing one secret store, and a connect
repeated after Fortnox rotated the refresh token."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from engine.sandbox.server import SandboxConfig, start_in_thread
from engine.secrets import FileSecretStore
from engine.service import Service
from junipeer_tui.cli import main
from tests.e2e.conftest import Sandbox, sync


@pytest.fixture
def two_sandboxes() -> Iterator[tuple[Sandbox, Sandbox]]:
    config = SandboxConfig(orders=6, seed=3, time_scale=0.01)
    with start_in_thread(config) as first, start_in_thread(config) as second:
        pair = (Sandbox(first), Sandbox(second))
        yield pair
        for sb in pair:
            sb.http.close()


def _connected(service: Service) -> dict[str, str]:
    iid = service.integration().id
    return {c.platform: c.status for c in service.connectors(iid)}  # type: ignore[arg-type]


def test_two_workspaces_keep_their_own_tokens(tmp_path: Path, two_sandboxes: tuple[Sandbox, Sandbox]) -> None:
    """Every database's first integration is id 1; a secret named after it was shared, so the second
    connect overwrote the first workspace's Fortnox tokens and the first then failed AUTH_FAILED."""
    secrets = FileSecretStore(tmp_path / "secrets.json")
    one = Service(f"sqlite:///{tmp_path / 'one.sqlite'}", secrets=secrets, data_dir=tmp_path)
    two = Service(f"sqlite:///{tmp_path / 'two.sqlite'}", secrets=secrets, data_dir=tmp_path)
    try:
        asyncio.run(one.connect_sandbox(two_sandboxes[0].info, "Shop"))
        sync(one)  # rotates the first workspace's refresh token
        asyncio.run(two.connect_sandbox(two_sandboxes[1].info, "Shop"))
        sync(two)
        asyncio.run(one.aclose_pool())
        asyncio.run(two.aclose_pool())
        for service, sb in ((one, two_sandboxes[0]), (two, two_sandboxes[1])):
            connector = next(c for c in service.connectors(1) if c.platform == "fortnox")
            ok, message = asyncio.run(service.test_connection(connector.id))  # type: ignore[arg-type]
            assert ok, message
            order = sb.post("shopify/orders", {"financial_status": "paid"})
            sync(service)
            assert sb.fortnox_orders_by_ref()[order["name"]] == 1
            assert all(e.error_code != "AUTH_FAILED" for e in service.entities(1, status="error"))
        refs = {c.credential_ref for svc in (one, two) for c in svc.connectors(1)}
        assert len(refs) == 4, "each connector has a secret entry of its own"
    finally:
        asyncio.run(one.aclose())
        asyncio.run(two.aclose())


def test_connecting_again_keeps_the_rotated_refresh_token(
    tmp_path: Path, two_sandboxes: tuple[Sandbox, Sandbox], monkeypatch: pytest.MonkeyPatch
) -> None:
    sb = two_sandboxes[0]
    monkeypatch.setenv("JUNIPEER_SECRETS", "file")
    db = f"sqlite:///{tmp_path / 'w.sqlite'}"
    args = [
        "--db",
        db,
        "sandbox",
        "connect",
        "--url",
        sb.info["base_url"],
        "--token",
        sb.info["control_token"],
    ]
    env = {"JUNIPEER_DATA_DIR": str(tmp_path)}
    runner = CliRunner()
    first = runner.invoke(main, args, env=env)
    assert first.exit_code == 0, first.output
    service = Service(db, secrets=FileSecretStore(tmp_path / "secrets.json"), data_dir=tmp_path)
    try:
        sync(service)  # Fortnox rotates: the refresh token sandbox info hands out is now dead
        asyncio.run(service.aclose_pool())
        again = runner.invoke(main, args, env=env)
        assert again.exit_code == 0, again.output
        assert _connected(service) == {"shopify": "connected", "fortnox": "connected"}

        # A sandbox restarted meanwhile has new credentials: the stored tokens are for another app,
        # so the new ones are taken, and a connect that cannot pass its test says so with exit 1.
        other = two_sandboxes[1]
        moved = [a if a != sb.info["base_url"] else other.info["base_url"] for a in args]
        moved[moved.index(sb.info["control_token"])] = other.info["control_token"]
        assert runner.invoke(main, moved, env=env).exit_code == 0
        assert _connected(service) == {"shopify": "connected", "fortnox": "connected"}

        other.post("fortnox/expire-tokens", {"revoke": True})
        refused = runner.invoke(main, moved, env=env)
        assert refused.exit_code == 1
        assert "CONNECTION_TEST_FAILED" in refused.output and "fortnox" in refused.output
        assert _connected(service)["fortnox"] == "disconnected"
    finally:
        asyncio.run(service.aclose())
