"""The Admin API versions the sandbox serves, as Shopify does: every supported stable version, a
retired one answered as the oldest supported, no such version 404, the served one in a header."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx

from engine.connect import DEFAULT_SHOPIFY_API_VERSION
from engine.sandbox import RunningSandbox
from engine.sandbox.shopify_versions import HEADER, served_version, supported_versions


def test_supported_window_is_the_last_twelve_months_of_quarterly_releases() -> None:
    assert supported_versions(datetime(2026, 12, 7, tzinfo=UTC)) == [
        "2026-01",
        "2026-04",
        "2026-07",
        "2026-10",
    ]
    # Released at 17:00 UTC on the quarter's first day; the version a year older retires then.
    assert supported_versions(datetime(2027, 1, 1, 16, 59, tzinfo=UTC))[-1] == "2026-10"
    assert supported_versions(datetime(2027, 1, 1, 17, tzinfo=UTC)) == [
        "2026-04",
        "2026-07",
        "2026-10",
        "2027-01",
    ]


def test_served_version_falls_forward_and_refuses_what_is_no_version() -> None:
    now = datetime(2026, 12, 7, tzinfo=UTC)
    assert served_version("2026-07", now) == "2026-07"
    assert served_version("2024-10", now) == served_version("2019-04", now) == "2026-01"
    for name in ("2026-05", "2026-7", "latest", "2027-04", "unstable"):
        assert served_version(name, now) is None


def test_every_answer_names_the_version_served(sandbox: RunningSandbox) -> None:
    shop = sandbox.info["shopify"]
    root = shop["base_url"].rsplit("/", 2)[0]
    headers = {"X-Shopify-Access-Token": shop["access_token"]}
    supported = supported_versions(datetime.now(UTC))
    assert DEFAULT_SHOPIFY_API_VERSION in supported
    assert shop["base_url"].endswith(f"/{supported[-1]}/") and shop["api_version"] == supported[-1]
    for version in supported:
        response = httpx.get(f"{root}/{version}/orders/count.json", headers=headers)
        assert response.status_code == 200 and response.headers[HEADER] == version
    retired = httpx.get(f"{root}/2023-01/orders/count.json", headers=headers)
    assert retired.status_code == 200 and retired.headers[HEADER] == supported[0]
    # Refusals carry it too: the version is settled before the token is looked at.
    assert httpx.get(f"{root}/2023-01/orders/count.json").headers[HEADER] == supported[0]
    for bad in ("2024-13", "latest", "2099-01"):
        assert httpx.get(f"{root}/{bad}/orders/count.json", headers=headers).status_code == 404
