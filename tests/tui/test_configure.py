"""Configure: settings by widget type with the required banner and inline errors, Clear Cache,
connectors (status, credentials never shown), scheduling rules (add with inline errors, edit, on/off,
delete with confirm), webhook subscriptions, and General (rename, modes, flows on/off)."""

from __future__ import annotations

from sqlmodel import select
from textual.widgets import Button, DataTable, Input, Select, SelectionList, Static, Switch

from engine.store.models import Setting, WebhookSubscription
from junipeer_tui.dialogs.confirm import ConfirmDialog
from junipeer_tui.dialogs.credentials import CredentialsForm
from junipeer_tui.dialogs.oss_import import OssImportDialog
from junipeer_tui.dialogs.schedule_rule import ScheduleRuleForm
from junipeer_tui.screens.configure import REQUIRED_BANNER, ConfigureSection, SettingField
from tests.tui.harness import SectionHarness, settle

SIZE = (100, 32)


async def _fake_lookup(integration_id, source):
    if source.endswith("wayofdeliveries"):
        return [
            {"Code": c, "Description": d} for c, d in [("PN", "PostNord"), ("DHL", "DHL"), ("UPS", "UPS")]
        ]
    return [{"Code": c, "Description": d} for c, d in [("K", "Card"), ("PP", "PayPal"), ("30", "30 days")]]


def _without_exclusion_date(console_ctx) -> None:
    with console_ctx.service.session() as s:
        for row in s.exec(
            select(Setting).where(Setting.category == "order", Setting.key == "exclusion_date")
        ):
            s.delete(row)
        s.commit()


def test_settings_required_banner_snapshot(console_ctx, snap_compare, monkeypatch) -> None:
    monkeypatch.setattr(console_ctx.service, "lookup", _fake_lookup)
    _without_exclusion_date(console_ctx)
    assert snap_compare(SectionHarness(console_ctx, ConfigureSection), terminal_size=SIZE, run_before=settle)


def test_connectors_snapshot(console_ctx, snap_compare, monkeypatch) -> None:
    monkeypatch.setattr(console_ctx.service, "lookup", _fake_lookup)

    async def run_before(pilot) -> None:
        await settle(pilot)
        pilot.app.section.action_show_tab("connectors")
        await settle(pilot)

    assert snap_compare(
        SectionHarness(console_ctx, ConfigureSection), terminal_size=SIZE, run_before=run_before
    )


async def test_save_with_inline_errors_then_banner_goes(console_ctx, monkeypatch) -> None:
    monkeypatch.setattr(console_ctx.service, "lookup", _fake_lookup)
    _without_exclusion_date(console_ctx)
    svc, iid = console_ctx.service, console_ctx.integration_id
    app = SectionHarness(console_ctx, ConfigureSection)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        section = app.section
        banner = section.query_one("#banner-order", Static)
        assert banner.display and REQUIRED_BANNER in str(banner.render())
        field = section.query_one("#field-order-exclusion_date", SettingField)
        field.query_one(Input).value = "2026-02-30"
        section.save_category("order")
        await pilot.pause()
        assert "not a date" in str(field.query_one(".field-error", Static).render())
        # The field in error keeps its one line of text in view (a border used to cover it).
        wrong = field.query_one(Input)
        assert field.has_class("has-error") and wrong.content_size.height == 1
        assert "2026-02-30" in "".join(seg.text for seg in wrong.render_line(0))
        field.query_one(Input).value = ""
        section.save_category("order")
        await pilot.pause()
        assert "required" in str(field.query_one(".field-error", Static).render())
        field.query_one(Input).value = "2026-01-01"
        section.save_category("order")
        await pilot.pause()
        assert not banner.display
        assert str(svc.settings(iid).order.exclusion_date) == "2026-01-01"
        assert svc.missing_settings(iid) == []
        # Dropdown values came from the (faked) platform lookup and keep the saved choice.
        default_way = section.query_one("#field-shipping-default_way_of_delivery", SettingField)
        assert ("PN — PostNord", "PN") in default_way.options
        payment = section.query_one("#field-payment-mapping", SettingField)
        assert payment.read() == svc.settings(iid).payment.mapping
        # A mapping row typed by hand.
        await pilot.click("#field-payment-mapping .map-add")
        await pilot.pause()
        row = list(payment.query(".mapping-row"))[-1]
        row.query_one(Input).value = "swish"
        row.query_one(Select).value = "K"
        section.save_category("payment")
        await pilot.pause()
        assert svc.settings(iid).payment.mapping["swish"] == "K"


async def test_clear_cache_credentials_and_flow_toggle(console_ctx, monkeypatch) -> None:
    monkeypatch.setattr(console_ctx.service, "lookup", _fake_lookup)
    svc, iid = console_ctx.service, console_ctx.integration_id
    app = SectionHarness(console_ctx, ConfigureSection)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        section = app.section
        await pilot.press("ctrl+l")
        await settle(pilot)
        section.action_show_tab("connectors")
        await settle(pilot)
        shopify = next(c for c in svc.connectors(iid) if c.platform == "shopify")
        secret_before = svc.secrets.get(shopify.credential_ref)
        card_text = str(section.query_one(f"#connector-{shopify.id} .connector-secret", Static).render())
        assert "•••• stored" in card_text and secret_before["access_token"] not in card_text
        await pilot.click(f"#credentials-{shopify.id}")
        await pilot.pause()
        form = app.screen
        assert isinstance(form, CredentialsForm)
        token = form.query_one("#cred-access_token", Input)
        assert token.value == "" and token.password and token.placeholder == "•••• stored"
        token.value = "shpat_new"
        monkeypatch.setattr(section, "_test", lambda connector_id: None)
        form.save()
        await settle(pilot)
        stored = svc.secrets.get(shopify.credential_ref)
        assert (
            stored["access_token"] == "shpat_new"
            and stored["webhook_secret"] == secret_before["webhook_secret"]
        )
        section.action_show_tab("general")
        await settle(pilot)
        flow = svc.flows(iid)[0]
        section.query_one(f"#flow-enabled-{flow.id}", Switch).value = False
        await settle(pilot)
        assert svc.flows(iid)[0].enabled is False


# -- Scheduling, Webhooks, General --------------------------------------------------------------------


async def _open_tab(pilot, tab: str) -> None:
    await settle(pilot)
    pilot.app.section.action_show_tab(tab)
    await settle(pilot)


def test_scheduling_snapshot(console_ctx, snap_compare, monkeypatch) -> None:
    """The seeded rule, its buttons and what the next runs say without an engine."""
    monkeypatch.setattr(console_ctx.service, "lookup", _fake_lookup)

    async def run_before(pilot) -> None:
        await _open_tab(pilot, "scheduling")
        pilot.app.section.query_one("#schedule-table").focus()
        await settle(pilot)

    assert snap_compare(
        SectionHarness(console_ctx, ConfigureSection), terminal_size=SIZE, run_before=run_before
    )


def test_schedule_rule_dialog_snapshot(console_ctx, snap_compare, monkeypatch) -> None:
    monkeypatch.setattr(console_ctx.service, "lookup", _fake_lookup)

    async def run_before(pilot) -> None:
        await _open_tab(pilot, "scheduling")
        pilot.app.section.query_one("#schedule-table").focus()
        await pilot.press("e")
        await settle(pilot)

    assert snap_compare(
        SectionHarness(console_ctx, ConfigureSection), terminal_size=SIZE, run_before=run_before
    )


async def test_add_toggle_delete_rule(console_ctx, monkeypatch) -> None:
    monkeypatch.setattr(console_ctx.service, "lookup", _fake_lookup)
    svc, iid = console_ctx.service, console_ctx.integration_id
    before = [r.name for r in svc.schedule_rules(iid)]
    orders = next(f for f in svc.flows(iid) if f.entity_type == "order")
    app = SectionHarness(console_ctx, ConfigureSection)
    async with app.run_test(size=SIZE) as pilot:
        await _open_tab(pilot, "scheduling")
        section = app.section
        section.query_one("#schedule-table").focus()
        # The rule keys work on the Scheduling tab only.
        await pilot.press("a")
        await settle(pilot)
        form = app.screen
        assert isinstance(form, ScheduleRuleForm)
        await pilot.press(*"Orders often")
        flows = form.query_one("#rule-flows", SelectionList)
        flows.select(orders.key)
        form.query_one("#rule-interval", Input).value = "0"
        form.query_one("#rule-from", Input).value = "06:00"
        form.query_one("#rule-to", Input).value = "22:00"
        await pilot.click("#rule-save")
        await settle(pilot)
        assert app.screen is form  # stays open with the engine's message inline
        assert "at least 1 minute" in str(form.query_one("#rule-error", Static).render())
        form.query_one("#rule-to", Input).value = ""
        form.query_one("#rule-interval", Input).value = "5"
        form.query_one("#rule-interval", Input).focus()
        await pilot.press("enter")  # Enter in a field saves too
        await settle(pilot)
        assert "both ends" in str(form.query_one("#rule-error", Static).render())
        form.query_one("#rule-to", Input).value = "22:00"
        await pilot.pause(0.3)  # a button ignores clicks while it shows the last one
        await pilot.click("#rule-save")
        await settle(pilot)
        assert app.screen is not form
        rule = svc.schedule_rules(iid)[-1]
        assert [r.name for r in svc.schedule_rules(iid)] == [*before, "Orders often"]
        assert (rule.flow_keys, rule.interval_minutes, rule.active_from, rule.active_to, rule.enabled) == (
            [orders.key],
            5,
            "06:00",
            "22:00",
            True,
        )
        table = section.query_one("#schedule-table", DataTable)
        assert table.row_count == len(before) + 1 and table.cursor_row == len(before)
        assert [str(c) for c in table.get_row_at(len(before))] == [
            "Orders often",
            orders.name,
            "5 min",
            "06:00–22:00",
            "on",
        ]
        # Toggle it off with the key, then on again with the button.
        await pilot.press("space")
        await settle(pilot)
        assert svc.schedule_rules(iid)[-1].enabled is False
        assert str(table.get_row_at(len(before))[-1]) == "off"
        await pilot.click("#rule-toggle")
        await settle(pilot)
        assert svc.schedule_rules(iid)[-1].enabled is True
        # Delete asks first; Cancel keeps it, Delete removes it.
        section.query_one("#schedule-table").focus()
        await pilot.press("d")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmDialog)
        await pilot.press("n")
        await settle(pilot)
        assert len(svc.schedule_rules(iid)) == len(before) + 1
        await pilot.press("d")
        await settle(pilot)
        await pilot.click("#confirm-yes")
        await settle(pilot)
        assert [r.name for r in svc.schedule_rules(iid)] == before
        assert table.row_count == len(before)


async def test_rule_keys_only_on_scheduling_tab(console_ctx, monkeypatch) -> None:
    monkeypatch.setattr(console_ctx.service, "lookup", _fake_lookup)
    app = SectionHarness(console_ctx, ConfigureSection)
    async with app.run_test(size=SIZE) as pilot:
        await _open_tab(pilot, "connectors")
        await pilot.press("a", "d")
        await settle(pilot)
        assert app.screen is app.screen_stack[0]
        assert app.section.check_action("add_rule", ()) is False


async def test_edit_rule_through_dialog(console_ctx, monkeypatch) -> None:
    monkeypatch.setattr(console_ctx.service, "lookup", _fake_lookup)
    svc, iid = console_ctx.service, console_ctx.integration_id
    rule = svc.schedule_rules(iid)[0]
    app = SectionHarness(console_ctx, ConfigureSection)
    async with app.run_test(size=SIZE) as pilot:
        await _open_tab(pilot, "scheduling")
        app.section.query_one("#schedule-table").focus()
        await pilot.press("enter")
        await settle(pilot)
        form = app.screen
        assert isinstance(form, ScheduleRuleForm)
        assert set(form.query_one("#rule-flows", SelectionList).selected) == set(rule.flow_keys)
        form.query_one("#rule-interval", Input).value = "30"
        form.save()
        await settle(pilot)
        assert svc.schedule_rules(iid)[0].interval_minutes == 30
        assert str(app.section.query_one("#schedule-table", DataTable).get_row_at(0)[2]) == "30 min"


async def test_webhooks_empty_then_listed(console_ctx, monkeypatch) -> None:
    monkeypatch.setattr(console_ctx.service, "lookup", _fake_lookup)
    svc, iid = console_ctx.service, console_ctx.integration_id
    app = SectionHarness(console_ctx, ConfigureSection)
    async with app.run_test(size=SIZE) as pilot:
        await _open_tab(pilot, "webhooks")
        section = app.section
        assert svc.webhook_subscriptions(iid) == []
        assert section.query_one("#webhooks-empty").display
        assert not section.query_one("#webhooks-table").display
        assert "comes with the webhook work" in str(section.query_one("#webhooks-empty", Static).render())
        shopify = next(c for c in svc.connectors(iid) if c.platform == "shopify")
        with svc.session() as s:
            s.add(
                WebhookSubscription(
                    integration_id=iid,
                    connector_id=shopify.id,
                    topic="orders/create",
                    receiving_url="https://hooks.example/shopify/orders-create",
                )
            )
            s.commit()
        section.reload()
        await settle(pilot)
        table = section.query_one("#webhooks-table", DataTable)
        assert table.display and not section.query_one("#webhooks-empty").display
        row = [str(c) for c in table.get_row_at(0)]
        assert row[:3] == ["orders/create", "Shopify", "https://hooks.example/shopify/orders-create"]


async def test_rename_and_modes(console_ctx, monkeypatch) -> None:
    monkeypatch.setattr(console_ctx.service, "lookup", _fake_lookup)
    svc, iid = console_ctx.service, console_ctx.integration_id
    app = SectionHarness(console_ctx, ConfigureSection)
    async with app.run_test(size=SIZE) as pilot:
        await _open_tab(pilot, "general")
        section = app.section
        name = section.query_one("#general-name", Input)
        name.value = "   "
        await pilot.click("#general-save-name")
        await settle(pilot)
        assert "needs a name" in str(section.query_one("#general-name-error", Static).render())
        assert svc.integration(iid).name == "Demo shop"
        name.value = "Nordic shop"
        name.focus()
        await pilot.press("enter")
        await settle(pilot)
        assert svc.integration(iid).name == "Nordic shop"
        assert str(section.query_one("#general-name-error", Static).render()) == ""
        integ = svc.integration(iid)
        assert (integ.onboarding_mode, integ.live_mode) == (True, False)
        note = str(section.query_one("#general-modes-note", Static).render())
        assert "Scheduling rules run only in Live mode" in note and "same way" not in note
        section.query_one("#general-live", Switch).value = True
        section.query_one("#general-onboarding", Switch).value = False
        await settle(pilot)
        integ = svc.integration(iid)
        assert (integ.onboarding_mode, integ.live_mode) == (False, True)


async def test_header_shows_new_name_and_mode(console_ctx) -> None:
    """In the whole console: the header re-reads the integration after a rename and a mode switch."""
    from junipeer_tui.screenshots import snapshot_app

    app = snapshot_app(console_ctx)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("8")
        await settle(pilot)
        section = app.console_screen.section("configure")
        section.action_show_tab("general")
        await settle(pilot)
        section.query_one("#general-name", Input).value = "Nordic shop"
        section.save_name()
        section.query_one("#general-live", Switch).value = True
        section.query_one("#general-onboarding", Switch).value = False
        await settle(pilot)
        header = app.screen.query_one("#console-header")
        assert str(header.query_one("#integration-name", Static).render()) == "Nordic shop"
        assert str(header.query_one("#mode", Static).render()) == "live"


async def test_next_runs_from_the_engine(console_ctx, monkeypatch) -> None:
    """With an engine: its scheduler's next runs in UTC with how far off they are."""
    from datetime import timedelta, timezone
    from types import SimpleNamespace

    from tests.tui.conftest import FROZEN_NOW

    monkeypatch.setattr(console_ctx.service, "lookup", _fake_lookup)
    local = FROZEN_NOW.astimezone(timezone(timedelta(hours=2)))  # APScheduler hands back local times
    status = SimpleNamespace(
        alive=True, scheduler_paused=False, next_runs=[("Every 15 minutes", local + timedelta(minutes=7))]
    )
    console_ctx.engine = SimpleNamespace(loop=None, status=lambda: status)
    app = SectionHarness(console_ctx, ConfigureSection)
    async with app.run_test(size=SIZE) as pilot:
        await _open_tab(pilot, "scheduling")
        text = str(app.section.query_one("#next-runs", Static).render())
        assert text == "Every 15 minutes  12:07:00 (in 7m00s)"
        status.alive = False
        app.section.reload()
        await settle(pilot)
        assert "stopped" in str(app.section.query_one("#next-runs", Static).render())


async def test_import_oss_csv_shows_every_bad_line_then_imports(console_ctx, monkeypatch, tmp_path) -> None:
    monkeypatch.setattr(console_ctx.service, "lookup", _fake_lookup)
    svc, iid = console_ctx.service, console_ctx.integration_id
    before = svc.settings(iid).sales_accounts
    header = "country;vat_rate;sales_account;shipping_account;fee_account;credit_account"
    bad = tmp_path / "bad.csv"
    bad.write_text(f"{header}\nDE;;3162;;;\nNO;;3170;;;\nDE;;3162;;;\n", encoding="utf-8")
    good = tmp_path / "oss.csv"
    good.write_text(f"{header}\nDE;;3162;3169;6570;3171\nFI;25,5;3166;;;\n", encoding="utf-8")
    app = SectionHarness(console_ctx, ConfigureSection)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        section = app.section
        section.query_one("#category-sales_accounts").collapsed = False
        await settle(pilot)
        section.query_one("#import-oss", Button).press()
        await settle(pilot)
        dialog = app.screen
        assert isinstance(dialog, OssImportDialog)
        path = dialog.query_one("#oss-import-path", Input)
        path.value = str(bad)
        await pilot.press("enter")
        await settle(pilot)
        status = str(dialog.query_one("#oss-import-status", Static).render())
        assert "Nothing was saved: 2 bad line(s)" in status
        assert "line 3: 'NO' is not an EU country code" in status
        assert "line 4: DE is already mapped on line 2" in status
        assert svc.settings(iid).sales_accounts == before
        path.value = str(tmp_path / "missing.csv")
        await pilot.click("#oss-import-run")
        await settle(pilot)
        assert "BAD_INPUT" in str(dialog.query_one("#oss-import-status", Static).render())
        path.value = str(good)
        dialog.query_one("#oss-import-run", Button).press()
        await settle(pilot)
        assert "Imported 2 OSS mapping entries" in str(
            dialog.query_one("#oss-import-status", Static).render()
        )
        await pilot.press("escape")
        await settle(pilot)
        saved = svc.settings(iid).sales_accounts
        assert saved.oss_accounts == {"DE": "3162", "FI 25.5": "3166"}
        assert (saved.oss_shipping_accounts, saved.oss_fee_accounts) == ({"DE": "3169"}, {"DE": "6570"})
        # The category shows what was imported, open, in place of what it showed before.
        panel = section.query_one("#category-sales_accounts")
        assert not panel.collapsed
        shown = section.query_one("#field-sales_accounts-oss_accounts", SettingField)
        assert shown.read() == {"DE": "3162", "FI 25.5": "3166"}
