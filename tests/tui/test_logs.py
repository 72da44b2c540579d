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


async def test_a_reference_search_follows_its_new_lines_through_the_reference_index(console_ctx) -> None:
    """The tick under a reference search shows the reference's new lines, and never asks for the
    lines after an id with a reference (SQLite walks every newer line for that: 0.2 s a second on
    5,000,000 lines, bench/console.py)."""
    svc, iid = console_ctx.service, console_ctx.integration_id
    app = snapshot_app(console_ctx)
    asked: list[dict] = []
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("5")
        await settle(pilot)
        logs = app.console_screen.section("logs")
        app.show_section("logs", ref="#1031")
        await settle(pilot)
        before = [r.id for r in logs.rows]
        real_logs = svc.logs

        def watched(integration_id: int, **kw: object) -> list[LogEntry]:
            asked.append(kw)
            return real_logs(integration_id, **kw)

        svc.logs = watched  # type: ignore[method-assign]
        try:
            with svc.session() as s:
                for ref in ("#1031", "#1032"):
                    s.add(LogEntry(integration_id=iid, message=f"Order {ref} synced", reference=ref))
                s.commit()
            logs.reload()
            await pilot.press("f")  # paused: the new line is counted
            with svc.session() as s:
                s.add(LogEntry(integration_id=iid, message="Order #1031 booked", reference="#1031"))
                s.commit()
            logs.reload()
        finally:
            del svc.logs
        assert [r.message for r in logs.rows[:1]] == ["Order #1031 synced"]
        assert [r.id for r in logs.rows[1:]] == before
        assert logs.waiting == 1
        assert asked and all(not (kw.get("ref") and kw.get("after_id")) for kw in asked)


async def test_a_tick_between_a_search_key_and_its_query_never_mixes_two_searches(console_ctx) -> None:
    """The once-a-second tick can run after a key has changed the reference box and before the
    section has handled the change (a Changed message still queued). The tick then shows the lines
    of the reference in the box, not the new reference's lines on top of the old one's."""
    app = snapshot_app(console_ctx)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("5")
        await settle(pilot)
        logs = app.console_screen.section("logs")
        app.show_section("logs", ref="#1002")
        await settle(pilot)
        assert logs.rows and {r.reference for r in logs.rows} == {"#1002"}
        box = logs.query_one("#logs-ref")
        box.value = "#1020"  # as the last key of a search does; its Changed is not handled yet
        logs.reload()  # the tick
        assert logs.rows and {r.reference for r in logs.rows} == {"#1020"}
        shown = [r.id for r in logs.rows]
        await settle(pilot)  # the Changed arrives: the same lines
        assert [r.id for r in logs.rows] == shown
        assert list(logs.table.keys) == shown
