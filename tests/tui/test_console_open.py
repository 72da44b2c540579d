"""`junipeer` alone (and `junipeer console`) opens the console on the operator's own database, with
the engine inside: the command line is parsed as the program does, and the app it would run is
driven with Textual's pilot. Several integrations: the picker at start, switching later (key i and
the palette), the screens following. Errors print as one coded line, the help stays reachable."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from textual.widgets import Input, OptionList

from engine.sandbox.server import SandboxConfig, start_in_thread
from engine.service import Service
from junipeer_tui import cli
from junipeer_tui.app import ConsoleScreen, JunipeerApp
from junipeer_tui.screens.configure import ConfigureSection, ConnectorCard
from junipeer_tui.screens.get_started import GetStartedScreen
from junipeer_tui.screens.picker import IntegrationPicker
from junipeer_tui.screenshots import SIZE, screen_text, settle
from junipeer_tui.widgets.header import ConsoleHeader
from tests.e2e.conftest import Sandbox
from tests.tui.harness import wait_until


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The operator's own data directory and database, with secrets in its file store."""
    monkeypatch.setenv("JUNIPEER_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("JUNIPEER_SECRETS", "file")
    monkeypatch.delenv("JUNIPEER_DATABASE_URL", raising=False)
    return f"sqlite:///{tmp_path / 'own.sqlite'}"


def opened(args: list[str], monkeypatch: pytest.MonkeyPatch) -> JunipeerApp:
    """The app `junipeer ARGS` would run, built by the command line itself."""
    apps: list[JunipeerApp] = []
    monkeypatch.setattr(cli, "open_console", apps.append)
    with pytest.raises(SystemExit) as done:
        cli.main(args)
    assert done.value.code == 0
    [app] = apps
    return app


async def test_junipeer_alone_opens_get_started_on_an_empty_database(workspace, monkeypatch) -> None:
    app = opened(["--db", workspace], monkeypatch)
    assert app.run_engine and app.service.integrations() == []
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, GetStartedScreen) and app.console_screen is None
        assert "Get Started · a new integration · 0 of 7 steps done" in screen_text(app)
        assert app.engine is not None and app.engine.status().alive
    assert app.engine is None  # stopped on the way out


async def test_console_switches_between_integrations(workspace, monkeypatch) -> None:
    with start_in_thread(SandboxConfig(orders=8, seed=4, time_scale=0.01)) as running:
        sb = Sandbox(running)
        setup = Service(workspace)
        await setup.connect_sandbox(sb.info, "Shop A", live=True)
        setup.create_integration("Shop B")
        await setup.aclose()

        app = opened(["--db", workspace, "console"], monkeypatch)
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            # Two integrations and none named: the picker, with a way to start a third.
            assert isinstance(app.screen, IntegrationPicker)
            options = app.screen.query_one(OptionList)
            prompts = [str(options.get_option_at_index(i).prompt) for i in range(options.option_count)]
            assert "Shop A" in prompts[0] and "Shop B" in prompts[1] and "New integration" in prompts[2]
            await pilot.press("enter")  # Shop A: Live, so the console opens on its Dashboard
            await settle(pilot)
            assert isinstance(app.screen, ConsoleScreen)
            assert (
                app.console_screen.query_one(ConsoleHeader).query_one("#integration-name").content == "Shop A"
            )
            assert not app.console_screen.query_one("#dash-setup").display

            # Switch with key i: Shop B is not Live, so it opens on Get Started at the shop step.
            await pilot.press("i")
            await settle(pilot)
            picker = app.screen
            assert isinstance(picker, IntegrationPicker)
            await pilot.press("down", "enter")
            await wait_until(pilot, lambda: isinstance(app.screen, GetStartedScreen))
            await settle(pilot)
            a, b = app.service.integration("Shop A").id, app.service.integration("Shop B").id
            assert app.ctx.integration_id == b
            assert app.screen.query_one("#gs-panes").current == "gs-shop"
            await pilot.press("escape")
            await settle(pilot)
            # The console behind it is Shop B's: its Dashboard lists what is left, Connectors its cards.
            console = app.console_screen
            assert console.query_one("#integration-name").content == "Shop B"
            setup_panel = console.query_one("#dash-setup")
            assert setup_panel.display and "next: Connect the shop" in str(setup_panel.border_title)
            await pilot.press("8")
            await settle(pilot)
            configure = console.query_one(ConfigureSection)
            configure.action_show_tab("connectors")
            await settle(pilot)
            assert [c.connector for c in configure.query(ConnectorCard)] == [None, None, None]
            assert "○ Not connected" in screen_text(app)

            # And back through the palette's "Switch integration…".
            await pilot.press("ctrl+p")
            await settle(pilot)
            await pilot.press(*"switch integ")
            await settle(pilot)
            await pilot.press("enter")
            await settle(pilot)
            assert isinstance(app.screen, IntegrationPicker)
            await pilot.press("enter")  # the highlighted one is the integration in view
            await settle(pilot)
            assert app.ctx.integration_id == b
            await pilot.press("i")
            await settle(pilot)
            await pilot.press("up", "enter")
            await wait_until(pilot, lambda: app.ctx.integration_id != b)
            await settle(pilot)
            assert app.console_screen.query_one("#integration-name").content == "Shop A"
            assert isinstance(app.screen, ConsoleScreen)

            # The picker's last line starts a third integration in Get Started.
            await pilot.press("i")
            await settle(pilot)
            await pilot.press("end", "enter")
            await wait_until(pilot, lambda: isinstance(app.screen, GetStartedScreen))
            await settle(pilot)
            assert app.screen.query_one("#gs-panes").current == "gs-name"
            app.screen.query_one("#gs-name-input", Input).value = "Shop C"
            await pilot.press("enter")
            await wait_until(pilot, lambda: app.ctx.integration_id not in (b, a))
            await settle(pilot)
            assert app.service.integration(app.ctx.integration_id).name == "Shop C"
            assert isinstance(app.screen, GetStartedScreen)
            assert app.screen.query_one("#gs-panes").current == "gs-shop"
        sb.http.close()


async def test_dash_i_picks_the_integration(workspace, monkeypatch) -> None:
    setup = Service(workspace)
    setup.create_integration("First")
    setup.create_integration("Second")
    setup.db.dispose()
    app = opened(["--db", workspace, "-i", "Second"], monkeypatch)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, GetStartedScreen)  # in onboarding: Get Started in front
        assert "Get Started · Second · 1 of 7 steps done" in screen_text(app)
        assert app.screen.query_one("#gs-panes").current == "gs-shop"


def test_errors_are_one_coded_line_and_help_stays(workspace, monkeypatch, tmp_path, capsys) -> None:
    ran: list[Any] = []
    monkeypatch.setattr(cli, "open_console", ran.append)
    for args, code in [
        (["--db", f"sqlite:///{tmp_path / 'no' / 'such' / 'dir' / 'x.sqlite'}"], "DATABASE_FOLDER_MISSING"),
        (["--db", "nonsense://"], "DATABASE_URL_INVALID"),
        (["--db", workspace, "-i", "Nobody"], "NO_INTEGRATION"),
    ]:
        with pytest.raises(SystemExit) as done:
            cli.main(args)
        err = capsys.readouterr().err
        assert done.value.code == 1 and f"error {code}:" in err, err
        assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert ran == []
    with pytest.raises(SystemExit) as done:
        cli.main(["--help"])
    out = capsys.readouterr().out
    assert done.value.code == 0 and "Without a command, opens the console" in out and "console" in out
