"""Exactly once when tasks overlap: a scheduled sync and an Export Many of the same orders run side
by side in one worker process (what the console does when the operator presses Export Many during
the first sync), and every order, invoice and customer still reaches Fortnox once."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import date, timedelta

from engine.store.models import TaskStatus
from tests.e2e.conftest import duplicates_in_fortnox


def test_sync_and_export_many_in_one_worker_create_nothing_twice(connected) -> None:
    service, sb, iid = connected
    flow = service.flows(iid)[0]
    today = date.today()
    service.sync(flow)
    service.export_many(flow, today - timedelta(days=400), today)

    async def both() -> None:
        runner = service.runner(max_tasks=2, concurrency=8)
        await runner.run(until_idle=True)

    asyncio.run(both())

    tasks = service.tasks(iid)
    assert len(tasks) == 2 and {t.status for t in tasks} == {TaskStatus.COMPLETED}
    assert duplicates_in_fortnox(sb) == {}
    synced = [e for e in service.entities(iid, entity_type="order", limit=10_000) if e.status == "synced"]
    assert len(synced) == len(sb.get("fortnox/orders"))
    # Both tasks saw the orders: the one that came second found them synced or waited for them.
    assert sum(t.synced for t in tasks) >= len(synced)
    assert Counter(e.status for e in service.entities(iid, limit=10_000)).keys() <= {"synced", "error"}
