"""What a Shopify refund gives back, and the Fortnox credit invoice rows that credit exactly that.

Shopify (Admin REST, `refunds` of an order): `refund_line_items` name the line, the quantity and the
line's refunded `subtotal` (after its discounts; VAT included when the order's prices are) with
`total_tax`; `order_adjustments` carry what is refunded beside the lines, negative when money goes
back: `shipping_refund`, and `refund_discrepancy` for the difference between the lines and what was
actually paid back (positive when less went back than the lines are worth). `transactions` of kind
`refund` and status `success` are the money moved, in the buyer's currency. Every amount has its
`*_set` twins, read on the same side as the order's invoice (shop or presentment currency).

Fortnox: crediting an invoice (`PUT /invoices/{n}/credit`) makes a credit invoice that copies every
row with the quantity negated, and the freight. It is rewritten here to credit only the refund: the
refunded quantity of each line at the invoice's own price, with an amount discount that makes the
row total exactly Shopify's refunded subtotal; shipping as freight (or as the shipping row, when the
order sent shipping as a row); any discrepancy as a row of its own on the first row's account and VAT.
A row whose sale names a credit account of its own (an OSS country's) is credited on that account.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from engine.errors import EngineError
from engine.mapping.amounts import CENT, TOLERANCE, MoneySide, fortnox_total

ADJUSTMENT_TEXT = "Refund adjustment"


@dataclass(frozen=True)
class RefundLine:
    index: int  # position of the refunded line among the order's line_items (= the invoice's rows)
    quantity: Decimal
    amount: Decimal  # the row's credited total as the invoice states amounts (VAT as the order has it)


@dataclass(frozen=True)
class RefundAmounts:
    currency: str
    lines: list[RefundLine]
    shipping: Decimal  # credited shipping, VAT as the order has it
    adjustment: Decimal  # credited beside lines and shipping; negative when less went back
    total: Decimal  # what the credit invoice must total (as a positive amount)
    paid_back: Decimal | None  # the refund transactions, in the buyer's currency (None without any)


def _bad(what: str) -> EngineError:
    return EngineError("MALFORMED_RECORD", f"the Shopify refund is malformed: {what}")


def _amount(transaction: dict[str, Any]) -> Decimal:
    try:
        return Decimal(str(transaction.get("amount") or 0))
    except ArithmeticError:
        raise _bad(f"transaction amount {transaction.get('amount')!r}") from None


def refund_amounts(
    order: dict[str, Any], refund: dict[str, Any], use_presentment_currency: bool
) -> RefundAmounts:
    """The refund's money in the currency the order's invoice was sent in."""
    shop_currency = str(order.get("currency") or "SEK")
    buyer_currency = str(order.get("presentment_currency") or shop_currency)
    presentment = use_presentment_currency and buyer_currency != shop_currency
    taxes_included = bool(order.get("taxes_included"))
    position = {line.get("id"): i for i, line in enumerate(order.get("line_items") or [])}

    def components(side: MoneySide) -> tuple[list[RefundLine], Decimal, Decimal, Decimal]:
        lines, shipping, adjustment, tax = [], Decimal(0), Decimal(0), Decimal(0)
        for item in refund.get("refund_line_items") or []:
            if not isinstance(item, dict) or item.get("line_item_id") not in position:
                raise _bad(f"a refund line names no line of the order ({item!r:.80})")
            amount = side.amount(item, "subtotal")
            tax += side.amount(item, "total_tax")
            lines.append(
                RefundLine(position[item["line_item_id"]], Decimal(str(item.get("quantity") or 0)), amount)
            )
        for adj in refund.get("order_adjustments") or []:
            if not isinstance(adj, dict):
                raise _bad("an order adjustment is not an object")
            back = -side.amount(adj, "amount")
            tax += -side.amount(adj, "tax_amount")
            if adj.get("kind") == "shipping_refund":
                shipping += back
            else:
                adjustment += back
        return lines, shipping, adjustment, tax

    def total(parts: tuple[list[RefundLine], Decimal, Decimal, Decimal]) -> Decimal:
        lines, shipping, adjustment, tax = parts
        sum_lines = sum((line.amount for line in lines), Decimal(0))
        return sum_lines + shipping + adjustment + (Decimal(0) if taxes_included else tax)

    parts = components(MoneySide(order, presentment))
    moved = [
        t
        for t in refund.get("transactions") or []
        if isinstance(t, dict) and t.get("kind") == "refund" and t.get("status") == "success"
    ]
    paid_back = None
    if moved:
        buyer = MoneySide(order, True)
        # A transaction has no *_set twins: its amount is in its own `currency`, the buyer's.
        if any(str(t.get("currency") or buyer_currency) != buyer_currency for t in moved):
            raise _bad(f"a refund transaction is not in the buyer's currency {buyer_currency}")
        paid_back = sum((_amount(t) for t in moved), Decimal(0))
        # What the lines and adjustments are worth must be what went back to the buyer; Shopify
        # balances the two with a refund_discrepancy, so a difference is a refund this can't credit.
        worth = total(components(buyer))
        if abs(worth - paid_back) >= TOLERANCE:
            raise EngineError(
                "REFUND_AMOUNT_MISMATCH",
                f"the refund's lines and adjustments add up to {worth:.2f} {buyer_currency} but "
                f"{paid_back:.2f} {buyer_currency} was paid back",
            )
    return RefundAmounts(
        currency=buyer_currency if presentment else shop_currency,
        lines=parts[0],
        shipping=parts[1],
        adjustment=parts[2],
        total=total(parts),
        paid_back=paid_back,
    )


def credit_rows(
    credit: dict[str, Any],
    amounts: RefundAmounts,
    line_count: int,
    credit_account: Callable[[dict[str, Any]], str | None] = lambda row: None,
) -> tuple[list[dict[str, Any]], Decimal]:
    """The rows and freight that make the Fortnox credit invoice `credit` (a full copy of the
    original, quantities negated) credit just `amounts`. Rows keep their RowId; rows not sent are
    deleted by Fortnox. `credit_account` names the account a copied row is credited on instead of
    its own (None: its own)."""
    rows, freight = _credit_rows(credit, amounts, line_count)
    copied = {r.get("RowId"): r for r in credit.get("InvoiceRows") or []}
    for row in rows:
        account = credit_account(copied.get(row.get("RowId")) or row)
        if account is not None:
            row["AccountNumber"] = account
    return rows, freight


def _credit_rows(
    credit: dict[str, Any], amounts: RefundAmounts, line_count: int
) -> tuple[list[dict[str, Any]], Decimal]:
    copied = credit.get("InvoiceRows") or []
    if len(copied) < line_count:
        raise EngineError(
            "REFUND_AMOUNT_MISMATCH",
            f"credit invoice {credit.get('DocumentNumber')} has {len(copied)} rows, the order "
            f"{line_count} lines: the invoice was changed in Fortnox",
        )
    rows: list[dict[str, Any]] = []
    adjustment = amounts.adjustment
    for line in amounts.lines:
        if line.quantity <= 0 or line.amount == 0:
            continue
        row = copied[line.index]
        price = Decimal(str(row.get("Price") or 0))
        discount = line.quantity * price - line.amount
        if discount < 0:
            # More back than quantity × the invoice's price: each amount of a foreign buyer is
            # converted to kronor on its own, so a line's refund can exceed it by an öre or so.
            if -discount > line.quantity * CENT:
                raise EngineError(
                    "REFUND_AMOUNT_MISMATCH",
                    f"the refund gives back {line.amount:.2f} {amounts.currency} for {line.quantity} × "
                    f"{row.get('Description')!r}, more than the invoice's {line.quantity * price:.2f}",
                )
            adjustment -= discount
            discount = Decimal(0)
        rows.append(
            {
                "RowId": row["RowId"],
                "DeliveredQuantity": float(-line.quantity),
                "Price": float(price),
                "Discount": float(discount),
                "DiscountType": "AMOUNT",
            }
        )
    freight = Decimal(0)
    if amounts.shipping:
        if Decimal(str(credit.get("Freight") or 0)) != 0:
            freight = -amounts.shipping
        elif len(copied) > line_count:  # shipping went as a row of its own
            rows.append(
                {
                    "RowId": copied[line_count]["RowId"],
                    "DeliveredQuantity": -1.0,
                    "Price": float(amounts.shipping),
                    "Discount": 0.0,
                    "DiscountType": "AMOUNT",
                }
            )
        else:
            raise EngineError(
                "REFUND_AMOUNT_MISMATCH",
                f"the refund gives back {amounts.shipping:.2f} {amounts.currency} of shipping but the "
                "invoice charged none",
            )
    if adjustment:
        first = copied[0] if copied else None
        if first is None:
            raise EngineError("REFUND_AMOUNT_MISMATCH", "the invoice has no row to credit an adjustment on")
        rows.append(
            {
                "ArticleNumber": "",
                "Description": ADJUSTMENT_TEXT,
                "AccountNumber": first.get("AccountNumber"),
                "VAT": first.get("VAT"),
                "DeliveredQuantity": -1.0 if adjustment > 0 else 1.0,
                "Price": float(abs(adjustment)),
                "Discount": 0.0,
                "DiscountType": "AMOUNT",
            }
        )
    return rows, freight


def check_credit_total(amounts: RefundAmounts, total: Any, document: str) -> None:
    """Raise REFUND_AMOUNT_MISMATCH unless the credit invoice `total` (negative) credits the refund."""
    got = Decimal(str(total if total not in (None, "") else 0))
    if abs(got + amounts.total) < TOLERANCE:
        return
    raise EngineError(
        "REFUND_AMOUNT_MISMATCH",
        f"{document} {got:.2f} {amounts.currency} but the refund gave back {amounts.total:.2f} "
        f"{amounts.currency} (difference {got + amounts.total:+.2f})",
    )


def predicted_total(
    rows: list[dict[str, Any]], kept: list[dict[str, Any]], freight: Decimal, vat_included: bool
) -> Decimal:
    """The Total Fortnox will compute for the rewritten credit invoice: sent rows merged over the
    copied rows they name."""
    by_id = {r.get("RowId"): r for r in kept}
    merged = [{**by_id.get(r.get("RowId"), {}), **r} if r.get("RowId") else r for r in rows]
    return fortnox_total(merged, freight, vat_included)
