"""Time History: where the next sync of a flow starts, and which windows are already loaded.

A run loads (max(last loaded − lookback, exclusion date), run start], in chunks; each finished chunk
is kept as a TimeWindow, and last loaded moves to the run start only when every chunk is done. A run
that was interrupted leaves last loaded where it was, so the next one covers the same window again and
skips the chunks that were already completed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import delete, func
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from engine.store.models import TimeHistory, TimeWindow, utcnow

CHUNK = timedelta(days=1)


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


def exclusion_start(exclusion: date | None) -> datetime | None:
    return datetime.combine(exclusion, time.min, tzinfo=UTC) if exclusion else None


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
