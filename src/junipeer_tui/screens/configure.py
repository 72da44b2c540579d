"""Configure: Settings (categories with their fields by widget type, the required banner, collapsed
Additional settings, Save per category, Clear Cache), Connectors (status, Test connection, Manage
credentials), Scheduling (rules: add, edit, on/off, delete; the engine's next runs), Webhooks (the
subscriptions per topic) and General (rename, onboarding and live mode, enable or disable flows)."""

from __future__ import annotations

from datetime import UTC, date
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
from engine.onboarding import connection_reason
from engine.store.models import Connector, Flow, ScheduleRule, WebhookSubscription
from junipeer_tui.context import Action, ConsoleContext
from junipeer_tui.dialogs.confirm import ConfirmDialog
from junipeer_tui.dialogs.credentials import CredentialsForm, StripeForm
from junipeer_tui.dialogs.oss_import import OssImportDialog
from junipeer_tui.dialogs.schedule_rule import ScheduleRuleForm
from junipeer_tui.widgets.section import Section
from junipeer_tui.widgets.table import LeanDataTable, cell
from junipeer_tui.widgets.util import ago, call_async, error_text, parse_day, platform_name, stamp

REQUIRED_BANNER = "This setting is required and must be saved."
TABS = ("settings", "connectors", "scheduling", "webhooks", "general")
RULE_ACTIONS = {"add_rule", "edit_rule", "toggle_rule", "delete_rule"}
SCHEDULER_NOTE = "Rules run while the integration is in Live mode (General)."


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


def set_options_keeping(select: Select[Any], options: list[tuple[str, str]]) -> None:
    """New options for a Select, keeping its current choice (added as its own option when missing)."""
    current = select.value
    opts = list(options)
    if current is not Select.NULL and str(current) not in {v for _, v in opts}:
        opts.append((str(current), str(current)))
    select.set_options(opts)
    if current is not Select.NULL:
        select.value = current


def every(minutes: int) -> str:
    """15 → '15 min', 120 → '2 h', 90 → '90 min'."""
    return f"{minutes // 60} h" if minutes >= 60 and minutes % 60 == 0 else f"{minutes} min"


def rule_flows(rule: ScheduleRule, flows: list[Flow]) -> str:
    """The flows a rule runs, by name; 'all 4 flows' when it runs every one."""
    names = {f.key: f.name for f in flows}
    if len(names) > 1 and set(rule.flow_keys) >= set(names):
        return f"all {len(names)} flows"
    shown = [names.get(k, k) for k in rule.flow_keys]
    if len(shown) > 1 and len(", ".join(shown)) > RULE_FLOWS_WIDTH:
        # The table shares 80 columns with the rule's name and times; Edit lists them all.
        return f"{shown[0]} +{len(shown) - 1} more"
    return ", ".join(shown) or "—"


RULE_FLOWS_WIDTH = 24


def active_hours(rule: ScheduleRule) -> str:
    return f"{rule.active_from}–{rule.active_to}" if rule.active_from and rule.active_to else "all day"


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
            set_options_keeping(select, options)
            select.prompt = "Choose…"
        elif self.spec["widget"] == "mapping":
            for row in self.query(MappingRow):
                row.options = options
                set_options_keeping(row.query_one(Select), options)
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
        if key == "sales_accounts":
            children.append(Button("Import CSV…", id="import-oss", classes="import-oss", compact=True))
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


def save_panel(ctx: ConsoleContext, panel: CategoryPanel) -> str | None:
    """Save a settings category as its panel shows it, with the checks `junipeer settings` makes;
    None when saved, else what to tell the operator (the fields in error show their own message).
    Configure > Settings and Get Started both save this way."""
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
        return f"{panel.cat['title']} not saved: fix the marked fields."
    try:
        ctx.service.save_settings(ctx.integration_id, panel.cat["key"], values)
    except SettingsError as exc:
        by_field = {f.name_: f for f in fields}
        for name, message in exc.errors.items():
            target = by_field.get(name.split(".")[0])
            if target is not None:
                target.show_error(message)
        return f"{panel.cat['title']} not saved: {error_text(exc)}"
    except Exception as exc:
        return error_text(exc)
    return None


def refresh_banner(panel: CategoryPanel, missing: set[str]) -> None:
    """Show or hide a category's required banner after a save."""
    need = bool(missing)
    panel.query_one(f"#banner-{panel.cat['key']}", Static).display = need
    panel.title = panel.cat["title"] + ("  ⚠ required" if need else "")


# What each platform is for, on the card of one not connected yet.
PLATFORM_ROLE = {
    "shopify": "The shop: its orders are read from here, and its Shopify Payments payouts.",
    "fortnox": "The ERP: orders, customers and invoices are written here.",
    "stripe": "Payouts: the payouts flow matches them to invoices (optional).",
}
CARD_PLATFORMS = ("shopify", "fortnox", "stripe")


def badge(connector: Connector) -> tuple[bool, str]:
    """(connected?, why): the badge's word and the reason the last test kept."""
    ok = connector.status == "connected"
    return ok, connection_reason(connector.status, str((connector.options or {}).get("status_message") or ""))


class ConnectorCard(Vertical):
    """One platform of the integration: the badge and why, the connection dropdown (a saved
    credential set is switched to and tested), where it points, Test connection, Manage credentials.
    A platform not connected yet gets a card with Connect…"""

    def __init__(self, ctx: ConsoleContext, connector: Connector | None, platform: str = "") -> None:
        self.platform = connector.platform if connector is not None else platform
        card_id = f"connector-{connector.id}" if connector is not None else f"connector-new-{self.platform}"
        super().__init__(classes="card connector-card", id=card_id)
        self.ctx = ctx
        self.connector = connector
        self._names: list[str] = []

    def compose(self) -> ComposeResult:
        c = self.connector
        self.border_title = platform_name(self.platform)
        if c is None:
            yield Static("○ Not connected", classes="connector-status")
            yield Static(PLATFORM_ROLE.get(self.platform, ""), classes="connector-why")
            with Horizontal(classes="card-buttons"):
                yield Button("Connect…", id=f"connect-{self.platform}", compact=True)
            return
        yield Static("", classes="connector-status")
        yield Static("", classes="connector-why", markup=False)
        with Horizontal(classes="connection-row"):
            yield Label("Connection ", classes="connector-label")
            yield Select(
                [(c.connection_name, c.connection_name)],
                value=c.connection_name,
                allow_blank=False,
                compact=True,
                id=f"connection-{c.id}",
                classes="connection-select",
                tooltip="Switch to another saved credential set (e.g. test, production)",
            )
        yield Static(f"Base URL {c.base_url}", classes="connector-line", markup=False)
        yield Static("", classes="connector-checked")
        yield Static("", classes="connector-secret")
        with Horizontal(classes="card-buttons"):
            yield Button("Test connection", id=f"test-{c.id}", compact=True)
            yield Button("Manage…", id=f"credentials-{c.id}", compact=True, tooltip="Manage credentials")

    def on_mount(self) -> None:
        if self.connector is not None:
            self.refresh_card()

    def refresh_card(self, connector: Connector | None = None) -> None:
        if connector is not None:
            self.connector = connector
        c = self.connector
        if c is None:
            return
        ok, why = badge(c)
        status = self.query_one(".connector-status", Static)
        status.update("● Connected" if ok else "● Disconnected")
        status.set_class(ok, "connected")
        status.set_class(not ok, "disconnected")
        self.query_one(".connector-why", Static).update(why)
        names = self.ctx.service.connection_names(c)
        select = self.query_one(".connection-select", Select)
        if names != self._names:
            self._names = names
            with self.prevent(Select.Changed):
                select.set_options([(n, n) for n in names])
        if select.value != c.connection_name:
            with self.prevent(Select.Changed):
                select.value = c.connection_name
        self.query_one(".connector-line", Static).update(f"Base URL {c.base_url}")
        self.query_one(".connector-checked", Static).update(f"Checked {stamp(c.checked_at)}")
        try:
            stored = bool(self.ctx.service.secrets.get(c.credential_ref))
        except Exception:
            stored = False
        self.query_one(".connector-secret", Static).update(
            f"Credentials {'•••• stored' if stored else 'missing: add them with Manage…'}"
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
        Action("configure.rule_add", "Add rule", "a", "add_rule", "configure", "Scheduling: a new rule"),
        Action(
            "configure.rule_edit", "Edit rule", "e", "edit_rule", "configure", "Scheduling: the rule in view"
        ),
        Action(
            "configure.rule_toggle",
            "Rule on/off",
            "space",
            "toggle_rule",
            "configure",
            "Scheduling: switch the rule in view on or off",
        ),
        Action(
            "configure.rule_delete",
            "Delete rule",
            "d",
            "delete_rule",
            "configure",
            "Scheduling: remove the rule in view",
            destructive=True,
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
        self._lookups_started = False
        self._next_runs = ""
        self._rules: list[ScheduleRule] = []
        self._rules_shown: list[tuple[Any, ...]] | None = None
        self._hooks_shown: list[tuple[Any, ...]] | None = None
        self._card_platforms: tuple[str, ...] = ()

    # -- layout -------------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield Label("Configure", classes="section-title")
        with TabbedContent(id="configure-tabs", initial="settings"):
            with TabPane("Settings", id="settings"), VerticalScroll(id="settings-scroll"):
                with Horizontal(classes="toolbar"):
                    yield Button("Clear Cache", id="clear-cache", compact=True)
                    yield Static(
                        "Dropdown values come from the platforms; Clear Cache re-fetches them.",
                        classes="toolbar-note",
                    )
                yield from self._categories()
            with TabPane("Connectors", id="connectors"), VerticalScroll(id="connector-cards"):
                yield from self._connector_cards()
            with TabPane("Scheduling", id="scheduling"), VerticalScroll(id="scheduling-scroll"):
                yield Static(
                    "Each rule runs its flows every so many minutes, only within its active hours when it "
                    f"has some. {SCHEDULER_NOTE}",
                    classes="section-note",
                )
                table: DataTable[str] = LeanDataTable(
                    id="schedule-table", cursor_type="row", zebra_stripes=True
                )
                table.add_columns("Rule", "Flows", "Every", "Active hours", "On")
                yield table
                yield Static("No scheduling rules: flows run only by hand.", id="schedule-empty")
                with Horizontal(classes="toolbar rule-buttons"):
                    yield Button("a Add rule", id="rule-add", compact=True)
                    yield Button("e Edit", id="rule-edit", compact=True)
                    yield Button("space On/off", id="rule-toggle", compact=True)
                    yield Button("d Delete", id="rule-delete", compact=True)
                yield Label("Next runs (UTC)", classes="subsection-title")
                yield Static("", id="next-runs", classes="section-note", markup=False)
            with TabPane("Webhooks", id="webhooks"), VerticalScroll(id="webhooks-scroll"):
                yield Static(
                    "Webhooks start a task the moment something happens (e.g. Shopify orders/create); "
                    "scheduling stays the safety net for anything a webhook misses.",
                    classes="section-note",
                )
                hooks: DataTable[str] = LeanDataTable(
                    id="webhooks-table", cursor_type="row", zebra_stripes=True
                )
                hooks.add_columns("Topic", "Platform", "Receiving URL", "Since", "On")
                yield hooks
                yield Static(
                    "No webhook subscriptions yet: every flow runs on its scheduling rules. Wiring "
                    "webhooks live (subscribing each topic at the platform) comes with the webhook work.",
                    id="webhooks-empty",
                    classes="empty-note",
                )
            with TabPane("General", id="general"), VerticalScroll():
                yield from self._general()

    def _connector_cards(self) -> list[Widget]:
        """Shop and ERP side by side, Stripe below; a card with Connect… for each not connected."""
        conns = {c.platform: c for c in self.ctx.service.connectors(self.ctx.integration_id)}
        self._card_platforms = tuple(p for p in CARD_PLATFORMS if p in conns)
        cards = [ConnectorCard(self.ctx, conns.get(p), p) for p in CARD_PLATFORMS]
        return [
            Horizontal(*cards[:2], classes="connector-row"),
            Horizontal(cards[2], classes="connector-row -single"),
        ]

    async def _recompose_cards(self) -> None:
        box = self.query_one("#connector-cards", VerticalScroll)
        await box.remove_children()
        await box.mount_all(self._connector_cards())

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
            with Horizontal(classes="name-row"):
                yield Label("Name", classes="name-label")
                yield Input(integ.name, placeholder="integration name", id="general-name", compact=True)
                yield Button("Save name", id="general-save-name", compact=True)
            yield Static("", id="general-name-error", classes="field-error")
            with Horizontal(classes="switch-row"):
                yield Switch(integ.onboarding_mode, id="general-onboarding")
                yield Label("Onboarding mode (still being set up)")
            with Horizontal(classes="switch-row"):
                yield Switch(integ.live_mode, id="general-live")
                yield Label("Live mode (scheduling rules run)")
            yield Static(
                "Scheduling rules run only in Live mode; until then flows run only when you start "
                "them (Export One, Export Many, Perform task from a date). Onboarding mode is a label: "
                "the header shows live when Live mode is on and onboarding mode off.",
                id="general-modes-note",
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
        self._load_schedule()
        self._load_webhooks()

    # -- data ---------------------------------------------------------------------------------
    def reload(self) -> None:
        """The refresh tick only re-reads what the engine changes: never the forms being edited.
        The dropdown values are fetched from the platforms the first time the section is shown,
        not when the console mounts it in the background: an operator who never opens Configure
        costs the platforms no request."""
        if not self.is_attached:
            return
        if not self._lookups_started:
            self._lookups_started = True
            self._load_lookups()
        conns = self.ctx.service.connectors(self.ctx.integration_id)
        if tuple(p for p in CARD_PLATFORMS if p in {c.platform for c in conns}) != self._card_platforms:
            self.run_worker(self._recompose_cards(), group="connector-cards", exclusive=True)
        for conn in conns:
            for card in self.query(f"#connector-{conn.id}").results(ConnectorCard):
                card.refresh_card(conn)
        self._load_schedule()
        self._load_webhooks()

    def apply_filter(self, **criteria: Any) -> None:
        tab = criteria.get("tab")
        if tab in TABS:
            self.action_show_tab(str(tab))
        self.reload()

    def _load_schedule(self) -> None:
        """The rules (rebuilt only when they change, so the cursor stays) and the engine's next runs."""
        svc, iid = self.ctx.service, self.ctx.integration_id
        self._rules = svc.schedule_rules(iid)
        flows = svc.flows(iid)
        rows = [
            (
                rule.id,
                rule.name,
                rule_flows(rule, flows),
                every(rule.interval_minutes),
                active_hours(rule),
                "on" if rule.enabled else "off",
            )
            for rule in self._rules
        ]
        if rows != self._rules_shown:
            self._rules_shown = rows
            table = self.query_one("#schedule-table", DataTable)
            cursor = table.cursor_row
            table.clear()
            for rid, *cells in rows:
                table.add_row(*self._cells(cells), key=str(rid))
            if rows:
                table.move_cursor(row=min(max(cursor, 0), len(rows) - 1), animate=False)
            table.display = bool(rows)
            self.query_one("#schedule-empty").display = not rows
        self._show_next_runs()

    def _cells(self, cells: list[Any]) -> list[Any]:
        """Plain text (a name with brackets stays intact); the last column's on/off coloured."""
        *rest, on = cells
        return [*(cell(self.app, c) for c in rest), cell(self.app, on, "completed" if on == "on" else "info")]

    def _show_next_runs(self) -> None:
        engine = self.ctx.engine
        if engine is None:
            text = "The scheduler runs inside the engine, which is not running in this console."
        else:
            status = engine.status()
            now = self.ctx.clock()
            if not status.alive:
                text = "The engine is stopped: nothing is scheduled."
            elif status.scheduler_paused:
                text = "The scheduler is paused."
            elif not status.next_runs:
                live = self.ctx.service.integration(self.ctx.integration_id).live_mode
                text = "No rule is on." if live else "Not live: no rule runs until Live mode is on (General)."
            else:
                width = max(len(name) for name, _ in status.next_runs)
                text = "\n".join(
                    f"{name:<{width}}  "
                    + (f"{stamp(when.astimezone(UTC), now)} ({ago(when, now)})" if when else "paused")
                    for name, when in status.next_runs
                )
        if text != self._next_runs:
            self._next_runs = text
            self.query_one("#next-runs", Static).update(text)

    def _load_webhooks(self) -> None:
        svc, iid = self.ctx.service, self.ctx.integration_id
        subs: list[WebhookSubscription] = svc.webhook_subscriptions(iid)
        platforms = {c.id: platform_name(c.platform) for c in svc.connectors(iid)}
        rows = [
            (
                sub.id,
                sub.topic,
                platforms.get(sub.connector_id, "?"),
                sub.receiving_url,
                stamp(sub.created_at),
                "on" if sub.enabled else "off",
            )
            for sub in subs
        ]
        if rows == self._hooks_shown:
            return
        self._hooks_shown = rows
        table = self.query_one("#webhooks-table", DataTable)
        table.clear()
        for sid, *cells in rows:
            table.add_row(*self._cells(cells), key=str(sid))
        table.display = bool(rows)
        self.query_one("#webhooks-empty").display = not rows

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
        elif bid.startswith("connect-"):
            event.stop()
            self._connect(bid.removeprefix("connect-"))
        elif bid in ("rule-add", "rule-edit", "rule-toggle", "rule-delete"):
            event.stop()
            getattr(self, f"action_{bid.removeprefix('rule-')}_rule")()
        elif bid == "general-save-name":
            event.stop()
            self.save_name()
        elif bid == "import-oss":
            event.stop()
            self.import_oss()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "general-name":
            event.stop()
            self.save_name()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        if event.data_table.id == "schedule-table":
            event.stop()
            self.action_edit_rule()

    def on_select_changed(self, event: Select.Changed) -> None:
        sid = event.select.id or ""
        if not sid.startswith("connection-") or event.value is Select.NULL:
            return
        event.stop()
        connector_id = int(sid.removeprefix("connection-"))
        conn = next(
            (c for c in self.ctx.service.connectors(self.ctx.integration_id) if c.id == connector_id), None
        )
        if conn is None or conn.connection_name == event.value:
            return
        self.notify(
            f"Switching {platform_name(conn.platform)} to {event.value}…", title="Connectors", timeout=3
        )
        self._use_connection(conn.platform, str(event.value))

    @work(thread=True, exit_on_error=False, group="connector-test")
    def _use_connection(self, platform: str, name: str) -> None:
        iid = self.ctx.integration_id
        try:
            result = call_async(self.ctx, lambda: self.ctx.service.use_connection(iid, platform, name), 60)
            ok, message = result.ok, result.message
        except Exception as exc:
            ok, message = False, error_text(exc)
        self.app.call_from_thread(self._tested, 0, ok, message)

    def on_tabbed_content_tab_activated(self, event: TabbedContent.TabActivated) -> None:
        self.refresh_bindings()  # the rule keys work on Scheduling only, Save category on Settings

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in RULE_ACTIONS:
            return self.is_mounted and self._active_tab() == "scheduling"
        if action == "save_category":
            return self.is_mounted and self._active_tab() == "settings"
        return True

    def _active_tab(self) -> str:
        return str(self.query_one("#configure-tabs", TabbedContent).active)

    def on_switch_changed(self, event: Switch.Changed) -> None:
        sid = event.switch.id or ""
        if sid in ("general-onboarding", "general-live"):
            event.stop()
            self._set_mode(event.switch, event.value)
            return
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
        for section in self.screen.query("#section-flows").results(Section):
            section.reload()

    def save_category(self, key: str) -> None:
        panel = self.query_one(f"#category-{key}", CategoryPanel)
        failed = save_panel(self.ctx, panel)
        if failed:
            self.notify(failed, severity="error", title="Settings")
            return
        self.notify(f"{panel.cat['title']} saved: they apply from the next sync.", title="Settings")
        self._refresh_banners()

    def import_oss(self) -> None:
        def closed(imported: bool | None) -> None:
            if imported:
                self.run_worker(self._reload_category("sales_accounts"), group="reload-category")

        self.app.push_screen(OssImportDialog(self.ctx), closed)

    async def _reload_category(self, key: str) -> None:
        """Show a category as saved (after an import), in place and open."""
        old = self.query_one(f"#category-{key}", CategoryPanel)
        parent = old.parent
        assert parent is not None
        position = parent.children.index(old)
        [panel] = [p for p in self._categories() if isinstance(p, CategoryPanel) and p.cat["key"] == key]
        panel.collapsed = False
        await old.remove()
        await parent.mount(panel, before=position)
        for field in panel.query(SettingField):
            if (options := self._lookups.get(field.spec.get("source") or "")) is not None:
                field.set_options(options)

    def _refresh_banners(self) -> None:
        missing: dict[str, set[str]] = {}
        for cat, name, _ in self.ctx.service.missing_settings(self.ctx.integration_id):
            missing.setdefault(cat, set()).add(name)
        for panel in self.query(CategoryPanel):
            refresh_banner(panel, missing.get(panel.cat["key"], set()))

    def _focused_category(self) -> str | None:
        widget = self.app.focused
        while widget is not None:
            if isinstance(widget, CategoryPanel):
                return str(widget.cat["key"])
            widget = widget.parent  # type: ignore[assignment]
        return None

    # -- general ------------------------------------------------------------------------------
    def save_name(self) -> None:
        name_input = self.query_one("#general-name", Input)
        error = self.query_one("#general-name-error", Static)
        try:
            integ = self.ctx.service.update_integration(self.ctx.integration_id, name=name_input.value)
        except Exception as exc:
            error.update(error_text(exc))
            return
        error.update("")
        name_input.value = integ.name
        self.notify(f"The integration is now named {integ.name}.", title="General", markup=False)
        self._refresh_header()

    def _set_mode(self, switch: Switch, value: bool) -> None:
        field = "onboarding_mode" if switch.id == "general-onboarding" else "live_mode"
        label = "Onboarding mode" if field == "onboarding_mode" else "Live mode"
        try:
            self.ctx.service.update_integration(self.ctx.integration_id, **{field: value})
        except Exception as exc:
            self.notify(error_text(exc), title="General", severity="error")
            with self.prevent(Switch.Changed):
                switch.value = not value
            return
        if field == "live_mode":
            self.ctx.refresh_schedule()
            hint = (
                " Scheduling rules now run." if value else " Scheduling rules are off until it is live again."
            )
        else:
            hint = ""
        self.notify(f"{label} {'on' if value else 'off'}.{hint}", title="General")
        self._refresh_header()

    def _refresh_header(self) -> None:
        """The header re-reads the integration on the app's tick; do it now, not a second later."""
        from junipeer_tui.widgets.header import ConsoleHeader

        for header in self.screen.query(ConsoleHeader):
            header.refresh_state()

    # -- scheduling -----------------------------------------------------------------------------
    def selected_rule(self) -> ScheduleRule | None:
        table = self.query_one("#schedule-table", DataTable)
        if not self._rules or not table.display:
            return None
        row = min(max(table.cursor_row, 0), len(self._rules) - 1)
        return self._rules[row]

    def _rule_changed(self, message: str) -> None:
        self._load_schedule()
        self.ctx.refresh_schedule()
        self.notify(message, title="Scheduling", markup=False)

    def action_add_rule(self) -> None:
        self.action_show_tab("scheduling")

        def saved(rule: ScheduleRule | None) -> None:
            if rule is not None:
                self._rule_changed(f"Rule {rule.name} added.")
                table = self.query_one("#schedule-table", DataTable)
                table.move_cursor(row=len(self._rules) - 1, animate=False)
                table.focus()

        self.app.push_screen(ScheduleRuleForm(self.ctx), saved)

    def action_edit_rule(self) -> None:
        self.action_show_tab("scheduling")
        rule = self.selected_rule()
        if rule is None:
            self.notify("No rule to edit: add one with a.", title="Scheduling")
            return

        def saved(changed: ScheduleRule | None) -> None:
            if changed is not None:
                self._rule_changed(f"Rule {changed.name} saved.")

        self.app.push_screen(ScheduleRuleForm(self.ctx, rule), saved)

    def action_toggle_rule(self) -> None:
        self.action_show_tab("scheduling")
        rule = self.selected_rule()
        if rule is None:
            return
        try:
            self.ctx.service.save_schedule_rule(
                self.ctx.integration_id,
                name=rule.name,
                flow_keys=list(rule.flow_keys),
                interval_minutes=rule.interval_minutes,
                active_from=rule.active_from,
                active_to=rule.active_to,
                enabled=not rule.enabled,
                rule_id=rule.id,
            )
        except Exception as exc:
            self.notify(error_text(exc), title="Scheduling", severity="error", markup=False)
            return
        self._rule_changed(f"Rule {rule.name} {'off' if rule.enabled else 'on'}.")

    def action_delete_rule(self) -> None:
        self.action_show_tab("scheduling")
        rule = self.selected_rule()
        if rule is None:
            return
        flows = rule_flows(rule, self.ctx.service.flows(self.ctx.integration_id))
        body = (
            f"{rule.name} runs {flows} every {every(rule.interval_minutes)} ({active_hours(rule)}). "
            "Deleting it stops those runs; webhooks, other rules and manual exports keep working."
        )

        def confirmed(yes: bool | None) -> None:
            if not yes:
                return
            try:
                self.ctx.service.delete_schedule_rule(rule.id)  # type: ignore[arg-type]
            except Exception as exc:
                self.notify(error_text(exc), title="Scheduling", severity="error", markup=False)
                return
            self._rule_changed(f"Rule {rule.name} deleted.")

        self.app.push_screen(
            ConfirmDialog("Delete scheduling rule?", body, confirm_label="Delete", destructive=True),
            confirmed,
        )

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

    def _connect(self, platform: str) -> None:
        """Stripe is one key: a form here. The shop and the ERP are connected in Get Started."""
        if platform != "stripe":
            self.app.open_get_started("shop" if platform == "shopify" else "erp")  # type: ignore[attr-defined]
            return

        def connected(yes: bool | None) -> None:
            if yes:
                self.reload()

        self.app.push_screen(StripeForm(self.ctx), connected)
