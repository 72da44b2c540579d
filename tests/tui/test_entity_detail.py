"""Entity detail: Retry is followed on the screen until its task ends; the operator sees the
entity's new status and the retry in the timeline without leaving (real sandbox over HTTP)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from textual.widgets import Static

from engine.sandbox.server import SandboxConfig, start_in_thread
from engine.secrets import FileSecretStore
from engine.service import Service, run_headless
from engine.store.models import EntityStatus
from junipeer_tui.context import ConsoleContext
from junipeer_tui.screens.entities import EntitiesSection
from junipeer_tui.screens.entity_detail import EntityDetailScreen
from tests.e2e.conftest import Sandbox
from tests.tui.harness import SectionHarness, settle, wait_until

SIZE = (100, 32)


@pytest.fixture
def synced_with_an_error(tmp_path: Path) -> Iterator[tuple[ConsoleContext, Sandbox, int]]:
    """The seed's 30 orders synced; one failed with ARTICLE_NOT_FOUND (its SKU is not in Fortnox)."""
    with start_in_thread(SandboxConfig(orders=30, seed=11, time_scale=0.01)) as running:
        sb = Sandbox(running)
        service = Service(
            f"sqlite:///{tmp_path / 'db.sqlite'}",
            secrets=FileSecretStore(tmp_path / "secrets.json"),
            data_dir=tmp_path,
        )
        integ = asyncio.run(service.connect_sandbox(sb.info, "Shop"))
        asyncio.run(run_headless(service, until_idle=True, concurrency=4))
        failed = service.entities(integ.id, entity_type="order", status="error", limit=10)
        assert failed and failed[0].error_code == "ARTICLE_NOT_FOUND"
        yield ConsoleContext(service=service, integration_id=integ.id), sb, failed[0].id  # type: ignore[arg-type]
        sb.http.close()
        asyncio.run(service.aclose())


async def test_retry_in_entity_detail_shows_the_outcome(synced_with_an_error) -> None:
    ctx, sb, entity_id = synced_with_an_error
    entity = ctx.service.entity(entity_id)
    order = next(o for o in sb.get("shopify/orders") if o["name"] == entity.retriever_reference)
    articles = {a["ArticleNumber"] for a in sb.get("fortnox/articles")}
    for sku in {li["sku"] for li in order["line_items"]} - articles:  # the operator fixes the cause
        sb.post("fortnox/articles", {"ArticleNumber": sku, "Description": sku})
    app = SectionHarness(ctx, EntitiesSection)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.push_screen(EntityDetailScreen(ctx, entity_id))
        await settle(pilot)
        detail = app.screen
        assert isinstance(detail, EntityDetailScreen)
        timeline = detail.query_one("#entity-timeline")
        before = timeline.row_count
        assert "ARTICLE_NOT_FOUND" in str(detail.query_one("#entity-summary", Static).render())
        await pilot.press("r")
        await wait_until(
            pilot, lambda: detail.retry_task is not None and detail.retry_task.status == "completed"
        )
        await settle(pilot)
        summary = str(detail.query_one("#entity-summary", Static).render())
        assert f"Retry: task #{detail.retry_task.id} completed" in summary
        assert "synced" in summary and "ARTICLE_NOT_FOUND" not in summary
        assert detail.entity is not None and detail.entity.status == EntityStatus.SYNCED
        assert timeline.row_count > before
        assert order["name"] in {o["YourOrderNumber"] for o in sb.get("fortnox/orders")}
