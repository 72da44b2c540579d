"""The demo shop's orders that aren't plain goods to consumers: business buyers with a VAT number,
custom items without a SKU, tips and gift cards, in the shapes Shopify's REST API gives them.

- A business buyer has a company on its addresses and gave its VAT number at checkout, which the
  order carries as the cart attribute `vat_number` (`note_attributes`). An EU business outside Sweden
  is exempt from VAT in Shopify (customer tax exemption EU_REVERSE_CHARGE_EXEMPTION_RULE), so its
  lines and shipping carry no tax lines; a Swedish business pays Swedish VAT as anyone else.
- A custom item is a line with no product, no variant and `sku` null or "", taxed as any other line.
- A tip is a line titled "Tip" with `tip_payment_gateway`, no product, not taxable, and the order's
  `total_tip_received`; `subtotal_price` excludes it, `total_price` includes it.
- A gift card is a line with `gift_card: true`, no tax lines and nothing to ship.

Applied after the main generation with a random stream of its own, to orders that are paid and have
no refund, so every other order, and the main stream's sequence, stays as it was.
"""

from __future__ import annotations

import random
from typing import Any

from engine.sandbox.generator import COUNTRIES, OrderFactory, OrderRecord, price_in, tax_title
from engine.sandbox.order_money import pair, put, recompute_totals, tax_lines

SHARE = 0.04  # of the eligible orders (customers, for business buyers) each situation gets

COMPANIES = {
    "SE": ("Bergström Interiör AB", "Fika & Co AB"),
    "DE": ("Hafenlicht GmbH", "Nordwaren GmbH"),
    "NL": ("Atelier Noord B.V.", "Huis & Haard B.V."),
    "FI": ("Kauppa Oy", "Saaristo Design Oy"),
    "DK": ("Nordisk Hjem ApS", "Fjord Design ApS"),
}

CUSTOM_ITEMS: tuple[tuple[str, int], ...] = (("Presentinslagning", 49), ("Monogram, handsydd", 149))
GIFT_CARD_SEK = (250, 500, 1000)
TIP_SEK = (20, 50, 100)


def _vat_number(country: str, rng: random.Random) -> str:
    digits = "".join(str(rng.randint(0, 9)) for _ in range(10))
    if country == "SE":
        return f"SE{digits}01"
    if country == "NL":
        return f"NL{digits[:9]}B01"
    return {"DE": f"DE{digits[:9]}", "FI": f"FI{digits[:8]}", "DK": f"DK{digits[:8]}"}[country]


def _eligible(record: OrderRecord) -> bool:
    order = record.data
    # Orders whose buyer data Shopify withholds have no address to put a company on.
    paid = order["financial_status"] == "paid" and not order["cancelled_at"] and not order["refunds"]
    return paid and bool(order.get("shipping_address"))


class _Lines:
    """Line ids of their own, so the order factory's id sequence stays as it was."""

    def __init__(self) -> None:
        self.next_id = 13_900_000_000

    def new(self, title: str, price_cents: int, currency: str, **fields: Any) -> dict[str, Any]:
        """A line priced `price_cents` in the buyer's `currency` (its shop-currency twin derived)."""
        self.next_id += 1
        line = {
            "id": self.next_id,
            "admin_graphql_api_id": f"gid://shopify/LineItem/{self.next_id}",
            "variant_id": None,
            "product_id": None,
            "sku": None,
            "title": title,
            "variant_title": None,
            "name": title,
            "vendor": None,
            "quantity": 1,
            "discount_allocations": [],
            "requires_shipping": False,
            "taxable": False,
            "gift_card": False,
            "fulfillment_status": None,
            "fulfillable_quantity": 1,
            "grams": 0,
            "tax_lines": [],
            **fields,
        }
        put(line, "price", price_cents, currency)
        put(line, "total_discount", 0, currency)
        return line


def _custom_item(order: dict[str, Any], lines: _Lines, rng: random.Random, empty_sku: bool) -> None:
    title, sek = rng.choice(CUSTOM_ITEMS)
    cur = order["presentment_currency"]
    country = order["shipping_address"]["country_code"]
    rate = COUNTRIES[country].rates["standard"]
    price = price_in(cur, sek)
    line = lines.new(title, price, cur, sku="" if empty_sku else None, taxable=True, requires_shipping=True)
    line["tax_lines"] = tax_lines(tax_title(country), rate, price, cur)
    order["line_items"].append(line)


def _gift_card(order: dict[str, Any], lines: _Lines, rng: random.Random) -> None:
    cur = order["presentment_currency"]
    price = price_in(cur, rng.choice(GIFT_CARD_SEK))
    order["line_items"].append(lines.new("Presentkort", price, cur, gift_card=True))


def _tip(order: dict[str, Any], lines: _Lines, rng: random.Random) -> None:
    cur = order["presentment_currency"]
    price = price_in(cur, rng.choice(TIP_SEK))
    order["line_items"].append(
        lines.new("Tip", price, cur, tip_payment_gateway=order["gateway"], tip_payment_method="card")
    )


def _tips_apart(order: dict[str, Any]) -> None:
    """Shopify keeps tips out of the subtotal and reports them on their own."""
    cur = order["presentment_currency"]
    tips = [pair(li, "price") for li in order["line_items"] if li.get("tip_payment_gateway")]
    shop, buyer = sum(t[0] for t in tips), sum(t[1] for t in tips)
    order["total_tip_received"] = f"{shop / 100:.2f}"
    if tips:
        subtotal = pair(order, "subtotal_price")
        put(order, "subtotal_price", subtotal[1] - buyer, cur, subtotal[0] - shop)


def _business(order: dict[str, Any], company: str, vat_number: str) -> None:
    country = order["shipping_address"]["country_code"]
    for address in (order["billing_address"], order["shipping_address"]):
        address["company"] = company
    order["note_attributes"] = [*order["note_attributes"], {"name": "vat_number", "value": vat_number}]
    if country != "SE":
        order["customer"]["tax_exemptions"] = ["EU_REVERSE_CHARGE_EXEMPTION_RULE"]
        for holder in (*order["line_items"], *order["shipping_lines"]):
            holder["tax_lines"] = []


def add_situations(records: list[OrderRecord], factory: OrderFactory, seed: int) -> None:
    """Turn a few paid orders into the situations above (deterministic for a seed). Call it once the
    shop has listed its customers: business buyers leave the factory's random picks, since an order
    the factory makes later would carry neither their company nor their VAT number."""
    rng = random.Random(f"{seed}:buyers-and-lines")
    eligible = [r for r in records if _eligible(r)]
    if not eligible:
        return
    count = max(1, round(len(eligible) * SHARE))
    lines = _Lines()
    touched: set[int] = set()

    by_customer: dict[int, list[OrderRecord]] = {}
    for record in records:
        by_customer.setdefault(record.data["customer"]["id"], []).append(record)
    # A business is a customer: all its orders are B2B, so its Fortnox customer has one VAT type.
    candidates = sorted(
        cid
        for cid, orders in by_customer.items()
        if all(_eligible(r) for r in orders)
        and len(countries := {r.data["shipping_address"]["country_code"] for r in orders}) == 1
        and countries <= set(COMPANIES)
    )
    businesses = set(rng.sample(candidates, min(len(candidates), count)))
    for cid in sorted(businesses):
        country = by_customer[cid][0].data["shipping_address"]["country_code"]
        company, number = rng.choice(COMPANIES[country]), _vat_number(country, rng)
        for record in by_customer[cid]:
            _business(record.data, company, number)
            touched.add(record.id)
    factory.customers[:] = [c for c in factory.customers if c["id"] not in businesses]

    plain = [r for r in eligible if r.id not in touched]
    for situation in ("custom", "custom_empty_sku", "tip", "gift_card"):
        for record in rng.sample(plain, min(len(plain), count)):
            if situation == "tip":
                _tip(record.data, lines, rng)
            elif situation == "gift_card":
                _gift_card(record.data, lines, rng)
            else:
                _custom_item(record.data, lines, rng, empty_sku=situation == "custom_empty_sku")
            touched.add(record.id)
    for record in records:
        if record.id in touched:
            recompute_totals(record.data)
            _tips_apart(record.data)
