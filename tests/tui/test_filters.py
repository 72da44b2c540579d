"""The filter builder: presets with the recommended badge, the missing-recommended warning, keep
counts against the source's newest orders (read from the sandbox over HTTP), the custom filter
editor, and a filter that really excludes an order."""

from __future__ import annotations

import asyncio
import re

from textual.widgets import Input, Select, Static

from engine.errors import EngineError
from engine.mapping import filters as filters_mod
from engine.service import run_headless
from junipeer_tui.dialogs.filter_builder import ConditionRow, FilterBuilderScreen, FilterEditor
from junipeer_tui.screens.flows import FlowsSection
from junipeer_tui.screens.help import HelpScreen
from junipeer_tui.screenshots import NARROW, screen_text, snapshot_app
from junipeer_tui.widgets.key_footer import KeyFooter
from tests.tui import harness
from tests.tui.harness import SectionHarness, settle, wait_until

live = harness.live
SIZE = (100, 32)


async def _shopify_down(flow, limit=200):
    raise EngineError("PLATFORM_UNAVAILABLE", "shopify did not answer")


def _custom(console_ctx):
    svc = console_ctx.service
    flow = svc.flows(console_ctx.integration_id)[0]
    return flow, svc.save_filter(
        flow.id,
        "Nordic deliveries",
        [{"field": "order.delivery_country", "operator": "one_of", "value": "SE, NO, DK, FI"}],
        match="one",
    )


def test_filter_editor_snapshot(console_ctx, snap_compare, monkeypatch) -> None:
    flow, custom = _custom(console_ctx)
    monkeypatch.setattr(console_ctx.service, "recent_source_records", _shopify_down)

    async def run_before(pilot) -> None:
        await settle(pilot)
        await pilot.press("s")
        await settle(pilot)
        pilot.app.push_screen(FilterEditor(console_ctx, flow, custom))
        await settle(pilot)
        await pilot.press("ctrl+n")
        await settle(pilot)

    assert snap_compare(SectionHarness(console_ctx, FlowsSection), terminal_size=SIZE, run_before=run_before)


async def test_preview_counts_the_sources_newest_orders_not_the_stored_ones(live) -> None:
    """After a sync, the orders a filter dropped are not stored: the preview reads them from Shopify,
    so "keeps" counts them out of every order, not out of the ones that got through."""
    ctx, sb = live
    svc = ctx.service
    flow = svc.flows(ctx.integration_id)[0]
    orders = sb.get("shopify/orders")
    svc.save_filter(
        flow.id,
        "Not refunded",
        [{"field": "order.financial_status", "operator": "not_one_of", "value": ["refunded", "pending"]}],
    )
    filters = svc.filters(flow.id)
    keeps = sum(filters_mod.evaluate(filters, o).kept for o in orders)
    assert 0 < keeps < len(orders)
    await asyncio.to_thread(lambda: asyncio.run(run_headless(svc, until_idle=True, concurrency=4)))
    stored = svc.entities(ctx.integration_id, entity_type="order", limit=500)
    assert len(stored) < len(orders)  # what the old preview counted
    app = SectionHarness(ctx, FlowsSection)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("s")
        await settle(pilot)
        builder = app.screen
        assert isinstance(builder, FilterBuilderScreen)
        sample = str(builder.query_one("#filters-sample", Static).render())
        assert f"Tested on the {len(orders)} newest orders in Shopify" in sample
        assert f"together they keep {keeps} of {len(orders)}." in sample
        table = builder.query_one("#filters-table")
        for row, f in enumerate(filters):
            alone = sum(filters_mod.evaluate([f], o).kept for o in orders)
            assert str(table.get_row_at(row)[2]) == f"keeps {alone} of {len(orders)}"


async def test_builder_warns_about_missing_recommended_and_saves_inline_errors(
    console_ctx, monkeypatch
) -> None:
    svc = console_ctx.service
    monkeypatch.setattr(svc, "recent_source_records", _shopify_down)
    flow = svc.flows(console_ctx.integration_id)[0]
    for f in svc.filters(flow.id):
        svc.delete_filter(f.id)
    app = SectionHarness(console_ctx, FlowsSection)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("s")
        await settle(pilot)
        builder = app.screen
        assert isinstance(builder, FilterBuilderScreen)
        assert "Filter by Status" in str(builder.query_one("#filters-warning", Static).render())
        await pilot.press("c")
        await settle(pilot)
        editor = app.screen
        assert isinstance(editor, FilterEditor)
        await pilot.press("ctrl+s")  # no name, no field: the error shows in the dialog
        await pilot.pause()
        assert "needs a name" in str(editor.query_one("#filter-error", Static).render())
        editor.query_one("#filter-name", Input).value = "Only SEK"
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert "unknown field" in str(editor.query_one("#filter-error", Static).render())
        row = editor.query_one(ConditionRow)
        row.query_one(".cond-field", Select).value = "order.currency"
        row.query_one(".cond-operator", Select).value = "equals"
        row.query_one(".cond-value", Input).value = "SEK"
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.screen is builder
        saved = svc.filters(flow.id)
        assert [(f.name, f.conditions) for f in saved] == [
            ("Only SEK", [{"field": "order.currency", "operator": "equals", "value": "SEK"}])
        ]
        sample = str(builder.query_one("#filters-sample", Static).render())
        assert sample == (
            "Could not read recent orders from Shopify to test the filters: "
            "PLATFORM_UNAVAILABLE: shopify did not answer — "
            "The platform did not answer properly; Retry later."
        )
        # Remove asks first.
        await pilot.press("d")
        await pilot.pause()
        await pilot.press("y")
        await settle(pilot)
        assert svc.filters(flow.id) == []


async def test_custom_filter_built_in_the_ui_excludes_an_order(live) -> None:
    ctx, sb = live
    orders = sb.get("shopify/orders")
    victim = next(o for o in orders if o["financial_status"] == "paid" and o.get("email"))
    app = SectionHarness(ctx, FlowsSection)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("s")
        await settle(pilot)
        await pilot.press("c")
        await settle(pilot)
        editor = app.screen
        assert isinstance(editor, FilterEditor)
        await pilot.press(*"Not the test buyer")
        row = editor.query_one(ConditionRow)
        row.query_one(".cond-field", Select).value = "order.email"
        row.query_one(".cond-operator", Select).value = "not_equals"
        row.query_one(".cond-value", Input).value = victim["email"]
        await pilot.click("#filter-save")
        await wait_until(pilot, lambda: isinstance(app.screen, FilterBuilderScreen))
    await asyncio.to_thread(lambda: asyncio.run(run_headless(ctx.service, until_idle=True, concurrency=4)))
    logs = ctx.service.logs(ctx.integration_id, ref=victim["name"])
    assert any(log.code == "FILTERED_OUT" and "Not the test buyer" in log.message for log in logs)
    assert victim["name"] not in {o["YourOrderNumber"] for o in sb.get("fortnox/orders")}


async def test_filters_dialog_has_its_own_footer_and_help(console_ctx, monkeypatch) -> None:
    monkeypatch.setattr(console_ctx.service, "recent_source_records", _shopify_down)
    app = snapshot_app(console_ctx)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("2")
        await settle(pilot)
        await pilot.press("s")
        await settle(pilot)
        builder = app.screen
        assert isinstance(builder, FilterBuilderScreen)
        footer = str(builder.query_one(KeyFooter).render())
        assert "Add preset" in footer and "Remove" in footer and "Export One" not in footer
        last_line = screen_text(app).splitlines()[-1]
        assert "Add preset" in last_line and "Export One" not in last_line
        await pilot.press("question_mark")
        await settle(pilot)
        assert isinstance(app.screen, HelpScreen)
        assert "Filters: Orders → Fortnox" in str(app.screen.query_one("#help-title").render())
        keys = str(app.screen.query_one("#help-section-actions").render())
        assert all(word in keys for word in ("Add preset", "Add custom filter", "Edit", "Remove", "Close"))
        assert "Export One" not in keys and "Focus Next" not in keys
        assert not app.screen.query("#help-global-actions")  # 1–8, g, q do not work in a dialog
        await pilot.press("escape")
        await settle(pilot)
        assert app.screen is builder


async def test_filters_dialog_reads_the_selected_filters_conditions_whole_at_80x24(
    console_ctx, monkeypatch
) -> None:
    """The Conditions column is cut at 80 columns (and a long one at any width): the line under the
    table says the highlighted filter's conditions in full."""
    monkeypatch.setattr(console_ctx.service, "recent_source_records", _shopify_down)
    _custom(console_ctx)
    app = snapshot_app(console_ctx)
    async with app.run_test(size=NARROW) as pilot:
        await pilot.press("2", "s")
        await settle(pilot)
        assert isinstance(app.screen, FilterBuilderScreen)
        text = " ".join(line.strip(" █") for line in screen_text(app).splitlines())
        status = "Filter by Status: Order > Status is one of paid, partially_refunded, refunded, authorized"
        assert status in re.sub(r"\s+", " ", text), text
        await pilot.press("down")
        await settle(pilot)
        text = re.sub(r"\s+", " ", " ".join(line.strip(" █") for line in screen_text(app).splitlines()))
        assert "Nordic deliveries: Order > Delivery Country is one of SE, NO, DK, FI" in text, text
        assert status not in text
