"""End-to-end fixtures: a real sandbox over loopback and a service connected to it (no mocks)."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from engine.sandbox.client import control_client
from engine.sandbox.server import SandboxConfig, start_in_thread
from engine.secrets import FileSecretStore
from engine.service import Service, run_headless

# The errors the generated shop is made to have, each a real situation with its code and hint: a SKU
# Fortnox has no article for, and a buyer whose addresses Shopify withheld, charged no Swedish VAT.
INTENDED_ERRORS = frozenset({"ARTICLE_NOT_FOUND", "DESTINATION_WITHHELD"})


class Sandbox:
    def __init__(self, running: Any) -> None:
        self.running = running
        self.info = running.info
        self.http = control_client(running.info)

    def get(self, path: str) -> Any:
        resp = self.http.get(path)
        resp.raise_for_status()
        return resp.json()

    def post(self, path: str, body: dict | None = None) -> Any:
        resp = self.http.post(path, json=body or {})
        resp.raise_for_status()
        return resp.json()

    def fortnox_user(self, scopes: str = "order invoice customer article settings") -> httpx.Client:
        """Someone else working in the same Fortnox company through the API, with a consent and
        tokens of their own (a bookkeeper's tool, say)."""
        fx = self.info["fortnox"]
        consent = httpx.get(
            fx["auth_url"],
            params={
                "client_id": fx["client_id"],
                "redirect_uri": fx["redirect_uri"],
                "scope": scopes,
                "state": "bookkeeper",
                "access_type": "offline",
                "response_type": "code",
            },
        )
        code = parse_qs(urlsplit(consent.headers["location"]).query)["code"][0]
        tokens = httpx.post(
            fx["token_url"],
            auth=(fx["client_id"], fx["client_secret"]),
            data={"grant_type": "authorization_code", "code": code, "redirect_uri": fx["redirect_uri"]},
        )
        tokens.raise_for_status()
        return httpx.Client(
            base_url=fx["base_url"],
            headers={"Authorization": f"Bearer {tokens.json()['access_token']}"},
            timeout=10,
        )

    def fortnox_orders_by_ref(self) -> Counter[str]:
        return Counter(o["YourOrderNumber"] for o in self.get("fortnox/orders"))

    def shopify_cancel(self, order_id: int) -> None:
        shop = self.info["shopify"]
        httpx.post(
            f"{shop['base_url']}orders/{order_id}/cancel.json",
            headers={"X-Shopify-Access-Token": shop["access_token"]},
            json={},
            timeout=10,
        ).raise_for_status()


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with start_in_thread(SandboxConfig(orders=40, seed=7, time_scale=0.01)) as running:
        sb = Sandbox(running)
        yield sb
        sb.http.close()


@pytest.fixture
def service(db_url: str, tmp_path: Path) -> Iterator[Service]:
    svc = Service(db_url, secrets=FileSecretStore(tmp_path / "secrets.json"), data_dir=tmp_path)
    yield svc
    asyncio.run(svc.aclose())


@pytest.fixture
def connected(service: Service, sandbox: Sandbox) -> tuple[Service, Sandbox, int]:
    integ = asyncio.run(service.connect_sandbox(sandbox.info, "Shop"))
    return service, sandbox, integ.id  # type: ignore[return-value]


def sync(service: Service) -> None:
    asyncio.run(run_headless(service, until_idle=True, concurrency=4))


def duplicates_in_fortnox(sb: Sandbox) -> dict[str, dict[str, int]]:
    """Orders, invoices, credit invoices, customers and invoice payments that exist more than once in
    the sandbox's Fortnox, by the key the engine wrote into them (order name; the refund stamp; the
    Shopify customer id in ExternalReference) or the invoice a payment pays."""
    invoices = sb.get("fortnox/invoices")
    keyed = {
        "orders": Counter(str(row.get("YourOrderNumber") or "") for row in sb.get("fortnox/orders")),
        "invoices": Counter(
            str(row.get("ExternalInvoiceReference1") or "") for row in invoices if not row["Credit"]
        ),
        # A credit invoice copies its invoice's references; it is counted per invoice it credits and
        # per refund stamped on it, so neither a second credit of an invoice nor a refund credited
        # twice goes unseen.
        "credit invoices": Counter(str(row["CreditInvoiceReference"]) for row in invoices if row["Credit"]),
        "refunds credited": Counter(
            str(row.get("ExternalInvoiceReference2")) for row in invoices if row["Credit"]
        ),
        "customers": Counter(str(row.get("ExternalReference") or "") for row in sb.get("fortnox/customers")),
        # An invoice paid at checkout gets one payment, whoever registered it.
        "invoice payments": Counter(str(row["InvoiceNumber"]) for row in sb.get("fortnox/invoicepayments")),
    }
    found: dict[str, dict[str, int]] = {}
    for what, counts in keyed.items():
        twice = {k: n for k, n in counts.items() if n > 1}
        if twice:
            found[what] = twice
    return found
