"""`?`: the keys of the active section and the global keys, built from the one action registry."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen, Screen
from textual.widgets import Label, Static

from junipeer_tui.context import Action


def _key(key: str | None) -> str:
    from junipeer_tui.app import key_display

    return key_display(key) or "palette"


def action_lines(actions: list[Action]) -> Content:
    lines = []
    for a in actions:
        mark = Content.from_markup(" [$text-error](asks first)[/]") if a.destructive else Content("")
        desc = Content.from_markup("  [$text-muted]$d[/]", d=a.description) if a.description else Content("")
        lines.append(
            Content.from_markup("[b $text-accent]$k[/] $t", k=f"{_key(a.key):>7}", t=a.title) + desc + mark
        )
    return Content("\n").join(lines) if lines else Content.from_markup("[$text-muted]   (no actions)[/]")


def dialog_actions(screen: Screen[object]) -> list[Action]:
    """A dialog's keys as actions: its own bindings, and the ones its widgets show in the footer.
    Textual's screen-wide keys (tab, copy; `app.` and `screen.` actions) and a table's cursor keys
    stay out: the hint line covers them."""
    out: list[Action] = []
    seen: set[str] = set()
    for key, (node, binding, _enabled, tooltip) in screen.active_bindings.items():
        if node is screen.app or binding.action in seen or not (node is screen or binding.show):
            continue
        if binding.action.startswith(("app.", "screen.")):
            continue
        seen.add(binding.action)
        out.append(
            Action(
                binding.action,
                binding.description or binding.action,
                key,
                binding.action,
                description=tooltip or binding.tooltip,
            )
        )
    return out


def dialog_title(screen: Screen[object]) -> str:
    """What the dialog calls itself: its title line, else its box's border title."""
    titles = screen.query(".dialog-title")
    if titles and isinstance(titles.first(), Label | Static):
        return str(titles.first().render())
    boxes = [w.border_title for w in screen.query(".dialog") if w.border_title]
    return str(boxes[0]) if boxes else "This dialog"


class HelpScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[Binding | tuple[str, str] | tuple[str, str, str]]] = [
        Binding("escape", "dismiss", "Close"),
        Binding("question_mark", "dismiss", "Close", show=False),
        Binding("q", "dismiss", "Close", show=False),
    ]

    def __init__(self, global_actions: list[Action], section_title: str, section_actions: list[Action]):
        super().__init__(id="help")
        self.global_actions = global_actions
        self.section_title = section_title
        self.section_actions = section_actions

    def compose(self) -> ComposeResult:
        with Vertical(id="help-box"):
            yield Static(Content.from_markup("[b]Keys[/b] — $s", s=self.section_title), id="help-title")
            with VerticalScroll(id="help-body"):
                yield Static(self.section_title, classes="help-group")
                yield Static(action_lines(self.section_actions), id="help-section-actions")
                if self.global_actions:  # a dialog stops the app's keys: none is listed there
                    yield Static("Everywhere", classes="help-group")
                    yield Static(action_lines(self.global_actions), id="help-global-actions")
                yield Static(
                    Content.from_markup(
                        "[$text-muted]Tables: ↑↓ move · ⏎ open · tab next field · esc back. "
                        "Every action is also in the palette (ctrl+p).[/]"
                    ),
                    id="help-hint",
                )

    def action_dismiss(self, result: None = None) -> None:  # type: ignore[override]
        self.dismiss(None)
