"""Several worker processes on one Fortnox connection stay inside its 25 requests per 5 s together:
each paces itself to its share of the budget, so the sandbox's Fortnox never answers 429."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta
from pathlib import Path

import pytest

from engine.sandbox.server import SandboxConfig, start_in_process
from engine.secrets import FileSecretStore
from engine.service import Service
from tests.e2e.conftest import INTENDED_ERRORS, Sandbox, duplicates_in_fortnox
from tests.e2e.test_kill_restart import _worker

PROCESSES = 3


@pytest.mark.slow
def test_workers_on_one_connection_share_its_budget(db_url: str, tmp_path: Path) -> None:
    sb = Sandbox(start_in_process(SandboxConfig(orders=150, seed=9, time_scale=0.1)))
    try:
        service = Service(db_url, secrets=FileSecretStore(tmp_path / "secrets.json"), data_dir=tmp_path)
        iid = asyncio.run(service.connect_sandbox(sb.info, "Shop")).id
        flow = service.flows(iid)[0]
        # Work for every process at once: three Export Many ranges beside the scheduled sync.
        today = date.today()
        for first, last in ((400, 60), (59, 20), (19, 0)):
            service.export_many(flow, today - timedelta(days=first), today - timedelta(days=last))
        sb.http.post("stats/reset").raise_for_status()

        workers = [_worker(db_url, tmp_path) for _ in range(PROCESSES)]
        for worker in workers:
            _, err = worker.communicate(timeout=300)
            assert worker.returncode in (0, 1), err.decode()[-2000:]

        fortnox = sb.get("stats")["fortnox"]
        assert fortnox["requests"] > 200, "too little traffic to tell"
        assert fortnox["429"] == 0, f"{fortnox['429']} answers 429 out of {fortnox['requests']}"
        errors = service.entities(iid, entity_type="order", status="error", limit=10_000)
        assert {e.error_code for e in errors} <= INTENDED_ERRORS
        assert duplicates_in_fortnox(sb) == {}
        assert {t.status for t in service.tasks(iid)} == {"completed"}
    finally:
        sb.http.close()
        sb.running.stop()
