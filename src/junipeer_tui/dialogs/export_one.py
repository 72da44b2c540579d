"""Export One: sync a single record by reference (#1001, order number, Shopify id) or picked from the
most recent source records (errored and pending first), then follow its task to the outcome."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from engine.errors import hint
from engine.store.models import Entity, EntityStatus, Flow, Task, TaskStatus
from junipeer_tui.dialogs.tasks import TaskDialog
from junipeer_tui.widgets.key_footer import KeyFooter
from junipeer_tui.widgets.util import error_text, flow_direction, relative

if TYPE_CHECKING:
    from junipeer_tui.context import ConsoleContext

STATUS_ORDER = {EntityStatus.ERROR: 0, EntityStatus.PENDING: 1, EntityStatus.SYNCED: 2}
RECENT = 30


def recent_records(ctx: ConsoleContext, flow: Flow, limit: int = RECENT) -> list[Entity]:
    """The flow's latest source records, errored and pending first (stable within a status)."""
    rows = [
        e
        for e in ctx.service.entities(ctx.integration_id, entity_type=flow.entity_type, limit=200)
        if e.flow_id == flow.id
    ]
    rows.sort(key=lambda e: STATUS_ORDER.get(e.status, 3))  # type: ignore[call-overload]
    return rows[:limit]


class ExportOneDialog(TaskDialog):
    BINDINGS = [Binding("escape", "close", "Close")]

    def __init__(self, ctx: ConsoleContext, flow: Flow) -> None:
        super().__init__(classes="dialog-screen")
        self.ctx = ctx
        self.flow = flow
        self.task_id: int | None = None
        self.ref = ""

    def compose(self) -> ComposeResult:
        source, target = flow_direction(self.ctx, self.flow)
        now = self.ctx.clock()
        with Vertical(classes="dialog export-one"):
            yield Label(f"Export One: {self.flow.name} → {target}", classes="dialog-title")
            yield Static(
                f"Sync a single {self.flow.entity_type}: type its reference and press Enter, "
                f"or pick one of the latest {source} records below.",
                classes="dialog-body",
            )
            yield Input(placeholder="#1001, order number or Shopify id", id="export-one-ref")
            yield Label("Recent records (errors and pending first)", classes="dialog-subtitle")
            options = []
            for e in recent_records(self.ctx, self.flow):
                badge = {"error": "✗ error", "pending": "… pending", "synced": "✓ synced"}.get(
                    e.status, e.status
                )
                extra = f"  {e.error_code}" if e.error_code else ""
                options.append(
                    Option(
                        f"{e.retriever_reference:<8} {badge:<10} {relative(e.last_updated, now):>12}{extra}",
                        id=e.retriever_reference,
                    )
                )
            yield OptionList(*options, id="export-one-recent")
            yield Static("", id="export-one-status", classes="dialog-status")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Export", id="export-one-run", variant="primary")
                yield Button("Close", id="export-one-close")
        yield KeyFooter()

    def on_mount(self) -> None:
        self.query_one("#export-one-ref", Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.run_export(event.value)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        ref = event.option.id or ""
        self.query_one("#export-one-ref", Input).value = ref
        self.run_export(ref)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "export-one-run":
            self.run_export(self.query_one("#export-one-ref", Input).value)
        else:
            self.action_close()

    def _status(self, text: str, kind: str = "") -> None:
        status = self.query_one("#export-one-status", Static)
        status.set_classes(f"dialog-status {kind}".strip())
        status.update(text)

    def run_export(self, ref: str) -> None:
        ref = ref.strip()
        if not ref:
            self._status("Enter a reference such as #1001, or pick a record below.", "error")
            return
        if self.task_id is not None and self.ctx.service.task(self.task_id).status not in (
            TaskStatus.COMPLETED,
            TaskStatus.STOPPED,
        ):
            self._status(f"Task {self.task_id} is still running: wait for its outcome.", "warning")
            return
        try:
            task = self.ctx.service.export_one(self.flow, ref)
        except Exception as exc:
            self._status(error_text(exc), "error")
            return
        self.ref, self.task_id = ref, task.id
        self._status(f"Task {task.id} queued: exporting {ref}…")
        self.start_task(task)

    def task_update(self, task: Task) -> None:
        if task.id != self.task_id:
            return
        if task.status == TaskStatus.PENDING:
            self._status(f"Task {task.id} queued: exporting {self.ref}…")
        elif task.status == TaskStatus.RUNNING:
            self._status(f"Task {task.id} running: exporting {self.ref}…")
        else:
            self._show_outcome(task)

    def _show_outcome(self, task: Task) -> None:
        found = self.ctx.service.entities(
            self.ctx.integration_id, entity_type=self.flow.entity_type, ref=self.ref, limit=1
        )
        entity = found[0] if found else None
        if task.status == TaskStatus.STOPPED:
            text = f"Task {task.id} stopped: {task.message or 'no message'}"
            self._status(text, "error")
        elif entity is not None and entity.status == EntityStatus.ERROR:
            todo = hint(entity.error_code)
            self._status(
                f"Task {task.id}: {entity.retriever_reference} failed — {entity.error_code}: "
                f"{entity.error_message}" + (f"\nWhat to do: {todo}" if todo else ""),
                "error",
            )
        elif task.failed:
            self._status(f"Task {task.id} completed with {task.failed} failed: {task.message or ''}", "error")
        elif entity is not None and entity.status == EntityStatus.SYNCED:
            self._status(
                f"Task {task.id}: {entity.retriever_reference} synced as {entity.storer_reference or '—'}"
                + (f" — {task.message}" if task.message else ""),
                "success",
            )
        elif task.skipped:
            self._status(
                f"Task {task.id}: {self.ref} was skipped — {task.message or 'see Logs for why'}", "warning"
            )
        else:
            self._status(f"Task {task.id} completed: {task.message or f'{task.synced} synced'}", "success")

    def action_close(self) -> None:
        self.dismiss(None)
