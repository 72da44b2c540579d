"""A platform connection's rate budget, shared by every process that uses it.

Fortnox allows 25 requests per 5 s per client and tenant, whichever process or machine sends them.
Each client pool that holds a Fortnox client says so in the database (`RateShare`, renewed every
`HEARTBEAT` seconds, with whether it sent anything lately) and paces itself to its share of the
budget. A holder that has been idle for a while (the console between two looks at Fortnox) keeps a
small share (`IDLE_SHARE`), so its next request goes at once; the holders in use split the rest
equally. The shares add up to the budget, so N workers (and the console) on one connection stay
under it together, on one machine or several sharing a PostgreSQL database.

Shrinking is immediate; growing waits a window and a heartbeat, by which time every other holder has
heard of the change and what they sent under their larger shares has left the window. A newcomer
waits the same before its first request; a holder that dies stops being counted after `TTL`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, update
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from engine.store.models import RateShare, utcnow

log = logging.getLogger("engine.runtime.budget")

HEARTBEAT = 1.0
TTL = 3.5
IDLE_SHARE = 2
# A holder with no request for this many windows is idle.
IDLE_WINDOWS = 2


def split(total: int, holders: int, idle: int, busy: bool) -> int:
    """One holder's share of `total` among `holders`, `idle` of them idle."""
    if holders <= 1:
        return total
    idle_share = max(1, min(IDLE_SHARE, total // holders))
    if not busy:
        return idle_share
    return max(1, (total - idle * idle_share) // max(1, holders - idle))


def share_of(db: Engine, key: str, holder: str, total: int, busy: bool = True) -> tuple[int, int]:
    """Say that `holder` uses the budget `key` now (and whether it sent anything lately);
    (its share of `total`, the holders counted)."""
    now = utcnow()
    with Session(db) as s:
        renewed = s.execute(
            update(RateShare)
            .where(RateShare.budget_key == key, RateShare.holder == holder)
            .values(seen_at=now, busy=busy)
        ).rowcount
        if not renewed:  # holders are unique per process and pool: no one else inserts this row
            s.add(RateShare(budget_key=key, holder=holder, seen_at=now, busy=busy))
        gone = now - timedelta(seconds=TTL)
        s.execute(delete(RateShare).where(RateShare.budget_key == key, RateShare.seen_at < gone))
        states = list(
            s.exec(select(RateShare.busy).where(RateShare.budget_key == key, RateShare.seen_at >= gone))
        )
        s.commit()
    holders = len(states)
    return split(total, holders, states.count(False), busy), holders


def leave(db: Engine, key: str, holder: str) -> None:
    with Session(db) as s:
        s.execute(delete(RateShare).where(RateShare.budget_key == key, RateShare.holder == holder))
        s.commit()


class BudgetShare:
    """Keeps one limiter at its share of a shared budget while the client it paces lives."""

    def __init__(self, db: Engine, key: str, holder: str, limiter: Any, total: int) -> None:
        self.db, self.key, self.holder = db, key, holder
        self.limiter, self.total = limiter, total
        self.share, holders = share_of(db, key, holder, total)
        limiter.set_capacity(self.share)
        if holders > 1:
            limiter.hold_all(limiter.window_seconds + HEARTBEAT)
        self._growing_since: float | None = None
        self._task: asyncio.Task[None] | None = None
        with contextlib.suppress(RuntimeError):  # no loop: the share stays as it was taken
            self._task = asyncio.get_running_loop().create_task(self._renew())

    async def _renew(self) -> None:
        while True:
            await asyncio.sleep(HEARTBEAT)
            busy = self.limiter.used_within(IDLE_WINDOWS * self.limiter.window_seconds)
            try:
                share, _ = await asyncio.to_thread(share_of, self.db, self.key, self.holder, self.total, busy)
            except Exception as exc:  # the database is away: keep the last share rather than guess
                log.warning("could not renew the rate budget share of %s: %s", self.key, exc)
                continue
            self._take(share, time.monotonic())

    def _take(self, share: int, now: float) -> None:
        """Shrink at once; grow only once the new share has stood for a window and a heartbeat."""
        if share <= self.share:
            self._growing_since = None
        elif self._growing_since is None:
            self._growing_since = now
            return
        elif now - self._growing_since < self.limiter.window_seconds + HEARTBEAT:
            return
        else:
            self._growing_since = None
        self.share = share
        self.limiter.set_capacity(share)

    def follow(self, limiter: Any) -> None:
        """Pace `limiter` from now on: the client was rebuilt (new credentials) and the share stays
        this pool's. It waits a window first, while the old client's requests leave it."""
        self.limiter = limiter
        limiter.set_capacity(self.share)
        limiter.hold_all(limiter.window_seconds)

    async def aclose(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        with contextlib.suppress(Exception):
            await asyncio.to_thread(leave, self.db, self.key, self.holder)
