"""Shared fixtures: databases (SQLite always, PostgreSQL when JUNIPEER_TEST_POSTGRES_URL is set),
a file secret store, and a real sandbox over loopback."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

POSTGRES_URL = os.environ.get("JUNIPEER_TEST_POSTGRES_URL")

os.environ.setdefault("JUNIPEER_SECRETS", "file")


def _postgres_schema_url(base: str) -> Iterator[str]:
    """A fresh schema per test, so parallel workers never see each other's tables."""
    from engine.store.db import normalise_url

    base = normalise_url(base)
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in base else "?"
    try:
        yield f"{base}{sep}options=-csearch_path%3D{schema}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Every store and runner test runs on both databases."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'junipeer.sqlite'}"
        return
    if not POSTGRES_URL:
        pytest.skip("JUNIPEER_TEST_POSTGRES_URL is not set")
    yield from _postgres_schema_url(POSTGRES_URL)


@pytest.fixture
def db(db_url: str):  # type: ignore[no-untyped-def]
    """A migrated database with one shop (add_shop), on each of db_url's databases."""
    from engine.store.db import make_engine, migrate

    engine = make_engine(db_url)
    migrate(engine)
    add_shop(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'junipeer.sqlite'}"


@pytest.fixture
def secrets(tmp_path: Path):
    from engine.secrets import FileSecretStore

    return FileSecretStore(tmp_path / "secrets.json")


def add_shop(engine, *names: str) -> None:  # type: ignore[no-untyped-def]
    """Integrations named `names` (default "Shop"), the first with an orders flow: the smallest
    workspace a store, queue or service test needs."""
    from sqlmodel import Session

    from engine.store.models import Flow, Integration

    with Session(engine) as s:
        integrations = [Integration(name=n) for n in (names or ("Shop",))]
        s.add_all(integrations)
        s.commit()
        s.add(
            Flow(
                integration_id=integrations[0].id,
                key="orders_to_fortnox",
                name="Orders",
                action="a",
                entity_type="order",
                source_side="A",
                target_side="B",
            )
        )
        s.commit()
