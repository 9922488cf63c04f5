"""A delivery that ended without reaching the receiver queues the next channel of the receiver's chain
(`gateway.services.outbound.fallback`, which receipts of later news use too)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from gateway.services.outbound.fallback import queue_next_channel
from gateway.worker.context import WorkerContext
from outbox.states import DeliveryStatus
from schemas.canonical import Invoice


def fall_back(
    context: WorkerContext,
    session: Session,
    delivery_id: str,
    invoice: Invoice,
    status: DeliveryStatus,
    reason: str,
) -> None:
    """Queue the receiver's next channel in its fallback chain, if it has one."""
    queue_next_channel(
        session,
        delivery_id,
        invoice,
        status,
        reason,
        default_channel=context.settings.default_channel,
        actor=context.worker_id,
    )
