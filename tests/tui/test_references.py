"""References: tabs per type, search, add / edit / delete (the delete asks, warning of a new target
record), keyset pages; a target id typed by hand is looked up in Fortnox (the sandbox, over HTTP)
before it is saved."""

from __future__ import annotations

import asyncio
import time

from textual.widgets import DataTable, Input, Static

from engine.service import run_headless
from junipeer_tui.dialogs.confirm import ConfirmDialog
from junipeer_tui.dialogs.reference_form import ReferenceForm
from junipeer_tui.screens import references as refs_mod
from junipeer_tui.screens.references import ReferencesSection
from tests.tui import harness
from tests.tui.harness import SectionHarness, settle, wait_until

live = harness.live
SIZE = (100, 32)


def test_references_snapshot(console_ctx, snap_compare) -> None:
    assert snap_compare(SectionHarness(console_ctx, ReferencesSection), terminal_size=SIZE, run_before=settle)


def test_delete_reference_confirm_snapshot(console_ctx, snap_compare) -> None:
    async def run_before(pilot) -> None:
        await settle(pilot)
        await pilot.press("d")
        await settle(pilot)

    assert snap_compare(
        SectionHarness(console_ctx, ReferencesSection), terminal_size=SIZE, run_before=run_before
    )


async def _form_done(pilot, form: ReferenceForm) -> None:
    """The lookup runs in a worker: wait until the form closed or shows its answer. A dismissed
    form stays attached for a moment while its children are removed, so the error line may be
    gone before the form is."""

    def done() -> bool:
        errors = form.query("#ref-error") if form.is_attached else []
        return not errors or bool(str(errors[0].render()))

    await wait_until(pilot, done)
    await settle(pilot)


async def test_search_add_edit_delete_checking_fortnox(live) -> None:
    ctx, sb = live
    svc, iid = ctx.service, ctx.integration_id
    await asyncio.to_thread(lambda: asyncio.run(run_headless(svc, until_idle=True, concurrency=4)))
    fortnox_orders = sorted(int(o["DocumentNumber"]) for o in sb.get("fortnox/orders"))
    app = SectionHarness(ctx, ReferencesSection)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        section = app.section
        first = svc.references(iid, entity_type="order")[0]
        await pilot.press("slash", *(first.source_label or first.source_id), "enter")
        await settle(pilot)
        assert [r.id for r in section.rows] == [first.id]
        # Edit the target id: a number Fortnox does not have is refused in the form, nothing saved.
        await pilot.press("e")
        await pilot.pause()
        form = app.screen
        assert isinstance(form, ReferenceForm)
        missing = str(fortnox_orders[-1] + 1000)
        form.query_one("#ref-target", Input).value = missing
        await pilot.press("enter")
        await _form_done(pilot, form)
        assert app.screen is form
        assert str(form.query_one("#ref-error", Static).render()) == (
            f"TARGET_NOT_FOUND: Fortnox has no order {missing}: check the number"
        )
        assert (
            svc.references(iid, entity_type="order", search=first.source_id)[0].target_id == first.target_id
        )
        # One Fortnox has is saved.
        other = str(next(n for n in fortnox_orders if str(n) != first.target_id))
        form.query_one("#ref-target", Input).value = other
        await pilot.press("enter")
        await _form_done(pilot, form)
        assert not form.is_attached
        assert svc.references(iid, entity_type="order", search=first.source_id)[0].target_id == other
        # Delete: Enter alone lands on Cancel; y deletes.
        await pilot.press("d")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmDialog)
        assert "NEW" in str(app.screen.query_one("#confirm-body", Static).render())
        await pilot.press("enter")
        await pilot.pause()
        assert svc.references(iid, entity_type="order", search=first.source_id)
        await pilot.press("d")
        await pilot.pause()
        await pilot.press("y")
        await settle(pilot)
        assert not svc.references(iid, entity_type="order", search=first.source_id)
        # Add one by hand; a clash shows its code inline.
        await pilot.press("a")
        await pilot.pause()
        form = app.screen
        assert isinstance(form, ReferenceForm)
        form.query_one("#ref-source", Input).value = first.source_id
        form.query_one("#ref-target", Input).value = first.target_id
        form.query_one("#ref-label", Input).value = first.source_label or ""
        form.save()
        await _form_done(pilot, form)
        added = svc.references(iid, entity_type="order", search=first.source_id)
        assert added and added[0].origin == "manual" and added[0].target_id == first.target_id
        again = svc.references(iid, entity_type="order")[1]
        await pilot.press("a")
        await pilot.pause()
        form = app.screen
        form.query_one("#ref-source", Input).value = again.source_id
        form.query_one("#ref-target", Input).value = again.target_id
        form.save()
        await _form_done(pilot, form)
        assert "REFERENCE_EXISTS" in str(form.query_one("#ref-error", Static).render())


async def test_reference_form_says_when_fortnox_cannot_be_asked(console_ctx) -> None:
    """The seeded workspace's platforms are not running: the form says so and saves nothing."""
    svc, iid = console_ctx.service, console_ctx.integration_id
    first = svc.references(iid, entity_type="order")[0]
    app = SectionHarness(console_ctx, ReferencesSection)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.section.action_edit()
        await pilot.pause()
        form = app.screen
        assert isinstance(form, ReferenceForm)
        form.query_one("#ref-target", Input).value = "4242"
        started = time.monotonic()
        form.save()
        await pilot.pause()
        assert form.query_one("#ref-save").disabled  # one lookup at a time
        await _form_done(pilot, form)
        error = str(form.query_one("#ref-error", Static).render())
        assert error.startswith("TARGET_UNREACHABLE: Could not ask Fortnox whether order 4242 exists")
        assert "nothing was saved" in error and time.monotonic() - started < 30
        assert not form.query_one("#ref-save").disabled
        assert (
            svc.references(iid, entity_type="order", search=first.source_id)[0].target_id == first.target_id
        )


async def test_tabs_and_keyset_pages(console_ctx, monkeypatch) -> None:
    monkeypatch.setattr(refs_mod, "PAGE", 5)
    svc, iid = console_ctx.service, console_ctx.integration_id
    app = SectionHarness(console_ctx, ReferencesSection)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        section = app.section
        assert {"order", "customer"} <= set(section.types)
        page1 = [r.id for r in section.rows]
        await pilot.press("n")
        await settle(pilot)
        page2 = [r.id for r in section.rows]
        assert len(page1) == 5 and page2 and max(page2) < min(page1)
        assert "page 2" in str(app.query_one("#references-status", Static).render())
        await pilot.press("p")
        await settle(pilot)
        assert [r.id for r in section.rows] == page1
        section.apply_filter(entity_type="customer")
        await settle(pilot)
        assert all(r.entity_type == "customer" for r in section.rows)
        assert app.query_one("#references-table", DataTable).row_count == len(section.rows)
        assert [r.id for r in svc.references(iid, entity_type="customer", limit=5)] == [
            r.id for r in section.rows
        ]
