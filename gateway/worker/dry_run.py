"""A dry run: what the worker would send now, written to the dry-run folder; the outbox is only read.

`gateway worker --dry-run` (`Settings.dry_run`) takes every delivery that is due, renders and validates it
exactly as a real round would, and writes the document with its attachments through a folder sink
(`data_dir/dry-run/<channel>/`) standing in for its channel. Nothing is claimed or recorded: no status,
event, attempt, stored document, batch or control number changes and no periodic task runs, so the
outbox is as it was and a real worker later sends the same deliveries. A delivery that would not be sent
(its extra documents, rendering or validation refuse it) is logged with the reason it would go to
deviation with. It is one pass: run it again to see the queue as it is then.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlmodel import col

from channels.base import Delivered, DeliveryResult, Failed, OutboundDelivery, Retry, Sent
from db.engine import session_scope
from db.models import Delivery, utcnow
from gateway.services.outbound.channel_context import NotSendable, document_delivery
from gateway.services.tenancy.tenants import tenant_settings
from gateway.worker.context import WorkerContext, log
from gateway.worker.delivery import RENDERING_PROBLEMS, DeliveryLoop, validation_summary
from gateway.worker.documents import ExtraDocuments, load_extra_documents, load_payloads
from outbox.queue import Claim
from outbox.states import DeliveryStatus
from schemas.tenant import TenantSettings

#: The outcomes a dry run counts (`WorkerStats.outcomes`): nothing in the outbox has one of these.
WRITTEN, REFUSED, NOT_WRITTEN = "written (dry run)", "would deviate (dry run)", "not written (dry run)"
#: A stand-in for the lease a real round would take; it is never written anywhere.
_NO_LEASE = "dry-run"


@dataclass(frozen=True)
class Rehearsal:
    """What a dry run did with one due delivery: where its document went, or why it would not go."""

    delivery_id: str
    channel: str
    outcome: str
    detail: str


class DryRun:
    """One read-only pass over the due deliveries (see the module doc)."""

    def __init__(self, context: WorkerContext, deliveries: DeliveryLoop) -> None:
        if not context.settings.dry_run:
            raise ValueError("a dry run needs settings with dry_run set (every channel a folder sink)")
        self.context = context
        self.deliveries = deliveries
        self.rehearsals: list[Rehearsal] = []

    def run(self) -> list[Rehearsal]:
        """Render, validate and write every delivery due now; what became of each."""
        due = self._due(utcnow())
        size = max(1, self.context.settings.claim_batch)
        for start in range(0, len(due), size):
            if self.context.stop_requested.is_set():
                break
            self._rehearse_chunk(due[start : start + size])
        return self.rehearsals

    def _due(self, now: dt.datetime) -> list[Claim]:
        """The deliveries a real round would claim now (queued and due), as claims that hold no lease."""
        query = select(Delivery).where(
            col(Delivery.status) == DeliveryStatus.QUEUED.value, col(Delivery.next_attempt_at) <= now
        )
        if self.context.only_channels is not None:
            query = query.where(col(Delivery.channel).in_(list(self.context.only_channels)))
        with session_scope(self.context.engine) as session:
            rows = session.execute(query.order_by(col(Delivery.next_attempt_at), col(Delivery.id))).scalars()
            return [
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
                    lease_token=_NO_LEASE,
                    lease_expires_at=now,
                    claimed_from=DeliveryStatus.QUEUED,
                )
                for row in rows
            ]

    def _rehearse_chunk(self, claims: Sequence[Claim]) -> None:
        context = self.context
        with session_scope(context.engine) as session:
            payloads = load_payloads(session, {claim.invoice_id for claim in claims})
            tenants = {t: tenant_settings(session, t) for t in {claim.tenant_id for claim in claims}}
            extras = load_extra_documents(session, context.document_store, list(claims))
            documents = {
                claim.delivery_id: document_delivery(
                    session,
                    claim,
                    context.document_store,
                    context.settings,
                    actor=context.worker_id,
                    keep=False,
                )
                for claim in claims
                if claim.invoice_id is None
            }
        for claim in claims:
            if claim.delivery_id in documents:  # a document of ours, not an invoice (an ack, a notice)
                outbound = documents[claim.delivery_id]
                if isinstance(outbound, NotSendable):
                    self._note(claim, REFUSED, outbound.reason)
                else:
                    self._write(claim, outbound)
                continue
            self._rehearse_invoice(
                claim,
                payloads[claim.invoice_id],
                tenants[claim.tenant_id],
                extras.get(claim.delivery_id) or ExtraDocuments(),
            )

    def _rehearse_invoice(
        self, claim: Claim, payload: str, tenant: TenantSettings, extras: ExtraDocuments
    ) -> None:
        """`DeliveryLoop.process` without its transactions: render, validate, hand to the folder sink."""
        if extras.problems:
            problems = "; ".join(extras.problems)
            self._note(claim, REFUSED, f"cannot send the extra documents with it: {problems}")
            return
        try:
            rendered = self.deliveries.render(claim, payload, tenant, extras.documents)
        except RENDERING_PROBLEMS as error:
            self._note(claim, REFUSED, f"cannot render for {claim.channel}: {error}")
            return
        except Exception as error:
            log.exception("dry run: rendering %s failed", claim.delivery_id)
            self._note(claim, REFUSED, f"rendering failed unexpectedly: {error!r}")
            return
        validation = self.deliveries.validate(rendered)
        if validation.refused is not None:
            self._note(claim, REFUSED, validation_summary(validation.refused))
            return
        self._write(claim, self.deliveries.outbound_delivery(claim, rendered))

    def _write(self, claim: Claim, outbound: OutboundDelivery) -> None:
        result: DeliveryResult = self.context.channel(claim.channel).deliver(outbound)
        if isinstance(result, Delivered | Sent):
            self._note(claim, WRITTEN, result.where or result.message_id or "")
        elif isinstance(result, Retry | Failed):
            self._note(claim, NOT_WRITTEN, result.reason)
        else:  # a folder sink does not stage; said for completeness
            self._note(claim, NOT_WRITTEN, f"the sink answered {type(result).__name__}")

    def _note(self, claim: Claim, outcome: str, detail: str) -> None:
        self.rehearsals.append(Rehearsal(claim.delivery_id, claim.channel, outcome, detail))
        self.context.stats.outcomes[outcome] += 1
        log.info("dry run: delivery %s via %s: %s %s", claim.delivery_id, claim.channel, outcome, detail)
