"""Refunds become credit invoices, over HTTP against the sandbox: credited once, for exactly the money
given back, whatever fails on the way; what Fortnox can't take ends in a coded error a person can settle."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

from engine.store.models import Entity
from tests.e2e.conftest import Sandbox, duplicates_in_fortnox, sync


def _invoiced_order(service: Any, sb: Sandbox, iid: int, lines: int = 1) -> tuple[dict, Entity, dict]:
    """A paid order of the generated shop, synced and invoiced in kronor, with no refund yet."""
    shop = {o["name"]: o for o in sb.get("shopify/orders")}
    invoices = {i["ExternalInvoiceReference1"]: i for i in sb.get("fortnox/invoices") if not i["Credit"]}
    for entity in service.entities(iid, entity_type="order", status="synced", limit=500):
        order = shop[entity.retriever_reference]
        # paid in the shop's kronor, so the money given back is what the invoice credits
        in_kronor = order["presentment_currency"] == order["currency"] == "SEK"
        if (
            in_kronor
            and order["financial_status"] == "paid"
            and not order["refunds"]
            and len(order["line_items"]) >= lines
            and entity.retriever_reference in invoices
        ):
            return order, entity, invoices[entity.retriever_reference]
    raise AssertionError("the generated shop has no paid, invoiced order")


def _credits_of(sb: Sandbox, invoice_number: Any) -> list[dict]:
    return [
        i
        for i in sb.get("fortnox/invoices")
        if i["Credit"] and str(i["CreditInvoiceReference"]) == str(invoice_number)
    ]


def _refund(sb: Sandbox, order: dict, **body: Any) -> dict:
    return sb.post(f"shopify/orders/{order['id']}/refunds", body)


def _refund_one_unit(sb: Sandbox, order: dict) -> dict:
    """A refund of one unit of the order's first line."""
    return _refund(sb, order, line_items=[{"line_item_id": order["line_items"][0]["id"], "quantity": 1}])


def _sync_under(service: Any, sb: Sandbox, fault: dict) -> None:
    """One sync while Fortnox suffers `fault`, cleared afterwards whatever happens."""
    sb.post("faults", {"platform": "fortnox", **fault})
    try:
        sync(service)
    finally:
        sb.http.delete("faults").raise_for_status()


def _given_back(refund: dict) -> Decimal:
    return sum((Decimal(t["amount"]) for t in refund["transactions"]), Decimal(0))


def test_a_refund_after_the_sync_becomes_one_credit_invoice_of_what_was_given_back(connected) -> None:
    service, sb, iid = connected
    sync(service)
    order, order_entity, invoice = _invoiced_order(service, sb, iid)
    line = order["line_items"][0]
    refund = _refund(sb, order, line_items=[{"line_item_id": line["id"], "quantity": 1}], note="Too small")
    label = f"{order['name']}-R1"
    waiting = asyncio.run(service.explain(iid, label))
    assert (
        waiting.verdict == "NOT_YET_LOADED" and f"credited with its order {order['name']}" in waiting.summary
    )
    assert asyncio.run(service.explain(iid, f"{order['name']}-R2")).verdict == "NOT_IN_SOURCE"
    sync(service)

    [credit] = _credits_of(sb, invoice["DocumentNumber"])
    assert Decimal(str(credit["Total"])) == -_given_back(refund)  # to the öre, in the shop's kronor
    assert credit["Booked"] and credit["ExternalInvoiceReference2"] == f"Refund {refund['id']}"
    assert [r["DeliveredQuantity"] for r in credit["InvoiceRows"]] == [-1]
    [entity] = service.entities(iid, entity_type="refund", ref=label)
    assert (entity.status, entity.storer_reference) == ("synced", str(credit["DocumentNumber"]))
    assert entity.parent_id == order_entity.id
    assert [r.target_id for r in service.references(iid, entity_type="refund", search=label)] == [
        str(credit["DocumentNumber"])
    ]
    explained = asyncio.run(service.explain(iid, label))
    assert explained.verdict == "SYNCED" and f"credit invoice {credit['DocumentNumber']}" in explained.summary
    # A refund is credited, not warned about as an edit of a booked invoice.
    codes = {log.code for log in service.logs(iid, ref=order["name"], limit=50)}
    assert "ORDER_UPDATED_AFTER_BOOKING" not in codes
    assert any(log.code == "REFUND_CREDITED" for log in service.logs(iid, ref=label, limit=10))

    sync(service)  # nothing new: the refund is credited once
    assert len(_credits_of(sb, invoice["DocumentNumber"])) == 1
    assert duplicates_in_fortnox(sb) == {}


def test_a_second_refund_of_one_invoice_needs_a_person_and_a_link_settles_it(connected) -> None:
    service, sb, iid = connected
    sync(service)
    order, _, invoice = _invoiced_order(service, sb, iid)
    _refund_one_unit(sb, order)
    sync(service)
    later = _refund(sb, order, amount="10.00", note="Goodwill")
    sync(service)

    label = f"{order['name']}-R2"
    [entity] = service.entities(iid, entity_type="refund", ref=label)
    assert (entity.status, entity.error_code) == ("error", "REFUND_INVOICE_ALREADY_CREDITED"), (
        entity.error_message
    )
    assert "10.00 SEK is still to be credited" in entity.error_message
    assert "link it under References" in entity.error_message  # the hint says what to do
    assert len(_credits_of(sb, invoice["DocumentNumber"])) == 1

    # The bookkeeper credits the 10 kr by hand and links it; the refund's retry then counts it as synced.
    with sb.fortnox_user() as bookkeeper:
        row = {
            "AccountNumber": 3001,
            "DeliveredQuantity": -1,
            "Price": 10,
            "VAT": 25,
            "Description": "Goodwill",
        }
        body = {"Invoice": {"CustomerNumber": invoice["CustomerNumber"], "InvoiceRows": [row]}}
        answer = bookkeeper.post("invoices", json=body)
        assert answer.status_code in (200, 201), answer.text
        by_hand = answer.json()["Invoice"]["DocumentNumber"]
    asyncio.run(service.check_target_record(iid, "refund", str(by_hand)))
    service.add_reference(iid, "refund", str(later["id"]), str(by_hand), label)
    asyncio.run(service.run_now(service.retry_entity(entity.id)))
    [entity] = service.entities(iid, entity_type="refund", ref=label)
    assert (entity.status, entity.storer_reference) == ("synced", str(by_hand))
    assert len(_credits_of(sb, invoice["DocumentNumber"])) == 1


def test_a_lost_credit_answer_is_adopted_not_credited_again(connected) -> None:
    service, sb, iid = connected
    sync(service)
    order, _, invoice = _invoiced_order(service, sb, iid)
    refund = _refund_one_unit(sb, order)
    # Fortnox makes the credit invoice, and the connection drops before its answer arrives.
    _sync_under(service, sb, {"drop": 1.0, "method": "PUT", "path": "/credit"})
    [credit] = _credits_of(sb, invoice["DocumentNumber"])
    [entity] = service.entities(iid, entity_type="refund", ref=f"{order['name']}-R1")
    assert entity.status == "synced", entity.error_message
    # the answer was lost indeed, and the credit found instead of made again
    assert any(log.code == "ADOPTED" for log in service.logs(iid, ref=f"{order['name']}-R1", limit=20))
    assert Decimal(str(credit["Total"])) == -_given_back(refund)
    assert credit["ExternalInvoiceReference2"] == f"Refund {refund['id']}" and credit["Booked"]
    assert duplicates_in_fortnox(sb) == {}


def test_a_credit_made_just_before_a_crash_is_adopted_and_rewritten(connected, monkeypatch) -> None:
    monkeypatch.setenv("JUNIPEER_RETRY_SECONDS", "0.2")  # the automatic attempts run out at once
    service, sb, iid = connected
    sync(service)
    order, _, invoice = _invoiced_order(service, sb, iid)
    refund = _refund_one_unit(sb, order)
    # The attempt announces the credit (its store intent) and Fortnox fails: the refund waits for an
    # automatic retry. Suppose Fortnox had in fact made the full credit copy before it failed, as an
    # attempt killed between the credit and its rewrite leaves it.
    _sync_under(service, sb, {"error_5xx": 1.0, "method": "PUT", "path": "/credit"})
    label = f"{order['name']}-R1"
    [entity] = service.entities(iid, entity_type="refund", ref=label)
    assert entity.status == "error" and entity.store_intent == "create_credit"
    with sb.fortnox_user() as fortnox:
        full_copy = fortnox.put(f"invoices/{invoice['DocumentNumber']}/credit")
        assert full_copy.status_code == 200, full_copy.text
    asyncio.run(service.run_now(service.retry_entity(entity.id)))

    [entity] = service.entities(iid, entity_type="refund", ref=label)
    [credit] = _credits_of(sb, invoice["DocumentNumber"])
    assert entity.status == "synced", entity.error_message
    assert Decimal(str(credit["Total"])) == -_given_back(refund)  # rewritten from the full copy
    assert credit["ExternalInvoiceReference2"] == f"Refund {refund['id']}" and credit["Booked"]
    assert duplicates_in_fortnox(sb) == {}


def test_a_credit_rewritten_by_an_attempt_that_stopped_before_booking_is_booked_as_it_is(
    connected, monkeypatch
) -> None:
    """The kill test found it: an attempt rewrote the credit (rows of the refund only, stamped) and was
    killed before it booked and recorded it; the next attempt must not rewrite it from the full copy
    it no longer is."""
    monkeypatch.setenv("JUNIPEER_RETRY_SECONDS", "0.2")
    service, sb, iid = connected
    sync(service)
    order, _, invoice = _invoiced_order(service, sb, iid, lines=2)
    refund = _refund_one_unit(sb, order)
    _sync_under(service, sb, {"error_5xx": 1.0, "method": "PUT", "path": "/bookkeep"})
    [credit] = _credits_of(sb, invoice["DocumentNumber"])
    assert credit["ExternalInvoiceReference2"] == f"Refund {refund['id']}" and not credit["Booked"]
    assert len(credit["InvoiceRows"]) == 1  # rewritten: no longer the copy of the invoice's rows
    [entity] = service.entities(iid, entity_type="refund", ref=f"{order['name']}-R1")
    assert entity.status == "error" and entity.error_code != "REFUND_AMOUNT_MISMATCH", entity.error_message

    asyncio.run(service.run_now(service.retry_entity(entity.id)))
    [entity] = service.entities(iid, entity_type="refund", ref=f"{order['name']}-R1")
    [credit] = _credits_of(sb, invoice["DocumentNumber"])
    assert entity.status == "synced", entity.error_message
    assert credit["Booked"] and Decimal(str(credit["Total"])) == -_given_back(refund)
    assert duplicates_in_fortnox(sb) == {}


def test_a_refund_waits_for_the_invoice_when_invoicing_is_off(connected) -> None:
    service, sb, iid = connected
    service.save_settings(iid, "invoice", {"create_invoice_when_paid": False})
    paid = sb.post("shopify/orders", {"financial_status": "paid"})
    sync(service)
    _refund(sb, paid, line_items=[{"line_item_id": paid["line_items"][0]["id"], "quantity": 1}])
    sync(service)
    [entity] = service.entities(iid, entity_type="refund", ref=f"{paid['name']}-R1")
    assert (entity.status, entity.error_code) == ("error", "REFUND_WAITING_FOR_INVOICE")
    assert not [i for i in sb.get("fortnox/invoices") if i["Credit"]]
