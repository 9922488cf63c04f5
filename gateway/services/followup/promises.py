"""Promises to pay: a customer says it will pay an amount by a date, and follow-up waits until then.

One open promise per invoice: a new one replaces the old (which becomes `cancelled`, with when). The date
lies between today and `FollowUpSettings.promise_max_days` ahead; the amount is at most the open amount.
After the date, `settle_promises` marks each open promise `kept` (the promised amount was applied to the
invoice after the promise was made, or the invoice is paid) or `broken`: a broken promise resumes
follow-up at the next level, and `promise_counts` gives the customer's record for the customer view.
The daily run calls `settle_promises` once per tenant and day (it is idempotent: settled promises stay).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from sqlmodel import col

from db.models import InvoiceRecord, PaymentAllocation
from db.models.followup import PaymentPromise
from gateway.services.followup.disputes import (
    FollowUpRefused,
    invoice_of,
    money,
    open_amount,
)
from gateway.services.outbound.deliveries import NotFound
from gateway.services.tenancy.tenants import tenant_settings
from schemas.canonical import DocumentType
from schemas.followup import PromiseStatus

STATUSES: tuple[str, ...] = tuple(status.value for status in PromiseStatus)


class PromiseNotFound(NotFound):
    """No such promise for this tenant (another tenant's id too): a 404 on every route."""


def add_promise(
    session: Session,
    tenant_id: str,
    invoice_reference: str,
    *,
    promised_on: dt.date,
    amount: Any,
    actor: str,
    on: dt.date,
    now: dt.datetime,
) -> PaymentPromise:
    """Record a promise to pay `amount` by `promised_on`; an open one on the invoice is cancelled."""
    invoice = invoice_of(session, tenant_id, invoice_reference)
    if invoice.document_type == DocumentType.CREDIT_NOTE.value:
        raise FollowUpRefused("invoice_id", f"{invoice.number} is a credit note; nothing is owed on it")
    max_days = tenant_settings(session, tenant_id).follow_up.promise_max_days
    if promised_on < on:
        raise FollowUpRefused("date", f"{promised_on.isoformat()} is in the past (today is {on.isoformat()})")
    if promised_on > on + dt.timedelta(days=max_days):
        raise FollowUpRefused(
            "date",
            f"{promised_on.isoformat()} is more than {max_days} days ahead (promise_max_days; at most "
            f"{(on + dt.timedelta(days=max_days)).isoformat()})",
        )
    promised = money(amount, "amount")
    left = open_amount(invoice)
    if promised > left:
        raise FollowUpRefused(
            "amount", f"{promised} is more than the open amount {left} of invoice {invoice.number}"
        )
    session.execute(
        select(col(InvoiceRecord.id)).where(col(InvoiceRecord.id) == invoice.id).with_for_update()
    )
    for earlier in _open_promises(session, invoice.id):
        earlier.status = PromiseStatus.CANCELLED.value
        earlier.resolved_at = now
        session.add(earlier)
    promise = PaymentPromise(
        tenant_id=tenant_id,
        invoice_id=invoice.id,
        customer_key=invoice.customer_key,
        promised_on=promised_on,
        amount=str(promised),
        status=PromiseStatus.OPEN.value,
        created_by=actor,
        created_at=now,
    )
    session.add(promise)
    session.flush()
    return promise


def _open_promises(session: Session, invoice_id: str) -> list[PaymentPromise]:
    return list(
        session.execute(
            select(PaymentPromise).where(
                col(PaymentPromise.invoice_id) == invoice_id,
                col(PaymentPromise.status) == PromiseStatus.OPEN.value,
            )
        ).scalars()
    )


def get_promise(session: Session, tenant_id: str, promise_id: str) -> PaymentPromise:
    promise = session.get(PaymentPromise, promise_id)
    if promise is None or promise.tenant_id != tenant_id:
        raise PromiseNotFound(f"no promise {promise_id}")
    return promise


def cancel_promise(
    session: Session, tenant_id: str, promise_id: str, *, actor: str, now: dt.datetime
) -> PaymentPromise:
    """Cancel an open promise (follow-up no longer waits for it); a settled one is a 409."""
    promise = get_promise(session, tenant_id, promise_id)
    if promise.status != PromiseStatus.OPEN.value:
        raise FollowUpRefused(
            "status", f"promise {promise.id} is {promise.status}; only an open one is cancelled", 409
        )
    promise.status = PromiseStatus.CANCELLED.value
    promise.resolved_at = now
    session.add(promise)
    session.flush()
    return promise


def list_promises(
    session: Session,
    tenant_id: str,
    *,
    status: str | None = None,
    customer: str | None = None,
    invoice_id: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[PaymentPromise]:
    """The tenant's promises, soonest date first."""
    query = select(PaymentPromise).where(col(PaymentPromise.tenant_id) == tenant_id)
    if status is not None:
        query = query.where(col(PaymentPromise.status) == status)
    if customer is not None:
        query = query.where(col(PaymentPromise.customer_key) == customer)
    if invoice_id is not None:
        query = query.where(col(PaymentPromise.invoice_id) == invoice_id)
    query = query.order_by(
        col(PaymentPromise.promised_on), col(PaymentPromise.created_at), col(PaymentPromise.id)
    )
    return list(session.execute(query.limit(limit).offset(offset)).scalars())


def promise_view(promise: PaymentPromise, invoice: InvoiceRecord | None = None) -> dict[str, Any]:
    return {
        "id": promise.id,
        "invoice_id": promise.invoice_id,
        "invoice_number": invoice.number if invoice else None,
        "customer_key": promise.customer_key,
        "date": promise.promised_on.isoformat(),
        "amount": promise.amount,
        "status": promise.status,
        "created_by": promise.created_by,
        "created_at": promise.created_at.isoformat(),
        "resolved_at": promise.resolved_at.isoformat() if promise.resolved_at else None,
    }


def promise_counts(session: Session, tenant_id: str, customer_key: str) -> tuple[int, int]:
    """(kept, broken) promises of one customer."""
    rows = session.execute(
        select(PaymentPromise.status, func.count())  # type: ignore[call-overload]
        .where(
            col(PaymentPromise.tenant_id) == tenant_id,
            col(PaymentPromise.customer_key) == customer_key,
            col(PaymentPromise.status).in_((PromiseStatus.KEPT.value, PromiseStatus.BROKEN.value)),
        )
        .group_by(col(PaymentPromise.status))
    ).all()
    counts = {status: int(count) for status, count in rows}
    return counts.get(PromiseStatus.KEPT.value, 0), counts.get(PromiseStatus.BROKEN.value, 0)


def _paid_since(session: Session, invoice_id: str, since: dt.datetime) -> Decimal:
    amounts = session.execute(
        select(col(PaymentAllocation.amount)).where(
            col(PaymentAllocation.invoice_id) == invoice_id,
            col(PaymentAllocation.created_at) >= since,
            col(PaymentAllocation.reversed_at).is_(None),
        )
    ).scalars()
    return sum((Decimal(amount) for amount in amounts), Decimal(0))


def settle_promises(
    session: Session, tenant_id: str, on: dt.date, *, now: dt.datetime | None = None
) -> dict[str, int]:
    """Mark each open promise whose date is before `on` kept or broken; counts by outcome.

    Kept: the invoice is paid, or payments applied to it since the promise was made reach the promised
    amount. Broken otherwise: follow-up resumes (the run's next level), and the customer's count grows."""
    moment = now or dt.datetime.combine(on, dt.time(), tzinfo=dt.UTC)
    due = session.execute(
        select(PaymentPromise, InvoiceRecord)
        .join(InvoiceRecord, col(InvoiceRecord.id) == col(PaymentPromise.invoice_id))
        .where(
            col(PaymentPromise.tenant_id) == tenant_id,
            col(PaymentPromise.status) == PromiseStatus.OPEN.value,
            col(PaymentPromise.promised_on) < on,
        )
    ).all()
    counts = {PromiseStatus.KEPT.value: 0, PromiseStatus.BROKEN.value: 0}
    for promise, invoice in due:
        paid = invoice.payment_status in ("paid", "overpaid") or (
            _paid_since(session, invoice.id, promise.created_at) >= Decimal(promise.amount)
        )
        promise.status = PromiseStatus.KEPT.value if paid else PromiseStatus.BROKEN.value
        promise.resolved_at = moment
        session.add(promise)
        counts[promise.status] += 1
    session.flush()
    return counts
