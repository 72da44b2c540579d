"""The schema: migrations build exactly the models, indexes the screens need exist, SQLite runs in
WAL with foreign keys, and the engine never imports Textual."""

from __future__ import annotations

import subprocess
import sys

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, SQLModel

from engine.store.db import make_engine, migrate
from engine.store.models import Entity, Flow, Integration


def test_migrations_match_the_models(db_url: str) -> None:
    engine = make_engine(db_url)
    migrate(engine)
    migrate(engine)  # a second upgrade is a no-op
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), SQLModel.metadata)
    assert diff == [], f"models changed without a migration: {diff}"


def test_indexes_for_screens_exist(db_url: str) -> None:
    engine = make_engine(db_url)
    migrate(engine)
    insp = inspect(engine)
    entity_idx = {tuple(i["column_names"]) for i in insp.get_indexes("entity")}
    assert ("integration_id", "retriever_reference") in entity_idx
    assert ("integration_id", "storer_reference") in entity_idx
    assert ("integration_id", "entity_type", "status", "id") in entity_idx
    log_idx = {tuple(i["column_names"]) for i in insp.get_indexes("log_entry")}
    # Screens page newest first by id (ids grow with time), so these are the time-ordered indexes.
    assert ("integration_id", "reference", "id") in log_idx
    assert ("integration_id", "level", "id") in log_idx
    task_idx = {tuple(i["column_names"]) for i in insp.get_indexes("task")}
    assert ("status", "created_at") in task_idx
    assert ("integration_id", "status", "id") in task_idx
    assert ("integration_id", "created_at", "id") in task_idx  # the Tasks screen's date range


def test_sqlite_pragmas(sqlite_url: str) -> None:
    engine = make_engine(sqlite_url)
    migrate(engine)
    with engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert conn.execute(text("PRAGMA busy_timeout")).scalar() == 10000


def test_foreign_keys_are_enforced(db_url: str) -> None:
    engine = make_engine(db_url)
    migrate(engine)
    with Session(engine) as s:
        s.add(
            Flow(
                integration_id=999,
                key="x",
                name="x",
                action="x",
                entity_type="order",
                source_side="A",
                target_side="B",
            )
        )
        with pytest.raises(IntegrityError):
            s.commit()


def test_one_entity_per_source_record(db_url: str) -> None:
    engine = make_engine(db_url)
    migrate(engine)
    with Session(engine) as s:
        integ = Integration(name="i")
        s.add(integ)
        s.commit()
        flow = Flow(
            integration_id=integ.id,
            key="k",
            name="n",
            action="a",
            entity_type="order",
            source_side="A",
            target_side="B",
        )
        s.add(flow)
        s.commit()
        for _ in range(2):
            s.add(
                Entity(
                    integration_id=integ.id,
                    flow_id=flow.id,
                    entity_type="order",
                    source_id="1",
                    retriever_reference="#1",
                )
            )
        with pytest.raises(IntegrityError):
            s.commit()


def test_engine_imports_without_textual() -> None:
    code = (
        "import sys, engine.service, engine.runtime.runner, engine.sandbox.server, engine.flows;"
        "assert 'textual' not in sys.modules, sorted(m for m in sys.modules if m.startswith('textual'))"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
