"""A flow's detail page: Settings, Filters, Logs and Task History links, its Time History card (last
loaded, covered windows) and "Perform task from a date" (moves Time History back after a
confirmation, then enqueues a run)."""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Button, Label, Static

from engine.store.models import Flow
from junipeer_tui.context import ConsoleContext
from junipeer_tui.dialogs.base import Dialog
from junipeer_tui.dialogs.filter_builder import FilterBuilderScreen
from junipeer_tui.dialogs.move_back import ask_move_back
from junipeer_tui.screens.flows import MANUAL_NOT_ALLOWED, show_section
from junipeer_tui.widgets.key_footer import KeyFooter
from junipeer_tui.widgets.util import counted, flow_direction, relative, stamp


def time_history_lines(ctx: ConsoleContext, flow: Flow, windows: int = 5) -> list[str]:
    hist = ctx.service.time_history(flow.id)  # type: ignore[arg-type]
    rows = ctx.service.time_windows(flow.id, limit=windows)  # type: ignore[arg-type]
    lines = [
        f"Last loaded  {stamp(hist.last_loaded)} UTC ({relative(hist.last_loaded, ctx.clock())})",
        f"Lookback     {hist.lookback_seconds // 60} min (each run re-reads this much before last loaded)",
        "Covered windows (latest first):" if rows else "No covered windows yet: the flow has not run.",
    ]
    for w in rows:
        lines.append(f"  {stamp(w.start)} → {stamp(w.end)}   {counted(w.records, 'record')}")
    return lines


class FlowDetailScreen(Dialog[None]):
    BINDINGS = [
        Binding("escape", "close", "Back"),
        Binding("s", "settings", "Settings"),
        Binding("f", "filters", "Filters"),
        Binding("l", "logs", "Logs"),
        Binding("t", "tasks", "Task History"),
        Binding("p", "perform", "Perform task from a date"),
    ]

    def __init__(self, ctx: ConsoleContext, flow: Flow) -> None:
        super().__init__(classes="dialog-screen")
        self.ctx = ctx
        self.flow = flow

    def compose(self) -> ComposeResult:
        source, target = flow_direction(self.ctx, self.flow)
        flow = self.flow
        with Vertical(classes="dialog flow-detail"):
            yield Label(f"{flow.name}: {source} → {target}", classes="dialog-title")
            with VerticalScroll():
                yield Static(
                    f"{flow.action}. {'Enabled' if flow.enabled else 'Disabled'}; last synced "
                    f"{relative(flow.last_synced_at, self.ctx.clock())}."
                    + ("" if flow.manual_allowed else f" {MANUAL_NOT_ALLOWED}"),
                    classes="dialog-body",
                )
                with Horizontal(classes="dialog-buttons links"):
                    yield Button("Settings", id="detail-settings", compact=True)
                    yield Button("Filters", id="detail-filters", compact=True)
                    yield Button("Logs", id="detail-logs", compact=True)
                    yield Button("Task History", id="detail-tasks", compact=True)
                with Vertical(classes="card", id="detail-time-history") as card:
                    card.border_title = "Time History"
                    yield Static("\n".join(time_history_lines(self.ctx, flow)), id="detail-th-lines")
                with Vertical(classes="card", id="detail-perform") as card:
                    card.border_title = "Perform task"
                    yield Static(
                        "Run the flow again from a date: Time History moves back to it and a run is queued.",
                    )
                    yield Button("Perform task from a date", id="detail-perform-btn", compact=True)
        yield KeyFooter()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        {
            "detail-settings": self.action_settings,
            "detail-filters": self.action_filters,
            "detail-logs": self.action_logs,
            "detail-tasks": self.action_tasks,
            "detail-perform-btn": self.action_perform,
        }[event.button.id or ""]()

    def _leave_to(self, name: str, **criteria: Any) -> None:
        self.dismiss(None)
        show_section(self, name, **criteria)

    def action_settings(self) -> None:
        self._leave_to("configure", tab="settings", category=self.flow.entity_type)

    def action_filters(self) -> None:
        self.app.push_screen(FilterBuilderScreen(self.ctx, self.flow))

    def action_logs(self) -> None:
        self._leave_to("logs", flow_id=self.flow.id)

    def action_tasks(self) -> None:
        self._leave_to("tasks", flow_id=self.flow.id)

    def action_perform(self) -> None:
        ask_move_back(self, self.ctx, self.flow, then_run=True, done=self._moved)

    def _moved(self, _: Any = None) -> None:
        if self.is_mounted:
            self.query_one("#detail-th-lines", Static).update(
                "\n".join(time_history_lines(self.ctx, self.flow))
            )

    def action_close(self) -> None:
        self.dismiss(None)
