"""eFaktura receipts and rejections applied to deliveries (`mappings.efaktura.receipts`, a shape of ours).

Each line names a sent invoice by the message id the channel answered with (the SBDH instance id
`<delivery id>-<attempt>`, or the provider's id):

* `accepted` → the invoice is in the consumer's online bank: `sent` → `delivered`;
* `rejected` for the invoice's own fault (`validation-error`, `duplicate`, `other`) → `deviation` with the
  provider's reason;
* `rejected` because the consumer does not take eFaktura from this issuer any more (`consent-withdrawn`,
  `blocked`, `unknown-recipient`) → the tenant's recipient registry learns it (so the next send's lookup
  without an HTTP search says so too), the delivery goes to `deviation` and the receiver's next channel is
  queued (the waterfall: Digipost, paper), which covers the deviation.

A line for an earlier attempt, or for a delivery that has moved on, is noted in its history without moving
it. Files are kept once in `inbound_documents` (the same bytes twice answer with the first result); a
malformed file is refused whole and kept with the reason. Files come through the one inbound door
(`POST /inbound`, `gateway receive`) or from the provider's folder (`poll_efaktura_receipts`).
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from channels.context import EfakturaStatus
from db.models import Delivery, InboundDocument, InvoiceRecord
from gateway.services.inbound.store import (
    DropPollReport,
    decode_payload,
    find_by_message_id,
    store_once,
    store_rejected,
    take_into_report,
)
from gateway.services.outbound.efaktura_recipients import lookup_key, remember
from gateway.services.outbound.fallback import queue_next_channel
from gateway.services.parsed import Parsed
from mappings.base import FormatError
from mappings.efaktura import receipts
from mappings.efaktura.receipts import ReceiptFile, ReceiptLine
from mappings.invoice import canonical_json
from outbox.queue import change_status, note_event
from outbox.states import DeliveryStatus
from transports.drop_folder import LocalDropFolder

log = logging.getLogger("gateway.efaktura")

S = DeliveryStatus
KIND = "efaktura-receipt"
CHANNEL = "efaktura"


@dataclass
class EfakturaReceiptOutcome:
    """What one receipt file did."""

    document_id: str
    applied: int = 0
    noted: int = 0
    unlinked: list[str] = field(default_factory=list)
    fallbacks: list[str] = field(default_factory=list)
    repeated: bool = False
    rejected: str | None = None
    results: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "document_id": self.document_id,
            "applied": self.applied,
            "noted": self.noted,
            "unlinked": self.unlinked,
            "fallbacks": self.fallbacks,
            "repeated": self.repeated,
            "rejected": self.rejected,
            "results": self.results,
        }


def _find(session: Session, message_id: str, tenant_id: str | None) -> tuple[Delivery, int] | None:
    """The eFaktura delivery a line names: by the channel's message id, else as `<delivery id>-<attempt>`."""
    found = find_by_message_id(session, message_id, tenant_id)
    if found is None:
        delivery_id, _, attempt = message_id.strip().rpartition("-")
        delivery = session.get(Delivery, delivery_id) if attempt.isdigit() and delivery_id else None
        if delivery is not None and (tenant_id is None or delivery.tenant_id == tenant_id):
            found = (delivery, int(attempt))
    if found is None or found[0].channel != CHANNEL:
        return None
    return found


def _reason(line: ReceiptLine) -> str:
    text = f"{line.reason_code}" + (f": {line.reason}" if line.reason else "")
    return f"eFaktura provider rejected the invoice ({text})"


def _apply_line(
    session: Session,
    line: ReceiptLine,
    delivery: Delivery,
    attempt: int,
    *,
    actor: str,
    default_channel: str,
    outcome: EfakturaReceiptOutcome,
) -> str:
    current = DeliveryStatus(delivery.status)
    when = f" on {line.timestamp.isoformat()}" if line.timestamp else ""
    details: dict[str, Any] = {"efaktura_status": line.status, "reason_code": line.reason_code}
    if attempt != delivery.attempt:
        note_event(session, delivery, actor=actor, reason=f"eFaktura: attempt {attempt} {line.status}{when}")
        return "noted (earlier attempt)"
    if line.status == "accepted":
        if current is S.SENT:
            reason = f"eFaktura provider accepted the invoice{when}: in the consumer's online bank"
            change_status(session, delivery, S.DELIVERED, actor=actor, reason=reason, details=details)
            return "applied"
        note_event(
            session, delivery, actor=actor, reason=f"eFaktura provider accepted{when}", details=details
        )
        return f"noted ({current.value})"
    reason = _reason(line) + when
    if line.no_consent:
        _forget_consent(session, delivery, line)
    if current not in {S.SENT, S.DELIVERED}:
        note_event(session, delivery, actor=actor, reason=reason, details=details)
        return f"noted ({current.value})"
    change_status(session, delivery, S.DEVIATION, actor=actor, reason=reason, details=details)
    if line.no_consent:
        invoice = _invoice(session, delivery)
        queued = (
            queue_next_channel(
                session,
                delivery.id,
                invoice,
                S.DEVIATION,
                reason,
                default_channel=default_channel,
                actor=actor,
            )
            if invoice is not None
            else None
        )
        if queued:
            outcome.fallbacks.append(f"{delivery.id} → {queued}")
            return f"applied; fallback {queued} queued"
    return "applied"


def _invoice(session: Session, delivery: Delivery) -> Any:
    record = session.get(InvoiceRecord, delivery.invoice_id) if delivery.invoice_id else None
    return canonical_json.parse(record.payload) if record is not None else None


def _forget_consent(session: Session, delivery: Delivery, line: ReceiptLine) -> None:
    """The registry learns that this consumer does not take eFaktura from this issuer (any more)."""
    invoice = _invoice(session, delivery)
    if invoice is None:
        return
    key = lookup_key(session, delivery.tenant_id, invoice)
    if key is None:
        return
    status = EfakturaStatus.BLOCKED if line.reason_code == "blocked" else EfakturaStatus.NOT_FOUND
    note = f"{line.reason_code} (receipt for delivery {delivery.id})"
    remember(session, delivery.tenant_id, key, status, None, source="receipt", note=note)


def receive_efaktura_receipts(
    engine: Engine,
    data: bytes,
    *,
    source: str | None = None,
    actor: str = "efaktura",
    tenant_id: str | None = None,
    default_channel: str = "folder",
    parsed: Parsed[ReceiptFile] | None = None,
) -> EfakturaReceiptOutcome:
    """Store one receipt file (once) and apply every line; a repeat answers with the first result.

    With `tenant_id` only that tenant's deliveries are found (another's line is `unlinked`)."""
    digest = hashlib.sha256(data).hexdigest()

    def receive(session: Session) -> EfakturaReceiptOutcome:
        try:
            receipt_file = parsed.get() if parsed is not None else receipts.parse(data)
        except FormatError as error:
            document = store_rejected(
                session, data, error, kind=KIND, digest=digest, source=source, tenant_id=tenant_id
            )
            return EfakturaReceiptOutcome(document.id, rejected=str(error))
        outcome = EfakturaReceiptOutcome("")
        tenants: set[str] = set()
        for line in receipt_file.lines:
            found = _find(session, line.message_id, tenant_id)
            if found is None:
                outcome.unlinked.append(line.message_id)
                outcome.results.append(
                    {"line": line.line, "message_id": line.message_id, "result": "unlinked"}
                )
                continue
            delivery, attempt = found
            tenants.add(delivery.tenant_id)
            result = _apply_line(
                session,
                line,
                delivery,
                attempt,
                actor=actor,
                default_channel=default_channel,
                outcome=outcome,
            )
            if result.startswith("applied"):
                outcome.applied += 1
            else:
                outcome.noted += 1
            outcome.results.append(
                {"line": line.line, "message_id": line.message_id, "delivery_id": delivery.id,
                 "status": line.status, "reason_code": line.reason_code, "result": result}
            )  # fmt: skip
        only_one = outcome.results[0].get("delivery_id") if len(outcome.results) == 1 else None
        document = InboundDocument(
            tenant_id=tenant_id or (next(iter(tenants)) if len(tenants) == 1 else None),
            kind=KIND,
            payload_sha256=digest,
            document_id=(source or "")[:200] or None,
            reasons=outcome.results,
            delivery_id=only_one,
            applied=outcome.applied > 0,
            note=f"{outcome.applied} applied, {outcome.noted} noted, {len(outcome.unlinked)} unlinked",
            payload=decode_payload(data),
        )
        session.add(document)
        session.flush()
        outcome.document_id = document.id
        return outcome

    def replay(session: Session, existing: InboundDocument) -> EfakturaReceiptOutcome:
        if tenant_id is not None and existing.tenant_id not in (None, tenant_id):
            return EfakturaReceiptOutcome(existing.id, repeated=True, rejected=None)
        rejected = existing.note if existing.note and existing.note.startswith("rejected: ") else None
        return EfakturaReceiptOutcome(
            existing.id, repeated=True, rejected=rejected, results=list(existing.reasons)
        )

    return store_once(engine, digest, receive=receive, replay=replay, what="eFaktura receipt file")


def poll_efaktura_receipts(
    engine: Engine,
    directory: Path,
    *,
    default_channel: str,
    actor: str = "efaktura",
    max_bytes: int = receipts.MAX_BYTES,
) -> DropPollReport:
    """Read every receipt file the provider left in `directory`, apply it, then archive it there (the drop
    folder walk every intake folder uses)."""

    def receive(data: bytes, name: str) -> EfakturaReceiptOutcome:
        return receive_efaktura_receipts(
            engine, data, source=name, actor=actor, default_channel=default_channel
        )

    report = DropPollReport()
    take_into_report(report, LocalDropFolder(directory), receive, max_bytes=max_bytes)
    return report
