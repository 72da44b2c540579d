"""Export Many: a date range → one export_many task, followed with a progress bar (processed of
total) and the elapsed time. Closing the dialog leaves the task running."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Input, Label, ProgressBar, Static

from engine.runtime.runner import counts_text, message_beyond_counts
from engine.store.models import Flow, Task, TaskStatus
from junipeer_tui.dialogs.tasks import TaskDialog
from junipeer_tui.widgets.key_footer import KeyFooter
from junipeer_tui.widgets.util import aware, duration, error_text, flow_direction, parse_day

if TYPE_CHECKING:
    from junipeer_tui.context import ConsoleContext


class ExportManyDialog(TaskDialog):
    BINDINGS = [Binding("escape", "close", "Close")]

    def __init__(self, ctx: ConsoleContext, flow: Flow, *, task_id: int | None = None) -> None:
        """`task_id` follows an export_many task that already exists instead of asking for dates."""
        super().__init__(classes="dialog-screen")
        self.ctx = ctx
        self.flow = flow
        self.task_id = task_id

    def compose(self) -> ComposeResult:
        _, target = flow_direction(self.ctx, self.flow)
        today = self.ctx.clock().date()
        with Vertical(classes="dialog export-many"):
            yield Label(f"Export Many: {self.flow.name} → {target}", classes="dialog-title")
            with Vertical(id="export-many-form"):
                yield Static(
                    f"Sync every {self.flow.entity_type} created in a date range (UTC, both days included).",
                    classes="dialog-body",
                )
                with Horizontal(classes="form-row"):
                    yield Label("From", classes="form-label")
                    yield Input(
                        str(today - timedelta(days=7)), placeholder="YYYY-MM-DD", id="export-many-from"
                    )
                with Horizontal(classes="form-row"):
                    yield Label("To", classes="form-label")
                    yield Input(str(today), placeholder="YYYY-MM-DD", id="export-many-to")
                yield Static("", id="export-many-error", classes="field-error")
            with Vertical(id="export-many-progress"):
                yield Static("", id="export-many-line")
                yield ProgressBar(total=None, show_eta=False, id="export-many-bar")
                yield Static("", id="export-many-outcome", classes="dialog-status")
                yield Static(
                    "Closing this dialog does not stop the task: it keeps running; follow it in Tasks.",
                    classes="dialog-note",
                )
            with Horizontal(classes="dialog-buttons"):
                yield Button("Export", id="export-many-run", variant="primary")
                yield Button("Cancel", id="export-many-close")
        yield KeyFooter()

    def on_mount(self) -> None:
        progress = self.query_one("#export-many-progress")
        if self.task_id is None:
            progress.display = False
            self.query_one("#export-many-from", Input).focus()
        else:
            self._switch_to_progress()
            self.follow(self.task_id)

    def _switch_to_progress(self) -> None:
        self.query_one("#export-many-form").display = False
        self.query_one("#export-many-progress").display = True
        self.query_one("#export-many-run").display = False
        self.query_one("#export-many-close", Button).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if event.input.id == "export-many-from":
            self.query_one("#export-many-to", Input).focus()
        else:
            self.run_export()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "export-many-run":
            self.run_export()
        else:
            self.action_close()

    def run_export(self) -> None:
        error = self.query_one("#export-many-error", Static)
        try:
            start = parse_day(self.query_one("#export-many-from", Input).value)
            end = parse_day(self.query_one("#export-many-to", Input).value)
        except ValueError as exc:
            error.update(str(exc))
            return
        if end < start:
            error.update(f"The range ends ({end}) before it starts ({start}): swap the dates.")
            return
        if end > self.ctx.clock().date():
            error.update(f"{end} is in the future: the range can end today at the latest.")
            return
        try:
            task = self.ctx.service.export_many(self.flow, start, end)
        except Exception as exc:
            error.update(error_text(exc))
            return
        error.update("")
        self.task_id = task.id
        self._switch_to_progress()
        self.task_update(task)
        self.start_task(task)

    def task_update(self, task: Task) -> None:
        if task.id != self.task_id:
            return
        params = task.params or {}
        span = f"{params.get('from', '?')} – {params.get('to', '?')}"
        started = aware(task.started_at)
        ended = aware(task.finished_at) or self.ctx.clock()
        elapsed = duration((ended - started).total_seconds()) if started else "0:00"
        counts = f"{task.processed} of {task.total}" if task.total else f"{task.processed}"
        self.query_one("#export-many-line", Static).update(
            f"Task {task.id} · {span} · {task.status} · {counts} processed · {elapsed} elapsed"
        )
        bar = self.query_one("#export-many-bar", ProgressBar)
        if task.total:
            bar.update(total=task.total, progress=task.processed)
        outcome = self.query_one("#export-many-outcome", Static)
        if task.status == TaskStatus.COMPLETED:
            if task.total:
                bar.update(total=task.total, progress=task.total)
            else:
                bar.update(total=1, progress=1)
            outcome.set_classes("dialog-status " + ("error" if task.failed else "success"))
            news = message_beyond_counts(task)
            outcome.update(
                f"Completed: {counts_text(task.synced, task.failed, task.skipped)}"
                + (f" — {news}" if news else "")
                + ("\nSee Logs for the failed records." if task.failed else "")
            )
            self.query_one("#export-many-close", Button).label = "Close"
        elif task.status == TaskStatus.STOPPED:
            outcome.set_classes("dialog-status error")
            outcome.update(f"Stopped: {task.message or 'no message'} — retry it from Tasks.")
            self.query_one("#export-many-close", Button).label = "Close"

    def action_close(self) -> None:
        if self.task_id is not None and self.ctx.service.task(self.task_id).status not in (
            TaskStatus.COMPLETED,
            TaskStatus.STOPPED,
        ):
            self.app.notify(f"Task {self.task_id} keeps running: follow it in Tasks.", title="Export Many")
        self.dismiss(None)
