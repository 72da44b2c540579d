"""Full garbage collections wait for the operator to stop typing (src/junipeer_tui/idle_gc.py)."""

from __future__ import annotations

import gc

from junipeer_tui.idle_gc import IdleCollector


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_full_collections_wait_for_a_pause_in_typing_and_never_wait_forever() -> None:
    clock = Clock()
    saved = gc.get_threshold()
    collector = IdleCollector(idle_after=3.0, every=20.0, at_least_every=300.0, clock=clock)
    collector.install()
    try:
        assert gc.get_threshold()[:2] == saved[:2] and gc.get_threshold()[2] > 10**9
        for _ in range(100):  # two minutes of steady typing: nothing
            clock.now += 1.2
            collector.note_input()
            assert not collector.tick()
        clock.now += 3.0  # the operator stops to read
        assert collector.tick() and collector.collections == 1
        assert not collector.tick()  # not again at once
        for _ in range(300):  # five minutes of typing: one forced collection, bounding memory
            clock.now += 1.0
            collector.note_input()
            collector.tick()
        assert collector.collections == 2
    finally:
        collector.uninstall()
    assert gc.get_threshold() == saved and gc.get_freeze_count() == 0
