"""The operator console: a header, a sidebar of sections (keys 1–8), the active section, a footer.

`JunipeerApp(service, integration_name=..., run_engine=True)` runs the embedded engine on its own
thread while the console watches the database it writes. Every section is a `Section` that takes a
`ConsoleContext`; the one action registry (GLOBAL_ACTIONS + each section's ACTIONS) feeds the key
bindings, the footer, the `?` help and the command palette.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar

from textual import events, work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import ContentSwitcher, DataTable, OptionList, Static
from textual.worker import WorkerCancelled, WorkerFailed

from engine.errors import EngineError
from engine.service import Service
from junipeer_tui.commands import ConsoleCommands
from junipeer_tui.context import Action, ConsoleContext
from junipeer_tui.idle_gc import IdleCollector
from junipeer_tui.widgets.header import ConsoleHeader
from junipeer_tui.widgets.key_footer import KeyFooter
from junipeer_tui.widgets.section import Section
from junipeer_tui.widgets.sidebar import SECTIONS, Sidebar
from junipeer_tui.widgets.util import error_text, report_error

# Where each sidebar section lives; a module that is not there yet shows a placeholder.
SECTION_CLASSES: dict[str, tuple[str, str]] = {
    "dashboard": ("junipeer_tui.screens.dashboard", "DashboardSection"),
    "flows": ("junipeer_tui.screens.flows", "FlowsSection"),
    "entities": ("junipeer_tui.screens.entities", "EntitiesSection"),
    "tasks": ("junipeer_tui.screens.tasks", "TasksSection"),
    "logs": ("junipeer_tui.screens.logs", "LogsSection"),
    "references": ("junipeer_tui.screens.references", "ReferencesSection"),
    "time_history": ("junipeer_tui.screens.time_history", "TimeHistorySection"),
    "configure": ("junipeer_tui.screens.configure", "ConfigureSection"),
}

GLOBAL_ACTIONS: list[Action] = [
    *(
        Action(f"goto_{sid}", f"Go to {title}", str(n), f"show_section('{sid}')", description=f"Show {title}")
        for n, (sid, title) in enumerate(SECTIONS, 1)
    ),
    Action("help", "Help", "question_mark", "help", description="Keys of this section and global keys"),
    Action(
        "jump",
        "Find a reference…",
        "g",
        "jump_prompt",
        description="Troubleshoot an order by #1001, Shopify id or Fortnox number",
    ),
    Action(
        "get_started",
        "Get Started",
        "0",
        "get_started",
        description="The steps to a Live integration, resumed where they were left",
    ),
    Action(
        "switch_integration",
        "Switch integration…",
        "i",
        "switch_integration",
        description="Open another integration of this workspace, or start a new one",
    ),
    Action("palette", "Commands", "ctrl+p", "command_palette", description="Search every action"),
    Action("quit", "Quit", "q", "quit", description="Stop the engine and leave"),
]


class PlaceholderSection(Section):
    """Stands in for a section whose module is not built yet (or failed to load)."""

    REASON: ClassVar[str] = "not built yet"

    def compose(self) -> ComposeResult:
        yield Static(f"[b]{self.TITLE}[/b]\n\n{self.TITLE} is {self.REASON}.", classes="placeholder")


def placeholder(section_id: str, title: str, reason: str = "not built yet") -> type[Section]:
    name = "Placeholder" + "".join(part.title() for part in section_id.split("_"))
    return type(name, (PlaceholderSection,), {"SECTION": section_id, "TITLE": title, "REASON": reason})


def load_section_class(section_id: str) -> type[Section]:
    title = dict(SECTIONS)[section_id]
    module_name, class_name = SECTION_CLASSES[section_id]
    try:
        module = importlib.import_module(module_name)
        return getattr(module, class_name)
    except ModuleNotFoundError as exc:
        if exc.name == module_name:
            return placeholder(section_id, title)
        return placeholder(section_id, title, f"unavailable ({error_text(exc)})")
    except Exception as exc:  # a broken section must not take the whole console down
        return placeholder(section_id, title, f"unavailable ({error_text(exc)})")


INPUT_EVENTS = (events.Key, events.MouseDown, events.MouseScrollDown, events.MouseScrollUp)


def key_display(key: str | None) -> str:
    if not key:
        return ""
    return {"question_mark": "?", "escape": "esc", "enter": "⏎", "slash": "/"}.get(key, key)


class ConsoleScreen(Screen[None]):
    """Header, sidebar, the sections in a ContentSwitcher, footer; ticks once a second.

    Every section is built at once (so the palette and help know their actions), but a section is
    mounted only when first shown, or in the background from half a second after start, one
    section at a time so a key press never waits for more than one (~40 ms): the console opens as
    fast as its first section, and opening another is a switch, not a mount."""

    TICK_SECONDS = 1.0
    # "-narrow" below 100 columns: a slimmer sidebar (app.tcss), so 80×24 keeps room for the tables.
    HORIZONTAL_BREAKPOINTS: ClassVar[list[tuple[int, str]] | None] = [(0, "-narrow"), (100, "-wide")]
    BACKGROUND_MOUNT_AFTER = 0.5
    BACKGROUND_MOUNT_EVERY = 0.15

    def __init__(self, ctx: ConsoleContext) -> None:
        super().__init__(id="console")
        self.ctx = ctx
        self.active = "dashboard"
        self._last_tick_error = ""
        self.instances: dict[str, Section] = {}
        self._mount_lock = asyncio.Lock()
        for sid, title in SECTIONS:
            cls = load_section_class(sid)
            try:
                self.instances[sid] = cls(ctx)
            except Exception as exc:
                self.instances[sid] = placeholder(sid, title, f"unavailable ({error_text(exc)})")(ctx)

    def compose(self) -> ComposeResult:
        yield ConsoleHeader(self.ctx)
        with Horizontal(id="body"):
            yield Sidebar()
            with ContentSwitcher(initial=f"section-{self.active}", id="content"):
                yield self.instances[self.active]
        yield KeyFooter()

    def on_mount(self) -> None:
        self.query_one(Sidebar).mark(self.active)
        self.set_interval(self.TICK_SECONDS, self.tick)
        if getattr(self.app, "background_mount", True):
            self.set_timer(self.BACKGROUND_MOUNT_AFTER, self._start_background_mount)
        self.call_after_refresh(self.focus_section)

    async def retire(self, wait: float = 5.0) -> None:
        """Before another integration's console replaces this one: no more background mounts, and
        the sections' work cancelled and ended (up to `wait` seconds), so nothing still running
        reaches for widgets as they are removed."""
        background = getattr(self, "_background", None)
        if background is not None:
            background.stop()
        self._to_mount = []
        async with self._mount_lock:
            nodes = {self, *self.walk_children()}
            running = [w for w in self.app.workers if w.node in nodes]
            for worker in running:
                worker.cancel()
        if running:  # (an empty list would mean every worker of the app, this caller's included)
            with contextlib.suppress(TimeoutError, WorkerCancelled, WorkerFailed):
                await asyncio.wait_for(self.app.workers.wait_for_complete(running), wait)

    def on_screen_resume(self) -> None:
        """Back from a screen in front (Get Started, a dialog): show now what it changed, not on the
        next tick."""
        if self.is_mounted and self.section().is_attached:
            self.tick()

    def sections(self) -> list[Section]:
        return list(self.instances.values())

    def section(self, section_id: str | None = None) -> Section:
        return self.instances[section_id or self.active]

    async def ensure_mounted(self, section_id: str, *, hidden: bool = False) -> Section:
        section = self.instances[section_id]
        async with self._mount_lock:  # the background mount and a key press may race
            if not section.is_attached:
                if hidden:
                    section.display = False
                await self.query_one("#content", ContentSwitcher).mount(section)
        return section

    def _start_background_mount(self) -> None:
        self._to_mount = [sid for sid, section in self.instances.items() if not section.is_attached]
        self._background = self.set_interval(self.BACKGROUND_MOUNT_EVERY, self._mount_next)

    async def _mount_next(self) -> None:
        """One section per call; one that fails is reported and left to its key (as on a key)."""
        if not self._to_mount:
            self._background.stop()
            return
        sid = self._to_mount.pop(0)
        try:
            await self.ensure_mounted(sid, hidden=sid != self.active)
        except Exception as exc:
            report_error(self.app, exc, f"open {sid}")

    def switch(self, section_id: str) -> Section:
        section = self.section(section_id)
        self.active = section_id
        self.query_one("#content", ContentSwitcher).current = section.id
        self.query_one(Sidebar).mark(section_id)
        self.refresh_bindings()
        return section

    def focus_section(self) -> None:
        section = self.section()
        if not section.is_attached:
            return
        hook = getattr(section, "focus_default", None)
        if callable(hook):
            hook()
            return
        tables = [w for w in section.query(DataTable) if w.focusable]
        target: Widget | None = tables[0] if tables else None
        if target is None:
            target = next((w for w in section.query("*") if w.focusable), None)
        if target is not None:
            target.focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        if isinstance(event.option_list, Sidebar) and event.option.id:
            event.stop()
            self.app.show_section(event.option.id)  # type: ignore[attr-defined]

    def tick(self) -> None:
        try:
            self.query_one(ConsoleHeader).refresh_state()
            if self.app.screen is self and self.section().is_attached:
                self.section().reload()
            self._last_tick_error = ""
        except Exception as exc:  # shown once, not every second
            text = error_text(exc)
            if text != self._last_tick_error:
                self._last_tick_error = text
                report_error(self.app, exc, "refresh")


# Part 2's sections keep their styles beside ours; loaded when present.
_CSS = [
    name
    for name in ("app.tcss", "sections.tcss", "get_started.tcss")
    if (Path(__file__).parent / name).exists()
]


class JunipeerApp(App[None]):
    CSS_PATH = _CSS
    TITLE = "junipeer"
    # One provider (it yields Textual's system commands too): a set of several would list them in an
    # order that changes from run to run.
    COMMANDS = {ConsoleCommands}
    # Mount the sections not yet shown a moment after start (off in snapshots: deterministic).
    background_mount = True
    BINDINGS: ClassVar[list[Binding | tuple[str, str] | tuple[str, str, str]]] = [
        Binding(a.key, a.run, a.title, show=a.id in ("help", "jump", "quit"), id=a.id)
        for a in GLOBAL_ACTIONS
        if a.key and a.id != "palette"
    ]

    def __init__(
        self,
        service: Service,
        integration_name: str | None = None,
        run_engine: bool = True,
        clock: Callable[[], datetime] | None = None,
        get_started: bool | None = None,
    ) -> None:
        """`get_started`: open Get Started over the console; None (the default) does while the
        integration is not Live, and an empty workspace always opens on it."""
        super().__init__()
        self.service = service
        self.integration_name = integration_name
        self.run_engine = run_engine
        self.clock = clock
        self.get_started = get_started
        self.engine: Any = None
        self._ctx: ConsoleContext | None = None
        self.idle_gc = IdleCollector()

    # -- public helpers other sections call ---------------------------------------------------
    @property
    def ctx(self) -> ConsoleContext:
        if self._ctx is None:
            raise RuntimeError("no integration is open yet")
        return self._ctx

    @property
    def console_screen(self) -> ConsoleScreen | None:
        return next((s for s in self.screen_stack if isinstance(s, ConsoleScreen)), None)

    def show_section(self, section_id: str, **criteria: Any) -> None:
        """Switch to a section and narrow it down (`apply_filter(**criteria)`)."""
        console = self.console_screen
        if console is None or section_id not in console.instances:
            return
        while self.screen is not console and len(self.screen_stack) > 1:
            self.pop_screen()
        if console.section(section_id).is_attached:
            self._switch(console, section_id, criteria)
        else:
            self.run_worker(self._mount_and_switch(console, section_id, criteria), group="show-section")

    async def _mount_and_switch(
        self, console: ConsoleScreen, section_id: str, criteria: dict[str, Any]
    ) -> None:
        try:
            await console.ensure_mounted(section_id)
        except Exception as exc:
            report_error(self, exc, f"open {section_id}")
            return
        self._switch(console, section_id, criteria)

    def _switch(self, console: ConsoleScreen, section_id: str, criteria: dict[str, Any]) -> None:
        try:
            section = console.switch(section_id)
            if criteria:
                section.apply_filter(**criteria)
            else:
                section.reload()
        except Exception as exc:
            report_error(self, exc, f"open {section_id}")
        console.focus_section()

    def jump(self, ref: str) -> None:
        """Open the troubleshooting screen for a reference."""
        from junipeer_tui.screens.troubleshoot import TroubleshootScreen

        if self._ctx is not None:
            self.push_screen(TroubleshootScreen(self.ctx, ref))

    # -- startup / shutdown --------------------------------------------------------------------
    def on_mount(self) -> None:
        self.idle_gc.install()
        self.set_interval(1.0, self.idle_gc.tick)
        if self.run_engine:
            from engine.runtime.embedded import EmbeddedEngine

            try:
                self.engine = EmbeddedEngine(self.service)
                self.engine.start()
            except Exception as exc:
                self.engine = None
                report_error(self, exc, "start the engine")
        try:
            if self.integration_name is None and not self.service.integrations():
                self._open_wizard(None)
                return
            integ = self.service.integration(self.integration_name)
        except EngineError as exc:
            if exc.code == "AMBIGUOUS_INTEGRATION":
                from junipeer_tui.screens.picker import IntegrationPicker

                self.push_screen(IntegrationPicker(self.service.integrations()), self._picked)
                return
            report_error(self, exc)
            self.push_screen(MessageScreen(error_text(exc)))
            return
        self.open_integration(integ.id)

    def _picked(self, choice: int | str | None) -> None:
        """The picker's answer at start: an integration, a new one (Get Started), or quit."""
        if choice == "new":
            self._open_wizard(None)
        else:
            self.open_integration(choice if isinstance(choice, int) else None)

    def open_integration(self, integration_id: int | None, step: str | None = None) -> None:
        """Show an integration: the console for it, with Get Started in front while it is not
        Live (or at `step`). Whatever was open before (another integration) is closed first."""
        if integration_id is None:
            self.exit()
            return
        if len(self.screen_stack) > 1:
            # The screens in front go first (a screen leaves asynchronously, and the new console
            # may not meet the old one).
            self.run_worker(self._reopen(integration_id, step), group="open-integration", exclusive=True)
            return
        kwargs: dict[str, Any] = {"clock": self.clock} if self.clock is not None else {}
        self._ctx = ConsoleContext(
            service=self.service, integration_id=integration_id, engine=self.engine, **kwargs
        )
        self.push_screen(ConsoleScreen(self._ctx))
        wizard = self.get_started
        if wizard is None:
            wizard = not self.service.integration(integration_id).live_mode
        if wizard or step is not None:
            self._open_wizard(self._ctx, step)

    async def _reopen(self, integration_id: int, step: str | None) -> None:
        for screen in self.screen_stack:
            if isinstance(screen, ConsoleScreen):
                await screen.retire()
        while len(self.screen_stack) > 1:
            await self.pop_screen()
        self.open_integration(integration_id, step)

    async def _new_integration(self) -> None:
        """Get Started from its first step, over the integration in view (esc goes back to it)."""
        while len(self.screen_stack) > 1 and self.screen is not self.console_screen:
            await self.pop_screen()
        self._open_wizard(None)

    def _open_wizard(self, ctx: ConsoleContext | None, step: str | None = None) -> None:
        from junipeer_tui.screens.get_started import GetStartedScreen

        self.push_screen(GetStartedScreen(self.service, ctx, step))

    def open_get_started(self, step: str | None = None) -> None:
        """Get Started for the integration in view, at `step` or where it was left."""
        from junipeer_tui.screens.get_started import GetStartedScreen

        if isinstance(self.screen, GetStartedScreen):
            self.screen.show_step(step)
            return
        console = self.console_screen
        if console is None:
            return
        while self.screen is not console and len(self.screen_stack) > 1:
            self.pop_screen()
        self._open_wizard(self._ctx, step)

    def switch_integration(self, integration_id: int) -> None:
        """Every screen follows: the console is built anew for the chosen integration."""
        if self._ctx is not None and self._ctx.integration_id == integration_id:
            while self.screen is not self.console_screen and len(self.screen_stack) > 2:
                self.pop_screen()
            return
        self.open_integration(integration_id)
        name = self.service.integration(integration_id).name
        self.notify(f"Now showing {name}.", title="Integration", markup=False)

    def on_unmount(self) -> None:
        self.idle_gc.uninstall()
        if self.engine is not None:
            self.engine.stop(timeout=5)
            self.engine = None

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, INPUT_EVENTS):
            self.idle_gc.note_input()
            engine = self.engine
            if engine is not None:
                # The operator comes first: the engine waits until the answer is on screen.
                engine.hold()
                self.call_after_refresh(engine.release)
        await super().on_event(event)

    async def action_quit(self) -> None:
        if self.engine is None:
            self.exit()
            return
        self.notify("Stopping the engine: finishing the records in hand…", timeout=30)
        self._stop_engine_and_exit()

    @work(thread=True, exclusive=True, group="shutdown")
    def _stop_engine_and_exit(self) -> None:
        engine, self.engine = self.engine, None
        if engine is not None:
            engine.stop()
        self.call_from_thread(self.exit)

    # -- global actions -----------------------------------------------------------------------
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        needs_console = ("show_section", "help", "jump_prompt", "get_started", "switch_integration")
        return not (action in needs_console and self.console_screen is None)

    def action_get_started(self) -> None:
        self.open_get_started()

    def action_switch_integration(self) -> None:
        from junipeer_tui.screens.picker import IntegrationPicker, SwitchPicker

        if isinstance(self.screen, IntegrationPicker):
            return

        def picked(choice: int | str | None) -> None:
            if choice == "new":
                self.run_worker(self._new_integration(), group="open-integration", exclusive=True)
            elif isinstance(choice, int):
                self.switch_integration(choice)

        current = self._ctx.integration_id if self._ctx is not None else None
        self.push_screen(SwitchPicker(self.service.integrations(), current=current), picked)

    def action_show_section(self, section_id: str) -> None:
        self.show_section(section_id)

    def action_help(self) -> None:
        """The keys of what is in front: the active section, or the dialog open over it."""
        from junipeer_tui.screens.help import HelpScreen, dialog_actions, dialog_title

        console = self.console_screen
        if console is None:
            return
        if isinstance(self.screen, HelpScreen):
            self.pop_screen()
            return
        if self.screen is console:
            section = console.section()
            self.push_screen(HelpScreen(GLOBAL_ACTIONS, section.TITLE, list(section.ACTIONS)))
            return
        # A modal dialog stops the app's keys (1–8, g, q), so its help lists only its own.
        self.push_screen(HelpScreen([], dialog_title(self.screen), dialog_actions(self.screen)))

    def action_jump_prompt(self) -> None:
        from junipeer_tui.screens.troubleshoot import TroubleshootScreen

        if isinstance(self.screen, TroubleshootScreen):
            self.screen.focus_input()
            return
        if self._ctx is not None:
            self.push_screen(TroubleshootScreen(self.ctx))

    async def run_section_action(self, section_id: str, run: str) -> None:
        """The palette's way to run a section's action: show the section, then act in it."""
        console = self.console_screen
        if console is None:
            return
        try:
            await console.ensure_mounted(section_id)
            self.show_section(section_id)
            await self.run_action(run, console.section(section_id))
        except Exception as exc:
            report_error(self, exc)


class MessageScreen(Screen[None]):
    """Shown instead of the console when no integration can be opened."""

    BINDINGS: ClassVar[list[Binding | tuple[str, str] | tuple[str, str, str]]] = [("q", "app.quit", "Quit")]

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text

    def compose(self) -> ComposeResult:
        yield Static(self.text, id="message", markup=False)
        yield KeyFooter()
