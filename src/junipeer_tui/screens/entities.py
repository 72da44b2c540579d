"""Entities: the records the engine knows, one tab per entity type present; search by either
reference, filter by status, page by keyset; ⏎ opens one (timeline, raw JSON, Retry); R retries
every record the tab, status and search show, on every page, after a confirmation with their count."""

from __future__ import annotations

from typing import Any, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import DataTable, Input, Select, Static, Tab, Tabs

from engine.service import EntitySelection
from engine.store.models import Entity, EntityStatus
from junipeer_tui.context import Action, ConsoleContext
from junipeer_tui.dialogs.confirm import ConfirmDialog
from junipeer_tui.widgets.table import PagedSection, PagedTable, cell
from junipeer_tui.widgets.util import Every, ago, entity_tab_title, guarded, report_error

TAB_ORDER = ["order", "refund", "payout", "payout_line", "customer", "article", "stock"]


def ordered_types(types: set[str] | list[str]) -> list[str]:
    return sorted(types, key=lambda t: (TAB_ORDER.index(t) if t in TAB_ORDER else len(TAB_ORDER), t))


@work(thread=True, group="retry")
def retry_entity_worker(widget: Any, ctx: ConsoleContext, entity: Entity) -> None:
    """Enqueue a retry of one entity off the UI thread and say which task will run it."""
    try:
        task = ctx.service.retry_entity(entity.id)  # type: ignore[arg-type]
        ctx.notify_engine()
    except Exception as exc:
        widget.app.call_from_thread(report_error, widget.app, exc, f"retry {entity.retriever_reference}")
        return
    widget.app.call_from_thread(
        widget.app.notify,
        f"{entity.retriever_reference} will be re-synced by task #{task.id}",
        title="Retry queued",
    )


@work(thread=True, group="retry")
def retry_all_worker(widget: EntitiesSection, selection: EntitySelection, count_only: bool) -> None:
    """Off the UI thread: count what a selection retries (then ask), or enqueue its retry tasks."""
    ctx, app = widget.ctx, widget.app
    try:
        if count_only:
            count = ctx.service.count_retryable(ctx.integration_id, selection)
            app.call_from_thread(widget.confirm_retry_all, selection, count)
            return
        tasks = ctx.service.retry_entities(ctx.integration_id, selection)
        ctx.notify_engine()
    except Exception as exc:
        app.call_from_thread(report_error, app, exc, "retry the records shown")
        return
    if not tasks:  # they changed between the question and the answer
        app.call_from_thread(app.notify, "Nothing to retry any more.", severity="warning")
        return
    count = sum(len(t.params["entity_ids"]) for t in tasks)
    ids = f"task #{tasks[0].id}" if len(tasks) == 1 else f"tasks #{tasks[0].id}–#{tasks[-1].id}"
    app.call_from_thread(app.notify, f"{count} records will be re-synced by {ids}", title="Retry queued")


class EntitiesSection(PagedSection):
    TABLE_ID = "entities-table"
    SECTION = "entities"
    TITLE = "Entities"
    ACTIONS: ClassVar[list[Action]] = [
        Action("entities_open", "Open entity", "enter", "open_entity", "entities", "Timeline and raw JSON"),
        Action("entities_retry", "Retry entity", "r", "retry", "entities", "Re-sync this record"),
        Action(
            "entities_retry_all",
            "Retry all shown",
            "R",
            "retry_all",
            "entities",
            "Re-sync every record shown, on all pages",
        ),
        Action(
            "entities_search", "Search", "slash", "search", "entities", "By retriever or storer reference"
        ),
        Action("entities_next", "Next page", "n", "next_page", "entities", "Older records"),
        Action("entities_prev", "Previous page", "p", "prev_page", "entities", "Newer records"),
        Action(
            "entities_clear", "Clear filters", "x", "clear_filters", "entities", "Every record of the tab"
        ),
    ]

    def __init__(self, ctx: ConsoleContext, **kwargs: Any) -> None:
        super().__init__(ctx, **kwargs)
        self.entity_type: str | None = None
        self.rows: dict[int, Entity] = {}
        self._page_parts: list[str] = []
        self._counts: dict[str, dict[str, int]] | None = None
        self._counts_due = Every(5.0)

    def compose(self) -> ComposeResult:
        types = ordered_types(self.ctx.service.entity_types(self.ctx.integration_id))
        self.entity_type = types[0] if types else None
        yield Static("Entities", classes="section-title")
        yield Tabs(*(Tab(entity_tab_title(t), id=f"etab-{t}") for t in types), id="entities-tabs")
        with Horizontal(classes="filter-bar"):
            yield Input(
                placeholder="search: #1001, Shopify id or Fortnox no.", id="entities-search", compact=True
            )
            yield Select(
                [
                    (s.title(), str(s))
                    for s in (EntityStatus.SYNCED, EntityStatus.ERROR, EntityStatus.PENDING)
                ],
                prompt="Any status",
                id="entities-status",
                compact=True,
            )
        yield PagedTable(
            ["Status", "Retriever Reference", "Storer Reference", "Children", "Last Updated"],
            # At 80 columns the count of children (on the record's detail) gives way to when it was
            # last updated; a long retriever reference (a customer's e-mail) is cut, its header not.
            fill="Retriever Reference",
            fill_min=len("Retriever Reference"),
            drop=("Children",),
            stretch=False,
            id="entities-table",
        )
        yield Static("", id="entities-status-line", classes="status-line")

    def on_mount(self) -> None:
        self.call_after_refresh(self.reload)

    def focus_default(self) -> None:
        self.query_one("#entities-table").focus()

    # -- data ---------------------------------------------------------------------------------
    def _sync_tabs(self, counts: dict[str, dict[str, int]] | None = None) -> None:
        """A new entity type (Articles, Stock) gets its tab as soon as such records exist."""
        tabs = self.query_one("#entities-tabs", Tabs)
        have = {tab.id.removeprefix("etab-") for tab in tabs.query(Tab) if tab.id}
        types = ordered_types(
            set(counts) if counts is not None else self.ctx.service.entity_types(self.ctx.integration_id)
        )
        for etype in types:
            if etype not in have:
                tabs.add_tab(Tab(entity_tab_title(etype), id=f"etab-{etype}"))
        if self.entity_type is None and types:
            self.entity_type = types[0]

    def reload(self) -> None:
        if self.entity_type is None:
            self._sync_tabs()
        table = self.query_one("#entities-table", PagedTable)
        status = self.query_one("#entities-status", Select).value
        search = self.query_one("#entities-search", Input).value.strip()
        if self.entity_type is None:
            table.show_rows([])
            self.query_one("#entities-status-line", Static).update(
                "No records yet: the first sync creates them."
            )
            return
        entities = self.ctx.service.entities(
            self.ctx.integration_id,
            entity_type=self.entity_type,
            status=status if isinstance(status, str) else None,
            ref=search or None,
            before_id=self.pager.before_id,
            limit=table.page_size(),
        )
        now = self.ctx.clock()
        self.rows = {e.id: e for e in entities}  # type: ignore[misc]
        table.show_rows(
            [
                (
                    e.id,
                    (
                        cell(self.app, e.status),
                        e.retriever_reference,
                        e.storer_reference or "—",
                        str(e.children),
                        ago(e.last_updated, now),
                    ),
                )
                for e in entities
            ]
        )
        parts = [f"page {self.pager.page}"]
        if search:
            parts.append(f"{len(entities)} match {search!r}")
        if len(entities) >= table.page_size():
            parts.append("n older")
        if self.pager.page > 1:
            parts.append("p newer")
        self._page_parts = parts
        if self._counts_due.due():
            self._count_in_background()
        elif self._counts is not None:
            self._show_counts(self._counts)

    @work(thread=True, exclusive=True, group="entity-counts")
    def _count_in_background(self) -> None:
        """Counting groups the whole integration (about 0.1 s on a million entities): off the UI
        thread, so a page and a key press never wait for it, and at most every few seconds, not
        on every tick and keystroke."""
        counts = self.ctx.service.entity_counts(self.ctx.integration_id)
        self.app.call_from_thread(self._show_counts, counts)

    def _show_counts(self, counts: dict[str, dict[str, int]]) -> None:
        self._counts = counts
        self._sync_tabs(counts)
        if self.entity_type is None:
            return
        mine = counts.get(self.entity_type, {})
        summary = ", ".join(f"{n} {s}" for s, n in sorted(mine.items()))
        line = [f"{entity_tab_title(self.entity_type)}: {summary}", *self._page_parts]
        self.query_one("#entities-status-line", Static).update(" · ".join(line))

    def apply_filter(self, **criteria: Any) -> None:
        if criteria.get("entity_type"):
            self.entity_type = criteria["entity_type"]
            self._sync_tabs()
            self.query_one("#entities-tabs", Tabs).active = f"etab-{self.entity_type}"
        if "status" in criteria:
            self.query_one("#entities-status", Select).value = criteria["status"] or Select.NULL
        if "ref" in criteria:
            self.query_one("#entities-search", Input).value = criteria["ref"] or ""
        self.pager.reset()
        self.reload()

    def on_tabs_tab_activated(self, event: Tabs.TabActivated) -> None:
        event.stop()
        if event.tab.id:
            new = event.tab.id.removeprefix("etab-")
            if new != self.entity_type:
                self.entity_type = new
                self.pager.reset()
                self.reload()

    @on(Input.Submitted, "#entities-search")
    def _search_submitted(self) -> None:
        self.query_one("#entities-table").focus()

    # -- actions ------------------------------------------------------------------------------
    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_open_entity()

    @guarded("open the entity")
    def action_open_entity(self) -> None:
        from junipeer_tui.screens.entity_detail import EntityDetailScreen

        entity = self.selected()
        if entity is not None:
            self.app.push_screen(EntityDetailScreen(self.ctx, entity.id))  # type: ignore[arg-type]

    @guarded("retry the entity")
    def action_retry(self) -> None:
        entity = self.selected()
        if entity is None:
            self.app.notify("Pick a record first.", severity="warning")
            return
        retry_entity_worker(self, self.ctx, entity)

    def selection(self) -> EntitySelection | None:
        """What the tab, the status filter and the search show, on every page."""
        if self.entity_type is None:
            return None
        status = self.query_one("#entities-status", Select).value
        search = self.query_one("#entities-search", Input).value.strip()
        return EntitySelection(
            entity_type=self.entity_type,
            status=status if isinstance(status, str) else None,
            ref=search or None,
        )

    @guarded("retry the records shown")
    def action_retry_all(self) -> None:
        selection = self.selection()
        if selection is None:
            self.app.notify("No records yet.", severity="warning")
            return
        retry_all_worker(self, selection, count_only=True)

    def confirm_retry_all(self, selection: EntitySelection, count: int) -> None:
        assert selection.entity_type is not None
        plural = entity_tab_title(selection.entity_type).lower()
        shown = [f"status {selection.status.title()}"] if selection.status else []
        shown += [f"matching {selection.ref!r}"] if selection.ref else []
        where = f" with {', '.join(shown)}" if shown else ""
        if not count:
            # A side record (a customer) is re-synced with the record its flow fetches (an order).
            self.app.notify(f"Nothing to retry: no {plural}{where} can be fetched again.", severity="warning")
            return
        what = f"all {count} {plural}" if count > 1 else f"the 1 {selection.entity_type}"
        body = (
            f"Re-sync {what}{where}, on every page: each is fetched again from its source and stored "
            "in the target."
        )

        def confirmed(yes: bool | None) -> None:
            if yes:
                retry_all_worker(self, selection, count_only=False)

        self.app.push_screen(
            ConfirmDialog("Retry all shown?", body, confirm_label=f"Retry {count}"), confirmed
        )

    def action_search(self) -> None:
        self.query_one("#entities-search", Input).focus()

    def action_clear_filters(self) -> None:
        self.query_one("#entities-search", Input).value = ""
        self.query_one("#entities-status", Select).value = Select.NULL
        self.pager.reset()
        self.reload()
