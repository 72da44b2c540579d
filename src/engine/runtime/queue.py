"""The task queue: enqueue, claim with a lease, heartbeat, finish.

Claiming is a compare-and-set UPDATE, so any number of workers (processes or machines sharing a
PostgreSQL database) can poll the same table; on PostgreSQL the candidate scan also skips rows other
workers hold locked. A task whose worker died is claimed again once its lease runs out.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, update
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from engine.store.models import Entity, EntityStatus, Task, TaskStatus, TaskTrigger, utcnow


def enqueue(
    db: Engine,
    *,
    integration_id: int,
    flow_id: int,
    kind: str,
    trigger: str = TaskTrigger.MANUAL,
    params: dict[str, Any] | None = None,
    retry_of: int | None = None,
) -> Task:
    with Session(db, expire_on_commit=False) as s:
        task = Task(
            integration_id=integration_id,
            flow_id=flow_id,
            kind=kind,
            trigger=trigger,
            params=params or {},
            retry_of=retry_of,
        )
        s.add(task)
        s.commit()
        return task


def _claimable(now: Any) -> Any:
    return or_(
        and_(Task.status == TaskStatus.PENDING, or_(Task.not_before.is_(None), Task.not_before <= now)),
        and_(Task.status == TaskStatus.RUNNING, Task.lease_until < now),
    )


def claim(db: Engine, task_id: int, worker_id: str, lease_seconds: float) -> Task | None:
    """Take this task if it is claimable (pending, or running on an expired lease); None if not."""
    now = utcnow()
    with Session(db, expire_on_commit=False) as s:
        won = s.execute(
            update(Task)
            .where(Task.id == task_id, _claimable(now))
            .values(
                status=TaskStatus.RUNNING,
                lease_owner=worker_id,
                lease_until=now + timedelta(seconds=lease_seconds),
                attempts=Task.attempts + 1,
                started_at=func.coalesce(Task.started_at, now),
            )
        ).rowcount
        s.commit()
        return s.get(Task, task_id) if won else None


def claim_next(
    db: Engine, worker_id: str, lease_seconds: float, exclude: set[int] | None = None
) -> Task | None:
    now = utcnow()
    with Session(db) as s:
        query = select(Task.id).where(_claimable(now)).order_by(Task.id).limit(8)
        if exclude:
            query = query.where(Task.id.not_in(exclude))
        if db.dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        candidates = list(s.exec(query).all())
        s.commit()
    for task_id in candidates:
        task = claim(db, task_id, worker_id, lease_seconds)  # another worker may win it first
        if task is not None:
            return task
    return None


def heartbeat(db: Engine, task_id: int, worker_id: str, lease_seconds: float, **counters: int) -> bool:
    """Extend the lease and store progress; False when the task is no longer ours."""
    with Session(db) as s:
        won = s.execute(
            update(Task)
            .where(Task.id == task_id, Task.lease_owner == worker_id, Task.status == TaskStatus.RUNNING)
            .values(lease_until=utcnow() + timedelta(seconds=lease_seconds), **counters)
        ).rowcount
        s.commit()
        return bool(won)


def params_of(db: Engine, task_id: int) -> dict[str, Any]:
    """A task's params as stored now (a runner may have checkpointed them since it claimed it)."""
    with Session(db) as s:
        task = s.get(Task, task_id)
        return dict(task.params or {}) if task is not None else {}


def save_params(db: Engine, task_id: int, params: dict[str, Any]) -> None:
    with Session(db) as s:
        s.execute(update(Task).where(Task.id == task_id).values(params=params))
        s.commit()


def finish(db: Engine, task_id: int, status: str, message: str | None = None, **counters: int) -> Task:
    with Session(db, expire_on_commit=False) as s:
        task = s.get(Task, task_id)
        assert task is not None
        task.status = status
        task.message = message
        task.finished_at = utcnow()
        task.lease_owner = None
        task.lease_until = None
        task.not_before = None
        for k, v in counters.items():
            setattr(task, k, v)
        s.add(task)
        s.commit()
        return task


def release(db: Engine, task_id: int, worker_id: str, **counters: int) -> None:
    """Hand an unfinished task back (graceful shutdown): the next worker resumes it."""
    with Session(db) as s:
        s.execute(
            update(Task)
            .where(Task.id == task_id, Task.lease_owner == worker_id)
            .values(status=TaskStatus.PENDING, lease_owner=None, lease_until=None, **counters)
        )
        s.commit()


def pause(
    db: Engine,
    task_id: int,
    worker_id: str,
    not_before: datetime,
    message: str,
    params: dict[str, Any],
    **counters: int,
) -> None:
    """Hand a task back that can't go on now (its platform is down): no worker claims it before
    `not_before`, and it resumes from the place its params and Time History record."""
    with Session(db) as s:
        s.execute(
            update(Task)
            .where(Task.id == task_id, Task.lease_owner == worker_id)
            .values(
                status=TaskStatus.PENDING,
                lease_owner=None,
                lease_until=None,
                not_before=not_before,
                message=message,
                params=params,
                **counters,
            )
        )
        s.commit()


def enqueue_due_retries(db: Engine) -> list[Task]:
    """A retry task per flow for the records whose automatic retry is due. Taking a record clears
    its `retry_at` in the same transaction, so among several workers only one enqueues it."""
    now = utcnow()
    with Session(db, expire_on_commit=False) as s:
        due = Entity.retry_at.is_not(None), Entity.retry_at <= now
        # A read first: on SQLite even an UPDATE that matches nothing takes the write lock.
        if s.exec(select(Entity.id).where(*due).limit(1)).first() is None:
            return []
        taken = s.execute(
            update(Entity)
            .where(*due, Entity.status == EntityStatus.ERROR)
            .values(retry_at=None)
            .returning(Entity.id, Entity.flow_id, Entity.integration_id)
        ).all()
        by_flow: dict[tuple[int, int], list[int]] = {}
        for entity_id, flow_id, integration_id in taken:
            by_flow.setdefault((integration_id, flow_id), []).append(entity_id)
        tasks = [
            Task(
                integration_id=integration_id,
                flow_id=flow_id,
                kind="retry",
                trigger=TaskTrigger.RETRY,
                params={"entity_ids": sorted(ids), "automatic": True},
            )
            for (integration_id, flow_id), ids in sorted(by_flow.items())
        ]
        s.add_all(tasks)
        s.commit()
        return tasks


def has_work(db: Engine) -> bool:
    """Whether anything is left to do without a person: a task waiting or running (a paused one
    included), or a record whose automatic retry is still to come."""
    with Session(db) as s:
        active = select(Task.id).where(Task.status.in_([TaskStatus.PENDING, TaskStatus.RUNNING])).limit(1)
        retries = select(Entity.id).where(Entity.retry_at.is_not(None)).limit(1)
        return s.exec(active).first() is not None or s.exec(retries).first() is not None
