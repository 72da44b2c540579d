"""A connection's rate budget split among the pools using it, through the database."""

from __future__ import annotations

import asyncio

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
    await asyncio.sleep(0.2)
    assert first.max_requests == 25  # and of its leaving
    await one.aclose()


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
