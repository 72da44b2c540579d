"""LeanDataTable draws one-line text cells itself; what it draws must be what DataTable draws."""

from __future__ import annotations

from typing import Any

import pytest
from rich.segment import Segment
from rich.text import Text
from textual.app import App, ComposeResult
from textual.coordinate import Coordinate
from textual.widgets import DataTable
from textual.widgets import _data_table as data_table_module

from junipeer_tui.widgets.key_footer import KeyFooter
from junipeer_tui.widgets.table import LeanDataTable, PagedTable

ROWS: list[tuple[Any, ...]] = [
    (Text("synced", style="green"), "#1001", "1000017", "2", "3 min ago"),
    (Text("error", style="bold red"), "#1002 with a reference far wider than its column", "—", "", "1 h"),
    ("[b]markup[/b] in a str", Text(""), "[not markup", "7", "just now"),
    (Text("multi\nline"), "ÅÄÖ åäö", "中文字", "0", "1 d"),
]


class TableApp(App[None]):
    TABLE: type[DataTable[Any]] = LeanDataTable

    def compose(self) -> ComposeResult:
        table = self.TABLE(id="t", cursor_type="row", zebra_stripes=True)
        table.add_column("Status", width=8)
        table.add_column("Retriever Reference", width=14)
        table.add_column("Storer")
        table.add_column("Children")
        table.add_column("Last Updated")
        for n, cells in enumerate(ROWS):
            table.add_row(*cells, key=str(n))
        yield table
        yield KeyFooter()


def both_ways(table: LeanDataTable, row: int, column: int, style: Any, **flags: bool) -> tuple[Any, Any]:
    width = table.ordered_columns[column].get_render_width(table)
    table._cell_render_cache.clear()
    fast = table._render_cell(row, column, style, width, **flags)
    table._cell_render_cache.clear()
    rich = DataTable._render_cell(table, row, column, style, width, **flags)
    return fast, rich


def texts(lines: list[list[Segment]]) -> list[str]:
    return ["".join(seg.text for seg in line) for line in lines]


@pytest.mark.parametrize("flags", [{}, {"cursor": True}, {"hover": True}, {"cursor": True, "hover": True}])
async def test_fast_cells_equal_what_datatable_draws(flags: dict[str, bool]) -> None:
    app = TableApp()
    async with app.run_test(size=(90, 12)) as pilot:
        table = app.query_one(LeanDataTable)
        await pilot.pause()
        style = table.rich_style
        for row in range(len(ROWS)):
            row_style = table._get_row_style(row, style)
            for column in range(len(table.columns)):
                fast, rich = both_ways(table, row, column, row_style, **flags)
                assert fast == rich, (row, column, texts(fast), texts(rich))
        # The long reference is cut to its column, not wrapped or widened.
        fast, _ = both_ways(table, 1, 1, style)
        assert texts(fast) == [" #1002 with a r "]


async def test_screen_draws_the_same_as_datatable() -> None:
    """The whole table, cursor moved and focused, as the terminal would get it."""
    app = TableApp()
    async with app.run_test(size=(90, 12)) as pilot:
        table = app.query_one(LeanDataTable)
        table.focus()
        table.move_cursor(row=2)
        await pilot.pause()
        fast = [list(table.render_line(y)) for y in range(6)]
        table._line_cache.clear()
        table._row_render_cache.clear()
        table._cell_render_cache.clear()
        table._render_cell = lambda *a, **k: DataTable._render_cell(table, *a, **k)  # type: ignore[method-assign]
        rich = [list(table.render_line(y)) for y in range(6)]
        assert fast == rich
        assert "#1001" in texts([fast[1]])[0] and table.cursor_coordinate == Coordinate(2, 0)


class PlainTableApp(TableApp):
    TABLE = DataTable


async def test_column_widths_equal_what_datatable_measures(monkeypatch: pytest.MonkeyPatch) -> None:
    """The same widths and scroll size from the cells' lengths, without DataTable's measure() of
    every one-line cell (markup, wide characters and a second line included)."""
    measured: list[Any] = []
    real_measure = data_table_module.measure

    def counting_measure(console: Any, renderable: Any, default: int, **kw: Any) -> int:
        measured.append(renderable)
        return real_measure(console, renderable, default, **kw)

    monkeypatch.setattr(data_table_module, "measure", counting_measure)
    figures = []
    for app in (TableApp(), PlainTableApp()):
        async with app.run_test(size=(90, 12)) as pilot:
            await pilot.pause()
            table = app.query_one("#t", DataTable)
            figures.append(([c.content_width for c in table.ordered_columns], table.virtual_size))
            cells = [m for m in measured if str(m) not in {str(c.label) for c in table.ordered_columns}]
            if not isinstance(app, PlainTableApp):
                assert cells == []  # the header labels only
                measured.clear()
    assert figures[0] == figures[1]
    assert len(cells) == len(ROWS) * 5  # DataTable itself measured every cell


class PagedApp(App[None]):
    def compose(self) -> ComposeResult:
        yield PagedTable(
            ["Level", "Time", "Code", "Ref", "Flow", "Task", "Message"],
            fill="Message",
            fill_min=20,
            drop=("Task", "Flow"),
            id="t",
        )

    def on_mount(self) -> None:
        self.query_one(PagedTable).show_rows(
            [
                (n, ("error", "10:02:41", "ARTICLE_NOT_FOUND", f"#{1000 + n}", "Orders", "#1", "Order " * 20))
                for n in range(40)
            ]
        )


@pytest.mark.parametrize(
    ("width", "shown"),
    [
        (140, ["Level", "Time", "Code", "Ref", "Flow", "Task", "Message"]),
        (80, ["Level", "Time", "Code", "Ref", "Flow", "Message"]),
        (62, ["Level", "Time", "Code", "Ref", "Message"]),
    ],
)
async def test_narrow_table_drops_columns_and_fills_the_rest(width: int, shown: list[str]) -> None:
    """The fill column ends at the table's edge: no horizontal scrollbar, nothing off-screen."""
    app = PagedApp()
    async with app.run_test(size=(width, 12)) as pilot:
        await pilot.pause()
        table = app.query_one(PagedTable)
        assert table.shown_columns == shown
        assert [c.label.plain for c in table.ordered_columns] == shown
        assert table.virtual_size.width == table.scrollable_content_region.width
        assert not table.show_horizontal_scrollbar
        assert texts([list(table.render_line(1))])[0].startswith(" error  10:02:41  ARTICLE_NOT_FOUND  #1000")
        await pilot.resize_terminal(140, 12)
        await pilot.pause()
        assert table.shown_columns == ["Level", "Time", "Code", "Ref", "Flow", "Task", "Message"]


class ReferencesApp(App[None]):
    """A reference in the middle that is only cut, never widened (Entities, References)."""

    def compose(self) -> ComposeResult:
        yield PagedTable(
            ["Status", "Retriever Reference", "Storer Reference", "Last Updated"],
            fill="Retriever Reference",
            fill_min=len("Retriever Reference"),
            stretch=False,
            id="t",
        )

    def on_mount(self) -> None:
        self.query_one(PagedTable).show_rows(
            [
                (n, ("synced", f"customer{n}.with.a.long.name@example.com", str(n), "1 h ago"))
                for n in range(5)
            ]
        )


async def test_a_fill_column_that_does_not_stretch_is_cut_when_narrow_and_natural_when_wide() -> None:
    app = ReferencesApp()
    async with app.run_test(size=(60, 12)) as pilot:
        await pilot.pause()
        table = app.query_one(PagedTable)
        line = texts([list(table.render_line(1))])[0]
        # Cut to the width left: the columns after it stay on screen.
        assert line.rstrip().endswith("0                 1 h ago") and "customer0.with.a" in line, line
        assert table.virtual_size.width == table.scrollable_content_region.width
        await pilot.resize_terminal(140, 12)
        await pilot.pause()
        line = texts([list(table.render_line(1))])[0]
        # As wide as its widest cell, not as the table: Last Updated follows it, the rest stays empty.
        assert "customer0.with.a.long.name@example.com  0 " in line, line
        assert table.virtual_size.width < table.scrollable_content_region.width
