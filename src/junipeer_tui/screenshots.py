"""The console's scenes, shared by the snapshot tests and the screenshots: `python -m
junipeer_tui.screenshots [OUT_DIR]` builds the same seeded, frozen workspace as tests/tui/conftest.py
and writes one SVG per scene (default: ./screenshots)."""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import io
import sys
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from rich.console import Console
from textual.app import App
from textual.pilot import Pilot
from textual.widgets import Input
from textual.worker import WorkerCancelled

from junipeer_tui.app import JunipeerApp
from junipeer_tui.context import ConsoleContext

SIZE = (100, 32)
NARROW = (80, 24)  # the smallest terminal the console is laid out for
WORKER_WAIT = 2.0
Scene = Callable[[Pilot[Any]], Awaitable[None]]


def snapshot_app(ctx: ConsoleContext) -> JunipeerApp:
    """The app every snapshot uses: no engine thread, the context's frozen clock, and the console's
    sections in front (the seeded integration is not Live, so it would open on Get Started, whose
    scenes start from their own workspaces)."""
    name = ctx.service.integration(ctx.integration_id).name
    app = JunipeerApp(
        ctx.service, integration_name=name, run_engine=False, clock=ctx.clock, get_started=False
    )
    app.background_mount = False
    return app


async def settle(pilot: Pilot[Any]) -> None:
    """Cursor blink off everywhere, workers done, messages drained."""
    app = pilot.app
    await pilot.pause()
    # A section may be talking to a platform that is not there. When the wait times out, Textual's
    # worker wait turns the cancellation into WorkerCancelled, which wait_for passes on as it is.
    with contextlib.suppress(TimeoutError, WorkerCancelled):
        await asyncio.wait_for(app.workers.wait_for_complete(), WORKER_WAIT)
    await pilot.pause()
    for screen in app.screen_stack:
        for widget in screen.query(Input):
            widget.cursor_blink = False
    await pilot.wait_for_scheduled_animations()
    await pilot.pause()


def screen_text(app: App[Any]) -> str:
    """What the terminal shows now, as plain text lines: for tests that read a screen."""
    width, height = app.size
    console = Console(width=width, height=height, file=io.StringIO(), record=True, legacy_windows=False)
    console.print(app.screen._compositor.render_update(full=True, screen_stack=app._background_screens))
    return console.export_text()


def _jump(ref: str) -> Scene:
    async def scene(pilot: Pilot[Any]) -> None:
        await pilot.pause()
        pilot.app.jump(ref)  # type: ignore[attr-defined]
        await settle(pilot)

    return scene


def _keys(*keys: str) -> Scene:
    async def scene(pilot: Pilot[Any]) -> None:
        await pilot.pause()
        for key in keys:
            await pilot.press(key)
            await settle(pilot)

    return scene


async def logs_for_ref(pilot: Pilot[Any]) -> None:
    await pilot.pause()
    pilot.app.show_section("logs", ref="#1006")  # type: ignore[attr-defined]
    await settle(pilot)


async def entity_detail(pilot: Pilot[Any]) -> None:
    await pilot.press("3")
    await settle(pilot)
    await pilot.press("down", "down", "enter")  # the third order: synced with an invoice
    await settle(pilot)


async def configure_scheduling(pilot: Pilot[Any]) -> None:
    """The Scheduling tab, without the toasts of dropdown lookups no platform answers here."""
    await _keys("8", "right", "right")(pilot)
    pilot.app.clear_notifications()
    await settle(pilot)


async def configure_connectors(pilot: Pilot[Any]) -> None:
    """The Connectors tab: the shop and the ERP connected, Stripe waiting for a key."""
    await _keys("8", "right")(pilot)
    pilot.app.clear_notifications()
    await settle(pilot)


SCENES: dict[str, Scene] = {
    "dashboard": _keys(),
    "flows": _keys("2"),
    "entities": _keys("3"),
    "entity_detail": entity_detail,
    "tasks": _keys("4"),
    "task_detail": _keys("4", "enter"),
    "logs": _keys("5"),
    "logs_for_ref": logs_for_ref,
    "references": _keys("6"),
    "time_history": _keys("7"),
    "configure": _keys("8"),
    "configure_scheduling": configure_scheduling,
    "configure_connectors": configure_connectors,
    "get_started": _keys("0"),
    "troubleshoot_synced": _jump("#1001"),
    "troubleshoot_error": _jump("#1006"),
    "help": _keys("3", "question_mark"),
    "command_palette": _keys("ctrl+p"),
}


def render(ctx: ConsoleContext, scene: Scene, size: tuple[int, int] = SIZE) -> str:
    """One scene as SVG text, exactly as the snapshot tests take it."""
    app = snapshot_app(ctx)

    async def pilot_fn(pilot: Pilot[Any]) -> None:
        await scene(pilot)
        await settle(pilot)
        pilot.app.exit(pilot.app.export_screenshot())

    return str(app.run(headless=True, size=size, auto_pilot=pilot_fn))


def render_empty_workspace(workdir: Path, size: tuple[int, int] = SIZE) -> str:
    """What `junipeer` shows on a database with no integration yet: Get Started's first step."""
    from engine.secrets import FileSecretStore
    from engine.service import Service

    service = Service(
        f"sqlite:///{workdir / 'empty.sqlite'}", secrets=FileSecretStore(workdir / "empty.json")
    )
    app = JunipeerApp(service, run_engine=False)

    async def pilot_fn(pilot: Pilot[Any]) -> None:
        await settle(pilot)
        pilot.app.exit(pilot.app.export_screenshot())

    try:
        return str(app.run(headless=True, size=size, auto_pilot=pilot_fn))
    finally:
        service.db.dispose()


def _seeded_context(workdir: Path) -> ConsoleContext:
    """Build the workspace with tests/tui/conftest.py's own recipe, so screenshots == snapshots."""
    conftest = Path(__file__).resolve().parents[2] / "tests" / "tui" / "conftest.py"
    if not conftest.exists():
        raise SystemExit(f"needs the repository's tests/tui/conftest.py (looked at {conftest})")
    spec = importlib.util.spec_from_file_location("junipeer_tui_conftest", conftest)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)

    service = module.build_seed(workdir)
    integ = service.integration("Demo shop")
    return ConsoleContext(service=service, integration_id=integ.id, clock=lambda: module.FROZEN_NOW)  # type: ignore[arg-type]


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    out = Path(args[0] if args else "screenshots")
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        ctx = _seeded_context(Path(tmp))
        for name, scene in SCENES.items():
            path = out / f"{name}.svg"
            path.write_text(render(ctx, scene), encoding="utf-8", newline="\n")
            print(path)
        path = out / "get_started_empty_workspace.svg"
        path.write_text(render_empty_workspace(Path(tmp)), encoding="utf-8", newline="\n")
        print(path)
        ctx.service.db.dispose()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
