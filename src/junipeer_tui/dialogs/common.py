"""Small pure helpers the sections and dialogs share: times as the operator reads them, errors as
code + what to do, and running the facade's async calls from a thread worker."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, time
from typing import TYPE_CHECKING, TypeVar

from engine.errors import EngineError, hint
from engine.mapping.settings import SettingsError

if TYPE_CHECKING:
    from engine.store.models import Flow
    from junipeer_tui.context import ConsoleContext

T = TypeVar("T")

PLATFORM_NAMES = {"shopify": "Shopify", "fortnox": "Fortnox", "stripe": "Stripe"}
_NO_ENGINE_LOCK = threading.Lock()


def platform_name(platform: str) -> str:
    return PLATFORM_NAMES.get(platform, platform.title())


def aware(dt: datetime | None) -> datetime | None:
    """SQLite hands datetimes back naive; they are UTC."""
    if dt is None:
        return None
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


def relative(dt: datetime | None, now: datetime) -> str:
    """'3 min ago', 'just now', 'never'."""
    dt = aware(dt)
    if dt is None:
        return "never"
    seconds = int((aware(now) - dt).total_seconds())  # type: ignore[operator]
    if seconds < 0:
        return "in the future"
    if seconds < 45:
        return "just now"
    if seconds < 3600:
        return f"{max(1, round(seconds / 60))} min ago"
    if seconds < 86400:
        hours = seconds // 3600
        return f"{hours} hour{'s' if hours > 1 else ''} ago"
    days = seconds // 86400
    return f"{days} day{'s' if days > 1 else ''} ago"


def stamp(dt: datetime | None) -> str:
    dt = aware(dt)
    return "—" if dt is None else f"{dt:%Y-%m-%d %H:%M}"


def duration(seconds: float) -> str:
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


def error_text(exc: BaseException) -> str:
    """An engine error as 'CODE: message — what to do'; anything else without a traceback."""
    if isinstance(exc, EngineError):
        todo = hint(exc.code)
        return f"{exc.code}: {exc.message}" + (f" — {todo}" if todo else "")
    if isinstance(exc, SettingsError):
        return "; ".join(f"{k}: {v}" for k, v in exc.errors.items())
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def flow_direction(ctx: ConsoleContext, flow: Flow) -> tuple[str, str]:
    """(source platform, target platform) display names of a flow."""
    sides = {c.side: c.platform for c in ctx.service.connectors(ctx.integration_id)}
    return platform_name(sides.get(flow.source_side, "?")), platform_name(sides.get(flow.target_side, "?"))


def call_async(ctx: ConsoleContext, fn: Callable[[], Awaitable[T]], timeout: float = 120) -> T:
    """Run an async facade call from a thread worker: on the embedded engine's loop when it runs,
    else in a private loop (one at a time, closing the clients it opened)."""
    engine = ctx.engine
    if engine is not None and engine.loop is not None:
        return engine.submit(fn).result(timeout)

    async def run() -> T:
        try:
            return await fn()
        finally:
            await ctx.service.aclose_pool()

    with _NO_ENGINE_LOCK:
        return asyncio.run(run())
