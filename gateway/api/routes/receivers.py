"""Receiver profiles: which channel chain (preferred first, then fallbacks) reaches a receiver."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException

from channels import known_channels
from gateway.api.deps import IdentityDep, SessionDep
from gateway.services.tenancy.tenants import put_receiver
from schemas.canonical import ReceiverProfile

router = APIRouter(tags=["receivers"])


@router.put("/receivers/{receiver_id}")
def put_receiver_profile(
    receiver_id: str, profile: ReceiverProfile, identity: IdentityDep, session: SessionDep
) -> ReceiverProfile:
    if profile.receiver_id != receiver_id:
        raise HTTPException(422, "receiver_id in the body differs from the path")
    chain = [profile.preferred_channel, *profile.fallback_channels]
    unknown = [channel for channel in chain if channel not in known_channels()]
    if unknown:
        raise HTTPException(422, f"unknown channel(s) in the chain: {unknown}")
    put_receiver(session, identity.tenant_id, profile)
    return profile
