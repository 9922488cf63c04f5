"""AvtaleGiro in the outbox: payers' mandates from Nets' agreements files, and withdrawn claims.

Mandates: Nets tells the payee in an agreements file which payers signed (or changed) a mandate for a KID
and which ended one; `import_mandates` keeps the latest word per tenant and KID (a deleted mandate keeps
its row, `deleted`). Before each send on the `avtalegiro` channel the gateway looks the invoice's KID up
(`mandate_answer`, the channel's `ChannelNeed.AVTALEGIRO_MANDATE`): the channel opens no database.

Cancellations: a claim already handed over in a claim file can be withdrawn until its due date
(`queue_cancellation`, from `gateway avtalegiro cancel`). The withdrawal is a copy of the claim as it went
(kept with the claim's batch item) and waits for the next claim file: when the worker closes batches it
fixes the waiting withdrawals into the batch closing for the same tenant and agreement, or into a batch of
their own (`close_cancellations`); the channel writes them as cancellation records; the hand-over marks
them `sent` (`record_cancellations_sent`). Every step is an event in the delivery's history.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session
from sqlmodel import col

from channels.base import OutboundDelivery, Retry
from channels.context import ClaimCancellation, MandateAnswer, MandateInfo
from db.engine import session_scope
from db.models import AvtaleGiroCancellation, AvtaleGiroMandate, Batch, BatchItem, Delivery, utcnow
from gateway.services.outbound.batches import add_closed_batch
from gateway.services.tenancy.tenants import ensure_tenant
from mappings.consumer.avtalegiro_agreements import AgreementsFile
from mappings.consumer.avtalegiro_agreements import parse as parse_agreements
from outbox.queue import note_event
from outbox.states import DeliveryStatus
from schemas.canonical import Invoice

CHANNEL = "avtalegiro"
#: Nets works in Norwegian time: a due date "has come" by the Oslo calendar.
NETS_ZONE = ZoneInfo("Europe/Oslo")

S = DeliveryStatus


class CancellationRefused(ValueError):
    """A claim that cannot be withdrawn (not found, not handed over yet, due, already withdrawn)."""


# --- mandates ---------------------------------------------------------------------------------------------


@dataclass
class MandateImport:
    """What one agreements file changed: per mandate new / updated / deleted / unchanged."""

    source_file: str | None
    account: str
    nets_date: str | None
    new: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "source_file": self.source_file,
            "account": self.account,
            "nets_date": self.nets_date,
            "new": len(self.new),
            "updated": len(self.updated),
            "deleted": len(self.deleted),
            "unchanged": len(self.unchanged),
        }


def import_mandates(
    session: Session,
    tenant_id: str,
    data: bytes,
    *,
    source_file: str | None,
    now: dt.datetime | None = None,
) -> MandateImport:
    """Apply Nets' agreements file to the tenant's mandates; `FormatError` (naming the line) for a file
    that is not one. A full list (registration type 0) also ends the active mandates it leaves out."""
    read: AgreementsFile = parse_agreements(data)
    now = now or utcnow()
    ensure_tenant(session, tenant_id)
    existing = {
        row.kid: row
        for row in session.execute(
            select(AvtaleGiroMandate).where(col(AvtaleGiroMandate.tenant_id) == tenant_id)
        ).scalars()
    }
    result = MandateImport(source_file, read.account, read.nets_date.isoformat() if read.nets_date else None)
    for update in read.mandates:
        row = existing.get(update.kid)
        if row is None:
            row = AvtaleGiroMandate(
                tenant_id=tenant_id,
                kid=update.kid,
                status=update.status,
                notify=update.notify,
                registration=update.registration,
                source_file=source_file,
                created_at=now,
                updated_at=now,
            )
            existing[update.kid] = row
            session.add(row)
            (result.deleted if update.status == "deleted" else result.new).append(update.kid)
            continue
        if (row.status, row.notify) == (update.status, update.notify):
            result.unchanged.append(update.kid)
            continue
        target = result.deleted if update.status == "deleted" else result.updated
        target.append(update.kid)
        row.status, row.notify, row.registration = update.status, update.notify, update.registration
        row.source_file, row.updated_at = source_file, now
        session.add(row)
    if read.complete:
        listed = {update.kid for update in read.mandates}
        for kid, row in existing.items():
            if kid not in listed and row.status == "active":
                row.status, row.registration, row.source_file, row.updated_at = (
                    "deleted",
                    "not in the full list",
                    source_file,
                    now,
                )
                session.add(row)
                result.deleted.append(kid)
    session.flush()
    return result


def mandate_info(session: Session, tenant_id: str, kid: str) -> MandateInfo | None:
    """The tenant's mandate for `kid` as the agreements files last said, or None when there never was one."""
    row = session.execute(
        select(AvtaleGiroMandate).where(
            col(AvtaleGiroMandate.tenant_id) == tenant_id, col(AvtaleGiroMandate.kid) == kid
        )
    ).scalar_one_or_none()
    if row is None:
        return None
    return MandateInfo(row.kid, row.status, row.notify, row.updated_at, row.source_file)


def marked_for_mandate(engine: Engine, tenant_id: str, invoice: Invoice) -> Invoice:
    """`invoice` with the AvtaleGiro marker on the payment means that carries its KID when Nets reported an
    active mandate for that KID (the payer's bank then pays it on the due date); unchanged otherwise, and
    an ERP's own marker is never taken away."""
    kid = invoice.kid
    if not kid or any(means.avtalegiro for means in invoice.payment_means):
        return invoice
    with session_scope(engine) as session:
        mandate = mandate_info(session, tenant_id, kid)
    if mandate is None or not mandate.active:
        return invoice
    means = [
        m.model_copy(update={"avtalegiro": True, "text": None}) if m.payment_id == kid else m
        for m in invoice.payment_means
    ]
    return invoice.model_copy(update={"payment_means": means})


def mandate_answer(engine: Engine, delivery: OutboundDelivery) -> MandateAnswer | Retry:
    """The gateway's answer about the mandate for the delivery's invoice KID (prepared before the send)."""
    kid = delivery.invoice.kid if delivery.invoice is not None else None
    if not kid:
        return MandateAnswer(kid=None, mandate=None)
    try:
        with Session(engine) as session:
            return MandateAnswer(kid=kid, mandate=mandate_info(session, delivery.tenant_id, kid))
    except SQLAlchemyError as error:
        return Retry(f"AvtaleGiro mandates unavailable: {type(error).__name__}")


def mandate_view(row: AvtaleGiroMandate) -> dict[str, Any]:
    return {
        "kid": row.kid,
        "status": row.status,
        "notify": row.notify,
        "registration": row.registration,
        "source_file": row.source_file,
        "created_at": row.created_at.isoformat(),
        "updated_at": row.updated_at.isoformat(),
    }


def list_mandates(
    session: Session, tenant_id: str, *, kid: str | None = None, status: str | None = None, limit: int = 100
) -> list[dict[str, Any]]:
    """The tenant's mandates by KID (optionally one KID, or one status)."""
    query = (
        select(AvtaleGiroMandate)
        .where(col(AvtaleGiroMandate.tenant_id) == tenant_id)
        .order_by(col(AvtaleGiroMandate.kid))
        .limit(limit)
    )
    if kid is not None:
        query = query.where(col(AvtaleGiroMandate.kid) == kid)
    if status is not None:
        query = query.where(col(AvtaleGiroMandate.status) == status)
    return [mandate_view(row) for row in session.execute(query).scalars()]


# --- cancellations ----------------------------------------------------------------------------------------


def _delivery_of(
    session: Session, tenant_id: str | None, delivery_or_invoice_id: str, channel: str
) -> Delivery:
    delivery = session.get(Delivery, delivery_or_invoice_id)
    if delivery is None:
        candidates = list(
            session.execute(
                select(Delivery)
                .where(
                    col(Delivery.invoice_id) == delivery_or_invoice_id,
                    col(Delivery.channel) == channel,
                )
                .order_by(col(Delivery.created_at).desc())
            ).scalars()
        )
        delivery = candidates[0] if candidates else None
    if delivery is None or (tenant_id is not None and delivery.tenant_id != tenant_id):
        raise CancellationRefused(
            f"no {channel} delivery or invoice {delivery_or_invoice_id!r}"
            + (f" for tenant {tenant_id!r}" if tenant_id else "")
        )
    if delivery.channel != channel:
        raise CancellationRefused(
            f"delivery {delivery.id} goes by {delivery.channel}, not {channel}: only an AvtaleGiro claim "
            "is withdrawn with a cancellation record"
        )
    return delivery


def queue_cancellation(
    session: Session,
    tenant_id: str | None,
    delivery_or_invoice_id: str,
    *,
    cutoff_for: Callable[[str], dt.datetime],
    actor: str,
    channel: str = CHANNEL,
    now: dt.datetime | None = None,
) -> AvtaleGiroCancellation:
    """Withdraw a claim already handed over: a cancellation record waits for the next claim file (the
    batch closing at `cutoff_for(tenant)`, the channel's next cut-off for the delivery's tenant).
    `CancellationRefused` says why not: not an AvtaleGiro delivery, not handed over yet, its due date has
    come, or already withdrawn."""
    now = now or utcnow()
    delivery = _delivery_of(session, tenant_id, delivery_or_invoice_id, channel)
    status = DeliveryStatus(delivery.status)
    if status is S.BATCHED:
        raise CancellationRefused(
            f"delivery {delivery.id} has not been handed over yet (it waits in a batch): withdraw it with "
            "`gateway cancel` instead, no cancellation record is needed"
        )
    if status not in (S.SENT, S.DELIVERED):
        raise CancellationRefused(
            f"delivery {delivery.id} is {status.value}: only a claim handed over to Nets is cancelled"
        )
    item = session.execute(
        select(BatchItem).where(
            col(BatchItem.delivery_id) == delivery.id,
            col(BatchItem.attempt) == delivery.attempt,
            col(BatchItem.batch_id).is_not(None),
        )
    ).scalar_one_or_none()
    if item is None or "kid" not in item.meta:
        raise CancellationRefused(f"delivery {delivery.id}: no claim file is known to have carried it")
    due_date = dt.date.fromisoformat(str(item.meta["due_date"]))
    today = now.astimezone(NETS_ZONE).date()
    if due_date <= today:
        raise CancellationRefused(
            f"delivery {delivery.id}: the claim's due date {due_date.isoformat()} has come; a claim is "
            "cancelled before its due date only"
        )
    earlier = session.execute(
        select(AvtaleGiroCancellation).where(
            col(AvtaleGiroCancellation.delivery_id) == delivery.id,
            col(AvtaleGiroCancellation.attempt) == delivery.attempt,
        )
    ).scalar_one_or_none()
    if earlier is not None:
        raise CancellationRefused(
            f"delivery {delivery.id}: its claim was withdrawn already ({earlier.status}, "
            f"{earlier.created_at.isoformat()})"
        )
    if item.invoice_id is None:  # batch items without an invoice are notices' letters, never claims
        raise CancellationRefused(f"delivery {delivery.id} carries no invoice: it is no AvtaleGiro claim")
    due_at = cutoff_for(delivery.tenant_id)
    row = AvtaleGiroCancellation(
        tenant_id=delivery.tenant_id,
        channel=delivery.channel,
        batch_key=item.batch_key,
        delivery_id=delivery.id,
        invoice_id=item.invoice_id,
        attempt=delivery.attempt,
        kid=str(item.meta["kid"]),
        due_date=due_date,
        amount=str(item.meta["amount"]),
        reference=item.meta.get("reference"),
        payer_name=item.meta.get("payer_name"),
        status="queued",
        due_at=due_at,
        requested_by=actor,
        created_at=now,
    )
    session.add(row)
    note_event(
        session,
        delivery,
        actor=actor,
        reason=f"AvtaleGiro claim withdrawn: a cancellation record goes in the next claim file "
        f"(cut-off {due_at.astimezone(dt.UTC):%Y-%m-%d %H:%M} UTC); KID {row.kid}, NOK {row.amount}, "
        f"due {due_date.isoformat()}",
        details={"avtalegiro_cancellation": row.id, "claim_batch": item.batch_id},
    )
    session.flush()
    return row


def close_cancellations(
    session: Session,
    *,
    now: dt.datetime,
    closed_batch_ids: Sequence[str],
    channels: Sequence[str] | None = None,
) -> list[str]:
    """Fix every waiting withdrawal whose cut-off has passed into a batch: the one just closed for the same
    tenant, channel and agreement, else a batch of its own (no documents); returns the new batch ids."""
    query = (
        select(AvtaleGiroCancellation)
        .where(col(AvtaleGiroCancellation.status) == "queued", col(AvtaleGiroCancellation.due_at) <= now)
        .order_by(col(AvtaleGiroCancellation.created_at), col(AvtaleGiroCancellation.id))
        .with_for_update(skip_locked=True)
    )
    if channels is not None:
        query = query.where(col(AvtaleGiroCancellation.channel).in_(list(channels)))
    waiting = list(session.execute(query).scalars())
    if not waiting:
        return []
    targets: dict[tuple[str, str, str], str] = {}
    for batch_id in closed_batch_ids:
        batch = session.get(Batch, batch_id)
        if batch is not None:
            targets.setdefault((batch.tenant_id, batch.channel, batch.batch_key), batch.id)
    created: list[str] = []
    for row in waiting:
        key = (row.tenant_id, row.channel, row.batch_key)
        if key not in targets:
            batch_id = add_closed_batch(  # a batch of withdrawals only: no documents
                session,
                tenant_id=row.tenant_id,
                channel=row.channel,
                batch_key=row.batch_key,
                cutoff_at=row.due_at,
                item_count=0,
                now=now,
            )
            targets[key] = batch_id
            created.append(batch_id)
        row.batch_id, row.status = targets[key], "closed"
        session.add(row)
    session.flush()
    return created


def batch_cancellations(session: Session, batch_id: str) -> tuple[ClaimCancellation, ...]:
    """The withdrawals fixed into a batch, oldest first: the same on every try of its hand-over."""
    rows = session.execute(
        select(AvtaleGiroCancellation)
        .where(col(AvtaleGiroCancellation.batch_id) == batch_id)
        .order_by(col(AvtaleGiroCancellation.created_at), col(AvtaleGiroCancellation.id))
    ).scalars()
    return tuple(
        ClaimCancellation(
            cancellation_id=row.id,
            delivery_id=row.delivery_id,
            invoice_id=row.invoice_id,
            kid=row.kid,
            due_date=row.due_date,
            amount=Decimal(row.amount),
            reference=row.reference,
            payer_name=row.payer_name,
        )
        for row in rows
    )


def record_cancellations_sent(session: Session, batch_id: str, *, actor: str, now: dt.datetime) -> int:
    """The batch's file went: its withdrawals are `sent`, each noted in its delivery's history."""
    rows = list(
        session.execute(
            select(AvtaleGiroCancellation).where(
                col(AvtaleGiroCancellation.batch_id) == batch_id,
                col(AvtaleGiroCancellation.status) == "closed",
            )
        ).scalars()
    )
    for row in rows:
        row.status, row.sent_at = "sent", now
        session.add(row)
        delivery = session.get(Delivery, row.delivery_id)
        if delivery is not None:
            note_event(
                session,
                delivery,
                actor=actor,
                reason=f"AvtaleGiro cancellation record handed over in claim file {batch_id} "
                f"(KID {row.kid}, NOK {row.amount}, due {row.due_date.isoformat()})",
                details={"avtalegiro_cancellation": row.id, "batch_id": batch_id},
            )
    return len(rows)


def cancellation_view(row: AvtaleGiroCancellation) -> dict[str, Any]:
    return {
        "id": row.id,
        "delivery_id": row.delivery_id,
        "invoice_id": row.invoice_id,
        "kid": row.kid,
        "due_date": row.due_date.isoformat(),
        "amount": row.amount,
        "status": row.status,
        "due_at": row.due_at.isoformat(),
        "batch_id": row.batch_id,
    }


__all__ = [
    "CHANNEL",
    "CancellationRefused",
    "MandateImport",
    "batch_cancellations",
    "cancellation_view",
    "close_cancellations",
    "import_mandates",
    "list_mandates",
    "mandate_answer",
    "mandate_info",
    "queue_cancellation",
    "record_cancellations_sent",
]
