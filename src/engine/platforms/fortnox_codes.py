"""What Fortnox answers when it refuses a request, and the stable codes the engine shows for it.

Fortnox's ErrorInformation carries a number (`code`) and a Swedish `message`. Only a few numbers are
published (developer.fortnox.se/general/errors); those are in FORTNOX_CODES with the message as the
page gives it. For the other refusals the number is not known: the client recognises them by the
start of Fortnox's message (MESSAGE_PREFIXES) and otherwise by the HTTP status, and always keeps
Fortnox's own message beside the engine's hint.

The sandbox answers with these same numbers and messages. Where the number is unknown it sends 0
rather than a made-up number, so neither side can come to depend on a number the real host may not
use. Messages marked "(ours)" below are our Swedish wording in Fortnox's style; the real wording is
unconfirmed, which is why the flows never rely on recognising them alone (see orders_to_fortnox).
"""

from __future__ import annotations

import re

UNKNOWN_NUMBER = 0

# ErrorInformation.code -> (engine code, message as Fortnox documents it). Every entry is from
# Fortnox's public error list (developer.fortnox.se/general/errors).
FORTNOX_CODES: dict[int, tuple[str, str]] = {
    2000310: ("AUTH_FAILED", "Ogiltig inloggning"),
    2000311: ("AUTH_FAILED", "Kan inte logga in, access-token eller client-secret saknas(2)."),
    2001103: ("FORTNOX_NO_LICENCE", "Api-licens saknas."),
    2001101: ("FORTNOX_NO_LICENCE", "Det finns ingen aktiv licens för önskat scope"),
    2000588: ("VALIDATION_FAILED", "Ogiltig parameter i anropet."),
    2001392: ("VALIDATION_FAILED", "Ingen eller felaktig typ av data."),
    2002115: ("VALIDATION_FAILED", "Error deserializing JSON: JSON_ERROR_SYNTAX"),
    2001399: ("VALIDATION_FAILED", "Felaktigt fältnamn"),
    2000106: ("VALIDATION_FAILED", "Värdet måste vara alfanumeriskt"),
    2000108: ("VALIDATION_FAILED", "Värdet måste vara numeriskt"),
    2000359: ("VALIDATION_FAILED", "Värdet innehåller ej tillåtna tecken."),
    # Documented as "Kundnummer 1 används redan. ...", but integrators (Sharespine's help desk,
    # Junipeer's error library) report the same number for a customer without a name: a general
    # customer-validation number, told apart by its message (MESSAGE_PREFIXES).
    2000637: (
        "VALIDATION_FAILED",
        "Kundnummer används redan. Kundnumret har redan använts men blivit raderat.",
    ),
    2000204: ("CUSTOMER_NOT_FOUND", "Kunde inte hämta/hitta kund"),
    2000433: ("CUSTOMER_NOT_FOUND", "Kunde inte hämta/hitta kund"),
    2001302: ("ARTICLE_NOT_FOUND", "Kunde inte hitta artikel"),
    2000428: ("ARTICLE_NOT_FOUND", "Kan inte hitta artikeln"),
    2001304: ("FORTNOX_ACCOUNT_NOT_FOUND", "Kunde inte hitta konto"),
    2003125: ("DOCUMENT_COMPLETED", "Ett klarmarkerat dokument kan inte ändras"),
    # The token lacks the resource's scope (public clients list it; live reports answer 400 or 403).
    2000663: ("FORTNOX_SCOPE_MISSING", "Har inte behörighet för scope"),
}

# Refusals whose number is not published: engine code -> the Swedish message the sandbox sends.
UNCONFIRMED: dict[str, str] = {
    # "Ogiltigt land: Sweden" (softwerkab/fortnox-csharp-api-sdk#242)
    "FORTNOX_COUNTRY_INVALID": "Ogiltigt land",
    # "Ogiltig landskod: SVERIGE" on a customer's CountryCode (accodeing/fortnox-api#179)
    "FORTNOX_COUNTRY_CODE_INVALID": "Ogiltig landskod",
    # Fortnox's "Kunde inte hämta/hitta ..." family (leveranssätt, moms: reported by integrators)
    "FORTNOX_WAY_OF_DELIVERY_NOT_FOUND": "Kunde inte hämta/hitta leveranssätt",
    "FORTNOX_VAT_INVALID": "Kunde inte hämta/hitta moms",
    "FORTNOX_CURRENCY_NOT_FOUND": "Kunde inte hämta/hitta valuta",
    "FORTNOX_TERMS_OF_PAYMENT_NOT_FOUND": "Kunde inte hämta/hitta betalningsvillkor",
    "ARTICLE_NUMBER_TAKEN": "Artikelnumret används redan",  # (ours)
    "FORTNOX_CUSTOMER_NAME_EMPTY": "Kundnamn måste anges",  # (ours)
    "ORDER_ALREADY_INVOICED": "Ordern är redan fakturerad",  # (ours)
    "ORDER_CANCELLED": "Ordern är makulerad",  # (ours)
    "INVOICE_BOOKED": "Fakturan är bokförd och kan inte ändras",  # (ours)
    "INVOICE_ALREADY_BOOKED": "Fakturan är redan bokförd",  # (ours)
    "INVOICE_ALREADY_CREDITED": "Fakturan är redan krediterad",  # (ours)
    "ROW_ID_NOT_FOUND": "Kunde inte hitta raden",  # (ours)
    "FORTNOX_ROW_LIMIT": "Ett dokument får ha högst 500 rader",  # (ours)
    "NOT_FOUND": "Kunde inte hitta resursen",  # (ours)
    "RATE_LIMITED": "För många anrop",  # (ours)
    # Nox Finans' help desk quotes "Angivet betaldatum måste vara inom fakturans räkenskapsår" for a
    # payment; the voucher wording is not public.
    "FORTNOX_FISCAL_YEAR": "Angivet datum måste vara inom ett räkenskapsår",  # (ours, after the above)
    "FORTNOX_VOUCHER_UNBALANCED": "Verifikationen är inte balanserad",  # (ours)
    "FORTNOX_VOUCHER_SERIES_NOT_FOUND": "Kunde inte hämta/hitta verifikationsserie",  # (ours)
    "FORTNOX_MODE_OF_PAYMENT_NOT_FOUND": "Kunde inte hämta/hitta betalningssätt",  # (ours)
}

# Refusals whose Fortnox number is not public, recognised by their message, which names the value.
# 'Konto "3051" är inte aktivt' is how integrators quote Fortnox refusing an inactive account.
MESSAGE_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r'^konto "?\d+"? är inte aktivt', re.IGNORECASE), "FORTNOX_ACCOUNT_INACTIVE"),
)

# Engine code for the first ErrorInformation.code Fortnox documents for it (the sandbox sends that).
CODE_BY_NAME: dict[str, int] = {}
for _number, (_name, _msg) in FORTNOX_CODES.items():
    CODE_BY_NAME.setdefault(_name, _number)

# Engine codes too general to stand on their own: the message may say more (see MESSAGE_PREFIXES).
GENERAL_CODES = frozenset({"VALIDATION_FAILED", "AUTH_FAILED"})

# How the client recognises a refusal by the start of Fortnox's message (casefolded) when the number
# is unknown or general: the documented messages first, then the unconfirmed ones.
MESSAGE_PREFIXES: tuple[tuple[str, str], ...] = (
    ("kundnummer", "FORTNOX_CUSTOMER_NUMBER_TAKEN"),
    *(
        (msg.casefold().rstrip("."), name)
        for name, msg in FORTNOX_CODES.values()
        if name not in GENERAL_CODES
    ),
    *((msg.casefold().rstrip("."), name) for name, msg in UNCONFIRMED.items()),
)


def message_for(name: str) -> str:
    """The Swedish message for an engine code, documented or ours."""
    if name in UNCONFIRMED:
        return UNCONFIRMED[name]
    number = CODE_BY_NAME.get(name)
    if number is None:
        raise KeyError(f"no Fortnox message for {name!r}")
    return FORTNOX_CODES[number][1]


# Numbers integrators report for refusals Fortnox does not document (see 2000637 above).
REPORTED_NUMBERS: dict[str, int] = {"FORTNOX_CUSTOMER_NAME_EMPTY": 2000637}


def number_for(name: str) -> int:
    """The ErrorInformation.code the sandbox sends for an engine code (0 when Fortnox's is unknown)."""
    return REPORTED_NUMBERS.get(name) or CODE_BY_NAME.get(name, UNKNOWN_NUMBER)
