"""A bad day ends well: an outage of Fortnox mid-backfill pauses the task and it resumes by itself;
credentials that stop working stop the task after a short streak instead of failing every order;
a record that failed for a transient reason is attempted again by itself."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from engine.runtime.outage import STREAK
from engine.service import run_headless
from engine.store.models import TaskStatus
from tests.e2e.conftest import INTENDED_ERRORS, duplicates_in_fortnox


@pytest.fixture(autouse=True)
def short_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    # The sandbox runs at 1/100 of real time; so do the pauses and the automatic retries.
    monkeypatch.setenv("JUNIPEER_PAUSE_SECONDS", "0.3")
    monkeypatch.setenv("JUNIPEER_RETRY_SECONDS", "0.2")


CONCURRENCY = 4


def _run_until_idle(service) -> None:  # type: ignore[no-untyped-def]
    asyncio.run(run_headless(service, until_idle=True, concurrency=CONCURRENCY))


def test_a_fortnox_outage_mid_backfill_pauses_the_task_and_it_resumes_by_itself(connected) -> None:
    service, sb, iid = connected
    outage: dict[str, float] = {}

    def break_fortnox_for_a_while() -> None:
        deadline = time.monotonic() + 60
        while len(sb.get("fortnox/orders")) < 6 and time.monotonic() < deadline:
            time.sleep(0.01)
        sb.post("faults", {"platform": "fortnox", "error_5xx": 1.0})
        outage["start"] = time.monotonic()
        time.sleep(2.0)
        sb.http.delete("faults").raise_for_status()
        outage["end"] = time.monotonic()

    breaker = threading.Thread(target=break_fortnox_for_a_while)
    breaker.start()
    _run_until_idle(service)
    breaker.join()
    assert outage.get("end"), "the outage never started: the backfill finished first"

    orders = service.entities(iid, entity_type="order", limit=1000)
    assert {e.error_code for e in orders if e.status == "error"} <= INTENDED_ERRORS, [
        (e.retriever_reference, e.error_code) for e in orders if e.status == "error"
    ]
    assert [e for e in orders if e.status == "synced"], "nothing synced"
    assert duplicates_in_fortnox(sb) == {}
    [task] = [t for t in service.tasks(iid) if t.kind == "sync"]
    assert task.status == TaskStatus.COMPLETED and task.params.get("pauses", 0) >= 1
    paused = [log for log in service.logs(iid) if log.code == "TASK_PAUSED"]
    assert paused and "PLATFORM_UNAVAILABLE" in paused[0].message
    # The task did not try order after order against a platform that was down: before each pause at
    # most a streak failed, plus the orders its consumers already had in hand (and a last streak that
    # never completed); the automatic retries' tasks count the same way.
    errors = [log for log in service.logs(iid, level="error") if log.code == "PLATFORM_UNAVAILABLE"]
    tries = len(paused) + len(service.tasks(iid))
    assert len(errors) <= tries * (STREAK + CONCURRENCY - 1), (len(errors), tries)


def test_lost_credentials_stop_the_task_after_a_short_streak(connected) -> None:
    service, sb, iid = connected
    sb.post("fortnox/expire-tokens", {"revoke": True})
    _run_until_idle(service)

    [task] = service.tasks(iid)
    assert task.status == TaskStatus.STOPPED and task.message.startswith("AUTH_FAILED")
    # Not every order in turn: the streak stopped it (a few consumers were already under way).
    assert 0 < task.failed <= STREAK + 4
    assert sb.get("fortnox/orders") == []
    assert any(log.code == "AUTH_FAILED" and "Reconnect" in log.message for log in service.logs(iid))
    # Its place is kept: Time History did not move past what was never loaded.
    assert service.time_history(service.flows(iid)[0].id).last_loaded is None


def test_a_transient_failure_is_attempted_again_by_itself(connected) -> None:
    service, sb, iid = connected
    flow = service.flows(iid)[0]
    paid = next(o for o in sb.get("shopify/orders") if o["financial_status"] == "paid")
    sb.post("faults", {"platform": "fortnox", "error_5xx": 1.0})
    task = asyncio.run(service.run_now(service.export_one(flow, paid["name"])))
    sb.http.delete("faults").raise_for_status()
    assert task.failed == 1
    [entity] = service.entities(iid, entity_type="order", ref=paid["name"])
    assert entity.status == "error" and entity.error_code == "PLATFORM_UNAVAILABLE"
    assert entity.retry_at is not None and entity.auto_retries == 1
    assert "attempted again automatically" in entity.error_message

    # No sync and no person: a worker with nothing enqueued waits for the retry to fall due.
    asyncio.run(service.runner().run(until_idle=True))

    [entity] = service.entities(iid, entity_type="order", ref=paid["name"])
    assert entity.status == "synced" and entity.retry_at is None and entity.auto_retries == 0
    assert sb.fortnox_orders_by_ref()[paid["name"]] == 1
    retry = service.tasks(iid)[0]
    assert (retry.kind, retry.trigger, retry.params) == (
        "retry",
        "retry",
        {"entity_ids": [entity.id], "automatic": True},
    )


def test_a_shopify_outage_while_listing_pauses_the_task_too(connected) -> None:
    """The task's own reads (the order pages, the counts) meet the outage before any record does."""
    service, sb, iid = connected
    sb.post("faults", {"platform": "shopify", "error_5xx": 1.0})

    def recover() -> None:
        time.sleep(1.0)
        sb.http.delete("faults").raise_for_status()

    healer = threading.Thread(target=recover)
    healer.start()
    _run_until_idle(service)
    healer.join()

    [task] = service.tasks(iid)
    assert task.status == TaskStatus.COMPLETED and task.params.get("pauses", 0) >= 1
    assert task.synced > 0 and sb.get("fortnox/orders")
    assert any(log.code == "TASK_PAUSED" for log in service.logs(iid))
