"""One customer's receivables at a glance: what it owes, how late it pays, where follow-up stands.

The customer is a receiver (`routing.receiver_id` on its invoices, the receiver profile with its credit
limit and risk flag). Amounts are per currency: a limit has no currency of its own, so its headroom is
given against the balance in each currency the customer is invoiced in.

Average days late is read from the payments: an invoice's payment date is the latest value date (else
booking date, else the day it was applied) of the payments applied to it and not reversed
(`payment_allocations` → `payments`); an invoice paid without any allocation left counts by its `paid_at`.
Days late are signed (an invoice paid early counts negative), so the average says how the customer pays.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import Session
from sqlmodel import col

from db.models import (
    CollectionHandoff,
    Dispute,
    FollowUpState,
    InvoiceRecord,
    PaymentAllocation,
    PaymentPromise,
    PaymentRecord,
    Receiver,
    ReminderNotice,
)
from gateway.services.followup.credit import (
    CENT,
    OPEN_STATUSES,
    headroom,
    money_text,
    open_amount_cents,
    open_balances,
)
from gateway.services.outbound.deliveries import NotFound
from schemas.canonical import ReceiverProfile
from schemas.followup import DisputeStatus, NoticeStatus, PromiseStatus

OPEN_DISPUTES = (DisputeStatus.OPEN.value, DisputeStatus.AWAITING_APPROVAL.value)
PAID_STATUSES = ("paid", "overpaid")


def _cents(value: Any) -> Decimal:
    return (Decimal(int(value or 0)) / 100).quantize(CENT)


def _profiles(
    session: Session, tenant_id: str, receiver_ids: list[str] | None = None
) -> dict[str, ReceiverProfile]:
    query = select(col(Receiver.profile)).where(col(Receiver.tenant_id) == tenant_id)
    if receiver_ids is not None:
        query = query.where(col(Receiver.receiver_id).in_(receiver_ids))
    profiles = (ReceiverProfile.model_validate(row) for row in session.execute(query).scalars())
    return {profile.receiver_id: profile for profile in profiles}


def _balances(session: Session, tenant_id: str, receiver_id: str, on: dt.date) -> list[dict[str, Any]]:
    """Per currency: balance, overdue amount and count, open invoices and credit notes."""
    table = InvoiceRecord.__table__  # type: ignore[attr-defined]
    overdue = and_(table.c.document_type == "invoice", table.c.due_date < on)
    rows = session.execute(
        select(
            table.c.currency,
            func.sum(open_amount_cents()),
            func.sum(case((overdue, open_amount_cents()), else_=0)),
            func.sum(case((overdue, 1), else_=0)),
            func.sum(case((table.c.document_type == "invoice", 1), else_=0)),
            func.count(),
        )
        .where(
            table.c.tenant_id == tenant_id,
            table.c.receiver_id == receiver_id,
            table.c.payment_status.in_(OPEN_STATUSES),
        )
        .group_by(table.c.currency)
        .order_by(table.c.currency)
    )
    return [
        {
            "currency": currency,
            "balance": _cents(balance),
            "overdue_amount": _cents(overdue_cents),
            "overdue_count": int(overdue_count or 0),
            "open_invoices": int(invoices or 0),
            "open_credit_notes": int(count) - int(invoices or 0),
        }
        for currency, balance, overdue_cents, overdue_count, invoices, count in rows
    ]


def _of_receiver(tenant_id: str, receiver_id: str) -> Any:
    return and_(col(InvoiceRecord.tenant_id) == tenant_id, col(InvoiceRecord.receiver_id) == receiver_id)


def _disputes(session: Session, tenant_id: str, receiver_id: str) -> dict[str, Any]:
    """Open disputes (open or awaiting approval of a credit): how many, and the amount they stop."""
    rows = session.execute(
        select(col(Dispute.amount), col(InvoiceRecord.open_amount), col(InvoiceRecord.payable_amount))
        .join(InvoiceRecord, col(InvoiceRecord.id) == col(Dispute.invoice_id))
        .where(
            _of_receiver(tenant_id, receiver_id),
            col(Dispute.tenant_id) == tenant_id,
            col(Dispute.status).in_(OPEN_DISPUTES),
        )
    ).all()
    amount = sum((Decimal(d or o or p) for d, o, p in rows), Decimal(0))
    return {"count": len(rows), "amount": money_text(amount)}


def _promises(session: Session, tenant_id: str, receiver_id: str) -> dict[str, Any]:
    """Promises to pay by status (kept and broken counted), the open ones' amount and earliest date."""
    rows = session.execute(
        select(col(PaymentPromise.status), col(PaymentPromise.amount), col(PaymentPromise.promised_on))
        .join(InvoiceRecord, col(InvoiceRecord.id) == col(PaymentPromise.invoice_id))
        .where(_of_receiver(tenant_id, receiver_id), col(PaymentPromise.tenant_id) == tenant_id)
    ).all()
    by_status = Counter(status for status, _, _ in rows)
    open_rows = [(amount, on) for status, amount, on in rows if status == PromiseStatus.OPEN.value]
    return {
        "open": by_status[PromiseStatus.OPEN.value],
        "open_amount": money_text(sum((Decimal(a) for a, _ in open_rows), Decimal(0))),
        "next_promised_on": min((on.isoformat() for _, on in open_rows), default=None),
        "kept": by_status[PromiseStatus.KEPT.value],
        "broken": by_status[PromiseStatus.BROKEN.value],
    }


def payment_day(value_date: dt.date | None, booking_date: dt.date | None, applied_at: dt.datetime) -> dt.date:
    """The day a payment paid what it was applied to: its value date, else its booking date, else the day it
    was applied — the one choice of the day money arrived for days late and late-payment interest alike."""
    return value_date or booking_date or applied_at.date()


def applied_payments(
    session: Session, tenant_id: str, invoice_ids: Sequence[str]
) -> dict[str, list[tuple[dt.date, Decimal]]]:
    """Per invoice, the (day, amount) of what each payment applied to it and not reversed took off its open
    amount (the applied amount and the write-off that went with it): one query for all of `invoice_ids`."""
    found: dict[str, list[tuple[dt.date, Decimal]]] = {}
    if not invoice_ids:
        return found
    rows = session.execute(
        select(
            col(PaymentAllocation.invoice_id),
            col(PaymentAllocation.amount),
            col(PaymentAllocation.write_off),
            col(PaymentRecord.value_date),
            col(PaymentRecord.booking_date),
            col(PaymentAllocation.created_at),
        )
        .join(PaymentRecord, col(PaymentRecord.id) == col(PaymentAllocation.payment_id))
        .where(
            col(PaymentAllocation.tenant_id) == tenant_id,
            col(PaymentAllocation.invoice_id).in_(list(invoice_ids)),
            col(PaymentAllocation.reversed_at).is_(None),
        )
    )
    for invoice_id, amount, write_off, value_date, booking_date, applied_at in rows:
        taken = Decimal(amount or 0) + Decimal(write_off or 0)
        found.setdefault(invoice_id, []).append((payment_day(value_date, booking_date, applied_at), taken))
    return found


def _days_late(session: Session, tenant_id: str, receiver_id: str) -> tuple[Decimal | None, int]:
    """The average (payment date − due date) of the customer's paid invoices, and how many there are."""
    paid = (
        _of_receiver(tenant_id, receiver_id),
        col(InvoiceRecord.document_type) == "invoice",
        col(InvoiceRecord.payment_status).in_(PAID_STATUSES),
        col(InvoiceRecord.due_date).is_not(None),
    )
    paid_on: dict[str, dt.date] = {}
    due: dict[str, dt.date] = {}
    rows = session.execute(
        select(
            col(InvoiceRecord.id),
            col(InvoiceRecord.due_date),
            col(PaymentRecord.value_date),
            col(PaymentRecord.booking_date),
            col(PaymentAllocation.created_at),
        )
        .join(PaymentAllocation, col(PaymentAllocation.invoice_id) == col(InvoiceRecord.id))
        .join(PaymentRecord, col(PaymentRecord.id) == col(PaymentAllocation.payment_id))
        .where(*paid, col(PaymentAllocation.reversed_at).is_(None))
    )
    for invoice_id, due_date, value_date, booking_date, applied_at in rows:
        day = payment_day(value_date, booking_date, applied_at)
        if due_date is None:  # the query asks for a due date; the type cannot tell
            continue
        due[invoice_id] = due_date
        paid_on[invoice_id] = max(day, paid_on.get(invoice_id, day))
    for invoice_id, due_date, paid_at in session.execute(
        select(col(InvoiceRecord.id), col(InvoiceRecord.due_date), col(InvoiceRecord.paid_at)).where(
            *paid, col(InvoiceRecord.paid_at).is_not(None)
        )
    ):
        if invoice_id not in paid_on and due_date is not None and paid_at is not None:
            due[invoice_id], paid_on[invoice_id] = due_date, paid_at.date()
    if not paid_on:
        return None, 0
    total = sum((paid_on[i] - due[i]).days for i in paid_on)
    return (Decimal(total) / len(paid_on)).quantize(Decimal("0.1")), len(paid_on)


def _follow_up(session: Session, tenant_id: str, receiver_id: str) -> dict[str, Any]:
    """The highest level reached, notices sent (by kind), invoices handed to collection."""
    level, handed_states = session.execute(
        select(
            func.max(FollowUpState.level),
            func.sum(case((col(FollowUpState.handed_off_at).is_not(None), 1), else_=0)),
        )
        .join(InvoiceRecord, col(InvoiceRecord.id) == col(FollowUpState.invoice_id))
        .where(_of_receiver(tenant_id, receiver_id), col(FollowUpState.tenant_id) == tenant_id)
    ).one()
    notices: dict[str, int] = dict(
        session.execute(
            select(col(ReminderNotice.kind), func.count())
            .where(
                col(ReminderNotice.tenant_id) == tenant_id,
                col(ReminderNotice.receiver_id) == receiver_id,
                col(ReminderNotice.status) == NoticeStatus.SENT.value,
            )
            .group_by(col(ReminderNotice.kind))
        ).all()
    )
    handed_off = session.execute(
        select(func.count())
        .select_from(CollectionHandoff)
        .join(InvoiceRecord, col(InvoiceRecord.id) == col(CollectionHandoff.invoice_id))
        .where(_of_receiver(tenant_id, receiver_id), col(CollectionHandoff.tenant_id) == tenant_id)
    ).scalar_one()
    return {
        "level_reached": int(level or 0),
        "notices_sent": sum(notices.values()),
        "notices_by_kind": {str(kind): int(n) for kind, n in sorted(notices.items())},
        "handed_off": int(handed_off or handed_states or 0),
    }


@dataclass(frozen=True)
class _Customer:
    receiver_id: str
    profile: ReceiverProfile | None


def _known(session: Session, tenant_id: str, receiver_id: str) -> _Customer:
    """The tenant's customer: a receiver profile, or at least one invoice to it (else `NotFound`)."""
    profile = _profiles(session, tenant_id, [receiver_id]).get(receiver_id)
    if profile is None:
        invoice = session.execute(
            select(col(InvoiceRecord.id)).where(_of_receiver(tenant_id, receiver_id)).limit(1)
        ).first()
        if invoice is None:
            raise NotFound(f"customer {receiver_id} not found")
    return _Customer(receiver_id, profile)


def _summary(
    session: Session, tenant_id: str, customer: _Customer, on: dt.date, *, full: bool
) -> dict[str, Any]:
    profile, receiver_id = customer.profile, customer.receiver_id
    limit = profile.credit_limit if profile else None
    balances = _balances(session, tenant_id, receiver_id, on)
    for entry in balances:
        room = headroom(limit, entry["balance"])
        entry["headroom"] = money_text(room) if room is not None else None
        entry["over_limit"] = room is not None and room < 0
        for key in ("balance", "overdue_amount"):
            entry[key] = money_text(entry[key])
    view: dict[str, Any] = {
        "receiver_id": receiver_id,
        "name": profile.name if profile else None,
        "segment": profile.segment if profile else None,
        "credit_limit": money_text(limit) if limit is not None else None,
        "risk_flag": profile.risk_flag if profile else None,
        "statements": profile.statements if profile else False,
        "over_limit": any(entry["over_limit"] for entry in balances),
        "balances": balances,
    }
    if full:
        average, paid = _days_late(session, tenant_id, receiver_id)
        view |= {
            "on": on.isoformat(),
            "disputes": _disputes(session, tenant_id, receiver_id),
            "promises": _promises(session, tenant_id, receiver_id),
            "average_days_late": str(average) if average is not None else None,
            "paid_invoices": paid,
            "follow_up": _follow_up(session, tenant_id, receiver_id),
        }
    return view


def customer_view(session: Session, tenant_id: str, receiver_id: str, *, on: dt.date) -> dict[str, Any]:
    """`GET /receivables/customers/{receiver_id}`: everything credit control asks about one customer."""
    return _summary(session, tenant_id, _known(session, tenant_id, receiver_id), on, full=True)


def list_customers(
    session: Session,
    tenant_id: str,
    *,
    on: dt.date,
    over_limit: bool = False,
    limit: int = 100,
    offset: int = 0,
) -> list[dict[str, Any]]:
    """The tenant's customers (receiver profiles, by id), each with balances, limit and headroom;
    `over_limit`: only those whose balance in some currency is above their credit limit (one grouped
    query over the customers that have a limit)."""
    if over_limit:
        limited = {rid: p for rid, p in _profiles(session, tenant_id).items() if p.credit_limit is not None}
        balances = open_balances(session, tenant_id, limited)
        over: defaultdict[str, bool] = defaultdict(bool)
        for (receiver_id, _currency), balance in balances.items():
            credit_limit = limited[receiver_id].credit_limit
            over[receiver_id] |= credit_limit is not None and balance > credit_limit
        chosen = sorted(receiver_id for receiver_id, is_over in over.items() if is_over)
        page = [_Customer(rid, limited[rid]) for rid in chosen[offset : offset + limit]]
    else:
        rows = session.execute(
            select(col(Receiver.profile))
            .where(col(Receiver.tenant_id) == tenant_id)
            .order_by(col(Receiver.receiver_id))
            .limit(limit)
            .offset(offset)
        ).scalars()
        page = [_Customer(p.receiver_id, p) for p in (ReceiverProfile.model_validate(row) for row in rows)]
    return [_summary(session, tenant_id, customer, on, full=False) for customer in page]
