"""Client-side pacing so requests stay inside a platform's published limits instead of provoking 429s."""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections.abc import AsyncIterator, Callable


class _Slot:
    __slots__ = ("release_at", "start")

    def __init__(self, start: float, release_at: float) -> None:
        self.start = start
        self.release_at = release_at


class SlidingWindowLimiter:
    """At most `max_requests` request starts in any window of `window_seconds`.

    The server timestamps a request when it arrives, which can be later than when we let it go, and
    not by the same amount for every request. Two things keep the server's count inside the limit:

    * the span enforced after a start is widened by `safety_margin` (a fraction of the window);
    * with `slot()`, a slot is also held until its response is back, plus a full window: the server
      certainly saw the request before it answered, so that bound holds whatever the delays were.

    Plain `acquire()` relies on the margin alone.
    """

    def __init__(
        self,
        max_requests: int,
        window_seconds: float,
        *,
        safety_margin: float = 0.03,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if max_requests < 1:
            raise ValueError("max_requests must be at least 1")
        if window_seconds <= 0:
            raise ValueError("window_seconds must be positive")
        self.max_requests = max_requests
        self.window_seconds = window_seconds
        self.span = window_seconds * (1.0 + safety_margin)
        self._clock = clock
        self._slots: list[_Slot] = []
        # asyncio.Lock wakes waiters in FIFO order, which is what keeps the limiter fair; it is only
        # held for long while the window is full, when nobody could go anyway.
        self._lock = asyncio.Lock()
        self._released = asyncio.Event()

    async def acquire(self) -> float:
        """Wait for a free slot and claim it; returns the seconds spent waiting."""
        _, waited = await self._claim(pending=False)
        return waited

    @contextlib.asynccontextmanager
    async def slot(self) -> AsyncIterator[float]:
        """Claim a slot for one request and keep it until the request is over; yields seconds waited."""
        slot, waited = await self._claim(pending=True)
        try:
            yield waited
        finally:
            slot.release_at = max(slot.start + self.span, self._clock() + self.window_seconds)
            self._released.set()

    async def _claim(self, pending: bool) -> tuple[_Slot, float]:
        started = self._clock()
        async with self._lock:
            while True:
                now = self._clock()
                self._slots = [s for s in self._slots if s.release_at > now]
                if len(self._slots) < self.max_requests:
                    release_at = math.inf if pending else now + self.span
                    slot = _Slot(now, release_at)
                    self._slots.append(slot)
                    return slot, now - started
                self._released.clear()
                delay = min(s.release_at for s in self._slots) - now
                if math.isinf(delay):
                    await self._released.wait()
                else:
                    # Also woken early when an in-flight request finishes and fixes its release time.
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._released.wait(), delay)

    def in_window(self) -> int:
        """Slots still counted (for tests and diagnostics)."""
        now = self._clock()
        return sum(1 for s in self._slots if s.release_at > now)


class LeakyBucketPacer:
    """Keeps a Shopify-style leaky bucket below a threshold by waiting before a request would fill it.

    The level is our own estimate (every send adds one, it drains at `leak_rate` per second) corrected
    upwards by the `used/capacity` the server reports, since other clients of the same app and store
    share the bucket.
    """

    def __init__(
        self,
        *,
        capacity: int = 40,
        leak_rate: float = 2.0,
        threshold_ratio: float = 0.8,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if leak_rate <= 0:
            raise ValueError("leak_rate must be positive")
        self.capacity = capacity
        self.leak_rate = leak_rate
        self.threshold_ratio = threshold_ratio
        self._clock = clock
        self._level = 0.0
        self._at = clock()
        self._lock = asyncio.Lock()

    @property
    def threshold(self) -> float:
        return self.capacity * self.threshold_ratio

    def level(self) -> float:
        self._drain()
        return self._level

    def _drain(self) -> None:
        now = self._clock()
        self._level = max(0.0, self._level - (now - self._at) * self.leak_rate)
        self._at = now

    async def acquire(self) -> float:
        """Wait until one more request keeps the bucket under the threshold; returns seconds waited."""
        waited = 0.0
        async with self._lock:
            while True:
                self._drain()
                excess = self._level + 1.0 - self.threshold
                if excess <= 0:
                    self._level += 1.0
                    return waited
                delay = excess / self.leak_rate
                await asyncio.sleep(delay)
                waited += delay

    def observe(self, used: int, capacity: int) -> None:
        """Fold in the server's `X-Shopify-Shop-Api-Call-Limit` reading."""
        self._drain()
        if capacity > 0:
            self.capacity = capacity
        self._level = max(self._level, float(used))

    def saturate(self) -> None:
        """After a 429 the server says the bucket is full, whatever we estimated."""
        self._drain()
        self._level = max(self._level, float(self.capacity))
