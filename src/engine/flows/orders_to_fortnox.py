"""Orders: Shopify → Fortnox.

One Shopify order becomes one Fortnox order (customer matched or created first); a paid order is
invoiced, and booked when Invoice Settings says so; an order paid at checkout through a gateway
marked as paid gets its invoice's payment registered (engine.flows.paid_at_checkout). Later updates
reach Fortnox while the order is not invoiced; after that they are logged as warnings. Cancelled
orders are cancelled in Fortnox unless invoiced. Flow filters gate creation only: once an order is
in Fortnox, its later changes follow. The order's refunds are credited in the same attempt, after
its invoice (engine.flows.order_refunds).

Books balance: the Fortnox order must total what the buyer paid in Shopify, to the öre, checked
before sending and read back before invoicing (engine.mapping.amounts); otherwise the record ends in
FORTNOX_TOTAL_MISMATCH and nothing is invoiced.

Exactly once: every create is preceded by a committed store intent and carries the shop order name
in YourOrderNumber and ExternalInvoiceReference1. When an attempt was interrupted (crash, timeout,
dropped connection), the next one looks the order up by that name and adopts what it finds.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from engine.errors import EngineError, hint
from engine.flows.base import (
    FlowContext,
    Outcome,
    bookkeep,
    code_and_message,
    create_once,
    document_number,
    fail,
)
from engine.flows.order_refunds import credit_refunds, split_reference
from engine.flows.paid_at_checkout import mark_paid
from engine.mapping.amounts import check_total, fortnox_total, order_amounts
from engine.mapping.countries import fortnox_country, fortnox_country_code
from engine.mapping.customers import contact_email, customer_email, customer_name
from engine.mapping.filters import evaluate
from engine.mapping.order_lines import Booking
from engine.mapping.row_ids import carry_row_ids
from engine.mapping.vat import organisation_number
from engine.platforms.http import PlatformError
from engine.runtime.outage import SETTLED
from engine.runtime.records import Writes, dumps, parse_time, same_payload
from engine.store.models import EntityStatus, LogLevel, utcnow

KEY = "orders_to_fortnox"
ENTITY = "order"
NAME = "Orders"
ACTION = "Export orders to Fortnox"
SOURCE_PLATFORM = "shopify"
TARGET_PLATFORM = "fortnox"
PAID_STATUSES = frozenset({"paid", "partially_refunded", "refunded"})


# -- retrieving ---------------------------------------------------------------------------------
# Shopify shows only this much order history to a token without `read_all_orders`, and says nothing:
# older orders are simply left out of every list. Reading further back is refused here instead.
ORDER_HISTORY = timedelta(days=60)


async def _history_reaches(ctx: FlowContext, start: datetime | None) -> bool:
    """Whether orders created since `start` are all visible to the token."""
    if start is not None and start >= utcnow() - ORDER_HISTORY:
        return True
    return "read_all_orders" in await ctx.source.access_scopes()


async def check_window(ctx: FlowContext, start: datetime | None) -> None:
    """Refuse a window reaching past 60 days without `read_all_orders`, before any count or read:
    Shopify's counts leave the hidden orders out too, so the window would look empty.

    An order created earlier but updated within a recent window stays invisible without the scope
    as well, and nothing in Shopify's answers tells; the connection test names the missing scope."""
    if not await _history_reaches(ctx, start):
        since = f"since {start:%Y-%m-%d}" if start else "without a start date"
        raise EngineError(
            "SHOPIFY_READ_ALL_ORDERS_MISSING",
            f"Reading orders {since} needs Shopify's read_all_orders scope: without it Shopify "
            "silently leaves out orders older than 60 days.",
        )


def fetch_updated(ctx: FlowContext, start: datetime | None, end: datetime) -> AsyncIterator[list[dict]]:
    return ctx.source.iter_order_pages(updated_at_min=start, updated_at_max=end, status="any")


def fetch_created(ctx: FlowContext, start: datetime, end: datetime) -> AsyncIterator[list[dict]]:
    return ctx.source.iter_order_pages(created_at_min=start, created_at_max=end, status="any")


async def fetch_one(ctx: FlowContext, ref: str) -> dict | None:
    """The order named `ref`; a refund's reference ("#1001-R1") names its order, whose attempt
    credits it."""
    found = await ctx.source.find_order(ref)
    if found is None and (refund := split_reference(ref)) is not None:
        found = await ctx.source.find_order(refund[0])
    if found is None and not await _history_reaches(ctx, None):
        raise EngineError(
            "SHOPIFY_READ_ALL_ORDERS_MISSING",
            f"No order {ref} among the last 60 days' orders, the only ones Shopify shows without the "
            "read_all_orders scope.",
        )
    return found


async def fetch_by_source_id(ctx: FlowContext, source_id: str) -> dict | None:
    try:
        return await ctx.source.get_order(source_id)
    except PlatformError as exc:
        if exc.code == "NOT_FOUND":
            return None
        raise


def reference_of(order: dict) -> str:
    return order.get("name") or f"#{order.get('order_number')}"


# -- processing ---------------------------------------------------------------------------------
def _check_shape(order: Any) -> None:
    """Refuse an order whose fields this flow reads are not what Shopify's REST API sends, so one
    odd record fails on its own (MALFORMED_RECORD) instead of stopping the task at every run."""

    def bad(what: str) -> EngineError:
        return EngineError("MALFORMED_RECORD", f"the Shopify order is malformed: {what}")

    if not isinstance(order, dict):
        raise bad(f"expected an object, got {type(order).__name__}")
    if not str(order.get("id") or "").isdigit():
        raise bad(f"id {order.get('id')!r} is not a number")
    for field in ("created_at", "updated_at", "cancelled_at"):
        try:
            parse_time(order.get(field))
        except (TypeError, ValueError, AttributeError):
            raise bad(f"{field} {order.get(field)!r} is not a date and time") from None
    for field in ("line_items", "shipping_lines", "payment_gateway_names"):
        value = order.get(field)
        if value is not None and not isinstance(value, list):
            raise bad(f"{field} is not a list")
    for field in ("line_items", "shipping_lines"):
        for line in order.get(field) or []:
            if not isinstance(line, dict):
                raise bad(f"a row of {field} is not an object")
            for number in ("price", "quantity", "total_discount", "discounted_price"):
                try:
                    float(line.get(number) or 0)
                except (TypeError, ValueError):
                    raise bad(f"{number} {line.get(number)!r} in {field} is not a number") from None
    refunds = order.get("refunds")
    if refunds is not None and not isinstance(refunds, list):
        raise bad("refunds is not a list")
    for refund in refunds or []:
        if not isinstance(refund, dict) or not str(refund.get("id") or "").isdigit():
            raise bad("a refund is not an object with a numeric id")
    for field in ("customer", "billing_address", "shipping_address"):
        value = order.get(field)
        if value is not None and not isinstance(value, dict):
            raise bad(f"{field} is not an object")


async def process(ctx: FlowContext, order: dict) -> Outcome:
    rec = ctx.recorder
    try:
        _check_shape(order)
    except EngineError as exc:
        return await _malformed(ctx, order, exc)
    ref = reference_of(order)
    created = parse_time(order.get("created_at"))
    exclusion = ctx.settings.order.exclusion_date
    if exclusion and created and created.date() < exclusion:
        await rec.ainfo(
            f"Order {ref} skipped: created {created.date()}, before the exclusion date {exclusion}",
            code="ORDER_BEFORE_EXCLUSION_DATE",
            reference=ref,
        )
        return Outcome.SKIPPED
    verdict = evaluate(ctx.filters, order)
    # Filters decide what gets created; an order already in Fortnox keeps receiving its changes, or a
    # cancellation (status "voided") would never reach the ERP.
    if not verdict.kept and await rec.areference(ENTITY, str(order["id"])) is None:
        await rec.ainfo(f"Order {ref} skipped: {verdict.reason}", code="FILTERED_OUT", reference=ref)
        return Outcome.SKIPPED

    entity = await rec.claim_entity_waiting(ENTITY, str(order["id"]), ref)
    if entity is None:
        await rec.ainfo(f"Order {ref} is being synced by another worker", code="IN_FLIGHT", reference=ref)
        return Outcome.SKIPPED
    ctx.in_flight[entity.id] = entity.lease_owner
    writes = rec.writes()
    try:
        updated = parse_time(order.get("updated_at"))
        raw = dumps(order)
        # Compare content, not updated_at: Shopify stamps whole seconds, and two edits can share one.
        edited = entity.raw_source is not None and not same_payload(entity.raw_source, raw)
        changed = entity.status != EntityStatus.SYNCED or edited
        if not ctx.force and not changed:
            return Outcome.SKIPPED
        try:
            await _store(ctx, entity, order, updated, raw, changed or ctx.force, edited, writes)
        except Exception as exc:  # every record ends synced or in error with a code, never silent
            code, message = code_and_message(exc)
            _failed(ctx, writes, entity, ref, code, message, raw_source=raw, source_updated_at=updated)
            return Outcome.FAILED
        ctx.streak.success()
        return Outcome.SYNCED
    finally:
        ctx.in_flight.pop(entity.id, None)
        await rec.aflush(writes.release(entity))


def _failed(
    ctx: FlowContext, w: Writes, entity: Any, ref: str, code: str, message: str, **changes: Any
) -> None:
    fail(ctx, w, entity, f"Order {ref}", ref, code, message, **changes)


async def _malformed(ctx: FlowContext, order: Any, exc: EngineError) -> Outcome:
    """A record that can't be read: in error on its entity when it has an id to file it under,
    else a log line; never an exception that stops the task."""
    rec = ctx.recorder
    sid = str(order.get("id") or "") if isinstance(order, dict) else ""
    ref = (reference_of(order) if isinstance(order, dict) else None) or sid or "?"
    if not sid.isdigit():
        await rec.alog(
            LogLevel.ERROR, f"Order {ref}: {exc.message} — {hint(exc.code)}", code=exc.code, reference=ref
        )
        return Outcome.FAILED
    entity = await rec.claim_entity_waiting(ENTITY, sid, ref)
    if entity is None:
        return Outcome.SKIPPED
    writes = rec.writes()
    _failed(ctx, writes, entity, ref, exc.code, exc.message, raw_source=dumps(order))
    await rec.aflush(writes.release(entity))
    return Outcome.FAILED


async def _store(
    ctx: FlowContext,
    entity: Any,
    order: dict,
    updated: datetime | None,
    raw: str,
    changed: bool,
    edited: bool,
    w: Writes,
) -> None:
    """Store one order. Writes collect in `w`; it is flushed before every create so the store intent
    is durable before the effect it announces.

    `changed` says the order is to be sent again (new, edited, failed before, or forced); `edited`
    that Shopify's content differs from what the last attempt stored. Only an edit is worth a
    warning once Fortnox has invoiced: an attempt resumed after a crash or a failure, or a forced
    export, finds the invoice its own earlier attempt made."""
    rec, target = ctx.recorder, ctx.target
    ref, sid = reference_of(order), str(order["id"])
    cancelled = bool(order.get("cancelled_at"))
    notes: list[str] = []

    doc: str | None = None
    existing = await rec.areference(ENTITY, sid)
    if existing is not None:
        doc = existing.target_id
    elif entity.store_intent == "create_order":
        found = await target.find_orders_by_reference(ref)
        if found:
            doc = str(found[0]["DocumentNumber"])
            w.reference(ENTITY, sid, doc, ref)
            w.transaction(
                entity, "adopted", "synced", f"Found Fortnox order {doc} from an interrupted attempt"
            )

    if doc is None:
        Booking.of(ctx.settings, order).check(order)  # a coded error before anything is created
        customer_number = await _ensure_customer(ctx, order)
        payload = build_order(ctx, order, customer_number)
        await rec.aflush(w.intent(entity, "create_order"))
        fortnox_order = await create_once(
            lambda: target.create_order(payload), lambda: _find_order(ctx, ref), "order", ref, ctx
        )
        doc = str(fortnox_order["DocumentNumber"])
        w.reference(ENTITY, sid, doc, ref)
        w.entity(entity, storer_reference=doc, store_intent=None)
        w.transaction(entity, "created", "synced", f"Created Fortnox order {doc}")
        notes.append(f"created order {doc}")
        if cancelled:
            fortnox_order = await target.cancel_order(doc)
            w.transaction(entity, "cancelled", "synced", f"Cancelled Fortnox order {doc}")
            notes.append("cancelled")
    else:
        fortnox_order = await target.get_order(doc)
        invoice_no = _invoice_number(fortnox_order)
        if fortnox_order.get("Cancelled"):
            pass
        elif cancelled:
            if invoice_no:
                _warn(
                    w,
                    entity,
                    ref,
                    "ORDER_CANCELLED_AFTER_INVOICING",
                    f"Order {ref} was cancelled in Shopify after Fortnox invoice {invoice_no} was created",
                )
            else:
                fortnox_order = await target.cancel_order(doc)
                w.transaction(entity, "cancelled", "synced", f"Cancelled Fortnox order {doc}")
                notes.append(f"cancelled order {doc}")
        elif edited and invoice_no and _document_changed(ctx, entity.raw_source, order):
            invoice = await target.get_invoice(invoice_no)
            state = "booked" if invoice.get("Booked") else "invoiced"
            _warn(
                w,
                entity,
                ref,
                "ORDER_UPDATED_AFTER_BOOKING",
                f"Order {ref} changed in Shopify after invoice {invoice_no} was {state}; not re-synced",
            )
        elif changed and not invoice_no:
            payload = build_order(ctx, order, str(fortnox_order["CustomerNumber"]))
            payload["OrderRows"] = carry_row_ids(payload["OrderRows"], fortnox_order.get("OrderRows") or [])
            fortnox_order = await target.update_order(doc, payload)
            w.transaction(entity, "updated", "synced", f"Updated Fortnox order {doc}")
            notes.append(f"updated order {doc}")

    if not fortnox_order.get("Cancelled") and _invoice_number(fortnox_order) is None:
        # Read back before invoicing: Fortnox's own Total, company settings included (öresutjämning).
        amounts = order_amounts(order, ctx.settings.order.use_presentment_currency)
        check_total(amounts, fortnox_order.get("Total"), f"Fortnox order {doc} (not invoiced) totals")
    invoice = None
    wants_invoice = (
        order.get("financial_status") in PAID_STATUSES
        and ctx.settings.invoice.create_invoice_when_paid
        and not fortnox_order.get("Cancelled")
    )
    if wants_invoice:
        invoice = await _ensure_invoice(ctx, entity, order, doc, fortnox_order, notes, w)
    if order.get("refunds"):
        if invoice is None and (invoice_no := _invoice_number(fortnox_order)) is not None:
            invoice = await target.get_invoice(invoice_no)  # invoiced by hand, or before invoicing was off
        notes += await credit_refunds(ctx, entity, order, ref, fortnox_order, invoice)
    w.entity(
        entity,
        status=EntityStatus.SYNCED,
        storer_reference=doc,
        children=len(order.get("line_items") or []),
        source_updated_at=updated,
        raw_source=raw,
        raw_target=dumps({"Order": fortnox_order, "Invoice": invoice}),
        error_code=None,
        error_message=None,
        store_intent=None,
        **SETTLED,
    )
    summary = ", ".join(notes) if notes else "unchanged in Fortnox"
    w.log(
        LogLevel.INFO,
        f"Order {ref} synced to Fortnox order {doc}: {summary}",
        code="ORDER_SYNCED",
        reference=ref,
    )


def _document_changed(ctx: FlowContext, stored: str | None, order: dict) -> bool:
    """Whether Shopify's edit changes the Fortnox order it makes. A refund changes the order (its
    refunds, financial status and current amounts) but not the sale: it is credited, not warned about."""
    try:
        before = build_order(ctx, json.loads(stored or "null"), "")
    except Exception:
        return True
    try:
        return before != build_order(ctx, order, "")
    except Exception:
        return True


def _warn(w: Writes, entity: Any, ref: str, code: str, message: str) -> None:
    """A change Fortnox can no longer take: never dropped silently, logged with what to do."""
    w.log(LogLevel.WARNING, f"{message} — {hint(code)}", code=code, reference=ref)
    w.transaction(entity, "warning", "synced", message)


def _invoice_number(fortnox_order: dict) -> str | None:
    return document_number(fortnox_order.get("InvoiceReference"))


async def _find_order(ctx: FlowContext, ref: str) -> dict | None:
    found = await ctx.target.find_orders_by_reference(ref)
    return await ctx.target.get_order(str(found[0]["DocumentNumber"])) if found else None


async def _ensure_invoice(
    ctx: FlowContext, entity: Any, order: dict, doc: str, fortnox_order: dict, notes: list[str], w: Writes
) -> dict:
    rec, target = ctx.recorder, ctx.target
    ref, sid = reference_of(order), str(order["id"])
    invoice_no = _invoice_number(fortnox_order)
    if invoice_no is None:
        await rec.aflush(w.intent(entity, "create_invoice"))
        try:
            invoice = await target.create_invoice_from_order(doc)
        except PlatformError as exc:
            # Whatever Fortnox's wording, an order it already invoiced is adopted, not an error.
            if exc.retryable and not exc.ambiguous:
                raise
            invoice_no = _invoice_number(await target.get_order(doc))
            if invoice_no is None:
                raise
            invoice = await target.get_invoice(invoice_no)
        invoice_no = str(invoice["DocumentNumber"])
        w.reference("invoice", sid, invoice_no, ref)
        w.transaction(entity, "invoiced", "synced", f"Created Fortnox invoice {invoice_no}")
        notes.append(f"invoice {invoice_no}")
    else:
        invoice = await target.get_invoice(invoice_no)
    if ctx.settings.invoice.bookkeep and not invoice.get("Booked"):
        invoice = await bookkeep(target, invoice_no)
        w.transaction(entity, "booked", "synced", f"Booked Fortnox invoice {invoice_no}")
        notes.append("booked")
    invoice, paid = await mark_paid(ctx, entity, order, ref, invoice, w)
    if paid:
        notes.append(paid)
    return invoice


# -- customers ----------------------------------------------------------------------------------
def customer_source_id(order: dict) -> str:
    """Who the order's customer is in Shopify: the customer id, else the email, else (a guest
    without either) the order itself. It is written into the Fortnox customer's ExternalReference,
    which is how an interrupted create is found again."""
    customer = order.get("customer") or {}
    if customer.get("id"):
        return str(customer["id"])
    email = contact_email(order).lower()
    return f"email:{email}" if email else f"order:{order['id']}"


async def _ensure_customer(ctx: FlowContext, order: dict) -> str:
    """The Fortnox customer number for the order's customer, created at most once.

    The customer is an entity with a lease of its own, so orders of one customer in other tasks,
    processes or machines wait for each other; the in-process lock only spares this task's
    consumers the polling."""
    rec, ref = ctx.recorder, reference_of(order)
    sid = customer_source_id(order)
    async with ctx.locks[sid]:
        if (known := await rec.areference("customer", sid)) is not None:
            return known.target_id
        email = contact_email(order).lower()
        entity = await rec.claim_entity_waiting("customer", sid, email or sid)
        if entity is None:
            raise EngineError("IN_FLIGHT", f"customer {email or sid} is being created by another worker")
        ctx.in_flight[entity.id] = entity.lease_owner
        w = rec.writes()
        try:
            return await _store_customer(ctx, order, entity, sid, email, w)
        except Exception as exc:
            code, message = code_and_message(exc)
            w.entity(entity, status=EntityStatus.ERROR, error_code=code, error_message=f"{ref}: {message}")
            w.transaction(entity, "error", EntityStatus.ERROR, f"{code}: {message}")
            raise
        finally:
            ctx.in_flight.pop(entity.id, None)
            await rec.aflush(w.release(entity))


async def _store_customer(ctx: FlowContext, order: dict, entity: Any, sid: str, email: str, w: Writes) -> str:
    rec, target, conf = ctx.recorder, ctx.target, ctx.settings.customer
    if (known := await rec.areference("customer", sid)) is not None:  # made while we waited
        return known.target_id
    payload = build_customer(ctx, order)

    async def find() -> dict | None:
        since = entity.store_intent_at or utcnow()
        found = await target.find_customers_by_external_reference(sid, since, payload.get("Name"))
        return found[0] if found else None

    fortnox_customer, action = None, "created"
    if entity.store_intent == "create_customer" and (fortnox_customer := await find()) is not None:
        action = "adopted"
    if fortnox_customer is None and conf.mode == "match_existing" and email:
        matches = await target.find_customers_by_email(email)
        if matches:
            fortnox_customer, action = matches[0], "matched"
    if fortnox_customer is None:
        await rec.aflush(w.intent(entity, "create_customer"))
        fortnox_customer = await create_once(
            lambda: target.create_customer(payload), find, "customer", reference_of(order), ctx
        )
    number = str(fortnox_customer["CustomerNumber"])
    w.reference("customer", sid, number, email or None)
    w.entity(
        entity,
        status=EntityStatus.SYNCED,
        storer_reference=number,
        raw_source=dumps(order.get("customer") or {}),
        raw_target=dumps(fortnox_customer),
        error_code=None,
        error_message=None,
        store_intent=None,
    )
    w.transaction(entity, action, EntityStatus.SYNCED, f"Fortnox customer {number}")
    return number


def _name(addr: dict | None) -> str:
    addr = addr or {}
    return (addr.get("name") or f"{addr.get('first_name') or ''} {addr.get('last_name') or ''}").strip()


def build_customer(ctx: FlowContext, order: dict) -> dict:
    conf = ctx.settings.customer
    billing = order.get("billing_address") or {}
    booking = Booking.of(ctx.settings, order)
    company = str(billing.get("company") or "").strip()
    return {
        # A business is the customer, not the person who placed its order.
        "Name": company if booking.vat_number and company else customer_name(order, conf),
        "Email": customer_email(order, conf),
        "Type": "COMPANY" if company or booking.vat_number else conf.customer_type,
        "VATType": booking.vat_type,
        "VATNumber": booking.vat_number,
        "OrganisationNumber": organisation_number(booking.vat_number),
        "CountryCode": fortnox_country_code(billing, conf.default_country_code),
        "Address1": billing.get("address1"),
        "Address2": billing.get("address2"),
        "City": billing.get("city"),
        "ZipCode": billing.get("zip"),
        "Phone1": billing.get("phone"),
        "Currency": order.get("currency"),
        "ExternalReference": customer_source_id(order),
    }


# -- orders -------------------------------------------------------------------------------------
def build_order(ctx: FlowContext, order: dict, customer_number: str) -> dict:
    s = ctx.settings
    ref = reference_of(order)
    amounts = order_amounts(order, s.order.use_presentment_currency)
    booking = Booking.of(s, order)
    rows = []
    for line, money in zip(order.get("line_items") or [], amounts.rows, strict=True):
        sku = (line.get("sku") or "").strip()
        if sku and (" " in sku or len(sku) > 200):
            raise EngineError(
                "ARTICLE_NUMBER_INVALID", f"SKU {sku!r} cannot be a Fortnox article number (no spaces, ≤ 200)"
            )
        qty = line.get("quantity") or 0
        row = {
            "Description": (line.get("title") or sku)[:50],
            "OrderedQuantity": qty,
            "DeliveredQuantity": qty,
            "Price": float(money.price),
            "Discount": float(money.discount),
            "DiscountType": "AMOUNT",
        }
        rows.append(booking.row(line, row))
    if len(rows) > 500:
        raise EngineError("FORTNOX_ROW_LIMIT", f"{len(rows)} rows; Fortnox accepts at most 500")
    shipping_lines = order.get("shipping_lines") or []
    shipping_title = shipping_lines[0].get("title") if shipping_lines else None
    gateways = order.get("payment_gateway_names") or []
    billing = order.get("billing_address") or {}
    delivery = order.get("shipping_address") or billing
    created = parse_time(order.get("created_at"))
    payload: dict[str, Any] = {
        "CustomerNumber": customer_number,
        "OrderDate": created.date().isoformat() if created else None,
        "YourOrderNumber": ref,
        "ExternalInvoiceReference1": ref,
        "ExternalInvoiceReference2": str(order["id"]),
        "Currency": amounts.currency,
        # The rate the buyer's amounts were converted at, so Fortnox books what the shop booked.
        "CurrencyRate": float(amounts.rate) if amounts.rate is not None else None,
        "CurrencyUnit": 1 if amounts.rate is not None else None,
        "VATIncluded": bool(order.get("taxes_included", s.invoice.vat_included)),
        "Freight": float(amounts.freight),
        "CustomerName": _name(billing) or None,
        "Address1": billing.get("address1"),
        "Address2": billing.get("address2"),
        "City": billing.get("city"),
        "ZipCode": billing.get("zip"),
        "Country": fortnox_country(billing, "billing"),
        "DeliveryName": _name(delivery) or None,
        "DeliveryAddress1": delivery.get("address1"),
        "DeliveryCity": delivery.get("city"),
        "DeliveryZipCode": delivery.get("zip"),
        "DeliveryCountry": fortnox_country(delivery, "shipping"),
        "Remarks": order.get("note") or None,
        "OrderRows": rows,
    }
    shipping_row = booking.shipping_row(shipping_lines, payload["Freight"])
    if shipping_row is not None:
        payload["Freight"] = 0.0
        rows.append(shipping_row)
    way = s.shipping.mapping.get(shipping_title or "") or s.shipping.default_way_of_delivery
    terms = s.payment.mapping.get(gateways[0] if gateways else "") or s.payment.default_terms_of_payment
    if way:
        payload["WayOfDelivery"] = way
    if terms:
        payload["TermsOfPayment"] = terms
    predicted = fortnox_total(rows, Decimal(str(payload["Freight"])), payload["VATIncluded"])
    check_total(amounts, predicted, "The Fortnox order would total")
    return {k: v for k, v in payload.items() if v is not None}
