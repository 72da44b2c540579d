"""Countries as Fortnox names them, from the ISO-2 codes Shopify sends.

Shopify's `country` is its own English name ("Sweden", "Czechia"), which Fortnox refuses ("Ogiltigt
land"); its `country_code` is reliable, so documents and customers are mapped from the code alone.
"""

from __future__ import annotations

from engine.errors import EngineError
from engine.platforms.fortnox_countries import fortnox_country_name


def fortnox_country(address: dict | None, what: str) -> str | None:
    """The Fortnox name of the address's country; None when the address has no country code.

    A code Fortnox's list has no name for in our table ends the record in COUNTRY_NOT_MAPPED rather
    than a guessed name that Fortnox could refuse or, worse, book under the wrong country."""
    code = str((address or {}).get("country_code") or "").strip().upper()
    if not code:
        return None
    name = fortnox_country_name(code)
    if name is None:
        raise EngineError(
            "COUNTRY_NOT_MAPPED",
            f"the {what} country code {code!r} ({(address or {}).get('country') or 'no name'}) "
            "has no Fortnox country name in this version",
        )
    return name


def fortnox_country_code(address: dict | None, default: str) -> str:
    """The ISO-2 code for a Fortnox customer: the address's, else the Customer Settings default;
    refused like fortnox_country when Fortnox would not know it."""
    code = str((address or {}).get("country_code") or default or "").strip().upper()
    if code and fortnox_country_name(code) is None:
        raise EngineError(
            "COUNTRY_NOT_MAPPED",
            f"the customer's country code {code!r} has no Fortnox country in this version",
        )
    return code
