"""Entities: tabs, search by reference, the detail screen with raw JSON, Retry."""

from __future__ import annotations

from junipeer_tui.screens.entity_detail import EntityDetailScreen
from junipeer_tui.screenshots import SCENES, SIZE, settle, snapshot_app


def test_entities_snapshot(console_ctx, snap_compare) -> None:
    assert snap_compare(snapshot_app(console_ctx), terminal_size=SIZE, run_before=SCENES["entities"])


def test_entity_detail_snapshot(console_ctx, snap_compare) -> None:
    assert snap_compare(snapshot_app(console_ctx), terminal_size=SIZE, run_before=SCENES["entity_detail"])


async def test_search_narrows_to_one_order(console_ctx) -> None:
    app = snapshot_app(console_ctx)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("3")
        await settle(pilot)
        table = app.console_screen.query_one("#entities-table")
        assert table.row_count == 27
        await pilot.press("slash")
        await pilot.press(*"#1006")
        await settle(pilot)
        assert table.row_count == 1
        assert str(table.get_row_at(0)[1]) == "#1006"
        # The storer reference finds it too.
        app.show_section("entities", ref="5100000459")
        await settle(pilot)
        assert [str(table.get_row_at(0)[1])] == ["#1027"]
        # The Customers tab.
        app.show_section("entities", entity_type="customer", ref="")
        await settle(pilot)
        assert table.row_count == 10


async def test_retry_an_errored_entity_creates_a_retry_task(console_ctx) -> None:
    svc, iid = console_ctx.service, console_ctx.integration_id
    errored = svc.entities(iid, status="error")[0]
    app = snapshot_app(console_ctx)
    async with app.run_test(size=SIZE) as pilot:
        app.show_section("entities", status="error")
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, EntityDetailScreen)
        assert "ARTICLE_NOT_FOUND" in str(app.screen.query_one("#entity-summary").render())
        await pilot.press("r")
        await settle(pilot)
        task = svc.tasks(iid, limit=1)[0]
        assert task.kind == "retry" and task.params == {"entity_ids": [errored.id]}
        assert any(f"task #{task.id}" in n.message for n in app._notifications)


async def test_copy_json_to_clipboard(console_ctx) -> None:
    app = snapshot_app(console_ctx)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("3")
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        await pilot.press("c")
        await pilot.pause()
        assert '"name": "#1027"' in app.clipboard
        await pilot.press("t", "c")
        await pilot.pause()
        assert app.clipboard.startswith("{") and '"name": "#1027"' not in app.clipboard
