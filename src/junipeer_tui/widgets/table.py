"""A DataTable filled one keyset page at a time, rebuilt only when its rows change (so the refresh
tick never moves the cursor under the operator), the page stack that pages it, and the base of the
sections built around one such table (Entities, Tasks, Logs)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, ClassVar

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import on
from textual.app import App
from textual.cache import LRUCache
from textual.geometry import Size
from textual.render import measure
from textual.widgets import DataTable, Input, Select
from textual.widgets.data_table import ColumnKey, RowKey

from junipeer_tui.context import ConsoleContext
from junipeer_tui.widgets.section import Section
from junipeer_tui.widgets.util import STATUS_STYLE

Row = tuple[Any, Sequence[Any]]  # (key, cells)


def cell(app: App[Any], value: object, key: str | None = None) -> Text:
    """A plain-text cell (no markup parsing, so messages with brackets stay intact), coloured by the
    current theme's variable for `key` (a status or level) when there is one."""
    text = "" if value is None else str(value)
    var = STATUS_STYLE.get(key or text, "").lstrip("$")
    colour = app.theme_variables.get(var, "") if var else ""
    if colour.startswith("auto"):
        return Text(text, style="dim")
    return Text(text, style=colour or "")


class Pager:
    """Keyset paging, newest first: page N starts below the last id of page N-1."""

    def __init__(self) -> None:
        self.stack: list[int | None] = [None]

    @property
    def before_id(self) -> int | None:
        return self.stack[-1]

    @property
    def page(self) -> int:
        return len(self.stack)

    def next(self, last_id: int | None) -> bool:
        if last_id is None:
            return False
        self.stack.append(last_id)
        return True

    def previous(self) -> bool:
        if len(self.stack) == 1:
            return False
        self.stack.pop()
        return True

    def reset(self) -> None:
        self.stack = [None]


class LeanDataTable(DataTable[Any]):
    """A DataTable that draws a one-line text cell directly and caches about one screenful.

    DataTable draws every cell through Rich's general layout (Styled(Padding(cell)) and
    render_lines), about 0.2 ms a cell: a section switch that shows a changed page of 40 rows by 7
    columns spent more time there than in everything else (bench/console.py). A one-line Text cell
    needs none of that layout: its segments, cropped or padded to the column, between the padding,
    under the same row and cursor styles. It reads DataTable's private caches and helpers, so
    Textual is pinned and tests/tui/test_table.py holds the two ways equal, segment by segment.
    Anything else (headers, labels, wrapped rows, other renderables) still goes through Rich.

    The caches are cut to a screenful because our tables show a page of at most 200 rows rebuilt
    when it changes: Textual's sizes (10,000 cells, 1,000 lines) only held stale pages for the
    garbage collector to walk."""

    CACHED_LINES = 256

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._cell_render_cache = LRUCache(self.CACHED_LINES * 8)
        self._row_render_cache = LRUCache(self.CACHED_LINES)
        self._line_cache = LRUCache(self.CACHED_LINES)

    def _update_dimensions(self, new_rows: Iterable[RowKey]) -> None:
        """Column widths grow to the new rows' cells. A one-line row of Text is measured by the
        cell length of each cell's longest line, which is the maximum DataTable's measure() takes
        from Text.__rich_measure__, without the console options and word split it builds per
        cell: a page of new log lines took a sixth of a section switch there. Rows with a label
        or more than one line go DataTable's way (they need its height pass)."""
        rows = [(key, self._row_locations.get(key)) for key in new_rows]
        rows = [(key, index) for key, index in rows if index is not None]
        if any(
            (row := self.rows.get(key)) is None or row.label is not None or row.height != 1 for key, _ in rows
        ):
            super()._update_dimensions([key for key, _ in rows])
            return
        console = self.app.console
        columns = self.ordered_columns
        for _key, index in rows:
            for column, content in zip(columns, self._get_row_renderables(index).cells, strict=False):
                if isinstance(content, Text):
                    width = max(map(cell_len, content.plain.splitlines()), default=0)
                else:
                    width = measure(console, content, 1)
                if width > column.content_width:
                    column.content_width = width
        header_height = self.header_height if self.show_header else 0
        self.virtual_size = Size(
            sum(column.get_render_width(self) for column in self.columns.values())
            + self._row_label_column_width,
            self._total_row_height + header_height,
        )

    def _render_cell(
        self,
        row_index: int,
        column_index: int,
        base_style: Any,
        width: int,
        cursor: bool = False,
        hover: bool = False,
    ) -> list[list[Segment]]:
        row_key = self._row_locations.get_key(row_index) if row_index >= 0 else None
        row = self.rows.get(row_key) if row_key is not None else None
        if (
            row is None
            or row.height != 1
            or column_index < self.fixed_columns
            or row_index < self.fixed_rows
            or width < 2 * self.cell_padding
        ):
            return super()._render_cell(row_index, column_index, base_style, width, cursor, hover)
        cache_key = (
            row_key,
            self._column_locations.get_key(column_index),
            base_style,
            cursor,
            hover,
            self._show_hover_cursor,
            self._update_count,
            self._pseudo_class_state,
        )
        lines = self._cell_render_cache.get(cache_key)
        if lines is not None:
            return lines
        content = self._get_row_renderables(row_index).cells[column_index]
        if not isinstance(content, Text):
            return super()._render_cell(row_index, column_index, base_style, width, cursor, hover)
        component_style, post_style = self._get_styles_to_render_cell(
            False,
            False,
            False,
            hover,
            cursor,
            self.show_cursor,
            self._show_hover_cursor,
            self.cursor_foreground_priority == "css",
            self.cursor_background_priority == "css",
        )
        if "\n" in content.plain:
            content = content.split("\n")[0]
        console = self.app.console
        segments: Any = content.render(console)
        if content.style:  # Text.render leaves the base style to the layout it skips here
            segments = Segment.apply_style(segments, console.get_style(content.style))
        inner = Segment.adjust_line_length(list(segments), width - 2 * self.cell_padding)
        padding = Segment(" " * self.cell_padding)
        line = [padding, *inner, padding] if self.cell_padding else inner
        # The row/column meta is what a mouse click on the cell reports.
        cell_style = base_style + Style.from_meta({"row": row_index, "column": column_index})
        lines = [list(Segment.apply_style(line, cell_style + component_style, post_style))]
        self._cell_render_cache[cache_key] = lines
        return lines


class PagedTable(LeanDataTable):
    """Rows are (key, cells); `show_rows` keeps the cursor on the same key across rebuilds.

    On a table narrower than its columns, the columns named in `drop` go first, in that order, until
    the rest fits, and the `fill` column takes the width left (cut to it): at 80 columns a Message
    or a Failed column never ends up off-screen behind a horizontal scrollbar. With `stretch=False`
    the fill column is only ever cut, never widened past its widest cell: for a column in the
    middle (a reference) that would push the others to the far edge of a wide table."""

    def __init__(
        self,
        columns: Iterable[str],
        *,
        fill: str | None = None,
        fill_min: int = 12,
        drop: Iterable[str] = (),
        stretch: bool = True,
        caps: dict[str, int] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(cursor_type="row", zebra_stripes=True, **kwargs)
        self._columns = list(columns)
        # Columns cut to at most this many characters (a payout line's reference is long; the
        # message beside it says it whole).
        self._caps = dict(caps or {})
        self._fill = fill
        self._fill_min = fill_min  # characters the fill column keeps before a column is dropped
        self._drop = list(drop)
        self._stretch = stretch
        self._shown = list(self._columns)
        self._rows: list[Row] = []
        self._signature: tuple[Any, ...] | None = None
        self.keys: list[Any] = []

    def on_mount(self) -> None:
        for name in self._shown:
            self.add_column(name, key=name)

    def on_resize(self) -> None:
        self._fit()

    @property
    def shown_columns(self) -> list[str]:
        return list(self._shown)

    def page_size(self, extra: int = 20) -> int:
        """What one query should fetch: more rows than the table can show. Sized from the screen,
        not the table: a section reloads as it is shown, before the layout gives its table a
        height, and a page sized then would be replaced by another a frame later."""
        return max(30, min(200, self.app.size.height + extra))

    @property
    def current_key(self) -> Any:
        if not self.keys or self.cursor_row < 0 or self.cursor_row >= len(self.keys):
            return None
        return self.keys[self.cursor_row]

    def show_rows(self, rows: Sequence[Row], *, force: bool = False) -> bool:
        signature = (self.app.theme, *((key, tuple(str(c) for c in cells)) for key, cells in rows))
        if signature == self._signature and not force:
            return False
        self._signature = signature
        self._rows = list(rows)
        self._add_rows()
        self._fit()
        return True

    def _add_rows(self) -> None:
        keep, row_index = self.current_key, self.cursor_row
        self.clear()
        self.keys = [key for key, _ in self._rows]
        at = [self._columns.index(name) for name in self._shown]
        for key, cells in self._rows:
            self.add_row(*(cells[i] for i in at), key=str(key))
        if self._rows:
            target = (
                self.keys.index(keep) if keep in self.keys else min(max(row_index, 0), len(self._rows) - 1)
            )
            self.move_cursor(row=target, animate=False, scroll=True)

    def _natural_widths(self) -> dict[str, int]:
        """Each column's width with its widest cell of the page (first line), padding included."""
        widths = {name: cell_len(name) for name in self._columns}
        for _key, cells in self._rows:
            for name, value in zip(self._columns, cells, strict=False):
                plain = value.plain if isinstance(value, Text) else str(value)
                widths[name] = max(widths[name], cell_len(plain.partition("\n")[0]))
        for name, cap in self._caps.items():
            widths[name] = min(widths[name], cap)
        return {name: width + 2 * self.cell_padding for name, width in widths.items()}

    def _fit(self) -> None:
        if not (self._fill or self._drop) or not self.is_mounted or not self.size.width:
            return
        overflows = len(self._rows) + self.header_height > self.size.height
        room = self.size.width - (self.styles.scrollbar_size_vertical if overflows else 0)
        natural = self._natural_widths()
        fill = self._fill if self._fill in self._columns else None
        fill_min = min(natural[fill], self._fill_min + 2 * self.cell_padding) if fill else 0
        shown = list(self._columns)
        for name in self._drop:
            if sum(natural[c] for c in shown if c != fill) + fill_min <= room:
                break
            shown.remove(name)
        if shown != self._shown:
            self._shown = shown
            self.clear(columns=True)
            for name in shown:
                self.add_column(name, key=name)
            self._add_rows()
        for name in self._caps:
            if name in shown:
                capped = self.columns[ColumnKey(name)]
                width = natural[name] - 2 * self.cell_padding
                if capped.auto_width or capped.width != width:
                    capped.auto_width, capped.width = False, width
                    self._require_update_dimensions = True
                    self.refresh()
        if fill in shown:
            width = max(room - sum(natural[c] for c in shown if c != fill) - 2 * self.cell_padding, 1)
            if not self._stretch:
                width = min(width, natural[fill] - 2 * self.cell_padding)
            column = self.columns[ColumnKey(fill)]
            if column.auto_width or column.width != width:
                column.auto_width, column.width = False, width
                self._require_update_dimensions = True
                self.refresh()


class PagedSection(Section):
    """A section around one PagedTable (`TABLE_ID`): n/p page it, and any change of its filter
    inputs and selects goes back to the newest page. `requery` re-reads the page (`reload` unless a
    section reads differently); `rows` maps a table key to its record for `selected`."""

    TABLE_ID: ClassVar[str] = ""

    def __init__(self, ctx: ConsoleContext, **kwargs: Any) -> None:
        super().__init__(ctx, **kwargs)
        self.pager = Pager()

    @property
    def table(self) -> PagedTable:
        return self.query_one(f"#{self.TABLE_ID}", PagedTable)

    def requery(self) -> None:
        self.reload()

    def selected(self) -> Any:
        key = self.table.current_key
        return self.rows.get(key) if key is not None else None  # type: ignore[attr-defined]

    @on(Select.Changed)
    @on(Input.Changed)
    def _filters_changed(self) -> None:
        self.pager.reset()
        self.requery()

    def action_next_page(self) -> None:
        table = self.table
        if table.keys and len(table.keys) >= table.page_size() and self.pager.next(table.keys[-1]):
            self.requery()
        else:
            self.app.notify("This is the oldest page.")

    def action_prev_page(self) -> None:
        if self.pager.previous():
            self.requery()
