from __future__ import annotations

import json
import signal
import subprocess
import sys
from datetime import UTC, datetime

import httpx

from engine.sandbox import SandboxConfig, start_in_process
from engine.sandbox.client import control_client
from engine.sandbox.shopify_versions import supported_versions


def test_cli_prints_info_line_and_exits_cleanly_on_sigterm() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "engine.sandbox", "serve", "--port", "0", "--orders", "30", "--seed", "4",
         "--time-scale", "0.5", "--no-limits"],
        stdout=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        info = json.loads(proc.stdout.readline())
        keys = {"base_url", "shopify", "fortnox", "stripe", "control_url", "control_token", "time_scale"}
        keys |= {"limits", "seed"}
        assert set(info) == keys | {"orders"}
        assert (
            info["orders"] == 30
            and info["seed"] == 4
            and info["limits"] is False
            and info["time_scale"] == 0.5
        )
        newest = supported_versions(datetime.now(UTC))[-1]
        assert info["shopify"]["base_url"] == info["base_url"] + f"/shopify/admin/api/{newest}/"
        assert info["shopify"]["shop_domain"] == "junipeer-demo.myshopify.com"
        assert info["shopify"]["access_token"].startswith("shpat_sandbox_")
        assert info["stripe"]["api_key"].startswith("rk_test_sandbox_")
        assert info["stripe"]["secret_key"].startswith("sk_test_sandbox_")
        assert info["stripe"]["webhook_secret"].startswith("whsec_sandbox_")
        response = httpx.get(
            info["shopify"]["base_url"] + "orders/count.json",
            params={"status": "any"},
            headers={"X-Shopify-Access-Token": info["shopify"]["access_token"]},
        )
        assert response.json() == {"count": 30}
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if proc.stdout:
            proc.stdout.close()


def test_start_in_process() -> None:
    with start_in_process(SandboxConfig(orders=10)) as sandbox:
        with control_client(sandbox.info) as control:
            assert control.get("").json()["orders"] == 10
        assert sandbox.base_url == sandbox.info["base_url"] and not sandbox.base_url.endswith("/")
        process = sandbox.process
    assert process is not None and process.returncode == 0
