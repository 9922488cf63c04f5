"""Which channel, address and format an invoice goes out through.

An invoice's chain of channels (tried in turn: the next one when a delivery ends without reaching the
receiver) comes from the first of these that applies:

1. `routing.channel` on the invoice: that one channel, no fallbacks (an explicit choice wins).
2. `routing.receiver_id`: that receiver profile's `preferred_channel` + `fallback_channels`; a consumer's
   profile may name no channel, and then its chain is (3).
3. A consumer — a receiver profile that is one (segment `private`, or a `national_id`), or an invoice
   without a profile whose `routing.national_id` names the buyer — takes the tenant's `consumer_waterfall`
   (e.g. efaktura → digipost → print).
4. Otherwise, and for a consumer whose tenant has no waterfall: the gateway's default channel alone.

The chain is read anew at every step (intake, each fallback), like a receiver profile: a tenant who edits
its waterfall while an invoice is on its way changes that invoice's remaining steps.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlmodel import col

from channels import UnknownChannel, known_channels
from db.models import Receiver
from schemas.canonical import Invoice, ReceiverProfile

#: Where a chain came from, as the delivery history names it.
EXPLICIT = "the invoice's routing.channel"
PROFILE = "the receiver profile"
WATERFALL = "the tenant's consumer waterfall"
DEFAULT = "the default channel"
CONSUMER_DEFAULT = "the default channel (the tenant has no consumer waterfall)"


@dataclass(frozen=True)
class Route:
    channel: str
    address: str | None
    format: str | None
    chain_position: int
    chain_length: int = 1
    source: str = DEFAULT

    def describe(self) -> str:
        """The step as the history shows it: `step 2 of 3 of the tenant's consumer waterfall`."""
        return f"step {self.chain_position + 1} of {self.chain_length} of {self.source}"


@dataclass(frozen=True)
class Chain:
    """The channels an invoice tries in turn, and where that list came from."""

    channels: tuple[str, ...]
    source: str
    field: str  # what a person fixes when a channel in it is unknown


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


def chain_of(profile: ReceiverProfile, consumer_waterfall: Sequence[str] = ()) -> list[str]:
    """The profile's own chain; for a consumer's profile that names none, the tenant's waterfall."""
    if profile.preferred_channel is None:
        return list(consumer_waterfall)
    return [profile.preferred_channel, *profile.fallback_channels]


def is_consumer_invoice(invoice: Invoice, profile: ReceiverProfile | None) -> bool:
    """The buyer is a private person: its receiver profile says so, or (without one) the invoice names its
    national identity number."""
    if profile is not None:
        return profile.is_consumer
    return bool(invoice.routing and invoice.routing.national_id)


def chain_for(
    invoice: Invoice,
    profile: ReceiverProfile | None,
    default_channel: str,
    consumer_waterfall: Sequence[str] = (),
) -> Chain:
    """The invoice's chain (see the module's docstring). A receiver id with no stored profile is a
    `RoutingError`: silently using the default would send to the wrong place."""
    routing = invoice.routing
    if routing and routing.channel:
        return Chain((routing.channel,), EXPLICIT, "routing.channel")
    if routing and routing.receiver_id:
        if profile is None:
            raise RoutingError(
                "routing.receiver_id", f"no receiver profile {routing.receiver_id!r} for this tenant"
            )
        if profile.preferred_channel is not None:
            return Chain(tuple(chain_of(profile)), PROFILE, f"receiver {profile.receiver_id} channel")
    if is_consumer_invoice(invoice, profile):
        if consumer_waterfall:
            return Chain(tuple(consumer_waterfall), WATERFALL, "consumer_waterfall")
        return Chain((default_channel,), CONSUMER_DEFAULT, "default_channel")
    return Chain((default_channel,), DEFAULT, "default_channel")


def route_for(
    invoice: Invoice,
    profile: ReceiverProfile | None,
    default_channel: str,
    position: int = 0,
    consumer_waterfall: Sequence[str] = (),
) -> Route | None:
    """The route at `position` in the invoice's chain (0 = the first); None when the chain is exhausted.

    The invoice's own `routing.address` and `routing.format` go to the first step only; the later steps
    (and the first, when the invoice names none) take the receiver profile's address and format for their
    channel, where it has one.
    """
    chain = chain_for(invoice, profile, default_channel, consumer_waterfall)
    if position >= len(chain.channels):
        return None
    channel = chain.channels[position]
    if chain.source != DEFAULT:  # the default channel is the gateway's own setting, checked at start
        _check_known(channel, chain.field)
    routing = invoice.routing
    own_address = routing.address if routing and position == 0 else None
    own_format = routing.format if routing and position == 0 else None
    from_profile = profile if chain.source != EXPLICIT else None  # an explicit channel is all the invoice's
    profile_address = from_profile.addresses.get(channel) if from_profile is not None else None
    profile_format = from_profile.formats.get(channel) if from_profile is not None else None
    return Route(
        channel,
        own_address or profile_address,
        own_format or profile_format,
        position,
        chain_length=len(chain.channels),
        source=chain.source,
    )


def waterfall_problems(consumer_waterfall: Sequence[str]) -> list[dict[str, str]]:
    """`{field, reason}` for each name in a tenant's consumer waterfall that is no known channel (repeats
    are the settings model's to refuse): checked when the tenant sets it, so no invoice finds out later."""
    return [
        {"field": f"consumer_waterfall.{index}", "reason": str(UnknownChannel(name))}
        for index, name in enumerate(consumer_waterfall)
        if name not in known_channels()
    ]


def _check_known(channel: str, field: str) -> None:
    if channel not in known_channels():
        raise RoutingError(field, str(UnknownChannel(channel)))
