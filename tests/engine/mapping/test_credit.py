"""A refund's money and the credit invoice rows that credit exactly it."""

from __future__ import annotations

from decimal import Decimal

import pytest

from engine.errors import EngineError
from engine.mapping.credit import credit_rows, predicted_total, refund_amounts


def _set(amount: str, cur: str = "SEK", shop: str | None = None) -> dict:
    return {
        "shop_money": {"amount": shop or amount, "currency_code": "SEK"},
        "presentment_money": {"amount": amount, "currency_code": cur},
    }


ORDER = {
    "currency": "SEK",
    "presentment_currency": "SEK",
    "taxes_included": True,
    "line_items": [{"id": 1, "quantity": 2}, {"id": 2, "quantity": 1}],
}
# The credit Fortnox makes of the invoice: every row and the freight, quantities negated.
CREDIT = {
    "DocumentNumber": "7",
    "VATIncluded": True,
    "Freight": -49.0,
    "InvoiceRows": [
        {"RowId": 11, "Description": "Tee", "Price": 299.0, "DeliveredQuantity": -2, "Discount": 59.8,
         "DiscountType": "AMOUNT", "VAT": 25, "AccountNumber": 3001},
        {"RowId": 12, "Description": "Coffee", "Price": 159.0, "DeliveredQuantity": -1, "Discount": 0,
         "DiscountType": "AMOUNT", "VAT": 12, "AccountNumber": 3002},
    ],
}  # fmt: skip


def _refund(lines: list[tuple[int, int, str, str]], adjustments: list[dict], paid: str) -> dict:
    return {
        "id": 9,
        "refund_line_items": [
            {"line_item_id": lid, "quantity": q, "subtotal": float(sub), "subtotal_set": _set(sub),
             "total_tax": float(tax), "total_tax_set": _set(tax)}
            for lid, q, sub, tax in lines
        ],
        "order_adjustments": adjustments,
        "transactions": [{"kind": "refund", "status": "success", "amount": paid, "currency": "SEK"}],
    }  # fmt: skip


def _adj(amount: str, tax: str, kind: str) -> dict:
    return {
        "amount": amount,
        "amount_set": _set(amount),
        "tax_amount": tax,
        "tax_amount_set": _set(tax),
        "kind": kind,
    }


def test_one_discounted_unit_is_credited_at_its_discounted_amount() -> None:
    amounts = refund_amounts(ORDER, _refund([(1, 1, "269.10", "53.82")], [], "269.10"), False)
    rows, freight = credit_rows(CREDIT, amounts, 2)
    assert rows == [
        {"RowId": 11, "DeliveredQuantity": -1.0, "Price": 299.0, "Discount": 29.9, "DiscountType": "AMOUNT"}
    ]
    assert freight == 0  # the coffee row is not sent, so Fortnox deletes it; no freight back
    assert predicted_total(rows, CREDIT["InvoiceRows"], freight, True) == Decimal("-269.10")


def test_shipping_back_goes_as_freight_and_a_kept_fee_as_a_row_of_its_own() -> None:
    refund = _refund(
        [(2, 1, "159.00", "17.04")],
        [_adj("-49.00", "-9.80", "shipping_refund"), _adj("20.00", "0.00", "refund_discrepancy")],
        "188.00",
    )
    amounts = refund_amounts(ORDER, refund, False)
    assert (amounts.shipping, amounts.adjustment, amounts.total) == (Decimal(49), Decimal(-20), Decimal(188))
    rows, freight = credit_rows(CREDIT, amounts, 2)
    assert freight == Decimal(-49)
    fee = rows[-1]
    assert (fee["Description"], fee["DeliveredQuantity"], fee["Price"], fee["AccountNumber"], fee["VAT"]) == (
        "Refund adjustment", 1.0, 20.0, 3001, 25
    )  # fmt: skip
    assert predicted_total(rows, CREDIT["InvoiceRows"], freight, True) == Decimal("-188.00")


def test_shipping_sent_as_a_row_is_credited_on_that_row() -> None:
    as_row = {**CREDIT, "Freight": 0.0, "InvoiceRows": [*CREDIT["InvoiceRows"], {"RowId": 13, "Price": 49.0}]}
    amounts = refund_amounts(ORDER, _refund([], [_adj("-49.00", "-9.80", "shipping_refund")], "49.00"), False)
    rows, freight = credit_rows(as_row, amounts, 2)
    assert freight == 0 and rows == [
        {"RowId": 13, "DeliveredQuantity": -1.0, "Price": 49.0, "Discount": 0.0, "DiscountType": "AMOUNT"}
    ]


def test_taxes_on_top_are_added_to_what_is_credited() -> None:
    order = {**ORDER, "taxes_included": False}
    amounts = refund_amounts(order, _refund([(2, 1, "159.00", "19.08")], [], "178.08"), False)
    assert amounts.total == Decimal("178.08")


def test_lines_that_do_not_add_up_to_the_money_given_back_are_refused() -> None:
    with pytest.raises(EngineError) as refused:
        refund_amounts(ORDER, _refund([(1, 1, "299.00", "59.80")], [], "250.00"), False)
    assert (
        refused.value.code == "REFUND_AMOUNT_MISMATCH" and "250.00 SEK was paid back" in refused.value.message
    )


def test_a_refund_of_a_line_the_order_does_not_have_is_malformed() -> None:
    with pytest.raises(EngineError) as refused:
        refund_amounts(ORDER, _refund([(99, 1, "10.00", "2.00")], [], "10.00"), False)
    assert refused.value.code == "MALFORMED_RECORD"


def test_a_euro_buyers_refund_is_credited_in_the_currency_the_invoice_went_in() -> None:
    order = {**ORDER, "presentment_currency": "EUR"}
    refund = _refund([(2, 1, "159.00", "17.04")], [], "14.00")
    item = refund["refund_line_items"][0]
    item["subtotal_set"], item["total_tax_set"] = _set("14.00", "EUR", "159.00"), _set("1.50", "EUR", "17.04")
    refund["transactions"][0]["currency"] = "EUR"
    assert refund_amounts(order, refund, True).total == Decimal("14.00")
    in_kronor = refund_amounts(order, refund, False)
    assert (in_kronor.currency, in_kronor.total) == ("SEK", Decimal("159.00"))


def test_rows_of_a_sale_with_a_credit_account_are_credited_on_it() -> None:
    refund = _refund([(1, 1, "239.20", "47.84"), (2, 1, "159.00", "17.04")], [], "398.20")
    amounts = refund_amounts(ORDER, refund, False)
    rows, _ = credit_rows(CREDIT, amounts, 2, lambda row: "3171" if row["AccountNumber"] == 3001 else None)
    assert [r.get("AccountNumber") for r in rows] == ["3171", None]
