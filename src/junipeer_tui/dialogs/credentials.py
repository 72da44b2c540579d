"""Manage credentials of a connector: store a new set in the secret store (keyring or file). A stored
secret is never shown back, only that one is stored."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Input, Label, Static

from engine.store.models import Connector
from junipeer_tui.dialogs.base import Dialog
from junipeer_tui.widgets.key_footer import KeyFooter
from junipeer_tui.widgets.util import error_text, platform_name

if TYPE_CHECKING:
    from junipeer_tui.context import ConsoleContext

# What each platform's client reads from its secret entry.
SECRET_FIELDS: dict[str, list[tuple[str, str]]] = {
    "shopify": [("access_token", "Admin API access token"), ("webhook_secret", "Webhook signing secret")],
    "fortnox": [("client_secret", "Client secret"), ("refresh_token", "Refresh token")],
    "stripe": [("api_key", "Secret API key")],
}


class CredentialsForm(Dialog[bool]):
    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, ctx: ConsoleContext, connector: Connector) -> None:
        super().__init__(classes="dialog-screen")
        self.ctx = ctx
        self.connector = connector
        self.fields = SECRET_FIELDS.get(connector.platform, [("token", "Token")])

    def compose(self) -> ComposeResult:
        stored = self.ctx.service.secrets.get(self.connector.credential_ref) or {}
        with Vertical(classes="dialog credentials"):
            yield Label(
                f"Manage credentials: {platform_name(self.connector.platform)}", classes="dialog-title"
            )
            yield Static(
                "Type a new value to replace a credential; leave a field empty to keep what is stored. "
                "Stored values are never shown.",
                classes="dialog-body",
            )
            for key, label in self.fields:
                with Horizontal(classes="form-row"):
                    yield Label(label, classes="form-label wide")
                    yield Input(
                        placeholder="•••• stored" if stored.get(key) else "not set",
                        password=True,
                        id=f"cred-{key}",
                        compact=True,
                    )
            yield Static("", id="cred-error", classes="field-error")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Save and test", id="cred-save", variant="primary")
                yield Button("Cancel", id="cred-cancel")
        yield KeyFooter()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "cred-save":
            self.save()
        else:
            self.action_cancel()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.save()

    def save(self) -> None:
        typed = {key: self.query_one(f"#cred-{key}", Input).value.strip() for key, _ in self.fields}
        typed = {k: v for k, v in typed.items() if v}
        if not typed:
            self.query_one("#cred-error", Static).update("Nothing typed: enter at least one new value.")
            return
        try:
            self.ctx.service.set_credentials(self.connector.id, typed)  # type: ignore[arg-type]
        except Exception as exc:
            self.query_one("#cred-error", Static).update(error_text(exc))
            return
        self.dismiss(True)

    def action_cancel(self) -> None:
        self.dismiss(False)
