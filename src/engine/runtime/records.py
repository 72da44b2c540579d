"""What a flow writes while it runs: entities (with leases and store intents), their timeline,
references and log lines.

Writes are collected in a `Writes` batch and committed together by `Recorder.flush`, with Core
statements rather than ORM sessions: a record costs a handful of short transactions, and the ones
that must land before a target write (the store intent) are flushed before it. A crash loses at
most the record in hand, and the intent tells the next attempt to look before it creates.

Every statement is built once per dialect (`_Statements`) and executed with a parameter dict, so
SQLAlchemy compiles it once and afterwards only binds values: building a fresh `insert(...).values()`
per call cost more CPU than the database work itself. Several updates of one entity in a batch are
merged into one UPDATE, and rows of one kind that follow each other go in one executemany.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import queue
import threading
import time
import weakref
from collections.abc import Callable
from datetime import datetime, timedelta
from types import SimpleNamespace
from typing import Any

from sqlalchemy import Connection, bindparam, func, insert, or_, select, update
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

ENTITY_KEY = ["flow_id", "entity_type", "source_id"]
REFERENCE_KEY = ["integration_id", "entity_type", "source_id"]


def dumps(value: Any) -> str:
    return json.dumps(redact(value), default=str, ensure_ascii=False)


def parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _upsert(db: Engine, table: Any) -> Any:
    """INSERT … ON CONFLICT for the database in use (both SQLite and PostgreSQL have it)."""
    return (postgresql if db.dialect.name == "postgresql" else sqlite).insert(table)


class _Statements:
    """The recorder's statements for one dialect, built once. Parameter names that are not columns
    end in `_` so they never collide with the SET/VALUES keys taken from the parameter dict."""

    def __init__(self, db: Engine) -> None:
        # UPDATE entity SET <the dict's column keys> WHERE id = :entity_id_
        self.entity_update = update(ENTITY).where(ENTITY.c.id == bindparam("entity_id_"))
        self.release = (
            update(ENTITY)
            .where(ENTITY.c.id == bindparam("entity_id_"), ENTITY.c.lease_owner == bindparam("owner_"))
            .values(lease_owner=None, lease_until=None)
        )
        self.renew = (
            update(ENTITY)
            .where(
                ENTITY.c.id.in_(bindparam("ids_", expanding=True)),
                ENTITY.c.lease_owner == bindparam("owner_"),
            )
            .values(lease_until=bindparam("until_"))
        )
        self.transaction = insert(TRANSACTION)
        self.log = insert(LOG)
        ref = _upsert(db, REFERENCE)
        self.reference = ref.on_conflict_do_update(
            index_elements=REFERENCE_KEY,
            set_={
                "target_id": ref.excluded.target_id,
                "updated_at": ref.excluded.updated_at,
                "origin": ref.excluded.origin,
                # No new label keeps the old one.
                "source_label": func.coalesce(ref.excluded.source_label, REFERENCE.c.source_label),
            },
        )
        self.reference_get = select(REFERENCE).where(
            REFERENCE.c.integration_id == bindparam("integration_id_"),
            REFERENCE.c.entity_type == bindparam("entity_type_"),
            REFERENCE.c.source_id == bindparam("source_id_"),
        )
        # One statement claims: insert the row leased to us, or take the lease of an existing row when
        # it is free, ours, or expired (`excluded.last_updated` is the claim's `now`). A row comes
        # back only when we hold the lease.
        claim = _upsert(db, ENTITY)
        self.claim = claim.on_conflict_do_update(
            index_elements=ENTITY_KEY,
            set_={"lease_owner": claim.excluded.lease_owner, "lease_until": claim.excluded.lease_until},
            where=or_(
                ENTITY.c.lease_owner.is_(None),
                ENTITY.c.lease_owner == claim.excluded.lease_owner,
                ENTITY.c.lease_until < claim.excluded.last_updated,
            ),
        ).returning(*ENTITY.c)
        self._db = weakref.ref(db)
        self._side: dict[tuple[str, ...], Any] = {}

    def side_record(self, keys: tuple[str, ...]) -> Any:
        """Upsert of a side record setting `keys` on conflict, returning its id."""
        stmt = self._side.get(keys)
        if stmt is None:
            db = self._db()
            assert db is not None
            ins = _upsert(db, ENTITY)
            stmt = ins.on_conflict_do_update(
                index_elements=ENTITY_KEY, set_={k: ins.excluded[k] for k in keys}
            ).returning(ENTITY.c.id)
            self._side[keys] = stmt
        return stmt


_STATEMENTS: weakref.WeakKeyDictionary[Engine, _Statements] = weakref.WeakKeyDictionary()


def statements(db: Engine) -> _Statements:
    found = _STATEMENTS.get(db)
    if found is None:
        found = _STATEMENTS[db] = _Statements(db)
    return found


Op = tuple[Any, dict[str, Any]] | Callable[[Connection], None]


class Writes:
    """Statements to commit together; attribute changes apply to the in-memory entity at once."""

    def __init__(self, recorder: Recorder) -> None:
        self.rec = recorder
        self.ops: list[Op] = []
        # entity id → the parameter dict of this batch's UPDATE of it, so later changes merge into it
        self._entity_params: dict[Any, dict[str, Any]] = {}

    def entity(self, entity: Any, **changes: Any) -> Writes:
        changes.setdefault("last_updated", utcnow())
        for k, v in changes.items():
            setattr(entity, k, v)
        params = self._entity_params.get(entity.id)
        if params is not None:
            # One UPDATE per entity and batch: nothing else in a batch reads these columns.
            params.update(changes)
        else:
            params = self._entity_params[entity.id] = {"entity_id_": entity.id, **changes}
            self.ops.append((self.rec.sql.entity_update, params))
        return self

    def transaction(self, entity: Any, action: str, status: str, message: str = "") -> Writes:
        row = {
            "entity_id": entity.id,
            "task_id": self.rec.task_id,
            "at": utcnow(),
            "action": action,
            "status": status,
            "message": message,
        }
        self.ops.append((self.rec.sql.transaction, row))
        return self

    def reference(
        self, entity_type: str, source_id: str, target_id: str, label: str | None = None, origin: str = "sync"
    ) -> Writes:
        now = utcnow()
        row = {
            "integration_id": self.rec.integration_id,
            "entity_type": entity_type,
            "source_id": source_id,
            "source_label": label,
            "target_id": target_id,
            "origin": origin,
            "created_at": now,
            "updated_at": now,
        }
        self.ops.append((self.rec.sql.reference, row))
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
        stmt = rec.sql.side_record(tuple(values))
        row = {
            "integration_id": rec.integration_id,
            "flow_id": rec.flow_id,
            "entity_type": entity_type,
            "source_id": source_id,
            "retriever_reference": retriever_reference,
            "children": 0,
            **values,
        }
        timeline = {
            "task_id": rec.task_id,
            "at": now,
            "action": action,
            "status": "synced",
            "message": message,
        }

        def op(c: Connection) -> None:
            entity_id = c.execute(stmt, row).scalar_one()
            c.execute(rec.sql.transaction, {"entity_id": entity_id, **timeline})

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
        self.ops.append((self.rec.sql.log, row))
        return self

    def release(self, entity: Any) -> Writes:
        self.ops.append((self.rec.sql.release, {"entity_id_": entity.id, "owner_": self.rec.worker_id}))
        return self

    def execute(self, conn: Connection) -> None:
        """Run the batch on `conn` (inside the caller's transaction), in order; consecutive rows for
        the same statement with the same keys go as one executemany."""
        ops, i, n = self.ops, 0, len(self.ops)
        while i < n:
            op = ops[i]
            if callable(op):
                op(conn)
                i += 1
                continue
            stmt, params = op
            j = i + 1
            while j < n and not callable(ops[j]) and ops[j][0] is stmt and ops[j][1].keys() == params.keys():  # type: ignore[index,union-attr]
                j += 1
            if j == i + 1:
                conn.execute(stmt, params)
            else:
                conn.execute(stmt, [ops[k][1] for k in range(i, j)])  # type: ignore[index]
            i = j

    def clear(self) -> None:
        self.ops.clear()
        self._entity_params.clear()


class EntityRow(SimpleNamespace):
    """An entity row's columns as plain attributes: what a flow reads and changes (through `Writes`)
    while it holds the lease. Building the SQLModel object cost more than the claim's SQL."""


Job = Callable[[Connection], Any]


class _Writer:
    """One thread that runs a recorder's database jobs in the order they were submitted.

    Jobs that queue up while a transaction runs are committed together in the next one (group
    commit): fewer commits, and one wake-up of the event loop per transaction. Each job's future is
    resolved only after the commit, so a store intent is durable when its `aflush` returns. If a
    group fails, its jobs are run again one transaction each, so only the failing job sees the error
    (jobs only execute statements, so running one again after a rollback is safe).
    """

    MAX_GROUP = 64

    def __init__(self, db: Engine) -> None:
        self.db = db
        self._jobs: queue.SimpleQueue[tuple[Job, asyncio.Future[Any]] | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="junipeer-records", daemon=True)
        self._thread.start()

    def submit(self, job: Job) -> asyncio.Future[Any]:
        future = asyncio.get_running_loop().create_future()
        self._jobs.put((job, future))
        return future

    def close(self) -> None:
        self._jobs.put(None)

    def _run(self) -> None:
        conn: Connection | None = None
        try:
            while (first := self._jobs.get()) is not None:
                group = [first]
                stop = False
                while len(group) < self.MAX_GROUP:
                    try:
                        more = self._jobs.get_nowait()
                    except queue.Empty:
                        break
                    if more is None:
                        stop = True
                        break
                    group.append(more)
                try:
                    if conn is None:
                        conn = self.db.connect()
                    conn, outcomes = self._run_group(conn, group)
                except Exception as exc:  # no connection to be had: every job fails, none hangs
                    if conn is not None:
                        with contextlib.suppress(Exception):
                            conn.close()
                    conn, outcomes = None, [(False, exc)] * len(group)
                self._publish(group, outcomes)
                if stop:
                    break
        finally:
            if conn is not None:
                with contextlib.suppress(Exception):
                    conn.close()

    def _run_group(
        self, conn: Connection, group: list[tuple[Job, asyncio.Future[Any]]]
    ) -> tuple[Connection, list[tuple[bool, Any]]]:
        try:
            with conn.begin():
                results = [job(conn) for job, _ in group]
            return conn, [(True, r) for r in results]
        except Exception as exc:
            conn = self._fresh(conn)
            if len(group) == 1:
                return conn, [(False, exc)]
        outcomes: list[tuple[bool, Any]] = []
        for job, _ in group:
            try:
                with conn.begin():
                    outcomes.append((True, job(conn)))
            except Exception as exc:
                outcomes.append((False, exc))
                conn = self._fresh(conn)
        return conn, outcomes

    def _fresh(self, conn: Connection) -> Connection:
        """A new connection after a failure, in case the old one is what failed."""
        with contextlib.suppress(Exception):
            conn.close()
        return self.db.connect()

    @staticmethod
    def _publish(group: list[tuple[Job, asyncio.Future[Any]]], outcomes: list[tuple[bool, Any]]) -> None:
        by_loop: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future[Any], bool, Any]]] = {}
        for (_, future), (ok, value) in zip(group, outcomes, strict=True):
            by_loop.setdefault(future.get_loop(), []).append((future, ok, value))
        for loop, items in by_loop.items():
            with contextlib.suppress(RuntimeError):  # the loop is closed: nobody waits any more
                loop.call_soon_threadsafe(_resolve, items)


def _resolve(items: list[tuple[asyncio.Future[Any], bool, Any]]) -> None:
    for future, ok, value in items:
        if future.cancelled():
            continue
        if ok:
            future.set_result(value)
        else:
            future.set_exception(value)


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
        self.sql = statements(db)
        self._writer: _Writer | None = None

    def writes(self) -> Writes:
        return Writes(self)

    def flush(self, writes: Writes) -> None:
        if not writes.ops:
            return
        with self.db.begin() as conn:
            writes.execute(conn)
        writes.clear()

    # -- off the event loop --------------------------------------------------------------------
    # The async variants run the same statements on the recorder's writer thread, in the order they
    # were asked for, and return once committed. Meanwhile the event loop reads responses and sends
    # requests (sqlite3 and psycopg release the GIL while the database works), so a commit no longer
    # holds up every other record's HTTP traffic, or the moment a rate-limit slot can be released.
    async def _off_loop(self, job: Job) -> Any:
        if self._writer is None:
            self._writer = _Writer(self.db)
        return await self._writer.submit(job)

    def close(self) -> None:
        """End the writer thread once it has done what was submitted (a later call starts a new one)."""
        if self._writer is not None:
            self._writer.close()
            self._writer = None

    async def aflush(self, writes: Writes) -> None:
        if writes.ops:
            await self._off_loop(writes.execute)
            writes.clear()

    async def alog(
        self, level: str, message: str, *, code: str | None = None, reference: str | None = None
    ) -> None:
        await self.aflush(self.writes().log(level, message, code=code, reference=reference))

    async def ainfo(self, message: str, **kw: Any) -> None:
        await self.alog(LogLevel.INFO, message, **kw)

    async def areference(self, entity_type: str, source_id: str) -> Any:
        return await self._off_loop(lambda c: self._reference(c, entity_type, source_id))

    async def arenew_leases(self, entity_ids: list[int]) -> None:
        if entity_ids:
            await self._off_loop(lambda c: self._renew(c, entity_ids))

    # -- logs ---------------------------------------------------------------------------------
    def log(self, level: str, message: str, *, code: str | None = None, reference: str | None = None) -> None:
        self.flush(self.writes().log(level, message, code=code, reference=reference))

    def info(self, message: str, **kw: Any) -> None:
        self.log(LogLevel.INFO, message, **kw)

    def error(self, message: str, **kw: Any) -> None:
        self.log(LogLevel.ERROR, message, **kw)

    # -- entities -----------------------------------------------------------------------------
    def _claim(
        self, conn: Connection, entity_type: str, source_id: str, retriever_reference: str
    ) -> EntityRow | None:
        now = utcnow()
        params = {
            "integration_id": self.integration_id,
            "flow_id": self.flow_id,
            "entity_type": entity_type,
            "source_id": source_id,
            "retriever_reference": retriever_reference,
            "status": EntityStatus.PENDING,
            "children": 0,
            "last_updated": now,
            "lease_owner": self.worker_id,
            "lease_until": now + timedelta(seconds=self.lease_seconds),
        }
        row = conn.execute(self.sql.claim, params).mappings().first()
        return None if row is None else EntityRow(**row)

    async def claim_entity_waiting(
        self, entity_type: str, source_id: str, retriever_reference: str
    ) -> EntityRow | None:
        """Claim, waiting out another worker's lease: a crashed worker's lease runs out, a live one
        finishes the record (and keeps renewing its lease). Skipping instead would let a window be
        marked loaded with this record left pending."""
        deadline = time.monotonic() + self.lease_seconds * 1.5 + 1

        def claim(conn: Connection) -> EntityRow | None:
            return self._claim(conn, entity_type, source_id, retriever_reference)

        while (entity := await self._off_loop(claim)) is None:
            if time.monotonic() > deadline:
                return None
            await asyncio.sleep(min(0.25, self.lease_seconds / 4))
        return entity  # type: ignore[no-any-return]

    def _renew(self, conn: Connection, entity_ids: list[int]) -> None:
        until = utcnow() + timedelta(seconds=self.lease_seconds)
        conn.execute(self.sql.renew, {"ids_": entity_ids, "owner_": self.worker_id, "until_": until})

    def mark_error(self, entity: Any, code: str, message: str, reference: str, **changes: Any) -> None:
        self.flush(
            self.writes()
            .entity(entity, status=EntityStatus.ERROR, error_code=code, error_message=message, **changes)
            .transaction(entity, "error", EntityStatus.ERROR, f"{code}: {message}")
            .log(LogLevel.ERROR, message, code=code, reference=reference)
        )

    # -- references ---------------------------------------------------------------------------
    def _reference(self, conn: Connection, entity_type: str, source_id: str) -> Any:
        params = {
            "integration_id_": self.integration_id,
            "entity_type_": entity_type,
            "source_id_": source_id,
        }
        return conn.execute(self.sql.reference_get, params).first()
