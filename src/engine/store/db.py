"""Database setup: the SQLite default in the user's data directory, or any URL (PostgreSQL)."""

from __future__ import annotations

import contextlib
import os
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import platformdirs
from sqlalchemy import event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SQLAlchemyError
from sqlalchemy.exc import DatabaseError as SQLAlchemyDatabaseError
from sqlmodel import Session, create_engine

from engine.errors import EngineError
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


def _sqlite_folder_missing(url: str) -> Path | None:
    database = make_url(url).database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    folder = Path(database).expanduser().absolute().parent
    return None if folder.is_dir() else folder


def make_engine(url: str | None = None) -> Engine:
    """An engine for `url`; a URL that cannot name a usable database is refused with a code
    (DATABASE_URL_INVALID, DATABASE_DRIVER_MISSING, DATABASE_FOLDER_MISSING)."""
    given = url or default_url()
    url = normalise_url(given)
    try:
        folder = _sqlite_folder_missing(url) if url.startswith("sqlite") else None
        engine = None if folder else _create(url)
    except (*DATABASE_ERRORS, ValueError) as exc:
        raise database_error(exc, given) from exc
    if engine is None:
        raise EngineError("DATABASE_FOLDER_MISSING", f"the folder {folder} does not exist")
    return engine


def _create(url: str) -> Engine:
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


def _alembic_config() -> Any:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(Path(__file__).with_name("migrations")))
    return cfg


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest revision (Alembic), creating it on an empty database."""
    from alembic import command

    cfg = _alembic_config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


@dataclass(frozen=True)
class Schema:
    """Where a database's schema stands: its Alembic revision (None: empty) and this program's newest."""

    current: str | None
    head: str

    @property
    def up_to_date(self) -> bool:
        return self.current == self.head


def schema(engine: Engine) -> Schema:
    """The schema revision of the database, refusing one this program does not know (SCHEMA_NEWER)."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    scripts = ScriptDirectory.from_config(_alembic_config())
    head = scripts.get_current_head()
    assert head is not None
    try:
        with engine.connect() as conn:
            current = MigrationContext.configure(conn).get_current_revision()
    except DATABASE_ERRORS as exc:
        raise database_error(exc, engine) from exc
    if current is not None and current not in {s.revision for s in scripts.walk_revisions()}:
        raise EngineError(
            "SCHEMA_NEWER",
            f"the database's schema ({current}) was written by a newer junipeer-tui than this one "
            f"(which knows up to {head})",
        )
    return Schema(current, head)


def prepare(engine: Engine, *, upgrade: bool) -> Schema | None:
    """Check that the database answers and that its schema fits this program. An empty database gets
    the schema. An older schema is upgraded when `upgrade` (commands that write), else refused with
    SCHEMA_OUTDATED: a listing must not change the database behind the operator's back. Returns the
    state before an upgrade of an existing schema, so the caller can say so; None otherwise."""
    state = schema(engine)
    if state.up_to_date:
        return None
    if state.current is not None and not upgrade:
        raise EngineError(
            "SCHEMA_OUTDATED",
            f"the database's schema ({state.current}) is older than this program's ({state.head})",
        )
    try:
        migrate(engine)
    except DATABASE_ERRORS as exc:
        raise database_error(exc, engine) from exc
    return state if state.current is not None else None


# What a database that cannot be used raises: SQLAlchemy's errors, and a driver that is not installed.
DATABASE_ERRORS = (SQLAlchemyError, ImportError)


def shown_url(engine_or_url: Engine | str) -> str:
    """A database URL as the operator may see it: the password hidden."""
    if isinstance(engine_or_url, Engine):
        return engine_or_url.url.render_as_string(hide_password=True)
    try:
        return make_url(engine_or_url).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):  # not a URL SQLAlchemy reads: hide what sits where a password would
        return re.sub(r"(://[^/@:]*:)[^@]*@", r"\1***@", engine_or_url)


def database_error(exc: BaseException, engine_or_url: Engine | str) -> EngineError:
    """The operator's words for a database that cannot be used: a wrong URL, a missing driver, a
    file that is not a database, a server that does not answer."""
    where = shown_url(engine_or_url)
    if isinstance(exc, ArgumentError | ValueError):  # a URL SQLAlchemy can't read (or its port)
        return EngineError("DATABASE_URL_INVALID", f"{where!r} is not a database URL")
    if isinstance(exc, NoSuchModuleError | ImportError):
        if where.startswith("postgres"):
            return EngineError(
                "DATABASE_DRIVER_MISSING",
                f"PostgreSQL needs the psycopg driver, which is not installed ({exc})",
            )
        return EngineError(
            "DATABASE_URL_INVALID", f"{where}: junipeer stores in SQLite or PostgreSQL ({exc})"
        )
    text = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
    if isinstance(exc, SQLAlchemyDatabaseError) and "not a database" in text:
        return EngineError("DATABASE_NOT_A_DATABASE", f"{where} is not a SQLite database ({text})")
    return EngineError("DATABASE_UNAVAILABLE", f"{where} cannot be used: {text}")
