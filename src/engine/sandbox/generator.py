"""Seeded demo data: a Shopify shop (products, customers, orders) and the matching Fortnox articles.

Everything derives from one `random.Random(seed)` and an explicit `now`, so two runs with the same seed
and `now` produce identical data. Money is kept in integer minor units and rendered as strings only
when it becomes Shopify JSON, the way Shopify sends it.

Simplification: every order is priced in its presentment currency and `currency` equals
`presentment_currency`, so shop_money and presentment_money carry the same amounts.
"""

from __future__ import annotations

import random
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from engine.sandbox.withheld import WITHHELD_SHARE, withhold_customer_data

SHOP_TZ = timezone(timedelta(hours=1))
SHOP_DOMAIN = "junipeer-demo.myshopify.com"
LOCATION_ID = 61_000_000_001
DAY = 86_400.0

# SEK per unit of the currency; also what the Fortnox currency lookup reports.
FX_TO_SEK: dict[str, float] = {"SEK": 1.0, "EUR": 11.50, "NOK": 0.98, "USD": 10.80, "DKK": 1.54}


@dataclass(frozen=True)
class Country:
    code: str
    name: str
    currency: str
    weight: int
    rates: dict[str, float]  # product category -> VAT rate the shop charges for that destination
    shipping: tuple[tuple[str, int], ...]  # (title, price in minor units of the currency)
    cities: tuple[tuple[str, str], ...]
    first_names: tuple[str, ...]
    last_names: tuple[str, ...]
    phone_prefix: str


COUNTRIES: dict[str, Country] = {
    c.code: c
    for c in (
        Country(
            "SE",
            "Sweden",
            "SEK",
            55,
            {"standard": 0.25, "food": 0.12, "books": 0.06},
            (
                ("PostNord MyPack Collect", 4900),
                ("Budbee Home", 5900),
                ("Instabox", 3900),
                ("DHL Express", 14900),
            ),
            (("Stockholm", "114 35"), ("Göteborg", "411 05"), ("Malmö", "211 22"), ("Uppsala", "753 20")),
            ("Anna", "Erik", "Maja", "Lars", "Karin", "Oskar", "Elsa", "Johan"),
            ("Andersson", "Johansson", "Karlsson", "Nilsson", "Lindqvist", "Öberg"),
            "+4670",
        ),
        Country(
            "NO",
            "Norway",
            "NOK",
            10,
            {"standard": 0.0, "food": 0.0, "books": 0.0},
            (("PostNord MyPack Collect", 9900), ("DHL Express", 19900)),
            (("Oslo", "0150"), ("Bergen", "5003"), ("Trondheim", "7010")),
            ("Ingrid", "Ola", "Kari", "Henrik", "Sigrid"),
            ("Hansen", "Olsen", "Berg", "Haugen", "Bakke"),
            "+4790",
        ),
        Country(
            "DK",
            "Denmark",
            "EUR",
            8,
            {"standard": 0.25, "food": 0.25, "books": 0.25},
            (("PostNord MyPack Collect", 790), ("DHL Express", 1990)),
            (("København", "1050"), ("Aarhus", "8000"), ("Odense", "5000")),
            ("Mette", "Søren", "Freja", "Mads", "Ida"),
            ("Jensen", "Nielsen", "Hansen", "Pedersen", "Møller"),
            "+4520",
        ),
        Country(
            "FI",
            "Finland",
            "EUR",
            8,
            {"standard": 0.255, "food": 0.14, "books": 0.10},
            (("PostNord MyPack Collect", 790), ("Budbee Home", 690), ("DHL Express", 1990)),
            (("Helsinki", "00100"), ("Espoo", "02100"), ("Tampere", "33100")),
            ("Aino", "Mikko", "Venla", "Juha", "Eveliina"),
            ("Korhonen", "Virtanen", "Mäkinen", "Nieminen"),
            "+35840",
        ),
        Country(
            "DE",
            "Germany",
            "EUR",
            9,
            {"standard": 0.19, "food": 0.07, "books": 0.07},
            (("DHL Express", 1490), ("UPS Standard", 990)),
            (("Berlin", "10115"), ("Hamburg", "20095"), ("München", "80331")),
            ("Lena", "Jonas", "Sophie", "Lukas", "Marie"),
            ("Müller", "Schmidt", "Schneider", "Fischer", "Weber"),
            "+49151",
        ),
        Country(
            "NL",
            "Netherlands",
            "EUR",
            5,
            {"standard": 0.21, "food": 0.09, "books": 0.09},
            (("Budbee Home", 690), ("UPS Standard", 990)),
            (("Amsterdam", "1012 AB"), ("Rotterdam", "3011 AD"), ("Utrecht", "3511 AA")),
            ("Emma", "Daan", "Tess", "Bram", "Julia"),
            ("de Jong", "Jansen", "de Vries", "Bakker", "Visser"),
            "+316",
        ),
        Country(
            "US",
            "United States",
            "USD",
            5,
            {"standard": 0.0, "food": 0.0, "books": 0.0},
            (("UPS Standard", 1990), ("DHL Express", 2990)),
            (("New York", "10001"), ("Portland", "97201"), ("Austin", "73301")),
            ("Emily", "Michael", "Olivia", "James", "Ava"),
            ("Smith", "Johnson", "Brown", "Miller", "Davis"),
            "+1212",
        ),
    )
}

# Every VAT percent an order can carry; the Fortnox sandbox accepts exactly these.
VAT_PERCENTS: frozenset[float] = frozenset(
    round(rate * 100, 2) for c in COUNTRIES.values() for rate in c.rates.values()
) | {25.0, 12.0, 6.0, 0.0}

SHIPPING_METHODS: dict[str, str] = {
    # Fortnox way-of-delivery code -> Shopify shipping line title
    "PN": "PostNord MyPack Collect",
    "DHL": "DHL Express",
    "BUD": "Budbee Home",
    "IBX": "Instabox",
    "UPS": "UPS Standard",
}

# (code prefix, title, category, SEK price, variant-axis values, variant values, price multipliers)
_PRODUCT_TEMPLATES: tuple[
    tuple[str, str, str, int, tuple[str, ...], tuple[str, ...], tuple[float, ...]], ...
] = (
    ("TEE-ORG", "Organic Tee", "standard", 299, ("BLK", "WHT", "NVY"), ("S", "M", "L", "XL"), (1, 1, 1, 1)),
    ("HOOD-MER", "Merino Hoodie", "standard", 899, ("GRY", "BLK"), ("S", "M", "L", "XL"), (1, 1, 1, 1)),
    ("SOCK-WOOL", "Wool Socks", "standard", 129, ("GRY", "RED"), ("S", "M", "L"), (1, 1, 1)),
    ("CAP-CORD", "Corduroy Cap", "standard", 249, ("BRN", "GRN"), ("OS",), (1,)),
    ("TOTE-CANV", "Canvas Tote", "standard", 199, ("NAT",), ("OS",), (1,)),
    ("MUG-STN", "Stoneware Mug", "standard", 189, ("BLU", "WHT"), ("OS",), (1,)),
    ("CANDLE-SOY", "Soy Candle", "standard", 249, ("PINE", "FIG", "AMBR"), ("OS",), (1,)),
    ("BLNKT-WOOL", "Wool Blanket", "standard", 1290, ("GRY", "OCH"), ("OS",), (1,)),
    ("BOTTLE-STL", "Steel Bottle", "standard", 349, ("SLV",), ("500ML", "750ML"), (1, 1.2)),
    ("SCARF-LIN", "Linen Scarf", "standard", 399, ("BEI", "BLU", "SAGE"), ("OS",), (1,)),
    ("BEANIE-RIB", "Rib Beanie", "standard", 229, ("BLK", "MUS", "CRM"), ("OS",), (1,)),
    ("POSTER-PRT", "Art Print", "standard", 249, ("FJALL", "HAV"), ("30X40", "50X70"), (1, 1.8)),
    ("COFFEE-BEAN", "Coffee Beans", "food", 159, ("ETH", "COL", "BRA"), ("250G", "1KG"), (1, 3.5)),
    ("TEA-LOOSE", "Loose Tea", "food", 119, ("GRN", "BLK", "CHAM"), ("100G",), (1,)),
    ("CHOC-BAR", "Chocolate Bar", "food", 49, ("DARK", "MILK", "SALT"), ("80G",), (1,)),
    ("HONEY-RAW", "Raw Honey", "food", 139, ("WILD",), ("350G",), (1,)),
    ("BOOK-COOK", "Cookbook", "books", 349, ("NORD", "FIKA"), ("HC",), (1,)),
    ("BOOK-TRAVEL", "Travel Guide", "books", 279, ("LAPL", "GOTL"), ("PB",), (1,)),
)

# Custom line items whose SKUs have no Fortnox article: they make ARTICLE_NOT_FOUND errors reproducible.
UNKNOWN_SKUS: tuple[tuple[str, str, int], ...] = (
    ("ENGRAVING-TEXT", "Custom engraving", 99),
    ("GIFTBOX-DELUXE", "Deluxe gift box", 79),
    ("TEE-ORG-BLK-XXXL", "Organic Tee - Black / XXXL", 299),
)
UNKNOWN_SKU_SHARE = 0.02

DISCOUNT_CODES: tuple[tuple[str, float], ...] = (("WELCOME10", 0.10), ("BLACKWEEK15", 0.15))
GATEWAYS: tuple[tuple[str, int], ...] = (("stripe", 60), ("klarna", 25), ("paypal", 15))
FINANCIAL_WEIGHTS: tuple[tuple[str, int], ...] = (
    ("paid", 78),
    ("pending", 4),
    ("authorized", 6),
    ("partially_refunded", 6),
    ("refunded", 6),
)
CANCELLED_SHARE = 0.05


def money(cents: int) -> str:
    sign = "-" if cents < 0 else ""
    cents = abs(cents)
    return f"{sign}{cents // 100}.{cents % 100:02d}"


def cents_of(value: Any) -> int:
    """Parse "199.00" / 199 / 199.5 into minor units without float drift for string input."""
    text = str(value).strip()
    neg = text.startswith("-")
    text = text.lstrip("+-")
    whole, _, frac = text.partition(".")
    frac = (frac + "00")[:2]
    cents = int(whole or "0") * 100 + int(frac or "0")
    return -cents if neg else cents


def money_set(cents: int, currency: str) -> dict[str, Any]:
    amount = {"amount": money(cents), "currency_code": currency}
    return {"shop_money": dict(amount), "presentment_money": dict(amount)}


def iso(ts: float) -> str:
    return datetime.fromtimestamp(int(ts), SHOP_TZ).isoformat()


def price_in(currency: str, sek: float) -> int:
    """Price points a shop would set per market, in minor units (ends in .90 / .00)."""
    if currency == "SEK":
        return round(sek) * 100
    if currency == "NOK":
        return round(sek / FX_TO_SEK["NOK"] / 10) * 1000 - 100
    units = max(1, round(sek / FX_TO_SEK[currency]))
    return units * 100 - 10


def _ascii(text: str) -> str:
    norm = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in norm if ch.isascii() and (ch.isalnum() or ch in ".-")).lower()


def _weighted(rng: random.Random, pairs: tuple[tuple[str, int], ...]) -> str:
    return rng.choices([p[0] for p in pairs], weights=[p[1] for p in pairs])[0]


@dataclass
class Variant:
    sku: str
    title: str
    category: str
    sek_price: float
    product_id: int
    variant_id: int
    product_title: str


@dataclass
class OrderRecord:
    """A Shopify order plus the numeric timestamps the filters compare against."""

    data: dict[str, Any]
    created_ts: float
    updated_ts: float
    processed_ts: float
    discount_pct: float = 0.0

    @property
    def id(self) -> int:
        return int(self.data["id"])

    def touch(self, ts: float) -> None:
        # Whole seconds like Shopify, never backwards and never in the future: two edits within one
        # second share a stamp, so a client must compare content, not only updated_at.
        ts = max(float(int(ts)), self.updated_ts)
        self.updated_ts = ts
        self.data["updated_at"] = iso(ts)


@dataclass
class GeneratedData:
    products: list[dict[str, Any]]
    customers: list[dict[str, Any]]
    orders: list[OrderRecord]
    articles: list[dict[str, Any]]
    inventory: dict[int, int]
    factory: OrderFactory


def _line_tax(gross_after_discount: int, rate: float) -> int:
    if rate <= 0:
        return 0
    return round(gross_after_discount * rate / (1 + rate))


def _tax_title(country: str) -> str:
    return {"SE": "Moms", "DE": "MwSt", "NL": "BTW", "FI": "ALV", "DK": "Moms"}.get(country, "VAT")


def price_line(line: dict[str, Any], currency: str, rate: float, pct: float, country: str) -> None:
    """Recompute discount and tax for one line (taxes are included in the price)."""
    unit = cents_of(line["price"])
    gross = unit * int(line["quantity"])
    discount = round(gross * pct)
    tax = _line_tax(gross - discount, rate)
    line["total_discount"] = money(discount)
    line["total_discount_set"] = money_set(discount, currency)
    line["price_set"] = money_set(unit, currency)
    line["discount_allocations"] = (
        [
            {
                "amount": money(discount),
                "amount_set": money_set(discount, currency),
                "discount_application_index": 0,
            }
        ]
        if discount
        else []
    )
    line["tax_lines"] = (
        [
            {
                "title": _tax_title(country),
                "price": money(tax),
                "rate": rate,
                "price_set": money_set(tax, currency),
            }
        ]
        if rate > 0
        else []
    )
    line["fulfillable_quantity"] = (
        0 if line.get("fulfillment_status") == "fulfilled" else int(line["quantity"])
    )


def recompute_totals(order: dict[str, Any]) -> None:
    """Derive every order-level amount from its lines, shipping and refunds."""
    cur = order["currency"]
    line_gross = sum(cents_of(li["price"]) * int(li["quantity"]) for li in order["line_items"])
    discounts = sum(cents_of(li["total_discount"]) for li in order["line_items"])
    shipping = sum(cents_of(s["discounted_price"]) for s in order["shipping_lines"])
    tax_by_rate: dict[tuple[str, float], int] = {}
    for holder in [*order["line_items"], *order["shipping_lines"]]:
        for t in holder["tax_lines"]:
            key = (t["title"], t["rate"])
            tax_by_rate[key] = tax_by_rate.get(key, 0) + cents_of(t["price"])
    total_tax = sum(tax_by_rate.values())
    subtotal = line_gross - discounts
    total = subtotal + shipping
    refunded = 0
    for r in order.get("refunds", []):
        refunded += sum(cents_of(t["amount"]) for t in r["transactions"])
    order["total_line_items_price"] = money(line_gross)
    order["total_line_items_price_set"] = money_set(line_gross, cur)
    order["total_discounts"] = money(discounts)
    order["total_discounts_set"] = money_set(discounts, cur)
    order["subtotal_price"] = money(subtotal)
    order["subtotal_price_set"] = money_set(subtotal, cur)
    order["total_shipping_price_set"] = money_set(shipping, cur)
    order["total_tax"] = money(total_tax)
    order["total_tax_set"] = money_set(total_tax, cur)
    order["total_price"] = money(total)
    order["total_price_set"] = money_set(total, cur)
    order["current_total_price"] = money(total - refunded)
    order["current_total_price_set"] = money_set(total - refunded, cur)
    order["tax_lines"] = [
        {"title": title, "rate": rate, "price": money(amount), "price_set": money_set(amount, cur)}
        for (title, rate), amount in sorted(tax_by_rate.items(), key=lambda kv: -kv[0][1])
    ]
    if order.get("discount_codes"):
        for dc in order["discount_codes"]:
            dc["amount"] = money(discounts)


def refunded_cents(order: dict[str, Any]) -> int:
    return sum(cents_of(t["amount"]) for r in order.get("refunds", []) for t in r["transactions"])


class OrderFactory:
    """Builds orders; kept after generation so control endpoints create orders the same way."""

    def __init__(
        self,
        rng: random.Random,
        variants: list[Variant],
        customers: list[dict[str, Any]],
        customer_country: dict[int, str],
    ) -> None:
        self.rng = rng
        self.variants = variants
        self.by_sku = {v.sku: v for v in variants}
        self.customers = customers
        self.customer_by_email = {c["email"]: c for c in customers}
        self.customer_country = customer_country
        self.next_index = 0
        self.next_line_id = 13_100_000_000
        self.next_refund_id = 9_100_000_000
        self.next_aux_id = 27_100_000_000
        # Its own stream, so redacting some orders leaves every other draw of the data set as it was.
        self.withheld_rng = random.Random("withheld")

    def aux_id(self) -> int:
        self.next_aux_id += 1
        return self.next_aux_id

    def _new_line(
        self, variant: Variant | None, sku: str, title: str, sek: float, qty: int, cur: str
    ) -> dict:
        self.next_line_id += 1
        return {
            "id": self.next_line_id,
            "admin_graphql_api_id": f"gid://shopify/LineItem/{self.next_line_id}",
            "variant_id": variant.variant_id if variant else None,
            "product_id": variant.product_id if variant else None,
            "sku": sku,
            "title": variant.product_title if variant else title,
            "variant_title": variant.title if variant else None,
            "name": title,
            "vendor": "Junipeer Demo",
            "quantity": qty,
            "price": money(price_in(cur, sek)),
            "total_discount": "0.00",
            "requires_shipping": True,
            "taxable": True,
            "gift_card": False,
            "fulfillment_status": None,
            "grams": 250,
        }

    def new_customer(self, email: str, country: str) -> dict[str, Any]:
        c = COUNTRIES[country]
        first = self.rng.choice(c.first_names)
        last = self.rng.choice(c.last_names)
        cid = 7_100_000_000 + (len(self.customers) + 1) * 7
        city, zip_code = self.rng.choice(c.cities)
        address = {
            "first_name": first,
            "last_name": last,
            "name": f"{first} {last}",
            "company": None,
            "address1": f"{self.rng.choice(['Storgatan', 'Main Street', 'Hauptstraße', 'Kirkegata'])} "
            f"{self.rng.randint(1, 120)}",
            "address2": None,
            "city": city,
            "zip": zip_code,
            "province": None,
            "country": c.name,
            "country_code": c.code,
            "phone": f"{c.phone_prefix}{self.rng.randint(1000000, 9999999)}",
        }
        customer = {
            "id": cid,
            "admin_graphql_api_id": f"gid://shopify/Customer/{cid}",
            "email": email,
            "first_name": first,
            "last_name": last,
            "phone": address["phone"],
            "currency": c.currency,
            "orders_count": 0,
            "total_spent": "0.00",
            "tags": "",
            "state": "enabled",
            "verified_email": True,
            "created_at": None,
            "updated_at": None,
            "default_address": {"id": cid + 1, "customer_id": cid, "default": True, **address},
        }
        self.customers.append(customer)
        self.customer_by_email[email] = customer
        self.customer_country[cid] = country
        return customer

    def build(
        self,
        created_ts: float,
        now: float,
        overrides: dict[str, Any] | None = None,
        unknown_sku: bool = False,
    ) -> OrderRecord:
        """One order created at `created_ts`; `overrides` (control endpoint) pin what the rng would pick."""
        control = overrides is not None
        ov = overrides or {}
        rng = self.rng
        self.next_index += 1
        k = self.next_index
        order_id = 5_100_000_000 + k * 17
        number = 1000 + k

        customer: dict[str, Any]
        if "email" in ov and ov["email"] in self.customer_by_email:
            customer = self.customer_by_email[ov["email"]]
        elif "email" in ov:
            customer = self.new_customer(str(ov["email"]), str(ov.get("shipping_country", "SE")).upper())
        else:
            customer = rng.choice(self.customers)
        country = str(ov.get("shipping_country") or self.customer_country[customer["id"]]).upper()
        if country not in COUNTRIES:
            raise ValueError(f"unsupported shipping_country {country!r}")
        ctry = COUNTRIES[country]
        cur = str(ov.get("currency") or ctry.currency)

        lines: list[tuple[dict[str, Any], str]] = []
        if ov.get("line_items"):
            for spec in ov["line_items"]:
                sku = str(spec["sku"])
                variant = self.by_sku.get(sku)
                unknown = next((u for u in UNKNOWN_SKUS if u[0] == sku), None)
                title = variant.product_title if variant else (unknown[1] if unknown else sku)
                sek = variant.sek_price if variant else (unknown[2] if unknown else 100)
                line = self._new_line(variant, sku, title, sek, int(spec.get("quantity", 1)), cur)
                if "price" in spec:
                    line["price"] = money(cents_of(spec["price"]))
                lines.append((line, variant.category if variant else "standard"))
        else:
            for variant in rng.sample(self.variants, rng.choice((1, 1, 1, 2, 2, 3, 4))):
                qty = rng.choice((1, 1, 1, 1, 2, 2, 3))
                title = f"{variant.product_title} - {variant.title}"
                line = self._new_line(variant, variant.sku, title, variant.sek_price, qty, cur)
                lines.append((line, variant.category))
        if unknown_sku:
            sku, title, sek = rng.choice(UNKNOWN_SKUS)
            lines.append((self._new_line(None, sku, title, sek, 1, cur), "standard"))

        pct = 0.0
        discount_codes: list[dict[str, Any]] = []
        if "discount_code" in ov:
            code = next((d for d in DISCOUNT_CODES if d[0] == ov["discount_code"]), None)
            if code:
                pct = code[1]
                discount_codes = [{"code": code[0], "amount": "0.00", "type": "percentage"}]
        elif not control and rng.random() < 0.2:
            code = rng.choice(DISCOUNT_CODES)
            pct = code[1]
            discount_codes = [{"code": code[0], "amount": "0.00", "type": "percentage"}]

        line_items = []
        for line, category in lines:
            price_line(line, cur, ctry.rates[category], pct, country)
            line_items.append(line)

        ship_title, ship_price = ctry.shipping[0] if control else rng.choice(ctry.shipping)
        if "shipping_method" in ov:
            wanted = str(ov["shipping_method"])
            title = SHIPPING_METHODS.get(wanted, wanted)
            match = [s for s in ctry.shipping if s[0] == title]
            ship_title, ship_price = match[0] if match else (title, ctry.shipping[0][1])
        ship_rate = ctry.rates["standard"]
        ship_tax = _line_tax(ship_price, ship_rate)
        shipping_line = {
            "id": self.aux_id(),
            "code": ship_title,
            "title": ship_title,
            "source": "shopify",
            "price": money(ship_price),
            "price_set": money_set(ship_price, cur),
            "discounted_price": money(ship_price),
            "discounted_price_set": money_set(ship_price, cur),
            "tax_lines": [
                {
                    "title": _tax_title(country),
                    "price": money(ship_tax),
                    "rate": ship_rate,
                    "price_set": money_set(ship_tax, cur),
                }
            ]
            if ship_rate > 0
            else [],
        }

        if control:
            gateway = str(ov.get("gateway", "stripe"))
            status = str(ov.get("financial_status", "paid"))
            cancelled = bool(ov.get("cancelled", False))
        else:
            gateway = _weighted(rng, GATEWAYS)
            status = _weighted(rng, FINANCIAL_WEIGHTS)
            cancelled = rng.random() < CANCELLED_SHARE
        if cancelled:
            status = "voided" if status in ("pending", "authorized") else "refunded"

        address = dict(customer["default_address"])
        for key in ("id", "customer_id", "default"):
            address.pop(key, None)
        if address["country_code"] != country:
            city, zip_code = rng.choice(ctry.cities)
            address.update(city=city, zip=zip_code, country=ctry.name, country_code=country)

        processed_ts = created_ts
        updated_ts = created_ts + rng.randint(1, 90)
        age = now - created_ts
        fulfillment_status = None
        if not cancelled and status in ("paid", "partially_refunded", "refunded") and age > 2 * DAY:
            fulfillment_status = "fulfilled"
            updated_ts = created_ts + rng.uniform(0.5, 2.0) * DAY
            for li in line_items:
                li["fulfillment_status"] = "fulfilled"
                li["fulfillable_quantity"] = 0
        updated_ts = min(updated_ts, now)

        created = iso(created_ts)
        order: dict[str, Any] = {
            "id": order_id,
            "admin_graphql_api_id": f"gid://shopify/Order/{order_id}",
            "name": f"#{number}",
            "order_number": number,
            "number": number - 1000,
            "token": f"{rng.getrandbits(64):016x}",
            "confirmed": True,
            "test": False,
            "created_at": created,
            "updated_at": iso(updated_ts),
            "processed_at": iso(processed_ts),
            "closed_at": None,
            "cancelled_at": None,
            "cancel_reason": None,
            "financial_status": status,
            "fulfillment_status": fulfillment_status,
            "currency": cur,
            "presentment_currency": cur,
            "taxes_included": True,
            "estimated_taxes": False,
            "email": customer["email"],
            "contact_email": customer["email"],
            "phone": None,
            "buyer_accepts_marketing": False,
            "source_name": "web",
            "gateway": gateway,
            "payment_gateway_names": [gateway],
            "discount_codes": discount_codes,
            "note": ov.get("note"),
            "note_attributes": list(ov.get("note_attributes", [])),
            "tags": str(ov.get("tags", "")),
            "line_items": line_items,
            "shipping_lines": [shipping_line],
            "billing_address": dict(address),
            "shipping_address": dict(address),
            "customer": {
                key: customer[key]
                for key in ("id", "email", "first_name", "last_name", "phone", "currency", "default_address")
            },
            "refunds": [],
            "location_id": LOCATION_ID,
        }
        record = OrderRecord(order, created_ts, updated_ts, processed_ts, pct)

        if status in ("partially_refunded", "refunded"):
            refund_ts = min(now, created_ts + rng.uniform(0.1, 1.0) * max(age, 60.0))
            refund_ts = max(refund_ts, updated_ts)
            if status == "refunded":
                self.add_refund(
                    record, refund_ts, [(li["id"], li["quantity"]) for li in line_items], True, None
                )
            else:
                first = line_items[0]
                self.add_refund(record, refund_ts, [(first["id"], 1)], False, None)
                if refunded_cents(order) >= cents_of(order["total_price"]):
                    order["financial_status"] = "refunded"
            record.updated_ts = max(record.updated_ts, refund_ts)
            order["updated_at"] = iso(record.updated_ts)
        if cancelled:
            cancel_ts = min(now, created_ts + rng.uniform(60, 6 * 3600))
            cancel_ts = max(cancel_ts, record.updated_ts)
            order["cancelled_at"] = iso(cancel_ts)
            order["closed_at"] = iso(cancel_ts)
            order["cancel_reason"] = rng.choice(("customer", "inventory", "fraud", "declined"))
            record.updated_ts = cancel_ts
            order["updated_at"] = iso(cancel_ts)
        recompute_totals(order)
        redacted = self.withheld_rng.random() < WITHHELD_SHARE
        if ov.get("customer_data_withheld") if control else redacted:
            withhold_customer_data(order)
        customer["orders_count"] += 1
        customer["total_spent"] = money(cents_of(customer["total_spent"]) + cents_of(order["total_price"]))
        customer["created_at"] = customer["created_at"] or created
        customer["updated_at"] = created
        return record

    def add_refund(
        self,
        record: OrderRecord,
        ts: float,
        lines: list[tuple[int, int]],
        include_shipping: bool,
        amount_cents: int | None,
        note: str | None = None,
    ) -> dict[str, Any]:
        """Append a refund; without `lines` it refunds `amount_cents` as a plain adjustment."""
        order = record.data
        cur = order["currency"]
        by_id = {li["id"]: li for li in order["line_items"]}
        self.next_refund_id += 1
        refund_id = self.next_refund_id
        rlis = []
        total = 0
        for line_id, qty in lines:
            li = by_id[line_id]
            unit = cents_of(li["price"])
            share = qty / max(1, int(li["quantity"]))
            subtotal = round(unit * qty - cents_of(li["total_discount"]) * share)
            tax = round(sum(cents_of(t["price"]) for t in li["tax_lines"]) * share)
            total += subtotal
            rlis.append(
                {
                    "id": self.aux_id(),
                    "line_item_id": line_id,
                    "quantity": qty,
                    "restock_type": "return",
                    "subtotal": money(subtotal),
                    "subtotal_set": money_set(subtotal, cur),
                    "total_tax": money(tax),
                    "total_tax_set": money_set(tax, cur),
                    "line_item": dict(li),
                }
            )
        adjustments = []
        if include_shipping:
            ship = sum(cents_of(s["discounted_price"]) for s in order["shipping_lines"])
            ship_tax = sum(cents_of(t["price"]) for s in order["shipping_lines"] for t in s["tax_lines"])
            total += ship
            adjustments.append(
                {
                    "id": self.aux_id(),
                    "order_id": record.id,
                    "refund_id": refund_id,
                    "amount": money(-ship),
                    "tax_amount": money(-ship_tax),
                    "kind": "shipping_refund",
                    "reason": "Shipping refund",
                }
            )
        if amount_cents is not None and not lines:
            total = amount_cents
            adjustments.append(
                {
                    "id": self.aux_id(),
                    "order_id": record.id,
                    "refund_id": refund_id,
                    "amount": money(-amount_cents),
                    "tax_amount": "0.00",
                    "kind": "refund_discrepancy",
                    "reason": "Refund discrepancy",
                }
            )
        elif amount_cents is not None:
            total = amount_cents
        created = iso(ts)
        refund = {
            "id": refund_id,
            "admin_graphql_api_id": f"gid://shopify/Refund/{refund_id}",
            "order_id": record.id,
            "created_at": created,
            "processed_at": created,
            "note": note,
            "restock": bool(lines),
            "refund_line_items": rlis,
            "order_adjustments": adjustments,
            "transactions": [
                {
                    "id": self.aux_id(),
                    "order_id": record.id,
                    "kind": "refund",
                    "status": "success",
                    "amount": money(total),
                    "currency": cur,
                    "gateway": order["gateway"],
                    "created_at": created,
                    "processed_at": created,
                }
            ],
        }
        order["refunds"].append(refund)
        recompute_totals(order)
        return refund


def _catalog(
    start_ts: float,
) -> tuple[list[dict[str, Any]], list[Variant], list[dict[str, Any]], dict[int, int]]:
    products: list[dict[str, Any]] = []
    variants: list[Variant] = []
    articles: list[dict[str, Any]] = []
    inventory: dict[int, int] = {}
    pid = 8_100_000_000
    vid = 44_100_000_000
    inv = 46_100_000_000
    created = iso(start_ts)
    qty_seed = 0
    for prefix, title, category, sek, axis, values, mult in _PRODUCT_TEMPLATES:
        for a in axis:
            pid += 11
            product_title = f"{title} {a.title()}"
            pvariants = []
            for value, m in zip(values, mult, strict=True):
                vid += 13
                inv += 13
                qty_seed += 7
                sku = f"{prefix}-{a}-{value}"
                price = round(sek * m)
                stock = 5 + (qty_seed * 37) % 120
                inventory[inv] = stock
                pvariants.append(
                    {
                        "id": vid,
                        "product_id": pid,
                        "title": value,
                        "sku": sku,
                        "price": money(price * 100),
                        "compare_at_price": None,
                        "option1": value,
                        "taxable": True,
                        "requires_shipping": True,
                        "inventory_item_id": inv,
                        "inventory_quantity": stock,
                        "inventory_management": "shopify",
                        "grams": 250,
                        "created_at": created,
                        "updated_at": created,
                    }
                )
                variants.append(Variant(sku, value, category, price, pid, vid, product_title))
                se_rate = COUNTRIES["SE"].rates[category]
                articles.append(
                    {
                        "ArticleNumber": sku,
                        "Description": f"{product_title} {value}",
                        "EAN": "",
                        "SalesPrice": round(price / (1 + se_rate), 2),
                        "PurchasePrice": round(price * 0.4, 2),
                        "VAT": se_rate * 100,
                        "Unit": "st",
                        "StockGoods": True,
                        "QuantityInStock": stock,
                        "ReservedQuantity": 0,
                        "DisposableQuantity": stock,
                        "Active": True,
                        "WebshopArticle": True,
                        "SalesAccount": 3001 if se_rate == 0.25 else (3002 if se_rate == 0.12 else 3003),
                    }
                )
            products.append(
                {
                    "id": pid,
                    "admin_graphql_api_id": f"gid://shopify/Product/{pid}",
                    "title": product_title,
                    "handle": _ascii(product_title.replace(" ", "-")),
                    "body_html": f"<p>{product_title}</p>",
                    "vendor": "Junipeer Demo",
                    "product_type": category,
                    "status": "active",
                    "tags": category,
                    "created_at": created,
                    "updated_at": created,
                    "published_at": created,
                    "options": [{"name": "Variant", "position": 1, "values": list(values)}],
                    "variants": pvariants,
                }
            )
    return products, variants, articles, inventory


def generate(seed: int, orders: int, now: float) -> GeneratedData:
    """Build the whole demo data set; identical output for identical (seed, orders, now)."""
    rng = random.Random(seed)
    now = float(int(now))
    start = now - 30 * DAY
    products, variants, articles, inventory = _catalog(start - 60 * DAY)

    customers: list[dict[str, Any]] = []
    customer_country: dict[int, str] = {}
    factory = OrderFactory(rng, variants, customers, customer_country)
    factory.withheld_rng = random.Random(f"{seed}:withheld")
    country_pairs = tuple((c.code, c.weight) for c in COUNTRIES.values())
    used_emails: set[str] = set()
    for i in range(max(1, orders // 3)):
        country = _weighted(rng, country_pairs)
        c = COUNTRIES[country]
        first, last = rng.choice(c.first_names), rng.choice(c.last_names)
        email = f"{_ascii(first)}.{_ascii(last)}{i + 1}@example.com"
        if email in used_emails:
            email = f"{_ascii(first)}.{_ascii(last)}{i + 1}.{rng.randint(10, 99)}@example.com"
        used_emails.add(email)
        customer = factory.new_customer(email, country)
        customer["first_name"], customer["last_name"] = first, last
        customer["default_address"].update(first_name=first, last_name=last, name=f"{first} {last}")

    created = sorted(rng.uniform(start, now - 60) for _ in range(orders))
    unknown_count = max(1, round(orders * UNKNOWN_SKU_SHARE)) if orders else 0
    unknown_idx = set(rng.sample(range(orders), unknown_count)) if orders else set()
    records = []
    for i, ts in enumerate(created):
        records.append(factory.build(ts, now, None, unknown_sku=i in unknown_idx))
    for customer in customers:
        customer["created_at"] = customer["created_at"] or iso(start)
        customer["updated_at"] = customer["updated_at"] or iso(start)
    return GeneratedData(products, customers, records, articles, inventory, factory)
