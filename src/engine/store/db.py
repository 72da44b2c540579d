"""Database setup: the SQLite default in the user's data directory, or any URL (PostgreSQL)."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlmodel import Session, create_engine

ENV_URL = "JUNIPEER_DATABASE_URL"


def data_dir() -> Path:
    path = Path(os.environ.get("JUNIPEER_DATA_DIR") or platformdirs.user_data_dir("junipeer"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def default_url() -> str:
    return os.environ.get(ENV_URL) or f"sqlite:///{data_dir() / 'junipeer.sqlite'}"


def normalise_url(url: str) -> str:
    # Operators paste "postgresql://..."; we ship psycopg 3, not psycopg2.
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def _sqlite_pragmas(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
    cur = dbapi_connection.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


def make_engine(url: str | None = None) -> Engine:
    url = normalise_url(url or default_url())
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 10})
        event.listen(engine, "connect", _sqlite_pragmas)
    else:
        engine = create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=5)
    return engine


def session(engine: Engine) -> Session:
    return Session(engine, expire_on_commit=False)


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest revision (Alembic), creating it on an empty database."""
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(Path(__file__).with_name("migrations")))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")
