"""The shell: sections by key and by mouse, help built from the registry, the command palette's
provider, and placeholders for sections that are not built yet."""

from __future__ import annotations

import re

import pytest

from junipeer_tui import app as app_mod
from junipeer_tui.commands import ConsoleCommands
from junipeer_tui.screens.help import HelpScreen
from junipeer_tui.screenshots import NARROW, SCENES, SIZE, screen_text, settle, snapshot_app
from junipeer_tui.widgets.key_footer import KeyFooter
from junipeer_tui.widgets.sidebar import SECTIONS


def test_shell_dashboard_snapshot(console_ctx, snap_compare) -> None:
    assert snap_compare(snapshot_app(console_ctx), terminal_size=SIZE, run_before=SCENES["dashboard"])


def test_shell_dashboard_80x24_snapshot(console_ctx, snap_compare) -> None:
    assert snap_compare(snapshot_app(console_ctx), terminal_size=NARROW, run_before=SCENES["dashboard"])


# What each section must show whole at 80×24: a row of the records table, the last table columns,
# the card's last buttons.
NARROW_MUST_SHOW = {
    "dashboard": [r"│ +synced error pending +│", r"│ Orders +26 +1 +0 +│", r"│ Customers +10 +0 +0 +│"],
    "flows": [r"Export One +▾ +Export Many +▾ ", r"│ +⚙ Filters +⇄ References +│"],
    "tasks": [r"Status +Synced +Failed +Skipped", r"completed +26 +1 +3"],
    "logs": [r"Code +Ref +Message", r"PAYOUT_LINE_PAID +71839921 \S+ +Payout line"],
    "time_history": [
        r"Orders: Shopify → Fortnox +2026-11-24 12:00 +5 min",
        r"2026-11-23 00:00 +2026-11-24 00:00 +2",
    ],
    "entities": [
        r"Status +Retriever Reference +Storer Reference +Last Updated",
        r"error +#1006 +— +1 h ago",
    ],
    "references": [
        r"Source label +Source id +Target id +Updated",
        r"#1027 +5100000459 +26 +2026-11-24 10:0\d",
    ],
    "configure": [
        r"Settings +Connectors +Scheduling +Webhooks +General",
        r"Clear Cache +Dropdown values come from the platforms;",
        r"▶ Payment Methods",
    ],
    "configure_connectors": [r"│  Test connection   Manage… │", r"● Connected", r"Connection sandbox +▼"],
    "configure_scheduling": [
        r"Rule +Flows +Every +Active hours +On",
        r"Every 15 minutes +Orders \+1 more +15 min +all day +on",
        r"a Add rule +e Edit +space On/off +d Delete",
    ],
}


@pytest.mark.parametrize("scene", list(NARROW_MUST_SHOW))
async def test_80x24_cuts_no_column_button_or_key(console_ctx, scene) -> None:
    app = snapshot_app(console_ctx)
    async with app.run_test(size=NARROW) as pilot:
        await SCENES[scene](pilot)
        await settle(pilot)
        lines = screen_text(app).splitlines()
        for pattern in NARROW_MUST_SHOW[scene]:
            assert any(re.search(pattern, line) for line in lines), (pattern, "\n".join(lines))
        footer = app.console_screen.query_one(KeyFooter)
        shown, palette = lines[-1].rsplit("▏", 1)
        assert palette.strip() == "^p palette" and "? Help" in shown
        # Every key in the footer is whole: a key and its full description, none cut at the edge.
        whole = {f"{display} {description}" for _key, display, description, _on in footer._entries}
        parts = [part.strip() for part in shown.split("  ") if part.strip()]
        assert parts and all(part in whole for part in parts), parts


def test_help_modal_snapshot(console_ctx, snap_compare) -> None:
    assert snap_compare(snapshot_app(console_ctx), terminal_size=SIZE, run_before=SCENES["help"])


def test_command_palette_snapshot(console_ctx, snap_compare) -> None:
    assert snap_compare(snapshot_app(console_ctx), terminal_size=SIZE, run_before=SCENES["command_palette"])


async def test_keys_and_clicks_switch_sections(console_ctx) -> None:
    app = snapshot_app(console_ctx)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert app.console_screen.active == "dashboard"
        await pilot.press("3")
        await settle(pilot)
        assert app.console_screen.active == "entities"
        assert app.console_screen.query_one("#content").current == "section-entities"
        assert app.focused is not None and app.focused.id == "entities-table"
        for n, (sid, _title) in enumerate(SECTIONS, 1):
            await pilot.press(str(n))
            await settle(pilot)
            assert app.console_screen.active == sid
        # The sidebar is clickable: the fifth line is Logs.
        await pilot.click("#sidebar", offset=(3, 5))
        await settle(pilot)
        assert app.console_screen.active == "logs"


async def test_a_section_key_draws_the_section_with_its_focus_in_the_first_frame(console_ctx) -> None:
    """No frame shows a section before its table has the focus: such a frame lacked the cursor the
    next key moves, and the table was drawn once more with it a moment later."""
    app = snapshot_app(console_ctx)
    frames: list[tuple[str | None, bool]] = []
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        content = app.console_screen.query_one("#content")
        drawn = app._display

        def display(screen, update) -> None:  # type: ignore[no-untyped-def]
            drawn(screen, update)
            if update is not None:
                focus = app.focused
                inside = focus is not None and any(a.id == content.current for a in focus.ancestors)
                frames.append((content.current, inside))

        app._display = display  # type: ignore[method-assign]
        for key in "3451":
            await pilot.press(key)
            await settle(pilot)
    shown = {current for current, _ in frames}
    assert {"section-entities", "section-logs", "section-tasks", "section-dashboard"} <= shown
    assert [frame for frame in frames if not frame[1]] == []


async def test_sections_mount_in_the_background_soon_after_start(console_ctx) -> None:
    """Opening a section after the first second is a switch, not a mount."""
    app = snapshot_app(console_ctx)
    app.background_mount = True
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        console = app.console_screen
        for _ in range(60):
            if all(section.is_attached for section in console.sections()):
                break
            await pilot.pause(0.05)
        assert all(section.is_attached for section in console.sections())
        assert console.active == "dashboard" and not console.section("logs").display
        # Mounted unseen, Configure has asked the platforms for nothing yet.
        assert not console.section("configure")._lookups_started
        await pilot.press("5")
        await settle(pilot)
        assert console.active == "logs" and console.section("logs").display
        await pilot.press("8")
        await settle(pilot)
        assert console.section("configure")._lookups_started


async def test_footer_shows_the_sections_keys_and_clicks_press_them(console_ctx) -> None:
    app = snapshot_app(console_ctx)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("5")
        await settle(pilot)
        footer = app.console_screen.query_one(KeyFooter)
        shown = str(footer.render())
        assert "Follow" in shown and "Help" in shown and shown.rstrip().endswith("palette")
        help_at = next(start for start, _end, key in footer._spans if key == "question_mark")
        await pilot.click(KeyFooter, offset=(help_at + 1, 0))
        await settle(pilot)
        assert isinstance(app.screen, HelpScreen)


async def test_help_lists_the_active_sections_actions(console_ctx) -> None:
    app = snapshot_app(console_ctx)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("4", "question_mark")
        await settle(pilot)
        assert isinstance(app.screen, HelpScreen)
        text = str(app.screen.query_one("#help-section-actions").render())
        assert "Retry task" in text and "Clear filters" in text
        assert "Find a reference" in str(app.screen.query_one("#help-global-actions").render())
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, HelpScreen)
        # Keys read as the footer shows them: "/ Search", not "slash Search".
        await pilot.press("3", "question_mark")
        await settle(pilot)
        text = str(app.screen.query_one("#help-section-actions").render())
        assert "/ Search" in text and "slash" not in text, text


async def test_palette_lists_sections_and_every_sections_actions(console_ctx) -> None:
    app = snapshot_app(console_ctx)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        provider = ConsoleCommands(app.screen)
        titles = [title for title, _help, _cb in provider.commands()]
        assert "Go to Logs" in titles and "Find a reference…" in titles
        for section in app.console_screen.sections():
            for action in section.ACTIONS:
                assert f"{action.title} ({section.TITLE})" in titles
        assert "Retry entity (Entities)" in titles
        # Running a section's action from the palette switches to that section first.
        await app.run_section_action("logs", "toggle_follow")
        await settle(pilot)
        assert app.console_screen.active == "logs"
        assert app.console_screen.section("logs").follow is False


def test_missing_section_module_falls_back_to_a_placeholder(monkeypatch) -> None:
    monkeypatch.setitem(app_mod.SECTION_CLASSES, "flows", ("junipeer_tui.screens.not_there", "Nope"))
    cls = app_mod.load_section_class("flows")
    assert issubclass(cls, app_mod.PlaceholderSection)
    assert cls.SECTION == "flows" and cls.REASON == "not built yet"


async def test_engine_errors_become_notifications(console_ctx) -> None:
    app = snapshot_app(console_ctx)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        console_ctx.service.db.dispose()
        app.console_screen.ctx.integration_id = 999  # the header cannot find it: an EngineError
        app.console_screen.tick()
        await pilot.pause()
        assert any("NO_INTEGRATION" in n.message for n in app._notifications)
