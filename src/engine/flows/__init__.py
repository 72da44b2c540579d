"""One module per flow; this registry names them for the runtime and for `sandbox connect`."""

from __future__ import annotations

from types import ModuleType

from engine.flows import orders_to_fortnox, payouts_shopify_payments, payouts_stripe

FLOW_MODULES: dict[str, ModuleType] = {
    m.KEY: m for m in (orders_to_fortnox, payouts_stripe, payouts_shopify_payments)
}


def module_for(key: str) -> ModuleType:
    try:
        return FLOW_MODULES[key]
    except KeyError:
        raise KeyError(f"no flow module named {key!r}") from None


def uses_time_history(key: str) -> bool:
    """Whether the flow reads what changed since Time History's last loaded; a flow whose records
    wait on others (payouts) reads everything since the exclusion date instead (`fetch_since`)."""
    return not hasattr(module_for(key), "fetch_since")
