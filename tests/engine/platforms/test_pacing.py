import asyncio
import math
import time

from engine.platforms.pacing import LeakyBucketPacer, SlidingWindowLimiter


def _max_in_any_window(stamps: list[float], window: float) -> int:
    stamps = sorted(stamps)
    best = 0
    j = 0
    for i, t in enumerate(stamps):
        while stamps[j] <= t - window:
            j += 1
        best = max(best, i - j + 1)
    return best


async def test_sliding_window_never_exceeds_limit_and_uses_the_window() -> None:
    limit, window, workers, per_worker = 5, 0.05, 12, 5
    limiter = SlidingWindowLimiter(limit, window, safety_margin=0.0)
    stamps: list[float] = []

    async def worker() -> None:
        for _ in range(per_worker):
            await limiter.acquire()
            stamps.append(time.monotonic())

    started = time.monotonic()
    await asyncio.gather(*(worker() for _ in range(workers)))
    elapsed = time.monotonic() - started

    total = workers * per_worker
    assert len(stamps) == total
    # A hair under the window to tolerate the loop's clock granularity.
    assert _max_in_any_window(stamps, window * 0.999) <= limit
    ideal = (math.ceil(total / limit) - 1) * window
    assert elapsed >= ideal * 0.98
    assert elapsed <= ideal * 1.25 + 0.03, f"under-used the window: {elapsed:.3f}s vs ideal {ideal:.3f}s"


async def test_safety_margin_widens_the_enforced_span() -> None:
    limiter = SlidingWindowLimiter(2, 0.05, safety_margin=0.2)
    stamps = []
    for _ in range(3):
        await limiter.acquire()
        stamps.append(time.monotonic())
    assert stamps[2] - stamps[0] >= 0.06 * 0.99


async def test_sliding_window_is_fair_between_coroutines() -> None:
    limiter = SlidingWindowLimiter(3, 0.03, safety_margin=0.0)
    order: list[int] = []

    async def worker(n: int) -> None:
        for _ in range(3):
            await limiter.acquire()
            order.append(n)
            await asyncio.sleep(0)  # stands in for the request the slot was taken for

    await asyncio.gather(*(worker(n) for n in range(6)))
    # FIFO hand-off: nobody gets a third slot before everybody has had a first.
    first_round = order[:6]
    assert sorted(first_round) == list(range(6))


async def test_leaky_bucket_waits_below_threshold() -> None:
    pacer = LeakyBucketPacer(capacity=10, leak_rate=200.0, threshold_ratio=0.8)
    pacer.observe(10, 10)
    started = time.monotonic()
    waited = await pacer.acquire()
    elapsed = time.monotonic() - started
    # (10 + 1 - 8) / 200 = 15 ms
    assert 0.012 <= waited <= 0.02
    assert elapsed >= 0.012
    assert pacer.level() <= pacer.threshold + 0.01


async def test_leaky_bucket_lets_a_burst_through_up_to_threshold() -> None:
    pacer = LeakyBucketPacer(capacity=40, leak_rate=2.0, threshold_ratio=0.8)
    waits = [await pacer.acquire() for _ in range(32)]
    assert sum(waits) == 0.0


async def test_slot_keeps_the_server_window_even_when_arrivals_are_late() -> None:
    """Arrival delays vary far more than the margin; holding slots until the answer keeps the count."""
    import random

    rng = random.Random(3)
    limit, window = 4, 0.04
    limiter = SlidingWindowLimiter(limit, window, safety_margin=0.0)
    arrivals: list[float] = []

    async def request() -> None:
        async with limiter.slot():
            await asyncio.sleep(rng.uniform(0.0, 0.015))  # on the wire, in the server's queue
            arrivals.append(time.monotonic())
            await asyncio.sleep(0.001)  # the answer travelling back

    started = time.monotonic()
    await asyncio.gather(*(request() for _ in range(24)))
    elapsed = time.monotonic() - started
    assert _max_in_any_window(arrivals, window * 0.999) <= limit
    assert elapsed < (24 / limit) * (window + 0.017) + 0.03
