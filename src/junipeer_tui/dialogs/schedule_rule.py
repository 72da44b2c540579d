"""Add or edit a scheduling rule: its name, the flows it runs, how often, optional active hours and
on/off. The engine checks what was typed; its message shows in the dialog, which stays open."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Button, Input, Label, SelectionList, Static, Switch

from engine.store.models import ScheduleRule
from junipeer_tui.dialogs.base import Dialog
from junipeer_tui.widgets.key_footer import KeyFooter
from junipeer_tui.widgets.util import error_text

if TYPE_CHECKING:
    from junipeer_tui.context import ConsoleContext


class ScheduleRuleForm(Dialog["ScheduleRule | None"]):
    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, ctx: ConsoleContext, existing: ScheduleRule | None = None) -> None:
        super().__init__(classes="dialog-screen")
        self.ctx = ctx
        self.existing = existing

    def compose(self) -> ComposeResult:
        ex = self.existing
        flows = self.ctx.service.flows(self.ctx.integration_id)
        chosen = set(ex.flow_keys) if ex else set()
        with VerticalScroll(classes="dialog schedule-rule"):
            yield Label(f"Edit rule: {ex.name}" if ex else "Add scheduling rule", classes="dialog-title")
            yield Static(
                "Runs the chosen flows every so many minutes; with active hours (UTC), only between them "
                "(a window may span midnight).",
                classes="dialog-body",
            )
            with Horizontal(classes="form-row"):
                yield Label("Name", classes="form-label")
                yield Input(
                    ex.name if ex else "",
                    placeholder="e.g. Orders every 5 minutes",
                    id="rule-name",
                    compact=True,
                )
            with Horizontal(classes="form-row"):
                yield Label("Flows", classes="form-label")
                yield SelectionList[str](
                    *((f"{f.name}  ({f.key})", f.key, f.key in chosen) for f in flows),
                    id="rule-flows",
                    compact=True,
                )
            with Horizontal(classes="form-row"):
                yield Label("Every", classes="form-label")
                yield Input(
                    str(ex.interval_minutes) if ex else "15",
                    placeholder="minutes",
                    type="integer",
                    id="rule-interval",
                    compact=True,
                    classes="rule-minutes",
                )
                yield Label("minutes", classes="form-unit")
            with Horizontal(classes="form-row"):
                yield Label("Active", classes="form-label")
                yield self._hour("rule-from", ex.active_from if ex else None, "06:00")
                yield Label("to", classes="form-unit")
                yield self._hour("rule-to", ex.active_to if ex else None, "22:00")
                yield Label("empty = all day", classes="form-unit muted")
            with Horizontal(classes="form-row"):
                yield Label("On", classes="form-label")
                yield Switch(ex.enabled if ex else True, id="rule-enabled", classes="one-line")
            yield Static("", id="rule-error", classes="field-error")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Save", id="rule-save", variant="primary", compact=True)
                yield Button("Cancel", id="rule-cancel", compact=True)
        yield KeyFooter()

    @staticmethod
    def _hour(widget_id: str, value: str | None, example: str) -> Input:
        return Input(value or "", placeholder=example, id=widget_id, compact=True, classes="rule-hour")

    def on_mount(self) -> None:
        self.show_error("")
        self.query_one("#rule-name", Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.save()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "rule-save":
            self.save()
        else:
            self.action_cancel()

    def show_error(self, text: str) -> None:
        error = self.query_one("#rule-error", Static)
        error.update(text)
        error.display = bool(text)

    def save(self) -> None:
        interval_text = self.query_one("#rule-interval", Input).value.strip()
        try:
            interval = int(interval_text)
        except ValueError:
            self.show_error(f"Every: {interval_text or 'nothing'} is not a number of minutes, e.g. 15")
            return
        try:
            rule = self.ctx.service.save_schedule_rule(
                self.ctx.integration_id,
                name=self.query_one("#rule-name", Input).value,
                flow_keys=list(self.query_one("#rule-flows", SelectionList).selected),
                interval_minutes=interval,
                active_from=self.query_one("#rule-from", Input).value.strip() or None,
                active_to=self.query_one("#rule-to", Input).value.strip() or None,
                enabled=self.query_one("#rule-enabled", Switch).value,
                rule_id=self.existing.id if self.existing else None,
            )
        except Exception as exc:
            self.show_error(error_text(exc))
            return
        self.dismiss(rule)

    def action_cancel(self) -> None:
        self.dismiss(None)
