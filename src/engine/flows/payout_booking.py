"""Booking a payout in Fortnox, whichever provider paid it out (the shared shape in
engine.mapping.payouts); each provider's flow only reads its payouts into that shape.

A payout is an entity ("po_…"), its lines entities of their own under it (parent_id), as refunds are
under their orders. A paid payout is booked, and a failed one too (below); one in transit waits for a
later run.

Per line that belongs to an invoice:
- a charge pays the invoice whose match reference (Payouts settings; ExternalInvoiceReference1, where
  the orders flow writes the order name, by default) is the order the provider names; a refund pays
  back on that invoice's credit invoice. Fortnox is asked every time (its search matches substrings,
  so candidates are compared exactly).
- the payment is dated the payout's arrival date (the invoice's date when later), on the provider's
  mode of payment and account, for what reached the provider's balance (gross minus fee); the fee is
  written off to the fee account, so the invoice is settled in full. No fee account with a fee to
  write off: PAYOUT_FEE_WRITEOFF_FAILED.
- an invoice (or credit invoice) not found ends the line in PAYOUT_INVOICE_NOT_FOUND with what to
  check; every later run reads the payout again and the line books once the order is synced.

The payout's voucher is made only once every invoice line is paid: it moves the payout from the
payment account to the bank (through the interim account when one is set), and books the lines of no
invoice, each kind on its account:
- a dispute (a lost chargeback: the charge's money taken back, plus the provider's dispute fee): its
  amount on the dispute account (BAS 6351, a customer loss; the invoice stays paid by its charge), its
  fee on the fee account. The output VAT of the lost sale is left to the accountant.
- a fee of the provider's own: on the fee account. An adjustment or a line of unknown kind: on the
  account for other lines, which has no default (PAYOUT_LINE_ACCOUNT_MISSING until set).
- a reserve (money held back, or released) and money returned from a failed payout: on the payment
  account, since the provider still owes that money, or pays it out now.
- a charge or refund of an order the orders flow cancelled in Fortnox before invoicing it (refunded
  in full first; no invoice will ever exist): its amount on the account for unbilled money (BAS 2890,
  owed to the buyer until the refund pays it back, so charge and refund net to zero there), its fee
  on the fee account. The line is recorded settled with the reference "unbilled".
Rows balance to the öre and the bank receives exactly the payout: payments on invoices − paybacks on
credit invoices − fees written off ± lines of no invoice = the payout. A payout with unmatched lines
stays in error and has no voucher, so the bank account never shows money the ledger can't explain.

A failed payout (the bank sent the money back) never reached the bank, and its money stays in the
provider's balance until a later payout carries it as a "returned" line. Its invoice lines are paid
all the same (the buyers did pay the provider), and its voucher, made only when it has lines of no
invoice, books those against the payment account: no bank row. The later payout's returned line moves
the money from the payment account to the bank, so nothing is booked twice. A payout booked as paid
that fails afterwards is not reversed (left for the operator: it says so in its log).

Fortnox keeps its books in SEK: a payout settled in another currency, or a line whose currency
neither is the invoice's nor converts to it, ends in PAYOUT_CURRENCY_MISMATCH.

Exactly once, as orders: a lease per payout and per line, a store intent committed before each
write, and a lost answer found again before writing twice. A payment is recognised on its invoice's
payment list by its date, amount and mode of payment (an invoice gets one charge and at most one
refund from a payout provider); the voucher carries "<Provider> payout <id>" as its Description and is
found by it on its transaction date.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from decimal import Decimal
from typing import Any

from engine.errors import EngineError
from engine.flows.base import FlowContext, Outcome, code_and_message, create_once, document_number, fail
from engine.mapping.payouts import Payout, PayoutLine
from engine.mapping.settings import PayoutSettings
from engine.platforms.http import PlatformError
from engine.runtime.outage import SETTLED
from engine.runtime.records import Writes, dumps
from engine.store.models import EntityStatus, LogLevel

ENTITY = "payout"
LINE_ENTITY = "payout_line"
INVOICE_KINDS = frozenset({"charge", "refund"})
# The provider still owes these (a reserve) or pays them out now (a failed payout's money returned).
PAYMENT_ACCOUNT_KINDS = frozenset({"reserve", "returned"})
BOOKED_STATUSES = frozenset({"paid", "failed"})
# A line's reference when its order was never invoiced: booked on the voucher, not as a payment.
UNBILLED = "unbilled"
BOOK_CURRENCY = "SEK"
CENT = Decimal("0.01")
PROVIDER_TITLES = {"stripe": "Stripe", "shopify_payments": "Shopify Payments"}


def line_label(payout: Payout, line: PayoutLine) -> str:
    """What the operator sees for a line: its payout, its kind and its order ("po_… charge #1001")."""
    return f"{payout.id} {line.kind} {line.order_name or line.source_id or line.id}"


def voucher_description(payout: Payout) -> str:
    """The payout's voucher Description, which is also how a voucher whose answer was lost is found."""
    return f"{_title(payout)} payout {payout.id}"


def _title(payout: Payout) -> str:
    return PROVIDER_TITLES.get(payout.provider, payout.provider)


async def fetch_payout(ctx: FlowContext, payout_id: str) -> dict | None:
    """A provider's payout by its id (each flow's `fetch_by_source_id`), None when it has none."""
    try:
        return await ctx.source.get_payout(payout_id)  # type: ignore[no-any-return]
    except PlatformError as exc:
        if exc.status == 404:
            return None
        raise


def reference_of(payout: dict) -> str:
    return str(payout.get("id"))


def _money(value: Any) -> Decimal:
    return Decimal(str(value or 0)).quantize(CENT)


async def book(ctx: FlowContext, payout: Payout, conf: PayoutSettings, raw: str) -> Outcome:
    """Pay the invoices of a payout's lines, then make its voucher; each at most once."""
    rec = ctx.recorder
    if payout.status not in BOOKED_STATUSES:
        return Outcome.SKIPPED  # in transit or pending: booked on a later run
    entity = await rec.claim_entity_waiting(ENTITY, payout.id, payout.id)
    if entity is None:
        await rec.ainfo(
            f"Payout {payout.id} is being booked by another worker", code="IN_FLIGHT", reference=payout.id
        )
        return Outcome.SKIPPED
    ctx.in_flight[entity.id] = entity.lease_owner
    w = rec.writes()
    try:
        if entity.status == EntityStatus.SYNCED and await rec.areference(ENTITY, payout.id) is not None:
            if payout.status == "failed" and _booked_status(entity) == "paid":
                _failed_after_booking(w, entity, payout, raw)
            return Outcome.SKIPPED
        try:
            await _book(ctx, entity, payout, conf, raw, w)
        except Exception as exc:  # a payout ends booked or in error with a code, never silent
            code, message = code_and_message(exc)
            fail(ctx, w, entity, f"Payout {payout.id}", payout.id, code, message, raw_source=raw)
            return Outcome.FAILED
        ctx.streak.success()
        return Outcome.SYNCED
    finally:
        ctx.in_flight.pop(entity.id, None)
        await rec.aflush(w.release(entity))


async def _book(
    ctx: FlowContext, entity: Any, payout: Payout, conf: PayoutSettings, raw: str, w: Writes
) -> None:
    if payout.currency != BOOK_CURRENCY:
        raise EngineError(
            "PAYOUT_CURRENCY_MISMATCH",
            f"the payout was settled in {payout.currency}, and Fortnox books in {BOOK_CURRENCY}",
        )
    w.entity(entity, children=len(payout.lines), raw_source=raw)
    waiting: dict[str, list[str]] = {}
    unbilled: set[str] = set()
    for line in payout.lines:
        if line.kind in INVOICE_KINDS:
            code = await _settle_line(ctx, entity, payout, line, conf, unbilled)
            if code is not None:
                waiting.setdefault(code, []).append(line.order_name or line.id)
    if waiting:
        code, orders = next(iter(waiting.items()))
        count = sum(len(v) for v in waiting.values())
        raise EngineError(
            code,
            f"{count} of its lines are not booked ({', '.join(orders[:5])}{'…' if len(orders) > 5 else ''}); "
            "the payout's voucher is made once every line is",
        )
    rows = voucher_rows(payout, conf, frozenset(unbilled))
    if rows:
        voucher: dict | None = await _make_voucher(ctx, entity, payout, conf, rows, w)
        number = f"{voucher.get('VoucherSeries')}{voucher.get('VoucherNumber')}"  # type: ignore[union-attr]
    else:  # a failed payout of invoice lines only: its payments are all there is to book
        voucher, number = None, "no voucher"
    w.reference(ENTITY, payout.id, number, payout.id)
    w.entity(
        entity,
        status=EntityStatus.SYNCED,
        storer_reference=number if voucher is not None else None,
        raw_target=dumps(voucher) if voucher is not None else None,
        error_code=None,
        error_message=None,
        store_intent=None,
        **SETTLED,
    )
    if payout.status == "failed":
        text = (
            f"Payout {payout.id} failed at the bank: {len(payout.lines)} lines booked, {payout.amount:.2f} "
            f"{payout.currency} stays on account {conf.payment_account} until a later payout returns it "
            f"({number})"
        )
    else:
        text = (
            f"Payout {payout.id} booked: {payout.amount:.2f} {payout.currency} to account "
            f"{conf.bank_account} on {payout.arrival_date}, voucher {number}, {len(payout.lines)} lines"
        )
    w.transaction(entity, "synced", EntityStatus.SYNCED, text)
    w.log(LogLevel.INFO, text, code="PAYOUT_BOOKED", reference=payout.id)


def _booked_status(entity: Any) -> str | None:
    """The status the payout had when it was booked (its stored raw payout)."""
    try:
        return str(json.loads(entity.raw_source or "{}").get("status"))
    except ValueError:
        return None


def _failed_after_booking(w: Writes, entity: Any, payout: Payout, raw: str) -> None:
    """A payout booked to the bank that the bank later sent back: its voucher is not reversed here,
    so the operator is told once (the later payout's returned line books the money again); the
    failed payout is stored as its raw source, so the next run is quiet."""
    message = (
        f"payout {payout.id} failed after it was booked to the bank; reverse its voucher's bank row "
        "to the payment account in Fortnox, or the returned money is in the bank twice"
    )
    w.entity(entity, error_code="PAYOUT_FAILED_AFTER_BOOKING", error_message=message, raw_source=raw)
    w.log(LogLevel.WARNING, message, code="PAYOUT_FAILED_AFTER_BOOKING", reference=payout.id)


# -- lines ----------------------------------------------------------------------------------------
async def _settle_line(
    ctx: FlowContext, parent: Any, payout: Payout, line: PayoutLine, conf: PayoutSettings, unbilled: set[str]
) -> str | None:
    """Pay one line's invoice unless paid before; the error code when it could not be. A line of an
    order never invoiced (cancelled, refunded in full) joins `unbilled`, for the voucher."""
    rec = ctx.recorder
    label = line_label(payout, line)
    entity = await rec.claim_entity_waiting(LINE_ENTITY, line.id, label)
    if entity is None:
        return "IN_FLIGHT"
    ctx.in_flight[entity.id] = entity.lease_owner
    w = rec.writes()
    w.entity(entity, parent_id=parent.id)
    raw = dumps({**asdict(line), "payout": payout.id})
    try:
        if (paid := await rec.areference(LINE_ENTITY, line.id)) is not None:
            if paid.target_id == UNBILLED:
                unbilled.add(line.id)
            if entity.status != EntityStatus.SYNCED:
                _settled(w, entity, raw, paid.target_id, None)
            return None
        try:
            await _pay(ctx, entity, payout, line, conf, label, raw, w)
        except EngineError as exc:
            if exc.code != "PAYOUT_INVOICE_NOT_FOUND" or not await _never_invoiced(ctx, line):
                raise
            _unbilled(w, entity, raw, label, line, conf)
            unbilled.add(line.id)
        return None
    except Exception as exc:
        code, message = code_and_message(exc)
        fail(ctx, w, entity, f"Payout line {label}", label, code, message, raw_source=raw)
        return code
    finally:
        ctx.in_flight.pop(entity.id, None)
        await rec.aflush(w.release(entity))


async def _never_invoiced(ctx: FlowContext, line: PayoutLine) -> bool:
    """Whether the line's order was cancelled in Fortnox before it was invoiced (the orders flow
    does so when a shop order is refunded in full first): no invoice will ever take its money."""
    if not line.order_name:
        return False
    orders = await ctx.target.find_orders_by_reference(line.order_name)
    return bool(orders) and all(
        o.get("Cancelled") and document_number(o.get("InvoiceReference")) is None for o in orders
    )


def _unbilled(w: Writes, entity: Any, raw: str, label: str, line: PayoutLine, conf: PayoutSettings) -> None:
    w.reference(LINE_ENTITY, line.id, UNBILLED, label)
    _settled(w, entity, raw, UNBILLED, None)
    text = (
        f"Payout line {label}: order {line.order_name} was cancelled in Fortnox before it was invoiced; "
        f"its {line.amount:.2f} {line.currency} goes on account {conf.unbilled_account} of the payout's "
        "voucher, with no invoice payment"
    )
    w.transaction(entity, "synced", EntityStatus.SYNCED, text)
    w.log(LogLevel.INFO, text, code="PAYOUT_LINE_UNBILLED", reference=label)


def _settled(w: Writes, entity: Any, raw: str, payment_no: str, payment: dict | None) -> None:
    w.entity(
        entity,
        status=EntityStatus.SYNCED,
        storer_reference=payment_no,
        raw_source=raw,
        raw_target=dumps(payment) if payment is not None else None,
        error_code=None,
        error_message=None,
        store_intent=None,
        **SETTLED,
    )


async def invoice_for(ctx: FlowContext, line: PayoutLine, conf: PayoutSettings) -> dict:
    """The invoice a line pays: the order's invoice for a charge, its credit invoice for a refund."""
    target, field, ref = ctx.target, conf.match_reference, line.order_name
    if not ref:
        raise EngineError(
            "PAYOUT_INVOICE_NOT_FOUND", f"the {line.kind} {line.source_id or line.id} names no order"
        )
    if field == "DocumentNumber":
        try:
            found = [await target.get_invoice(ref.lstrip("#"))]
        except PlatformError as exc:
            if exc.code != "NOT_FOUND" and exc.status != 404:
                raise
            found = []
    else:
        found = await target.find_invoices_by_reference(ref, field)
    invoices = [i for i in found if not i.get("Credit") and not i.get("Cancelled")]
    if not invoices:
        raise EngineError("PAYOUT_INVOICE_NOT_FOUND", f"no Fortnox invoice has {field} {ref}")
    invoice = invoices[0]
    if line.kind != "refund":
        return invoice
    credit_no = document_number(invoice.get("CreditInvoiceReference"))
    if credit_no is None:
        raise EngineError(
            "PAYOUT_INVOICE_NOT_FOUND",
            f"Fortnox invoice {invoice['DocumentNumber']} of order {ref} has no credit invoice for the "
            "refund",
        )
    return await target.get_invoice(credit_no)  # type: ignore[no-any-return]


def payment_payload(payout: Payout, line: PayoutLine, invoice: dict, conf: PayoutSettings) -> dict:
    """The Fortnox invoice payment for a line: what reached the provider's balance is paid, the fee
    is written off, together settling the line's gross amount on the invoice."""
    invoice_no = str(invoice["DocumentNumber"])
    currency = str(invoice.get("Currency") or BOOK_CURRENCY)
    if line.fee and not conf.fee_account:
        raise EngineError(
            "PAYOUT_FEE_WRITEOFF_FAILED",
            f"the {line.kind} for {line.order_name} carries a fee of {line.fee:.2f} {line.currency} and "
            "no fee account is set to write it off to",
        )
    payload: dict[str, Any] = {
        "InvoiceNumber": int(invoice_no),
        "Amount": float(line.net),
        # Fortnox refuses a payment before its invoice's date (an order invoiced after its payout
        # arrived): such a payment is dated the invoice's day, as paid-at-checkout payments are.
        "PaymentDate": max(payout.arrival_date.isoformat(), str(invoice.get("InvoiceDate") or "")),
        "ModeOfPayment": conf.mode_of_payment,
        "ModeOfPaymentAccount": int(conf.payment_account),
    }
    fee_in_invoice_currency = line.fee
    if currency != line.currency:
        buyer_amount = line.buyer_amount if line.buyer_currency == currency else None
        if buyer_amount is None and line.kind in ("charge", "refund") and _money(invoice.get("Balance")):
            # Shopify Payments names no buyer's amount: a charge pays its whole order, a refund its
            # whole credit, so what the document owes in its currency is what the buyer paid.
            buyer_amount = abs(_money(invoice.get("Balance")))
        if line.currency != BOOK_CURRENCY or not buyer_amount:
            raise EngineError(
                "PAYOUT_CURRENCY_MISMATCH",
                f"Fortnox invoice {invoice_no} is in {currency}, and the {line.kind} for {line.order_name} "
                f"was settled in {line.currency} without an amount in {currency} to convert at",
            )
        rate = abs(line.amount) / abs(buyer_amount)
        fee_in_invoice_currency = (line.fee / rate).quantize(CENT)
        payload["AmountCurrency"] = float(buyer_amount.copy_sign(line.amount) - fee_in_invoice_currency)
        payload["CurrencyRate"] = float(rate.quantize(Decimal("0.000001")))
    write_offs = []
    if line.fee:
        write_offs.append(
            {
                "Amount": float(fee_in_invoice_currency),
                "AccountNumber": int(str(conf.fee_account)),
                "Currency": currency,
                "Description": f"{_title(payout)} fee {line.source_id or line.id}",
            }
        )
    difference = exchange_difference(line, invoice, currency)
    if difference:
        account = conf.exchange_loss_account if difference > 0 else conf.exchange_gain_account
        if not account:
            raise EngineError(
                "PAYOUT_AMOUNT_MISMATCH",
                f"the {line.kind} for {line.order_name} settles {line.amount:.2f} {currency} on Fortnox "
                f"invoice {invoice_no}, which owes {_money(invoice.get('Balance')):.2f}, and no exchange "
                f"{'loss' if difference > 0 else 'gain'} account is set for the difference",
            )
        write_offs.append(
            {
                "Amount": float(difference),
                "AccountNumber": int(account),
                "Currency": currency,
                "Description": f"{_title(payout)} exchange difference {line.source_id or line.id}",
            }
        )
    if write_offs:
        payload["WriteOffs"] = write_offs
    return payload


def exchange_difference(line: PayoutLine, invoice: dict, currency: str) -> Decimal:
    """What the invoice still owes after the line, when the provider converted the buyer's money to
    the invoice's currency at its own rate: the invoice's kronor came from the shop's rate, so a charge
    settles a few öre (or kronor) more or less than it. Positive: a loss; negative: a gain. Zero for a
    line in the buyer's own currency, where any difference is a real mismatch left to Fortnox."""
    if currency != line.currency or not line.buyer_currency or line.buyer_currency == currency:
        return Decimal(0)
    return _money(invoice.get("Balance")) - line.amount


def _same_payment(found: dict, payload: dict) -> bool:
    return (
        str(found.get("PaymentDate")) == payload["PaymentDate"]
        and _money(found.get("Amount")) == _money(payload["Amount"])
        and str(found.get("ModeOfPayment") or "") == payload["ModeOfPayment"]
    )


async def _pay(
    ctx: FlowContext,
    entity: Any,
    payout: Payout,
    line: PayoutLine,
    conf: PayoutSettings,
    label: str,
    raw: str,
    w: Writes,
) -> None:
    rec, target = ctx.recorder, ctx.target
    invoice = await invoice_for(ctx, line, conf)
    invoice_no = str(invoice["DocumentNumber"])
    payload = payment_payload(payout, line, invoice, conf)

    async def find() -> dict | None:
        return next((p for p in await target.invoice_payments(invoice_no) if _same_payment(p, payload)), None)

    payment = await find() if entity.store_intent == "create_payment" else None
    if payment is not None:
        w.transaction(
            entity,
            "adopted",
            EntityStatus.PENDING,
            f"Found payment {payment['Number']} of an interrupted attempt",
        )
    else:
        if _money(invoice.get("Balance")) == 0:
            raise EngineError(
                "PAYOUT_INVOICE_ALREADY_PAID",
                f"Fortnox invoice {invoice_no} has nothing left to pay; {line.amount:.2f} {line.currency} of "
                f"payout {payout.id} can't be registered on it",
            )
        await rec.aflush(w.intent(entity, "create_payment"))
        payment = await create_once(
            lambda: target.create_invoice_payment(payload), find, "invoice payment", label, ctx
        )
        w.transaction(
            entity, "paid", EntityStatus.PENDING, f"Payment {payment['Number']} on invoice {invoice_no}"
        )
    number = str(payment["Number"])
    if conf.bookkeep_payments and not payment.get("Booked"):
        payment = await _bookkeep_payment(target, number)
    w.reference(LINE_ENTITY, line.id, number, label)
    _settled(w, entity, raw, number, payment)
    text = (
        f"Payout line {label}: payment {number} of {line.net:.2f} {line.currency} on Fortnox invoice "
        f"{invoice_no}" + (f", fee {line.fee:.2f} written off to {conf.fee_account}" if line.fee else "")
    )
    w.transaction(entity, "synced", EntityStatus.SYNCED, text)
    w.log(LogLevel.INFO, text, code="PAYOUT_LINE_PAID", reference=label)


async def _bookkeep_payment(target: Any, number: str) -> dict:
    """Book a payment; a refusal or lost answer is read back, and a payment found booked is as good."""
    try:
        return await target.bookkeep_invoice_payment(number)  # type: ignore[no-any-return]
    except PlatformError as exc:
        if exc.retryable and not exc.ambiguous:
            raise
        payment: dict = await target.get_invoice_payment(number)
        if not payment.get("Booked"):
            raise
        return payment


# -- the voucher ----------------------------------------------------------------------------------
def voucher_rows(payout: Payout, conf: PayoutSettings, unbilled: frozenset[str] = frozenset()) -> list[dict]:
    """The payout's voucher rows: the invoice lines' net leaves the payment account, lines of no
    invoice are booked on their kind's account (module docstring), and the payout reaches the bank
    (through the interim account when set), or, failed, stays on the payment account. Refused unless
    they balance and the bank receives exactly the payout; empty when there is nothing to book."""
    invoiced = {ln.id for ln in payout.lines if ln.kind in INVOICE_KINDS and ln.id not in unbilled}
    paid = sum((ln.net for ln in payout.lines if ln.id in invoiced), Decimal(0))
    failed = payout.status == "failed"
    # A failed payout's money stays with the provider: only its lines of no invoice move anything.
    leaving = paid - payout.amount if failed else paid
    rows: list[tuple[str, Decimal, str]] = [
        (conf.payment_account, -leaving, "Inbetalningar via utbetalningen")
    ]
    for line in payout.lines:
        if line.id not in invoiced and line.net:
            rows += _line_rows(line, conf)
    if not failed:
        if conf.interim_account:
            rows += [
                (conf.interim_account, payout.amount, "Utbetalning på väg"),
                (conf.interim_account, -payout.amount, "Utbetalning på väg"),
            ]
        rows.append((conf.bank_account, payout.amount, "Utbetalning till bank"))
    total = sum((amount for _, amount, _ in rows), Decimal(0))
    if total != 0:
        raise EngineError(
            "PAYOUT_TOTAL_MISMATCH",
            f"the payout of {payout.amount:.2f} {payout.currency} differs by {total:.2f} from what its "
            "lines add up to",
        )
    booked = [
        {
            "Account": int(account),
            "Debit": float(amount) if amount > 0 else 0.0,
            "Credit": float(-amount) if amount < 0 else 0.0,
            "Description": text,
        }
        for account, amount, text in rows
        if amount != 0
    ]
    return booked if len(booked) > 1 else []


def _line_rows(line: PayoutLine, conf: PayoutSettings) -> list[tuple[str, Decimal, str]]:
    """A line of no invoice on its kind's account: what left the balance is debited there."""
    name = f"{line.kind} {line.source_id or line.id}"
    if line.kind in PAYMENT_ACCOUNT_KINDS:
        return [(conf.payment_account, -line.net, name)]
    if line.kind in INVOICE_KINDS:  # of an order never invoiced: held for the buyer until refunded
        rows = [
            (_account_for(line, conf.unbilled_account, "PAYOUT_LINE_ACCOUNT_MISSING"), -line.amount, name)
        ]
        if line.fee:
            fee_account = _account_for(line, conf.fee_account, "PAYOUT_FEE_WRITEOFF_FAILED")
            rows.append((fee_account, line.fee, f"{line.kind} fee {line.source_id or line.id}"))
        return rows
    if line.kind == "dispute":
        rows = [(_account_for(line, conf.dispute_account, "PAYOUT_LINE_ACCOUNT_MISSING"), -line.amount, name)]
        if line.fee:
            fee_account = _account_for(line, conf.fee_account, "PAYOUT_FEE_WRITEOFF_FAILED")
            rows.append((fee_account, line.fee, f"dispute fee {line.source_id or line.id}"))
        return rows
    if line.kind == "fee":
        return [(_account_for(line, conf.fee_account, "PAYOUT_FEE_WRITEOFF_FAILED"), -line.net, name)]
    return [(_account_for(line, conf.other_lines_account, "PAYOUT_LINE_ACCOUNT_MISSING"), -line.net, name)]


def _account_for(line: PayoutLine, account: str | None, code: str) -> str:
    if account is None:
        raise EngineError(
            code, f"the {line.kind} line {line.source_id or line.id} ({line.net:.2f}) has no account set"
        )
    return account


async def _make_voucher(
    ctx: FlowContext, entity: Any, payout: Payout, conf: PayoutSettings, rows: list[dict], w: Writes
) -> dict:
    rec, target = ctx.recorder, ctx.target
    year = await target.financial_year(payout.arrival_date)
    if year is None:
        raise EngineError("FORTNOX_FISCAL_YEAR", f"Fortnox has no financial year for {payout.arrival_date}")
    year_id = int(year["Id"])
    description = voucher_description(payout)

    async def find() -> dict | None:
        found = await target.find_vouchers(payout.arrival_date, description, year_id)
        return found[0] if found else None

    # Looked for every time, not only after an announced create: a voucher is the one write no
    # invoice balance guards, so a payout whose record was reset must still find its own.
    if (voucher := await find()) is not None:
        w.transaction(entity, "adopted", EntityStatus.PENDING, f"Found voucher {description!r} already made")
        return voucher
    payload = {
        "VoucherSeries": conf.voucher_series,
        "TransactionDate": payout.arrival_date.isoformat(),
        "Description": description,
        "VoucherRows": rows,
    }
    await rec.aflush(w.intent(entity, "create_voucher"))
    return await create_once(lambda: target.create_voucher(payload, year_id), find, "voucher", payout.id, ctx)
