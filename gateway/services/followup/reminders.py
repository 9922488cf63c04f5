"""Notices as people and ERPs see them: list, show (items and the decisions behind them), approve, cancel;
and a run's decisions.

Approving moves a notice from awaiting_approval to queued and queues its delivery
(`notices.queue_notice`). Cancelling
is allowed until the notice has left (its delivery, if any, can still be cancelled); it puts every listed
invoice's `FollowUpState` back to what the notices still standing say, so the next run may write the notice
again (recomputed from the remaining notices rather than remembered, so it is right whatever came between).
"""

from __future__ import annotations

import contextlib
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session
from sqlmodel import col

from db.models import (
    Delivery,
    FollowUpDecision,
    FollowUpRun,
    InvoiceRecord,
    ReminderNotice,
    ReminderNoticeItem,
    utcnow,
)
from gateway.services.followup.notices import (
    NoticeUndeliverable,
    queue_notice,
    restore_state,
    set_notice_status,
)
from gateway.services.outbound.deliveries import cancel as cancel_delivery
from gateway.services.outbound.deliveries import cancel_refusal
from gateway.settings import Settings
from schemas.followup import NoticeStatus


class NoticeNotFound(LookupError):
    """No such notice (or run) for this tenant."""


class NoticeStateError(ValueError):
    """The notice is not in a state that allows this (approve a queued one, cancel a sent one)."""


CANCELLABLE = frozenset(
    {NoticeStatus.AWAITING_APPROVAL.value, NoticeStatus.QUEUED.value, NoticeStatus.FAILED.value}
)


def notice_view(notice: ReminderNotice) -> dict[str, Any]:
    return {
        "id": notice.id,
        "run_id": notice.run_id,
        "customer_key": notice.customer_key,
        "receiver_id": notice.receiver_id,
        "level": notice.level,
        "kind": notice.kind,
        "status": notice.status,
        "notice_on": notice.notice_on.isoformat(),
        "deadline": notice.deadline.isoformat(),
        "currency": notice.currency,
        "open_total": notice.open_total,
        "fee": notice.fee,
        "interest": notice.interest,
        "compensation": notice.compensation,
        "total": notice.total,
        "kid": notice.kid,
        "channel": notice.channel,
        "format": notice.format,
        "delivery_id": notice.delivery_id,
        "approved_by": notice.approved_by,
        "cancelled_by": notice.cancelled_by,
        "cancel_reason": notice.cancel_reason,
        "created_at": notice.created_at.isoformat(),
    }


def decision_view(decision: FollowUpDecision, number: str | None = None) -> dict[str, Any]:
    return {
        "id": decision.id,
        "run_id": decision.run_id,
        "invoice_id": decision.invoice_id,
        "invoice_number": number,
        "level": decision.level,
        "decision": decision.decision,
        "reason": decision.reason,
        "rule": decision.rule,
        "notice_id": decision.notice_id,
    }


def notices_query(
    tenant_id: str, *, status: str | None, customer: str | None
) -> Select[ReminderNotice]:
    """The tenant's notices, by status and by customer (its customer key or receiver id), not yet ordered."""
    query = select(ReminderNotice).where(col(ReminderNotice.tenant_id) == tenant_id)
    if status is not None:
        query = query.where(col(ReminderNotice.status) == status)
    if customer is not None:
        query = query.where(
            (col(ReminderNotice.customer_key) == customer) | (col(ReminderNotice.receiver_id) == customer)
        )
    return query


def list_notices(
    session: Session,
    tenant_id: str,
    *,
    status: str | None = None,
    customer: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[dict[str, Any]]:
    """The tenant's notices, newest first; by status and by customer (customer key or receiver id)."""
    query = notices_query(tenant_id, status=status, customer=customer)
    query = (
        query.order_by(col(ReminderNotice.created_at).desc(), col(ReminderNotice.id))
        .limit(limit)
        .offset(offset)
    )
    return [notice_view(notice) for notice in session.execute(query).scalars()]


def _notice(session: Session, tenant_id: str, notice_id: str) -> ReminderNotice:
    notice = session.get(ReminderNotice, notice_id)
    if notice is None or notice.tenant_id != tenant_id:
        raise NoticeNotFound(f"no notice {notice_id}")
    return notice


def show_notice(session: Session, tenant_id: str, notice_id: str) -> dict[str, Any]:
    """A notice with its invoices and the decisions that wrote it."""
    notice = _notice(session, tenant_id, notice_id)
    items = session.execute(
        select(ReminderNoticeItem, col(InvoiceRecord.number), col(InvoiceRecord.due_date))
        .join(InvoiceRecord, col(InvoiceRecord.id) == col(ReminderNoticeItem.invoice_id))
        .where(col(ReminderNoticeItem.notice_id) == notice.id)
        .order_by(col(InvoiceRecord.due_date), col(InvoiceRecord.number))
    ).all()
    decisions = session.execute(
        select(FollowUpDecision, col(InvoiceRecord.number))
        .join(InvoiceRecord, col(InvoiceRecord.id) == col(FollowUpDecision.invoice_id))
        .where(col(FollowUpDecision.tenant_id) == tenant_id, col(FollowUpDecision.notice_id) == notice.id)
        .order_by(col(FollowUpDecision.id))
    ).all()
    return {
        **notice_view(notice),
        "items": [
            {
                "invoice_id": item.invoice_id,
                "invoice_number": number,
                "due_date": due.isoformat() if due else None,
                "open_amount": item.open_amount,
                "fee": item.fee,
                "interest": item.interest,
                "days_late": item.days_late,
            }
            for item, number, due in items
        ],
        "decisions": [decision_view(decision, number) for decision, number in decisions],
    }


def approve_notice(
    session: Session, tenant_id: str, notice_id: str, *, actor: str, settings: Settings
) -> dict[str, Any]:
    """awaiting_approval → queued, and its delivery queued (`notices.queue_notice`); the approver is
    recorded. A notice no channel can carry is `failed` with the reason (the answer says so)."""
    notice = _notice(session, tenant_id, notice_id)
    if notice.status != NoticeStatus.AWAITING_APPROVAL.value:
        raise NoticeStateError(
            f"notice {notice.id} is {notice.status}: only one awaiting approval can be approved"
        )
    notice.status = NoticeStatus.QUEUED.value
    notice.approved_by = actor
    notice.updated_at = utcnow()
    session.add(notice)
    session.flush()
    with contextlib.suppress(NoticeUndeliverable):  # the notice is failed, with why: the view shows it
        queue_notice(session, notice.id, actor=actor, settings=settings)
    session.refresh(notice)
    return notice_view(notice)


def cancel_notice(
    session: Session, tenant_id: str, notice_id: str, *, actor: str, reason: str
) -> dict[str, Any]:
    """Cancel a notice that has not left (and its delivery, if it has one); the invoices' follow-up state
    goes back to what the remaining notices say."""
    notice = _notice(session, tenant_id, notice_id)
    if notice.status not in CANCELLABLE:
        raise NoticeStateError(
            f"notice {notice.id} is {notice.status}: a notice that has left cannot be cancelled"
        )
    if notice.delivery_id is not None:
        delivery = session.get(Delivery, notice.delivery_id)
        if delivery is not None:
            refusal = cancel_refusal(session, delivery)
            if refusal is not None:
                raise NoticeStateError(f"notice {notice.id}: {refusal}")
            cancel_delivery(session, delivery, actor=actor, reason=f"reminder notice cancelled: {reason}")
    set_notice_status(session, notice, NoticeStatus.CANCELLED, reason=reason, actor=actor)
    invoice_ids = list(
        session.execute(
            select(col(ReminderNoticeItem.invoice_id)).where(col(ReminderNoticeItem.notice_id) == notice.id)
        ).scalars()
    )
    for invoice_id in invoice_ids:
        restore_state(session, invoice_id)
    session.refresh(notice)
    return notice_view(notice)


def run_view(run: FollowUpRun) -> dict[str, Any]:
    return {
        "id": run.id,
        "run_on": run.run_on.isoformat(),
        "dry_run": run.dry_run,
        "actor": run.actor,
        "started_at": run.started_at.isoformat(),
        "finished_at": run.finished_at.isoformat() if run.finished_at else None,
        "counts": run.counts,
    }


def run_decisions(
    session: Session,
    tenant_id: str,
    run_id: str,
    *,
    decision: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> dict[str, Any]:
    """A run with one page of its decisions (in the order taken), optionally of one kind."""
    run = session.get(FollowUpRun, run_id)
    if run is None or run.tenant_id != tenant_id:
        raise NoticeNotFound(f"no follow-up run {run_id}")
    query = (
        select(FollowUpDecision, col(InvoiceRecord.number))
        .join(InvoiceRecord, col(InvoiceRecord.id) == col(FollowUpDecision.invoice_id))
        .where(col(FollowUpDecision.run_id) == run.id)
    )
    counted = select(func.count()).select_from(FollowUpDecision).where(col(FollowUpDecision.run_id) == run.id)
    if decision is not None:
        query = query.where(col(FollowUpDecision.decision) == decision)
        counted = counted.where(col(FollowUpDecision.decision) == decision)
    rows = session.execute(query.order_by(col(FollowUpDecision.id)).limit(limit).offset(offset)).all()
    return {
        "run": run_view(run),
        "total": session.execute(counted).scalar_one(),
        "items": [decision_view(row, number) for row, number in rows],
        "limit": limit,
        "offset": offset,
    }
