"""Fortnox's OAuth endpoints at apps.fortnox.se/oauth-v1: consent (`auth`) and tokens (`token`).

Facts (fortnox.se/developer/authorization): the token endpoint takes HTTP Basic client id:secret and
a form body; `authorization_code` needs the `redirect_uri` of the authorize request, identical;
tokens last 3600 s and every refresh rotates the refresh token; a service account
(`account_type=service` at consent) gets access tokens by `client_credentials` with a `TenantId`
header and no refresh token. Requesting a scope the app is not registered for is refused with
`invalid_scope` before login (a public integration's report). Codes are single-use and valid
10 minutes; refresh tokens die after 31–45 unused days (the sandbox takes 31, the strictest).

Choices where the facts are open (the sandbox refuses rather than accepts):
- `state` is required, and only registered redirect URIs are accepted, exactly.
- Without `access_type=offline` the code's tokens carry no refresh token.
- The consent itself is given at once: the sandbox has no user to ask.
Codes and unused refresh tokens age on the sandbox's time scale, like its rate-limit windows; the
access token's 3600 s do not, because clients read `expires_in` as real seconds.
"""

from __future__ import annotations

import base64
import binascii
import secrets
import time
from typing import Any
from urllib.parse import parse_qs, urlencode

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from engine.sandbox.common import json_response
from engine.sandbox.state import FortnoxGrant, FortnoxStore, SandboxState

ACCESS_TOKEN_SECONDS = 3600
CODE_SECONDS = 600
REFRESH_IDLE_DAYS = 31


def _oauth_error(status: int, error: str, description: str) -> Response:
    return json_response({"error": error, "error_description": description}, status)


def _redirect(redirect_uri: str, params: dict[str, str]) -> Response:
    sep = "&" if "?" in redirect_uri else "?"
    return RedirectResponse(f"{redirect_uri}{sep}{urlencode(params)}", status_code=302)


async def authorize(request: Request) -> Response:
    """GET /oauth-v1/auth: the consent. A request the sandbox can't trust to redirect (unknown app or
    redirect URI) is answered here; any other refusal goes back to the redirect URI with `error`."""
    state: SandboxState = request.app.state.sandbox
    store = state.fortnox
    q = request.query_params
    redirect_uri = q.get("redirect_uri", "")
    with state.lock:
        if q.get("client_id") != store.client_id:
            return _oauth_error(400, "invalid_client", "Unknown client_id")
        if redirect_uri not in store.redirect_uris:
            return _oauth_error(400, "invalid_request", "redirect_uri is not registered for this app")
        answer = {"state": q["state"]} if q.get("state") else {}
        if q.get("response_type") != "code":
            return _redirect(redirect_uri, {**answer, "error": "unsupported_response_type"})
        if not q.get("state"):
            return _redirect(redirect_uri, {"error": "invalid_request", "error_description": "state missing"})
        scopes = frozenset(q.get("scope", "").split())
        if not scopes or not scopes <= store.app_scopes:
            extra = " ".join(sorted(scopes - store.app_scopes)) or "(none asked for)"
            return _redirect(
                redirect_uri,
                {**answer, "error": "invalid_scope", "error_description": f"Scopes not allowed: {extra}"},
            )
        account_type = q.get("account_type", "")
        if account_type == "service":
            store.service_consent = scopes
        code = secrets.token_urlsafe(24)
        store.codes[code] = FortnoxGrant(
            store.client_id,
            scopes,
            time.time() + CODE_SECONDS * state.config.time_scale,
            redirect_uri=redirect_uri,
            account_type=account_type,
            offline=q.get("access_type") == "offline",
        )
    return _redirect(redirect_uri, {"code": code, **answer})


def _issue(store: FortnoxStore, grant: FortnoxGrant, *, refresh: bool) -> dict[str, Any]:
    access = f"sandbox-access-{secrets.token_hex(24)}"
    store.access_tokens[access] = FortnoxGrant(
        grant.client_id, grant.scopes, time.time() + ACCESS_TOKEN_SECONDS
    )
    body: dict[str, Any] = {
        "access_token": access,
        "scope": " ".join(sorted(grant.scopes)),
        "expires_in": ACCESS_TOKEN_SECONDS,
        "token_type": "bearer",
    }
    if refresh:
        token = f"sandbox-refresh-{secrets.token_hex(20)}"
        store.refresh_tokens[token] = FortnoxGrant(grant.client_id, grant.scopes, time.time())
        body["refresh_token"] = token
    return body


async def token(request: Request) -> Response:
    """POST /oauth-v1/token: authorization_code, refresh_token or client_credentials."""
    state: SandboxState = request.app.state.sandbox
    store = state.fortnox
    auth = request.headers.get("authorization", "")
    try:
        scheme, _, encoded = auth.partition(" ")
        client_id, _, secret = base64.b64decode(encoded).decode().partition(":")
        if scheme.lower() != "basic":
            raise ValueError(scheme)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        return _oauth_error(
            401, "invalid_client", "HTTP Basic authentication with client id and secret required"
        )
    # Parsed by hand: Starlette's form parser needs python-multipart, which the project doesn't ship.
    try:
        form = {k: v[0] for k, v in parse_qs((await request.body()).decode(), keep_blank_values=True).items()}
    except UnicodeDecodeError:
        return _oauth_error(400, "invalid_request", "The body must be form-encoded")
    idle_seconds = REFRESH_IDLE_DAYS * 86_400 * state.config.time_scale
    now = time.time()
    with state.lock:
        if client_id != store.client_id or secret != store.client_secret:
            return _oauth_error(401, "invalid_client", "Unknown client or wrong client secret")
        grant_type = str(form.get("grant_type") or "")
        if grant_type == "refresh_token":
            # Rotation: the presented refresh token dies now, whether or not the answer reaches the client.
            grant = store.refresh_tokens.pop(str(form.get("refresh_token") or ""), None)
            if grant is None or grant.client_id != client_id:
                return _oauth_error(400, "invalid_grant", "Invalid refresh token")
            if now - grant.at > idle_seconds:
                return _oauth_error(400, "invalid_grant", "The refresh token has expired (unused too long)")
            return json_response(_issue(store, grant, refresh=True))
        if grant_type == "authorization_code":
            # Single use: the code is gone once presented, even when the exchange is refused.
            grant = store.codes.pop(str(form.get("code") or ""), None)
            if grant is None or grant.client_id != client_id:
                return _oauth_error(400, "invalid_grant", "Invalid or already used authorization code")
            if grant.at < now:
                return _oauth_error(400, "invalid_grant", "The authorization code has expired")
            if form.get("redirect_uri") != grant.redirect_uri:
                return _oauth_error(
                    400, "invalid_grant", "redirect_uri differs from the one of the authorization request"
                )
            return json_response(_issue(store, grant, refresh=grant.offline))
        if grant_type == "client_credentials":
            if request.headers.get("tenantid") != store.tenant_id:
                return _oauth_error(400, "invalid_request", "Unknown or missing TenantId header")
            if store.service_consent is None:
                return _oauth_error(
                    400,
                    "unauthorized_client",
                    "No service account consent: a system administrator must authorize the app "
                    "with account_type=service first",
                )
            consent = FortnoxGrant(client_id, store.service_consent, now)
            return json_response(_issue(store, consent, refresh=False))
        return _oauth_error(400, "unsupported_grant_type", f"Unsupported grant_type {grant_type!r}")
