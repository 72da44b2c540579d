"""Refunds of a Shopify order → Fortnox credit invoices, credited in the order's own attempt.

A refund is an entity of its own ("#1001-R1": the order's name and the refund's place among its
refunds), under its order's entity. It is credited while the order's lease is held, so the order's
exactly-once guarantees (one attempt at a time, across tasks, processes and machines) cover it; it also
takes a lease of its own and writes a store intent before the credit is made.

Fortnox takes one credit invoice per invoice (`PUT /invoices/{n}/credit`). The first refund that
gives money back becomes that credit invoice, rewritten to credit exactly what was refunded
(engine.mapping.credit), stamped "Refund <id>" in ExternalInvoiceReference2, checked to the öre
against the refund and booked per Invoice Settings. A later refund of the same invoice can't be a
second credit: it ends in REFUND_INVOICE_ALREADY_CREDITED, for a person to credit by hand in Fortnox
and link under References (a linked refund counts as synced). Every later attempt first looks for
what an interrupted one made: the invoice's CreditInvoiceReference, and the stamp on that credit.

A refund of an order Fortnox never invoiced has nothing to credit: when the Fortnox order is
cancelled the refund is settled as such; otherwise it waits for the invoice
(REFUND_WAITING_FOR_INVOICE) and is credited by the first attempt after the order is invoiced.
"""

from __future__ import annotations

from typing import Any

from engine.errors import EngineError
from engine.flows.base import FlowContext, bookkeep, code_and_message, create_once, document_number, fail
from engine.mapping.credit import check_credit_total, credit_rows, predicted_total, refund_amounts
from engine.mapping.order_lines import Booking
from engine.platforms.http import PlatformError
from engine.runtime.outage import SETTLED
from engine.runtime.records import Writes, dumps
from engine.store.models import EntityStatus, LogLevel

ENTITY = "refund"
STAMP_FIELD = "ExternalInvoiceReference2"
SEPARATOR = "-R"


def refund_reference(order_ref: str, position: int) -> str:
    """What the operator sees and types for a refund: the order's name and the refund's place."""
    return f"{order_ref}{SEPARATOR}{position}"


def split_reference(ref: str) -> tuple[str, int] | None:
    """The order reference and refund position in "#1001-R2", or None for any other reference."""
    head, sep, tail = ref.rpartition(SEPARATOR)
    return (head, int(tail)) if sep and head and tail.isdigit() and int(tail) > 0 else None


def stamp(refund_id: str) -> str:
    return f"Refund {refund_id}"


async def credit_refunds(
    ctx: FlowContext,
    order_entity: Any,
    order: dict,
    order_ref: str,
    fortnox_order: dict,
    invoice: dict | None,
) -> list[str]:
    """Credit every refund of `order` not credited yet; returns what was done, for the order's log."""
    notes: list[str] = []
    for position, refund in enumerate(order.get("refunds") or [], 1):
        label = refund_reference(order_ref, position)
        rid = str(refund.get("id"))
        rec = ctx.recorder
        entity = await rec.claim_entity_waiting(ENTITY, rid, label)
        if entity is None:
            raise EngineError("IN_FLIGHT", f"refund {label} is being credited by another worker")
        ctx.in_flight[entity.id] = entity.lease_owner
        w = rec.writes()
        w.entity(entity, parent_id=order_entity.id)
        try:
            note = await _credit(ctx, entity, order, order_ref, refund, rid, label, fortnox_order, invoice, w)
            if note:
                notes.append(note)
        except Exception as exc:  # a refund ends credited or in error with a code, never silent
            code, message = code_and_message(exc)
            fail(ctx, w, entity, f"Refund {label}", label, code, message, raw_source=dumps(refund))
            notes.append(f"refund {label} failed ({code})")
        finally:
            ctx.in_flight.pop(entity.id, None)
            await rec.aflush(w.release(entity))
    return notes


def _settled(w: Writes, entity: Any, refund: dict, target: str | None, raw_target: Any) -> None:
    w.entity(
        entity,
        status=EntityStatus.SYNCED,
        storer_reference=target,
        raw_source=dumps(refund),
        raw_target=dumps(raw_target),
        error_code=None,
        error_message=None,
        store_intent=None,
        **SETTLED,
    )


def _nothing(w: Writes, entity: Any, refund: dict, label: str, why: str) -> None:
    _settled(w, entity, refund, None, None)
    w.transaction(entity, "nothing to credit", EntityStatus.SYNCED, why[0].upper() + why[1:])
    w.log(
        LogLevel.INFO,
        f"Refund {label}: nothing to credit, {why}",
        code="NOTHING_TO_CREDIT",
        reference=label,
    )


async def _credit(
    ctx: FlowContext,
    entity: Any,
    order: dict,
    order_ref: str,
    refund: dict,
    rid: str,
    label: str,
    fortnox_order: dict,
    invoice: dict | None,
    w: Writes,
) -> str | None:
    rec, target = ctx.recorder, ctx.target
    linked = await rec.areference(ENTITY, rid)
    if linked is not None:  # credited before, or credited by hand and linked under References
        if entity.status != EntityStatus.SYNCED or entity.storer_reference != linked.target_id:
            _settled(w, entity, refund, linked.target_id, {"CreditInvoice": linked.target_id})
            w.transaction(entity, "linked", EntityStatus.SYNCED, f"Fortnox credit invoice {linked.target_id}")
        return None
    if entity.status == EntityStatus.SYNCED:  # settled before with nothing to credit
        return None
    amounts = refund_amounts(order, refund, ctx.settings.order.use_presentment_currency)
    if amounts.total == 0:
        return _nothing(w, entity, refund, label, "the refund gave no money back")
    if invoice is None:
        if fortnox_order.get("Cancelled"):
            doc = fortnox_order.get("DocumentNumber")
            return _nothing(
                w, entity, refund, label, f"Fortnox order {doc} is cancelled and was never invoiced"
            )
        raise EngineError(
            "REFUND_WAITING_FOR_INVOICE",
            f"Fortnox order {fortnox_order.get('DocumentNumber')} is not invoiced: nothing to credit yet",
        )
    invoice_no = str(invoice["DocumentNumber"])
    mine = stamp(rid)

    async def made_credit() -> dict | None:
        number = document_number((await target.get_invoice(invoice_no)).get("CreditInvoiceReference"))
        return await target.get_invoice(number) if number else None

    credit_no = document_number(invoice.get("CreditInvoiceReference"))
    credit: dict | None = None
    if credit_no is None:
        await rec.aflush(w.intent(entity, "create_credit"))
        try:
            credit = await create_once(
                lambda: target.credit_invoice(invoice_no), made_credit, "credit invoice", label, ctx
            )
        except PlatformError as exc:
            # Refused, whatever Fortnox's wording, because the invoice has been credited meanwhile
            # (by a person, or by an attempt this one could not know of): look at that credit.
            if exc.retryable and not exc.ambiguous:
                raise
            credit_no = document_number((await target.get_invoice(invoice_no)).get("CreditInvoiceReference"))
            if credit_no is None:
                raise
        else:
            credit_no = str(credit["DocumentNumber"])
            made = f"Credited Fortnox invoice {invoice_no}: credit invoice {credit_no}"
            w.transaction(entity, "credited", EntityStatus.PENDING, made)
        # The next refund of this order, in this same attempt, must see the credit.
        invoice["CreditInvoiceReference"] = credit_no
    if credit is None:
        credit = await target.get_invoice(credit_no)
        stamped = str(credit.get(STAMP_FIELD) or "")
        by_us = stamped.startswith("Refund ")
        # Unstamped and announced by this refund's intent: our own credit, made just before a crash.
        if stamped != mine and not (entity.store_intent == "create_credit" and not by_us):
            by = f" for {stamped.lower()}" if by_us else " (not made by this integration)"
            raise EngineError(
                "REFUND_INVOICE_ALREADY_CREDITED",
                f"Fortnox invoice {invoice_no} already has credit invoice {credit_no}{by}, and Fortnox "
                f"takes one credit invoice per invoice; {amounts.total:.2f} {amounts.currency} is still "
                "to be credited",
            )
        if stamped != mine:
            found = f"Found credit invoice {credit_no} of an interrupted attempt"
            w.transaction(entity, "adopted", EntityStatus.PENDING, found)
    # The stamp goes in the same write as the rows: a stamped credit is rewritten already (by an
    # attempt that stopped before it recorded so), and its rows are no longer the full copy.
    if not credit.get("Booked") and str(credit.get(STAMP_FIELD) or "") != mine:
        line_count = len(order.get("line_items") or [])
        booking = Booking.of(ctx.settings, order)
        rows, freight = credit_rows(credit, amounts, line_count, booking.credit_account)
        predicted = predicted_total(
            rows, credit.get("InvoiceRows") or [], freight, bool(credit.get("VATIncluded"))
        )
        check_credit_total(amounts, predicted, f"Credit invoice {credit_no} would total")
        note = refund.get("note")
        payload = {
            "InvoiceRows": rows,
            "Freight": float(freight),
            STAMP_FIELD: mine,
            "Remarks": f"Refund {label} of Shopify order {order_ref}" + (f": {note}" if note else ""),
        }
        credit = await target.update_invoice(credit_no, payload)
    check_credit_total(amounts, credit.get("Total"), f"Credit invoice {credit_no} totals")
    booked = ""
    if ctx.settings.invoice.bookkeep and not credit.get("Booked"):
        credit = await bookkeep(target, credit_no)
        w.transaction(entity, "booked", EntityStatus.PENDING, f"Booked credit invoice {credit_no}")
        booked = ", booked"
    w.reference(ENTITY, rid, credit_no, label)
    _settled(w, entity, refund, credit_no, credit)
    w.transaction(
        entity,
        "synced",
        EntityStatus.SYNCED,
        f"Credit invoice {credit_no}: {-amounts.total:.2f} {amounts.currency}",
    )
    w.log(
        LogLevel.INFO,
        f"Refund {label} credited: Fortnox credit invoice {credit_no} of invoice {invoice_no}, "
        f"{-amounts.total:.2f} {amounts.currency}{booked}",
        code="REFUND_CREDITED",
        reference=label,
    )
    return f"refund {label} credited ({credit_no})"
