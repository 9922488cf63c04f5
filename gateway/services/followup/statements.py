"""Consolidated statements: one periodic statement of all open items per customer instead of single notices.

A customer gets statements when its receiver profile says `statements: true` and the tenant's
`follow_up.statements` is on. A run writes, per customer and currency with open items, one
`ReminderNotice` of kind "statement" (level 0, no fee, no interest) listing every open invoice and unused
credit note (a credit note's open amount negative, so the items add up to the total) with their KIDs —
not those handed to a collection agency — and
queues it (`gateway.services.followup.notices.queue_notice`) on the customer's channel; the worker that
sends it renders the statement PDF (`mappings/reminder/reminder_pdf.py`, kind "statement").

One statement per customer, currency and date: a second run on the same date writes nothing new. The
daily follow-up run leaves statement customers out of single notices: it asks `statement_customers`.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import exists, select
from sqlalchemy.orm import Session
from sqlmodel import col

from db.models import CollectionHandoff, InvoiceRecord, Receiver, ReminderNotice, ReminderNoticeItem, utcnow
from gateway.services.followup.credit import OPEN_STATUSES, money_text
from gateway.services.followup.notices import STATEMENT, NoticeUndeliverable, queue_notice
from gateway.services.tenancy.tenants import tenant_settings
from gateway.settings import Settings
from schemas.followup import NoticeStatus, RemindedInvoice, ReminderDocument

STATEMENT_KIND = STATEMENT
#: The date a statement asks open items to be paid by, counted from the statement's date.
PAYMENT_DAYS = 14


def statement_customers(session: Session, tenant_id: str) -> set[str]:
    """The receiver ids that get a periodic statement instead of single notices (empty when the tenant's
    `follow_up.statements` is off). The daily follow-up run skips these customers' single notices."""
    if not tenant_settings(session, tenant_id).follow_up.statements:
        return set()
    rows = session.execute(
        select(col(Receiver.receiver_id), col(Receiver.profile)).where(col(Receiver.tenant_id) == tenant_id)
    )
    return {receiver_id for receiver_id, profile in rows if (profile or {}).get("statements") is True}


@dataclass
class StatementResult:
    """One customer's statement in one currency: written (with its notice), or what a dry run would write."""

    receiver_id: str
    currency: str
    document: ReminderDocument
    notice_id: str | None = None
    status: str = "dry_run"
    delivery_id: str | None = None
    skipped: str | None = None
    item_ids: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "receiver_id": self.receiver_id,
            "currency": self.currency,
            "items": len(self.document.invoices),
            "total": money_text(self.document.open_total),
            "notice_id": self.notice_id,
            "status": self.status,
            "delivery_id": self.delivery_id,
            "skipped": self.skipped,
        }


def _item(invoice: InvoiceRecord, on: dt.date) -> RemindedInvoice:
    credit = invoice.document_type == "credit_note"
    open_amount = Decimal(invoice.open_amount or invoice.payable_amount)
    due = invoice.due_date or invoice.issue_date
    return RemindedInvoice(
        number=invoice.number,
        issue_date=invoice.issue_date,
        due_date=due,
        currency=invoice.currency,
        invoiced_amount=Decimal(invoice.payable_amount),
        open_amount=-open_amount if credit else open_amount,
        days_late=0 if credit else max(0, (on - due).days),
        kid=invoice.payment_reference,
        document_type="credit_note" if credit else "invoice",
    )


def _document(notice_id: str, on: dt.date, invoices: list[InvoiceRecord]) -> ReminderDocument:
    """The statement as every notice renderer takes it: parties from the latest open invoice."""
    latest = max(invoices, key=lambda i: (i.issue_date, i.number))
    payload: dict[str, Any] = json.loads(latest.payload)
    means: list[dict[str, Any]] = payload.get("payment_means") or []
    account: dict[str, Any] = (means[0].get("account") or {}) if means else {}
    return ReminderDocument(
        notice_id=notice_id,
        kind=STATEMENT_KIND,
        level=0,
        notice_date=on,
        deadline=on + dt.timedelta(days=PAYMENT_DAYS),
        currency=latest.currency,
        seller=payload.get("seller") or {},
        buyer=payload.get("buyer") or {},
        invoices=[_item(invoice, on) for invoice in invoices],
        payee_account=account.get("id"),
        payee_bic=account.get("bic"),
        note="Statement of account: every open item on the date, each with its own KID.",
    )


def _queue(session: Session, notice_id: str, actor: str, settings: Settings) -> str | None:
    """Queue the statement's delivery (`notices.queue_notice`: the worker renders it); None when no
    channel can carry it (the notice is then `failed`, with why)."""
    try:
        return queue_notice(session, notice_id, actor=actor, settings=settings)
    except NoticeUndeliverable:
        return None


def run_statements(
    session: Session,
    tenant_id: str,
    *,
    on: dt.date,
    actor: str,
    settings: Settings,
    dry_run: bool = False,
) -> list[StatementResult]:
    """Write (or, `dry_run`, only build) the statements of `on` for the tenant's statement customers."""
    customers = statement_customers(session, tenant_id)
    if not customers:
        return []
    open_items = session.execute(
        select(InvoiceRecord)
        .where(
            col(InvoiceRecord.tenant_id) == tenant_id,
            col(InvoiceRecord.receiver_id).in_(sorted(customers)),
            col(InvoiceRecord.payment_status).in_(OPEN_STATUSES),
            ~exists().where(  # handed to a collection agency: the customer owes it to the agency now
                col(CollectionHandoff.tenant_id) == tenant_id,
                col(CollectionHandoff.invoice_id) == col(InvoiceRecord.id),
            ),
        )
        .order_by(col(InvoiceRecord.receiver_id), col(InvoiceRecord.due_date), col(InvoiceRecord.number))
    ).scalars()
    grouped: defaultdict[tuple[str, str], list[InvoiceRecord]] = defaultdict(list)
    for invoice in open_items:
        if invoice.receiver_id is not None:
            grouped[(invoice.receiver_id, invoice.currency)].append(invoice)
    already = {
        (receiver_id, currency): notice_id
        for receiver_id, currency, notice_id in session.execute(
            select(
                col(ReminderNotice.receiver_id), col(ReminderNotice.currency), col(ReminderNotice.id)
            ).where(
                col(ReminderNotice.tenant_id) == tenant_id,
                col(ReminderNotice.kind) == STATEMENT_KIND,
                col(ReminderNotice.notice_on) == on,
            )
        )
    }
    results: list[StatementResult] = []
    for (receiver_id, currency), invoices in sorted(grouped.items()):
        if dry_run:
            document = _document(f"statement-{receiver_id}-{on.isoformat()}", on, invoices)
            results.append(StatementResult(receiver_id, currency, document))
            continue
        if (receiver_id, currency) in already:
            document = _document(already[(receiver_id, currency)], on, invoices)
            results.append(
                StatementResult(
                    receiver_id,
                    currency,
                    document,
                    notice_id=already[(receiver_id, currency)],
                    status="skipped",
                    skipped=f"a statement of {on.isoformat()} was written already",
                )
            )
            continue
        results.append(
            _write(session, tenant_id, receiver_id, invoices, on=on, actor=actor, settings=settings)
        )
    return results


def _write(
    session: Session,
    tenant_id: str,
    receiver_id: str,
    invoices: list[InvoiceRecord],
    *,
    on: dt.date,
    actor: str,
    settings: Settings,
) -> StatementResult:
    now = utcnow()
    notice = ReminderNotice(
        tenant_id=tenant_id,
        customer_key=invoices[0].customer_key or receiver_id,
        receiver_id=receiver_id,
        level=0,
        kind=STATEMENT_KIND,
        status=NoticeStatus.QUEUED.value,
        notice_on=on,
        deadline=on + dt.timedelta(days=PAYMENT_DAYS),
        currency=invoices[0].currency,
        open_total="0",
        total="0",
        created_at=now,
        updated_at=now,
    )
    document = _document(notice.id, on, invoices)
    notice.open_total = notice.total = money_text(document.open_total)
    session.add(notice)
    session.flush()
    for invoice, item in zip(invoices, document.invoices, strict=True):
        session.add(
            ReminderNoticeItem(
                notice_id=notice.id,
                invoice_id=invoice.id,
                open_amount=money_text(item.open_amount),
                days_late=item.days_late,
            )
        )
    session.flush()
    delivery_id = _queue(session, notice.id, actor, settings)
    session.refresh(notice)
    return StatementResult(
        receiver_id,
        notice.currency,
        document,
        notice_id=notice.id,
        status=notice.status,
        delivery_id=delivery_id or notice.delivery_id,
        item_ids=[invoice.id for invoice in invoices],
    )
