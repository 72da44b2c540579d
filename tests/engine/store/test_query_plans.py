"""Screens page from indexes: no listing the console calls may sort a whole table, or a screen that
opens in 5 ms on a thousand rows takes seconds on a million (bench/console.py measures the figures).

Every statement the service runs for a screen is captured and EXPLAINed on SQLite."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from sqlalchemy import event

from engine.service import Service
from tests.conftest import add_shop


@pytest.fixture
def service(sqlite_url: str, secrets, tmp_path) -> Service:
    svc = Service(sqlite_url, secrets=secrets, data_dir=tmp_path)
    add_shop(svc.db)
    return svc


LISTINGS: dict[str, Callable[[Service], object]] = {
    "entities page": lambda s: s.entities(1, limit=50),
    "entities of a type": lambda s: s.entities(1, entity_type="order", limit=50),
    "entities by status": lambda s: s.entities(1, entity_type="order", status="error", limit=50),
    "entities next page": lambda s: s.entities(1, entity_type="order", before_id=500, limit=50),
    "entities by reference": lambda s: s.entities(1, ref="#1001"),
    "entity types (the Entities tabs)": lambda s: s.entity_types(1),
    "logs page": lambda s: s.logs(1, limit=50),
    "logs by level": lambda s: s.logs(1, level="error", limit=50),
    "logs by reference": lambda s: s.logs(1, ref="#1001"),
    "logs of a flow": lambda s: s.logs(1, flow_id=1, limit=50),
    "logs of a task": lambda s: s.logs(1, task_id=3, limit=50),
    "logs follow": lambda s: s.logs(1, after_id=1000, limit=50),
    "tasks page": lambda s: s.tasks(1, limit=50),
    "tasks by status": lambda s: s.tasks(1, status="stopped", limit=50),
    "tasks of a flow": lambda s: s.tasks(1, flow_id=1, limit=50),
    "tasks to a date": lambda s: s.tasks(1, until=datetime(2026, 11, 21, tzinfo=UTC), limit=50),
    "tasks from a date": lambda s: s.tasks(1, since=datetime(2026, 11, 21, tzinfo=UTC), limit=50),
    "tasks in a date range, next page": lambda s: s.tasks(
        1, since=datetime(2026, 11, 1, tzinfo=UTC), until=datetime(2026, 11, 21, tzinfo=UTC), before_id=9
    ),
    "references of a type": lambda s: s.references(1, entity_type="order", limit=50),
    "references search": lambda s: s.references(1, search="#1001"),
}


@pytest.mark.parametrize("name", list(LISTINGS))
def test_screen_listings_never_sort_a_table(service: Service, name: str) -> None:
    captured: list[tuple[str, object]] = []

    def capture(conn, cursor, statement, parameters, context, executemany) -> None:  # type: ignore[no-untyped-def]
        if statement.lstrip().upper().startswith("SELECT"):
            captured.append((statement, parameters))

    event.listen(service.db, "before_cursor_execute", capture)
    try:
        LISTINGS[name](service)
    finally:
        event.remove(service.db, "before_cursor_execute", capture)
    assert captured, "the listing ran no query"
    with service.db.connect() as conn:
        for statement, parameters in captured:
            plan = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters).all()
            details = [row[-1] for row in plan]
            keyed = any("rowid=?" in d or " id=?" in d for d in details)  # a few rows found by id
            sorts = any("TEMP B-TREE FOR ORDER BY" in d for d in details)
            assert keyed or not sorts, (name, details)
            assert not any(d.startswith("SCAN ") and "USING" not in d for d in details), (name, details)


@pytest.mark.parametrize("name", ["tasks to a date", "tasks from a date", "tasks in a date range, next page"])
def test_a_date_range_of_tasks_is_a_range_of_an_index(service: Service, name: str) -> None:
    """Not the integration's tasks walked from the newest and each one's date checked: a "to" date
    before the first task would read every task, once a second on the Tasks screen."""
    captured: list[tuple[str, object]] = []

    def capture(conn, cursor, statement, parameters, context, executemany) -> None:  # type: ignore[no-untyped-def]
        captured.append((statement, parameters))

    event.listen(service.db, "before_cursor_execute", capture)
    try:
        LISTINGS[name](service)
    finally:
        event.remove(service.db, "before_cursor_execute", capture)
    [(statement, parameters)] = captured
    with service.db.connect() as conn:
        plan = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters).all()
    searches = [row[-1] for row in plan if row[-1].startswith("SEARCH task")]
    assert searches and ("created_at<?" in searches[0] or "created_at>?" in searches[0]), searches
