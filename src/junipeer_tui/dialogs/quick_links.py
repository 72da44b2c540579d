"""The small menu behind a flow button's ▾: Logs and Task History of that flow."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import Label, OptionList
from textual.widgets.option_list import Option

from junipeer_tui.dialogs.base import Dialog
from junipeer_tui.widgets.key_footer import KeyFooter


class QuickLinks(Dialog["str | None"]):
    """Dismisses with "logs", "tasks" or None."""

    BINDINGS = [Binding("escape", "cancel", "Close")]

    def __init__(self, title: str) -> None:
        super().__init__(classes="dialog-screen")
        self.title_text = title

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog picker quick-links"):
            yield Label(self.title_text, classes="dialog-title")
            yield OptionList(Option("Logs", id="logs"), Option("Task History", id="tasks"), id="quick-links")
        yield KeyFooter()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss(event.option.id)

    def action_cancel(self) -> None:
        self.dismiss(None)
