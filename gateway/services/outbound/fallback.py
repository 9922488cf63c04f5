"""A delivery that ended without reaching the receiver queues the next channel of the receiver's chain.

Shared by the worker (a send that failed) and by intake of later news (an eFaktura receipt saying the
consumer withdrew consent): the same chain, the same one-delivery-per-position rule. A follow-up notice's
delivery (no invoice) goes on along the same chain through `fall_back_document`, which hands it to the
notices (`gateway.services.followup.notices.fall_back_notice`: they know which steps carry a notice).
"""

from __future__ import annotations

import logging

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlmodel import col

from channels.context import DocumentKind
from db.models import Delivery, utcnow
from gateway.services.outbound.routing import RoutingError, load_profiles, route_for
from gateway.services.tenancy.tenants import tenant_settings
from outbox.queue import enqueue_delivery
from outbox.states import DeliveryStatus
from schemas.canonical import Invoice
from schemas.national_id import mask_national_ids

log = logging.getLogger("gateway.fallback")


def queue_next_channel(
    session: Session,
    delivery_id: str,
    invoice: Invoice,
    status: DeliveryStatus,
    reason: str,
    *,
    default_channel: str,
    actor: str,
) -> str | None:
    """Queue the next channel of the invoice's chain (the receiver's fallbacks, or the tenant's consumer
    waterfall), if there is one; the channel queued. The new delivery's first event names the channel that
    gave up, why, and which step of which chain comes next; a national identity number a channel put in its
    reason is masked there, since the history is shown to people and sent in webhooks."""
    delivery = session.get(Delivery, delivery_id)
    if delivery is None:
        return None
    receiver_id = invoice.routing.receiver_id if invoice.routing else None
    profile = (
        load_profiles(session, delivery.tenant_id, {receiver_id}).get(receiver_id or "")
        if receiver_id
        else None
    )
    settings = tenant_settings(session, delivery.tenant_id)
    try:
        route = route_for(
            invoice, profile, default_channel, delivery.chain_position + 1, settings.consumer_waterfall
        )
    except RoutingError as error:
        log.warning("%s: no fallback for %s: %s", actor, delivery.id, error)
        return None
    if route is None:
        return None
    already = session.execute(
        select(col(Delivery.id)).where(
            col(Delivery.invoice_id) == delivery.invoice_id,
            col(Delivery.chain_position) == route.chain_position,
        )
    ).first()
    if already is not None:
        return None
    enqueue_delivery(
        session,
        invoice_id=delivery.invoice_id,
        tenant_id=delivery.tenant_id,
        channel=route.channel,
        format=route.format,
        address=route.address,
        chain_position=route.chain_position,
        actor=actor,
        reason=f"fallback: {delivery.channel} ended {status.value} ({mask_national_ids(reason)}); "
        f"next {route.channel}, {route.describe()}",
        details={"fallback_of": delivery.id},
        next_attempt_at=settings.due_at(route.channel, utcnow()),
    )
    return route.channel


def fall_back_document(
    session: Session,
    delivery_id: str,
    status: DeliveryStatus,
    reason: str,
    *,
    default_channel: str,
    actor: str,
) -> str | None:
    """The next channel for a delivery that carries a document other than an invoice, when that kind of
    document has a chain (a follow-up notice whose delivery `failed`); the channel queued. An EDI
    acknowledgement has no chain, nor has a notice whose delivery needs a person (deviation)."""
    delivery = session.get(Delivery, delivery_id)
    if (
        delivery is None
        or delivery.document_kind != DocumentKind.REMINDER.value
        or status is not (DeliveryStatus.FAILED)
    ):
        return None
    from gateway.services.followup.notices import fall_back_notice  # the notices build on this package

    return fall_back_notice(
        session, delivery_id, status, reason, default_channel=default_channel, actor=actor
    )
