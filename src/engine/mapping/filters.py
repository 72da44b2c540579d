"""Flow filters: built-in presets and custom filters, one evaluation for both.

A filter keeps a record when its conditions hold (all of them, or one of them); a record is processed
only when every enabled filter of the flow keeps it. The verdict names the filter and the condition
that failed, so a filtered-out record can be explained.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

OPERATORS: dict[str, str] = {
    "equals": "Is equal to",
    "not_equals": "Is not equal to",
    "one_of": "Is one of",
    "not_one_of": "Is not one of",
}


def _country(addr_key: str) -> Callable[[dict], Any]:
    return lambda o: ((o.get(addr_key) or {}).get("country_code") or "").upper() or None


def _gateway(o: dict) -> Any:
    names = o.get("payment_gateway_names") or []
    return names[0] if names else None


def _shipping(o: dict) -> Any:
    lines = o.get("shipping_lines") or []
    return lines[0].get("title") if lines else None


@dataclass(frozen=True)
class FieldDef:
    label: str
    get: Callable[[dict], Any]


FIELDS: dict[str, FieldDef] = {
    "order.financial_status": FieldDef("Order > Status", lambda o: o.get("financial_status")),
    "order.fulfillment_status": FieldDef("Order > Fulfillment Status", lambda o: o.get("fulfillment_status")),
    "order.delivery_country": FieldDef("Order > Delivery Country", _country("shipping_address")),
    "order.billing_country": FieldDef("Order > Billing Country", _country("billing_address")),
    "order.currency": FieldDef("Order > Currency", lambda o: o.get("currency")),
    "order.gateway": FieldDef("Order > Payment Gateway", _gateway),
    "order.shipping_method": FieldDef("Order > Shipping Method", _shipping),
    "order.email": FieldDef("Order > Customer Email", lambda o: o.get("email")),
    "order.tags": FieldDef("Order > Tags", lambda o: o.get("tags") or ""),
    "order.cancelled": FieldDef("Order > Cancelled", lambda o: "yes" if o.get("cancelled_at") else "no"),
}


@dataclass(frozen=True)
class Preset:
    key: str
    name: str
    field: str
    recommended: bool = False
    default: tuple[str, ...] = ()


PRESETS: dict[str, Preset] = {
    p.key: p
    for p in (
        Preset(
            "status",
            "Filter by Status",
            "order.financial_status",
            recommended=True,
            default=("paid", "partially_refunded", "refunded", "authorized"),
        ),
        Preset("delivery_countries", "Filter by Delivery Countries", "order.delivery_country"),
        Preset("currency", "Filter by Currency", "order.currency"),
        Preset("countries", "Filter by Countries", "order.billing_country"),
    )
}


class FilterError(ValueError):
    pass


def validate_conditions(conditions: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for i, cond in enumerate(conditions, 1):
        field, op, value = cond.get("field"), cond.get("operator"), cond.get("value")
        if field not in FIELDS:
            raise FilterError(f"condition {i}: unknown field {field!r} (one of: {', '.join(FIELDS)})")
        if op not in OPERATORS:
            raise FilterError(f"condition {i}: unknown operator {op!r} (one of: {', '.join(OPERATORS)})")
        if op in ("one_of", "not_one_of"):
            values = value if isinstance(value, list) else [v.strip() for v in str(value or "").split(",")]
            values = [str(v) for v in values if str(v) != ""]
            if not values:
                raise FilterError(f"condition {i}: {OPERATORS[op]} needs at least one value")
            value = values
        elif value in (None, ""):
            raise FilterError(f"condition {i}: {OPERATORS[op]} needs a value")
        else:
            value = str(value)
        out.append({"field": field, "operator": op, "value": value})
    if not out:
        raise FilterError("a filter needs at least one condition")
    return out


def _norm(v: Any) -> str:
    return "" if v is None else str(v).strip().lower()


def condition_holds(cond: dict[str, Any], record: dict) -> bool:
    actual = _norm(FIELDS[cond["field"]].get(record))
    op, value = cond["operator"], cond["value"]
    if op == "equals":
        return actual == _norm(value)
    if op == "not_equals":
        return actual != _norm(value)
    values = {_norm(v) for v in value}
    return (actual in values) if op == "one_of" else (actual not in values)


def describe_condition(cond: dict[str, Any], record: dict | None = None) -> str:
    value = cond["value"]
    shown = ", ".join(value) if isinstance(value, list) else value
    text = f"{FIELDS[cond['field']].label} {OPERATORS[cond['operator']].lower()} {shown}"
    if record is not None:
        text += f" (the record has {FIELDS[cond['field']].get(record)!r})"
    return text


@dataclass(frozen=True)
class Verdict:
    kept: bool
    filter_name: str | None = None
    reason: str = ""


def evaluate(filters: Iterable[Any], record: dict) -> Verdict:
    """`filters` are FlowFilter rows (or anything with name, match, conditions, enabled)."""
    for f in filters:
        if not getattr(f, "enabled", True):
            continue
        results = [(c, condition_holds(c, record)) for c in f.conditions]
        kept = all(ok for _, ok in results) if f.match == "all" else any(ok for _, ok in results)
        if not kept:
            failing = [c for c, ok in results if not ok]
            detail = (
                describe_condition(failing[0], record) if f.match == "all" else "none of its conditions hold"
            )
            return Verdict(False, f.name, f"filtered by {f.name!r}: {detail}")
    return Verdict(True)
