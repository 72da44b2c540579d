"""Fortnox ErrorInformation codes and the stable codes the engine shows for them.

The sandbox answers with these numbers and the client classifies by them, so both sides agree.
Codes marked (public) appear in Fortnox's public material; the rest are our choice for the sandbox
(the real numbers could not be confirmed), and the client also falls back to the message text.
"""

from __future__ import annotations

import re

# Fortnox code -> (stable engine code, English message the sandbox sends)
FORTNOX_CODES: dict[int, tuple[str, str]] = {
    # public
    2000310: ("AUTH_FAILED", "Invalid login: the access token or client secret is missing or wrong"),
    2000311: ("AUTH_FAILED", "Cannot log in: access token or client secret missing (2)"),  # public
    2001103: ("FORTNOX_NO_LICENCE", "The company has no licence for this resource"),  # public
    2000588: ("VALIDATION_FAILED", "Invalid parameter in the request"),  # public
    2002115: ("VALIDATION_FAILED", "Invalid JSON in the request body"),  # public
    2000013: ("ARTICLE_NUMBER_TAKEN", "The article number is already in use"),  # public
    2001304: ("FORTNOX_ACCOUNT_NOT_FOUND", "Kunde inte hitta konto"),  # public
    2000428: ("ARTICLE_NOT_FOUND", "Article not found"),
    2000433: ("CUSTOMER_NOT_FOUND", "Customer not found"),
    2000357: ("FORTNOX_CUSTOMER_NAME_EMPTY", "The customer must have a name"),
    2000637: ("FORTNOX_CURRENCY_NOT_FOUND", "Currency not found"),
    2000532: ("FORTNOX_VAT_INVALID", "The VAT rate is not configured for the company"),
    2000755: ("FORTNOX_WAY_OF_DELIVERY_NOT_FOUND", "Way of delivery not found"),
    2000756: ("FORTNOX_TERMS_OF_PAYMENT_NOT_FOUND", "Terms of payment not found"),
    2000796: ("ORDER_ALREADY_INVOICED", "The order has already been invoiced"),
    2000797: ("ORDER_CANCELLED", "The order is cancelled"),
    2000861: ("INVOICE_BOOKED", "A booked invoice cannot be changed"),
    2000720: ("INVOICE_ALREADY_BOOKED", "The invoice is already booked"),
    2000890: ("INVOICE_ALREADY_CREDITED", "The invoice already has a credit invoice"),
    2000404: ("NOT_FOUND", "The resource was not found"),
    2000501: ("FORTNOX_ROW_LIMIT", "A document may have at most 500 rows"),
    2000999: ("RATE_LIMITED", "Too many requests"),
}

# Refusals whose Fortnox number is not public, recognised by their message, which names the value.
# 'Konto "3051" är inte aktivt' is how integrators quote Fortnox refusing an inactive account.
MESSAGE_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r'^konto "?\d+"? är inte aktivt', re.IGNORECASE), "FORTNOX_ACCOUNT_INACTIVE"),
)

CODE_BY_NAME: dict[str, int] = {}
for _number, (_name, _msg) in FORTNOX_CODES.items():
    CODE_BY_NAME.setdefault(_name, _number)
