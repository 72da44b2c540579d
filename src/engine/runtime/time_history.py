"""Time History: where the next sync of a flow starts, and which windows are already loaded.

A run loads (max(last loaded − lookback, exclusion date), run start], in chunks; each finished chunk
is kept as a TimeWindow, and last loaded moves to the run start only when every chunk is done. A run
that was interrupted leaves last loaded where it was, so the next one covers the same window again and
skips the chunks that were already completed.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import delete, func
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from engine.store.models import TimeHistory, TimeWindow, utcnow

CHUNK = timedelta(days=1)
# A run of fewer chunks than this is walked rather than counted first: walking an empty chunk costs
# one request, as a count does, so counting only pays off over a longer stretch.
COUNT_FROM_CHUNKS = 4


@dataclass(frozen=True)
class Window:
    start: datetime
    end: datetime


def get(db: Engine, flow_id: int) -> TimeHistory:
    with Session(db, expire_on_commit=False) as s:
        th = s.exec(select(TimeHistory).where(TimeHistory.flow_id == flow_id)).first()
        if th is None:
            th = TimeHistory(flow_id=flow_id)
            s.add(th)
            s.commit()
        return th


# The exclusion date is a day in the shop's own time zone, which can be up to 14 hours ahead of UTC: the
# window starts at midnight UTC the day before (whole UTC days stay the chunks the operator sees), which
# covers that day's earliest midnight anywhere; each order's own created date decides.
def exclusion_start(exclusion: date | None) -> datetime | None:
    return datetime.combine(exclusion - timedelta(days=1), time.min, tzinfo=UTC) if exclusion else None


def plan(db: Engine, flow_id: int, exclusion: date | None, run_start: datetime) -> Window:
    th = get(db, flow_id)
    floor = exclusion_start(exclusion)
    start = th.last_loaded - timedelta(seconds=th.lookback_seconds) if th.last_loaded else None
    if floor and (start is None or start < floor):
        start = floor
    if start is None:  # no exclusion date and never loaded: the flow refuses to run before this
        start = run_start - timedelta(days=30)
    return Window(start, run_start)


def chunks(window: Window, size: timedelta = CHUNK) -> list[Window]:
    out, cursor = [], window.start
    while cursor < window.end:
        out.append(Window(cursor, min(cursor + size, window.end)))
        cursor += size
    return out


async def skip_empty(
    todo: list[Window],
    count: Callable[[datetime, datetime], Awaitable[int]],
    empty: Callable[[Window], None] | None = None,
) -> list[Window]:
    """The chunks of `todo` that may hold records, found with a few counts instead of one request per
    chunk: an exclusion date years back otherwise costs a request per empty day (2010-01-01 cost 6,185
    requests for 30 orders). Each stretch of consecutive chunks is counted whole; an empty one is
    dropped and handed to `empty` as one window, a non-empty one is halved and its halves looked at
    the same way. Only the first half is counted: the second holds the rest of the stretch's count.
    A Time History window ends at the run's start, so a record can only leave it while we count (an
    edit moves its updated_at past the end): a count of zero stays true, and the rest of a stretch's
    count is never too low."""

    async def look(run: list[Window], total: int | None) -> list[Window]:
        if total is None:
            if len(run) < COUNT_FROM_CHUNKS:
                return run
            total = await count(run[0].start, run[-1].end)
        if total <= 0:
            if empty is not None:
                empty(Window(run[0].start, run[-1].end))
            return []
        if len(run) < COUNT_FROM_CHUNKS:
            return run
        half = len(run) // 2
        first = await count(run[0].start, run[half - 1].end)
        return await look(run[:half], first) + await look(run[half:], total - first)

    kept: list[Window] = []
    for run in _consecutive(todo):
        kept += await look(run, None)
    return kept


def _consecutive(todo: list[Window]) -> list[list[Window]]:
    runs: list[list[Window]] = []
    for chunk in todo:
        if runs and runs[-1][-1].end == chunk.start:
            runs[-1].append(chunk)
        else:
            runs.append([chunk])
    return runs


def completed(db: Engine, flow_id: int, window: Window) -> list[Window]:
    with Session(db) as s:
        rows = s.exec(
            select(TimeWindow).where(
                TimeWindow.flow_id == flow_id, TimeWindow.end > window.start, TimeWindow.start < window.end
            )
        ).all()
        return [Window(r.start, r.end) for r in rows]


def is_covered(chunk: Window, done: list[Window]) -> bool:
    return any(w.start <= chunk.start and w.end >= chunk.end for w in done)


def record_window(db: Engine, flow_id: int, task_id: int | None, chunk: Window, records: int) -> None:
    with Session(db) as s:
        s.add(TimeWindow(flow_id=flow_id, task_id=task_id, start=chunk.start, end=chunk.end, records=records))
        s.commit()


def advance(db: Engine, flow_id: int, loaded_until: datetime) -> None:
    get(db, flow_id)
    with Session(db) as s:
        th = s.exec(select(TimeHistory).where(TimeHistory.flow_id == flow_id)).one()
        if th.last_loaded is None or loaded_until > th.last_loaded:
            th.last_loaded = loaded_until
            th.updated_at = utcnow()
            s.add(th)
            s.commit()


def move_back(db: Engine, flow_id: int, to: datetime) -> int:
    """Set last loaded to `to` (earlier or later) and forget completed windows after it, so the next
    run re-processes from there. Returns how many windows were forgotten."""
    get(db, flow_id)
    with Session(db) as s:
        th = s.exec(select(TimeHistory).where(TimeHistory.flow_id == flow_id)).one()
        th.last_loaded = to
        th.updated_at = utcnow()
        s.add(th)
        n = s.execute(delete(TimeWindow).where(TimeWindow.flow_id == flow_id, TimeWindow.end > to)).rowcount
        s.commit()
        return n


def windows(db: Engine, flow_id: int, limit: int = 50) -> list[TimeWindow]:
    with Session(db) as s:
        return list(
            s.exec(
                select(TimeWindow)
                .where(TimeWindow.flow_id == flow_id)
                .order_by(TimeWindow.end.desc())
                .limit(limit)
            ).all()
        )


def window_count(db: Engine, flow_id: int) -> int:
    with Session(db) as s:
        return s.exec(select(func.count()).select_from(TimeWindow).where(TimeWindow.flow_id == flow_id)).one()
