"""Settings categories for Shopify → Fortnox, as pydantic schemas.

Each field carries UI metadata in `json_schema_extra`: `widget` (dropdown, date, text, toggle, mapping),
`source` (the platform lookup that fills a dropdown, e.g. "fortnox:termsofpayments"), `required`
(must be saved before the flow may run) and `additional` (sits in the collapsed "Additional settings").
"""

from __future__ import annotations

from datetime import date
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, Field, ValidationError, field_validator, model_validator
from sqlmodel import Session, select

from engine import dates
from engine.errors import EngineError
from engine.platforms.fortnox_countries import EU_COUNTRY_CODES
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
    paid_gateways: dict[str, str] = Field(
        default_factory=dict,
        title="Automatically mark invoices as paid (payment gateway → Fortnox mode of payment)",
        json_schema_extra=_meta("mapping", additional=True, source="fortnox:modesofpayments"),
    )

    @field_validator("paid_gateways")
    @classmethod
    def _gateways(cls, value: dict[str, str]) -> dict[str, str]:
        out = {}
        for gateway, mode in value.items():
            if not gateway.strip() or not str(mode).strip():
                raise ValueError("name the gateway and its mode of payment, e.g. paypal → PP")
            out[gateway.strip()] = str(mode).strip()
        return out

    @model_validator(mode="after")
    def _booked_when_paid(self) -> InvoiceSettings:
        # Fortnox registers a payment only on a booked invoice.
        if self.paid_gateways and not self.bookkeep:
            raise ValueError(
                "invoices marked as paid must be booked: turn on “Book invoices automatically” or "
                "remove the gateways marked as paid"
            )
        return self


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


class OrderLines(Category):
    key = "order_lines"
    title = "Order Lines"
    description = (
        "Accounts for rows without a Fortnox article (custom items, gift cards, tips) and how shipping is "
        "booked. Every row reaches Fortnox with an article or an account."
    )
    sales_accounts: dict[str, str] = Field(
        default_factory=lambda: dict(DOMESTIC_SALES_ACCOUNTS),
        title="Sales account for lines without an article (VAT rate % → account)",
        json_schema_extra=_meta("mapping", source="fortnox:accounts"),
    )
    gift_card_account: str = Field(
        default="2421",
        title="Gift cards sold (a liability, no VAT)",
        json_schema_extra=_meta("dropdown", source="fortnox:accounts"),
    )
    tip_account: str = Field(
        default="3990", title="Tips (no VAT)", json_schema_extra=_meta("dropdown", source="fortnox:accounts")
    )
    shipping_as: Literal["freight", "row"] = Field(
        default="freight",
        title="Book domestic shipping as",
        json_schema_extra=_meta("dropdown") | {"choices": ["freight", "row"]},
    )
    shipping_accounts: dict[str, str] = Field(
        default_factory=lambda: {"25": "3520"},
        title="Shipping row account (VAT rate % → account; other rates use the sales accounts)",
        json_schema_extra=_meta("mapping", additional=True, source="fortnox:accounts"),
    )

    @field_validator("sales_accounts", "shipping_accounts")
    @classmethod
    def _rates(cls, value: dict[str, str]) -> dict[str, str]:
        return {_rate_key(k): _account(v) for k, v in value.items()}

    @field_validator("gift_card_account", "tip_account")
    @classmethod
    def _one_account(cls, value: str) -> str:
        return _account(value)


class SalesAccounts(Category):
    key = "sales_accounts"
    title = "Sales Account mapping & OSS VAT"
    description = (
        "Sales accounts for buyers outside Sweden. EU consumers under OSS: one account per country, "
        'optionally per VAT rate ("DE" or "DE 7"), and optionally its own shipping, fee and credit '
        "accounts. Import CSV takes a file with the header "
        "country,vat_rate,sales_account,shipping_account,fee_account,credit_account (`;` works too); "
        "vat_rate and the last three may be empty. The import replaces the whole OSS mapping, and "
        "saves nothing while any line is wrong."
    )
    oss_accounts: dict[str, str] = Field(
        default_factory=dict,
        title='OSS sales account per EU country ("DE" or "DE 7" → account)',
        json_schema_extra=_meta("mapping", source="fortnox:accounts"),
    )
    oss_shipping_accounts: dict[str, str] = Field(
        default_factory=dict,
        title="OSS shipping account (else the sales account)",
        json_schema_extra=_meta("mapping", additional=True, source="fortnox:accounts"),
    )
    oss_fee_accounts: dict[str, str] = Field(
        default_factory=dict,
        title="OSS fee account (payment provider fees of the country's sales)",
        json_schema_extra=_meta("mapping", additional=True, source="fortnox:accounts"),
    )
    oss_credit_accounts: dict[str, str] = Field(
        default_factory=dict,
        title="OSS credit account for refunds (else the sales account)",
        json_schema_extra=_meta("mapping", additional=True, source="fortnox:accounts"),
    )
    eu_reverse_charge_account: str = Field(
        default="3108",
        title="EU businesses with a VAT number (reverse charge, no VAT)",
        json_schema_extra=_meta("dropdown", source="fortnox:accounts"),
    )
    export_account: str = Field(
        default="3105",
        title="Buyers outside the EU (export, no VAT)",
        json_schema_extra=_meta("dropdown", source="fortnox:accounts"),
    )
    vat_number_attribute: str = Field(
        default="vat_number",
        title="Order attribute holding the buyer's VAT number",
        json_schema_extra=_meta("text", additional=True),
    )
    swedish_vat_for_eu_consumers: bool = Field(
        default=False,
        title="EU consumers pay Swedish VAT (below the OSS threshold, not registered for OSS)",
        json_schema_extra=_meta("toggle", additional=True),
    )

    @field_validator("oss_accounts", "oss_shipping_accounts", "oss_credit_accounts")
    @classmethod
    def _oss_sales(cls, value: dict[str, str]) -> dict[str, str]:
        return {oss_key(k): sales_account(v) for k, v in value.items()}

    @field_validator("oss_fee_accounts")
    @classmethod
    def _oss_fees(cls, value: dict[str, str]) -> dict[str, str]:
        return {oss_key(k): _account(v) for k, v in value.items()}

    @model_validator(mode="after")
    def _extras_have_sales(self) -> SalesAccounts:
        for kind, name in OSS_KINDS.items():
            if orphans := sorted(set(getattr(self, name)) - set(self.oss_accounts)):
                raise ValueError(f"{', '.join(orphans)}: a {kind} account needs an OSS sales account too")
        return self

    def oss_account(self, kind: str, country: str, rate: str | None = None) -> str | None:
        """The `kind` ("sales", "shipping", "fee", "credit") account of `country`: the one of its VAT
        `rate` (a settings key: "7", "25.5") when mapped, else the country's own."""
        accounts: dict[str, str] = getattr(self, OSS_KINDS[kind])
        return (accounts.get(f"{country} {rate}") if rate else None) or accounts.get(country)


# Which SalesAccounts field holds each kind of OSS account (the CSV's columns, in order).
OSS_KINDS = {
    "sales": "oss_accounts",
    "shipping": "oss_shipping_accounts",
    "fee": "oss_fee_accounts",
    "credit": "oss_credit_accounts",
}


def oss_fee_account(settings: IntegrationSettings, country: str, rate: str | None = None) -> str | None:
    """Where the payment provider's fees of an OSS sale to `country` go, when the mapping names an
    account for them (None: the payouts' own fee account)."""
    return settings.sales_accounts.oss_account("fee", country.upper(), rate)


def oss_key(text: str) -> str:
    """An OSS mapping key: an EU country code other than SE, optionally with a VAT rate ("DE 7")."""
    country, _, rate = str(text).strip().upper().partition(" ")
    if country not in EU_COUNTRY_CODES or country == "SE":
        raise ValueError(f"{text!r}: use an EU country code other than SE, e.g. DE or DE 7")
    return f"{country} {_rate_key(rate)}" if rate.strip() else country


class PayoutSettings(Category):
    """How one payment provider's payouts are booked (engine.flows.payout_booking); each provider has
    its own category, since each has its own receivable account and mode of payment."""

    mode_of_payment: str = Field(
        default="K",
        title="Mode of payment of the invoice payments",
        json_schema_extra=_meta("dropdown", source="fortnox:modesofpayments"),
    )
    payment_account: str = Field(
        default="1580",
        title="Payment account (what the provider owes you)",
        json_schema_extra=_meta("dropdown", source="fortnox:accounts"),
    )
    fee_account: str | None = Field(
        default="6570",
        title="Fee account (the provider's fees are written off to it)",
        json_schema_extra=_meta("dropdown", source="fortnox:accounts"),
    )
    bank_account: str = Field(
        default="1930",
        title="Bank account the payout reaches",
        json_schema_extra=_meta("dropdown", source="fortnox:accounts"),
    )
    interim_account: str | None = Field(
        default=None,
        title="Interim account for money on its way to the bank (19xx; empty: straight to the bank)",
        json_schema_extra=_meta("dropdown", additional=True, source="fortnox:accounts"),
    )
    # BAS 6351 "Konstaterade förluster på kundfordringar": a lost chargeback is a sale whose money
    # the buyer's bank took back, a customer loss; its fee goes to the fee account.
    dispute_account: str | None = Field(
        default="6351",
        title="Account for lost disputes (chargebacks); empty: such a payout waits",
        json_schema_extra=_meta("dropdown", additional=True, source="fortnox:accounts"),
    )
    # BAS 2890 "Övriga kortfristiga skulder": an order refunded in full before it was invoiced has no
    # invoice; its charge is owed back to the buyer until its refund leaves.
    unbilled_account: str | None = Field(
        default="2890",
        title="Account for the money of orders cancelled before invoicing; empty: such a payout waits",
        json_schema_extra=_meta("dropdown", additional=True, source="fortnox:accounts"),
    )
    # BAS 3960 / 7960 "Valutakursvinster/-förluster på fordringar": the provider converts the buyer's
    # money at its own rate, so what it settles differs from the invoice's kronor by that difference.
    exchange_gain_account: str | None = Field(
        default="3960",
        title="Exchange gains (the provider settled more than the invoice owed); empty: such a line fails",
        json_schema_extra=_meta("dropdown", additional=True, source="fortnox:accounts"),
    )
    exchange_loss_account: str | None = Field(
        default="7960",
        title="Exchange losses (the provider settled less than the invoice owed); empty: such a line fails",
        json_schema_extra=_meta("dropdown", additional=True, source="fortnox:accounts"),
    )
    other_lines_account: str | None = Field(
        default=None,
        title="Account for the provider's adjustments; empty: such a payout waits",
        json_schema_extra=_meta("dropdown", additional=True, source="fortnox:accounts"),
    )
    voucher_series: str = Field(
        default="A",
        title="Voucher series of the payout vouchers",
        json_schema_extra=_meta("dropdown", source="fortnox:voucherseries"),
    )
    match_reference: Literal["ExternalInvoiceReference1", "ExternalInvoiceReference2", "DocumentNumber"] = (
        Field(
            default="ExternalInvoiceReference1",
            title="Invoice field holding the order name the provider knows",
            json_schema_extra=_meta("dropdown", additional=True)
            | {"choices": ["ExternalInvoiceReference1", "ExternalInvoiceReference2", "DocumentNumber"]},
        )
    )
    bookkeep_payments: bool = Field(
        default=True, title="Book the invoice payments", json_schema_extra=_meta("toggle")
    )

    @field_validator("payment_account", "bank_account")
    @classmethod
    def _required_account(cls, value: str) -> str:
        return _account(value)

    @field_validator(
        "fee_account",
        "interim_account",
        "dispute_account",
        "unbilled_account",
        "other_lines_account",
        "exchange_gain_account",
        "exchange_loss_account",
    )
    @classmethod
    def _optional_account(cls, value: str | None) -> str | None:
        return _account(value) if value not in (None, "") else None


class StripePayouts(PayoutSettings):
    key = "payouts_stripe"
    title = "Payouts (Stripe)"
    description = (
        "Stripe payouts: each charge pays its invoice, each refund its credit invoice, fees are written off "
        "and the payout is booked to the bank."
    )


class ShopifyPaymentsPayouts(PayoutSettings):
    key = "payouts_shopify_payments"
    title = "Payouts (Shopify Payments)"
    description = (
        "Shopify Payments payouts: each charge pays its invoice, each refund its credit invoice, fees are "
        "written off and the payout is booked to the bank."
    )
    # Shopify owes what it collected on an account of its own, apart from Stripe's 1580.
    mode_of_payment: str = Field(
        default="SP",
        title="Mode of payment of the invoice payments",
        json_schema_extra=_meta("dropdown", source="fortnox:modesofpayments"),
    )
    payment_account: str = Field(
        default="1583",
        title="Payment account (what the provider owes you)",
        json_schema_extra=_meta("dropdown", source="fortnox:accounts"),
    )


# BAS 2026: sales within Sweden per VAT rate.
DOMESTIC_SALES_ACCOUNTS = {"25": "3001", "12": "3002", "6": "3003", "0": "3004"}


def _rate_key(text: str) -> str:
    """A VAT rate as the settings key it is saved under: "25", "25.5", "7" ("7 %" and "7,0" too)."""
    try:
        rate = float(str(text).replace("%", "").replace(",", ".").strip())
    except ValueError:
        raise ValueError(f"{text!r} is not a VAT rate in percent, e.g. 25 or 25.5") from None
    if not 0 <= rate < 100:
        raise ValueError(f"{text!r} is not a VAT rate in percent, e.g. 25 or 25.5")
    return f"{rate:g}"


def _account(text: str) -> str:
    value = str(text).strip()
    if not (value.isdigit() and len(value) == 4):
        raise ValueError(f"{text!r} is not a Fortnox account number (four digits, e.g. 3001)")
    return value


def sales_account(text: str) -> str:
    """A revenue account: BAS puts every sale in class 3 (3000–3999)."""
    value = _account(text)
    if not value.startswith("3"):
        raise ValueError(f"{text!r} is not a sales account (3000–3999 in BAS)")
    return value


CATEGORIES: dict[str, type[Category]] = {
    c.key: c
    for c in (
        OrderSettings,
        CustomerSettings,
        InvoiceSettings,
        OrderLines,
        ShippingMethods,
        PaymentMethods,
        SalesAccounts,
        StripePayouts,
        ShopifyPaymentsPayouts,
    )
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
    order_lines: OrderLines = Field(default_factory=OrderLines)
    sales_accounts: SalesAccounts = Field(default_factory=SalesAccounts)
    payouts_stripe: StripePayouts = Field(default_factory=StripePayouts)
    payouts_shopify_payments: ShopifyPaymentsPayouts = Field(default_factory=ShopifyPaymentsPayouts)


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
