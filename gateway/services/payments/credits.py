"""A credit note set against the invoice it credits: the invoice's open amount goes down by the credit.

Why here, and explicitly: payment matching nets a credit note only against a payment that names both, so
a credit note on its own never closes an invoice. A credit agreed in a dispute settles that much of the
claim at once (the customer owes less whether or not a payment ever mentions the credit note), so it is
booked on both documents when the credit note is created: the invoice's open amount goes down, and the
credit note is used up (its open amount 0, `paid`), so matching does not offer the same credit again.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlmodel import col

from db.models import InvoiceRecord
from gateway.services.payments.matching_runs import invoice_payment_status
from gateway.services.tenancy import webhooks


def _open(record: InvoiceRecord) -> Decimal:
    return Decimal(record.open_amount if record.open_amount is not None else record.payable_amount)


def apply_credit_note(
    session: Session,
    invoice_id: str,
    credit_note_id: str,
    amount: Decimal,
    *,
    actor: str,
    now: dt.datetime,
) -> InvoiceRecord:
    """Lower the invoice's open amount by `amount` (the credit note's amount) and use the credit note up.

    The invoice row is locked while it is read and written, as a payment booking does; its payment status
    follows (`paid` when nothing is left) and `invoice.<status>` goes to the tenant's webhooks.
    """
    invoice = session.execute(
        select(InvoiceRecord).where(col(InvoiceRecord.id) == invoice_id).with_for_update()
    ).scalar_one()
    credit_note = session.execute(
        select(InvoiceRecord).where(col(InvoiceRecord.id) == credit_note_id).with_for_update()
    ).scalar_one()
    if credit_note.tenant_id != invoice.tenant_id or credit_note.document_type != "credit_note":
        raise ValueError(f"{credit_note_id} is not a credit note of the invoice's tenant")
    before = invoice.payment_status
    open_after = _open(invoice) - amount
    invoice.open_amount = str(open_after)
    invoice.payment_status = invoice_payment_status(open_after, Decimal(invoice.payable_amount))
    if invoice.payment_status in ("paid", "overpaid") and invoice.paid_at is None:
        invoice.paid_at = now
    credit_left = _open(credit_note) - amount
    credit_note.open_amount = str(credit_left)
    credit_note.payment_status = invoice_payment_status(credit_left, Decimal(credit_note.payable_amount))
    if credit_note.payment_status == "paid" and credit_note.paid_at is None:
        credit_note.paid_at = now
    session.add_all([invoice, credit_note])
    webhooks.emit(
        session,
        invoice.tenant_id,
        f"invoice.{invoice.payment_status}",
        {
            "invoice_id": invoice.id,
            "number": invoice.number,
            "payment_status": invoice.payment_status,
            "previous_payment_status": before,
            "open_amount": str(open_after),
            "credit_note_id": credit_note.id,
            "credit_note_number": credit_note.number,
            "credit_amount": str(amount),
            "currency": invoice.currency,
            "actor": actor,
        },
        at=now,
    )
    return invoice
