"""Fortnox API v3 imitation: customers, articles, orders, invoices, payments, lookups, OAuth tokens.

Choices where the public facts were open:
- The sliding window (25 per 5 s, scaled) counts only accepted requests; a 429 does not extend it.
- Not-yet-set references (InvoiceReference, OrderReference, CreditInvoiceReference) are null.
- Numbers (Price, Total, quantities) are JSON numbers; document numbers are strings.
- Unknown fields in a request body are ignored; read-only fields are ignored too.
"""

from __future__ import annotations

import math
import time
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route, Router
from starlette.types import Receive, Scope, Send

from engine.platforms.fortnox_codes import FORTNOX_CODES, message_for, number_for
from engine.platforms.fortnox_countries import ACCEPTED_NAMES, FORTNOX_COUNTRY_NAMES
from engine.platforms.fortnox_scopes import scope_for_path
from engine.sandbox import fortnox_company
from engine.sandbox.common import BodyError, header, json_response, read_json, send_json
from engine.sandbox.fortnox_amounts import compute_totals, currency_terms
from engine.sandbox.generator import SHOP_TZ
from engine.sandbox.state import FortnoxStore, SandboxState, public

# Fortnox reads `lastmodified` as Swedish local time, summer time included.
FORTNOX_TZ = ZoneInfo("Europe/Stockholm")


class FortnoxError(Exception):
    def __init__(self, status: int, code: int, message: str | None = None) -> None:
        self.status = status
        self.code = code
        self.message = message or FORTNOX_CODES[code][1]
        super().__init__(self.message)

    def body(self) -> dict[str, Any]:
        return {"ErrorInformation": {"error": 1, "message": self.message, "code": self.code}}


def err(name: str, status: int = 400, detail: str | None = None) -> FortnoxError:
    """Fortnox's refusal for an engine code: its Swedish message and number (0 where Fortnox's
    number is unknown, see fortnox_codes)."""
    message = message_for(name)
    return FortnoxError(status, number_for(name), f"{message.rstrip('.')}: {detail}" if detail else message)


def _check_country(doc: dict[str, Any], *fields: str) -> None:
    for field in fields:
        name = doc.get(field)
        if name and name not in ACCEPTED_NAMES:
            raise err("FORTNOX_COUNTRY_INVALID", 400, str(name))


def invalid(detail: str) -> FortnoxError:
    return err("VALIDATION_FAILED", 400, detail)


def today() -> date:
    return datetime.now(SHOP_TZ).date()


def _store(request: Request) -> tuple[SandboxState, FortnoxStore]:
    state: SandboxState = request.app.state.sandbox
    return state, state.fortnox


def _url(request: Request, path: str) -> str:
    return f"{request.url.scheme}://{request.url.netloc}/fortnox/3/{path}"


def _num(value: Any, field: str) -> float:
    if value is None or value == "":
        return 0.0
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise invalid(f"{field} must be a number") from None
    if math.isnan(number) or math.isinf(number):
        raise invalid(f"{field} must be a number")
    return number


def _date(value: Any, field: str) -> str:
    try:
        return date.fromisoformat(str(value)).isoformat()
    except ValueError:
        raise invalid(f"{field} must be a date yyyy-MM-dd") from None


async def _body(request: Request, wrapper: str) -> dict[str, Any]:
    try:
        data = await read_json(request)
    except BodyError as exc:
        raise FortnoxError(400, 2002115, f"{FORTNOX_CODES[2002115][1]}: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get(wrapper), dict):
        raise invalid(f'the body must be a JSON object {{"{wrapper}": {{...}}}}')
    return dict(data[wrapper])


# ---------------------------------------------------------------- paging, search, global params


def _parse_lastmodified(value: str) -> float:
    for fmt in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%d"):
        try:
            return datetime.strptime(value.strip(), fmt).replace(tzinfo=FORTNOX_TZ).timestamp()
        except ValueError:
            continue
    raise invalid(f"lastmodified {value!r}")


def _listing(
    request: Request,
    objects: list[dict[str, Any]],
    key: str,
    search: tuple[str, ...],
    date_field: str | None,
    subset: tuple[str, ...] | None,
    url_of: Any,
    filters: dict[str, Any] | None = None,
) -> Response:
    q = {k.lower(): v for k, v in request.query_params.items()}
    items = objects
    for param in search:
        if q.get(param):
            needle = q[param].lower()
            field = next((f for f in (subset or ()) if f.lower() == param), None) or _field_named(
                objects, param
            )
            items = [o for o in items if needle in str(o.get(field) or "").lower()]
    if q.get("filter"):
        predicate = (filters or {}).get(q["filter"].lower())
        if predicate is None:
            raise invalid(f"filter {q['filter']!r}")
        items = [o for o in items if predicate(o)]
    if q.get("lastmodified"):
        since = _parse_lastmodified(q["lastmodified"])
        items = [o for o in items if o.get("_modified", 0) >= since]
    if date_field and (q.get("fromdate") or q.get("todate")):
        lo = _date(q["fromdate"], "fromdate") if q.get("fromdate") else "0000"
        hi = _date(q["todate"], "todate") if q.get("todate") else "9999"
        items = [o for o in items if lo <= str(o.get(date_field) or "") <= hi]
    sortby = q.get("sortby")
    if sortby:
        field = _field_named(objects, sortby) or key

        def sort_key(o: dict[str, Any]) -> Any:
            v = o.get(field)
            return (0, float(v), "") if isinstance(v, int | float) or _is_int(v) else (1, 0.0, str(v or ""))

        items = sorted(items, key=sort_key, reverse=q.get("sortorder", "ascending").lower() == "descending")
    elif q.get("sortorder", "").lower() == "descending":
        items = list(reversed(items))
    limit = int(_num(q.get("limit", 100), "limit"))
    page = int(_num(q.get("page", 1), "page"))
    if limit < 1 or limit > 500 or page < 1:
        raise invalid("limit must be 1-500 and page >= 1")
    total = len(items)
    pages = max(1, math.ceil(total / limit))
    chunk = items[(page - 1) * limit : page * limit]
    rows = []
    for o in chunk:
        row = {f: o.get(f) for f in subset} if subset else public(o)
        row["@url"] = url_of(o)
        rows.append(row)
    meta = {"@TotalResources": total, "@TotalPages": pages, "@CurrentPage": page}
    return json_response({key: rows, "MetaInformation": meta})


def _is_int(v: Any) -> bool:
    return isinstance(v, str) and v.isdigit()


def _field_named(objects: list[dict[str, Any]], param: str) -> str | None:
    if not objects:
        return None
    return next((f for f in objects[0] if f.lower() == param.lower()), None)


def _single(request: Request, key: str, obj: dict[str, Any], url_path: str, status: int = 200) -> Response:
    body = public(obj)
    body["@url"] = _url(request, url_path)
    return json_response({key: body}, status)


def _by_number(objects: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    return [objects[k] for k in sorted(objects, key=lambda k: (len(k), k))]


# ---------------------------------------------------------------- customers

CUSTOMER_FIELDS = (
    "Name", "Email", "Type", "OrganisationNumber", "VATNumber", "VATType", "Currency", "CountryCode",
    "Country", "Address1", "Address2", "City", "ZipCode", "Phone1", "Phone2", "TermsOfPayment",
    "WayOfDelivery", "Active", "ExternalReference", "DeliveryName", "DeliveryAddress1", "DeliveryAddress2",
    "DeliveryCity", "DeliveryZipCode", "DeliveryCountry", "DeliveryCountryCode", "YourReference",
    "OurReference", "Comments", "EmailInvoice", "Language", "PriceList",
)  # fmt: skip
CUSTOMER_LIST = (
    "CustomerNumber", "Name", "Email", "OrganisationNumber", "Phone", "Address1", "City", "ZipCode",
    "CountryCode", "Currency", "Active", "Type",
)  # fmt: skip


def _customer_defaults(number: str) -> dict[str, Any]:
    base: dict[str, Any] = dict.fromkeys(CUSTOMER_FIELDS, "")
    base.update(
        CustomerNumber=number, Type="PRIVATE", VATType="SEVAT", Currency="SEK", CountryCode="SE", Active=True,
    )  # fmt: skip
    return base


def _apply_customer(store: FortnoxStore, customer: dict[str, Any], body: dict[str, Any]) -> None:
    for field in CUSTOMER_FIELDS:
        if field in body:
            customer[field] = body[field] if body[field] is not None else ""
    if not str(customer.get("Name") or "").strip():
        raise err("FORTNOX_CUSTOMER_NAME_EMPTY")
    code = str(customer.get("CountryCode") or "")
    if code and code not in FORTNOX_COUNTRY_NAMES:
        raise err("FORTNOX_COUNTRY_CODE_INVALID", 400, code)
    _check_country(customer, "Country", "DeliveryCountry")
    # Fortnox names the customer's country itself from CountryCode.
    customer["Country"] = FORTNOX_COUNTRY_NAMES.get(code, "")
    customer["Phone"] = customer.get("Phone1", "")
    if customer.get("Type") not in ("PRIVATE", "COMPANY"):
        raise invalid("Type must be PRIVATE or COMPANY")
    if customer.get("VATType") not in ("SEVAT", "SEREVERSEDVAT", "EUVAT", "EUREVERSEDVAT", "EXPORT"):
        raise invalid("VATType")
    _check_codes(store, customer)
    customer["_modified"] = time.time()


def _check_codes(store: FortnoxStore, doc: dict[str, Any]) -> None:
    lookups = store.lookups
    cur = doc.get("Currency")
    if cur and cur not in {c["Code"] for c in lookups["currencies"]}:
        raise err("FORTNOX_CURRENCY_NOT_FOUND", 400, str(cur))
    way = doc.get("WayOfDelivery")
    if way and way not in {w["Code"] for w in lookups["wayofdeliveries"]}:
        raise err("FORTNOX_WAY_OF_DELIVERY_NOT_FOUND", 400, str(way))
    terms = doc.get("TermsOfPayment")
    if terms and terms not in {t["Code"] for t in lookups["termsofpayments"]}:
        raise err("FORTNOX_TERMS_OF_PAYMENT_NOT_FOUND", 400, str(terms))


async def list_customers(request: Request) -> Response:
    state, store = _store(request)
    with state.lock:
        objects = _by_number(store.customers)
        return _listing(
            request, objects, "Customers", ("email", "name", "customernumber", "organisationnumber", "phone"),
            None, CUSTOMER_LIST, lambda o: _url(request, f"customers/{o['CustomerNumber']}"),
        )  # fmt: skip


async def create_customer(request: Request) -> Response:
    state, store = _store(request)
    body = await _body(request, "Customer")
    with state.lock:
        number = str(body.get("CustomerNumber") or "").strip()
        if number and number in store.customers:
            taken = f"Kundnummer {number} används redan. Kundnumret har redan använts men blivit raderat."
            raise FortnoxError(400, 2000637, taken)
        if number and (" " in number or len(number) > 50):
            raise invalid("CustomerNumber")
        if not number:
            number = store.next_number("customer")
            while number in store.customers:
                number = store.next_number("customer")
        customer = _customer_defaults(number)
        _apply_customer(store, customer, body)
        store.customers[number] = customer
        return _single(request, "Customer", customer, f"customers/{number}", 201)


def _customer(store: FortnoxStore, number: str) -> dict[str, Any]:
    customer = store.customers.get(number)
    if customer is None:
        raise err("CUSTOMER_NOT_FOUND", 404, number)
    return customer


async def get_customer(request: Request) -> Response:
    state, store = _store(request)
    with state.lock:
        number = request.path_params["number"]
        return _single(request, "Customer", _customer(store, number), f"customers/{number}")


async def update_customer(request: Request) -> Response:
    state, store = _store(request)
    body = await _body(request, "Customer")
    with state.lock:
        number = request.path_params["number"]
        customer = _customer(store, number)
        updated = dict(customer)
        _apply_customer(store, updated, body)
        store.customers[number] = updated
        return _single(request, "Customer", updated, f"customers/{number}")


# ---------------------------------------------------------------- articles

ARTICLE_FIELDS = (
    "Description", "EAN", "SalesPrice", "PurchasePrice", "VAT", "Unit", "StockGoods", "QuantityInStock",
    "Active", "WebshopArticle", "SalesAccount", "Note", "Weight", "Manufacturer",
)  # fmt: skip


def validate_article_number(number: Any) -> str:
    text = str(number or "")
    if not text or " " in text or len(text) > 200:
        raise invalid("ArticleNumber must be 1-200 characters without spaces")
    return text


def create_article_in(store: FortnoxStore, body: dict[str, Any]) -> dict[str, Any]:
    """Shared by the API and the control endpoint; caller holds the lock."""
    number = body.get("ArticleNumber")
    if number in (None, ""):
        # Fortnox numbers articles itself when none is given.
        number = store.next_number("article")
        while number in store.articles:
            number = store.next_number("article")
    number = validate_article_number(number)
    if number in store.articles:
        raise err("ARTICLE_NUMBER_TAKEN", 400, number)
    article: dict[str, Any] = {
        "ArticleNumber": number, "Description": "", "EAN": "", "SalesPrice": 0.0, "PurchasePrice": 0.0,
        "VAT": 25.0, "Unit": "st", "StockGoods": False, "QuantityInStock": 0, "ReservedQuantity": 0,
        "DisposableQuantity": 0, "Active": True, "WebshopArticle": False, "SalesAccount": 3001,
    }  # fmt: skip
    _apply_article(store, article, body)
    store.articles[number] = article
    return article


def _apply_article(store: FortnoxStore, article: dict[str, Any], body: dict[str, Any]) -> None:
    for field in ARTICLE_FIELDS:
        if field in body:
            article[field] = body[field]
    for field in ("SalesPrice", "PurchasePrice", "VAT", "QuantityInStock"):
        article[field] = _num(article.get(field), field)
    if article["VAT"] not in store.vat_percents:
        raise err("FORTNOX_VAT_INVALID", 400, f"{article['VAT']:g}")
    article["DisposableQuantity"] = article["QuantityInStock"] - _num(article.get("ReservedQuantity"), "x")
    article["_modified"] = time.time()


def _article(store: FortnoxStore, number: str) -> dict[str, Any]:
    article = store.articles.get(number)
    if article is None:
        raise err("ARTICLE_NOT_FOUND", 404, number)
    return article


async def list_articles(request: Request) -> Response:
    state, store = _store(request)
    with state.lock:
        objects = sorted(store.articles.values(), key=lambda a: a["ArticleNumber"])
        return _listing(
            request, objects, "Articles", ("articlenumber", "description", "ean"), None, None,
            lambda o: _url(request, f"articles/{o['ArticleNumber']}"),
        )  # fmt: skip


async def create_article(request: Request) -> Response:
    state, store = _store(request)
    body = await _body(request, "Article")
    with state.lock:
        article = create_article_in(store, body)
        return _single(request, "Article", article, f"articles/{article['ArticleNumber']}", 201)


async def get_article(request: Request) -> Response:
    state, store = _store(request)
    with state.lock:
        number = request.path_params["number"]
        return _single(request, "Article", _article(store, number), f"articles/{number}")


async def update_article(request: Request) -> Response:
    state, store = _store(request)
    body = await _body(request, "Article")
    with state.lock:
        number = request.path_params["number"]
        updated = dict(_article(store, number))
        _apply_article(store, updated, body)
        store.articles[number] = updated
        return _single(request, "Article", updated, f"articles/{number}")


# ---------------------------------------------------------------- orders and invoices (shared document logic)

DOC_FIELDS = (
    "CustomerNumber", "CustomerName", "DeliveryDate", "YourOrderNumber", "YourReference", "OurReference",
    "ExternalInvoiceReference1", "ExternalInvoiceReference2", "Currency", "CurrencyRate", "CurrencyUnit",
    "VATIncluded",
    "WayOfDelivery", "TermsOfPayment", "Freight", "Address1", "Address2", "City", "ZipCode", "Country",
    "DeliveryName", "DeliveryAddress1", "DeliveryAddress2", "DeliveryCity", "DeliveryZipCode",
    "DeliveryCountry", "Remarks", "Comments", "Phone1", "EmailInformation", "Language", "PriceList",
    "CostCenter", "Project", "NotCompleted", "OrganisationNumber", "VATType",
)  # fmt: skip
ROW_FIELDS = (
    "ArticleNumber", "Description", "OrderedQuantity", "DeliveredQuantity", "Price", "VAT", "Discount",
    "DiscountType", "AccountNumber", "Unit", "CostCenter", "Project",
)  # fmt: skip
# List rows carry only a subset of each document (as Fortnox's OrderSubset / InvoiceSubset): no
# YourOrderNumber, and no InvoiceReference on orders; read the single document for those.
ORDER_LIST = (
    "DocumentNumber", "CustomerNumber", "CustomerName", "OrderDate", "DeliveryDate",
    "ExternalInvoiceReference1", "ExternalInvoiceReference2", "Cancelled", "Total", "Currency", "Project",
)  # fmt: skip
INVOICE_LIST = (
    "DocumentNumber", "CustomerNumber", "CustomerName", "InvoiceDate", "DueDate", "ExternalInvoiceReference1",
    "ExternalInvoiceReference2", "Booked", "Cancelled", "Credit",
    "CreditInvoiceReference", "OrderReference", "Total", "Balance", "Currency", "OCR", "VoucherNumber",
    "FinalPayDate",
)  # fmt: skip
DOC_SEARCH = ("externalinvoicereference1", "externalinvoicereference2", "yourordernumber", "customernumber",
              "documentnumber", "customername", "ocr")  # fmt: skip
# Orders can't be searched by YourOrderNumber: Fortnox answers "Ogiltig parameter i anropet."
# (FortnoxAB/csharp-api-sdk discussion #287).
ORDER_SEARCH = tuple(p for p in DOC_SEARCH if p not in ("yourordernumber", "ocr"))


def _row_base(
    raw: dict[str, Any], position: int, rows_in: list[dict[str, Any]], previous: list[dict[str, Any]]
) -> dict[str, Any]:
    """The stored row a sent row updates (Fortnox's rules, developer.fortnox.se blog "Updating
    document rows using RowId"): when any row carries a RowId, rows match by RowId, rows without one
    are new and stored rows not sent are deleted; when none does, rows match by position, so a row
    inserted in the middle inherits the next row's unsent fields."""
    if any(r.get("RowId") not in (None, "") for r in rows_in):
        row_id = raw.get("RowId")
        if row_id in (None, ""):
            return {}
        found = next((r for r in previous if str(r["RowId"]) == str(row_id)), None)
        if found is None:
            raise err("ROW_ID_NOT_FOUND", 400, f"RowId {row_id}")
        return dict(found)
    return dict(previous[position]) if position < len(previous) else {}


def _build_rows(
    store: FortnoxStore, rows_in: Any, previous: list[dict[str, Any]], rows_key: str, vat_type: str
) -> list[dict[str, Any]]:
    if not isinstance(rows_in, list):
        raise invalid(f"{rows_key} must be a list")
    if len(rows_in) > 500:
        raise err("FORTNOX_ROW_LIMIT")
    if not all(isinstance(raw, dict) for raw in rows_in):
        raise invalid(f"{rows_key} must contain objects")
    rows = []
    for position, raw in enumerate(rows_in):
        base = _row_base(raw, position, rows_in, previous)
        # Fortnox gives every row a new RowId on every write: a RowId is good until the next update.
        store.counters["row"] += 1
        base["RowId"] = store.counters["row"]
        for field in ROW_FIELDS:
            if field in raw:
                base[field] = raw[field]
        article_number = str(base.get("ArticleNumber") or "")
        article = None
        if article_number:
            article = store.articles.get(article_number)
            if article is None:
                raise err("ARTICLE_NOT_FOUND", 400, article_number)
        ordered = _num(base.get("OrderedQuantity", base.get("DeliveredQuantity", 0)), "OrderedQuantity")
        # A changed ordered quantity drags the delivered one along unless the caller sets both.
        follow = "OrderedQuantity" in raw and "DeliveredQuantity" not in raw
        delivered = ordered if follow else _num(base.get("DeliveredQuantity", ordered), "DeliveredQuantity")
        vat = (
            _num(base["VAT"], "VAT")
            if base.get("VAT") not in (None, "")
            else (article or {}).get("VAT", 25.0)
        )
        if float(vat) not in store.vat_percents:
            raise err("FORTNOX_VAT_INVALID", 400, f"{float(vat):g}%")
        discount_type = str(base.get("DiscountType") or "AMOUNT").upper()
        if discount_type not in ("AMOUNT", "PERCENT"):
            raise invalid("DiscountType must be AMOUNT or PERCENT")
        account = _row_account(
            store, base.get("AccountNumber") or (article or {}).get("SalesAccount"), vat, vat_type
        )
        rows.append(
            {
                "RowId": base["RowId"],
                "ArticleNumber": article_number,
                "Description": str(base.get("Description") or (article or {}).get("Description", "")),
                "OrderedQuantity": ordered,
                "DeliveredQuantity": delivered,
                "Price": _num(base.get("Price", (article or {}).get("SalesPrice", 0)), "Price"),
                "VAT": float(vat),
                "Discount": _num(base.get("Discount", 0), "Discount"),
                "DiscountType": discount_type,
                "AccountNumber": account,
                "Unit": str(base.get("Unit") or (article or {}).get("Unit", "st")),
            }
        )
    return rows


def _row_account(store: FortnoxStore, account: Any, vat: float, vat_type: str) -> int:
    """A row's account must exist in the company's chart, be active and fit the row's VAT."""
    try:
        return fortnox_company.check_row(
            store.lookups["accounts"], store.lookups["vatcodes"], account, float(vat), vat_type
        )
    except fortnox_company.RowRefused as exc:
        if exc.kind == "vat":
            raise err("FORTNOX_VAT_INVALID", 400, exc.message) from None
        # 2001304 is Fortnox's public "Kunde inte hitta konto". For an inactive account Fortnox's
        # docs name 2001265 only on /3/predefinedaccounts; clients classify that one by its text.
        code = number_for("FORTNOX_ACCOUNT_NOT_FOUND") if exc.kind == "account_missing" else 2001265
        raise FortnoxError(400, code, exc.message) from None


def _compute_totals(store: FortnoxStore, doc: dict[str, Any], rows_key: str) -> None:
    try:
        compute_totals(doc, rows_key, store.round_whole_kronor)
    except ValueError as exc:
        raise invalid(str(exc)) from None


def _apply_document(
    store: FortnoxStore, doc: dict[str, Any], body: dict[str, Any], rows_key: str, date_field: str
) -> None:
    """Validate a create/update body against the company's data and recompute the amounts."""
    for field in DOC_FIELDS:
        if field in body:
            doc[field] = body[field]
    _check_country(doc, "Country", "DeliveryCountry")
    if date_field in body:
        doc[date_field] = _date(body[date_field], date_field)
    customer_number = str(doc.get("CustomerNumber") or "")
    customer = store.customers.get(customer_number)
    if customer is None:
        raise err("CUSTOMER_NOT_FOUND", 400, customer_number or "(missing CustomerNumber)")
    doc["CustomerNumber"] = customer_number
    if not doc.get("CustomerName"):
        doc["CustomerName"] = customer["Name"]
    for field, fallback in (("Currency", "SEK"), ("TermsOfPayment", ""), ("WayOfDelivery", "")):
        if not doc.get(field):
            doc[field] = customer.get(field) or fallback
    _check_codes(store, doc)
    if "Currency" in body and "CurrencyRate" not in body:
        doc["CurrencyRate"] = doc["CurrencyUnit"] = 0  # a new currency takes its own rate
    for field in ("CurrencyRate", "CurrencyUnit"):
        _num(doc.get(field), field)
    try:
        currency_terms(doc, store.lookups["currencies"])
    except ValueError as exc:
        raise invalid(str(exc)) from None
    doc["VATIncluded"] = bool(doc.get("VATIncluded", False))
    if rows_key in body:
        vat_type = str(doc.get("VATType") or customer.get("VATType") or "SEVAT")
        doc[rows_key] = _build_rows(store, body[rows_key], doc.get(rows_key, []), rows_key, vat_type)
        if rows_key == "InvoiceRows":
            for row in doc[rows_key]:
                row.pop("OrderedQuantity", None)
    else:
        # Any write renumbers the rows, even one that leaves them alone.
        for row in doc.get(rows_key, []):
            store.counters["row"] += 1
            row["RowId"] = store.counters["row"]
    doc.setdefault(rows_key, [])
    _compute_totals(store, doc, rows_key)
    doc["_modified"] = time.time()


def _order_defaults() -> dict[str, Any]:
    doc: dict[str, Any] = dict.fromkeys(DOC_FIELDS, "")
    doc.update(
        DocumentNumber="", OrderDate=today().isoformat(), Cancelled=False, InvoiceReference=None,
        VATIncluded=False, Freight=0.0, CurrencyRate=0, OrderRows=[],
    )  # fmt: skip
    return doc


def _order(store: FortnoxStore, number: str) -> dict[str, Any]:
    order = store.orders.get(number)
    if order is None:
        raise err("NOT_FOUND", 404, f"order {number}")
    return order


ORDER_FILTERS = {
    "cancelled": lambda o: o["Cancelled"],
    "invoicecreated": lambda o: bool(o["InvoiceReference"]),
    "invoicenotcreated": lambda o: not o["InvoiceReference"] and not o["Cancelled"],
}


async def list_orders(request: Request) -> Response:
    state, store = _store(request)
    unknown = {p.lower() for p in request.query_params} & (set(DOC_SEARCH) - set(ORDER_SEARCH))
    if unknown:
        raise err("VALIDATION_FAILED", 400, ", ".join(sorted(unknown)))
    with state.lock:
        return _listing(
            request, _by_number(store.orders), "Orders", ORDER_SEARCH, "OrderDate", ORDER_LIST,
            lambda o: _url(request, f"orders/{o['DocumentNumber']}"), ORDER_FILTERS,
        )  # fmt: skip


async def create_order(request: Request) -> Response:
    state, store = _store(request)
    body = await _body(request, "Order")
    with state.lock:
        order = _order_defaults()
        _apply_document(store, order, body, "OrderRows", "OrderDate")
        order["DocumentNumber"] = store.next_number("order")
        store.orders[order["DocumentNumber"]] = order
        return _single(request, "Order", order, f"orders/{order['DocumentNumber']}", 201)


async def get_order(request: Request) -> Response:
    state, store = _store(request)
    with state.lock:
        number = request.path_params["number"]
        return _single(request, "Order", _order(store, number), f"orders/{number}")


def _order_editable(order: dict[str, Any]) -> None:
    if order["InvoiceReference"]:
        raise err("ORDER_ALREADY_INVOICED", 400, f"invoice {order['InvoiceReference']}")
    if order["Cancelled"]:
        raise err("ORDER_CANCELLED")


async def update_order(request: Request) -> Response:
    state, store = _store(request)
    body = await _body(request, "Order")
    with state.lock:
        number = request.path_params["number"]
        order = _order(store, number)
        _order_editable(order)
        updated = {**order, "OrderRows": [dict(r) for r in order["OrderRows"]]}
        _apply_document(store, updated, body, "OrderRows", "OrderDate")
        store.orders[number] = updated
        return _single(request, "Order", updated, f"orders/{number}")


def _ocr(number: str) -> str:
    digits = number + str((len(number) + 2) % 10)
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch) * (2 if i % 2 == 0 else 1)
        total += d - 9 if d > 9 else d
    return digits + str((10 - total % 10) % 10)


def _due_date(store: FortnoxStore, invoice_date: str, terms: str) -> str:
    term = next((t for t in store.lookups["termsofpayments"] if t["Code"] == terms), None)
    days = term["_days"] if term else 30
    return (date.fromisoformat(invoice_date) + timedelta(days=days)).isoformat()


def _new_invoice(store: FortnoxStore) -> dict[str, Any]:
    doc: dict[str, Any] = dict.fromkeys(DOC_FIELDS, "")
    doc.update(
        DocumentNumber="", InvoiceDate=today().isoformat(), DueDate="", InvoiceType="INVOICE", OCR="",
        Booked=False, Cancelled=False, Credit=False, CreditInvoiceReference=None, Balance=0.0,
        FinalPayDate=None, OrderReference=None, VoucherNumber=None, VoucherSeries=None, VoucherYear=None,
        VATIncluded=False, Freight=0.0, CurrencyRate=0, InvoiceRows=[],
    )  # fmt: skip
    return doc


def _finish_invoice(store: FortnoxStore, invoice: dict[str, Any]) -> None:
    number = store.next_number("invoice")
    invoice["DocumentNumber"] = number
    invoice["OCR"] = _ocr(number)
    invoice["DueDate"] = _due_date(store, invoice["InvoiceDate"], invoice.get("TermsOfPayment") or "")
    invoice["Balance"] = invoice["Total"]
    store.invoices[number] = invoice


async def create_invoice_from_order(request: Request) -> Response:
    state, store = _store(request)
    with state.lock:
        number = request.path_params["number"]
        order = _order(store, number)
        _order_editable(order)
        invoice = _new_invoice(store)
        for field in DOC_FIELDS:
            invoice[field] = order.get(field, "")
        invoice["InvoiceRows"] = [
            {k: v for k, v in row.items() if k != "OrderedQuantity"} for row in order["OrderRows"]
        ]
        invoice["OrderReference"] = number
        _compute_totals(store, invoice, "InvoiceRows")
        invoice["_modified"] = time.time()
        _finish_invoice(store, invoice)
        order["InvoiceReference"] = invoice["DocumentNumber"]
        order["_modified"] = time.time()
        return _single(request, "Invoice", invoice, f"invoices/{invoice['DocumentNumber']}")


async def cancel_order(request: Request) -> Response:
    state, store = _store(request)
    with state.lock:
        number = request.path_params["number"]
        order = _order(store, number)
        if order["InvoiceReference"]:
            raise err("ORDER_ALREADY_INVOICED", 400, f"invoice {order['InvoiceReference']}")
        order["Cancelled"] = True
        order["_modified"] = time.time()
        return _single(request, "Order", order, f"orders/{number}")


def _invoice(store: FortnoxStore, number: str) -> dict[str, Any]:
    invoice = store.invoices.get(number)
    if invoice is None:
        raise err("NOT_FOUND", 404, f"invoice {number}")
    return invoice


def _overdue(o: dict[str, Any]) -> bool:
    return o["Balance"] != 0 and not o["Cancelled"] and o["DueDate"] < today().isoformat()


INVOICE_FILTERS = {
    "cancelled": lambda o: o["Cancelled"],
    "fullypaid": lambda o: o["Balance"] == 0 and not o["Cancelled"],
    "unpaid": lambda o: o["Balance"] != 0 and not o["Cancelled"],
    "unpaidoverdue": _overdue,
    "unbooked": lambda o: not o["Booked"] and not o["Cancelled"],
}


async def list_invoices(request: Request) -> Response:
    state, store = _store(request)
    with state.lock:
        return _listing(
            request, _by_number(store.invoices), "Invoices", DOC_SEARCH, "InvoiceDate", INVOICE_LIST,
            lambda o: _url(request, f"invoices/{o['DocumentNumber']}"), INVOICE_FILTERS,
        )  # fmt: skip


async def create_invoice(request: Request) -> Response:
    state, store = _store(request)
    body = await _body(request, "Invoice")
    with state.lock:
        invoice = _new_invoice(store)
        _apply_document(store, invoice, body, "InvoiceRows", "InvoiceDate")
        _finish_invoice(store, invoice)
        if body.get("DueDate"):
            invoice["DueDate"] = _date(body["DueDate"], "DueDate")
        return _single(request, "Invoice", invoice, f"invoices/{invoice['DocumentNumber']}", 201)


async def get_invoice(request: Request) -> Response:
    state, store = _store(request)
    with state.lock:
        number = request.path_params["number"]
        return _single(request, "Invoice", _invoice(store, number), f"invoices/{number}")


def _invoice_editable(invoice: dict[str, Any]) -> None:
    if invoice["Booked"]:
        raise err("INVOICE_BOOKED")
    if invoice["Cancelled"]:
        raise invalid("the invoice is cancelled")


async def update_invoice(request: Request) -> Response:
    state, store = _store(request)
    body = await _body(request, "Invoice")
    with state.lock:
        number = request.path_params["number"]
        invoice = _invoice(store, number)
        _invoice_editable(invoice)
        updated = {**invoice, "InvoiceRows": [dict(r) for r in invoice["InvoiceRows"]]}
        paid = invoice["Total"] - invoice["Balance"]
        _apply_document(store, updated, body, "InvoiceRows", "InvoiceDate")
        if body.get("DueDate"):
            updated["DueDate"] = _date(body["DueDate"], "DueDate")
        updated["Balance"] = round(updated["Total"] - paid, 2)
        store.invoices[number] = updated
        return _single(request, "Invoice", updated, f"invoices/{number}")


async def bookkeep_invoice(request: Request) -> Response:
    state, store = _store(request)
    with state.lock:
        number = request.path_params["number"]
        invoice = _invoice(store, number)
        if invoice["Cancelled"]:
            raise invalid("the invoice is cancelled")
        if invoice["Booked"]:
            raise err("INVOICE_ALREADY_BOOKED")
        store.counters.setdefault("voucher", 0)
        store.counters["voucher"] += 1
        invoice.update(
            Booked=True, VoucherNumber=store.counters["voucher"], VoucherSeries="B", VoucherYear=today().year,
            _modified=time.time(),
        )  # fmt: skip
        return _single(request, "Invoice", invoice, f"invoices/{number}")


async def cancel_invoice(request: Request) -> Response:
    state, store = _store(request)
    with state.lock:
        number = request.path_params["number"]
        invoice = _invoice(store, number)
        if invoice["Booked"]:
            raise err("INVOICE_BOOKED")
        invoice.update(Cancelled=True, Balance=0.0, _modified=time.time())
        return _single(request, "Invoice", invoice, f"invoices/{number}")


async def credit_invoice(request: Request) -> Response:
    state, store = _store(request)
    with state.lock:
        number = request.path_params["number"]
        invoice = _invoice(store, number)
        if invoice["Credit"]:
            raise invalid("a credit invoice cannot be credited")
        if invoice["CreditInvoiceReference"]:
            raise err("INVOICE_ALREADY_CREDITED", 400, f"credit invoice {invoice['CreditInvoiceReference']}")
        if invoice["Cancelled"]:
            raise invalid("the invoice is cancelled")
        credit = _new_invoice(store)
        for field in DOC_FIELDS:
            credit[field] = invoice.get(field, "")
        credit["InvoiceRows"] = [
            {**row, "DeliveredQuantity": -row["DeliveredQuantity"]} for row in invoice["InvoiceRows"]
        ]
        credit["Freight"] = -_num(invoice.get("Freight"), "Freight")
        credit.update(Credit=True, CreditInvoiceReference=number, OrderReference=invoice["OrderReference"])
        _compute_totals(store, credit, "InvoiceRows")
        credit["_modified"] = time.time()
        _finish_invoice(store, credit)
        invoice["CreditInvoiceReference"] = credit["DocumentNumber"]
        invoice["_modified"] = time.time()
        return _single(request, "Invoice", credit, f"invoices/{credit['DocumentNumber']}")


# ---------------------------------------------------------------- invoice payments

PAYMENT_LIST = ("Number", "InvoiceNumber", "Amount", "Currency", "PaymentDate", "Booked")


async def list_payments(request: Request) -> Response:
    state, store = _store(request)
    with state.lock:
        return _listing(
            request, _by_number(store.payments), "InvoicePayments", ("invoicenumber",), "PaymentDate",
            PAYMENT_LIST, lambda o: _url(request, f"invoicepayments/{o['Number']}"),
        )  # fmt: skip


async def create_payment(request: Request) -> Response:
    from engine.sandbox.fortnox_vouchers import check_payment  # it builds on this module's helpers

    state, store = _store(request)
    body = await _body(request, "InvoicePayment")
    with state.lock:
        invoice_number = str(body.get("InvoiceNumber") or "")
        invoice = store.invoices.get(invoice_number)
        if invoice is None:
            raise err("NOT_FOUND", 400, f"invoice {invoice_number or '(missing InvoiceNumber)'}")
        if invoice["Cancelled"]:
            raise invalid("the invoice is cancelled")
        # Fortnox takes a payment on a booked invoice only (integrators book first, e.g. Nox Finans).
        if not invoice["Booked"]:
            raise invalid("the invoice must be booked before a payment is registered")
        check_payment(store, invoice, body)
        amount = _num(body.get("Amount"), "Amount")
        number = store.next_number("payment")
        payment = {
            "Number": number,
            "InvoiceNumber": invoice_number,
            "Amount": amount,
            "AmountCurrency": _num(body.get("AmountCurrency", amount), "AmountCurrency"),
            "Currency": invoice["Currency"],
            "CurrencyRate": _num(body.get("CurrencyRate", invoice["CurrencyRate"]), "CurrencyRate"),
            "PaymentDate": _date(body.get("PaymentDate") or today().isoformat(), "PaymentDate"),
            "ModeOfPayment": str(body.get("ModeOfPayment") or ""),
            "ModeOfPaymentAccount": body.get("ModeOfPaymentAccount"),
            "WriteOffs": [dict(w) for w in body.get("WriteOffs") or []],
            "Booked": False,
            "_modified": time.time(),
        }
        # It can't predate its invoice (the established WooCommerce connector moves such a date to
        # the invoice date; the stricter reading).
        if payment["PaymentDate"] < str(invoice.get("InvoiceDate") or ""):
            raise invalid("PaymentDate is before the invoice date")
        written_off = sum(_num(w.get("Amount"), "WriteOffs.Amount") for w in payment["WriteOffs"])
        settled = payment["AmountCurrency"] + written_off
        # Unconfirmed how Fortnox treats overpayment; refused here, the stricter choice.
        if invoice["Balance"] == 0:
            raise invalid("the invoice is already fully paid")
        if settled * invoice["Balance"] < 0 or abs(settled) > abs(invoice["Balance"]) + 0.005:
            raise invalid(f"the payment {settled:.2f} exceeds the invoice's balance {invoice['Balance']:.2f}")
        invoice["Balance"] = round(invoice["Balance"] - payment["AmountCurrency"] - written_off, 2)
        if abs(invoice["Balance"]) < 0.005:
            invoice["Balance"] = 0.0
            invoice["FinalPayDate"] = payment["PaymentDate"]
        invoice["_modified"] = time.time()
        store.payments[number] = payment
        return _single(request, "InvoicePayment", payment, f"invoicepayments/{number}", 201)


def _payment(store: FortnoxStore, number: str) -> dict[str, Any]:
    payment = store.payments.get(number)
    if payment is None:
        raise err("NOT_FOUND", 404, f"invoice payment {number}")
    return payment


async def get_payment(request: Request) -> Response:
    state, store = _store(request)
    with state.lock:
        number = request.path_params["number"]
        return _single(request, "InvoicePayment", _payment(store, number), f"invoicepayments/{number}")


async def bookkeep_payment(request: Request) -> Response:
    state, store = _store(request)
    with state.lock:
        number = request.path_params["number"]
        payment = _payment(store, number)
        if payment["Booked"]:
            raise invalid("the payment is already booked")
        # Booking needs the account the money went to (integrators book only when both are set).
        if not payment["ModeOfPayment"] or payment["ModeOfPaymentAccount"] in (None, ""):
            raise invalid("a payment without ModeOfPayment and ModeOfPaymentAccount can't be booked")
        payment["Booked"] = True
        return _single(request, "InvoicePayment", payment, f"invoicepayments/{number}")


# ---------------------------------------------------------------- lookups

LOOKUPS = {
    "termsofpayments": ("TermsOfPayments", "Code"),
    "wayofdeliveries": ("WayOfDeliveries", "Code"),
    "modesofpayments": ("ModesOfPayments", "Code"),
    "accounts": ("Accounts", "Number"),
    "currencies": ("Currencies", "Code"),
    "vatcodes": ("VATCodes", "Code"),
}


def _lookup_endpoint(name: str) -> Any:
    key, ident = LOOKUPS[name]

    async def endpoint(request: Request) -> Response:
        state, store = _store(request)
        with state.lock:
            return _listing(
                request, store.lookups[name], key, (ident.lower(), "description"), None, None,
                lambda o: _url(request, f"{name}/{o[ident]}"),
            )  # fmt: skip

    return endpoint


# ---------------------------------------------------------------- app


async def not_found(scope: Scope, receive: Receive, send: Send) -> None:
    await send_json(send, 404, err("NOT_FOUND", 404).body())


def _router() -> Router:
    from engine.sandbox import fortnox_vouchers as v  # it builds on this module's helpers

    routes = [
        Route("/vouchers", v.list_vouchers, methods=["GET"]),
        Route("/vouchers", v.create_voucher, methods=["POST"]),
        Route("/vouchers/{series}/{number}", v.get_voucher, methods=["GET"]),
        Route("/financialyears", v.list_financial_years, methods=["GET"]),
        Route("/voucherseries", v.list_voucher_series, methods=["GET"]),
        Route("/customers", list_customers, methods=["GET"]),
        Route("/customers", create_customer, methods=["POST"]),
        Route("/customers/{number}", get_customer, methods=["GET"]),
        Route("/customers/{number}", update_customer, methods=["PUT"]),
        Route("/articles", list_articles, methods=["GET"]),
        Route("/articles", create_article, methods=["POST"]),
        Route("/articles/{number}", get_article, methods=["GET"]),
        Route("/articles/{number}", update_article, methods=["PUT"]),
        Route("/orders", list_orders, methods=["GET"]),
        Route("/orders", create_order, methods=["POST"]),
        Route("/orders/{number}", get_order, methods=["GET"]),
        Route("/orders/{number}", update_order, methods=["PUT"]),
        Route("/orders/{number}/createinvoice", create_invoice_from_order, methods=["PUT"]),
        Route("/orders/{number}/cancel", cancel_order, methods=["PUT"]),
        Route("/invoices", list_invoices, methods=["GET"]),
        Route("/invoices", create_invoice, methods=["POST"]),
        Route("/invoices/{number}", get_invoice, methods=["GET"]),
        Route("/invoices/{number}", update_invoice, methods=["PUT"]),
        Route("/invoices/{number}/bookkeep", bookkeep_invoice, methods=["PUT"]),
        Route("/invoices/{number}/cancel", cancel_invoice, methods=["PUT"]),
        Route("/invoices/{number}/credit", credit_invoice, methods=["PUT"]),
        Route("/invoicepayments", list_payments, methods=["GET"]),
        Route("/invoicepayments", create_payment, methods=["POST"]),
        Route("/invoicepayments/{number}", get_payment, methods=["GET"]),
        Route("/invoicepayments/{number}/bookkeep", bookkeep_payment, methods=["PUT"]),
    ]
    routes += [Route(f"/{name}", _lookup_endpoint(name), methods=["GET"]) for name in LOOKUPS]
    return Router(routes=routes, default=not_found)


class FortnoxApp:
    """Bearer auth and the per-client sliding window in front of the /3/ routes."""

    def __init__(self, state: SandboxState) -> None:
        self.state = state
        self.router = _router()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        state = self.state
        auth = header(scope, b"authorization") or ""
        token = auth[7:].strip() if auth[:7].lower() == "bearer " else ""
        with state.lock:
            entry = state.fortnox.access_tokens.get(token)
            if entry is not None and entry.at < time.time():
                state.fortnox.access_tokens.pop(token, None)
                entry = None
            needed = scope_for_path(scope["path"])
            in_scope = entry is not None and (needed is None or needed in entry.scopes)
            allowed = True
            if in_scope and entry is not None and state.config.limits:
                allowed = state.fortnox_window(entry.client_id).take()
        if entry is None:
            await send_json(send, 401, FortnoxError(401, 2000311).body())
            return
        if not in_scope:
            # The token was not granted the resource's scope: only a new consent asking for it helps.
            await send_json(send, 403, err("FORTNOX_SCOPE_MISSING", 403).body())
            return
        if not allowed:
            # Fortnox sends no Retry-After; clients must pace themselves.
            await send_json(send, 429, err("RATE_LIMITED", 429).body())
            return
        try:
            await self.router(scope, receive, send)
        except FortnoxError as exc:
            await send_json(send, exc.status, exc.body())
