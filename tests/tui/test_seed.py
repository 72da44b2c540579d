"""The seeded workspace every snapshot uses is deterministic: two builds give the same rows."""

from __future__ import annotations


def test_seeded_workspace_has_every_kind_of_record(console_ctx) -> None:
    svc, iid = console_ctx.service, console_ctx.integration_id
    counts = svc.entity_counts(iid)
    assert svc.entity_types(iid) == sorted(counts) == ["customer", "order", "payout", "payout_line", "refund"]
    assert counts["order"]["synced"] > 10 and counts["order"].get("error", 0) >= 1
    assert counts["customer"]["synced"] > 5
    assert counts["refund"]["synced"] >= 3  # credited, each under its order
    # Shopify Payments paid out some orders: their lines paid the invoices, each payout with a voucher.
    assert counts["payout"]["synced"] >= 1 and counts["payout_line"]["synced"] >= 3
    assert svc.logs(iid, level="error") and svc.references(iid) and svc.tasks(iid)
    first = svc.entities(iid, entity_type="order")[-1]
    assert first.last_updated.year == 2026 and first.raw_source and first.raw_target
