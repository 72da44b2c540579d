"""Invoices of orders paid at checkout (PayPal and the like) get their payment registered in Fortnox.

Payment providers without a payout connector settle nothing later that could mark the invoice paid,
so Invoice Settings > Additional names the gateways whose orders are paid in full when they are
invoiced, each with the Fortnox mode of payment (whose account, from Fortnox's modes of payment,
receives the money). When every gateway of an order is listed, the orders flow registers one invoice
payment of the invoice's total, in its currency (AmountCurrency, and Amount in kronor at the
invoice's rate), dated the day Shopify processed the payment (not before the invoice date), and books
it when invoices are booked. Fortnox registers payments on booked invoices only, which is why marking
paid requires booking (InvoiceSettings refuses the one without the other).

Exactly once: a store intent ("mark_paid") is committed before the payment is posted, and a payment
carries nothing of ours to find it by, so the invoice's own payments decide. An invoice with a payment
already is not paid again: when this order's intent announced a payment, that payment is ours (an
answer lost or a crash after the write) and is adopted and booked; otherwise a person registered it
and it is left alone. The payment's number is recorded as a reference once it is booked.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from engine.errors import EngineError
from engine.flows.base import FlowContext, book_once, create_once, document_number
from engine.mapping.amounts import CENT
from engine.runtime.records import Writes, parse_time
from engine.store.models import LogLevel

ENTITY = "invoice_payment"  # references: Shopify order id → Fortnox invoice payment number
INTENT = "mark_paid"


def paid_mode(ctx: FlowContext, order: dict) -> str | None:
    """The mode of payment of an order paid at checkout, or None when any of its gateways is not
    marked as paid (a gift card with PayPal: the rest is settled by a payout, or by a person)."""
    modes = ctx.settings.invoice.paid_gateways
    gateways = [str(g) for g in order.get("payment_gateway_names") or []]
    if not gateways or any(g not in modes for g in gateways):
        return None
    return modes[gateways[0]]


async def mark_paid(
    ctx: FlowContext, entity: Any, order: dict, ref: str, invoice: dict, w: Writes
) -> tuple[dict, str | None]:
    """The invoice after its payment is registered, and a note for the order's log line (None
    when nothing was done)."""
    mode = paid_mode(ctx, order)
    if mode is None or invoice.get("Cancelled") or document_number(invoice.get("CreditInvoiceReference")):
        return invoice, None
    rec, target = ctx.recorder, ctx.target
    sid, invoice_no = str(order["id"]), str(invoice["DocumentNumber"])
    if await rec.areference(ENTITY, sid) is not None:
        return invoice, None
    announced = entity.store_intent == INTENT

    async def made() -> dict | None:
        found = await target.invoice_payments(invoice_no)
        return found[0] if found else None

    payment = await made()
    if payment is not None and not announced:
        return invoice, None  # registered by a person: theirs to book
    if payment is not None:
        w.transaction(
            entity, "adopted", "synced", f"Found payment {payment['Number']} of an interrupted attempt"
        )
    else:
        if Decimal(str(invoice.get("Balance") or 0)) <= 0:
            return invoice, None  # settled otherwise (written off): nothing owed
        # The total, in the invoice's currency: with no payment yet it is what is owed, and unlike
        # the balance its currency is certain.
        body = await _payment(ctx, order, invoice, mode, Decimal(str(invoice["Total"])))
        await rec.aflush(w.intent(entity, INTENT))
        payment = await create_once(
            lambda: target.create_invoice_payment(body), made, "invoice payment", ref, ctx
        )
    number = str(payment["Number"])
    if ctx.settings.invoice.bookkeep and not payment.get("Booked"):
        payment = await book_once(
            lambda: target.bookkeep_invoice_payment(number), lambda: target.get_invoice_payment(number)
        )
    w.reference(ENTITY, sid, number, ref)
    amount = f"{Decimal(str(payment.get('AmountCurrency') or payment.get('Amount') or 0)):.2f}"
    what = f"payment {number} of {amount} {invoice.get('Currency') or 'SEK'} on {payment.get('PaymentDate')}"
    w.transaction(entity, "paid", "synced", f"Registered {what} on invoice {invoice_no}")
    w.log(
        LogLevel.INFO,
        f"Invoice {invoice_no} of order {ref} marked as paid ({mode}): {what}"
        + (", booked" if payment.get("Booked") else ""),
        code="INVOICE_MARKED_PAID",
        reference=ref,
    )
    return await target.get_invoice(invoice_no), f"marked paid ({number})"


async def _payment(ctx: FlowContext, order: dict, invoice: dict, mode: str, total: Decimal) -> dict:
    """The invoice payment of `total` (in the invoice's currency) through the mode of payment `mode`."""
    modes = {str(m.get("Code")): m for m in await ctx.target.lookup("modesofpayments")}
    if mode not in modes:
        raise EngineError(
            "FORTNOX_MODE_OF_PAYMENT_NOT_FOUND",
            f"Fortnox has no mode of payment {mode!r} for the invoice of an order paid at checkout",
        )
    invoiced = date.fromisoformat(str(invoice["InvoiceDate"]))
    paid = parse_time(order.get("processed_at") or order.get("created_at"))
    body: dict[str, Any] = {
        "InvoiceNumber": int(invoice["DocumentNumber"]),
        "PaymentDate": max(paid.date() if paid else invoiced, invoiced).isoformat(),
        "ModeOfPayment": mode,
        # The account the money went to: what booking the payment debits.
        "ModeOfPaymentAccount": modes[mode].get("AccountNumber"),
        "Amount": float(total),
    }
    currency = str(invoice.get("Currency") or "SEK")
    if currency != "SEK":
        rate = Decimal(str(invoice.get("CurrencyRate") or 0)) / Decimal(str(invoice.get("CurrencyUnit") or 1))
        body |= {
            "AmountCurrency": float(total),
            "Amount": float((total * rate).quantize(CENT)),
            "CurrencyRate": float(rate),
        }
    return body
