"""The base of every sidebar section (Dashboard, Flows, Entities, ...).

A section declares its actions once (`ACTIONS`); its key bindings are built from them, and the app's
command palette and `?` help read the same list.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, ClassVar

from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import DataTable, Input, Select

from junipeer_tui.context import Action, ConsoleContext


def _not_while_removed(reload: Callable[..., Any]) -> Callable[..., Any]:
    """A reload queued (after a refresh, by a timer) can come due while the section is being removed
    with its console (another integration was opened): its widgets are gone, and there is nothing
    left to show."""

    @functools.wraps(reload)
    def guarded(self: Section, *args: Any, **kwargs: Any) -> Any:
        if self._closing or self._closed or self._pruning or not self.is_attached:
            return None
        return reload(self, *args, **kwargs)

    return guarded


class Section(Vertical):
    SECTION: ClassVar[str] = ""  # "dashboard", "flows", ...
    TITLE: ClassVar[str] = ""  # "Dashboard"
    ACTIONS: ClassVar[list[Action]] = []

    def __init_subclass__(cls, **kwargs: Any) -> None:
        # Before super(): Textual merges BINDINGS into the class's binding map in __init_subclass__.
        cls.BINDINGS = [Binding(a.key, a.run, a.title) for a in cls.ACTIONS if a.key]
        if "reload" in cls.__dict__:
            cls.reload = _not_while_removed(cls.__dict__["reload"])  # type: ignore[method-assign]
        super().__init_subclass__(**kwargs)

    def __init__(self, ctx: ConsoleContext, **kwargs: Any) -> None:
        super().__init__(id=f"section-{self.SECTION}", **kwargs)
        self.ctx = ctx

    def reload(self) -> None:
        """Re-read what is shown from the service: on show and on the app's refresh tick."""

    def key_escape(self) -> bool:
        """esc in a filter field (a search, a status, a date) goes back to the records, as the
        help's "esc back" says; elsewhere esc is left to what is in front."""
        focused = self.screen.focused
        in_filters = isinstance(focused, Input | Select) and any(
            node.has_class("filter-bar") or node.has_class("toolbar") for node in focused.ancestors
        )
        tables = [table for table in self.query(DataTable) if table.focusable]
        if not in_filters or not tables:
            return False
        tables[0].focus()
        return True

    def apply_filter(self, **criteria: Any) -> None:
        """Show the section narrowed down, e.g. Logs with ref="#1001" or flow_id=1 (quick links)."""
        self.reload()
