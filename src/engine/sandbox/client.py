"""Calling the sandbox's `/_sandbox/` control endpoints: every caller (tests, `junipeer sandbox
connect`, benchmarks) sends the control token the sandbox printed when it started."""

from __future__ import annotations

from typing import Any

import httpx

from engine.errors import EngineError

TOKEN_HEADER = "Authorization"


def control_headers(token: str) -> dict[str, str]:
    return {TOKEN_HEADER: f"Bearer {token}"}


def control_client(info: dict[str, Any], timeout: float = 10.0) -> httpx.Client:
    """A client on the control URL of a started sandbox (its info dict), carrying its token."""
    return httpx.Client(
        base_url=info["control_url"], headers=control_headers(info["control_token"]), timeout=timeout
    )


def fetch_info(url: str, token: str) -> dict[str, Any]:
    """The info dict (URLs and credentials) of the sandbox serving at `url`, asked with `token`."""
    base = url.rstrip("/")
    try:
        resp = httpx.get(f"{base}/_sandbox/", headers=control_headers(token), timeout=10)
    except httpx.HTTPError as exc:
        raise EngineError(
            "SANDBOX_UNREACHABLE", f"No sandbox answers at {url}: {exc}; is `junipeer sandbox serve` running?"
        ) from exc
    if resp.status_code == 401:
        raise EngineError(
            "SANDBOX_TOKEN_REFUSED",
            f"The sandbox at {url} refused the token: pass the control_token it printed when it started "
            "(a new one on every start)",
        )
    try:
        resp.raise_for_status()
        return resp.json()  # type: ignore[no-any-return]
    except (httpx.HTTPError, ValueError) as exc:
        raise EngineError("SANDBOX_UNREACHABLE", f"No sandbox answers at {url}: {exc}") from exc
