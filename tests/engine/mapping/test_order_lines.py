from __future__ import annotations

from typing import Any

import pytest

from engine.errors import EngineError
from engine.mapping.order_lines import Booking
from engine.mapping.settings import IntegrationSettings, OrderLines, SalesAccounts
from engine.mapping.vat import buyer_vat_number, organisation_number, vat_type

ROW = {"Description": "x", "OrderedQuantity": 1, "DeliveredQuantity": 1, "Price": 100.0}


def order(country: str, *lines: dict[str, Any], vat_number: str | None = None, **fields: Any) -> dict:
    attributes = [{"name": "vat_number", "value": vat_number}] if vat_number else []
    return {
        "shipping_address": {"country_code": country},
        "billing_address": {"country_code": "SE"},
        "note_attributes": attributes,
        "line_items": list(lines),
        "shipping_lines": [],
        **fields,
    }


def line(sku: str | None = "TEE-1", rate: float | None = 0.25, **fields: Any) -> dict[str, Any]:
    taxes = [{"rate": rate, "price": "1.00"}] if rate else []
    return {"sku": sku, "title": "Tee", "tax_lines": taxes, "gift_card": False, **fields}


def settings(**oss: str) -> IntegrationSettings:
    return IntegrationSettings(sales_accounts=SalesAccounts(oss_accounts=oss))


@pytest.mark.parametrize(
    ("country", "number", "expected"),
    [
        ("SE", None, "SEVAT"),
        ("SE", "SE556677889901", "SEVAT"),
        ("DE", "DE123456789", "EUREVERSEDVAT"),
        ("DE", None, "EUVAT"),
        ("NO", None, "EXPORT"),
        ("US", "US-EIN", "EXPORT"),
    ],
)
def test_vat_type_from_destination_and_vat_number(country: str, number: str | None, expected: str) -> None:
    assert vat_type(country, number) == expected


def test_vat_number_is_read_from_the_named_attribute_and_normalised() -> None:
    given = order("DE", vat_number="de 123.456-789")
    assert buyer_vat_number(given, "VAT number") == "DE123456789"
    assert buyer_vat_number(given, "company_vat") is None
    assert buyer_vat_number(order("DE", vat_number="n/a"), "vat_number") is None
    assert organisation_number("SE556677889901") == "556677-8899"
    assert organisation_number("DE123456789") is None


def test_the_destination_is_where_the_goods_go() -> None:
    # A German buyer shipping to Sweden pays Swedish VAT; shipping address wins over billing.
    assert Booking.of(settings(), order("SE", billing_address={"country_code": "DE"})).vat_type == "SEVAT"


def test_swedish_rows_keep_articles_and_custom_lines_get_the_rate_account() -> None:
    booking = Booking.of(settings(), order("SE"))
    assert booking.row(line(), ROW) == {**ROW, "ArticleNumber": "TEE-1", "VAT": 25}
    assert booking.row(line(sku=None, rate=0.12), ROW) == {**ROW, "AccountNumber": "3002", "VAT": 12}
    assert booking.row(line(sku="", rate=None), ROW)["AccountNumber"] == "3004"
    with pytest.raises(EngineError) as missing:
        booking.row(line(sku=None, rate=0.19), ROW)
    assert missing.value.code == "ORDER_LINE_ACCOUNT_MISSING" and "19 %" in missing.value.message


def test_gift_cards_and_tips_carry_no_vat_on_their_own_accounts() -> None:
    booking = Booking.of(settings(DE="3162"), order("DE"))
    card = booking.row(line(sku="GIFT", rate=None, gift_card=True), ROW)
    assert (card["AccountNumber"], card["VAT"], "ArticleNumber" in card) == ("2421", 0, False)
    tip = booking.row(line(sku=None, rate=None, tip_payment_gateway="stripe"), ROW)
    assert (tip["AccountNumber"], tip["VAT"]) == ("3990", 0)


def test_oss_rows_go_to_the_country_and_rate_account_or_stop() -> None:
    booking = Booking.of(settings(DE="3162", **{"DE 7": "3163"}), order("DE"))
    assert booking.row(line(rate=0.19), ROW)["AccountNumber"] == "3162"
    assert booking.row(line(rate=0.07), ROW) == {
        **ROW,
        "ArticleNumber": "TEE-1",
        "AccountNumber": "3163",
        "VAT": 7,
    }
    finnish = Booking.of(settings(DE="3162"), order("FI"))
    with pytest.raises(EngineError) as missing:
        finnish.check(order("FI", line(rate=0.255)))
    assert missing.value.code == "OSS_COUNTRY_TAX_MAPPING_MISSING"
    assert "Finland (FI) at 25.5 % VAT" in missing.value.message


def test_eu_consumers_of_a_shop_below_the_threshold_are_booked_as_swedish() -> None:
    below = IntegrationSettings(sales_accounts=SalesAccounts(swedish_vat_for_eu_consumers=True))
    booking = Booking.of(below, order("DK"))
    assert booking.vat_type == "EUVAT"
    assert booking.row(line(), ROW) == {**ROW, "ArticleNumber": "TEE-1", "VAT": 25}


def test_reverse_charge_and_export_rows_are_zero_rated_unless_shopify_charged_vat() -> None:
    business = Booking.of(settings(), order("NL", vat_number="NL123456789B01"))
    assert business.row(line(rate=None), ROW)["AccountNumber"] == "3108"
    export = Booking.of(settings(), order("US"))
    assert export.row(line(rate=None), ROW) == {
        **ROW,
        "ArticleNumber": "TEE-1",
        "AccountNumber": "3105",
        "VAT": 0,
    }
    with pytest.raises(EngineError) as charged:
        business.row(line(rate=0.21), ROW)
    assert charged.value.code == "VAT_CHARGED_ON_ZERO_RATED_SALE"
    assert "NL123456789B01" in charged.value.message


def test_shipping_stays_freight_for_swedish_sales_unless_set_to_a_row() -> None:
    shipping = [{"title": "PostNord", "tax_lines": [{"rate": 0.25, "price": "9.80"}]}]
    assert Booking.of(settings(), order("SE")).shipping_row(shipping, 49.0) is None
    as_row = IntegrationSettings(order_lines=OrderLines(shipping_as="row"))
    row = Booking.of(as_row, order("SE")).shipping_row(shipping, 49.0)
    assert row and (row["AccountNumber"], row["VAT"], row["Price"]) == ("3520", 25, 49.0)
    german = [{"title": "DHL", "tax_lines": [{"rate": 0.19, "price": "2.38"}]}]
    abroad = Booking.of(settings(DE="3162"), order("DE")).shipping_row(german, 14.9)
    assert abroad and (abroad["AccountNumber"], abroad["VAT"]) == ("3162", 19)
    assert Booking.of(settings(), order("SE")).shipping_row([], 0) is None


def test_settings_refuse_what_fortnox_could_not_book() -> None:
    with pytest.raises(ValueError, match="EU country code other than SE"):
        SalesAccounts(oss_accounts={"US": "3105"})
    with pytest.raises(ValueError, match="four digits"):
        OrderLines(gift_card_account="24210")
    with pytest.raises(ValueError, match="VAT rate in percent"):
        OrderLines(sales_accounts={"standard": "3001"})
    assert SalesAccounts(oss_accounts={"fi 25,5": "3166"}).oss_accounts == {"FI 25.5": "3166"}


def test_an_oss_sale_takes_the_countrys_shipping_and_credit_accounts_when_mapped() -> None:
    sales = SalesAccounts(
        oss_accounts={"DE": "3162", "DE 7": "3163"},
        oss_shipping_accounts={"DE": "3169"},
        oss_credit_accounts={"DE": "3171", "DE 7": "3172"},
    )
    booking = Booking.of(IntegrationSettings(sales_accounts=sales), order("DE"))
    german = [{"title": "DHL", "tax_lines": [{"rate": 0.19, "price": "2.38"}]}]
    shipping = booking.shipping_row(german, 14.9)
    assert shipping and (shipping["AccountNumber"], shipping["VAT"]) == ("3169", 19)
    assert booking.credit_account({"AccountNumber": 3162, "VAT": 19}) == "3171"
    assert booking.credit_account({"AccountNumber": 3169, "VAT": 19}) == "3171"
    assert booking.credit_account({"AccountNumber": 3163, "VAT": 7}) == "3172"
    # A gift card sold with the goods keeps its own account when credited.
    assert booking.credit_account({"AccountNumber": 2421, "VAT": 0}) is None
    swedish = Booking.of(IntegrationSettings(sales_accounts=sales), order("SE"))
    assert swedish.credit_account({"AccountNumber": 3001, "VAT": 25}) is None
    unmapped = Booking.of(settings(DE="3162"), order("DE"))
    assert unmapped.shipping_row(german, 14.9)["AccountNumber"] == "3162"  # type: ignore[index]
    assert unmapped.credit_account({"AccountNumber": 3162, "VAT": 19}) is None
