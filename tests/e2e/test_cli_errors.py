"""Every error the command line can meet reaches the operator as CODE: message — what to do, exit 1:
real processes, stdin from /dev/null, a real sandbox where a platform is involved."""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import subprocess
from datetime import date, timedelta
from pathlib import Path

import pytest
from alembic import command

from engine.sandbox.client import control_client
from engine.store.db import _alembic_config, make_engine
from tests.e2e.test_cli import junipeer, served  # noqa: F401  (served: the fixture)


def refused(proc: subprocess.CompletedProcess, code: str, *todo: str) -> str:
    """The one line an operator gets for a refused command: its code, what to do, never a traceback."""
    assert proc.returncode == 1, (proc.returncode, proc.stderr)
    text = " ".join(proc.stderr.split())  # the console wraps long lines
    assert f"error {code}: " in text, text
    assert all(words in text for words in todo), text
    assert "Traceback" not in proc.stderr and "INTERNAL_ERROR" not in text
    return text


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {
        **os.environ,
        "JUNIPEER_DATA_DIR": str(tmp_path),
        "JUNIPEER_SECRETS": "file",
        "JUNIPEER_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.sqlite'}",
    }


# -- the database ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("url", "code", "todo"),
    [
        ("not a url", "DATABASE_URL_INVALID", "postgresql://user:password@host/database"),
        ("postgresql://ops:hunter2@db.example:notaport/x", "DATABASE_URL_INVALID", "a URL like"),
        ("mysql://ops@localhost/x", "DATABASE_URL_INVALID", "SQLite or PostgreSQL"),
        ("sqlite:///{tmp}/no/such/folder/j.sqlite", "DATABASE_FOLDER_MISSING", "Create the folder"),
        ("sqlite:///{tmp}/notes.txt", "DATABASE_NOT_A_DATABASE", "a junipeer database"),
        ("postgresql://ops:hunter2@127.0.0.1:1/x", "DATABASE_UNAVAILABLE", "server runs"),
    ],
)
def test_a_database_that_cannot_be_used_says_why(env, tmp_path: Path, url: str, code: str, todo: str) -> None:
    (tmp_path / "notes.txt").write_text("groceries: milk, eggs, bread\n" * 100)
    proc = junipeer("--db", url.format(tmp=tmp_path), "flows", env=env, check=False)
    text = refused(proc, code, todo)
    assert "hunter2" not in text  # a password in the URL is never repeated


def test_postgres_without_its_driver_names_the_extra(env, tmp_path: Path) -> None:
    # psycopg is an extra: an install without it finds no module of that name.
    blocker = tmp_path / "no_psycopg" / "psycopg"
    blocker.mkdir(parents=True)
    (blocker / "__init__.py").write_text("raise ModuleNotFoundError(\"No module named 'psycopg'\")\n")
    env = {**env, "PYTHONPATH": f"{blocker.parent}{os.pathsep}{env.get('PYTHONPATH', '')}"}
    proc = junipeer("--db", "postgresql://ops@127.0.0.1/x", "tasks", env=env, check=False)
    refused(proc, "DATABASE_DRIVER_MISSING", 'pip install "junipeer-tui[postgres]"')


def _database_at(path: Path, revision: str) -> str:
    url = f"sqlite:///{path}"
    engine = make_engine(url)
    cfg = _alembic_config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)
    engine.dispose()
    return url


def _head() -> str:
    """The newest schema revision this program knows."""
    from alembic.script import ScriptDirectory

    from engine.store.db import _alembic_config

    return ScriptDirectory.from_config(_alembic_config()).get_current_head()  # type: ignore[return-value]


def _revision(path: Path) -> str:
    with sqlite3.connect(path) as db:
        return db.execute("SELECT version_num FROM alembic_version").fetchone()[0]


def test_listings_refuse_an_old_schema_and_db_upgrade_brings_it_up(env, tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite"
    url = _database_at(path, "0001")
    listing = junipeer("--db", url, "integrations", env=env, check=False)
    refused(listing, "SCHEMA_OUTDATED", "junipeer db upgrade")
    assert _revision(path) == "0001"  # a listing changed nothing

    upgraded = junipeer("--db", url, "db", "upgrade", env=env)
    assert upgraded.stdout.strip() == f"Upgraded the database schema from 0001 to {_head()}."
    assert _revision(path) == _head() != "0001"
    assert junipeer("--db", url, "integrations", "--json", env=env).stdout.strip() == "[]"
    again = junipeer("--db", url, "db", "upgrade", env=env)
    assert again.stdout.strip() == f"The database schema is up to date ({_head()})."


def test_a_command_that_writes_upgrades_an_old_schema_and_says_so(env, tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite"
    url = _database_at(path, "0001")
    proc = junipeer("--db", url, "retry", "1", env=env, check=False)
    assert f"Upgraded the database schema from 0001 to {_head()}" in proc.stderr
    refused(proc, "NO_ENTITY")
    assert _revision(path) == _head()


def test_a_schema_from_a_newer_program_is_refused_not_touched(env, tmp_path: Path) -> None:
    path = tmp_path / "newer.sqlite"
    url = _database_at(path, "head")
    with sqlite3.connect(path) as db:
        db.execute("UPDATE alembic_version SET version_num = '0099'")
    for args in (["integrations"], ["db", "upgrade"], ["retry", "1"]):
        refused(junipeer("--db", url, *args, env=env, check=False), "SCHEMA_NEWER", "pip install -U")
    assert _revision(path) == "0099"


# -- numbers and references -----------------------------------------------------------------------
@pytest.mark.parametrize(
    "args",
    [
        ["tasks", "--limit", "0"],
        ["logs", "--limit", "100000000"],
        ["logs", "--task", "99999999999999999999999"],
        ["retry", "99999999999999999999999"],
        ["run", "--concurrency", "0"],
        ["sandbox", "serve", "--orders", "-1"],
        ["sandbox", "serve", "--port", "70000"],
        ["demo", "--headless", "--orders", "100000000"],
        ["demo", "--headless", "--time-scale", "0"],
        ["export-many", "orders", "--from", "2026-02-30", "--to", "2026-03-01"],
    ],
)
def test_numbers_out_of_range_are_bad_input(env, args: list[str]) -> None:
    refused(junipeer(*args, env=env, check=False), "BAD_INPUT", f"`junipeer {args[0]}")


@pytest.mark.parametrize(
    "args",
    [
        ["export-one", "orders", "#" + "1" * 10_000],
        ["explain", "#" + "1" * 10_000],
        ["logs", "--ref", "x" * 10_000],
        ["logs", "--text", "x" * 10_000],
        ["entities", "--ref", "x" * 10_000],
        ["references", "--search", "x" * 10_000],
    ],
)
def test_a_huge_reference_is_bad_input_and_asks_nothing(served, args: list[str]) -> None:  # noqa: F811
    info, env = served
    junipeer("sandbox", "connect", "--url", info["base_url"], env=env)
    control = control_client(info)
    control.post("stats/reset").raise_for_status()
    refused(junipeer(*args, env=env, check=False), "BAD_INPUT", "at most 255")
    assert control.get("stats").json()["shopify"]["requests"] == 0
    assert junipeer("tasks", "--json", env=env).stdout.strip() == "[]"


# -- dates ----------------------------------------------------------------------------------------
def test_dates_out_of_bounds_are_refused_with_the_bounds(served) -> None:  # noqa: F811
    info, env = served
    junipeer("sandbox", "connect", "--url", info["base_url"], env=env)
    today = date.today()
    too_late = (today + timedelta(days=5)).isoformat()
    for args in (
        ["export-many", "orders", "--from", "1999-12-31", "--to", today.isoformat()],
        ["export-many", "orders", "--from", today.isoformat(), "--to", too_late],
        ["time-history", "orders", "--set", "1990-01-01", "--yes"],
    ):
        refused(junipeer(*args, env=env, check=False), "BAD_INPUT", "from 2006-01-01", "tomorrow in UTC")
    assert junipeer("tasks", "--json", env=env).stdout.strip() == "[]"


# -- platforms ------------------------------------------------------------------------------------
def test_a_wrong_shaped_platform_answer_is_malformed_response(served) -> None:  # noqa: F811
    info, env = served
    junipeer("sandbox", "connect", "--url", info["base_url"], env=env)
    # Shopify answers valid JSON of another shape: every answer wrapped in a list.
    control_client(info).post("faults", json={"platform": "shopify", "wrong_shape": 1.0}).raise_for_status()
    explained = junipeer("explain", "#1001", env=env, check=False)
    refused(explained, "MALFORMED_RESPONSE", "Retry later")
    exported = junipeer("export-one", "orders", "#1001", env=env, check=False)
    assert exported.returncode == 1 and "Traceback" not in exported.stderr
    assert "MALFORMED_RESPONSE" in exported.stdout + exported.stderr
    idle = junipeer("run", "--until-idle", env=env, check=False)
    assert idle.returncode == 1 and "MALFORMED_RESPONSE" in idle.stderr and "KeyError" not in idle.stderr
    codes = {
        line["code"] for line in json.loads(junipeer("logs", "--level", "error", "--json", env=env).stdout)
    }
    assert "MALFORMED_RESPONSE" in codes and "INTERNAL_ERROR" not in codes


def test_no_keyring_backend_says_how_to_keep_secrets_in_a_file(served) -> None:  # noqa: F811
    info, env = served
    env = {**env, "JUNIPEER_SECRETS": "keyring", "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"}
    proc = junipeer("sandbox", "connect", "--url", info["base_url"], env=env, check=False)
    refused(proc, "KEYRING_UNAVAILABLE", "JUNIPEER_SECRETS=file")


# -- the sandbox and the demo ---------------------------------------------------------------------
def test_sandbox_serve_on_a_port_in_use_says_so(env) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        proc = junipeer("sandbox", "serve", "--port", str(port), "--orders", "1", env=env, check=False)
    refused(proc, "SANDBOX_CANNOT_LISTEN", f"127.0.0.1:{port}", "another --port")
    assert proc.stdout == ""  # no info line for a sandbox that isn't there


def test_demo_says_it_keeps_its_own_database(env, tmp_path: Path) -> None:
    mine = tmp_path / "mine.sqlite"
    proc = junipeer(
        "--db", f"sqlite:///{mine}", "demo", "--headless", "--orders", "5", "--until-idle", "--json", env=env
    )
    text = " ".join(proc.stderr.split())
    assert f"own throwaway database ({tmp_path / 'demo' / 'demo.sqlite'})" in text
    assert "--db is not used" in text
    assert not mine.exists()


def test_a_database_locked_by_another_writer_is_database_unavailable(served, tmp_path: Path) -> None:  # noqa: F811
    info, env = served
    junipeer("sandbox", "connect", "--url", info["base_url"], env=env)
    holder = sqlite3.connect(tmp_path / "cli.sqlite", isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")  # another process writing, for longer than the busy timeout
        proc = junipeer("time-history", "orders", "--set", "2026-11-01", "--yes", env=env, check=False)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    refused(proc, "DATABASE_UNAVAILABLE", "database is locked", "holds the database locked")
