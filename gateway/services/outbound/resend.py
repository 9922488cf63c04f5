"""Resend an invoice, optionally with its proofs of delivery: the operator's answer to "it never came".

The invoice's latest delivery (or its delivery on the asked channel) is sent again: on the same channel as
its next attempt, on another channel as a new delivery. With `with_pod` the documents of the proofs of
delivery linked to the invoice travel with that attempt (`Delivery.extra_documents`); the worker appends
them to a PDF, embeds them in EHF or hands them to the channel beside the document. The resend event
records who asked, why, and what went along.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlmodel import col

from channels import channel_class
from db.models import Delivery
from gateway.services.inbound.pods import pods_for_invoice
from gateway.services.outbound import deliveries
from outbox.states import LEASED, DeliveryStatus, check_transition


class ResendRefused(RuntimeError):
    """The delivery cannot be sent again now (being worked on, waiting in a batch, …); nothing changed."""


class NoProofOfDelivery(ResendRefused):
    """A resend with proof of delivery was asked for, and the invoice has none with a document."""


#: POD kinds whose file travels with a resend (appended to a PDF, embedded in EHF, or beside the document).
SENDABLE_KINDS = frozenset({"pdf", "jpeg", "png"})
#: A document waiting for a print batch is the batch's now; a resend would print it twice.
_BUSY = LEASED | {DeliveryStatus.BATCHED}


def pick_delivery(session: Session, tenant_id: str, invoice_id: str, channel: str | None) -> Delivery:
    """The invoice's delivery on `channel` if it has one, else its latest delivery."""
    deliveries.find_invoice(session, tenant_id, invoice_id)
    query = select(Delivery).where(
        col(Delivery.invoice_id) == invoice_id, col(Delivery.tenant_id) == tenant_id
    )
    newest_first = query.order_by(col(Delivery.created_at).desc(), col(Delivery.id).desc())
    if channel is not None:
        on_channel = session.execute(
            newest_first.where(col(Delivery.channel) == channel).limit(1)
        ).scalar_one_or_none()
        if on_channel is not None:
            return on_channel
    latest = session.execute(newest_first.limit(1)).scalar_one_or_none()
    if latest is None:
        raise deliveries.NotFound(f"invoice {invoice_id} has no delivery to send again")
    return latest


def pod_documents(session: Session, tenant_id: str, invoice_id: str) -> tuple[list[str], list[str]]:
    """The ids of the invoice's linked proofs of delivery with a signed document or photo, and the stored
    document ids of those files (a transport status is data for the history, not a page to send)."""
    pods = [
        pod
        for pod in pods_for_invoice(session, tenant_id, invoice_id)
        if pod.document_id and pod.kind in SENDABLE_KINDS
    ]
    pod_ids = [pod.id for pod in pods]
    document_ids = list(dict.fromkeys(pod.document_id for pod in pods if pod.document_id))
    return pod_ids, document_ids


def resend_delivery(
    session: Session,
    delivery: Delivery,
    *,
    actor: str,
    reason: str | None,
    with_pod: bool,
    channel: str | None,
    address: str | None,
) -> Delivery:
    """Send `delivery`'s invoice again (see the module doc); raises before writing anything when refused."""
    status = DeliveryStatus(delivery.status)
    if status in _BUSY:
        raise ResendRefused(
            f"delivery {delivery.id} is {status.value}: "
            + ("waiting in a print batch" if status is DeliveryStatus.BATCHED else "being worked on")
            + "; try again when it has finished"
        )
    if channel is None or channel == delivery.channel:
        check_transition(status, DeliveryStatus.QUEUED)  # IllegalTransition: already queued, cancelled
    else:
        channel_class(channel)  # UnknownChannel / ChannelUnavailable before anything changes
    pod_ids: list[str] = []
    document_ids: list[str] = []
    if with_pod:
        pod_ids, document_ids = pod_documents(session, delivery.tenant_id, delivery.invoice_id or "")
        if not document_ids:
            raise NoProofOfDelivery(
                f"no proof of delivery linked to invoice {delivery.invoice_id} "
                "(or none with a document to send)"
            )
    why = reason or ("resend with proof of delivery" if with_pod else "resend requested")
    details: dict[str, Any] = {
        "with_pod": with_pod,
        "pod_ids": pod_ids,
        "extra_documents": document_ids,
        "channel": channel or delivery.channel,
        "address": address if address is not None else delivery.address,
        "reason": why,
        "requested_by": actor,
    }
    return deliveries.resend(
        session,
        delivery,
        actor=actor,
        reason=why,
        channel=channel,
        address=address,
        extra_documents=document_ids,
        details=details,
    )


def resend_invoice(
    session: Session,
    tenant_id: str,
    invoice_id: str,
    *,
    actor: str,
    reason: str | None,
    with_pod: bool,
    channel: str | None,
    address: str | None,
) -> Delivery:
    """Send an invoice again: its delivery on `channel` (else its latest) gets the next attempt, or a new
    delivery on `channel` is made; `with_pod` sends the linked proofs of delivery with it."""
    delivery = pick_delivery(session, tenant_id, invoice_id, channel)
    return resend_delivery(
        session,
        delivery,
        actor=actor,
        reason=reason,
        with_pod=with_pod,
        channel=channel,
        address=address,
    )
