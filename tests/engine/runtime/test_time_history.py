from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from engine.runtime import time_history as th

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


def test_first_run_starts_at_the_exclusion_date(db) -> None:
    window = th.plan(db, 1, date(2026, 11, 1), NOW)
    assert window.start == datetime(2026, 11, 1, tzinfo=UTC) and window.end == NOW
    assert len(th.chunks(window)) == 24


def test_next_run_starts_at_last_loaded_minus_lookback_but_never_before_exclusion(db) -> None:
    th.advance(db, 1, NOW - timedelta(hours=1))
    window = th.plan(db, 1, date(2026, 11, 1), NOW)
    assert window.start == NOW - timedelta(hours=1, seconds=300)
    # the exclusion date is a hard floor even when Time History is older
    th.move_back(db, 1, datetime(2026, 10, 1, tzinfo=UTC))
    assert th.plan(db, 1, date(2026, 11, 1), NOW).start == datetime(2026, 11, 1, tzinfo=UTC)


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
