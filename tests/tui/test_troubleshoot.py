"""The troubleshooting jump: verdicts for a synced and an errored order, and typing a reference."""

from __future__ import annotations

from junipeer_tui.screens.troubleshoot import TroubleshootScreen
from junipeer_tui.screenshots import SCENES, SIZE, settle, snapshot_app


def test_troubleshoot_synced_snapshot(console_ctx, snap_compare) -> None:
    assert snap_compare(
        snapshot_app(console_ctx), terminal_size=SIZE, run_before=SCENES["troubleshoot_synced"]
    )


def test_troubleshoot_error_snapshot(console_ctx, snap_compare) -> None:
    assert snap_compare(
        snapshot_app(console_ctx), terminal_size=SIZE, run_before=SCENES["troubleshoot_error"]
    )


async def test_jump_for_an_errored_ref_shows_error_and_code(console_ctx) -> None:
    app = snapshot_app(console_ctx)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("g")
        await settle(pilot)
        assert isinstance(app.screen, TroubleshootScreen)
        await pilot.press(*"#1006", "enter")
        await settle(pilot)
        assert str(app.screen.query_one("#verdict").render()).strip() == "ERROR (ARTICLE_NOT_FOUND)"
        assert "GIFTBOX-DELUXE" in str(app.screen.query_one("#trouble-summary").render())
        assert app.screen.query_one("#trouble-logs").row_count == 1
        # By the Fortnox number: order 26 is #1027, synced.
        await pilot.press("slash")
        app.screen.query_one("#trouble-input").value = ""
        await pilot.press(*"26", "enter")
        await settle(pilot)
        assert str(app.screen.query_one("#verdict").render()).strip() == "SYNCED"
        assert app.screen.explanation.ref == "#1027"
