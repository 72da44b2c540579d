"""Get Started, step by step, from an empty database to a Live integration, against a running
sandbox over HTTP: name, Shopify by a Dev Dashboard app's client credentials, Fortnox by signing in
(the consent followed with an HTTP client, as a browser would, back to the console's loopback
listener or pasted), the required settings, a flow, one order through Export One, Live. Each step
is snapshot at the default size and at 80×24; leaving and reopening resumes from the database."""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from pytest_textual_snapshot import SVGImageExtension
from textual.widgets import Input, Select

from engine.platforms import fortnox_oauth
from engine.sandbox import state as sandbox_state
from engine.sandbox.server import SandboxConfig, start_in_thread
from engine.secrets import FileSecretStore
from engine.service import Service
from junipeer_tui.app import ConsoleScreen, JunipeerApp
from junipeer_tui.dialogs.export_one import ExportOneDialog
from junipeer_tui.screens.get_started import GetStartedScreen
from junipeer_tui.screenshots import NARROW, SIZE, screen_text, settle
from tests.e2e.conftest import Sandbox
from tests.tui.conftest import FROZEN_NOW
from tests.tui.harness import wait_until

# Fixed ports and app credentials make the screens the same on every run (the authorize URL shows
# the sandbox's address and the app's client id); a port per size lets both run side by side.
PORTS = {SIZE: (8711, 8721), NARROW: (8712, 8722)}
STATE = "gs-snapshot-state"
CREDS = sandbox_state.Credentials(
    shopify_access_token="shpat_sandbox_gs_0000000000000000000000000000",
    shopify_webhook_secret="shpss_sandbox_gs_000000000000000000000000000",
    shopify_client_id="sandbox-shopify-app-getstarted",
    shopify_client_secret="sandbox-shopify-secret-gs-1234567890abcdef1234",
    fortnox_client_id="sandbox-client-getstarted",
    fortnox_client_secret="sandbox-secret-gs-abcdef1234567890abcdef12",
    fortnox_refresh_token="sandbox-refresh-gs-00000000000000000000000000",
    fortnox_tenant_id="1234567",
    stripe_api_key="sk_test_sandbox_gs_000000000000000000000000",
    stripe_restricted_key="rk_test_sandbox_gs_000000000000000000000000",
    stripe_webhook_secret="whsec_sandbox_gs_00000000000000000000000000",
)


@pytest.fixture
def own(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    size = request.param
    sandbox_port, redirect_port = PORTS[size]
    monkeypatch.setattr(sandbox_state.Credentials, "random", classmethod(lambda cls: CREDS))
    monkeypatch.setattr(fortnox_oauth, "new_state", lambda: STATE)
    config = SandboxConfig(orders=12, seed=3, time_scale=0.01, port=sandbox_port)
    with start_in_thread(config, now=FROZEN_NOW.timestamp()) as running:
        sb = Sandbox(running)
        redirect = f"http://127.0.0.1:{redirect_port}/callback"
        sb.post("fortnox/redirect-uris", {"uris": [redirect]})
        service = Service(
            f"sqlite:///{tmp_path / 'own.sqlite'}",
            secrets=FileSecretStore(tmp_path / "secrets.json"),
            data_dir=tmp_path,
        )
        yield size, sb, service, redirect, tmp_path
        sb.http.close()
        asyncio.run(service.aclose())


def wizard(app: JunipeerApp) -> GetStartedScreen:
    screen = app.screen
    assert isinstance(screen, GetStartedScreen), type(screen)
    return screen


async def step_shown(pilot: Any, key: str) -> None:
    await settle(pilot)
    await wait_until(pilot, lambda: wizard(pilot.app).query_one("#gs-panes").current == f"gs-{key}")
    await settle(pilot)


async def click(pilot: Any, selector: str) -> None:
    """Click a widget as a person would: scrolled into view first."""
    widget = pilot.app.screen.query_one(selector)
    widget.scroll_visible(animate=False, immediate=True)
    await settle(pilot)
    await pilot.click(selector)


def _type(screen: GetStartedScreen, values: dict[str, str]) -> None:
    for selector, value in values.items():
        screen.query_one(selector, Input).value = value


async def _snap(pilot: Any, snapshot: Any, name: str) -> None:
    """The screen as an SVG snapshot, without the toasts (they fade on their own clock)."""
    pilot.app.clear_notifications()
    await settle(pilot)
    svg = pilot.app.export_screenshot()
    if os.environ.get("GS_SHOW"):
        print(f"--- {name}\n{screen_text(pilot.app)}")
    assert svg == snapshot(name=name)


@pytest.mark.parametrize("own", [SIZE, NARROW], ids=["100x32", "80x24"], indirect=True)
async def test_get_started_from_an_empty_database_to_live(own, snapshot) -> None:
    size, sb, service, redirect, tmp_path = own
    snapshot = snapshot.use_extension(SVGImageExtension)
    shop, fx = sb.info["shopify"], sb.info["fortnox"]
    app = JunipeerApp(service, run_engine=False, clock=lambda: FROZEN_NOW)
    app.background_mount = False
    async with app.run_test(size=size) as pilot:
        # 1 An empty workspace opens on Get Started, and only the first step can be taken.
        await step_shown(pilot, "name")
        assert app.console_screen is None
        await _snap(pilot, snapshot, "1_name")
        _type(wizard(app), {"#gs-name-input": "My shop"})
        await click(pilot, "#gs-name-save")
        # 2 The console opened on the new integration, Get Started in front at the shop.
        await step_shown(pilot, "shop")
        assert app.console_screen is not None and [i.name for i in service.integrations()] == ["My shop"]
        iid = service.integration("My shop").id
        screen = wizard(app)
        assert screen.query_one("#gs-shop-kind", Select).value == "client_credentials"
        _type(
            screen,
            {
                "#gs-shop-domain": shop["shop_domain"],
                "#gs-shop-client-id": shop["client_id"],
                "#gs-shop-client-secret": shop["client_secret"],
                "#gs-shop-url": shop["base_url"],
            },
        )
        await _snap(pilot, snapshot, "2_shop_typed")
        assert shop["client_secret"] not in screen_text(app)  # typed masked
        await click(pilot, "#gs-shop-connect")
        # 3 Connected and tested: on to Fortnox.
        await step_shown(pilot, "erp")
        [shopify] = [c for c in service.connectors(iid) if c.platform == "shopify"]
        assert shopify.status == "connected"
        screen = wizard(app)
        screen.query_one("#gs-erp .gs-more").collapsed = False
        _type(
            screen,
            {
                "#gs-erp-client-id": fx["client_id"],
                "#gs-erp-client-secret": fx["client_secret"],
                "#gs-erp-redirect": redirect,
                "#gs-erp-url": fx["base_url"],
                "#gs-erp-auth-url": fx["auth_url"],
                "#gs-erp-token-url": fx["token_url"],
            },
        )
        await click(pilot, "#gs-erp-signin")
        await settle(pilot)
        address = screen.signin.address  # type: ignore[union-attr]
        assert address.startswith(fx["auth_url"] + "?")
        # Shown whole (wrapped at the pane's width, so read from the widget, not the screen's lines).
        shown = str(app.screen.query_one("#gs-erp-address").render()).replace("\n", "")
        assert f"state={STATE}" in address and address in shown and fx["auth_url"] in screen_text(app)
        await _snap(pilot, snapshot, "3_erp_sign_in")
        # The operator's browser: Fortnox consents at once and sends it back to the redirect URI.
        consent = httpx.get(address, follow_redirects=False, timeout=10)
        assert consent.status_code == 302, consent.text
        back = consent.headers["location"]
        assert back.startswith(redirect + "?")
        if size == SIZE:
            # ... where the console listens on 127.0.0.1.
            page = await asyncio.to_thread(httpx.get, back, timeout=10)
            assert page.status_code == 200 and "You can close this tab" in page.text
        else:
            # ... or the operator pastes where it was sent.
            _type(screen, {"#gs-erp-paste": back})
            await click(pilot, "#gs-erp-use")
        # 4 Signed in (the code exchanged and the connection tested): the required settings.
        await step_shown(pilot, "settings")
        [fortnox] = [c for c in service.connectors(iid) if c.platform == "fortnox"]
        assert fortnox.status == "connected" and "signed in" in fortnox.options["status_message"]
        await _snap(pilot, snapshot, "4_settings")
        # Left half way: the Dashboard says what is next; key 0 resumes there, read from the database.
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, ConsoleScreen)
        setup = app.console_screen.query_one("#dash-setup")
        assert setup.display and "3 of 7 done · next: Required settings" in str(setup.border_title)
        await pilot.press("0")
        await step_shown(pilot, "settings")
        screen = wizard(app)
        _type(screen, {"#field-order-exclusion_date Input": "2026-02-30"})
        await click(pilot, "#save-order")
        await settle(pilot)
        assert "not a date" in screen_text(app) and service.missing_settings(iid)
        _type(screen, {"#field-order-exclusion_date Input": "2026-01-01"})
        await click(pilot, "#save-order")
        # 5 The flows, all off on a new integration.
        await step_shown(pilot, "flows")
        assert service.missing_settings(iid) == []
        await _snap(pilot, snapshot, "5_flows")
        await click(pilot, "#gs-flow-orders_to_fortnox")
        await settle(pilot)
        assert service.flow(iid, "orders_to_fortnox").enabled
        await click(pilot, "#gs-flows-next")
        # 6 One order through Export One.
        await step_shown(pilot, "try")
        assert service.flow(iid, "orders_to_fortnox").enabled
        await _snap(pilot, snapshot, "6_try")
        order = sb.post("shopify/orders", {"financial_status": "paid", "shipping_country": "SE"})
        await click(pilot, "#gs-try-export")
        await settle(pilot)
        dialog = app.screen
        assert isinstance(dialog, ExportOneDialog)
        dialog.query_one("#export-one-ref", Input).value = order["name"]
        await pilot.press("enter")
        await wait_until(pilot, lambda: "synced as" in screen_text(app), timeout=60)
        assert sb.fortnox_orders_by_ref()[order["name"]] == 1
        await _snap(pilot, snapshot, "6_try_exported")
        await pilot.press("escape")
        # 7 Everything Live needs is done.
        await step_shown(pilot, "live")
        assert f"{order['name']} synced as" in screen_text(app)
        await _snap(pilot, snapshot, "7_live")
        await click(pilot, "#gs-live-go")
        await settle(pilot)
        assert service.integration(iid).live_mode
        assert isinstance(app.screen, ConsoleScreen) and app.console_screen.active == "dashboard"
        assert not app.console_screen.query_one("#dash-setup").display

    # Nothing secret on the screens, in the database or in the snapshots just taken.
    stored = (tmp_path / "secrets.json").read_text()
    database = (tmp_path / "own.sqlite").read_bytes()
    secrets = [shop["client_secret"], fx["client_secret"]]
    secrets += re.findall(r'"(?:access_token|refresh_token)": "([^"]+)"', stored)
    assert len(secrets) >= 4
    for secret in secrets:
        assert secret.encode() not in database
