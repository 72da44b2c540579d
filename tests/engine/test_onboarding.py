"""Where an integration stands on the way to Live, read from the database: the steps and the next
one, the reason a connector's badge gives, and the reason a failed keep-alive leaves."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

from engine import onboarding
from engine.sandbox.server import SandboxConfig, start_in_thread
from engine.secrets import FileSecretStore
from engine.service import Service
from tests.e2e.conftest import Sandbox


def test_connection_reason_says_why_or_what_was_read() -> None:
    reason = onboarding.connection_reason
    assert (
        reason("connected", "Connected to Shop: 5 orders readable") == "Connected to Shop: 5 orders readable"
    )
    assert reason("disconnected", "Disconnected: the app lacks the scope read_orders") == (
        "the app lacks the scope read_orders"
    )
    # Disconnected since new credentials were stored: the old "Connected" says nothing about them.
    assert "not tested since its credentials changed" in reason("disconnected", "Connected to Shop")
    assert reason("disconnected", "") == "not tested since its credentials changed: Test connection"


def test_steps_follow_the_database(tmp_path: Path) -> None:
    with start_in_thread(SandboxConfig(orders=6, seed=2, time_scale=0.01)) as running:
        sb = Sandbox(running)
        svc = Service(
            f"sqlite:///{tmp_path / 'own.sqlite'}",
            secrets=FileSecretStore(tmp_path / "secrets.json"),
            data_dir=tmp_path,
        )
        assert [s.done for s in onboarding.steps(svc, None)] == [False] * 7
        iid = svc.create_integration("Mine").id
        steps = onboarding.steps(svc, iid)
        assert [s.key for s in steps if s.done] == ["name"]
        assert onboarding.next_step(steps).key == "shop"  # type: ignore[union-attr]
        assert steps[1].detail == "Shopify is not connected yet"
        assert "Order Settings" in steps[3].detail and steps[4].detail == "No flow is enabled"

        # The sandbox's shortcut connects and saves the settings; the flow is enabled as by hand.
        asyncio.run(svc.connect_sandbox(sb.info, "Mine"))
        assert [s.key for s in onboarding.steps(svc, iid) if not s.done] == ["flows", "try", "live"]
        svc.enable_flow(iid, "orders_to_fortnox")
        steps = onboarding.steps(svc, iid)
        assert [s.key for s in steps if not s.done] == ["try", "live"]
        assert steps[1].detail.startswith("Connected to Junipeer Demo")

        # A revoked Fortnox grant: the keep-alive refresh fails, and the badge says why.
        sb.post("fortnox/expire-tokens", {"revoke": True})
        assert asyncio.run(svc.keep_fortnox_alive(min_age=timedelta(0))) == 0
        erp = onboarding.steps(svc, iid)[2]
        assert not erp.done and "keep-alive refresh failed (AUTH_FAILED" in erp.detail
        asyncio.run(svc.aclose())
        sb.http.close()
