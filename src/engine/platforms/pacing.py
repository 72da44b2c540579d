"""Client-side pacing so requests stay inside a platform's published limits instead of provoking 429s."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import heapq
import math
import time
from collections.abc import AsyncIterator, Callable


class SlidingWindowLimiter:
    """At most `max_requests` request starts in any window of `window_seconds`.

    The server timestamps a request when it arrives, which can be later than when we let it go, and
    not by the same amount for every request. What keeps the server's count inside the limit:

    * with `slot()`, a slot is held until the request's response is back, plus a full window: the
      server certainly saw the request before it answered, so that bound holds whatever the delays
      were, and no margin is added to it (a margin would only make the slot sit idle: at Fortnox's
      5 s window, 3 % is 150 ms, longer than a fast answer takes);
    * plain `acquire()` cannot see the answer, so it counts one window from the start, widened by
      `safety_margin` (a fraction of the window).

    Bookkeeping: `_open` counts slots whose request is not over (they count until it is), a min-heap
    holds the release times of the others. Waiters queue FIFO; a slot is handed to the first waiter
    the moment it frees up (when a request ends, or by one timer at the earliest release time), so a
    freed slot is not left idle while a woken waiter re-checks the window.
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
        self._open = 0
        self._releases: list[float] = []
        self._waiters: collections.deque[asyncio.Future[None]] = collections.deque()
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at = math.inf
        # A limiter is made for a client about to send: it counts as in use from the start.
        self.last_claim = clock()

    async def acquire(self) -> float:
        """Wait for a free slot and claim it; returns the seconds spent waiting."""
        waited = await self._claim()
        # Counted from now, when the caller goes ahead, for one widened window.
        self._finish(self._clock() + self.span)
        return waited

    @contextlib.asynccontextmanager
    async def slot(self) -> AsyncIterator[float]:
        """Claim a slot for one request and keep it until the request is over; yields seconds waited."""
        waited = await self._claim()
        try:
            yield waited
        finally:
            self._finish(self._clock() + self.window_seconds)

    async def _claim(self) -> float:
        """Take a slot (counted in `_open`), waiting in line when none is free."""
        started = self.last_claim = self._clock()
        if not self._waiters and self._free(started) > 0:
            self._open += 1
            return 0.0
        waiter = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        self._wake()
        try:
            await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():  # handed a slot, but gone before using it
                self._open -= 1
                self._wake()
            else:
                with contextlib.suppress(ValueError):
                    self._waiters.remove(waiter)
            raise
        return self._clock() - started

    def _free(self, now: float) -> int:
        releases = self._releases
        while releases and releases[0] <= now:
            heapq.heappop(releases)
        return self.max_requests - self._open - len(releases)

    def _finish(self, release_at: float) -> None:
        """One claimed slot's request is over; it keeps counting until `release_at`."""
        self._open -= 1
        heapq.heappush(self._releases, release_at)
        self._wake()

    def _wake(self) -> None:
        """Hand free slots to waiters in order; if some still wait, be back at the next release."""
        waiters = self._waiters
        if not waiters:
            return
        free = self._free(self._clock())
        while free > 0 and waiters:
            waiter = waiters.popleft()
            if waiter.done():  # cancelled while waiting
                continue
            self._open += 1
            free -= 1
            waiter.set_result(None)
        if waiters and self._releases:
            # Otherwise every slot is open, and the next `_finish` wakes us.
            when = self._releases[0]
            if self._timer is None or when < self._timer_at:
                if self._timer is not None:
                    self._timer.cancel()
                self._timer_at = when
                self._timer = waiters[0].get_loop().call_later(max(0.0, when - self._clock()), self._on_timer)

    def _on_timer(self) -> None:
        self._timer, self._timer_at = None, math.inf
        self._wake()

    def set_capacity(self, max_requests: int) -> None:
        """Change the slots per window (a share of a budget other processes use too). Lowering it
        takes nothing back: slots already counted run out at their time."""
        self.max_requests = max(1, max_requests)
        self._wake()

    def hold_all(self, seconds: float) -> None:
        """Count every slot as used for `seconds`: a newcomer to a shared budget waits until the
        others have had time to shrink their shares and what they sent before has left the window."""
        until = self._clock() + seconds
        for _ in range(self.max_requests):
            heapq.heappush(self._releases, until)

    def used_within(self, seconds: float) -> bool:
        """Whether a request started, waited or was under way in the last `seconds`."""
        return self._open > 0 or bool(self._waiters) or self._clock() - self.last_claim < seconds

    def in_window(self) -> int:
        """Slots still counted (for tests and diagnostics)."""
        return self._open + sum(1 for r in self._releases if r > self._clock())


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
