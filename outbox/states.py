"""Delivery states and the transitions between them.

A delivery moves forward only; every move is also written as a `DeliveryEvent`. A resend starts a new
attempt on the same delivery (`attempt` + 1), which is why `sent`, `delivered`, `deviation`, `failed` can
go back to `queued`: the old attempt's events stay as they were.
"""

from __future__ import annotations

from schemas.delivery import DeliveryStatus

__all__ = ["FINAL", "LEASED", "TRANSITIONS", "DeliveryStatus", "IllegalTransition", "check_transition"]


S = DeliveryStatus

#: Statuses a worker holds under a lease; a stale lease in these is taken over by another worker.
LEASED: frozenset[DeliveryStatus] = frozenset({S.RENDERING, S.SENDING})
#: Statuses that end an attempt (a resend may start another).
FINAL: frozenset[DeliveryStatus] = frozenset({S.DELIVERED, S.DEVIATION, S.FAILED, S.CANCELLED})

TRANSITIONS: dict[DeliveryStatus, frozenset[DeliveryStatus]] = {
    S.HELD: frozenset({S.QUEUED, S.CANCELLED}),
    S.QUEUED: frozenset({S.RENDERING, S.CANCELLED}),
    # rendering → queued: lease released on shutdown, or a retry after a transient rendering problem
    S.RENDERING: frozenset({S.SENDING, S.QUEUED, S.DEVIATION, S.FAILED, S.CANCELLED, S.RENDERING}),
    S.SENDING: frozenset({S.SENT, S.DELIVERED, S.QUEUED, S.DEVIATION, S.FAILED, S.RENDERING, S.BATCHED}),
    # batched → sent when the batch is handed over; deviation/failed when the batch gives up; cancelled
    # only while the batch has not closed (the batch service checks that)
    S.BATCHED: frozenset({S.SENT, S.DEVIATION, S.FAILED, S.CANCELLED}),
    # sent → deviation: a bounce, a rejection or a negative acknowledgement arrives later
    S.SENT: frozenset({S.DELIVERED, S.DEVIATION, S.QUEUED}),
    S.DELIVERED: frozenset({S.QUEUED, S.DEVIATION}),
    S.DEVIATION: frozenset({S.QUEUED, S.CANCELLED, S.DELIVERED}),
    S.FAILED: frozenset({S.QUEUED, S.CANCELLED}),
    S.CANCELLED: frozenset(),
}


class IllegalTransition(ValueError):
    """A status change the state machine does not allow (e.g. cancelling a delivered invoice)."""


def check_transition(current: DeliveryStatus, new: DeliveryStatus) -> None:
    if new not in TRANSITIONS[current]:
        raise IllegalTransition(f"a delivery cannot go from {current.value} to {new.value}")
