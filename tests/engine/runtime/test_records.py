"""The recorder's driver-level SQL: what it writes reads back through SQLAlchemy unchanged, leases,
failures, and a flush is committed (seen by another connection) by the time it returns, whether the
job ran inline on the event loop or on the writer thread, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import text
from sqlmodel import Session, select

from engine.runtime.records import LeaseLost, Recorder, dumps
from engine.store.db import WalCheckpointer, make_engine, migrate
from engine.store.models import Entity, EntityTransaction, LogEntry, Reference, utcnow
from tests.conftest import add_shop


@pytest.fixture(params=["inline", "writer thread"])
def inline(request: pytest.FixtureRequest) -> bool:
    return request.param == "inline"


def recorder(db, inline: bool, worker: str = "w1", lease: float = 60.0) -> Recorder:
    return Recorder(db, 1, 1, task_id=None, worker_id=worker, lease_seconds=lease, inline=inline)


def fresh_view(url) -> Session:
    """A session on an engine of its own: it sees only what was committed."""
    return Session(make_engine(url.render_as_string(hide_password=False)))


async def test_the_recorders_writes_read_back_through_sqlalchemy(db, inline: bool) -> None:
    rec = recorder(db, inline)
    try:
        entity = await rec.claim_entity_waiting("order", "5100", "#1001")
        assert entity is not None and entity.status == "pending" and entity.lease_owner.startswith("w1/")
        assert entity.last_updated.tzinfo is UTC and entity.lease_until > entity.last_updated
        changed = datetime(2026, 11, 24, 13, 30, 0, tzinfo=UTC)
        await rec.aflush(
            rec.writes()
            .entity(entity, status="synced", storer_reference="7", raw_source=dumps({"token": "x"}))
            .entity(entity, source_updated_at=changed.astimezone(timezone(timedelta(hours=1))))  # merged
            .transaction(entity, "created", "synced", "Created Fortnox order 7")
            .transaction(entity, "invoiced", "synced", "Created Fortnox invoice 3")
            .reference("order", "5100", "7", "#1001")
            .log("info", "Order #1001 synced", code="ORDER_SYNCED", reference="#1001")
            .release(entity)
        )
        ref = await rec.areference("order", "5100")
        assert ref is not None and ref.target_id == "7" and ref.source_label == "#1001"
        assert ref.created_at.tzinfo is UTC
        # A second reference write keeps the label when it brings none.
        await rec.aflush(rec.writes().reference("order", "5100", "8"))
        assert (await rec.areference("order", "5100")).source_label == "#1001"  # type: ignore[union-attr]
        assert await rec.areference("order", "nope") is None
    finally:
        rec.close()

    with Session(db) as s:
        row = s.exec(select(Entity).where(Entity.source_id == "5100")).one()
        assert (row.status, row.storer_reference, row.lease_owner) == ("synced", "7", None)
        assert row.source_updated_at == changed
        assert row.raw_source == '{"token":"***"}'
        timeline = s.exec(select(EntityTransaction).where(EntityTransaction.entity_id == row.id)).all()
        assert [t.action for t in timeline] == ["created", "invoiced"]
        assert all(t.at.tzinfo is UTC for t in timeline)
        [log] = s.exec(select(LogEntry)).all()
        assert (log.code, log.reference, log.flow_id) == ("ORDER_SYNCED", "#1001", 1)
        [reference] = s.exec(select(Reference)).all()
        assert (reference.target_id, reference.source_label) == ("8", "#1001")


async def test_a_lease_is_held_until_released_or_expired(db, inline: bool) -> None:
    first, second = recorder(db, inline, "w1", lease=0.2), recorder(db, inline, "w2", lease=0.2)
    try:
        held = await first.claim_entity_waiting("order", "1", "#1")
        assert held is not None
        started = time.monotonic()
        # The second worker waits the lease out (the first one does not renew it) instead of skipping.
        taken = await second.claim_entity_waiting("order", "1", "#1")
        assert taken is not None and taken.id == held.id and taken.lease_owner.startswith("w2/")
        assert time.monotonic() - started >= 0.15
        await second.aflush(second.writes().release(taken))
        again = await first.claim_entity_waiting("order", "1", "#1")
        assert again is not None and again.lease_owner.startswith("w1/")
        # Releasing someone else's lease does nothing.
        await second.aflush(second.writes().release(taken))
        with Session(db) as s:
            assert s.get(Entity, held.id).lease_owner == again.lease_owner  # type: ignore[union-attr]
    finally:
        first.close()
        second.close()


async def test_one_worker_never_takes_its_own_held_lease_again(db, inline: bool) -> None:
    """Two tasks of one worker process (a scheduled sync beside an Export Many) share the worker id;
    each claim still excludes every other one, or both would create the same order."""
    sync_task = Recorder(db, 1, 1, task_id=1, worker_id="w1", lease_seconds=0.3, inline=inline)
    export_task = Recorder(db, 1, 1, task_id=2, worker_id="w1", lease_seconds=0.3, inline=inline)
    try:
        held = await sync_task.claim_entity_waiting("order", "1", "#1")
        assert held is not None
        second_claim = asyncio.ensure_future(export_task.claim_entity_waiting("order", "1", "#1"))
        await asyncio.sleep(0.1)
        assert not second_claim.done(), "the same worker's other task took a held lease"
        await sync_task.aflush(sync_task.writes().release(held))
        taken = await second_claim
        assert taken is not None and taken.lease_owner != held.lease_owner
    finally:
        sync_task.close()
        export_task.close()


async def test_a_store_intent_needs_the_lease_still_held(db, inline: bool) -> None:
    """A worker that stalled past its lease must not announce (and then send) a create: the record
    may be in another worker's hands by then."""
    slow, fast = recorder(db, inline, "slow", lease=0.1), recorder(db, inline, "fast", lease=60)
    try:
        stale = await slow.claim_entity_waiting("order", "1", "#1")
        await asyncio.sleep(0.15)
        fresh = await fast.claim_entity_waiting("order", "1", "#1")
        assert stale is not None and fresh is not None
        with pytest.raises(LeaseLost):
            await slow.aflush(slow.writes().intent(stale, "create_order"))
        await fast.aflush(fast.writes().intent(fresh, "create_order"))
        with Session(db) as s:
            row = s.get(Entity, fresh.id)
            assert (row.store_intent, row.lease_owner) == ("create_order", fresh.lease_owner)  # type: ignore[union-attr]
    finally:
        slow.close()
        fast.close()


async def test_renewing_extends_only_our_own_leases(db, inline: bool) -> None:
    ours, theirs = recorder(db, inline, "w1", lease=30), recorder(db, inline, "w2", lease=30)
    try:
        mine = await ours.claim_entity_waiting("order", "1", "#1")
        other = await theirs.claim_entity_waiting("order", "2", "#2")
        assert mine is not None and other is not None
        with Session(db) as s:
            before = {e.id: e.lease_until for e in s.exec(select(Entity))}
        time.sleep(0.01)
        await ours.arenew_leases({mine.id: mine.lease_owner, other.id: mine.lease_owner})
        with Session(db) as s:
            after = {e.id: e.lease_until for e in s.exec(select(Entity))}
        assert after[mine.id] > before[mine.id] and after[other.id] == before[other.id]
    finally:
        ours.close()
        theirs.close()


async def test_a_flush_is_committed_when_it_returns(db, inline: bool) -> None:
    """What exactly-once rests on: once `aflush` of a store intent returns, another connection (the
    next worker after a crash) sees it."""
    rec = recorder(db, inline)
    try:
        entity = await rec.claim_entity_waiting("order", "42", "#42")
        assert entity is not None
        await rec.aflush(rec.writes().entity(entity, store_intent="create_order", store_intent_at=utcnow()))
        with fresh_view(db.url) as view:
            seen = view.exec(select(Entity).where(Entity.source_id == "42")).one()
            assert seen.store_intent == "create_order" and seen.lease_owner == entity.lease_owner
            view.get_bind().dispose()  # type: ignore[union-attr]
    finally:
        rec.close()


async def test_a_failed_batch_rolls_back_and_the_next_one_works(db, inline: bool) -> None:
    rec = recorder(db, inline)
    try:
        entity = await rec.claim_entity_waiting("order", "7", "#7")
        assert entity is not None
        bad = rec.writes().log("info", "half of a batch").transaction(entity, "created", "synced")
        bad.ops.append((rec.sql.log, {"no_such_column": 1}))
        with pytest.raises(Exception):  # noqa: B017 - the driver's own error type differs per database
            await rec.aflush(bad)
        await rec.aflush(rec.writes().log("info", "after the failure"))
        with Session(db) as s:
            assert [log.message for log in s.exec(select(LogEntry)).all()] == ["after the failure"]
            assert s.exec(select(EntityTransaction)).all() == []
    finally:
        rec.close()


async def test_naive_datetimes_are_refused(db) -> None:
    rec = recorder(db, inline=True)
    try:
        entity = await rec.claim_entity_waiting("order", "9", "#9")
        with pytest.raises(ValueError, match="timezone"):
            await rec.aflush(rec.writes().entity(entity, source_updated_at=datetime(2026, 1, 1)))
    finally:
        rec.close()


def test_sqlite_times_are_stored_as_sqlalchemy_stores_them(sqlite_url: str) -> None:
    """Text comparison (the claim's lease test, the console's ordering) needs one format for both."""
    db = make_engine(sqlite_url)
    migrate(db)
    add_shop(db)
    when = datetime(2026, 11, 24, 8, 5, 0, tzinfo=timezone(timedelta(hours=1)))
    rec = Recorder(db, 1, 1, inline=True)
    try:
        entity = asyncio.run(rec.claim_entity_waiting("order", "1", "#1"))
        rec.flush(rec.writes().entity(entity, source_updated_at=when))
        with Session(db) as s:
            s.add(LogEntry(integration_id=1, message="by SQLAlchemy", at=when))
            s.commit()
        with db.connect() as conn:
            ours = conn.execute(text("SELECT source_updated_at FROM entity")).scalar_one()
            theirs = conn.execute(text("SELECT at FROM log_entry")).scalar_one()
        assert ours == theirs == "2026-11-24 07:05:00.000000"
    finally:
        rec.close()
        db.dispose()


def test_the_checkpointer_copies_the_log_into_the_database_file(sqlite_url: str, tmp_path) -> None:
    """Pages committed to the write-ahead log reach the database file without any commit doing it."""
    db = make_engine(sqlite_url)
    migrate(db)
    path = tmp_path / "junipeer.sqlite"
    with db.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_autocheckpoint=0")  # this connection's commits leave the log be
        conn.exec_driver_sql("CREATE TABLE filler (x TEXT)")
        for _ in range(100):
            conn.exec_driver_sql("INSERT INTO filler VALUES (?)", ("x" * 4000,))
        conn.commit()
        before = path.stat().st_size
        checkpointer = WalCheckpointer(db, interval=0.01)
        try:
            deadline = time.monotonic() + 5
            while path.stat().st_size < before + 100 * 4000 and time.monotonic() < deadline:
                time.sleep(0.01)
            assert path.stat().st_size >= before + 100 * 4000
        finally:
            checkpointer.close()
    db.dispose()
