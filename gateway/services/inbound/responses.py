"""Status documents from the world (Invoice Response, MLR, MLS): store, link to a delivery, apply.

Every document that parses is kept whole in `inbound_documents`, once: the same bytes twice are one row
(unique `payload_sha256`) and the second receipt answers with the first result, without applying again.

Linking. An Invoice Response names our invoice number (`DocumentReference/ID`); MLR and MLS name the SBDH
`InstanceIdentifier` of the message we sent, which is the delivery's channel message id. So: a delivery
whose message id is the reference (MLR/MLS first), else the invoice with that number (within the tenant
when it is known; the document type code tells an invoice from a credit note with the same number) →
that invoice's latest `peppol` delivery, or its latest delivery.

Order. An Invoice Response moves only forward, AB → IP → UQ → CA → RE → AP → PD (steps may be skipped);
nothing follows RE or PD and after AP only PD. The invoice's `response_status` holds the last applied code;
a backward or repeated step is stored with `applied=False` and a note.

Effects on the delivery (every one also an event naming the document):

| document | effect |
|---|---|
| Invoice Response AB, AP; MLR AB, AP; MLS AP | `sent` → `delivered` (already delivered: an event) |
| Invoice Response IP, UQ, CA; MLS AB | an event only (same status) |
| Invoice Response PD | an event with a payment hint (amount, date, partial) for payment matching |
| Invoice Response RE; MLR RE; MLS RE | `sent`/`delivered` → `deviation` (reasons: details, `last_error`) |

A delivery in another status (queued for a resend, being worked on, failed, cancelled) is not moved; the
event is written with its current status so the history still shows what the receiver said.
"""

from __future__ import annotations

import hashlib
import importlib
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session
from sqlmodel import col

from db.models import Delivery, InboundDocument, InvoiceRecord, new_id, utcnow
from gateway.services.followup import disputes
from gateway.services.inbound.store import decode_payload, find_by_message_id, store_once
from gateway.services.parsed import Parsed
from mappings.status import invoice_response
from mappings.status.invoice_response import (
    INVOICE_RESPONSE,
    MLR,
    MLS,
    StatusDocument,
    application_response_bytes,
)
from outbox.queue import StaleStatus, change_status, note_event
from outbox.states import DeliveryStatus

S = DeliveryStatus

#: The Invoice Response order (T111): a code may only follow codes ranked lower.
ORDER: dict[str, int] = {"AB": 0, "IP": 1, "UQ": 2, "CA": 3, "RE": 4, "AP": 5, "PD": 6}
#: Codes after which nothing else is applied; and what may still follow the rest.
FINAL_CODES = frozenset({"RE", "PD"})
AFTER: dict[str, frozenset[str]] = {"AP": frozenset({"PD"})}

DELIVER, DEVIATE, NOTE = "deliver", "deviation", "event"
EFFECTS: dict[tuple[str, str], str] = {
    (INVOICE_RESPONSE, "AB"): DELIVER,
    (INVOICE_RESPONSE, "AP"): DELIVER,
    (INVOICE_RESPONSE, "IP"): NOTE,
    (INVOICE_RESPONSE, "UQ"): NOTE,
    (INVOICE_RESPONSE, "CA"): NOTE,
    (INVOICE_RESPONSE, "PD"): NOTE,
    (INVOICE_RESPONSE, "RE"): DEVIATE,
    (MLR, "AB"): DELIVER,
    (MLR, "AP"): DELIVER,
    (MLR, "RE"): DEVIATE,
    (MLS, "AP"): DELIVER,
    (MLS, "AB"): NOTE,
    (MLS, "RE"): DEVIATE,
}
PREFERRED_CHANNEL = "peppol"
_INVOICE_TYPE_CODES = {"380", "383", "384", "386", "389", "393", "395", "575", "623", "780", "875", "876"}
_CREDIT_NOTE_TYPE_CODES = {"381", "261", "262", "296", "308", "396", "420", "458", "532"}


@dataclass
class ReceiveResult:
    """What became of one received status document."""

    inbound_id: str
    kind: str
    document_id: str | None
    response_code: str | None
    referenced_document_id: str | None
    invoice_id: str | None
    delivery_id: str | None
    delivery_status: str | None
    applied: bool
    note: str | None
    duplicate: bool = False
    #: True: checked against the official rules; False: not checked (no rules directory); None: a repeat
    validated: bool | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.inbound_id,
            "kind": self.kind,
            "document_id": self.document_id,
            "response_code": self.response_code,
            "referenced_document_id": self.referenced_document_id,
            "invoice_id": self.invoice_id,
            "delivery_id": self.delivery_id,
            "delivery_status": self.delivery_status,
            "applied": self.applied,
            "note": self.note,
            "duplicate": self.duplicate,
            "validated": self.validated,
        }


def receive_status_document(
    engine: Engine,
    data: bytes,
    *,
    actor: str,
    tenant_id: str | None,
    rules_dir: Path | str | None = None,
    parsed: Parsed[StatusDocumentReading] | None = None,
) -> ReceiveResult:
    """Parse, store once, link and apply one status document; `FormatError` when it cannot be read.

    With `rules_dir` (the official validation artefacts, `GATEWAY_RULES_DIR`) the document is first checked
    against its official rules (UBL XSD + PEPPOLBIS-T111 / T71 / MLS schematron): one that fails them is
    stored with the findings in its note and not applied. `parsed`: `read_status_document(data, rules_dir)`
    already done (in the API's parse pool); None reads it here.
    """
    reading = parsed.get() if parsed is not None else read_status_document(data, rules_dir)
    document, problems = reading.document, reading.problems
    digest = hashlib.sha256(data).hexdigest()

    def receive(session: Session) -> ReceiveResult:
        result = _receive(
            session, document, data, digest, actor=actor, tenant_id=tenant_id, problems=problems
        )
        result.validated = problems is not None
        return result

    return store_once(
        engine,
        digest,
        receive=receive,
        replay=lambda session, existing: _result_of(session, existing, tenant_id, duplicate=True),
        what="status document",
    )


@dataclass(frozen=True)
class StatusDocumentReading:
    """A status document read and checked against its official rules: the pure, CPU-heavy step."""

    document: StatusDocument
    #: blocking findings of the official rules ([] valid), None when not validated
    problems: list[str] | None


def read_status_document(data: bytes, rules_dir: Path | str | None = None) -> StatusDocumentReading:
    """Parse `data` and check it against its official rules; `FormatError` when it cannot be read."""
    document = invoice_response.parse(data)
    return StatusDocumentReading(document, _official_rule_problems(document.kind, data, rules_dir))


# --- validation (optional: the official rules run only when a rules directory is configured) ---------------

#: Our kinds → `gateway.services.validation`'s document kinds.
_VALIDATION_KINDS = {
    INVOICE_RESPONSE: "invoice-response",
    MLR: "message-level-response",
    MLS: "message-level-status",
}


def _official_rule_problems(kind: str, data: bytes, rules_dir: Path | str | None) -> list[str] | None:
    """Blocking findings of the official rules ([] when valid), or None when nothing was validated.

    `gateway.services.validation` is imported lazily; without a rules directory (or without rules for this
    kind)
    the document is not validated rather than refused.
    """
    if rules_dir is None:
        return None
    try:
        validation = importlib.import_module("gateway.services.validation")
    except ImportError:  # pragma: no cover - the module ships with the gateway
        return None
    report = validation.get_validator(rules_dir).validate(
        application_response_bytes(data), kind=_VALIDATION_KINDS[kind]
    )
    blocking = [finding for finding in report.blocking if finding.rule_id != "GATEWAY-NO-RULES"]
    if not blocking and not report.rule_sets:
        return None
    return [f"{finding.rule_id} at {finding.location}: {finding.text}" for finding in blocking]


# --- storing and linking -----------------------------------------------------------------------------------


def _result_of(
    session: Session, row: InboundDocument, tenant_id: str | None, *, duplicate: bool
) -> ReceiveResult:
    foreign = tenant_id is not None and row.tenant_id is not None and row.tenant_id != tenant_id
    delivery = session.get(Delivery, row.delivery_id) if row.delivery_id and not foreign else None
    note = row.note
    if duplicate:
        note = "the same document was received before; not applied again" + (
            f" (first: {note})" if note else ""
        )
    if foreign:  # the same bytes arrived for another tenant first: say so, but show nothing of theirs
        return ReceiveResult(
            inbound_id=row.id,
            kind=row.kind,
            document_id=row.document_id,
            response_code=row.response_code,
            referenced_document_id=row.referenced_document_id,
            invoice_id=None,
            delivery_id=None,
            delivery_status=None,
            applied=False,
            duplicate=True,
            note="the same document was already received for another tenant; not applied",
        )
    return ReceiveResult(
        inbound_id=row.id,
        kind=row.kind,
        document_id=row.document_id,
        response_code=row.response_code,
        referenced_document_id=row.referenced_document_id,
        invoice_id=row.invoice_id,
        delivery_id=row.delivery_id,
        delivery_status=DeliveryStatus(delivery.status).value if delivery else None,
        applied=row.applied and not duplicate,
        note=note,
        duplicate=duplicate,
    )


def _latest_delivery(session: Session, invoice_id: str) -> Delivery | None:
    query = select(Delivery).where(col(Delivery.invoice_id) == invoice_id)
    query = query.order_by(col(Delivery.created_at).desc(), col(Delivery.id).desc()).limit(1)
    preferred = session.execute(query.where(col(Delivery.channel) == PREFERRED_CHANNEL)).scalar_one_or_none()
    if preferred is not None:
        return preferred
    return session.execute(query).scalar_one_or_none()


def _by_message_id(session: Session, message_id: str, tenant_id: str | None) -> Delivery | None:
    found = find_by_message_id(session, message_id, tenant_id)
    return found[0] if found else None


def _link(
    session: Session, document: StatusDocument, tenant_id: str | None
) -> tuple[InvoiceRecord | None, Delivery | None, str | None]:
    """(invoice, delivery, note when not linked)."""
    reference = document.referenced_document_id
    if document.kind in {MLR, MLS}:
        delivery = _by_message_id(session, reference, tenant_id)
        if delivery is not None:
            return session.get(InvoiceRecord, delivery.invoice_id), delivery, None
    query = select(InvoiceRecord).where(col(InvoiceRecord.number) == reference)
    if tenant_id is not None:
        query = query.where(col(InvoiceRecord.tenant_id) == tenant_id)
    candidates = list(session.execute(query).scalars())
    if len(candidates) > 1 and document.referenced_type_code:
        wanted = (
            "invoice"
            if document.referenced_type_code in _INVOICE_TYPE_CODES
            else "credit_note"
            if document.referenced_type_code in _CREDIT_NOTE_TYPE_CODES
            else None
        )
        candidates = [c for c in candidates if c.document_type == wanted] or candidates
    if not candidates:
        where = f" for tenant {tenant_id}" if tenant_id else ""
        what = "no invoice with number" if document.kind == INVOICE_RESPONSE else "no delivery or invoice for"
        return None, None, f"{what} {reference!r}{where}"
    if len(candidates) > 1:
        return (
            None,
            None,
            (
                f"{len(candidates)} invoices have number {reference!r}"
                + ("" if tenant_id else " (name the tenant)")
            ),
        )
    invoice = candidates[0]
    delivery = _latest_delivery(session, invoice.id)
    if delivery is None:  # pragma: no cover - intake writes the first delivery with the invoice
        return invoice, None, f"invoice {invoice.number} has no delivery"
    return invoice, delivery, None


def _order_refusal(current: str | None, code: str) -> str | None:
    """Why an Invoice Response `code` may not follow `current`, or None when it may."""
    if current is None or current not in ORDER:
        return None
    if current in FINAL_CODES:
        return f"out of order: nothing follows {current}; {code} recorded, not applied"
    if current in AFTER:
        if code in AFTER[current]:
            return None
        allowed = ", ".join(sorted(AFTER[current]))
        return f"out of order: after {current} only {allowed}; {code} recorded, not applied"
    if code == current:
        return f"repeated step: the invoice is already {current}; recorded, not applied"
    if ORDER[code] < ORDER[current]:
        return f"out of order: {code} cannot follow {current} (backward); recorded, not applied"
    return None


def _reason_text(document: StatusDocument) -> str:
    head = f"{document.title} {document.response_code} ({document.meaning})"
    if document.sender.participant:
        head += f" from {document.sender.participant}"
    parts = []
    for reason in document.all_reasons():
        piece = " ".join(p for p in [reason.code, f"[{reason.list_id}]" if reason.list_id else None] if p)
        text = reason.text or ""
        if reason.conditions:
            pairs = ", ".join(f"{c.get('attribute')}: {c.get('description')}" for c in reason.conditions)
            text = f"{text} ({pairs})" if text else pairs
        if reason.line and reason.line != "NA":
            text = f"{text} (at {reason.line})" if text else f"at {reason.line}"
        parts.append(f"{piece}: {text}" if piece and text else piece or text)
    if not parts and document.response_description:
        parts.append(document.response_description)
    elif document.response_description and document.kind != INVOICE_RESPONSE:
        parts.insert(0, document.response_description)
    return head + (": " + "; ".join(parts) if parts else "")


def _receive(
    session: Session,
    document: StatusDocument,
    data: bytes,
    digest: str,
    *,
    actor: str,
    tenant_id: str | None,
    problems: list[str] | None,
) -> ReceiveResult:
    invoice, delivery, note = _link(session, document, tenant_id)
    row = InboundDocument(
        id=new_id(),
        tenant_id=tenant_id or (invoice.tenant_id if invoice else None),
        kind=document.kind,
        payload_sha256=digest,
        document_id=document.document_id,
        referenced_document_id=document.referenced_document_id[:200],
        response_code=document.response_code,
        reasons=[reason.as_dict() for reason in document.all_reasons()],
        delivery_id=delivery.id if delivery else None,
        invoice_id=invoice.id if invoice else None,
        applied=False,
        note=note,
        payload=decode_payload(data),
        received_at=utcnow(),
    )
    if problems:
        row.note = "fails its official rules; not applied: " + "; ".join(problems[:10])
    elif invoice is not None and delivery is not None:
        row.applied, row.note = _apply(session, document, row, invoice, delivery, actor=actor)
    if not problems and invoice is not None and document.kind == INVOICE_RESPONSE:
        _dispute_if_queried(session, document, invoice)
    session.add(row)
    session.flush()
    return _result_of(session, row, tenant_id, duplicate=False)


def _dispute_if_queried(session: Session, document: StatusDocument, invoice: InvoiceRecord) -> None:
    """UQ / RE: the buyer disputes the invoice, so follow-up stops (a dispute, or a message on the open
    one, even when the code repeats an earlier step); other codes leave disputes alone."""
    try:
        _open_or_note(session, document, invoice)
    except disputes.FollowUpRefused as error:  # pragma: no cover - the response is still recorded
        logging.getLogger(__name__).warning("invoice %s: no dispute from the response: %s", invoice.id, error)


def _open_or_note(session: Session, document: StatusDocument, invoice: InvoiceRecord) -> None:
    disputes.dispute_from_invoice_response(
        session,
        invoice,
        response_code=document.response_code,
        reason_codes=[
            r.code for r in document.all_reasons() if r.code and r.list_id in (None, "OPStatusReason")
        ],
        note=document.note,
        described=_reason_text(document),
        sender=document.sender.participant,
        now=utcnow(),
    )


def _apply(
    session: Session,
    document: StatusDocument,
    row: InboundDocument,
    invoice: InvoiceRecord,
    delivery: Delivery,
    *,
    actor: str,
) -> tuple[bool, str | None]:
    """Apply `document` to the invoice and its delivery; (applied, note)."""
    details: dict[str, Any] = {
        "inbound_document_id": row.id,
        "kind": document.kind,
        "document_id": document.document_id,
        "response_code": document.response_code,
        "referenced_document_id": document.referenced_document_id,
        "sender": document.sender.participant,
        "reasons": [reason.as_dict() for reason in document.all_reasons()],
    }
    if document.effective_date:
        details["effective_date"] = document.effective_date.isoformat()
    if document.kind == INVOICE_RESPONSE:
        refusal = _order_refusal(invoice.response_status, document.response_code)
        if refusal is not None:
            return False, refusal
        moved = session.execute(
            update(InvoiceRecord)
            .where(
                col(InvoiceRecord.id) == invoice.id,
                col(InvoiceRecord.response_status).is_(None)
                if invoice.response_status is None
                else col(InvoiceRecord.response_status) == invoice.response_status,
            )
            .values(response_status=document.response_code)
        )
        if moved.rowcount != 1:  # type: ignore[attr-defined]
            raise StaleStatus(f"invoice {invoice.id}: another response was applied at the same time")
        details["previous_response_status"] = invoice.response_status
        if document.response_code == "PD":
            hint = document.payment.as_dict() if document.payment else {}
            details["payment_hint"] = {
                **hint,
                "invoice_number": invoice.number,
                "payable_amount": invoice.payable_amount,
                "invoice_currency": invoice.currency,
                "payment_reference": invoice.payment_reference,
            }
    effect = EFFECTS[(document.kind, document.response_code)]
    reason = _reason_text(document)
    current = DeliveryStatus(delivery.status)
    target = {DELIVER: S.DELIVERED, DEVIATE: S.DEVIATION}.get(effect)
    movable = {DELIVER: {S.SENT}, DEVIATE: {S.SENT, S.DELIVERED}}.get(effect, set())
    note: str | None = None
    if target is not None and current in movable:
        change_status(session, delivery, target, actor=actor, reason=reason, details=details)
    else:
        if target is not None and current != target:
            note = f"delivery is {current.value}; not moved to {target.value}, recorded as an event"
        note_event(session, delivery, actor=actor, reason=reason, details=details)
    return True, note
