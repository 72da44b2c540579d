"""An exclusion date years back costs a few counts, not a request per empty day (over real HTTP)."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime

from sqlalchemy import update

from engine.store.models import TimeHistory
from tests.e2e.conftest import sync


def _shopify_requests(sb) -> dict[str, int]:
    paths = sb.get("stats")["shopify"]["by_path"]
    return {
        "count": sum(n for p, n in paths.items() if p.endswith("/orders/count.json")),
        "list": sum(n for p, n in paths.items() if p.endswith("/orders.json")),
    }


def test_old_exclusion_date_skips_the_empty_years_and_resumes_from_its_windows(connected) -> None:
    service, sb, iid = connected
    service.save_settings(iid, "order", {"exclusion_date": "2010-01-01"})
    sb.post("stats/reset")
    sync(service)

    [task] = service.tasks(iid, limit=1)
    orders = sb.get("shopify/orders")
    assert task.status == "completed" and task.total == len(orders) == 40
    assert task.synced + task.failed + task.skipped == len(orders)
    # One request per empty day since 2010 was about 6,200; the orders span the last 30 days.
    spent = _shopify_requests(sb)
    assert spent["list"] <= 40 and spent["count"] <= 40, spent

    # The empty years are recorded as loaded windows: a run that starts over from the exclusion date
    # (as an interrupted first backfill does) finds every day covered and asks for nothing old.
    flow = service.flows(iid)[0]
    windows = service.time_windows(flow.id, limit=10_000)
    # from midnight UTC the day before, which holds the exclusion date's first hours anywhere
    assert min(w.start for w in windows) == datetime(2009, 12, 31, tzinfo=UTC)
    assert sum(w.records for w in windows) == len(orders)
    with service.session() as s:
        s.execute(update(TimeHistory).where(TimeHistory.flow_id == flow.id).values(last_loaded=None))
        s.commit()
    sb.post("stats/reset")
    sync(service)
    again = _shopify_requests(sb)
    assert again["list"] + again["count"] <= 3, again


def test_export_many_over_years_walks_only_the_days_with_orders(connected) -> None:
    service, sb, iid = connected
    service.save_settings(iid, "order", {"exclusion_date": "2006-01-01"})
    flow = service.flows(iid)[0]
    sb.post("stats/reset")
    task = asyncio.run(service.run_now(service.export_many(flow, date(2006, 1, 1), date.today())))
    assert task.status == "completed"
    assert task.synced + task.failed + task.skipped == len(sb.get("shopify/orders"))
    spent = _shopify_requests(sb)
    assert spent["list"] <= 40 and spent["count"] <= 40, spent
