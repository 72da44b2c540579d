from __future__ import annotations

import pytest

from engine.errors import EngineError, hint
from engine.mapping.countries import fortnox_country, fortnox_country_code
from engine.mapping.customers import customer_email, customer_name
from engine.mapping.row_ids import carry_row_ids
from engine.mapping.settings import CustomerSettings


@pytest.mark.parametrize(
    ("code", "shopify_name", "fortnox_name"),
    [
        ("SE", "Sweden", "Sverige"),
        ("DE", "Germany", "Germany"),
        ("NO", "Norway", "Norway"),
        ("US", "United States", "United States"),
        ("CZ", "Czechia", "Czech Republic"),
        ("GB", "United Kingdom", "United Kingdom"),
        ("se", "Sweden", "Sverige"),
    ],
)
def test_country_from_the_code_not_shopifys_name(code: str, shopify_name: str, fortnox_name: str) -> None:
    assert fortnox_country({"country": shopify_name, "country_code": code}, "billing") == fortnox_name


def test_no_country_code_sends_no_country() -> None:
    assert fortnox_country(None, "billing") is None
    assert fortnox_country({"country": "Sweden", "country_code": None}, "shipping") is None


def test_code_without_fortnox_name_is_refused_not_guessed() -> None:
    with pytest.raises(EngineError) as info:
        fortnox_country({"country": "Bhutan", "country_code": "BT"}, "shipping")
    assert info.value.code == "COUNTRY_NOT_MAPPED"
    assert "'BT'" in info.value.message and "Bhutan" in info.value.message
    assert hint("COUNTRY_NOT_MAPPED")


def test_customer_country_code_falls_back_to_the_setting() -> None:
    assert fortnox_country_code({"country_code": "no"}, "SE") == "NO"
    assert fortnox_country_code(None, "SE") == "SE"
    with pytest.raises(EngineError) as info:
        fortnox_country_code(None, "XX")
    assert info.value.code == "COUNTRY_NOT_MAPPED"


WITHHELD = {"id": 1, "email": None, "contact_email": None, "customer": {"id": 42, "currency": "SEK"}}


def test_buyer_name_from_billing_company_or_customer() -> None:
    conf = CustomerSettings(default_name="Webbkund")
    assert (
        customer_name({"billing_address": {"first_name": "Karin", "last_name": "Berg"}}, conf) == "Karin Berg"
    )
    assert customer_name({"billing_address": {"name": "", "company": "Acme AB"}}, conf) == "Acme AB"
    assert customer_name({"customer": {"first_name": "Ola", "last_name": None}}, conf) == "Ola"


def test_withheld_buyer_takes_the_defaults() -> None:
    conf = CustomerSettings(default_name="Webbkund", default_email="kund@example.se")
    assert customer_name(WITHHELD, conf) == "Webbkund"
    assert customer_email(WITHHELD, conf) == "kund@example.se"
    nulled = {**WITHHELD, "customer": {"id": 42, "first_name": None, "last_name": None, "email": None}}
    assert customer_name(nulled, conf) == "Webbkund"
    assert customer_email({"email": "real@example.se"}, conf) == "real@example.se"
    assert customer_email(WITHHELD, CustomerSettings()) is None


def test_withheld_buyer_without_default_name_is_a_coded_error() -> None:
    with pytest.raises(EngineError) as info:
        customer_name(WITHHELD, CustomerSettings(default_name="  "))
    assert info.value.code == "FORTNOX_CUSTOMER_NAME_EMPTY"
    assert "Customer Settings" in hint("FORTNOX_CUSTOMER_NAME_EMPTY")


def test_rows_take_the_row_ids_of_the_rows_they_replace() -> None:
    stored = [
        {"RowId": 11, "ArticleNumber": "TEE", "Description": "Tee"},
        {"RowId": 12, "ArticleNumber": "MUG", "Description": "Mug"},
        {"RowId": 13, "ArticleNumber": "", "Description": "Engraving"},
    ]
    rows = [
        {"ArticleNumber": "MUG", "Description": "Mug, blue", "OrderedQuantity": 3},
        {"ArticleNumber": None, "Description": "Engraving", "OrderedQuantity": 1},
        {"ArticleNumber": "CAP", "Description": "Cap", "OrderedQuantity": 1},
    ]
    carried = carry_row_ids(rows, stored)
    assert [r.get("RowId") for r in carried] == [12, 13, None]
    assert carried[0]["OrderedQuantity"] == 3 and "RowId" not in rows[0]


def test_repeated_article_rows_are_paired_in_order() -> None:
    stored = [
        {"RowId": 1, "ArticleNumber": "TEE", "Description": "Tee"},
        {"RowId": 2, "ArticleNumber": "TEE", "Description": "Tee"},
    ]
    rows = [{"ArticleNumber": "TEE", "Description": "Tee"}, {"ArticleNumber": "TEE", "Description": "Tee"}]
    assert [r["RowId"] for r in carry_row_ids(rows, stored)] == [1, 2]
