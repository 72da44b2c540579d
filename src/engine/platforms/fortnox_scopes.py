"""Fortnox OAuth scopes: which scope each API resource needs, and which scopes each flow asks for.

Fortnox grants a token only the scopes its authorize request asked for (registering a scope with the
app is not enough), and a call outside them answers ErrorInformation code 2000663 "Har inte
behörighet för scope". The sandbox enforces this table and the client names the missing scope from
it, so both sides agree.

Resource → scope, from Fortnox's scope list as mirrored by public clients: currencies need
`currency`, terms of payment and ways of delivery `settings`, modes of payment `payment`, accounts
`bookkeeping`. Invoice payments need `payment` (a live report of `POST /invoicepayments` refused
with only `invoice`; one public mapping says `invoice`, so the stricter one is kept). VAT codes under
`bookkeeping` is unconfirmed.
"""

from __future__ import annotations

from collections.abc import Iterable

RESOURCE_SCOPES: dict[str, str] = {
    "customers": "customer",
    "articles": "article",
    "orders": "order",
    "invoices": "invoice",
    "invoicepayments": "payment",
    "termsofpayments": "settings",
    "wayofdeliveries": "settings",
    "modesofpayments": "payment",
    "currencies": "currency",
    "accounts": "bookkeeping",
    "vatcodes": "bookkeeping",
    "financialyears": "bookkeeping",
    "vouchers": "bookkeeping",
    "voucherseries": "bookkeeping",
    "companyinformation": "companyinformation",
}

# Every scope a Fortnox app may be registered for that this program knows of.
KNOWN_SCOPES: frozenset[str] = frozenset(RESOURCE_SCOPES.values())

# Asked for by every connection: the settings dropdowns (terms of payment, ways of delivery) and the
# connection test read `settings`; `companyinformation` tells which company (TenantId) consented.
BASE_SCOPES: tuple[str, ...] = ("companyinformation", "settings")

# What each flow's calls to Fortnox need, by flow key (a flow that starts calling another resource
# adds its scope here, and the next consent asks for it).
FLOW_SCOPES: dict[str, tuple[str, ...]] = {
    "orders_to_fortnox": ("customer", "order", "invoice"),
    "stripe_payouts_to_fortnox": ("invoice", "payment", "bookkeeping"),
    "shopify_payments_payouts_to_fortnox": ("invoice", "payment", "bookkeeping"),
}


def scope_for_path(path: str) -> str | None:
    """The scope a Fortnox API path needs ("/3/orders/12/createinvoice" → "order"), or None."""
    parts = [p for p in path.split("/") if p]
    if "3" in parts:
        parts = parts[parts.index("3") + 1 :]
    return RESOURCE_SCOPES.get(parts[0].lower()) if parts else None


def scopes_for(flow_keys: Iterable[str]) -> list[str]:
    """The scopes to ask for: the base ones and what the given flows need, in a stable order."""
    wanted = set(BASE_SCOPES)
    for key in flow_keys:
        wanted.update(FLOW_SCOPES.get(key, ()))
    return sorted(wanted)
