"""What credit control's desk reads beside the follow-up services: the notice list in the order a person works
it (awaiting approval first), who each notice is to, a notice's delivery with its history, the last run,
the dispute inbox by the question a person asks (open, awaiting approval, overdue by due date, closed) and
why a person may not approve a proposed credit.

Read-side only: every change goes through `reminders`, `disputes` and `promises`, which hold the rules.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Any, Literal

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session
from sqlmodel import col

from db.models import Delivery, DeliveryEvent, FollowUpRun, InvoiceRecord, ReminderNotice, ReminderNoticeItem
from db.models.followup import Dispute, DisputeMessage
from gateway.services.followup.disputes import ACTIVE, CREDIT_ROLES, _same_person, open_amount
from gateway.services.followup.reminders import notice_view, notices_query, run_view
from schemas.followup import DisputeStatus, NoticeStatus

DisputeView = Literal["open", "awaiting", "overdue", "closed", "all"]
DISPUTE_VIEWS: tuple[DisputeView, ...] = ("open", "awaiting", "overdue", "closed", "all")
CLOSED = (DisputeStatus.REJECTED.value, DisputeStatus.WITHDRAWN.value, DisputeStatus.CREDITED.value)


# --- notices ------------------------------------------------------------------------------------------------


def notice_rows(
    session: Session,
    tenant_id: str,
    *,
    status: str | None = None,
    customer: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> list[dict[str, Any]]:
    """Notices with those awaiting approval first (they wait for a person), then newest first; each with the
    buyer's name and how many invoices it lists."""
    query = notices_query(tenant_id, status=status, customer=customer)
    waiting_first = case((col(ReminderNotice.status) == NoticeStatus.AWAITING_APPROVAL.value, 0), else_=1)
    query = query.order_by(
        waiting_first, col(ReminderNotice.notice_on).desc(), col(ReminderNotice.created_at).desc(),
        col(ReminderNotice.id),
    ).limit(limit).offset(offset)  # fmt: skip
    rows = [notice_view(notice) for notice in session.execute(query).scalars()]
    buyers = _notice_buyers(session, [row["id"] for row in rows])
    for row in rows:
        row["buyer_name"], row["invoice_count"] = buyers.get(row["id"], (None, 0))
    return rows


def _notice_buyers(session: Session, notice_ids: list[str]) -> dict[str, tuple[str | None, int]]:
    if not notice_ids:
        return {}
    found = session.execute(
        select(col(ReminderNoticeItem.notice_id), func.min(col(InvoiceRecord.buyer_name)), func.count())
        .join(InvoiceRecord, col(InvoiceRecord.id) == col(ReminderNoticeItem.invoice_id))
        .where(col(ReminderNoticeItem.notice_id).in_(notice_ids))
        .group_by(col(ReminderNoticeItem.notice_id))
    ).all()
    return {notice_id: (name, int(count)) for notice_id, name, count in found}


def notice_status_counts(session: Session, tenant_id: str) -> dict[str, int]:
    """How many of the tenant's notices are in each status (for the filter's choices)."""
    found = session.execute(
        select(col(ReminderNotice.status), func.count())
        .where(col(ReminderNotice.tenant_id) == tenant_id)
        .group_by(col(ReminderNotice.status))
    ).all()
    return {str(status): int(count) for status, count in found}


def notice_buyer(session: Session, notice_id: str) -> str | None:
    return _notice_buyers(session, [notice_id]).get(notice_id, (None, 0))[0]


def notice_delivery(session: Session, tenant_id: str, delivery_id: str | None) -> dict[str, Any] | None:
    """The delivery that carries a notice, with its history oldest first (None before it has one)."""
    if delivery_id is None:
        return None
    delivery = session.get(Delivery, delivery_id)
    if delivery is None or delivery.tenant_id != tenant_id:
        return None
    events = session.execute(
        select(DeliveryEvent)
        .where(col(DeliveryEvent.delivery_id) == delivery.id)
        .order_by(col(DeliveryEvent.at), col(DeliveryEvent.id))
    ).scalars()
    return {
        "id": delivery.id,
        "invoice_id": delivery.invoice_id,
        "channel": delivery.channel,
        "format": delivery.format,
        "address": delivery.address,
        "status": str(delivery.status),
        "attempt": delivery.attempt,
        "last_error": delivery.last_error,
        "updated_at": delivery.updated_at,
        "events": [
            {"at": event.at, "from": event.from_status, "to": event.to_status, "actor": event.actor,
             "reason": event.reason}
            for event in events
        ],
    }  # fmt: skip


def last_run(session: Session, tenant_id: str) -> dict[str, Any] | None:
    """The tenant's latest real (not dry) follow-up run, with its counts."""
    run = session.execute(
        select(FollowUpRun)
        .where(col(FollowUpRun.tenant_id) == tenant_id, col(FollowUpRun.dry_run).is_(False))
        .order_by(col(FollowUpRun.run_on).desc(), col(FollowUpRun.started_at).desc())
        .limit(1)
    ).scalar_one_or_none()
    return run_view(run) if run is not None else None


# --- disputes -----------------------------------------------------------------------------------------------


def dispute_inbox(
    session: Session,
    tenant_id: str,
    *,
    view: DisputeView,
    on: dt.date,
    owner: str | None = None,
    receiver_id: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> list[dict[str, Any]]:
    """The disputes a person is looking for, oldest first (the one waiting longest on top), each with its
    invoice's number, buyer, currency and open amount, and whether it is past its due date on `on`."""
    query = (
        select(Dispute, InvoiceRecord)
        .join(InvoiceRecord, col(InvoiceRecord.id) == col(Dispute.invoice_id))
        .where(col(Dispute.tenant_id) == tenant_id)
    )
    query = query.where(*_view_filter(view, on))
    if owner is not None:
        query = query.where(col(Dispute.owner) == owner)
    if receiver_id is not None:
        query = query.where(col(InvoiceRecord.receiver_id) == receiver_id)
    query = query.order_by(col(Dispute.opened_at), col(Dispute.id)).limit(limit).offset(offset)
    rows = []
    for dispute, invoice in session.execute(query).all():
        rows.append(
            {
                "id": dispute.id,
                "status": dispute.status,
                "category": dispute.category,
                "origin": dispute.origin,
                "reason": dispute.reason,
                "amount": dispute.amount,
                "credit_amount": dispute.credit_amount,
                "owner": dispute.owner,
                "due_on": dispute.due_on,
                "opened_at": dispute.opened_at,
                "overdue": dispute.status in ACTIVE and dispute.due_on is not None and dispute.due_on < on,
                "invoice_id": invoice.id,
                "invoice_number": invoice.number,
                "buyer_name": invoice.buyer_name,
                "receiver_id": invoice.receiver_id,
                "currency": invoice.currency,
                "open_amount": str(open_amount(invoice)),
            }
        )
    return rows


def _view_filter(view: DisputeView, on: dt.date) -> list[Any]:
    if view == "open":
        return [col(Dispute.status) == DisputeStatus.OPEN.value]
    if view == "awaiting":
        return [col(Dispute.status) == DisputeStatus.AWAITING_APPROVAL.value]
    if view == "overdue":
        return [col(Dispute.status).in_(ACTIVE), col(Dispute.due_on).is_not(None), col(Dispute.due_on) < on]
    if view == "closed":
        return [col(Dispute.status).in_(CLOSED)]
    return []


def dispute_view_counts(session: Session, tenant_id: str, *, on: dt.date) -> dict[str, int]:
    """How many disputes each inbox view holds."""
    counts: Counter[str] = Counter()
    found = session.execute(
        select(col(Dispute.status), col(Dispute.due_on), func.count())
        .where(col(Dispute.tenant_id) == tenant_id)
        .group_by(col(Dispute.status), col(Dispute.due_on))
    ).all()
    for status, due_on, count in found:
        counts["all"] += count
        if status == DisputeStatus.OPEN.value:
            counts["open"] += count
        elif status == DisputeStatus.AWAITING_APPROVAL.value:
            counts["awaiting"] += count
        elif status in CLOSED:
            counts["closed"] += count
        if status in ACTIVE and due_on is not None and due_on < on:
            counts["overdue"] += count
    return {view: counts[view] for view in DISPUTE_VIEWS}


def dispute_owners(session: Session, tenant_id: str) -> list[str]:
    """Everyone who owns a dispute of the tenant (for the owner filter)."""
    return [
        str(owner)
        for owner in session.execute(
            select(col(Dispute.owner))
            .where(col(Dispute.tenant_id) == tenant_id, col(Dispute.owner).is_not(None))
            .distinct()
            .order_by(col(Dispute.owner))
        ).scalars()
    ]


def attachment_count(session: Session, dispute_id: str) -> int:
    found = session.execute(
        select(func.count())
        .select_from(DisputeMessage)
        .where(col(DisputeMessage.dispute_id) == dispute_id, col(DisputeMessage.attachment_key).is_not(None))
    ).scalar_one()
    return int(found)


def credit_approval_blocker(dispute: dict[str, Any], *, actor: str, role: str) -> str | None:
    """Why this person may not approve the dispute's proposed credit (None: they may). The same two rules
    `disputes.approve_credit` enforces on the server: the role, and four eyes."""
    if dispute["status"] != DisputeStatus.AWAITING_APPROVAL.value or dispute.get("credit_amount") is None:
        return "no credit awaits approval"
    if role not in CREDIT_ROLES:
        return f"approving a credit needs the role credit or admin; yours is {role}"
    if _same_person(actor, dispute.get("credit_requested_by")):
        return (
            "you proposed this credit, so another person with the role credit or admin must approve it "
            "(four eyes)"
        )
    return None


# --- invoices -----------------------------------------------------------------------------------------------


def invoice_number(session: Session, invoice_id: str | None) -> str | None:
    return None if invoice_id is None else _invoice_column(session, invoice_id, col(InvoiceRecord.number))


def invoice_receiver(session: Session, invoice_id: str) -> str | None:
    return _invoice_column(session, invoice_id, col(InvoiceRecord.receiver_id))


def invoice_buyer(session: Session, invoice_id: str) -> str | None:
    return _invoice_column(session, invoice_id, col(InvoiceRecord.buyer_name))


def invoice_currency(session: Session, invoice_id: str) -> str:
    return _invoice_column(session, invoice_id, col(InvoiceRecord.currency)) or "NOK"


def _invoice_column(session: Session, invoice_id: str, column: Any) -> str | None:
    found = session.execute(select(column).where(col(InvoiceRecord.id) == invoice_id)).scalar_one_or_none()
    return None if found is None else str(found)
