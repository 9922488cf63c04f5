"""The statuses a delivery moves through; the allowed moves are the outbox's (`outbox.states`)."""

from __future__ import annotations

from enum import StrEnum


class DeliveryStatus(StrEnum):
    HELD = "held"  # waiting for a person to review and release it (tenant setting hold_for_review)
    QUEUED = "queued"
    RENDERING = "rendering"
    SENDING = "sending"
    BATCHED = "batched"  # checked and waiting in a batching channel's next batch (print: until the cut-off)
    SENT = "sent"
    DELIVERED = "delivered"
    DEVIATION = "deviation"
    FAILED = "failed"
    CANCELLED = "cancelled"
