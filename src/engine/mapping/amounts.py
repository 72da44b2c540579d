"""The money of a Shopify order as a Fortnox document takes it: row prices and discounts, freight,
currency and rate, and the total the document must reach to the öre.

Shopify (Admin REST): top-level amounts are in the shop currency; what the buyer paid is in the
`*_set.presentment_money` twins. Discount codes, automatic and order-level discounts reach the lines
through `discount_allocations` (`total_discount` is then "0.00"); shipping discounts are allocated to
the shipping lines. Since API 2024-07 `discounted_price` has cart-level shipping discounts subtracted,
before it had not: the freight is the lower of `discounted_price` and price less its allocations, which
is right under both.

Fortnox: with VATIncluded a row totals Price × DeliveredQuantity less its Discount (DiscountType
AMOUNT: the amount off the whole row) and the document totals its rows plus Freight; a document in
another currency than SEK carries CurrencyRate SEK per CurrencyUnit units.

Totals are checked twice. Before sending, the document Fortnox would compute is predicted from the
payload and compared with what the buyer paid: a mismatch (a fee or duty Shopify charged that has no
place on the document, allocations that don't add up) ends the record in FORTNOX_TOTAL_MISMATCH and
nothing is created. After Fortnox created or updated the order, its own Total is compared again
before any invoice is made, which catches what only the company knows (öresutjämning to whole
kronor): the order then stays in Fortnox uninvoiced and referenced, the record ends in
FORTNOX_TOTAL_MISMATCH, and a Retry after the cause is fixed updates that same order and invoices it.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from engine.errors import EngineError

CENT = Decimal("0.01")
TOLERANCE = Decimal("0.005")
# Fortnox's currency register keeps rates with four decimals.
RATE_STEP = Decimal("0.0001")


@dataclass(frozen=True)
class RowAmounts:
    price: Decimal  # per unit, in the document's currency, VAT as the order states it
    quantity: Decimal
    discount: Decimal  # off the whole row


@dataclass(frozen=True)
class OrderAmounts:
    currency: str
    rate: Decimal | None  # SEK per unit of `currency`, when the order itself says what it was
    rows: list[RowAmounts]
    freight: Decimal
    paid: Decimal  # what the buyer paid, in `currency`


def _dec(value: Any, what: str) -> Decimal:
    try:
        number = Decimal(str(value if value not in (None, "") else 0))
    except InvalidOperation:
        raise EngineError("MALFORMED_RECORD", f"the Shopify order is malformed: {what} {value!r}") from None
    if not number.is_finite():
        raise EngineError("MALFORMED_RECORD", f"the Shopify order is malformed: {what} {value!r}")
    return number


class MoneySide:
    """Reads amounts on one side of the `*_set` twins: the shop's money or the buyer's."""

    def __init__(self, order: dict[str, Any], presentment: bool) -> None:
        self.key = "presentment_money" if presentment else "shop_money"
        # Without twins the top-level amounts are the only ones; they are the buyer's too only when
        # the buyer paid in the shop currency.
        self.top_level_ok = not presentment or order.get("presentment_currency") in (
            None,
            order.get("currency"),
        )

    def amount(self, holder: dict[str, Any], key: str) -> Decimal:
        twin = holder.get(f"{key}_set")
        if isinstance(twin, dict) and isinstance(twin.get(self.key), dict):
            return _dec(twin[self.key].get("amount"), key)
        if not self.top_level_ok:
            raise EngineError(
                "MALFORMED_RECORD",
                f"the Shopify order has no {key}_set with the buyer's amount; "
                "it can't be sent in the presentment currency",
            )
        return _dec(holder.get(key), key)

    def allocated(self, holder: dict[str, Any]) -> Decimal | None:
        allocations = holder.get("discount_allocations") or []
        if not allocations:
            return None
        return sum((self.amount(a, "amount") for a in allocations), Decimal(0))


def order_amounts(order: dict[str, Any], use_presentment_currency: bool) -> OrderAmounts:
    """The amounts of `order` in the currency the document is sent in: the shop currency, or with
    "Use presentment currency" the buyer's, with the rate the order was converted at."""
    shop_currency = str(order.get("currency") or "SEK")
    buyer_currency = str(order.get("presentment_currency") or shop_currency)
    presentment = use_presentment_currency and buyer_currency != shop_currency
    side = MoneySide(order, presentment)
    rows = []
    for line in order.get("line_items") or []:
        allocated = side.allocated(line)
        # Allocations are Shopify's full account of a line's discounts; `total_discount` stands alone
        # only on orders that carry no allocations.
        discount = allocated if allocated is not None else side.amount(line, "total_discount")
        rows.append(RowAmounts(side.amount(line, "price"), _dec(line.get("quantity"), "quantity"), discount))
    freight = Decimal(0)
    for shipping in order.get("shipping_lines") or []:
        price = side.amount(shipping, "price")
        after_allocations = price - (side.allocated(shipping) or Decimal(0))
        discounted = side.amount(shipping, "discounted_price") if "discounted_price" in shipping else price
        freight += min(discounted, after_allocations)
    paid = side.amount(order, "total_price")
    rate = None
    if presentment:
        shop_total = MoneySide(order, False).amount(order, "total_price")
        if paid <= 0:
            raise EngineError(
                "FORTNOX_TOTAL_MISMATCH",
                f"the order totals {paid} {buyer_currency}: no exchange rate can be derived from it",
            )
        rate = (shop_total / paid).quantize(RATE_STEP, rounding=ROUND_HALF_UP)
    return OrderAmounts(
        currency=buyer_currency if presentment else shop_currency,
        rate=rate,
        rows=rows,
        freight=freight,
        paid=paid,
    )


def fortnox_total(rows: list[dict[str, Any]], freight: Decimal, vat_included: bool) -> Decimal:
    """The Total Fortnox computes for document rows (Price, DeliveredQuantity, Discount,
    DiscountType, VAT) and freight, before any öresutjämning."""
    totals = []
    for row in rows:
        gross = Decimal(str(row["Price"])) * Decimal(str(row["DeliveredQuantity"]))
        discount = Decimal(str(row.get("Discount") or 0))
        if row.get("DiscountType") == "PERCENT":
            off = gross * discount / 100
        else:  # an amount off a credited row (negative quantity) turns with the row
            off = discount if gross >= 0 else -discount
        totals.append((gross - off).quantize(CENT, rounding=ROUND_HALF_UP))
    if vat_included:
        return sum(totals, Decimal(0)) + freight
    rates = [Decimal(str(r.get("VAT") or 0)) for r in rows]
    vat = sum((t * rate / 100 for t, rate in zip(totals, rates, strict=True)), Decimal(0))
    vat += freight * max(rates, default=Decimal(25)) / 100
    return sum(totals, Decimal(0)) + freight + vat.quantize(CENT, rounding=ROUND_HALF_UP)


def check_total(amounts: OrderAmounts, total: Any, document: str) -> None:
    """Raise FORTNOX_TOTAL_MISMATCH when `total` of the Fortnox `document` (predicted or read back)
    is not what the buyer paid, to the öre."""
    got = Decimal(str(total if total not in (None, "") else 0))
    if abs(got - amounts.paid) < TOLERANCE:
        return
    raise EngineError(
        "FORTNOX_TOTAL_MISMATCH",
        f"{document} {got:.2f} {amounts.currency} but the buyer paid {amounts.paid:.2f} {amounts.currency} "
        f"in Shopify (difference {got - amounts.paid:+.2f})",
    )
