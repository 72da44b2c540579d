"""The base of every sidebar section (Dashboard, Flows, Entities, ...).

A section declares its actions once (`ACTIONS`); its key bindings are built from them, and the app's
command palette and `?` help read the same list.
"""

from __future__ import annotations

from typing import Any, ClassVar

from textual.binding import Binding
from textual.containers import Vertical

from junipeer_tui.context import Action, ConsoleContext


class Section(Vertical):
    SECTION: ClassVar[str] = ""  # "dashboard", "flows", ...
    TITLE: ClassVar[str] = ""  # "Dashboard"
    ACTIONS: ClassVar[list[Action]] = []

    def __init_subclass__(cls, **kwargs: Any) -> None:
        # Before super(): Textual merges BINDINGS into the class's binding map in __init_subclass__.
        cls.BINDINGS = [Binding(a.key, a.run, a.title) for a in cls.ACTIONS if a.key]
        super().__init_subclass__(**kwargs)

    def __init__(self, ctx: ConsoleContext, **kwargs: Any) -> None:
        super().__init__(id=f"section-{self.SECTION}", **kwargs)
        self.ctx = ctx

    def reload(self) -> None:
        """Re-read what is shown from the service: on show and on the app's refresh tick."""

    def apply_filter(self, **criteria: Any) -> None:
        """Show the section narrowed down, e.g. Logs with ref="#1001" or flow_id=1 (quick links)."""
        self.reload()
