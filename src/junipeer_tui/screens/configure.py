"""Configure: Settings (categories with their fields by widget type, the required banner, collapsed
Additional settings, Save per category, Clear Cache), Connectors (status, Test connection, Manage
credentials), Scheduling, Webhooks and General (enable or disable flows)."""

from __future__ import annotations

from datetime import date
from typing import Any, ClassVar

from textual import work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widget import Widget
from textual.widgets import (
    Button,
    Collapsible,
    DataTable,
    Input,
    Label,
    Select,
    Static,
    Switch,
    TabbedContent,
    TabPane,
    Tabs,
)

from engine.mapping import settings as settings_mod
from engine.mapping.settings import SettingsError
from engine.store.models import Connector
from junipeer_tui.context import Action, ConsoleContext
from junipeer_tui.dialogs.common import call_async, error_text, parse_day, platform_name, stamp
from junipeer_tui.dialogs.credentials import CredentialsForm
from junipeer_tui.widgets.section import Section

REQUIRED_BANNER = "This setting is required and must be saved."
TABS = ("settings", "connectors", "scheduling", "webhooks", "general")


def option_of(value: dict[str, Any]) -> tuple[str, str] | None:
    """A platform lookup row ({"Code": "K", "Description": "Card"}) as (label, code)."""
    code = next(
        (value[k] for k in ("Code", "Number", "code", "id", "Id") if value.get(k) not in (None, "")), None
    )
    if code is None:
        return None
    text = next((value[k] for k in ("Description", "Name", "description", "name") if value.get(k)), "")
    return (f"{code} — {text}" if text else str(code)), str(code)


def humanize(choice: str) -> str:
    return choice.replace("_", " ").capitalize() if choice.islower() else choice.title()


class MappingRow(Horizontal):
    def __init__(self, name: str, code: str | None, options: list[tuple[str, str]]) -> None:
        super().__init__(classes="mapping-row")
        self.source_name = name
        self.code = code
        self.options = options

    def compose(self) -> ComposeResult:
        yield Input(
            self.source_name, placeholder="source name, e.g. DHL Express", compact=True, classes="map-source"
        )
        opts = list(self.options)
        if self.code and self.code not in {v for _, v in opts}:
            opts.append((self.code, self.code))
        yield Select(
            opts, value=self.code or Select.NULL, prompt="target code", compact=True, classes="map-target"
        )
        yield Button("✕", compact=True, classes="map-remove", tooltip="Remove row")


class SettingField(Vertical):
    """One setting: its title, the widget its `widget` type asks for, and its inline error."""

    def __init__(self, category: str, spec: dict[str, Any], value: Any) -> None:
        super().__init__(classes="setting-field", id=f"field-{category}-{spec['name']}")
        self.category = category
        self.spec = spec
        self.value = value
        self.options: list[tuple[str, str]] = []

    @property
    def name_(self) -> str:
        return str(self.spec["name"])

    def compose(self) -> ComposeResult:
        spec, value = self.spec, self.value
        widget = spec["widget"]
        yield Label(spec["title"] + (" *" if spec["required"] else ""), classes="setting-title")
        if widget == "toggle":
            yield Switch(bool(value), classes="setting-input")
        elif widget == "date":
            yield Input(
                value.isoformat() if isinstance(value, date) else str(value or ""),
                placeholder="YYYY-MM-DD",
                compact=True,
                classes="setting-input",
            )
        elif widget == "dropdown":
            options = [(humanize(c), c) for c in spec.get("choices") or []]
            if value not in (None, "") and value not in {v for _, v in options}:
                options.append((str(value), str(value)))
            yield Select(
                options,
                value=value if value not in (None, "") else Select.NULL,
                allow_blank=not spec["required"],
                prompt="Choose…" if not spec.get("source") else "Choose… (loading)",
                compact=True,
                classes="setting-input",
            )
        elif widget == "mapping":
            with Vertical(classes="mapping"):
                with Horizontal(classes="mapping-head"):
                    yield Label("Source name", classes="map-head-source")
                    yield Label("Target code", classes="map-head-target")
                for name, code in (value or {}).items():
                    yield MappingRow(name, code, [])
                yield Button("+ Add row", compact=True, classes="map-add")
        else:
            yield Input(str(value or ""), compact=True, classes="setting-input")
        yield Static("", classes="field-error")

    def set_options(self, options: list[tuple[str, str]]) -> None:
        """Dropdown values arrived from the platform: keep what is chosen."""
        if self.spec["widget"] == "dropdown":
            select = self.query_one(Select)
            current = select.value
            opts = list(options)
            if current is not Select.NULL and str(current) not in {v for _, v in opts}:
                opts.append((str(current), str(current)))
            select.set_options(opts)
            select.prompt = "Choose…"
            if current is not Select.NULL:
                select.value = current
        elif self.spec["widget"] == "mapping":
            for row in self.query(MappingRow):
                row.options = options
                select = row.query_one(Select)
                current = select.value
                opts = list(options)
                if current is not Select.NULL and str(current) not in {v for _, v in opts}:
                    opts.append((str(current), str(current)))
                select.set_options(opts)
                if current is not Select.NULL:
                    select.value = current
        self.options = options

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.has_class("map-add"):
            event.stop()
            row = MappingRow("", None, self.options)
            self.query_one(".mapping").mount(row, before=event.button)
            self.call_after_refresh(lambda: row.query_one(Input).focus())
        elif event.button.has_class("map-remove"):
            event.stop()
            next(a for a in event.button.ancestors if isinstance(a, MappingRow)).remove()

    def read(self) -> Any:
        """The value to save; ValueError with an operator message when it cannot be read."""
        widget = self.spec["widget"]
        if widget == "toggle":
            return self.query_one(Switch).value
        if widget == "date":
            text = self.query_one(Input).value.strip()
            return parse_day(text).isoformat() if text else None
        if widget == "dropdown":
            value = self.query_one(Select).value
            return None if value is Select.NULL else value
        if widget == "mapping":
            out: dict[str, str] = {}
            for row in self.query(MappingRow):
                name = row.query_one(Input).value.strip()
                code = row.query_one(Select).value
                if not name and code is Select.NULL:
                    continue
                if not name:
                    raise ValueError("Each row needs a source name")
                if code is Select.NULL:
                    raise ValueError(f"Pick a target code for {name!r}")
                out[name] = str(code)
            return out
        return self.query_one(Input).value

    def show_error(self, text: str) -> None:
        self.query_one(".field-error", Static).update(text)
        self.set_class(bool(text), "has-error")


class CategoryPanel(Collapsible):
    def __init__(self, cat: dict[str, Any], values: dict[str, Any], missing: set[str]) -> None:
        key = cat["key"]
        self.cat = cat
        required_missing = bool(missing)
        children: list[Widget] = [Static(cat["description"], classes="category-description")]
        banner = Static(REQUIRED_BANNER, classes="required-banner", id=f"banner-{key}")
        banner.display = required_missing
        children.append(banner)
        main = [f for f in cat["fields"] if not f["additional"]]
        extra = [f for f in cat["fields"] if f["additional"]]
        children += [SettingField(key, f, values.get(f["name"])) for f in main]
        if extra:
            n = len(extra)
            children.append(
                Collapsible(
                    *[SettingField(key, f, values.get(f["name"])) for f in extra],
                    title=(
                        "Additional settings — These settings are not needed in most situations "
                        f"(show {n} setting{'s' if n > 1 else ''})"
                    ),
                    collapsed=True,
                    classes="additional",
                )
            )
        children.append(
            Button(f"Save {cat['title']}", id=f"save-{key}", classes="save-category", compact=True)
        )
        super().__init__(
            *children,
            title=cat["title"] + ("  ⚠ required" if required_missing else ""),
            collapsed=not required_missing,
            id=f"category-{key}",
            classes="category",
        )


class ConnectorCard(Vertical):
    def __init__(self, ctx: ConsoleContext, connector: Connector) -> None:
        super().__init__(classes="card connector-card", id=f"connector-{connector.id}")
        self.ctx = ctx
        self.connector = connector

    def compose(self) -> ComposeResult:
        c = self.connector
        self.border_title = platform_name(c.platform)
        yield Static("", classes="connector-status")
        yield Static(f"Connection  {c.connection_name}", classes="connector-line")
        yield Static(f"Base URL    {c.base_url}", classes="connector-line")
        yield Static("", classes="connector-checked")
        yield Static("", classes="connector-secret")
        with Horizontal(classes="card-buttons"):
            yield Button("Test connection", id=f"test-{c.id}", compact=True)
            yield Button("Manage credentials", id=f"credentials-{c.id}", compact=True)

    def on_mount(self) -> None:
        self.refresh_card()

    def refresh_card(self, connector: Connector | None = None) -> None:
        if connector is not None:
            self.connector = connector
        c = self.connector
        ok = c.status == "connected"
        status = self.query_one(".connector-status", Static)
        status.update("● Connected" if ok else "● Disconnected")
        status.set_class(ok, "connected")
        status.set_class(not ok, "disconnected")
        self.query_one(".connector-checked", Static).update(f"Checked     {stamp(c.checked_at)}")
        try:
            stored = bool(self.ctx.service.secrets.get(c.credential_ref))
        except Exception:
            stored = False
        self.query_one(".connector-secret", Static).update(
            f"Credentials {'•••• stored' if stored else 'missing: add them with Manage credentials'}"
        )


class ConfigureSection(Section):
    SECTION = "configure"
    TITLE = "Configure"
    ACTIONS: ClassVar[list[Action]] = [
        Action(
            "configure.save",
            "Save category",
            "ctrl+s",
            "save_category",
            "configure",
            "Save the settings category in focus",
        ),
        Action(
            "configure.clear_cache",
            "Clear Cache",
            "ctrl+l",
            "clear_cache",
            "configure",
            "Re-fetch dropdown values from both platforms",
        ),
        Action(
            "configure.test",
            "Test connections",
            "ctrl+t",
            "test_connections",
            "configure",
            "Test both connectors",
        ),
        Action("configure.settings", "Settings", None, "show_tab('settings')", "configure"),
        Action("configure.connectors", "Connectors", None, "show_tab('connectors')", "configure"),
        Action("configure.scheduling", "Scheduling", None, "show_tab('scheduling')", "configure"),
        Action("configure.webhooks", "Webhooks", None, "show_tab('webhooks')", "configure"),
        Action("configure.general", "General", None, "show_tab('general')", "configure"),
    ]

    def __init__(self, ctx: ConsoleContext, **kwargs: Any) -> None:
        super().__init__(ctx, **kwargs)
        self._lookups: dict[str, list[tuple[str, str]]] = {}
        self._schedule_rows: list[tuple[str, str]] = []

    # -- layout -------------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        svc, iid = self.ctx.service, self.ctx.integration_id
        yield Label("Configure", classes="section-title")
        with TabbedContent(id="configure-tabs", initial="settings"):
            with TabPane("Settings", id="settings"), VerticalScroll(id="settings-scroll"):
                with Horizontal(classes="toolbar"):
                    yield Button("Clear Cache", id="clear-cache", compact=True)
                    yield Static(
                        "Dropdown values come from the connected platforms; Clear Cache re-fetches them.",
                        classes="toolbar-note",
                    )
                yield from self._categories()
            with TabPane("Connectors", id="connectors"), Horizontal(id="connector-cards"):
                for conn in svc.connectors(iid):
                    yield ConnectorCard(self.ctx, conn)
            with TabPane("Scheduling", id="scheduling"), VerticalScroll():
                yield Static(
                    "Scheduling rules run flows at an interval. Editing rules from the console needs "
                    "schedule methods the engine facade does not offer yet: shown read-only.",
                    classes="section-note",
                )
                table: DataTable[str] = DataTable(id="schedule-table", cursor_type="row")
                table.add_columns("Rule", "Next run (UTC)")
                yield table
            with TabPane("Webhooks", id="webhooks"), VerticalScroll():
                yield Static(
                    "Webhooks start a task the moment something happens (e.g. Shopify orders/create), with "
                    "scheduling as the safety net. Subscriptions per topic with their receiving URL are "
                    "listed here once the webhook work wires them live; the engine facade offers no "
                    "subscription list yet.",
                    classes="section-note",
                )
            with TabPane("General", id="general"), VerticalScroll():
                yield from self._general()

    def _categories(self) -> list[Widget]:
        svc, iid = self.ctx.service, self.ctx.integration_id
        saved = svc.settings(iid)
        missing: dict[str, set[str]] = {}
        for cat, name, _ in svc.missing_settings(iid):
            missing.setdefault(cat, set()).add(name)
        out: list[Widget] = []
        for cat in settings_mod.describe():
            values = getattr(saved, cat["key"]).model_dump()
            out.append(CategoryPanel(cat, values, missing.get(cat["key"], set())))
        return out

    def _general(self) -> ComposeResult:
        svc, iid = self.ctx.service, self.ctx.integration_id
        integ = svc.integration(iid)
        with Vertical(classes="card") as card:
            card.border_title = "Integration"
            yield Static(f"Name            {integ.name}")
            with Horizontal(classes="switch-row"):
                yield Switch(integ.onboarding_mode, disabled=True, id="general-onboarding")
                yield Label("Onboarding mode")
            with Horizontal(classes="switch-row"):
                yield Switch(integ.live_mode, disabled=True, id="general-live")
                yield Label("Live mode")
            yield Static(
                "Renaming the integration and switching onboarding or live mode need engine facade "
                "methods that do not exist yet: read-only here.",
                classes="section-note",
            )
        with Vertical(classes="card") as card:
            card.border_title = "Flows"
            for flow in svc.flows(iid):
                with Horizontal(classes="switch-row"):
                    yield Switch(flow.enabled, id=f"flow-enabled-{flow.id}")
                    yield Label(f"{flow.name} — {flow.action}")

    def focus_default(self) -> None:
        """The tab strip: ←/→ between Settings, Connectors, ...; Tab into the active one."""
        self.query_one("#configure-tabs", TabbedContent).query_one(Tabs).focus()

    def on_mount(self) -> None:
        self._load_lookups()
        self._load_schedule()

    # -- data ---------------------------------------------------------------------------------
    def reload(self) -> None:
        """The refresh tick only re-reads what the engine changes: never the forms being edited."""
        if not self.is_attached:
            return
        for conn in self.ctx.service.connectors(self.ctx.integration_id):
            for card in self.query(f"#connector-{conn.id}").results(ConnectorCard):
                card.refresh_card(conn)
        self._load_schedule()

    def apply_filter(self, **criteria: Any) -> None:
        tab = criteria.get("tab")
        if tab in TABS:
            self.action_show_tab(str(tab))
        self.reload()

    def _load_schedule(self) -> None:
        engine = self.ctx.engine
        if engine is None:
            rows = [("(the scheduler runs with the engine: start the console with the engine on)", "")]
        else:
            rows = [(name, stamp(when)) for name, when in engine.status().next_runs] or [
                ("(no active rules)", "")
            ]
        if rows == self._schedule_rows:
            return
        self._schedule_rows = rows
        table = self.query_one("#schedule-table", DataTable)
        table.clear()
        for row in rows:
            table.add_row(*row)

    def _sources(self) -> set[str]:
        return {f["source"] for c in settings_mod.describe() for f in c["fields"] if f.get("source")}

    def _load_lookups(self) -> None:
        for source in sorted(self._sources()):
            self._lookup(source)

    @work(thread=True, exit_on_error=False, group="lookups")
    def _lookup(self, source: str) -> None:
        try:
            rows = call_async(self.ctx, lambda: self.ctx.service.lookup(self.ctx.integration_id, source), 60)
            options = [o for o in (option_of(r) for r in rows) if o is not None]
        except Exception as exc:
            self.app.call_from_thread(self._lookup_failed, source, error_text(exc))
            return
        self.app.call_from_thread(self._apply_lookup, source, options)

    def _apply_lookup(self, source: str, options: list[tuple[str, str]]) -> None:
        self._lookups[source] = options
        for field in self.query(SettingField):
            if field.spec.get("source") == source:
                field.set_options(options)

    def _lookup_failed(self, source: str, text: str) -> None:
        self.notify(
            f"Could not load {source} values: {text}", title="Settings", severity="warning", timeout=8
        )
        for field in self.query(SettingField):
            if field.spec.get("source") == source and field.spec["widget"] == "dropdown":
                field.query_one(Select).prompt = "Choose… (values unavailable)"

    # -- events -------------------------------------------------------------------------------
    def on_button_pressed(self, event: Button.Pressed) -> None:
        bid = event.button.id or ""
        if bid == "clear-cache":
            event.stop()
            self.action_clear_cache()
        elif bid.startswith("save-"):
            event.stop()
            self.save_category(bid.removeprefix("save-"))
        elif bid.startswith("test-"):
            event.stop()
            self._test(int(bid.removeprefix("test-")))
        elif bid.startswith("credentials-"):
            event.stop()
            self._credentials(int(bid.removeprefix("credentials-")))

    def on_switch_changed(self, event: Switch.Changed) -> None:
        sid = event.switch.id or ""
        if not sid.startswith("flow-enabled-"):
            return
        event.stop()
        flow_id = int(sid.removeprefix("flow-enabled-"))
        try:
            self.ctx.service.set_flow_enabled(flow_id, event.value)
        except Exception as exc:
            self.notify(error_text(exc), title="General", severity="error")
            return
        name = next(
            (f.name for f in self.ctx.service.flows(self.ctx.integration_id) if f.id == flow_id), "Flow"
        )
        self.notify(f"{name} {'enabled' if event.value else 'disabled'}.", title="General")
        for section in self.app.query("#section-flows").results(Section):
            section.reload()

    def save_category(self, key: str) -> None:
        panel = self.query_one(f"#category-{key}", CategoryPanel)
        fields = list(panel.query(SettingField))
        values: dict[str, Any] = {}
        bad = False
        for field in fields:
            try:
                values[field.name_] = field.read()
                field.show_error("")
            except ValueError as exc:
                field.show_error(str(exc))
                bad = True
        if bad:
            self.notify(
                f"{panel.cat['title']} not saved: fix the marked fields.", severity="error", title="Settings"
            )
            return
        try:
            self.ctx.service.save_settings(self.ctx.integration_id, key, values)
        except SettingsError as exc:
            by_field = {f.name_: f for f in fields}
            for name, message in exc.errors.items():
                target = by_field.get(name.split(".")[0])
                if target is not None:
                    target.show_error(message)
            self.notify(
                f"{panel.cat['title']} not saved: {error_text(exc)}", severity="error", title="Settings"
            )
            return
        except Exception as exc:
            self.notify(error_text(exc), severity="error", title="Settings")
            return
        self.notify(f"{panel.cat['title']} saved: they apply from the next sync.", title="Settings")
        self._refresh_banners()

    def _refresh_banners(self) -> None:
        missing: dict[str, set[str]] = {}
        for cat, name, _ in self.ctx.service.missing_settings(self.ctx.integration_id):
            missing.setdefault(cat, set()).add(name)
        for panel in self.query(CategoryPanel):
            key = panel.cat["key"]
            need = bool(missing.get(key))
            self.query_one(f"#banner-{key}", Static).display = need
            panel.title = panel.cat["title"] + ("  ⚠ required" if need else "")

    def _focused_category(self) -> str | None:
        widget = self.app.focused
        while widget is not None:
            if isinstance(widget, CategoryPanel):
                return str(widget.cat["key"])
            widget = widget.parent  # type: ignore[assignment]
        return None

    # -- actions ------------------------------------------------------------------------------
    def action_show_tab(self, tab: str) -> None:
        self.query_one("#configure-tabs", TabbedContent).active = tab

    def action_save_category(self) -> None:
        key = self._focused_category()
        if key is None:
            self.notify("Move into a settings category first (Tab), then save it.", title="Settings")
            return
        self.save_category(key)

    def action_clear_cache(self) -> None:
        try:
            n = self.ctx.service.clear_cache(self.ctx.integration_id)
        except Exception as exc:
            self.notify(error_text(exc), severity="error", title="Clear Cache")
            return
        self.notify(
            f"Cache cleared: {n} cached list{'s' if n != 1 else ''} dropped; re-fetching.",
            title="Clear Cache",
        )
        self._load_lookups()

    def action_test_connections(self) -> None:
        for conn in self.ctx.service.connectors(self.ctx.integration_id):
            self._test(conn.id)  # type: ignore[arg-type]

    def _test(self, connector_id: int) -> None:
        self.notify("Testing the connection…", title="Connectors", timeout=3)
        self._run_test(connector_id)

    @work(thread=True, exit_on_error=False, group="connector-test")
    def _run_test(self, connector_id: int) -> None:
        try:
            ok, message = call_async(self.ctx, lambda: self.ctx.service.test_connection(connector_id), 60)
        except Exception as exc:
            ok, message = False, error_text(exc)
        self.app.call_from_thread(self._tested, connector_id, ok, message)

    def _tested(self, connector_id: int, ok: bool, message: str) -> None:
        self.notify(message, title="Connectors", severity="information" if ok else "error", timeout=8)
        self.reload()

    def _credentials(self, connector_id: int) -> None:
        conn = next(c for c in self.ctx.service.connectors(self.ctx.integration_id) if c.id == connector_id)

        def saved(yes: bool | None) -> None:
            if yes:
                self.notify("Credentials stored; testing the connection.", title="Connectors")
                self._test(connector_id)

        self.app.push_screen(CredentialsForm(self.ctx, conn), saved)
