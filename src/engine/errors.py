"""Stable error codes the operator sees, and what to do about each."""

from __future__ import annotations

HINTS: dict[str, str] = {
    "ARTICLE_NOT_FOUND": "Create the article in Fortnox (or correct the SKU in Shopify), then Retry.",
    "ARTICLE_NUMBER_INVALID": "A Fortnox article number has no spaces and ≤ 200 characters: fix the SKU.",
    "FORTNOX_CUSTOMER_NAME_EMPTY": "Shopify withheld the buyer's name (protected customer data) or the order "
    "has none: set a default customer name in Configure → Settings → Customer Settings, then Retry.",
    "COUNTRY_NOT_MAPPED": "This version knows no Fortnox name for the country code: enter the order in "
    "Fortnox by hand (or correct the country in Shopify if it is wrong).",
    "FORTNOX_COUNTRY_INVALID": "Fortnox refused the country name; check the address's country in Shopify.",
    "FORTNOX_COUNTRY_CODE_INVALID": "Fortnox refused the country code; check the Default country code in "
    "Configure → Settings → Customer Settings.",
    "FORTNOX_CUSTOMER_NUMBER_TAKEN": "The customer number is used (or was, by a deleted customer) in "
    "Fortnox; let Fortnox number new customers.",
    "ROW_ID_NOT_FOUND": "The Fortnox document changed since it was read; Retry reads it again.",
    "INVOICE_BOOKED": "The invoice is booked in Fortnox and can't be changed; correct it with a credit "
    "invoice.",
    "FORTNOX_CURRENCY_NOT_FOUND": "Add the currency in Fortnox, then Retry.",
    "FORTNOX_VAT_INVALID": "Configure the VAT rate in Fortnox (or the OSS sales accounts), then Retry.",
    "FORTNOX_ACCOUNT_NOT_FOUND": "The account is not in Fortnox's chart of accounts: pick an existing one "
    "in Configure > Settings (Order Lines, Sales Account mapping & OSS VAT) or create it in Fortnox, then "
    "Retry.",
    "FORTNOX_ACCOUNT_INACTIVE": "Activate the account in Fortnox (Register > Kontoplan) or pick an active "
    "one in Configure > Settings, then Retry.",
    "OSS_COUNTRY_TAX_MAPPING_MISSING": "Map the country (and VAT rate) to its OSS sales account in "
    "Configure > Settings > Sales Account mapping & OSS VAT, then Retry.",
    "ORDER_LINE_ACCOUNT_MISSING": "Set the sales account for that VAT rate in Configure > Settings > Order "
    "Lines, then Retry.",
    "VAT_CHARGED_ON_ZERO_RATED_SALE": "Shopify charged VAT on a sale that carries none (export or EU reverse "
    "charge): refund the VAT in Shopify or correct the buyer's VAT number, then Retry.",
    "FORTNOX_WAY_OF_DELIVERY_NOT_FOUND": "Fix the Shipping Methods mapping in Configure > Settings.",
    "FORTNOX_TERMS_OF_PAYMENT_NOT_FOUND": "Fix the Payment Methods mapping in Configure > Settings.",
    "FORTNOX_MODE_OF_PAYMENT_NOT_FOUND": "Pick an existing mode of payment (Invoice Settings > Additional > "
    "Automatically mark invoices as paid, or the provider's Payouts settings) or create it in Fortnox, then "
    "Retry.",
    "FORTNOX_TOTAL_MISMATCH": "The Fortnox document would not total what the buyer paid: check Fortnox's "
    "öresutjämning (Inställningar > Offer/Order: none) and the order's discounts, fees and currency, then "
    "Retry. A Fortnox order already made stays uninvoiced until its total matches.",
    "FORTNOX_ROW_LIMIT": "Fortnox accepts at most 500 rows per document; split the order.",
    "CREDENTIALS_MISSING": "Add the credentials in Configure > Connectors.",
    "CONNECTION_IN_USE": "Switch the connector to another connection (Configure > Connectors, or connect "
    "with --connection NAME), then remove this one.",
    "NO_CONNECTION": "List the saved connections in Configure > Connectors (the connection dropdown).",
    "AUTH_FAILED": "Reconnect the connector in Configure > Connectors.",
    "FORTNOX_SCOPE_MISSING": "Connect Fortnox again (`junipeer connect fortnox`) and approve the scope "
    "the message names.",
    "STRIPE_PERMISSION_MISSING": "Edit the restricted key in Stripe's dashboard (Developers > API keys) to "
    "allow the permission named (Read on Payouts, Balance and Charges), then Test connection.",
    "SHOPIFY_SCOPE_MISSING": "Grant the app the scope the message names in Shopify, then connect again.",
    "RATE_LIMITED": "The platform kept refusing for load; Retry later.",
    "PLATFORM_UNAVAILABLE": "The platform did not answer properly; Retry later.",
    "TIMEOUT": "The platform did not answer in time; Retry later.",
    "MALFORMED_RESPONSE": "The platform sent an unreadable answer; Retry later.",
    "SETTINGS_REQUIRED": "Save the required settings in Configure > Settings.",
    "DESTINATION_WITHHELD": "Ask Shopify for protected customer data access (the app's Data access page), "
    "or book this sale by hand in Fortnox.",
    "SOURCE_RECORD_NOT_FOUND": "Check the reference: no such record in the source platform.",
    "SHOPIFY_READ_ALL_ORDERS_MISSING": "Grant the app the read_all_orders scope in Shopify (then reconnect), "
    "or move the exclusion date or range within the last 60 days.",
    "ORDER_UPDATED_AFTER_BOOKING": "The invoice is booked; correct it with a credit invoice in Fortnox.",
    "ORDER_CANCELLED_AFTER_INVOICING": "The invoice exists; credit it in Fortnox if the sale is void.",
    "REFUND_INVOICE_ALREADY_CREDITED": "Fortnox takes one credit invoice per invoice: credit the amount by "
    "hand in Fortnox (an invoice with negative rows), then link it under References (type Refunds) and "
    "Retry the refund; it then counts as synced.",
    "REFUND_AMOUNT_MISMATCH": "The credit invoice would not credit what the buyer got back: check the "
    "refund in Shopify and the invoice in Fortnox (changed by hand?), then Retry. A credit invoice already "
    "made stays unbooked until its total matches.",
    "REFUND_WAITING_FOR_INVOICE": "Invoice the order in Fortnox (or turn on Create invoice when paid in "
    "Configure > Settings > Invoice Settings), then Retry the refund.",
    "PAYOUT_INVOICE_NOT_FOUND": "Check that the order is synced (Entities, type Orders; not excluded or "
    "filtered out, not in error) and invoiced, and that Configure > Settings > Payouts › match reference "
    "names the invoice field holding the order name; a refund needs its credit invoice. The line is "
    "matched again at every sync, or Retry now.",
    "PAYOUT_AMOUNT_MISMATCH": "Set the exchange gain and loss accounts in Configure > Settings > the "
    "provider's Payouts (Additional), then Retry.",
    "PAYOUT_CURRENCY_MISMATCH": "Fortnox books payouts in SEK: book this payout by hand in Fortnox, or "
    "invoice the orders in the currency the provider settles in.",
    "PAYOUT_FEE_WRITEOFF_FAILED": "Set the fee account in Configure > Settings > Payouts, then Retry.",
    "PAYOUT_LINE_ACCOUNT_MISSING": "The payout has a line of no invoice (a dispute, an adjustment): set "
    "the account for such lines in Configure > Settings > Payouts, then Retry.",
    "PAYOUT_INVOICE_ALREADY_PAID": "The invoice was paid otherwise (by hand, or marked as paid): remove "
    "that payment in Fortnox, or book this line by hand and link it under References; then Retry.",
    "PAYOUT_TOTAL_MISMATCH": "The provider's payout differs from its lines: check the payout in the "
    "provider's dashboard; book it by hand in Fortnox if it was adjusted.",
    "FORTNOX_FISCAL_YEAR": "Create the financial year in Fortnox (Inställningar > Räkenskapsår), then Retry.",
    "FORTNOX_VOUCHER_UNBALANCED": "The voucher's rows did not balance; Retry, and report it if it persists.",
    "FORTNOX_VOUCHER_SERIES_NOT_FOUND": "Pick an existing voucher series in Configure > Settings > Payouts.",
    "MALFORMED_RECORD": "The source sent a record this flow can't read; check it in the source platform.",
    "IN_FLIGHT": "Another worker held the record too long; it is attempted again by itself.",
    "DATABASE_URL_INVALID": "Give --db (or JUNIPEER_DATABASE_URL) a URL like "
    "sqlite:////path/to/junipeer.sqlite or postgresql://user:password@host/database.",
    "DATABASE_DRIVER_MISSING": 'Install the PostgreSQL extra: pip install "junipeer-tui[postgres]".',
    "DATABASE_FOLDER_MISSING": "Create the folder, or give --db a path in a folder that exists.",
    "DATABASE_NOT_A_DATABASE": "Point --db at a junipeer database, or at a new file name to start one.",
    "DATABASE_UNAVAILABLE": "Check that the database server runs, that the URL (host, port, user, "
    "password, database) is right and that no other program holds the database locked; then try again.",
    "SCHEMA_NEWER": "Upgrade this program (pip install -U junipeer-tui) or use the one that upgraded it.",
    "SCHEMA_OUTDATED": "Run `junipeer db upgrade` (back the database up first if it matters).",
    "KEYRING_UNAVAILABLE": "Start your desktop's keyring, or keep secrets in a 0600 file in the data "
    "directory: set JUNIPEER_SECRETS=file and enter the credentials again.",
    "SANDBOX_CANNOT_LISTEN": "Pick another --port (0 picks a free one), or a --host this machine has.",
    "NOTHING_TO_RUN": "Connect an integration (`junipeer sandbox connect`) or enable a flow in Configure > "
    "General.",
    "BAD_INPUT": "Correct the value as the message says, then try again.",
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
