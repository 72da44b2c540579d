"""The sidebar: one line per section with its key (1–8); clickable."""

from __future__ import annotations

from textual.widgets import OptionList
from textual.widgets.option_list import Option

# (section id, title): the sidebar order and keys 1..8.
SECTIONS: list[tuple[str, str]] = [
    ("dashboard", "Dashboard"),
    ("flows", "Flows"),
    ("entities", "Entities"),
    ("tasks", "Tasks"),
    ("logs", "Logs"),
    ("references", "References"),
    ("time_history", "Time History"),
    ("configure", "Configure"),
]


class Sidebar(OptionList):
    def __init__(self) -> None:
        options = [
            Option(f"[$text-muted]{n}[/] {title}", id=sid) for n, (sid, title) in enumerate(SECTIONS, 1)
        ]
        super().__init__(*options, id="sidebar")

    def mark(self, section_id: str) -> None:
        """Show which section is active."""
        for index, (sid, _title) in enumerate(SECTIONS):
            if sid == section_id:
                self.highlighted = index
