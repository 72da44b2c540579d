"""One entity: its references, the transaction history timeline, the raw source and target JSON
(highlighted with the theme's colours; `c` copies the JSON shown), and Retry, which the screen
follows until the retry task ends, showing what it did."""

from __future__ import annotations

import json
from typing import ClassVar

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.content import Content
from textual.highlight import highlight
from textual.widgets import Static, TabbedContent, TabPane

from engine.errors import hint
from engine.store.models import Entity, EntityStatus, Task
from junipeer_tui.context import ConsoleContext
from junipeer_tui.dialogs.tasks import TaskDialog
from junipeer_tui.widgets.key_footer import KeyFooter
from junipeer_tui.widgets.table import PagedTable, cell
from junipeer_tui.widgets.util import ago, entity_tab_title, error_text, guarded, report_error, stamp


def pretty_json(raw: str | None) -> str:
    """Indented JSON; what cannot be parsed is shown as stored."""
    if not raw:
        return ""
    try:
        return json.dumps(json.loads(raw), indent=2, ensure_ascii=False)
    except ValueError:
        return raw


class EntityDetailScreen(TaskDialog):
    BINDINGS: ClassVar[list[Binding | tuple[str, str] | tuple[str, str, str]]] = [
        Binding("escape", "close", "Back"),
        Binding("r", "retry", "Retry"),
        Binding("c", "copy", "Copy JSON"),
        Binding("s", "show_tab('raw-source')", "Source", show=False),
        Binding("t", "show_tab('raw-target')", "Target", show=False),
        Binding("l", "logs", "Logs"),
        Binding("g", "troubleshoot", "Troubleshoot"),
    ]

    def __init__(self, ctx: ConsoleContext, entity_id: int) -> None:
        super().__init__(id="entity-detail")
        self.ctx = ctx
        self.entity_id = entity_id
        self.entity: Entity | None = None
        self.json_text: dict[str, str] = {}
        self.retry_task: Task | None = None

    def compose(self) -> ComposeResult:
        with Vertical(id="entity-box", classes="dialog"):
            yield Static("", id="entity-summary")
            yield PagedTable(
                ["Time", "Action", "Status", "Task", "Message"], fill="Message", id="entity-timeline"
            )
            with TabbedContent(id="entity-raw"):
                with TabPane("Source JSON (Shopify)", id="raw-source"), VerticalScroll():
                    yield Static("", id="json-source", classes="json")
                with TabPane("Target JSON (Fortnox)", id="raw-target"), VerticalScroll():
                    yield Static("", id="json-target", classes="json")
        yield KeyFooter()

    def on_mount(self) -> None:
        self.load()
        self.query_one("#entity-timeline").focus()

    def load(self) -> None:
        svc, now = self.ctx.service, self.ctx.clock()
        try:
            entity = self.entity = svc.entity(self.entity_id)
        except Exception as exc:
            self.query_one("#entity-summary", Static).update(error_text(exc))
            return
        kind = entity_tab_title(entity.entity_type).rstrip("s")
        self.query_one("#entity-box").border_title = f"{kind} {entity.retriever_reference}"
        lines = [
            Content.from_markup(
                "[b]$kind $ref[/] · $status · Shopify id $sid → Fortnox $storer · children $children · "
                "updated $ago",
                kind=kind,
                ref=entity.retriever_reference,
                status=Content.from_markup(
                    f"[b {'$text-success' if entity.status == EntityStatus.SYNCED else '$text-error'}]$s[/]",
                    s=entity.status,
                )
                if entity.status != EntityStatus.PENDING
                else entity.status,
                sid=entity.source_id,
                storer=entity.storer_reference or "—",
                children=str(entity.children),
                ago=ago(entity.last_updated, now),
            )
        ]
        if entity.status == EntityStatus.ERROR:
            lines.append(
                Content.from_markup(
                    "[b $text-error]$code[/] $message",
                    code=entity.error_code or "ERROR",
                    message=entity.error_message or "",
                )
            )
            todo = hint(entity.error_code)
            if todo:
                lines.append(
                    Content.from_markup("[$text-warning]What to do:[/] $todo · r retries", todo=todo)
                )
        if self.retry_task is not None:
            task = self.retry_task
            lines.append(
                Content.from_markup(
                    "[$text-accent]Retry:[/] task #$id $status$message",
                    id=str(task.id),
                    status=task.status,
                    message=f" · {task.message}" if task.message else "",
                )
            )
        self.query_one("#entity-summary", Static).update(Content("\n").join(lines))
        self.query_one("#entity-timeline", PagedTable).show_rows(
            [
                (
                    tx.id,
                    (
                        stamp(tx.at, now),
                        tx.action,
                        cell(self.app, tx.status),
                        f"#{tx.task_id}" if tx.task_id else "",
                        cell(self.app, tx.message),
                    ),
                )
                for tx in svc.transactions(self.entity_id)
            ]
        )
        for name, raw in (("source", entity.raw_source), ("target", entity.raw_target)):
            text = self.json_text[name] = pretty_json(raw)
            widget = self.query_one(f"#json-{name}", Static)
            if text:
                widget.update(highlight(text, language="json"))
            else:
                widget.update(Content.from_markup("[$text-muted](nothing stored yet)[/]"))

    def action_close(self) -> None:
        self.dismiss(None)

    def action_show_tab(self, tab: str) -> None:
        self.query_one("#entity-raw", TabbedContent).active = tab

    @guarded("copy the JSON")
    def action_copy(self) -> None:
        which = "target" if self.query_one("#entity-raw", TabbedContent).active == "raw-target" else "source"
        text = self.json_text.get(which, "")
        ref = self.entity.retriever_reference if self.entity else ""
        if not text:
            self.app.notify(f"No {which} JSON stored for {ref}.", severity="warning")
            return
        self.app.copy_to_clipboard(text)
        self.app.notify(f"Copied the {which} JSON of {ref} ({len(text)} characters) to the clipboard.")

    @guarded("retry")
    def action_retry(self) -> None:
        if self.entity is not None:
            self._queue_retry(self.entity)

    @work(thread=True, exit_on_error=False, group="retry")
    def _queue_retry(self, entity: Entity) -> None:
        try:
            task = self.ctx.service.retry_entity(entity.id)  # type: ignore[arg-type]
        except Exception as exc:
            self.app.call_from_thread(report_error, self.app, exc, f"retry {entity.retriever_reference}")
            return
        self.app.call_from_thread(self._retry_queued, entity, task)

    def _retry_queued(self, entity: Entity, task: Task) -> None:
        self.notify(
            f"{entity.retriever_reference} will be re-synced by task #{task.id}", title="Retry queued"
        )
        self.retry_task = task
        self.load()
        self.start_task(task)

    def task_update(self, task: Task) -> None:
        """The retry task moved: show it and what it did to this entity (status, timeline)."""
        self.retry_task = task
        self.load()

    def action_logs(self) -> None:
        if self.entity is not None:
            self.app.show_section("logs", ref=self.entity.retriever_reference)  # type: ignore[attr-defined]

    def action_troubleshoot(self) -> None:
        if self.entity is not None:
            self.app.jump(self.entity.retriever_reference)  # type: ignore[attr-defined]
