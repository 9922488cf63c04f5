"""The delivery worker: claim, render, send, record — until stopped.

Each delivery goes through three short transactions (claim → `rendering`; `sending` with the lease
extended over the channel's timeout; the outcome), so a crash at any point leaves it either finished or
under a lease that expires and is taken over. SIGTERM/SIGINT stop the loop after the current delivery;
claimed deliveries not yet started are handed back to the queue.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import logging
import os
import signal
import socket
import threading
from collections import Counter
from dataclasses import asdict, dataclass, field, replace
from types import FrameType
from typing import Any

from pydantic import ValidationError
from sqlalchemy import Engine, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session
from sqlmodel import col

from channels import ChannelUnavailable, UnknownChannel, channel_class, create_channel
from channels.base import (
    BatchingChannel,
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
from db.models import Delivery, InvoiceRecord, StoredDocument, new_id, utcnow
from gateway.services.outbound.batches import (
    BatchClaim,
    BatchLeaseLost,
    BatchStatus,
    batch_deliveries,
    claim_batches,
    close_due_batches,
    finish_batch,
    load_batch,
    stage_delivery,
)
from gateway.services.outbound.channel_context import deliver_with_context, send_document
from gateway.services.outbound.documents import DocumentStore, document_store, load_document, store_document
from gateway.services.outbound.routing import RoutingError, load_profiles, route_for
from gateway.services.tenancy.tenants import tenant_settings
from gateway.services.validation import ValidationReport, validator_from_settings
from gateway.settings import Settings
from mappings import FORMATS, UnknownFormat, render
from mappings.base import FormatError, RenderedDocument
from mappings.invoice.canonical_json import parse_invoice_json
from mappings.invoice.pdf_merge import append_pages
from outbox.queue import (
    Claim,
    LeaseLost,
    StaleStatus,
    change_status,
    claim_deliveries,
    enqueue_delivery,
    leased_transition,
    note_event,
    release_lease,
)
from outbox.states import DeliveryStatus
from schemas.canonical import Attachment, Invoice
from schemas.tenant import TenantSettings
from transports.files import safe_name

log = logging.getLogger("gateway.worker")


def validation_summary(report: ValidationReport, shown: int = 5) -> str:
    """One line for `last_error`: the blocking rule ids and texts; the full report goes in the event."""
    blocking = report.blocking
    parts = [f"{f.rule_id} ({f.flag}): {f.text.strip()[:160]}" for f in blocking[:shown]]
    more = f"; and {len(blocking) - shown} more" if len(blocking) > shown else ""
    return f"validation failed ({', '.join(report.rule_sets)}): " + "; ".join(parts) + more


def load_payloads(session: Session, invoice_ids: set[str | None]) -> dict[str | None, str]:
    """Canonical JSON of the claimed deliveries' invoices, in one query."""
    wanted = sorted(invoice_id for invoice_id in invoice_ids if invoice_id is not None)
    if not wanted:
        return {}
    rows = session.execute(
        select(col(InvoiceRecord.id), col(InvoiceRecord.payload)).where(col(InvoiceRecord.id).in_(wanted))
    )
    return {invoice_id: payload for invoice_id, payload in rows}


@dataclass(frozen=True)
class ExtraDocument:
    """A stored document sent with the current attempt (a proof of delivery, on a resend)."""

    document_id: str
    media_type: str
    filename: str
    content: bytes


@dataclass(frozen=True)
class ExtraDocuments:
    """What a delivery's `extra_documents` name, loaded; `problems` names each one that cannot be sent."""

    documents: tuple[ExtraDocument, ...] = ()
    problems: tuple[str, ...] = ()


def load_extra_documents(
    session: Session, store: DocumentStore, claims: list[Claim]
) -> dict[str, ExtraDocuments]:
    """The extra documents of the claimed deliveries that have any (one query; the bytes from the store)."""
    if not claims:
        return {}
    tenants = {claim.delivery_id: claim.tenant_id for claim in claims}
    rows = session.execute(
        select(col(Delivery.id), col(Delivery.extra_documents)).where(col(Delivery.id).in_(sorted(tenants)))
    )
    loaded: dict[str, ExtraDocuments] = {}
    for delivery_id, document_ids in rows:
        if not document_ids:
            continue
        documents: list[ExtraDocument] = []
        problems: list[str] = []
        for document_id in document_ids:
            try:
                row, data = load_document(session, store, str(document_id), tenants[delivery_id])
            except Exception as error:  # missing row or file, corrupted bytes: the delivery says which
                problems.append(f"stored document {document_id}: {error}")
                continue
            documents.append(ExtraDocument(row.id, row.media_type, row.filename, data))
        loaded[delivery_id] = ExtraDocuments(tuple(documents), tuple(problems))
    return loaded


#: Formats that carry the invoice's BG-24 attachments inside the document (UBL AdditionalDocumentReference).
EMBEDS_ATTACHMENTS = frozenset({"ehf"})
#: Formats the extra documents are appended to as pages.
APPENDS_PAGES = frozenset({"pdf"})
_EXTENSIONS = {"application/pdf": "pdf", "image/jpeg": "jpg", "image/png": "png"}


def _extension(document: ExtraDocument) -> str:
    if document.media_type in _EXTENSIONS:
        return _EXTENSIONS[document.media_type]
    suffix = document.filename.rpartition(".")[2].lower()
    return suffix if suffix.isalnum() and 0 < len(suffix) <= 8 else "bin"


def _attachment_filename(document: ExtraDocument) -> str:
    cleaned = "".join("_" if c in "/\\\x00" else c for c in document.filename).strip()
    return cleaned[-200:] or f"{document.document_id}.{_extension(document)}"


def with_pod_attachments(invoice: Invoice, documents: tuple[ExtraDocument, ...]) -> Invoice:
    """`invoice` with each extra document as a BG-24 attachment (POD-1, …) embedded in base64."""
    attachments = [
        Attachment(
            id=f"POD-{number}",
            description="Proof of delivery",
            mime_type=document.media_type,
            filename=_attachment_filename(document),
            content_base64=base64.b64encode(document.content).decode("ascii"),
        )
        for number, document in enumerate(documents, start=1)
    ]
    return invoice.model_copy(update={"attachments": [*invoice.attachments, *attachments]})


_STORED = StoredDocument.__table__  # type: ignore[attr-defined]


def record_stored_document(
    session: Session,
    *,
    tenant_id: str,
    data: bytes,
    storage_key: str,
    media_type: str,
    filename: str,
    kind: str,
) -> str:
    """`store_document`'s row for bytes already in the store, in two plain statements: the worker keeps
    every document it hands over, and the ORM path (a savepoint per row) cost a third of the folder
    channel's throughput. The same bytes twice for a tenant are one row, as there."""
    digest = hashlib.sha256(data).hexdigest()
    existing = select(_STORED.c.id).where(_STORED.c.tenant_id == tenant_id, _STORED.c.sha256 == digest)
    found = session.execute(existing).scalar_one_or_none()
    if found is not None:
        return str(found)
    document_id = new_id()
    values = {
        "id": document_id,
        "tenant_id": tenant_id,
        "sha256": digest,
        "size": len(data),
        "media_type": media_type[:100],
        "filename": filename[:200],
        "kind": kind,
        "storage_key": storage_key,
        "created_at": utcnow(),
    }
    insert = postgresql_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = (
        insert(_STORED).values(**values).on_conflict_do_nothing(index_elements=["tenant_id", "sha256"])
    )
    if session.execute(statement).rowcount == 1:  # type: ignore[attr-defined]
        return document_id
    return str(session.execute(existing).scalar_one())  # stored by another worker a moment ago


S = DeliveryStatus


@dataclass
class WorkerStats:
    claimed: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    lease_lost: int = 0


class Worker:
    """Delivers queued deliveries through their channels; several may run against one outbox."""

    def __init__(
        self,
        engine: Engine,
        settings: Settings,
        *,
        worker_id: str | None = None,
        channels: list[str] | None = None,
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.worker_id = worker_id or f"{socket.gethostname()}:{os.getpid()}:{new_id()[:6]}"
        self.only_channels = channels
        self.stats = WorkerStats()
        self._channels: dict[str, Channel[Any]] = {}
        self._stop = threading.Event()
        self._next_batch_check: dt.datetime | None = None
        # the first read of return files waits one interval: a worker started for one round does not poll
        self._next_return_poll = utcnow() + dt.timedelta(seconds=settings.return_poll_seconds)
        self._next_ack_check = utcnow()
        self._document_store: DocumentStore | None = None
        self._next_webhook_send: dt.datetime | None = None
        self._next_remittance_poll: dt.datetime | None = None

    @property
    def document_store(self) -> DocumentStore:
        """Where extra documents are read from and documents as sent are kept."""
        if self._document_store is None:
            self._document_store = document_store(self.settings)
        return self._document_store

    # -- lifecycle -----------------------------------------------------------------------------------

    def stop(self, *_: Any) -> None:
        self._stop.set()

    def install_signal_handlers(self) -> None:
        def handler(signum: int, _frame: FrameType | None) -> None:
            log.info("worker %s: signal %s, finishing the current delivery", self.worker_id, signum)
            self.stop()

        signal.signal(signal.SIGTERM, handler)
        signal.signal(signal.SIGINT, handler)

    def run(self, *, once: bool = False, idle_exit: bool = False) -> WorkerStats:
        """Work until stopped; `once` drains what is due now and returns."""
        try:
            while not self._stop.is_set():
                handled = self.run_batch() + self.run_batches(force=once or idle_exit)
                handled += self.run_remittances(force=once or idle_exit)
                handled += self.run_webhooks(force=once or idle_exit)
                if handled == 0:
                    if once or idle_exit:
                        break
                    self._stop.wait(self.settings.poll_seconds)
        finally:
            for channel in self._channels.values():
                channel.close()
        return self.stats

    def run_batch(self) -> int:
        with session_scope(self.engine) as session:
            claims = claim_deliveries(
                session,
                worker_id=self.worker_id,
                limit=self.settings.claim_batch,
                lease_seconds=self.settings.lease_seconds,
                channels=self.only_channels,
            )
            # The payloads come in the claim's own transaction: on SQLite every transaction takes the
            # write lock, so a separate read per delivery would make workers queue for nothing.
            payloads = load_payloads(session, {claim.invoice_id for claim in claims})
            settings_by_tenant = {t: tenant_settings(session, t) for t in {c.tenant_id for c in claims}}
            extras = load_extra_documents(session, self.document_store, claims)
        self.stats.claimed += len(claims)
        for position, claim in enumerate(claims):
            if self._stop.is_set():
                self._release(claims[position:])
                break
            try:
                if claim.invoice_id is None:  # issue 13: a document, not an invoice (an EDI ack of ours)
                    status = send_document(self.engine, claim, self.channel, actor=self.worker_id,
                                           lease_seconds=self.settings.lease_seconds)  # fmt: skip
                    self.stats.outcomes[status] += 1
                    continue
                self.process(
                    claim,
                    payloads[claim.invoice_id],
                    settings_by_tenant[claim.tenant_id],
                    extras.get(claim.delivery_id),
                )
            except LeaseLost as error:
                self.stats.lease_lost += 1
                log.warning("worker %s: %s", self.worker_id, error)
        return len(claims)

    def _release(self, claims: list[Claim]) -> None:
        for claim in claims:
            try:
                with session_scope(self.engine) as session:
                    release_lease(
                        session,
                        claim,
                        status=S.RENDERING,
                        actor=self.worker_id,
                        reason="worker shutting down; handed back to the queue",
                    )
            except LeaseLost:
                self.stats.lease_lost += 1

    # -- batches (batching channels: print) ---------------------------------------------------------

    def run_batches(self, *, force: bool = False) -> int:
        """Close the batches whose cut-off has passed and hand over every due batch; returns how many.

        Runs every `batch_poll_seconds` (always with `force`), so the cut-off check costs the delivery
        loop nothing between checks.
        """
        now = utcnow()
        if not force and self._next_batch_check is not None and now < self._next_batch_check:
            return 0
        self._next_batch_check = now + dt.timedelta(seconds=self.settings.batch_poll_seconds)
        with session_scope(self.engine) as session:
            closed = close_due_batches(session, now=now, channels=self.only_channels)
        for batch_id in closed:
            log.info("worker %s: closed batch %s", self.worker_id, batch_id)
        handled = 0
        while not self._stop.is_set():
            with session_scope(self.engine) as session:
                claims = claim_batches(
                    session,
                    worker_id=self.worker_id,
                    lease_seconds=self.settings.batch_lease_seconds,
                    channels=self.only_channels,
                )
            if not claims:
                break
            self.process_batch(claims[0])
            handled += 1
        if now >= self._next_return_poll:
            self._next_return_poll = now + dt.timedelta(seconds=self.settings.return_poll_seconds)
            self.poll_returns()
        if force or now >= self._next_ack_check:
            self._next_ack_check = now + dt.timedelta(seconds=self.settings.ack_check_seconds)
            self.flag_overdue_acknowledgements(now)
        return handled

    def run_remittances(self, *, force: bool = False) -> int:
        """Every `remittance_poll_seconds` (always with `force`): read each tenant's remittance drop
        (`remittance_dir/<tenant>/`) and match every new payment; how many files and payments it handled."""
        from gateway.services.payments.matching_runs import run_all
        from gateway.services.payments.remittances import receive_remittance_folder

        now = utcnow()
        if not force and self._next_remittance_poll is not None and now < self._next_remittance_poll:
            return 0
        self._next_remittance_poll = now + dt.timedelta(seconds=self.settings.remittance_poll_seconds)
        handled = 0
        root = self.settings.remittance_dir
        if root.is_dir():
            for tenant_dir in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
                items = receive_remittance_folder(
                    self.engine, self.document_store, tenant_dir, tenant_dir.name, self.worker_id,
                    max_bytes=self.settings.max_remittance_bytes,
                )  # fmt: skip
                for item in items:
                    log.info("worker %s: remittance %s/%s %s", self.worker_id, tenant_dir.name, item.name,
                             item.outcome + (f" ({item.reason})" if item.reason else ""))  # fmt: skip
                handled += len(items)
        handled += self.pull_remittance_sftp()
        for run in run_all(self.engine, holder=self.worker_id):
            log.info("worker %s: matching %s", self.worker_id, run.as_dict())
            handled += run.payments
        return handled

    def pull_remittance_sftp(self) -> int:
        """Pull each configured bank SFTP folder (`GATEWAY_REMITTANCE_SFTP_SOURCES`); a source that cannot
        be reached is logged and tried again next time (its files stay on the server until they are kept)."""
        from gateway.services.payments.remittances import load_sftp_sources, receive_remittance_sftp
        from transports.sftp import SftpError

        if self.settings.remittance_sftp_sources is None:
            return 0
        try:
            sources = load_sftp_sources(self.settings.remittance_sftp_sources)
        except ValueError as error:
            log.error("worker %s: remittance SFTP sources: %s", self.worker_id, error)
            return 0
        handled = 0
        for source in sources:
            try:
                items = receive_remittance_sftp(
                    self.engine, self.document_store, source.sftp, source.directory, source.tenant,
                    self.worker_id, max_bytes=self.settings.max_remittance_bytes,
                )  # fmt: skip
            except SftpError as error:
                log.warning("worker %s: remittance pull %s@%s: %s", self.worker_id, source.tenant,
                            source.sftp.host, error)  # fmt: skip
                continue
            for item in items:
                log.info("worker %s: remittance %s %s %s", self.worker_id, source.tenant, item.name,
                         item.outcome)  # fmt: skip
            handled += len(items)
        return handled

    def run_webhooks(self, *, force: bool = False) -> int:
        """Send due webhook events every `webhook_poll_seconds` (always with `force`); how many were tried."""
        from gateway.services.tenancy.webhooks import send_due_events, webhook_policy

        now = utcnow()
        if not force and self._next_webhook_send is not None and now < self._next_webhook_send:
            return 0
        self._next_webhook_send = now + dt.timedelta(seconds=self.settings.webhook_poll_seconds)
        report = send_due_events(
            self.engine,
            policy=webhook_policy(self.settings),
            timeout_seconds=self.settings.webhook_timeout_seconds,
            now=now,
        )
        if report.claimed:
            log.info("worker %s: webhooks %s", self.worker_id, report)
        return report.claimed

    def flag_overdue_acknowledgements(self, now: dt.datetime) -> int:
        """EDI interchanges whose partner has not acknowledged them in time go to deviation."""
        from gateway.services.inbound.edi_acks import flag_overdue

        flagged = flag_overdue(self.engine, now, actor=self.worker_id)
        if flagged:
            log.info("worker %s: %d EDI interchange(s) not acknowledged in time", self.worker_id, flagged)
        return flagged

    def poll_returns(self) -> None:
        """Read and apply the print houses' return files (receipts, production reports, returned mail)."""
        from channels.print_sftp import PrintChannel
        from gateway.services.inbound.print_returns import poll_print_returns

        for name in self.settings.return_poll_channels:
            if self.only_channels is not None and name not in self.only_channels:
                continue
            try:
                channel = self.channel(name)
            except (UnknownChannel, ChannelUnavailable, ValidationError) as error:
                log.warning("worker %s: cannot read %s return files: %s", self.worker_id, name, error)
                continue
            if isinstance(channel, PrintChannel):
                report = poll_print_returns(self.engine, channel, actor=f"{name}:returns")
                for problem in report.errors:
                    log.warning("worker %s: %s return files: %s", self.worker_id, name, problem)

    def process_batch(self, claim: BatchClaim) -> str:
        """Hand one claimed batch to its channel and record the outcome on the batch and its deliveries."""
        result: Sent | Retry | Failed
        channel: Channel[Any] | None = None
        keys: dict[str, str | None] = {}  # delivery id → storage key of the document as handed over
        try:
            channel = self.channel(claim.channel)
        except (UnknownChannel, ChannelUnavailable, ValidationError) as error:
            result = Failed(f"cannot load channel {claim.channel}: {error}", deviation=True)
        else:
            if isinstance(channel, BatchingChannel):
                with session_scope(self.engine) as session:
                    batch = load_batch(session, claim)
                result = channel.deliver_batch(batch)
                if isinstance(result, Sent) and self.settings.store_sent_documents:
                    for entry in batch.entries:  # outside the outcome's transaction, as for one delivery
                        keys[entry.delivery_id] = self._put_sent(entry.delivery_id, entry.document.content)
            else:
                result = Failed(f"channel {claim.channel} does not take batches", deviation=True)
        try:
            return self._record_batch_outcome(claim, channel, result, keys)
        except BatchLeaseLost as error:
            self.stats.lease_lost += 1
            log.warning("worker %s: %s", self.worker_id, error)
            return "lease lost"

    def _record_batch_outcome(
        self,
        claim: BatchClaim,
        channel: Channel[Any] | None,
        result: Sent | Retry | Failed,
        storage_keys: dict[str, str | None] | None = None,
    ) -> str:
        now = utcnow()
        tries = claim.tries + 1
        with session_scope(self.engine) as session:
            members = [
                (item, delivery)
                for item, delivery in batch_deliveries(session, claim.batch_id)
                if DeliveryStatus(delivery.status) is S.BATCHED and delivery.attempt == item.attempt
            ]
            if isinstance(result, Sent):
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
                for item, delivery in members:
                    kept = (
                        self._store_sent(
                            session,
                            delivery.tenant_id,
                            RenderedDocument(item.format, item.content, item.media_type, item.extension),
                            f"{claim.batch_id}-{item.sequence:05d}.{item.extension}",
                            delivery.id,
                            (storage_keys or {}).get(delivery.id),
                        )
                        if self.settings.store_sent_documents
                        else None
                    )
                    change_status(
                        session,
                        delivery,
                        S.SENT,
                        actor=self.worker_id,
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
                self.stats.outcomes["batch sent"] += 1
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
                        actor=self.worker_id,
                        reason=f"batch {claim.batch_id} not handed over (try {tries}): {result.reason}",
                        details={"batch_id": claim.batch_id, "retry_at": due.isoformat(), "try": tries},
                    )
                self.stats.outcomes["batch retry"] += 1
                return BatchStatus.READY
            if isinstance(result, Retry):
                reason = f"batch {claim.batch_id} gave up after {tries} tries; last: {result.reason}"
                to_status = S.DEVIATION  # the day's paper invoices did not go: a person must look
            else:
                reason = f"batch {claim.batch_id}: {result.reason}"
                to_status = S.DEVIATION if result.deviation else S.FAILED
            finish_batch(session, claim, status=BatchStatus.FAILED, now=now, tries=tries, last_error=reason)
            payloads = load_payloads(session, {delivery.invoice_id for _item, delivery in members})
            for _item, delivery in members:
                try:
                    change_status(session, delivery, to_status, actor=self.worker_id, reason=reason, now=now)
                except StaleStatus:
                    continue
                self._fall_back(
                    session, delivery.id, parse_invoice_json(payloads[delivery.invoice_id]), to_status, reason
                )
            self.stats.outcomes["batch failed"] += 1
            return BatchStatus.FAILED

    # -- one delivery --------------------------------------------------------------------------------

    def channel(self, name: str) -> Channel[Any]:
        """The configured channel, or in dry-run mode a folder sink standing in for it."""
        if name not in self._channels:
            if self.settings.dry_run:
                channel_class(name)  # an unknown channel is an error in a dry run too
                sink = {"directory": str(self.settings.data_dir / "dry-run" / name)}
                self._channels[name] = create_channel("folder", sink)
            else:
                self._channels[name] = create_channel(name, self.settings.channel_settings(name))
        return self._channels[name]

    def process(
        self,
        claim: Claim,
        payload: str,
        tenant: TenantSettings | None = None,
        extras: ExtraDocuments | None = None,
    ) -> str:
        """Render and send one claimed delivery (`payload`: its invoice's canonical JSON).

        `extras` (a resend with proof of delivery) are appended to a PDF, embedded in EHF, or else handed
        to the channel as attachments of format `pod`.
        """
        extras = extras or ExtraDocuments()
        if extras.problems:
            return self._finish_without_sending(
                claim,
                "cannot send the extra documents with it: " + "; ".join(extras.problems),
                details={"extra_document_problems": list(extras.problems)},
            )
        pods = extras.documents
        try:
            invoice = parse_invoice_json(payload)
            channel = self.channel(claim.channel)
            capabilities = channel_class(claim.channel).capabilities
            fmt = claim.format or capabilities.default_format
            if fmt not in capabilities.formats:
                raise UnknownFormat(fmt, list(capabilities.formats))
            tenant = tenant or TenantSettings()
            render_options = tenant.render_options
            with_pods = with_pod_attachments(invoice, pods) if pods else invoice

            def rendered_as(name: str) -> RenderedDocument:
                source = with_pods if name in EMBEDS_ATTACHMENTS else invoice
                return render(name, source, render_options(name))

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
                    RenderedDocument(name, pod.content, pod.media_type, _extension(pod))
                    for name, pod in zip(names, pods, strict=True)
                )
        except (UnknownChannel, ChannelUnavailable, ValidationError, UnknownFormat, FormatError) as error:
            return self._finish_without_sending(claim, f"cannot render for {claim.channel}: {error}")
        except Exception as error:
            log.exception("worker %s: rendering %s failed", self.worker_id, claim.delivery_id)
            return self._finish_without_sending(claim, f"rendering failed unexpectedly: {error!r}")

        validation: dict[str, Any] | None = None
        for rendered in (document, *attachments):
            entry = FORMATS.get(rendered.format)  # None: a file sent as it is (a proof of delivery)
            if entry is None or not entry.validated:
                continue
            report = validator_from_settings(self.settings).validate(rendered.content)
            if not report.ok:
                return self._finish_without_sending(
                    claim, validation_summary(report), details={"validation": report.as_dict()}
                )
            validation = {
                "format": rendered.format,
                "rule_sets": report.rule_sets,
                "warnings": [asdict(finding) for finding in report.warnings],
            }
        lease = channel.config.timeout_seconds + self.settings.lease_seconds
        with session_scope(self.engine) as session:
            claim = leased_transition(
                session,
                claim,
                from_status=S.RENDERING,
                to_status=S.SENDING,
                actor=self.worker_id,
                extend_lease_seconds=lease,
                details={
                    "format": document.format,
                    "attachments": [a.format for a in attachments],
                    "validation": validation,
                    "bytes": len(document.content),
                    "dry_run": self.settings.dry_run,
                    **({"extra_documents": self._extras_detail(pods, document.format)} if pods else {}),
                },
            )
        outbound = OutboundDelivery(
            delivery_id=claim.delivery_id,
            invoice_id=claim.invoice_id,
            tenant_id=claim.tenant_id,
            attempt=claim.attempt,
            address=claim.address,
            document=document,
            invoice=invoice,
            attachments=attachments,
            tenant_settings=tenant,
        )
        result = deliver_with_context(self.engine, channel, outbound)  # issue 13: what the channel needs
        return self._record_outcome(claim, channel, invoice, document, result)

    @staticmethod
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

    def _finish_without_sending(
        self, claim: Claim, reason: str, details: dict[str, Any] | None = None
    ) -> str:
        with session_scope(self.engine) as session:
            leased_transition(
                session,
                claim,
                from_status=S.RENDERING,
                to_status=S.DEVIATION,
                actor=self.worker_id,
                reason=reason,
                details=details,
            )
        self.stats.outcomes[S.DEVIATION.value] += 1
        return S.DEVIATION.value

    def _record_outcome(
        self,
        claim: Claim,
        channel: Channel[Any],
        invoice: Invoice,
        document: RenderedDocument,
        result: DeliveryResult,
    ) -> str:
        now = utcnow()
        storage_key: str | None = None
        if self.settings.store_sent_documents and isinstance(result, Delivered | Sent):
            # the write (and its fsync) outside the transaction: on SQLite it holds every worker's lock
            storage_key = self._put_sent(claim.delivery_id, document.content)
        with session_scope(self.engine) as session:
            if isinstance(result, Delivered | Sent):
                status = S.DELIVERED if isinstance(result, Delivered) else S.SENT
                document_id = (
                    self._store_sent(
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
                status = S.BATCHED  # kept when the batch is handed over (`_record_batch_outcome`)
                stage_delivery(session, claim, result, document, actor=self.worker_id, now=now)
            elif isinstance(result, Retry):
                tries = claim.tries + 1
                policy = channel.retry_policy
                if policy.gives_up_after(tries):
                    status = S.FAILED
                    leased_transition(
                        session,
                        claim,
                        from_status=S.SENDING,
                        to_status=status,
                        actor=self.worker_id,
                        tries=tries,
                        now=now,
                        reason=f"gave up after {tries} tries; last: {result.reason}",
                    )
                    self._fall_back(session, claim.delivery_id, invoice, status, result.reason)
                else:
                    status = S.QUEUED
                    delay = result.after if result.after is not None else policy.delay_after(tries)
                    due = tenant_settings(session, claim.tenant_id).due_at(
                        claim.channel, now + dt.timedelta(seconds=delay)
                    )
                    leased_transition(
                        session,
                        claim,
                        from_status=S.SENDING,
                        to_status=status,
                        actor=self.worker_id,
                        tries=tries,
                        now=now,
                        reason=result.reason,
                        next_attempt_at=due,
                        details={"retry_in_seconds": round(delay, 3), "try": tries},
                    )
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
                self._fall_back(session, claim.delivery_id, invoice, status, result.reason)
        self.stats.outcomes[status.value] += 1
        return status.value

    def _put_sent(self, delivery_id: str, content: bytes) -> str | None:
        """The bytes into the store (its key), before the outcome's transaction; None when that failed."""
        try:
            return self.document_store.put(content)
        except Exception as error:  # it has left already: losing the copy must not lose the outcome
            log.warning("worker %s: cannot keep %s as sent: %s", self.worker_id, delivery_id, error)
            return None

    def _store_sent(
        self,
        session: Session,
        tenant_id: str,
        document: RenderedDocument,
        filename: str,
        delivery_id: str,
        storage_key: str | None,
    ) -> str | None:
        """Keep the document exactly as it left: its `stored_documents` id, None when it cannot be kept."""
        if storage_key is not None:
            return record_stored_document(
                session,
                tenant_id=tenant_id,
                data=document.content,
                storage_key=storage_key,
                media_type=document.media_type,
                filename=filename,
                kind="invoice-as-sent",
            )
        try:
            stored = store_document(
                session,
                self.document_store,
                tenant_id=tenant_id,
                data=document.content,
                media_type=document.media_type,
                filename=filename,
                kind="invoice-as-sent",
            )
        except OSError as error:
            log.warning("worker %s: cannot keep %s as sent: %s", self.worker_id, delivery_id, error)
            return None
        return stored.id

    def _fall_back(
        self, session: Session, delivery_id: str, invoice: Invoice, status: DeliveryStatus, reason: str
    ) -> None:
        """Queue the receiver's next channel in its fallback chain, if it has one."""
        delivery = session.get(Delivery, delivery_id)
        if delivery is None:
            return
        receiver_id = invoice.routing.receiver_id if invoice.routing else None
        profile = (
            load_profiles(session, delivery.tenant_id, {receiver_id}).get(receiver_id or "")
            if receiver_id
            else None
        )
        try:
            route = route_for(invoice, profile, self.settings.default_channel, delivery.chain_position + 1)
        except RoutingError as error:
            log.warning("worker %s: no fallback for %s: %s", self.worker_id, delivery.id, error)
            return
        if route is None:
            return
        already = session.execute(
            select(col(Delivery.id)).where(
                col(Delivery.invoice_id) == delivery.invoice_id,
                col(Delivery.chain_position) == route.chain_position,
            )
        ).first()
        if already is not None:
            return
        enqueue_delivery(
            session,
            invoice_id=delivery.invoice_id,
            tenant_id=delivery.tenant_id,
            channel=route.channel,
            format=route.format,
            address=route.address,
            chain_position=route.chain_position,
            actor=self.worker_id,
            reason=f"fallback: {delivery.channel} ended {status.value} ({reason})",
            details={"fallback_of": delivery.id},
            next_attempt_at=tenant_settings(session, delivery.tenant_id).due_at(route.channel, utcnow()),
        )
