"""The one home of the small helpers the sections and dialogs share: times as the operator reads them
(from the console clock), dates typed by the operator, errors as a code and what to do (never a
traceback), platform names, and the facade's async calls run from a thread worker."""

from __future__ import annotations

import asyncio
import threading
import time as clock
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, time
from typing import TYPE_CHECKING, Any, TypeVar

from engine.errors import EngineError, hint
from engine.mapping.settings import SettingsError

if TYPE_CHECKING:
    from textual.app import App

    from engine.store.models import Flow
    from junipeer_tui.context import ConsoleContext

T = TypeVar("T")
_PRIVATE_LOOP_LOCK = threading.Lock()

PLATFORM_NAMES = {"shopify": "Shopify", "fortnox": "Fortnox", "stripe": "Stripe"}
ENTITY_TABS = {
    "order": "Orders",
    "customer": "Customers",
    "article": "Articles",
    "stock": "Stock",
    "payout": "Payouts",
    "payout_line": "Payout lines",
}
STATUS_STYLE = {
    "synced": "$text-success",
    "completed": "$text-success",
    "error": "$text-error",
    "stopped": "$text-error",
    "running": "$text-accent",
    "pending": "$text-warning",
    "warning": "$text-warning",
    "info": "$text-muted",
}


def aware(dt: datetime | None) -> datetime | None:
    """SQLite hands datetimes back naive; they are UTC."""
    if dt is None:
        return None
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


def ago(dt: datetime | None, now: datetime, *, never: str = "—", words: bool = False) -> str:
    """'just now', '12 min ago', '3 h ago', '2 days ago', or `never`; with `words`, '3 hours ago'
    and 'in the future' instead of 'in 5m00s'."""
    dt = aware(dt)
    if dt is None:
        return never
    seconds = int((aware(now) - dt).total_seconds())  # type: ignore[operator]
    if seconds < 0:
        return "in the future" if words else f"in {fmt_duration(-seconds)}"
    if seconds < 45:
        return "just now"
    if seconds < 3600:
        return f"{max(1, round(seconds / 60))} min ago"
    if seconds < 86400:
        hours = seconds // 3600
        return f"{hours} hour{'s' if hours > 1 else ''} ago" if words else f"{hours} h ago"
    days = seconds // 86400
    return f"{days} day{'s' if days > 1 else ''} ago"


def relative(dt: datetime | None, now: datetime) -> str:
    """'3 min ago', '2 hours ago', 'just now', 'never' (the flows' wording)."""
    return ago(dt, now, never="never", words=True)


def stamp(dt: datetime | None, now: datetime | None = None) -> str:
    """'10:03:44' today, '11-21 10:03' this year, else the full date."""
    dt = aware(dt)
    if dt is None:
        return "—"
    if now is not None and dt.date() == aware(now).date():  # type: ignore[union-attr]
        return f"{dt:%H:%M:%S}"
    if now is not None and dt.year == now.year:
        return f"{dt:%m-%d %H:%M}"
    return f"{dt:%Y-%m-%d %H:%M}"


def fmt_duration(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f"{seconds}s"
    minutes, sec = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m{sec:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


def duration(seconds: float) -> str:
    """A running clock: '2:05', '1:02:03'."""
    seconds = max(0, int(seconds))
    minutes, sec = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{sec:02d}" if hours else f"{minutes}:{sec:02d}"


def parse_day(text: str) -> date:
    """YYYY-MM-DD, with a message an operator understands."""
    text = text.strip()
    if not text:
        raise ValueError("Enter a date as YYYY-MM-DD")
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a date: use YYYY-MM-DD, e.g. 2026-11-01") from None


def parse_moment(text: str) -> datetime:
    """'YYYY-MM-DD' (midnight UTC) or 'YYYY-MM-DD HH:MM' (UTC)."""
    text = text.strip()
    if len(text) <= 10:
        return datetime.combine(parse_day(text), time.min, tzinfo=UTC)
    try:
        return datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=UTC)
    except ValueError:
        raise ValueError(f"{text!r} is not a date: use YYYY-MM-DD or YYYY-MM-DD HH:MM (UTC)") from None


def task_duration(task: Any, now: datetime) -> str:
    started, finished = aware(task.started_at), aware(task.finished_at)
    if started is None:
        return "—"
    return fmt_duration(((finished or aware(now)) - started).total_seconds())  # type: ignore[operator]


def styled(value: str, key: str | None = None) -> str:
    """Content markup for a status/level word, coloured by theme variables."""
    style = STATUS_STYLE.get(key or value)
    return f"[{style}]{value}[/]" if style else value


def counted(n: int, noun: str) -> str:
    """'1 task', '3 tasks': a count and its noun, singular for one."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def entity_tab_title(entity_type: str) -> str:
    return ENTITY_TABS.get(entity_type, entity_type.replace("_", " ").title() + "s")


def platform_name(platform: str) -> str:
    return PLATFORM_NAMES.get(platform, platform.title())


def flow_direction(ctx: ConsoleContext, flow: Flow) -> tuple[str, str]:
    """(source platform, target platform) display names of a flow."""
    sides = {c.side: c.platform for c in ctx.service.connectors(ctx.integration_id)}
    return platform_name(sides.get(flow.source_side, "?")), platform_name(sides.get(flow.target_side, "?"))


def error_text(exc: BaseException) -> str:
    """'CODE: message — what to do' for an engine error; a one-liner for anything else."""
    if isinstance(exc, EngineError):
        todo = hint(exc.code)
        return f"{exc.code}: {exc.message}" + (f" — {todo}" if todo else "")
    if isinstance(exc, SettingsError):
        return "; ".join(f"{k}: {v}" for k, v in exc.errors.items())
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def report_error(app: App[Any], exc: BaseException, doing: str = "") -> None:
    """Show an error to the operator as a notification: code, message and what to do."""
    title = f"Could not {doing}" if doing else "Error"
    app.notify(error_text(exc), title=title, severity="error", timeout=10, markup=False)


def call_async(ctx: ConsoleContext, fn: Callable[[], Awaitable[T]], timeout: float = 60) -> T:
    """Run an async facade call from a thread worker: on the embedded engine's loop when it runs,
    else in a private loop (one at a time) that closes the platform clients it opened."""
    engine = ctx.engine
    if engine is not None and engine.loop is not None and engine.status().alive:
        return engine.submit(fn).result(timeout)

    async def run() -> T:
        try:
            # The same limit as on the engine's loop: a platform that does not answer must not keep
            # this thread (and the console's exit, which waits for it) for its whole retry budget.
            return await asyncio.wait_for(fn(), timeout)
        finally:
            await ctx.service.aclose_pool()

    with _PRIVATE_LOOP_LOCK:
        return asyncio.run(run())


def guarded(doing: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Wrap an action or handler: an error becomes a notification with its code, never a crash."""
    import functools
    import inspect

    def decorate(fn: Callable[..., Any]) -> Callable[..., Any]:
        if inspect.iscoroutinefunction(fn):

            @functools.wraps(fn)
            async def async_wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
                try:
                    return await fn(self, *args, **kwargs)
                except Exception as exc:
                    report_error(self.app, exc, doing)
                    return None

            return async_wrapper

        @functools.wraps(fn)
        def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
            try:
                return fn(self, *args, **kwargs)
            except Exception as exc:
                report_error(self.app, exc, doing)
                return None

        return wrapper

    return decorate


class Every:
    """Lets through one call per `seconds` (the first at once): for the work a once-a-second tick
    should not repeat each time, such as grouping a million entities."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._at: float | None = None

    def due(self) -> bool:
        now = clock.monotonic()
        if self._at is not None and now - self._at < self.seconds:
            return False
        self._at = now
        return True
