from __future__ import annotations

import asyncio
import itertools
from datetime import UTC, date, datetime, timedelta

from engine.runtime import time_history as th

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


def test_first_run_starts_at_the_exclusion_date(db) -> None:
    window = th.plan(db, 1, date(2026, 11, 1), NOW)
    # from the day before in UTC, which holds November 1st's first hours in every time zone ahead of UTC
    # (a Stockholm shop's orders of 00:30 local time that day)
    assert window.start == datetime(2026, 10, 31, tzinfo=UTC) and window.end == NOW
    assert len(th.chunks(window)) == 25


def test_next_run_starts_at_last_loaded_minus_lookback_but_never_before_exclusion(db) -> None:
    th.advance(db, 1, NOW - timedelta(hours=1))
    window = th.plan(db, 1, date(2026, 11, 1), NOW)
    assert window.start == NOW - timedelta(hours=1, seconds=300)
    # the exclusion date is a hard floor even when Time History is older
    th.move_back(db, 1, datetime(2026, 10, 1, tzinfo=UTC))
    assert th.plan(db, 1, date(2026, 11, 1), NOW).start == datetime(2026, 10, 31, tzinfo=UTC)


def test_interrupted_backfill_resumes_its_gaps(db) -> None:
    window = th.plan(db, 1, date(2026, 11, 20), NOW)
    chunks = th.chunks(window)
    for chunk in chunks[:2]:  # two days done, then the worker died
        th.record_window(db, 1, None, chunk, records=10)
    done = th.completed(db, 1, window)
    todo = [c for c in chunks if not th.is_covered(c, done)]
    assert todo == chunks[2:]
    assert th.get(db, 1).last_loaded is None  # not advanced until the whole window is done


def test_moving_back_forgets_later_windows(db) -> None:
    window = th.Window(datetime(2026, 11, 20, tzinfo=UTC), NOW)
    for chunk in th.chunks(window):
        th.record_window(db, 1, None, chunk, records=1)
    th.advance(db, 1, NOW)
    forgotten = th.move_back(db, 1, datetime(2026, 11, 22, tzinfo=UTC))
    assert forgotten == 3  # 22nd, 23rd, 24th
    assert th.get(db, 1).last_loaded == datetime(2026, 11, 22, tzinfo=UTC)
    assert th.window_count(db, 1) == 2


def _counting(stamps: list[datetime]):  # type: ignore[no-untyped-def]
    """A count over [start, end] as Shopify's orders/count.json answers it, and how often it was asked."""
    asked: list[tuple[datetime, datetime]] = []

    async def count(start: datetime, end: datetime) -> int:
        asked.append((start, end))
        return sum(start <= t <= end for t in stamps)

    return count, asked


def test_skip_empty_keeps_the_days_with_records_and_reports_the_empty_stretches() -> None:
    days = th.chunks(th.Window(datetime(2010, 1, 1, tzinfo=UTC), NOW))
    stamps = [NOW - timedelta(days=d, hours=3) for d in (1, 2, 2, 9, 25)] + [
        datetime(2015, 6, 1, 5, tzinfo=UTC)
    ]
    count, asked = _counting(stamps)
    empty: list[th.Window] = []
    kept = asyncio.run(th.skip_empty(days, count, empty.append))

    assert all(any(c.start <= t <= c.end for c in kept) for t in stamps)  # no record left behind
    assert len(kept) <= 4 * len(stamps) and len(asked) <= 120  # not one request per day (6,171)
    # Kept days and empty stretches tile the whole window, without overlap.
    pieces = sorted([*kept, *empty], key=lambda w: w.start)
    assert pieces[0].start == days[0].start and pieces[-1].end == days[-1].end
    assert all(a.end == b.start for a, b in itertools.pairwise(pieces))


def test_skip_empty_never_reports_a_stretch_across_a_gap_and_walks_short_runs_without_counting() -> None:
    days = th.chunks(th.Window(datetime(2026, 10, 1, tzinfo=UTC), NOW))
    todo = days[:20] + days[22:24] + days[30:]  # days 20-21 and 24-29 were loaded by an earlier run
    count, asked = _counting([])
    empty: list[th.Window] = []
    # days 22-23 are two: walking them costs what counting them would, so they are not counted
    assert asyncio.run(th.skip_empty(todo, count, empty.append)) == days[22:24]
    assert [(w.start, w.end) for w in empty] == [
        (days[0].start, days[19].end),
        (days[30].start, days[-1].end),
    ]
    assert len(asked) == 2
