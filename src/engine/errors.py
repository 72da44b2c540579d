"""Stable error codes the operator sees, and what to do about each."""

from __future__ import annotations

HINTS: dict[str, str] = {
    "ARTICLE_NOT_FOUND": "Create the article in Fortnox (or correct the SKU in Shopify), then Retry.",
    "ARTICLE_NUMBER_INVALID": "A Fortnox article number has no spaces and ≤ 200 characters: fix the SKU.",
    "FORTNOX_CUSTOMER_NAME_EMPTY": "Set a default customer name in Customer Settings, then Retry.",
    "FORTNOX_CURRENCY_NOT_FOUND": "Add the currency in Fortnox, then Retry.",
    "FORTNOX_VAT_INVALID": "Configure the VAT rate in Fortnox (or the OSS sales accounts), then Retry.",
    "FORTNOX_WAY_OF_DELIVERY_NOT_FOUND": "Fix the Shipping Methods mapping in Configure > Settings.",
    "FORTNOX_TERMS_OF_PAYMENT_NOT_FOUND": "Fix the Payment Methods mapping in Configure > Settings.",
    "FORTNOX_ROW_LIMIT": "Fortnox accepts at most 500 rows per document; split the order.",
    "CREDENTIALS_MISSING": "Add the credentials in Configure > Connectors.",
    "AUTH_FAILED": "Reconnect the connector in Configure > Connectors.",
    "RATE_LIMITED": "The platform kept refusing for load; Retry later.",
    "PLATFORM_UNAVAILABLE": "The platform did not answer properly; Retry later.",
    "TIMEOUT": "The platform did not answer in time; Retry later.",
    "MALFORMED_RESPONSE": "The platform sent an unreadable answer; Retry later.",
    "SETTINGS_REQUIRED": "Save the required settings in Configure > Settings.",
    "SOURCE_RECORD_NOT_FOUND": "Check the reference: no such record in the source platform.",
    "ORDER_UPDATED_AFTER_BOOKING": "The invoice is booked; correct it with a credit invoice in Fortnox.",
    "ORDER_CANCELLED_AFTER_INVOICING": "The invoice exists; credit it in Fortnox if the sale is void.",
    "MALFORMED_RECORD": "The source sent a record this flow can't read; check it in the source platform.",
    "IN_FLIGHT": "Another worker held the record too long; it is attempted again by itself.",
    "VALIDATION_FAILED": "Fortnox refused the data; read the message, fix the cause, then Retry.",
}


def hint(code: str | None) -> str:
    return HINTS.get(code or "", "")


class EngineError(Exception):
    """An error meant for the operator: a stable code and a message that says what to do."""

    def __init__(self, code: str, message: str) -> None:
        self.code = code
        self.message = message
        super().__init__(f"{code}: {message}")
