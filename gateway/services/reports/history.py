"""Every invoice's and credit note's open amount on any past day, rebuilt from what took amounts off it.

`invoices.open_amount` is the amount now; a report as of an earlier day needs the amount then: the payable
amount (BT-115) less what was taken off on or before that day and not given back by then:
- a payment allocation (`payment_allocations`: amount + write-off) counts from the day it was created until
  the day it was reversed (`reversed_at`): an allocation reversed on or before the day does not count;
- a credit agreed in a dispute (`gateway.services.payments.credits.apply_credit_note`) takes the credit off
  both the invoice and its credit note without an allocation row; the dispute (status `credited`) keeps the
  amount and the credit note, and its `resolved_at` is when it happened: it counts from that day on.
A credit note's open amount is what the customer may still set off: it counts against the customer
(negative) in every sum. Days are UTC calendar days (`periods`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlmodel import col

from db.models import Dispute, InvoiceRecord, PaymentAllocation
from gateway.services.reports.periods import start_of, utc_day

CREDITED = "credited"


@dataclass(frozen=True, slots=True)
class Reduction:
    """`amount` off an item's open amount from `start` on, until `end` (exclusive; None: still standing)."""

    amount: Decimal
    start: dt.date
    end: dt.date | None

    def counts_on(self, day: dt.date) -> bool:
        return self.start <= day and (self.end is None or self.end > day)


@dataclass(slots=True)
class Item:
    """An invoice or a credit note as reports see it. `due_date` is the issue date when none was given (due
    at once)."""

    id: str
    document_type: str
    number: str
    customer_key: str
    customer_name: str
    currency: str
    payable: Decimal
    issue_date: dt.date
    due_date: dt.date
    reductions: list[Reduction] = field(default_factory=list)

    @property
    def sign(self) -> int:
        return -1 if self.document_type == "credit_note" else 1

    def open_on(self, day: dt.date) -> Decimal:
        """What remained open at the end of `day`, signed (a credit note negative); 0 before it was issued."""
        if self.issue_date > day:
            return Decimal(0)
        taken = sum((r.amount for r in self.reductions if r.counts_on(day)), Decimal(0))
        return self.sign * (self.payable - taken)


def _decimal(text: str | None) -> Decimal:
    return Decimal(text) if text else Decimal(0)


def load_items(session: Session, tenant_id: str, until: dt.date) -> list[Item]:
    """The tenant's invoices and credit notes issued on or before `until`, each with what was taken off it
    by the end of `until` (later allocations and credits are not read: they did not exist yet)."""
    rows = session.execute(
        select(
            col(InvoiceRecord.id),
            col(InvoiceRecord.document_type),
            col(InvoiceRecord.number),
            col(InvoiceRecord.customer_key),
            col(InvoiceRecord.buyer_name),
            col(InvoiceRecord.currency),
            col(InvoiceRecord.payable_amount),
            col(InvoiceRecord.issue_date),
            col(InvoiceRecord.due_date),
        ).where(col(InvoiceRecord.tenant_id) == tenant_id, col(InvoiceRecord.issue_date) <= until)
    )
    items = {
        invoice_id: Item(
            invoice_id, kind, number, customer_key or buyer_name, buyer_name, currency, Decimal(payable),
            issued, due or issued, [],
        )
        for invoice_id, kind, number, customer_key, buyer_name, currency, payable, issued, due in rows
    }  # fmt: skip
    before = start_of(until + dt.timedelta(days=1))
    for invoice_id, amount, write_off, created_at, reversed_at in session.execute(
        select(
            col(PaymentAllocation.invoice_id),
            col(PaymentAllocation.amount),
            col(PaymentAllocation.write_off),
            col(PaymentAllocation.created_at),
            col(PaymentAllocation.reversed_at),
        ).where(col(PaymentAllocation.tenant_id) == tenant_id, col(PaymentAllocation.created_at) < before)
    ):
        item = items.get(invoice_id)
        if item is not None:
            end = utc_day(reversed_at) if reversed_at is not None else None
            item.reductions.append(
                Reduction(_decimal(amount) + _decimal(write_off), utc_day(created_at), end)
            )
    for invoice_id, credit_note_id, credit_amount, resolved_at in session.execute(
        select(
            col(Dispute.invoice_id),
            col(Dispute.credit_note_invoice_id),
            col(Dispute.credit_amount),
            col(Dispute.resolved_at),
        ).where(
            col(Dispute.tenant_id) == tenant_id,
            col(Dispute.status) == CREDITED,
            col(Dispute.credit_note_invoice_id).is_not(None),
            col(Dispute.resolved_at) < before,
        )
    ):
        if resolved_at is None or credit_note_id is None:  # the query asks for both; the types cannot tell
            continue
        credit = Reduction(_decimal(credit_amount), utc_day(resolved_at), None)
        for target in (invoice_id, credit_note_id):
            if target in items:
                items[target].reductions.append(credit)
    return list(items.values())


def open_on(items: list[Item], day: dt.date) -> Iterator[tuple[Item, Decimal]]:
    """The items open at the end of `day` (issued by then, something left), with their signed amount."""
    for item in items:
        amount = item.open_on(day)
        if amount:
            yield item, amount
