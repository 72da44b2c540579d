"""Flows: the cards, Export One and Export Many dialogs, quick links, and Export One for real."""

from __future__ import annotations

import re
from datetime import timedelta

from textual.widgets import Input, Static

from engine.runtime import queue
from engine.runtime.embedded import EmbeddedEngine
from engine.runtime.runner import counts_text
from engine.store.models import EntityStatus, Task
from junipeer_tui.dialogs.export_many import ExportManyDialog
from junipeer_tui.dialogs.export_one import ExportOneDialog, recent_records
from junipeer_tui.screens.flow_detail import FlowDetailScreen
from junipeer_tui.screens.flows import FlowCard, FlowsSection
from junipeer_tui.screenshots import NARROW, SCENES, screen_text, snapshot_app
from tests.tui import harness
from tests.tui.conftest import FROZEN_NOW
from tests.tui.harness import SectionHarness, settle, wait_until

live = harness.live

SIZE = (100, 32)


def test_flows_section_snapshot(console_ctx, snap_compare) -> None:
    assert snap_compare(SectionHarness(console_ctx, FlowsSection), terminal_size=SIZE, run_before=settle)


def test_flows_80x24_snapshot(console_ctx, snap_compare) -> None:
    assert snap_compare(snapshot_app(console_ctx), terminal_size=NARROW, run_before=SCENES["flows"])


def test_export_one_dialog_snapshot(console_ctx, snap_compare) -> None:
    async def run_before(pilot) -> None:
        await settle(pilot)
        await pilot.press("o")
        await settle(pilot)

    assert snap_compare(SectionHarness(console_ctx, FlowsSection), terminal_size=SIZE, run_before=run_before)


def _running_export_many(console_ctx) -> Task:
    """An export_many task a worker has claimed and reported 40 of 120 records on."""
    svc = console_ctx.service
    flow = svc.flows(console_ctx.integration_id)[0]
    task = svc.export_many(flow, FROZEN_NOW.date() - timedelta(days=7), FROZEN_NOW.date())
    claimed = queue.claim_next(svc.db, "snapshot-worker", 600)
    assert claimed is not None and claimed.id == task.id
    queue.heartbeat(svc.db, task.id, "snapshot-worker", 600, processed=40, total=120, synced=38, failed=2)
    with svc.session() as s:
        row = s.get(Task, task.id)
        row.started_at = FROZEN_NOW - timedelta(seconds=75)
        s.add(row)
        s.commit()
    return task


def test_export_many_progress_snapshot(console_ctx, snap_compare) -> None:
    task = _running_export_many(console_ctx)
    flow = console_ctx.service.flows(console_ctx.integration_id)[0]

    async def run_before(pilot) -> None:
        await settle(pilot)
        pilot.app.push_screen(ExportManyDialog(console_ctx, flow, task_id=task.id))
        await pilot.pause(0.4)
        for worker in list(pilot.app.workers):
            worker.cancel()  # the follower polls forever on a task nobody finishes
        await settle(pilot)

    assert snap_compare(SectionHarness(console_ctx, FlowsSection), terminal_size=SIZE, run_before=run_before)


async def test_a_finished_export_many_says_its_counts_once(console_ctx) -> None:
    task = _running_export_many(console_ctx)
    counts = {"processed": 120, "total": 120, "synced": 115, "failed": 2, "skipped": 3}
    # The runner's own message for an Export Many is these counts.
    queue.finish(console_ctx.service.db, task.id, "completed", counts_text(115, 2, 3), **counts)
    flow = console_ctx.service.flows(console_ctx.integration_id)[0]
    app = SectionHarness(console_ctx, FlowsSection)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await app.push_screen(ExportManyDialog(console_ctx, flow, task_id=task.id))
        outcome = lambda: str(app.screen.query_one("#export-many-outcome", Static).render())  # noqa: E731
        await wait_until(pilot, lambda: "Completed" in outcome())
        assert outcome().splitlines()[0] == "Completed: 115 synced, 2 failed, 3 skipped"
        assert "See Logs for the failed records." in outcome()


async def test_export_many_validates_dates_inline(console_ctx) -> None:
    app = SectionHarness(console_ctx, FlowsSection)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("m")
        await pilot.pause()
        dialog = app.screen
        assert isinstance(dialog, ExportManyDialog)
        dialog.query_one("#export-many-from", Input).value = "2026-13-01"
        dialog.run_export()
        assert "not a date" in str(dialog.query_one("#export-many-error", Static).render())
        dialog.query_one("#export-many-from", Input).value = "2026-11-20"
        dialog.query_one("#export-many-to", Input).value = "2026-11-10"
        dialog.run_export()
        assert "before it starts" in str(dialog.query_one("#export-many-error", Static).render())
        assert dialog.task_id is None
        assert not console_ctx.service.tasks(console_ctx.integration_id, status="pending")


async def test_quick_links_keys_and_detail(console_ctx) -> None:
    app = SectionHarness(console_ctx, FlowsSection)
    flow = console_ctx.service.flows(console_ctx.integration_id)[0]
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert isinstance(app.focused, FlowCard)
        await pilot.press("l")
        await pilot.press("t")
        await pilot.click(f"#links-one-{flow.id}")
        await pilot.pause()
        await pilot.press("down", "enter")  # Task History in the ▾ menu
        await pilot.pause()
        assert app.shown == [
            ("logs", {"flow_id": flow.id}),
            ("tasks", {"flow_id": flow.id}),
            ("tasks", {"flow_id": flow.id}),
        ]
        app.query_one(FlowCard).focus()
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, FlowDetailScreen)
        text = str(app.screen.query_one("#detail-th-lines", Static).render())
        assert "Last loaded" in text and "2026-11-24 12:00" in text
        # The palette gets one entry per flow.
        titles = [a.title for a in app.section.ACTIONS]
        assert "Export One: Orders → Fortnox" in titles


def _shows(app, pattern: str) -> bool:
    return any(re.search(pattern, line) for line in screen_text(app).splitlines())


async def test_export_one_at_80x24_keeps_its_buttons_on_screen(console_ctx) -> None:
    """The list of recent records gives way to the buttons, also once the status line speaks."""
    app = snapshot_app(console_ctx)
    async with app.run_test(size=NARROW) as pilot:
        await pilot.press("2", "o")
        await settle(pilot)
        dialog = app.screen
        assert isinstance(dialog, ExportOneDialog)
        assert _shows(app, r"█ +Export +Close +█"), screen_text(app)
        assert _shows(app, r"#1006 +✗ error +1 hour ago +ARTICLE_NOT_FOUND")
        await pilot.press("enter")  # no reference: the status line says what to type
        await settle(pilot)
        assert "Enter a reference" in str(dialog.query_one("#export-one-status", Static).render())
        assert _shows(app, r"Enter a reference such as #1001") and _shows(app, r"█ +Export +Close +█")
        assert screen_text(app).splitlines()[-1].startswith(" esc Close")


async def test_flow_detail_at_80x24_shows_its_links_whole_and_its_own_keys(console_ctx) -> None:
    app = snapshot_app(console_ctx)
    async with app.run_test(size=NARROW) as pilot:
        await pilot.press("2", "enter")
        await settle(pilot)
        assert isinstance(app.screen, FlowDetailScreen)
        assert _shows(app, r"Settings +Filters +Logs +Task History +█"), screen_text(app)
        assert _shows(app, r"2026-11-22 00:00 → 2026-11-23 00:00 +1 record +│")
        # The detail's keys, not those of the Flows section behind it (where s is Filters).
        footer = screen_text(app).splitlines()[-1]
        assert footer.startswith(" esc Back  s Settings  f Filters") and "? Help" in footer, footer
        assert "Export One" not in footer


def test_recent_records_put_errors_first(console_ctx) -> None:
    flow = console_ctx.service.flows(console_ctx.integration_id)[0]
    rows = recent_records(console_ctx, flow)
    statuses = [r.status for r in rows]
    assert statuses[0] == EntityStatus.ERROR
    assert statuses == sorted(statuses, key=lambda s: {"error": 0, "pending": 1, "synced": 2}[s])


async def test_export_one_through_the_dialog_syncs_the_order(live) -> None:
    ctx, sb = live
    engine = EmbeddedEngine(ctx.service, scheduler=False, concurrency=2)
    engine.start()
    ctx.engine = engine
    try:
        order = next(o for o in sb.get("shopify/orders") if o["financial_status"] == "paid")
        app = SectionHarness(ctx, FlowsSection)
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            await pilot.press("o")
            await pilot.pause()
            dialog = app.screen
            assert isinstance(dialog, ExportOneDialog)
            await pilot.press(*order["name"], "enter")
            status = dialog.query_one("#export-one-status", Static)
            await wait_until(pilot, lambda: _done(status))
            assert "synced as" in str(status.render()), str(status.render())
        entity = ctx.service.entities(ctx.integration_id, ref=order["name"], entity_type="order")[0]
        assert entity.status == EntityStatus.SYNCED
        assert order["name"] in {o["YourOrderNumber"] for o in sb.get("fortnox/orders")}
    finally:
        engine.stop()
        ctx.engine = None


async def test_export_one_without_engine_runs_in_a_worker(live) -> None:
    ctx, sb = live
    order = next(o for o in sb.get("shopify/orders") if o["financial_status"] == "paid")
    app = SectionHarness(ctx, FlowsSection)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("o")
        await pilot.pause()
        dialog = app.screen
        assert isinstance(dialog, ExportOneDialog)
        await pilot.press(*str(order["id"]), "enter")
        status = dialog.query_one("#export-one-status", Static)
        await wait_until(pilot, lambda: _done(status))
        assert "synced as" in str(status.render())
        # A reference that does not exist: the code and what to do, never a traceback.
        await pilot.press("ctrl+a", "ctrl+k", *"#99999", "enter")
        await wait_until(pilot, lambda: "Task" in str(status.render()) and "…" not in str(status.render()))
        text = str(status.render())
        assert "Traceback" not in text


def _done(status: Static) -> bool:
    text = str(status.render())
    return "synced as" in text or "failed" in text or "stopped" in text
