"""Receive remittance files and match their payments at once: written once for every door.

`POST /remittances`, `POST /inbound`, `gateway remittance receive | drop`, `gateway receive` and the
worker's remittance task all come here: each file is kept and booked (or refused whole), then ONE matching
run decides the tenant's new payments — when at least one file was accepted now. A file refused or seen
before brings nothing new to match; payments left `new` from earlier (a busy or crashed run) are the
worker's periodic matching's (`run_all`). A run that finds another run holding the tenant's lease is not an
error here: the payments stay `new` and the worker matches them next.

`POST /remittances` does not wait for matching unless asked (`wait=False` here): it answers with the receipts
(payments `new`, matching `queued`) and runs `match_after_answer` once the answer is sent. Matching 350
payments is most of what the request cost (benchmarks/matching_service.py --api); the decisions are read back
by `GET /payments` or `GET /remittances/{id}`, or come in the answer with `?wait=true`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, select
from sqlmodel import col

from db.engine import session_scope
from db.models import PaymentRecord
from gateway.services.outbound.avtalegiro import import_mandates
from gateway.services.outbound.documents import DocumentStore
from gateway.services.payments.matching_runs import (
    MatchingBusy,
    MatchRun,
    list_payments,
    payment_summary,
    run_matching,
)
from gateway.services.payments.remittances import (
    MAX_REMITTANCE_BYTES,
    ArchiveReading,
    ArchiveReceipts,
    DropItem,
    OtherFileOutcome,
    RemittanceReading,
    RemittanceReceipt,
    is_statement_zip,
    receive_archive,
    receive_remittance,
    receive_remittance_drop,
)
from gateway.settings import Settings
from mappings.base import FormatError
from mappings.consumer.avtalegiro_agreements import sniff as sniff_agreements
from mappings.remittance.statement_zip import ZipLimits
from transports.drop_folder import DropFolder

log = logging.getLogger("gateway.payments.intake")

#: What a caller is told when matching waits for the worker.
MATCHING_DEFERRED = "another matching run is busy; the worker matches next"
#: What a caller is told when matching runs after the answer (`receive_and_match(wait=False)`).
MATCHING_QUEUED = (
    "matching runs after this answer; GET /payments?file_id=… or GET /remittances/{id} shows the decisions "
    "(?wait=true: the decisions in the answer)"
)
#: How often `match_after_answer` runs again for payments booked while it ran (then the worker's).
AFTER_ANSWER_ROUNDS = 3
#: At most this many payments are listed per received file.
LISTED_PAYMENTS = 1000


@dataclass(frozen=True)
class RemittanceUpload:
    """One file as it came in: its bytes and the name it had (if any)."""

    data: bytes
    filename: str | None = None
    #: the file already read (in the API's parse pool); None: read when received
    reading: RemittanceReading | None = None
    #: a statement zip already opened and its members read (in the API's parse pool)
    archive: ArchiveReading | None = None


def zip_limits(settings: Settings) -> ZipLimits:
    """What a statement zip may hold, from the settings (`GATEWAY_REMITTANCE_ZIP_*`)."""
    return ZipLimits(
        max_members=settings.remittance_zip_max_members,
        max_total_bytes=settings.remittance_zip_max_bytes,
        max_member_bytes=min(settings.max_remittance_bytes, settings.remittance_zip_max_bytes),
        max_ratio=settings.remittance_zip_max_ratio,
    )


@dataclass
class ReceivedFile:
    """What became of one file, and its payments as booked and (maybe) matched."""

    receipt: RemittanceReceipt
    payments: list[dict[str, Any]] = field(default_factory=list)
    #: the member's name inside the statement zip it came in (None: a file of its own, or a refused zip)
    member: str | None = None
    #: the name it came with (`<zip>#<member>` for a member of a statement zip)
    name: str | None = None


@dataclass
class MatchingStep:
    """The matching run after receiving (None: not asked, or nothing new to match), or why it waits."""

    matching: MatchRun | None = None
    matching_deferred: str | None = None
    #: True: matching runs after the answer (`match_after_answer`), the payments are `new` until then
    matching_queued: bool = False

    def matching_answer(self) -> dict[str, Any] | None:
        """The run as callers show it: its report, why it was left to the worker, or that it comes next."""
        if self.matching is not None:
            return self.matching.as_dict()
        if self.matching_deferred is not None:
            return {"deferred": self.matching_deferred}
        if self.matching_queued:
            return {"queued": MATCHING_QUEUED}
        return None


@dataclass
class RemittanceIntake(MatchingStep):
    """The files in the order given, and the matching run."""

    files: list[ReceivedFile] = field(default_factory=list)
    #: the statement zips among the uploads, in order
    archives: list[ArchiveReceipts] = field(default_factory=list)

    def archive_answer(self) -> dict[str, Any]:
        """A statement zip as the API answers it: the archive, each member's receipt with its payments (or
        the archive's refusal), and the matching run."""
        [archive] = self.archives
        answer: dict[str, Any] = {"archive": archive.archive, "members": len(archive.members)}
        if archive.refused is not None:
            answer["error"] = {"field": archive.error_field, "reason": archive.error_reason}
        files = []
        for received in self.files:
            item = {"member": received.member, **received.receipt.as_dict(), "payments": received.payments}
            files.append(item)
        answer["files"] = files
        matching = self.matching_answer()
        if matching is not None:
            answer["matching"] = matching
        return answer

    def file_answer(self, index: int = 0) -> dict[str, Any]:
        """One file as the API answers it: its receipt, the matching run (if any), its payments."""
        received = self.files[index]
        answer = received.receipt.as_dict()
        matching = self.matching_answer()
        if matching is not None:
            answer["matching"] = matching
        answer["payments"] = received.payments
        return answer


@dataclass
class DropIntake(MatchingStep):
    """A drop folder's files (each moved to done/ or rejected/), and the matching run."""

    items: list[DropItem] = field(default_factory=list)


def match_if_accepted(
    engine: Engine, tenant_id: str, *, accepted: bool, match: bool = True, holder: str | None = None
) -> MatchingStep:
    """One matching run for the tenant when a file was `accepted` now (and `match`); busy: the worker's."""
    if not (match and accepted):
        return MatchingStep()
    try:
        return MatchingStep(run_matching(engine, tenant_id, holder=holder))
    except MatchingBusy:
        return MatchingStep(matching_deferred=MATCHING_DEFERRED)


def match_after_answer(
    engine: Engine, tenant_id: str, *, rounds: int = AFTER_ANSWER_ROUNDS, holder: str | None = None
) -> list[MatchRun]:
    """Match the tenant's `new` payments once their receipt was answered (a background task of
    `POST /remittances`); never raises, since no caller is left to hear it.

    Another run holding the tenant's lease: its payments stay `new` for the worker's `run_all`. While this
    run held the lease, another upload's task found it busy: its payments are `new` when this run ends, so
    it runs again (at most `rounds` times; the rest is the worker's). A failure leaves what was not booked
    `new`, never lost: logged, and the worker matches it next."""
    runs: list[MatchRun] = []
    try:
        for _ in range(rounds):
            runs.append(run_matching(engine, tenant_id, holder=holder))
            if not _has_new_payments(engine, tenant_id):
                break
    except MatchingBusy:
        log.info("matching of tenant %s after the answer: %s", tenant_id, MATCHING_DEFERRED)
    except Exception:  # the answer is gone: logged, and the payments wait for the worker
        log.exception("matching of tenant %s after the answer failed; the worker matches next", tenant_id)
    return runs


def _has_new_payments(engine: Engine, tenant_id: str) -> bool:
    with session_scope(engine) as session:
        waiting = select(col(PaymentRecord.id)).where(
            col(PaymentRecord.tenant_id) == tenant_id, col(PaymentRecord.status) == "new"
        )
        return session.execute(waiting.limit(1)).first() is not None


def receive_and_match(
    engine: Engine,
    store: DocumentStore,
    uploads: Iterable[RemittanceUpload],
    *,
    tenant_id: str,
    source: str,
    actor: str,
    max_bytes: int = MAX_REMITTANCE_BYTES,
    match: bool = True,
    refused_quota_bytes: int | None = None,
    limits: ZipLimits | None = None,
    wait: bool = True,
) -> RemittanceIntake:
    """Keep and book every upload (in order; `uploads` may read each file as it comes), match once if any
    was accepted (and `match`), list each file's payments.

    `wait=False`: matching is not run here but `queued` — the caller runs `match_after_answer` once it has
    answered; the payments are listed `new`.

    A refused file is kept with its reason and lists no payments; a repeated file answers with its first
    receipt and lists the payments booked then. A statement zip (`limits`) becomes one received file per
    member, each kept, booked and listed on its own; a zip refused whole is one refused file (the zip).
    """
    files: list[ReceivedFile] = []
    archives: list[ArchiveReceipts] = []
    for upload in uploads:
        if upload.archive is not None or is_statement_zip(upload.data):
            archive = receive_archive(
                engine, store, tenant_id=tenant_id, data=upload.data, filename=upload.filename,
                source=source, actor=actor, max_bytes=max_bytes, refused_quota_bytes=refused_quota_bytes,
                limits=limits or ZipLimits(), reading=upload.archive,
            )  # fmt: skip
            archives.append(archive)
            if archive.refused is not None:
                files.extend(ReceivedFile(receipt, name=upload.filename) for receipt in archive.receipts)
            else:
                files.extend(
                    ReceivedFile(
                        receipt, member=member, name=f"{upload.filename or 'statement.zip'}#{member}"
                    )
                    for member, receipt in zip(archive.members, archive.receipts, strict=True)
                )
            continue
        receipt = receive_remittance(
            engine, store, tenant_id=tenant_id, data=upload.data, filename=upload.filename, source=source,
            actor=actor, max_bytes=max_bytes, reading=upload.reading,
            refused_quota_bytes=refused_quota_bytes,
        )  # fmt: skip
        files.append(ReceivedFile(receipt, name=upload.filename))
    accepted = any(received.receipt.outcome == "accepted" for received in files)
    if wait:
        step = match_if_accepted(engine, tenant_id, accepted=accepted, match=match)
    else:
        step = MatchingStep(matching_queued=match and accepted)
    intake = RemittanceIntake(
        matching=step.matching, matching_deferred=step.matching_deferred,
        matching_queued=step.matching_queued, files=files, archives=archives,
    )  # fmt: skip
    with session_scope(engine) as session:
        for received in intake.files:
            if received.receipt.status == "rejected":
                continue
            booked = list_payments(
                session, tenant_id, file_id=received.receipt.file_id, limit=LISTED_PAYMENTS
            )
            received.payments = [payment_summary(payment) for payment in booked]
    return intake


def mandates_from_drop(engine: Engine, tenant_id: str, name: str, data: bytes) -> OtherFileOutcome | None:
    """Nets' AvtaleGiro agreements file arrives where the OCR giro files do: it updates the tenant's
    mandates instead of being refused as a file without payments. None for any other file."""
    if not sniff_agreements(data):
        return None
    try:
        with session_scope(engine) as session:
            applied = import_mandates(session, tenant_id, data, source_file=name)
    except FormatError as error:
        return OtherFileOutcome("rejected", refused=f"{error.where}: {error.reason}")
    counts = applied.as_dict()
    return OtherFileOutcome(
        "mandates",
        note=f"AvtaleGiro mandates: {counts['new']} new, {counts['updated']} updated, "
        f"{counts['deleted']} deleted, {counts['unchanged']} unchanged",
    )


def receive_drop_and_match(
    engine: Engine,
    store: DocumentStore,
    folder: DropFolder,
    *,
    tenant_id: str,
    actor: str,
    max_bytes: int = MAX_REMITTANCE_BYTES,
    match: bool = True,
    holder: str | None = None,
    refused_quota_bytes: int | None = None,
    limits: ZipLimits | None = None,
) -> DropIntake:
    """Take every file waiting in a drop folder (local or SFTP), then match once if any was accepted.

    An AvtaleGiro agreements file among them updates the tenant's mandates (`mandates_from_drop`)."""
    items = receive_remittance_drop(
        engine,
        store,
        folder,
        tenant_id,
        actor,
        max_bytes=max_bytes,
        refused_quota_bytes=refused_quota_bytes,
        other_files=lambda name, data: mandates_from_drop(engine, tenant_id, name, data),
        zip_limits=limits,
    )
    accepted = any(item.outcome == "accepted" for item in items)
    step = match_if_accepted(engine, tenant_id, accepted=accepted, match=match, holder=holder)
    return DropIntake(matching=step.matching, matching_deferred=step.matching_deferred, items=items)
