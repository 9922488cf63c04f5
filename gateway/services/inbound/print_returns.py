"""What the print house sends back: receipts, production reports and returned mail, applied to deliveries.

Every file is kept whole in `inbound_documents` (once: the same bytes twice are one row, so a file read
again after a crash is not applied twice) and only then archived on the print house's side. A receipt
moves the batch (`sent` → `accepted` / `rejected`; a rejected batch's deliveries go to deviation); a
production report moves each posted document to `delivered`; returned mail puts the delivery in
deviation with the post's reason. A malformed file is rejected whole, stored with the reason, and
archived so it is not read again; operations see it in the poll report and in the stored document.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session
from sqlmodel import col

from channels.print_sftp import PrintChannel, PrintHouseUnavailable
from db.models import Batch, BatchItem, Delivery, InboundDocument, utcnow
from gateway.services.inbound.store import (
    DropPollReport,
    decode_payload,
    store_once,
    store_rejected,
    take_into_report,
)
from gateway.services.outbound.batches import BatchStatus, batch_deliveries
from gateway.services.parsed import Parsed
from mappings.base import FormatError
from mappings.print import returns
from mappings.print.returns import PrintReturnEntry, PrintReturnFile
from outbox.queue import change_status, note_event
from outbox.states import DeliveryStatus

log = logging.getLogger("gateway.print_returns")

S = DeliveryStatus
KIND = "print-return"


@dataclass
class PrintReturnOutcome:
    """What one return file did."""

    document_id: str
    kind: str | None
    batch_id: str | None
    applied: int = 0
    noted: int = 0
    unlinked: list[str] = field(default_factory=list)
    repeated: bool = False
    rejected: str | None = None
    results: list[dict[str, Any]] = field(default_factory=list)
    note: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "document_id": self.document_id,
            "kind": self.kind,
            "batch_id": self.batch_id,
            "applied": self.applied,
            "noted": self.noted,
            "unlinked": self.unlinked,
            "repeated": self.repeated,
            "rejected": self.rejected,
            "results": self.results,
            "note": self.note,
        }


def receive_print_return(
    engine: Engine,
    data: bytes,
    *,
    source: str | None = None,
    actor: str = "print-house",
    tenant_id: str | None = None,
    parsed: Parsed[PrintReturnFile] | None = None,
) -> PrintReturnOutcome:
    """Store one return file (once) and apply it; a repeat answers with the first receipt's result.

    With `tenant_id` (a tenant's token at `POST /inbound`) only that tenant's batches and deliveries are
    found: an entry naming another tenant's is `unlinked`, and a file first received for another tenant is
    answered as a repeat that shows nothing of theirs. Without it (the print channel's poll, the CLI) the
    entries find their batches whatever the tenant. `parsed`: `returns.parse(data)` already done (in the
    API's parse pool); None reads it here.
    """
    digest = hashlib.sha256(data).hexdigest()

    def receive(session: Session) -> PrintReturnOutcome:
        try:
            return_file = parsed.get() if parsed is not None else returns.parse(data)
        except FormatError as error:
            document = store_rejected(
                session, data, error, kind=KIND, digest=digest, source=source, tenant_id=tenant_id
            )
            return PrintReturnOutcome(document.id, None, None, rejected=str(error))
        outcome = PrintReturnOutcome("", return_file.kind, return_file.batch_id)
        applied_for = _apply(session, return_file, outcome, actor=actor, tenant_id=tenant_id)
        document = InboundDocument(
            tenant_id=tenant_id or applied_for,
            kind=f"{KIND}:{return_file.kind}",
            payload_sha256=digest,
            document_id=(source or "")[:200] or None,
            referenced_document_id=return_file.batch_id,
            response_code=return_file.entries[0].status[:10]
            if return_file.kind == "receipt" and return_file.entries
            else None,
            reasons=outcome.results,
            delivery_id=outcome.results[0].get("delivery_id") if len(outcome.results) == 1 else None,
            applied=outcome.applied > 0,
            note=_summary(outcome),
            payload=decode_payload(data),
        )
        session.add(document)
        session.flush()
        outcome.document_id = document.id
        return outcome

    def replay(session: Session, existing: InboundDocument) -> PrintReturnOutcome:
        kind = existing.kind.partition(":")[2] or None
        if tenant_id is not None and existing.tenant_id not in (None, tenant_id):
            note = "the same file was already received for another tenant; not applied"
            return PrintReturnOutcome(existing.id, kind, None, repeated=True, note=note)
        return PrintReturnOutcome(
            existing.id,
            kind,
            existing.referenced_document_id,
            repeated=True,
            rejected=existing.note if existing.kind == KIND else None,
            results=list(existing.reasons),
        )

    return store_once(engine, digest, receive=receive, replay=replay, what="print return file")


def poll_print_returns(
    engine: Engine, channel: PrintChannel, *, actor: str = "print-house"
) -> DropPollReport:
    """Read every file in the print house's outgoing folder, apply it, then archive it there.

    The folder is walked like every drop folder (`transports.drop_folder`); a file past the channel's
    `max_return_file_bytes` is left where it is and reported, so raising the limit lets it be read."""

    def receive(data: bytes, name: str) -> PrintReturnOutcome:
        return receive_print_return(engine, data, source=name, actor=actor)

    report = DropPollReport()
    max_bytes = channel.config.max_return_file_bytes
    try:
        with channel.return_folder() as folder:
            take_into_report(report, folder, receive, max_bytes=max_bytes)
    except PrintHouseUnavailable as error:
        report.errors.append(str(error))
        log.warning("print returns: %s", error)
    return report


def _summary(outcome: PrintReturnOutcome) -> str:
    parts = [f"{outcome.applied} applied", f"{outcome.noted} noted"]
    if outcome.unlinked:
        parts.append(f"{len(outcome.unlinked)} unlinked ({', '.join(outcome.unlinked[:5])})")
    return ", ".join(parts)


def _apply(
    session: Session,
    parsed: PrintReturnFile,
    outcome: PrintReturnOutcome,
    *,
    actor: str,
    tenant_id: str | None,
) -> str | None:
    """Apply every entry; the tenant whose deliveries it moved (None when it found none)."""
    if parsed.kind == "receipt":
        return _apply_receipt(session, parsed, outcome, actor=actor, tenant_id=tenant_id)
    applied_for: str | None = None
    for number, entry in enumerate(parsed.entries, start=1):
        found = _find_item(session, entry, parsed.batch_id, tenant_id)
        label = entry.delivery_id or f"{entry.batch_id or parsed.batch_id}#{entry.sequence}"
        if found is None:
            outcome.unlinked.append(label)
            outcome.results.append({"entry": number, "ref": label, "result": "unlinked"})
            continue
        item, delivery = found
        applied_for = applied_for or delivery.tenant_id
        result = (
            _apply_production(session, entry, item, delivery, actor=actor)
            if parsed.kind == "production"
            else _apply_returned(session, entry, item, delivery, actor=actor)
        )
        if result == "applied":
            outcome.applied += 1
        else:
            outcome.noted += 1
        outcome.results.append(
            {
                "entry": number,
                "ref": label,
                "delivery_id": delivery.id,
                "status": entry.status,
                "result": result,
            }
        )
    return applied_for


def _find_item(
    session: Session, entry: PrintReturnEntry, file_batch_id: str | None, tenant_id: str | None
) -> tuple[BatchItem, Delivery] | None:
    batch_id = entry.batch_id or file_batch_id
    query = select(BatchItem, Delivery).join(Delivery, col(Delivery.id) == col(BatchItem.delivery_id))
    if entry.delivery_id:
        query = query.where(col(BatchItem.delivery_id) == entry.delivery_id)
        if batch_id:
            query = query.where(col(BatchItem.batch_id) == batch_id)
        else:
            query = query.where(col(BatchItem.batch_id).is_not(None))
    elif batch_id and entry.sequence is not None:
        query = query.where(col(BatchItem.batch_id) == batch_id, col(BatchItem.sequence) == entry.sequence)
    else:
        return None
    if tenant_id is not None:
        query = query.where(col(Delivery.tenant_id) == tenant_id)
    row = session.execute(query.order_by(col(BatchItem.attempt).desc()).limit(1)).first()
    return (row[0], row[1]) if row is not None else None


def _set_outcome(session: Session, item: BatchItem, outcome: str) -> None:
    session.execute(
        update(BatchItem.__table__).where(BatchItem.__table__.c.id == item.id).values(outcome=outcome)  # type: ignore[attr-defined]
    )


def _apply_production(
    session: Session, entry: PrintReturnEntry, item: BatchItem, delivery: Delivery, *, actor: str
) -> str:
    when = f" on {entry.date.isoformat()}" if entry.date else ""
    current = DeliveryStatus(delivery.status)
    details = {"batch_id": item.batch_id, "sequence": item.sequence, "print_status": entry.status}
    if delivery.attempt != item.attempt:
        note_event(
            session, delivery, actor=actor, reason=f"print house: attempt {item.attempt} {entry.status}{when}"
        )
        return "noted (earlier attempt)"
    if entry.status == "posted":
        when += f", post class {entry.post_class}" if entry.post_class else ""
        if item.outcome != "returned":
            _set_outcome(session, item, "posted")
        if current is S.SENT:
            change_status(
                session,
                delivery,
                S.DELIVERED,
                actor=actor,
                reason=f"posted by the print house{when}",
                details=details,
            )
            return "applied"
        note_event(
            session, delivery, actor=actor, reason=f"print house reports posted{when}", details=details
        )
        return f"noted ({current.value})"
    if item.outcome is None:
        _set_outcome(session, item, "printed")
    note_event(session, delivery, actor=actor, reason=f"printed by the print house{when}", details=details)
    return "noted"


def _apply_returned(
    session: Session, entry: PrintReturnEntry, item: BatchItem, delivery: Delivery, *, actor: str
) -> str:
    when = f" on {entry.date.isoformat()}" if entry.date else ""
    why = f"{entry.reason_code}" + (f": {entry.reason}" if entry.reason else "")
    reason = f"returned mail ({why}), returned{when}; the buyer's postal address needs checking"
    details = {"batch_id": item.batch_id, "sequence": item.sequence, "reason_code": entry.reason_code}
    _set_outcome(session, item, "returned")
    current = DeliveryStatus(delivery.status)
    if delivery.attempt == item.attempt and current in {S.SENT, S.DELIVERED}:
        change_status(session, delivery, S.DEVIATION, actor=actor, reason=reason, details=details)
        return "applied"
    note_event(session, delivery, actor=actor, reason=f"{reason} (attempt {item.attempt})", details=details)
    return f"noted ({current.value})"


def _apply_receipt(
    session: Session,
    parsed: PrintReturnFile,
    outcome: PrintReturnOutcome,
    *,
    actor: str,
    tenant_id: str | None,
) -> str | None:
    batch_id = parsed.batch_id
    batch = session.get(Batch, batch_id) if batch_id else None
    if batch is not None and tenant_id is not None and batch.tenant_id != tenant_id:
        batch = None  # another tenant's batch is no batch to this caller
    if batch is None or not parsed.entries:
        outcome.unlinked.append(batch_id or "(no batch id)")
        outcome.results.append({"ref": batch_id, "result": "unlinked"})
        return None
    entry = parsed.entries[0]
    accepted = entry.status == "accepted"
    if batch.status not in {BatchStatus.SENT, BatchStatus.ACCEPTED, BatchStatus.REJECTED}:
        outcome.results.append({"ref": batch_id, "result": f"noted: batch is {batch.status}"})
        outcome.noted += 1
        return batch.tenant_id
    new_status = BatchStatus.ACCEPTED if accepted else BatchStatus.REJECTED
    batch.status = new_status
    batch.updated_at = utcnow()
    session.add(batch)
    remarks = "; ".join(f"{r.code}: {r.text}" if r.text else r.code for r in entry.reasons) or (
        entry.reason or ""
    )
    if accepted:
        reason = f"print house accepted batch {batch_id}" + (f" ({remarks})" if remarks else "")
    else:
        reason = f"print house rejected batch {batch_id}: {remarks or 'no reason given'}"
    count_note = ""
    if entry.documents is not None and entry.documents != batch.item_count:
        count_note = f" (the receipt counts {entry.documents} documents, the batch has {batch.item_count})"
    for item, delivery in batch_deliveries(session, batch.id):
        current = DeliveryStatus(delivery.status)
        details = {"batch_id": batch_id, "sequence": item.sequence}
        if not accepted and delivery.attempt == item.attempt and current is S.SENT:
            change_status(
                session, delivery, S.DEVIATION, actor=actor, reason=reason + count_note, details=details
            )
            outcome.applied += 1
        else:
            note_event(session, delivery, actor=actor, reason=reason + count_note, details=details)
            outcome.noted += 1
    outcome.results.append({"ref": batch_id, "result": new_status, "count_note": count_note or None})
    if accepted:
        outcome.applied = max(outcome.applied, 1)
    return batch.tenant_id
