"""The junipeer command line, as an operator runs it: real processes, a real sandbox."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path

import pytest

from engine.sandbox.client import control_client
from engine.sandbox.server import SandboxConfig, start_in_thread


def junipeer(*args: str, env: dict[str, str], check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run(
        [sys.executable, "-m", "junipeer_tui.cli", *args],
        env=env,
        stdin=subprocess.DEVNULL,  # as from a script or cron: nobody at a terminal to answer
        capture_output=True,
        text=True,
        timeout=120,
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"junipeer {' '.join(args)} exited {proc.returncode}: {proc.stderr}")
    return proc


@pytest.fixture
def served(tmp_path: Path):
    env = {
        **os.environ,
        "JUNIPEER_DATA_DIR": str(tmp_path),
        "JUNIPEER_SECRETS": "file",
        "JUNIPEER_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.sqlite'}",
    }
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "junipeer_tui.cli",
            "sandbox",
            "serve",
            "--port",
            "0",
            "--orders",
            "30",
            "--time-scale",
            "0.02",
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    info = json.loads(proc.stdout.readline())
    # As an operator's script does: `sandbox connect` finds the control token in the environment.
    yield info, {**env, "JUNIPEER_SANDBOX_TOKEN": info["control_token"]}
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(15) == 0


def test_sandbox_connect_live_sets_live_mode(served) -> None:
    info, env = served
    junipeer("sandbox", "connect", "--url", info["base_url"], env=env)
    [onboarding] = json.loads(junipeer("integrations", "--json", env=env).stdout)
    junipeer("sandbox", "connect", "--url", info["base_url"], "--live", env=env)
    [live] = json.loads(junipeer("integrations", "--json", env=env).stdout)
    assert (onboarding["live"], live["live"]) == (False, True)
    assert live["onboarding"] is False and live["id"] == onboarding["id"]


def test_operator_session_from_the_command_line(served) -> None:
    info, env = served
    assert set(info) >= {"base_url", "shopify", "fortnox", "stripe", "control_url", "control_token"}
    connected = json.loads(
        junipeer("sandbox", "connect", "--url", info["base_url"], "--json", env=env).stdout
    )
    assert {(c["platform"], c["status"]) for c in connected} == {
        ("shopify", "connected"),
        ("fortnox", "connected"),
    }

    flows = json.loads(junipeer("flows", "--json", env=env).stdout)
    # The payouts flows are there, off: Stripe's until Stripe is connected, Shopify Payments' until
    # asked for (`sandbox connect --payouts`, or `flows enable`).
    assert [(f["key"], f["enabled"]) for f in flows] == [
        ("orders_to_fortnox", True),
        ("stripe_payouts_to_fortnox", False),
        ("shopify_payments_payouts_to_fortnox", False),
    ]

    one = json.loads(junipeer("export-one", "orders", "#1001", "--json", env=env, check=False).stdout)
    assert one["status"] == "completed" and one["total"] == 1

    since, today = (date.today() - timedelta(days=60)).isoformat(), date.today().isoformat()
    many = junipeer("export-many", "orders", "--from", since, "--to", today, "--json", env=env, check=False)
    result = json.loads(many.stdout)
    assert result["status"] == "completed" and result["synced"] > 10
    assert many.returncode == (1 if result["failed"] else 0)  # failures make the exit code say so

    errors = json.loads(junipeer("entities", "--status", "error", "--json", env=env).stdout)
    assert errors and all(e["error_code"] for e in errors)
    explained = json.loads(junipeer("explain", errors[0]["retriever_reference"], "--json", env=env).stdout)
    assert explained["verdict"] == "ERROR"
    logs = json.loads(junipeer("logs", "--ref", errors[0]["retriever_reference"], "--json", env=env).stdout)
    assert any(line["level"] == "error" for line in logs)
    refs = json.loads(junipeer("references", "--json", env=env).stdout)
    assert {r["type"] for r in refs} >= {"order", "customer"}
    tasks = json.loads(junipeer("tasks", "--json", env=env).stdout)
    assert [t["kind"] for t in tasks] == ["export_many", "export_one"]

    history = junipeer("time-history", "orders", "--set", "2026-11-01", "--yes", env=env)
    assert "last loaded is now 2026-11-01" in history.stdout
    _add_missing_articles(info)  # the cause of the errors, fixed: the sync now ends without any
    idle = junipeer("run", "--until-idle", env=env)
    assert idle.returncode == 0
    # The headless worker says what it did: the task it ran, how it ended, and that it is idle.
    lines = idle.stderr.splitlines()
    assert any(line.startswith("Task ") and " completed in " in line and "loaded " in line for line in lines)
    assert lines[-1] == "Idle: every enabled flow has caught up (1 task run, 0 stopped)"
    retried = junipeer("retry", str(errors[0]["id"]), "--json", env=env, check=False)
    assert json.loads(retried.stdout)["kind"] == "retry"


def _add_missing_articles(info: dict) -> None:
    control = control_client(info)
    known = {a["ArticleNumber"] for a in control.get("fortnox/articles").json()}
    skus = {li["sku"] for o in control.get("shopify/orders").json() for li in o["line_items"] if li["sku"]}
    for sku in sorted(skus - known):
        control.post("fortnox/articles", json={"ArticleNumber": sku, "Description": sku}).raise_for_status()
    control.close()


def test_run_until_idle_says_when_records_wait_for_a_person(served) -> None:
    info, env = served
    junipeer("sandbox", "connect", "--url", info["base_url"], env=env)
    idle = junipeer("run", "--until-idle", env=env, check=False)
    errors = json.loads(junipeer("entities", "--status", "error", "--json", env=env).stdout)
    assert {e["error_code"] for e in errors} == {"ARTICLE_NOT_FOUND"}
    assert idle.returncode == 1
    *_, verdict, what_to_do = idle.stderr.splitlines()
    assert len(errors) == 1  # one order of this seed has an unknown SKU
    assert verdict == "Idle: every enabled flow has caught up (1 task run, 0 stopped, 1 record in error)"
    assert "junipeer entities --status error" in what_to_do and "junipeer retry" in what_to_do


def test_run_until_idle_on_a_workspace_with_nothing_to_run_says_so(served) -> None:
    _, env = served
    idle = junipeer("run", "--until-idle", env=env, check=False)
    assert idle.returncode == 1 and "NOTHING_TO_RUN" in idle.stderr and "caught up" not in idle.stderr


@pytest.mark.parametrize("presses", [1, 2], ids=["Ctrl+C", "Ctrl+C twice"])
def test_ctrl_c_hands_an_export_many_back_within_seconds(tmp_path: Path, presses: int) -> None:
    env = {
        **os.environ,
        "JUNIPEER_DATA_DIR": str(tmp_path),
        "JUNIPEER_SECRETS": "file",
        "JUNIPEER_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.sqlite'}",
    }
    # Fortnox's window at 0.4 of real time: the export takes long enough to be interrupted.
    with start_in_thread(SandboxConfig(orders=120, seed=3, time_scale=0.4)) as sandbox:
        env["JUNIPEER_SANDBOX_TOKEN"] = sandbox.info["control_token"]
        junipeer("sandbox", "connect", "--url", sandbox.info["base_url"], env=env)
        since = (date.today() - timedelta(days=400)).isoformat()
        proc = subprocess.Popen(
            [sys.executable, "-m", "junipeer_tui.cli", "export-many", "orders", "--from", since,
             "--to", date.today().isoformat()],
            env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        control = control_client(sandbox.info)
        deadline = time.monotonic() + 60
        while len(control.get("fortnox/orders").json()) < 3:
            assert time.monotonic() < deadline and proc.poll() is None, "the export never got going"
            time.sleep(0.05)
        pressed = time.monotonic()
        for _ in range(presses):
            proc.send_signal(signal.SIGINT)
            time.sleep(0.05)
        _, err = proc.communicate(timeout=30)
        took = time.monotonic() - pressed
        assert took < 5, f"Ctrl+C took {took:.1f} s"
        assert proc.returncode == 130, err
        assert "handed back as pending" in err.splitlines()[-1]
        [task] = json.loads(junipeer("tasks", "--json", env=env).stdout)
        assert task["status"] == "pending" and task["synced"] < 120
        # The next worker takes it up where it was, and nothing reaches Fortnox twice.
        junipeer("run", "--until-idle", env=env, check=False)
        tasks = json.loads(junipeer("tasks", "--json", env=env).stdout)
        assert {t["kind"]: t["status"] for t in tasks} == {"export_many": "completed", "sync": "completed"}
        refs = [o["YourOrderNumber"] for o in control.get("fortnox/orders").json()]
        assert len(refs) == len(set(refs))
        control.close()


def test_moving_time_history_from_a_script_needs_yes(served) -> None:
    info, env = served
    junipeer("sandbox", "connect", "--url", info["base_url"], env=env)
    junipeer("time-history", "orders", "--set", "2026-11-01", "--yes", env=env)
    refused = junipeer("time-history", "orders", "--set", "2026-10-01", env=env, check=False)
    assert refused.returncode == 1 and "CONFIRMATION_NEEDED" in refused.stderr and "--yes" in refused.stderr
    [flow] = json.loads(junipeer("time-history", "--json", env=env).stdout)
    assert flow["last_loaded"].startswith("2026-11-01")  # not moved


def test_run_until_idle_exits_non_zero_when_a_task_stops(served, tmp_path: Path) -> None:
    info, env = served
    junipeer("sandbox", "connect", "--url", info["base_url"], env=env)
    # An operator cleared a required setting: the flow refuses to run, and the task stops.
    with sqlite3.connect(tmp_path / "cli.sqlite") as db:
        db.execute("DELETE FROM setting WHERE category = 'order' AND key = 'exclusion_date'")
    idle = junipeer("run", "--until-idle", env=env, check=False)
    assert idle.returncode == 1
    assert "stopped" in idle.stderr and "SETTINGS_REQUIRED" in idle.stderr
    assert idle.stderr.splitlines()[-1] == "Idle: not every flow caught up (1 task run, 1 stopped)"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["export-one", "nope", "#1"], "NO_FLOW"),
        (["export-many", "orders", "--from", "2026-13-01", "--to", "2026-01-01"], "is not a date"),
        (["export-many", "orders", "--from", "2026-02-01", "--to", "2026-01-01"], "BAD_INPUT"),
        (["retry", "999999"], "NO_ENTITY"),
        (["sandbox", "connect", "--url", "http://127.0.0.1:9"], "SANDBOX_UNREACHABLE"),
    ],
)
def test_bad_input_is_one_clear_line_and_a_non_zero_exit(served, args: list[str], message: str) -> None:
    info, env = served
    junipeer("sandbox", "connect", "--url", info["base_url"], env=env)
    proc = junipeer(*args, env=env, check=False)
    assert proc.returncode != 0
    assert message in proc.stderr and "Traceback" not in proc.stderr


def test_oss_mapping_is_imported_from_csv_all_or_nothing_and_exported(served, tmp_path: Path) -> None:
    info, env = served
    junipeer("sandbox", "connect", "--url", info["base_url"], env=env)
    before = junipeer("settings", "sales_accounts", "--export", env=env).stdout
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "country;vat_rate;sales_account;shipping_account;fee_account;credit_account\n"
        "DE;;3162;3169;;\nSE;;3001;;;\nDE;;3163;;;\n",
        encoding="utf-8",
    )
    refused = junipeer("settings", "sales_accounts", "--import", str(bad), env=env, check=False)
    assert refused.returncode == 1 and "Traceback" not in refused.stderr
    assert "line 3: SE is not an OSS country" in refused.stderr
    assert "line 4: DE is already mapped on line 2" in refused.stderr
    assert "BAD_INPUT: 2 bad line(s)" in refused.stderr and "nothing was saved" in refused.stderr
    assert junipeer("settings", "sales_accounts", "--export", env=env).stdout == before
    good = tmp_path / "good.csv"
    good.write_text(
        "\ufeffcountry;vat_rate;sales_account;shipping_account;fee_account;credit_account\n"
        "DE;;3162;3169;6570;3171\nDE;7;3163;;;3172\n",
        encoding="utf-8",
    )
    imported = junipeer("settings", "sales_accounts", "--import", str(good), env=env)
    assert "Imported 2 OSS mapping entries" in imported.stdout
    assert junipeer("settings", "sales_accounts", "--export", env=env).stdout.splitlines() == [
        "country,vat_rate,sales_account,shipping_account,fee_account,credit_account",
        "DE,,3162,3169,6570,3171",
        "DE,7,3163,,,3172",
    ]
