"""Shown when the workspace holds several integrations and none was named."""

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


class IntegrationPicker(Screen[int | None]):
    BINDINGS: ClassVar[list[Binding | tuple[str, str] | tuple[str, str, str]]] = [
        Binding("escape", "cancel", "Quit"),
    ]

    def __init__(self, integrations: list[Integration]) -> None:
        super().__init__(id="picker")
        self.integrations = integrations

    def compose(self) -> ComposeResult:
        with Vertical(id="picker-box"):
            yield Static("[b]Open an integration[/b]", id="picker-title")
            yield OptionList(
                *(
                    Option(
                        f"{i.name}  [$text-muted]{'live' if i.live_mode else 'onboarding'}[/]", id=str(i.id)
                    )
                    for i in self.integrations
                ),
                id="picker-list",
            )
        yield KeyFooter()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(int(event.option.id or 0))

    def action_cancel(self) -> None:
        self.dismiss(None)
