"""Who the buyer is for VAT: the Fortnox customer's `VATType` from destination and VAT number.

- Sweden → SEVAT (Swedish VAT, whether the buyer is a business or not).
- Another EU country with a VAT number → EUREVERSEDVAT (no VAT; the buyer reverse-charges).
- Another EU country without one → EUVAT (a consumer: destination VAT under OSS).
- Outside the EU → EXPORT (no VAT).

Where a Shopify order carries a buyer's VAT number: the REST order has none of its own. Shopify B2B
(Plus) keeps it on the company location (`taxSettings.taxRegistrationId`, GraphQL only; the REST
order carries just `company.id` / `company.location_id`), and other shops collect it at checkout
as a cart attribute, which the REST order returns in `note_attributes`. We read the attribute the
merchant names in Sales Account mapping & OSS VAT ("vat_number" by default).

The destination is where the goods go (OSS taxes distance sales where the transport ends): the
shipping address, else the billing address.
"""

from __future__ import annotations

import re
from typing import Any

from engine.platforms.fortnox_countries import EU_COUNTRY_CODES

SEVAT, EUVAT, EUREVERSEDVAT, EXPORT = "SEVAT", "EUVAT", "EUREVERSEDVAT", "EXPORT"
SWEDISH_RATES = frozenset({25.0, 12.0, 6.0})

# Two letters (Greece uses EL) and 2-13 letters/digits, as the EU's VIES formats run.
_VAT_NUMBER = re.compile(r"^[A-Z]{2}[0-9A-Z]{2,13}$")


def _attribute_key(name: str) -> str:
    return re.sub(r"[\s_\-.]", "", name).casefold()


def buyer_vat_number(order: dict[str, Any], attribute: str) -> str | None:
    """The VAT number the buyer gave, normalised ("DE 123 456 789" → "DE123456789"), or None."""
    wanted = _attribute_key(attribute)
    for item in order.get("note_attributes") or []:
        if isinstance(item, dict) and _attribute_key(str(item.get("name") or "")) == wanted:
            number = re.sub(r"[\s.\-]", "", str(item.get("value") or "")).upper()
            return number if _VAT_NUMBER.match(number) else None
    return None


def destination_given(order: dict[str, Any]) -> bool:
    """Whether the order names a destination (Shopify withholds addresses without protected-data access)."""
    return any((order.get(f) or {}).get("country_code") for f in ("shipping_address", "billing_address"))


def destination_country(order: dict[str, Any], default: str) -> str:
    for field in ("shipping_address", "billing_address"):
        code = str((order.get(field) or {}).get("country_code") or "").strip().upper()
        if code:
            return code
    return default.upper()


def vat_type(country: str, vat_number: str | None) -> str:
    if country == "SE":
        return SEVAT
    if country in EU_COUNTRY_CODES:
        return EUREVERSEDVAT if vat_number else EUVAT
    return EXPORT


def organisation_number(vat_number: str | None) -> str | None:
    """A Swedish VAT number is SE + the organisation number + 01: "SE556677889901" → "556677-8899"."""
    if vat_number and re.fullmatch(r"SE\d{10}01", vat_number):
        digits = vat_number[2:12]
        return f"{digits[:6]}-{digits[6:]}"
    return None
