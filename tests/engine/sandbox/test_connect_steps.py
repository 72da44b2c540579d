"""The connect steps as the sandbox plays them: Fortnox's consent, codes and scoped tokens, its
service accounts, and Shopify's 24-hour client-credentials tokens."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from engine.sandbox import RunningSandbox, SandboxConfig, start_in_thread
from engine.sandbox.state import SHOPIFY_SCOPES

from .conftest import fortnox_tokens


def consent(info: dict[str, Any], **overrides: str) -> httpx.Response:
    fx = info["fortnox"]
    params = {
        "client_id": fx["client_id"],
        "redirect_uri": fx["redirect_uri"],
        "scope": "order settings",
        "state": "st-1",
        "access_type": "offline",
        "response_type": "code",
        **overrides,
    }
    return httpx.get(fx["auth_url"], params=params)


def redirected(response: httpx.Response) -> dict[str, str]:
    assert response.status_code == 302, response.text
    return {k: v[0] for k, v in parse_qs(urlsplit(response.headers["location"]).query).items()}


def exchange(info: dict[str, Any], code: str, redirect_uri: str | None = None) -> httpx.Response:
    fx = info["fortnox"]
    return httpx.post(
        fx["token_url"],
        auth=(fx["client_id"], fx["client_secret"]),
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri or fx["redirect_uri"],
        },
    )


def bearer(info: dict[str, Any], token: str) -> httpx.Client:
    return httpx.Client(base_url=info["fortnox"]["base_url"], headers={"Authorization": f"Bearer {token}"})


@pytest.fixture
def slow_clock() -> Any:
    # time_scale 0.001: a code lives 0.6 s and a Shopify token 86 s; the access token's 3600 s are real.
    with start_in_thread(SandboxConfig(orders=5, time_scale=0.001, limits=False)) as running:
        yield running


def test_consent_redirects_with_a_single_use_code_for_the_scopes_asked(sandbox: RunningSandbox) -> None:
    info = sandbox.info
    answer = redirected(consent(info))
    assert answer["state"] == "st-1"
    assert urlsplit(consent(info).headers["location"]).netloc == "127.0.0.1:8765"
    tokens = exchange(info, answer["code"])
    assert tokens.status_code == 200, tokens.text
    body = tokens.json()
    assert body["scope"] == "order settings" and body["refresh_token"] and body["expires_in"] == 3600
    again = exchange(info, answer["code"])
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"

    with bearer(info, body["access_token"]) as fortnox:
        assert fortnox.get("orders").status_code == 200
        refused = fortnox.get("customers")
        assert refused.status_code == 403
        assert refused.json()["ErrorInformation"]["code"] == 2000663
        assert refused.json()["ErrorInformation"]["message"] == "Har inte behörighet för scope"
    # A refresh keeps the consent's scopes.
    rotated = fortnox_tokens(info, body["refresh_token"]).json()
    assert rotated["scope"] == "order settings"


def test_the_exchange_needs_the_same_redirect_uri(sandbox: RunningSandbox) -> None:
    code = redirected(consent(sandbox.info))["code"]
    refused = exchange(sandbox.info, code, "http://127.0.0.1:9999/elsewhere")
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_grant"
    # The refused exchange used the code up.
    assert exchange(sandbox.info, code).json()["error"] == "invalid_grant"


def test_consent_refusals(sandbox: RunningSandbox, control: httpx.Client) -> None:
    info = sandbox.info
    unregistered = consent(info, redirect_uri="http://evil.example/cb")
    assert unregistered.status_code == 400 and "location" not in unregistered.headers
    assert consent(info, client_id="someone-else").status_code == 400
    assert redirected(consent(info, scope="order payroll"))["error"] == "invalid_scope"
    assert redirected(consent(info, response_type="token"))["error"] == "unsupported_response_type"
    assert redirected(consent(info, state=""))["error"] == "invalid_request"
    # Online access: tokens without a refresh token.
    online = exchange(info, redirected(consent(info, access_type="online"))["code"]).json()
    assert "refresh_token" not in online
    # A redirect URI registered later (the developer portal's list) is accepted exactly.
    uri = "http://127.0.0.1:41234/callback"
    control.post("fortnox/redirect-uris", json={"uris": [uri]}).raise_for_status()
    try:
        assert redirected(consent(info, redirect_uri=uri))["code"]
        assert consent(info, redirect_uri=uri + "/").status_code == 400
    finally:
        control.post("fortnox/redirect-uris", json={"uris": [info["fortnox"]["redirect_uri"]]})


def test_service_account_tokens_need_a_consent_and_the_tenant(sandbox: RunningSandbox) -> None:
    fx = sandbox.info["fortnox"]

    def client_credentials(tenant: str) -> httpx.Response:
        return httpx.post(
            fx["token_url"],
            auth=(fx["client_id"], fx["client_secret"]),
            headers={"TenantId": tenant},
            data={"grant_type": "client_credentials"},
        )

    before = client_credentials(fx["tenant_id"])
    assert before.status_code == 400 and before.json()["error"] == "unauthorized_client"
    redirected(consent(sandbox.info, account_type="service", scope="order settings customer"))
    assert client_credentials("1").status_code == 400
    issued = client_credentials(fx["tenant_id"])
    assert issued.status_code == 200, issued.text
    body = issued.json()
    assert "refresh_token" not in body and body["scope"] == "customer order settings"
    with bearer(sandbox.info, body["access_token"]) as fortnox:
        assert fortnox.get("customers").status_code == 200
        assert fortnox.get("invoices").status_code == 403


def test_codes_expire(slow_clock: RunningSandbox) -> None:
    code = redirected(consent(slow_clock.info))["code"]
    time.sleep(0.7)  # past the code's 10 minutes
    stale = exchange(slow_clock.info, code)
    assert stale.status_code == 400 and "expired" in stale.json()["error_description"]


def test_refresh_tokens_left_unused_die() -> None:
    # time_scale 1e-6: 31 unused days are 2.7 s.
    with start_in_thread(SandboxConfig(orders=5, time_scale=1e-6, limits=False)) as running:
        info = running.info
        kept = info["fortnox"]["refresh_token"]
        for _ in range(4):  # used every 0.8 s, well inside the 31 days
            time.sleep(0.8)
            rotated = fortnox_tokens(info, kept)
            assert rotated.status_code == 200, rotated.text
            kept = rotated.json()["refresh_token"]
        time.sleep(2.8)  # then left unused for 31 days
        dead = fortnox_tokens(info, kept)
        assert dead.status_code == 400 and "unused" in dead.json()["error_description"]


def shopify_token(info: dict[str, Any], secret: str | None = None) -> httpx.Response:
    shop = info["shopify"]
    url = shop["base_url"].split("/api/")[0] + "/oauth/access_token"
    return httpx.post(
        url,
        data={
            "client_id": shop["client_id"],
            "client_secret": secret or shop["client_secret"],
            "grant_type": "client_credentials",
        },
    )


def test_shopify_client_credentials_tokens_last_a_scaled_day(slow_clock: RunningSandbox) -> None:
    info = slow_clock.info
    assert shopify_token(info, "wrong").status_code == 401
    answer = shopify_token(info).json()
    assert answer["expires_in"] == 86 and "read_orders" in answer["scope"].split(",")
    with httpx.Client(
        base_url=info["shopify"]["base_url"], headers={"X-Shopify-Access-Token": answer["access_token"]}
    ) as shop:
        assert shop.get("shop.json").status_code == 200
        httpx.post(
            info["control_url"] + "shopify/expire-tokens",
            headers={"Authorization": f"Bearer {info['control_token']}"},
        ).raise_for_status()
        expired = shop.get("shop.json")
        assert expired.status_code == 401 and "Invalid API key or access token" in expired.json()["errors"]


def test_shopify_names_the_scope_a_call_lacks(sandbox: RunningSandbox, control: httpx.Client) -> None:
    shop = sandbox.info["shopify"]
    control.post("shopify/access-scopes", json={"scopes": ["read_products"]}).raise_for_status()
    try:
        with httpx.Client(
            base_url=shop["base_url"], headers={"X-Shopify-Access-Token": shop["access_token"]}
        ) as client:
            refused = client.get("orders.json")
            assert refused.status_code == 403
            assert refused.json()["errors"] == (
                "[API] This action requires merchant approval for read_orders scope."
            )
            assert client.get("products.json").status_code == 200
            assert client.get("shop.json").status_code == 200
    finally:
        control.post("shopify/access-scopes", json={"scopes": list(SHOPIFY_SCOPES)})
