"""Batches of batching channels (print houses): stage, close at the cut-off, claim, record the outcome.

A document is staged when the worker has rendered and checked it (`batched`, with the bytes kept in
`batch_items`). At the cut-off the due items of one tenant, channel and key are closed into a batch whose
id and members are fixed from then on, so every try hands over the same batch under the same name. A
batch is claimed under a lease like a delivery; the lease token guards the outcome write.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import and_, delete, select, update
from sqlalchemy.orm import Session
from sqlmodel import col

from channels.base import BatchEntry, OutboundBatch, Staged
from db.models import Batch, BatchItem, Delivery, InboundDocument, InvoiceRecord, utcnow
from mappings.base import RenderedDocument
from outbox.lease import LeasedTable, LeaseLost, claim_due, write_under_lease
from outbox.queue import Claim, leased_transition
from outbox.states import DeliveryStatus, IllegalTransition

_batches = Batch.__table__  # type: ignore[attr-defined]
_items = BatchItem.__table__  # type: ignore[attr-defined]
_deliveries = Delivery.__table__  # type: ignore[attr-defined]
#: A batch's lease, as a delivery's: `lease_token`, `lease_expires_at`, `leased_by`, `updated_at`.
BATCH_LEASES = LeasedTable(_batches, noun="batch")

S = DeliveryStatus


class BatchStatus:
    READY = "ready"
    SENDING = "sending"
    SENT = "sent"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    FAILED = "failed"


class BatchLeaseLost(LeaseLost):
    """The worker's lease on a batch expired or was taken over; its write was refused."""


@dataclass(frozen=True)
class BatchClaim:
    batch_id: str
    tenant_id: str
    channel: str
    batch_key: str
    cutoff_at: dt.datetime
    tries: int
    lease_token: str
    taken_over: bool


def stage_delivery(
    session: Session,
    claim: Claim,
    staged: Staged,
    document: RenderedDocument,
    *,
    actor: str,
    now: dt.datetime | None = None,
) -> None:
    """`sending → batched` for a claimed delivery, keeping the checked document for its batch."""
    now = now or utcnow()
    leased_transition(
        session,
        claim,
        from_status=S.SENDING,
        to_status=S.BATCHED,
        actor=actor,
        reason=staged.detail
        or f"waiting for the {staged.batch_key} batch closing {staged.due_at:%Y-%m-%d %H:%M} UTC",
        details={"batch_key": staged.batch_key, "due_at": staged.due_at.isoformat()},
        now=now,
    )
    session.add(
        BatchItem(
            delivery_id=claim.delivery_id,
            invoice_id=claim.invoice_id,
            tenant_id=claim.tenant_id,
            attempt=claim.attempt,
            channel=claim.channel,
            batch_key=staged.batch_key,
            due_at=staged.due_at,
            format=document.format,
            media_type=document.media_type,
            extension=document.extension,
            content=document.content,
            meta=staged.meta,
            created_at=now,
        )
    )
    session.flush()


def batch_id_for(tenant_id: str, batch_key: str, cutoff_at: dt.datetime) -> str:
    """The readable base id of a tenant's batch for one cut-off (print houses see it as a file name)."""
    raw = f"{tenant_id}-{batch_key}-{cutoff_at.astimezone(dt.UTC):%Y%m%dT%H%MZ}"
    return re.sub(r"[^A-Za-z0-9._-]+", "_", raw)[:150]


def add_closed_batch(
    session: Session,
    *,
    tenant_id: str,
    channel: str,
    batch_key: str,
    cutoff_at: dt.datetime,
    item_count: int,
    now: dt.datetime,
) -> str:
    """Add a closed batch, ready for its hand-over now, under the first free id for its tenant, key and
    cut-off (`<base>`, `<base>-2`, …: a batch closed early or re-closed keeps its own id); returns the id."""
    base = batch_id_for(tenant_id, batch_key, cutoff_at)
    batch_id, number = base, 1
    while session.get(Batch, batch_id) is not None:
        number += 1
        batch_id = f"{base}-{number}"
    session.add(
        Batch(
            id=batch_id,
            tenant_id=tenant_id,
            channel=channel,
            batch_key=batch_key,
            cutoff_at=cutoff_at,
            status=BatchStatus.READY,
            item_count=item_count,
            next_attempt_at=now,
            created_at=now,
            updated_at=now,
        )
    )
    session.flush()
    return batch_id


def close_due_batches(
    session: Session,
    *,
    now: dt.datetime | None = None,
    channels: Sequence[str] | None = None,
    early: bool = False,
) -> list[str]:
    """Close every batch whose cut-off has passed: fix its id and members; returns the new batch ids.

    `early` closes what is staged now without waiting for the cut-off (an operator's "print now"). Only
    items whose delivery is still `batched` at the staged attempt join (a cancelled one does not).
    The rows are locked (`FOR UPDATE SKIP LOCKED` on PostgreSQL) so two workers never close the same item.
    """
    now = now or utcnow()
    query = (
        select(
            _items.c.id,
            _items.c.tenant_id,
            _items.c.channel,
            _items.c.batch_key,
            _items.c.due_at,
        )
        .join(
            _deliveries,
            and_(_deliveries.c.id == _items.c.delivery_id, _deliveries.c.attempt == _items.c.attempt),
        )
        .where(
            _items.c.batch_id.is_(None),
            _items.c.due_at <= (dt.datetime.max.replace(tzinfo=dt.UTC) if early else now),
            _deliveries.c.status == S.BATCHED.value,
        )
        .order_by(_items.c.tenant_id, _items.c.channel, _items.c.batch_key, _items.c.due_at, _items.c.id)
        .with_for_update(skip_locked=True, of=_items)
    )
    if channels is not None:
        query = query.where(_items.c.channel.in_(list(channels)))
    groups: dict[tuple[str, str, str, dt.datetime], list[int]] = {}
    for row in session.execute(query):
        groups.setdefault((row.tenant_id, row.channel, row.batch_key, row.due_at), []).append(row.id)
    closed: list[str] = []
    for (tenant_id, channel, batch_key, due_at), item_ids in groups.items():
        batch_id = add_closed_batch(
            session,
            tenant_id=tenant_id,
            channel=channel,
            batch_key=batch_key,
            cutoff_at=due_at,
            item_count=len(item_ids),
            now=now,
        )
        for sequence, item_id in enumerate(item_ids, start=1):
            session.execute(
                update(_items).where(_items.c.id == item_id).values(batch_id=batch_id, sequence=sequence)
            )
        closed.append(batch_id)
    return closed


def claim_batches(
    session: Session,
    *,
    worker_id: str,
    lease_seconds: float,
    limit: int = 1,
    channels: Sequence[str] | None = None,
    now: dt.datetime | None = None,
) -> list[BatchClaim]:
    """Claim due batches (`ready` and due, or `sending` under an expired lease) for one worker."""
    now = now or utcnow()
    c = _batches.c
    claimed = claim_due(
        session,
        BATCH_LEASES,
        ready=(c.status == BatchStatus.READY) & (c.next_attempt_at <= now),
        held=c.status == BatchStatus.SENDING,
        where=[c.channel.in_(list(channels))] if channels is not None else [],
        order_by=[c.next_attempt_at],
        limit=limit,
        lease_seconds=lease_seconds,
        now=now,
        holder=worker_id,
        values={"status": BatchStatus.SENDING},
        returning=[c.id, c.tenant_id, c.channel, c.batch_key, c.cutoff_at, c.tries, c.last_error],
    )
    return [
        BatchClaim(
            batch_id=row.id,
            tenant_id=row.tenant_id,
            channel=row.channel,
            batch_key=row.batch_key,
            cutoff_at=row.cutoff_at.replace(tzinfo=dt.UTC) if row.cutoff_at.tzinfo is None else row.cutoff_at,
            tries=row.tries,
            lease_token=claimed.token,
            taken_over=False,
        )
        for row in claimed.rows
    ]


def load_batch(session: Session, claim: BatchClaim) -> OutboundBatch:
    """The closed batch with its members in sequence order, as the channel hands it over."""
    items = session.execute(
        select(BatchItem).where(col(BatchItem.batch_id) == claim.batch_id).order_by(col(BatchItem.sequence))
    ).scalars()
    entries = tuple(
        BatchEntry(
            delivery_id=item.delivery_id,
            invoice_id=item.invoice_id,
            attempt=item.attempt,
            sequence=item.sequence or 0,
            document=RenderedDocument(item.format, item.content, item.media_type, item.extension),
            meta=dict(item.meta),
        )
        for item in items
    )
    return OutboundBatch(
        batch_id=claim.batch_id,
        tenant_id=claim.tenant_id,
        channel=claim.channel,
        batch_key=claim.batch_key,
        cutoff_at=claim.cutoff_at,
        try_number=claim.tries + 1,
        entries=entries,
    )


def finish_batch(
    session: Session,
    claim: BatchClaim,
    *,
    status: str,
    now: dt.datetime | None = None,
    **values: Any,
) -> None:
    """Write a claimed batch's outcome, only while the claim's lease is live (else `BatchLeaseLost`)."""
    now = now or utcnow()
    write_under_lease(
        session,
        BATCH_LEASES,
        claim.batch_id,
        claim.lease_token,
        now=now,
        values={"status": status, "updated_at": now, **values},
        where=[_batches.c.status == BatchStatus.SENDING],
        error=BatchLeaseLost,
    )


def batch_deliveries(session: Session, batch_id: str) -> list[tuple[BatchItem, Delivery]]:
    """A batch's items with their deliveries, in sequence order."""
    rows = session.execute(
        select(BatchItem, Delivery)
        .join(Delivery, col(Delivery.id) == col(BatchItem.delivery_id))
        .where(col(BatchItem.batch_id) == batch_id)
        .order_by(col(BatchItem.sequence))
    ).all()
    return [(item, delivery) for item, delivery in rows]


def closed_batch_of(session: Session, delivery: Delivery, *, lock: bool = False) -> str | None:
    """The id of the closed batch a `batched` delivery's current attempt is in (it is being handed over
    and can no longer be taken out); None when it is in no batch or in one still open."""
    if DeliveryStatus(delivery.status) is not S.BATCHED:
        return None
    query = select(BatchItem).where(
        col(BatchItem.delivery_id) == delivery.id, col(BatchItem.attempt) == delivery.attempt
    )
    item = session.execute(query.with_for_update() if lock else query).scalar_one_or_none()
    return item.batch_id if item is not None else None


def withdraw_from_open_batch(session: Session, delivery: Delivery) -> None:
    """Before a `batched` delivery is cancelled: take it out of its batch, or refuse if that has closed."""
    if DeliveryStatus(delivery.status) is not S.BATCHED:
        return
    batch_id = closed_batch_of(session, delivery, lock=True)
    if batch_id is not None:
        raise IllegalTransition(
            f"delivery {delivery.id} is in batch {batch_id}, which has closed and is being handed over"
        )
    session.execute(
        delete(_items).where(_items.c.delivery_id == delivery.id, _items.c.attempt == delivery.attempt)
    )


def get_batch(session: Session, tenant_id: str, batch_id: str) -> Batch | None:
    """The tenant's batch with this id; another tenant's batch is no batch (None), as a missing one."""
    batch = session.get(Batch, batch_id)
    return batch if batch is not None and batch.tenant_id == tenant_id else None


def list_batches(
    session: Session, tenant_id: str | None = None, status: str | None = None, limit: int = 100
) -> list[Batch]:
    query = select(Batch).order_by(col(Batch.cutoff_at).desc(), col(Batch.id)).limit(limit)
    if tenant_id is not None:
        query = query.where(col(Batch.tenant_id) == tenant_id)
    if status is not None:
        query = query.where(col(Batch.status) == status)
    return list(session.execute(query).scalars())


def open_items(session: Session, tenant_id: str | None = None) -> list[dict[str, Any]]:
    """Staged documents waiting for their cut-off, grouped by tenant, channel, key and cut-off."""
    query = (
        select(_items.c.tenant_id, _items.c.channel, _items.c.batch_key, _items.c.due_at, _items.c.id)
        .join(
            _deliveries,
            and_(_deliveries.c.id == _items.c.delivery_id, _deliveries.c.attempt == _items.c.attempt),
        )
        .where(_items.c.batch_id.is_(None), _deliveries.c.status == S.BATCHED.value)
    )
    if tenant_id is not None:
        query = query.where(_items.c.tenant_id == tenant_id)
    groups: dict[tuple[str, str, str, dt.datetime], int] = {}
    for row in session.execute(query):
        key = (row.tenant_id, row.channel, row.batch_key, row.due_at)
        groups[key] = groups.get(key, 0) + 1
    return [
        {
            "tenant_id": t,
            "channel": c,
            "batch_key": k,
            "due_at": d.replace(tzinfo=dt.UTC).isoformat(),
            "items": n,
        }
        for (t, c, k, d), n in sorted(groups.items())
    ]


def batch_view(session: Session, batch: Batch, *, with_items: bool = False) -> dict[str, Any]:
    """A batch for the API and the CLI; with its documents and what the print house reported."""
    view: dict[str, Any] = {
        "id": batch.id,
        "tenant_id": batch.tenant_id,
        "channel": batch.channel,
        "batch_key": batch.batch_key,
        "cutoff_at": batch.cutoff_at.isoformat(),
        "status": batch.status,
        "documents": batch.item_count,
        "tries": batch.tries,
        "next_attempt_at": batch.next_attempt_at.isoformat(),
        "last_error": batch.last_error,
        "sent_at": batch.sent_at.isoformat() if batch.sent_at else None,
        "summary": batch.summary,
    }
    if with_items:
        view["items"] = [
            {
                "sequence": item.sequence,
                "delivery_id": item.delivery_id,
                "invoice_id": item.invoice_id,
                "attempt": item.attempt,
                "delivery_status": delivery.status,
                "print_outcome": item.outcome,
                "pages": item.meta.get("pages"),
                "invoice_number": item.meta.get("invoice_number"),
            }
            for item, delivery in batch_deliveries(session, batch.id)
        ]
    return view


# --- figures for people (the console's batch pages) --------------------------------------------------------

#: What the print house sends back about a batch, as `inbound_documents.kind` (see `print_returns`).
RETURN_FILE_KIND = "print-return"


@dataclass
class BatchFigures:
    """What a batch list shows beside the batch row: its invoices' amounts per currency, what the print
    house reported per document (printed / posted / returned) and how many return files name the batch."""

    amounts: dict[str, Decimal] = field(default_factory=dict)
    outcomes: Counter[str] = field(default_factory=Counter)
    return_files: int = 0


@dataclass(frozen=True)
class BatchDocument:
    """One document of a closed batch, with the invoice it prints and where its delivery stands."""

    sequence: int | None
    delivery_id: str
    #: None for a follow-up notice's letter (its reminded invoices' numbers are `invoice_number`)
    invoice_id: str | None
    invoice_number: str | None
    buyer_name: str | None
    amount: Decimal | None
    currency: str | None
    pages: int | None
    delivery_status: str
    print_outcome: str | None


def _decimal(text: str | None) -> Decimal | None:
    try:
        return Decimal(text) if text else None
    except InvalidOperation:
        return None


def batch_figures(session: Session, tenant_id: str, batch_ids: Sequence[str]) -> dict[str, BatchFigures]:
    """Amounts, print outcomes and return-file counts of these batches of the tenant (two queries)."""
    figures = {batch_id: BatchFigures() for batch_id in batch_ids}
    if not figures:
        return figures
    rows = session.execute(
        select(
            _items.c.batch_id,
            _items.c.outcome,
            col(InvoiceRecord.currency),
            col(InvoiceRecord.payable_amount),
        )
        .outerjoin(InvoiceRecord, col(InvoiceRecord.id) == _items.c.invoice_id)
        .where(_items.c.batch_id.in_(list(figures)), _items.c.tenant_id == tenant_id)
    )
    for row in rows:
        found = figures[row.batch_id]
        amount = _decimal(row.payable_amount)
        if amount is not None and row.currency:
            found.amounts[row.currency] = found.amounts.get(row.currency, Decimal(0)) + amount
        if row.outcome:
            found.outcomes[row.outcome] += 1
    returns = session.execute(
        select(col(InboundDocument.referenced_document_id)).where(
            col(InboundDocument.referenced_document_id).in_(list(figures)),
            col(InboundDocument.kind).like(f"{RETURN_FILE_KIND}%"),
            col(InboundDocument.tenant_id) == tenant_id,
        )
    ).scalars()
    for batch_id in returns:
        if batch_id in figures:
            figures[batch_id].return_files += 1
    return figures


def batch_documents(session: Session, batch: Batch) -> list[BatchDocument]:
    """A closed batch's documents in sequence order, with their invoices' numbers, buyers and amounts."""
    invoices = {
        invoice.id: invoice
        for invoice in session.execute(
            select(InvoiceRecord).where(
                col(InvoiceRecord.id).in_(select(_items.c.invoice_id).where(_items.c.batch_id == batch.id)),
                col(InvoiceRecord.tenant_id) == batch.tenant_id,
            )
        ).scalars()
    }
    documents = []
    for item, delivery in batch_deliveries(session, batch.id):
        invoice = invoices.get(item.invoice_id) if item.invoice_id is not None else None
        pages = item.meta.get("pages")
        documents.append(
            BatchDocument(
                sequence=item.sequence,
                delivery_id=item.delivery_id,
                invoice_id=item.invoice_id,
                invoice_number=invoice.number if invoice else item.meta.get("invoice_number"),
                buyer_name=invoice.buyer_name if invoice else None,
                amount=_decimal(invoice.payable_amount) if invoice else None,
                currency=invoice.currency if invoice else None,
                pages=pages if isinstance(pages, int) else None,
                delivery_status=delivery.status,
                print_outcome=item.outcome,
            )
        )
    return documents


def batch_return_files(session: Session, batch: Batch) -> list[InboundDocument]:
    """The print house's receipts and reports that name this batch, oldest first (the stored files)."""
    return list(
        session.execute(
            select(InboundDocument)
            .where(
                col(InboundDocument.referenced_document_id) == batch.id,
                col(InboundDocument.kind).like(f"{RETURN_FILE_KIND}%"),
                col(InboundDocument.tenant_id) == batch.tenant_id,
            )
            .order_by(col(InboundDocument.received_at), col(InboundDocument.id))
        ).scalars()
    )
