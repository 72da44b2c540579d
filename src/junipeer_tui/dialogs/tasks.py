"""Following a task the console enqueued: poll `service.task(id)` from a thread worker and hand each
state to the dialog's message handler; without an embedded engine, run the task in a worker too."""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING

from textual import work
from textual.worker import get_current_worker

from engine.store.models import Task, TaskStatus
from junipeer_tui.dialogs.base import Dialog
from junipeer_tui.widgets.util import error_text

if TYPE_CHECKING:
    from junipeer_tui.context import ConsoleContext

FINISHED = (TaskStatus.COMPLETED, TaskStatus.STOPPED)
POLL_SECONDS = 0.25


class TaskDialog(Dialog[None]):
    """Base of Export One / Export Many: start, follow and report one task."""

    ctx: ConsoleContext

    def start_task(self, task: Task) -> None:
        self.ctx.notify_engine()
        if self.ctx.engine is None:
            self._run_here(task)
        self.follow(task.id)  # type: ignore[arg-type]

    @work(thread=True, exit_on_error=False, group="task-run")
    def _run_here(self, task: Task) -> None:
        try:
            asyncio.run(self.ctx.service.run_now(task))
        except Exception as exc:  # the task row says what happened; this is the rare crash around it
            self.app.call_from_thread(self.task_failed, error_text(exc))

    @work(thread=True, exit_on_error=False, group="task-follow")
    def follow(self, task_id: int) -> None:
        worker = get_current_worker()
        while not worker.is_cancelled:
            try:
                task = self.ctx.service.task(task_id)
            except Exception as exc:
                self.app.call_from_thread(self.task_failed, error_text(exc))
                return
            self.app.call_from_thread(self._deliver, task)
            if task.status in FINISHED:
                return
            time.sleep(POLL_SECONDS)

    def _deliver(self, task: Task) -> None:
        if self.is_mounted:
            self.task_update(task)

    def task_update(self, task: Task) -> None:
        """A fresh read of the task (message handler: may touch widgets)."""

    def task_failed(self, text: str) -> None:
        if self.is_mounted:
            self.notify(text, title="Task", severity="error", timeout=10)
