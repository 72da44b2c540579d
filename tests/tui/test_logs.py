"""Logs: filtered by reference and by level; follow mode picks up new lines."""

from __future__ import annotations

from engine.store.models import LogEntry
from junipeer_tui.screenshots import NARROW, SCENES, SIZE, settle, snapshot_app


def test_logs_for_ref_snapshot(console_ctx, snap_compare) -> None:
    assert snap_compare(snapshot_app(console_ctx), terminal_size=SIZE, run_before=SCENES["logs_for_ref"])


def test_logs_80x24_snapshot(console_ctx, snap_compare) -> None:
    assert snap_compare(snapshot_app(console_ctx), terminal_size=NARROW, run_before=SCENES["logs"])


async def test_level_filter_shows_only_errors(console_ctx) -> None:
    app = snapshot_app(console_ctx)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("5")
        await settle(pilot)
        logs = app.console_screen.section("logs")
        assert len(logs.rows) > 1
        app.show_section("logs", level="error")
        await settle(pilot)
        assert logs.rows and {r.level for r in logs.rows} == {"error"}
        assert app.console_screen.query_one("#logs-table").row_count == len(logs.rows)
        await pilot.press("enter")  # the line names #1006: troubleshoot it
        await settle(pilot)
        assert app.screen.id == "troubleshoot"


async def test_follow_mode_adds_new_lines(console_ctx) -> None:
    svc, iid = console_ctx.service, console_ctx.integration_id
    app = snapshot_app(console_ctx)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("5")
        await settle(pilot)
        logs = app.console_screen.section("logs")
        with svc.session() as s:
            s.add(
                LogEntry(
                    integration_id=iid, message="Order #1031 synced", code="ORDER_SYNCED", reference="#1031"
                )
            )
            s.commit()
        logs.reload()
        assert logs.rows[0].reference == "#1031"
        await pilot.press("f")  # pause: a new line is counted, not shown
        with svc.session() as s:
            s.add(LogEntry(integration_id=iid, message="Order #1032 synced", reference="#1032"))
            s.commit()
        logs.reload()
        assert logs.rows[0].reference == "#1031" and logs.waiting == 1
