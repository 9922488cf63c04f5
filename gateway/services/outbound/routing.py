"""Which channel, address and format an invoice goes out through."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlmodel import col

from channels import UnknownChannel, known_channels
from db.models import Receiver
from schemas.canonical import Invoice, ReceiverProfile


@dataclass(frozen=True)
class Route:
    channel: str
    address: str | None
    format: str | None
    chain_position: int


class RoutingError(ValueError):
    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


def load_profiles(session: Session, tenant_id: str, receiver_ids: set[str]) -> dict[str, ReceiverProfile]:
    if not receiver_ids:
        return {}
    rows = session.execute(
        select(col(Receiver.profile)).where(
            col(Receiver.tenant_id) == tenant_id,
            col(Receiver.receiver_id).in_(sorted(receiver_ids)),
        )
    ).scalars()
    profiles = [ReceiverProfile.model_validate(row) for row in rows]
    return {profile.receiver_id: profile for profile in profiles}


def chain_of(profile: ReceiverProfile) -> list[str]:
    return [profile.preferred_channel, *profile.fallback_channels]


def route_for(
    invoice: Invoice, profile: ReceiverProfile | None, default_channel: str, position: int = 0
) -> Route | None:
    """The route at `position` in the receiver's chain (0 = preferred); None when the chain is exhausted.

    An explicit channel on the invoice (`routing.channel`) wins and has no fallbacks. A receiver id with
    no stored profile is a `RoutingError`: silently using the default would send to the wrong place.
    """
    routing = invoice.routing
    if routing and routing.channel:
        if position > 0:
            return None
        _check_known(routing.channel, "routing.channel")
        return Route(routing.channel, routing.address, routing.format, 0)
    if routing and routing.receiver_id:
        if profile is None:
            raise RoutingError(
                "routing.receiver_id", f"no receiver profile {routing.receiver_id!r} for this tenant"
            )
        chain = chain_of(profile)
        if position >= len(chain):
            return None
        channel = chain[position]
        _check_known(channel, f"receiver {profile.receiver_id} channel")
        address = routing.address if position == 0 and routing.address else profile.addresses.get(channel)
        fmt = (routing.format if position == 0 and routing.format else None) or profile.formats.get(channel)
        return Route(channel, address, fmt, position)
    if position > 0:
        return None
    return Route(
        default_channel, routing.address if routing else None, routing.format if routing else None, 0
    )


def _check_known(channel: str, field: str) -> None:
    if channel not in known_channels():
        raise RoutingError(field, str(UnknownChannel(channel)))
