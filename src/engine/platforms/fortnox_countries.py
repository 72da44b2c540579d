"""Country names as Fortnox accepts them, keyed by ISO 3166-1 alpha-2 code.

Fortnox checks `Country` / `DeliveryCountry` on documents and `Country` on customers against a list
of its own and refuses any other name ("Ogiltigt land"). Sweden is listed in Swedish ("Sverige");
every other country by its English short name, the older form where ISO's changed ("Czech Republic",
not "Czechia"). Shopify's `country` is its own English name, so we map from `country_code` instead.

The sandbox accepts exactly these names, so the two sides agree; a code missing here is refused by
the mapping with a coded error rather than sent as a name Fortnox would reject.
"""

from __future__ import annotations

FORTNOX_COUNTRY_NAMES: dict[str, str] = {
    "SE": "Sverige",
    # Nordic and EU/EEA
    "AT": "Austria", "BE": "Belgium", "BG": "Bulgaria", "HR": "Croatia", "CY": "Cyprus",
    "CZ": "Czech Republic", "DK": "Denmark", "EE": "Estonia", "FI": "Finland", "FR": "France",
    "DE": "Germany", "GR": "Greece", "HU": "Hungary", "IE": "Ireland", "IT": "Italy", "LV": "Latvia",
    "LT": "Lithuania", "LU": "Luxembourg", "MT": "Malta", "NL": "Netherlands", "PL": "Poland",
    "PT": "Portugal", "RO": "Romania", "SK": "Slovakia", "SI": "Slovenia", "ES": "Spain",
    "NO": "Norway", "IS": "Iceland", "LI": "Liechtenstein", "AX": "Åland Islands", "FO": "Faroe Islands",
    "GL": "Greenland",
    # rest of Europe
    "GB": "United Kingdom", "CH": "Switzerland", "AD": "Andorra", "MC": "Monaco", "SM": "San Marino",
    "VA": "Holy See (Vatican City State)", "AL": "Albania", "BA": "Bosnia and Herzegovina",
    "ME": "Montenegro", "MK": "North Macedonia", "RS": "Serbia", "MD": "Moldova", "UA": "Ukraine",
    "BY": "Belarus", "RU": "Russian Federation", "TR": "Turkey", "GE": "Georgia", "AM": "Armenia",
    "AZ": "Azerbaijan", "GI": "Gibraltar", "JE": "Jersey", "GG": "Guernsey", "IM": "Isle of Man",
    # Americas
    "US": "United States", "CA": "Canada", "MX": "Mexico", "BR": "Brazil", "AR": "Argentina",
    "CL": "Chile", "CO": "Colombia", "PE": "Peru", "UY": "Uruguay", "CR": "Costa Rica",
    "PR": "Puerto Rico",
    # Asia, Oceania, Africa, Middle East
    "AU": "Australia", "NZ": "New Zealand", "JP": "Japan", "CN": "China", "HK": "Hong Kong",
    "TW": "Taiwan", "KR": "Korea, Republic of", "SG": "Singapore", "MY": "Malaysia", "TH": "Thailand",
    "VN": "Viet Nam", "ID": "Indonesia", "PH": "Philippines", "IN": "India", "PK": "Pakistan",
    "AE": "United Arab Emirates", "SA": "Saudi Arabia", "QA": "Qatar", "KW": "Kuwait", "IL": "Israel",
    "EG": "Egypt", "MA": "Morocco", "TN": "Tunisia", "ZA": "South Africa", "NG": "Nigeria",
    "KE": "Kenya",
}  # fmt: skip

# EU member states (for the customer's VATType: EUVAT / EUREVERSEDVAT inside, EXPORT outside).
EU_COUNTRY_CODES: frozenset[str] = frozenset(
    [
        "AT",
        "BE",
        "BG",
        "HR",
        "CY",
        "CZ",
        "DK",
        "EE",
        "FI",
        "FR",
        "DE",
        "GR",
        "HU",
        "IE",
        "IT",
        "LV",
        "LT",
        "LU",
        "MT",
        "NL",
        "PL",
        "PT",
        "RO",
        "SK",
        "SI",
        "ES",
        "SE",
    ]
)

ACCEPTED_NAMES: frozenset[str] = frozenset(FORTNOX_COUNTRY_NAMES.values())


def fortnox_country_name(country_code: str | None) -> str | None:
    """The name Fortnox accepts for an ISO-2 code, or None when we have none for it."""
    return FORTNOX_COUNTRY_NAMES.get((country_code or "").strip().upper())
