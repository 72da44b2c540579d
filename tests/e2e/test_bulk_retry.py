"""Service.retry_entities: the selection a bulk retry takes, in chunks of retry tasks, and the records
it re-syncs once their cause is fixed in Fortnox (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlmodel import col, update

from engine import service as service_mod
from engine.service import EntitySelection
from engine.store.models import Entity, utcnow

from .conftest import sync

MISSING = ("ENGRAVING-TEXT", "GIFTBOX-DELUXE", "TEE-ORG-BLK-XXXL")


def test_bulk_retry_selects_chunks_and_resyncs(connected, monkeypatch: pytest.MonkeyPatch) -> None:
    service, sandbox, iid = connected
    for sku in (*MISSING, *MISSING):
        sandbox.post("shopify/orders", {"line_items": [{"sku": sku}]})
    sync(service)
    failed = service.entities(iid, status="error", limit=1000)
    assert len(failed) >= 6 and {e.error_code for e in failed} == {"ARTICLE_NOT_FOUND"}
    error = EntitySelection(status="error")
    assert service.count_retryable(iid, error) == len(failed)
    assert service.count_retryable(iid, EntitySelection(status="error", code="VALIDATION_FAILED")) == 0
    one = failed[0]
    assert service.count_retryable(iid, EntitySelection(status="error", ref=one.retriever_reference)) == 1
    # Customers are re-synced with their orders, never fetched as orders of their own.
    assert service.entities(iid, entity_type="customer", status="synced")
    assert service.count_retryable(iid, EntitySelection(entity_type="customer")) == 0
    # --since: the one that failed yesterday is left out.
    with service.session() as s:
        s.exec(
            update(Entity).where(col(Entity.id) == one.id).values(last_updated=utcnow() - timedelta(days=1))
        )
        s.commit()
    recent = EntitySelection(status="error", since=utcnow() - timedelta(hours=1))
    assert service.count_retryable(iid, recent) == len(failed) - 1

    for sku in MISSING:
        sandbox.post("fortnox/articles", {"ArticleNumber": sku, "Description": sku})
    monkeypatch.setattr(service_mod, "RETRY_CHUNK", 2)
    tasks = service.retry_entities(iid, recent)
    chunks = [t.params["entity_ids"] for t in tasks]
    assert all(t.kind == "retry" and t.trigger == "retry" for t in tasks)
    assert [len(c) for c in chunks] == [2] * ((len(failed) - 1) // 2) + [1] * ((len(failed) - 1) % 2)
    assert sorted(i for c in chunks for i in c) == sorted(e.id for e in failed if e.id != one.id)

    done = [asyncio.run(service.run_now(task)) for task in tasks]
    assert [(t.status, t.failed) for t in done] == [("completed", 0)] * len(tasks)
    assert [e.id for e in service.entities(iid, status="error")] == [one.id]
    in_fortnox = sandbox.fortnox_orders_by_ref()
    assert all(in_fortnox[e.retriever_reference] == 1 for e in failed if e.id != one.id)
    assert service.retry_entities(iid, recent) == []  # nothing left to select
