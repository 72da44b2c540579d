"""The base of every dialog and detail screen the console opens over a section."""

from __future__ import annotations

from typing import ClassVar

from textual.binding import Binding
from textual.screen import ModalScreen, ScreenResultType


class Dialog(ModalScreen[ScreenResultType]):
    """Textual looks a key up no further than the modal screen in front, so the app's `?` would
    never reach a dialog: here it shows the dialog's own keys (the app's help action)."""

    BINDINGS: ClassVar[list[Binding | tuple[str, str] | tuple[str, str, str]]] = [
        Binding("question_mark", "app.help", "Help")
    ]
    # "-short" below 30 rows (80×24): dialogs with a long list shorten it (sections.tcss).
    VERTICAL_BREAKPOINTS: ClassVar[list[tuple[int, str]] | None] = [(0, "-short"), (30, "-tall")]
