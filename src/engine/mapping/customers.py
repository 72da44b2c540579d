"""Who the Fortnox customer is when Shopify withholds the buyer's personal data.

Without approved access to protected customer data, Shopify's REST API leaves the order's and its
customer's name, email, phone and addresses null or out of the answer. The customer keeps its id, so
the Fortnox customer is still found again by ExternalReference; the name and email come from
Customer Settings, and with no default name the order ends in FORTNOX_CUSTOMER_NAME_EMPTY before
anything reaches Fortnox (which refuses a customer without a name).
"""

from __future__ import annotations

from engine.errors import EngineError
from engine.mapping.settings import CustomerSettings


def _person(record: dict | None) -> str:
    record = record or {}
    full = record.get("name") or f"{record.get('first_name') or ''} {record.get('last_name') or ''}"
    return str(full).strip()


def contact_email(order: dict) -> str:
    """The buyer's email, as the order or its customer carries it ("" when Shopify withheld it)."""
    return str(order.get("email") or (order.get("customer") or {}).get("email") or "").strip()


def customer_name(order: dict, conf: CustomerSettings) -> str:
    """The buyer's name from the billing address, its company, or the customer; else the default."""
    billing = order.get("billing_address") or {}
    name = _person(billing) or str(billing.get("company") or "").strip() or _person(order.get("customer"))
    name = name or conf.default_name.strip()
    if not name:
        raise EngineError(
            "FORTNOX_CUSTOMER_NAME_EMPTY",
            "the order has no customer name (Shopify withholds it without access to protected "
            "customer data) and Customer Settings has no default name",
        )
    return name


def customer_email(order: dict, conf: CustomerSettings) -> str | None:
    """The buyer's email, else the Customer Settings default (None when neither is set)."""
    return contact_email(order) or conf.default_email.strip() or None
