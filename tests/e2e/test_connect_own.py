"""Connections to your own accounts over time, against the sandbox playing the real hosts: a
Dev Dashboard app's 24-hour Shopify tokens renewed during a backfill, an idle Fortnox grant kept
alive by the scheduler, a missing scope named where it bites, service accounts, Stripe, and several
connections per connector."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from engine.errors import EngineError
from engine.platforms import fortnox_oauth
from engine.platforms.http import PlatformError
from engine.runtime.scheduler import Scheduler
from engine.sandbox.server import SandboxConfig, start_in_thread
from engine.secrets import FileSecretStore
from engine.service import SANDBOX_OSS_ACCOUNTS, Service
from tests.e2e.conftest import INTENDED_ERRORS, Sandbox


@pytest.fixture
def own(tmp_path: Path) -> Iterator[Service]:
    svc = Service(
        f"sqlite:///{tmp_path / 'own.sqlite'}",
        secrets=FileSecretStore(tmp_path / "secrets.json"),
        data_dir=tmp_path,
    )
    yield svc
    asyncio.run(svc.aclose())


def started(**config: Any) -> Any:
    return start_in_thread(SandboxConfig(**{"orders": 20, "seed": 11, **config}))


def consented(address: str, state: str) -> str:
    """What a browser does with the authorize URL: Fortnox consents and redirects with the code."""
    answer = httpx.get(address, follow_redirects=False, timeout=10)
    assert answer.status_code == 302, answer.text
    return fortnox_oauth.code_from(answer.headers["location"], state)


async def sign_in(
    svc: Service, iid: int, sb: Sandbox, *, service: bool = False, scope: str | None = None
) -> Any:
    fx = sb.info["fortnox"]
    address, state = svc.fortnox_authorization(
        iid, client_id=fx["client_id"], auth_url=fx["auth_url"], service=service
    )
    if scope is not None:  # a consent asked for elsewhere, with fewer scopes
        address = str(httpx.URL(address).copy_set_param("scope", scope))
    return await svc.connect_fortnox(
        iid,
        client_id=fx["client_id"],
        client_secret=fx["client_secret"],
        code=consented(address, state),
        url=fx["base_url"],
        token_url=fx["token_url"],
        auth_url=fx["auth_url"],
        time_scale=sb.info["time_scale"],
        pacing=sb.info["limits"],
    )


async def connect_shop(svc: Service, iid: int, sb: Sandbox, *, credentials: bool = True, **kw: Any) -> Any:
    shop = sb.info["shopify"]
    secret = (
        {"client_id": shop["client_id"], "client_secret": shop["client_secret"]}
        if credentials
        else {"access_token": shop["access_token"]}
    )
    return await svc.connect_shopify(
        iid,
        shop=shop["shop_domain"],
        url=shop["base_url"],
        time_scale=sb.info["time_scale"],
        pacing=sb.info["limits"],
        **secret,
        **kw,
    )


def set_up(svc: Service, iid: int) -> None:
    svc.save_settings(iid, "order", {"exclusion_date": date.today() - timedelta(days=365)})
    svc.save_settings(iid, "customer", {"default_name": "Webshop customer"})
    # The demo company's OSS accounts, for the shop's EU consumers charged their own country's VAT.
    svc.save_settings(iid, "sales_accounts", {"oss_accounts": SANDBOX_OSS_ACCOUNTS})
    svc.enable_flow(iid, "orders_to_fortnox")


def test_a_day_old_shopify_token_is_renewed_during_a_backfill(own: Service) -> None:
    # time_scale 6e-6: a Shopify token lives 0.52 s, so a backfill of a few seconds outlives several;
    # Fortnox's window is scaled away and its access token's 3600 s are real.
    scale = 6e-6
    with started(orders=150, time_scale=scale, limits=False) as running:
        sb = Sandbox(running)
        fx = sb.info["fortnox"]
        iid = own.create_integration("Mine").id
        assert asyncio.run(connect_shop(own, iid, sb)).ok
        grant = {"client_id": fx["client_id"], "client_secret": fx["client_secret"]}
        urls = {"url": fx["base_url"], "token_url": fx["token_url"], "pacing": False}
        # The sandbox's own grant: on this clock a code would expire before the exchange.
        assert asyncio.run(own.connect_fortnox(iid, **grant, refresh_token=fx["refresh_token"], **urls)).ok
        set_up(own, iid)
        flow = own.flow(iid, "orders_to_fortnox")
        started_at = time.monotonic()
        task = asyncio.run(
            own.run_now(own.export_many(flow, date.today() - timedelta(days=365), date.today()))
        )
        token_lives = (time.monotonic() - started_at) / (86_399 * scale)
        assert task.status == "completed" and task.synced > 100
        # The only failures are the generated shop's own (SKUs Fortnox has no article for).
        assert {e.error_code for e in own.entities(iid, status="error")} <= INTENDED_ERRORS
        shopify = sb.get("stats")["shopify"]
        assert set(shopify["by_status"]) == {"200"}, "renewed before the end, never refused"
        renewals = shopify["by_path"].get("/shopify/admin/oauth/access_token", 0)
        # Each token renewed before it ran out (no request refused, above), several times over the
        # backfill. Not one per token life: stretches of Fortnox work (credit invoices) ask Shopify nothing.
        assert renewals >= 2 and token_lives >= 2, (renewals, token_lives)
        assert renewals < shopify["requests"] / 3, "renewed per token, not per request"

        # A token the shop ended early (24 hours passed while the client held it): the 401 renews it.
        sb.post("shopify/expire-tokens")
        orders = [sb.post("shopify/orders", {"financial_status": "paid"}) for _ in range(3)]
        again = asyncio.run(own.run_now(own.export_many(flow, date.today(), date.today())))
        assert again.failed == 0
        assert all(sb.fortnox_orders_by_ref()[o["name"]] == 1 for o in orders)
        sb.http.close()


def test_an_idle_fortnox_grant_is_kept_alive_by_the_scheduler(own: Service, monkeypatch: Any) -> None:
    # time_scale 1e-6: a refresh token unused for 31 days dies after 2.7 s. The keep-alive job looks
    # every 0.3 s and refreshes a grant unchanged for 1.2 s.
    monkeypatch.setenv("JUNIPEER_FORTNOX_KEEPALIVE_SECONDS", "0.3")
    with started(orders=5, time_scale=1e-6, limits=False) as running:
        sb = Sandbox(running)
        fx = sb.info["fortnox"]
        iid = own.create_integration("Mine").id
        result = asyncio.run(
            own.connect_fortnox(
                iid,
                client_id=fx["client_id"],
                client_secret=fx["client_secret"],
                refresh_token=fx["refresh_token"],
                url=fx["base_url"],
                token_url=fx["token_url"],
            )
        )
        assert result.ok, result.message
        conn = result.connector

        async def idle(seconds: float, keep_alive: bool) -> str | None:
            scheduler = Scheduler(own)
            if keep_alive:
                scheduler.start()
            await asyncio.sleep(seconds)
            scheduler.shutdown()
            try:
                await own.pool.get(conn).refresh()  # would the grant still work?
                return None
            except PlatformError as err:
                return err.code
            finally:
                await own.aclose_pool()

        assert asyncio.run(idle(4.0, keep_alive=True)) is None, "kept alive past 31 idle days"
        assert asyncio.run(idle(3.2, keep_alive=False)) == "AUTH_FAILED", "without it, the grant dies"
        sb.http.close()


def test_a_missing_scope_is_named_at_test_connection_and_at_sync(own: Service, sandbox: Sandbox) -> None:
    iid = own.create_integration("Mine").id
    assert asyncio.run(connect_shop(own, iid, sandbox, credentials=False)).ok
    lacking = asyncio.run(sign_in(own, iid, sandbox, scope="companyinformation settings order"))
    assert not lacking.ok and lacking.connector.status == "disconnected"
    # (the shop grants Shopify Payments payouts, whose flow then needs bookkeeping and payment too)
    assert "lacks the scopes bookkeeping, customer, invoice, payment" in lacking.message
    with pytest.raises(Exception, match="FORTNOX_SCOPE_MISSING") as refused:
        set_up(own, iid)
    assert "customer" in str(refused.value)

    # Enabled anyway (as before this check existed): the sync names the scope the call needed.
    own.set_flow_enabled(own.flow(iid, "orders_to_fortnox").id, True)  # type: ignore[arg-type]
    order = sandbox.post("shopify/orders", {"financial_status": "paid"})
    task = asyncio.run(own.run_now(own.export_one(own.flow(iid, "orders_to_fortnox"), order["name"])))
    assert task.failed == 1
    [entity] = [e for e in own.entities(iid, status="error") if e.entity_type == "order"]
    assert entity.error_code == "FORTNOX_SCOPE_MISSING"
    assert "'customer' scope" in (entity.error_message or "")

    # Signing in again asks for every scope the flows need, and the order goes through.
    assert asyncio.run(sign_in(own, iid, sandbox)).ok
    retried = asyncio.run(own.run_now(own.retry_entity(entity.id)))  # type: ignore[arg-type]
    assert retried.synced == 1 and sandbox.fortnox_orders_by_ref()[order["name"]] == 1


def test_a_service_account_connects_by_client_credentials(own: Service, sandbox: Sandbox) -> None:
    fx = sandbox.info["fortnox"]
    iid = own.create_integration("Mine").id
    assert asyncio.run(connect_shop(own, iid, sandbox)).ok
    kwargs = {
        "client_id": fx["client_id"],
        "client_secret": fx["client_secret"],
        "tenant_id": fx["tenant_id"],
    }
    urls = {"url": fx["base_url"], "token_url": fx["token_url"], "time_scale": sandbox.info["time_scale"]}
    before = asyncio.run(own.connect_fortnox(iid, **kwargs, **urls))
    assert not before.ok and "service account" in before.message  # no administrator consented yet
    # The system administrator consents once, as a service account.
    address, state = own.fortnox_authorization(
        iid, client_id=fx["client_id"], auth_url=fx["auth_url"], service=True
    )
    consented(address, state)
    after = asyncio.run(own.connect_fortnox(iid, **kwargs, **urls))
    assert after.ok and "service account" in after.message
    stored = own.secrets.get(after.connector.credential_ref) or {}
    assert not stored.get("refresh_token")
    set_up(own, iid)
    order = sandbox.post("shopify/orders", {"financial_status": "paid"})
    task = asyncio.run(own.run_now(own.export_one(own.flow(iid, "orders_to_fortnox"), order["name"])))
    assert task.synced == 1 and sandbox.fortnox_orders_by_ref()[order["name"]] == 1


def test_stripe_takes_a_key_checked_by_a_test_call(own: Service, sandbox: Sandbox) -> None:
    stripe = sandbox.info["stripe"]
    iid = own.create_integration("Mine").id
    good = asyncio.run(own.connect_stripe(iid, api_key=stripe["api_key"], url=stripe["base_url"]))
    assert good.ok and good.connector.side == "C"
    wrong = asyncio.run(own.connect_stripe(iid, api_key="rk_test_not_a_key_at_all", url=stripe["base_url"]))
    assert not wrong.ok and "AUTH_FAILED" in wrong.message
    assert "rk_test_not_a_key_at_all" not in wrong.message
    # A restricted key that may not read payouts: the test call names the permission to add.
    sandbox.post("stripe/key-permissions", {"permissions": ["rak_balance_read", "rak_charge_read"]})
    lacking = asyncio.run(own.connect_stripe(iid, api_key=stripe["api_key"], url=stripe["base_url"]))
    assert not lacking.ok
    assert (
        "STRIPE_PERMISSION_MISSING: the restricted key lacks the rak_payout_read permission"
        in lacking.message
    )
    assert stripe["api_key"] not in lacking.message
    # The full secret key is not limited by them.
    assert asyncio.run(own.connect_stripe(iid, api_key=stripe["secret_key"], url=stripe["base_url"])).ok


def test_several_connections_per_connector(own: Service) -> None:
    with started(orders=3) as first_run, started(orders=7, seed=12) as second_run:
        test, production = Sandbox(first_run), Sandbox(second_run)
        iid = own.create_integration("Mine").id
        assert "3 orders" in asyncio.run(connect_shop(own, iid, test, connection="test")).message
        to_production = asyncio.run(connect_shop(own, iid, production, connection="production"))
        assert "7 orders" in to_production.message
        conn = to_production.connector
        assert own.connection_names(conn) == ["production", "test"]
        back = asyncio.run(own.use_connection(iid, "shopify", "test"))
        assert back.ok and "3 orders" in back.message and back.connector.connection_name == "test"
        assert back.connector.credential_ref != conn.credential_ref
        assert len(own.connectors(iid)) == 1
        with pytest.raises(Exception, match="NO_CONNECTION"):
            asyncio.run(own.use_connection(iid, "shopify", "staging"))
        # Removing: never the one in use; a saved one goes with its credentials.
        with pytest.raises(EngineError, match="switch to another one") as in_use:
            own.remove_connection(iid, "shopify", "test")
        assert in_use.value.code == "CONNECTION_IN_USE"
        after = own.remove_connection(iid, "shopify", "production")
        assert own.connection_names(after) == ["test"]
        assert own.secrets.get(conn.credential_ref) is None
        assert asyncio.run(own.use_connection(iid, "shopify", "test")).ok  # the kept one still works
        with pytest.raises(EngineError, match="no saved connection named 'production'"):
            own.remove_connection(iid, "shopify", "production")
        for sb in (test, production):
            sb.http.close()


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with started(time_scale=0.01) as running:
        sb = Sandbox(running)
        yield sb
        sb.http.close()
