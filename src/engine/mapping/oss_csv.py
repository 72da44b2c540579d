"""The Sales Account mapping & OSS VAT as a CSV file: read for Import CSV, written for export.

The format, one mapping entry per line after the header:

    country,vat_rate,sales_account,shipping_account,fee_account,credit_account
    DE,,3162,,,
    DE,7,3163,,6570,3172

`country` is an EU country code other than SE; `vat_rate` (percent, "7", "25,5") is empty for the
country's own entry; `sales_account` is required, the other three may be empty. Excel in Sweden
writes `;` between the fields (the decimal comma takes `,`), so either separator is read; a UTF-8 BOM
is skipped. A file is all or nothing: every bad line is reported with its number and why, and then
nothing is saved.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

from engine.errors import EngineError
from engine.mapping.settings import OSS_KINDS, SalesAccounts, _account, oss_key, sales_account

HEADER = ("country", "vat_rate", "sales_account", "shipping_account", "fee_account", "credit_account")
KIND_COLUMNS = dict(zip(OSS_KINDS, HEADER[2:], strict=True))  # "sales" → "sales_account", ...


@dataclass(frozen=True)
class BadLine:
    line: int
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"


class OssCsvError(EngineError):
    """The file has bad lines (BAD_INPUT); `lines` says which and why."""

    def __init__(self, lines: list[BadLine]) -> None:
        self.lines = lines
        shown = "; ".join(str(b) for b in lines[:5]) + (
            f"; and {len(lines) - 5} more" if len(lines) > 5 else ""
        )
        super().__init__(
            "BAD_INPUT", f"The OSS mapping file has {len(lines)} bad line(s), nothing was saved: {shown}"
        )


def read(path: str | Path) -> str:
    """The text of the file at `path` (UTF-8, with or without a BOM); BAD_INPUT when unreadable."""
    where = Path(path).expanduser()
    try:
        return where.read_bytes().decode("utf-8")
    except OSError as exc:
        raise EngineError("BAD_INPUT", f"Can't read {where}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise EngineError("BAD_INPUT", f"{where} is not UTF-8 text: save it as CSV UTF-8") from None


def parse(text: str) -> dict[str, dict[str, str]]:
    """The SalesAccounts OSS fields ("oss_accounts", "oss_shipping_accounts", ...) a CSV file
    holds; OssCsvError naming every bad line."""
    text = text.removeprefix("\ufeff")
    lines = text.splitlines()
    first = next((line for line in lines if line.strip()), "")
    delimiter = ";" if first.count(";") > first.count(",") else ","
    out: dict[str, dict[str, str]] = {field: {} for field in OSS_KINDS.values()}
    bad: list[BadLine] = []
    seen: dict[str, int] = {}
    header_seen = False
    for number, fields in enumerate(csv.reader(io.StringIO(text), delimiter=delimiter), 1):
        cells = [c.strip() for c in fields]
        if not any(cells):
            continue
        if not header_seen:
            header_seen = True
            if tuple(c.lower() for c in cells) != HEADER:
                bad.append(BadLine(number, f"the first line must be the header {','.join(HEADER)}"))
                break
            continue
        if len(cells) != len(HEADER):
            bad.append(BadLine(number, f"{len(cells)} fields, expected {len(HEADER)} ({','.join(HEADER)})"))
            continue
        row = dict(zip(HEADER, cells, strict=True))
        try:
            key = oss_key(f"{row['country']} {row['vat_rate']}".strip())
        except ValueError:
            if row["country"].upper() == "SE":
                reason = "SE is not an OSS country: sales within Sweden take the Order Lines accounts"
            elif row["vat_rate"] == "" or _is_rate(row["vat_rate"]):
                reason = f"{row['country']!r} is not an EU country code (DE, FI, ...)"
            else:
                reason = f"{row['vat_rate']!r} is not a VAT rate in percent, e.g. 7 or 25.5"
            bad.append(BadLine(number, reason))
            continue
        if key in seen:
            bad.append(BadLine(number, f"{key} is already mapped on line {seen[key]}"))
            continue
        seen[key] = number
        problems = []
        for kind, field in OSS_KINDS.items():
            column = KIND_COLUMNS[kind]
            value = row[column]
            if not value:
                if kind == "sales":
                    problems.append(f"{column} is required")
                continue
            try:
                out[field][key] = _account(value) if kind == "fee" else sales_account(value)
            except ValueError as exc:
                problems.append(f"{column}: {exc}")
        bad += [BadLine(number, p) for p in problems]
    if not header_seen:
        bad.append(BadLine(1, f"the file is empty; the first line must be the header {','.join(HEADER)}"))
    if bad:
        raise OssCsvError(bad)
    return out


def _is_rate(text: str) -> bool:
    try:
        oss_key(f"DE {text}")
    except ValueError:
        return False
    return True


def export(sales: SalesAccounts) -> str:
    """The current OSS mapping in the import's format (comma-separated, one line per entry)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(HEADER)
    for key in sorted(sales.oss_accounts):
        country, _, rate = key.partition(" ")
        writer.writerow(
            [country, rate, *(getattr(sales, field).get(key, "") for field in OSS_KINDS.values())]
        )
    return buffer.getvalue()
