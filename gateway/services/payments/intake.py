"""Receive remittance files and match their payments at once: the use case behind `POST /remittances`.

Written once for every door (API, CLI, drop folders): each file is kept and booked (or refused whole),
then ONE matching run decides the tenant's new payments. A run that finds another run holding the
tenant's lease is not an error here: the payments stay `new` and the worker matches them next.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine

from db.engine import session_scope
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
    RemittanceReceipt,
    receive_remittance,
)

#: What a caller is told when matching waits for the worker.
MATCHING_DEFERRED = "another matching run is busy; the worker matches next"
#: At most this many payments are listed per received file.
LISTED_PAYMENTS = 1000


@dataclass(frozen=True)
class RemittanceUpload:
    """One file as it came in: its bytes and the name it had (if any)."""

    data: bytes
    filename: str | None = None


@dataclass
class ReceivedFile:
    """What became of one file, and its payments as booked and (maybe) matched."""

    receipt: RemittanceReceipt
    payments: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class RemittanceIntake:
    """The files in the order given, the matching run (None: not asked, or nothing new to match)."""

    files: list[ReceivedFile]
    matching: MatchRun | None = None
    matching_deferred: str | None = None

    def matching_answer(self) -> dict[str, Any] | None:
        """The run as callers show it: its report, or why it was left to the worker."""
        if self.matching is not None:
            return self.matching.as_dict()
        if self.matching_deferred is not None:
            return {"deferred": self.matching_deferred}
        return None


def receive_and_match(
    engine: Engine,
    store: DocumentStore,
    uploads: Sequence[RemittanceUpload],
    *,
    tenant_id: str,
    source: str,
    actor: str,
    max_bytes: int = MAX_REMITTANCE_BYTES,
    match: bool = True,
) -> RemittanceIntake:
    """Keep and book every upload, match once if any was accepted (and `match`), list each file's payments.

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
        )
        for upload in uploads
    ]
    intake = RemittanceIntake([ReceivedFile(receipt) for receipt in receipts])
    if match and any(receipt.outcome == "accepted" for receipt in receipts):
        try:
            intake.matching = run_matching(engine, tenant_id)
        except MatchingBusy:
            intake.matching_deferred = MATCHING_DEFERRED
    with session_scope(engine) as session:
        for received in intake.files:
            if received.receipt.status == "rejected":
                continue
            booked = list_payments(
                session, tenant_id, file_id=received.receipt.file_id, limit=LISTED_PAYMENTS
            )
            received.payments = [payment_summary(payment) for payment in booked]
    return intake
