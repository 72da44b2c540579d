"""One module per flow; this registry names them for the runtime and for `sandbox connect`."""

from __future__ import annotations

from types import ModuleType

from engine.flows import orders_to_fortnox, payouts_stripe

FLOW_MODULES: dict[str, ModuleType] = {m.KEY: m for m in (orders_to_fortnox, payouts_stripe)}


def module_for(key: str) -> ModuleType:
    try:
        return FLOW_MODULES[key]
    except KeyError:
        raise KeyError(f"no flow module named {key!r}") from None
