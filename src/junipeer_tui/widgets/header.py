"""The console's header: the integration, its mode and the engine's state, refreshed every second."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Static

from junipeer_tui.context import ConsoleContext
from junipeer_tui.widgets.util import aware


class ConsoleHeader(Horizontal):
    def __init__(self, ctx: ConsoleContext) -> None:
        super().__init__(id="console-header")
        self.ctx = ctx

    def compose(self) -> ComposeResult:
        yield Static("junipeer", id="brand")
        yield Static("", id="integration-name")
        yield Static("", id="mode")
        yield Static("", id="engine-state")
        yield Static("", id="clock")

    def on_mount(self) -> None:
        self.refresh_state()

    def refresh_state(self) -> None:
        integ = self.ctx.service.integration(self.ctx.integration_id)
        self.query_one("#integration-name", Static).update(integ.name)
        mode = self.query_one("#mode", Static)
        live = integ.live_mode and not integ.onboarding_mode
        mode.update("live" if live else "onboarding")
        mode.set_class(live, "-live")
        engine = self.ctx.engine
        label = engine.status().label if engine is not None else "not running"
        state = self.query_one("#engine-state", Static)
        state.update(f"engine {label}")
        state.set_class(label.startswith("running"), "-busy")
        state.set_class(label in ("stopped", "not running"), "-off")
        now = aware(self.ctx.clock())
        self.query_one("#clock", Static).update(f"{now:%Y-%m-%d %H:%M:%S} UTC")
