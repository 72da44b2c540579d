"""Configure > Connectors against a running sandbox: the connection dropdown switches between saved
credential sets (and tests the one switched to), the badge says Connected or Disconnected and why,
Stripe gets a card of its own, and Manage credentials edits a Dev Dashboard app's client id and
secret without ever showing the secret."""

from __future__ import annotations

from textual.widgets import Input, Select, Static

from junipeer_tui.dialogs.confirm import ConfirmDialog
from junipeer_tui.dialogs.credentials import CredentialsForm, StripeForm
from junipeer_tui.screens.configure import ConfigureSection, ConnectorCard
from tests.tui import harness
from tests.tui.harness import SectionHarness, settle, wait_until

live = harness.live

SIZE = (100, 32)


def card_text(section: ConfigureSection, platform: str) -> str:
    """What a platform's card says ("" while the cards are being laid out anew)."""
    card = next((c for c in section.query(ConnectorCard) if c.platform == platform), None)
    return "\n".join(str(s.render()) for s in card.query(Static)) if card is not None else ""


async def test_dropdown_switches_connections_and_the_badge_says_why(live) -> None:
    ctx, sb = live
    svc, iid = ctx.service, ctx.integration_id
    shop = sb.info["shopify"]
    # A second Shopify connection, a Dev Dashboard app this time: it becomes the active one.
    result = await svc.connect_shopify(
        iid,
        shop=shop["shop_domain"],
        client_id=shop["client_id"],
        client_secret=shop["client_secret"],
        url=shop["base_url"],
        connection="production",
    )
    assert result.ok, result.message
    shopify_id = result.connector.id
    app = SectionHarness(ctx, ConfigureSection)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        section = app.section
        section.action_show_tab("connectors")
        await settle(pilot)
        select = section.query_one(f"#connection-{shopify_id}", Select)
        assert select.value == "production"
        assert [str(label) for label, _value in select._options] == ["production", "sandbox"]
        said = card_text(section, "shopify")
        assert "● Connected" in said and "Connected to Junipeer Demo" in said

        # The app loses read_orders: Test connection turns the badge and names the scope.
        sb.post("shopify/access-scopes", {"scopes": ["read_products"]})
        await pilot.click(f"#test-{shopify_id}")
        await wait_until(pilot, lambda: "● Disconnected" in card_text(section, "shopify"))
        assert "the app lacks the scope read_orders" in card_text(section, "shopify")
        # (the Shopify Payments payouts flow is on: its scope too)
        sb.post(
            "shopify/access-scopes",
            {"scopes": ["read_orders", "read_all_orders", "read_shopify_payments_payouts"]},
        )

        # Back to the saved "sandbox" connection (an access token): switched and tested.
        select.value = "sandbox"
        await wait_until(pilot, lambda: svc.connectors(iid)[0].connection_name == "sandbox")
        await wait_until(pilot, lambda: "● Connected" in card_text(section, "shopify"))
        conn = svc.connectors(iid)[0]
        assert conn.status == "connected" and conn.options["auth"] == "token"
        assert svc.connection_names(conn) == ["production", "sandbox"]

        # Fortnox's grant is revoked (its tokens die): the badge says so after a test.
        sb.post("fortnox/expire-tokens", {"revoke": True})
        fortnox = next(c for c in svc.connectors(iid) if c.platform == "fortnox")
        await pilot.click(f"#test-{fortnox.id}")
        await wait_until(pilot, lambda: "● Disconnected" in card_text(section, "fortnox"))
        reason = card_text(section, "fortnox")
        assert "AUTH_FAILED: Fortnox refused the refresh token" in reason, reason


async def test_stripe_card_and_client_credentials(live) -> None:
    ctx, sb = live
    svc, iid = ctx.service, ctx.integration_id
    shop, stripe = sb.info["shopify"], sb.info["stripe"]
    app = SectionHarness(ctx, ConfigureSection)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        section = app.section
        section.action_show_tab("connectors")
        await settle(pilot)
        assert "○ Not connected" in card_text(section, "stripe")
        await pilot.click("#connect-stripe")
        await settle(pilot)
        form = app.screen
        assert isinstance(form, StripeForm)
        key = form.query_one("#stripe-api_key", Input)
        assert key.password
        key.value = stripe["api_key"]
        form.query_one("#stripe-base_url", Input).value = stripe["base_url"]
        form.save()
        await wait_until(pilot, lambda: app.screen is not form)
        await wait_until(pilot, lambda: "● Connected" in card_text(section, "stripe"))
        assert "payouts and their balance transactions are readable" in card_text(section, "stripe")

        # The shop on a Dev Dashboard app; Manage credentials shows its client id, never the secret.
        result = await svc.connect_shopify(
            iid,
            shop=shop["shop_domain"],
            client_id=shop["client_id"],
            client_secret=shop["client_secret"],
            url=shop["base_url"],
            connection="app",
        )
        assert result.ok
        section.reload()
        await settle(pilot)
        await pilot.click(f"#credentials-{result.connector.id}")
        await settle(pilot)
        form = app.screen
        assert isinstance(form, CredentialsForm)
        client_id = form.query_one("#cred-client_id", Input)
        secret = form.query_one("#cred-client_secret", Input)
        assert client_id.value == shop["client_id"] and not client_id.password
        assert secret.value == "" and secret.password and secret.placeholder == "•••• stored"
        assert not form.query("#cred-access_token")
        secret.value = "a-wrong-secret-for-this-app"
        form.save()
        await wait_until(pilot, lambda: "● Disconnected" in card_text(section, "shopify"), timeout=30)
        assert "a-wrong-secret" not in card_text(section, "shopify")
        await pilot.click(f"#credentials-{result.connector.id}")
        await settle(pilot)
        app.screen.query_one("#cred-client_secret", Input).value = shop["client_secret"]
        app.screen.save()  # type: ignore[attr-defined]
        await wait_until(pilot, lambda: "● Connected" in card_text(section, "shopify"), timeout=30)
        stored = svc.secrets.get(svc.connectors(iid)[0].credential_ref)
        assert stored["client_secret"] == shop["client_secret"]


async def test_manage_removes_a_saved_connection_after_confirming(live) -> None:
    ctx, sb = live
    svc, iid = ctx.service, ctx.integration_id
    shop = sb.info["shopify"]
    result = await svc.connect_shopify(
        iid,
        shop=shop["shop_domain"],
        access_token=shop["access_token"],
        url=shop["base_url"],
        connection="test",
    )
    assert result.ok, result.message
    shopify = result.connector
    saved_ref = shopify.options["saved_connections"]["sandbox"]["credential_ref"]
    app = SectionHarness(ctx, ConfigureSection)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        section = app.section
        section.action_show_tab("connectors")
        await settle(pilot)
        await pilot.click(f"#credentials-{shopify.id}")
        await settle(pilot)
        form = app.screen
        assert isinstance(form, CredentialsForm)
        assert form.query_one("#cred-saved", Select).value == "sandbox"
        # Cancelled at the question: nothing removed.
        await pilot.click("#cred-remove")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmDialog)
        await pilot.press("n")
        await settle(pilot)
        assert svc.connection_names(svc.connectors(iid)[0]) == ["sandbox", "test"]
        # Confirmed: the saved set and its secret are gone, the one in use stays.
        await pilot.click("#cred-remove")
        await settle(pilot)
        await pilot.press("y")
        await wait_until(pilot, lambda: not form.query("#cred-saved-row"))
        conn = svc.connectors(iid)[0]
        assert svc.connection_names(conn) == ["test"] and conn.connection_name == "test"
        assert svc.secrets.get(saved_ref) is None
        assert svc.secrets.get(conn.credential_ref)
