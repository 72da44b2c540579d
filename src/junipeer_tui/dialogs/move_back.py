"""Pick the date Time History moves back to (then a confirmation says how many records the next run
re-processes, and once moved, an offer to run the flow now), and `run_flow_now`, the one way the
console queues a Time History run of a flow."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widget import Widget
from textual.widgets import Button, Input, Label, Static

from engine.store.models import Flow, TaskTrigger
from junipeer_tui.dialogs.base import Dialog
from junipeer_tui.dialogs.confirm import ConfirmDialog
from junipeer_tui.widgets.key_footer import KeyFooter
from junipeer_tui.widgets.util import aware, call_async, error_text, parse_moment, stamp

if TYPE_CHECKING:
    from junipeer_tui.context import ConsoleContext


class MoveBackDialog(Dialog["datetime | None"]):
    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, ctx: ConsoleContext, flow: Flow, *, title: str = "Move Time History back") -> None:
        super().__init__(classes="dialog-screen")
        self.ctx = ctx
        self.flow = flow
        self.title_text = title

    def compose(self) -> ComposeResult:
        hist = self.ctx.service.time_history(self.flow.id)  # type: ignore[arg-type]
        last = aware(hist.last_loaded)
        default = ((last or self.ctx.clock()) - timedelta(days=7)).date()
        with Vertical(classes="dialog move-back"):
            yield Label(f"{self.title_text}: {self.flow.name}", classes="dialog-title")
            yield Static(
                f"Last loaded: {stamp(last)} UTC. The next run re-processes every record created or "
                "updated after the date you pick (never before the order exclusion date). "
                "Start small: about a week.",
                classes="dialog-body",
            )
            with Horizontal(classes="form-row"):
                yield Label("From", classes="form-label")
                yield Input(str(default), placeholder="YYYY-MM-DD or YYYY-MM-DD HH:MM", id="move-back-date")
            yield Static("", id="move-back-error", classes="field-error")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Continue", id="move-back-ok", variant="primary")
                yield Button("Cancel", id="move-back-cancel")
        yield KeyFooter()

    def on_mount(self) -> None:
        self.query_one("#move-back-date", Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.submit()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "move-back-ok":
            self.submit()
        else:
            self.action_cancel()

    def submit(self) -> None:
        error = self.query_one("#move-back-error", Static)
        try:
            when = parse_moment(self.query_one("#move-back-date", Input).value)
        except ValueError as exc:
            error.update(str(exc))
            return
        if when > self.ctx.clock():
            error.update(f"{stamp(when)} is in the future: Time History can only move to a past date.")
            return
        self.dismiss(when)

    def action_cancel(self) -> None:
        self.dismiss(None)


def ask_move_back(
    host: Widget,
    ctx: ConsoleContext,
    flow: Flow,
    *,
    then_run: bool = False,
    done: Callable[[datetime], None] | None = None,
) -> None:
    """Pick a date → confirm (showing how many records the next run re-processes) → move Time History
    back; with `then_run`, also queue a run of the flow (Perform task from a date)."""

    def picked(when: datetime | None) -> None:
        if when is None:
            return
        noun = f"{flow.entity_type}s"

        def estimate() -> str:
            n = call_async(ctx, lambda: ctx.service.reprocess_estimate(flow, when), 120)
            return f"The next run re-processes {n} {noun} created or updated since {stamp(when)} UTC."

        run = f", then run {flow.name} now" if then_run else ""
        body = (
            f"Move Time History of {flow.name} back to {stamp(when)} UTC{run}?\n"
            "Completed windows after that date are forgotten and loaded again; records already in the "
            "target are updated, not duplicated. The order exclusion date still applies."
        )

        def confirmed(yes: bool | None) -> None:
            if yes:
                _apply(host, ctx, flow, when, then_run)
                if done is not None:
                    done(when)

        host.app.push_screen(
            ConfirmDialog(
                f"{title}?",
                body,
                confirm_label="Move back and run" if then_run else "Move back",
                destructive=True,
                detail=estimate,
            ),
            confirmed,
        )

    # The operator asked for one of two actions: each dialog says which.
    title = "Perform task from a date" if then_run else "Move Time History back"
    host.app.push_screen(MoveBackDialog(ctx, flow, title=title), picked)


def _apply(host: Widget, ctx: ConsoleContext, flow: Flow, when: datetime, then_run: bool) -> None:
    try:
        ctx.service.set_time_history(flow, when)
    except Exception as exc:
        host.notify(error_text(exc), title="Time History", severity="error", timeout=10)
        return
    moved = f"Time History of {flow.name} moved back to {stamp(when)} UTC."
    if then_run:
        run_flow_now(host, ctx, flow, moved)
        return
    host.notify(moved, title="Time History")

    def answered(yes: bool | None) -> None:
        if yes:
            run_flow_now(host, ctx, flow)

    # Moved back, nothing re-processes until the next scheduled run (none at all when not live).
    host.app.push_screen(
        ConfirmDialog(
            f"Run {flow.name} now?",
            f"{moved} Run {flow.name} now to re-process from there, or leave it to the next scheduled "
            "run (scheduling rules run only in Live mode).",
            confirm_label="Run now",
            cancel_label="Later",
        ),
        answered,
    )


def run_flow_now(host: Widget, ctx: ConsoleContext, flow: Flow, lead: str = "") -> None:
    """Queue a Time History run of `flow` (one, if none waits or runs) and start it: on the embedded
    engine, else in a worker of this console."""
    try:
        task = ctx.service.sync(flow, trigger=TaskTrigger.MANUAL)
    except Exception as exc:
        host.notify(f"{lead} The run was not queued: {error_text(exc)}".strip(), severity="error", timeout=10)
        return
    if task is None:
        message = f"{lead} A run of {flow.name} is already queued or running: it starts from there."
    else:
        message = f"{lead} Task #{task.id} queued: {flow.name} runs now."
        ctx.notify_engine()
        if ctx.engine is None:
            host.app.run_worker(
                lambda: asyncio.run(ctx.service.run_now(task)), thread=True, exit_on_error=False
            )
    host.notify(message.strip(), title=flow.name)
