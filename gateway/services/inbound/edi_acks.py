"""EDI files from trading partners: acknowledgements move our deliveries, business messages get answered.

`receive_edi` takes one EDIFACT or X12 file (from `POST /edi`, `gateway receive-edi`, a partner's folder):

* It is stored once in `inbound_documents` (by SHA-256; the same bytes again answer with the first result):
  kind `edi-ack` (CONTRL, APERAK, TA1, 997, 999), `edi-message` (anything else: REMADV, 820, IFTSTA, 214,
  INVOIC, 810…) or `edi-rejected` (the syntax layer refused it, or it repeats an interchange number).
* The trading partner is the one whose `them` id/qualifier sent it and whose `us` id/qualifier it is
  addressed to (within the tenant when one is named; across tenants it must be unambiguous).
* An acknowledgement is linked to our outbound `EdiInterchange` by interchange reference (UCI 0020, TA101),
  group reference (AK102) or message reference (APERAK RFF+ACW, UCM 0062, AK202; APERAK's invoice number as
  a last resort), compared as numbers when both are digits (ISA13 is zero-padded, our counter is not).
  The interchange keeps `ack_status`, `ack_details` (the full result with every segment/element error, and
  the earlier acks) and `ack_document_id`. Its delivery moves — only while it is still on the attempt the
  interchange belongs to: accepted → `delivered` (from `sent`, or from the `deviation` an overdue flag
  made), rejected → `deviation` naming segment and element, partial → `deviation` when this interchange's
  messages are among the rejected ones, received (CONTRL 8) → an event. An ack for an older attempt, a
  repeat of the same verdict, or one for a delivery in another state is stored and noted, not applied.
* A business message is recorded as an `EdiInterchange` direction `in` (one per partner interchange
  reference: a second file with the same number is a duplicate and refused as such) and answered: CONTRL for
  EDIFACT, 997 / 999 (and TA1 where ISA14 asks or the interchange level is at fault) for X12, in the
  partner's syntax identifier and version, with our control numbers, and error detail when the file was
  refused. A refused file is answered too when its envelope can be read enough to address the answer.
  The answer is recorded as an outbound `EdiInterchange` (no ack expected; its content in `ack_details`)
  and, in the same transaction, queued as a delivery on the `edi` channel (`document_kind` edi-ack, no
  invoice): the worker sends it like any delivery — lease, retries, events, `GET /deliveries` — and the
  channel puts it on the partner's transport: folder `<directory>/<partner>_ack_<ref>.<edi|x12>`, or SFTP
  `<outgoing>/…`, each committed once. Where it went is kept in `ack_details["written"]`.

A file of several interchanges (a VAN's concatenated daily file, EDIFACT and X12 alike) is taken apart
first (`mappings.syntax.interchanges`): every interchange is stored, recorded, applied and answered as
above, in its own transaction, with its own CONTRL / 997 / TA1 and control numbers; a broken one is
refused and answered alone, and the receipt lists each (`interchanges`).

`flag_overdue` (the worker calls it) turns outbound interchanges without any acknowledgement after
`ack_due_at` into `ack_status="overdue"`, and their `sent` deliveries into `deviation`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, Text, cast, select, update
from sqlalchemy.orm import Session
from sqlmodel import col

from channels.context import DocumentKind
from channels.edi import interchange_file_name
from db.engine import session_scope
from db.models import Delivery, EdiInterchange, InboundDocument, InvoiceRecord, new_id, utcnow
from gateway.services.inbound.store import decode_payload, store_once
from gateway.services.outbound.channel_context import ACK_DOCUMENTS
from gateway.services.parsed import Parsed
from gateway.services.tenancy.edi_partners import (
    get_partner,
    list_partners,
    next_control_number,
    partner_envelope,
)
from gateway.services.tenancy.tenants import tenant_settings
from mappings.acks import aperak, contrl, functional_ack
from mappings.acks.model import (
    ACCEPTED,
    APERAK,
    CONTRL,
    FA997,
    FA999,
    PARTIAL,
    RECEIVED,
    REJECTED,
    TA1,
    Acknowledgement,
    AckParty,
)
from mappings.acks.received import ReceivedFile, ReceivedPart, examine
from mappings.base import FormatError
from mappings.syntax import edifact, x12
from mappings.syntax.edi_envelope import EdiEnvelope
from outbox.queue import StaleStatus, change_status, enqueue_delivery, note_event
from outbox.states import LEASED, DeliveryStatus
from schemas.edi_partner import EdiParty, TradingPartner

S = DeliveryStatus
KIND_ACK, KIND_MESSAGE, KIND_REJECTED = "edi-ack", "edi-message", "edi-rejected"
OVERDUE = "overdue"
ANSWER_TYPES = frozenset({CONTRL, TA1, FA997, FA999})
ACK_TYPES = ANSWER_TYPES | {APERAK}


@dataclass
class EdiReceipt:
    """What became of one received EDI file."""

    inbound_id: str
    kind: str
    standard: str
    message_type: str
    interchange_ref: str
    partner_id: str | None = None
    tenant_id: str | None = None
    status: str | None = None
    applied: bool = False
    linked: list[dict[str, Any]] = field(default_factory=list)
    #: our answer (kind, interchange number, its `delivery_id` on the `edi` channel)
    answer: dict[str, Any] | None = None
    #: where our answer was put: known once the worker has sent it, so on a repeat of the same file
    ack_written: str | None = None
    errors: list[dict[str, Any]] = field(default_factory=list)
    note: str | None = None
    duplicate: bool = False
    #: a file of several interchanges: what became of each (this receipt then sums them up)
    interchanges: list[EdiReceipt] = field(default_factory=list)
    #: this interchange's place in such a file: its number (from 1) and the byte where it starts
    index: int | None = None
    offset: int | None = None

    @property
    def rejected(self) -> bool:
        """We refused the file (syntax, duplicate interchange number)."""
        return self.kind == KIND_REJECTED

    @property
    def rejected_interchanges(self) -> int:
        """How many interchanges of the file we refused (the file itself counts as one when it is one)."""
        if self.interchanges:
            return sum(part.rejected for part in self.interchanges)
        return int(self.rejected)

    def as_dict(self) -> dict[str, Any]:
        out = self._fields()
        if self.index is not None:
            out["index"], out["offset"] = self.index, self.offset
        if self.interchanges:
            out["interchange_count"] = len(self.interchanges)
            out["rejected_count"] = self.rejected_interchanges
            out["interchanges"] = [part.as_dict() for part in self.interchanges]
        return out

    def _fields(self) -> dict[str, Any]:
        return {
            "id": self.inbound_id,
            "kind": self.kind,
            "standard": self.standard,
            "message_type": self.message_type,
            "interchange_ref": self.interchange_ref,
            "partner_id": self.partner_id,
            "status": self.status,
            "applied": self.applied,
            "linked": self.linked,
            "answer": self.answer,
            "ack_written": self.ack_written,
            "errors": self.errors,
            "note": self.note,
            "duplicate": self.duplicate,
        }


def receive_edi(
    engine: Engine,
    data: bytes,
    *,
    tenant_id: str | None,
    actor: str,
    now: dt.datetime | None = None,
    parsed: Parsed[ReceivedFile] | None = None,
) -> EdiReceipt:
    """Store, link/record, apply and answer one EDI file; `FormatError` when not even its envelope reads.

    `parsed`: `examine(data)` already done (in the API's parse pool); None examines the file here.
    """
    received = parsed.get() if parsed is not None else examine(data)
    if received.parts:
        return _receive_parts(engine, received.parts, tenant_id=tenant_id, actor=actor, now=now)
    return _receive_one(engine, received, data, tenant_id=tenant_id, actor=actor, now=now)


def _receive_one(
    engine: Engine,
    received: ReceivedFile,
    data: bytes,
    *,
    tenant_id: str | None,
    actor: str,
    now: dt.datetime | None,
) -> EdiReceipt:
    """One interchange in its own transaction, stored once by its bytes' SHA-256."""
    digest = hashlib.sha256(data).hexdigest()
    return store_once(
        engine,
        digest,
        receive=lambda session: _receive(session, received, data, digest, tenant_id, actor, now or utcnow()),
        replay=lambda session, row: _replayed(session, row, received, tenant_id),
        what="EDI file",
    )


def _receive_parts(
    engine: Engine,
    parts: tuple[ReceivedPart, ...],
    *,
    tenant_id: str | None,
    actor: str,
    now: dt.datetime | None,
) -> EdiReceipt:
    """A file of several interchanges (a VAN's concatenated daily file): each stored, recorded, applied
    and answered as if it had come alone, in its own transaction, so a broken one is refused alone and
    the others go through; the receipt sums them up and lists each in `interchanges`."""
    receipts: list[EdiReceipt] = []
    for part in parts:
        if part.received is None:
            error = part.error
            assert error is not None
            receipt = EdiReceipt(
                inbound_id="",
                kind=KIND_REJECTED,
                standard="unknown",
                message_type="",
                interchange_ref="",
                status=REJECTED,
                errors=[error.as_dict()],
                note=f"{part.where}: not an interchange that can be read: {error}; not stored, not answered",
            )
        else:
            receipt = _receive_one(
                engine, part.received, part.data, tenant_id=tenant_id, actor=actor, now=now
            )
        receipt.index, receipt.offset = part.index, part.offset
        receipts.append(receipt)
    return _file_receipt(receipts)


def _file_receipt(receipts: list[EdiReceipt]) -> EdiReceipt:
    """What a file of several interchanges came to: rejected only when every interchange was."""
    kept = [r for r in receipts if not r.rejected]
    if not kept:
        kind = KIND_REJECTED
    elif all(r.kind == KIND_ACK for r in kept):
        kind = KIND_ACK
    else:
        kind = KIND_MESSAGE
    statuses = {r.status for r in receipts}
    standards = {r.standard for r in receipts if r.standard != "unknown"}
    first = next((r for r in receipts if r.inbound_id), receipts[0])
    counted: dict[str, int] = {}
    for receipt in receipts:
        word = "rejected" if receipt.rejected else (receipt.status or receipt.kind)
        counted[word] = counted.get(word, 0) + 1
    notes = [", ".join(f"{n} {word}" for word, n in counted.items())]
    notes += [
        f"interchange {r.index} ({r.interchange_ref or 'unread'}): {r.note}" for r in receipts if r.note
    ]
    return EdiReceipt(
        inbound_id=first.inbound_id,
        kind=kind,
        standard=standards.pop() if len(standards) == 1 else "mixed",
        message_type=",".join(dict.fromkeys(r.message_type for r in receipts if r.message_type))[:20],
        interchange_ref=",".join(r.interchange_ref for r in receipts if r.interchange_ref),
        partner_id=first.partner_id,
        tenant_id=first.tenant_id,
        status=statuses.pop() if len(statuses) == 1 else PARTIAL,
        applied=any(r.applied for r in receipts),
        linked=[item for r in receipts for item in r.linked],
        errors=[{**e, "interchange": r.index} for r in receipts for e in r.errors],
        note=f"{len(receipts)} interchanges in the file: " + "; ".join(notes),
        duplicate=all(r.duplicate for r in receipts),
        interchanges=receipts,
    )


# --- partners ----------------------------------------------------------------------------------------------


def _same_party(profile: EdiParty, party: AckParty) -> bool:
    if profile.id.strip() != party.id.strip():
        return False
    return not party.qualifier or profile.qualifier.strip() == party.qualifier.strip()


def find_partner(
    session: Session, sender: AckParty, recipient: AckParty, tenant_id: str | None
) -> tuple[tuple[str, TradingPartner] | None, str | None]:
    """The partner that sent this (its `them` is the sender, its `us` the recipient); or None and why."""
    found = [
        (tenant, partner)
        for tenant, partner in list_partners(session, tenant_id)
        if _same_party(partner.them, sender) and _same_party(partner.us, recipient)
    ]
    if len(found) == 1:
        return found[0], None
    who = f"sender {sender.id!r}" + (f" ({sender.qualifier})" if sender.qualifier else "")
    who += f", recipient {recipient.id!r}" + (f" ({recipient.qualifier})" if recipient.qualifier else "")
    if not found:
        where = f" of tenant {tenant_id}" if tenant_id else ""
        return None, f"no trading partner{where} with {who}"
    names = ", ".join(f"{tenant}/{partner.partner_id}" for tenant, partner in found)
    return None, f"several trading partners match {who} ({names}): name the tenant"


# --- receiving ---------------------------------------------------------------------------------------------


def _receive(
    session: Session,
    received: ReceivedFile,
    data: bytes,
    digest: str,
    tenant_id: str | None,
    actor: str,
    now: dt.datetime,
) -> EdiReceipt:
    match, partner_note = find_partner(session, received.sender, received.recipient, tenant_id)
    row = InboundDocument(
        id=new_id(),
        tenant_id=match[0] if match else tenant_id,
        kind=KIND_ACK if received.is_ack else KIND_MESSAGE,
        payload_sha256=digest,
        document_id=f"{received.message_type or received.standard} {received.control_ref}"[:200],
        payload=decode_payload(data),
        received_at=now,
        reasons=[],
    )
    receipt = EdiReceipt(
        inbound_id=row.id,
        kind=row.kind,
        standard=received.standard,
        message_type=received.message_type,
        interchange_ref=received.control_ref,
        partner_id=match[1].partner_id if match else None,
        tenant_id=row.tenant_id,
    )
    if received.is_ack:
        outcome = _receive_acks(session, received, row, receipt, match, partner_note, actor, now)
    else:
        outcome = _receive_message(session, received, data, row, receipt, match, partner_note, now)
    row.note = receipt.note
    session.add(row)
    session.flush()
    return outcome


def _errors_of(received: ReceivedFile) -> list[dict[str, Any]]:
    return [received.error.as_dict()] if received.error is not None else []


# --- acknowledgements --------------------------------------------------------------------------------------


def _receive_acks(
    session: Session,
    received: ReceivedFile,
    row: InboundDocument,
    receipt: EdiReceipt,
    match: tuple[str, TradingPartner] | None,
    partner_note: str | None,
    actor: str,
    now: dt.datetime,
) -> EdiReceipt:
    acks = received.acknowledgements
    if not acks:
        problem = received.ack_error or received.error
        row.kind = receipt.kind = KIND_REJECTED
        receipt.errors = [problem.as_dict()] if problem is not None else []
        receipt.status = REJECTED
        receipt.note = f"an acknowledgement that cannot be read: {problem}" if problem else "unreadable"
        row.reasons = receipt.errors
        return receipt
    row.reasons = [ack.as_dict() for ack in acks]
    row.response_code = acks[0].status
    referenced = (
        acks[0].of_interchange_ref
        or acks[0].of_group_ref
        or next((m.ref for m in acks[0].messages if m.ref), None)
    )
    row.referenced_document_id = referenced[:200] if referenced else None
    receipt.status = acks[0].status if len({a.status for a in acks}) == 1 else PARTIAL
    receipt.errors = [e.as_dict() for ack in acks for e in ack.errors] + [
        {**e.as_dict(), "message_ref": m.ref} for ack in acks for m in ack.messages for e in m.errors
    ]
    if match is None:
        receipt.note = f"{partner_note}: stored, not linked"
        return receipt
    tenant, partner = match
    notes: list[str] = []
    for ack in acks:
        rows = _linked_interchanges(session, tenant, partner.partner_id, ack)
        if not rows:
            notes.append(
                f"{ack.describe()}: no interchange of ours to {partner.partner_id} found "
                f"({_ack_keys(ack)}): stored, not linked"
            )
            continue
        for interchange in rows:
            applied, note = _apply(session, interchange, ack, partner, row, actor, now)
            receipt.applied = receipt.applied or applied
            delivery = session.get(Delivery, interchange.delivery_id) if interchange.delivery_id else None
            if delivery is not None:
                session.refresh(delivery)
                if row.delivery_id is None:
                    row.delivery_id, row.invoice_id = delivery.id, delivery.invoice_id
            receipt.linked.append(
                {
                    "interchange_id": interchange.id,
                    "interchange_ref": interchange.interchange_ref,
                    "group_ref": interchange.group_ref,
                    "message_refs": list(interchange.message_refs),
                    "attempt": interchange.attempt,
                    "ack_status": interchange.ack_status,
                    "delivery_id": interchange.delivery_id,
                    "delivery_status": DeliveryStatus(delivery.status).value if delivery else None,
                    "applied": applied,
                }
            )
            if note:
                notes.append(note)
    row.applied = receipt.applied
    receipt.note = "; ".join(notes) or None
    warnings = list(dict.fromkeys(w for ack in acks for w in ack.warnings))
    if warnings:
        warning = "read leniently: " + "; ".join(w.removeprefix("read leniently: ") for w in warnings)
        receipt.note = f"{receipt.note}; {warning}" if receipt.note else warning
    return receipt


def _ack_keys(ack: Acknowledgement) -> str:
    keys = []
    if ack.of_interchange_ref:
        keys.append(f"interchange {ack.of_interchange_ref}")
    if ack.of_group_ref:
        keys.append(f"group {ack.of_group_ref}")
    refs = [m.ref for m in ack.messages if m.ref]
    if refs:
        keys.append("message " + ", ".join(refs))
    keys.extend(f"{q} {v}" for q, v in ack.references if v)
    return "; ".join(keys) or "no references"


def _ref_forms(ref: str) -> list[str]:
    """A reference as written and as a number: ISA13 '000000017', GS06 / UNB 0020 '17'."""
    ref = ref.strip()
    forms = [ref]
    if ref.isascii() and ref.isdigit():
        bare = ref.lstrip("0") or "0"
        forms += [bare, bare.zfill(9), bare.zfill(4), bare.zfill(14)]
    return list(dict.fromkeys(forms))


def _same_ref(a: str, b: str) -> bool:
    a, b = a.strip(), b.strip()
    if a.isascii() and a.isdigit() and b.isascii() and b.isdigit():
        return int(a) == int(b)
    return a == b


def _outbound(session: Session, tenant: str, partner_id: str) -> Any:
    return select(EdiInterchange).where(
        col(EdiInterchange.tenant_id) == tenant,
        col(EdiInterchange.partner_id) == partner_id,
        col(EdiInterchange.direction) == "out",
        col(EdiInterchange.message_type).not_in(sorted(ANSWER_TYPES)),
    )


def _linked_interchanges(
    session: Session, tenant: str, partner_id: str, ack: Acknowledgement
) -> list[EdiInterchange]:
    base = _outbound(session, tenant, partner_id)
    if ack.of_interchange_ref:
        query = base.where(col(EdiInterchange.interchange_ref).in_(_ref_forms(ack.of_interchange_ref)))
        found = list(session.execute(query.with_for_update()).scalars())
        if found:
            return found
    if ack.of_group_ref:
        query = base.where(col(EdiInterchange.group_ref).in_(_ref_forms(ack.of_group_ref)))
        found = list(session.execute(query.with_for_update()).scalars())
        if found:
            return found
    refs = [m.ref for m in ack.messages if m.ref]
    found = []
    for ref in refs:
        for form in _ref_forms(ref):
            query = base.where(cast(col(EdiInterchange.message_refs), Text).like(f'%"{form}"%'))
            for interchange in session.execute(query.with_for_update()).scalars():
                if (
                    any(_same_ref(ref, mine) for mine in interchange.message_refs)
                    and interchange not in found
                ):
                    found.append(interchange)
    if found or ack.kind != APERAK:
        return found
    number = ack.reference(*aperak.APERAK_DOCUMENT_REF_QUALIFIERS)
    if number:
        invoices = select(col(InvoiceRecord.id)).where(
            col(InvoiceRecord.tenant_id) == tenant, col(InvoiceRecord.number) == number
        )
        query = base.where(col(EdiInterchange.invoice_id).in_(invoices)).order_by(
            col(EdiInterchange.created_at).desc()
        )
        latest = session.execute(query.limit(1).with_for_update()).scalars().first()
        if latest is not None:
            return [latest]
    return []


def _row_status(interchange: EdiInterchange, ack: Acknowledgement) -> tuple[str, Acknowledgement]:
    """The verdict on this interchange, and the ack narrowed to its messages when it reports per message."""
    if ack.status != PARTIAL:
        return ack.status, ack
    if not ack.messages:  # only a group was rejected: this interchange's part of it cannot be told apart
        return REJECTED, ack
    mine = [m for m in ack.messages if any(_same_ref(m.ref, r) for r in interchange.message_refs)]
    if not mine:
        return ACCEPTED, ack
    narrowed = Acknowledgement(
        kind=ack.kind,
        sender=ack.sender,
        recipient=ack.recipient,
        of_interchange_ref=ack.of_interchange_ref,
        of_group_ref=ack.of_group_ref,
        status=ack.status,
        messages=tuple(mine),
        errors=ack.errors,
        note=ack.note,
        control_ref=ack.control_ref,
        message_ref=ack.message_ref,
        references=ack.references,
        warnings=ack.warnings,
        prepared=ack.prepared,
        standard=ack.standard,
    )
    rejected = [m for m in mine if m.status == REJECTED]
    if not rejected:
        return ACCEPTED, narrowed
    return (REJECTED if len(rejected) == len(interchange.message_refs) else PARTIAL), narrowed


def _history_entry(
    ack: Acknowledgement, status: str, document_id: str, now: dt.datetime, applied: bool
) -> dict[str, Any]:
    return {
        "kind": ack.kind,
        "status": status,
        "ack_document_id": document_id,
        "control_ref": ack.control_ref,
        "received_at": now.isoformat(),
        "applied": applied,
    }


def _apply(
    session: Session,
    interchange: EdiInterchange,
    ack: Acknowledgement,
    partner: TradingPartner,
    document: InboundDocument,
    actor: str,
    now: dt.datetime,
) -> tuple[bool, str | None]:
    """Record the ack on the interchange and move its delivery; (applied, note)."""
    status, narrowed = _row_status(interchange, ack)
    previous = dict(interchange.ack_details or {})
    history: list[dict[str, Any]] = list(previous.get("history", []))
    repeat = any(h.get("kind") == ack.kind and h.get("status") == status for h in history)
    final_before = interchange.ack_status in (ACCEPTED, REJECTED, PARTIAL)
    label = f"{ack.kind} from {partner.partner_id} (interchange {interchange.interchange_ref})"
    errors = narrowed.error_summary(limit=8)
    reason = f"{label}: {status}" + (f": {errors}" if errors else "")
    delivery = session.get(Delivery, interchange.delivery_id) if interchange.delivery_id else None
    applied = False
    note: str | None = None
    details: dict[str, Any] = {
        "inbound_document_id": document.id,
        "kind": KIND_ACK,
        "ack_kind": ack.kind,
        "status": status,
        "interchange_ref": interchange.interchange_ref,
        "group_ref": interchange.group_ref,
        "acknowledgement": narrowed.as_dict(),
    }
    if repeat:
        note = f"{label}: the same verdict ({status}) was received before; recorded, not applied again"
    elif delivery is None:
        note = f"{label}: {status}; the interchange has no delivery"
    elif interchange.attempt is not None and interchange.attempt != delivery.attempt:
        note = (
            f"{label}: {status} for attempt {interchange.attempt}; the delivery is on attempt "
            f"{delivery.attempt} (resent since): recorded, not applied"
        )
    else:
        applied, note = _move(
            session, delivery, status, reason, details, actor, overdue=interchange.ack_status == OVERDUE
        )
    if delivery is not None and not applied:
        note_event(session, delivery, actor=actor, reason=note or reason, details=details)
    keep_final = status == RECEIVED and final_before
    if not keep_final and not repeat:
        interchange.ack_status = status
    if not repeat or interchange.ack_document_id is None:
        interchange.ack_document_id = document.id
    history.append(_history_entry(ack, status, document.id, now, applied))
    latest = narrowed.as_dict() if not keep_final and not repeat else previous.get("latest")
    interchange.ack_details = {"latest": latest, "history": history}
    interchange.updated_at = now
    session.add(interchange)
    session.flush()
    return applied, note


def _move(
    session: Session,
    delivery: Delivery,
    status: str,
    reason: str,
    details: dict[str, Any],
    actor: str,
    *,
    overdue: bool,
) -> tuple[bool, str | None]:
    current = DeliveryStatus(delivery.status)
    if status == RECEIVED:
        note_event(session, delivery, actor=actor, reason=reason, details=details)
        return True, None
    if current in LEASED:
        return False, f"{reason}; the delivery is being worked on ({current.value}): recorded, not moved"
    if status == ACCEPTED:
        if current == S.SENT or (current == S.DEVIATION and overdue):
            change_status(session, delivery, S.DELIVERED, actor=actor, reason=reason, details=details)
            return True, None
        if current == S.DELIVERED:
            note_event(session, delivery, actor=actor, reason=reason, details=details)
            return True, None
        return False, f"{reason}; the delivery is {current.value}: recorded, not moved"
    if current in (S.SENT, S.DELIVERED):
        change_status(session, delivery, S.DEVIATION, actor=actor, reason=reason, details=details)
        return True, None
    return False, f"{reason}; the delivery is {current.value}: recorded, not moved"


# --- business messages -------------------------------------------------------------------------------------


def _receive_message(
    session: Session,
    received: ReceivedFile,
    data: bytes,
    row: InboundDocument,
    receipt: EdiReceipt,
    match: tuple[str, TradingPartner] | None,
    partner_note: str | None,
    now: dt.datetime,
) -> EdiReceipt:
    receipt.errors = _errors_of(received)
    row.reasons = list(receipt.errors)
    duplicate_of: EdiInterchange | None = None
    if received.error is not None:
        row.kind = receipt.kind = KIND_REJECTED
        receipt.status = REJECTED
        where = received.error.where
        receipt.note = f"refused by the syntax check at {where}: {received.error.reason}"
    if match is None:
        receipt.note = "; ".join(n for n in (receipt.note, f"{partner_note}: stored, not answered") if n)
        receipt.status = receipt.status or "unlinked"
        return receipt
    tenant, partner = match
    if received.error is None:
        duplicate_of = session.execute(
            select(EdiInterchange).where(
                col(EdiInterchange.tenant_id) == tenant,
                col(EdiInterchange.partner_id) == partner.partner_id,
                col(EdiInterchange.direction) == "in",
                col(EdiInterchange.interchange_ref) == received.control_ref,
            )
        ).scalar_one_or_none()
        if duplicate_of is not None:
            row.kind = receipt.kind = KIND_REJECTED
            receipt.status = REJECTED
            receipt.note = (
                f"duplicate: interchange {received.control_ref} from {partner.partner_id} was "
                f"received on {duplicate_of.created_at:%Y-%m-%d %H:%M} UTC (document "
                f"{duplicate_of.inbound_document_id})"
            )
            receipt.errors = [{"field": "interchange", "reason": receipt.note, "code": "duplicate"}]
            row.reasons = list(receipt.errors)
    accepted = received.error is None and duplicate_of is None
    inbound: EdiInterchange | None = None
    if accepted:
        inbound = EdiInterchange(
            tenant_id=tenant,
            partner_id=partner.partner_id,
            direction="in",
            standard=received.standard,
            message_type=received.message_type,
            interchange_ref=received.control_ref,
            group_ref=received.group_refs[0] if received.group_refs else None,
            message_refs=list(received.message_refs),
            inbound_document_id=row.id,
            ack_status=ACCEPTED,
            created_at=now,
            updated_at=now,
        )
        session.add(inbound)
        session.flush()
        receipt.status = "recorded"
        receipt.linked.append(
            {
                "interchange_id": inbound.id,
                "interchange_ref": inbound.interchange_ref,
                "direction": "in",
                "message_type": inbound.message_type,
            }
        )
    if accepted and received.warnings:
        tolerated = "read with warnings: " + "; ".join(received.warnings[:5])
        receipt.note = f"{receipt.note}; {tolerated}" if receipt.note else tolerated
    if not partner.answer_inbound:
        note = f"not answered: trading partner {partner.partner_id} takes no acknowledgements"
        receipt.note = f"{receipt.note}; {note}" if receipt.note else note
        return receipt
    answer = _answer(
        session,
        received,
        data,
        tenant,
        partner,
        row,
        now,
        accepted=accepted,
        duplicate=duplicate_of is not None,
    )
    if isinstance(answer, str):
        receipt.errors.append({"field": "answer", "reason": answer})
        receipt.note = f"{receipt.note}; {answer}" if receipt.note else answer
        return receipt
    if inbound is not None:
        inbound.ack_details = {"answer": _answer_summary(answer)}
        session.add(inbound)
    receipt.answer = _answer_summary(answer)
    return receipt


def _answer_summary(row: EdiInterchange) -> dict[str, Any]:
    details = row.ack_details or {}
    return {
        "kind": row.message_type,
        "interchange_ref": row.interchange_ref,
        "delivery_id": row.delivery_id,
        "file": details.get("file"),
        "written": details.get("written"),
        "accepted": details.get("accepted"),
    }


def _envelope(partner: TradingPartner, numbers: dict[str, str], now: dt.datetime) -> EdiEnvelope:
    """Our answer's envelope: acknowledgements never ask for an acknowledgement."""
    return partner_envelope(
        partner,
        interchange_ref=numbers["interchange"],
        group_ref=numbers.get("group"),
        message_ref=numbers["message"],
        prepared=now.astimezone(dt.UTC).replace(second=0, microsecond=0),
        ack_requested=False,
    )


def _answer(
    session: Session,
    received: ReceivedFile,
    data: bytes,
    tenant: str,
    partner: TradingPartner,
    document: InboundDocument,
    now: dt.datetime,
    *,
    accepted: bool,
    duplicate: bool,
) -> EdiInterchange | str:
    """Render our CONTRL / 997 / 999 / TA1 with fresh control numbers, record it as outbound and queue its
    delivery; or why no answer could be written."""
    pid = partner.partner_id
    numbers = {"interchange": str(next_control_number(session, tenant, pid, "interchange"))}
    x12_groups = len(received.x12_interchange.groups) if received.x12_interchange is not None else 0
    if received.standard == "x12" or partner.use_groups:
        numbers["group"] = str(next_control_number(session, tenant, pid, "group"))
    message_numbers = [
        str(next_control_number(session, tenant, pid, "message")) for _ in range(max(1, x12_groups))
    ]
    numbers["message"] = message_numbers[0]
    envelope = _envelope(partner, numbers, now)
    error = received.error
    try:
        if received.standard == "edifact":
            assert received.edifact_interchange is not None
            edifact_errors = [error] if isinstance(error, edifact.EdiSyntaxError) else []
            content = contrl.answer(
                data if edifact_errors else received.edifact_interchange,
                envelope=envelope,
                accepted=accepted,
                errors=edifact_errors,
                duplicate=duplicate,
            )
            kind = CONTRL
        else:
            assert received.x12_interchange is not None
            x12_errors = [error] if isinstance(error, x12.X12SyntaxError) else []
            content = functional_ack.answer(
                data if x12_errors else received.x12_interchange,
                envelope=envelope,
                accepted=accepted,
                errors=x12_errors,
                duplicate=duplicate,
                set_refs=message_numbers,
                functional_ack=None if partner.functional_ack == "auto" else partner.functional_ack,
            )
            kinds = {t.set_id for t in x12.parse(content).transactions}
            kind = next(iter(kinds)) if len(kinds) == 1 else TA1
    except (FormatError, ValueError) as error:
        return f"no answer could be written: {error}"
    format_name, _media_type, extension = ACK_DOCUMENTS[received.standard]
    name = interchange_file_name(pid, numbers["interchange"], extension, acknowledgement=True)
    label = f"{kind} {numbers['interchange']}"
    delivery = _answer_delivery(session, tenant, pid, format_name, label, received)
    row = EdiInterchange(
        tenant_id=tenant,
        partner_id=pid,
        direction="out",
        standard=received.standard,
        message_type=kind,
        interchange_ref=numbers["interchange"],
        group_ref=numbers.get("group"),
        message_refs=message_numbers if received.standard == "x12" else [numbers["message"]],
        inbound_document_id=document.id,
        delivery_id=delivery.id,
        attempt=1,
        ack_details={
            "answers": received.control_ref,
            "accepted": accepted,
            "file": name,
            "content": content.decode("latin-1"),
            "written": None,
        },
        created_at=now,
        updated_at=now,
    )
    session.add(row)
    session.flush()
    return row


def _answer_delivery(
    session: Session, tenant: str, partner_id: str, format_name: str, label: str, received: ReceivedFile
) -> Delivery:
    """The answer's delivery on the `edi` channel, queued in the transaction that records the answer: the
    worker sends it like any delivery (lease, retries, events), the channel picks the partner's transport."""
    delivery = enqueue_delivery(
        session,
        invoice_id=None,
        tenant_id=tenant,
        channel="edi",
        format=format_name,
        address=partner_id,
        actor="edi",
        reason=f"{label}: our answer to {received.message_type or received.standard} "
        f"{received.control_ref} from {partner_id}",
        details={"document_kind": DocumentKind.EDI_ACK.value, "answers": received.control_ref},
        next_attempt_at=tenant_settings(session, tenant).due_at("edi", utcnow()),
    )
    delivery.document_kind = DocumentKind.EDI_ACK.value
    session.add(delivery)
    session.flush()
    return delivery


# --- repeats -----------------------------------------------------------------------------------------------


def _replayed(
    session: Session, row: InboundDocument, received: ReceivedFile, tenant_id: str | None
) -> EdiReceipt:
    foreign = tenant_id is not None and row.tenant_id is not None and row.tenant_id != tenant_id
    receipt = EdiReceipt(
        inbound_id=row.id,
        kind=row.kind,
        standard=received.standard,
        message_type=received.message_type,
        interchange_ref=received.control_ref,
        duplicate=True,
        note="the same file was received before; not applied or answered again",
    )
    if foreign:
        receipt.note = "the same file was already received for another tenant; not applied"
        return receipt
    receipt.tenant_id = row.tenant_id
    receipt.status = row.response_code
    if row.note:
        receipt.note = f"{receipt.note} (first: {row.note})"
    answers = session.execute(
        select(EdiInterchange).where(col(EdiInterchange.inbound_document_id) == row.id)
    ).scalars()
    for interchange in answers:
        receipt.partner_id = interchange.partner_id
        if interchange.direction == "out":
            receipt.answer = _answer_summary(interchange)
            receipt.ack_written = (interchange.ack_details or {}).get("written")
        else:
            receipt.linked.append(
                {
                    "interchange_id": interchange.id,
                    "interchange_ref": interchange.interchange_ref,
                    "direction": "in",
                    "message_type": interchange.message_type,
                }
            )
    if row.kind == KIND_ACK:
        acked = session.execute(
            select(EdiInterchange).where(col(EdiInterchange.ack_document_id) == row.id)
        ).scalars()
        for interchange in acked:
            receipt.partner_id = interchange.partner_id
            receipt.linked.append(
                {
                    "interchange_id": interchange.id,
                    "interchange_ref": interchange.interchange_ref,
                    "ack_status": interchange.ack_status,
                    "delivery_id": interchange.delivery_id,
                }
            )
    receipt.errors = [r for r in row.reasons if isinstance(r, dict) and "reason" in r]
    return receipt


# --- overdue acknowledgements ------------------------------------------------------------------------------


def overdue_acknowledgements(session: Session, now: dt.datetime) -> list[EdiInterchange]:
    """Outbound interchanges still without any acknowledgement after their `ack_due_at`."""
    return list(
        session.execute(
            select(EdiInterchange)
            .where(
                col(EdiInterchange.direction) == "out",
                col(EdiInterchange.ack_status).is_(None),
                col(EdiInterchange.ack_due_at).is_not(None),
                col(EdiInterchange.ack_due_at) <= now,
            )
            .order_by(col(EdiInterchange.ack_due_at))
        ).scalars()
    )


def _hours(value: float) -> str:
    return f"{value:g}"


def flag_overdue(engine: Engine, now: dt.datetime | None = None, actor: str = "system") -> int:
    """Mark overdue interchanges `overdue` and move their `sent` deliveries to `deviation`; how many.

    One transaction per interchange: a delivery being worked on at the moment is left for the next call.
    """
    now = now or utcnow()
    with session_scope(engine) as session:
        ids = [row.id for row in overdue_acknowledgements(session, now)]
    flagged = 0
    for interchange_id in ids:
        try:
            with session_scope(engine) as session:
                if _flag_one(session, interchange_id, now, actor):
                    flagged += 1
        except StaleStatus:
            continue
    return flagged


def _flag_one(session: Session, interchange_id: str, now: dt.datetime, actor: str) -> bool:
    row = session.get(EdiInterchange, interchange_id)
    if row is None or row.ack_status is not None or row.ack_due_at is None:
        return False
    result = session.execute(
        update(EdiInterchange)
        .where(col(EdiInterchange.id) == interchange_id, col(EdiInterchange.ack_status).is_(None))
        .values(ack_status=OVERDUE, updated_at=now)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        return False
    partner = get_partner(session, row.tenant_id, row.partner_id)
    hours = (
        partner.ack_deadline_hours
        if partner is not None and partner.ack_deadline_hours
        else (row.ack_due_at - row.created_at).total_seconds() / 3600
    )
    reason = (
        f"no acknowledgement from {row.partner_id} within {_hours(round(hours, 2))} h "
        f"(interchange {row.interchange_ref})"
    )
    details = {
        "kind": "edi-ack-overdue",
        "interchange_id": row.id,
        "interchange_ref": row.interchange_ref,
        "ack_due_at": row.ack_due_at.isoformat(),
        "partner_id": row.partner_id,
    }
    delivery = session.get(Delivery, row.delivery_id) if row.delivery_id else None
    if delivery is None:
        return True
    current = DeliveryStatus(delivery.status)
    if current == S.SENT and (row.attempt is None or row.attempt == delivery.attempt):
        change_status(session, delivery, S.DEVIATION, actor=actor, reason=reason, details=details, now=now)
    else:
        note_event(
            session,
            delivery,
            actor=actor,
            reason=f"{reason}; the delivery is {current.value} (attempt {delivery.attempt}): not moved",
            details=details,
        )
    return True
