from __future__ import annotations

import time
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from engine.platforms.fortnox import parse_error_information
from engine.sandbox import SandboxConfig, start_in_thread
from engine.sandbox.generator import SHOP_TZ

from .conftest import fortnox_client, fortnox_tokens


def code_of(response: httpx.Response) -> int:
    return response.json()["ErrorInformation"]["code"]


def message_of(response: httpx.Response) -> str:
    return response.json()["ErrorInformation"]["message"]


def refusal(response: httpx.Response) -> tuple[int, str]:
    """The HTTP status and the engine code the Fortnox client reads from this refusal."""
    return response.status_code, parse_error_information(response.status_code, response.json()).code


def make_customer(fortnox: httpx.Client, **fields: Any) -> str:
    response = fortnox.post("customers", json={"Customer": {"Name": "Anna Andersson", **fields}})
    assert response.status_code == 201, response.text
    return response.json()["Customer"]["CustomerNumber"]


def make_order(fortnox: httpx.Client, customer: str, **fields: Any) -> dict[str, Any]:
    body = {
        "CustomerNumber": customer,
        "VATIncluded": True,
        "OrderRows": [{"ArticleNumber": "TEE-ORG-BLK-M", "OrderedQuantity": 2, "Price": 299, "VAT": 25}],
        **fields,
    }
    response = fortnox.post("orders", json={"Order": body})
    assert response.status_code == 201, response.text
    return response.json()["Order"]


def test_refresh_token_rotation(sandbox) -> None:
    with start_in_thread(SandboxConfig(orders=5)) as sb:
        first = fortnox_tokens(sb.info)
        assert first.status_code == 200
        body = first.json()
        assert body["expires_in"] == 3600 and body["token_type"] == "bearer"
        assert body["refresh_token"] != sb.info["fortnox"]["refresh_token"]
        reused = fortnox_tokens(sb.info)
        assert reused.status_code == 400 and reused.json()["error"] == "invalid_grant"
        second = fortnox_tokens(sb.info, body["refresh_token"])
        assert second.status_code == 200
        assert fortnox_tokens(sb.info, body["refresh_token"]).status_code == 400
        # Both access tokens stay valid until they expire.
        for token in (body["access_token"], second.json()["access_token"]):
            r = httpx.get(
                sb.info["fortnox"]["base_url"] + "currencies", headers={"Authorization": f"Bearer {token}"}
            )
            assert r.status_code == 200
        wrong = httpx.post(
            sb.info["fortnox"]["token_url"],
            auth=(sb.info["fortnox"]["client_id"], "nope"),
            data={"grant_type": "refresh_token", "refresh_token": second.json()["refresh_token"]},
        )
        assert wrong.status_code == 401


def test_auth_errors_and_expire(sandbox, control) -> None:
    base = sandbox.info["fortnox"]["base_url"]
    missing = httpx.get(base + "orders")
    assert missing.status_code == 401 and code_of(missing) == 2000311
    client = fortnox_client_from_code(sandbox)
    assert client.get("orders").status_code == 200
    assert control.post("fortnox/expire-tokens").status_code == 200
    expired = client.get("orders")
    assert expired.status_code == 401 and code_of(expired) == 2000311


def fortnox_client_from_code(sandbox) -> httpx.Client:
    fx = sandbox.info["fortnox"]
    consent = httpx.get(
        fx["auth_url"],
        params={
            "client_id": fx["client_id"],
            "redirect_uri": fx["redirect_uri"],
            "scope": "order settings",
            "state": "s1",
            "access_type": "offline",
            "response_type": "code",
        },
    )
    code = parse_qs(urlsplit(consent.headers["location"]).query)["code"][0]
    response = httpx.post(
        fx["token_url"],
        auth=(fx["client_id"], fx["client_secret"]),
        data={"grant_type": "authorization_code", "code": code, "redirect_uri": fx["redirect_uri"]},
    )
    assert response.status_code == 200
    return httpx.Client(
        base_url=fx["base_url"], headers={"Authorization": f"Bearer {response.json()['access_token']}"}
    )


def test_sliding_window() -> None:
    # time_scale 0.2: 25 requests per 1 s.
    with start_in_thread(SandboxConfig(orders=5, time_scale=0.2)) as sb, fortnox_client(sb.info) as client:
        statuses = [client.get("currencies").status_code for _ in range(26)]
        assert statuses[:25] == [200] * 25
        assert statuses[25] == 429
        rejected = client.get("currencies")
        assert refusal(rejected) == (429, "RATE_LIMITED")
        assert "retry-after" not in rejected.headers
        time.sleep(1.05)
        assert client.get("currencies").status_code == 200


def test_customers_search_and_validation(fortnox) -> None:
    number = make_customer(fortnox, Email="Maja.Karlsson@Example.com")
    assert fortnox.get(f"customers/{number}").json()["Customer"]["Email"] == "Maja.Karlsson@Example.com"
    hits = fortnox.get("customers", params={"email": "maja.karlsson@example"}).json()["Customers"]
    assert [c["CustomerNumber"] for c in hits] == [number]
    empty = fortnox.post("customers", json={"Customer": {"Name": "  "}})
    assert refusal(empty) == (400, "FORTNOX_CUSTOMER_NAME_EMPTY")
    missing = fortnox.get("customers/999999")
    assert missing.status_code == 404
    updated = fortnox.put(f"customers/{number}", json={"Customer": {"City": "Malmö"}})
    assert updated.json()["Customer"]["City"] == "Malmö"


def test_articles(fortnox) -> None:
    article = fortnox.get("articles/TEE-ORG-BLK-M")
    assert article.status_code == 200 and article.json()["Article"]["VAT"] == 25
    missing = fortnox.get("articles/NOPE")
    assert refusal(missing) == (404, "ARTICLE_NOT_FOUND")
    assert message_of(missing).startswith("Kunde inte hitta artikel")
    taken = fortnox.post("articles", json={"Article": {"ArticleNumber": "TEE-ORG-BLK-M", "Description": "x"}})
    assert refusal(taken) == (400, "ARTICLE_NUMBER_TAKEN")
    spaced = fortnox.post("articles", json={"Article": {"ArticleNumber": "HAS SPACE", "Description": "x"}})
    assert spaced.status_code == 400 and code_of(spaced) == 2000588
    long = fortnox.post("articles", json={"Article": {"ArticleNumber": "X" * 201, "Description": "x"}})
    assert code_of(long) == 2000588
    page = fortnox.get("articles", params={"limit": 10, "page": 2}).json()
    assert len(page["Articles"]) == 10
    assert page["MetaInformation"]["@CurrentPage"] == 2
    assert page["MetaInformation"]["@TotalPages"] == -(-page["MetaInformation"]["@TotalResources"] // 10)


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"CustomerNumber": "987654"}, "CUSTOMER_NOT_FOUND"),
        (
            {"OrderRows": [{"ArticleNumber": "NO-SUCH-SKU", "OrderedQuantity": 1, "Price": 1}]},
            "ARTICLE_NOT_FOUND",
        ),
        (
            {"OrderRows": [{"Description": "x", "OrderedQuantity": 1, "Price": 1, "VAT": 17}]},
            "FORTNOX_VAT_INVALID",
        ),
        ({"Currency": "XYZ"}, "FORTNOX_CURRENCY_NOT_FOUND"),
        ({"WayOfDelivery": "ZEPPELIN"}, "FORTNOX_WAY_OF_DELIVERY_NOT_FOUND"),
        ({"TermsOfPayment": "999"}, "FORTNOX_TERMS_OF_PAYMENT_NOT_FOUND"),
        ({"OrderRows": [{"Description": "r", "OrderedQuantity": 1, "Price": 1}] * 501}, "FORTNOX_ROW_LIMIT"),
    ],
)
def test_order_validation_codes(fortnox, change: dict[str, Any], code: str) -> None:
    customer = make_customer(fortnox)
    body = {
        "CustomerNumber": customer,
        "OrderRows": [{"ArticleNumber": "TEE-ORG-BLK-M", "OrderedQuantity": 1}],
    }
    response = fortnox.post("orders", json={"Order": {**body, **change}})
    assert refusal(response) == (400, code)
    if code == "ARTICLE_NOT_FOUND":
        assert "NO-SUCH-SKU" in response.json()["ErrorInformation"]["message"]


def test_bad_json(fortnox) -> None:
    response = fortnox.post("orders", content=b"{not json", headers={"Content-Type": "application/json"})
    assert response.status_code == 400 and code_of(response) == 2002115


def test_order_totals_and_vat_modes(fortnox) -> None:
    customer = make_customer(fortnox)
    included = make_order(fortnox, customer, Freight=49)
    assert included["Total"] == 647.0
    assert included["TotalVAT"] == pytest.approx(129.4)
    excluded = make_order(fortnox, customer, VATIncluded=False)
    assert excluded["Total"] == pytest.approx(747.5) and excluded["TotalVAT"] == pytest.approx(149.5)
    row = {"ArticleNumber": "COFFEE-BEAN-ETH-250G", "OrderedQuantity": 1, "Price": 13.9, "VAT": 7}
    oss = make_order(fortnox, customer, Currency="EUR", OrderRows=[{**row, "AccountNumber": 3163}])
    assert oss["Currency"] == "EUR" and oss["OrderRows"][0]["VAT"] == 7
    assert oss["OrderRows"][0]["AccountNumber"] == 3163


def test_order_update_rows_and_invoice_flow(fortnox) -> None:
    customer = make_customer(fortnox)
    order = make_order(fortnox, customer, ExternalInvoiceReference1="#1042", YourOrderNumber="1042")
    number = order["DocumentNumber"]
    kept = order["OrderRows"][0]
    rows = [
        {"RowId": kept["RowId"], "OrderedQuantity": 1},
        {"ArticleNumber": "MUG-STN-BLU-OS", "OrderedQuantity": 1, "Price": 189, "VAT": 25},
    ]
    updated = fortnox.put(f"orders/{number}", json={"Order": {"OrderRows": rows}}).json()["Order"]
    assert [r["ArticleNumber"] for r in updated["OrderRows"]] == ["TEE-ORG-BLK-M", "MUG-STN-BLU-OS"]
    assert updated["OrderRows"][0]["OrderedQuantity"] == 1 and updated["OrderRows"][0]["Price"] == 299
    assert updated["Total"] == 488.0
    # Every write renumbers the rows: the RowId read before the last update is no longer known.
    assert kept["RowId"] not in {r["RowId"] for r in updated["OrderRows"]}
    stale = fortnox.put(f"orders/{number}", json={"Order": {"OrderRows": rows}})
    assert refusal(stale) == (400, "ROW_ID_NOT_FOUND")
    mug = updated["OrderRows"][1]
    dropped = fortnox.put(f"orders/{number}", json={"Order": {"OrderRows": [{"RowId": mug["RowId"]}]}})
    assert [r["ArticleNumber"] for r in dropped.json()["Order"]["OrderRows"]] == ["MUG-STN-BLU-OS"]

    invoice = fortnox.put(f"orders/{number}/createinvoice")
    assert invoice.status_code == 200
    inv = invoice.json()["Invoice"]
    assert inv["OrderReference"] == number and inv["Total"] == 189.0 and inv["OCR"]
    assert fortnox.get(f"orders/{number}").json()["Order"]["InvoiceReference"] == inv["DocumentNumber"]
    again = fortnox.put(f"orders/{number}/createinvoice")
    assert refusal(again) == (400, "ORDER_ALREADY_INVOICED")
    locked = fortnox.put(f"orders/{number}", json={"Order": {"Remarks": "x"}})
    assert refusal(locked) == (400, "ORDER_ALREADY_INVOICED")
    assert refusal(fortnox.put(f"orders/{number}/cancel")) == (400, "ORDER_ALREADY_INVOICED")

    hits = fortnox.get("orders", params={"externalinvoicereference1": "#1042"}).json()["Orders"]
    assert [o["DocumentNumber"] for o in hits] == [number]
    # List rows are the list subset: no YourOrderNumber, no InvoiceReference.
    assert "YourOrderNumber" not in hits[0] and "InvoiceReference" not in hits[0]
    refused_search = fortnox.get("orders", params={"yourordernumber": "1042"})
    assert refused_search.status_code == 400 and code_of(refused_search) == 2000588
    assert fortnox.get("orders", params={"filter": "invoicecreated"}).json()["Orders"]
    by_your = fortnox.get("invoices", params={"yourordernumber": "1042"}).json()["Invoices"]
    assert [i["DocumentNumber"] for i in by_your] == [inv["DocumentNumber"]]
    assert "YourOrderNumber" not in by_your[0]
    assert by_your[0]["Balance"] == 189.0 and by_your[0]["Booked"] is False

    inv_no = inv["DocumentNumber"]
    assert fortnox.put(f"invoices/{inv_no}", json={"Invoice": {"Remarks": "ok"}}).status_code == 200
    assert fortnox.put(f"invoices/{inv_no}/bookkeep").json()["Invoice"]["Booked"] is True
    assert refusal(fortnox.put(f"invoices/{inv_no}/bookkeep")) == (400, "INVOICE_ALREADY_BOOKED")
    refused = fortnox.put(f"invoices/{inv_no}", json={"Invoice": {"Remarks": "late"}})
    assert refusal(refused) == (400, "INVOICE_BOOKED")
    assert refusal(fortnox.put(f"invoices/{inv_no}/cancel")) == (400, "INVOICE_BOOKED")

    credit = fortnox.put(f"invoices/{inv_no}/credit").json()["Invoice"]
    assert credit["Credit"] is True and credit["Total"] == -189.0
    assert credit["CreditInvoiceReference"] == inv_no
    assert (
        fortnox.get(f"invoices/{inv_no}").json()["Invoice"]["CreditInvoiceReference"]
        == credit["DocumentNumber"]
    )
    assert refusal(fortnox.put(f"invoices/{inv_no}/credit")) == (400, "INVOICE_ALREADY_CREDITED")


def test_cancelled_order_is_locked(fortnox) -> None:
    order = make_order(fortnox, make_customer(fortnox))
    number = order["DocumentNumber"]
    assert fortnox.put(f"orders/{number}/cancel").json()["Order"]["Cancelled"] is True
    assert refusal(fortnox.put(f"orders/{number}", json={"Order": {"Remarks": "x"}})) == (
        400,
        "ORDER_CANCELLED",
    )
    assert refusal(fortnox.put(f"orders/{number}/createinvoice")) == (400, "ORDER_CANCELLED")
    cancelled = fortnox.get("orders", params={"filter": "cancelled"}).json()["Orders"]
    assert number in {o["DocumentNumber"] for o in cancelled}
    assert fortnox.get("orders/424242").status_code == 404


def _payment(inv: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {
        "InvoicePayment": {
            "InvoiceNumber": inv["DocumentNumber"],
            "Amount": inv["Total"],
            "PaymentDate": inv["InvoiceDate"],
            "ModeOfPayment": "PP",
            "ModeOfPaymentAccount": 1582,
            **fields,
        }
    }


def test_invoice_payment_marks_paid(fortnox) -> None:
    order = make_order(fortnox, make_customer(fortnox, TermsOfPayment="K"))
    inv = fortnox.put(f"orders/{order['DocumentNumber']}/createinvoice").json()["Invoice"]
    assert inv["DueDate"] == inv["InvoiceDate"]
    # Fortnox registers payments on booked invoices only.
    refused = fortnox.post("invoicepayments", json=_payment(inv))
    assert refused.status_code == 400 and "booked" in message_of(refused)
    fortnox.put(f"invoices/{inv['DocumentNumber']}/bookkeep").raise_for_status()
    # A mode of payment Fortnox knows is asked for (stricter than Fortnox, which may default it).
    nameless = fortnox.post(
        "invoicepayments", json=_payment(inv, ModeOfPayment=None, ModeOfPaymentAccount=None)
    )
    assert refusal(nameless) == (400, "FORTNOX_MODE_OF_PAYMENT_NOT_FOUND")
    created = fortnox.post("invoicepayments", json=_payment(inv))
    assert created.status_code == 201, created.text
    paid = fortnox.get("invoices", params={"filter": "fullypaid"}).json()["Invoices"]
    assert inv["DocumentNumber"] in {i["DocumentNumber"] for i in paid}
    number = created.json()["InvoicePayment"]["Number"]
    listed = fortnox.get("invoicepayments", params={"invoicenumber": inv["DocumentNumber"]}).json()
    assert [p["Number"] for p in listed["InvoicePayments"]] == [number]
    assert fortnox.put(f"invoicepayments/{number}/bookkeep").json()["InvoicePayment"]["Booked"] is True
    # A fully paid invoice takes no second payment.
    again = fortnox.post("invoicepayments", json=_payment(inv))
    assert again.status_code == 400 and "fully paid" in message_of(again)


def test_invoice_payment_refusals(fortnox) -> None:
    order = make_order(fortnox, make_customer(fortnox))
    inv = fortnox.put(f"orders/{order['DocumentNumber']}/createinvoice").json()["Invoice"]
    fortnox.put(f"invoices/{inv['DocumentNumber']}/bookkeep").raise_for_status()
    for fields, says in (
        ({"Amount": inv["Total"] + 1}, "exceeds"),
        ({"ModeOfPayment": "XX"}, "betalningssätt: XX"),
        ({"ModeOfPaymentAccount": 9999}, "9999"),
        ({"PaymentDate": "2020-01-01"}, "inom ett räkenskapsår"),
        ({"PaymentDate": "2026-01-01"}, "before the invoice date"),
    ):
        refused = fortnox.post("invoicepayments", json=_payment(inv, **fields))
        assert refused.status_code == 400 and says in message_of(refused), fields


def _voucher(day: str, *rows: tuple[int, float, float], series: str = "A") -> dict:
    return {
        "Voucher": {
            "VoucherSeries": series,
            "TransactionDate": day,
            "Description": "Stripe payout po_test",
            "VoucherRows": [{"Account": a, "Debit": d, "Credit": c} for a, d, c in rows],
        }
    }


def test_vouchers_balance_on_active_accounts_within_a_financial_year(fortnox) -> None:
    year = fortnox.get("financialyears", params={"date": "2026-11-20"}).json()["FinancialYears"]
    assert [y["FromDate"] for y in year] == ["2026-01-01"]
    assert fortnox.get("financialyears", params={"date": "2001-01-01"}).json()["FinancialYears"] == []
    ok = _voucher("2026-11-20", (1930, 100.0, 0), (1580, 0, 100.0))
    made = fortnox.post("vouchers", params={"financialyear": year[0]["Id"]}, json=ok)
    assert made.status_code == 201 and made.json()["Voucher"]["VoucherNumber"] == 1
    listed = fortnox.get("vouchers", params={"fromdate": "2026-11-20", "todate": "2026-11-20"}).json()
    assert [v["Description"] for v in listed["Vouchers"]] == ["Stripe payout po_test"]
    unbalanced = _voucher("2026-11-20", (1930, 100.0, 0), (1580, 0, 99.99))
    assert refusal(fortnox.post("vouchers", json=unbalanced)) == (400, "FORTNOX_VOUCHER_UNBALANCED")
    inactive = _voucher("2026-11-20", (3051, 100.0, 0), (1580, 0, 100.0))
    assert refusal(fortnox.post("vouchers", json=inactive)) == (400, "FORTNOX_ACCOUNT_INACTIVE")
    unknown = _voucher("2026-11-20", (1999, 100.0, 0), (1580, 0, 100.0))
    assert refusal(fortnox.post("vouchers", json=unknown)) == (400, "FORTNOX_ACCOUNT_NOT_FOUND")
    old = _voucher("2001-01-01", (1930, 100.0, 0), (1580, 0, 100.0))
    assert refusal(fortnox.post("vouchers", json=old)) == (400, "FORTNOX_FISCAL_YEAR")
    series = _voucher("2026-11-20", (1930, 100.0, 0), (1580, 0, 100.0), series="Q")
    assert refusal(fortnox.post("vouchers", json=series)) == (400, "FORTNOX_VOUCHER_SERIES_NOT_FOUND")
    codes = {s["Code"] for s in fortnox.get("voucherseries").json()["VoucherSeriesCollection"]}
    assert {"A", "B", "C"} <= codes


def test_lookups(fortnox) -> None:
    terms = {t["Code"] for t in fortnox.get("termsofpayments").json()["TermsOfPayments"]}
    assert {"K", "PP", "KL", "0", "10", "30"} <= terms
    ways = {w["Code"] for w in fortnox.get("wayofdeliveries").json()["WayOfDeliveries"]}
    assert {"PN", "DHL", "BUD", "IBX", "UPS"} <= ways
    currencies = fortnox.get("currencies").json()
    assert {"SEK", "EUR", "NOK", "USD", "DKK"} <= {c["Code"] for c in currencies["Currencies"]}
    assert currencies["MetaInformation"]["@TotalResources"] == len(currencies["Currencies"])
    accounts = {a["Number"] for a in fortnox.get("accounts").json()["Accounts"]}
    assert {1930, 1580, 2421, 3001, 3105, 3106, 3108, 3162, 3740, 6570} <= accounts
    assert fortnox.get("modesofpayments").json()["ModesOfPayments"]
    vat = {v["VATPercent"] for v in fortnox.get("vatcodes").json()["VATCodes"]}
    # Swedish rates, and the OSS rates the company set up VAT codes for; nothing else.
    assert vat == {25, 12, 6, 0, 25.5, 21, 19, 14, 10, 9, 7}
    unknown = fortnox.get("nothing-here")
    assert refusal(unknown) == (404, "NOT_FOUND")


def test_global_params(fortnox) -> None:
    customer = make_customer(fortnox, Name="Zed Last")
    # lastmodified is read in the company's time zone (Stockholm, +01:00 in the sandbox).
    before = (datetime.now(SHOP_TZ) - timedelta(minutes=2)).strftime("%Y-%m-%d %H:%M")
    order = make_order(fortnox, customer)
    recent = fortnox.get("orders", params={"lastmodified": before}).json()["Orders"]
    assert order["DocumentNumber"] in {o["DocumentNumber"] for o in recent}
    assert fortnox.get("orders", params={"lastmodified": "2999-01-01 00:00"}).json()["Orders"] == []
    newest_first = fortnox.get(
        "orders", params={"sortby": "documentnumber", "sortorder": "descending"}
    ).json()
    numbers = [int(o["DocumentNumber"]) for o in newest_first["Orders"]]
    assert numbers == sorted(numbers, reverse=True)
    today = order["OrderDate"]
    dated = fortnox.get("orders", params={"fromdate": today, "todate": today}).json()["Orders"]
    assert order["DocumentNumber"] in {o["DocumentNumber"] for o in dated}
    by_name = fortnox.get("customers", params={"name": "zed la"}).json()["Customers"]
    assert [c["CustomerNumber"] for c in by_name] == [customer]


def test_countries_only_by_fortnox_names(fortnox) -> None:
    customer = make_customer(fortnox)
    english = fortnox.post(
        "orders",
        json={"Order": {"CustomerNumber": customer, "Country": "Sweden", "OrderRows": []}},
    )
    assert refusal(english) == (400, "FORTNOX_COUNTRY_INVALID")
    assert message_of(english) == "Ogiltigt land: Sweden"
    czechia = fortnox.post(
        "invoices",
        json={"Invoice": {"CustomerNumber": customer, "DeliveryCountry": "Czechia", "InvoiceRows": []}},
    )
    assert refusal(czechia) == (400, "FORTNOX_COUNTRY_INVALID")
    accepted = make_order(fortnox, customer, Country="Sverige", DeliveryCountry="Czech Republic")
    assert (accepted["Country"], accepted["DeliveryCountry"]) == ("Sverige", "Czech Republic")
    renamed = fortnox.put(f"orders/{accepted['DocumentNumber']}", json={"Order": {"Country": "Deutschland"}})
    assert refusal(renamed) == (400, "FORTNOX_COUNTRY_INVALID")


def test_customer_country_from_its_code(fortnox) -> None:
    german = make_customer(fortnox, CountryCode="DE")
    assert fortnox.get(f"customers/{german}").json()["Customer"]["Country"] == "Germany"
    by_name = fortnox.post("customers", json={"Customer": {"Name": "X", "CountryCode": "SVERIGE"}})
    assert refusal(by_name) == (400, "FORTNOX_COUNTRY_CODE_INVALID")
    assert message_of(by_name) == "Ogiltig landskod: SVERIGE"
    english = fortnox.post("customers", json={"Customer": {"Name": "X", "Country": "Sweden"}})
    assert refusal(english) == (400, "FORTNOX_COUNTRY_INVALID")


def test_customer_number_taken_is_documented_2000637(fortnox) -> None:
    number = make_customer(fortnox)
    again = fortnox.post("customers", json={"Customer": {"Name": "Y", "CustomerNumber": number}})
    assert again.status_code == 400 and code_of(again) == 2000637
    assert message_of(again).startswith(f"Kundnummer {number} används redan")
    assert refusal(again) == (400, "FORTNOX_CUSTOMER_NUMBER_TAKEN")


def test_rows_without_row_ids_match_by_position(fortnox) -> None:
    """Without RowIds Fortnox pairs rows by position: a row put first takes over the first stored
    row's unsent fields, which is why the engine sends the RowIds it read."""
    order = make_order(
        fortnox,
        make_customer(fortnox),
        OrderRows=[
            {"ArticleNumber": "TEE-ORG-BLK-M", "OrderedQuantity": 1, "Price": 299, "Discount": 50},
            {"ArticleNumber": "MUG-STN-BLU-OS", "OrderedQuantity": 1, "Price": 189},
        ],
    )
    rows = [{"ArticleNumber": "MUG-STN-BLU-OS", "OrderedQuantity": 1, "Price": 189}]
    shifted = fortnox.put(f"orders/{order['DocumentNumber']}", json={"Order": {"OrderRows": rows}})
    (row,) = shifted.json()["Order"]["OrderRows"]
    assert (row["ArticleNumber"], row["Discount"], row["Total"]) == ("MUG-STN-BLU-OS", 50, 139)
