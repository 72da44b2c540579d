"""Dashboard: figures from the seeded workspace; ⏎ on a latest error troubleshoots it."""

from __future__ import annotations

from datetime import timedelta

from junipeer_tui.screens.dashboard import chart, day_buckets
from junipeer_tui.screens.troubleshoot import TroubleshootScreen
from junipeer_tui.screenshots import SIZE, settle, snapshot_app
from tests.tui.conftest import FROZEN_NOW


async def test_dashboard_shows_ratio_counts_and_errors(console_ctx) -> None:
    app = snapshot_app(console_ctx)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = app.console_screen
        assert "2 completed" in str(screen.query_one("#dash-ratio").render())  # orders, then payouts
        counts = str(screen.query_one("#dash-entity-counts").render())
        assert "Orders" in counts and "26" in counts and "Customers" in counts
        assert "Engine not running" in str(screen.query_one("#dash-next-text").render())
        await pilot.press("enter")  # the latest error: #1006
        await settle(pilot)
        assert isinstance(app.screen, TroubleshootScreen)
        assert str(app.screen.query_one("#verdict").render()).strip() == "ERROR (ARTICLE_NOT_FOUND)"


def test_day_buckets_and_chart(console_ctx) -> None:
    first = FROZEN_NOW.date() - timedelta(days=6)
    buckets = day_buckets(console_ctx.service.task_counts_by_day(console_ctx.integration_id, first, 7))
    assert len(buckets) == 7 and buckets[-1] == ("Tue 24", 2, 0)
    assert "█" in chart(buckets).plain
