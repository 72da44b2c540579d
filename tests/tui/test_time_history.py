"""Time History: per flow and direction, covered windows, moving it back through a confirmation
that says how many records the next run re-processes, then the offer to run now; Run now and Perform
task from a date in the command palette."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from textual.widgets import Input, Label, Static

from engine.service import run_headless
from junipeer_tui.commands import ConsoleCommands
from junipeer_tui.dialogs.confirm import ConfirmDialog
from junipeer_tui.dialogs.move_back import MoveBackDialog
from junipeer_tui.screens.time_history import TimeHistorySection
from junipeer_tui.screenshots import snapshot_app
from junipeer_tui.widgets.util import aware
from tests.tui import harness
from tests.tui.conftest import FROZEN_NOW
from tests.tui.harness import SectionHarness, settle, wait_until

live = harness.live
SIZE = (100, 32)


def test_time_history_move_back_confirm_snapshot(console_ctx, snap_compare, monkeypatch) -> None:
    async def estimate(flow, to):
        return 42

    monkeypatch.setattr(console_ctx.service, "reprocess_estimate", estimate)

    async def run_before(pilot) -> None:
        await settle(pilot)
        await pilot.press("b")
        await settle(pilot)
        pilot.app.screen.query_one(Input).value = "2026-11-20"
        await pilot.press("enter")
        await settle(pilot)

    assert snap_compare(
        SectionHarness(console_ctx, TimeHistorySection), terminal_size=SIZE, run_before=run_before
    )


async def test_move_back_rejects_bad_and_future_dates(console_ctx) -> None:
    app = SectionHarness(console_ctx, TimeHistorySection)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("b")
        await pilot.pause()
        dialog = app.screen
        assert isinstance(dialog, MoveBackDialog)
        for text, expected in (("20-11-2026", "not a date"), ("2026-12-30", "in the future")):
            dialog.query_one(Input).value = text
            await pilot.press("enter")
            await pilot.pause()
            assert expected in str(dialog.query_one("#move-back-error", Static).render())
        await pilot.press("escape")
        flow = console_ctx.service.flows(console_ctx.integration_id)[0]
        assert aware(console_ctx.service.time_history(flow.id).last_loaded) == FROZEN_NOW


async def test_perform_task_from_a_date_says_so_then_moves_back_and_runs(console_ctx, monkeypatch) -> None:
    """p is not b: its dialogs name the action and the run, and no "Run now?" follows."""

    async def estimate(flow, to):
        return 42

    monkeypatch.setattr(console_ctx.service, "reprocess_estimate", estimate)
    flow = console_ctx.service.flows(console_ctx.integration_id)[0]
    app = SectionHarness(console_ctx, TimeHistorySection)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("p")
        await pilot.pause()
        picker = app.screen
        assert isinstance(picker, MoveBackDialog)
        assert (
            str(picker.query_one(".dialog-title", Label).render()) == f"Perform task from a date: {flow.name}"
        )
        picker.query_one(Input).value = "2026-11-20"
        await pilot.press("enter")
        await settle(pilot)
        confirm = app.screen
        assert isinstance(confirm, ConfirmDialog) and confirm.title_text == "Perform task from a date?"
        body = str(confirm.query_one("#confirm-body", Static).render())
        assert f"back to 2026-11-20 00:00 UTC, then run {flow.name} now?" in body, body
        assert str(confirm.query_one("#confirm-yes").label) == "Move back and run"
        await pilot.press("y")
        await settle(pilot)
        assert not isinstance(app.screen, ConfirmDialog)
    assert aware(console_ctx.service.time_history(flow.id).last_loaded) == FROZEN_NOW.replace(day=20, hour=0)
    assert len(_manual_syncs(console_ctx)) == 1


async def test_moving_time_history_back_through_the_ui(live) -> None:
    ctx, _ = live
    await asyncio.to_thread(lambda: asyncio.run(run_headless(ctx.service, until_idle=True, concurrency=4)))
    flow = ctx.service.flows(ctx.integration_id)[0]
    before = aware(ctx.service.time_history(flow.id).last_loaded)
    assert before is not None and ctx.service.time_windows(flow.id)
    target = (before - timedelta(days=3)).replace(hour=0, minute=0, second=0, microsecond=0)
    app = SectionHarness(ctx, TimeHistorySection)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("b")
        await pilot.pause()
        app.screen.query_one(Input).value = target.date().isoformat()
        await pilot.press("enter")
        await pilot.pause()
        confirm = app.screen
        assert isinstance(confirm, ConfirmDialog)
        detail = confirm.query_one("#confirm-detail", Static)
        await wait_until(pilot, lambda: "counting" not in str(detail.render()))
        assert "re-processes" in str(detail.render()), str(detail.render())
        await pilot.press("y")
        await settle(pilot)
        assert aware(ctx.service.time_history(flow.id).last_loaded) == target
        # Moved back: the console offers to run the flow now rather than wait for a schedule.
        offer = app.screen
        assert isinstance(offer, ConfirmDialog) and offer.title_text == f"Run {flow.name} now?"
        assert str(offer.query_one("#confirm-no").label) == "Later"
        await pilot.press("y")
        await wait_until(pilot, lambda: _manual_syncs(ctx) and _manual_syncs(ctx)[0].status == "completed")
        await settle(pilot)
    assert aware(ctx.service.time_history(flow.id).last_loaded) > before


def _manual_syncs(ctx):
    return [t for t in ctx.service.tasks(ctx.integration_id) if t.kind == "sync" and t.trigger == "manual"]


async def test_palette_runs_a_flow_now_and_offers_perform_task(console_ctx) -> None:
    app = snapshot_app(console_ctx)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("2")  # Flows lists an entry per flow once shown
        await settle(pilot)
        commands = {title: callback for title, _help, callback in ConsoleCommands(app.screen).commands()}
        for title in (
            "Run now (Flows)",
            "Perform task from a date (Flows)",
            "Run now: Orders → Fortnox (Flows)",
            "Perform task from a date: Orders → Fortnox (Flows)",
            "Run now (Time History)",
            "Perform task from a date (Time History)",
        ):
            assert title in commands, sorted(commands)
        await commands["Perform task from a date (Time History)"]()
        await settle(pilot)
        assert app.console_screen.active == "time_history" and isinstance(app.screen, MoveBackDialog)
        await pilot.press("escape")
        await settle(pilot)
        assert not _manual_syncs(console_ctx)
        await commands["Run now: Orders → Fortnox (Flows)"]()
        await settle(pilot)
        assert app.console_screen.active == "flows"
        assert len(_manual_syncs(console_ctx)) == 1
