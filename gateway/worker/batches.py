"""Handing over batches (batching channels: print, avtalegiro): close the batches whose cut-off has passed,
then claim each due batch under a lease, give it to its channel and record the outcome on the batch and its
members (and the withdrawn AvtaleGiro claims fixed into it). What the channel declared it needs for a batch
(an AvtaleGiro claim file's counted numbers) is fixed and committed before the hand-over."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from pydantic import ValidationError
from sqlalchemy.orm import Session

from channels import ChannelUnavailable, UnknownChannel
from channels.base import BatchingChannel, Channel, Failed, OutboundBatch, Retry, Sent
from db.engine import session_scope
from db.models import BatchItem, Delivery, utcnow
from gateway.services.outbound.avtalegiro import (
    batch_cancellations,
    close_cancellations,
    record_cancellations_sent,
)
from gateway.services.outbound.avtalegiro_transmissions import prepare_batch
from gateway.services.outbound.batches import (
    BatchClaim,
    BatchLeaseLost,
    BatchStatus,
    batch_deliveries,
    claim_batches,
    close_due_batches,
    finish_batch,
    load_batch,
)
from gateway.services.outbound.fallback import fall_back_document
from gateway.worker.context import WorkerContext, log
from gateway.worker.documents import load_payloads, put_sent, store_sent
from gateway.worker.fallback import fall_back
from mappings.base import RenderedDocument
from mappings.invoice import canonical_json
from outbox.queue import StaleStatus, change_status, note_event
from outbox.states import DeliveryStatus

S = DeliveryStatus
BatchOutcome = Sent | Retry | Failed


def hand_over_batches(context: WorkerContext, now: dt.datetime) -> int:
    """Close the batches whose cut-off has passed and hand over every due batch; returns how many."""
    with session_scope(context.engine) as session:
        closed = close_due_batches(session, now=now, channels=context.only_channels)
        # withdrawn AvtaleGiro claims join the claim file closing now, or make one of their own
        closed += close_cancellations(
            session, now=now, closed_batch_ids=closed, channels=context.only_channels
        )
    for batch_id in closed:
        log.info("worker %s: closed batch %s", context.worker_id, batch_id)
    handled = 0
    while not context.stop_requested.is_set():
        with session_scope(context.engine) as session:
            claims = claim_batches(
                session,
                worker_id=context.worker_id,
                lease_seconds=context.settings.batch_lease_seconds,
                channels=context.only_channels,
            )
        if not claims:
            break
        process_batch(context, claims[0])
        handled += 1
    return handled


def process_batch(context: WorkerContext, claim: BatchClaim) -> str:
    """Hand one claimed batch to its channel and record the outcome on the batch and its deliveries."""
    result: BatchOutcome
    channel: Channel[Any] | None = None
    keys: dict[str, str | None] = {}  # delivery id → storage key of the document as handed over
    try:
        channel = context.channel(claim.channel)
    except (UnknownChannel, ChannelUnavailable, ValidationError) as error:
        result = Failed(f"cannot load channel {claim.channel}: {error}", deviation=True)
    else:
        if isinstance(channel, BatchingChannel):
            with session_scope(context.engine) as session:
                batch = load_batch(session, claim)
                batch = dataclasses.replace(batch, cancellations=batch_cancellations(session, claim.batch_id))
            prepared = prepare_batch(context.engine, channel, batch)  # counted numbers, committed first
            result = channel.deliver_batch(prepared) if isinstance(prepared, OutboundBatch) else prepared
            if isinstance(result, Sent) and context.settings.store_sent_documents:
                for entry in batch.entries:  # outside the outcome's transaction, as for one delivery
                    keys[entry.delivery_id] = put_sent(context, entry.delivery_id, entry.document.content)
        else:
            result = Failed(f"channel {claim.channel} does not take batches", deviation=True)
    try:
        return record_batch_outcome(context, claim, channel, result, keys)
    except BatchLeaseLost as error:
        context.stats.lease_lost += 1
        log.warning("worker %s: %s", context.worker_id, error)
        return "lease lost"


def record_batch_outcome(
    context: WorkerContext,
    claim: BatchClaim,
    channel: Channel[Any] | None,
    result: BatchOutcome,
    storage_keys: dict[str, str | None] | None = None,
) -> str:
    """Write the batch's outcome under its lease, and move the members still waiting in it."""
    now = utcnow()
    tries = claim.tries + 1
    with session_scope(context.engine) as session:
        members = [
            (item, delivery)
            for item, delivery in batch_deliveries(session, claim.batch_id)
            if DeliveryStatus(delivery.status) is S.BATCHED and delivery.attempt == item.attempt
        ]
        if isinstance(result, Sent):
            _record_sent(context, session, claim, result, members, storage_keys or {}, tries, now)
            context.stats.outcomes["batch sent"] += 1
            return BatchStatus.SENT
        policy = channel.retry_policy if channel is not None else None
        if isinstance(result, Retry) and policy is not None and not policy.gives_up_after(tries):
            delay = result.after if result.after is not None else policy.delay_after(tries)
            due = now + dt.timedelta(seconds=delay)
            finish_batch(
                session,
                claim,
                status=BatchStatus.READY,
                now=now,
                tries=tries,
                next_attempt_at=due,
                last_error=result.reason,
            )
            for _item, delivery in members:
                note_event(
                    session,
                    delivery,
                    actor=context.worker_id,
                    reason=f"batch {claim.batch_id} not handed over (try {tries}): {result.reason}",
                    details={"batch_id": claim.batch_id, "retry_at": due.isoformat(), "try": tries},
                )
            context.stats.outcomes["batch retry"] += 1
            return BatchStatus.READY
        _record_failed(context, session, claim, result, members, tries, now)
        context.stats.outcomes["batch failed"] += 1
        return BatchStatus.FAILED


def _record_sent(
    context: WorkerContext,
    session: Session,
    claim: BatchClaim,
    result: Sent,
    members: list[tuple[BatchItem, Delivery]],
    storage_keys: dict[str, str | None],
    tries: int,
    now: dt.datetime,
) -> None:
    """The batch handed over: `sent`, each member `batched → sent` with its sequence (and kept copy)."""
    finish_batch(
        session,
        claim,
        status=BatchStatus.SENT,
        now=now,
        tries=tries,
        sent_at=now,
        last_error=None,
        channel_message_id=result.message_id or claim.batch_id,
        summary={"detail": result.detail, "documents": len(members)},
    )
    record_cancellations_sent(session, claim.batch_id, actor=context.worker_id, now=now)
    for item, delivery in members:
        kept = (
            store_sent(
                context,
                session,
                delivery.tenant_id,
                RenderedDocument(item.format, item.content, item.media_type, item.extension),
                f"{claim.batch_id}-{item.sequence:05d}.{item.extension}",
                delivery.id,
                storage_keys.get(delivery.id),
            )
            if context.settings.store_sent_documents
            else None
        )
        change_status(
            session,
            delivery,
            S.SENT,
            actor=context.worker_id,
            reason=f"handed over in batch {claim.batch_id} as document {item.sequence}"
            + (f"; {result.detail}" if result.detail else ""),
            channel_message_id=claim.batch_id,
            details={
                "batch_id": claim.batch_id,
                "sequence": item.sequence,
                "try": tries,
                **({"document_id": kept} if kept else {}),
            },
            now=now,
        )


def _record_failed(
    context: WorkerContext,
    session: Session,
    claim: BatchClaim,
    result: Retry | Failed,
    members: list[tuple[BatchItem, Delivery]],
    tries: int,
    now: dt.datetime,
) -> None:
    """The batch gave up: `failed`, each member to deviation (or failed) and on to its next channel."""
    if isinstance(result, Retry):
        reason = f"batch {claim.batch_id} gave up after {tries} tries; last: {result.reason}"
        to_status = S.DEVIATION  # the day's paper invoices did not go: a person must look
    else:
        reason = f"batch {claim.batch_id}: {result.reason}"
        to_status = S.DEVIATION if result.deviation else S.FAILED
    finish_batch(session, claim, status=BatchStatus.FAILED, now=now, tries=tries, last_error=reason)
    payloads = load_payloads(
        session, {delivery.invoice_id for _item, delivery in members if delivery.invoice_id is not None}
    )
    for _item, delivery in members:
        try:
            change_status(session, delivery, to_status, actor=context.worker_id, reason=reason, now=now)
        except StaleStatus:
            continue
        if delivery.invoice_id is None:  # a follow-up notice's letter: on along the notice's own chain
            fall_back_document(
                session,
                delivery.id,
                to_status,
                reason,
                default_channel=context.settings.default_channel,
                actor=context.worker_id,
            )
            continue
        fall_back(
            context,
            session,
            delivery.id,
            canonical_json.parse(payloads[delivery.invoice_id]),
            to_status,
            reason,
        )
