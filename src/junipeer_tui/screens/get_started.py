"""Get Started: from an empty workspace to a Live integration, one step at a time, in the help
centre's order — name the integration, connect the shop (Shopify), connect the ERP (Fortnox), save
the required settings, choose the flows, try one order with Export One, go Live.

Each step calls the same service methods as the CLI (`integrations create`, `connect shopify`,
`connect fortnox`, `settings`, `flows enable`, `export-one`, `live on`). What is done is read from
the database (engine.onboarding), so the operator can leave at any step (esc) and resume later, even
after doing a step from the command line. Secrets are typed masked and go to the secret store only.
"""

from __future__ import annotations

import os
import sys
import threading
import webbrowser
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import urlsplit

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import (
    Button,
    Checkbox,
    Collapsible,
    ContentSwitcher,
    Input,
    Label,
    OptionList,
    Select,
    Static,
)
from textual.widgets.option_list import Option

from engine import onboarding
from engine.connect import DEFAULT_SHOPIFY_API_VERSION
from engine.errors import EngineError
from engine.mapping import settings as settings_mod
from engine.platforms import fortnox_oauth
from engine.platforms.fortnox_scopes import scopes_for
from junipeer_tui.screens.configure import CategoryPanel, option_of, refresh_banner, save_panel
from junipeer_tui.widgets.key_footer import KeyFooter
from junipeer_tui.widgets.util import call_async, error_text

if TYPE_CHECKING:
    from engine.service import Service
    from junipeer_tui.context import ConsoleContext

MARKS = {True: "✓", False: "·"}
NEXT_MARK = "›"
# How long the loopback listener waits for Fortnox's answer (a code lives 10 minutes).
CONSENT_SECONDS = 600
SHOPIFY_KINDS = [
    ("Dev Dashboard app: client id + secret", "client_credentials"),
    ("Custom app: Admin API access token", "token"),
]


@dataclass
class SignIn:
    """A Fortnox sign-in under way: what the code will be exchanged with. Held by the screen only
    until the exchange; the client secret never leaves the secret store's way in."""

    state: str
    address: str
    client_id: str
    client_secret: str
    redirect_uri: str
    urls: dict[str, str | None]
    cancel: threading.Event


def has_window_browser() -> bool:
    """Whether a browser can open in a window of its own (not in this terminal)."""
    return sys.platform in ("darwin", "win32") or bool(
        os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
    )


def row(label: str, widget: Any, classes: str = "") -> Horizontal:
    return Horizontal(Label(label, classes="gs-label"), widget, classes=f"gs-row {classes}".strip())


class GetStartedScreen(Screen[None]):
    BINDINGS: ClassVar[list[Binding | tuple[str, str] | tuple[str, str, str]]] = [
        Binding("escape", "leave", "Leave"),
        Binding("ctrl+n", "next_step", "Next step"),
    ]
    HORIZONTAL_BREAKPOINTS: ClassVar[list[tuple[int, str]] | None] = [(0, "-narrow"), (100, "-wide")]

    def __init__(self, service: Service, ctx: ConsoleContext | None, step: str | None = None) -> None:
        super().__init__(id="get-started")
        self.service = service
        self.ctx = ctx
        self.first_step = step
        self.signin: SignIn | None = None
        self.done: list[onboarding.Step] = onboarding.steps(service, self.iid)

    @property
    def iid(self) -> int | None:
        return self.ctx.integration_id if self.ctx is not None else None

    # -- layout -------------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield Static("", id="gs-header", markup=False)
        with Horizontal(id="gs-body"):
            yield OptionList(*self._step_options(), id="gs-steps")
            with ContentSwitcher(id="gs-panes", initial="gs-name"):
                yield self._pane("name", self._name_pane())
                for key, _title in onboarding.STEPS[1:]:
                    if self.ctx is None:
                        yield self._pane(
                            key, [Static("Name the integration first (step 1).", classes="gs-intro")]
                        )
                    else:
                        yield self._pane(key, getattr(self, f"_{key}_pane")())
        yield KeyFooter()

    def _pane(self, key: str, children: list[Any]) -> VerticalScroll:
        number = [k for k, _ in onboarding.STEPS].index(key) + 1
        title = Static(f"{number} {onboarding.TITLES[key]}", classes="gs-title")
        state = Static("", id=f"gs-state-{key}", classes="gs-state", markup=False)
        return VerticalScroll(title, *children, state, id=f"gs-{key}", classes="gs-pane")

    def _step_options(self) -> list[Option]:
        upcoming = onboarding.next_step(self.done)
        options = []
        for n, step in enumerate(self.done, 1):
            mark = NEXT_MARK if upcoming is not None and step.key == upcoming.key else MARKS[step.done]
            options.append(Option(f"{mark} {n} {step.title}", id=step.key))
        return options

    def _name_pane(self) -> list[Any]:
        name = self.service.integration(self.iid).name if self.iid is not None else ""
        return [
            Static(
                "An integration joins your shop (Shopify) and your ERP (Fortnox). Give it a name you "
                "will recognise, such as the shop's.",
                classes="gs-intro",
            ),
            row("Name", Input(name, placeholder="e.g. My shop", id="gs-name-input", compact=True)),
            Horizontal(
                Button("Rename" if self.iid is not None else "Create", id="gs-name-save", compact=True),
                classes="gs-buttons",
            ),
        ]

    def _shop_pane(self) -> list[Any]:
        conn = self._connector("shopify")
        opts = conn.options if conn is not None else {}
        kind = str(opts.get("auth") or "client_credentials")
        default_url = (
            f"https://{opts.get('shop_domain')}/admin/api/{opts.get('api_version')}/" if conn else ""
        )
        base = conn.base_url if conn is not None and conn.base_url != default_url else ""
        return [
            Static(
                "Orders are read through an app of your shop: a Dev Dashboard app (its client id and "
                "secret; Junipeer renews its 24-hour tokens) or a custom app made in the shop admin "
                "(its Admin API access token). Scopes: read_orders, and read_all_orders for orders "
                "older than 60 days.",
                classes="gs-intro",
            ),
            row(
                "Shop domain",
                Input(
                    str(opts.get("shop_domain") or ""),
                    placeholder="your-shop.myshopify.com",
                    id="gs-shop-domain",
                    compact=True,
                ),
            ),
            row(
                "App",
                Select(SHOPIFY_KINDS, value=kind, allow_blank=False, id="gs-shop-kind", compact=True),
            ),
            row(
                "Client id",
                Input(str(opts.get("client_id") or ""), id="gs-shop-client-id", compact=True),
                "gs-app",
            ),
            row(
                "Client secret",
                Input(password=True, placeholder="typed hidden", id="gs-shop-client-secret", compact=True),
                "gs-app",
            ),
            row(
                "Access token",
                Input(password=True, placeholder="shpat_… (typed hidden)", id="gs-shop-token", compact=True),
                "gs-token",
            ),
            Collapsible(
                row(
                    "API version",
                    Input(
                        str(opts.get("api_version") or DEFAULT_SHOPIFY_API_VERSION),
                        id="gs-shop-version",
                        compact=True,
                    ),
                ),
                row(
                    "Connection",
                    Input(
                        conn.connection_name if conn is not None else "default",
                        id="gs-shop-connection",
                        compact=True,
                    ),
                ),
                row(
                    "Base URL",
                    Input(
                        base,
                        placeholder="https://{shop}/admin/api/{version}/",
                        id="gs-shop-url",
                        compact=True,
                    ),
                ),
                title="More: API version, connection name, base URL",
                collapsed=True,
                classes="gs-more",
            ),
            Horizontal(Button("Connect and test", id="gs-shop-connect", compact=True), classes="gs-buttons"),
        ]

    def _erp_pane(self) -> list[Any]:
        conn = self._connector("fortnox")
        opts = conn.options if conn is not None else {}
        assert self.iid is not None
        scopes = " ".join(self.service.fortnox_scopes(self.iid))

        def url(key: str, default: str, base: str = "") -> str:
            value = base or str(opts.get(key) or "")
            return "" if value in ("", default) else value

        form = Vertical(
            Static(
                "Junipeer writes to Fortnox through your app in Fortnox's developer portal, with its "
                "redirect URI registered there. Sign in as a Fortnox user who may approve the scopes "
                f"asked for: {scopes}.",
                classes="gs-intro",
            ),
            row("Client id", Input(str(opts.get("client_id") or ""), id="gs-erp-client-id", compact=True)),
            row(
                "Client secret",
                Input(password=True, placeholder="typed hidden", id="gs-erp-client-secret", compact=True),
            ),
            row(
                "Redirect URI",
                Input(
                    str(opts.get("redirect_uri") or fortnox_oauth.DEFAULT_REDIRECT_URI),
                    id="gs-erp-redirect",
                    compact=True,
                ),
            ),
            Collapsible(
                row(
                    "TenantId",
                    Input(
                        str(opts.get("tenant_id") or ""),
                        placeholder="a service account's: no sign-in",
                        id="gs-erp-tenant",
                        compact=True,
                    ),
                ),
                Checkbox(
                    "Consent as a service account (a system administrator signs in)",
                    id="gs-erp-service",
                    compact=True,
                ),
                row(
                    "Connection",
                    Input(
                        conn.connection_name if conn is not None else "default",
                        id="gs-erp-connection",
                        compact=True,
                    ),
                ),
                row(
                    "API URL",
                    Input(
                        url("", fortnox_oauth.DEFAULT_BASE_URL, conn.base_url if conn else ""),
                        placeholder=fortnox_oauth.DEFAULT_BASE_URL,
                        id="gs-erp-url",
                        compact=True,
                    ),
                ),
                row(
                    "Auth URL",
                    Input(
                        url("auth_url", fortnox_oauth.DEFAULT_AUTH_URL),
                        placeholder=fortnox_oauth.DEFAULT_AUTH_URL,
                        id="gs-erp-auth-url",
                        compact=True,
                    ),
                ),
                row(
                    "Token URL",
                    Input(
                        url("token_url", fortnox_oauth.DEFAULT_TOKEN_URL),
                        placeholder=fortnox_oauth.DEFAULT_TOKEN_URL,
                        id="gs-erp-token-url",
                        compact=True,
                    ),
                ),
                title="More: service account, connection name, URLs",
                collapsed=True,
                classes="gs-more",
            ),
            Horizontal(Button("Sign in to Fortnox", id="gs-erp-signin", compact=True), classes="gs-buttons"),
            id="gs-erp-form",
        )
        # Shown instead of the form while a sign-in is under way: it fits 80×24 whole.
        signing_in = Vertical(
            Static("", id="gs-erp-address", classes="gs-address", markup=False),
            Horizontal(
                Button("Open in browser", id="gs-erp-open", compact=True),
                Button("Copy address", id="gs-erp-copy", compact=True),
                Button("Start over", id="gs-erp-restart", compact=True),
                classes="gs-buttons",
            ),
            Static("", id="gs-erp-listening", classes="gs-note", markup=False),
            Horizontal(
                Input(
                    placeholder="or paste the address you were sent to, or the code",
                    id="gs-erp-paste",
                    compact=True,
                ),
                Button("Use it", id="gs-erp-use", compact=True),
                classes="gs-paste",
            ),
            id="gs-erp-signing-in",
        )
        return [form, signing_in]

    def _settings_pane(self) -> list[Any]:
        assert self.iid is not None
        saved = self.service.settings(self.iid)
        missing: dict[str, set[str]] = {}
        for cat, name, _ in self.service.missing_settings(self.iid):
            missing.setdefault(cat, set()).add(name)
        panels: list[Any] = [
            Static(
                "A yellow banner marks a setting that is required and must be saved before syncing "
                "can begin; the other categories work with defaults (Configure > Settings).",
                classes="gs-intro",
            )
        ]
        for cat in settings_mod.describe():
            if any(f["required"] for f in cat["fields"]):
                values = getattr(saved, cat["key"]).model_dump()
                panel = CategoryPanel(cat, values, missing.get(cat["key"], set()))
                panel.collapsed = False
                panels.append(panel)
        return panels

    def _flows_pane(self) -> list[Any]:
        assert self.iid is not None
        children: list[Any] = [
            Static(
                "Turn on the flows this integration should run; a flow left off never runs, Export "
                "One included. Turning one on checks that the Fortnox sign-in granted its scopes.",
                classes="gs-intro",
            )
        ]
        for flow in self.service.flows(self.iid):
            children.append(
                Checkbox(f"{flow.name} — {flow.action}", flow.enabled, id=f"gs-flow-{flow.key}", compact=True)
            )
            children.append(
                Static(
                    f"Fortnox scopes: {', '.join(scopes_for([flow.key]))}",
                    classes="gs-flow-scopes",
                    markup=False,
                )
            )
        children.append(
            Horizontal(Button("Continue", id="gs-flows-next", compact=True), classes="gs-buttons")
        )
        return children

    def _try_pane(self) -> list[Any]:
        return [
            Static(
                "Start with a single test order before going Live: Export One syncs one order, and "
                "you check the result in Fortnox. In the dialog, type the reference of an order in "
                "your shop, such as #1001.",
                classes="gs-intro",
            ),
            Horizontal(Button("Export One…", id="gs-try-export", compact=True), classes="gs-buttons"),
        ]

    def _live_pane(self) -> list[Any]:
        return [
            Static(
                "In Live mode the scheduling rules run (every 15 minutes to start with): orders reach "
                "Fortnox without anyone starting them. Until then flows run only when you start them.",
                classes="gs-intro",
            ),
            Static("", id="gs-live-left", classes="gs-note", markup=False),
            Horizontal(Button("Go Live", id="gs-live-go", compact=True), classes="gs-buttons"),
        ]

    # -- state --------------------------------------------------------------------------------
    def on_mount(self) -> None:
        if self.ctx is not None:
            self._show_kind()
            self.query_one("#gs-erp-signing-in").display = False
        self._load_lookups()
        self.refresh_steps()
        self.show_step(self.first_step)

    def on_screen_resume(self) -> None:
        """Back from a dialog (Export One) or from the console: a step done meanwhile moves on."""
        current = str(self.query_one("#gs-panes", ContentSwitcher).current or "").removeprefix("gs-")
        was_done = {s.key: s.done for s in self.done}
        self.refresh_steps()
        now_done = {s.key: s.done for s in self.done}
        if now_done.get(current) and not was_done.get(current):
            self.show_step()

    def on_unmount(self) -> None:
        self._stop_listening()

    def _connector(self, platform: str) -> Any:
        if self.iid is None:
            return None
        return next((c for c in self.service.connectors(self.iid) if c.platform == platform), None)

    def refresh_steps(self) -> None:
        """Re-read where the integration stands: the marks, the header, each step's state line."""
        self.done = onboarding.steps(self.service, self.iid)
        steps = self.query_one("#gs-steps", OptionList)
        highlighted = steps.highlighted
        for option in self._step_options():
            steps.replace_option_prompt(option.id or "", option.prompt)
        steps.highlighted = highlighted
        count = sum(s.done for s in self.done)
        name = self.service.integration(self.iid).name if self.iid is not None else "a new integration"
        self.query_one("#gs-header", Static).update(
            f"Get Started · {name} · {count} of {len(self.done)} steps done"
        )
        for step in self.done:
            if step.detail:
                text = f"{MARKS[step.done] if step.done else '○'} {step.detail}"
                self.query_one(f"#gs-state-{step.key}", Static).update(text)
                self.query_one(f"#gs-state-{step.key}", Static).set_class(step.done, "-done")
        if self.iid is not None:
            left = self.service.not_ready_for_live(self.iid)
            live = self.service.integration(self.iid).live_mode
            review = [
                f"{MARKS[step.done] if step.done else '○'} {onboarding.SHORT[step.key]}: {step.detail}"
                for step in self.done
                if step.key != "live"
            ]
            verdict = (
                "It is Live."
                if live
                else ("Left before Live: " + "; ".join(left) if left else "Ready to go Live.")
            )
            self.query_one("#gs-live-left", Static).update("\n".join([*review, "", verdict]))
            self.query_one("#gs-live-go", Button).disabled = live
            self.query_one("#gs-name-save", Button).label = "Rename"

    def show_step(self, key: str | None = None) -> None:
        """Show a step (by default the first not done) and put the cursor in its first field."""
        if key is None:
            upcoming = onboarding.next_step(self.done)
            key = upcoming.key if upcoming is not None else "live"
        if self.ctx is None:
            key = "name"
        keys = [k for k, _ in onboarding.STEPS]
        self.query_one("#gs-steps", OptionList).highlighted = keys.index(key)
        self.query_one("#gs-panes", ContentSwitcher).current = f"gs-{key}"
        self.call_after_refresh(self._focus_pane, key)

    def _focus_pane(self, key: str) -> None:
        pane = self.query_one(f"#gs-{key}")
        fields = pane.query("Input, Checkbox, Button, Select")
        target = next((w for w in fields if w.focusable), None)
        if target is not None:
            target.focus()

    def _status(self, key: str, text: str, ok: bool | None = None) -> None:
        state = self.query_one(f"#gs-state-{key}", Static)
        state.update(text)
        state.set_class(ok is True, "-done")
        state.set_class(ok is False, "-error")

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        if event.option_list.id == "gs-steps" and event.option.id:
            self.query_one("#gs-panes", ContentSwitcher).current = f"gs-{event.option.id}"

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        if event.option_list.id == "gs-steps" and event.option.id:
            event.stop()
            self.show_step(event.option.id)

    def _advance(self) -> None:
        """A step just done: on to the next one not done."""
        self.refresh_steps()
        self.show_step()

    # -- actions ------------------------------------------------------------------------------
    def action_leave(self) -> None:
        self._stop_listening()
        if getattr(self.app, "console_screen", None) is None:
            self.app.exit()
            return
        self.dismiss(None)

    def action_next_step(self) -> None:
        self.show_step()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        handlers = {
            "gs-name-save": self._save_name,
            "gs-shop-connect": self._connect_shop,
            "gs-erp-signin": self._sign_in,
            "gs-erp-open": self._open_browser,
            "gs-erp-copy": self._copy_address,
            "gs-erp-restart": self._restart_sign_in,
            "gs-erp-use": self._use_pasted,
            "gs-flows-next": self._flows_chosen,
            "gs-try-export": self._export_one,
            "gs-live-go": self._go_live,
        }
        handler = handlers.get(event.button.id or "")
        if handler is not None:
            event.stop()
            handler()
        elif (event.button.id or "").startswith("save-"):
            event.stop()
            self._save_settings(event.button.id.removeprefix("save-"))  # type: ignore[union-attr]

    def on_input_submitted(self, event: Input.Submitted) -> None:
        field = event.input.id or ""
        event.stop()
        if field == "gs-name-input":
            self._save_name()
        elif field.startswith("gs-shop-"):
            self._connect_shop()
        elif field == "gs-erp-paste":
            self._use_pasted()
        elif field.startswith("gs-erp-"):
            self._sign_in()
        else:
            panel = next((a for a in event.input.ancestors if isinstance(a, CategoryPanel)), None)
            if panel is not None:
                self._save_settings(panel.cat["key"])

    def on_select_changed(self, event: Select.Changed) -> None:
        if event.select.id == "gs-shop-kind":
            event.stop()
            self._show_kind()

    def _show_kind(self) -> None:
        if self.ctx is None:
            return
        app_kind = self.query_one("#gs-shop-kind", Select).value == "client_credentials"
        for widget in self.query(".gs-app"):
            widget.display = app_kind
        for widget in self.query(".gs-token"):
            widget.display = not app_kind

    def _value(self, selector: str) -> str:
        return self.query_one(selector, Input).value.strip()

    # -- 1 name ---------------------------------------------------------------------------------
    def _save_name(self) -> None:
        name = self._value("#gs-name-input")
        try:
            if self.iid is None:
                integ = self.service.create_integration(name)
            else:
                integ = self.service.update_integration(self.iid, name=name)
        except Exception as exc:
            self._status("name", error_text(exc), False)
            return
        if self.ctx is None:
            # The console opens on the new integration, with this wizard in front at its next step.
            self.app.open_integration(integ.id, "shop")  # type: ignore[attr-defined]
            return
        self.notify(f"The integration is now named {integ.name}.", title="Get Started", markup=False)
        self.refresh_steps()

    # -- 2 shop ---------------------------------------------------------------------------------
    def _connect_shop(self) -> None:
        app_kind = self.query_one("#gs-shop-kind", Select).value == "client_credentials"
        given = {
            "shop": self._value("#gs-shop-domain"),
            "api_version": self._value("#gs-shop-version") or None,
            "connection": self._value("#gs-shop-connection") or "default",
            "url": self._value("#gs-shop-url") or None,
        }
        if app_kind:
            given |= {
                "client_id": self._value("#gs-shop-client-id") or None,
                "client_secret": self._value("#gs-shop-client-secret") or None,
            }
            if not (given["client_id"] and given["client_secret"]):
                self._status("shop", "Type the app's client id and client secret.", False)
                return
        else:
            given["access_token"] = self._value("#gs-shop-token") or None
            if not given["access_token"]:
                self._status("shop", "Type the custom app's Admin API access token.", False)
                return
        if not given["shop"]:
            self._status("shop", "Type the shop's domain, your-shop.myshopify.com.", False)
            return
        self._status("shop", "Connecting to Shopify and testing the connection…")
        self._run_connect("shop", given)

    @work(thread=True, exit_on_error=False, group="gs-connect", exclusive=True)
    def _run_connect(self, key: str, given: dict[str, Any]) -> None:
        assert self.ctx is not None and self.iid is not None
        svc, iid = self.service, self.iid
        call = {"shop": svc.connect_shopify, "erp": svc.connect_fortnox}[key]
        try:
            result = call_async(self.ctx, lambda: call(iid, **given), 90)
            ok, message = result.ok, result.message
        except Exception as exc:
            ok, message = False, error_text(exc)
        self.app.call_from_thread(self._connected, key, ok, message)

    def _connected(self, key: str, ok: bool, message: str) -> None:
        if not self.is_attached:
            return
        for field in self.query(Input):
            if field.password:
                field.value = ""  # a typed secret does not stay on screen once stored
        self.refresh_steps()
        self._status(key, ("✓ " if ok else "✗ ") + message, ok)
        if ok:
            self.notify(message, title="Get Started", markup=False)
            self.show_step()

    # -- 3 ERP ----------------------------------------------------------------------------------
    def _erp_urls(self) -> dict[str, str | None]:
        return {
            "url": self._value("#gs-erp-url") or None,
            "auth_url": self._value("#gs-erp-auth-url") or None,
            "token_url": self._value("#gs-erp-token-url") or None,
            "connection": self._value("#gs-erp-connection") or "default",
        }

    def _sign_in(self) -> None:
        assert self.iid is not None
        client_id, secret = self._value("#gs-erp-client-id"), self._value("#gs-erp-client-secret")
        if not client_id or not secret:
            self._status("erp", "Type the Fortnox app's client id and client secret.", False)
            return
        urls = self._erp_urls()
        tenant = self._value("#gs-erp-tenant")
        self._stop_listening()
        if tenant:
            self._status("erp", "Connecting the service account and testing the connection…")
            self._run_connect(
                "erp", {"client_id": client_id, "client_secret": secret, "tenant_id": tenant, **urls}
            )
            return
        redirect = self._value("#gs-erp-redirect") or fortnox_oauth.DEFAULT_REDIRECT_URI
        try:
            address, state = self.service.fortnox_authorization(
                self.iid,
                client_id=client_id,
                redirect_uri=redirect,
                auth_url=urls["auth_url"],
                service=self.query_one("#gs-erp-service", Checkbox).value,
            )
        except Exception as exc:
            self._status("erp", error_text(exc), False)
            return
        self.signin = SignIn(state, address, client_id, secret, redirect, urls, threading.Event())
        self.query_one("#gs-erp-address", Static).update(
            f"Open this address, sign in to Fortnox and approve the access asked for:\n\n{address}"
        )
        self.query_one("#gs-erp-form").display = False
        self.query_one("#gs-erp-signing-in").display = True
        where = urlsplit(redirect)
        if where.scheme == "http" and where.hostname in ("127.0.0.1", "localhost") and where.port:
            self._say_listening(f"Waiting for Fortnox to send the browser back to {redirect} …")
            self._listen(self.signin)
        else:
            self._say_listening(f"{redirect} is not on this machine: paste where the browser was sent.")
        self._status("erp", "Signing in: waiting for Fortnox's answer.")
        self.query_one("#gs-erp-paste", Input).focus()

    def _say_listening(self, text: str) -> None:
        self.query_one("#gs-erp-listening", Static).update(text)

    @work(thread=True, exit_on_error=False, group="gs-listen")
    def _listen(self, signin: SignIn) -> None:
        try:
            code = fortnox_oauth.wait_for_redirect(
                signin.redirect_uri, signin.state, CONSENT_SECONDS, cancel=signin.cancel
            )
        except EngineError as exc:
            if exc.code != "FORTNOX_CONSENT_CANCELLED":
                self.app.call_from_thread(self._listen_failed, signin, error_text(exc))
            return
        self.app.call_from_thread(self._exchange, signin, code)

    def _listen_failed(self, signin: SignIn, text: str) -> None:
        if self.is_attached and signin is self.signin:
            self._say_listening(f"Not listening ({text}). Paste where the browser was sent instead.")

    def _stop_listening(self) -> None:
        if self.signin is not None:
            self.signin.cancel.set()

    def _open_browser(self) -> None:
        if self.signin is None:
            return
        if not has_window_browser():
            # A text browser (lynx, w3m) would take over this terminal: the operator opens the
            # address elsewhere instead.
            self.notify(
                "No graphical browser here: copy the address and open it on another machine, then "
                "paste where Fortnox sent the browser.",
                title="Get Started",
                severity="warning",
                timeout=10,
            )
            return
        address = self.signin.address
        threading.Thread(target=webbrowser.open, args=(address,), daemon=True).start()

    def _show_erp_form(self) -> None:
        self.query_one("#gs-erp-address", Static).update("")
        self._say_listening("")
        self.query_one("#gs-erp-signing-in").display = False
        self.query_one("#gs-erp-form").display = True

    def _restart_sign_in(self) -> None:
        """Back to the app's details (a wrong client id, another redirect URI)."""
        self._stop_listening()
        self.signin = None
        self._show_erp_form()
        self._status("erp", "Sign-in stopped: correct the details, then Sign in to Fortnox again.")
        self._focus_pane("erp")

    def _copy_address(self) -> None:
        """To the terminal's clipboard (OSC 52): a URL wrapped over lines is awkward to select."""
        if self.signin is not None:
            self.app.copy_to_clipboard(self.signin.address)
            self.notify("The sign-in address is on the clipboard.", title="Get Started")

    def _use_pasted(self) -> None:
        signin = self.signin
        if signin is None:
            self._status(
                "erp", "Press Sign in to Fortnox first: the address it shows leads to the code.", False
            )
            return
        try:
            code = fortnox_oauth.code_from(self._value("#gs-erp-paste"), signin.state)
        except EngineError as exc:
            self._status("erp", error_text(exc), False)
            return
        self._exchange(signin, code)

    def _exchange(self, signin: SignIn, code: str) -> None:
        if not self.is_attached or signin is not self.signin:
            return
        signin.cancel.set()
        self.signin = None
        self.query_one("#gs-erp-paste", Input).value = ""
        self.query_one("#gs-erp-address", Static).update("")
        self._show_erp_form()
        self._status("erp", "Fortnox answered: exchanging the code and testing the connection…")
        self._run_connect(
            "erp",
            {
                "client_id": signin.client_id,
                "client_secret": signin.client_secret,
                "code": code,
                "redirect_uri": signin.redirect_uri,
                **signin.urls,
            },
        )

    # -- 4 settings -------------------------------------------------------------------------------
    def _save_settings(self, category: str) -> None:
        assert self.ctx is not None and self.iid is not None
        panel = self.query_one(f"#category-{category}", CategoryPanel)
        failed = save_panel(self.ctx, panel)
        if failed:
            self._status("settings", failed, False)
            return
        missing = {name for cat, name, _ in self.service.missing_settings(self.iid) if cat == category}
        refresh_banner(panel, missing)
        self.notify(f"{panel.cat['title']} saved.", title="Get Started")
        if not self.service.missing_settings(self.iid):
            self._advance()
        else:
            self.refresh_steps()

    def _load_lookups(self) -> None:
        """Dropdown values from the platforms, as Configure > Settings fetches them."""
        if self.ctx is None:
            return
        from junipeer_tui.screens.configure import SettingField

        sources = {f.spec["source"] for f in self.query(SettingField) if f.spec.get("source")}
        for source in sorted(sources):
            self._lookup(source)

    @work(thread=True, exit_on_error=False, group="gs-lookups")
    def _lookup(self, source: str) -> None:
        assert self.ctx is not None
        ctx = self.ctx
        try:
            rows = call_async(ctx, lambda: ctx.service.lookup(ctx.integration_id, source), 60)
        except Exception:
            return  # the dropdown keeps what is saved; Configure > Settings says why
        options = [o for o in (option_of(r) for r in rows) if o is not None]
        self.app.call_from_thread(self._apply_lookup, source, options)

    def _apply_lookup(self, source: str, options: list[tuple[str, str]]) -> None:
        from junipeer_tui.screens.configure import SettingField

        for field in self.query(SettingField):
            if field.spec.get("source") == source:
                field.set_options(options)

    # -- 5 flows ----------------------------------------------------------------------------------
    def on_checkbox_changed(self, event: Checkbox.Changed) -> None:
        sid = event.checkbox.id or ""
        if not sid.startswith("gs-flow-") or self.iid is None:
            return
        event.stop()
        key = sid.removeprefix("gs-flow-")
        try:
            flow = self.service.enable_flow(self.iid, key, event.value)
        except Exception as exc:
            with self.prevent(Checkbox.Changed):
                event.checkbox.value = not event.value
            self._status("flows", error_text(exc), False)
            return
        self.notify(f"{flow.name} {'enabled' if event.value else 'disabled'}.", title="Get Started")
        self.refresh_steps()
        for section in self.app.query("#section-flows"):
            section.reload()  # type: ignore[attr-defined]

    def _flows_chosen(self) -> None:
        if self.iid is not None and not any(f.enabled for f in self.service.flows(self.iid)):
            self._status("flows", "Turn on at least one flow: nothing would run.", False)
            return
        self._advance()

    # -- 6 try ------------------------------------------------------------------------------------
    def _export_one(self) -> None:
        from junipeer_tui.dialogs.export_one import ExportOneDialog

        assert self.ctx is not None and self.iid is not None
        flow = next((f for f in self.service.flows(self.iid) if f.enabled), None)
        if flow is None:
            self._status("try", "Enable a flow first (step 5): Export One runs an enabled flow.", False)
            return
        self.app.push_screen(ExportOneDialog(self.ctx, flow))

    # -- 7 live -----------------------------------------------------------------------------------
    def _go_live(self) -> None:
        assert self.ctx is not None and self.iid is not None
        try:
            integ = self.service.set_live(self.iid, True)
        except Exception as exc:
            self._status("live", error_text(exc), False)
            return
        self.ctx.refresh_schedule()
        self.notify(f"{integ.name} is Live: its scheduling rules run.", title="Get Started", markup=False)
        self.refresh_steps()
        self.dismiss(None)
        self.app.show_section("dashboard")  # type: ignore[attr-defined]
