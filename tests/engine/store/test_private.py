"""The data directory and the SQLite database (with its -wal and -shm files) are private to the user,
whatever the umask, also when an older version left them readable by others."""

from __future__ import annotations

import os
import sqlite3
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from engine.store.db import data_dir, default_url, make_engine, migrate


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def open_umask() -> Iterator[None]:
    """The common umask, under which files are created readable by everyone (0644 / 0755)."""
    old = os.umask(0o022)
    yield
    os.umask(old)


def test_default_database_is_private(
    open_umask: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "fresh" / "junipeer"
    monkeypatch.setenv("JUNIPEER_DATA_DIR", str(home))
    monkeypatch.delenv("JUNIPEER_DATABASE_URL", raising=False)
    engine = make_engine(default_url())
    try:
        migrate(engine)
        with engine.connect() as conn:  # holds the connection open: the -wal and -shm files exist
            conn.execute(text("SELECT count(*) FROM entity")).scalar()
            db = home / "junipeer.sqlite"
            files = [db, Path(f"{db}-wal"), Path(f"{db}-shm")]
            assert {f.name: mode(f) for f in files} == {f.name: 0o600 for f in files}
        assert mode(home) == 0o700
    finally:
        engine.dispose()


def test_an_older_install_is_made_private(
    open_umask: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "junipeer"
    home.mkdir()
    db = home / "junipeer.sqlite"
    # A database written before: readable by all, with a write-ahead log still open beside it.
    old = sqlite3.connect(db)
    old.execute("PRAGMA journal_mode=WAL")
    old.execute("CREATE TABLE leftover (x)")
    old.commit()
    assert (mode(home), mode(db), mode(Path(f"{db}-wal"))) == (0o755, 0o644, 0o644)
    try:
        monkeypatch.setenv("JUNIPEER_DATA_DIR", str(home))
        assert data_dir() == home
        engine = make_engine(f"sqlite:///{db}")
        with engine.connect() as conn:
            conn.execute(text("SELECT count(*) FROM leftover")).scalar()
        engine.dispose()
        assert mode(home) == 0o700
        assert [mode(f) for f in (db, Path(f"{db}-wal"), Path(f"{db}-shm"))] == [0o600] * 3
    finally:
        old.close()


def test_an_explicit_database_url_is_private_too(open_umask: None, tmp_path: Path) -> None:
    db = tmp_path / "elsewhere.sqlite"
    engine = make_engine(f"sqlite:///{db}")
    migrate(engine)
    engine.dispose()
    assert mode(db) == 0o600


def test_in_memory_database_needs_no_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    engine = make_engine("sqlite://")
    migrate(engine)
    engine.dispose()
    assert list(tmp_path.iterdir()) == []
