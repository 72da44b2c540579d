"""Settings dropdown values come from Fortnox once and are cached until Clear Cache; scheduling rules
enqueue Time History runs."""

from __future__ import annotations

import asyncio
from datetime import datetime

import pytest

from engine.errors import EngineError
from engine.runtime.scheduler import Scheduler, within_active_hours
from engine.store.models import ScheduleRule, TaskStatus, TaskTrigger


def test_lookups_are_cached_until_clear_cache(connected) -> None:
    service, sb, iid = connected

    def fortnox_requests() -> int:
        return sb.get("stats")["fortnox"]["requests"]

    before = fortnox_requests()
    terms = asyncio.run(service.lookup(iid, "fortnox:termsofpayments"))
    assert {"K", "KL", "PP"} <= {t["Code"] for t in terms}
    fetched = fortnox_requests()
    assert fetched > before
    assert asyncio.run(service.lookup(iid, "fortnox:termsofpayments")) == terms
    assert fortnox_requests() == fetched  # served from the cache
    assert service.clear_cache(iid) == 1
    asyncio.run(service.lookup(iid, "fortnox:termsofpayments"))
    assert fortnox_requests() > fetched


def test_a_rule_enqueues_one_run_per_flow_within_its_hours_once_live(connected) -> None:
    service, _sb, iid = connected
    [rule] = service.schedule_rules(iid)
    scheduler = Scheduler(service)
    # An integration in onboarding is tried by hand: its rules neither fire nor get scheduled.
    assert not service.integration(iid).live_mode
    assert scheduler.fire(rule.id) == 0 and not service.tasks(iid)
    scheduler.refresh()
    assert scheduler.next_runs() == []
    service.update_integration(iid, live_mode=True)
    scheduler.refresh()
    assert [name for name, _when in scheduler.next_runs()] == [rule.name]
    assert scheduler.fire(rule.id) == 1
    assert scheduler.fire(rule.id) == 0  # one is already waiting for the flow
    [task] = service.tasks(iid)
    assert (task.kind, task.trigger, task.status) == ("sync", TaskTrigger.SCHEDULE, TaskStatus.PENDING)
    service.save_schedule_rule(
        iid, name=rule.name, flow_keys=rule.flow_keys, interval_minutes=5, enabled=False, rule_id=rule.id
    )
    asyncio.run(service.run_now(task))
    assert scheduler.fire(rule.id) == 0  # disabled


def test_active_hours_may_span_midnight() -> None:
    night = ScheduleRule(integration_id=1, name="n", active_from="22:00", active_to="06:00")
    assert within_active_hours(night, datetime(2026, 11, 24, 23, 30))
    assert within_active_hours(night, datetime(2026, 11, 24, 5, 59))
    assert not within_active_hours(night, datetime(2026, 11, 24, 12, 0))
    always = ScheduleRule(integration_id=1, name="a")
    assert within_active_hours(always, datetime(2026, 11, 24, 12, 0))


def test_new_credentials_reach_running_clients_and_bad_ones_disconnect(connected) -> None:
    service, sb, iid = connected
    shopify = next(c for c in service.connectors(iid) if c.platform == "shopify")
    assert asyncio.run(service.test_connection(shopify.id))[0]
    service.set_credentials(shopify.id, {"access_token": "shpat_wrong"})
    ok, message = asyncio.run(service.test_connection(shopify.id))
    assert not ok and "Disconnected" in message and "shpat_wrong" not in message
    assert next(c for c in service.connectors(iid) if c.platform == "shopify").status == "disconnected"
    service.set_credentials(shopify.id, {"access_token": sb.info["shopify"]["access_token"]})
    assert asyncio.run(service.test_connection(shopify.id))[0]
    with pytest.raises(EngineError, match="a new value"):
        service.set_credentials(shopify.id, {"access_token": " "})


def test_a_sandbox_without_limits_is_not_paced(service) -> None:
    from engine.sandbox.server import SandboxConfig, start_in_thread

    with start_in_thread(SandboxConfig(orders=5, seed=2, time_scale=1.0, limits=False)) as sb:
        iid = asyncio.run(service.connect_sandbox(sb.info, "Fast")).id
        fortnox = next(c for c in service.connectors(iid) if c.platform == "fortnox")
        assert fortnox.options["pacing"] is False

        async def burst() -> float:
            client = service.pool.get(fortnox)
            await asyncio.gather(*(client.lookup("currencies") for _ in range(60)))
            return client.stats.waits_for_pacing

        # 60 requests at real limits would wait ~10 s for Fortnox's 25-per-5-s window.
        assert asyncio.run(burst()) == 0
