"""Private by default: the data directory and the SQLite database hold customers' names, emails and
addresses, so only the user who runs junipeer may read them (0700 / 0600), whatever the umask."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from sqlalchemy.engine import make_url

DIR_MODE = 0o700
FILE_MODE = 0o600
# SQLite's companions of a database file: the write-ahead log, its shared-memory index and the
# rollback journal hold the same rows as the file itself.
SQLITE_COMPANIONS = ("-wal", "-shm", "-journal")


def private_dir(path: Path) -> Path:
    """Create `path` (and its parents) if missing; the directory itself ends up 0700, including one
    an older version created with the umask's 0755."""
    path.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    _chmod(path, DIR_MODE)
    return path


def private_sqlite_file(url: str) -> None:
    """Make the database file of a SQLite URL 0600 before SQLite opens it, creating it empty when it
    does not exist yet (SQLite takes an empty file for an empty database). SQLite gives the -wal and
    -shm files it creates later the mode of the database file; ones left by an older version are
    tightened here. In-memory databases and other databases are left alone."""
    parsed = make_url(url)
    database = parsed.database
    if not parsed.drivername.startswith("sqlite") or not database or database == ":memory:":
        return
    if parsed.query.get("uri") == "true" or database.startswith("file:"):
        return  # a URI filename: SQLite resolves it, not a path of ours to chmod
    path = Path(database)
    if not path.parent.is_dir():
        return  # SQLite reports the missing directory as it always did
    with contextlib.suppress(PermissionError):  # a read-only place: SQLite will say so itself
        os.close(os.open(path, os.O_CREAT | os.O_RDONLY, FILE_MODE))
    for name in ("", *SQLITE_COMPANIONS):
        _chmod(Path(f"{path}{name}"), FILE_MODE)


def _chmod(path: Path, mode: int) -> None:
    # Missing: SQLite's companions come and go with connections. Not permitted: a file or directory
    # another user owns (a shared data directory) is theirs to protect, and junipeer still runs on it.
    with contextlib.suppress(FileNotFoundError, PermissionError):
        os.chmod(path, mode)
