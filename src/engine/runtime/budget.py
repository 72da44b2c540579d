"""A platform connection's rate budget, shared by every process that uses it.

Fortnox allows 25 requests per 5 s per client and tenant, whichever process or machine sends them.
Each client pool that holds a Fortnox client says so in the database (`RateShare`, renewed every
`HEARTBEAT` seconds) and paces itself to an equal share of the budget: 25 // the holders seen in the
last `TTL` seconds. The shares add up to the budget, so N workers (and the console) on one connection
stay under it together, on one machine or several sharing a PostgreSQL database. A holder that dies
stops being counted after `TTL`; a newcomer waits a window (and a heartbeat) before its first
request, by which time the others have shrunk their shares and what they sent has left the window.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, func, update
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from engine.store.models import RateShare, utcnow

log = logging.getLogger("engine.runtime.budget")

HEARTBEAT = 1.0
TTL = 3.5


def share_of(db: Engine, key: str, holder: str, total: int) -> tuple[int, int]:
    """Say that `holder` uses the budget `key` now; (its share of `total`, the holders counted)."""
    now = utcnow()
    with Session(db) as s:
        renewed = s.execute(
            update(RateShare)
            .where(RateShare.budget_key == key, RateShare.holder == holder)
            .values(seen_at=now)
        ).rowcount
        if not renewed:  # holders are unique per process and pool: no one else inserts this row
            s.add(RateShare(budget_key=key, holder=holder, seen_at=now))
        gone = now - timedelta(seconds=TTL)
        s.execute(delete(RateShare).where(RateShare.budget_key == key, RateShare.seen_at < gone))
        holders = s.exec(
            select(func.count()).where(RateShare.budget_key == key, RateShare.seen_at >= gone)
        ).one()
        s.commit()
    return max(1, total // max(1, holders)), holders


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
        self._task: asyncio.Task[None] | None = None
        with contextlib.suppress(RuntimeError):  # no loop: the share stays as it was taken
            self._task = asyncio.get_running_loop().create_task(self._renew())

    async def _renew(self) -> None:
        while True:
            await asyncio.sleep(HEARTBEAT)
            try:
                self.share, _ = await asyncio.to_thread(share_of, self.db, self.key, self.holder, self.total)
            except Exception as exc:  # the database is away: keep the last share rather than guess
                log.warning("could not renew the rate budget share of %s: %s", self.key, exc)
                continue
            self.limiter.set_capacity(self.share)

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
