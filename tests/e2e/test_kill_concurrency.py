"""Exactly once under SIGKILL while work overlaps: several worker processes share the database, each
running a scheduled sync beside a pending Export Many of the same orders (two tasks in one process),
some orders carry no email, and workers are killed at random instants and restarted. In the end
every order, invoice, credit invoice and customer exists once in the sandbox's Fortnox and no order or
refund is lost; Stripe payouts are booked beside them, and every invoice payment and payout voucher
exists once too."""

from __future__ import annotations

import asyncio
import random
import signal
import time
from collections import Counter
from datetime import date, timedelta
from pathlib import Path

import pytest

from engine.mapping.filters import PRESETS
from engine.sandbox.server import SandboxConfig, start_in_process
from engine.secrets import FileSecretStore
from engine.service import Service
from tests.e2e.conftest import Sandbox, duplicates_in_fortnox
from tests.e2e.test_kill_restart import _worker

ORDERS = 300
KILLS = 8


@pytest.mark.slow
def test_kills_during_overlapping_tasks_and_processes_never_duplicate(db_url: str, tmp_path: Path) -> None:
    processes = 3 if db_url.startswith("postgresql") else 2
    sb = Sandbox(start_in_process(SandboxConfig(orders=ORDERS, seed=8, time_scale=0.05)))
    try:
        shop = sb.get("shopify/orders")
        rng = random.Random(20261206)
        for order in rng.sample(shop, len(shop) // 4):
            sb.post(f"shopify/orders/{order['id']}", {"email": None})
        service = Service(db_url, secrets=FileSecretStore(tmp_path / "secrets.json"), data_dir=tmp_path)
        iid = asyncio.run(service.connect_sandbox(sb.info, "Shop", stripe=True, shopify_payments=True)).id
        # PayPal invoices get a payment each: duplicates_in_fortnox counts them per invoice too.
        service.save_settings(iid, "invoice", {"paid_gateways": {"paypal": "PP"}})
        flow = service.flow(iid, "orders_to_fortnox")
        service.export_many(flow, date.today() - timedelta(days=400), date.today())

        workers = [_worker(db_url, tmp_path) for _ in range(processes)]
        kills: list[int] = []
        for _ in range(KILLS):
            before = len(sb.get("fortnox/orders"))
            deadline = time.monotonic() + 60
            while len(sb.get("fortnox/orders")) <= before:
                assert time.monotonic() < deadline, "no worker made progress"
                time.sleep(0.02)
            time.sleep(rng.uniform(0.0, 0.4))
            victim = rng.randrange(processes)
            workers[victim].send_signal(signal.SIGKILL)
            workers[victim].wait(10)
            kills.append(len(sb.get("fortnox/orders")))
            workers[victim] = _worker(db_url, tmp_path)
        assert kills[-1] < ORDERS * 0.8, f"the work was nearly done before the last kill: {kills}"
        for worker in workers:
            _, err = worker.communicate(timeout=300)
            assert worker.returncode in (0, 1), err.decode()[-2000:]
        final = _worker(db_url, tmp_path)  # picks up whatever the last kills left running
        _, err = final.communicate(timeout=300)

        assert duplicates_in_fortnox(sb) == {}
        in_fortnox = {o["YourOrderNumber"] for o in sb.get("fortnox/orders")}
        entities = {
            e.retriever_reference: e for e in service.entities(iid, entity_type="order", limit=10_000)
        }
        kept = [o for o in shop if o["financial_status"] in PRESETS["status"].default]
        lost = [o["name"] for o in kept if o["name"] not in entities]
        assert not lost, f"orders never attempted: {lost}"
        unsettled = {
            e.retriever_reference: e.status for e in entities.values() if e.status not in ("synced", "error")
        }
        assert not unsettled, f"orders left half-done: {unsettled}"
        for entity in entities.values():
            if entity.status == "error":
                assert entity.error_code, f"{entity.retriever_reference} failed without a code"
            else:
                assert entity.retriever_reference in in_fortnox
        # Refunds: each one of a synced order settled, and every credit invoice in Fortnox is exactly
        # one refund's (duplicates_in_fortnox above found no invoice credited twice).
        refunds = {
            e.retriever_reference: e for e in service.entities(iid, entity_type="refund", limit=10_000)
        }
        credits = sorted(str(i["DocumentNumber"]) for i in sb.get("fortnox/invoices") if i["Credit"])
        due = [
            f"{o['name']}-R{n}"
            for o in kept
            if entities.get(o["name"]) is not None and entities[o["name"]].status == "synced"
            for n in range(1, len(o["refunds"]) + 1)
        ]
        assert due and credits, "the shop's refunds were never credited"
        assert not [label for label in due if label not in refunds], "refunds never attempted"
        half_done = {k: e.status for k, e in refunds.items() if e.status not in ("synced", "error")}
        assert not half_done, f"refunds left half-done: {half_done}"
        assert all(e.error_code for e in refunds.values() if e.status == "error")
        credited = sorted(e.storer_reference for e in refunds.values() if e.storer_reference)
        failed = {k: (e.error_code, e.error_message) for k, e in refunds.items() if e.status == "error"}
        assert credited == credits, (set(credits) ^ set(credited), failed)
        # Payouts: no invoice paid twice, no payout's voucher made twice, each payment one line's.
        payments = sb.get("fortnox/invoicepayments")
        paid_twice = Counter(str(p["InvoiceNumber"]) for p in payments)
        assert not {k: n for k, n in paid_twice.items() if n > 1}, "an invoice was paid twice"
        vouchers = Counter(v["Description"] for v in sb.get("fortnox/vouchers"))
        assert vouchers and not {k: n for k, n in vouchers.items() if n > 1}, "a payout was booked twice"
        lines = service.entities(iid, entity_type="payout_line", limit=10_000)
        # the payout providers' payments (Stripe K, Shopify Payments SP), not the PayPal ones
        paid_lines = [e for e in lines if e.status == "synced" and e.storer_reference != "unbilled"]
        assert sorted(e.storer_reference for e in paid_lines) == sorted(
            str(p["Number"]) for p in payments if p["ModeOfPayment"] in ("K", "SP")
        )
        payouts = service.entities(iid, entity_type="payout", limit=10_000)
        assert not [e.source_id for e in payouts if e.status not in ("synced", "error")]
        assert all(e.error_code for e in payouts if e.status == "error")
        # a failed payout of invoice lines only is booked with no voucher (payout_booking)
        assert len(vouchers) == len([e for e in payouts if e.status == "synced" and e.storer_reference])
        tasks = service.tasks(iid)
        assert {t.kind for t in tasks} >= {"sync", "export_many"}
        assert all(t.status in ("completed", "stopped") for t in tasks), [(t.id, t.status) for t in tasks]
        print(
            f"{processes} processes, {len(kills)} kills, Fortnox orders at each kill {kills}; "
            f"final {len(in_fortnox)}, credit invoices {len(credits)} for {len(refunds)} refunds, "
            f"{len(payments)} payments, {len(vouchers)} payout vouchers; duplicates 0, lost 0"
        )
    finally:
        sb.http.close()
        sb.running.stop()
