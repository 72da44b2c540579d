"""RowIds on a Fortnox document update.

Fortnox pairs the rows of an update with its stored rows by RowId when any row carries one (rows
without are new, stored rows not sent are deleted), and by position when none does, where a shifted
row takes over its neighbour's unsent fields. RowIds change on every write, so they must come from
the read just before the update.
"""

from __future__ import annotations


def _row_key(row: dict) -> tuple[str, str]:
    return (str(row.get("ArticleNumber") or ""), str(row.get("Description") or ""))


def carry_row_ids(rows: list[dict], stored: list[dict]) -> list[dict]:
    """`rows` with the RowId of the stored row each one replaces.

    A row takes the RowId of the first unclaimed stored row with the same article and description,
    else of the first unclaimed stored row with the same article; a row with no counterpart goes
    without (a new row), and stored rows nobody claims are deleted by Fortnox."""
    free = [r for r in stored if r.get("RowId") not in (None, "")]
    out = []
    for row in rows:
        match = next((r for r in free if _row_key(r) == _row_key(row)), None)
        if match is None and row.get("ArticleNumber"):
            match = next((r for r in free if r.get("ArticleNumber") == row["ArticleNumber"]), None)
        if match is None:
            out.append(dict(row))
            continue
        free.remove(match)
        out.append({**row, "RowId": match["RowId"]})
    return out
