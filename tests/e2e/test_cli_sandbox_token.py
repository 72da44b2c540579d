"""`junipeer sandbox serve` prints its control token; `junipeer sandbox connect` needs it."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

from tests.e2e.test_cli import junipeer


def test_connect_with_the_command_serve_printed(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "JUNIPEER_DATA_DIR": str(tmp_path),
        "JUNIPEER_SECRETS": "file",
        "JUNIPEER_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.sqlite'}",
    }
    env.pop("JUNIPEER_SANDBOX_TOKEN", None)
    serve = [
        sys.executable,
        "-m",
        "junipeer_tui.cli",
        "sandbox",
        "serve",
        "--host",
        "0.0.0.0",
        "--orders",
        "5",
    ]
    proc = subprocess.Popen(serve, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stderr is not None
        info = json.loads(proc.stdout.readline())
        warning, hint = proc.stderr.readline(), proc.stderr.readline()
        assert warning.startswith(
            "warning: the sandbox listens on 0.0.0.0, where other machines can reach it"
        )
        # The operator pastes the command the sandbox printed.
        assert hint.startswith("connect with: junipeer sandbox connect --url ")
        args = shlex.split(hint.removeprefix("connect with: junipeer "))
        assert args[args.index("--token") + 1] == info["control_token"]

        missing = junipeer("sandbox", "connect", "--url", info["base_url"], env=env, check=False)
        assert missing.returncode == 1 and "SANDBOX_TOKEN_NEEDED" in missing.stderr
        assert "--token" in missing.stderr and "Traceback" not in missing.stderr
        wrong = junipeer(
            "sandbox", "connect", "--url", info["base_url"], "--token", "guess", env=env, check=False
        )
        assert wrong.returncode == 1 and "SANDBOX_TOKEN_REFUSED" in wrong.stderr
        assert json.loads(junipeer("integrations", "--json", env=env).stdout) == []

        connected = json.loads(junipeer(*args, "--json", env=env).stdout)
        assert {(c["platform"], c["status"]) for c in connected} == {
            ("shopify", "connected"),
            ("fortnox", "connected"),
        }
    finally:
        proc.terminate()
        proc.communicate(timeout=15)
