"""The troubleshooting jump (`g`, or "Find a reference…"): one reference (#1001, a Shopify id, a
Fortnox document number) → the engine's verdict, the entity, its references, tasks and log lines."""

from __future__ import annotations

from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.widgets import Input, LoadingIndicator, Static

from engine.errors import hint
from engine.service import Explanation
from junipeer_tui.context import ConsoleContext
from junipeer_tui.dialogs.base import Dialog
from junipeer_tui.screens.entities import retry_entity_worker
from junipeer_tui.widgets.key_footer import KeyFooter
from junipeer_tui.widgets.table import PagedTable, cell
from junipeer_tui.widgets.util import ago, call_async, error_text, guarded, stamp, task_duration

VERDICT_CLASS = {
    "SYNCED": "-good",
    "ERROR": "-bad",
    "FILTERED": "-warn",
    "EXCLUDED": "-warn",
    "NOT_YET_LOADED": "-info",
    "PENDING": "-info",
    "NOT_IN_SOURCE": "-warn",
    "NOT_SYNCED": "-bad",
}


def verdict_label(exp: Explanation) -> str:
    if exp.verdict == "ERROR" and exp.entity is not None and exp.entity.error_code:
        return f"ERROR ({exp.entity.error_code})"
    return exp.verdict


class TroubleshootScreen(Dialog[None]):
    BINDINGS: ClassVar[list[Binding | tuple[str, str] | tuple[str, str, str]]] = [
        Binding("escape", "close", "Back"),
        Binding("r", "retry", "Retry"),
        Binding("o", "open_entity", "Open entity"),
        Binding("l", "logs", "Logs"),
        Binding("slash", "focus_input", "New reference"),
    ]

    def __init__(self, ctx: ConsoleContext, ref: str | None = None) -> None:
        super().__init__(id="troubleshoot")
        self.ctx = ctx
        self.ref = (ref or "").strip()
        self.explanation: Explanation | None = None

    def compose(self) -> ComposeResult:
        with Vertical(id="trouble-box", classes="dialog"):
            with Horizontal(id="trouble-ask"):
                yield Static("Reference", id="trouble-label")
                yield Input(
                    value=self.ref, placeholder="#1001, a Shopify id or a Fortnox number", id="trouble-input"
                )
            yield LoadingIndicator(id="trouble-loading")
            with VerticalScroll(id="trouble-result"):
                yield Static("", id="verdict")
                yield Static("", id="trouble-summary")
                yield Static("", id="trouble-entity")
                yield Static("References", classes="trouble-heading")
                yield PagedTable(["Type", "Source id", "Label", "Target id", "Origin"], id="trouble-refs")
                yield Static("No reference links it yet.", id="trouble-refs-none", classes="trouble-none")
                yield Static("Tasks", classes="trouble-heading")
                yield PagedTable(
                    ["Task", "Kind", "Trigger", "Status", "Synced", "Failed", "Took"], id="trouble-tasks"
                )
                yield Static("No task touched it.", id="trouble-tasks-none", classes="trouble-none")
                yield Static("Log lines", classes="trouble-heading")
                yield PagedTable(["Level", "Time", "Code", "Message"], id="trouble-logs")
                yield Static("No log line names it.", id="trouble-logs-none", classes="trouble-none")
        yield KeyFooter()

    def on_mount(self) -> None:
        self.query_one("#trouble-box").border_title = "Troubleshoot a reference"
        self.query_one("#trouble-result").display = False
        self.query_one("#trouble-loading").display = False
        if self.ref:
            self.lookup(self.ref)
        else:
            self.focus_input()

    def focus_input(self) -> None:
        self.query_one("#trouble-input", Input).focus()

    def action_focus_input(self) -> None:
        self.focus_input()

    @on(Input.Submitted, "#trouble-input")
    def _submitted(self, event: Input.Submitted) -> None:
        ref = event.value.strip()
        if not ref:
            self.app.notify("Type a reference such as #1001.", severity="warning")
            return
        self.lookup(ref)

    def lookup(self, ref: str) -> None:
        self.ref = ref
        self.query_one("#trouble-loading").display = True
        self.query_one("#trouble-box").border_title = f"Troubleshoot {ref}"
        self.explain(ref)

    @work(thread=True, exclusive=True, group="explain")
    def explain(self, ref: str) -> None:
        """Ask the engine (on its loop when it runs) why `ref` is or is not in the target."""
        svc, iid = self.ctx.service, self.ctx.integration_id
        try:
            exp = call_async(self.ctx, lambda: svc.explain(iid, ref))
        except Exception as exc:
            self.app.call_from_thread(self.show_error, ref, exc)
            return
        self.app.call_from_thread(self.show, ref, exp)

    def show_error(self, ref: str, exc: BaseException) -> None:
        if ref != self.ref:
            return
        self.query_one("#trouble-loading").display = False
        self.query_one("#trouble-result").display = True
        verdict = self.query_one("#verdict", Static)
        verdict.set_classes("-bad")
        verdict.update(Content("COULD NOT ASK"))
        self.query_one("#trouble-summary", Static).update(Content(error_text(exc)))
        self.app.notify(error_text(exc), title=f"Could not explain {ref}", severity="error", markup=False)

    def show(self, ref: str, exp: Explanation) -> None:
        if ref != self.ref:
            return  # an older lookup finishing late
        self.explanation = exp
        now = self.ctx.clock()
        self.query_one("#trouble-loading").display = False
        self.query_one("#trouble-result").display = True
        self.query_one("#trouble-box").border_title = f"Troubleshoot {exp.ref}"
        verdict = self.query_one("#verdict", Static)
        verdict.set_classes(VERDICT_CLASS.get(exp.verdict, "-info"))
        verdict.update(Content(f" {verdict_label(exp)} "))
        summary = [Content(exp.summary)]
        summary += [Content.from_markup("[$text-muted]· $d[/]", d=d) for d in exp.details]
        todo = hint(exp.entity.error_code) if exp.entity is not None else ""
        if todo and todo not in exp.summary:
            summary.append(Content.from_markup("[$text-warning]What to do:[/] $todo (r retries)", todo=todo))
        self.query_one("#trouble-summary", Static).update(Content("\n").join(summary))
        entity = exp.entity
        self.query_one("#trouble-entity", Static).update(
            Content.from_markup(
                "[b]Entity[/] $type $ref · $status · Fortnox $storer · updated $ago"
                "  [$text-muted](o opens it)[/]",
                type=entity.entity_type,
                ref=entity.retriever_reference,
                status=entity.status,
                storer=entity.storer_reference or "—",
                ago=ago(entity.last_updated, now),
            )
            if entity is not None
            else Content.from_markup("[$text-muted]No entity: the engine never stored this record.[/]")
        )
        self.query_one("#trouble-refs", PagedTable).show_rows(
            [
                (r.id, (r.entity_type, r.source_id, r.source_label or "", r.target_id, r.origin))
                for r in exp.references
            ]
        )
        self.query_one("#trouble-tasks", PagedTable).show_rows(
            [
                (
                    t.id,
                    (
                        f"#{t.id}",
                        t.kind.replace("_", " "),
                        t.trigger,
                        cell(self.app, t.status),
                        str(t.synced),
                        str(t.failed),
                        task_duration(t, now),
                    ),
                )
                for t in exp.tasks
            ]
        )
        self.query_one("#trouble-logs", PagedTable).show_rows(
            [
                (
                    log.id,
                    (
                        cell(self.app, log.level),
                        stamp(log.at, now),
                        log.code or "",
                        cell(self.app, log.message),
                    ),
                )
                for log in exp.logs
            ]
        )
        for table_id, rows in (
            ("#trouble-refs", exp.references),
            ("#trouble-tasks", exp.tasks),
            ("#trouble-logs", exp.logs),
        ):
            self.query_one(table_id).display = bool(rows)
            self.query_one(f"{table_id}-none").display = not rows
        if exp.logs:
            self.query_one("#trouble-logs", PagedTable).focus()

    def action_close(self) -> None:
        self.dismiss(None)

    @guarded("retry")
    def action_retry(self) -> None:
        exp = self.explanation
        if exp is None or exp.entity is None:
            self.app.notify(
                "Nothing stored to retry: use Export One on the Flows page for this reference.",
                severity="warning",
            )
            return
        retry_entity_worker(self, self.ctx, exp.entity)

    @guarded("open the entity")
    def action_open_entity(self) -> None:
        from junipeer_tui.screens.entity_detail import EntityDetailScreen

        exp = self.explanation
        if exp is not None and exp.entity is not None:
            self.app.push_screen(EntityDetailScreen(self.ctx, exp.entity.id))  # type: ignore[arg-type]
        else:
            self.app.notify("No entity for this reference.", severity="warning")

    def action_logs(self) -> None:
        ref = self.explanation.ref if self.explanation else self.ref
        if ref:
            self.app.show_section("logs", ref=ref)  # type: ignore[attr-defined]

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # Letters typed into the reference field are text, not actions.
        return not (action in ("retry", "open_entity", "logs") and isinstance(self.focused, Input))
