"""Exactly once under SIGKILL: the worker process is killed at many points of a backfill, restarted,
and in the end every order exists in the sandbox's Fortnox exactly once and every entity is synced or
in error with a code."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from engine.mapping.filters import PRESETS
from engine.sandbox.client import control_client
from engine.sandbox.server import SandboxConfig, start_in_process
from engine.secrets import FileSecretStore
from engine.service import Service

ORDERS = 400
KILLS = 10


def _worker(db_url: str, data_dir: Path) -> subprocess.Popen:
    env = {
        **os.environ,
        "JUNIPEER_DATA_DIR": str(data_dir),
        "JUNIPEER_SECRETS": "file",
        # Short leases so a restarted worker reclaims the dead one's task and records at once.
        "JUNIPEER_LEASE_SECONDS": "1",
    }
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "junipeer_tui.cli",
            "--db",
            db_url,
            "run",
            "--until-idle",
            "--concurrency",
            "8",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


@pytest.mark.slow
def test_sigkill_at_many_points_never_duplicates(db_url: str, tmp_path: Path) -> None:
    sandbox = start_in_process(SandboxConfig(orders=ORDERS, seed=5, time_scale=0.05))
    control = control_client(sandbox.info)
    try:
        service = Service(db_url, secrets=FileSecretStore(tmp_path / "secrets.json"), data_dir=tmp_path)
        iid = asyncio.run(service.connect_sandbox(sandbox.info, "Shop")).id
        service.save_settings(iid, "invoice", {"paid_gateways": {"paypal": "PP"}})  # paid when invoiced
        rng = random.Random(20261124)
        progress = [0]
        for _ in range(KILLS):
            worker = _worker(db_url, tmp_path)
            # Strike only once this worker is creating orders, at a random instant after that, so
            # every kill lands mid-work whatever the machine's load.
            deadline = time.monotonic() + 60
            while len(control.get("fortnox/orders").json()) <= progress[-1]:
                assert time.monotonic() < deadline, "the restarted worker made no progress"
                time.sleep(0.02)
            time.sleep(rng.uniform(0.0, 0.6))
            worker.send_signal(signal.SIGKILL)
            worker.wait(10)
            progress.append(len(control.get("fortnox/orders").json()))
        assert progress[-1] < ORDERS * 0.8, f"the backfill was nearly done before the last kill: {progress}"

        final = _worker(db_url, tmp_path)
        _, err = final.communicate(timeout=240)
        # Orders with an unknown SKU wait for a person, and the exit code says so.
        in_error = service.entities(iid, entity_type="order", status="error", limit=10_000)
        assert final.returncode == (1 if in_error else 0), err.decode()[-2000:]

        shop = control.get("shopify/orders").json()
        fortnox_orders = control.get("fortnox/orders").json()
        per_ref = Counter(o["YourOrderNumber"] for o in fortnox_orders)
        duplicates = {ref: n for ref, n in per_ref.items() if n > 1}
        assert not duplicates, f"orders created twice in Fortnox: {duplicates}"
        every_invoice = control.get("fortnox/invoices").json()
        invoices = Counter(i["ExternalInvoiceReference1"] for i in every_invoice if not i["Credit"])
        assert max(invoices.values()) == 1, "an order was invoiced twice"
        credits = [i for i in every_invoice if i["Credit"]]
        assert credits, "the shop's refunds were never credited"
        assert max(Counter(i["CreditInvoiceReference"] for i in credits).values()) == 1, "credited twice"
        assert max(Counter(i["ExternalInvoiceReference2"] for i in credits).values()) == 1, "a refund twice"
        payments = Counter(p["InvoiceNumber"] for p in control.get("fortnox/invoicepayments").json())
        assert payments and max(payments.values()) == 1, "an invoice was paid twice"
        by_name = {o["name"]: o for o in shop}
        for invoice in every_invoice:
            order = by_name.get(invoice["ExternalInvoiceReference1"])
            if not invoice["Credit"] and order and order["payment_gateway_names"] == ["paypal"]:
                assert invoice["Balance"] == 0, f"PayPal order {order['name']}'s invoice left unpaid"
        # By the Shopify customer the engine wrote into ExternalReference: a buyer whose data Shopify
        # withholds has no email to tell customers apart.
        customers = Counter(c["ExternalReference"] for c in control.get("fortnox/customers").json())
        assert max(customers.values()) == 1, "a customer was created twice"

        entities = {
            e.retriever_reference: e for e in service.entities(iid, entity_type="order", limit=10_000)
        }
        kept = [o for o in shop if o["financial_status"] in PRESETS["status"].default or o["name"] in per_ref]
        for order in kept:
            entity = entities.get(order["name"])
            assert entity is not None, f"{order['name']} vanished"
            assert entity.status in ("synced", "error"), f"{order['name']} left {entity.status}"
            if entity.status == "error":
                assert entity.error_code, f"{order['name']} failed without a code"
            else:
                assert per_ref[order["name"]] == 1
        assert {e.status for e in entities.values()} <= {"synced", "error"}
        refunds = service.entities(iid, entity_type="refund", limit=10_000)
        assert {e.status for e in refunds} <= {"synced", "error"}, "a refund left half-done"
        print(
            f"Fortnox orders after each kill: {progress[1:]}; final {len(fortnox_orders)}, "
            f"credit invoices {len(credits)}"
        )
    finally:
        control.close()
        sandbox.stop()


def test_sigterm_finishes_the_record_in_hand_and_exits_zero(sqlite_url: str, tmp_path: Path) -> None:
    sandbox = start_in_process(SandboxConfig(orders=ORDERS, seed=6, time_scale=0.05))
    control = control_client(sandbox.info)
    try:
        service = Service(sqlite_url, secrets=FileSecretStore(tmp_path / "secrets.json"), data_dir=tmp_path)
        iid = asyncio.run(service.connect_sandbox(sandbox.info, "Shop")).id
        worker = _worker(sqlite_url, tmp_path)
        deadline = time.monotonic() + 60
        while len(control.get("fortnox/orders").json()) < 5:
            assert time.monotonic() < deadline, "the worker made no progress"
            time.sleep(0.05)
        worker.send_signal(signal.SIGTERM)
        _, err = worker.communicate(timeout=30)
        assert worker.returncode == 0, err.decode()[-2000:]
        [task] = service.tasks(iid)
        assert task.status == "pending" and 0 < task.processed < task.total  # paused mid-way, resumable
        assert service.entities(iid, status="pending") == []  # nothing abandoned half-done
        assert any(log.code == "TASK_PAUSED" for log in service.logs(iid))
    finally:
        control.close()
        sandbox.stop()
