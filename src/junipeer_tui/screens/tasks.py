"""Tasks: every sync operation with its outcome; filter by entity type, status and date range;
⏎ opens a task with its log lines; Retry re-runs a stopped task or a task's failed records."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any, ClassVar

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.widgets import DataTable, Input, Select, Static

from engine.store.models import Task, TaskStatus
from junipeer_tui.context import Action, ConsoleContext
from junipeer_tui.dialogs.base import Dialog
from junipeer_tui.widgets.key_footer import KeyFooter
from junipeer_tui.widgets.table import PagedSection, PagedTable, cell
from junipeer_tui.widgets.util import (
    counted,
    entity_tab_title,
    error_text,
    guarded,
    report_error,
    stamp,
    task_duration,
)

STATUSES = [TaskStatus.PENDING, TaskStatus.RUNNING, TaskStatus.COMPLETED, TaskStatus.STOPPED]


def can_retry(task: Task) -> bool:
    return task.status == TaskStatus.STOPPED or task.failed > 0


def parse_day(text: str) -> date | None:
    text = text.strip()
    return date.fromisoformat(text) if text else None


@work(thread=True, group="retry")
def retry_task_worker(widget: Any, ctx: ConsoleContext, task_id: int) -> None:
    """Enqueue the retry off the UI thread; report back through call_from_thread."""
    try:
        new = ctx.service.retry_task(task_id)
        ctx.notify_engine()
    except Exception as exc:
        widget.app.call_from_thread(report_error, widget.app, exc, f"retry task #{task_id}")
        return
    widget.app.call_from_thread(
        widget.app.notify, f"Retry of task #{task_id} queued as task #{new.id}", title="Retry"
    )


class TasksSection(PagedSection):
    TABLE_ID = "tasks-table"
    SECTION = "tasks"
    TITLE = "Tasks"
    ACTIONS: ClassVar[list[Action]] = [
        Action("tasks_open", "Open task", "enter", "open_task", "tasks", "The task with its log lines"),
        Action(
            "tasks_retry", "Retry task", "r", "retry", "tasks", "Re-run a stopped task or its failed records"
        ),
        Action("tasks_next", "Next page", "n", "next_page", "tasks", "Older tasks"),
        Action("tasks_prev", "Previous page", "p", "prev_page", "tasks", "Newer tasks"),
        Action("tasks_clear", "Clear filters", "x", "clear_filters", "tasks", "Show every task"),
    ]

    def __init__(self, ctx: ConsoleContext, **kwargs: Any) -> None:
        super().__init__(ctx, **kwargs)
        self.flow_id: int | None = None
        self.rows: dict[int, Task] = {}

    def compose(self) -> ComposeResult:
        flows = self.ctx.service.flows(self.ctx.integration_id)
        types = sorted({f.entity_type for f in flows})
        yield Static("Tasks", classes="section-title")
        with Horizontal(classes="filter-bar"):
            yield Select(
                [(entity_tab_title(t), t) for t in types], prompt="Any type", id="tasks-type", compact=True
            )
            yield Select(
                [(s.title(), str(s)) for s in STATUSES], prompt="Any status", id="tasks-status", compact=True
            )
            yield Input(placeholder="from YYYY-MM-DD", id="tasks-from", compact=True)
            yield Input(placeholder="to YYYY-MM-DD", id="tasks-to", compact=True)
        yield PagedTable(
            ["Task", "Flow", "Trigger", "Status", "Total", "Synced", "Failed", "Skipped", "Started", "Took"],
            fill="Flow",
            # Narrow: the outcome (Synced, Failed, Skipped) stays; ⏎ opens the task with the rest.
            drop=("Trigger", "Took", "Total", "Started"),
            id="tasks-table",
        )
        yield Static("", id="tasks-status-line", classes="status-line")

    def on_mount(self) -> None:
        self.call_after_refresh(self.reload)

    def focus_default(self) -> None:
        self.query_one("#tasks-table").focus()

    # -- data ---------------------------------------------------------------------------------
    def criteria(self) -> dict[str, Any]:
        etype = self.query_one("#tasks-type", Select).value
        status = self.query_one("#tasks-status", Select).value
        out: dict[str, Any] = {
            "entity_type": etype if isinstance(etype, str) else None,
            "status": status if isinstance(status, str) else None,
            "flow_id": self.flow_id,
        }
        for key, widget_id in (("since", "#tasks-from"), ("until", "#tasks-to")):
            widget = self.query_one(widget_id, Input)
            try:
                day = parse_day(widget.value)
                widget.remove_class("-invalid")
            except ValueError:
                widget.add_class("-invalid")
                day = None
            if day is not None:
                moment = datetime.combine(day, time.min, UTC)
                out[key] = moment + timedelta(days=1) if key == "until" else moment
        return out

    def reload(self) -> None:
        table = self.query_one("#tasks-table", PagedTable)
        now = self.ctx.clock()
        tasks = self.ctx.service.tasks(
            self.ctx.integration_id,
            before_id=self.pager.before_id,
            limit=table.page_size(),
            **self.criteria(),
        )
        flows = {f.id: f.name for f in self.ctx.service.flows(self.ctx.integration_id)}
        self.rows = {t.id: t for t in tasks}  # type: ignore[misc]
        table.show_rows(
            [
                (
                    t.id,
                    (
                        f"#{t.id}",
                        f"{flows.get(t.flow_id, '?')} {t.kind.replace('_', ' ')}",
                        t.trigger,
                        cell(self.app, t.status),
                        str(t.total),
                        cell(self.app, t.synced, "synced" if t.synced else None),
                        cell(self.app, t.failed, "error" if t.failed else None),
                        str(t.skipped),
                        stamp(t.started_at or t.created_at, now),
                        task_duration(t, now),
                    ),
                )
                for t in tasks
            ]
        )
        flow_note = f" · flow {flows.get(self.flow_id, self.flow_id)} (x clears)" if self.flow_id else ""
        more = " · n older" if len(tasks) >= table.page_size() else ""
        back = " · p newer" if self.pager.page > 1 else ""
        self.query_one("#tasks-status-line", Static).update(
            f"page {self.pager.page} · {counted(len(tasks), 'task')}{flow_note}{more}{back}"
        )

    def apply_filter(self, **criteria: Any) -> None:
        if "status" in criteria:
            self.query_one("#tasks-status", Select).value = criteria["status"] or Select.NULL
        if "entity_type" in criteria:
            self.query_one("#tasks-type", Select).value = criteria["entity_type"] or Select.NULL
        for key, widget_id in (("since", "#tasks-from"), ("until", "#tasks-to")):
            if key in criteria:
                value = criteria[key]
                self.query_one(widget_id, Input).value = f"{value:%Y-%m-%d}" if value else ""
        if "flow_id" in criteria:
            self.flow_id = criteria["flow_id"]
        self.pager.reset()
        self.reload()

    # -- actions ------------------------------------------------------------------------------
    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_open_task()

    @guarded("open the task")
    def action_open_task(self) -> None:
        task = self.selected()
        if task is not None:
            self.app.push_screen(TaskDetailScreen(self.ctx, task.id))  # type: ignore[arg-type]

    @guarded("retry the task")
    def action_retry(self) -> None:
        task = self.selected()
        if task is None:
            self.app.notify("Pick a task first.", severity="warning")
            return
        if not can_retry(task):
            self.app.notify(
                f"Task #{task.id} is {task.status} without failures: nothing to retry.", severity="warning"
            )
            return
        retry_task_worker(self, self.ctx, task.id)  # type: ignore[arg-type]

    def action_clear_filters(self) -> None:
        self.flow_id = None
        self.query_one("#tasks-type", Select).value = Select.NULL
        self.query_one("#tasks-status", Select).value = Select.NULL
        self.query_one("#tasks-from", Input).value = ""
        self.query_one("#tasks-to", Input).value = ""
        self.pager.reset()
        self.reload()


class TaskDetailScreen(Dialog[None]):
    """One task: what ran, its counts and timings, and its log lines."""

    BINDINGS: ClassVar[list[Binding | tuple[str, str] | tuple[str, str, str]]] = [
        Binding("escape", "close", "Back"),
        Binding("r", "retry", "Retry"),
        Binding("enter", "troubleshoot", "Troubleshoot ref", show=False),
    ]
    LOG_LIMIT = 200

    def __init__(self, ctx: ConsoleContext, task_id: int) -> None:
        super().__init__(id="task-detail")
        self.ctx = ctx
        self.task_id = task_id
        self.refs: dict[int, str | None] = {}

    def compose(self) -> ComposeResult:
        with Vertical(id="task-box", classes="dialog"):
            yield Static("", id="task-summary")
            yield PagedTable(["Level", "Time", "Code", "Ref", "Message"], fill="Message", id="task-logs")
        yield KeyFooter()

    def on_mount(self) -> None:
        self.query_one("#task-box").border_title = f"Task #{self.task_id}"
        self.load()
        self.query_one("#task-logs").focus()

    def load(self) -> None:
        svc, now = self.ctx.service, self.ctx.clock()
        try:
            task = svc.task(self.task_id)
        except Exception as exc:
            self.query_one("#task-summary", Static).update(error_text(exc))
            return
        flows = {f.id: f.name for f in svc.flows(self.ctx.integration_id)}
        params = ", ".join(f"{k}={v}" for k, v in task.params.items()) or "—"
        retry = f" · retry of #{task.retry_of}" if task.retry_of else ""
        self.query_one("#task-summary", Static).update(
            Content.from_markup(
                "[b]$flow $kind[/] · $trigger$retry · [b]$status[/]\n"
                "total $total · [$text-success]synced $synced[/] · [$text-error]failed $failed[/] · "
                "skipped $skipped\n"
                "started $started · finished $finished · took $took · params $params\n"
                "[$text-muted]$message[/]",
                flow=flows.get(task.flow_id, "?"),
                kind=task.kind.replace("_", " "),
                trigger=task.trigger,
                retry=retry,
                status=task.status,
                total=str(task.total),
                synced=str(task.synced),
                failed=str(task.failed),
                skipped=str(task.skipped),
                started=stamp(task.started_at, now),
                finished=stamp(task.finished_at, now),
                took=task_duration(task, now),
                params=params,
                message=task.message or "",
            )
        )
        logs = svc.logs(self.ctx.integration_id, task_id=self.task_id, limit=self.LOG_LIMIT)
        self.refs = {log.id: log.reference for log in logs}  # type: ignore[misc]
        self.query_one("#task-logs", PagedTable).show_rows(
            [
                (
                    log.id,
                    (
                        cell(self.app, log.level),
                        stamp(log.at, now),
                        log.code or "",
                        log.reference or "",
                        cell(self.app, log.message),
                    ),
                )
                for log in logs
            ]
        )

    def action_close(self) -> None:
        self.dismiss(None)

    @guarded("retry the task")
    def action_retry(self) -> None:
        task = self.ctx.service.task(self.task_id)
        if not can_retry(task):
            self.app.notify(f"Task #{task.id} is {task.status} without failures: nothing to retry.")
            return
        retry_task_worker(self, self.ctx, self.task_id)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_troubleshoot()

    def action_troubleshoot(self) -> None:
        key = self.query_one("#task-logs", PagedTable).current_key
        ref = self.refs.get(key) if key is not None else None
        if ref:
            self.app.jump(ref)  # type: ignore[attr-defined]
        else:
            self.app.notify("This line names no reference.")
