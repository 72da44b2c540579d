"""The amounts of a Shopify order as Shopify states them: discounts, currencies, totals.

What the imitation follows (Admin REST 2024-10):
- The shop books in SEK. `currency`, `total_price`, `line_items[].price` and every other top-level
  amount are in the shop currency; what the buyer saw and paid is only in the `*_set.presentment_money`
  twins, in `presentment_currency`.
- Shopify prices an order in the buyer's currency and converts each amount on its own into the shop
  currency (unit prices, discount allocations, tax lines, shipping); the order's shop totals are sums of
  those converted parts, so `total_price` is not exactly the presentment total times the rate (see
  Global-e's "FX rounding discrepancy" notes on Shopify's Order API).
- Discount codes and automatic discounts reach the lines only through `discount_allocations`
  ({amount, amount_set, discount_application_index}); `line_items[].total_discount` stays "0.00".
  `discount_applications[]` describes each discount. Shipping discounts are allocated to the shipping
  lines, and since API 2024-07 `discounted_price` already has them subtracted.
- `total_discounts` counts line and shipping discounts; `subtotal_price` is the lines after their
  discounts; with taxes included `total_price` is the subtotal plus discounted shipping.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

SHOP_CURRENCY = "SEK"

# SEK per unit of the currency; also what the Fortnox currency lookup reports.
FX_TO_SEK: dict[str, float] = {"SEK": 1.0, "EUR": 11.50, "NOK": 0.98, "USD": 10.80, "DKK": 1.54}

# Automatic discounts of the demo shop: title -> (percent, SKU prefixes of the entitled products).
AUTOMATIC_DISCOUNTS: dict[str, tuple[float, tuple[str, ...]]] = {
    "Winter sale": (20.0, ("HOOD-MER", "BEANIE-RIB", "SCARF-LIN", "BLNKT-WOOL")),
}


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


def _half_up(value: Decimal) -> int:
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def to_shop(cents: int, currency: str) -> int:
    """One amount of the buyer's currency in shop öre, rounded on its own as Shopify does."""
    return _half_up(Decimal(cents) * Decimal(str(FX_TO_SEK[currency])))


def money_set(cents: int, currency: str, shop: int | None = None) -> dict[str, Any]:
    """The `*_set` twin of an amount the buyer sees in `currency`; `shop` when it is a sum of parts."""
    shop_cents = to_shop(cents, currency) if shop is None else shop
    return {
        "shop_money": {"amount": money(shop_cents), "currency_code": SHOP_CURRENCY},
        "presentment_money": {"amount": money(cents), "currency_code": currency},
    }


def pair(holder: dict[str, Any], key: str) -> tuple[int, int]:
    """(shop, presentment) minor units of `key`, read from its `*_set` twin."""
    twin = holder.get(f"{key}_set")
    if twin is None:
        cents = cents_of(holder.get(key) or 0)
        return cents, cents
    return cents_of(twin["shop_money"]["amount"]), cents_of(twin["presentment_money"]["amount"])


def put(holder: dict[str, Any], key: str, cents: int, currency: str, shop: int | None = None) -> None:
    twin = money_set(cents, currency, shop)
    holder[key] = twin["shop_money"]["amount"]
    holder[f"{key}_set"] = twin


def _buyer_unit(line: dict[str, Any]) -> int:
    # A line fresh from the factory (or repriced by the control endpoint) has no twin yet: its
    # `price` is then the buyer's price.
    twin = line.get("price_set")
    if twin is None:
        return cents_of(line["price"])
    return cents_of(twin["presentment_money"]["amount"])


def _entitled(application: dict[str, Any], line: dict[str, Any]) -> bool:
    if application.get("target_selection") == "all":
        return True
    prefixes = AUTOMATIC_DISCOUNTS.get(str(application.get("title")), (0.0, ()))[1]
    return str(line.get("sku") or "").startswith(prefixes)


def _spread(amount: int, weights: list[int]) -> list[int]:
    """Split `amount` in proportion to `weights`, exactly, the leftover öre to the largest remainders."""
    total = sum(weights)
    if total <= 0:
        return [0 for _ in weights]
    shares = [amount * w // total for w in weights]
    order = sorted(range(len(weights)), key=lambda i: -((amount * weights[i]) % total))
    for i in order[: amount - sum(shares)]:
        shares[i] += 1
    return shares


def _allocation(amount: int, currency: str, index: int) -> dict[str, Any]:
    twin = money_set(amount, currency)
    return {
        "amount": twin["shop_money"]["amount"],
        "amount_set": twin,
        "discount_application_index": index,
    }


def tax_lines(title: str, rate: float, taxable: int, currency: str) -> list[dict[str, Any]]:
    if rate <= 0:
        return []
    tax = round(taxable * rate / (1 + rate))
    twin = money_set(tax, currency)
    return [{"title": title, "price": twin["shop_money"]["amount"], "rate": rate, "price_set": twin}]


def price_order(order: dict[str, Any], rates: list[float], shipping_rate: float, tax_title: str) -> None:
    """Allocate the order's discount applications to its lines and shipping, in the buyer's
    currency, and state every amount in both currencies. Taxes are included in the prices."""
    currency = order["presentment_currency"]
    lines = order["line_items"]
    units = [_buyer_unit(li) for li in lines]
    remaining = [u * int(li["quantity"]) for u, li in zip(units, lines, strict=True)]
    ships = order["shipping_lines"]
    ship_prices = [_buyer_unit(s) for s in ships]
    ship_remaining = list(ship_prices)
    line_allocs: list[list[tuple[int, int]]] = [[] for _ in lines]
    ship_allocs: list[list[tuple[int, int]]] = [[] for _ in ships]
    for index, app in enumerate(order.get("discount_applications") or []):
        value = Decimal(str(app["value"]))
        if app["target_type"] == "shipping_line":
            targets, pool, allocs = list(range(len(ships))), ship_remaining, ship_allocs
        else:
            targets = [i for i, li in enumerate(lines) if _entitled(app, li)]
            pool, allocs = remaining, line_allocs
        if app["value_type"] == "percentage":
            offs = [min(pool[i], _half_up(pool[i] * value / 100)) for i in targets]
        else:
            amount = min(cents_of(app["value"]), sum(pool[i] for i in targets))
            offs = _spread(amount, [pool[i] for i in targets])
        for i, off in zip(targets, offs, strict=True):
            if off:
                pool[i] -= off
                allocs[i].append((index, off))
    for li, unit, left, allocs, rate in zip(lines, units, remaining, line_allocs, rates, strict=True):
        put(li, "price", unit, currency)
        put(li, "total_discount", 0, currency)
        li["discount_allocations"] = [_allocation(off, currency, index) for index, off in allocs]
        li["tax_lines"] = tax_lines(tax_title, rate, left, currency)
        li["fulfillable_quantity"] = 0 if li.get("fulfillment_status") == "fulfilled" else int(li["quantity"])
    for ship, price, left, allocs in zip(ships, ship_prices, ship_remaining, ship_allocs, strict=True):
        put(ship, "price", price, currency)
        put(ship, "discounted_price", left, currency)
        ship["discount_allocations"] = [_allocation(off, currency, index) for index, off in allocs]
        ship["tax_lines"] = tax_lines(tax_title, shipping_rate, left, currency)


def _allocated(holder: dict[str, Any]) -> tuple[int, int]:
    shop = buyer = 0
    for alloc in holder.get("discount_allocations") or []:
        s, b = pair(alloc, "amount")
        shop, buyer = shop + s, buyer + b
    return shop, buyer


def line_discount(line: dict[str, Any]) -> tuple[int, int]:
    """(shop, presentment) discount of one line: its allocations plus any `total_discount`."""
    shop, buyer = _allocated(line)
    direct = pair(line, "total_discount")
    return shop + direct[0], buyer + direct[1]


def refunded(order: dict[str, Any]) -> int:
    """What the buyer got back, in the buyer's currency (refund transactions are in it)."""
    return sum(cents_of(t["amount"]) for r in order.get("refunds", []) for t in r["transactions"])


def recompute_totals(order: dict[str, Any]) -> None:
    """Derive every order-level amount from its lines, shipping and refunds; the shop-currency totals
    are sums of the converted parts, as in Shopify's Order API."""
    currency = order["presentment_currency"]

    def total(parts: list[tuple[int, int]]) -> tuple[int, int]:
        return sum(p[0] for p in parts), sum(p[1] for p in parts)

    lines, ships = order["line_items"], order["shipping_lines"]
    units = [pair(li, "price") for li in lines]
    gross = total(
        [(u[0] * li["quantity"], u[1] * li["quantity"]) for u, li in zip(units, lines, strict=True)]
    )
    line_off = total([line_discount(li) for li in lines])
    ship_off = total([_allocated(s) for s in ships])
    shipping = total([pair(s, "discounted_price") for s in ships])
    subtotal = (gross[0] - line_off[0], gross[1] - line_off[1])
    grand = (subtotal[0] + shipping[0], subtotal[1] + shipping[1])
    tax_by_rate: dict[tuple[str, float], tuple[int, int]] = {}
    for holder in [*lines, *ships]:
        for t in holder["tax_lines"]:
            key = (t["title"], t["rate"])
            before, now = tax_by_rate.get(key, (0, 0)), pair(t, "price")
            tax_by_rate[key] = (before[0] + now[0], before[1] + now[1])
    tax = total(list(tax_by_rate.values()))
    back = refunded(order)
    left = grand[1] - back
    left_shop = grand[0] - to_shop(back, currency) if left > 0 else 0
    put(order, "total_line_items_price", gross[1], currency, gross[0])
    put(order, "total_discounts", line_off[1] + ship_off[1], currency, line_off[0] + ship_off[0])
    put(order, "subtotal_price", subtotal[1], currency, subtotal[0])
    order["total_shipping_price_set"] = money_set(shipping[1], currency, shipping[0])
    put(order, "total_tax", tax[1], currency, tax[0])
    put(order, "total_price", grand[1], currency, grand[0])
    put(order, "current_total_price", left, currency, left_shop)
    order["tax_lines"] = [
        {"title": title, "rate": rate, **_priced(amount, currency)}
        for (title, rate), amount in sorted(tax_by_rate.items(), key=lambda kv: -kv[0][1])
    ]
    by_index: dict[int, int] = {}
    for holder in [*lines, *ships]:
        for alloc in holder.get("discount_allocations") or []:
            index = int(alloc["discount_application_index"])
            by_index[index] = by_index.get(index, 0) + pair(alloc, "amount")[0]
    applications = order.get("discount_applications") or []
    code_index = {a.get("code"): i for i, a in enumerate(applications) if a.get("type") == "discount_code"}
    for dc in order.get("discount_codes") or []:
        dc["amount"] = money(by_index.get(code_index.get(dc["code"], -1), 0))


def _priced(amount: tuple[int, int], currency: str) -> dict[str, Any]:
    twin = money_set(amount[1], currency, amount[0])
    return {"price": twin["shop_money"]["amount"], "price_set": twin}
