"""Test helpers on a real outbox: move a delivery to `sent` as a worker does, read it and its events."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from sqlalchemy import Engine, select
from sqlmodel import col

from db.engine import session_scope
from db.models import Delivery, DeliveryEvent
from outbox.queue import claim_deliveries, leased_transition
from outbox.states import DeliveryStatus as S


def take_to_sent(
    engine: Engine,
    delivery_id: str,
    message_id: Callable[[int], str],
    *,
    channels: Sequence[str] | None = None,
) -> None:
    """Claim the queued delivery and take it to `sent`; `message_id(attempt)` is the channel's id for it."""
    with session_scope(engine) as session:
        [claim] = claim_deliveries(session, worker_id="w", limit=50, channels=channels)
        assert claim.delivery_id == delivery_id
        claim = leased_transition(
            session, claim, from_status=S.RENDERING, to_status=S.SENDING, actor="w", extend_lease_seconds=30
        )
        leased_transition(
            session,
            claim,
            from_status=S.SENDING,
            to_status=S.SENT,
            actor="w",
            channel_message_id=message_id(claim.attempt),
        )


def delivery_row(engine: Engine, delivery_id: str) -> Delivery:
    with session_scope(engine) as session:
        delivery = session.get(Delivery, delivery_id)
        assert delivery is not None
        return delivery


def delivery_events(engine: Engine, delivery_id: str) -> list[DeliveryEvent]:
    with session_scope(engine) as session:
        return list(
            session.execute(
                select(DeliveryEvent)
                .where(col(DeliveryEvent.delivery_id) == delivery_id)
                .order_by(col(DeliveryEvent.id))
            ).scalars()
        )
