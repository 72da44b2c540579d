"""What a flow writes while it runs: entities (with leases and store intents), their timeline,
references and log lines.

Writes are collected in a `Writes` batch and committed together by `Recorder.flush`, with Core
statements rather than ORM sessions: a record costs a handful of short transactions, and the ones
that must land before a target write (the store intent) are flushed before it. A crash loses at
most the record in hand, and the intent tells the next attempt to look before it creates.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, insert, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine

from engine.secrets import redact
from engine.store.models import (
    Entity,
    EntityStatus,
    EntityTransaction,
    LogEntry,
    LogLevel,
    Reference,
    utcnow,
)

ENTITY = Entity.__table__  # type: ignore[attr-defined]
REFERENCE = Reference.__table__  # type: ignore[attr-defined]
TRANSACTION = EntityTransaction.__table__  # type: ignore[attr-defined]
LOG = LogEntry.__table__  # type: ignore[attr-defined]


def dumps(value: Any) -> str:
    return json.dumps(redact(value), default=str, ensure_ascii=False)


def parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _upsert(db: Engine, table: Any) -> Any:
    """INSERT … ON CONFLICT for the database in use (both SQLite and PostgreSQL have it)."""
    return (postgresql if db.dialect.name == "postgresql" else sqlite).insert(table)


class Writes:
    """Statements to commit together; attribute changes apply to the in-memory entity at once."""

    def __init__(self, recorder: Recorder) -> None:
        self.rec = recorder
        self.ops: list[Callable[[Connection], None]] = []

    def entity(self, entity: Entity, **changes: Any) -> Writes:
        changes.setdefault("last_updated", utcnow())
        for k, v in changes.items():
            setattr(entity, k, v)
        self.ops.append(lambda c: c.execute(update(ENTITY).where(ENTITY.c.id == entity.id).values(**changes)))
        return self

    def transaction(self, entity: Entity, action: str, status: str, message: str = "") -> Writes:
        row = {
            "entity_id": entity.id,
            "task_id": self.rec.task_id,
            "at": utcnow(),
            "action": action,
            "status": status,
            "message": message,
        }
        self.ops.append(lambda c: c.execute(insert(TRANSACTION).values(**row)))
        return self

    def reference(
        self, entity_type: str, source_id: str, target_id: str, label: str | None = None, origin: str = "sync"
    ) -> Writes:
        now = utcnow()
        stmt = _upsert(self.rec.db, REFERENCE).values(
            integration_id=self.rec.integration_id,
            entity_type=entity_type,
            source_id=source_id,
            source_label=label,
            target_id=target_id,
            origin=origin,
            created_at=now,
            updated_at=now,
        )
        stmt = stmt.on_conflict_do_update(
            index_elements=["integration_id", "entity_type", "source_id"],
            set_={
                "target_id": target_id,
                "updated_at": now,
                "origin": origin,
                "source_label": label if label is not None else REFERENCE.c.source_label,
            },
        )
        self.ops.append(lambda c: c.execute(stmt))
        return self

    def synced_side_record(
        self,
        entity_type: str,
        source_id: str,
        retriever_reference: str,
        storer_reference: str,
        action: str,
        message: str,
        **raw: Any,
    ) -> Writes:
        """Upsert a record a flow stores on the side (an order's customer) as synced, with a timeline row."""
        rec, now = self.rec, utcnow()
        values = {
            "status": EntityStatus.SYNCED,
            "storer_reference": storer_reference,
            "last_updated": now,
            "error_code": None,
            "error_message": None,
            **raw,
        }
        stmt = (
            _upsert(rec.db, ENTITY)
            .values(
                integration_id=rec.integration_id,
                flow_id=rec.flow_id,
                entity_type=entity_type,
                source_id=source_id,
                retriever_reference=retriever_reference,
                children=0,
                **values,
            )
            .on_conflict_do_update(index_elements=["flow_id", "entity_type", "source_id"], set_=values)
            .returning(ENTITY.c.id)
        )

        def op(c: Connection) -> None:
            entity_id = c.execute(stmt).scalar_one()
            c.execute(
                insert(TRANSACTION).values(
                    entity_id=entity_id,
                    task_id=rec.task_id,
                    at=now,
                    action=action,
                    status="synced",
                    message=message,
                )
            )

        self.ops.append(op)
        return self

    def log(
        self, level: str, message: str, *, code: str | None = None, reference: str | None = None
    ) -> Writes:
        row = {
            "integration_id": self.rec.integration_id,
            "at": utcnow(),
            "level": level,
            "code": code,
            "message": message,
            "flow_id": self.rec.flow_id,
            "task_id": self.rec.task_id,
            "reference": reference,
        }
        self.ops.append(lambda c: c.execute(insert(LOG).values(**row)))
        return self

    def release(self, entity: Entity) -> Writes:
        owner = self.rec.worker_id
        self.ops.append(
            lambda c: c.execute(
                update(ENTITY)
                .where(ENTITY.c.id == entity.id, ENTITY.c.lease_owner == owner)
                .values(lease_owner=None, lease_until=None)
            )
        )
        return self


class Recorder:
    def __init__(
        self,
        db: Engine,
        integration_id: int,
        flow_id: int | None,
        task_id: int | None = None,
        worker_id: str = "inline",
        lease_seconds: float = 60.0,
    ) -> None:
        self.db = db
        self.integration_id = integration_id
        self.flow_id = flow_id
        self.task_id = task_id
        self.worker_id = worker_id
        self.lease_seconds = lease_seconds

    def writes(self) -> Writes:
        return Writes(self)

    def flush(self, writes: Writes) -> None:
        if not writes.ops:
            return
        with self.db.begin() as conn:
            for op in writes.ops:
                op(conn)
        writes.ops.clear()

    # -- logs ---------------------------------------------------------------------------------
    def log(self, level: str, message: str, *, code: str | None = None, reference: str | None = None) -> None:
        self.flush(self.writes().log(level, message, code=code, reference=reference))

    def info(self, message: str, **kw: Any) -> None:
        self.log(LogLevel.INFO, message, **kw)

    def warning(self, message: str, **kw: Any) -> None:
        self.log(LogLevel.WARNING, message, **kw)

    def error(self, message: str, **kw: Any) -> None:
        self.log(LogLevel.ERROR, message, **kw)

    # -- entities -----------------------------------------------------------------------------
    def claim_entity(self, entity_type: str, source_id: str, retriever_reference: str) -> Entity | None:
        """The entity row, leased to this worker; None when another worker holds it. One transaction:
        insert-if-missing, take the lease if free, read the row back."""
        now = utcnow()
        until = now + timedelta(seconds=self.lease_seconds)
        key = (
            ENTITY.c.flow_id == self.flow_id,
            ENTITY.c.entity_type == entity_type,
            ENTITY.c.source_id == source_id,
        )
        with self.db.begin() as conn:
            conn.execute(
                _upsert(self.db, ENTITY)
                .values(
                    integration_id=self.integration_id,
                    flow_id=self.flow_id,
                    entity_type=entity_type,
                    source_id=source_id,
                    retriever_reference=retriever_reference,
                    status=EntityStatus.PENDING,
                    children=0,
                    last_updated=now,
                )
                .on_conflict_do_nothing(index_elements=["flow_id", "entity_type", "source_id"])
            )
            won = conn.execute(
                update(ENTITY)
                .where(
                    *key,
                    or_(
                        ENTITY.c.lease_owner.is_(None),
                        ENTITY.c.lease_owner == self.worker_id,
                        ENTITY.c.lease_until < now,
                    ),
                )
                .values(lease_owner=self.worker_id, lease_until=until)
            ).rowcount
            if not won:
                return None
            row = conn.execute(select(ENTITY).where(*key)).mappings().one()
        return Entity.model_validate(dict(row))

    async def claim_entity_waiting(
        self, entity_type: str, source_id: str, retriever_reference: str
    ) -> Entity | None:
        """Claim, waiting out another worker's lease: a crashed worker's lease runs out, a live one
        finishes the record (and keeps renewing its lease). Skipping instead would let a window be
        marked loaded with this record left pending."""
        deadline = time.monotonic() + self.lease_seconds * 1.5 + 1
        while (entity := self.claim_entity(entity_type, source_id, retriever_reference)) is None:
            if time.monotonic() > deadline:
                return None
            await asyncio.sleep(min(0.25, self.lease_seconds / 4))
        return entity

    def update_entity(self, entity: Entity, **changes: Any) -> Entity:
        self.flush(self.writes().entity(entity, **changes))
        return entity

    def renew_leases(self, entity_ids: list[int]) -> None:
        if not entity_ids:
            return
        with self.db.begin() as conn:
            conn.execute(
                update(ENTITY)
                .where(ENTITY.c.id.in_(entity_ids), ENTITY.c.lease_owner == self.worker_id)
                .values(lease_until=utcnow() + timedelta(seconds=self.lease_seconds))
            )

    def mark_error(self, entity: Entity, code: str, message: str, reference: str, **changes: Any) -> None:
        self.flush(
            self.writes()
            .entity(entity, status=EntityStatus.ERROR, error_code=code, error_message=message, **changes)
            .transaction(entity, "error", EntityStatus.ERROR, f"{code}: {message}")
            .log(LogLevel.ERROR, message, code=code, reference=reference)
        )

    # -- references ---------------------------------------------------------------------------
    def reference(self, entity_type: str, source_id: str) -> Reference | None:
        with self.db.connect() as conn:
            row = (
                conn.execute(
                    select(REFERENCE).where(
                        REFERENCE.c.integration_id == self.integration_id,
                        REFERENCE.c.entity_type == entity_type,
                        REFERENCE.c.source_id == source_id,
                    )
                )
                .mappings()
                .first()
            )
        return Reference.model_validate(dict(row)) if row else None
