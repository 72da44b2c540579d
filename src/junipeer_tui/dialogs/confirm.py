"""A yes/no confirmation; destructive ones are red and default to No. An optional `detail` callable
runs in a thread worker ("counting…" until it answers), e.g. how many records a run will re-process."""

from __future__ import annotations

from collections.abc import Callable

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Label, Static

from junipeer_tui.dialogs.base import Dialog
from junipeer_tui.widgets.key_footer import KeyFooter
from junipeer_tui.widgets.util import error_text


class ConfirmDialog(Dialog[bool]):
    BINDINGS = [
        Binding("escape,n", "cancel", "Cancel"),
        Binding("y", "confirm", "Confirm"),
    ]

    def __init__(
        self,
        title: str,
        body: str,
        *,
        confirm_label: str = "Confirm",
        cancel_label: str = "Cancel",
        destructive: bool = False,
        detail: Callable[[], str] | None = None,
        detail_pending: str = "counting…",
    ) -> None:
        super().__init__(classes="dialog-screen")
        self.title_text = title
        self.body = body
        self.confirm_label = confirm_label
        self.cancel_label = cancel_label
        self.destructive = destructive
        self.detail = detail
        self.detail_pending = detail_pending

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog confirm" + (" destructive" if self.destructive else "")):
            yield Label(self.title_text, classes="dialog-title")
            yield Static(self.body, id="confirm-body", classes="dialog-body")
            if self.detail is not None:
                yield Static(self.detail_pending, id="confirm-detail", classes="dialog-detail")
            with Horizontal(classes="dialog-buttons"):
                yield Button(
                    self.confirm_label, id="confirm-yes", variant="error" if self.destructive else "primary"
                )
                yield Button(self.cancel_label, id="confirm-no")
        yield KeyFooter()

    def on_mount(self) -> None:
        # A destructive confirmation starts on Cancel: Enter alone never deletes.
        self.query_one("#confirm-no" if self.destructive else "#confirm-yes", Button).focus()
        if self.detail is not None:
            self._compute_detail()

    @work(thread=True, exit_on_error=False, group="confirm-detail")
    def _compute_detail(self) -> None:
        assert self.detail is not None
        try:
            text = self.detail()
        except Exception as exc:  # shown in the dialog, never raised at the operator
            text = f"Could not count: {error_text(exc)}"
        self.app.call_from_thread(self._show_detail, text)

    def _show_detail(self, text: str) -> None:
        if self.is_mounted:
            self.query_one("#confirm-detail", Static).update(text)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(event.button.id == "confirm-yes")

    def action_cancel(self) -> None:
        self.dismiss(False)

    def action_confirm(self) -> None:
        self.dismiss(True)
