"""How Fortnox totals an order or invoice, so a mapping that sends the wrong amounts shows a wrong total.

What the imitation follows:
- A row totals Price × DeliveredQuantity, also on orders (the row sum is read-only and computed from
  the delivered quantity: softwerkab/fortnox-csharp-api-sdk issue #92), less its Discount: with
  DiscountType AMOUNT the amount off the whole row, with PERCENT a percentage of it. A percentage over
  100 is refused with "Ogiltig rabatt. Får inte överstiga 100 %" (accodeing/fortnox-api issue #10);
  an amount larger than the row is refused likewise (the host's exact answer is unknown: refused here,
  as the stricter choice). On a credited row (negative quantity) the discount turns with the row.
- With VATIncluded the prices, row totals and Freight include VAT and the document's Total is their
  sum; without it, VAT is added on top. Freight is taxed at the highest rate on the document.
- Currency: amounts are in the document's currency. A SEK document has CurrencyRate 1 and
  CurrencyUnit 1 whatever is sent; another currency takes the CurrencyRate sent (SEK per CurrencyUnit
  units), else the rate of the currency register.
- Öresutjämning: a company can have Fortnox round documents to whole kronor (a setting under
  Inställningar → Offer/Order; webshop integrations then see totals differ from the shop's by up to
  50 öre, per Wetail's Fortnox integration notes). The difference is in RoundOff and the Total is
  rounded; only SEK documents are rounded.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

CENT = Decimal("0.01")


def _dec(value: Any) -> Decimal:
    return Decimal(str(value or 0))


def _round(value: Decimal, step: Decimal = CENT) -> Decimal:
    return value.quantize(step, rounding=ROUND_HALF_UP)


def row_total(row: dict[str, Any]) -> Decimal:
    """The row's amount after its discount, as Fortnox computes the read-only row Total; raises
    ValueError with Fortnox's message for a discount it refuses."""
    gross = _dec(row["Price"]) * _dec(row["DeliveredQuantity"])
    discount = _dec(row.get("Discount"))
    if discount < 0:
        raise ValueError("Ogiltig rabatt. Rabatten får inte vara negativ")
    if row.get("DiscountType") == "PERCENT":
        if discount > 100:
            raise ValueError("Ogiltig rabatt. Får inte överstiga 100 %")
        off = gross * discount / 100
    else:
        if discount > abs(gross):
            raise ValueError(f"Ogiltig rabatt. Rabatten {discount} är större än radens belopp {gross}")
        # A credited row (negative quantity) gives its discount back in the same proportion.
        off = discount if gross >= 0 else -discount
    return _round(gross - off)


def compute_totals(doc: dict[str, Any], rows_key: str, round_whole_kronor: bool) -> None:
    """Fill the document's read-only amounts (row Total, Freight VAT, Net, TotalVAT, RoundOff, Total)."""
    included = bool(doc.get("VATIncluded"))
    lines = Decimal(0)
    vat = Decimal(0)
    for row in doc[rows_key]:
        total = row_total(row)
        row["Total"] = float(total)
        rate = _dec(row["VAT"])
        vat += total * rate / (100 + rate) if included else total * rate / 100
        lines += total
    freight = _dec(doc.get("Freight"))
    freight_rate = max((_dec(r["VAT"]) for r in doc[rows_key]), default=Decimal(25))
    freight_vat = freight * freight_rate / (100 + freight_rate) if included else freight * freight_rate / 100
    vat += freight_vat
    exact = lines + freight if included else lines + freight + _round(vat)
    total = _round(exact)
    if round_whole_kronor and doc.get("Currency") == "SEK":
        total = _round(exact, Decimal(1))
    doc["Freight"] = float(freight)
    doc["FreightVAT"] = float(_round(freight_vat))
    doc["TotalVAT"] = float(_round(vat))
    doc["Net"] = float(_round(lines + freight - vat) if included else _round(lines + freight))
    doc["Gross"] = float(_round(lines))
    doc["RoundOff"] = float(_round(total - exact))
    doc["Total"] = float(total)


def currency_terms(doc: dict[str, Any], register: list[dict[str, Any]]) -> None:
    """CurrencyRate and CurrencyUnit of the document, from what was sent or the currency register."""
    if doc["Currency"] == "SEK":
        doc["CurrencyRate"], doc["CurrencyUnit"] = 1.0, 1.0
        return
    listed = next(c for c in register if c["Code"] == doc["Currency"])
    rate = _dec(doc.get("CurrencyRate") or listed["SellRate"])
    unit = _dec(doc.get("CurrencyUnit") or listed["Unit"])
    if rate <= 0 or unit <= 0:
        raise ValueError("Ogiltig valutakurs")
    doc["CurrencyRate"], doc["CurrencyUnit"] = float(rate), float(unit)
