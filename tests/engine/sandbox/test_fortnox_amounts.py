"""The sandbox Fortnox totals documents like the host: row discounts, freight, currency, öresutjämning."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from engine.platforms.fortnox_codes import CODE_BY_NAME

from .test_fortnox import code_of, make_customer


def post_order(
    fortnox: httpx.Client, customer: str, rows: list[dict[str, Any]], **fields: Any
) -> httpx.Response:
    body = {"CustomerNumber": customer, "VATIncluded": True, "OrderRows": rows, **fields}
    return fortnox.post("orders", json={"Order": body})


def row(price: float, quantity: int, **fields: Any) -> dict[str, Any]:
    return {"ArticleNumber": "TEE-ORG-BLK-M", "OrderedQuantity": quantity, "DeliveredQuantity": quantity,
            "Price": price, "VAT": 25, **fields}  # fmt: skip


@pytest.fixture
def customer(fortnox: httpx.Client) -> str:
    return make_customer(fortnox)


@pytest.fixture
def whole_kronor(control: httpx.Client) -> Iterator[None]:
    assert control.post("fortnox/settings", json={"round_whole_kronor": True}).status_code == 200
    yield
    control.post("fortnox/settings", json={"round_whole_kronor": False})


def test_row_discounts_and_freight_make_the_total(fortnox: httpx.Client, customer: str) -> None:
    response = post_order(
        fortnox,
        customer,
        [
            row(299, 2, Discount=59.80, DiscountType="AMOUNT"),
            row(129, 3, Discount=10, DiscountType="PERCENT"),
        ],
        Freight=49,
    )
    assert response.status_code == 201, response.text
    order = response.json()["Order"]
    assert [r["Total"] for r in order["OrderRows"]] == [538.20, 348.30]
    assert order["Total"] == 935.50  # 538.20 + 348.30 + freight 49
    assert order["RoundOff"] == 0 and order["CurrencyRate"] == 1 and order["CurrencyUnit"] == 1
    invoice = fortnox.put(f"orders/{order['DocumentNumber']}/createinvoice").json()["Invoice"]
    assert invoice["Total"] == order["Total"]


def test_row_totals_follow_the_delivered_quantity(fortnox: httpx.Client, customer: str) -> None:
    rows = [{"ArticleNumber": "TEE-ORG-BLK-M", "OrderedQuantity": 3, "DeliveredQuantity": 1, "Price": 100}]
    order = post_order(fortnox, customer, rows).json()["Order"]
    assert order["Total"] == 100


@pytest.mark.parametrize(
    "discount",
    [
        {"Discount": 101, "DiscountType": "PERCENT"},
        {"Discount": 600, "DiscountType": "AMOUNT"},
        {"Discount": -1},
    ],
)
def test_impossible_discounts_are_refused(fortnox: httpx.Client, customer: str, discount: dict) -> None:
    response = post_order(fortnox, customer, [row(299, 2, **discount)])
    assert response.status_code == 400
    assert code_of(response) == CODE_BY_NAME["VALIDATION_FAILED"]
    assert "Ogiltig rabatt" in response.json()["ErrorInformation"]["message"]


def test_foreign_currency_takes_the_rate_sent_or_the_register(fortnox: httpx.Client, customer: str) -> None:
    sent = post_order(fortnox, customer, [row(26, 1)], Currency="EUR", CurrencyRate=11.4217, CurrencyUnit=1)
    assert sent.status_code == 201, sent.text
    assert sent.json()["Order"]["CurrencyRate"] == 11.4217 and sent.json()["Order"]["Total"] == 26
    listed = post_order(fortnox, customer, [row(26, 1)], Currency="EUR").json()["Order"]
    assert listed["CurrencyRate"] == 11.5
    sek = post_order(fortnox, customer, [row(26, 1)], Currency="SEK", CurrencyRate=11).json()["Order"]
    assert sek["CurrencyRate"] == 1
    bad = post_order(fortnox, customer, [row(26, 1)], Currency="EUR", CurrencyRate=-2)
    assert bad.status_code == 400


def test_oresutjamning_rounds_sek_documents_only(
    fortnox: httpx.Client, customer: str, whole_kronor: None
) -> None:
    sek = post_order(fortnox, customer, [row(199.60, 1)]).json()["Order"]
    assert sek["Total"] == 200 and sek["RoundOff"] == 0.40
    eur = post_order(fortnox, customer, [row(19.60, 1)], Currency="EUR").json()["Order"]
    assert eur["Total"] == 19.60 and eur["RoundOff"] == 0
