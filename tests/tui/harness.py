"""A test-only app that mounts one section with a console context, records the app helpers a section
calls (show_section, jump), and fixtures that run a real sandbox for the pilot tests."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from textual.app import App, ComposeResult
from textual.pilot import Pilot
from textual.widgets import DataTable, Input

from engine.sandbox.server import SandboxConfig, start_in_thread
from engine.secrets import FileSecretStore
from engine.service import Service
from junipeer_tui.context import ConsoleContext
from junipeer_tui.widgets.key_footer import KeyFooter
from junipeer_tui.widgets.section import Section
from tests.e2e.conftest import Sandbox

SECTIONS_CSS = Path(__file__).parents[2] / "src" / "junipeer_tui" / "sections.tcss"


class SectionHarness(App[None]):
    CSS_PATH = [SECTIONS_CSS]

    def __init__(self, ctx: ConsoleContext, section: type[Section]) -> None:
        super().__init__()
        self.ctx = ctx
        self.section_cls = section
        self.shown: list[tuple[str, dict[str, Any]]] = []
        self.jumped: list[str] = []

    def compose(self) -> ComposeResult:
        yield self.section_cls(self.ctx)
        yield KeyFooter()

    def on_mount(self) -> None:
        # As the console does when it shows a section: reload it, then focus it.
        self.call_after_refresh(self.section.reload)
        self.call_after_refresh(self.focus_section)

    def focus_section(self) -> None:
        """As the console does on show: the section's own default, else its first table."""
        section = self.section
        hook = getattr(section, "focus_default", None)
        if callable(hook):
            hook()
            return
        tables = [w for w in section.query(DataTable) if w.focusable]
        if tables:
            tables[0].focus()

    @property
    def section(self) -> Section:
        return self.query_one(self.section_cls)

    def show_section(self, name: str, **criteria: Any) -> None:
        self.shown.append((name, criteria))

    def jump(self, ref: str) -> None:
        self.jumped.append(ref)


async def settle(pilot: Pilot[Any]) -> None:
    """Wait for workers, stop cursors blinking, let the screen redraw: a stable snapshot."""
    await pilot.pause()
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()
    for screen in pilot.app.screen_stack:
        for widget in screen.query(Input):
            widget.cursor_blink = False
    await pilot.pause()


async def wait_until(pilot: Pilot[Any], check: Any, timeout: float = 20.0) -> None:
    """Poll `check()` while the app runs (engine or worker threads doing the work)."""
    import time

    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out waiting for the console"
        await pilot.pause(0.1)


@pytest.fixture
def live(tmp_path: Path) -> Iterator[tuple[ConsoleContext, Sandbox]]:
    """A fresh integration connected to a running sandbox (nothing synced yet), no engine."""
    with start_in_thread(SandboxConfig(orders=25, seed=7, time_scale=0.01)) as running:
        sb = Sandbox(running)
        service = Service(
            f"sqlite:///{tmp_path / 'live.sqlite'}",
            secrets=FileSecretStore(tmp_path / "secrets.json"),
            data_dir=tmp_path,
        )
        integ = asyncio.run(service.connect_sandbox(sb.info, "Live shop"))
        yield ConsoleContext(service=service, integration_id=integ.id), sb  # type: ignore[arg-type]
        sb.http.close()
        asyncio.run(service.aclose())
