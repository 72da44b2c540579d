"""Logs: every event, newest first; filter by reference, level, flow and free text; follow mode
adds new lines live while tasks run (polled by `after_id`); ⏎ on a line troubleshoots its reference."""

from __future__ import annotations

from typing import Any, ClassVar

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import DataTable, Input, Select, Static

from engine.store.models import LogEntry, LogLevel
from junipeer_tui.context import Action, ConsoleContext
from junipeer_tui.widgets.table import PagedSection, PagedTable, cell
from junipeer_tui.widgets.util import counted, guarded, stamp


class LogsSection(PagedSection):
    TABLE_ID = "logs-table"
    SECTION = "logs"
    TITLE = "Logs"
    ACTIONS: ClassVar[list[Action]] = [
        Action(
            "logs_jump", "Troubleshoot reference", "enter", "troubleshoot", "logs", "The line's reference"
        ),
        Action("logs_follow", "Follow", "f", "toggle_follow", "logs", "New lines appear live"),
        Action("logs_next", "Next page", "n", "next_page", "logs", "Older lines"),
        Action("logs_prev", "Previous page", "p", "prev_page", "logs", "Newer lines"),
        Action("logs_clear", "Clear filters", "x", "clear_filters", "logs", "Show every line"),
    ]

    def __init__(self, ctx: ConsoleContext, **kwargs: Any) -> None:
        super().__init__(ctx, **kwargs)
        self.follow = True
        self.task_id: int | None = None
        self.rows: list[LogEntry] = []
        self.waiting = 0
        self._rows_criteria: dict[str, Any] | None = None  # the filters `rows` were read under

    def compose(self) -> ComposeResult:
        flows = self.ctx.service.flows(self.ctx.integration_id)
        yield Static("Logs", classes="section-title")
        with Horizontal(classes="filter-bar"):
            yield Input(placeholder="reference #1001", id="logs-ref", compact=True)
            yield Select(
                [(level.title(), str(level)) for level in LogLevel],
                prompt="Any level",
                id="logs-level",
                compact=True,
            )
            yield Select([(f.name, f.id) for f in flows], prompt="Any flow", id="logs-flow", compact=True)
            yield Input(placeholder="text or code", id="logs-text", compact=True)
        yield PagedTable(
            ["Level", "Time", "Code", "Ref", "Flow", "Task", "Message"],
            # A narrow console keeps the message: the filters name the flow and the code's colour
            # the level.
            fill="Message",
            fill_min=24,
            drop=("Task", "Flow", "Level"),
            caps={"Ref": 12},
            id="logs-table",
        )
        yield Static("", id="logs-status-line", classes="status-line")

    def on_mount(self) -> None:
        self.call_after_refresh(self.requery)

    def focus_default(self) -> None:
        self.query_one("#logs-table").focus()

    # -- data ---------------------------------------------------------------------------------
    def criteria(self) -> dict[str, Any]:
        level = self.query_one("#logs-level", Select).value
        flow = self.query_one("#logs-flow", Select).value
        return {
            "ref": self.query_one("#logs-ref", Input).value.strip() or None,
            "level": level if isinstance(level, str) else None,
            "flow_id": flow if isinstance(flow, int) else None,
            "text": self.query_one("#logs-text", Input).value.strip() or None,
            "task_id": self.task_id,
        }

    def requery(self) -> None:
        table = self.query_one("#logs-table", PagedTable)
        criteria = self.criteria()
        self.rows = self.ctx.service.logs(
            self.ctx.integration_id,
            before_id=self.pager.before_id,
            limit=table.page_size(),
            **criteria,
        )
        self._rows_criteria = criteria
        self.waiting = 0
        self.render_rows()

    def newer(self, newest: int | None, limit: int) -> list[LogEntry]:
        """The newest `limit` lines after `newest` under the filters, newest first. With a reference
        filter they are cut from the reference's newest page: SQLite answers "after line N" by
        walking every line after N and checking its reference (0.2 s on the UI thread every tick
        with 5,000,000 lines and the match in the middle), and a reference's lines come straight
        from its index."""
        criteria = self.criteria()
        if criteria["ref"]:
            page = self.ctx.service.logs(self.ctx.integration_id, limit=limit, **criteria)
            return [log for log in page if newest is None or log.id > newest]
        return self.ctx.service.logs(self.ctx.integration_id, after_id=newest, limit=limit, **criteria)

    def reload(self) -> None:
        """The tick: in follow mode on the newest page, add lines newer than the newest shown.

        A key can change a filter and the tick run before the section has handled the change (its
        Changed message still queued): the lines shown then belong to the old filter, and adding
        the new filter's newer lines on top would show two searches at once. The tick reads the
        page under the new filter instead, as the queued change is about to."""
        if self.criteria() != self._rows_criteria:
            self.pager.reset()
            self.requery()
            return
        table = self.query_one("#logs-table", PagedTable)
        newest = self.rows[0].id if self.rows else None
        if self.pager.page > 1 or not self.follow:
            if self.pager.page == 1:
                self.waiting = len(self.newer(newest, 100))
                self.render_status()
            return
        fresh = self.newer(newest, table.page_size())
        if fresh:
            at_top = table.cursor_row <= 0
            self.rows = (fresh + self.rows)[: table.page_size()]
            self.render_rows()
            if at_top:
                table.move_cursor(row=0, animate=False)

    def render_rows(self) -> None:
        now = self.ctx.clock()
        flows = {f.id: f.name for f in self.ctx.service.flows(self.ctx.integration_id)}
        self.query_one("#logs-table", PagedTable).show_rows(
            [
                (
                    log.id,
                    (
                        cell(self.app, log.level),
                        stamp(log.at, now),
                        cell(self.app, log.code or "", log.level if log.level != "info" else None),
                        log.reference or "",
                        flows.get(log.flow_id, "") if log.flow_id else "",
                        f"#{log.task_id}" if log.task_id else "",
                        cell(self.app, log.message),
                    ),
                )
                for log in self.rows
            ]
        )
        self.render_status()

    def render_status(self) -> None:
        table = self.query_one("#logs-table", PagedTable)
        parts = [f"page {self.pager.page}", counted(len(self.rows), "line")]
        if self.task_id:
            parts.append(f"task #{self.task_id} (x clears)")
        if self.pager.page == 1:
            parts.append("following (f stops)" if self.follow else "paused (f follows)")
        if self.waiting:
            parts.append(f"{self.waiting}{'+' if self.waiting >= 100 else ''} new lines")
        if len(self.rows) >= table.page_size():
            parts.append("n older")
        if self.pager.page > 1:
            parts.append("p newer")
        self.query_one("#logs-status-line", Static).update(" · ".join(parts))

    def apply_filter(self, **criteria: Any) -> None:
        if "ref" in criteria:
            self.query_one("#logs-ref", Input).value = criteria["ref"] or ""
        if "text" in criteria:
            self.query_one("#logs-text", Input).value = criteria["text"] or ""
        if "level" in criteria:
            self.query_one("#logs-level", Select).value = criteria["level"] or Select.NULL
        if "flow_id" in criteria:
            self.query_one("#logs-flow", Select).value = criteria["flow_id"] or Select.NULL
        if "task_id" in criteria:
            self.task_id = criteria["task_id"]
        self.pager.reset()
        self.requery()

    # -- actions ------------------------------------------------------------------------------
    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_troubleshoot()

    @guarded("troubleshoot")
    def action_troubleshoot(self) -> None:
        key = self.query_one("#logs-table", PagedTable).current_key
        log = next((r for r in self.rows if r.id == key), None)
        if log is None:
            return
        if log.reference:
            self.app.jump(log.reference)  # type: ignore[attr-defined]
        else:
            self.app.notify("This line names no reference.")

    def action_toggle_follow(self) -> None:
        self.follow = not self.follow
        if self.follow:
            self.pager.reset()
            self.requery()
        self.render_status()

    def action_clear_filters(self) -> None:
        with self.prevent(Input.Changed, Select.Changed):
            self.query_one("#logs-ref", Input).value = ""
            self.query_one("#logs-text", Input).value = ""
            self.query_one("#logs-level", Select).value = Select.NULL
            self.query_one("#logs-flow", Select).value = Select.NULL
        self.task_id = None
        self.pager.reset()
        self.requery()
