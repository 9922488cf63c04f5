"""The claim/lease queue over the `deliveries` table.

A worker claims due deliveries with the outbox's lease primitive (`outbox.lease`): `queued` ones whose
time has come, and ones held in `rendering` or `sending` under a lease that has expired (their worker died
or stalled), which the claim takes over with a new token. Every write that ends or extends a hold names
the token and checks the lease is still live, so a stalled worker's late write is refused with
`LeaseLost` instead of overwriting the newer worker's result. Every status change is written as a history
row and handed to the status-change hooks (`outbox.hooks`) in the same transaction.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, insert, literal_column, update
from sqlalchemy.orm import Session

from db.models import Delivery, DeliveryEvent, new_id, utcnow
from db.models.outbox import DUE_STATUS, LEASED_STATUSES
from outbox import hooks
from outbox.lease import (
    Claimed,
    LeasedTable,
    LeasedWrite,
    LeaseLost,
    claim_due,
    write_many_under_lease,
    write_under_lease,
)
from outbox.states import LEASED, DeliveryStatus, check_transition
from outbox.wakeup import notify_new_work

__all__ = [
    "DELIVERY_LEASES",
    "Claim",
    "LeaseLost",
    "LeasedMove",
    "StaleStatus",
    "change_status",
    "claim_deliveries",
    "enqueue_delivery",
    "leased_transition",
    "leased_transitions",
    "note_event",
    "record_event",
    "record_events",
    "release_lease",
]

_deliveries = Delivery.__table__  # type: ignore[attr-defined]
_events = DeliveryEvent.__table__  # type: ignore[attr-defined]
#: Built once: constructing the statement per event cost a quarter of a worker's CPU (benchmarks/).
_INSERT_EVENT = insert(_events)
#: A delivery's lease: `lease_token`, `lease_expires_at`, `leased_by`, touched in `updated_at`.
DELIVERY_LEASES = LeasedTable(_deliveries, noun="delivery")


def _status_literal(status: DeliveryStatus) -> ColumnElement[str]:
    """A status written into the SQL text, not bound: a planner can use a partial index only when the
    query's WHERE implies its predicate (`ix_deliveries_due`, `ix_deliveries_leased`), and a bound
    `status = ?` proves nothing to SQLite or to a PostgreSQL generic plan. Only enum values pass here."""
    return literal_column(f"'{DeliveryStatus(status).value}'")


#: `status = 'queued'` and `status IN ('rendering', 'sending')`, spelled as the partial indexes' predicates.
_DUE = _deliveries.c.status == _status_literal(DUE_STATUS)
_HELD = _deliveries.c.status.in_([_status_literal(status) for status in LEASED_STATUSES])


class StaleStatus(RuntimeError):
    """The delivery changed since it was read (another actor moved it first); nothing changed."""


@dataclass(frozen=True)
class Claim:
    """A delivery held by one worker until `lease_expires_at`."""

    delivery_id: str
    invoice_id: str | None
    tenant_id: str
    channel: str
    format: str | None
    address: str | None
    attempt: int
    tries: int
    chain_position: int
    lease_token: str
    lease_expires_at: dt.datetime
    claimed_from: DeliveryStatus

    @property
    def taken_over(self) -> bool:
        """True when the previous holder's lease expired (it crashed or stalled mid-delivery)."""
        return self.claimed_from in LEASED


def event_row(
    *,
    delivery_id: str,
    invoice_id: str | None,
    tenant_id: str,
    attempt: int,
    from_status: DeliveryStatus | None,
    to_status: DeliveryStatus,
    actor: str,
    reason: str | None = None,
    channel_message_id: str | None = None,
    details: dict[str, Any] | None = None,
    at: dt.datetime | None = None,
) -> dict[str, Any]:
    """One history row as `record_events` inserts it."""
    return {
        "delivery_id": delivery_id,
        "invoice_id": invoice_id,
        "tenant_id": tenant_id,
        "attempt": attempt,
        "from_status": from_status.value if from_status else None,
        "to_status": to_status.value,
        "actor": actor,
        "reason": reason,
        "channel_message_id": channel_message_id,
        "details": details,
        "at": at or utcnow(),
    }


def record_events(session: Session, events: Sequence[dict[str, Any]]) -> None:
    """Append history rows (`event_row`) in one statement (executemany), then hand each status change to
    the status-change hooks in order, in the same transaction: a claim batch's events cost one round
    trip instead of one each."""
    if not events:
        return
    session.execute(_INSERT_EVENT, list(events))
    changes = [hooks.StatusChange(**event) for event in events if event["from_status"] != event["to_status"]]
    hooks.notify_all(session, changes)


def record_event(
    session: Session,
    *,
    delivery_id: str,
    invoice_id: str | None,
    tenant_id: str,
    attempt: int,
    from_status: DeliveryStatus | None,
    to_status: DeliveryStatus,
    actor: str,
    reason: str | None = None,
    channel_message_id: str | None = None,
    details: dict[str, Any] | None = None,
    at: dt.datetime | None = None,
) -> None:
    """Append one row to the delivery's history (never updated, never deleted).

    A status change is also handed to every status-change hook, in the same transaction (the gateway
    subscribes its deviation tracker and webhooks: `outbox.hooks`).
    """
    event = event_row(
        delivery_id=delivery_id,
        invoice_id=invoice_id,
        tenant_id=tenant_id,
        attempt=attempt,
        from_status=from_status,
        to_status=to_status,
        actor=actor,
        reason=reason,
        channel_message_id=channel_message_id,
        details=details,
        at=at,
    )
    record_events(session, [event])


def claim_deliveries(
    session: Session,
    *,
    worker_id: str,
    limit: int = 10,
    lease_seconds: float = 60.0,
    channels: Sequence[str] | None = None,
    now: dt.datetime | None = None,
) -> list[Claim]:
    """Claim up to `limit` due deliveries for `worker_id` and record a `rendering` event for each.

    Due means held under a lease that has expired (taken over first, oldest expiry first), or `queued`
    with `next_attempt_at` reached (oldest first). The caller commits the session; until then the rows stay
    locked (PostgreSQL) or the write lock is held (SQLite).
    """
    now = now or utcnow()
    c = _deliveries.c
    returning = [
        c.id,
        c.invoice_id,
        c.tenant_id,
        c.channel,
        c.format,
        c.address,
        c.attempt,
        c.tries,
        c.chain_position,
        c.claimed_from,
    ]
    where = [c.channel.in_(list(channels))] if channels is not None else []
    values = {"claimed_from": c.status, "status": DeliveryStatus.RENDERING.value}
    # two statements, each one ordered range of one partial index read only as far as `limit`: the
    # takeovers (oldest expiry first), then the queued (oldest due first). One statement ORing both made
    # the planners collect and sort every due row: all of a backlog, and every dead index entry.
    kinds: list[tuple[ColumnElement[bool] | None, ColumnElement[bool] | None, ColumnElement[Any]]] = [
        (None, _HELD, c.lease_expires_at),
        (_DUE & (c.next_attempt_at <= now), None, c.next_attempt_at),
    ]
    batches: list[Claimed] = []
    for ready, held, order in kinds:
        wanted = limit - sum(len(batch.rows) for batch in batches)
        if wanted <= 0:
            break
        batches.append(
            claim_due(
                session,
                DELIVERY_LEASES,
                ready=ready,
                held=held,
                where=where,
                order_by=[order],
                limit=wanted,
                lease_seconds=lease_seconds,
                now=now,
                holder=worker_id,
                values=values,
                returning=returning,
            )
        )
    claims = [
        Claim(
            delivery_id=row.id,
            invoice_id=row.invoice_id,
            tenant_id=row.tenant_id,
            channel=row.channel,
            format=row.format,
            address=row.address,
            attempt=row.attempt,
            tries=row.tries,
            chain_position=row.chain_position,
            lease_token=claimed.token,
            lease_expires_at=claimed.expires_at,
            claimed_from=DeliveryStatus(row.claimed_from),
        )
        for claimed in batches
        for row in claimed.rows
    ]
    record_events(  # one executemany for the batch's `rendering` events
        session,
        [
            event_row(
                delivery_id=claim.delivery_id,
                invoice_id=claim.invoice_id,
                tenant_id=claim.tenant_id,
                attempt=claim.attempt,
                from_status=claim.claimed_from,
                to_status=DeliveryStatus.RENDERING,
                actor=worker_id,
                reason="lease expired; taken over from a stalled or crashed worker"
                if claim.taken_over
                else None,
                at=now,
            )
            for claim in claims
        ],
    )
    return claims


def leased_transition(
    session: Session,
    claim: Claim,
    *,
    from_status: DeliveryStatus,
    to_status: DeliveryStatus,
    actor: str,
    reason: str | None = None,
    channel_message_id: str | None = None,
    details: dict[str, Any] | None = None,
    next_attempt_at: dt.datetime | None = None,
    tries: int | None = None,
    extend_lease_seconds: float | None = None,
    now: dt.datetime | None = None,
) -> Claim:
    """Move a claimed delivery on, only if `claim` still holds a live lease; returns the updated claim.

    With `extend_lease_seconds` the worker keeps the lease (e.g. `rendering → sending`); otherwise the
    lease is released. Raises `LeaseLost` when the token is stale or expired: nothing is written then.
    """
    check_transition(from_status, to_status)
    now = now or utcnow()
    keeps_lease = extend_lease_seconds is not None and to_status in LEASED
    values = _transition_values(to_status, now, reason, channel_message_id, next_attempt_at, tries)
    expires = write_under_lease(
        session,
        DELIVERY_LEASES,
        claim.delivery_id,
        claim.lease_token,
        now=now,
        values=values,
        where=[_deliveries.c.status == from_status.value],
        keep_for_seconds=(extend_lease_seconds or 0) if keeps_lease else None,
        refused=f"; the write {from_status.value} → {to_status.value} was refused",
    )
    record_event(
        session,
        delivery_id=claim.delivery_id,
        invoice_id=claim.invoice_id,
        tenant_id=claim.tenant_id,
        attempt=claim.attempt,
        from_status=from_status,
        to_status=to_status,
        actor=actor,
        reason=reason,
        channel_message_id=channel_message_id,
        details=details,
        at=now,
    )
    return Claim(
        delivery_id=claim.delivery_id,
        invoice_id=claim.invoice_id,
        tenant_id=claim.tenant_id,
        channel=claim.channel,
        format=claim.format,
        address=claim.address,
        attempt=claim.attempt,
        tries=tries if tries is not None else claim.tries,
        chain_position=claim.chain_position,
        lease_token=claim.lease_token,
        lease_expires_at=expires or now,
        claimed_from=claim.claimed_from,
    )


def _transition_values(
    to_status: DeliveryStatus,
    now: dt.datetime,
    reason: str | None,
    channel_message_id: str | None,
    next_attempt_at: dt.datetime | None,
    tries: int | None,
) -> dict[str, Any]:
    """The columns a leased transition writes besides the lease."""
    values: dict[str, Any] = {"status": to_status.value, "updated_at": now}
    if reason is not None and to_status in {
        DeliveryStatus.QUEUED,
        DeliveryStatus.FAILED,
        DeliveryStatus.DEVIATION,
    }:
        values["last_error"] = reason
    if channel_message_id is not None:
        values["channel_message_id"] = channel_message_id
    if next_attempt_at is not None:
        values["next_attempt_at"] = next_attempt_at
    if tries is not None:
        values["tries"] = tries
    return values


@dataclass(frozen=True)
class LeasedMove:
    """One claimed delivery's step in `leased_transitions`: `from_status → to_status`, the lease released.

    `via` records a status the delivery passes through in the same transaction (a synchronous channel's
    `sending`, with `via_details` in its event), so its history reads as if it had been written apart.
    """

    claim: Claim
    from_status: DeliveryStatus
    to_status: DeliveryStatus
    via: DeliveryStatus | None = None
    via_details: dict[str, Any] | None = None
    reason: str | None = None
    channel_message_id: str | None = None
    details: dict[str, Any] | None = None
    next_attempt_at: dt.datetime | None = None
    tries: int | None = None


def leased_transitions(
    session: Session, moves: Sequence[LeasedMove], *, actor: str, now: dt.datetime | None = None
) -> list[LeasedMove]:
    """`leased_transition` for many claimed deliveries in the caller's one transaction; the moves whose
    lease was lost (stale token, expired) are skipped, nothing written for them, and returned.

    Each row's update names its own lease token and status, as `leased_transition` does; the events of
    every move are inserted with one executemany and handed to the status-change hooks in order.
    """
    now = now or utcnow()
    writes: list[LeasedWrite] = []
    for move in moves:
        steps = [move.from_status, *([move.via] if move.via is not None else []), move.to_status]
        for before, after in itertools.pairwise(steps):
            check_transition(before, after)
        values = _transition_values(
            move.to_status, now, move.reason, move.channel_message_id, move.next_attempt_at, move.tries
        )
        claim = move.claim
        expect = {"status": move.from_status.value}
        writes.append(LeasedWrite(claim.delivery_id, claim.lease_token, values, expect))
    refused = set(write_many_under_lease(session, DELIVERY_LEASES, writes, now=now))
    lost = [move for position, move in enumerate(moves) if position in refused]
    events: list[dict[str, Any]] = []
    for position, move in enumerate(moves):
        if position in refused:
            continue
        claim = move.claim
        steps = [move.from_status, *([move.via] if move.via is not None else []), move.to_status]
        for number, (before, after) in enumerate(itertools.pairwise(steps), start=2):
            last = number == len(steps)
            events.append(
                event_row(
                    delivery_id=claim.delivery_id,
                    invoice_id=claim.invoice_id,
                    tenant_id=claim.tenant_id,
                    attempt=claim.attempt,
                    from_status=before,
                    to_status=after,
                    actor=actor,
                    reason=move.reason if last else None,
                    channel_message_id=move.channel_message_id if last else None,
                    details=move.details if last else move.via_details,
                    at=now,
                )
            )
    record_events(session, events)
    return lost


def release_lease(session: Session, claim: Claim, *, status: DeliveryStatus, actor: str, reason: str) -> None:
    """Hand a held delivery back to the queue untouched (graceful shutdown), due at once."""
    leased_transition(
        session,
        claim,
        from_status=status,
        to_status=DeliveryStatus.QUEUED,
        actor=actor,
        reason=reason,
        next_attempt_at=utcnow(),
    )
    notify_new_work(session)  # another worker may take it at once


def change_status(
    session: Session,
    delivery: Delivery,
    to_status: DeliveryStatus,
    *,
    actor: str,
    reason: str | None = None,
    channel_message_id: str | None = None,
    details: dict[str, Any] | None = None,
    new_attempt: bool = False,
    next_attempt_at: dt.datetime | None = None,
    now: dt.datetime | None = None,
) -> Delivery:
    """Move a delivery that no worker holds (an acknowledgement, a bounce, an operator's action).

    Optimistic: the update names the status the caller read, so two actors cannot both move the same
    delivery from the same state. `new_attempt` starts the next attempt (a resend): the attempt number
    goes up, tries start again at zero and the delivery is due at once.
    """
    current = DeliveryStatus(delivery.status)
    check_transition(current, to_status)
    if current in LEASED:
        raise StaleStatus(f"delivery {delivery.id} is being worked on ({current.value}); try again shortly")
    now = now or utcnow()
    attempt = delivery.attempt + 1 if new_attempt else delivery.attempt
    values: dict[str, Any] = {"status": to_status.value, "updated_at": now, "attempt": attempt}
    if new_attempt:
        values.update(tries=0, next_attempt_at=now, last_error=None, channel_message_id=None)
    if next_attempt_at is not None:
        values["next_attempt_at"] = next_attempt_at
    elif reason is not None and to_status in {DeliveryStatus.DEVIATION, DeliveryStatus.FAILED}:
        values["last_error"] = reason
    if channel_message_id is not None:
        values["channel_message_id"] = channel_message_id
    result = session.execute(
        update(_deliveries)
        .where(_deliveries.c.id == delivery.id, _deliveries.c.status == current.value)
        .values(**values)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise StaleStatus(f"delivery {delivery.id} changed since it was read; nothing was written")
    if to_status is DeliveryStatus.QUEUED and values.get("next_attempt_at", now) <= now:
        notify_new_work(session)  # a resend or a released hold: due now (else polling finds it)
    record_event(
        session,
        delivery_id=delivery.id,
        invoice_id=delivery.invoice_id,
        tenant_id=delivery.tenant_id,
        attempt=attempt,
        from_status=current,
        to_status=to_status,
        actor=actor,
        reason=reason,
        channel_message_id=channel_message_id,
        details=details,
        at=now,
    )
    session.expire(delivery)
    return delivery


def enqueue_delivery(
    session: Session,
    *,
    invoice_id: str | None,
    tenant_id: str,
    channel: str,
    actor: str,
    reason: str,
    address: str | None = None,
    format: str | None = None,
    chain_position: int = 0,
    details: dict[str, Any] | None = None,
    next_attempt_at: dt.datetime | None = None,
    status: DeliveryStatus = DeliveryStatus.QUEUED,
) -> Delivery:
    """A new delivery of an existing invoice on another channel (fallback or operator's choice), due now.

    `status` `held` makes it wait for a person's review (the tenant's `hold_for_review`)."""
    if status not in (DeliveryStatus.QUEUED, DeliveryStatus.HELD):
        raise ValueError(f"a new delivery starts queued or held, not {status.value}")
    now = utcnow()
    delivery = Delivery(
        id=new_id(),
        invoice_id=invoice_id,
        tenant_id=tenant_id,
        channel=channel,
        format=format,
        address=address,
        chain_position=chain_position,
        status=status,
        created_at=now,
        updated_at=now,
        next_attempt_at=next_attempt_at or now,
    )
    session.add(delivery)
    session.flush()
    if status is DeliveryStatus.QUEUED and delivery.next_attempt_at <= now:
        notify_new_work(session)
    record_event(
        session,
        delivery_id=delivery.id,
        invoice_id=invoice_id,
        tenant_id=tenant_id,
        attempt=1,
        from_status=None,
        to_status=status,
        actor=actor,
        reason=reason,
        details=details,
        at=now,
    )
    return delivery


def note_event(
    session: Session,
    delivery: Delivery,
    *,
    actor: str,
    reason: str | None,
    details: dict[str, Any] | None = None,
) -> None:
    """Something happened to a delivery that does not change its status (an IP response, a delay notice)."""
    current = DeliveryStatus(delivery.status)
    record_event(
        session,
        delivery_id=delivery.id,
        invoice_id=delivery.invoice_id,
        tenant_id=delivery.tenant_id,
        attempt=delivery.attempt,
        from_status=current,
        to_status=current,
        actor=actor,
        reason=reason,
        details=details,
    )
