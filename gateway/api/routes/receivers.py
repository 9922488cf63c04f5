"""Receiver profiles: which channel chain (preferred first, then fallbacks) reaches a receiver.

Every answer masks the profile's national identity number (`ReceiverProfileView`): a client that sent it
has it, and nobody reads it back through the API.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException

from channels import known_channels
from gateway.api.deps import IdentityDep, SessionDep
from gateway.api.errors import ErrorAnswer
from gateway.api.params import Limit, Offset
from gateway.api.views import ReceiverProfileView
from gateway.services.tenancy.tenants import get_receiver, list_receivers, masked_profile, put_receiver
from schemas.canonical import ReceiverProfile

router = APIRouter(tags=["receivers"])


@router.put("/receivers/{receiver_id}", response_model=ReceiverProfileView)
def put_receiver_profile(
    receiver_id: str, profile: ReceiverProfile, identity: IdentityDep, session: SessionDep
) -> dict[str, Any]:
    """Create or replace a profile. A consumer's (segment private, or a national_id) may name no channel:
    its invoices then take the tenant's `consumer_waterfall`."""
    if profile.receiver_id != receiver_id:
        raise HTTPException(422, "receiver_id in the body differs from the path")
    chain = [*([profile.preferred_channel] if profile.preferred_channel else []), *profile.fallback_channels]
    unknown = [channel for channel in chain if channel not in known_channels()]
    if unknown:
        raise HTTPException(422, f"unknown channel(s) in the chain: {unknown}")
    put_receiver(session, identity.tenant_id, profile)
    return {"tenant_id": identity.tenant_id, **masked_profile(profile)}


@router.get("/receivers", response_model=list[ReceiverProfileView])
def list_receiver_profiles(
    identity: IdentityDep,
    session: SessionDep,
    limit: Limit = 100,
    offset: Offset = 0,
) -> list[dict[str, Any]]:
    """The tenant's receiver profiles by receiver id, a page at a time; national identity numbers masked."""
    return [
        view.as_dict() for view in list_receivers(session, identity.tenant_id, limit=limit, offset=offset)
    ]


@router.get("/receivers/{receiver_id}", response_model=ReceiverProfileView)
def get_receiver_profile(receiver_id: str, identity: IdentityDep, session: SessionDep) -> dict[str, Any]:
    view = get_receiver(session, identity.tenant_id, receiver_id)
    if view is None:
        raise ErrorAnswer.one(404, "path.receiver_id", f"no receiver profile {receiver_id!r} for this tenant")
    return view.as_dict()
