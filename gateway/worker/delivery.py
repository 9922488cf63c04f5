"""The delivery loop: claim → render → validate → send → record, one claimed delivery at a time.

Every step of every delivery is logged here, once for all channels, with the delivery's tenant, invoice
number, delivery id, attempt and channel bound to every line (a channel's own log lines included):
`delivery.claimed`, `delivery.rendered`, `delivery.sent` (what the channel answered, and how long it
took) and `delivery.outcome` (the status recorded), or `delivery.outcome` straight after the claim or the
rendering when the delivery goes to deviation without being sent.

Each delivery goes through three short transactions (claim → `rendering`; `sending` with the lease
extended over the channel's timeout; the outcome), so a crash at any point leaves it either finished or
under a lease that expires and is taken over. A stop request ends the round after the current delivery;
claimed deliveries not yet started are handed back to the queue.

Channels that write local files in groups (`ChannelCapabilities.writes_in_groups`: the folder) take the
batch path instead (`GroupedBatch`): the claim batch's files and stored copies are written as parts of one
`WriteGroup`, flushed together once, renamed into place, and only then are all their outcomes recorded in
one transaction (their `sending` step written in it, as the history always showed it). A crash before
that transaction leaves them in `rendering` under the claim's lease, which covers the channel's timeout.

When the database stops answering in the middle of a delivery, the write that failed is tried again under
the same lease once it answers (`WorkerContext.ride_out`): above all the outcome of a document the channel
has already taken, which is never sent again for an outage. If that write had in fact committed (only its
answer was lost), the second try is refused (`LeaseLost`) and nothing is recorded twice. A claim that
fails is not tried again in place: the round ends and the worker backs off (`gateway.worker.runner`).
"""

from __future__ import annotations

import contextvars
import datetime as dt
import threading
import time
from collections import Counter
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from pydantic import ValidationError
from sqlalchemy.orm import Session

from channels import REGISTRY, ChannelUnavailable, UnknownChannel, channel_class
from channels.base import (
    Channel,
    Delivered,
    DeliveryResult,
    Failed,
    OutboundDelivery,
    Retry,
    Sent,
    Staged,
)
from db.engine import session_scope
from db.models import utcnow
from gateway.logging_setup import bound_context
from gateway.services import metrics
from gateway.services.outbound.avtalegiro import marked_for_mandate
from gateway.services.outbound.batches import stage_delivery
from gateway.services.outbound.channel_context import deliver_with_context, send_document
from gateway.services.outbound.documents import LocalDocumentStore, put_documents
from gateway.services.portal.delivery_links import delivery_portal_link
from gateway.services.tenancy.tenants import tenant_settings
from gateway.services.validation import ValidationReport, validator_from_settings
from gateway.worker.context import WorkerContext, log
from gateway.worker.documents import (
    APPENDS_PAGES,
    EMBEDS_ATTACHMENTS,
    SENT_DOCUMENT_KIND,
    ExtraDocument,
    ExtraDocuments,
    SentDocumentRow,
    file_extension,
    load_extra_documents,
    load_payloads_and_numbers,
    put_sent,
    record_stored_documents,
    store_sent,
    with_embedded_documents,
    with_pod_attachments,
)
from gateway.worker.fallback import fall_back
from gateway.worker.outage import is_outage
from mappings import FORMATS, UnknownFormat, render, renderer
from mappings.base import FormatError, RenderedDocument
from mappings.invoice import canonical_json
from mappings.invoice.pdf_merge import append_pages
from outbox.queue import (
    Claim,
    LeasedMove,
    LeaseLost,
    claim_deliveries,
    leased_transition,
    leased_transitions,
    release_lease,
)
from outbox.states import DeliveryStatus
from schemas.canonical import Invoice
from schemas.tenant import TenantSettings
from transports.files import Settled, WriteGroup, safe_name

S = DeliveryStatus
#: The formats that print the customer portal's link (our PDF, and the Factur-X PDF built on it).
PORTAL_LINK_FORMATS = frozenset({"pdf", "factur-x"})
#: What rendering may fail with that is the delivery's problem (it goes to deviation), not the worker's.
RENDERING_PROBLEMS = (UnknownChannel, ChannelUnavailable, ValidationError, UnknownFormat, FormatError)


def validation_summary(report: ValidationReport, shown: int = 5) -> str:
    """One line for `last_error`: the blocking rule ids and texts; the full report goes in the event."""
    blocking = report.blocking
    parts = [f"{f.rule_id} ({f.flag}): {f.text.strip()[:160]}" for f in blocking[:shown]]
    more = f"; and {len(blocking) - shown} more" if len(blocking) > shown else ""
    return f"validation failed ({', '.join(report.rule_sets)}): " + "; ".join(parts) + more


@dataclass(frozen=True)
class RenderedDelivery:
    """A claimed delivery rendered for its channel: the document, what goes with it, and for whom."""

    invoice: Invoice
    channel: Channel[Any]
    document: RenderedDocument
    attachments: tuple[RenderedDocument, ...]
    tenant: TenantSettings
    pods: tuple[ExtraDocument, ...]
    #: the customer portal's link to the invoice, printed in its PDF and said in an e-mail (or None)
    portal_link: str | None = None


@dataclass(frozen=True)
class ValidationOutcome:
    """The rendered documents' validation: the report that refused them, or what the `sending` event
    records about the last validated one (None when no document is validated)."""

    refused: ValidationReport | None = None
    passed: dict[str, Any] | None = None


class DeliveryLoop:
    """Claims due deliveries and takes each through render, validate, send and record."""

    def __init__(self, context: WorkerContext) -> None:
        self.context = context
        self._grouped: frozenset[str] | None = None
        #: the grouped batch being settled and recorded beside the next round (`run_round(overlap=True)`)
        self._finisher: BatchFinisher | None = None

    @property
    def worker_id(self) -> str:
        return self.context.worker_id

    def run_round(self, *, overlap: bool = False) -> int:
        """Claim up to `claim_batch` due deliveries and deliver them; how many were claimed.

        With `overlap` a grouped batch's settling and outcome transaction are handed to a finisher thread
        (`BatchFinisher`) and the round returns while its disk flushes run: the next round claims and
        renders beside them, and joins that finisher before handing over its own batch (at most one in
        flight). A round that claims nothing joins it at once; so does `join_finisher`, which the worker
        calls before it stops. An error of the finisher is raised by the join, on the worker's thread."""
        context = self.context
        grouped = self.grouped_channels()
        with session_scope(context.engine) as session:
            claims = claim_deliveries(
                session,
                worker_id=self.worker_id,
                limit=context.settings.claim_batch,
                lease_seconds=self.claim_lease_seconds(grouped, overlap=overlap),
                channels=context.only_channels,
            )
            # The payloads come in the claim's own transaction: on SQLite every transaction takes the
            # write lock, so a separate read per delivery would make workers queue for nothing.
            payloads, numbers = load_payloads_and_numbers(session, {claim.invoice_id for claim in claims})
            settings_by_tenant = {t: tenant_settings(session, t) for t in {c.tenant_id for c in claims}}
            extras = load_extra_documents(session, context.document_store, claims)
        context.stats.rounds += 1
        context.stats.claimed += len(claims)
        if not claims and self._finisher is not None:
            # Nothing to overlap with: the previous batch's outcomes are recorded now. They may have
            # queued fallback deliveries due at once (committed after this round's claim looked), so
            # look once more rather than report an empty round to a draining worker.
            self.join_finisher()
            return self.run_round(overlap=overlap)
        batch = GroupedBatch(self, numbers) if grouped else None
        try:
            for position, claim in enumerate(claims):
                if context.stop_requested.is_set():
                    self.release(claims[position:])
                    break
                with bound_context(
                    tenant=claim.tenant_id,
                    invoice_number=numbers.get(claim.invoice_id),
                    delivery_id=claim.delivery_id,
                    attempt=claim.attempt,
                    channel=claim.channel,
                    worker=self.worker_id,
                ):
                    if batch is not None and claim.channel in grouped and claim.invoice_id is not None:
                        batch.add(claim, payloads[claim.invoice_id], settings_by_tenant[claim.tenant_id],
                                  extras.get(claim.delivery_id))  # fmt: skip
                    else:
                        self._claimed(claim, payloads, settings_by_tenant, extras)
            if batch is not None and overlap and batch.pending:
                self.join_finisher()  # at most one batch in flight; its error surfaces here
                self._finisher, batch = BatchFinisher(batch), None  # the finisher owns it now
            elif batch is not None:
                batch.finish()  # one flush for the batch's files, then one transaction for its outcomes
        finally:
            if batch is not None:
                batch.abandon()  # an error before `finish`: nothing in place, the leases expire
        return len(claims)

    def grouped_channels(self) -> frozenset[str]:
        """The channels this worker serves whose files go through one write group per claim batch
        (`ChannelCapabilities.writes_in_groups`); none in a dry run (its sink writes as it always has)."""
        if self._grouped is None:
            served = [] if self.context.settings.dry_run else (self.context.only_channels or list(REGISTRY))
            self._grouped = frozenset(name for name in served if _writes_in_groups(name))
        return self._grouped

    def claim_lease_seconds(self, grouped: frozenset[str], *, overlap: bool = False) -> float:
        """The claim's lease: the worker's lease, and for a worker with grouped channels the longest of
        their timeouts on top (their deliveries stay under the claim's lease until the batch is recorded,
        where another channel's `sending` extends it). With `overlap` that timeout is added twice: a
        batch may also wait for the previous batch's finisher to settle before its own settles."""
        timeouts = [self._timeout_seconds(name) for name in sorted(grouped)]
        grouped_wait = max(timeouts, default=0.0) * (2 if overlap else 1)
        return self.context.settings.lease_seconds + grouped_wait

    def close(self) -> None:
        """Join the finisher when the worker ends on an error of its own: what the finisher raised is
        logged, not raised (the worker's error is the one that ends it)."""
        try:
            self.join_finisher()
        except Exception:
            log.exception("worker.finisher_failed")

    def join_finisher(self) -> None:
        """Wait for the grouped batch handed to the finisher thread (if any) and count its outcomes;
        re-raises, on this thread, whatever ended the finisher (its batch then recorded nothing)."""
        finisher, self._finisher = self._finisher, None
        if finisher is not None:
            finisher.join()

    def _timeout_seconds(self, name: str) -> float:
        """The channel's timeout; 0 for one whose settings are refused (its deliveries go to deviation
        when they are rendered, as they always have)."""
        try:
            return float(self.context.channel(name).config.timeout_seconds)
        except RENDERING_PROBLEMS:
            return 0.0

    def _claimed(
        self,
        claim: Claim,
        payloads: dict[str | None, str],
        settings_by_tenant: dict[str, TenantSettings],
        extras: dict[str, ExtraDocuments],
    ) -> None:
        """One claimed delivery, under its log context: delivered, or its lease lost (logged)."""
        context = self.context
        log_claimed(claim)
        try:
            if claim.invoice_id is None:  # a document, not an invoice (an acknowledgement, a notice)
                metrics.record_delivery_attempt(claim.channel)
                status = send_document(
                    context.engine,
                    claim,
                    context.channel,
                    actor=self.worker_id,
                    lease_seconds=context.settings.lease_seconds,
                    settings=context.settings,
                    store=context.document_store,
                    default_channel=context.settings.default_channel,
                )
                context.stats.outcomes[status] += 1
                self.log_outcome(claim, status)
                return
            self.process(
                claim,
                payloads[claim.invoice_id],
                settings_by_tenant[claim.tenant_id],
                extras.get(claim.delivery_id),
            )
        except LeaseLost as error:
            context.stats.lease_lost += 1
            log.warning("delivery.lease_lost", reason=str(error))

    def release(self, claims: list[Claim]) -> None:
        """Hand claimed deliveries not yet started back to the queue (the worker is stopping); with the
        database away they stay held until their leases expire, and are taken over then."""
        for claim in claims:
            try:
                with session_scope(self.context.engine) as session:
                    release_lease(
                        session,
                        claim,
                        status=S.RENDERING,
                        actor=self.worker_id,
                        reason="worker shutting down; handed back to the queue",
                    )
            except LeaseLost:
                self.context.stats.lease_lost += 1
            except Exception as error:
                if not is_outage(error):
                    raise
                log.warning(
                    "worker %s: the database does not answer; %d claimed deliveries are taken over when "
                    "their leases expire",
                    self.worker_id,
                    len(claims),
                )
                return

    # -- one delivery --------------------------------------------------------------------------------

    def process(
        self,
        claim: Claim,
        payload: str,
        tenant: TenantSettings | None = None,
        extras: ExtraDocuments | None = None,
    ) -> str:
        """Render, validate, send and record one claimed delivery (`payload`: its invoice's canonical JSON).

        `extras` (a resend with proof of delivery) are appended to a PDF, embedded in EHF, or else handed
        to the channel as attachments of format `pod`.
        """
        prepared = self.prepare(claim, payload, tenant, extras)
        if isinstance(prepared, NotSent):
            return self._finish_without_sending(claim, prepared.reason, details=prepared.details)
        rendered, validation = prepared
        claim = self._start_sending(claim, rendered, validation)
        outbound = self.outbound_delivery(claim, rendered)
        metrics.record_delivery_attempt(claim.channel)
        started = time.perf_counter()
        result = deliver_with_context(self.context.engine, rendered.channel, outbound)
        log_sent(result, started)
        return self.record_outcome(claim, rendered.channel, rendered.invoice, rendered.document, result)

    def prepare(
        self,
        claim: Claim,
        payload: str,
        tenant: TenantSettings | None = None,
        extras: ExtraDocuments | None = None,
    ) -> tuple[RenderedDelivery, ValidationOutcome] | NotSent:
        """Render and validate one claimed delivery: what goes to the channel, or why nothing does."""
        extras = extras or ExtraDocuments()
        if extras.problems:
            return NotSent(
                "cannot send the extra documents with it: " + "; ".join(extras.problems),
                details={"extra_document_problems": list(extras.problems)},
            )
        try:
            rendered = self.render(claim, payload, tenant or TenantSettings(), extras.documents)
        except RENDERING_PROBLEMS as error:
            return NotSent(f"cannot render for {claim.channel}: {error}")
        except Exception as error:
            log.exception("delivery.render_crashed")
            return NotSent(f"rendering failed unexpectedly: {error!r}")
        validation = self.validate(rendered)
        log.info(
            "delivery.rendered",
            format=rendered.document.format,
            bytes=len(rendered.document.content),
            attachments=[attachment.format for attachment in rendered.attachments],
            validated=validation.refused is None and validation.passed is not None,
            refused_by_validation=validation.refused is not None,
        )
        if validation.refused is not None:
            return NotSent(
                validation_summary(validation.refused),
                details={"validation": validation.refused.as_dict()},
            )
        return rendered, validation

    def render(
        self, claim: Claim, payload: str, tenant: TenantSettings, pods: tuple[ExtraDocument, ...]
    ) -> RenderedDelivery:
        """The document in the delivery's format (the channel's default if none), the channel's extra
        formats, and the proofs of delivery as the format carries them; raises what rendering refuses."""
        # intake checked this payload: unchanged since (its checksum matches), it is not checked again
        invoice = canonical_json.stored_invoice(payload, getattr(payload, "sha256", None))
        channel = self.context.channel(claim.channel)
        capabilities = channel_class(claim.channel).capabilities
        if capabilities.marks_avtalegiro:
            invoice = marked_for_mandate(self.context.engine, claim.tenant_id, invoice)
        fmt = claim.format or capabilities.default_format
        if fmt not in capabilities.formats:
            raise UnknownFormat(fmt, list(capabilities.formats))
        render_options = tenant.render_options
        routing = invoice.routing
        portal_link = delivery_portal_link(
            self.context.settings,
            claim.tenant_id,
            [claim.invoice_id] if claim.invoice_id else [],
            routing.receiver_id if routing is not None else None,
        )

        def render_one(name: str, source: Invoice) -> RenderedDocument:
            if portal_link is not None and name in PORTAL_LINK_FORMATS:
                return renderer(name)(source, render_options(name), portal_link=portal_link)
            return render(name, source, render_options(name))

        with_pods = with_pod_attachments(invoice, pods) if pods else invoice
        embedded = capabilities.embedded_formats if fmt in EMBEDS_ATTACHMENTS else ()
        if embedded:  # eFaktura: the invoice PDF inside the EHF, validated with it
            documents = tuple(render_one(name, invoice) for name in embedded)
            with_pods = with_embedded_documents(with_pods, documents)

        def rendered_as(name: str) -> RenderedDocument:
            return render_one(name, with_pods if name in EMBEDS_ATTACHMENTS else invoice)

        document = rendered_as(fmt)
        attachments = tuple(
            rendered_as(extra) for extra in channel.attachment_formats() if extra != document.format
        )
        if pods and document.format in APPENDS_PAGES:
            try:
                merged = append_pages(document.content, [(pod.media_type, pod.content) for pod in pods])
            except FormatError as error:
                position = int(error.where.rpartition(" ")[2]) if error.where[-1:].isdigit() else 0
                which = pods[position - 1].document_id if position else "the invoice PDF"
                raise FormatError(f"stored document {which}", error.reason) from None
            document = replace(document, content=merged)
        elif pods and document.format not in EMBEDS_ATTACHMENTS:
            # one name per file: the folder channel names an attachment by its format
            names = ["pod"] if len(pods) == 1 else [f"pod-{n}" for n in range(1, len(pods) + 1)]
            attachments += tuple(
                RenderedDocument(name, pod.content, pod.media_type, file_extension(pod))
                for name, pod in zip(names, pods, strict=True)
            )
        return RenderedDelivery(invoice, channel, document, attachments, tenant, pods, portal_link)

    def validate(self, rendered: RenderedDelivery) -> ValidationOutcome:
        """Validate every rendered document whose format is validated (EHF: the PEPPOL rules)."""
        passed: dict[str, Any] | None = None
        for document in (rendered.document, *rendered.attachments):
            entry = FORMATS.get(document.format)  # None: a file sent as it is (a proof of delivery)
            if entry is None or not entry.validated:
                continue
            # the tree the renderer built (EHF / UBL) is judged as it is: the bytes are not parsed again
            report = validator_from_settings(self.context.settings).validate(
                document.content, tree=document.tree
            )
            if not report.ok:
                return ValidationOutcome(refused=report)
            passed = {
                "format": document.format,
                "rule_sets": report.rule_sets,
                "warnings": [asdict(finding) for finding in report.warnings],
            }
        return ValidationOutcome(passed=passed)

    def outbound_delivery(self, claim: Claim, rendered: RenderedDelivery) -> OutboundDelivery:
        """What the channel is handed for one claimed, rendered delivery: everything it needs to send."""
        return OutboundDelivery(
            delivery_id=claim.delivery_id,
            invoice_id=claim.invoice_id,
            tenant_id=claim.tenant_id,
            attempt=claim.attempt,
            address=claim.address,
            document=rendered.document,
            invoice=rendered.invoice,
            attachments=rendered.attachments,
            tenant_settings=rendered.tenant,
            portal_link=rendered.portal_link,
        )

    def _start_sending(
        self, claim: Claim, rendered: RenderedDelivery, validation: ValidationOutcome
    ) -> Claim:
        """`rendering → sending`, the lease extended over the channel's timeout."""
        lease = rendered.channel.config.timeout_seconds + self.context.settings.lease_seconds

        def write() -> Claim:
            with session_scope(self.context.engine) as session:
                return leased_transition(
                    session,
                    claim,
                    from_status=S.RENDERING,
                    to_status=S.SENDING,
                    actor=self.worker_id,
                    extend_lease_seconds=lease,
                    details=sending_details(rendered, validation),
                )

        return self.context.ride_out(write)

    def _finish_without_sending(
        self, claim: Claim, reason: str, details: dict[str, Any] | None = None
    ) -> str:
        def write() -> None:
            with session_scope(self.context.engine) as session:
                leased_transition(
                    session,
                    claim,
                    from_status=S.RENDERING,
                    to_status=S.DEVIATION,
                    actor=self.worker_id,
                    reason=reason,
                    details=details,
                )

        self.context.ride_out(write)
        self.context.stats.outcomes[S.DEVIATION.value] += 1
        self.log_outcome(claim, S.DEVIATION.value, reason)
        return S.DEVIATION.value

    def log_outcome(self, claim: Claim, status: str, reason: str | None = None) -> None:
        """The last step of a delivery: the status recorded (warning when someone has to act), counted."""
        metrics.record_delivery_outcome(claim.channel, status)
        level = log.warning if status in (S.DEVIATION.value, S.FAILED.value) else log.info
        level("delivery.outcome", status=status, **({"reason": reason[:500]} if reason else {}))

    # -- the outcome ---------------------------------------------------------------------------------

    def record_outcome(
        self,
        claim: Claim,
        channel: Channel[Any],
        invoice: Invoice,
        document: RenderedDocument,
        result: DeliveryResult,
    ) -> str:
        """Write what the channel answered under the lease: handed over, staged for a batch, retry later,
        or failed (then the receiver's next channel is queued). The channel has acted: a database that does
        not answer now is waited for, and the same write tried again under the same lease."""
        now = utcnow()
        context = self.context
        storage_key: str | None = None
        if context.settings.store_sent_documents and isinstance(result, Delivered | Sent):
            # the write (and its fsync) outside the transaction: on SQLite it holds every worker's lock
            storage_key = context.ride_out(lambda: put_sent(context, claim.delivery_id, document.content))
        status = context.ride_out(
            lambda: self._write_outcome(claim, channel, invoice, document, result, storage_key, now)
        )
        context.stats.outcomes[status.value] += 1
        self.log_outcome(claim, status.value, getattr(result, "reason", None))
        return status.value

    def _write_outcome(
        self,
        claim: Claim,
        channel: Channel[Any],
        invoice: Invoice,
        document: RenderedDocument,
        result: DeliveryResult,
        storage_key: str | None,
        now: dt.datetime,
    ) -> DeliveryStatus:
        """The outcome's one transaction (tried again as a whole after an outage)."""
        context = self.context
        with session_scope(context.engine) as session:
            if isinstance(result, Delivered | Sent):
                status = S.DELIVERED if isinstance(result, Delivered) else S.SENT
                document_id = (
                    store_sent(
                        context,
                        session,
                        claim.tenant_id,
                        document,
                        f"{safe_name(invoice.number)}.{document.extension}",
                        claim.delivery_id,
                        storage_key,
                    )
                    if storage_key
                    else None
                )
                leased_transition(
                    session,
                    claim,
                    from_status=S.SENDING,
                    to_status=status,
                    actor=self.worker_id,
                    reason=result.detail,
                    channel_message_id=result.message_id,
                    details={"document_id": document_id} if document_id else None,
                    now=now,
                )
            elif isinstance(result, Staged):
                status = S.BATCHED  # kept when the batch is handed over (`gateway.worker.batches`)
                stage_delivery(session, claim, result, document, actor=self.worker_id, now=now)
            elif isinstance(result, Retry):
                status = self._record_retry(session, claim, channel, invoice, result, now)
            else:
                status = S.DEVIATION if result.deviation else S.FAILED
                leased_transition(
                    session,
                    claim,
                    from_status=S.SENDING,
                    to_status=status,
                    actor=self.worker_id,
                    reason=result.reason,
                    tries=claim.tries + 1,
                    now=now,
                )
                fall_back(context, session, claim.delivery_id, invoice, status, result.reason)
        return status

    def _record_retry(
        self,
        session: Session,
        claim: Claim,
        channel: Channel[Any],
        invoice: Invoice,
        result: Retry,
        now: dt.datetime,
    ) -> DeliveryStatus:
        """Back to the queue after the channel's backoff, or failed when its policy gives up."""
        move = retry_move(session, claim, channel, result, now, from_status=S.SENDING)
        leased_transition(
            session,
            claim,
            from_status=S.SENDING,
            to_status=move.to_status,
            actor=self.worker_id,
            tries=move.tries,
            now=now,
            reason=move.reason,
            next_attempt_at=move.next_attempt_at,
            details=move.details,
        )
        if move.to_status is S.FAILED:
            fall_back(self.context, session, claim.delivery_id, invoice, S.FAILED, result.reason)
        return move.to_status


def retry_move(
    session: Session,
    claim: Claim,
    channel: Channel[Any],
    result: Retry,
    now: dt.datetime,
    *,
    from_status: DeliveryStatus,
    via: DeliveryStatus | None = None,
    via_details: dict[str, Any] | None = None,
) -> LeasedMove:
    """A `Retry`'s step: back to the queue after the channel's backoff (the tenant's sending hours
    respected), or failed when its policy gives up (the caller then queues the fallback channel)."""
    tries = claim.tries + 1
    policy = channel.retry_policy
    if policy.gives_up_after(tries):
        return LeasedMove(
            claim,
            from_status,
            S.FAILED,
            via=via,
            via_details=via_details,
            tries=tries,
            reason=f"gave up after {tries} tries; last: {result.reason}",
        )
    delay = result.after if result.after is not None else policy.delay_after(tries)
    due = tenant_settings(session, claim.tenant_id).due_at(claim.channel, now + dt.timedelta(seconds=delay))
    return LeasedMove(
        claim,
        from_status,
        S.QUEUED,
        via=via,
        via_details=via_details,
        tries=tries,
        reason=result.reason,
        next_attempt_at=due,
        details={"retry_in_seconds": round(delay, 3), "try": tries},
    )


def _writes_in_groups(name: str) -> bool:
    """Whether channel `name` writes in groups; False for one unknown or not installed (its deliveries
    say so on the one-by-one path)."""
    try:
        return channel_class(name).capabilities.writes_in_groups
    except (UnknownChannel, ChannelUnavailable):
        return False


@dataclass(frozen=True)
class NotSent:
    """Why a claimed delivery goes to deviation without reaching its channel (extra documents that
    cannot be sent, a rendering problem, a validation that refused it), and what its event records."""

    reason: str
    details: dict[str, Any] | None = None


def sending_details(rendered: RenderedDelivery, validation: ValidationOutcome) -> dict[str, Any]:
    """What the `sending` event records about the document handed to the channel."""
    document, pods = rendered.document, rendered.pods
    return {
        "format": document.format,
        "attachments": [a.format for a in rendered.attachments],
        "validation": validation.passed,
        "bytes": len(document.content),
        **({"extra_documents": _extras_detail(pods, document.format)} if pods else {}),
    }


def log_sent(result: DeliveryResult, started: float) -> None:
    """The `delivery.sent` line: what the channel answered and how long it took."""
    log.info(
        "delivery.sent",
        result=type(result).__name__.lower(),
        seconds=round(time.perf_counter() - started, 3),
        **_result_fields(result),
    )


def log_claimed(claim: Claim) -> None:
    """The first step of a delivery on either path: `delivery.claimed`, and a takeover counted."""
    if claim.taken_over:
        metrics.record_lease_takeover()
    log.info(
        "delivery.claimed", try_number=claim.tries + 1, taken_over=claim.taken_over,
        claimed_from=claim.claimed_from.value,
    )  # fmt: skip


def _result_fields(result: DeliveryResult) -> dict[str, Any]:
    """What a channel's answer says, for the `delivery.sent` line (never the document itself)."""
    fields: dict[str, Any] = {}
    for name in ("message_id", "detail", "where", "reason", "after", "deviation"):
        value = getattr(result, name, None)
        if value is not None:
            fields[name] = value if not isinstance(value, str) else value[:500]
    return fields


def _extras_detail(pods: tuple[ExtraDocument, ...], fmt: str) -> list[dict[str, Any]]:
    how = (
        "appended pages"
        if fmt in APPENDS_PAGES
        else "embedded attachment"
        if fmt in EMBEDS_ATTACHMENTS
        else "attached file"
    )
    return [
        {
            "document_id": pod.document_id,
            "filename": pod.filename,
            "media_type": pod.media_type,
            "bytes": len(pod.content),
            "sent_as": how,
        }
        for pod in pods
    ]


# -- a claim batch on channels that write in groups ------------------------------------------------------


@dataclass
class _GroupedDelivery:
    """One claimed delivery of a grouped batch, rendered and handed to its channel, its outcome pending
    until the batch's write group settles (or `not_sent`: it goes to deviation without being sent)."""

    claim: Claim
    not_sent: NotSent | None = None
    rendered: RenderedDelivery | None = None
    validation: ValidationOutcome | None = None
    result: DeliveryResult | None = None
    storage_key: str | None = None
    #: the bytes to keep as sent in a store other than the local folder store, put with the rest of the
    #: batch's copies when it settles (`GroupedBatch.put_copies`)
    copy_to_put: bytes | None = None


def stored_copy_tag(claim: Claim) -> str:
    """The write group tag of a delivery's stored copy (its channel's files are tagged by its id)."""
    return f"{claim.delivery_id}/stored"


class GroupedBatch:
    """The deliveries of one claim batch whose channels write in groups (`writes_in_groups`: the folder).

    Each is rendered, validated and handed to its channel with the batch's `WriteGroup` (its files and
    its stored copy written as parts, nothing flushed); there is no `rendering → sending` transaction of
    its own (a synchronous channel's `sending` is not observable). `finish` settles the group (one flush
    for every file of the batch, then the renames into place, then one flush of the directories) and
    records every outcome in ONE transaction under each delivery's lease, its `sending` step in the
    history as before: a delivery is `delivered` only once its bytes are durable and in place. A write
    that failed to settle is a retry. A crash before that transaction leaves the deliveries in
    `rendering` under their claim's lease: taken over later, their files written again under the same
    names (at most part files left, outside the delivery folders).
    """

    def __init__(self, loop: DeliveryLoop, numbers: dict[str | None, str]) -> None:
        self.loop = loop
        self.context = loop.context
        self.numbers = numbers
        self.group = WriteGroup()
        self.pending: list[_GroupedDelivery] = []

    def add(self, claim: Claim, payload: str, tenant: TenantSettings, extras: ExtraDocuments | None) -> None:
        """Render, validate and hand one claimed delivery to its channel through the group."""
        context = self.context
        log_claimed(claim)
        prepared = self.loop.prepare(claim, payload, tenant, extras)
        if isinstance(prepared, NotSent):
            self.pending.append(_GroupedDelivery(claim, not_sent=prepared))
            return
        rendered, validation = prepared
        outbound = replace(self.loop.outbound_delivery(claim, rendered), write_group=self.group)
        metrics.record_delivery_attempt(claim.channel)
        started = time.perf_counter()
        result = deliver_with_context(context.engine, rendered.channel, outbound)
        log_sent(result, started)
        entry = _GroupedDelivery(claim, None, rendered, validation, result)
        if context.settings.store_sent_documents and isinstance(result, Delivered | Sent):
            store = context.document_store
            if isinstance(store, LocalDocumentStore):
                entry.storage_key = self._keep_in_group(store, claim, rendered.document.content)
            else:  # kept with the batch's other copies, in one step of that store, when the batch settles
                entry.copy_to_put = rendered.document.content
        self.pending.append(entry)

    def _keep_in_group(self, store: LocalDocumentStore, claim: Claim, content: bytes) -> str | None:
        """The stored copy in the local store, through the group (settled with the channel's files); None
        when it cannot be kept (the outcome stands)."""
        try:
            return store.put_in_group(content, self.group, tag=stored_copy_tag(claim))
        except OSError as error:
            log.warning(
                "worker %s: cannot keep %s as sent: %s", self.loop.worker_id, claim.delivery_id, error
            )
            return None

    def put_copies(self) -> None:
        """The copies for a store other than the local one (PostgreSQL, S3), of the deliveries still handed
        over after the settle, put in one step of the store (`put_documents`: one transaction in
        PostgreSQL) before the outcomes are recorded; when that fails they are not kept (logged: losing
        a copy must not lose an outcome), as on the one-by-one path."""
        waiting = [
            entry
            for entry in self.pending
            if entry.copy_to_put is not None and isinstance(entry.result, Delivered | Sent)
        ]
        if not waiting:
            return
        try:
            keys = put_documents(self.context.document_store, [e.copy_to_put or b"" for e in waiting])
        except Exception as error:
            worker = self.loop.worker_id
            for entry in waiting:
                log.warning("worker %s: cannot keep %s as sent: %s", worker, entry.claim.delivery_id, error)
            return
        for entry, key in zip(waiting, keys, strict=True):
            entry.storage_key = key

    def abandon(self) -> None:
        """Drop the parts of writes not settled (an error ended the round; the leases expire)."""
        self.group.discard()

    def finish(self) -> None:
        """Settle the group, then record every outcome in one transaction, then log and count them."""
        self.count(self.settle_and_record())

    def count(self, tally: BatchTally) -> None:
        """Add a settled batch's outcomes to the worker's statistics (on the worker's own thread)."""
        self.context.stats.outcomes.update(tally.outcomes)
        self.context.stats.lease_lost += tally.lease_lost

    def settle_and_record(self) -> BatchTally:
        """Settle the group, then record every outcome in one transaction, then log them; what to count.

        Touches no counter of the worker's statistics, so a finisher thread may run it (`BatchFinisher`)."""
        tally = BatchTally()
        if not self.pending:
            return tally
        settled = self.group.settle() if len(self.group) else Settled()
        for entry in self.pending:
            failure = settled.failed.get(entry.claim.delivery_id)
            if failure is not None and isinstance(entry.result, Delivered | Sent):
                entry.result = Retry(reason=f"writing the files failed: {failure}")
                entry.storage_key = None
            elif entry.storage_key is not None and stored_copy_tag(entry.claim) in settled.failed:
                log.warning(
                    "worker %s: cannot keep %s as sent: %s", self.loop.worker_id, entry.claim.delivery_id,
                    settled.failed[stored_copy_tag(entry.claim)],
                )  # fmt: skip
                entry.storage_key = None
        self.put_copies()
        statuses, lost = self.context.ride_out(self._write_outcomes)
        for entry in self.pending:
            claim = entry.claim
            with bound_context(
                tenant=claim.tenant_id,
                invoice_number=self.numbers.get(claim.invoice_id),
                delivery_id=claim.delivery_id,
                attempt=claim.attempt,
                channel=claim.channel,
                worker=self.loop.worker_id,
            ):
                if claim.delivery_id in lost:
                    tally.lease_lost += 1
                    log.warning("delivery.lease_lost", reason=lost[claim.delivery_id])
                    continue
                status, reason = statuses[claim.delivery_id]
                tally.outcomes[status.value] += 1
                self.loop.log_outcome(claim, status.value, reason)
        self.pending = []
        return tally

    def _write_outcomes(
        self,
    ) -> tuple[dict[str, tuple[DeliveryStatus, str | None]], dict[str, str]]:
        """The batch's one transaction (tried again as a whole after an outage): every delivery's
        outcome, its lease checked row by row; a row whose lease was lost is skipped and reported."""
        now = utcnow()
        statuses: dict[str, tuple[DeliveryStatus, str | None]] = {}
        fallbacks: list[tuple[Claim, Invoice, DeliveryStatus, str]] = []
        moves: list[LeasedMove] = []
        with session_scope(self.context.engine) as session:
            document_ids = self._record_stored_copies(session)
            for entry in self.pending:
                document_id = document_ids.get(entry.claim.delivery_id)
                move, fallback_reason = self._move(session, entry, now, document_id)
                moves.append(move)
                statuses[entry.claim.delivery_id] = (move.to_status, move.reason)
                if fallback_reason is not None and entry.rendered is not None:
                    fallbacks.append((entry.claim, entry.rendered.invoice, move.to_status, fallback_reason))
            refused = leased_transitions(session, moves, actor=self.loop.worker_id, now=now)
            lost = {
                move.claim.delivery_id: f"lease {move.claim.lease_token[:8]}… is no longer held"
                for move in refused
            }
            for claim, invoice, status, reason in fallbacks:
                if claim.delivery_id not in lost:
                    fall_back(self.context, session, claim.delivery_id, invoice, status, reason)
        return statuses, lost

    def _record_stored_copies(self, session: Session) -> dict[str, str]:
        """Delivery id → `stored_documents` id of every copy kept of what the batch handed over, recorded
        together (`record_stored_documents`)."""
        kept: list[tuple[str, SentDocumentRow]] = []
        for entry in self.pending:
            rendered, key = entry.rendered, entry.storage_key
            if key is None or rendered is None or not isinstance(entry.result, Delivered | Sent):
                continue
            document = rendered.document
            filename = f"{safe_name(rendered.invoice.number)}.{document.extension}"
            row = SentDocumentRow(
                entry.claim.tenant_id, document.content, key, document.media_type, filename,
                SENT_DOCUMENT_KIND,
            )  # fmt: skip
            kept.append((entry.claim.delivery_id, row))
        ids = record_stored_documents(session, [row for _, row in kept]) if kept else []
        return {delivery_id: id_ for (delivery_id, _), id_ in zip(kept, ids, strict=True)}

    def _move(
        self, session: Session, entry: _GroupedDelivery, now: dt.datetime, document_id: str | None
    ) -> tuple[LeasedMove, str | None]:
        """One delivery's step from `rendering` (through `sending` when it reached its channel), and the
        reason to queue its fallback channel (None: no fallback). `document_id`: its stored copy's row."""
        claim = entry.claim
        if entry.not_sent is not None or entry.rendered is None or entry.validation is None:
            not_sent = entry.not_sent or NotSent("nothing was rendered")
            move = LeasedMove(
                claim, S.RENDERING, S.DEVIATION, reason=not_sent.reason, details=not_sent.details
            )
            return move, None
        rendered, result = entry.rendered, entry.result
        details = sending_details(rendered, entry.validation)
        if isinstance(result, Delivered | Sent):
            status = S.DELIVERED if isinstance(result, Delivered) else S.SENT
            move = LeasedMove(
                claim,
                S.RENDERING,
                status,
                via=S.SENDING,
                via_details=details,
                reason=result.detail,
                channel_message_id=result.message_id,
                details={"document_id": document_id} if document_id else None,
            )
            return move, None
        if isinstance(result, Retry):
            move = retry_move(
                session, claim, rendered.channel, result, now,
                from_status=S.RENDERING, via=S.SENDING, via_details=details,
            )  # fmt: skip
            return move, (result.reason if move.to_status is S.FAILED else None)
        if isinstance(result, Failed):
            reason = result.reason
            status = S.DEVIATION if result.deviation else S.FAILED
        else:  # a grouped channel is synchronous: it has no batch to stage into
            reason = f"channel {claim.channel} answered {type(result).__name__} to a grouped write"
            status = S.DEVIATION
        move = LeasedMove(
            claim, S.RENDERING, status, via=S.SENDING, via_details=details, reason=reason,
            tries=claim.tries + 1,
        )  # fmt: skip
        return move, reason


@dataclass
class BatchTally:
    """A settled grouped batch's outcomes by status and its leases found lost, for the worker's stats."""

    outcomes: Counter[str] = field(default_factory=Counter)
    lease_lost: int = 0


class BatchFinisher:
    """One grouped batch settled and recorded on a thread of its own (`GroupedBatch.settle_and_record`),
    so the worker claims, renders and validates the next batch while this one's flushes and outcome
    transaction run (the fsyncs and the database wait release the GIL).

    Nothing changes for the outbox: the batch's deliveries stay in `rendering` under their claim's lease
    until its one transaction records them, after the flushes, exactly as on the worker's thread. The
    thread runs in a copy of the worker's context (structlog's contextvars do not cross threads by
    themselves); it opens its own session (the engine's pool is thread-safe, sessions are not). What
    ended it is kept and raised by `join` on the worker's thread; its group's parts are discarded then.
    """

    def __init__(self, batch: GroupedBatch) -> None:
        self.batch = batch
        self._tally: BatchTally | None = None
        self._error: BaseException | None = None
        context = contextvars.copy_context()
        self._thread = threading.Thread(
            target=context.run, args=(self._run,), name=f"finisher {batch.loop.worker_id}", daemon=True
        )
        self._thread.start()

    def _run(self) -> None:
        try:
            self._tally = self.batch.settle_and_record()
        except BaseException as error:  # raised again by `join`, on the worker's thread
            self._error = error
            self.batch.abandon()

    def join(self) -> None:
        """Wait for the batch, then count its outcomes, or raise what ended it."""
        self._thread.join()
        if self._error is not None:
            raise self._error
        if self._tally is not None:
            self.batch.count(self._tally)
