"""Shopify's 60-day order window: without `read_all_orders` older orders are silently left out of
every list and count, so a sync reaching further back must stop with a code, not report success."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from engine.sandbox.server import SandboxConfig, start_in_thread
from engine.service import Service
from engine.store.models import TaskStatus
from tests.e2e.conftest import Sandbox, sync

CASE = Path(__file__).resolve().parent.parent / "golden" / "swedish_consumer_two_vat_rates.json"


@pytest.fixture
def shop() -> Iterator[Sandbox]:
    with start_in_thread(SandboxConfig(orders=0, seed=7, time_scale=0.01)) as running:
        sb = Sandbox(running)
        yield sb
        sb.http.close()


def _order(number: int, days_ago: int) -> dict[str, Any]:
    order = json.loads(CASE.read_text(encoding="utf-8"))["order"]
    created = (datetime.now(UTC) - timedelta(days=days_ago)).replace(microsecond=0).isoformat()
    order.update(id=5_600_000_000 + number, name=f"#{number}", order_number=number, number=number - 1000)
    order.update(created_at=created, processed_at=created, updated_at=created)
    return order


def test_orders_older_than_60_days_need_read_all_orders(service: Service, shop: Sandbox) -> None:
    old = shop.post("shopify/orders", {"order": _order(3001, 75)})
    recent = shop.post("shopify/orders", {"order": _order(3002, 5)})
    shop.post("shopify/access-scopes", {"scopes": ["read_orders", "read_products", "read_customers"]})
    iid = asyncio.run(service.connect_sandbox(shop.info, "Shop")).id
    [shopify] = [c for c in service.connectors(iid) if c.platform == "shopify"]
    ok, message = asyncio.run(service.test_connection(shopify.id))
    assert ok and "1 orders readable" in message and "lacks read_all_orders" in message

    service.save_settings(iid, "order", {"exclusion_date": (date.today() - timedelta(days=90)).isoformat()})
    sync(service)
    [task] = service.tasks(iid)
    assert task.status == TaskStatus.STOPPED
    assert "SHOPIFY_READ_ALL_ORDERS_MISSING" in (task.message or "") and "older than 60 days" in task.message
    assert shop.fortnox_orders_by_ref() == {}, "a partial sync must not pass for a complete one"

    flow = service.flow(iid, "orders_to_fortnox")
    one = asyncio.run(service.run_now(service.export_one(flow, old["name"])))
    assert one.status == TaskStatus.STOPPED and "SHOPIFY_READ_ALL_ORDERS_MISSING" in (one.message or "")

    # Inside the window the same token is enough.
    service.save_settings(iid, "order", {"exclusion_date": (date.today() - timedelta(days=30)).isoformat()})
    sync(service)
    assert shop.fortnox_orders_by_ref() == {recent["name"]: 1}

    # Granted the scope (and reconnected: a new client reads the scopes again), the old order comes too.
    shop.post("shopify/access-scopes", {"scopes": ["read_orders", "read_all_orders"]})
    asyncio.run(service.aclose_pool())
    service.save_settings(iid, "order", {"exclusion_date": (date.today() - timedelta(days=90)).isoformat()})
    done = asyncio.run(service.run_now(service.export_one(flow, old["name"])))
    assert done.synced == 1
    assert shop.fortnox_orders_by_ref() == {recent["name"]: 1, old["name"]: 1}
