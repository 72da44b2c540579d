"""Shopify's Admin API tokens: the client-credentials grant of Dev Dashboard apps, and the access
scopes each resource needs.

Facts (PLATFORMS.md, "Where the real hosts are stricter"): `POST {shop}/admin/oauth/access_token`
with the form fields client_id, client_secret and grant_type=client_credentials answers
{access_token, scope, expires_in ≈ 86399}; the token stops working after 24 hours. A call outside
the granted scopes answers 403 "[API] This action requires merchant approval for <scope> scope.";
a `write_` scope includes its `read_` one.

The token's lifetime runs on the sandbox's time scale, and `expires_in` states it in real seconds,
as clients read it. The sandbox's own `shpat_` token (a custom app made before 2026) never expires.
"""

from __future__ import annotations

import secrets
import time
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import Response

from engine.sandbox.common import json_response
from engine.sandbox.state import SandboxState

TOKEN_SECONDS = 86_399

# The versioned API's resources → the read scope they need (writes need the write_ one).
RESOURCE_SCOPES = {
    "orders": "orders",
    "products": "products",
    "customers": "customers",
    "inventory_levels": "inventory",
    "shopify_payments": "shopify_payments_payouts",
}


def app_of(state: SandboxState, token: str) -> str | None:
    """Which app a token belongs to (its rate-limit bucket is per app and store), or None when the
    token is unknown or expired. Call with the state's lock held."""
    if not token:
        return None
    if secrets.compare_digest(token, state.creds.shopify_access_token):
        return token
    expires = state.shopify.issued_tokens.get(token)
    if expires is None:
        return None
    if expires < time.time():
        del state.shopify.issued_tokens[token]
        return None
    return state.creds.shopify_client_id


def scope_needed(method: str, path: str) -> str | None:
    """The scope a request needs ("read_orders", "write_inventory"), or None (shop.json, scopes)."""
    if "/admin/api/" not in path:
        return None
    parts = path.split("/admin/api/", 1)[1].split("/")
    resource = parts[1].removesuffix(".json") if len(parts) > 1 else ""
    noun = RESOURCE_SCOPES.get(resource)
    if noun is None:
        return None
    return f"{'read' if method in ('GET', 'HEAD') else 'write'}_{noun}"


def has_scope(granted: set[str], needed: str) -> bool:
    return needed in granted or needed.replace("read_", "write_", 1) in granted


def missing_scope_message(scope: str) -> str:
    return f"[API] This action requires merchant approval for {scope} scope."


def _error(status: int, error: str, description: str) -> Response:
    return json_response({"error": error, "error_description": description}, status)


async def access_token(request: Request) -> Response:
    """POST /admin/oauth/access_token with grant_type=client_credentials."""
    state: SandboxState = request.app.state.sandbox
    if "application/x-www-form-urlencoded" not in request.headers.get("content-type", ""):
        return _error(400, "invalid_request", "Send the fields form-encoded")
    try:
        form = {k: v[0] for k, v in parse_qs((await request.body()).decode(), keep_blank_values=True).items()}
    except UnicodeDecodeError:
        return _error(400, "invalid_request", "The body must be form-encoded")
    creds = state.creds
    if form.get("grant_type") != "client_credentials":
        return _error(400, "unsupported_grant_type", "Only grant_type=client_credentials is served here")
    if form.get("client_id") != creds.shopify_client_id or not secrets.compare_digest(
        form.get("client_secret", ""), creds.shopify_client_secret
    ):
        return _error(401, "invalid_client", "Unknown client_id or wrong client_secret")
    lifetime = max(1, round(TOKEN_SECONDS * state.config.time_scale))
    token = f"shpat_cc_sandbox_{secrets.token_hex(16)}"
    with state.lock:
        state.shopify.issued_tokens[token] = time.time() + lifetime
        scopes = ",".join(state.shopify.scopes)
    return json_response({"access_token": token, "scope": scopes, "expires_in": lifetime})
