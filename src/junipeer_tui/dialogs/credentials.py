"""Manage credentials of a connector: store a new set in the secret store (keyring or file). A stored
secret is never shown back, only that one is stored. Also the Stripe form (one restricted key)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Input, Label, Select, Static

from engine.store.models import Connector
from junipeer_tui.dialogs.base import Dialog
from junipeer_tui.dialogs.confirm import ConfirmDialog
from junipeer_tui.widgets.key_footer import KeyFooter
from junipeer_tui.widgets.util import call_async, error_text, platform_name

if TYPE_CHECKING:
    from junipeer_tui.context import ConsoleContext

# (key, label, secret?): what each kind of connection's client reads. A secret goes to the secret
# store and is typed masked; a plain value (an app's client id) is a connection option, shown.
SHOPIFY_TOKEN = [
    ("access_token", "Admin API access token", True),
    ("webhook_secret", "Webhook signing secret", True),
]
SHOPIFY_APP = [
    ("client_id", "Client id", False),
    ("client_secret", "Client secret", True),
    ("webhook_secret", "Webhook signing secret", True),
]
FORTNOX_GRANT = [("client_secret", "Client secret", True), ("refresh_token", "Refresh token", True)]
FORTNOX_SERVICE = [("client_secret", "Client secret", True)]
STRIPE = [("api_key", "Restricted API key", True)]


def credential_fields(connector: Connector) -> list[tuple[str, str, bool]]:
    opts = connector.options or {}
    if connector.platform == "shopify":
        return SHOPIFY_APP if opts.get("auth") == "client_credentials" else SHOPIFY_TOKEN
    if connector.platform == "fortnox":
        return FORTNOX_SERVICE if opts.get("tenant_id") else FORTNOX_GRANT
    if connector.platform == "stripe":
        return STRIPE
    return [("token", "Token", True)]


class _ConnectForm(Dialog[bool]):
    """A form that saves (and tests) on Enter or its primary button; Escape or the other cancels."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.variant == "primary":
            self.save()
        else:
            self.action_cancel()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.save()

    def save(self) -> None:
        raise NotImplementedError

    def action_cancel(self) -> None:
        self.dismiss(False)


class CredentialsForm(_ConnectForm):
    def __init__(self, ctx: ConsoleContext, connector: Connector) -> None:
        super().__init__(classes="dialog-screen")
        self.ctx = ctx
        self.connector = connector
        self.fields = credential_fields(connector)

    def compose(self) -> ComposeResult:
        stored = self.ctx.service.secrets.get(self.connector.credential_ref) or {}
        opts = self.connector.options or {}
        kind = {
            "client_credentials": "a Dev Dashboard app (client credentials)",
            "token": "a custom app's access token",
        }.get(str(opts.get("auth") or ""), "")
        with Vertical(classes="dialog credentials"):
            yield Label(
                f"Manage credentials: {platform_name(self.connector.platform)} "
                f"({self.connector.connection_name})",
                classes="dialog-title",
                markup=False,
            )
            yield Static(
                (f"This connection uses {kind}. " if kind else "")
                + "Type a new value to replace a credential; leave a field empty to keep what is "
                "stored. Stored secrets are never shown.",
                classes="dialog-body",
            )
            for key, label, secret in self.fields:
                with Horizontal(classes="form-row"):
                    yield Label(label, classes="form-label wide")
                    if secret:
                        yield Input(
                            placeholder="•••• stored" if stored.get(key) else "not set",
                            password=True,
                            id=f"cred-{key}",
                            compact=True,
                        )
                    else:
                        yield Input(str(opts.get(key) or ""), id=f"cred-{key}", compact=True)
            others = self._other_connections()
            if others:
                with Horizontal(classes="form-row", id="cred-saved-row"):
                    yield Label("Saved connections", classes="form-label wide")
                    yield Select(
                        [(n, n) for n in others],
                        value=others[0],
                        allow_blank=False,
                        id="cred-saved",
                        compact=True,
                    )
                    yield Button("Remove…", id="cred-remove", compact=True)
            yield Static("", id="cred-error", classes="field-error")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Save and test", id="cred-save", variant="primary")
                yield Button("Cancel", id="cred-cancel")
        yield KeyFooter()

    def _other_connections(self) -> list[str]:
        """Credential sets saved aside (test, production, …): the one in use is managed above."""
        names = self.ctx.service.connection_names(self.connector)
        return [n for n in names if n != self.connector.connection_name]

    def on_button_pressed(self, event: Button.Pressed) -> None:
        # Textual goes on to the base class's handler (save or cancel) unless told not to.
        if event.button.id != "cred-remove":
            return
        event.prevent_default()
        event.stop()
        name = str(self.query_one("#cred-saved", Select).value)
        platform = platform_name(self.connector.platform)

        def confirmed(yes: bool | None) -> None:
            if yes:
                self._remove(name)

        self.app.push_screen(
            ConfirmDialog(
                "Remove connection?",
                f"Forget {platform}'s saved connection {name!r} and delete its credentials from the "
                "secret store. The connection in use stays.",
                confirm_label="Remove",
                destructive=True,
            ),
            confirmed,
        )

    def _remove(self, name: str) -> None:
        try:
            self.connector = self.ctx.service.remove_connection(
                self.connector.integration_id, self.connector.platform, name
            )
        except Exception as exc:
            self.query_one("#cred-error", Static).update(error_text(exc))
            return
        self.notify(f"Removed the connection {name!r}.", title="Connectors", markup=False)
        others = self._other_connections()
        if others:
            self.query_one("#cred-saved", Select).set_options([(n, n) for n in others])
        else:
            self.query_one("#cred-saved-row").remove()

    def save(self) -> None:
        opts = self.connector.options or {}
        typed: dict[str, str] = {}
        options: dict[str, Any] = {}
        for key, _label, secret in self.fields:
            value = self.query_one(f"#cred-{key}", Input).value.strip()
            if not secret:
                if not value:
                    self.query_one("#cred-error", Static).update(
                        f"The {key.replace('_', ' ')} cannot be empty."
                    )
                    return
                if value != opts.get(key):
                    options[key] = value
            elif value:
                typed[key] = value
        if not typed and not options:
            self.query_one("#cred-error", Static).update("Nothing typed: enter at least one new value.")
            return
        try:
            self.ctx.service.set_credentials(self.connector.id, typed, options or None)  # type: ignore[arg-type]
        except Exception as exc:
            self.query_one("#cred-error", Static).update(error_text(exc))
            return
        self.dismiss(True)


class StripeForm(_ConnectForm):
    """Connect Stripe (the payouts flow): a restricted key, checked by a test call before closing."""

    def __init__(self, ctx: ConsoleContext) -> None:
        super().__init__(classes="dialog-screen")
        self.ctx = ctx

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog credentials"):
            yield Label("Connect Stripe", classes="dialog-title")
            yield Static(
                "Create a restricted key (rk_…) in Stripe's dashboard that may read payouts and "
                "balance transactions. It is checked by a test call and kept in the secret store.",
                classes="dialog-body",
            )
            for key, label, placeholder, secret in (
                ("api_key", "Restricted API key", "rk_live_…", True),
                ("connection", "Connection", "default", False),
                ("base_url", "Base URL", "https://api.stripe.com/v1/ (a proxy or the sandbox)", False),
            ):
                with Horizontal(classes="form-row"):
                    yield Label(label, classes="form-label wide")
                    yield Input(placeholder=placeholder, password=secret, id=f"stripe-{key}", compact=True)
            yield Static("", id="cred-error", classes="field-error")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Connect and test", id="stripe-save", variant="primary")
                yield Button("Cancel", id="stripe-cancel")
        yield KeyFooter()

    def save(self) -> None:
        values = {
            k: self.query_one(f"#stripe-{k}", Input).value.strip()
            for k in ("api_key", "connection", "base_url")
        }
        if not values["api_key"]:
            self.query_one("#cred-error", Static).update("Type the restricted key (rk_…).")
            return
        self.query_one("#cred-error", Static).update("Testing the key…")
        self._connect(values)

    @work(thread=True, exit_on_error=False, group="stripe-connect", exclusive=True)
    def _connect(self, values: dict[str, str]) -> None:
        svc, iid = self.ctx.service, self.ctx.integration_id
        try:
            result = call_async(
                self.ctx,
                lambda: svc.connect_stripe(
                    iid,
                    api_key=values["api_key"],
                    url=values["base_url"] or None,
                    connection=values["connection"] or "default",
                ),
                60,
            )
            ok, message = result.ok, result.message
        except Exception as exc:
            ok, message = False, error_text(exc)
        self.app.call_from_thread(self._connected, ok, message)

    def _connected(self, ok: bool, message: str) -> None:
        if ok:
            self.notify(message, title="Stripe", markup=False)
            self.dismiss(True)
            return
        self.query_one("#cred-error", Static).update(message)
