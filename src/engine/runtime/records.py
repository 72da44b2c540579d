"""What a flow writes while it runs: entities (with leases and store intents), their timeline,
references and log lines. Every write is its own short transaction, so a crash loses at most the
record in hand, and the store intent tells the next attempt to look before it creates."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

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


def dumps(value: Any) -> str:
    return json.dumps(redact(value), default=str, ensure_ascii=False)


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

    def session(self) -> Session:
        return Session(self.db, expire_on_commit=False)

    # -- logs ---------------------------------------------------------------------------------
    def log(self, level: str, message: str, *, code: str | None = None, reference: str | None = None) -> None:
        with self.session() as s:
            s.add(
                LogEntry(
                    integration_id=self.integration_id,
                    level=level,
                    code=code,
                    message=message,
                    flow_id=self.flow_id,
                    task_id=self.task_id,
                    reference=reference,
                )
            )
            s.commit()

    def info(self, message: str, **kw: Any) -> None:
        self.log(LogLevel.INFO, message, **kw)

    def warning(self, message: str, **kw: Any) -> None:
        self.log(LogLevel.WARNING, message, **kw)

    def error(self, message: str, **kw: Any) -> None:
        self.log(LogLevel.ERROR, message, **kw)

    # -- entities -----------------------------------------------------------------------------
    def claim_entity(
        self, entity_type: str, source_id: str, retriever_reference: str, flow_id: int | None = None
    ) -> Entity | None:
        """The entity row, leased to this worker; None when another worker holds it."""
        flow_id = flow_id or self.flow_id
        assert flow_id is not None
        now = utcnow()
        until = now + timedelta(seconds=self.lease_seconds)
        with self.session() as s:
            entity = s.exec(
                select(Entity).where(
                    Entity.flow_id == flow_id,
                    Entity.entity_type == entity_type,
                    Entity.source_id == source_id,
                )
            ).first()
            if entity is None:
                entity = Entity(
                    integration_id=self.integration_id,
                    flow_id=flow_id,
                    entity_type=entity_type,
                    source_id=source_id,
                    retriever_reference=retriever_reference,
                    lease_owner=self.worker_id,
                    lease_until=until,
                )
                s.add(entity)
                try:
                    s.commit()
                    return entity
                except IntegrityError:  # another worker inserted it first
                    s.rollback()
                    return None
            won = s.execute(
                update(Entity)
                .where(
                    Entity.id == entity.id,
                    or_(
                        Entity.lease_owner.is_(None),
                        Entity.lease_owner == self.worker_id,
                        Entity.lease_until < now,
                    ),
                )
                .values(lease_owner=self.worker_id, lease_until=until)
            ).rowcount
            s.commit()
            if not won:
                return None
            s.refresh(entity)
            return entity

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
        changes.setdefault("last_updated", utcnow())
        with self.session() as s:
            s.execute(update(Entity).where(Entity.id == entity.id).values(**changes))
            s.commit()
        for k, v in changes.items():
            setattr(entity, k, v)
        return entity

    def release(self, entity: Entity) -> None:
        with self.session() as s:
            s.execute(
                update(Entity)
                .where(Entity.id == entity.id, Entity.lease_owner == self.worker_id)
                .values(lease_owner=None, lease_until=None)
            )
            s.commit()

    def renew_leases(self, entity_ids: list[int]) -> None:
        if not entity_ids:
            return
        with self.session() as s:
            s.execute(
                update(Entity)
                .where(Entity.id.in_(entity_ids), Entity.lease_owner == self.worker_id)
                .values(lease_until=utcnow() + timedelta(seconds=self.lease_seconds))
            )
            s.commit()

    def transaction(self, entity: Entity, action: str, status: str, message: str = "") -> None:
        with self.session() as s:
            s.add(
                EntityTransaction(
                    entity_id=entity.id, task_id=self.task_id, action=action, status=status, message=message
                )
            )
            s.commit()

    def mark_error(self, entity: Entity, code: str, message: str, reference: str) -> None:
        self.update_entity(entity, status=EntityStatus.ERROR, error_code=code, error_message=message)
        self.transaction(entity, "error", EntityStatus.ERROR, f"{code}: {message}")
        self.error(message, code=code, reference=reference)

    # -- references ---------------------------------------------------------------------------
    def reference(self, entity_type: str, source_id: str) -> Reference | None:
        with self.session() as s:
            return s.exec(
                select(Reference).where(
                    Reference.integration_id == self.integration_id,
                    Reference.entity_type == entity_type,
                    Reference.source_id == source_id,
                )
            ).first()

    def set_reference(
        self, entity_type: str, source_id: str, target_id: str, label: str | None = None, origin: str = "sync"
    ) -> None:
        with self.session() as s:
            ref = s.exec(
                select(Reference).where(
                    Reference.integration_id == self.integration_id,
                    Reference.entity_type == entity_type,
                    Reference.source_id == source_id,
                )
            ).first()
            if ref is None:
                ref = Reference(
                    integration_id=self.integration_id,
                    entity_type=entity_type,
                    source_id=source_id,
                    source_label=label,
                    target_id=target_id,
                    origin=origin,
                )
            else:
                ref.target_id = target_id
                ref.source_label = label or ref.source_label
                ref.updated_at = utcnow()
            s.add(ref)
            s.commit()


def parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00"))
