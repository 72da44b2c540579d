"""`junipeer retry --status error [--code C] [--since DATE]`: after fixing a cause in Fortnox, every
record it failed re-syncs at once; the count is confirmed first, and scripts must say --yes."""

from __future__ import annotations

import json
import os
import pty
import select
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from engine.sandbox.client import control_client
from tests.e2e.test_cli import junipeer, served  # noqa: F401  (served: the fixture)


def errors_by_code(env: dict[str, str]) -> dict[str, list[dict[str, Any]]]:
    rows = json.loads(junipeer("entities", "--status", "error", "--limit", "1000", "--json", env=env).stdout)
    out: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        out.setdefault(row["error_code"], []).append(row)
    return out


def task_count(env: dict[str, str]) -> int:
    return len(json.loads(junipeer("tasks", "--limit", "1000", "--json", env=env).stdout))


def at_a_terminal(args: list[str], env: dict[str, str], answer: str) -> tuple[int, str]:
    """Run junipeer on a terminal, answer its question, return (exit status, what the terminal showed)."""
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "junipeer_tui.cli", *args], env=env, stdin=slave, stdout=slave, stderr=slave
    )
    os.close(slave)
    screen = read_until(master, b"[y/N]")
    os.write(master, answer.encode() + b"\n")
    screen += read_until(master, None)
    os.close(master)
    return proc.wait(timeout=30), screen.decode(errors="replace")


def read_until(master: int, marker: bytes | None, timeout: float = 120) -> bytes:
    """What the terminal shows until `marker` appears (None: until the process closes it)."""
    seen = b""
    deadline = time.monotonic() + timeout
    while marker is None or marker not in seen:
        assert time.monotonic() < deadline, seen
        if not select.select([master], [], [], 1)[0]:
            continue
        try:
            chunk = os.read(master, 4096)
        except OSError:  # Linux: the process closed the terminal
            chunk = b""
        if not chunk:
            assert marker is None, seen
            break
        seen += chunk
    return seen


def test_bulk_retry_after_fixing_missing_articles(served, tmp_path: Path) -> None:  # noqa: F811
    info, env = served
    junipeer("sandbox", "connect", "--url", info["base_url"], env=env)
    with control_client(info) as control:
        # Orders selling articles Fortnox doesn't have, and one whose SKU can never be an article number.
        for sku in ("ENGRAVING-TEXT", "GIFTBOX-DELUXE", "ENGRAVING-TEXT", "TEE-ORG-BLK-XXXL"):
            control.post("shopify/orders", json={"line_items": [{"sku": sku}]}).raise_for_status()
        control.post("shopify/orders", json={"line_items": [{"sku": "GIFT CARD"}]}).raise_for_status()
        today = datetime.now(UTC).date()
        junipeer("export-many", "orders", "--from", "2020-01-01", "--to", str(today), env=env, check=False)
        failed = errors_by_code(env)
        missing = {e["retriever_reference"] for e in failed["ARTICLE_NOT_FOUND"]}
        assert len(missing) >= 4 and len(failed["ARTICLE_NUMBER_INVALID"]) == 1
        # One of them failed long ago: --since leaves it out.
        old = failed["ARTICLE_NOT_FOUND"][0]
        with sqlite3.connect(tmp_path / "cli.sqlite") as db:
            db.execute(
                "UPDATE entity SET last_updated = '2020-01-01 00:00:00.000000' WHERE id = ?", (old["id"],)
            )
        # The cause, fixed in Fortnox.
        for sku in ("ENGRAVING-TEXT", "GIFTBOX-DELUXE", "TEE-ORG-BLK-XXXL"):
            control.post(
                "fortnox/articles", json={"ArticleNumber": sku, "Description": sku}
            ).raise_for_status()
        selection = ["retry", "--status", "error", "--code", "article_not_found", "--since", str(today)]

        tasks_before = task_count(env)
        script = junipeer(*selection, env=env, check=False)
        assert script.returncode == 1 and "CONFIRMATION_NEEDED" in script.stderr and "--yes" in script.stderr
        assert f"re-syncs {len(missing) - 1} entities" in script.stderr
        tomorrow = str(today + timedelta(days=1))
        nothing = junipeer("retry", "--status", "error", "--since", tomorrow, "--yes", env=env)
        assert "Nothing to retry" in nothing.stdout
        declined, screen = at_a_terminal(selection, env, "n")
        assert declined == 1 and f"Retry {len(missing) - 1} entities with status error" in screen
        assert task_count(env) == tasks_before  # asking enqueues nothing

        answered, screen = at_a_terminal(selection, env, "y")
        assert answered == 0, screen
        assert f"Retried {len(missing) - 1} entities in 1 task: {len(missing) - 1} synced, 0 failed" in screen

        after = errors_by_code(env)
        assert [e["retriever_reference"] for e in after["ARTICLE_NOT_FOUND"]] == [old["retriever_reference"]]
        assert after["ARTICLE_NUMBER_INVALID"] == failed["ARTICLE_NUMBER_INVALID"]  # another code: untouched
        in_fortnox = Counter(o["YourOrderNumber"] for o in control.get("fortnox/orders").json())
        assert all(in_fortnox[ref] == 1 for ref in missing - {old["retriever_reference"]})

    # A script says --yes; JSON lists the tasks.
    result = junipeer("retry", "--status", "error", "--code", "ARTICLE_NOT_FOUND", "--yes", "--json", env=env)
    [task] = json.loads(result.stdout)
    assert (task["kind"], task["status"], task["synced"], task["failed"]) == ("retry", "completed", 1, 0)
    assert "ARTICLE_NOT_FOUND" not in errors_by_code(env)


def test_retry_takes_an_id_or_a_status(served) -> None:  # noqa: F811
    info, env = served
    junipeer("sandbox", "connect", "--url", info["base_url"], env=env)
    neither = junipeer("retry", env=env, check=False)
    assert neither.returncode == 1 and "BAD_INPUT" in neither.stderr and "--status" in neither.stderr
    both = junipeer("retry", "42", "--status", "error", env=env, check=False)
    assert both.returncode == 1 and "BAD_INPUT" in both.stderr and "not both" in both.stderr
