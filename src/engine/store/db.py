"""Database setup: the SQLite default in the user's data directory, or any URL (PostgreSQL)."""

from __future__ import annotations

import contextlib
import os
import threading
from pathlib import Path

import platformdirs
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlmodel import Session, create_engine

from engine.store.private import private_dir, private_sqlite_file

ENV_URL = "JUNIPEER_DATABASE_URL"


def data_dir() -> Path:
    path = Path(os.environ.get("JUNIPEER_DATA_DIR") or platformdirs.user_data_dir("junipeer"))
    return private_dir(path)


def default_url() -> str:
    return os.environ.get(ENV_URL) or f"sqlite:///{data_dir() / 'junipeer.sqlite'}"


def normalise_url(url: str) -> str:
    # Operators paste "postgresql://..."; we ship psycopg 3, not psycopg2.
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


# Pages the write-ahead log may reach before a commit copies it into the database file (SQLite's
# default is 1,000): room for the half second between a WalCheckpointer's checkpoints during a
# backfill. A process without one checkpoints on commit past this, and on closing its last connection.
WAL_AUTOCHECKPOINT = 10_000


def _sqlite_pragmas(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
    cur = dbapi_connection.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute(f"PRAGMA wal_autocheckpoint={WAL_AUTOCHECKPOINT}")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


def make_engine(url: str | None = None) -> Engine:
    url = normalise_url(url or default_url())
    if url.startswith("sqlite"):
        private_sqlite_file(url)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 10})
        event.listen(engine, "connect", _sqlite_pragmas)
    else:
        engine = create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=5)
    return engine


class WalCheckpointer:
    """Copies SQLite's write-ahead log into the database file on a thread of its own, for a
    connection that commits on the event loop.

    SQLite does this itself in the commit that takes the log past `WAL_AUTOCHECKPOINT` pages, on
    whichever thread commits: on the event loop that commit then also rewrites those pages into the
    database file and waits for two fsyncs (a third of the recorder's commit time in the backfill
    benchmark, and stalls of several ms). A checkpoint every `interval` seconds here (sqlite3
    releases the GIL while SQLite works) keeps the log under that limit, so the loop's commits only
    append to it. Half a second: a backfill logs ~8,000 pages a second, mostly the same index
    leaves again and again, and a checkpoint copies each page once however often it was logged and
    fsyncs once; every 50 ms the copies and fsyncs cost ~3 % of the engine's CPU. If this thread
    falls behind or fails, the commits checkpoint as before: nothing depends on it.
    """

    def __init__(self, engine: Engine, interval: float = 0.5) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._run, args=(engine, interval), name="junipeer-checkpoint", daemon=True
        )
        self._thread.start()

    def _run(self, engine: Engine, interval: float) -> None:
        # A failure ends the thread quietly: the commits then checkpoint as they would without it.
        with contextlib.suppress(Exception):
            conn = engine.raw_connection()
            try:
                cur = conn.cursor()
                (mode,) = cur.execute("PRAGMA journal_mode").fetchone()
                while str(mode).lower() == "wal" and not self._stop.wait(interval):
                    # PASSIVE: copies what no reader still needs, and never waits for a lock.
                    cur.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
            finally:
                conn.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


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
