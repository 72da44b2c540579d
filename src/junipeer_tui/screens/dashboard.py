"""Dashboard: completed vs stopped tasks (ratio and the last 7 days), records synced and in error
per entity type, the latest errors (⏎ troubleshoots one), what runs now and the next scheduled runs."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any, ClassVar

from textual import work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.widgets import DataTable, Static

from engine import onboarding
from engine.store.models import TaskStatus
from junipeer_tui.context import Action
from junipeer_tui.screens.entities import ordered_types
from junipeer_tui.widgets.section import Section
from junipeer_tui.widgets.table import PagedTable, cell
from junipeer_tui.widgets.util import Every, aware, entity_tab_title, error_text, guarded, report_error, stamp

CHART_DAYS = 7
BAR_WIDTH = 10  # the chart's panel stays narrow enough for two columns at 80 characters


def day_buckets(by_day: dict[date, dict[str, int]]) -> list[tuple[str, int, int]]:
    """[(label, completed, stopped)] per day of Service.task_counts_by_day, oldest first."""
    return [
        (f"{day:%a %d}", counts.get(TaskStatus.COMPLETED, 0), counts.get(TaskStatus.STOPPED, 0))
        for day, counts in sorted(by_day.items())
    ]


def chart(buckets: list[tuple[str, int, int]], width: int = BAR_WIDTH) -> Content:
    top = max((ok + bad for _, ok, bad in buckets), default=0) or 1
    lines = []
    for label, ok, bad in buckets:
        n_ok = round(ok / top * width) if ok else 0
        n_bad = max(1, round(bad / top * width)) if bad else 0
        n_ok = max(1, n_ok) if ok else 0
        rest = width - n_ok - n_bad
        lines.append(
            Content.from_markup(
                "[$text-muted]$label[/] [$text-success]$ok_bar[/][$text-error]$bad_bar[/]$rest "
                "[$text-success]$ok[/]/[$text-error]$bad[/]",
                label=label,
                ok_bar="█" * n_ok,
                bad_bar="█" * n_bad,
                rest="·" * max(0, rest),
                ok=str(ok),
                bad=str(bad),
            )
        )
    return Content("\n").join(lines)


def progress_bar(done: int, total: int, width: int = 12) -> str:
    if total <= 0:
        return "░" * width
    filled = min(width, round(done / total * width))
    return "▓" * filled + "░" * (width - filled)


class DashboardSection(Section):
    SECTION = "dashboard"
    TITLE = "Dashboard"
    ACTIONS: ClassVar[list[Action]] = [
        Action(
            "dashboard_errors",
            "Errors in Logs",
            "e",
            "show_errors",
            "dashboard",
            "Open Logs filtered to errors",
        ),
        Action(
            "dashboard_stopped",
            "Stopped tasks",
            "s",
            "show_stopped",
            "dashboard",
            "Open Tasks filtered to stopped ones",
        ),
    ]

    def __init__(self, ctx: Any, **kwargs: Any) -> None:
        super().__init__(ctx, **kwargs)
        self._chart_due = Every(5.0)  # re-bucketing the 7-day chart
        self._counts_due = Every(5.0)
        self._counting = False  # a count is on its way: the tick does not start another
        self._count_error = ""

    def compose(self) -> ComposeResult:
        yield Static("Dashboard", classes="section-title")
        with VerticalScroll(id="dash-scroll"):
            with Vertical(id="dash-setup", classes="panel"):
                yield Static("", id="dash-setup-text")
            with Horizontal(classes="dash-row"):
                with Vertical(id="dash-tasks", classes="panel"):
                    yield Static("", id="dash-ratio")
                    yield Static("", id="dash-chart")
                with Vertical(id="dash-side"):
                    with Vertical(id="dash-entities", classes="panel"):
                        yield Static("", id="dash-entity-counts")
                    with Vertical(id="dash-running", classes="panel"):
                        yield Static("", id="dash-running-text")
                    with Vertical(id="dash-next", classes="panel"):
                        yield Static("", id="dash-next-text")
            with Vertical(id="dash-errors", classes="panel"):
                yield PagedTable(["Time", "Code", "Ref", "Message"], fill="Message", id="dash-errors-table")

    def on_mount(self) -> None:
        self.query_one("#dash-tasks").border_title = "Completed vs stopped"
        self.query_one("#dash-entities").border_title = "Records per entity type"
        self.query_one("#dash-running").border_title = "Running now"
        self.query_one("#dash-next").border_title = "Next scheduled runs"
        self.query_one("#dash-errors").border_title = "Latest errors (⏎ troubleshoot)"
        self.query_one("#dash-setup").display = False
        self.call_after_refresh(self.reload)

    def focus_default(self) -> None:
        self.query_one("#dash-errors-table", PagedTable).focus()

    @work(thread=True, group="dashboard-counts")
    def _count_in_background(self, today: date, chart_due: bool, entities_due: bool) -> None:
        """The counts grow with the database (grouping 50,000 tasks by status, a week of them by
        day, a million entities): off the UI thread, so a key pressed on a tick never waits for
        them; the figures follow a moment later."""
        svc, iid = self.ctx.service, self.ctx.integration_id
        try:
            tasks = svc.task_counts(iid)
            first = today - timedelta(days=CHART_DAYS - 1)
            by_day = svc.task_counts_by_day(iid, first, CHART_DAYS) if chart_due else None
            entities = svc.entity_counts(iid) if entities_due else None
        except Exception as exc:
            self.app.call_from_thread(self._count_failed, exc)
            return
        self.app.call_from_thread(self._show_counts, tasks, by_day, entities)

    def _count_failed(self, exc: Exception) -> None:
        self._counting = False
        text = error_text(exc)
        if text != self._count_error:  # once, not every second
            self._count_error = text
            report_error(self.app, exc, "count the tasks and records")

    def _show_counts(
        self,
        counts: dict[str, int],
        by_day: dict[date, dict[str, int]] | None,
        entities: dict[str, dict[str, int]] | None,
    ) -> None:
        self._counting = False
        self._count_error = ""
        done, stopped = counts.get(TaskStatus.COMPLETED, 0), counts.get(TaskStatus.STOPPED, 0)
        finished = done + stopped
        ratio = f"{done / finished:.0%} completed" if finished else "No finished task yet"
        self.query_one("#dash-ratio", Static).update(
            Content.from_markup(
                "[b $text-success]$done[/] completed · [b $text-error]$stopped[/] stopped\n$ratio\n"
                "[$text-muted]$waiting waiting, $running running[/]",
                done=str(done),
                stopped=str(stopped),
                ratio=ratio,
                waiting=str(counts.get(TaskStatus.PENDING, 0)),
                running=str(counts.get(TaskStatus.RUNNING, 0)),
            )
        )
        if by_day is not None:
            self.query_one("#dash-chart", Static).update(chart(day_buckets(by_day)))
        if entities is not None:
            self._show_entities(entities)

    def reload(self) -> None:
        svc, iid = self.ctx.service, self.ctx.integration_id
        now = aware(self.ctx.clock())
        assert now is not None
        if not self._counting:
            self._counting = True
            self._count_in_background(now.date(), self._chart_due.due(), self._counts_due.due())
        self._show_setup()
        self._show_running(svc.tasks(iid, status=TaskStatus.RUNNING, limit=5))
        self._show_next(now)
        errors = svc.logs(iid, level="error", limit=12)
        table = self.query_one("#dash-errors-table", PagedTable)
        table.show_rows(
            [
                (
                    log.id,
                    (
                        stamp(log.at, now),
                        cell(self.app, log.code or "", "error"),
                        log.reference or "",
                        cell(self.app, log.message),
                    ),
                )
                for log in errors
            ]
        )
        self._error_refs = {log.id: log.reference for log in errors}

    def _show_setup(self) -> None:
        """Until the integration is Live: the Get Started steps on one line, and the next one."""
        panel = self.query_one("#dash-setup")
        if self.ctx.service.integration(self.ctx.integration_id).live_mode:
            panel.display = False
            return
        steps = onboarding.steps(self.ctx.service, self.ctx.integration_id)
        upcoming = onboarding.next_step(steps)
        parts = []
        for step in steps:
            mark, style = ("✓", "$text-success") if step.done else ("·", "$text-muted")
            if upcoming is not None and step.key == upcoming.key:
                mark, style = "›", "b $text-warning"
            parts.append(
                Content.from_markup(f"[{style}]$mark $name[/]", mark=mark, name=onboarding.SHORT[step.key])
            )
        self.query_one("#dash-setup-text", Static).update(Content(" ").join(parts))
        done = sum(s.done for s in steps)
        nxt = f" · next: {upcoming.title} (key 0)" if upcoming is not None else ""
        panel.border_title = f"Get Started: {done} of {len(steps)} done{nxt}"
        panel.display = True

    def on_click(self, event: Any) -> None:
        if any(node.id == "dash-setup" for node in getattr(event.widget, "ancestors_with_self", [])):
            self.app.open_get_started()  # type: ignore[attr-defined]

    def _show_entities(self, counts: dict[str, dict[str, int]]) -> None:
        if not counts:
            text = Content.from_markup("[$text-muted]No records yet: the first sync creates them.[/]")
        else:
            types = ordered_types(counts)
            # As narrow as the names and figures allow: the panel shares 80 columns with the chart, so
            # a payout's lines sit under "Payouts" by a short name.
            names = {
                t: "└ lines" if t == "payout_line" and "payout" in counts else entity_tab_title(t)
                for t in types
            }
            width = max(len(n) for n in names.values())
            lines = [Content.from_markup("[$text-muted]$h[/]", h=f"{'':<{width}} synced error pending")]
            for etype in types:
                c = counts[etype]
                lines.append(
                    Content.from_markup(
                        "$name [$text-success]$ok[/] [$text-error]$err[/] [$text-warning]$pend[/]",
                        name=f"{names[etype]:<{width}}",
                        ok=f"{c.get('synced', 0):>6}",
                        err=f"{c.get('error', 0):>5}",
                        pend=f"{c.get('pending', 0):>7}",
                    )
                )
            if unmatched := counts.get("payout_line", {}).get("error", 0):
                # Money the bank received that the ledger can't explain yet: its payout has no voucher.
                lines.append(
                    Content.from_markup(
                        "[$text-error]$n unmatched payout line(s)[/] [$text-muted]payouts wait unbooked[/]",
                        n=str(unmatched),
                    )
                )
            text = Content("\n").join(lines)
        self.query_one("#dash-entity-counts", Static).update(text)

    def _show_running(self, tasks: list[Any]) -> None:
        if not tasks:
            self.query_one("#dash-running-text", Static).update(
                Content.from_markup("[$text-muted]Nothing is running.[/]")
            )
            return
        flows = {f.id: f.name for f in self.ctx.service.flows(self.ctx.integration_id)}
        lines = [
            Content.from_markup(
                "#$id $flow $kind [$text-accent]$bar[/] $done/$total",
                id=str(t.id),
                flow=flows.get(t.flow_id, "?"),
                kind=t.kind,
                bar=progress_bar(t.processed, t.total),
                done=str(t.processed),
                total=str(t.total or "?"),
            )
            for t in tasks
        ]
        self.query_one("#dash-running-text", Static).update(Content("\n").join(lines))

    def _show_next(self, now: datetime) -> None:
        engine = self.ctx.engine
        widget = self.query_one("#dash-next-text", Static)
        status = engine.status() if engine is not None else None
        if status is None or not status.alive:
            widget.update(Content.from_markup("[$text-muted]Engine not running: nothing is scheduled.[/]"))
            return
        if status.scheduler_paused:
            widget.update(Content.from_markup("[$text-warning]Scheduler paused.[/]"))
            return
        if not status.next_runs:
            if not self.ctx.service.integration(self.ctx.integration_id).live_mode:
                widget.update(
                    Content.from_markup("[$text-warning]Not live[/]: scheduled runs start in Live mode.")
                )
            else:
                widget.update(Content.from_markup("[$text-muted]No scheduling rule is active.[/]"))
            return
        lines = []
        for name, when in status.next_runs[:4]:
            when_utc = when.astimezone(UTC) if when else None
            left = f"in {max(0, int((when_utc - now).total_seconds()) // 60)} min" if when_utc else "paused"
            lines.append(
                Content.from_markup(
                    "$name  [$text-accent]$at[/] [$text-muted]$left[/]",
                    name=name,
                    at=f"{when_utc:%H:%M} UTC" if when_utc else "—",
                    left=left,
                )
            )
        widget.update(Content("\n").join(lines))

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        ref = getattr(self, "_error_refs", {}).get(int(event.row_key.value or 0))
        if ref:
            self.app.jump(ref)  # type: ignore[attr-defined]
        else:
            self.app.notify("This error names no reference; see it in Logs (e).")

    @guarded("open Logs")
    def action_show_errors(self) -> None:
        self.app.show_section("logs", level="error")  # type: ignore[attr-defined]

    @guarded("open Tasks")
    def action_show_stopped(self) -> None:
        self.app.show_section("tasks", status="stopped")  # type: ignore[attr-defined]
