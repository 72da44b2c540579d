"""The task listing behind the Tasks screen and `junipeer tasks` (newest first, filtered by date,
paged by keyset) and the per-day counts behind the Dashboard's chart, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session

from engine.service import Service
from engine.store.models import Task, TaskStatus
from tests.conftest import add_shop

START = datetime(2026, 11, 1, tzinfo=UTC)


@pytest.fixture
def service(db_url: str, secrets, tmp_path) -> Service:
    svc = Service(db_url, secrets=secrets, data_dir=tmp_path)
    add_shop(svc.db)
    # 60 tasks, one every 8 hours from START (20 days), every fifth one stopped.
    with Session(svc.db) as s:
        s.add_all(
            Task(
                integration_id=1,
                flow_id=1,
                kind="sync",
                status=TaskStatus.STOPPED if i % 5 == 0 else TaskStatus.COMPLETED,
                created_at=START + timedelta(hours=8 * i),
            )
            for i in range(60)
        )
        s.commit()
    return svc


def created(tasks: list[Task]) -> list[datetime]:
    return [t.created_at.replace(tzinfo=UTC) if t.created_at.tzinfo is None else t.created_at for t in tasks]


def pages(svc: Service, size: int, **criteria: object) -> list[list[Task]]:
    """Every page an operator sees pressing n, as the Tasks screen pages: below the last task shown."""
    out = [svc.tasks(1, limit=size, **criteria)]  # type: ignore[arg-type]
    while len(out[-1]) == size:
        out.append(svc.tasks(1, limit=size, before_id=out[-1][-1].id, **criteria))  # type: ignore[arg-type]
    return out


def test_a_date_range_pages_through_its_tasks_newest_first(service: Service) -> None:
    since, until = START + timedelta(days=3), START + timedelta(days=11)
    seen = pages(service, 7, since=since, until=until)
    tasks = [t for page in seen for t in page]
    stamps = created(tasks)
    assert len(tasks) == 24  # three a day for 8 days, each once
    assert len({t.id for t in tasks}) == 24
    assert stamps == sorted(stamps, reverse=True)
    assert all(since <= at < until for at in stamps)
    assert [t.id for t in tasks] == sorted((t.id for t in tasks), reverse=True)


@pytest.mark.parametrize(
    ("criteria", "count"),
    [
        ({"until": START + timedelta(days=2)}, 6),
        ({"until": START}, 0),  # a "to" date before the first task
        ({"since": START + timedelta(days=19)}, 3),
        ({"since": START + timedelta(days=30)}, 0),  # a "from" date after the last task
    ],
)
def test_an_open_date_range_lists_exactly_its_tasks(service: Service, criteria: dict, count: int) -> None:
    tasks = [t for page in pages(service, 4, **criteria) for t in page]
    assert len(tasks) == len({t.id for t in tasks}) == count


def test_a_date_range_with_a_status_pages_in_id_order(service: Service) -> None:
    seen = pages(service, 2, status=TaskStatus.STOPPED, until=START + timedelta(days=10))
    tasks = [t for page in seen for t in page]
    assert [t.status for t in tasks] == [TaskStatus.STOPPED] * 6
    assert [t.id for t in tasks] == sorted((t.id for t in tasks), reverse=True)


def test_tasks_by_day_count_each_utc_day_whole(service: Service) -> None:
    """The dashboard's 7-day chart: every task of each day counted, a day running from 00:00 UTC."""
    with Session(service.db) as s:
        for at, status in [
            (START + timedelta(days=2, hours=23, minutes=59), TaskStatus.STOPPED),  # the 3rd's last minute
            (START + timedelta(days=3), TaskStatus.STOPPED),  # the 4th's first moment
            (START + timedelta(days=3, hours=1), TaskStatus.PENDING),
        ]:
            s.add(Task(integration_id=1, flow_id=1, kind="sync", status=status, created_at=at))
        s.commit()
    by_day = service.task_counts_by_day(1, START.date() + timedelta(days=1), 3)
    days = [START.date() + timedelta(days=i) for i in (1, 2, 3)]
    assert list(by_day) == days
    # Three a day from the fixture (task i at START + 8 i hours, every fifth stopped), and the above.
    assert by_day[days[0]] == {"completed": 2, "stopped": 1}  # tasks 3, 4, 5: task 5 stopped
    assert by_day[days[1]] == {"completed": 3, "stopped": 1}  # tasks 6, 7, 8 and the last-minute one
    assert by_day[days[2]] == {"completed": 2, "stopped": 2, "pending": 1}  # 9, 10 (stopped), 11


def test_tasks_of_one_day(service: Service) -> None:
    assert service.task_counts_by_day(1, START.date(), 1) == {START.date(): {"completed": 2, "stopped": 1}}
