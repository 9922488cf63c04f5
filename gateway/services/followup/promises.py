"""Promises to pay: a customer says it will pay an amount by a date, and follow-up waits until then.

One open promise per invoice: a new one replaces the old (which becomes `cancelled`, with when). The date
lies between today and `FollowUpSettings.promise_max_days` ahead; the amount is at most the open amount.
After the date, `settle_promises` marks each open promise `kept` (the promised amount was applied to the
invoice from when the promise was made to the end of its date, or the invoice is paid in full) or
`broken`: a broken promise resumes follow-up at the next level, and `promise_counts` gives the customer's
record for the customer view. Making a promise cancels the invoice's notices still waiting that remind of
nothing else (`notices.cancel_waiting_notices`).
The daily run (`gateway.services.followup.run`) calls `settle_promises` first, once per tenant and day, and
counts its outcome in the run's report (a dry run decides the same and writes nothing); settled promises
stay settled, so a second call settles nothing.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session
from sqlmodel import col

from db.models import InvoiceRecord, PaymentAllocation
from db.models.followup import PaymentPromise
from gateway.services.followup.disputes import (
    TIME_ZONE,
    FollowUpRefused,
    invoice_of,
    money,
    open_amount,
)
from gateway.services.followup.notices import cancel_waiting_notices
from gateway.services.outbound.deliveries import NotFound
from gateway.services.tenancy.tenants import tenant_settings
from schemas.canonical import DocumentType
from schemas.followup import PromiseStatus

STATUSES: tuple[str, ...] = tuple(status.value for status in PromiseStatus)
#: Rows per query when settling many promises at once.
CHUNK = 5000


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
    cancel_waiting_notices(  # the customer will pay: a notice still waiting that reminds of it must not go
        session,
        tenant_id,
        [invoice.id],
        actor=actor,
        reason=f"promised before it left: promise {promise.id} to pay by {promised_on.isoformat()}",
        stopped=[invoice.id],
    )
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


@dataclass
class Settlement:
    """What settling a tenant's due promises decided (a dry run's is what the real one would decide)."""

    kept: int = 0
    broken: int = 0
    broken_invoices: set[str] = field(default_factory=set)
    broken_by_customer: Counter[str] = field(default_factory=Counter)

    def counts(self) -> dict[str, int]:
        return {PromiseStatus.KEPT.value: self.kept, PromiseStatus.BROKEN.value: self.broken}


def _end_of(day: dt.date) -> dt.datetime:
    """The first moment after `day` in the tenant's time zone (Europe/Oslo)."""
    return dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tzinfo=TIME_ZONE)


def _applied(session: Session, invoice_ids: list[str]) -> dict[str, list[tuple[dt.datetime, Decimal]]]:
    """The payments applied (not reversed) to each invoice, with when."""
    found: dict[str, list[tuple[dt.datetime, Decimal]]] = {}
    for start in range(0, len(invoice_ids), CHUNK):
        rows = session.execute(
            select(
                col(PaymentAllocation.invoice_id),
                col(PaymentAllocation.created_at),
                col(PaymentAllocation.amount),
            ).where(
                col(PaymentAllocation.invoice_id).in_(invoice_ids[start : start + CHUNK]),
                col(PaymentAllocation.reversed_at).is_(None),
            )
        )
        for invoice_id, created_at, amount in rows:
            found.setdefault(invoice_id, []).append((created_at, Decimal(amount)))
    return found


def _aware(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)


def settle_promises(
    session: Session,
    tenant_id: str,
    on: dt.date,
    *,
    now: dt.datetime | None = None,
    dry_run: bool = False,
) -> Settlement:
    """Mark each open promise whose date is before `on` kept or broken (the daily run does, first).

    Kept: the invoice is paid in full, or the payments applied to it from when the promise was made to the
    end of the promised date reach the promised amount (what a promise to pay an amount by a date means).
    Broken otherwise: follow-up resumes at the next level at once (`Settlement.broken_invoices`), and the
    customer's count of broken promises grows. A dry run decides the same and writes nothing."""
    moment = now or dt.datetime.combine(on, dt.time(), tzinfo=dt.UTC)
    due: Sequence[Any] = session.execute(  # ten columns: past the typed overloads
        select(
            col(PaymentPromise.id),
            col(PaymentPromise.invoice_id),
            col(PaymentPromise.customer_key),
            col(PaymentPromise.amount),
            col(PaymentPromise.promised_on),
            col(PaymentPromise.created_at),
            col(InvoiceRecord.customer_key).label("buyer"),
            col(InvoiceRecord.payment_status),
            col(InvoiceRecord.open_amount),
            col(InvoiceRecord.payable_amount),
        )
        .join(InvoiceRecord, col(InvoiceRecord.id) == col(PaymentPromise.invoice_id))
        .where(
            col(PaymentPromise.tenant_id) == tenant_id,
            col(PaymentPromise.status) == PromiseStatus.OPEN.value,
            col(PaymentPromise.promised_on) < on,
        )
    ).all()
    applied = _applied(session, sorted({row.invoice_id for row in due}))
    settled = Settlement()
    kept: list[str] = []
    broken: list[str] = []
    for row in due:
        left = Decimal(row.open_amount if row.open_amount is not None else row.payable_amount)
        since, until = _aware(row.created_at), _end_of(row.promised_on)
        paid = sum(
            (amount for at, amount in applied.get(row.invoice_id, ()) if since <= _aware(at) < until),
            Decimal(0),
        )
        if row.payment_status in ("paid", "overpaid") or left <= 0 or paid >= Decimal(row.amount):
            kept.append(row.id)
            continue
        broken.append(row.id)
        settled.broken_invoices.add(row.invoice_id)
        settled.broken_by_customer[row.customer_key or row.buyer or ""] += 1
    settled.kept, settled.broken = len(kept), len(broken)
    if not dry_run:
        for ids, status in ((kept, PromiseStatus.KEPT), (broken, PromiseStatus.BROKEN)):
            for start in range(0, len(ids), CHUNK):
                session.execute(
                    update(PaymentPromise)
                    .where(col(PaymentPromise.id).in_(ids[start : start + CHUNK]))
                    .values(status=status.value, resolved_at=moment)
                )
        session.flush()
    return settled
