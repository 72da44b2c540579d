"""What a flow writes while it runs: entities (with leases and store intents), their timeline,
references and log lines.

Writes are collected in a `Writes` batch and committed together, in as few transactions as
exactly-once allows: the ones that must land before a target write (the store intent) are flushed
before it. A crash loses at most the record in hand, and the intent tells the next attempt to look
before it creates.

The statements go straight to the database driver (DBAPI), as SQL written here once per dialect and
key set: through SQLAlchemy Core, inserting a log row cost ~20 µs of CPU, through the driver ~8 µs
with SQLite's own work included, and an order takes about fifteen statements. The SQL (`INSERT …
ON CONFLICT … RETURNING`) is the same on SQLite and PostgreSQL; only the placeholder style differs,
and on SQLite datetimes are bound as SQLAlchemy's `UTCDateTime` stores them, so every other reader
of these tables sees the same values as before.

Where they run depends on the database. SQLite works on a local file, so a job runs inline on the
event loop: handing jobs to a thread cost more CPU (GIL hand-offs, wake-ups) than the statements
themselves, and in the backfill benchmark CPU is the limit. Copying the write-ahead log back into
the database file is left to a `WalCheckpointer` thread. PostgreSQL makes every statement wait for
a round trip to the server, so there a writer thread runs them while the loop goes on sending
requests. Either way a flush returns only after its commit, so a store intent is durable before the
request it announces is sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import queue
import re
import threading
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import UTCDateTime

from engine import jsontext
from engine.secrets import redacted_json
from engine.store.db import WalCheckpointer
from engine.store.models import (
    Entity,
    EntityStatus,
    EntityTransaction,
    LogEntry,
    LogLevel,
    Reference,
    utcnow,
)

ENTITY_COLUMNS = tuple(c.name for c in Entity.__table__.c)  # type: ignore[attr-defined]
REFERENCE_COLUMNS = tuple(c.name for c in Reference.__table__.c)  # type: ignore[attr-defined]
# The UTCDateTime columns of the tables written here: bound and read back as that type does it.
_TIME_COLUMNS = frozenset(
    c.name
    for table in (Entity, Reference, EntityTransaction, LogEntry)
    for c in table.__table__.c  # type: ignore[attr-defined]
    if isinstance(c.type, UTCDateTime)
)

ENTITY_KEY = "flow_id, entity_type, source_id"
REFERENCE_KEY = "integration_id, entity_type, source_id"
TRANSACTION_KEYS = ("entity_id", "task_id", "at", "action", "status", "message")
LOG_KEYS = ("integration_id", "at", "level", "code", "message", "flow_id", "task_id", "reference")
REFERENCE_KEYS = (
    "integration_id", "entity_type", "source_id", "source_label", "target_id", "origin", "created_at",
    "updated_at",
)  # fmt: skip
CLAIM_KEYS = (
    "integration_id", "flow_id", "entity_type", "source_id", "retriever_reference", "status", "children",
    "last_updated", "lease_owner", "lease_until",
)  # fmt: skip


def dumps(value: Any) -> str:
    """A payload as stored (raw_source, raw_target): JSON with credentials redacted."""
    return redacted_json(value, jsontext.dumps)


def same_payload(stored: str, raw: str) -> bool:
    """Whether two stored payloads hold the same JSON: the text, or, when the text differs (written
    by an older version with other spacing, say), the parsed values."""
    return stored == raw or jsontext.loads(stored) == jsontext.loads(raw)


def parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


# -- values in and out --------------------------------------------------------------------------
_SQLITE_TIME = "%04d-%02d-%02d %02d:%02d:%02d.%06d"


def _utc(value: datetime) -> datetime:
    if value.tzinfo is UTC:
        return value
    if value.utcoffset() is None:  # UTCDateTime refuses these too: the instant would be a guess
        raise ValueError("datetimes stored by the engine must carry a timezone")
    return value.astimezone(UTC)


def _sqlite_time(value: datetime) -> str:
    """SQLAlchemy's SQLite storage of a UTCDateTime: UTC, no offset, always with microseconds (text
    that sorts in time order, which the lease comparison in the claim relies on)."""
    v = _utc(value)
    return _SQLITE_TIME % (v.year, v.month, v.day, v.hour, v.minute, v.second, v.microsecond)


def _sqlite_params(params: dict[str, Any]) -> dict[str, Any]:
    # Only the time columns can hold datetimes; looking at just those keeps this per-statement cost low.
    times = _TIME_COLUMNS.intersection(params)
    if not times:
        return params
    out = params.copy()
    for k in times:
        if type(v := out[k]) is datetime:
            out[k] = _sqlite_time(v)
    return out


def _postgres_params(params: dict[str, Any]) -> dict[str, Any]:
    # psycopg binds aware datetimes as timestamptz itself; only a naive one must be refused.
    for k in _TIME_COLUMNS.intersection(params):
        if type(v := params[k]) is datetime:
            _utc(v)
    return params


def _read_time(value: Any) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, str):  # SQLite
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _row(columns: tuple[str, ...], values: Iterable[Any]) -> dict[str, Any]:
    return {c: _read_time(v) if c in _TIME_COLUMNS else v for c, v in zip(columns, values, strict=True)}


# -- SQL ----------------------------------------------------------------------------------------
def _insert(table: str, keys: tuple[str, ...]) -> str:
    return f"INSERT INTO {table} ({', '.join(keys)}) VALUES ({', '.join(':' + k for k in keys)})"


class _Sql:
    """The recorder's statements as driver SQL for one dialect. They are written with `:name`
    placeholders (sqlite3's named style) and translated once for psycopg's `%(name)s`. Those whose
    shape depends on a batch's keys are built on first use and cached, so one statement's text is
    always the same object: a batch groups consecutive rows of one statement by identity."""

    def __init__(self, dialect: str) -> None:
        self.postgres = dialect == "postgresql"
        self.params = _postgres_params if self.postgres else _sqlite_params
        self._cache: dict[tuple[Any, ...], str] = {}
        self.transaction = self._text(_insert("entity_transaction", TRANSACTION_KEYS))
        self.log = self._text(_insert("log_entry", LOG_KEYS))
        self.reference = self._text(
            _insert("reference", REFERENCE_KEYS) + f" ON CONFLICT ({REFERENCE_KEY}) DO UPDATE SET"
            " target_id = excluded.target_id, updated_at = excluded.updated_at, origin = excluded.origin,"
            # No new label keeps the old one.
            " source_label = coalesce(excluded.source_label, reference.source_label)"
        )
        self.reference_get = self._text(
            f"SELECT {', '.join(REFERENCE_COLUMNS)} FROM reference"
            " WHERE integration_id = :integration_id_ AND entity_type = :entity_type_"
            " AND source_id = :source_id_"
        )
        # One statement claims: insert the row leased to us, or take the lease of an existing row when
        # it is free or expired (`excluded.last_updated` is the claim's `now`). A row comes back only
        # when we hold the lease. Every claim has an owner of its own (see `Recorder._claim`), so no
        # held lease is ever taken again, not even by another task or consumer of the same worker.
        self.claim = self._text(
            _insert("entity", CLAIM_KEYS) + f" ON CONFLICT ({ENTITY_KEY}) DO UPDATE SET"
            " lease_owner = excluded.lease_owner, lease_until = excluded.lease_until"
            " WHERE entity.lease_owner IS NULL OR entity.lease_until < excluded.last_updated"
            f" RETURNING {', '.join(ENTITY_COLUMNS)}"
        )
        self.release = self._text(
            "UPDATE entity SET lease_owner = NULL, lease_until = NULL"
            " WHERE id = :entity_id_ AND lease_owner = :owner_"
        )
        self.renew = self._text(
            "UPDATE entity SET lease_until = :lease_until WHERE id = :entity_id_ AND lease_owner = :owner_"
        )
        # The store intent is written only while the lease is still ours: a worker that stalled past
        # its lease (and lost the record to another) must not go on to create it a second time.
        self.intent = self._text(
            "UPDATE entity SET store_intent = :store_intent, store_intent_at = :store_intent_at,"
            " last_updated = :store_intent_at WHERE id = :entity_id_ AND lease_owner = :owner_"
        )

    def _text(self, sql: str) -> str:
        return re.sub(r":(\w+)", r"%(\1)s", sql) if self.postgres else sql

    def entity_update(self, keys: tuple[str, ...]) -> str:
        """UPDATE entity SET <keys but entity_id_> WHERE id = :entity_id_"""
        found = self._cache.get(("update", keys))
        if found is None:
            sets = ", ".join(f"{k} = :{k}" for k in keys if k != "entity_id_")
            found = self._cache["update", keys] = self._text(
                f"UPDATE entity SET {sets} WHERE id = :entity_id_"
            )
        return found


_SQL: dict[str, _Sql] = {}


def _sql_for(db: Engine) -> _Sql:
    found = _SQL.get(db.dialect.name)
    if found is None:
        found = _SQL[db.dialect.name] = _Sql(db.dialect.name)
    return found


class _Db:
    """One driver connection out of the engine's pool, with the calls a job makes on it. Statements
    open a transaction implicitly (sqlite3 and psycopg both do); the job's runner commits it."""

    def __init__(self, engine: Engine, sql: _Sql) -> None:
        self.sql = sql
        self._params = sql.params
        self._pooled = engine.raw_connection()
        self._conn = self._pooled.driver_connection
        self._cur = self._conn.cursor()  # type: ignore[union-attr]

    def execute(self, text: str, params: dict[str, Any]) -> int:
        """Run one statement; the number of rows it changed."""
        self._cur.execute(text, self._params(params))
        return self._cur.rowcount  # type: ignore[no-any-return]

    def executemany(self, text: str, rows: list[dict[str, Any]]) -> None:
        self._cur.executemany(text, [self._params(p) for p in rows])

    def fetchone(self, text: str, params: dict[str, Any]) -> Any:
        self._cur.execute(text, self._params(params))
        rows = self._cur.fetchall()  # all of them: SQLite finishes the statement only then
        return rows[0] if rows else None

    def commit(self) -> None:
        self._conn.commit()  # type: ignore[union-attr]

    def rollback(self) -> bool:
        """Roll back after a failed job; False when the connection is unusable (and now closed)."""
        try:
            self._conn.rollback()  # type: ignore[union-attr]
            return True
        except Exception:
            self.close()
            return False

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._cur.close()
        with contextlib.suppress(Exception):
            self._pooled.close()  # back to the pool, which resets it


# -- batches ------------------------------------------------------------------------------------
Op = tuple[str, dict[str, Any]] | Callable[[_Db], None]


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

            def op(db: _Db) -> None:
                # The SET list is taken when the batch runs: later changes may have added columns.
                db.execute(db.sql.entity_update(tuple(params)), params)

            self.ops.append(op)
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
        self.ops.append((self.rec.sql.release, {"entity_id_": entity.id, "owner_": entity.lease_owner}))
        return self

    def intent(self, entity: Any, intent: str) -> Writes:
        """Announce a create (`intent`) that the next attempt must look for before creating again.
        Raises `LeaseLost` when the batch runs and the entity's lease is no longer this claim's."""
        now = utcnow()
        entity.store_intent, entity.store_intent_at, entity.last_updated = intent, now, now
        params = {"entity_id_": entity.id, "owner_": entity.lease_owner, "store_intent": intent,
                  "store_intent_at": now}  # fmt: skip

        def op(db: _Db) -> None:
            if db.execute(db.sql.intent, params) == 0:
                raise LeaseLost(f"the lease on entity {entity.id} ran out before its create was sent")

        self.ops.append(op)
        return self

    def execute(self, db: _Db) -> None:
        """Run the batch on `db` (inside the caller's transaction), in order; consecutive rows for
        the same statement go as one executemany."""
        ops, i, n = self.ops, 0, len(self.ops)
        while i < n:
            op = ops[i]
            if callable(op):
                op(db)
                i += 1
                continue
            text, params = op
            j = i + 1
            while j < n and not callable(ops[j]) and ops[j][0] is text:  # type: ignore[index]
                j += 1
            if j == i + 1:
                db.execute(text, params)
            else:
                db.executemany(text, [ops[k][1] for k in range(i, j)])  # type: ignore[index]
            i = j

    def clear(self) -> None:
        self.ops.clear()
        self._entity_params.clear()


class LeaseLost(Exception):
    """The lease on a record ran out and another attempt may hold it now: this one must stop
    before it writes to the target."""


class EntityRow(SimpleNamespace):
    """An entity row's columns as plain attributes: what a flow reads and changes (through `Writes`)
    while it holds the lease. Building the SQLModel object cost more than the claim's SQL."""


class ReferenceRow(SimpleNamespace):
    """A reference row's columns as plain attributes."""


Job = Callable[[_Db], Any]


# -- the writer thread (PostgreSQL) -------------------------------------------------------------
class _Writer:
    """One thread that runs a recorder's database jobs in the order they were submitted.

    Jobs that queue up while a transaction runs are committed together in the next one (group
    commit): fewer round trips, and one wake-up of the event loop per transaction. Each job's future
    is resolved only after the commit, so a store intent is durable when its `aflush` returns. If a
    group fails, its jobs are run again one transaction each, so only the failing job sees the error
    (jobs only execute statements, so running one again after a rollback is safe).
    """

    MAX_GROUP = 64

    def __init__(self, engine: Engine, sql: _Sql) -> None:
        self.engine = engine
        self.sql = sql
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
        db: _Db | None = None
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
                    if db is None:
                        db = _Db(self.engine, self.sql)
                    db, outcomes = self._run_group(db, group)
                except Exception as exc:  # no connection to be had: every job fails, none hangs
                    if db is not None:
                        db.close()
                    db, outcomes = None, [(False, exc)] * len(group)
                self._publish(group, outcomes)
                if stop:
                    break
        finally:
            if db is not None:
                db.close()

    def _run_group(
        self, db: _Db, group: list[tuple[Job, asyncio.Future[Any]]]
    ) -> tuple[_Db, list[tuple[bool, Any]]]:
        try:
            results = [job(db) for job, _ in group]
            db.commit()
            return db, [(True, r) for r in results]
        except Exception as exc:
            db = self._fresh(db)
            if len(group) == 1:
                return db, [(False, exc)]
        outcomes: list[tuple[bool, Any]] = []
        for job, _ in group:
            try:
                result = job(db)
                db.commit()
                outcomes.append((True, result))
            except Exception as exc:
                outcomes.append((False, exc))
                db = self._fresh(db)
        return db, outcomes

    def _fresh(self, db: _Db) -> _Db:
        """A new connection after a failure, in case the old one is what failed."""
        db.rollback()
        db.close()
        return _Db(self.engine, self.sql)

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


# -- the recorder -------------------------------------------------------------------------------
class Recorder:
    def __init__(
        self,
        db: Engine,
        integration_id: int,
        flow_id: int | None,
        task_id: int | None = None,
        worker_id: str = "inline",
        lease_seconds: float = 60.0,
        *,
        inline: bool | None = None,
    ) -> None:
        self.db = db
        self.integration_id = integration_id
        self.flow_id = flow_id
        self.task_id = task_id
        self.worker_id = worker_id
        self.lease_seconds = lease_seconds
        self._claims = itertools.count(1)
        self.sql = _sql_for(db)
        # Run jobs on the event loop (SQLite) or on the writer thread (a database server); see the
        # module docstring.
        self.inline = db.dialect.name == "sqlite" if inline is None else inline
        self._conn: _Db | None = None  # the event loop thread's connection
        self._checkpointer: WalCheckpointer | None = None
        self._writer: _Writer | None = None

    def writes(self) -> Writes:
        return Writes(self)

    def _run_here(self, job: Job) -> Any:
        """Run a job in a transaction of its own on the calling thread; committed when it returns."""
        if self._conn is None:
            self._conn = _Db(self.db, self.sql)
            if self.inline and self._checkpointer is None and self.db.dialect.name == "sqlite":
                self._checkpointer = WalCheckpointer(self.db)
        conn = self._conn
        try:
            result = job(conn)
            conn.commit()
        except BaseException:
            if not conn.rollback():
                self._conn = None
            raise
        return result

    async def _run(self, job: Job) -> Any:
        if self.inline:
            return self._run_here(job)
        if self._writer is None:
            self._writer = _Writer(self.db, self.sql)
        return await self._writer.submit(job)

    def close(self) -> None:
        """End the writer thread once it has done what was submitted, and hand the loop's connection
        back to the pool (a later call opens new ones)."""
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        if self._checkpointer is not None:
            self._checkpointer.close()
            self._checkpointer = None

    def flush(self, writes: Writes) -> None:
        if writes.ops:
            self._run_here(writes.execute)
            writes.clear()

    async def aflush(self, writes: Writes) -> None:
        if writes.ops:
            await self._run(writes.execute)
            writes.clear()

    async def alog(
        self, level: str, message: str, *, code: str | None = None, reference: str | None = None
    ) -> None:
        await self.aflush(self.writes().log(level, message, code=code, reference=reference))

    async def ainfo(self, message: str, **kw: Any) -> None:
        await self.alog(LogLevel.INFO, message, **kw)

    async def areference(self, entity_type: str, source_id: str) -> ReferenceRow | None:
        return await self._run(lambda db: self._reference(db, entity_type, source_id))  # type: ignore[no-any-return]

    async def arenew_leases(self, leases: dict[int, str]) -> None:
        """Extend the leases this recorder's claims hold (entity id → owner)."""
        if leases:
            await self._run(lambda db: self._renew(db, leases))

    # -- logs ---------------------------------------------------------------------------------
    def log(self, level: str, message: str, *, code: str | None = None, reference: str | None = None) -> None:
        self.flush(self.writes().log(level, message, code=code, reference=reference))

    def info(self, message: str, **kw: Any) -> None:
        self.log(LogLevel.INFO, message, **kw)

    def error(self, message: str, **kw: Any) -> None:
        self.log(LogLevel.ERROR, message, **kw)

    # -- entities -----------------------------------------------------------------------------
    def _claim(self, db: _Db, entity_type: str, source_id: str, retriever_reference: str) -> EntityRow | None:
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
            # An owner per claim, not per worker: two tasks (or two consumers of one task) of the
            # same worker must exclude each other as surely as two machines do.
            "lease_owner": f"{self.worker_id}/{self.task_id}/{next(self._claims)}",
            "lease_until": now + timedelta(seconds=self.lease_seconds),
        }
        row = db.fetchone(self.sql.claim, params)
        return None if row is None else EntityRow(**_row(ENTITY_COLUMNS, row))

    async def claim_entity_waiting(
        self, entity_type: str, source_id: str, retriever_reference: str
    ) -> EntityRow | None:
        """Claim, waiting out another worker's lease: a crashed worker's lease runs out, a live one
        finishes the record (and keeps renewing its lease). Skipping instead would let a window be
        marked loaded with this record left pending."""
        deadline = time.monotonic() + self.lease_seconds * 1.5 + 1

        def claim(db: _Db) -> EntityRow | None:
            return self._claim(db, entity_type, source_id, retriever_reference)

        while (entity := await self._run(claim)) is None:
            if time.monotonic() > deadline:
                return None
            await asyncio.sleep(min(0.25, self.lease_seconds / 4))
        return entity  # type: ignore[no-any-return]

    def _renew(self, db: _Db, leases: dict[int, str]) -> None:
        until = utcnow() + timedelta(seconds=self.lease_seconds)
        rows = [{"entity_id_": i, "owner_": owner, "lease_until": until} for i, owner in leases.items()]
        db.executemany(self.sql.renew, rows)

    def mark_error(self, entity: Any, code: str, message: str, reference: str, **changes: Any) -> None:
        self.flush(
            self.writes()
            .entity(entity, status=EntityStatus.ERROR, error_code=code, error_message=message, **changes)
            .transaction(entity, "error", EntityStatus.ERROR, f"{code}: {message}")
            .log(LogLevel.ERROR, message, code=code, reference=reference)
        )

    # -- references ---------------------------------------------------------------------------
    def _reference(self, db: _Db, entity_type: str, source_id: str) -> ReferenceRow | None:
        params = {
            "integration_id_": self.integration_id,
            "entity_type_": entity_type,
            "source_id_": source_id,
        }
        row = db.fetchone(self.sql.reference_get, params)
        return None if row is None else ReferenceRow(**_row(REFERENCE_COLUMNS, row))
