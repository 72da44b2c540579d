"""The sandbox Fortnox company's books: its VAT codes and chart of accounts, and the row checks
Fortnox makes against them.

The company is a Swedish AB on BAS 2026 that followed the usual preparation before connecting a
webshop: the Swedish VAT codes (MP1/MP2/MP3 at 25/12/6 %, MF tax-free), and, because it sells to
consumers in Denmark, Germany, the Netherlands and Finland under the OSS union scheme, one VAT code
and one sales account per country and rate. Fortnox's own OSS guidance is exactly that: create a
VAT code per country and rate, link each to its own sales account, and keep the customer's VAT type
as is. BAS leaves the per-country OSS accounts to the company (3106 is the parent for EU sales
taxed in the buyer's country), so 3161-3172 are this company's choice
(3169 German shipping, 3171-3172 German credits).

The company's VAT rates are the rates of its VAT codes: 25, 12, 6, 0 and the OSS rates. A rate no
code carries is refused, as Fortnox refuses rates the company has not set up.

Stricter than Fortnox on one point, on purpose: a row's VAT must be the rate of its account's VAT
code (0 on an account without one). Since 2023 Fortnox posts the VAT of a mismatched row by the
rate's own code and accepts it, which leaves revenue on an account whose VAT-report box is wrong;
the engine never sends such a row, so the sandbox makes one visible instead of booking it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class VatCode:
    code: str
    description: str
    percent: float


@dataclass(frozen=True)
class Account:
    number: int
    description: str
    vat_code: str | None = None
    active: bool = True


VAT_CODES: tuple[VatCode, ...] = (
    VatCode("MP1", "Utgående moms 25 %", 25.0),
    VatCode("MP2", "Utgående moms 12 %", 12.0),
    VatCode("MP3", "Utgående moms 6 %", 6.0),
    VatCode("MF", "Momsfri försäljning", 0.0),
    VatCode("35", "Försäljning av varor till annat EU-land", 0.0),
    VatCode("36", "Försäljning av varor utanför EU", 0.0),
    VatCode("OSSDK25", "OSS Danmark 25 %", 25.0),
    VatCode("OSSDE19", "OSS Tyskland 19 %", 19.0),
    VatCode("OSSDE7", "OSS Tyskland 7 %", 7.0),
    VatCode("OSSNL21", "OSS Nederländerna 21 %", 21.0),
    VatCode("OSSNL9", "OSS Nederländerna 9 %", 9.0),
    VatCode("OSSFI255", "OSS Finland 25,5 %", 25.5),
    VatCode("OSSFI14", "OSS Finland 14 %", 14.0),
    VatCode("OSSFI10", "OSS Finland 10 %", 10.0),
)

ACCOUNTS: tuple[Account, ...] = (
    Account(1510, "Kundfordringar"),
    Account(1580, "Fordringar för kontokort och kuponger (Stripe)"),
    Account(1581, "Fordran Klarna"),
    Account(1582, "Fordran PayPal"),
    Account(1583, "Fordran Shopify Payments"),
    Account(1930, "Företagskonto/checkkonto/affärskonto"),
    Account(2421, "Ej inlösta presentkort"),
    Account(2611, "Utgående moms på försäljning inom Sverige, 25 %"),
    Account(2621, "Utgående moms på försäljning inom Sverige, 12 %"),
    Account(2631, "Utgående moms på försäljning inom Sverige, 6 %"),
    Account(2670, "Utgående moms på försäljning inom EU, OSS"),
    Account(2890, "Övriga kortfristiga skulder"),
    Account(3001, "Försäljning inom Sverige, 25 % moms", "MP1"),
    Account(3002, "Försäljning inom Sverige, 12 % moms", "MP2"),
    Account(3003, "Försäljning inom Sverige, 6 % moms", "MP3"),
    Account(3004, "Försäljning inom Sverige, momsfri", "MF"),
    # Replaced by the per-country OSS accounts when the company registered for OSS.
    Account(3051, "Försäljning varor EU (OSS), ersatt", "MP1", active=False),
    Account(3105, "Försäljning varor till land utanför EU", "36"),
    Account(3106, "Försäljning varor till annat EU-land, momspliktig"),
    Account(3108, "Försäljning varor till annat EU-land, momsfri", "35"),
    Account(3161, "Försäljning OSS Danmark 25 %", "OSSDK25"),
    Account(3162, "Försäljning OSS Tyskland 19 %", "OSSDE19"),
    Account(3163, "Försäljning OSS Tyskland 7 %", "OSSDE7"),
    Account(3164, "Försäljning OSS Nederländerna 21 %", "OSSNL21"),
    Account(3165, "Försäljning OSS Nederländerna 9 %", "OSSNL9"),
    Account(3166, "Försäljning OSS Finland 25,5 %", "OSSFI255"),
    Account(3167, "Försäljning OSS Finland 14 %", "OSSFI14"),
    Account(3168, "Försäljning OSS Finland 10 %", "OSSFI10"),
    Account(3169, "Frakt OSS Tyskland 19 %", "OSSDE19"),
    Account(3171, "Krediterad försäljning OSS Tyskland 19 %", "OSSDE19"),
    Account(3172, "Krediterad försäljning OSS Tyskland 7 %", "OSSDE7"),
    Account(3520, "Fakturerade frakter", "MP1"),
    Account(3740, "Öres- och kronutjämning"),
    Account(3960, "Valutakursvinster på fordringar och skulder av rörelsekaraktär"),
    Account(3990, "Övriga ersättningar, bidrag och intäkter"),
    Account(6351, "Konstaterade förluster på kundfordringar"),
    Account(6570, "Bankkostnader"),
    Account(7960, "Valutakursförluster på fordringar och skulder av rörelsekaraktär"),
)


def vat_code_rows() -> list[dict[str, Any]]:
    return [{"Code": v.code, "Description": v.description, "VATPercent": v.percent} for v in VAT_CODES]


def account_rows() -> list[dict[str, Any]]:
    """The chart as /3/accounts lists it (one financial year, id 1)."""
    return [
        {
            "Number": a.number,
            "Description": a.description,
            "Active": a.active,
            "VATCode": a.vat_code or "",
            "Year": 1,
        }
        for a in ACCOUNTS
    ]


def vat_percents(codes: list[dict[str, Any]]) -> frozenset[float]:
    return frozenset(float(c["VATPercent"]) for c in codes)


class RowRefused(Exception):
    """Why Fortnox would refuse a row's account or VAT; `kind` says which code answers."""

    def __init__(self, kind: str, message: str) -> None:
        self.kind = kind
        self.message = message
        super().__init__(message)


def check_row(
    accounts: list[dict[str, Any]], codes: list[dict[str, Any]], account: Any, vat: float, vat_type: str
) -> int:
    """The row's account number once it exists, is active and fits the row's VAT and the
    customer's VAT type; RowRefused otherwise."""
    if account in (None, "", 0):
        raise RowRefused("account_missing", "Kunde inte hitta konto")
    try:
        number = int(str(account))
    except ValueError:
        raise RowRefused("account_missing", f"Kunde inte hitta konto {account}") from None
    entry = next((a for a in accounts if a["Number"] == number), None)
    if entry is None:
        raise RowRefused("account_missing", f"Kunde inte hitta konto {number}")
    if not entry["Active"]:
        raise RowRefused("account_inactive", f'Konto "{number}" är inte aktivt')
    code = next((c for c in codes if c["Code"] == entry["VATCode"]), None)
    expected = float(code["VATPercent"]) if code else 0.0
    if vat != expected:
        where = f"momskod {code['Code']} ({expected:g} %)" if code else "ingen momskod (0 %)"
        raise RowRefused("vat", f"Momssatsen {vat:g} % stämmer inte med konto {number}, som har {where}")
    if vat and vat_type in ("EXPORT", "EUREVERSEDVAT"):
        raise RowRefused("vat", f"Momssatsen {vat:g} % kan inte användas med momstyp {vat_type}")
    return number
