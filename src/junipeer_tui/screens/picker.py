"""Which integration to show: at start when the workspace holds several and none was named, and
whenever the operator switches (key i, or "Switch integration…" in the palette). The last line
starts a new integration in Get Started."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from engine.store.models import Integration
from junipeer_tui.widgets.key_footer import KeyFooter

NEW = "new"


class IntegrationPicker(Screen[int | str | None]):
    """Answers an integration id, "new" (start one in Get Started) or None (esc)."""

    BINDINGS: ClassVar[list[Binding | tuple[str, str] | tuple[str, str, str]]] = [
        Binding("escape", "cancel", "Quit"),
    ]

    def __init__(self, integrations: list[Integration], current: int | None = None) -> None:
        super().__init__(id="picker")
        self.integrations = integrations
        self.current = current

    def compose(self) -> ComposeResult:
        with Vertical(id="picker-box"):
            title = "Open an integration" if self.current is None else "Switch integration"
            yield Static(f"[b]{title}[/b]", id="picker-title")
            options = [
                Option(
                    f"{'● ' if i.id == self.current else '  '}{i.name}  "
                    f"[$text-muted]{'live' if i.live_mode else 'onboarding'}[/]",
                    id=str(i.id),
                )
                for i in self.integrations
            ]
            options.append(Option("  [$text-accent]+ New integration…[/]", id=NEW))
            yield OptionList(*options, id="picker-list")
        yield KeyFooter()

    def on_mount(self) -> None:
        if self.current is not None:
            ids = [str(i.id) for i in self.integrations]
            if str(self.current) in ids:
                self.query_one(OptionList).highlighted = ids.index(str(self.current))

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        choice = event.option.id or ""
        self.dismiss(NEW if choice == NEW else int(choice))

    def action_cancel(self) -> None:
        self.dismiss(None)


class SwitchPicker(IntegrationPicker):
    """The picker over a console: esc goes back to the integration in view instead of quitting."""

    BINDINGS: ClassVar[list[Binding | tuple[str, str] | tuple[str, str, str]]] = [
        Binding("escape", "cancel", "Back"),
    ]
