from __future__ import annotations

import json
from collections import Counter
from datetime import datetime

from engine.sandbox.generator import UNKNOWN_SKUS, VAT_PERCENTS, generate

NOW = 1_795_500_000.0


def as_json(seed: int, orders: int = 300) -> str:
    data = generate(seed, orders, NOW)
    return json.dumps([[r.data for r in data.orders], data.products, data.customers, data.articles])


def test_deterministic_for_seed_and_now() -> None:
    assert as_json(7) == as_json(7)
    assert as_json(7) != as_json(8)


def test_orders_are_plausible() -> None:
    data = generate(3, 1000, NOW)
    orders = [r.data for r in data.orders]
    names = [o["name"] for o in orders]
    assert names == [f"#{1001 + i}" for i in range(1000)]
    created = [datetime.fromisoformat(o["created_at"]).timestamp() for o in orders]
    assert created == sorted(created)
    assert all(NOW - 30 * 86_400 <= c < NOW for c in created)
    assert all(o["updated_at"] >= o["created_at"] for o in orders)
    assert len({o["id"] for o in orders}) == 1000 and min(o["id"] for o in orders) > 5_000_000_000

    # Some buyers' personal data is withheld (protected customer data): no addresses to read.
    withheld = [o for o in orders if "shipping_address" not in o]
    assert 15 <= len(withheld) <= 70
    for o in withheld:
        assert (o["email"], o["contact_email"], o["phone"]) == (None, None, None)
        assert "billing_address" not in o
        assert o["customer"]["id"] and not {"email", "first_name", "last_name", "default_address"} & set(
            o["customer"]
        )
    orders = [o for o in orders if "shipping_address" in o]
    countries = Counter(o["shipping_address"]["country_code"] for o in orders)
    assert set(countries) == {"SE", "NO", "DK", "FI", "DE", "NL", "US"}
    assert countries.most_common(1)[0][0] == "SE"
    currencies = {o["shipping_address"]["country_code"]: o["currency"] for o in orders}
    assert currencies["SE"] == "SEK" and currencies["DE"] == "EUR" and currencies["NO"] == "NOK"
    assert currencies["US"] == "USD"

    statuses = Counter(o["financial_status"] for o in orders)
    assert statuses["paid"] > 600
    assert {"pending", "authorized", "partially_refunded", "refunded"} <= set(statuses)
    cancelled = sum(1 for o in orders if o["cancelled_at"])
    assert 20 <= cancelled <= 90
    assert {g for o in orders for g in o["payment_gateway_names"]} == {"stripe", "klarna", "paypal"}
    assert any(o["discount_codes"] for o in orders)
    for o in orders:
        if o["financial_status"] in ("refunded", "partially_refunded"):
            assert o["refunds"], o["name"]
        rates = {t["rate"] for li in o["line_items"] for t in li["tax_lines"]}
        assert all(round(r * 100, 2) in VAT_PERCENTS for r in rates)

    emails = Counter(o["email"] for o in orders)
    assert sum(1 for n in emails.values() if n > 1) > 50, "repeat customers"
    ids_by_email = {(o["email"], o["customer"]["id"]) for o in orders}
    assert len(ids_by_email) == len(emails)


def test_money_adds_up() -> None:
    for record in generate(5, 200, NOW).orders:
        o = record.data
        cents = lambda s: round(float(s) * 100)  # noqa: E731
        lines = sum(
            cents(li["price"]) * li["quantity"] - cents(li["total_discount"]) for li in o["line_items"]
        )
        shipping = sum(cents(s["discounted_price"]) for s in o["shipping_lines"])
        assert cents(o["subtotal_price"]) == lines
        assert cents(o["total_price"]) == lines + shipping
        tax = sum(cents(t["price"]) for t in o["tax_lines"])
        assert cents(o["total_tax"]) == tax


def test_unknown_sku_share_and_articles() -> None:
    data = generate(11, 1000, NOW)
    article_numbers = {a["ArticleNumber"] for a in data.articles}
    variant_skus = {v["sku"] for p in data.products for v in p["variants"]}
    assert variant_skus <= article_numbers
    assert all(" " not in sku for sku in variant_skus)
    assert 35 <= len(data.products) <= 45
    unknown = [r for r in data.orders if any(li["sku"] not in article_numbers for li in r.data["line_items"])]
    assert len(unknown) == 20
    assert {li["sku"] for r in unknown for li in r.data["line_items"]} & {u[0] for u in UNKNOWN_SKUS}
    again = generate(11, 1000, NOW)
    assert [r.id for r in unknown] == [
        r.id for r in again.orders if any(li["sku"] not in article_numbers for li in r.data["line_items"])
    ]
