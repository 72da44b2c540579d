"""Add a reference by hand (records that exist on both sides since before go-live), or edit the
target id of a wrong link. The target id is looked up in the target platform before anything is
saved: a link to a record that does not exist would make the next sync update nothing."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Input, Label, Select, Static

from engine.store.models import Reference
from junipeer_tui.dialogs.base import Dialog
from junipeer_tui.widgets.key_footer import KeyFooter
from junipeer_tui.widgets.util import call_async, error_text

if TYPE_CHECKING:
    from junipeer_tui.context import ConsoleContext

CHECK_TIMEOUT = 30  # seconds the target platform may take to say whether the record exists


class ReferenceForm(Dialog["Reference | None"]):
    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(
        self,
        ctx: ConsoleContext,
        entity_types: list[str],
        *,
        entity_type: str | None = None,
        existing: Reference | None = None,
    ) -> None:
        super().__init__(classes="dialog-screen")
        self.ctx = ctx
        self.entity_types = entity_types or ["order"]
        self.entity_type = entity_type or self.entity_types[0]
        self.existing = existing

    def compose(self) -> ComposeResult:
        ex = self.existing
        with Vertical(classes="dialog reference-form"):
            yield Label("Edit reference" if ex else "Add reference", classes="dialog-title")
            if ex:
                yield Static(
                    f"{ex.entity_type} {ex.source_label or ''} (source id {ex.source_id}) is linked to "
                    f"{ex.target_id}. Point it at the right target record:",
                    classes="dialog-body",
                )
            else:
                yield Static(
                    "Link a source record to a target record that already exists, so the next sync "
                    "updates it instead of creating a new one.",
                    classes="dialog-body",
                )
                with Horizontal(classes="form-row"):
                    yield Label("Type", classes="form-label")
                    yield Select(
                        [(t.title(), t) for t in self.entity_types],
                        value=self.entity_type,
                        allow_blank=False,
                        id="ref-type",
                        compact=True,
                    )
                with Horizontal(classes="form-row"):
                    yield Label("Source id", classes="form-label")
                    yield Input(placeholder="Shopify id, e.g. 5001", id="ref-source", compact=True)
                with Horizontal(classes="form-row"):
                    yield Label("Label", classes="form-label")
                    yield Input(placeholder="optional, e.g. #1001", id="ref-label", compact=True)
            with Horizontal(classes="form-row"):
                yield Label("Target id", classes="form-label")
                yield Input(
                    ex.target_id if ex else "", placeholder="Fortnox number", id="ref-target", compact=True
                )
            yield Static("", id="ref-status", classes="dialog-note")
            yield Static("", id="ref-error", classes="field-error")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Save", id="ref-save", variant="primary")
                yield Button("Cancel", id="ref-cancel")
        yield KeyFooter()

    def on_mount(self) -> None:
        self.query_one("#ref-target" if self.existing else "#ref-source", Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.save()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "ref-save":
            self.save()
        else:
            self.action_cancel()

    def save(self) -> None:
        if self.query_one("#ref-save", Button).disabled:
            return  # a check is under way
        entity_type = (
            self.existing.entity_type if self.existing else str(self.query_one("#ref-type", Select).value)
        )
        target = self.query_one("#ref-target", Input).value
        self.query_one("#ref-error", Static).update("")
        self.query_one("#ref-save", Button).disabled = True
        self.query_one("#ref-status", Static).update(
            f"Looking up {entity_type} {target.strip()} in the target…"
        )
        self._check_then_save(entity_type, target)

    @work(thread=True, exclusive=True, exit_on_error=False, group="reference-check")
    def _check_then_save(self, entity_type: str, target: str) -> None:
        svc, iid = self.ctx.service, self.ctx.integration_id
        try:
            call_async(self.ctx, lambda: svc.check_target_record(iid, entity_type, target), CHECK_TIMEOUT)
        except Exception as exc:
            self.app.call_from_thread(self._failed, error_text(exc))
            return
        self.app.call_from_thread(self._store, entity_type, target)

    def _failed(self, text: str) -> None:
        if self.is_mounted:
            self.query_one("#ref-status", Static).update("")
            self.query_one("#ref-error", Static).update(text)
            self.query_one("#ref-save", Button).disabled = False

    def _store(self, entity_type: str, target: str) -> None:
        if not self.is_mounted:
            return
        svc = self.ctx.service
        try:
            if self.existing is not None:
                ref = svc.edit_reference(self.existing.id, target)  # type: ignore[arg-type]
            else:
                ref = svc.add_reference(
                    self.ctx.integration_id,
                    entity_type,
                    self.query_one("#ref-source", Input).value,
                    target,
                    self.query_one("#ref-label", Input).value.strip() or None,
                )
        except Exception as exc:
            self._failed(error_text(exc))
            return
        self.dismiss(ref)

    def action_cancel(self) -> None:
        self.dismiss(None)
