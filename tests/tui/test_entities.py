"""Entities: tabs, search by reference, the detail screen with raw JSON, Retry, Retry all shown."""

from __future__ import annotations

import re

from sqlalchemy import text
from textual.widgets import Input, Static

from junipeer_tui.dialogs.confirm import ConfirmDialog
from junipeer_tui.screens.entity_detail import EntityDetailScreen
from junipeer_tui.screenshots import NARROW, SCENES, SIZE, screen_text, settle, snapshot_app

HEADERS = r"Status +Retriever Reference +Storer Reference +Last Updated"


def test_entities_snapshot(console_ctx, snap_compare) -> None:
    assert snap_compare(snapshot_app(console_ctx), terminal_size=SIZE, run_before=SCENES["entities"])


def test_entities_80x24_snapshot(console_ctx, snap_compare) -> None:
    assert snap_compare(snapshot_app(console_ctx), terminal_size=NARROW, run_before=SCENES["entities"])


async def test_80x24_keeps_last_updated_with_a_pending_order_and_long_customer_references(
    console_ctx,
) -> None:
    """The widest page the tabs show at 80 columns: a "pending" status (the widest) and customers'
    e-mail addresses as retriever references. Every header stays whole, Last Updated included."""
    with console_ctx.service.db.begin() as conn:
        conn.execute(text("UPDATE entity SET status = 'pending' WHERE retriever_reference = '#1029'"))
    app = snapshot_app(console_ctx)
    async with app.run_test(size=NARROW) as pilot:
        await pilot.press("3")
        await settle(pilot)
        lines = screen_text(app).splitlines()
        assert any(re.search(HEADERS, line) for line in lines), "\n".join(lines)
        assert any(re.search(r"pending +#1029 +25 +1 h ago", line) for line in lines)
        app.show_section("entities", entity_type="customer")
        await settle(pilot)
        lines = screen_text(app).splitlines()
        assert any(re.search(HEADERS, line) for line in lines), "\n".join(lines)
        assert any(re.search(r"synced +\S+@\S* +\d+ +1 h ago", line) for line in lines), "\n".join(lines)


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


async def test_esc_leaves_the_search_for_the_records_and_the_footer_shows_only_live_keys(
    console_ctx,
) -> None:
    app = snapshot_app(console_ctx)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("3", "slash")
        await settle(pilot)
        assert app.focused is not None and app.focused.id == "entities-search"
        # In the search field / is typed, not a key: the footer does not offer it.
        footer = screen_text(app).splitlines()[-1]
        assert "/ Search" not in footer and "Retry" not in footer, footer
        await pilot.press("slash", "1")
        await settle(pilot)
        assert app.console_screen.query_one("#entities-search", Input).value == "/1"
        await pilot.press("escape")
        await settle(pilot)
        assert app.focused is not None and app.focused.id == "entities-table"
        assert screen_text(app).splitlines()[-1].startswith(" r Retry entity  R Retry all shown  / Search")
        # The status filter too.
        app.console_screen.query_one("#entities-status").focus()
        await pilot.press("escape")
        await settle(pilot)
        assert app.focused is not None and app.focused.id == "entities-table"


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
        assert task.kind == "retry" and task.params["entity_ids"] == [errored.id]
        assert any(f"task #{task.id}" in n.message for n in app._notifications)


async def retry_all_shown(pilot) -> None:
    await pilot.press("3")
    await settle(pilot)
    await pilot.press("R")
    await settle(pilot)


def test_retry_all_shown_confirm_snapshot(console_ctx, snap_compare) -> None:
    assert snap_compare(snapshot_app(console_ctx), terminal_size=SIZE, run_before=retry_all_shown)


async def test_retry_all_shown_asks_with_the_count_then_enqueues(console_ctx) -> None:
    svc, iid = console_ctx.service, console_ctx.integration_id
    orders = svc.entities(iid, entity_type="order", limit=1000)
    errored = [e.id for e in orders if e.status == "error"]
    assert len(orders) == 27 and errored
    app = snapshot_app(console_ctx)
    async with app.run_test(size=SIZE) as pilot:
        await retry_all_shown(pilot)
        # Every order of the tab, not only those on the page.
        assert isinstance(app.screen, ConfirmDialog)
        assert "Re-sync all 27 orders, on every page" in str(
            app.screen.query_one("#confirm-body", Static).render()
        )
        await pilot.press("n")
        await settle(pilot)
        assert svc.tasks(iid, status="pending") == []  # asking enqueues nothing

        # Narrowed to the errors: the status filter is what is retried.
        app.show_section("entities", status="error")
        await settle(pilot)
        await pilot.press("R")
        await settle(pilot)
        body = str(app.screen.query_one("#confirm-body", Static).render())
        assert f"Re-sync {'all ' if len(errored) > 1 else 'the '}{len(errored)} order" in body
        assert "with status Error" in body
        await pilot.press("y")
        await settle(pilot)
        [task] = svc.tasks(iid, status="pending")
        assert (task.kind, task.trigger, task.params) == ("retry", "retry", {"entity_ids": errored})
        assert any(f"by task #{task.id}" in n.message for n in app._notifications)

        # Customers are re-synced with their orders: nothing to ask about.
        app.show_section("entities", entity_type="customer", status=None)
        await settle(pilot)
        await pilot.press("R")
        await settle(pilot)
        assert not isinstance(app.screen, ConfirmDialog)
        assert any(n.message.startswith("Nothing to retry: no customers") for n in app._notifications)
        assert len(svc.tasks(iid, status="pending")) == 1


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
