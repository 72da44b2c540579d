"""The footer: the focused widget's key bindings on one line, drawn as a single Text.

Textual's own Footer recomposes a widget per binding whenever the bindings change, which they do on
every section switch and focus move; restyling those widgets cost about 150 ms of a 200 ms section
switch (bench/console.py). This one re-renders one line, and only when what it shows changed.
Clicking a key presses it, as in Textual's footer.
"""

from __future__ import annotations

from typing import Any, ClassVar

from rich.text import Text
from textual import events
from textual.screen import Screen
from textual.widget import Widget

Entry = tuple[str, str, str, bool]  # (key, key display, description, enabled)
HELP_KEY = "question_mark"
# Keys Textual names but knows no character for: it keeps them bound while an Input has focus, where
# they are typed instead.
TYPED = {"slash": "/"}


class KeyFooter(Widget, can_focus=False):
    COMPONENT_CLASSES: ClassVar[set[str]] = {"key-footer--key", "key-footer--description"}
    DEFAULT_CSS = """
    KeyFooter {
        dock: bottom;
        height: 1;
        color: $footer-foreground;
        background: $footer-background;
        .key-footer--key {
            color: $footer-key-foreground;
            background: $footer-key-background;
            text-style: bold;
        }
        .key-footer--description {
            color: $footer-description-foreground;
            background: $footer-description-background;
        }
    }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._entries: list[Entry] = []
        self._palette: Entry | None = None
        self._spans: list[tuple[int, int, str]] = []  # (start, end, key) for clicks
        self._app_keys: set[str] = set()  # keys the app binds (g, q): shown after the screen's own

    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, self._bindings_changed)
        self.call_after_refresh(self._bindings_changed, self.screen)

    def on_unmount(self) -> None:
        self.screen.bindings_updated_signal.unsubscribe(self)

    def _bindings_changed(self, screen: Screen[Any]) -> None:
        if not self.is_attached or screen is not self.screen:
            return
        active = screen.active_bindings

        def entry(binding: Any, enabled: bool) -> Entry:
            return (binding.key, self.app.get_key_display(binding), binding.description, enabled)

        entries: list[Entry] = []
        seen: set[str] = set()
        self._app_keys = set()
        focused = screen.focused
        for node, binding, enabled, _tooltip in active.values():
            if not binding.show or binding.action in seen:
                continue
            typed = TYPED.get(binding.key)
            if typed and focused is not None and focused.check_consume_key(binding.key, typed):
                continue
            seen.add(binding.action)
            entries.append(entry(binding, enabled))
            if node is self.app and binding.key != HELP_KEY:
                self._app_keys.add(binding.key)
        # `?` after the keys of what is in front (a dialog binds it first, a section last), then the
        # global keys.
        helps = [e for e in entries if e[0] == HELP_KEY]
        rest = [e for e in entries if e[0] != HELP_KEY]
        at = next((i for i, e in enumerate(rest) if e[0] in self._app_keys), len(rest))
        entries = rest[:at] + helps + rest[at:]
        palette: Entry | None = None
        if self.app.ENABLE_COMMAND_PALETTE and self.app.COMMAND_PALETTE_BINDING in active:
            _node, binding, enabled, _tooltip = active[self.app.COMMAND_PALETTE_BINDING]
            palette = entry(binding, enabled)
            entries = [e for e in entries if e[0] != binding.key]
        if entries != self._entries or palette != self._palette:
            self._entries, self._palette = entries, palette
            self.refresh()

    def _entry_text(self, entry: Entry) -> Text:
        _key, display, description, enabled = entry
        text = Text.assemble(
            (f" {display} ", self.get_component_rich_style("key-footer--key")),
            (
                f"{description} " if description else "",
                self.get_component_rich_style("key-footer--description"),
            ),
        )
        if not enabled:
            text.stylize("dim")
        return text

    def _fitting(self, room: int) -> list[Entry]:
        """The entries that fit in `room` cells, whole and in their order: `?` (which lists every
        key) first, then the screen's own keys; the app's (Find a reference, Quit) go first."""
        ranked = sorted(
            self._entries, key=lambda e: (e[0] != HELP_KEY, e[0] in self._app_keys)
        )  # stable: the bindings' order within each rank
        kept: set[int] = set()
        used = 0
        for entry in ranked:
            width = self._entry_text(entry).cell_len
            if used + width > room:
                if entry[0] == HELP_KEY:
                    continue
                break
            kept.add(id(entry))
            used += width
        return [e for e in self._entries if id(e) in kept]

    def render(self) -> Text:
        line = Text(no_wrap=True, overflow="crop", end="")
        spans: list[tuple[int, int, str]] = []
        tail = Text.assemble(("▏", "dim"), self._entry_text(self._palette)) if self._palette else Text()
        # Docked right like Textual's footer: keys that do not fit are left to `?`, never cut.
        room = max(self.size.width - tail.cell_len, 0)
        for entry in self._fitting(room):
            start = line.cell_len
            line.append_text(self._entry_text(entry))
            spans.append((start, line.cell_len, entry[0]))
        if self._palette is not None:
            line.pad_right(room - line.cell_len)
            spans.append((room + 1, room + tail.cell_len, self._palette[0]))
            line.append_text(tail)
        self._spans = spans
        return line

    def on_click(self, event: events.Click) -> None:
        for start, end, key in self._spans:
            if start <= event.x < end:
                event.stop()
                self.app.simulate_key(key)
                return
