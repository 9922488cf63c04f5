"""Reading invoices and deliveries with their history, and operators' actions (resend, cancel).

Every query takes the caller's tenant: a token of one tenant can neither read nor move another's data
(a foreign id answers "not found", the same as an id that does not exist).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from sqlmodel import col

from db.models import Delivery, DeliveryEvent, InvoiceRecord, utcnow
from gateway.services.outbound.batches import closed_batch_of, withdraw_from_open_batch
from gateway.services.tenancy.tenants import tenant_settings
from mappings.base import FormatError
from mappings.invoice import canonical_json
from outbox.queue import change_status, enqueue_delivery
from outbox.states import TRANSITIONS, DeliveryStatus, IllegalTransition


class NotFound(LookupError):
    pass


def delivery_view(delivery: Delivery, events: list[DeliveryEvent] | None = None) -> dict[str, Any]:
    view: dict[str, Any] = {
        "id": delivery.id,
        "invoice_id": delivery.invoice_id,
        "channel": delivery.channel,
        "format": delivery.format,
        "address": delivery.address,
        "chain_position": delivery.chain_position,
        "status": DeliveryStatus(delivery.status).value,
        "attempt": delivery.attempt,
        "tries": delivery.tries,
        "next_attempt_at": delivery.next_attempt_at.isoformat(),
        "last_error": delivery.last_error,
        "channel_message_id": delivery.channel_message_id,
        "extra_documents": delivery.extra_documents or [],
        "created_at": delivery.created_at.isoformat(),
        "updated_at": delivery.updated_at.isoformat(),
    }
    if events is not None:
        view["events"] = [event_view(event) for event in events]
    return view


def event_view(event: DeliveryEvent) -> dict[str, Any]:
    return {
        "at": event.at.isoformat(),
        "attempt": event.attempt,
        "from": event.from_status,
        "to": event.to_status,
        "actor": event.actor,
        "reason": event.reason,
        "channel_message_id": event.channel_message_id,
        "details": event.details,
    }


def _events_by_delivery(session: Session, delivery_ids: list[str]) -> dict[str, list[DeliveryEvent]]:
    grouped: dict[str, list[DeliveryEvent]] = {delivery_id: [] for delivery_id in delivery_ids}
    if delivery_ids:
        events = session.execute(
            select(DeliveryEvent)
            .where(col(DeliveryEvent.delivery_id).in_(delivery_ids))
            .order_by(col(DeliveryEvent.id))
        ).scalars()
        for event in events:
            grouped[event.delivery_id].append(event)
    return grouped


def find_invoice(session: Session, tenant_id: str, invoice_id: str) -> InvoiceRecord:
    record = session.get(InvoiceRecord, invoice_id)
    if record is None or record.tenant_id != tenant_id:
        raise NotFound(f"invoice {invoice_id} not found")
    return record


def deliveries_of_invoice(session: Session, tenant_id: str, invoice_id: str) -> list[Delivery]:
    """The invoice's deliveries: the preferred channel's first, then the fallbacks, each oldest first."""
    return list(
        session.execute(
            select(Delivery)
            .where(col(Delivery.invoice_id) == invoice_id, col(Delivery.tenant_id) == tenant_id)
            .order_by(col(Delivery.chain_position), col(Delivery.created_at), col(Delivery.id))
        ).scalars()
    )


def invoice_view(session: Session, tenant_id: str, invoice_id: str) -> dict[str, Any]:
    """An invoice's summary with every delivery and its full event history."""
    record = find_invoice(session, tenant_id, invoice_id)
    deliveries = deliveries_of_invoice(session, tenant_id, record.id)
    events = _events_by_delivery(session, [d.id for d in deliveries])
    from gateway.services.inbound.pods import pod_summary, pods_for_invoice
    from gateway.services.payments.matching_runs import (
        invoice_payments,  # payments and pods build on this module
    )

    return {
        "id": record.id,
        "number": record.number,
        "document_type": record.document_type,
        "issue_date": record.issue_date.isoformat(),
        "due_date": record.due_date.isoformat() if record.due_date else None,
        "currency": record.currency,
        "payable_amount": record.payable_amount,
        "buyer_name": record.buyer_name,
        "receiver_id": record.receiver_id,
        "payment_reference": record.payment_reference,
        "created_at": record.created_at.isoformat(),
        "deliveries": [delivery_view(d, events[d.id]) for d in deliveries],
        "proofs_of_delivery": [pod_summary(pod) for pod in pods_for_invoice(session, tenant_id, record.id)],
        "payment": invoice_payments(session, record),
        "warnings": stored_invoice_warnings(record.payload),
        "credit_warning": _credit_warning(deliveries, events),
    }


def _credit_warning(deliveries: list[Delivery], events: dict[str, list[DeliveryEvent]]) -> Any:
    """What intake said about the customer's credit limit (kept on the first delivery's first event)."""
    from gateway.services.followup.credit import stored_credit_warning

    first = deliveries[0] if deliveries else None
    return stored_credit_warning(event_view(e) for e in events[first.id][:1]) if first else None


def stored_invoice_warnings(payload: str) -> list[dict[str, str]]:
    """The amounts an accepted invoice states within an official rule's tolerance (recomputed from the
    stored canonical JSON, so older invoices show theirs too)."""
    try:
        invoice = canonical_json.parse(payload)
    except FormatError:  # stored under older rules; nothing to warn about that intake did not check
        return []
    return [warning.as_dict() for warning in invoice.arithmetic_warnings]


def list_deliveries(
    session: Session,
    tenant_id: str | None,
    *,
    status: DeliveryStatus | None = None,
    channel: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[dict[str, Any]]:
    query = select(Delivery)
    if tenant_id is not None:
        query = query.where(col(Delivery.tenant_id) == tenant_id)
    if status is not None:
        query = query.where(col(Delivery.status) == status.value)
    if channel is not None:
        query = query.where(col(Delivery.channel) == channel)
    query = query.order_by(col(Delivery.updated_at).desc(), col(Delivery.id)).limit(limit).offset(offset)
    return [delivery_view(d) for d in session.execute(query).scalars()]


def status_counts(session: Session, tenant_id: str | None = None) -> dict[str, int]:
    query = select(col(Delivery.status), func.count()).group_by(col(Delivery.status))
    if tenant_id is not None:
        query = query.where(col(Delivery.tenant_id) == tenant_id)
    return {str(status): int(count) for status, count in session.execute(query)}


def find_delivery(session: Session, tenant_id: str | None, delivery_id: str) -> Delivery:
    delivery = session.get(Delivery, delivery_id)
    if delivery is None or (tenant_id is not None and delivery.tenant_id != tenant_id):
        raise NotFound(f"delivery {delivery_id} not found")
    return delivery


def find_invoice_delivery(session: Session, tenant_id: str, invoice_id: str, delivery_id: str) -> Delivery:
    """A delivery of this invoice: `NotFound` for one of another invoice or tenant, as for none at all."""
    delivery = find_delivery(session, tenant_id, delivery_id)
    if delivery.invoice_id != invoice_id:
        raise NotFound(f"delivery {delivery_id} is not a delivery of invoice {invoice_id}")
    return delivery


def resolve_delivery(session: Session, tenant_id: str | None, some_id: str) -> Delivery:
    """A delivery by its id, or an invoice's most recent delivery by the invoice id."""
    delivery = session.get(Delivery, some_id)
    if delivery is not None and (tenant_id is None or delivery.tenant_id == tenant_id):
        return delivery
    query = select(Delivery).where(col(Delivery.invoice_id) == some_id)
    if tenant_id is not None:
        query = query.where(col(Delivery.tenant_id) == tenant_id)
    latest = session.execute(query.order_by(col(Delivery.created_at).desc()).limit(1)).scalar_one_or_none()
    if latest is None:
        raise NotFound(f"no delivery or invoice {some_id}")
    return latest


def resend(
    session: Session,
    delivery: Delivery,
    *,
    actor: str,
    reason: str | None,
    channel: str | None = None,
    address: str | None = None,
    extra_documents: list[str] | None = None,
    details: dict[str, Any] | None = None,
) -> Delivery:
    """Send the same invoice again: a new attempt on the same delivery, or a new delivery elsewhere.

    The same channel (and address unless a new one is given) → the delivery's next attempt; the old
    attempt's events stay as they were. Another channel → a new delivery on that channel, its first event
    pointing back at the one it replaces. `extra_documents` (stored document ids, e.g. proofs of delivery)
    go with the new attempt only; without them an earlier attempt's extra documents are not sent again.
    `details` are added to the resend event's.
    """
    why = reason or "resend requested"
    if channel is None or channel == delivery.channel:
        changed = False
        if address is not None and address != delivery.address:
            delivery.address = address
            changed = True
        if (delivery.extra_documents or None) != (extra_documents or None):
            delivery.extra_documents = extra_documents or None
            changed = True
        if changed:
            session.add(delivery)
            session.flush()
        change_status(
            session,
            delivery,
            DeliveryStatus.QUEUED,
            actor=actor,
            reason=why,
            new_attempt=True,
            details={"resend": True, "address": delivery.address, **(details or {})},
        )
        session.refresh(delivery)
        return delivery
    resent = enqueue_delivery(
        session,
        invoice_id=delivery.invoice_id,
        tenant_id=delivery.tenant_id,
        channel=channel,
        address=address,
        chain_position=delivery.chain_position,
        actor=actor,
        reason=f"{why} (resend of delivery {delivery.id} via {channel})",
        details={"resend_of": delivery.id, **(details or {})},
    )
    if extra_documents:
        resent.extra_documents = extra_documents
        session.add(resent)
        session.flush()
    return resent


def release(session: Session, delivery: Delivery, *, actor: str, reason: str | None) -> Delivery:
    """A held delivery was reviewed: queue it (to leave when the tenant's sending window allows)."""
    if DeliveryStatus(delivery.status) is not DeliveryStatus.HELD:
        raise IllegalTransition(f"delivery {delivery.id} is {delivery.status}, not held: nothing to release")
    due = tenant_settings(session, delivery.tenant_id).due_at(delivery.channel, utcnow())
    change_status(
        session,
        delivery,
        DeliveryStatus.QUEUED,
        actor=actor,
        reason=reason or "released after review",
        next_attempt_at=due,
    )
    session.refresh(delivery)
    return delivery


def cancel_refusal(session: Session, delivery: Delivery) -> str | None:
    """Why `delivery` cannot be cancelled now, or None when it can: `cancel`'s refusal, said before asking
    (a delivered one has gone; a print document in a closed batch is being handed over)."""
    status = DeliveryStatus(delivery.status)
    if DeliveryStatus.CANCELLED not in TRANSITIONS[status]:
        return (
            f"delivery {delivery.id} is {status.value}: a delivery cannot go from {status.value} to cancelled"
        )
    batch_id = closed_batch_of(session, delivery)
    if batch_id is not None:
        return f"delivery {delivery.id} is in batch {batch_id}, which has closed and is being handed over"
    return None


def cancel(
    session: Session,
    delivery: Delivery,
    *,
    actor: str,
    reason: str,
    details: dict[str, Any] | None = None,
) -> Delivery:
    """Stop a delivery; a staged print document leaves its batch, unless the batch has already closed."""
    refusal = cancel_refusal(session, delivery)
    if refusal is not None:
        raise IllegalTransition(refusal)
    withdraw_from_open_batch(session, delivery)
    change_status(session, delivery, DeliveryStatus.CANCELLED, actor=actor, reason=reason, details=details)
    session.refresh(delivery)
    return delivery
