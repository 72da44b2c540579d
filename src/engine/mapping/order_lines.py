"""How each Shopify line becomes a Fortnox row that Fortnox can book: an article or an account, and a
VAT rate the company has.

Per line:
- a gift card (`gift_card: true`) is money received for a future purchase, a liability and not
  revenue; a multi-purpose voucher carries no VAT when sold (BAS 2421 Ej inlösta presentkort);
- a tip (a line with `tip_payment_gateway`) is voluntary, so outside VAT; booked to its own account;
- any other line keeps its SKU as the article, and gets an account when the sale is not an ordinary
  Swedish one or when there is no SKU (custom items).

Per buyer (see `engine.mapping.vat`): a Swedish sale keeps Shopify's rate and, for lines without an
article, the Order Lines account for that rate. An EU consumer's rows keep the destination rate Shopify
charged and go to the country's OSS account (Sales Account mapping & OSS VAT), where Fortnox books the
VAT under that account's own VAT code; without a mapping the order stops with
OSS_COUNTRY_TAX_MAPPING_MISSING rather than booking German VAT as Swedish. EU businesses with a VAT
number and buyers outside the EU are booked at 0 % to the reverse-charge and export accounts; when
Shopify charged them VAT anyway the order stops, since the invoice can't both carry no VAT and equal
what the buyer paid.

Shipping stays Fortnox's `Freight` for Swedish sales unless Order Lines says "row". Freight is booked
by Fortnox at the Swedish rate on its freight account, which is wrong for every other buyer, so for
them shipping always becomes a row on the same account as their goods (an OSS sale's on the country's
shipping account, when the mapping names one). Refunds of an OSS sale are credited on the country's
credit account when the mapping names one (`Booking.credit_account`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from engine.errors import EngineError
from engine.mapping import vat
from engine.mapping.settings import IntegrationSettings
from engine.platforms.fortnox_countries import FORTNOX_COUNTRY_NAMES

GIFT_CARD, TIP, GOODS = "gift_card", "tip", "goods"


def line_kind(line: dict[str, Any]) -> str:
    if line.get("gift_card"):
        return GIFT_CARD
    if line.get("tip_payment_gateway"):
        return TIP
    return GOODS


def vat_percent(tax_lines: list[dict[str, Any]] | None) -> float:
    """The rate Shopify charged, in percent (tax lines carry fractions: 0.255 → 25.5)."""
    return round(sum(float(t.get("rate") or 0) for t in tax_lines or []) * 100, 2)


def _charged_as_swedish(order: dict[str, Any]) -> bool:
    """Whether every taxable line (and the shipping) carries a Swedish VAT rate."""
    lines = order.get("line_items") or []
    holders = [li for li in lines if line_kind(li) == GOODS and li.get("taxable", True)]
    holders += [s for s in order.get("shipping_lines") or [] if s.get("tax_lines")]
    return all(vat_percent(h.get("tax_lines")) in vat.SWEDISH_RATES for h in holders)


def _key(rate: float) -> str:
    return f"{rate:g}"


@dataclass(frozen=True)
class Booking:
    """The buyer's VAT situation for one order, and the accounts its rows go to."""

    settings: IntegrationSettings
    country: str
    vat_type: str
    vat_number: str | None
    destination_known: bool = True  # False: Shopify withheld the addresses; `country` is the default

    @classmethod
    def of(cls, settings: IntegrationSettings, order: dict[str, Any]) -> Booking:
        known = vat.destination_given(order)
        country = vat.destination_country(order, settings.customer.default_country_code)
        number = vat.buyer_vat_number(order, settings.sales_accounts.vat_number_attribute)
        return cls(settings, country, vat.vat_type(country, number), number, known)

    @property
    def domestic(self) -> bool:
        """Booked as an ordinary Swedish sale: Swedish buyers, and EU consumers of a shop that is
        not registered for OSS (below the threshold it charges Swedish VAT)."""
        return self.vat_type == vat.SEVAT or (
            self.vat_type == vat.EUVAT and self.settings.sales_accounts.swedish_vat_for_eu_consumers
        )

    def check(self, order: dict[str, Any]) -> None:
        """Raise the coded error the order would end in, before anything is created in Fortnox."""
        if not self.destination_known and not _charged_as_swedish(order):
            # Without the address, the default country is a guess that Shopify's own taxes deny: the
            # goods went abroad (an export, an EU sale), and booking them as Swedish would be wrong.
            raise EngineError(
                "DESTINATION_WITHHELD",
                "Shopify withheld the buyer's addresses and did not charge Swedish VAT, so where the "
                f"goods went (and how to book the sale) is unknown; the default country {self.country} "
                "does not fit",
            )
        for line in order.get("line_items") or []:
            self.row(line, {"Description": line.get("title")})
        self.shipping_row(order.get("shipping_lines") or [], 1.0)

    def row(self, line: dict[str, Any], row: dict[str, Any]) -> dict[str, Any]:
        """`row` (quantities, price, discount) completed with its article or account and VAT."""
        kind = line_kind(line)
        lines = self.settings.order_lines
        sku = (line.get("sku") or "").strip()
        if kind == GIFT_CARD:
            return {**row, "AccountNumber": lines.gift_card_account, "VAT": 0}
        if kind == TIP:
            return {**row, "AccountNumber": lines.tip_account, "VAT": 0}
        rate = vat_percent(line.get("tax_lines"))
        booked = {**row, "VAT": _vat(rate, self)}
        if sku:
            booked["ArticleNumber"] = sku
        if not (self.domestic and sku):
            # An article's own sales account is its Swedish one; every other sale names its account.
            what = f"line {line.get('title') or sku or '?'!r}"
            booked["AccountNumber"] = self._account(rate, lines.sales_accounts, what)
        return booked

    def shipping_row(self, shipping_lines: list[dict[str, Any]], amount: float) -> dict[str, Any] | None:
        """Shipping as a row, or None when it stays Fortnox's Freight (or there is none)."""
        if not shipping_lines or not amount:
            return None
        if self.domestic and self.settings.order_lines.shipping_as == "freight":
            return None
        rate = vat_percent([t for s in shipping_lines for t in s.get("tax_lines") or []])
        lines = self.settings.order_lines
        by_rate = {**lines.sales_accounts, **lines.shipping_accounts}
        title = str(shipping_lines[0].get("title") or "Frakt")
        account = self._account(rate, by_rate, f"shipping {title!r}")
        if self._oss:
            account = (
                self.settings.sales_accounts.oss_account("shipping", self.country, _key(rate)) or account
            )
        return {
            "Description": title[:50],
            "OrderedQuantity": 1,
            "DeliveredQuantity": 1,
            "Price": round(amount, 2),
            "VAT": _vat(rate, self),
            "AccountNumber": account,
        }

    @property
    def _oss(self) -> bool:
        """An EU consumer's sale booked under OSS, on the country's own accounts."""
        return self.vat_type == vat.EUVAT and not self.domestic

    def credit_account(self, row: dict[str, Any]) -> str | None:
        """The account a credit of the invoice `row` goes to instead of the row's own: the OSS
        country's credit account for the row's VAT rate, for rows on one of the country's OSS sales or
        shipping accounts (gift cards and tips keep theirs). None: the row's own account."""
        if not self._oss:
            return None
        sales, rate = self.settings.sales_accounts, _key(float(row.get("VAT") or 0))
        own = {sales.oss_account(kind, self.country, rate) for kind in ("sales", "shipping")}
        if str(row.get("AccountNumber") or "") not in own:
            return None
        return sales.oss_account("credit", self.country, rate)

    def _account(self, rate: float, domestic_by_rate: dict[str, str], what: str) -> str:
        sales = self.settings.sales_accounts
        if self.domestic:
            account = domestic_by_rate.get(_key(rate))
            if account is None:
                raise EngineError(
                    "ORDER_LINE_ACCOUNT_MISSING",
                    f"no sales account for {rate:g} % VAT in Order Lines ({what} has no Fortnox article)",
                )
            return account
        if self.vat_type == vat.EUVAT:
            account = sales.oss_account("sales", self.country, _key(rate))
            if account is None:
                name = FORTNOX_COUNTRY_NAMES.get(self.country, self.country)
                raise EngineError(
                    "OSS_COUNTRY_TAX_MAPPING_MISSING",
                    f"no OSS sales account for {name} ({self.country}) at {rate:g} % VAT "
                    "in Sales Account mapping & OSS VAT",
                )
            return account
        if rate:
            situation = (
                f"an EU business with VAT number {self.vat_number}"
                if self.vat_type == vat.EUREVERSEDVAT
                else f"a buyer outside the EU ({self.country})"
            )
            raise EngineError(
                "VAT_CHARGED_ON_ZERO_RATED_SALE",
                f"Shopify charged {rate:g} % VAT on {what}, but the sale to {situation} carries no VAT",
            )
        return sales.eu_reverse_charge_account if self.vat_type == vat.EUREVERSEDVAT else sales.export_account


def _vat(rate: float, booking: Booking) -> float | int:
    """Rows of reverse-charge and export sales carry 0 %; others Shopify's rate (25.0 sent as 25)."""
    if booking.vat_type in (vat.EUREVERSEDVAT, vat.EXPORT):
        return 0
    return int(rate) if rate == int(rate) else rate
