"""The dates an operator may give: Time History, the order exclusion date and Export Many ranges.

Shopify opened in 2006, so no shop holds an order from before it; a date further back only costs
requests over years of nothing. A shop's day may run ahead of UTC (up to UTC+14), so the latest day
is tomorrow in UTC.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from engine.errors import EngineError

EARLIEST = date(2006, 1, 1)


def latest() -> date:
    return datetime.now(UTC).date() + timedelta(days=1)


def problem(day: date, what: str) -> str | None:
    """Why `day` is refused as `what`, or None when it is within the bounds."""
    if EARLIEST <= day <= latest():
        return None
    return (
        f"{day.isoformat()} is out of range for {what}: pick a day from {EARLIEST.isoformat()} "
        f"(no Shopify shop is older) to {latest().isoformat()} (tomorrow in UTC)"
    )


def check(day: date, what: str) -> None:
    """Refuse a day outside the bounds with BAD_INPUT."""
    if (text := problem(day, what)) is not None:
        raise EngineError("BAD_INPUT", text)
