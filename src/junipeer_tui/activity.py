"""What `junipeer run` prints while it works, one line at a time on stderr: a task starting, its
progress now and then, and how it ended. A headless worker can run for an hour on a first sync
under Fortnox's limit; its log should say what it is doing, not stay silent until it exits."""

from __future__ import annotations

import time
from collections.abc import Callable

from engine.errors import EngineError
from engine.runtime.runner import counts_text
from engine.service import Service
from engine.store.models import Task, TaskStatus


class ActivityLog:
    """The runner's `progress` and `finished` callbacks, as log lines. Progress comes on every
    record, so it is printed at most once per `every` seconds per task."""

    def __init__(
        self,
        service: Service,
        echo: Callable[[str], None],
        *,
        every: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.service = service
        self.echo = echo
        self.every = every
        self.clock = clock
        self.ended: list[Task] = []
        self._last_line: dict[int, float] = {}

    def progress(self, task_id: int, counters: dict[str, int]) -> None:
        now = self.clock()
        last = self._last_line.get(task_id)
        if last is None:
            self._last_line[task_id] = now
            self.echo(f"Task {task_id} started: {self._describe(task_id)}")
        elif now - last >= self.every:
            self._last_line[task_id] = now
            total = counters.get("total") or 0
            of = f" of {total:,}" if total else ""
            said = counts_text(counters["synced"], counters["failed"], counters["skipped"])
            self.echo(f"Task {task_id}: {counters['processed']:,}{of} processed — {said}")

    def finished(self, task: Task) -> None:
        self._last_line.pop(task.id, None)  # type: ignore[arg-type]
        self.ended.append(task)
        if task.status not in (TaskStatus.COMPLETED, TaskStatus.STOPPED):
            if task.not_before is not None:  # an outage paused it; the message says until when
                self.echo(f"Task {task.id} {task.message}")
            else:
                self.echo(f"Task {task.id} paused by shutdown: it resumes on the next run")
            return
        took = ""
        if task.started_at and task.finished_at:
            took = f" in {(task.finished_at - task.started_at).total_seconds():.1f} s"
        # A task's message already says what it did ("loaded … : 180 synced, …", "#1001: synced") or
        # why it stopped; the counts stand in only where there is none.
        said = task.message or counts_text(task.synced, task.failed, task.skipped)
        self.echo(f"Task {task.id} {task.status}{took}: {said}")

    @property
    def stopped(self) -> list[Task]:
        return [t for t in self.ended if t.status == TaskStatus.STOPPED]

    def _describe(self, task_id: int) -> str:
        try:
            task = self.service.task(task_id)
        except EngineError:
            return "(no longer in the database)"
        flow = next((f.name for f in self.service.flows(task.integration_id) if f.id == task.flow_id), None)
        return f"{task.kind} of {flow or 'an unknown flow'}, triggered by {task.trigger}"
