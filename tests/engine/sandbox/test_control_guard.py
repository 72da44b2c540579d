"""The control endpoints hand out credentials and change faults: only a caller holding the control
token gets through, a browser page on another origin never, and the sandbox says so when it listens
beyond this machine."""

from __future__ import annotations

import json
import subprocess
import sys

import httpx
import pytest

from engine.sandbox import RunningSandbox
from engine.sandbox.client import control_headers
from engine.sandbox.server import is_loopback


def faults(sandbox: RunningSandbox) -> dict:
    assert sandbox.state is not None
    with sandbox.state.lock:
        return sandbox.state.faults.describe()


def articles(control: httpx.Client) -> set[str]:
    return {a["ArticleNumber"] for a in control.get("fortnox/articles").json()}


@pytest.mark.parametrize("headers", [{}, control_headers("not-the-token"), {"X-Other": "x"}])
def test_no_token_no_credentials_and_no_faults(sandbox: RunningSandbox, headers: dict[str, str]) -> None:
    url = sandbox.info["control_url"]
    info = httpx.get(url, headers=headers, timeout=10)
    assert info.status_code == 401 and info.headers["www-authenticate"].startswith("Bearer")
    assert sandbox.info["shopify"]["access_token"] not in info.text
    assert sandbox.info["control_token"] not in info.text
    before = faults(sandbox)
    refused = httpx.post(url + "faults", json={"platform": "fortnox", "error_5xx": 1.0}, headers=headers)
    assert refused.status_code == 401 and faults(sandbox) == before


def test_the_token_opens_them(sandbox: RunningSandbox, control: httpx.Client) -> None:
    info = control.get("").json()
    assert info["fortnox"]["client_secret"] == sandbox.info["fortnox"]["client_secret"]
    # An action without a body needs no content type.
    assert control.post("stats/reset").json() == {"reset": True}


def test_a_page_on_another_origin_is_refused(sandbox: RunningSandbox, control: httpx.Client) -> None:
    body = {"ArticleNumber": "CROSS-ORIGIN", "Description": "from a web page"}
    for origin in ("http://evil.example", "null", sandbox.base_url.replace("127.0.0.1", "localhost")):
        refused = control.post("fortnox/articles", json=body, headers={"Origin": origin})
        assert refused.status_code == 403 and "cross-origin" in refused.json()["error"]
        assert control.get("", headers={"Origin": origin}).status_code == 403
    assert "CROSS-ORIGIN" not in articles(control)
    # The sandbox's own origin is its own.
    own = control.post("fortnox/articles", json=body, headers={"Origin": sandbox.base_url})
    assert own.status_code == 201 and "CROSS-ORIGIN" in articles(control)


@pytest.mark.parametrize(
    ("content_type", "content"),
    [
        ("application/x-www-form-urlencoded", b"ArticleNumber=FORM-POST&Description=x"),
        (
            "multipart/form-data; boundary=x",
            b'--x\r\nContent-Disposition: form-data; name="a"\r\n\r\n1\r\n--x--',
        ),
        ("text/plain", b'{"ArticleNumber": "FORM-POST", "Description": "x"}'),
        (None, b'{"ArticleNumber": "FORM-POST", "Description": "x"}'),
    ],
)
def test_a_post_must_be_json(control: httpx.Client, content_type: str | None, content: bytes) -> None:
    headers = {"Content-Type": content_type} if content_type else {}  # raw bytes get no type of their own
    refused = control.post("fortnox/articles", content=content, headers=headers)
    assert refused.status_code == 415
    assert "FORM-POST" not in articles(control)


@pytest.mark.parametrize(
    ("host", "loopback"),
    [("127.0.0.1", True), ("::1", True), ("localhost", True), ("0.0.0.0", False), ("::", False),
     ("192.168.1.20", False), ("sandbox.lan", False)],
)  # fmt: skip
def test_loopback_hosts(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


@pytest.mark.parametrize(("host", "warned"), [("0.0.0.0", True), ("127.0.0.1", False)])
def test_serving_beyond_this_machine_warns(host: str, warned: bool) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "engine.sandbox", "serve", "--host", host, "--port", "0", "--orders", "5"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        info = json.loads(proc.stdout.readline())
        assert (
            httpx.get(info["control_url"], headers=control_headers(info["control_token"])).status_code == 200
        )
    finally:
        proc.terminate()
        _, stderr = proc.communicate(timeout=15)
    assert ("warning: the sandbox listens on 0.0.0.0" in stderr) is warned, stderr
