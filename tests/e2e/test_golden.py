"""The golden set: real-shaped Shopify orders and the Fortnox documents they must become.

Each `tests/golden/*.json` case holds one order exactly as Shopify's REST API returns it, the
settings it needs, and what Fortnox must hold afterwards (or the coded error the order must end in).
The order is replayed into an empty sandbox over HTTP, exported with Export One, and every flow then
runs until idle (so refunds and whatever else follows the order happen too); the comparison reads
the sandbox's Fortnox. Expectations name only the fields that matter; money compares to the öre.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest

from engine.sandbox.server import SandboxConfig, start_in_thread
from engine.service import Service
from tests.e2e.conftest import Sandbox, sync

GOLDEN = Path(__file__).resolve().parent.parent / "golden"
CASES = sorted(GOLDEN.glob("*.json"))


def mismatches(expected: Any, actual: Any, where: str = "") -> list[str]:
    """Where `actual` differs from the subset `expected` (empty when it matches)."""
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return [f"{where or '.'}: expected an object, got {actual!r}"]
        found: list[str] = []
        for key, value in expected.items():
            if key not in actual:
                found.append(f"{where}.{key}: missing")
            else:
                found += mismatches(value, actual[key], f"{where}.{key}")
        return found
    if isinstance(expected, list):
        if not isinstance(actual, list) or len(actual) != len(expected):
            got = len(actual) if isinstance(actual, list) else actual
            return [f"{where}: expected {len(expected)} items, got {got}"]
        return [
            m
            for i, (e, a) in enumerate(zip(expected, actual, strict=True))
            for m in mismatches(e, a, f"{where}[{i}]")
        ]
    if isinstance(expected, int | float) and not isinstance(expected, bool):
        try:
            if abs(float(actual) - float(expected)) < 0.005:
                return []
        except (TypeError, ValueError):
            pass
        return [f"{where}: expected {expected}, got {actual!r}"]
    same = actual is expected if isinstance(expected, bool) else expected == actual
    return [] if same else [f"{where}: expected {expected!r}, got {actual!r}"]


def test_mismatches_reads_subsets_and_money_to_the_ore() -> None:
    assert (
        mismatches(
            {"Total": 100.0, "Rows": [{"VAT": 25}]}, {"Total": 100.004, "X": 1, "Rows": [{"VAT": 25.0}]}
        )
        == []
    )
    assert mismatches({"Total": 100.0}, {"Total": 100.01}) == [".Total: expected 100.0, got 100.01"]
    assert mismatches({"Rows": [{}, {}]}, {"Rows": [{}]}) == [".Rows: expected 2 items, got 1"]
    assert mismatches({"Country": "Sverige"}, {}) == [".Country: missing"]
    assert mismatches({"Booked": True}, {"Booked": 1}) == [".Booked: expected True, got 1"]


@pytest.fixture
def empty_shop() -> Iterator[Sandbox]:
    with start_in_thread(SandboxConfig(orders=0, seed=7, time_scale=0.01)) as running:
        sb = Sandbox(running)
        yield sb
        sb.http.close()


def _created_on(order: dict[str, Any]) -> date | None:
    stamp = order.get("created_at")
    return datetime.fromisoformat(stamp).date() if isinstance(stamp, str) else None


def _fortnox_documents(sb: Sandbox, ref: str) -> dict[str, Any]:
    [order] = [o for o in sb.get("fortnox/orders") if o.get("YourOrderNumber") == ref] or [None]
    every_invoice = sb.get("fortnox/invoices")
    invoices = [i for i in every_invoice if i.get("ExternalInvoiceReference1") == ref]
    originals = [i for i in invoices if not i.get("Credit")]
    invoice = originals[0] if len(originals) == 1 else None
    customer_number = (order or invoice or {}).get("CustomerNumber")
    customers = [c for c in sb.get("fortnox/customers") if c.get("CustomerNumber") == customer_number]
    credits = [
        i
        for i in every_invoice
        if i.get("Credit")
        and invoice
        and str(i.get("CreditInvoiceReference")) == str(invoice["DocumentNumber"])
    ]
    return {
        "order": order,
        "invoice": invoice,
        "invoices": originals,
        "customer": customers[0] if customers else None,
        "credit_invoices": sorted(credits, key=lambda i: int(i["DocumentNumber"])),
    }


@pytest.mark.parametrize("case_file", CASES, ids=[c.stem for c in CASES])
def test_golden_case(case_file: Path, service: Service, empty_shop: Sandbox) -> None:
    case = json.loads(case_file.read_text(encoding="utf-8"))
    expect = case["expect"]
    sb = empty_shop
    iid = asyncio.run(service.connect_sandbox(sb.info, "Golden")).id
    settings = {k: dict(v) for k, v in (case.get("settings") or {}).items()}
    created = _created_on(case["order"])
    order_settings = settings.setdefault("order", {})
    if created and "exclusion_date" not in order_settings:
        order_settings["exclusion_date"] = min(
            created, service.settings(iid).order.exclusion_date
        ).isoformat()
    for category, values in settings.items():
        service.save_settings(iid, category, values)

    order = sb.post("shopify/orders", {"order": case["order"]})
    ref = order["name"]
    flow = service.flow(iid, "orders_to_fortnox")
    asyncio.run(service.run_now(service.export_one(flow, ref)))
    sync(service)

    [entity] = service.entities(iid, entity_type="order", ref=ref)
    docs = _fortnox_documents(sb, ref)
    problems: list[str] = []
    if expect["status"] == "error":
        if (entity.status, entity.error_code) != ("error", expect["error_code"]):
            problems.append(f"expected error {expect['error_code']}, got {entity.status} {entity.error_code}")
        if docs["invoices"]:
            problems.append("an order that must end in error has an invoice in Fortnox")
    elif entity.status != expect["status"]:
        problems.append(
            f"expected {expect['status']}, got {entity.status}: {entity.error_code} {entity.error_message}"
        )
    if len(docs["invoices"]) > 1:
        problems.append(f"{len(docs['invoices'])} invoices for one order")
    for what in ("customer", "order", "invoice", "credit_invoices"):
        if what in expect:
            found = docs[what]
            if found is None:
                problems.append(f"no Fortnox {what} for {ref}")
            else:
                problems += [f"{what}{m}" for m in mismatches(expect[what], found)]
    if "refunds" in expect:
        # the only order of this shop: every refund entity is one of its refunds
        refunds = sorted(service.entities(iid, entity_type="refund"), key=lambda e: e.retriever_reference)
        got = [{"status": e.status, "error_code": e.error_code} for e in refunds]
        problems += [f"refunds{m}" for m in mismatches(expect["refunds"], got)]
    assert not problems, f"{case_file.name} ({case.get('about', '')}):\n  " + "\n  ".join(problems)
