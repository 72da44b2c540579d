"""The command palette's provider: every section ("Go to Logs"), "Find a reference…", and every
action of every mounted section, read generically from its `ACTIONS` (the same registry that feeds
the key bindings and the `?` help)."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from textual.command import DiscoveryHit, Hit, Hits, Provider


class ConsoleCommands(Provider):
    def commands(self) -> list[tuple[str, str, Callable[[], Any]]]:
        from junipeer_tui.app import GLOBAL_ACTIONS, key_display

        app: Any = self.app
        console = getattr(app, "console_screen", None)
        out: list[tuple[str, str, Callable[[], Any]]] = []
        if console is None:
            return out
        for action in GLOBAL_ACTIONS:
            if action.id in ("palette", "help", "quit"):
                continue
            keys = f"key {key_display(action.key)} · " if action.key else ""
            out.append((action.title, keys + action.description, partial(app.run_action, action.run)))
        for section in console.sections():
            for action in section.ACTIONS:
                keys = f"key {key_display(action.key)} · " if action.key else ""
                warn = " · asks first" if action.destructive else ""
                out.append(
                    (
                        f"{action.title} ({section.TITLE})",
                        f"{keys}{action.description}{warn}".strip(" ·"),
                        partial(app.run_section_action, section.SECTION, action.run),
                    )
                )
        for command in app.get_system_commands(self.screen):  # Theme, Keys, Screenshot, Quit, ...
            if command.discover:
                out.append((command.title, command.help, command.callback))
        return out

    async def discover(self) -> Hits:
        for title, help_text, callback in self.commands():
            yield DiscoveryHit(title, callback, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for title, help_text, callback in self.commands():
            score = matcher.match(title)
            if score > 0:
                yield Hit(score, matcher.highlight(title), callback, text=title, help=help_text)
