"""Receive remittance files and match their payments at once: written once for every door.

`POST /remittances`, `POST /inbound`, `gateway remittance receive | drop`, `gateway receive` and the
worker's remittance task all come here: each file is kept and booked (or refused whole), then ONE matching
run decides the tenant's new payments — when at least one file was accepted now. A file refused or seen
before brings nothing new to match; payments left `new` from earlier (a busy or crashed run) are the
worker's periodic matching's (`run_all`). A run that finds another run holding the tenant's lease is not an
error here: the payments stay `new` and the worker matches them next.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine

from db.engine import session_scope
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
    DropItem,
    OtherFileOutcome,
    RemittanceReading,
    RemittanceReceipt,
    receive_remittance,
    receive_remittance_drop,
)
from mappings.base import FormatError
from mappings.consumer.avtalegiro_agreements import sniff as sniff_agreements
from transports.drop_folder import DropFolder

#: What a caller is told when matching waits for the worker.
MATCHING_DEFERRED = "another matching run is busy; the worker matches next"
#: At most this many payments are listed per received file.
LISTED_PAYMENTS = 1000


@dataclass(frozen=True)
class RemittanceUpload:
    """One file as it came in: its bytes and the name it had (if any)."""

    data: bytes
    filename: str | None = None
    #: the file already read (in the API's parse pool); None: read when received
    reading: RemittanceReading | None = None


@dataclass
class ReceivedFile:
    """What became of one file, and its payments as booked and (maybe) matched."""

    receipt: RemittanceReceipt
    payments: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class MatchingStep:
    """The matching run after receiving (None: not asked, or nothing new to match), or why it waits."""

    matching: MatchRun | None = None
    matching_deferred: str | None = None

    def matching_answer(self) -> dict[str, Any] | None:
        """The run as callers show it: its report, or why it was left to the worker."""
        if self.matching is not None:
            return self.matching.as_dict()
        if self.matching_deferred is not None:
            return {"deferred": self.matching_deferred}
        return None


@dataclass
class RemittanceIntake(MatchingStep):
    """The files in the order given, and the matching run."""

    files: list[ReceivedFile] = field(default_factory=list)

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
) -> RemittanceIntake:
    """Keep and book every upload (in order; `uploads` may read each file as it comes), match once if any
    was accepted (and `match`), list each file's payments.

    A refused file is kept with its reason and lists no payments; a repeated file answers with its first
    receipt and lists the payments booked then.
    """
    receipts = [
        receive_remittance(
            engine,
            store,
            tenant_id=tenant_id,
            data=upload.data,
            filename=upload.filename,
            source=source,
            actor=actor,
            max_bytes=max_bytes,
            reading=upload.reading,
            refused_quota_bytes=refused_quota_bytes,
        )
        for upload in uploads
    ]
    accepted = any(receipt.outcome == "accepted" for receipt in receipts)
    step = match_if_accepted(engine, tenant_id, accepted=accepted, match=match)
    intake = RemittanceIntake(
        matching=step.matching,
        matching_deferred=step.matching_deferred,
        files=[ReceivedFile(receipt) for receipt in receipts],
    )
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
    )
    accepted = any(item.outcome == "accepted" for item in items)
    step = match_if_accepted(engine, tenant_id, accepted=accepted, match=match, holder=holder)
    return DropIntake(matching=step.matching, matching_deferred=step.matching_deferred, items=items)
