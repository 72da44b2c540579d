"""Flows: one card per enabled flow, grouped by where the data goes ("To Fortnox", "To Shopify"), with
Export One / Export Many (each with a ▾ menu of Logs and Task History), filters and references
links, and when the flow last synced."""

from __future__ import annotations

from typing import Any, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widget import Widget
from textual.widgets import Button, Label, Static

from engine.store.models import Flow
from junipeer_tui.context import Action, ConsoleContext
from junipeer_tui.dialogs.export_many import ExportManyDialog
from junipeer_tui.dialogs.export_one import ExportOneDialog
from junipeer_tui.dialogs.filter_builder import FilterBuilderScreen
from junipeer_tui.dialogs.move_back import ask_move_back, run_flow_now
from junipeer_tui.dialogs.quick_links import QuickLinks
from junipeer_tui.widgets.section import Section
from junipeer_tui.widgets.util import flow_direction, platform_name, relative

MANUAL_NOT_ALLOWED = "You can't run this job manually."


def show_section(widget: Widget, name: str, **criteria: Any) -> None:
    """Quick link into another section of the app (a notification when the app has no such helper)."""
    show = getattr(widget.app, "show_section", None)
    if show is None:
        widget.notify(f"No {name} section in this app.", severity="warning")
        return
    show(name, **criteria)


class FlowCard(Vertical, can_focus=True):
    """One flow. Focus it (↑/↓ between cards) and press o, m, s, r, l, t or Enter."""

    BINDINGS = [
        Binding("down", "focus_next_card", "Next flow", show=False),
        Binding("up", "focus_previous_card", "Previous flow", show=False),
    ]

    def __init__(self, ctx: ConsoleContext, flow: Flow, target: str) -> None:
        super().__init__(id=f"flow-card-{flow.id}", classes="flow-card")
        self.ctx = ctx
        self.flow = flow
        self.target = target
        self.border_title = flow.name

    def compose(self) -> ComposeResult:
        fid = self.flow.id
        with Horizontal(classes="flow-card-head"):
            yield Label(self.flow.action, classes="flow-action")
            yield Label(self._synced_text(), classes="flow-synced")
        # Two groups: side by side when the card is wide, one under the other below 100 columns.
        with Horizontal(classes="flow-card-buttons"):
            with Horizontal(classes="flow-card-group"):
                if self.flow.manual_allowed:
                    yield Button("Export One", id=f"export-one-{fid}", classes="flow-btn", compact=True)
                    yield Button(
                        "▾",
                        id=f"links-one-{fid}",
                        classes="flow-drop",
                        compact=True,
                        tooltip="Logs, Task History",
                    )
                    yield Button("Export Many", id=f"export-many-{fid}", classes="flow-btn", compact=True)
                    yield Button(
                        "▾",
                        id=f"links-many-{fid}",
                        classes="flow-drop",
                        compact=True,
                        tooltip="Logs, Task History",
                    )
                else:
                    yield Label(MANUAL_NOT_ALLOWED, classes="flow-manual-off")
            with Horizontal(classes="flow-card-group"):
                yield Button("⚙ Filters", id=f"settings-{fid}", classes="flow-btn", compact=True)
                yield Button("⇄ References", id=f"references-{fid}", classes="flow-btn", compact=True)

    def _synced_text(self) -> str:
        return f"last synced {relative(self.flow.last_synced_at, self.ctx.clock())}"

    def refresh_flow(self, flow: Flow) -> None:
        self.flow = flow
        self.query_one(".flow-synced", Label).update(self._synced_text())

    def _cards(self) -> list[FlowCard]:
        return list(self.screen.query(FlowCard))

    def action_focus_next_card(self) -> None:
        cards = self._cards()
        cards[(cards.index(self) + 1) % len(cards)].focus()

    def action_focus_previous_card(self) -> None:
        cards = self._cards()
        cards[(cards.index(self) - 1) % len(cards)].focus()


class FlowsSection(Section):
    SECTION = "flows"
    TITLE = "Flows"
    ACTIONS: ClassVar[list[Action]] = [
        Action(
            "flows.export_one",
            "Export One",
            "o",
            "export_one",
            "flows",
            "Sync one record of the focused flow",
        ),
        Action(
            "flows.export_many",
            "Export Many",
            "m",
            "export_many",
            "flows",
            "Sync a date range of the focused flow",
        ),
        Action("flows.settings", "Filters", "s", "settings", "flows", "Filters of the focused flow"),
        Action(
            "flows.references", "References", "r", "references", "flows", "References of the focused flow"
        ),
        Action("flows.logs", "Logs", "l", "logs", "flows", "Log lines of the focused flow"),
        Action("flows.tasks", "Task History", "t", "tasks", "flows", "Past tasks of the focused flow"),
        Action(
            "flows.run_now", "Run now", "n", "run_now", "flows", "Sync the focused flow from Time History"
        ),
        Action(
            "flows.perform",
            "Perform task from a date",
            "p",
            "perform",
            "flows",
            "Move Time History of the focused flow back, then run it",
            destructive=True,
        ),
        Action("flows.detail", "Flow detail", "enter", "detail", "flows", "Open the focused flow"),
    ]

    def __init__(self, ctx: ConsoleContext, **kwargs: Any) -> None:
        super().__init__(ctx, **kwargs)
        # Per flow entries for the command palette and `?` help (class entries stay the key bindings).
        self.ACTIONS = list(type(self).ACTIONS)
        self._flows: list[Flow] = []
        self._last_card: int | None = None

    def compose(self) -> ComposeResult:
        yield Label("Flows", classes="section-title")
        yield VerticalScroll(id="flows-list")

    def on_mount(self) -> None:
        self.reload()

    def focus_default(self) -> None:
        """The app focuses this on show: the last card in use, else the first."""
        cards = list(self.query(FlowCard))
        chosen = next((c for c in cards if c.flow.id == self._last_card), cards[0] if cards else None)
        if chosen is not None:
            chosen.focus()

    # -- data ---------------------------------------------------------------------------------
    def reload(self) -> None:
        if not self.is_attached:
            return
        flows = [f for f in self.ctx.service.flows(self.ctx.integration_id) if f.enabled]
        same = [f.id for f in flows] == [f.id for f in self._flows]
        self._flows = flows
        if same and self.query(FlowCard):
            for flow in flows:
                self.query_one(f"#flow-card-{flow.id}", FlowCard).refresh_flow(flow)
            return
        self._rebuild(flows)

    def _rebuild(self, flows: list[Flow]) -> None:
        box = self.query_one("#flows-list", VerticalScroll)
        box.remove_children()
        connectors = {c.side: c.platform for c in self.ctx.service.connectors(self.ctx.integration_id)}
        groups: dict[str, list[Flow]] = {}
        # Both sides of the integration, "To <side A>" first, shown only when a flow goes there.
        for side in sorted(connectors):
            groups[platform_name(connectors[side])] = []
        for flow in flows:
            groups.setdefault(platform_name(connectors.get(flow.target_side, "?")), []).append(flow)
        widgets: list[Widget] = []
        actions = list(type(self).ACTIONS)
        for target, members in groups.items():
            if not members:
                continue
            widgets.append(Label(f"To {target}", classes="flow-group"))
            for flow in members:
                widgets.append(FlowCard(self.ctx, flow, target))
                route = f"{flow.name} → {target}"
                if flow.manual_allowed:
                    actions.append(
                        Action(
                            f"flows.export_one.{flow.id}",
                            f"Export One: {route}",
                            None,
                            f"export_one({flow.id})",
                            "flows",
                        )
                    )
                    actions.append(
                        Action(
                            f"flows.export_many.{flow.id}",
                            f"Export Many: {route}",
                            None,
                            f"export_many({flow.id})",
                            "flows",
                        )
                    )
                actions.append(
                    Action(
                        f"flows.settings.{flow.id}",
                        f"Filters: {route}",
                        None,
                        f"settings({flow.id})",
                        "flows",
                    )
                )
                actions.append(
                    Action(
                        f"flows.run_now.{flow.id}", f"Run now: {route}", None, f"run_now({flow.id})", "flows"
                    )
                )
                actions.append(
                    Action(
                        f"flows.perform.{flow.id}",
                        f"Perform task from a date: {route}",
                        None,
                        f"perform({flow.id})",
                        "flows",
                        destructive=True,
                    )
                )
        if not widgets:
            widgets.append(
                Static("No flows are enabled. Enable flows in Configure › General.", classes="empty-note")
            )
        self.ACTIONS = actions
        box.mount_all(widgets)

    # -- which flow ---------------------------------------------------------------------------
    def on_descendant_focus(self, event: Any) -> None:
        card = self._card_of(event.widget if hasattr(event, "widget") else None)
        if card is not None:
            self._last_card = card.flow.id

    @staticmethod
    def _card_of(widget: Widget | None) -> FlowCard | None:
        while widget is not None:
            if isinstance(widget, FlowCard):
                return widget
            widget = widget.parent  # type: ignore[assignment]
        return None

    def _flow(self, flow_id: int | str | None = None) -> Flow | None:
        if flow_id is not None:
            return next((f for f in self._flows if f.id == int(flow_id)), None)
        card = self._card_of(self.app.focused)
        if card is not None:
            return card.flow
        if self._last_card is not None:
            found = next((f for f in self._flows if f.id == self._last_card), None)
            if found is not None:
                return found
        return self._flows[0] if self._flows else None

    def _target(self, flow: Flow) -> str:
        return flow_direction(self.ctx, flow)[1]

    # -- actions ------------------------------------------------------------------------------
    def action_export_one(self, flow_id: int | None = None) -> None:
        self._export(flow_id, ExportOneDialog)

    def action_export_many(self, flow_id: int | None = None) -> None:
        self._export(flow_id, ExportManyDialog)

    def _export(self, flow_id: int | None, dialog: type[ExportOneDialog] | type[ExportManyDialog]) -> None:
        flow = self._flow(flow_id)
        if flow is None:
            return
        if not flow.manual_allowed:
            self.notify(MANUAL_NOT_ALLOWED, title=flow.name, severity="warning")
            return
        self.app.push_screen(dialog(self.ctx, flow), lambda _: self.reload())

    def action_settings(self, flow_id: int | None = None) -> None:
        flow = self._flow(flow_id)
        if flow is not None:
            self.app.push_screen(FilterBuilderScreen(self.ctx, flow))

    def action_references(self, flow_id: int | None = None) -> None:
        flow = self._flow(flow_id)
        if flow is not None:
            show_section(self, "references", entity_type=flow.entity_type)

    def action_logs(self, flow_id: int | None = None) -> None:
        flow = self._flow(flow_id)
        if flow is not None:
            show_section(self, "logs", flow_id=flow.id)

    def action_tasks(self, flow_id: int | None = None) -> None:
        flow = self._flow(flow_id)
        if flow is not None:
            show_section(self, "tasks", flow_id=flow.id)

    def action_run_now(self, flow_id: int | None = None) -> None:
        flow = self._flow(flow_id)
        if flow is not None:
            run_flow_now(self, self.ctx, flow)
            self.reload()

    def action_perform(self, flow_id: int | None = None) -> None:
        flow = self._flow(flow_id)
        if flow is not None:
            ask_move_back(self, self.ctx, flow, then_run=True)

    def action_detail(self, flow_id: int | None = None) -> None:
        from junipeer_tui.screens.flow_detail import FlowDetailScreen

        flow = self._flow(flow_id)
        if flow is not None:
            self.app.push_screen(FlowDetailScreen(self.ctx, flow), lambda _: self.reload())

    def on_button_pressed(self, event: Button.Pressed) -> None:
        bid = event.button.id or ""
        kind, _, fid = bid.rpartition("-")
        if not fid.isdigit():
            return
        event.stop()
        flow_id = int(fid)
        if kind in ("links-one", "links-many"):
            flow = self._flow(flow_id)
            if flow is None:
                return

            def go(choice: str | None) -> None:
                if choice:
                    show_section(self, choice, flow_id=flow_id)

            label = "Export One" if kind == "links-one" else "Export Many"
            self.app.push_screen(QuickLinks(f"{label}: {flow.name}"), go)
            return
        handler = {
            "export-one": self.action_export_one,
            "export-many": self.action_export_many,
            "settings": self.action_settings,
            "references": self.action_references,
        }.get(kind)
        if handler is not None:
            handler(flow_id)

    def on_click(self, event: Any) -> None:
        """Clicking a card's title opens the flow's detail page."""
        card = self._card_of(getattr(event, "widget", None))
        if card is not None and event.y == 0 and getattr(event, "widget", None) is card:
            self.action_detail(card.flow.id)
