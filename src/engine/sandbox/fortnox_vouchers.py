"""Fortnox vouchers, financial years and voucher series, as the payouts flows meet them.

What Fortnox checks, and the sandbox with it (refusing where unsure):
- a voucher's rows balance: debits equal credits, to the öre, and it has at least two rows;
- every row's account exists and is active in the chart (`Konto "1234" är inte aktivt`);
- the voucher series exists;
- the transaction date lies in a financial year. Fortnox's own advice is to look the year up first
  (`GET /3/financialyears?date=`, an empty list when there is none; developer.fortnox.se, best
  practice "Vouchers"); a payment dated outside its invoice's year is refused with "Angivet betaldatum
  måste vara inom fakturans räkenskapsår" (quoted by Nox Finans' help desk), so payments are checked
  here too.
The company keeps calendar financial years: last year and this one.
"""

from __future__ import annotations

import time
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from engine.sandbox.fortnox import (
    FortnoxError,
    _body,
    _date,
    _listing,
    _num,
    _single,
    _store,
    _url,
    err,
    invalid,
    today,
)
from engine.sandbox.state import FortnoxStore

VOUCHER_SERIES = (
    {"Code": "A", "Description": "Redovisning", "Manual": True},
    {"Code": "B", "Description": "Kundfaktura", "Manual": False},
    {"Code": "C", "Description": "Kundinbetalning", "Manual": False},
    {"Code": "D", "Description": "Leverantörsfaktura", "Manual": False},
    {"Code": "E", "Description": "Leverantörsinbetalning", "Manual": False},
)


def financial_years() -> list[dict[str, Any]]:
    this = today().year
    return [
        {"Id": i, "FromDate": f"{year}-01-01", "ToDate": f"{year}-12-31", "AccountChartType": "BAS 2026"}
        for i, year in enumerate((this - 1, this), 1)
    ]


def year_of(day: str) -> dict[str, Any]:
    """The financial year `day` falls in; FORTNOX_FISCAL_YEAR when there is none."""
    found = next((y for y in financial_years() if y["FromDate"] <= day <= y["ToDate"]), None)
    if found is None:
        raise err("FORTNOX_FISCAL_YEAR", 400, day)
    return found


def check_account(store: FortnoxStore, account: Any) -> int:
    """The account number once it exists and is active in the chart."""
    try:
        number = int(str(account))
    except ValueError:
        raise err("FORTNOX_ACCOUNT_NOT_FOUND", 400, str(account)) from None
    entry = next((a for a in store.lookups["accounts"] if a["Number"] == number), None)
    if entry is None:
        raise err("FORTNOX_ACCOUNT_NOT_FOUND", 400, str(number))
    if not entry["Active"]:
        raise FortnoxError(400, 0, f'Konto "{number}" är inte aktivt')
    return number


def _rows(store: FortnoxStore, rows: Any) -> list[dict[str, Any]]:
    if not isinstance(rows, list) or len(rows) < 2:
        raise invalid("a voucher needs at least two VoucherRows")
    out = []
    for row in rows:
        if not isinstance(row, dict):
            raise invalid("a voucher row must be an object")
        debit, credit = _num(row.get("Debit"), "Debit"), _num(row.get("Credit"), "Credit")
        if debit < 0 or credit < 0 or (debit and credit):
            raise invalid("a voucher row has either a positive Debit or a positive Credit")
        out.append(
            {
                "Account": check_account(store, row.get("Account")),
                "Debit": round(debit, 2),
                "Credit": round(credit, 2),
                "Description": str(row.get("Description") or ""),
                "TransactionInformation": str(row.get("TransactionInformation") or ""),
                "Removed": False,
            }
        )
    debits = round(sum(r["Debit"] for r in out) * 100)
    credits = round(sum(r["Credit"] for r in out) * 100)
    if debits != credits or debits == 0:
        raise err("FORTNOX_VOUCHER_UNBALANCED", 400, f"debet {debits / 100:.2f}, kredit {credits / 100:.2f}")
    return out


async def create_voucher(request: Request) -> Response:
    state, store = _store(request)
    body = await _body(request, "Voucher")
    with state.lock:
        series = str(body.get("VoucherSeries") or "")
        if not any(s["Code"] == series for s in VOUCHER_SERIES):
            raise err("FORTNOX_VOUCHER_SERIES_NOT_FOUND", 400, series or "(missing VoucherSeries)")
        day = _date(body.get("TransactionDate"), "TransactionDate")
        year = year_of(day)
        asked = request.query_params.get("financialyear")
        if asked and asked != str(year["Id"]):
            raise err("FORTNOX_FISCAL_YEAR", 400, f"{day} is not in financial year {asked}")
        if not str(body.get("Description") or "").strip():
            raise invalid("Description is required")
        rows = _rows(store, body.get("VoucherRows"))
        key = f"{series}{year['Id']}"
        store.counters[key] = store.counters.get(key, 0) + 1
        voucher = {
            "VoucherSeries": series,
            "VoucherNumber": store.counters[key],
            "Year": year["Id"],
            "TransactionDate": day,
            "Description": str(body["Description"])[:200],
            "Comments": str(body.get("Comments") or ""),
            "ReferenceNumber": str(body.get("ReferenceNumber") or ""),
            "ReferenceType": "MANUAL",
            "VoucherRows": rows,
            "_modified": time.time(),
        }
        store.vouchers[f"{series}/{voucher['VoucherNumber']}/{year['Id']}"] = voucher
        return _single(request, "Voucher", voucher, _path(voucher), 201)


VOUCHER_LIST = ("VoucherSeries", "VoucherNumber", "Year", "TransactionDate", "Description",
                "ReferenceNumber", "ReferenceType")  # fmt: skip


async def list_vouchers(request: Request) -> Response:
    state, store = _store(request)
    with state.lock:
        items = list(store.vouchers.values())
        if year := request.query_params.get("financialyear"):
            items = [v for v in items if str(v["Year"]) == year]
        return _listing(
            request, items, "Vouchers", (), "TransactionDate", VOUCHER_LIST, lambda v: _url(request, _path(v))
        )


def _path(voucher: dict[str, Any]) -> str:
    return f"vouchers/{voucher['VoucherSeries']}/{voucher['VoucherNumber']}?financialyear={voucher['Year']}"


async def get_voucher(request: Request) -> Response:
    state, store = _store(request)
    with state.lock:
        series, number = request.path_params["series"], request.path_params["number"]
        year = request.query_params.get("financialyear") or str(year_of(today().isoformat())["Id"])
        voucher = store.vouchers.get(f"{series}/{number}/{year}")
        if voucher is None:
            raise err("NOT_FOUND", 404, f"voucher {series}{number}")
        return _single(request, "Voucher", voucher, f"vouchers/{series}/{number}?financialyear={year}")


async def list_financial_years(request: Request) -> Response:
    years = financial_years()
    if raw := request.query_params.get("date"):
        day = _date(raw, "date")
        years = [y for y in years if y["FromDate"] <= day <= y["ToDate"]]
    return _listing(
        request, years, "FinancialYears", (), None, None, lambda y: _url(request, f"financialyears/{y['Id']}")
    )


async def list_voucher_series(request: Request) -> Response:
    return _listing(
        request, [dict(s) for s in VOUCHER_SERIES], "VoucherSeriesCollection", (), None, None,
        lambda s: _url(request, f"voucherseries/{s['Code']}"),
    )  # fmt: skip


def check_payment(store: FortnoxStore, invoice: dict[str, Any], body: dict[str, Any]) -> None:
    """What Fortnox checks of an invoice payment besides its invoice: a known mode of payment,
    existing active accounts (the mode's and every write-off's), a non-zero amount and a payment date in
    a financial year."""
    code = str(body.get("ModeOfPayment") or "")
    mode = next((m for m in store.lookups["modesofpayments"] if m["Code"] == code), None)
    if mode is None:
        raise err("FORTNOX_MODE_OF_PAYMENT_NOT_FOUND", 400, code or "(missing ModeOfPayment)")
    check_account(store, body.get("ModeOfPaymentAccount") or mode["AccountNumber"])
    if _num(body.get("Amount"), "Amount") == 0:
        raise invalid("Amount must not be 0")
    for row in body.get("WriteOffs") or []:
        if not isinstance(row, dict):
            raise invalid("a write-off must be an object")
        check_account(store, row.get("AccountNumber"))
        _num(row.get("Amount"), "WriteOffs.Amount")
    day = _date(body.get("PaymentDate") or today().isoformat(), "PaymentDate")
    if not any(y["FromDate"] <= day <= y["ToDate"] for y in financial_years()):
        raise err("FORTNOX_FISCAL_YEAR", 400, day)
    if invoice["Currency"] != "SEK" and body.get("AmountCurrency") in (None, ""):
        raise invalid(f"AmountCurrency is required for an invoice in {invoice['Currency']}")
