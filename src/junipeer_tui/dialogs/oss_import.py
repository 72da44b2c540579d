"""Import CSV on Sales Account mapping & OSS VAT: a file path, then either the mapping it replaced or
every bad line of the file (with nothing saved)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Input, Label, Static

from engine.mapping import oss_csv
from junipeer_tui.dialogs.base import Dialog
from junipeer_tui.widgets.key_footer import KeyFooter
from junipeer_tui.widgets.util import error_text

if TYPE_CHECKING:
    from junipeer_tui.context import ConsoleContext

FORMAT = (
    "One line per country (and VAT rate) after the header\n"
    f"  {','.join(oss_csv.HEADER)}\n"
    "e.g.  DE,,3162,3169,6570,3171  or  DE,7,3163,,,\n"
    "vat_rate and the last three accounts may be empty; `;` separators (Excel) work too. The file "
    "replaces the whole OSS mapping."
)


class OssImportDialog(Dialog[bool]):
    """Dismissed with True once a file is imported (the caller reloads the category), else False."""

    BINDINGS = [Binding("escape", "close", "Close")]

    def __init__(self, ctx: ConsoleContext) -> None:
        super().__init__(classes="dialog-screen")
        self.ctx = ctx
        self.imported = False

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog oss-import"):
            yield Label("Import OSS mapping from CSV", classes="dialog-title")
            yield Static(FORMAT, classes="dialog-body")
            yield Input(placeholder="Path to the CSV file, e.g. ~/oss.csv", id="oss-import-path")
            yield Static("", id="oss-import-status", classes="dialog-status")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Import", id="oss-import-run", variant="primary")
                yield Button("Close", id="oss-import-close")
        yield KeyFooter()

    def on_mount(self) -> None:
        self.query_one("#oss-import-path", Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.run_import(event.value)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "oss-import-run":
            self.run_import(self.query_one("#oss-import-path", Input).value)
        else:
            self.action_close()

    def _status(self, text: str, kind: str) -> None:
        status = self.query_one("#oss-import-status", Static)
        status.set_classes(f"dialog-status {kind}")
        status.update(text)

    def run_import(self, path: str) -> None:
        if not path.strip():
            self._status("Enter the path of the CSV file.", "error")
            return
        try:
            saved = self.ctx.service.import_oss_mapping(self.ctx.integration_id, oss_csv.read(path.strip()))
        except oss_csv.OssCsvError as exc:
            lines = "\n".join(str(b) for b in exc.lines)
            self._status(
                f"Nothing was saved: {len(exc.lines)} bad line(s). Fix them and import again.\n{lines}",
                "error",
            )
            return
        except Exception as exc:
            self._status(error_text(exc), "error")
            return
        self.imported = True
        self._status(f"Imported {len(saved.oss_accounts)} OSS mapping entries.", "success")

    def action_close(self) -> None:
        self.dismiss(self.imported)
