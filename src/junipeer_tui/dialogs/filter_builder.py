"""The filter builder of a flow: its filters (presets marked "recommended" where they are), a warning
when a recommended one is missing, how many of the source platform's newest records each filter keeps
(read from the platform now: stored records lack the ones a filter dropped), and an editor for custom
filters (All must match / One must match, condition rows, + Add Condition)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Button, DataTable, Input, Label, OptionList, Select, Static
from textual.widgets.option_list import Option

from engine.mapping import filters as filters_mod
from engine.store.models import Flow, FlowFilter
from junipeer_tui.dialogs.base import Dialog
from junipeer_tui.dialogs.confirm import ConfirmDialog
from junipeer_tui.widgets.key_footer import KeyFooter
from junipeer_tui.widgets.table import LeanDataTable
from junipeer_tui.widgets.util import call_async, error_text, flow_direction, stamp

if TYPE_CHECKING:
    from junipeer_tui.context import ConsoleContext

SAMPLE = 200
PREVIEW_TIMEOUT = 60  # seconds the platform may take to hand over the sample
MATCH_CHOICES = [("All must match", "all"), ("One must match", "one")]
LIST_OPERATORS = ("one_of", "not_one_of")


def keep_counts(filters: list[FlowFilter], records: list[dict[str, Any]]) -> tuple[dict[int, int], int]:
    """How many records each filter keeps on its own, and how many all of them keep together."""
    each = {f.id: sum(filters_mod.evaluate([f], r).kept for r in records) for f in filters}  # type: ignore[misc]
    together = sum(filters_mod.evaluate(filters, r).kept for r in records)
    return each, together  # type: ignore[return-value]


def describe(f: FlowFilter) -> str:
    joiner = " and " if f.match == "all" else " or "
    try:
        return joiner.join(filters_mod.describe_condition(c) for c in f.conditions)
    except KeyError:
        return "(unreadable conditions)"


class ConditionRow(Horizontal):
    """Field, operator, value, remove: one condition of a custom filter."""

    def __init__(self, cond: dict[str, Any] | None = None, *, fixed_field: str | None = None) -> None:
        super().__init__(classes="condition-row")
        self.cond = cond or {}
        self.fixed_field = fixed_field

    def compose(self) -> ComposeResult:
        field = self.fixed_field or self.cond.get("field", Select.NULL)
        yield Select(
            [(d.label, k) for k, d in filters_mod.FIELDS.items()],
            prompt="Field",
            value=field,
            compact=True,
            disabled=self.fixed_field is not None,
            classes="cond-field",
        )
        yield Select(
            [(label, k) for k, label in filters_mod.OPERATORS.items()],
            prompt="Operator",
            value=self.cond.get("operator", "one_of"),
            allow_blank=False,
            compact=True,
            classes="cond-operator",
        )
        value = self.cond.get("value", "")
        yield Input(
            ", ".join(value) if isinstance(value, list) else str(value),
            placeholder="value (comma separated for one of)",
            compact=True,
            classes="cond-value",
        )
        yield Button("✕", classes="cond-remove", compact=True, tooltip="Remove condition")

    def condition(self) -> dict[str, Any]:
        field = self.query_one(".cond-field", Select).value
        op = self.query_one(".cond-operator", Select).value
        text = self.query_one(".cond-value", Input).value
        value: Any = (
            [v.strip() for v in text.split(",") if v.strip()] if op in LIST_OPERATORS else text.strip()
        )
        return {"field": None if field is Select.NULL else field, "operator": op, "value": value}


class FilterEditor(Dialog[bool]):
    """Add or edit one filter: a custom one, or a preset (its field fixed)."""

    BINDINGS = [
        Binding("escape", "cancel", "Cancel"),
        Binding("ctrl+s", "save", "Save"),
        Binding("ctrl+n", "add_condition", "+ Add Condition"),
    ]

    def __init__(
        self,
        ctx: ConsoleContext,
        flow: Flow,
        existing: FlowFilter | None = None,
        *,
        preset: filters_mod.Preset | None = None,
    ) -> None:
        super().__init__(classes="dialog-screen")
        self.ctx = ctx
        self.flow = flow
        self.existing = existing
        if preset is None and existing is not None and existing.preset:
            preset = filters_mod.PRESETS.get(existing.preset)
        self.preset = preset

    def compose(self) -> ComposeResult:
        ex, preset = self.existing, self.preset
        if ex is not None:
            title, name, match, conds = f"Edit filter: {ex.name}", ex.name, ex.match, list(ex.conditions)
        elif preset is not None:
            title, name, match = f"Add {preset.name}", preset.name, "all"
            conds = [{"field": preset.field, "operator": "one_of", "value": list(preset.default)}]
        else:
            title, name, match, conds = "Add custom filter (advanced)", "", "all", [{}]
        with Vertical(classes="dialog filter-editor"):
            yield Label(title, classes="dialog-title")
            with Horizontal(classes="form-row"):
                yield Label("Name", classes="form-label")
                yield Input(name, placeholder="e.g. Only Nordic deliveries", id="filter-name", compact=True)
            with Horizontal(classes="form-row"):
                yield Label("Match", classes="form-label")
                yield Select(MATCH_CHOICES, value=match, allow_blank=False, id="filter-match", compact=True)
            yield Label("Conditions", classes="dialog-subtitle")
            with VerticalScroll(id="filter-conditions"):
                for cond in conds:
                    yield ConditionRow(cond, fixed_field=preset.field if preset else None)
            if preset is None:
                yield Button("+ Add Condition", id="filter-add-condition", compact=True)
            yield Static("", id="filter-error", classes="field-error")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Save", id="filter-save", variant="primary")
                yield Button("Cancel", id="filter-cancel")
        yield KeyFooter()

    def on_mount(self) -> None:
        self.query_one("#filter-name", Input).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        bid = event.button.id
        if bid == "filter-save":
            self.action_save()
        elif bid == "filter-cancel":
            self.action_cancel()
        elif bid == "filter-add-condition":
            self.action_add_condition()
        elif event.button.has_class("cond-remove"):
            row = next(a for a in event.button.ancestors if isinstance(a, ConditionRow))
            if len(self.query(ConditionRow)) > 1:
                row.remove()
            else:
                self.query_one("#filter-error", Static).update("A filter needs at least one condition.")

    def action_add_condition(self) -> None:
        if self.preset is not None:
            return
        row = ConditionRow()
        self.query_one("#filter-conditions").mount(row)
        self.call_after_refresh(lambda: row.query_one(".cond-field", Select).focus())

    def conditions(self) -> list[dict[str, Any]]:
        return [row.condition() for row in self.query(ConditionRow)]

    def action_save(self) -> None:
        error = self.query_one("#filter-error", Static)
        match = self.query_one("#filter-match", Select).value
        try:
            self.ctx.service.save_filter(
                self.flow.id,  # type: ignore[arg-type]
                self.query_one("#filter-name", Input).value,
                self.conditions(),
                match=str(match),
                preset=self.preset.key if self.preset else None,
                filter_id=self.existing.id if self.existing else None,
            )
        except Exception as exc:
            error.update(error_text(exc))
            return
        self.dismiss(True)

    def action_cancel(self) -> None:
        self.dismiss(False)


class PresetPicker(Dialog["filters_mod.Preset | None"]):
    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, presets: list[filters_mod.Preset]) -> None:
        super().__init__(classes="dialog-screen")
        self.presets = presets

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog picker"):
            yield Label("Add preset filter", classes="dialog-title")
            yield OptionList(
                *[
                    Option(p.name + ("  [recommended]" if p.recommended else ""), id=p.key)
                    for p in self.presets
                ],
                id="preset-list",
            )
        yield KeyFooter()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss(filters_mod.PRESETS[event.option.id or ""])

    def action_cancel(self) -> None:
        self.dismiss(None)


class FilterBuilderScreen(Dialog[None]):
    """Filters of one flow (from the flow card's settings: `s`)."""

    BINDINGS = [
        Binding("escape", "close", "Close"),
        Binding("a", "add_preset", "Add preset"),
        Binding("c", "add_custom", "Add custom filter"),
        Binding("e", "edit", "Edit"),
        Binding("d,delete", "remove", "Remove"),
    ]

    def __init__(self, ctx: ConsoleContext, flow: Flow) -> None:
        super().__init__(classes="dialog-screen")
        self.ctx = ctx
        self.flow = flow
        self.rows: list[FlowFilter] = []

    def compose(self) -> ComposeResult:
        _, target = flow_direction(self.ctx, self.flow)
        with Vertical(classes="dialog filter-builder"):
            yield Label(f"Filters: {self.flow.name} → {target}", classes="dialog-title")
            yield Static(
                "A record is synced only when every filter keeps it. Filters apply to this flow only.",
                classes="dialog-body",
            )
            yield Static("", id="filters-warning", classes="warning-line")
            yield Static("reading recent records…", id="filters-sample", classes="dialog-detail")
            table = LeanDataTable(id="filters-table", cursor_type="row", zebra_stripes=True)
            # Keeps before Conditions: on a narrow screen the long column is the one cut, and the
            # line below the table reads the selected filter's conditions whole.
            table.add_columns("Filter", "", "Keeps", "Conditions")
            yield table
            yield Static("", id="filters-selected", classes="dialog-note")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Add preset", id="filters-add-preset", compact=True)
                yield Button("Add custom filter (advanced)", id="filters-add-custom", compact=True)
                yield Button("Edit", id="filters-edit", compact=True)
                yield Button("Remove", id="filters-remove", variant="error", compact=True)
                yield Button("Close", id="filters-close", compact=True)
        yield KeyFooter()

    def on_mount(self) -> None:
        self.reload()
        self.query_one("#filters-table", DataTable).focus()

    def reload(self) -> None:
        svc = self.ctx.service
        self.rows = svc.filters(self.flow.id)  # type: ignore[arg-type]
        missing = svc.missing_recommended_filters(self.flow.id)  # type: ignore[arg-type]
        warning = self.query_one("#filters-warning", Static)
        warning.display = bool(missing)
        warning.update(
            "⚠ Recommended filter missing: " + ", ".join(missing) + " — add it with Add preset (a)."
        )
        table = self.query_one("#filters-table", DataTable)
        cursor = table.cursor_row
        table.clear()
        for f in self.rows:
            preset = filters_mod.PRESETS.get(f.preset or "")
            badge = "recommended" if preset and preset.recommended else ("preset" if preset else "custom")
            table.add_row(f.name, badge, "…", describe(f), key=str(f.id))
        if self.rows:
            table.move_cursor(row=min(cursor, len(self.rows) - 1))
        self._show_selected()
        self.query_one("#filters-sample", Static).update("reading recent records…")
        self._count(list(self.rows))

    @work(thread=True, exclusive=True, exit_on_error=False, group="filter-count")
    def _count(self, rows: list[FlowFilter]) -> None:
        try:
            records, since = call_async(
                self.ctx, lambda: self.ctx.service.recent_source_records(self.flow, SAMPLE), PREVIEW_TIMEOUT
            )
            each, together = keep_counts(rows, records)
        except Exception as exc:
            self.app.call_from_thread(self._show_counts, {}, 0, 0, None, error_text(exc))
            return
        self.app.call_from_thread(self._show_counts, each, together, len(records), since, "")

    def _show_counts(
        self, each: dict[int, int], together: int, total: int, since: datetime | None, error: str
    ) -> None:
        if not self.is_mounted:
            return
        sample = self.query_one("#filters-sample", Static)
        noun = f"{self.flow.entity_type}s"
        source = flow_direction(self.ctx, self.flow)[0]
        if error:
            sample.update(f"Could not read recent {noun} from {source} to test the filters: {error}")
            return
        if not total:
            sample.update(f"{source} has no {noun} created since {stamp(since)} UTC to test the filters on.")
        else:
            sample.update(
                f"Tested on the {total} newest {noun} in {source} (created since {stamp(since)} UTC, "
                f"read now): together they keep {together} of {total}."
            )
        table = self.query_one("#filters-table", DataTable)
        for f in self.rows:
            if f.id in each:
                table.update_cell(
                    str(f.id),
                    table.ordered_columns[2].key,
                    f"keeps {each[f.id]} of {total}",
                    update_width=True,
                )

    def _selected(self) -> FlowFilter | None:
        table = self.query_one("#filters-table", DataTable)
        if not self.rows or table.cursor_row < 0 or table.cursor_row >= len(self.rows):
            return None
        return self.rows[table.cursor_row]

    def _show_selected(self) -> None:
        selected = self._selected()
        line = self.query_one("#filters-selected", Static)
        line.display = selected is not None
        line.update(f"{selected.name}: {describe(selected)}" if selected is not None else "")

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        event.stop()
        self._show_selected()

    def _after_edit(self, saved: bool | None) -> None:
        if saved:
            self.notify("Filter saved: it applies from the next sync.", title="Filters")
            self.reload()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        actions = {
            "filters-add-preset": self.action_add_preset,
            "filters-add-custom": self.action_add_custom,
            "filters-edit": self.action_edit,
            "filters-remove": self.action_remove,
            "filters-close": self.action_close,
        }
        actions[event.button.id or ""]()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_edit()

    def action_add_preset(self) -> None:
        have = {f.preset for f in self.rows if f.kind == "preset"}
        available = [p for p in filters_mod.PRESETS.values() if p.key not in have]
        if not available:
            self.notify("Every preset filter is already added: edit one instead.", title="Filters")
            return

        def chosen(preset: filters_mod.Preset | None) -> None:
            if preset is not None:
                self.app.push_screen(FilterEditor(self.ctx, self.flow, preset=preset), self._after_edit)

        self.app.push_screen(PresetPicker(available), chosen)

    def action_add_custom(self) -> None:
        self.app.push_screen(FilterEditor(self.ctx, self.flow), self._after_edit)

    def action_edit(self) -> None:
        selected = self._selected()
        if selected is not None:
            self.app.push_screen(FilterEditor(self.ctx, self.flow, selected), self._after_edit)

    def action_remove(self) -> None:
        selected = self._selected()
        if selected is None:
            return

        def confirmed(yes: bool | None) -> None:
            if yes:
                self.ctx.service.delete_filter(selected.id)  # type: ignore[arg-type]
                self.notify(f"Filter {selected.name!r} removed.", title="Filters")
                self.reload()

        self.app.push_screen(
            ConfirmDialog(
                "Remove filter?",
                f"Remove {selected.name!r} from {self.flow.name}? Records it kept out are synced from the "
                "next run on.",
                confirm_label="Remove",
                destructive=True,
            ),
            confirmed,
        )

    def action_close(self) -> None:
        self.dismiss(None)
