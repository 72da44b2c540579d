"""The sandbox company's chart of accounts and VAT codes, and the rows Fortnox refuses against them."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from engine.platforms.fortnox import parse_error_information


def customer(fortnox: httpx.Client, **fields: Any) -> str:
    response = fortnox.post("customers", json={"Customer": {"Name": "Hafenlicht GmbH", **fields}})
    assert response.status_code == 201, response.text
    return response.json()["Customer"]["CustomerNumber"]


def post_row(fortnox: httpx.Client, number: str, **row: Any) -> httpx.Response:
    body = {"CustomerNumber": number, "OrderRows": [{"OrderedQuantity": 1, "Price": 100, **row}]}
    return fortnox.post("orders", json={"Order": body})


def refusal(response: httpx.Response) -> tuple[int, str, str]:
    info = response.json()["ErrorInformation"]
    return (
        response.status_code,
        parse_error_information(response.status_code, response.json()).code,
        info["message"],
    )


def test_accounts_list_the_chart_with_vat_codes_and_activity(fortnox) -> None:
    listed = fortnox.get("accounts", params={"limit": 500}).json()["Accounts"]
    by_number = {a["Number"]: a for a in listed}
    assert by_number[3001]["VATCode"] == "MP1" and by_number[3001]["Active"] is True
    assert by_number[2421]["Description"] == "Ej inlösta presentkort" and by_number[2421]["VATCode"] == ""
    assert by_number[3051]["Active"] is False
    assert {3105, 3106, 3108, 3161, 3740, 3990, 6570} <= set(by_number)


@pytest.mark.parametrize(
    ("row", "code", "message"),
    [
        (
            {"Description": "Presentinslagning", "VAT": 25},
            "FORTNOX_ACCOUNT_NOT_FOUND",
            "Kunde inte hitta konto",
        ),
        ({"AccountNumber": 3999, "VAT": 25}, "FORTNOX_ACCOUNT_NOT_FOUND", "Kunde inte hitta konto 3999"),
        ({"AccountNumber": 3051, "VAT": 25}, "FORTNOX_ACCOUNT_INACTIVE", 'Konto "3051" är inte aktivt'),
        # A German rate on the Swedish 25 % account: Fortnox would book it, the sandbox shows it.
        ({"AccountNumber": 3001, "VAT": 19}, "FORTNOX_VAT_INVALID", "konto 3001, som har momskod MP1"),
        # A rate no VAT code of the company carries (Austria's 20 %).
        ({"AccountNumber": 3001, "VAT": 20}, "FORTNOX_VAT_INVALID", ""),
        ({"AccountNumber": 2421, "VAT": 25}, "FORTNOX_VAT_INVALID", "ingen momskod"),
        ({"ArticleNumber": "TEE-ORG-BLK-M", "VAT": 12}, "FORTNOX_VAT_INVALID", "konto 3001"),
    ],
)
def test_rows_need_an_existing_active_account_that_fits_their_vat(
    fortnox, row: dict[str, Any], code: str, message: str
) -> None:
    status, engine_code, text = refusal(post_row(fortnox, customer(fortnox), **row))
    assert (status, engine_code) == (400, code)
    assert message in text


def test_rows_that_fit_are_booked_on_their_account(fortnox) -> None:
    number = customer(fortnox, VATType="EUVAT")
    oss = post_row(fortnox, number, ArticleNumber="TEE-ORG-BLK-M", AccountNumber=3162, VAT=19)
    assert oss.status_code == 201, oss.text
    assert oss.json()["Order"]["OrderRows"][0]["AccountNumber"] == 3162
    card = post_row(fortnox, number, Description="Presentkort", AccountNumber=2421, VAT=0)
    assert card.status_code == 201 and card.json()["Order"]["OrderRows"][0]["AccountNumber"] == 2421
    article = post_row(fortnox, number, ArticleNumber="COFFEE-BEAN-ETH-250G", VAT=12)
    assert article.json()["Order"]["OrderRows"][0]["AccountNumber"] == 3002


@pytest.mark.parametrize("vat_type", ["EXPORT", "EUREVERSEDVAT"])
def test_zero_rated_customers_take_no_vat(fortnox, vat_type: str) -> None:
    number = customer(fortnox, VATType=vat_type)
    taxed = post_row(fortnox, number, ArticleNumber="TEE-ORG-BLK-M", VAT=25)
    assert (
        taxed.status_code == 400
        and parse_error_information(taxed.status_code, taxed.json()).code == "FORTNOX_VAT_INVALID"
    )
    assert f"momstyp {vat_type}" in taxed.json()["ErrorInformation"]["message"]
    account = 3105 if vat_type == "EXPORT" else 3108
    untaxed = post_row(fortnox, number, ArticleNumber="TEE-ORG-BLK-M", AccountNumber=account, VAT=0)
    assert untaxed.status_code == 201, untaxed.text


def test_articles_take_only_the_company_vat_rates(fortnox) -> None:
    refused = fortnox.post("articles", json={"Article": {"ArticleNumber": "AT-20", "VAT": 20}})
    assert refused.status_code == 400
    assert parse_error_information(refused.status_code, refused.json()).code == "FORTNOX_VAT_INVALID"
