"""Configure: settings by widget type with the required banner and inline errors, Clear Cache,
connectors (status, credentials never shown), flows on/off in General."""

from __future__ import annotations

from sqlmodel import select
from textual.widgets import Input, Select, Static, Switch

from engine.store.models import Setting
from junipeer_tui.dialogs.credentials import CredentialsForm
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
