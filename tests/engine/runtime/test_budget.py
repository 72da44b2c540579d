"""A connection's rate budget split among the pools using it, through the database."""

from __future__ import annotations

import asyncio
from typing import Any

from engine.platforms.pacing import SlidingWindowLimiter
from engine.runtime import budget
from engine.runtime.budget import BudgetShare, leave, share_of


def test_holders_share_the_budget_and_a_silent_one_stops_counting(db, monkeypatch) -> None:
    assert share_of(db, "fortnox:a", "p1", 25) == (25, 1)
    assert share_of(db, "fortnox:a", "p2", 25) == (12, 2)
    assert share_of(db, "fortnox:a", "p3", 25) == (8, 3)
    assert share_of(db, "fortnox:b", "p1", 25) == (25, 1)  # another connection, another budget
    leave(db, "fortnox:a", "p3")
    assert share_of(db, "fortnox:a", "p1", 25) == (12, 2)
    monkeypatch.setattr(budget, "TTL", 0.0)  # p2 is not heard from again: it no longer counts
    assert share_of(db, "fortnox:a", "p1", 25) == (25, 1)


async def test_a_newcomer_waits_a_window_and_the_others_shrink(db, monkeypatch) -> None:
    monkeypatch.setattr(budget, "HEARTBEAT", 0.05)
    first = SlidingWindowLimiter(25, 0.2)
    second = SlidingWindowLimiter(25, 0.2)
    one = BudgetShare(db, "fortnox:a", "p1", first, 25)
    assert (first.max_requests, first.in_window()) == (25, 0)
    two = BudgetShare(db, "fortnox:a", "p2", second, 25)
    assert second.max_requests == 12 and second.in_window() == 12  # holds its slots for a window
    await asyncio.sleep(0.2)
    assert first.max_requests == 12  # heard of the newcomer at its next heartbeat
    await two.aclose()
    await asyncio.sleep(0.15)
    assert first.max_requests == 12  # its share grows only once the leaver's requests are gone…
    await asyncio.sleep(0.3)
    assert first.max_requests == 25  # …a window and a heartbeat later
    await one.aclose()


def test_idle_holders_keep_a_small_share_and_the_busy_ones_split_the_rest(db) -> None:
    assert share_of(db, "fortnox:a", "engine", 25) == (25, 1)
    assert share_of(db, "fortnox:a", "console", 25, busy=False) == (2, 2)
    assert share_of(db, "fortnox:a", "engine", 25) == (23, 2)
    assert share_of(db, "fortnox:a", "worker", 25) == (11, 3)
    assert share_of(db, "fortnox:a", "console", 25) == (8, 3)  # back in use: an equal share again
    assert budget.split(25, 26, 0, True) == 1 and budget.split(25, 26, 25, False) == 1  # never 0


async def test_an_idle_console_leaves_the_engine_nearly_the_whole_budget(db, monkeypatch) -> None:
    """The console's pool holds a Fortnox client from its first look at Fortnox on; idle, it must
    not keep half the budget from the engine, and when it is used again it waits its turn to grow."""
    monkeypatch.setattr(budget, "HEARTBEAT", 0.05)
    engine_limiter, console_limiter = SlidingWindowLimiter(25, 0.1), SlidingWindowLimiter(25, 0.1)
    engine = BudgetShare(db, "fortnox:a", "engine", engine_limiter, 25)
    console = BudgetShare(db, "fortnox:a", "console", console_limiter, 25)

    async def keep_busy(limiter: SlidingWindowLimiter) -> None:
        while True:
            await limiter.acquire()

    busy = [asyncio.create_task(keep_busy(engine_limiter))]

    async def until(check: Any, seconds: float = 2.0, settled: bool = True) -> None:
        # Once settled, the shares never add up to more than the budget, at any moment on the way.
        # (Before, the newcomer holds all its slots for a window instead.)
        deadline = asyncio.get_running_loop().time() + seconds
        while not check():
            assert not settled or engine_limiter.max_requests + console_limiter.max_requests <= 25
            assert asyncio.get_running_loop().time() < deadline, "the shares did not settle"
            await asyncio.sleep(0.01)

    try:
        await until(
            lambda: (engine_limiter.max_requests, console_limiter.max_requests) == (12, 12), settled=False
        )
        # The console sends nothing for a while: it keeps 2, the engine grows to the rest.
        await until(lambda: (engine_limiter.max_requests, console_limiter.max_requests) == (23, 2))
        async with console_limiter.slot():  # used again: its first request goes at once
            busy.append(asyncio.create_task(keep_busy(console_limiter)))
        await until(lambda: engine_limiter.max_requests == 12)
        assert console_limiter.max_requests == 2  # it grows only after the engine shrank
        await until(lambda: console_limiter.max_requests == 12)
    finally:
        for task in busy:
            task.cancel()
        await engine.aclose()
        await console.aclose()


async def test_a_rebuilt_client_keeps_the_pools_share(db) -> None:
    """New credentials rebuild the client; the pool's place in the budget stays, and the new
    limiter waits a window while the old client's requests leave it."""
    old, new = SlidingWindowLimiter(25, 0.2), SlidingWindowLimiter(25, 0.2)
    other = BudgetShare(db, "fortnox:a", "p0", SlidingWindowLimiter(25, 0.2), 25)
    share = BudgetShare(db, "fortnox:a", "p1", old, 25)
    share.follow(new)
    assert new.max_requests == 12 and new.in_window() == 12
    assert share_of(db, "fortnox:a", "p2", 25) == (8, 3)  # p1 still counted once
    await share.aclose()
    await other.aclose()
