"""Tasks: the list, the task detail with its log lines, filters and Retry."""

from __future__ import annotations

import re

import pytest

from engine.store.models import Task
from junipeer_tui.screens.tasks import TaskDetailScreen
from junipeer_tui.screenshots import NARROW, SCENES, SIZE, settle, snapshot_app


@pytest.fixture(autouse=True)
def _frozen_task_messages(console_ctx) -> None:
    """A sync task's message names the wall-clock end of its window ("→ 2026-11-24 05:54"), which the
    shared seed does not freeze: pin it to the frozen clock so the task detail snapshot is stable."""
    with console_ctx.service.session() as s:
        for task in s.query(Task).all():
            if task.message:
                task.message = re.sub(r"→ \d{4}-\d\d-\d\d \d\d:\d\d", "→ 2026-11-24 12:00", task.message)
                s.add(task)
        s.commit()


def test_tasks_snapshot(console_ctx, snap_compare) -> None:
    assert snap_compare(snapshot_app(console_ctx), terminal_size=SIZE, run_before=SCENES["tasks"])


def test_tasks_80x24_snapshot(console_ctx, snap_compare) -> None:
    assert snap_compare(snapshot_app(console_ctx), terminal_size=NARROW, run_before=SCENES["tasks"])


def test_task_detail_snapshot(console_ctx, snap_compare) -> None:
    assert snap_compare(snapshot_app(console_ctx), terminal_size=SIZE, run_before=SCENES["task_detail"])


async def test_retry_a_task_with_failures_enqueues_a_retry(console_ctx) -> None:
    svc, iid = console_ctx.service, console_ctx.integration_id
    app = snapshot_app(console_ctx)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("4")
        await settle(pilot)
        await pilot.press("down")  # past the payouts sync (newest) to the orders sync and its failures
        await pilot.press("r")
        await settle(pilot)
        newest = svc.tasks(iid, limit=1)[0]
        assert newest.trigger == "retry" and newest.retry_of == 1 and newest.kind == "retry"
        await settle(pilot)  # the refresh tick (or a reload) shows it
        app.console_screen.section("tasks").reload()
        assert app.console_screen.query_one("#tasks-table").row_count == 3


async def test_status_filter_and_detail(console_ctx) -> None:
    app = snapshot_app(console_ctx)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("4")
        await settle(pilot)
        app.show_section("tasks", status="stopped")
        await settle(pilot)
        assert app.console_screen.query_one("#tasks-table").row_count == 0
        app.show_section("tasks", status="completed")
        await settle(pilot)
        assert app.console_screen.query_one("#tasks-table").row_count == 2  # orders, then payouts
        await pilot.press("down", "enter")
        await settle(pilot)
        assert isinstance(app.screen, TaskDetailScreen)
        assert app.screen.query_one("#task-logs").row_count == 40  # the sync's lines, refunds' included
