"""Settings categories for Shopify → Fortnox, as pydantic schemas.

Each field carries UI metadata in `json_schema_extra`: `widget` (dropdown, date, text, toggle, mapping),
`source` (the platform lookup that fills a dropdown, e.g. "fortnox:termsofpayments"), `required`
(must be saved before the flow may run) and `additional` (sits in the collapsed "Additional settings").
"""

from __future__ import annotations

from datetime import date
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, Field, ValidationError
from sqlmodel import Session, select

from engine import dates
from engine.errors import EngineError
from engine.store.models import Setting, utcnow


def _meta(
    widget: str, *, required: bool = False, additional: bool = False, source: str | None = None
) -> dict:
    return {"widget": widget, "required": required, "additional": additional, "source": source}


class Category(BaseModel):
    key: ClassVar[str]
    title: ClassVar[str]
    description: ClassVar[str]


class OrderSettings(Category):
    key = "order"
    title = "Order Settings"
    description = "How orders are handled during sync."
    exclusion_date: date | None = Field(
        default=None,
        title="Exclude orders created before this date",
        json_schema_extra=_meta("date", required=True),
    )
    use_presentment_currency: bool = Field(
        default=False,
        title="Use presentment currency",
        json_schema_extra=_meta("toggle", additional=True),
    )


class CustomerSettings(Category):
    key = "customer"
    title = "Customer Settings"
    description = "How customers are matched or created in Fortnox, and defaults for missing fields."
    mode: Literal["match_existing", "always_create"] = Field(
        default="match_existing",
        title="Existing customers",
        json_schema_extra=_meta("dropdown") | {"choices": ["match_existing", "always_create"]},
    )
    default_name: str = Field(
        default="", title="Default customer name when the order has none", json_schema_extra=_meta("text")
    )
    default_email: str = Field(
        default="",
        title="Default customer email when the order has none",
        json_schema_extra=_meta("text", additional=True),
    )
    default_country_code: str = Field(
        default="SE", title="Default country code", json_schema_extra=_meta("text")
    )
    customer_type: Literal["PRIVATE", "COMPANY"] = Field(
        default="PRIVATE",
        title="Customer type",
        json_schema_extra=_meta("dropdown", additional=True) | {"choices": ["PRIVATE", "COMPANY"]},
    )


class InvoiceSettings(Category):
    key = "invoice"
    title = "Invoice Settings"
    description = "How invoices are created from orders and whether they are booked."
    create_invoice_when_paid: bool = Field(
        default=True, title="Create invoice when the order is paid", json_schema_extra=_meta("toggle")
    )
    bookkeep: bool = Field(
        default=True, title="Book invoices automatically", json_schema_extra=_meta("toggle")
    )
    vat_included: bool = Field(
        default=True, title="VAT included in order rows", json_schema_extra=_meta("toggle", additional=True)
    )


class ShippingMethods(Category):
    key = "shipping"
    title = "Shipping Methods"
    description = "Shopify shipping method name → Fortnox way of delivery."
    mapping: dict[str, str] = Field(
        default_factory=dict,
        title="Shipping method → way of delivery",
        json_schema_extra=_meta("mapping", source="fortnox:wayofdeliveries"),
    )
    default_way_of_delivery: str | None = Field(
        default=None,
        title="Way of delivery when no mapping matches",
        json_schema_extra=_meta("dropdown", source="fortnox:wayofdeliveries"),
    )


class PaymentMethods(Category):
    key = "payment"
    title = "Payment Methods"
    description = "Shopify payment gateway → Fortnox terms of payment."
    mapping: dict[str, str] = Field(
        default_factory=dict,
        title="Payment gateway → terms of payment",
        json_schema_extra=_meta("mapping", source="fortnox:termsofpayments"),
    )
    default_terms_of_payment: str | None = Field(
        default=None,
        title="Default terms of payment",
        json_schema_extra=_meta("dropdown", source="fortnox:termsofpayments"),
    )


CATEGORIES: dict[str, type[Category]] = {
    c.key: c for c in (OrderSettings, CustomerSettings, InvoiceSettings, ShippingMethods, PaymentMethods)
}


class SettingsError(EngineError, ValueError):
    """Values an operator typed that don't fit the schema (BAD_INPUT); `errors` maps field → message."""

    def __init__(self, category: str, errors: dict[str, str]) -> None:
        self.category = category
        self.errors = errors
        super().__init__("BAD_INPUT", "; ".join(f"{k}: {v}" for k, v in errors.items()))


class IntegrationSettings(BaseModel):
    order: OrderSettings = Field(default_factory=OrderSettings)
    customer: CustomerSettings = Field(default_factory=CustomerSettings)
    invoice: InvoiceSettings = Field(default_factory=InvoiceSettings)
    shipping: ShippingMethods = Field(default_factory=ShippingMethods)
    payment: PaymentMethods = Field(default_factory=PaymentMethods)


def _field_meta(model: type[Category], name: str) -> dict[str, Any]:
    extra = model.model_fields[name].json_schema_extra
    return dict(extra) if isinstance(extra, dict) else {}


def load(session: Session, integration_id: int) -> IntegrationSettings:
    rows = session.exec(select(Setting).where(Setting.integration_id == integration_id)).all()
    by_cat: dict[str, dict[str, Any]] = {}
    for row in rows:
        by_cat.setdefault(row.category, {})[row.key] = row.value
    return IntegrationSettings(**{k: CATEGORIES[k](**v) for k, v in by_cat.items() if k in CATEGORIES})


def save_category(session: Session, integration_id: int, category: str, values: dict[str, Any]) -> Category:
    """Validate and save one category (the per-category Save button); unknown keys are refused."""
    model = CATEGORIES.get(category)
    if model is None:
        raise SettingsError(category, {"category": f"unknown category {category!r}"})
    unknown = set(values) - set(model.model_fields)
    if unknown:
        raise SettingsError(category, {k: "not a setting of this category" for k in sorted(unknown)})
    current = load(session, integration_id)
    merged = getattr(current, category).model_dump() | values
    try:
        parsed = model(**merged)
    except ValidationError as exc:
        raise SettingsError(
            category, {".".join(str(p) for p in e["loc"]) or category: e["msg"] for e in exc.errors()}
        ) from exc
    for name, meta in ((n, _field_meta(model, n)) for n in model.model_fields):
        value = getattr(parsed, name)
        if meta.get("required") and value in (None, ""):
            raise SettingsError(category, {name: "This setting is required and must be saved."})
        # Checked on save only: a date saved before the bounds existed must still load.
        if meta.get("widget") == "date" and isinstance(value, date):
            title = model.model_fields[name].title or name
            if (text := dates.problem(value, f"“{title}”")) is not None:
                raise SettingsError(category, {name: text})
    now = utcnow()
    existing = {
        r.key: r
        for r in session.exec(
            select(Setting).where(Setting.integration_id == integration_id, Setting.category == category)
        )
    }
    for name, value in parsed.model_dump(mode="json").items():
        row = existing.get(name) or Setting(integration_id=integration_id, category=category, key=name)
        row.value = value
        row.saved_at = now
        session.add(row)
    session.commit()
    return parsed


def missing_required(session: Session, integration_id: int) -> list[tuple[str, str, str]]:
    """(category, field, label) of every required setting not yet saved with a value."""
    saved = {
        (r.category, r.key): r
        for r in session.exec(select(Setting).where(Setting.integration_id == integration_id))
    }
    missing = []
    for cat, model in CATEGORIES.items():
        for name, info in model.model_fields.items():
            if not _field_meta(model, name).get("required"):
                continue
            row = saved.get((cat, name))
            if row is None or row.saved_at is None or row.value in (None, ""):
                missing.append((cat, name, f"{model.title} › {info.title}"))
    return missing


def describe() -> list[dict[str, Any]]:
    """Categories and fields for the console and `junipeer settings` (no values)."""
    out = []
    for cat, model in CATEGORIES.items():
        fields = []
        for name, info in model.model_fields.items():
            meta = _field_meta(model, name)
            fields.append(
                {
                    "name": name,
                    "title": info.title,
                    "widget": meta.get("widget", "text"),
                    "required": bool(meta.get("required")),
                    "additional": bool(meta.get("additional")),
                    "source": meta.get("source"),
                    "choices": meta.get("choices"),
                }
            )
        out.append({"key": cat, "title": model.title, "description": model.description, "fields": fields})
    return out
