"""A task's pauses count one outage: after the platform came back and records synced, the next outage
starts from the first, short pause again instead of inheriting the count (and stopping early)."""

from __future__ import annotations

from sqlmodel import Session, select

from engine.runtime import queue
from engine.runtime.outage import MAX_PAUSES, Outage
from engine.runtime.records import Recorder
from engine.runtime.runner import Runner
from engine.store.models import Flow, Task, TaskStatus


def _pause(runner: Runner, task_id: int, synced: int) -> object:
    task = queue.claim(runner.db, task_id, runner.worker_id, 30)
    assert task is not None, "the paused task could not be claimed again"
    recorder = Recorder(runner.db, task.integration_id, task.flow_id, task.id, runner.worker_id)
    counters = {"total": 0, "processed": synced, "synced": synced, "failed": 0, "skipped": 0}
    try:
        return runner._outage(
            task, Outage("PLATFORM_UNAVAILABLE", "Fortnox answered 503"), recorder, counters
        )
    finally:
        recorder.close()


def test_pauses_start_again_after_progress_and_stop_a_task_that_never_recovers(db, secrets) -> None:
    with Session(db) as s:
        flow = s.exec(select(Flow)).one()
    runner = Runner(db, secrets)
    task = queue.enqueue(db, integration_id=flow.integration_id, flow_id=flow.id, kind="sync")

    def claimable_now() -> None:  # instead of waiting out the pause
        with Session(db) as s:
            row = s.get(Task, task.id)
            row.not_before = None
            s.add(row)
            s.commit()

    for n in range(1, 4):  # one outage: no record synced between the pauses
        paused = _pause(runner, task.id, synced=10)
        assert f"pause {n} of" in paused.message
        claimable_now()
    paused = _pause(runner, task.id, synced=25)  # the platform came back, then failed again
    assert "pause 1 of" in paused.message
    claimable_now()
    for _ in range(MAX_PAUSES - 1):
        _pause(runner, task.id, synced=25)
        claimable_now()
    stopped = _pause(runner, task.id, synced=25)
    assert stopped.status == TaskStatus.STOPPED and stopped.message.startswith("PLATFORM_UNAVAILABLE")
