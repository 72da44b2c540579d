"""Orders as Shopify's REST API returns them to an app without access to protected customer data.

Without approved level-2 access, the buyer's name, email, phone and addresses are redacted: the
order's `email`, `contact_email` and `phone` come back null, the addresses are left out, and the
embedded `customer` keeps its id and non-personal fields but loses its personal ones (the shape
integrators report, e.g. PipedreamHQ/pipedream#17578: `customer.email` missing from the order). The
generator makes a share of its orders this way so the mapping's defaults are exercised.
"""

from __future__ import annotations

from typing import Any

WITHHELD_SHARE = 0.04

_ORDER_NULLED = ("email", "contact_email", "phone")
_ORDER_DROPPED = ("billing_address", "shipping_address")
_CUSTOMER_DROPPED = ("email", "first_name", "last_name", "phone", "default_address")


def withhold_customer_data(order: dict[str, Any]) -> None:
    """Redact the order in place as Shopify does for an app without protected-data access."""
    for key in _ORDER_NULLED:
        order[key] = None
    for key in _ORDER_DROPPED:
        order.pop(key, None)
    customer = order.get("customer")
    if isinstance(customer, dict):
        for key in _CUSTOMER_DROPPED:
            customer.pop(key, None)
