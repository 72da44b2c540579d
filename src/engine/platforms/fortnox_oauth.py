"""Fortnox sign-in, client side: the authorize URL, the redirect it comes back with, and the code
exchange. Tokens and the client secret never leave this module except into the secret store."""

from __future__ import annotations

import http.server
import secrets
import threading
import time
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx

from engine.errors import EngineError

DEFAULT_BASE_URL = "https://api.fortnox.se/3/"
DEFAULT_AUTH_URL = "https://apps.fortnox.se/oauth-v1/auth"
DEFAULT_TOKEN_URL = "https://apps.fortnox.se/oauth-v1/token"
# What `junipeer connect fortnox` listens on; register it with the app in Fortnox's developer portal.
DEFAULT_REDIRECT_URI = "http://127.0.0.1:8765/callback"


def new_state() -> str:
    return secrets.token_urlsafe(24)


def authorize_url(
    auth_url: str, client_id: str, redirect_uri: str, scopes: list[str], state: str, *, service: bool = False
) -> str:
    params = {
        "client_id": client_id,
        "redirect_uri": redirect_uri,
        "scope": " ".join(scopes),
        "state": state,
        "access_type": "offline",
        "response_type": "code",
    }
    if service:
        params["account_type"] = "service"
    return f"{auth_url}?{urlencode(params)}"


def code_from(pasted: str, state: str) -> str:
    """The authorization code in what the operator pasted: the whole redirect URL (its `state` must
    be ours) or the bare code."""
    text = pasted.strip()
    if not text:
        raise EngineError("FORTNOX_CODE_MISSING", "Nothing was pasted: paste the redirect URL or the code")
    if "?" not in text and "=" not in text:
        return text
    query = parse_qs(urlsplit(text).query if "?" in text else text)
    if "error" in query:
        described = query.get("error_description", [""])[0]
        raise EngineError(
            "FORTNOX_CONSENT_REFUSED",
            f"Fortnox answered {query['error'][0]}" + (f": {described}" if described else ""),
        )
    if query.get("state", [""])[0] != state:
        raise EngineError(
            "FORTNOX_STATE_MISMATCH",
            "The redirect's state is not the one this sign-in sent: it belongs to another attempt "
            "(or was forged); start `junipeer connect fortnox` again",
        )
    code = query.get("code", [""])[0]
    if not code:
        raise EngineError("FORTNOX_CODE_MISSING", "The redirect URL has no code")
    return code


def wait_for_redirect(
    redirect_uri: str, state: str, timeout: float, cancel: threading.Event | None = None
) -> str:
    """Listen on the redirect URI's loopback address until the browser comes back from Fortnox;
    return the code (checked against `state`). Setting `cancel` stops listening at once
    (FORTNOX_CONSENT_CANCELLED): the console does when the operator pastes the code or leaves."""
    where = urlsplit(redirect_uri)
    if where.scheme != "http" or where.hostname not in ("127.0.0.1", "localhost") or not where.port:
        raise EngineError(
            "BAD_INPUT",
            f"{redirect_uri} is not an address this machine can listen on (http://127.0.0.1:PORT/…): "
            "use --no-browser and paste the redirect URL instead",
        )
    arrived: list[str] = []
    done = threading.Event()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if urlsplit(self.path).path != where.path:
                self.send_error(404)
                return
            arrived.append(self.path)
            page = b"<p>Junipeer received the answer from Fortnox. You can close this tab.</p>"
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(page)))
            self.end_headers()
            self.wfile.write(page)
            done.set()

        def log_message(self, format: str, *args: Any) -> None:
            pass  # the request line carries the code: it stays out of the terminal and the logs

    try:
        server = http.server.HTTPServer((where.hostname or "127.0.0.1", where.port), Handler)
    except OSError as exc:
        raise EngineError(
            "REDIRECT_LISTENER_FAILED",
            f"Cannot listen on {where.hostname}:{where.port} ({exc.strerror or exc}): free the port, "
            "or use --no-browser and paste the redirect URL",
        ) from None
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + timeout
        while not done.wait(min(0.2, max(0.0, deadline - time.monotonic()))):
            if cancel is not None and cancel.is_set():
                raise EngineError("FORTNOX_CONSENT_CANCELLED", "Stopped waiting for Fortnox's answer")
            if time.monotonic() < deadline:
                continue
            raise EngineError(
                "FORTNOX_CONSENT_TIMEOUT",
                f"No answer from Fortnox within {timeout:.0f} s: run the command again (a code is "
                "valid 10 minutes), or use --no-browser and paste the redirect URL",
            )
    finally:
        server.shutdown()
        server.server_close()
    return code_from(f"{redirect_uri}?{urlsplit(arrived[0]).query}", state)


async def exchange_code(
    token_url: str, client_id: str, client_secret: str, code: str, redirect_uri: str
) -> dict[str, Any]:
    """Trade the code for tokens: {access_token, refresh_token, scope, expires_in}."""
    try:
        async with httpx.AsyncClient(timeout=30) as http:
            response = await http.post(
                token_url,
                auth=(client_id, client_secret),
                data={"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri},
                headers={"Accept": "application/json"},
            )
    except httpx.HTTPError as exc:
        raise EngineError(
            "PLATFORM_UNAVAILABLE",
            f"Fortnox's token endpoint {token_url} did not answer ({type(exc).__name__})",
        ) from None
    try:
        body = response.json()
    except ValueError:
        body = None
    if response.status_code != 200 or not isinstance(body, dict) or not body.get("access_token"):
        said = body.get("error_description") or body.get("error") if isinstance(body, dict) else None
        raise EngineError(
            "FORTNOX_CODE_REFUSED",
            f"Fortnox refused the authorization code (HTTP {response.status_code}"
            + (f": {said}" if said else "")
            + "): a code works once and for 10 minutes, with the redirect URI it was issued for; "
            "run `junipeer connect fortnox` again",
        )
    return body
