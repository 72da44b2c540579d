"""The engine on its own thread: the host submits work and reads status while it runs."""

from __future__ import annotations

import time

from engine.runtime.embedded import EmbeddedEngine
from engine.store.models import TaskStatus


def test_embedded_engine_runs_enqueued_tasks_and_stops_cleanly(connected) -> None:
    service, sb, iid = connected
    engine = EmbeddedEngine(service, scheduler=False, concurrency=4)
    engine.start()
    try:
        assert engine.status().label == "idle"
        flow = service.flows(iid)[0]
        task = service.export_one(flow, sb.get("shopify/orders")[0]["name"])
        engine.notify()
        deadline = time.monotonic() + 20
        while service.task(task.id).status not in (TaskStatus.COMPLETED, TaskStatus.STOPPED):
            assert time.monotonic() < deadline, "the embedded engine never ran the task"
            time.sleep(0.05)
        # Work submitted from the host runs on the engine's loop, with its clients.
        verdict = engine.submit(lambda: service.explain(iid, "#99999")).result(10)
        assert verdict.verdict == "NOT_IN_SOURCE"
    finally:
        engine.stop()
    assert not engine.status().alive


def test_a_held_engine_waits_for_the_host_and_for_at_most_its_limit(connected) -> None:
    """The console holds the engine while it answers a key: nothing runs on the engine's loop until
    it is released, and a forgotten release costs at most the hold's limit."""
    service, _sb, _iid = connected
    engine = EmbeddedEngine(service, scheduler=False, concurrency=1)
    engine.start()

    async def now() -> float:
        return time.monotonic()

    try:
        engine.hold(at_most=5.0)
        held_at = time.monotonic()
        pending = engine.submit(now)
        time.sleep(0.3)
        assert not pending.done(), "the engine's loop ran while held"
        engine.release()
        assert pending.result(5) - held_at >= 0.3

        engine.hold(at_most=0.2)  # never released
        started = time.monotonic()
        assert 0.15 <= engine.submit(now).result(5) - started < 1.0
    finally:
        engine.stop()
    assert not engine.status().alive
