"""Deliveries: list them, and an operator's actions on one (resend, release a held one, cancel)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from gateway.api.deps import IdentityDep, SessionDep
from gateway.api.params import Limit, Offset
from gateway.api.requests import CancelRequest, ResendRequest
from gateway.api.views import DeliveryPage, DeliveryView, ResentDeliveryView
from gateway.services.outbound import deliveries as delivery_service
from gateway.services.outbound.resend import settle_siblings, sibling_report
from outbox.states import DeliveryStatus

router = APIRouter(tags=["deliveries"])


@router.get("/deliveries")
def get_deliveries(
    identity: IdentityDep,
    session: SessionDep,
    status: DeliveryStatus | None = None,
    channel: Annotated[str | None, Query(max_length=50)] = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> DeliveryPage:
    items = delivery_service.list_deliveries(
        session, identity.tenant_id, status=status, channel=channel, limit=limit, offset=offset
    )
    return DeliveryPage.model_validate({"items": items, "limit": limit, "offset": offset})


@router.post("/deliveries/{delivery_id}/resend", status_code=202)
def resend_delivery(
    delivery_id: str, identity: IdentityDep, session: SessionDep, body: ResendRequest | None = None
) -> ResentDeliveryView:
    """Send again; the invoice's other deliveries still waiting are named (`warnings`), or cancelled with
    `cancel_others`."""
    body = body or ResendRequest()
    delivery = delivery_service.find_delivery(session, identity.tenant_id, delivery_id)
    resent = delivery_service.resend(
        session,
        delivery,
        actor=identity.actor,
        reason=body.reason,
        channel=body.channel,
        address=body.address,
    )
    siblings = settle_siblings(
        session, resent, actor=identity.actor, reason=body.reason, cancel_others=body.cancel_others
    )
    return ResentDeliveryView.model_validate(
        {**delivery_service.delivery_view(resent), **sibling_report(siblings)}
    )


@router.post("/deliveries/{delivery_id}/release")
def release_delivery(
    delivery_id: str, identity: IdentityDep, session: SessionDep, body: ResendRequest | None = None
) -> DeliveryView:
    """A person reviewed a held delivery: let it go (within the tenant's sending window)."""
    delivery = delivery_service.find_delivery(session, identity.tenant_id, delivery_id)
    released = delivery_service.release(
        session, delivery, actor=identity.actor, reason=body.reason if body else None
    )
    return DeliveryView.model_validate(delivery_service.delivery_view(released))


@router.post("/deliveries/{delivery_id}/cancel")
def cancel_delivery(
    delivery_id: str, body: CancelRequest, identity: IdentityDep, session: SessionDep
) -> DeliveryView:
    delivery = delivery_service.find_delivery(session, identity.tenant_id, delivery_id)
    cancelled = delivery_service.cancel(session, delivery, actor=identity.actor, reason=body.reason)
    return DeliveryView.model_validate(delivery_service.delivery_view(cancelled))
