"""Seeded demo data: a Shopify shop (products, customers, orders) and the matching Fortnox articles.

Everything derives from one `random.Random(seed)` and an explicit `now`, so two runs with the same seed
and `now` produce identical data. Money is kept in integer minor units and rendered as strings only
when it becomes Shopify JSON, the way Shopify sends it.

The shop books in SEK; a foreign buyer sees and pays prices of their market's currency, which
Shopify converts amount by amount into the shop currency (see engine.sandbox.order_money).
"""

from __future__ import annotations

import random
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from engine.sandbox.order_money import (
    AUTOMATIC_DISCOUNTS,
    FX_TO_SEK,
    SHOP_CURRENCY,
    cents_of,
    line_discount,
    money,
    money_set,
    pair,
    price_order,
    recompute_totals,
    refunded,
    to_shop,
)
from engine.sandbox.withheld import WITHHELD_SHARE, withhold_customer_data

__all__ = ["FX_TO_SEK", "cents_of", "money", "money_set", "recompute_totals"]

SHOP_TZ = timezone(timedelta(hours=1))
SHOP_DOMAIN = "junipeer-demo.myshopify.com"
LOCATION_ID = 61_000_000_001
DAY = 86_400.0


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

# Every VAT percent the shop charges some destination (the Fortnox company has fewer: see
# sandbox/fortnox_company.py, where foreign rates need their OSS codes).
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
# Codes that are not a percentage off the lines: free shipping, and a fixed amount (in SEK, converted
# for a foreign buyer) spread across the lines.
FREE_SHIPPING_CODE = "FREESHIP"
FIXED_AMOUNT_CODES: dict[str, int] = {"SAVE100": 10_000}
GATEWAYS: tuple[tuple[str, int], ...] = (("stripe", 60), ("klarna", 25), ("paypal", 15))
FINANCIAL_WEIGHTS: tuple[tuple[str, int], ...] = (
    ("paid", 78),
    ("pending", 4),
    ("authorized", 6),
    ("partially_refunded", 6),
    ("refunded", 6),
)
CANCELLED_SHARE = 0.05


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


def tax_title(country: str) -> str:
    return {"SE": "Moms", "DE": "MwSt", "NL": "BTW", "FI": "ALV", "DK": "Moms"}.get(country, "VAT")


def refunded_cents(order: dict[str, Any]) -> int:
    """What the buyer got back, in the buyer's currency."""
    return refunded(order)


def reprice(order: dict[str, Any]) -> None:
    """Recompute discounts, taxes and totals after a line changed, at the rates the lines carry."""
    # An order whose buyer data Shopify withholds has no address; the country only names the tax.
    country = (order.get("shipping_address") or {}).get("country_code") or ""
    rates = [float(li["tax_lines"][0]["rate"]) if li["tax_lines"] else 0.0 for li in order["line_items"]]
    ships = order["shipping_lines"]
    shipping_rate = float(ships[0]["tax_lines"][0]["rate"]) if ships and ships[0]["tax_lines"] else 0.0
    price_order(order, rates, shipping_rate, tax_title(country))
    recompute_totals(order)


def _application(code: str | None, title: str, value: str, value_type: str, target: str) -> dict[str, Any]:
    app: dict[str, Any] = {
        "type": "discount_code" if code else "automatic",
        "value": value,
        "value_type": value_type,
        "allocation_method": "each" if target == "shipping_line" else "across",
        "target_selection": "all" if code else "entitled",
        "target_type": target,
    }
    if code:
        app["code"] = code
    else:
        app.update(title=title, description=title)
    return app


def _discounts(
    code: str | None, automatic: Any, currency: str, lines: list[dict[str, Any]]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The order's `discount_codes` and `discount_applications` (amounts are allocated later)."""
    codes: list[dict[str, Any]] = []
    applications: list[dict[str, Any]] = []
    percent = dict(DISCOUNT_CODES)
    if code in percent:
        applications.append(_application(code, "", f"{percent[code] * 100:.1f}", "percentage", "line_item"))
        codes.append({"code": code, "amount": "0.00", "type": "percentage"})
    elif code == FREE_SHIPPING_CODE:
        applications.append(_application(code, "", "100.0", "percentage", "shipping_line"))
        codes.append({"code": code, "amount": "0.00", "type": "shipping"})
    elif code in FIXED_AMOUNT_CODES:
        # A fixed amount set in the shop currency reaches a foreign buyer converted into theirs.
        value = money(round(FIXED_AMOUNT_CODES[code] / FX_TO_SEK[currency]))
        applications.append(_application(code, "", value, "fixed_amount", "line_item"))
        codes.append({"code": code, "amount": "0.00", "type": "fixed_amount"})
    elif code is not None:
        raise ValueError(f"unknown discount_code {code!r}")
    if automatic is not None:
        if automatic not in AUTOMATIC_DISCOUNTS:
            raise ValueError(f"unknown automatic_discount {automatic!r}")
        percent_off, prefixes = AUTOMATIC_DISCOUNTS[automatic]
        if any(str(li.get("sku") or "").startswith(prefixes) for li in lines):
            applications.append(
                _application(None, automatic, f"{percent_off:.1f}", "percentage", "line_item")
            )
    return codes, applications


class OrderFactory:
    """Builds orders; kept after generation so control endpoints create orders the same way."""

    def __init__(
        self,
        rng: random.Random,
        variants: list[Variant],
        customers: list[dict[str, Any]],
        customer_country: dict[int, str],
        discount_rng: random.Random | None = None,
    ) -> None:
        self.rng = rng
        # Discounts beyond the percentage codes draw from their own sequence, so adding them left
        # every other generated value as it was.
        self.discount_rng = discount_rng or random.Random(0)
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
        # Which shape a partial refund takes; a stream of its own, so the rest of the shop stays as it was.
        self.refund_rng = random.Random("refunds")

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

        code: str | None = None
        if "discount_code" in ov:
            code = str(ov["discount_code"])
        elif not control and rng.random() < 0.2:
            code = rng.choice(DISCOUNT_CODES)[0]
        elif not control:
            roll = self.discount_rng.random()
            code = FREE_SHIPPING_CODE if roll < 0.06 else ("SAVE100" if roll < 0.10 else None)
        automatic = ov.get("automatic_discount")
        if not control and self.discount_rng.random() < 0.3:
            automatic = "Winter sale"
        discount_codes, applications = _discounts(code, automatic, cur, [line for line, _ in lines])
        line_items = [line for line, _ in lines]

        ship_title, ship_price = ctry.shipping[0] if control else rng.choice(ctry.shipping)
        if "shipping_method" in ov:
            wanted = str(ov["shipping_method"])
            title = SHIPPING_METHODS.get(wanted, wanted)
            match = [s for s in ctry.shipping if s[0] == title]
            ship_title, ship_price = match[0] if match else (title, ctry.shipping[0][1])
        ship_rate = ctry.rates["standard"]
        shipping_line = {
            "id": self.aux_id(),
            "code": ship_title,
            "title": ship_title,
            "source": "shopify",
            "price": money(ship_price),
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
            "currency": SHOP_CURRENCY,
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
            "discount_applications": applications,
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
        price_order(order, [ctry.rates[category] for _, category in lines], ship_rate, tax_title(country))
        recompute_totals(order)
        record = OrderRecord(order, created_ts, updated_ts, processed_ts)

        if status in ("partially_refunded", "refunded"):
            refund_ts = min(now, created_ts + rng.uniform(0.1, 1.0) * max(age, 60.0))
            refund_ts = max(refund_ts, updated_ts)
            if status == "refunded":
                self.add_refund(
                    record, refund_ts, [(li["id"], li["quantity"]) for li in line_items], True, None
                )
            else:
                first = line_items[0]
                shape = self.refund_rng.random()
                if shape < 0.2:  # a goodwill amount, as an order adjustment without lines
                    goodwill = max(100, pair(order, "total_price")[1] // 10)
                    self.add_refund(record, refund_ts, [], False, goodwill, "Goodwill")
                elif shape < 0.4:  # a returned item and its shipping
                    self.add_refund(record, refund_ts, [(first["id"], 1)], True, None, "Returned")
                else:
                    self.add_refund(record, refund_ts, [(first["id"], 1)], False, None)
                if refunded_cents(order) >= pair(order, "total_price")[1]:
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
        # Amounts in the buyer's currency (what the refund transaction moves), their shop twins converted.
        cur = order["presentment_currency"]
        by_id = {li["id"]: li for li in order["line_items"]}
        self.next_refund_id += 1
        refund_id = self.next_refund_id
        rlis = []
        total = 0
        for line_id, qty in lines:
            li = by_id[line_id]
            unit = pair(li, "price")[1]
            share = qty / max(1, int(li["quantity"]))
            subtotal = round(unit * qty - line_discount(li)[1] * share)
            tax = round(sum(pair(t, "price")[1] for t in li["tax_lines"]) * share)
            total += subtotal
            rlis.append(
                {
                    "id": self.aux_id(),
                    "line_item_id": line_id,
                    "quantity": qty,
                    "restock_type": "return",
                    "subtotal": money(to_shop(subtotal, cur)),
                    "subtotal_set": money_set(subtotal, cur),
                    "total_tax": money(to_shop(tax, cur)),
                    "total_tax_set": money_set(tax, cur),
                    "line_item": dict(li),
                }
            )
        adjustments = []
        if include_shipping:
            ship = sum(pair(s, "discounted_price")[1] for s in order["shipping_lines"])
            ship_tax = sum(pair(t, "price")[1] for s in order["shipping_lines"] for t in s["tax_lines"])
            total += ship
            adjustments.append(
                {
                    "id": self.aux_id(),
                    "order_id": record.id,
                    "refund_id": refund_id,
                    "amount": money(-to_shop(ship, cur)),
                    "amount_set": money_set(-ship, cur),
                    "tax_amount": money(-to_shop(ship_tax, cur)),
                    "tax_amount_set": money_set(-ship_tax, cur),
                    "kind": "shipping_refund",
                    "reason": "Shipping refund",
                }
            )
        if amount_cents is not None and amount_cents != total:
            # What went back differs from what the lines and shipping are worth (a goodwill amount
            # without lines, a restocking fee kept): Shopify balances the two with a discrepancy,
            # positive when less went back.
            kept = total - amount_cents
            total = amount_cents
            adjustments.append(
                {
                    "id": self.aux_id(),
                    "order_id": record.id,
                    "refund_id": refund_id,
                    "amount": money(to_shop(kept, cur)),
                    "amount_set": money_set(kept, cur),
                    "tax_amount": "0.00",
                    "tax_amount_set": money_set(0, cur),
                    "kind": "refund_discrepancy",
                    "reason": "Refund discrepancy",
                }
            )
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
    factory = OrderFactory(rng, variants, customers, customer_country, random.Random(f"{seed}:discounts"))
    factory.withheld_rng = random.Random(f"{seed}:withheld")
    factory.refund_rng = random.Random(f"{seed}:refunds")
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
