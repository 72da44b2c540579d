"""What every flow gets to work with, and what it answers per record."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from engine.errors import EngineError, hint
from engine.mapping.settings import IntegrationSettings
from engine.platforms.http import PlatformError
from engine.runtime.outage import Streak, retry_plan
from engine.runtime.records import Recorder, Writes
from engine.store.models import EntityStatus, LogLevel


class Outcome(StrEnum):
    SYNCED = "synced"
    FAILED = "failed"
    SKIPPED = "skipped"  # filtered, excluded, unchanged or held by another worker


@dataclass
class FlowContext:
    recorder: Recorder
    source: Any
    target: Any
    settings: IntegrationSettings
    filters: list[Any]
    force: bool = False  # Export One / Retry: push even when the source did not change
    # Orders of one customer must not race to create that customer twice.
    locks: defaultdict[str, asyncio.Lock] = field(default_factory=lambda: defaultdict(asyncio.Lock))
    # The leases the flow holds (entity id → owner), which the heartbeat renews.
    in_flight: dict[int, str] = field(default_factory=dict)
    # Failures of the platform in a row: a long enough streak makes the task give up its turn.
    streak: Streak = field(default_factory=Streak)


def code_and_message(exc: Exception) -> tuple[str, str]:
    if isinstance(exc, PlatformError | EngineError):
        return exc.code, exc.message
    return "INTERNAL_ERROR", f"{type(exc).__name__}: {exc}"


async def create_once(
    create: Callable[[], Awaitable[dict]],
    find: Callable[[], Awaitable[dict | None]],
    what: str,
    ref: str,
    ctx: FlowContext,
) -> dict:
    """Create, and when the answer was lost (the write may have landed) look before trying again."""
    try:
        return await create()
    except PlatformError as exc:
        if not exc.ambiguous:
            raise
        found = await find()
        if found is not None:
            await ctx.recorder.ainfo(
                f"Adopted the Fortnox {what} for {ref} whose creation answer was lost ({exc.code})",
                code="ADOPTED",
                reference=ref,
            )
            return found
        return await create()


def fail(
    ctx: FlowContext, w: Writes, entity: Any, what: str, ref: str, code: str, message: str, **changes: Any
) -> None:
    """End the attempt on `entity` (the `what` the log line names, "Order #1001") in error: the code,
    what to do, and (for a transient failure) when it is attempted again by itself."""
    plan = retry_plan(entity, code)
    advice = hint(code)
    text = f"{what}: {message}" + (f" — {advice}" if advice else "")
    if plan["retry_at"] is not None:
        text += f" (attempted again automatically at {plan['retry_at']:%H:%M:%S} UTC)"
    w.entity(entity, status=EntityStatus.ERROR, error_code=code, error_message=text, **plan, **changes)
    w.transaction(entity, "error", EntityStatus.ERROR, f"{code}: {text}")
    w.log(LogLevel.ERROR, text, code=code, reference=ref)
    ctx.streak.failure(code, message)


async def bookkeep(target: Any, number: str) -> dict:
    """Book a Fortnox invoice (see book_once)."""
    return await book_once(lambda: target.bookkeep_invoice(number), lambda: target.get_invoice(number))


async def book_once(book: Callable[[], Awaitable[dict]], read: Callable[[], Awaitable[dict]]) -> dict:
    """Book a Fortnox document (an invoice, a payment); a refusal or lost answer is read back, and a
    document found booked (by this attempt's lost answer, an earlier one, or a person) is as good."""
    try:
        return await book()
    except PlatformError as exc:
        if exc.retryable and not exc.ambiguous:
            raise
        document = await read()
        if not document.get("Booked"):
            raise
        return document


def document_number(value: Any) -> str | None:
    """A Fortnox reference to another document (InvoiceReference, CreditInvoiceReference), or None
    where Fortnox says "none" with null, "" or 0."""
    return str(value) if value not in (None, "", "0", 0) else None
