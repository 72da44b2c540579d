"""The money of a Shopify order as the Fortnox document takes it, checked on hand-written orders in
Shopify's REST shapes."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from engine.errors import EngineError
from engine.mapping.amounts import check_total, fortnox_total, order_amounts


def twin(shop: str, buyer: str | None = None, currency: str = "SEK") -> dict[str, Any]:
    return {
        "shop_money": {"amount": shop, "currency_code": "SEK"},
        "presentment_money": {"amount": buyer or shop, "currency_code": currency},
    }


def allocation(shop: str, buyer: str | None = None, currency: str = "SEK", index: int = 0) -> dict[str, Any]:
    return {"amount": shop, "amount_set": twin(shop, buyer, currency), "discount_application_index": index}


def line(
    price: str, quantity: int, *allocations: dict[str, Any], buyer: str | None = None, currency: str = "SEK"
):
    return {
        "sku": "SKU",
        "price": price,
        "price_set": twin(price, buyer, currency),
        "quantity": quantity,
        "total_discount": "0.00",
        "total_discount_set": twin("0.00", "0.00", currency),
        "discount_allocations": list(allocations),
    }


def shipping(price: str, discounted: str, *allocations: dict[str, Any]) -> dict[str, Any]:
    return {
        "price": price,
        "price_set": twin(price),
        "discounted_price": discounted,
        "discounted_price_set": twin(discounted),
        "discount_allocations": list(allocations),
    }


def sek_order(lines: list[dict], ships: list[dict], total: str) -> dict[str, Any]:
    return {
        "currency": "SEK",
        "presentment_currency": "SEK",
        "taxes_included": True,
        "line_items": lines,
        "shipping_lines": ships,
        "total_price": total,
        "total_price_set": twin(total),
    }


def rows_of(amounts) -> list[dict[str, Any]]:
    return [
        {
            "Price": r.price,
            "DeliveredQuantity": r.quantity,
            "Discount": r.discount,
            "DiscountType": "AMOUNT",
            "VAT": 25,
        }
        for r in amounts.rows
    ]


def test_a_code_allocated_to_the_lines_is_the_row_discount() -> None:
    order = sek_order(
        [line("299.00", 3, allocation("89.70")), line("159.00", 1, allocation("15.90"))],
        [shipping("49.00", "49.00")],
        "999.40",  # 897 - 89.70 + 159 - 15.90 + shipping 49
    )
    amounts = order_amounts(order, False)
    assert [(r.price, r.quantity, r.discount) for r in amounts.rows] == [
        (Decimal("299.00"), 3, Decimal("89.70")),
        (Decimal("159.00"), 1, Decimal("15.90")),
    ]
    assert amounts.currency == "SEK" and amounts.rate is None and amounts.freight == Decimal("49.00")
    check_total(amounts, fortnox_total(rows_of(amounts), amounts.freight, True), "would total")


def test_several_applications_on_one_line_add_up() -> None:
    order = sek_order(
        [line("899.00", 1, allocation("179.80", index=0), allocation("71.92", index=1))], [], "647.28"
    )
    assert order_amounts(order, False).rows[0].discount == Decimal("251.72")


def test_a_legacy_total_discount_counts_only_without_allocations() -> None:
    legacy = line("100.00", 2)
    legacy.update(total_discount="20.00", total_discount_set=twin("20.00"))
    duplicated = line("100.00", 2, allocation("20.00"))
    duplicated.update(total_discount="20.00", total_discount_set=twin("20.00"))
    order = sek_order([legacy, duplicated], [], "360.00")
    assert [r.discount for r in order_amounts(order, False).rows] == [Decimal("20.00"), Decimal("20.00")]


@pytest.mark.parametrize(
    "ship",
    [
        shipping(
            "59.00", "59.00", allocation("59.00")
        ),  # before API 2024-07: discounted_price kept the price
        shipping("59.00", "0.00", allocation("59.00")),  # since: the free shipping is subtracted already
        shipping("59.00", "0.00"),  # a line-level shipping discount with no allocation listed
    ],
)
def test_free_shipping_leaves_no_freight_under_either_api_version(ship: dict[str, Any]) -> None:
    order = sek_order([line("199.00", 1)], [ship], "199.00")
    amounts = order_amounts(order, False)
    assert amounts.freight == 0
    check_total(amounts, fortnox_total(rows_of(amounts), amounts.freight, True), "would total")


def _euro_order() -> dict[str, Any]:
    # Two hoodies at 77.90 EUR (895.85 SEK each), 15 % off, shipping 14.90 EUR; every amount converted
    # on its own at 11.50, so the SEK total is not the EUR total times the rate.
    return {
        "currency": "SEK",
        "presentment_currency": "EUR",
        "taxes_included": True,
        "line_items": [
            line("895.85", 2, allocation("268.76", "23.37", "EUR"), buyer="77.90", currency="EUR")
        ],
        "shipping_lines": [
            {
                "price": "171.35",
                "price_set": twin("171.35", "14.90", "EUR"),
                "discounted_price": "171.35",
                "discounted_price_set": twin("171.35", "14.90", "EUR"),
                "discount_allocations": [],
            }
        ],
        "total_price": "1694.29",
        "total_price_set": twin("1694.29", "147.33", "EUR"),
    }


def test_a_foreign_buyer_is_booked_in_shop_money_by_default() -> None:
    amounts = order_amounts(_euro_order(), False)
    assert amounts.currency == "SEK" and amounts.rate is None
    assert amounts.rows[0].price == Decimal("895.85") and amounts.rows[0].discount == Decimal("268.76")
    assert amounts.paid == Decimal("1694.29")
    check_total(amounts, fortnox_total(rows_of(amounts), amounts.freight, True), "would total")


def test_use_presentment_currency_takes_the_buyers_amounts_and_the_orders_rate() -> None:
    amounts = order_amounts(_euro_order(), True)
    assert amounts.currency == "EUR"
    assert amounts.rows[0].price == Decimal("77.90") and amounts.rows[0].discount == Decimal("23.37")
    assert amounts.freight == Decimal("14.90") and amounts.paid == Decimal("147.33")
    assert amounts.rate == Decimal("11.5000")  # 1694.29 / 147.33 = 11.49996…
    check_total(amounts, fortnox_total(rows_of(amounts), amounts.freight, True), "would total")


def test_presentment_currency_without_the_buyers_amounts_is_refused() -> None:
    order = _euro_order()
    del order["line_items"][0]["price_set"]
    with pytest.raises(EngineError) as caught:
        order_amounts(order, True)
    assert caught.value.code == "MALFORMED_RECORD" and "price_set" in caught.value.message
    assert order_amounts(order, False).rows[0].price == Decimal("895.85")


def test_a_total_that_differs_by_one_ore_is_a_mismatch_showing_both_totals() -> None:
    amounts = order_amounts(sek_order([line("199.00", 1)], [], "199.00"), False)
    check_total(amounts, 199.004, "Fortnox order 7 totals")
    with pytest.raises(EngineError) as caught:
        check_total(amounts, 199.01, "Fortnox order 7 totals")
    assert caught.value.code == "FORTNOX_TOTAL_MISMATCH"
    assert caught.value.message == (
        "Fortnox order 7 totals 199.01 SEK but the buyer paid 199.00 SEK in Shopify (difference +0.01)"
    )


def test_fortnox_arithmetic_without_vat_included() -> None:
    rows = [
        {"Price": 100, "DeliveredQuantity": 2, "Discount": 10, "DiscountType": "PERCENT", "VAT": 25},
        {"Price": 50, "DeliveredQuantity": 1, "Discount": 0, "DiscountType": "AMOUNT", "VAT": 12},
    ]
    # 180 + 50 + freight 20, VAT 45 + 6 + 5 on the freight at the highest rate.
    assert fortnox_total(rows, Decimal(20), False) == Decimal("306.00")
    assert fortnox_total(rows, Decimal(20), True) == Decimal("250.00")
