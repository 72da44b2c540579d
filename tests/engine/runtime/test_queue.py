"""Task claiming: one owner at a time, expired leases are reclaimed, paused tasks resume."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

from engine.runtime import queue
from engine.store.models import TaskStatus


def test_each_task_is_claimed_by_exactly_one_worker(db) -> None:
    for _ in range(20):
        queue.enqueue(db, integration_id=1, flow_id=1, kind="export_one", params={"ref": "#1"})

    def worker(n: int) -> list[int]:
        got = []
        while (task := queue.claim_next(db, f"w{n}", 60)) is not None:
            got.append(task.id)
        return got

    with ThreadPoolExecutor(4) as pool:
        claimed = [tid for ids in pool.map(worker, range(4)) for tid in ids]
    assert sorted(claimed) == list(range(1, 21))


def test_an_expired_lease_is_claimed_again_and_counts_attempts(db) -> None:
    task = queue.enqueue(db, integration_id=1, flow_id=1, kind="sync")
    first = queue.claim_next(db, "dead-worker", lease_seconds=0.05)
    assert first is not None and first.id == task.id
    assert queue.claim_next(db, "other", 60) is None  # lease still valid
    time.sleep(0.1)
    again = queue.claim_next(db, "other", 60)
    assert again is not None and again.id == task.id and again.attempts == 2
    assert not queue.heartbeat(db, task.id, "dead-worker", 60)  # the old owner lost it
    assert queue.heartbeat(db, task.id, "other", 60, processed=5)


def test_release_hands_the_task_back_with_its_progress(db) -> None:
    task = queue.enqueue(db, integration_id=1, flow_id=1, kind="sync")
    queue.claim_next(db, "w", 60)
    queue.release(db, task.id, "w", processed=7)
    again = queue.claim_next(db, "w2", 60)
    assert again is not None and again.processed == 7 and again.status == TaskStatus.RUNNING
    done = queue.finish(db, task.id, TaskStatus.COMPLETED, "ok", synced=7)
    assert done.finished_at is not None and done.synced == 7 and not queue.has_work(db)


def test_claiming_one_task_by_id_leaves_the_others_untouched(db) -> None:
    older = queue.enqueue(db, integration_id=1, flow_id=1, kind="sync")
    mine = queue.enqueue(db, integration_id=1, flow_id=1, kind="export_one", params={"ref": "#1"})
    claimed = queue.claim(db, mine.id, "cli", 60)
    assert claimed is not None and claimed.id == mine.id and claimed.started_at is not None
    assert queue.claim(db, mine.id, "other", 60) is None  # held
    again = queue.claim_next(db, "w", 60)
    assert again is not None and again.id == older.id and again.attempts == 1  # never bounced around
