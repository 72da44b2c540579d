"""Rate limiters that imitate Shopify's leaky bucket and Fortnox's sliding window.

Both take `time_scale` so tests can run the real shapes in milliseconds: every period is multiplied by it.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field


@dataclass
class LeakyBucket:
    capacity: int = 40
    leak_per_second: float = 2.0
    level: float = 0.0
    stamp: float = field(default_factory=time.monotonic)

    def _drain(self, now: float) -> None:
        self.level = max(0.0, self.level - (now - self.stamp) * self.leak_per_second)
        self.stamp = now

    def take(self) -> tuple[bool, int, float]:
        """(allowed, calls shown in the header, seconds until one more call fits)."""
        now = time.monotonic()
        self._drain(now)
        if self.level + 1.0 > self.capacity + 1e-9:
            wait = (self.level + 1.0 - self.capacity) / self.leak_per_second
            return False, self.capacity, wait
        self.level += 1.0
        # Report the count rounded up so a client never believes it has more room than it has.
        return True, min(self.capacity, int(-(-self.level // 1))), 0.0


@dataclass
class SlidingWindow:
    limit: int = 25
    window_seconds: float = 5.0
    hits: deque[float] = field(default_factory=deque)

    def take(self) -> bool:
        """Record a request if the window has room; rejected requests are not counted."""
        now = time.monotonic()
        edge = now - self.window_seconds
        while self.hits and self.hits[0] <= edge:
            self.hits.popleft()
        if len(self.hits) >= self.limit:
            return False
        self.hits.append(now)
        return True
