"""References: which target record each source record is linked to, per entity type. Search, add a
link by hand, point a wrong one elsewhere, delete one (the next sync then creates a NEW target
record, so it asks first). Pages by keyset: n next, p previous."""

from __future__ import annotations

from typing import Any, ClassVar

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import DataTable, Input, Label, Static, Tab, Tabs

from engine.store.models import ENTITY_TYPES, Reference
from junipeer_tui.context import Action, ConsoleContext
from junipeer_tui.dialogs.confirm import ConfirmDialog
from junipeer_tui.dialogs.reference_form import ReferenceForm
from junipeer_tui.widgets.section import Section
from junipeer_tui.widgets.table import PagedTable
from junipeer_tui.widgets.util import error_text, flow_direction, stamp

PAGE = 50


def type_label(entity_type: str) -> str:
    labels = {
        "stock": "Stock",
        "refund": "Refunds",
        "payout_line": "Payout lines",
        "invoice_payment": "Invoice payments",
    }
    return labels.get(entity_type, entity_type.title() + "s")


class ReferencesSection(Section):
    SECTION = "references"
    TITLE = "References"
    ACTIONS: ClassVar[list[Action]] = [
        Action("references.search", "Search", "slash", "search", "references", "Find by source or target id"),
        Action("references.add", "Add", "a", "add", "references", "Link a source record to a target record"),
        Action("references.edit", "Edit", "e", "edit", "references", "Change the target id of a link"),
        Action(
            "references.delete",
            "Delete",
            "d",
            "delete",
            "references",
            "Remove a link (the next sync creates a new target record)",
            destructive=True,
        ),
        Action("references.next", "Next page", "n", "next_page", "references", "Older references"),
        Action(
            "references.previous", "Previous page", "p", "previous_page", "references", "Newer references"
        ),
    ]

    def __init__(self, ctx: ConsoleContext, **kwargs: Any) -> None:
        super().__init__(ctx, **kwargs)
        self.entity_type = "order"
        self.search_text = ""
        self.rows: list[Reference] = []
        self.pages: list[int | None] = [None]  # before_id of each page seen so far
        self.types: list[str] = []
        self._shown_for: tuple[Any, ...] | None = None

    def _view(self) -> tuple[Any, ...]:
        return (self.entity_type, self.search_text, tuple(self.pages))

    def compose(self) -> ComposeResult:
        yield Label("References", classes="section-title")
        with Horizontal(classes="toolbar"):
            yield Input(placeholder="Search: #1001, Shopify id or Fortnox number", id="references-search")
        yield Tabs(id="references-tabs")
        yield PagedTable(
            ["Source label", "Source id", "Target id", "Origin", "Updated"],
            # At 80 columns whether a link was synced or added by hand gives way to when it changed;
            # a long label (a customer's e-mail) is cut, its header not.
            fill="Source label",
            fill_min=len("Source label"),
            drop=("Origin",),
            stretch=False,
            id="references-table",
        )
        yield Static("", id="references-status", classes="status-line")

    def focus_default(self) -> None:
        self.query_one("#references-table", DataTable).focus()

    def on_mount(self) -> None:
        self._load_types()
        self.reload()

    def _load_types(self) -> None:
        svc, iid = self.ctx.service, self.ctx.integration_id
        candidates = list(dict.fromkeys([*(f.entity_type for f in svc.flows(iid)), *ENTITY_TYPES]))
        types = [t for t in candidates if svc.references(iid, entity_type=t, limit=1)] or ["order"]
        if self.entity_type not in types:
            self.entity_type = types[0]
        if types != self.types:
            self.types = types
            self.run_worker(self._rebuild_tabs(), exclusive=True, group="reference-tabs")

    async def _rebuild_tabs(self) -> None:
        tabs = self.query_one("#references-tabs", Tabs)
        await tabs.clear()
        for t in self.types:
            await tabs.add_tab(Tab(type_label(t), id=f"ref-tab-{t}"))
        tabs.active = f"ref-tab-{self.entity_type}"

    # -- data ---------------------------------------------------------------------------------
    def reload(self) -> None:
        if not self.is_attached:
            return
        rows = self.ctx.service.references(
            self.ctx.integration_id,
            entity_type=self.entity_type,
            search=self.search_text or None,
            before_id=self.pages[-1],
            limit=PAGE,
        )
        shown = [(r.id, r.target_id, r.updated_at) for r in rows]
        if (
            shown == [(r.id, r.target_id, r.updated_at) for r in self.rows]
            and self._shown_for == self._view()
        ):
            return  # the refresh tick: nothing changed, keep cursor and scroll as they are
        self.rows, self._shown_for = rows, self._view()
        self.query_one("#references-table", PagedTable).show_rows(
            [
                (r.id, (r.source_label or "—", r.source_id, r.target_id, r.origin, stamp(r.updated_at)))
                for r in self.rows
            ]
        )
        page = len(self.pages)
        first = (page - 1) * PAGE + 1
        shown = f"rows {first}–{first + len(self.rows) - 1}" if self.rows else "no references"
        more = "  n next page" if len(self.rows) == PAGE else ""
        back = "  p previous page" if page > 1 else ""
        found = f" matching {self.search_text!r}" if self.search_text else ""
        self.query_one("#references-status", Static).update(
            f"{type_label(self.entity_type)}{found} · page {page} · {shown}{more}{back}"
        )

    def apply_filter(self, **criteria: Any) -> None:
        if criteria.get("entity_type"):
            self.entity_type = str(criteria["entity_type"])
            if self.is_mounted and self.entity_type in self.types:
                self.query_one("#references-tabs", Tabs).active = f"ref-tab-{self.entity_type}"
        if "search" in criteria:
            self.search_text = str(criteria["search"] or "")
            if self.is_mounted:
                self.query_one("#references-search", Input).value = self.search_text
        self.pages = [None]
        self.reload()

    def on_tabs_tab_activated(self, event: Tabs.TabActivated) -> None:
        event.stop()
        if event.tab is None or not event.tab.id:
            return
        chosen = event.tab.id.removeprefix("ref-tab-")
        if chosen != self.entity_type:
            self.entity_type = chosen
            self.pages = [None]
            self.reload()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id != "references-search":
            return
        event.stop()
        self.search_text = event.value.strip()
        self.pages = [None]
        self.reload()
        self.query_one("#references-table", DataTable).focus()

    def _selected(self) -> Reference | None:
        table = self.query_one("#references-table", DataTable)
        if not self.rows or not 0 <= table.cursor_row < len(self.rows):
            return None
        return self.rows[table.cursor_row]

    # -- actions ------------------------------------------------------------------------------
    def action_search(self) -> None:
        self.query_one("#references-search", Input).focus()

    def action_next_page(self) -> None:
        if len(self.rows) == PAGE:
            self.pages.append(self.rows[-1].id)
            self.reload()

    def action_previous_page(self) -> None:
        if len(self.pages) > 1:
            self.pages.pop()
            self.reload()

    def action_add(self) -> None:
        def saved(ref: Reference | None) -> None:
            if ref is not None:
                self.notify(
                    f"{ref.entity_type} {ref.source_id} linked to {ref.target_id}.", title="References"
                )
                self.entity_type = ref.entity_type
                self._load_types()
                self.pages = [None]
                self.reload()

        self.app.push_screen(ReferenceForm(self.ctx, self.types, entity_type=self.entity_type), saved)

    def action_edit(self) -> None:
        selected = self._selected()
        if selected is None:
            return

        def saved(ref: Reference | None) -> None:
            if ref is not None:
                self.notify(
                    f"{ref.source_label or ref.source_id} now links to {ref.target_id}.", title="References"
                )
                self.reload()

        self.app.push_screen(ReferenceForm(self.ctx, self.types, existing=selected), saved)

    def action_delete(self) -> None:
        ref = self._selected()
        if ref is None:
            return
        target = "the target platform"
        flows = [f for f in self.ctx.service.flows(self.ctx.integration_id)]
        if flows:
            target = flow_direction(self.ctx, flows[0])[1]
        label = ref.source_label or ref.source_id
        body = (
            f"Delete the link {ref.entity_type} {label} (source id {ref.source_id}) → "
            f"{target} {ref.target_id}?\n\n"
            f"Only the link is removed, not the records. The next sync of {label} will create a NEW "
            f"{ref.entity_type} in {target} (a duplicate of {ref.target_id}), unless you add the link again."
        )

        def confirmed(yes: bool | None) -> None:
            if not yes:
                return
            try:
                self.ctx.service.delete_reference(ref.id)  # type: ignore[arg-type]
            except Exception as exc:
                self.notify(error_text(exc), title="References", severity="error", timeout=10)
                return
            self.notify(f"Reference {label} → {ref.target_id} deleted.", title="References")
            self.reload()

        self.app.push_screen(
            ConfirmDialog("Delete reference?", body, confirm_label="Delete", destructive=True), confirmed
        )
