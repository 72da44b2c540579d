from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from engine.sandbox import RunningSandbox, SandboxConfig, start_in_thread
from engine.sandbox.client import control_client


def fortnox_tokens(info: dict[str, Any], refresh_token: str | None = None) -> httpx.Response:
    fx = info["fortnox"]
    return httpx.post(
        fx["token_url"],
        auth=(fx["client_id"], fx["client_secret"]),
        data={"grant_type": "refresh_token", "refresh_token": refresh_token or fx["refresh_token"]},
    )


def shopify_client(info: dict[str, Any]) -> httpx.Client:
    return httpx.Client(
        base_url=info["shopify"]["base_url"],
        headers={"X-Shopify-Access-Token": info["shopify"]["access_token"]},
        timeout=10,
    )


def fortnox_client(info: dict[str, Any]) -> httpx.Client:
    response = fortnox_tokens(info)
    assert response.status_code == 200, response.text
    return httpx.Client(
        base_url=info["fortnox"]["base_url"],
        headers={"Authorization": f"Bearer {response.json()['access_token']}"},
        timeout=10,
    )


@pytest.fixture(scope="module")
def sandbox() -> Iterator[RunningSandbox]:
    # Limits off: functional tests must not trip the rate limiters; limit tests start their own.
    with start_in_thread(SandboxConfig(orders=200, seed=1, limits=False)) as running:
        yield running


@pytest.fixture(scope="module")
def shopify(sandbox: RunningSandbox) -> Iterator[httpx.Client]:
    with shopify_client(sandbox.info) as client:
        yield client


@pytest.fixture(scope="module")
def fortnox(sandbox: RunningSandbox) -> Iterator[httpx.Client]:
    with fortnox_client(sandbox.info) as client:
        yield client


@pytest.fixture(scope="module")
def control(sandbox: RunningSandbox) -> Iterator[httpx.Client]:
    with control_client(sandbox.info) as client:
        yield client
