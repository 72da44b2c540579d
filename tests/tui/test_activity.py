"""`junipeer run`'s activity lines: a start line, progress at most every `every` seconds, an end line."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

from engine.store.models import Task, TaskStatus
from junipeer_tui.activity import ActivityLog


def _service() -> SimpleNamespace:
    task = SimpleNamespace(integration_id=1, flow_id=3, kind="sync", trigger="schedule")
    return SimpleNamespace(
        task=lambda _tid: task,
        flows=lambda _iid: [SimpleNamespace(id=2, name="Refunds"), SimpleNamespace(id=3, name="Orders")],
    )


def _counts(processed: int, total: int = 5000) -> dict[str, int]:
    return {"total": total, "processed": processed, "synced": processed - 2, "failed": 1, "skipped": 1}


def test_progress_is_a_start_line_then_at_most_one_line_per_interval() -> None:
    lines: list[str] = []
    now = [100.0]
    log = ActivityLog(_service(), lines.append, every=10.0, clock=lambda: now[0])  # type: ignore[arg-type]
    for processed in range(1, 400):
        now[0] += 0.125  # a record every 125 ms (exact in binary): 49.75 s after the first
        log.progress(7, _counts(processed))
    assert lines[0] == "Task 7 started: sync of Orders, triggered by schedule"
    assert len(lines) == 1 + 4  # at 10, 20, 30 and 40 s after the start line
    assert lines[1] == "Task 7: 81 of 5,000 processed — 79 synced, 1 failed, 1 skipped"


def test_end_lines_say_how_each_task_ended() -> None:
    lines: list[str] = []
    log = ActivityLog(_service(), lines.append)  # type: ignore[arg-type]
    start = datetime(2026, 12, 6, 5, 0, tzinfo=UTC)
    done = Task(
        id=1, integration_id=1, flow_id=3, kind="sync", status=TaskStatus.COMPLETED,
        message="loaded 2026-12-01 00:00 → 2026-12-06 05:00: 180 synced, 4 failed, 11 skipped",
        started_at=start, finished_at=start + timedelta(seconds=8.14),
    )  # fmt: skip
    stopped = Task(
        id=2, integration_id=1, flow_id=3, kind="export_many", status=TaskStatus.STOPPED,
        message="AUTH_FAILED: the refresh token was refused", started_at=start, finished_at=start,
    )  # fmt: skip
    quiet = Task(id=3, integration_id=1, flow_id=3, kind="retry", status=TaskStatus.COMPLETED, synced=1)
    paused = Task(id=4, integration_id=1, flow_id=3, kind="sync", status=TaskStatus.RUNNING)
    for task in (done, stopped, quiet, paused):
        log.finished(task)
    assert lines == [
        f"Task 1 completed in 8.1 s: {done.message}",
        "Task 2 stopped in 0.0 s: AUTH_FAILED: the refresh token was refused",
        "Task 3 completed: 1 synced, 0 failed, 0 skipped",
        "Task 4 paused by shutdown: it resumes on the next run",
    ]
    assert [t.id for t in log.stopped] == [2]
