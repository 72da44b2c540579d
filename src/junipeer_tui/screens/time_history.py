"""Time History: per flow and direction, where the next sync starts (last loaded), the lookback and
the windows already covered; move it back to re-process from a date (asks first, saying how many
records the next run re-processes)."""

from __future__ import annotations

from typing import Any, ClassVar

from textual.app import ComposeResult
from textual.widgets import DataTable, Label, Static

from engine.store.models import Flow
from junipeer_tui.context import Action, ConsoleContext
from junipeer_tui.dialogs.move_back import ask_move_back, run_flow_now
from junipeer_tui.widgets.section import Section
from junipeer_tui.widgets.table import PagedTable
from junipeer_tui.widgets.util import flow_direction, relative, stamp


class TimeHistorySection(Section):
    SECTION = "time_history"
    TITLE = "Time History"
    ACTIONS: ClassVar[list[Action]] = [
        Action(
            "time_history.move_back",
            "Move back",
            "b",
            "move_back",
            "time_history",
            "Re-process the selected flow from a date",
            destructive=True,
        ),
        Action(
            "time_history.perform",
            "Perform task from a date",
            "p",
            "perform",
            "time_history",
            "Move the selected flow back to a date, then run it",
            destructive=True,
        ),
        Action(
            "time_history.run_now", "Run now", "n", "run_now", "time_history", "Run the selected flow now"
        ),
        Action("time_history.refresh", "Refresh", "ctrl+r", "refresh_view", "time_history", "Read again"),
    ]

    def __init__(self, ctx: ConsoleContext, **kwargs: Any) -> None:
        super().__init__(ctx, **kwargs)
        self.flows: list[Flow] = []
        self._rows: list[tuple[str, ...]] = []

    def compose(self) -> ComposeResult:
        yield Label("Time History", classes="section-title")
        yield Static(
            "The next sync of a flow loads what was created or updated after its last loaded date "
            "(minus the lookback). Move it back to re-process from a date (b), or move it and run at "
            "once (p); the order exclusion date still applies.",
            classes="section-note",
        )
        # At 80 columns the relative time and the count of windows (listed below) give way to the
        # flow's name, and a window's completion time to its range and records.
        yield PagedTable(
            ["Flow", "Last loaded (UTC)", "Loaded", "Lookback", "Windows"],
            fill="Flow",
            fill_min=25,
            drop=("Loaded", "Windows"),
            id="th-table",
        )
        yield Label("Covered windows", classes="subsection-title", id="th-windows-title")
        windows = PagedTable(
            ["From (UTC)", "To (UTC)", "Records", "Completed"],
            fill="Completed",
            fill_min=16,
            drop=("Completed",),
            id="th-windows",
        )
        windows.cursor_type = "none"
        yield windows

    def on_mount(self) -> None:
        self.reload()

    def reload(self) -> None:
        if not self.is_attached:
            return
        svc = self.ctx.service
        self.flows = svc.time_history_flows(self.ctx.integration_id)
        now = self.ctx.clock()
        rows = []
        for flow in self.flows:
            hist = svc.time_history(flow.id)  # type: ignore[arg-type]
            source, target = flow_direction(self.ctx, flow)
            count = len(svc.time_windows(flow.id, limit=1000))  # type: ignore[arg-type]
            rows.append(
                (
                    f"{flow.name}: {source} → {target}",
                    stamp(hist.last_loaded),
                    relative(hist.last_loaded, now),
                    f"{hist.lookback_seconds // 60} min",
                    str(count),
                )
            )
        if rows == self._rows:
            return  # the refresh tick: nothing changed
        self._rows = rows
        self.query_one("#th-table", PagedTable).show_rows(
            [(flow.id, row) for flow, row in zip(self.flows, rows, strict=True)], force=True
        )
        self._show_windows()

    def _selected(self) -> Flow | None:
        table = self.query_one("#th-table", DataTable)
        if not self.flows or not 0 <= table.cursor_row < len(self.flows):
            return None
        return self.flows[table.cursor_row]

    def _show_windows(self) -> None:
        flow = self._selected()
        windows = self.query_one("#th-windows", PagedTable)
        if flow is None:
            windows.show_rows([])
            return
        self.query_one("#th-windows-title", Label).update(f"Covered windows: {flow.name} (latest first)")
        windows.show_rows(
            [
                (w.id, (stamp(w.start), stamp(w.end), str(w.records), stamp(w.completed_at)))
                for w in self.ctx.service.time_windows(flow.id, limit=50)  # type: ignore[arg-type]
            ]
        )

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.data_table.id == "th-table":
            event.stop()
            self._show_windows()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        if event.data_table.id == "th-table":
            event.stop()
            self.action_move_back()

    def apply_filter(self, **criteria: Any) -> None:
        self.reload()
        flow_id = criteria.get("flow_id")
        self._rows = []
        self.reload()
        if flow_id is not None:
            ids = [f.id for f in self.flows]
            if int(flow_id) in ids:
                self.query_one("#th-table", DataTable).move_cursor(row=ids.index(int(flow_id)))

    def action_move_back(self) -> None:
        flow = self._selected()
        if flow is not None:
            ask_move_back(self, self.ctx, flow, done=lambda _: self.action_refresh_view())

    def action_perform(self) -> None:
        flow = self._selected()
        if flow is not None:
            ask_move_back(self, self.ctx, flow, then_run=True, done=lambda _: self.action_refresh_view())

    def action_run_now(self) -> None:
        flow = self._selected()
        if flow is not None:
            run_flow_now(self, self.ctx, flow)

    def action_refresh_view(self) -> None:
        self._rows = []
        self.reload()
