"""`junipeer demo`: a sandbox in this process, a fresh demo database, a seeded integration."""

from __future__ import annotations

import asyncio
import json
import shutil
import time
from pathlib import Path

import click

from engine.sandbox.server import SandboxConfig, start_in_thread
from engine.secrets import FileSecretStore
from engine.service import Service, run_headless
from engine.store.db import data_dir


def demo_database() -> Path:
    """Where the demo keeps its database: never the operator's real database or keyring."""
    return data_dir() / "demo" / "demo.sqlite"


def demo_dir() -> Path:
    """The demo's folder, emptied: it starts clean each time."""
    path = demo_database().parent
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return path


def prepare(orders: int, seed: int, time_scale: float) -> tuple[object, Service]:
    path = demo_dir()
    sandbox = start_in_thread(SandboxConfig(orders=orders, seed=seed, time_scale=time_scale))
    service = Service(
        f"sqlite:///{demo_database()}", secrets=FileSecretStore(path / "secrets.json"), data_dir=path
    )
    # The demo shows a running integration: its schedule syncs from the first second.
    asyncio.run(
        service.connect_sandbox(sandbox.info, "Demo shop", live=True, stripe=True, shopify_payments=True)
    )
    return sandbox, service


def summary(service: Service, seconds: float) -> dict:
    integ = service.integration("Demo shop")
    return {
        "integration": integ.name,
        "entities": service.entity_counts(integ.id),  # type: ignore[arg-type]
        "tasks": service.task_counts(integ.id),  # type: ignore[arg-type]
        "seconds": round(seconds, 2),
    }


def run_demo(
    *, headless: bool, orders: int, seed: int, time_scale: float, until_idle: bool, as_json: bool
) -> None:
    sandbox, service = prepare(orders, seed, time_scale)
    try:
        if not headless:
            from junipeer_tui.app import JunipeerApp

            JunipeerApp(service, integration_name="Demo shop", run_engine=True).run()
            return
        started = time.monotonic()
        click.echo(f"Sandbox at {sandbox.base_url}; syncing {orders} orders (Ctrl+C stops)…", err=True)  # type: ignore[attr-defined]
        asyncio.run(run_headless(service, until_idle=until_idle))
        result = summary(service, time.monotonic() - started)
        if as_json:
            click.echo(json.dumps(result))
        else:
            click.echo(f"Demo shop synced in {result['seconds']} s")
            for etype, counts in result["entities"].items():
                click.echo(f"  {etype:<10} " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
            click.echo("  tasks      " + ", ".join(f"{k} {v}" for k, v in sorted(result["tasks"].items())))
    finally:
        sandbox.stop()  # type: ignore[attr-defined]
