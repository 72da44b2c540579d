"""What the Fortnox books must show after the payouts flows ran, whichever provider paid out: read
from the sandbox's Fortnox over HTTP and checked against the provider's payouts (read over HTTP too,
into the shared shape), line kind by line kind."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from engine.mapping.payouts import Payout, PayoutLine
from engine.service import Service
from tests.e2e.conftest import Sandbox

CENT = Decimal("0.01")
BANK, FEES, LOSSES, UNBILLED = 1930, 6570, 6351, 2890
EXCHANGE_GAINS, EXCHANGE_LOSSES = 3960, 7960
# The voucher rows that are not a line's: the payment account's total, the bank, the interim account.
PAYOUT_ROWS = ("Inbetalningar via utbetalningen", "Utbetalning till bank", "Utbetalning på väg")


def money(value: Any) -> Decimal:
    return Decimal(str(value)).quantize(CENT)


def balanced(voucher: dict) -> bool:
    rows = voucher["VoucherRows"]
    return sum(money(r["Debit"]) for r in rows) == sum(money(r["Credit"]) for r in rows) > 0


def _net(rows: list[dict], account: int | None = None) -> Decimal:
    """Debit minus credit of the rows (on `account`)."""
    return sum(
        (money(r["Debit"]) - money(r["Credit"]) for r in rows if account is None or r["Account"] == account),
        Decimal(0),
    )


@dataclass
class Books:
    """What the check saw: payouts booked per status, those waiting, and the kinds of line booked."""

    booked: Counter[str] = field(default_factory=Counter)
    waiting: list[str] = field(default_factory=list)
    kinds: Counter[str] = field(default_factory=Counter)
    paid_orders: set[str] = field(default_factory=set)
    unpaid: set[str] = field(default_factory=set)
    invoiced: set[str] = field(default_factory=set)
    vouchers: dict[str, dict] = field(default_factory=dict)
    exchange: Decimal = Decimal(0)  # exchange differences written off (negative: gains)


def check_books(
    service: Service, iid: int, sb: Sandbox, payouts: list[Payout], title: str, payment_account: int
) -> Books:
    """Every payout that is paid or failed reconciles to the öre: payments on invoices − paybacks on
    credit invoices − fees written off ± lines of no invoice = what reached the bank (nothing for a
    failed payout); every voucher balances; nothing is paid or booked twice."""
    invoices = sb.get("fortnox/invoices")
    by_order = {i["ExternalInvoiceReference1"]: i for i in invoices if not i["Credit"] and not i["Cancelled"]}
    by_number = {str(i["DocumentNumber"]): i for i in invoices}
    vouchers = sb.get("fortnox/vouchers")
    # Orders cancelled in Fortnox before they were invoiced (refunded in full first): no invoice.
    never_invoiced = {
        o["ExternalInvoiceReference1"]
        for o in sb.get("fortnox/orders")
        if o["Cancelled"] and not o["InvoiceReference"]
    }
    assert not [v for v in vouchers if not balanced(v)]
    assert not {k: n for k, n in Counter(v["Description"] for v in vouchers).items() if n > 1}
    payments_on: dict[str, list[dict]] = defaultdict(list)
    for p in sb.get("fortnox/invoicepayments"):
        payments_on[str(p["InvoiceNumber"])].append(p)
    assert not {k: len(v) for k, v in payments_on.items() if len(v) > 1}, "an invoice was paid twice"

    def invoice_of(line: PayoutLine) -> dict | None:
        invoice = by_order.get(line.order_name or "")
        if invoice is None or line.kind == "charge":
            return invoice
        credit = invoice.get("CreditInvoiceReference")
        return by_number.get(str(credit)) if credit and str(credit) != "0" else None

    books = Books()
    for payout in payouts:
        if payout.status not in ("paid", "failed"):
            continue
        day = payout.arrival_date.isoformat()
        paid_lines = [
            ln
            for ln in payout.lines
            if ln.kind in ("charge", "refund") and ln.order_name not in never_invoiced
        ]
        unbilled = [ln for ln in payout.lines if ln.kind in ("charge", "refund") and ln not in paid_lines]
        matched = [(ln, invoice_of(ln)) for ln in paid_lines]
        [entity] = service.entities(iid, entity_type="payout", ref=payout.id, limit=1)
        mine = [v for v in vouchers if v["Description"] == f"{title} payout {payout.id}"]
        if any(invoice is None for _, invoice in matched):
            # An order the orders flow could not sync (the shop's intended errors): the payout waits,
            # and its other lines are paid all the same.
            assert entity.error_code == "PAYOUT_INVOICE_NOT_FOUND" and not mine
            for line, invoice in matched:
                if invoice is not None:
                    assert len(payments_on[str(invoice["DocumentNumber"])]) == 1
                    books.paid_orders |= {line.order_name} if line.kind == "charge" else set()  # type: ignore[arg-type]
            books.waiting.append(payout.id)
            continue
        line_errors = [
            (e.retriever_reference, e.error_code, e.error_message)
            for e in service.entities(iid, entity_type="payout_line", status="error", limit=500)
            if e.retriever_reference.startswith(payout.id)
        ]
        assert entity.status == "synced", (payout.id, entity.error_code, line_errors)
        paid = Decimal(0)
        for line, invoice in matched:
            assert invoice is not None
            [payment] = payments_on[str(invoice["DocumentNumber"])]
            assert payment["PaymentDate"] == max(day, invoice["InvoiceDate"]) and payment["Booked"]
            assert money(payment["Amount"]) == line.net
            written_off: dict[int, Decimal] = defaultdict(Decimal)
            for w in payment["WriteOffs"]:
                written_off[int(w["AccountNumber"])] += money(w["Amount"])
            fee = line.fee
            if invoice["Currency"] != line.currency:  # an invoice in the buyer's currency: the fee in it
                assert line.buyer_currency == invoice["Currency"] and line.buyer_amount
                fee = (line.fee / (abs(line.amount) / abs(line.buyer_amount))).quantize(CENT)
                assert money(payment["AmountCurrency"]) + fee == abs(line.buyer_amount).copy_sign(line.amount)
            assert written_off.pop(FEES, Decimal(0)) == fee
            # The provider converted the buyer's money at its own rate: the invoice's kronor differ by
            # the difference, written off as an exchange gain (negative) or loss, and the invoice is paid.
            exchange = written_off.pop(EXCHANGE_GAINS, Decimal(0)) + written_off.pop(
                EXCHANGE_LOSSES, Decimal(0)
            )
            assert not written_off, payment["WriteOffs"]
            if exchange:
                assert line.buyer_currency and line.buyer_currency != line.currency, line
                assert money(invoice["Balance"]) == 0 and line.amount + exchange == money(invoice["Total"])
                books.exchange += exchange
            paid += money(payment["Amount"])  # what reached the balance: the gross less the fee written off
            books.kinds[line.kind] += 1
            if line.kind == "charge":
                books.paid_orders.add(str(line.order_name))
        rows = mine[0]["VoucherRows"] if mine else []
        assert len(mine) <= 1 and all(v["TransactionDate"] == day for v in mine)
        line_rows = [r for r in rows if r["Description"] not in PAYOUT_ROWS]
        for line in unbilled:  # on the voucher: owed to the buyer until refunded, its fee a fee
            name = line.source_id or line.id
            own = [r for r in line_rows if r["Description"].endswith(f" {name}")]
            assert _net(own, UNBILLED) == -line.amount and _net(own, FEES) == line.fee
            books.kinds["unbilled"] += 1
        for line in (ln for ln in payout.lines if ln.kind not in ("charge", "refund") and ln.net):
            name = line.source_id or line.id
            own = [r for r in line_rows if r["Description"].endswith(f" {name}")]
            if line.kind == "dispute":  # the money taken back is a customer loss, the fee a fee
                assert _net(own, LOSSES) == -line.amount and _net(own, FEES) == line.fee
            elif line.kind in ("reserve", "returned"):  # still owed by the provider, or paid out now
                assert _net(own, payment_account) == -line.net and len(own) == 1
            elif line.kind == "fee":
                assert _net(own, FEES) == -line.net
            books.kinds[line.kind] += 1
        other = -_net(line_rows)
        bank = _net(rows, BANK)
        # payments on invoices − paybacks on credit invoices − fees written off ± other lines = the payout
        assert paid + other == payout.amount
        assert bank == (0 if payout.status == "failed" else payout.amount)
        if payout.status == "failed":
            # Nothing reaches the bank; a voucher only for lines of no invoice, against the payment account.
            assert not any(r["Account"] == BANK for r in rows)
            assert bool(mine) == any(ln.kind not in ("charge", "refund") and ln.net for ln in payout.lines)
        else:
            assert mine
        if mine:
            books.vouchers[payout.id] = mine[0]
        books.booked[payout.status] += 1
    books.invoiced = set(by_order)
    books.unpaid = {ref for ref, i in by_order.items() if money(i["Balance"]) != 0}
    return books
