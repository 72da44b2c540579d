"""The filter builder: presets with the recommended badge, the missing-recommended warning, keep
counts against recent orders, the custom filter editor, and a filter that really excludes an order."""

from __future__ import annotations

import asyncio

from textual.widgets import Input, Select, Static

from engine.service import run_headless
from junipeer_tui.dialogs.filter_builder import (
    ConditionRow,
    FilterBuilderScreen,
    FilterEditor,
    keep_counts,
    sample_records,
)
from junipeer_tui.screens.flows import FlowsSection
from tests.tui import harness
from tests.tui.harness import SectionHarness, settle, wait_until

live = harness.live
SIZE = (100, 32)


def _custom(console_ctx):
    svc = console_ctx.service
    flow = svc.flows(console_ctx.integration_id)[0]
    return flow, svc.save_filter(
        flow.id,
        "Nordic deliveries",
        [{"field": "order.delivery_country", "operator": "one_of", "value": "SE, NO, DK, FI"}],
        match="one",
    )


def test_filter_editor_snapshot(console_ctx, snap_compare) -> None:
    flow, custom = _custom(console_ctx)

    async def run_before(pilot) -> None:
        await settle(pilot)
        await pilot.press("s")
        await settle(pilot)
        pilot.app.push_screen(FilterEditor(console_ctx, flow, custom))
        await settle(pilot)
        await pilot.press("ctrl+n")
        await settle(pilot)

    assert snap_compare(SectionHarness(console_ctx, FlowsSection), terminal_size=SIZE, run_before=run_before)


def test_keep_counts_evaluate_recent_orders(console_ctx) -> None:
    flow, custom = _custom(console_ctx)
    records = sample_records(console_ctx, flow)
    assert len(records) >= 20
    filters = console_ctx.service.filters(flow.id)
    each, together = keep_counts(filters, records)
    assert 0 < each[custom.id] <= len(records)
    assert together <= min(each.values())


async def test_builder_warns_about_missing_recommended_and_saves_inline_errors(console_ctx) -> None:
    svc = console_ctx.service
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
        assert "together they keep" in sample
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
