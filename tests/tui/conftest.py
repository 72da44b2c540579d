"""Console fixtures: a deterministic seeded workspace, built once per session by the real engine
against the sandbox (one worker, pinned generator clock) and then frozen: every timestamp is
rewritten from the row id, so snapshots never move."""

from __future__ import annotations

import asyncio
import re
import shutil
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlmodel import select

from engine.sandbox.server import SandboxConfig, start_in_thread
from engine.secrets import FileSecretStore
from engine.service import Service, run_headless
from engine.store.models import Connector
from junipeer_tui.context import ConsoleContext

FROZEN_NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
SEED_ORDERS = 30
FIXED_URL = "http://127.0.0.1:8700"
EXCLUSION_DATE = date(2026, 8, 26)


def _db(value: datetime) -> str:
    """The text SQLAlchemy stores for a UTC datetime on SQLite, so raw updates sort with ORM rows."""
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def _freeze(service: Service, sandbox_url: str) -> None:
    """Rewrite wall-clock timestamps as FROZEN_NOW minus a step per row, keeping their order, and the
    sandbox's random port as 8700."""
    base = FROZEN_NOW - timedelta(hours=2)
    with service.session() as s:
        for conn in s.exec(select(Connector)):
            conn.base_url = conn.base_url.replace(sandbox_url, FIXED_URL)
            conn.options = {
                k: (v.replace(sandbox_url, FIXED_URL) if isinstance(v, str) else v)
                for k, v in conn.options.items()
            }
            s.add(conn)
        s.commit()
    with service.db.begin() as conn:
        for table, cols in {
            "task": ("created_at", "started_at", "finished_at"),
            "log_entry": ("at",),
            "entity": ("last_updated",),
            "entity_transaction": ("at",),
            "reference": ("created_at", "updated_at"),
            "integration": ("created_at",),
            "flow_filter": ("created_at",),
        }.items():
            rows = conn.execute(text(f"SELECT id FROM {table}")).scalars().all()
            for rid in rows:
                stamp = base + timedelta(seconds=rid * 7)
                sets = ", ".join(f"{c} = :s" for c in cols)
                conn.execute(
                    text(f"UPDATE {table} SET {sets} WHERE id = :id AND {cols[0]} IS NOT NULL"),
                    {"s": _db(stamp), "id": rid},
                )
        conn.execute(text("UPDATE task SET finished_at = started_at WHERE finished_at IS NOT NULL"))
        conn.execute(
            text("UPDATE time_history SET last_loaded = :s, updated_at = :s"), {"s": _db(FROZEN_NOW)}
        )
        # Day chunks start at the fixed exclusion date; only those after FROZEN_NOW depend on the day the
        # seed is built, and the last one ends at the run's real start. Chunks complete out of order (an
        # empty day is done before a busy one read earlier), so their ids depend on how many empty days
        # follow FROZEN_NOW: they are stamped in the order of their start instead.
        conn.execute(text("DELETE FROM time_window WHERE start >= :s"), {"s": _db(FROZEN_NOW)})
        by_start = conn.execute(text("SELECT id FROM time_window ORDER BY start")).scalars().all()
        for rank, wid in enumerate(by_start, start=1):
            conn.execute(
                text("UPDATE time_window SET completed_at = :s WHERE id = :id AND completed_at IS NOT NULL"),
                {"s": _db(base + timedelta(seconds=rank * 7)), "id": wid},
            )
        if by_start:
            conn.execute(
                text('UPDATE time_window SET "end" = :s WHERE id = :id'),
                {"s": _db(FROZEN_NOW), "id": by_start[-1]},
            )
        for tid, message in conn.execute(text("SELECT id, message FROM task")).all():
            if message:
                frozen = re.sub(r"→ \d{4}-\d\d-\d\d \d\d:\d\d", f"→ {FROZEN_NOW:%Y-%m-%d %H:%M}", message)
                conn.execute(text("UPDATE task SET message = :m WHERE id = :id"), {"m": frozen, "id": tid})
        conn.execute(text("UPDATE flow SET last_synced_at = :s"), {"s": _db(FROZEN_NOW)})
        conn.execute(text("UPDATE connector SET checked_at = :s"), {"s": _db(FROZEN_NOW)})


def build_seed(path: Path) -> Service:
    """The seeded workspace in `path`: one real sync of SEED_ORDERS orders, then frozen. Returns its
    Service, still open; `python -m junipeer_tui.screenshots` builds its scenes with this too."""
    with start_in_thread(
        SandboxConfig(orders=SEED_ORDERS, seed=11, time_scale=0.01), now=FROZEN_NOW.timestamp()
    ) as sb:
        service = Service(
            f"sqlite:///{path / 'junipeer.sqlite'}",
            secrets=FileSecretStore(path / "secrets.json"),
            data_dir=path,
        )
        integ = asyncio.run(service.connect_sandbox(sb.info, "Demo shop", shopify_payments=True))
        service.save_settings(integ.id, "order", {"exclusion_date": EXCLUSION_DATE})  # not "today − 90"
        asyncio.run(run_headless(service, until_idle=True, concurrency=1))
        _freeze(service, sb.base_url)
    return service


@pytest.fixture(scope="session")
def seeded_workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory holding junipeer.sqlite and secrets.json after one real sync of 30 orders."""
    path = tmp_path_factory.mktemp("seeded")
    service = build_seed(path)
    asyncio.run(service.aclose())
    return path


@pytest.fixture
def console_ctx(seeded_workspace: Path, tmp_path: Path) -> ConsoleContext:
    """A private copy of the seeded workspace, a frozen clock, no engine thread."""
    for name in ("junipeer.sqlite", "secrets.json"):
        shutil.copy(seeded_workspace / name, tmp_path / name)
    service = Service(
        f"sqlite:///{tmp_path / 'junipeer.sqlite'}",
        secrets=FileSecretStore(tmp_path / "secrets.json"),
        data_dir=tmp_path,
    )
    integration = service.integration("Demo shop")
    return ConsoleContext(service=service, integration_id=integration.id, clock=lambda: FROZEN_NOW)  # type: ignore[arg-type]
