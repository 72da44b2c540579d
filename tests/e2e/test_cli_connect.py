"""Your own integration from the command line, from an empty database, against the sandbox playing
the real hosts: create it, connect Shopify (a Dev Dashboard app) and Fortnox (signing in with
--no-browser: the test follows the printed authorize URL as a browser would), save the settings,
enable the flow and export one order into Fortnox."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from engine.sandbox.server import SandboxConfig, start_in_thread
from tests.e2e.conftest import Sandbox


def junipeer(*args: str, env: dict[str, str], stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "junipeer_tui.cli", *args],
        env=env,
        input=stdin,
        stdin=None if stdin is not None else subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def sb() -> Any:
    with start_in_thread(SandboxConfig(orders=20, seed=5, time_scale=0.02)) as running:
        sandbox = Sandbox(running)
        yield sandbox
        sandbox.http.close()


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {
        **os.environ,
        "JUNIPEER_DATA_DIR": str(tmp_path),
        "JUNIPEER_SECRETS": "file",
        "JUNIPEER_DATABASE_URL": f"sqlite:///{tmp_path / 'own.sqlite'}",
    }


def sign_in_to_fortnox(
    sb: Sandbox, env: dict[str, str], secret: str | None = None
) -> subprocess.CompletedProcess:
    """`connect fortnox --no-browser`: read the authorize URL it prints, open it as a browser would
    (the sandbox consents at once and redirects), paste where it was sent."""
    fx = sb.info["fortnox"]
    proc = subprocess.Popen(
        [
            sys.executable, "-m", "junipeer_tui.cli", "connect", "fortnox", "--no-browser",
            "--client-id", fx["client_id"], "--base-url", fx["base_url"],
            "--auth-url", fx["auth_url"], "--token-url", fx["token_url"],
        ],
        env={**env, "JUNIPEER_FORTNOX_CLIENT_SECRET": secret or fx["client_secret"]},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    assert proc.stdout is not None
    address = proc.stdout.readline().strip()
    consent = httpx.get(address, follow_redirects=False, timeout=10)
    assert consent.status_code == 302, consent.text
    out, err = proc.communicate(consent.headers["location"] + "\n", timeout=120)
    return subprocess.CompletedProcess(proc.args, proc.returncode, address + "\n" + out, err)


def test_own_integration_from_an_empty_database(sb: Sandbox, env: dict[str, str], tmp_path: Path) -> None:
    shop, fx = sb.info["shopify"], sb.info["fortnox"]
    said: list[subprocess.CompletedProcess] = []

    def ok(*args: str, extra_env: dict[str, str] | None = None) -> str:
        proc = junipeer(*args, env={**env, **(extra_env or {})})
        said.append(proc)
        assert proc.returncode == 0, f"junipeer {' '.join(args)}: {proc.stderr}"
        return proc.stdout

    assert "No integration yet" in junipeer("flows", env=env).stderr
    ok("integrations", "create", "My shop")
    connected = ok(
        "connect", "shopify", "--shop", shop["shop_domain"], "--client-id", shop["client_id"],
        "--base-url", shop["base_url"],
        extra_env={"JUNIPEER_SHOPIFY_CLIENT_SECRET": shop["client_secret"]},
    )  # fmt: skip
    assert "Connected to Junipeer Demo" in connected and "orders readable" in connected

    signed_in = sign_in_to_fortnox(sb, env)
    said.append(signed_in)
    assert signed_in.returncode == 0, signed_in.stderr
    address = signed_in.stdout.splitlines()[0]
    assert address.startswith(fx["auth_url"] + "?") and "state=" in address
    assert "scope=" in address and "order" in httpx.URL(address).params["scope"].split()
    assert "Connected (signed in)" in signed_in.stdout

    ninety_days_ago = (date.today() - timedelta(days=90)).isoformat()
    refused = junipeer("settings", "order", "--set", "exclusion_date=", env=env)
    assert refused.returncode == 1 and "BAD_INPUT" in refused.stderr and "required" in refused.stderr
    ok("settings", "order", "--set", f"exclusion_date={ninety_days_ago}")
    ok("settings", "shipping", "--set", "mapping.DHL Express=DHL", "--set", "mapping.Budbee Home=BUD")
    ok("settings", "payment", "--set", 'mapping={"stripe": "K", "klarna": "KL", "paypal": "PP"}')
    listed = ok("settings", "--json")
    assert '"DHL Express": "DHL"' in listed and '"missing": true' not in listed

    not_yet = junipeer("live", "on", env=env)
    assert not_yet.returncode == 1 and "NOT_READY" in not_yet.stderr and "enable a flow" in not_yet.stderr
    ok("flows", "enable", "orders_to_fortnox")
    order = sb.post("shopify/orders", {"financial_status": "paid", "shipping_country": "SE"})
    exported = ok("export-one", "orders_to_fortnox", order["name"])
    assert "1 synced" in exported
    assert sb.fortnox_orders_by_ref()[order["name"]] == 1
    ok("live", "on")

    # Nothing secret in what was printed or in the database.
    stored = (tmp_path / "secrets.json").read_text()
    secrets = [shop["client_secret"], fx["client_secret"]]
    secrets += [v for k, v in _values(stored) if k in ("access_token", "refresh_token", "client_secret")]
    database = (tmp_path / "own.sqlite").read_bytes()
    for secret in secrets:
        assert len(secret) > 12
        assert all(secret not in p.stdout + p.stderr for p in said), "a secret was printed"
        assert secret.encode() not in database, "a secret reached the database"


def _values(text: str) -> list[tuple[str, str]]:
    import json

    found = []
    for entry in json.loads(text).values():
        found += [(k, v) for k, v in entry.items() if isinstance(v, str)]
    return found


def test_connect_commands_tell_the_truth_in_their_exit_code(sb: Sandbox, env: dict[str, str]) -> None:
    shop, fx = sb.info["shopify"], sb.info["fortnox"]
    assert junipeer("integrations", "create", "Mine", env=env).returncode == 0
    taken = junipeer("integrations", "create", "Mine", env=env)
    assert taken.returncode == 1 and "INTEGRATION_EXISTS" in taken.stderr

    not_a_shop = junipeer("connect", "shopify", "--shop", "mine.example.com", "--access-token", "x", env=env)
    assert not_a_shop.returncode == 1 and "myshopify.com" in not_a_shop.stderr
    wrong = junipeer(
        "connect", "shopify", "--shop", shop["shop_domain"], "--client-id", shop["client_id"],
        "--base-url", shop["base_url"], env={**env, "JUNIPEER_SHOPIFY_CLIENT_SECRET": "not-the-secret"},
    )  # fmt: skip
    assert wrong.returncode == 1 and "CONNECTION_TEST_FAILED" in wrong.stderr
    assert "not-the-secret" not in wrong.stdout + wrong.stderr

    # A consent whose redirect state is not ours is refused before any code is exchanged.
    forged = subprocess.run(
        [
            sys.executable, "-m", "junipeer_tui.cli", "connect", "fortnox", "--no-browser",
            "--client-id", fx["client_id"], "--auth-url", fx["auth_url"], "--token-url", fx["token_url"],
        ],
        env={**env, "JUNIPEER_FORTNOX_CLIENT_SECRET": fx["client_secret"]},
        input="http://127.0.0.1:8765/callback?code=abc&state=someone-elses\n",
        capture_output=True,
        text=True,
        timeout=60,
    )  # fmt: skip
    assert forged.returncode == 1 and "FORTNOX_STATE_MISMATCH" in forged.stderr

    # A wrong client secret: the code exchange is refused with a code, and nothing is stored.
    refused = sign_in_to_fortnox(sb, env, secret="wrong-secret")
    assert refused.returncode == 1 and "FORTNOX_CODE_REFUSED" in refused.stderr
    listed = junipeer("integrations", "--json", env=env).stdout
    assert "fortnox" not in listed


def test_a_missing_scope_is_named_at_test_connection_and_at_sync(sb: Sandbox, env: dict[str, str]) -> None:
    shop = sb.info["shopify"]
    assert junipeer("integrations", "create", "Mine", env=env).returncode == 0
    sb.post("shopify/access-scopes", {"scopes": ["read_products"]})
    lacking = junipeer(
        "connect", "shopify", "--shop", shop["shop_domain"], "--access-token", shop["access_token"],
        "--base-url", shop["base_url"], env=env,
    )  # fmt: skip
    assert lacking.returncode == 1 and "read_orders" in lacking.stdout
    assert "CONNECTION_TEST_FAILED" in lacking.stderr


def test_connect_fortnox_receives_the_redirect_on_loopback(sb: Sandbox, env: dict[str, str]) -> None:
    """Without --no-browser: the command opens the authorize URL (here a browser that does nothing)
    and listens on the redirect URI; the browser's return there completes the sign-in."""
    fx = sb.info["fortnox"]
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    redirect_uri = f"http://127.0.0.1:{port}/callback"
    sb.post("fortnox/redirect-uris", {"uris": [redirect_uri]})
    assert junipeer("integrations", "create", "Mine", env=env).returncode == 0
    proc = subprocess.Popen(
        [
            sys.executable, "-m", "junipeer_tui.cli", "connect", "fortnox", "--client-id", fx["client_id"],
            "--redirect-uri", redirect_uri, "--base-url", fx["base_url"], "--auth-url", fx["auth_url"],
            "--token-url", fx["token_url"], "--timeout", "60",
        ],
        env={**env, "JUNIPEER_FORTNOX_CLIENT_SECRET": fx["client_secret"], "BROWSER": "true"},
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    assert proc.stdout is not None
    address = proc.stdout.readline().strip()
    back = httpx.get(address, follow_redirects=False, timeout=10).headers["location"]
    assert back.startswith(redirect_uri + "?")
    page = None
    for _ in range(50):  # the listener may still be starting
        try:
            page = httpx.get(back, timeout=10)
            break
        except httpx.ConnectError:
            time.sleep(0.1)
    assert page is not None and page.status_code == 200 and "You can close this tab" in page.text
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert "Connected (signed in)" in out


def test_connect_remove_forgets_a_saved_connection_never_the_one_in_use(
    sb: Sandbox, env: dict[str, str]
) -> None:
    shop = sb.info["shopify"]
    assert junipeer("integrations", "create", "Mine", env=env).returncode == 0
    for name in ("test", "production"):
        made = junipeer(
            "connect", "shopify", "--shop", shop["shop_domain"], "--access-token", shop["access_token"],
            "--base-url", shop["base_url"], "--connection", name, env=env,
        )  # fmt: skip
        assert made.returncode == 0, made.stderr
    in_use = junipeer("connect", "remove", "shopify", "--connection", "production", "--yes", env=env)
    assert in_use.returncode == 1 and "CONNECTION_IN_USE" in in_use.stderr
    unasked = junipeer("connect", "remove", "shopify", "--connection", "test", env=env, stdin="")
    assert unasked.returncode == 1 and "CONFIRMATION_NEEDED" in unasked.stderr
    removed = junipeer("connect", "remove", "shopify", "--connection", "test", "--yes", env=env)
    assert removed.returncode == 0, removed.stderr
    assert "left: production (in use: production)" in removed.stdout
    again = junipeer("connect", "shopify", "--connection", "test", env=env)
    assert again.returncode == 1 and "NO_CONNECTION" in again.stderr
