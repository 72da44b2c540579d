"""Orders paid at checkout (PayPal) end with their Fortnox invoice paid, over HTTP against the sandbox:
one payment of the whole invoice, booked, whatever fails on the way; orders paid through a gateway that
is not marked as paid (Stripe, settled by its payouts) stay unpaid."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

from engine.store.models import Entity
from tests.e2e.conftest import Sandbox, duplicates_in_fortnox, sync


def _mark_paypal_paid(service: Any, iid: int) -> None:
    service.save_settings(iid, "invoice", {"paid_gateways": {"paypal": "PP"}})


def _invoices_by_gateway(sb: Sandbox, gateway: str) -> list[tuple[dict, dict]]:
    """(Shopify order, its Fortnox invoice) of every invoiced order paid through `gateway` alone."""
    shop = {o["name"]: o for o in sb.get("shopify/orders")}
    return [
        (shop[i["ExternalInvoiceReference1"]], i)
        for i in sb.get("fortnox/invoices")
        if not i["Credit"] and shop[i["ExternalInvoiceReference1"]]["payment_gateway_names"] == [gateway]
    ]


def _payments_of(sb: Sandbox, invoice: dict) -> list[dict]:
    return [p for p in sb.get("fortnox/invoicepayments") if p["InvoiceNumber"] == invoice["DocumentNumber"]]


def _fully_paid_once(sb: Sandbox, invoice: dict) -> dict:
    [payment] = _payments_of(sb, invoice)
    assert invoice["Balance"] == 0 and invoice["FinalPayDate"] == payment["PaymentDate"]
    assert Decimal(str(payment["AmountCurrency"])) == Decimal(str(invoice["Total"]))
    assert payment["Booked"] and (payment["ModeOfPayment"], payment["ModeOfPaymentAccount"]) == ("PP", 1582)
    return payment


def test_paypal_invoices_end_paid_once_even_when_the_payment_answer_is_lost(connected) -> None:
    service, sb, iid = connected
    _mark_paypal_paid(service, iid)
    # Fortnox registers every payment, and the connection drops before its answer arrives.
    sb.post("faults", {"platform": "fortnox", "drop": 1.0, "method": "POST", "path": "/invoicepayments"})
    try:
        sync(service)
    finally:
        sb.http.delete("faults").raise_for_status()
    paypal = _invoices_by_gateway(sb, "paypal")
    assert paypal, "the generated shop has no invoiced PayPal order"
    for order, invoice in paypal:
        payment = _fully_paid_once(sb, invoice)
        assert payment["PaymentDate"] >= invoice["InvoiceDate"]
        logs = service.logs(iid, ref=order["name"], limit=20)
        assert any(log.code == "ADOPTED" for log in logs)  # the answer was lost, the payment found
        [paid] = [log for log in logs if log.code == "INVOICE_MARKED_PAID"]
        assert f"payment {payment['Number']}" in paid.message and paid.message.endswith(", booked")
    # References > Invoice payments links each PayPal order to its payment
    linked = {r.source_label: r.target_id for r in service.references(iid, entity_type="invoice_payment")}
    assert linked == {o["name"]: _payments_of(sb, i)[0]["Number"] for o, i in paypal}
    stripe = _invoices_by_gateway(sb, "stripe")
    assert stripe
    for _, invoice in stripe:
        assert _payments_of(sb, invoice) == [] and invoice["Balance"] == invoice["Total"]
    # a second run finds every PayPal invoice paid and pays nothing again
    sync(service)
    assert all(len(_payments_of(sb, invoice)) == 1 for _, invoice in paypal)
    assert duplicates_in_fortnox(sb) == {}


def _failed_paypal_order(service: Any, sb: Sandbox, iid: int) -> tuple[dict, Entity]:
    """A PayPal order whose payment Fortnox failed to register (5xx): in error, its intent kept."""
    _mark_paypal_paid(service, iid)
    # Every payment fails below, which the Shopify Payments payouts flow rightly takes for an outage
    # and waits out, pausing the run: here only the order's own payment is at stake.
    payouts = service.flow(iid, "shopify_payments_payouts_to_fortnox")
    service.set_flow_enabled(payouts.id, False)
    sb.post("faults", {"platform": "fortnox", "error_5xx": 1.0, "method": "POST", "path": "/invoicepayments"})
    try:
        sync(service)
    finally:
        sb.http.delete("faults").raise_for_status()
    order, invoice = _invoices_by_gateway(sb, "paypal")[0]
    [entity] = service.entities(iid, entity_type="order", ref=order["name"])
    assert entity.status == "error" and entity.store_intent == "mark_paid"
    assert _payments_of(sb, invoice) == [] and invoice["Booked"]
    return invoice, entity


def test_a_payment_made_just_before_a_crash_is_adopted_and_booked(connected, monkeypatch) -> None:
    monkeypatch.setenv("JUNIPEER_RETRY_SECONDS", "0.2")
    service, sb, iid = connected
    invoice, entity = _failed_paypal_order(service, sb, iid)
    # Suppose Fortnox had registered the payment before failing, as a crash after the write leaves it.
    with sb.fortnox_user("invoice payment") as fortnox:
        landed = fortnox.post(
            "invoicepayments",
            json={
                "InvoicePayment": {
                    "InvoiceNumber": invoice["DocumentNumber"],
                    "Amount": invoice["Total"],
                    "PaymentDate": invoice["InvoiceDate"],
                    "ModeOfPayment": "PP",
                    "ModeOfPaymentAccount": 1582,
                }
            },
        )
        assert landed.status_code == 201, landed.text
    asyncio.run(service.run_now(service.retry_entity(entity.id)))
    [entity] = service.entities(iid, entity_type="order", ref=entity.retriever_reference)
    assert entity.status == "synced", entity.error_message
    [invoice] = [i for i in sb.get("fortnox/invoices") if i["DocumentNumber"] == invoice["DocumentNumber"]]
    payment = _fully_paid_once(sb, invoice)
    assert payment["Number"] == landed.json()["InvoicePayment"]["Number"]


def test_a_payment_a_person_registered_is_left_alone(connected) -> None:
    service, sb, iid = connected
    sync(service)  # invoiced before PayPal was marked as paid
    order, invoice = _invoices_by_gateway(sb, "paypal")[0]
    with sb.fortnox_user("invoice payment") as fortnox:
        part = fortnox.post(
            "invoicepayments",
            json={
                "InvoicePayment": {
                    "InvoiceNumber": invoice["DocumentNumber"],
                    "Amount": 10,
                    "PaymentDate": invoice["InvoiceDate"],
                    "ModeOfPayment": "BG",
                }
            },
        )
        assert part.status_code == 201, part.text
    _mark_paypal_paid(service, iid)
    flow = service.flow(iid, "orders_to_fortnox")
    asyncio.run(service.run_now(service.export_one(flow, order["name"])))
    [payment] = _payments_of(sb, invoice)
    assert payment["Amount"] == 10 and not payment["Booked"]


def test_a_paid_invoice_is_still_credited_when_refunded(connected) -> None:
    service, sb, iid = connected
    _mark_paypal_paid(service, iid)
    sync(service)
    order, invoice = next(
        (o, i) for o, i in _invoices_by_gateway(sb, "paypal") if o["financial_status"] == "paid"
    )
    line = order["line_items"][0]
    sb.post(
        f"shopify/orders/{order['id']}/refunds", {"line_items": [{"line_item_id": line["id"], "quantity": 1}]}
    )
    sync(service)
    [refund] = service.entities(iid, entity_type="refund", ref=f"{order['name']}-R1")
    assert refund.status == "synced", refund.error_message
    [credit] = [
        i
        for i in sb.get("fortnox/invoices")
        if i["Credit"] and i["CreditInvoiceReference"] == invoice["DocumentNumber"]
    ]
    assert credit["Booked"] and credit["Total"] < 0
    [invoice] = [i for i in sb.get("fortnox/invoices") if i["DocumentNumber"] == invoice["DocumentNumber"]]
    assert len(_payments_of(sb, invoice)) == 1 and invoice["Balance"] == 0


def test_an_unknown_mode_of_payment_stops_the_order_with_what_to_do_until_fixed(connected) -> None:
    service, sb, iid = connected
    service.save_settings(iid, "invoice", {"paid_gateways": {"paypal": "PAYPAL"}})  # not a Fortnox code
    sync(service)
    order, invoice = _invoices_by_gateway(sb, "paypal")[0]
    [entity] = service.entities(iid, entity_type="order", ref=order["name"])
    assert entity.status == "error" and entity.error_code == "FORTNOX_MODE_OF_PAYMENT_NOT_FOUND"
    assert (
        "'PAYPAL'" in entity.error_message and "Automatically mark invoices as paid" in entity.error_message
    )
    assert invoice["Booked"] and _payments_of(sb, invoice) == []
    _mark_paypal_paid(service, iid)
    asyncio.run(service.run_now(service.retry_entity(entity.id)))
    [invoice] = [i for i in sb.get("fortnox/invoices") if i["DocumentNumber"] == invoice["DocumentNumber"]]
    _fully_paid_once(sb, invoice)
