"""Proofs of delivery: take in signed documents, photos and transport statuses; link them to invoices.

Everything a file can be refused for is checked before anything is kept (type by its bytes, size, image
dimensions read from the header, the PDF's page count, the file name, the metadata), so a refusal leaves no
row and no stored file. Then the bytes go to the document store and the POD is linked to every invoice of
the tenant that one of its references names: invoice number, order number (BT-13), delivery note or shipment
id (BT-16, the despatch advice). A POD nothing matches waits unlinked with up to three suggestions, each
saying why.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import difflib
import hashlib
import io
import json
import logging
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlmodel import col

from db.engine import session_scope
from db.models import InvoiceRecord, PodLink, ProofOfDelivery, StoredDocument
from gateway.services.downloads import filename_problem
from gateway.services.moments import as_utc
from gateway.services.outbound.documents import DocumentStore, store_document
from gateway.services.parsed import Parsed
from gateway.services.tenancy.tenants import ensure_tenant
from mappings.base import FormatError, restore_error
from mappings.print.printability import quiet_pypdf
from mappings.status import iftsta, pod_files, x12_214
from mappings.status.transport_status import REFERENCE_KINDS, TransportStatus
from transports.drop_folder import (
    DropFolder,
    DroppedFile,
    Kept,
    take_waiting_files,
)

MAX_POD_BYTES = 20_000_000
#: The declared types a POD may come as (the bytes decide what it is; a declared type must agree).
POD_CONTENT_TYPES = frozenset(
    {"application/pdf", "image/jpeg", "image/png", "application/edifact", "application/edi-x12"}
)
MAX_IMAGE_PIXELS = 60_000_000
MAX_PDF_PAGES = 50
MAX_NAME_LENGTH = 200
MAX_REFERENCES_PER_KIND = 20
_SUGGESTION_CANDIDATES = 500
_MATCH_CANDIDATES = 1000

#: how each reference kind is found on an invoice, and what the link says it was linked by
_LINKED_BY = {
    "invoice_numbers": "invoice_number",
    "order_numbers": "order_number",
    "delivery_notes": "delivery_note",
    "shipment_ids": "shipment_id",
}
_INVOICE_FIELD = {
    "order_numbers": "order_reference",
    "delivery_notes": "despatch_advice_reference",
    "shipment_ids": "despatch_advice_reference",
}
_LABELS = {
    "invoice_numbers": "invoice number",
    "order_numbers": "order number",
    "delivery_notes": "delivery note",
    "shipment_ids": "shipment id",
    "number": "invoice number",
    "order_reference": "order reference",
    "despatch_advice_reference": "delivery note",
}


class PodRefused(ValueError):
    """A POD that is not taken: `field` names what is wrong; `status` is the HTTP status it maps to."""

    def __init__(self, field: str, reason: str, status: int = 422) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason
        self.status = status

    def as_dict(self) -> dict[str, Any]:
        return {"field": self.field, "reason": self.reason}

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickled whole (class, message, field, reason, status): it crosses back from the parse pool."""
        return restore_error, (type(self), self.args, dict(self.__dict__))


class NotFound(LookupError):
    pass


@dataclass
class PodReceipt:
    """What one received file became: its PODs (with links and suggestions); `duplicate` for a repeat."""

    duplicate: bool
    pods: list[dict[str, Any]]
    #: what the sender should hear about a transport status file: an interchange refused on its own (its
    #: shipments not taken), one read with tolerance; read from the file each time (a repeat says it too)
    warnings: list[str] = field(default_factory=list)

    @property
    def pod_ids(self) -> list[str]:
        return [p["id"] for p in self.pods]

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"duplicate": self.duplicate, "pods": self.pods}
        if self.warnings:
            data["warnings"] = list(self.warnings)
        return data


@dataclass
class Examined:
    kind: str
    media_type: str
    extension: str
    transport: TransportStatus | None = None
    details: dict[str, Any] = field(default_factory=dict)


# ----------------------------------------------------------------------------------------------------------
# Checks before anything is kept


def check_filename(name: str, what: str = "filename") -> str:
    """The name as given, or `PodRefused`: never cleaned silently (a path in a name is a mistake or an
    attack, and the sender should hear which)."""
    problem = filename_problem(name, MAX_NAME_LENGTH)
    if problem is not None:
        raise PodRefused(what, problem)
    return name


def _check_text(value: str | None, what: str) -> str | None:
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    if len(value) > MAX_NAME_LENGTH:
        raise PodRefused(what, f"{len(value)} characters; at most {MAX_NAME_LENGTH}")
    if any(unicodedata.category(c) == "Cc" for c in value):
        raise PodRefused(what, "contains control characters")
    return value


def clean_references(references: Mapping[str, Sequence[str]] | None) -> dict[str, list[str]]:
    """References by kind (order_numbers, delivery_notes, shipment_ids, invoice_numbers), de-duplicated."""
    out: dict[str, list[str]] = {}
    for kind, values in (references or {}).items():
        if kind not in REFERENCE_KINDS:
            raise PodRefused(f"references.{kind}", f"unknown kind; use one of {list(REFERENCE_KINDS)}")
        if isinstance(values, str) or not isinstance(values, Sequence):
            raise PodRefused(f"references.{kind}", "expected a list of strings")
        if len(values) > MAX_REFERENCES_PER_KIND:
            raise PodRefused(f"references.{kind}", f"{len(values)} values; at most {MAX_REFERENCES_PER_KIND}")
        for index, value in enumerate(values):
            if not isinstance(value, str):
                raise PodRefused(f"references.{kind}[{index}]", "expected a string")
            text = _check_text(value, f"references.{kind}[{index}]")
            if text and text not in out.setdefault(kind, []):
                out[kind].append(text)
    return {kind: values for kind, values in out.items() if values}


def parse_signed_at(value: str | None, what: str = "signed_at") -> dt.datetime | None:
    """ISO 8601 date or date and time; without a zone it is read as UTC."""
    if value is None or not value.strip():
        return None
    try:
        parsed = dt.datetime.fromisoformat(value.strip())
    except ValueError:
        raise PodRefused(what, f"{value!r} is not an ISO 8601 date or date and time") from None
    try:
        return as_utc(parsed)
    except ValueError as error:
        raise PodRefused(what, f"{value!r} is {error}") from None


def _check_image(kind: str, data: bytes) -> dict[str, Any]:
    try:
        width, height = pod_files.image_size(kind, data)
    except FormatError as error:
        raise PodRefused(error.where, error.reason) from None
    if width == 0 or height == 0:
        raise PodRefused("content", f"the {kind.upper()} header says {width}×{height} pixels")
    if width * height > MAX_IMAGE_PIXELS:
        raise PodRefused(
            "content",
            f"the {kind.upper()} is {width}×{height} = {width * height:,} pixels; at most "
            f"{MAX_IMAGE_PIXELS:,} (a decompression bomb or an oversized scan)",
        )
    return {"width": width, "height": height}


def _check_pdf(data: bytes) -> dict[str, Any]:
    from pypdf import PdfReader

    with quiet_pypdf():
        try:
            reader = PdfReader(io.BytesIO(data), strict=False)
            if reader.is_encrypted:
                raise PodRefused("content", "the PDF is encrypted; it could not be sent on with the invoice")
            pages = len(reader.pages)
        except PodRefused:
            raise
        except Exception as error:
            raise PodRefused("content", f"not a readable PDF ({type(error).__name__})") from None
    if pages == 0:
        raise PodRefused("content", "the PDF has no pages")
    if pages > MAX_PDF_PAGES:
        raise PodRefused("content", f"the PDF has {pages} pages; at most {MAX_PDF_PAGES}")
    return {"pages": pages}


def examine(data: bytes, *, media_type_hint: str | None = None, max_bytes: int = MAX_POD_BYTES) -> Examined:
    """What the bytes are, or `PodRefused` (413 too large, 415 not a POD type, 422 a broken one)."""
    if len(data) > max_bytes:
        raise PodRefused("content", f"{len(data):,} bytes; at most {max_bytes:,}", status=413)
    kind = pod_files.kind_of(data)
    if kind is None:
        raise PodRefused(
            "content",
            f"the file is {pod_files.looks_like(data)}; a proof of delivery must be a PDF, a JPEG or PNG "
            "photo, an EDIFACT IFTSTA or an X12 214",
            status=415,
        )
    media_type, extension = pod_files.MEDIA_TYPES[kind]
    hint = (media_type_hint or "").split(";")[0].strip().lower()
    if hint and hint != "application/octet-stream" and hint != media_type.lower():
        raise PodRefused(
            "content_type", f"the body is {kind.upper()} ({media_type}), not {hint} as declared", status=415
        )
    result = Examined(kind, media_type, extension)
    if kind in {"png", "jpeg"}:
        result.details = _check_image(kind, data)
    elif kind == "pdf":
        result.details = _check_pdf(data)
    else:
        try:
            result.transport = iftsta.parse(data) if kind == "iftsta" else x12_214.parse(data)
        except FormatError as error:
            raise PodRefused("content", f"{kind}: {error.where}: {error.reason}") from None
        if not any(s.delivered for s in result.transport.shipments):
            statuses = sorted({s.status for s in result.transport.shipments})
            warnings = result.transport.warnings
            refused = "".join(f"; {warning}" for warning in warnings if " refused, " in warning)
            raise PodRefused(
                "content", f"the {kind} reports no delivered shipment (statuses: {statuses}){refused}"
            )
    return result


# ----------------------------------------------------------------------------------------------------------
# Receiving


def _pod_digest(digest: str, index: int) -> str:
    """A transport status with several delivered shipments is one file and several PODs."""
    return digest if index == 0 else hashlib.sha256(f"{digest}#{index}".encode()).hexdigest()


def _first_receipt(session: Session, tenant_id: str, digest: str) -> list[ProofOfDelivery]:
    first = session.execute(
        select(ProofOfDelivery).where(
            col(ProofOfDelivery.tenant_id) == tenant_id, col(ProofOfDelivery.payload_sha256) == digest
        )
    ).scalar_one_or_none()
    if first is None:
        return []
    if first.document_id is None:  # pragma: no cover - every POD keeps its file
        return [first]
    siblings = session.execute(
        select(ProofOfDelivery)
        .where(col(ProofOfDelivery.tenant_id) == tenant_id)
        .where(col(ProofOfDelivery.document_id) == first.document_id)
        .order_by(col(ProofOfDelivery.received_at), col(ProofOfDelivery.id))
    ).scalars()
    return [first] + [p for p in siblings if p.id != first.id]


def receive_pod(
    engine: Engine,
    store: DocumentStore,
    *,
    tenant_id: str,
    data: bytes,
    filename: str | None = None,
    media_type_hint: str | None = None,
    signer_name: str | None = None,
    signed_at: dt.datetime | None = None,
    place: str | None = None,
    references: Mapping[str, Sequence[str]] | None = None,
    source: str = "api",
    actor: str,
    max_bytes: int = MAX_POD_BYTES,
    examined: Parsed[Examined] | None = None,
) -> PodReceipt:
    """Check, keep and link one proof of delivery; the same bytes again answer with the first receipt.

    `examined`: `examine(data, media_type_hint=…, max_bytes=…)` already done (in the API's parse pool) —
    its refusal is raised where examining here would raise it; None examines the file here.
    """
    if filename is not None:
        check_filename(filename)
    signer_name = _check_text(signer_name, "signer_name")
    place = _check_text(place, "place")
    refs = clean_references(references)
    if signed_at is not None and signed_at.tzinfo is None:
        signed_at = signed_at.replace(tzinfo=dt.UTC)
    if examined is not None:
        pod_file = examined.get()
    else:
        pod_file = examine(data, media_type_hint=media_type_hint, max_bytes=max_bytes)
    digest = hashlib.sha256(data).hexdigest()
    name = filename or f"pod-{digest[:12]}.{pod_file.extension}"
    warnings = list(pod_file.transport.warnings) if pod_file.transport is not None else []

    def pods_to_make() -> list[ProofOfDelivery]:
        if pod_file.transport is None:
            return [
                ProofOfDelivery(
                    tenant_id=tenant_id, source=source, kind=pod_file.kind, payload_sha256=digest,
                    filename=name, signer_name=signer_name, signed_at=signed_at, place=place,
                    status="signed" if signer_name else None, references=refs,
                )
            ]  # fmt: skip
        delivered = [s for s in pod_file.transport.shipments if s.delivered]
        return [
            ProofOfDelivery(
                tenant_id=tenant_id, source=pod_file.transport.format, kind="transport-status",
                payload_sha256=_pod_digest(digest, index), filename=name,
                signer_name=_clip(shipment.signer) or signer_name, signed_at=shipment.at or signed_at,
                place=_clip(shipment.place) or place,
                status=shipment.status, references=_merge_references(shipment.references, refs),
            )
            for index, shipment in enumerate(delivered)
        ]  # fmt: skip

    for _ in range(3):
        try:
            with session_scope(engine) as session:
                first = _first_receipt(session, tenant_id, digest)
                if first:
                    return PodReceipt(True, [pod_view(session, p) for p in first], warnings)
                ensure_tenant(session, tenant_id)
                document = store_document(
                    session, store, tenant_id=tenant_id, data=data, media_type=pod_file.media_type,
                    filename=name, kind="pod",
                )  # fmt: skip
                pods = pods_to_make()
                for pod in pods:
                    pod.document_id = document.id
                    session.add(pod)
                session.flush()
                for pod in pods:
                    _auto_link(session, pod, actor)
                session.flush()
                return PodReceipt(False, [pod_view(session, p) for p in pods], warnings)
        except IntegrityError:  # the same bytes received at the same moment: answer with that receipt
            continue
    with session_scope(engine) as session:  # pragma: no cover - three lost races in a row
        first = _first_receipt(session, tenant_id, digest)
        if not first:
            raise RuntimeError("the proof of delivery could not be stored after three tries")
        return PodReceipt(True, [pod_view(session, p) for p in first], warnings)


def _clip(text: str | None) -> str | None:
    return text[:MAX_NAME_LENGTH] if text else None


def _merge_references(*sources: Mapping[str, Sequence[str]]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for source in sources:
        for kind, values in source.items():
            for value in values:
                if value not in out.setdefault(kind, []):
                    out[kind].append(value)
    return out


# ----------------------------------------------------------------------------------------------------------
# Linking


def _like_pattern(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _payload(invoice: InvoiceRecord) -> dict[str, Any]:
    try:
        data = json.loads(invoice.payload)
    except ValueError:  # pragma: no cover - the intake stores JSON
        return {}
    return data if isinstance(data, dict) else {}


def _same(a: Any, b: str) -> bool:
    return isinstance(a, str) and a.strip().casefold() == b.strip().casefold()


def invoices_matching(session: Session, tenant_id: str, kind: str, value: str) -> list[InvoiceRecord]:
    """The tenant's invoices a reference of `kind` names (exact, case-insensitive)."""
    base = select(InvoiceRecord).where(col(InvoiceRecord.tenant_id) == tenant_id)
    if kind == "invoice_numbers":
        rows = session.execute(base.where(col(InvoiceRecord.number).ilike(_like_pattern(value), escape="\\")))
        return [r for r in rows.scalars() if _same(r.number, value)]
    field_name = _INVOICE_FIELD[kind]
    rows = session.execute(
        base.where(col(InvoiceRecord.payload).ilike(_like_pattern(value), escape="\\"))
        .order_by(col(InvoiceRecord.created_at).desc())
        .limit(_MATCH_CANDIDATES)
    )
    return [r for r in rows.scalars() if _same(_payload(r).get(field_name), value)]


def _auto_link(session: Session, pod: ProofOfDelivery, actor: str) -> None:
    matches: dict[str, str] = {}
    for kind in REFERENCE_KINDS:
        for value in pod.references.get(kind, []):
            for invoice in invoices_matching(session, pod.tenant_id, kind, value):
                matches.setdefault(invoice.id, _LINKED_BY[kind])
    for invoice_id, linked_by in matches.items():
        session.add(PodLink(pod_id=pod.id, invoice_id=invoice_id, linked_by=linked_by, actor=actor))
    pod.linked = bool(matches)
    pod.suggestions = [] if matches else suggest_invoices(session, pod)


def suggest_invoices(session: Session, pod: ProofOfDelivery, limit: int = 3) -> list[dict[str, Any]]:
    """Up to `limit` of the tenant's recent invoices that look like what the POD names, each with why: a
    reference alike to an invoice number, order reference or delivery note (difflib ratio ≥ 0.6), and an
    invoice issued on the day of delivery."""
    values = [(kind, v) for kind in REFERENCE_KINDS for v in pod.references.get(kind, [])]
    day = pod.signed_at.date() if pod.signed_at else None
    if not values and day is None:
        return []
    invoices = session.execute(
        select(InvoiceRecord)
        .where(col(InvoiceRecord.tenant_id) == pod.tenant_id)
        .order_by(col(InvoiceRecord.created_at).desc())
        .limit(_SUGGESTION_CANDIDATES)
    ).scalars()
    scored: list[tuple[float, int, dict[str, Any]]] = []
    for position, invoice in enumerate(invoices):
        payload = _payload(invoice)
        targets = {"number": invoice.number}
        for name in ("order_reference", "despatch_advice_reference"):
            if isinstance(payload.get(name), str):
                targets[name] = payload[name]
        best, why = 0.0, []
        for kind, value in values:
            for name, target in targets.items():
                ratio = difflib.SequenceMatcher(None, value.casefold(), target.casefold()).ratio()
                if ratio > best:
                    best = ratio
                    why = [f"{_LABELS[kind]} {value!r} is {ratio:.0%} alike the {_LABELS[name]} {target!r}"]
        score = best if best >= 0.6 else 0.0
        if not score:
            why = []
        if day is not None and invoice.issue_date == day:
            score += 0.1
            why.append(f"issued on the day of delivery ({day.isoformat()})")
        if score > 0:
            entry = {"invoice_id": invoice.id, "number": invoice.number, "score": round(score, 2), "why": why}
            scored.append((score, position, entry))
    scored.sort(key=lambda item: (-item[0], item[1]))
    return [entry for _, _, entry in scored[:limit]]


def get_pod(session: Session, tenant_id: str, pod_id: str) -> ProofOfDelivery:
    pod = session.get(ProofOfDelivery, pod_id)
    if pod is None or pod.tenant_id != tenant_id:
        raise NotFound(f"no proof of delivery {pod_id}")
    return pod


def link_pod(session: Session, tenant_id: str, pod_id: str, invoice_id: str, actor: str) -> PodLink:
    """An operator links a POD to an invoice (a link that exists already is answered as it is)."""
    pod = get_pod(session, tenant_id, pod_id)
    invoice = session.get(InvoiceRecord, invoice_id)
    if invoice is None or invoice.tenant_id != tenant_id:
        raise NotFound(f"no invoice {invoice_id}")
    existing = session.get(PodLink, (pod.id, invoice.id))
    if existing is not None:
        return existing
    link = PodLink(pod_id=pod.id, invoice_id=invoice.id, linked_by="operator", actor=actor)
    session.add(link)
    pod.linked = True
    session.flush()
    return link


def unlink_pod(session: Session, tenant_id: str, pod_id: str, invoice_id: str, actor: str) -> None:
    """Remove a link; a POD left with none waits in the unlinked queue again, with fresh suggestions."""
    pod = get_pod(session, tenant_id, pod_id)
    link = session.get(PodLink, (pod.id, invoice_id))
    if link is None:
        raise NotFound(f"proof of delivery {pod_id} is not linked to invoice {invoice_id}")
    session.delete(link)
    session.flush()
    remaining = session.execute(select(PodLink).where(col(PodLink.pod_id) == pod.id).limit(1)).first()
    if remaining is None:
        pod.linked = False
        pod.suggestions = suggest_invoices(session, pod)
    logging.getLogger(__name__).info("pod %s unlinked from invoice %s by %s", pod.id, invoice_id, actor)


def list_pods(
    session: Session, tenant_id: str, linked: bool | None = None, *, limit: int = 100, offset: int = 0
) -> list[ProofOfDelivery]:
    """The tenant's PODs, newest first; `linked=False` is the queue waiting for an operator."""
    query = select(ProofOfDelivery).where(col(ProofOfDelivery.tenant_id) == tenant_id)
    if linked is not None:
        query = query.where(col(ProofOfDelivery.linked) == linked)
    query = query.order_by(col(ProofOfDelivery.received_at).desc(), col(ProofOfDelivery.id))
    return list(session.execute(query.limit(limit).offset(offset)).scalars())


def pods_for_invoice(session: Session, tenant_id: str, invoice_id: str) -> list[ProofOfDelivery]:
    """The PODs linked to an invoice, newest first."""
    query = (
        select(ProofOfDelivery)
        .join(PodLink, col(PodLink.pod_id) == col(ProofOfDelivery.id))
        .where(col(PodLink.invoice_id) == invoice_id, col(ProofOfDelivery.tenant_id) == tenant_id)
        .order_by(col(ProofOfDelivery.received_at).desc(), col(ProofOfDelivery.id))
    )
    return list(session.execute(query).scalars())


def pod_summary(pod: ProofOfDelivery) -> dict[str, Any]:
    return {
        "id": pod.id,
        "kind": pod.kind,
        "source": pod.source,
        "filename": pod.filename,
        "document_id": pod.document_id,
        "signer_name": pod.signer_name,
        "signed_at": pod.signed_at.astimezone(dt.UTC).isoformat() if pod.signed_at else None,
        "place": pod.place,
        "status": pod.status,
        "references": pod.references,
        "linked": pod.linked,
        "received_at": pod.received_at.astimezone(dt.UTC).isoformat(),
    }


def pod_view(session: Session, pod: ProofOfDelivery) -> dict[str, Any]:
    """A POD with its links (invoice, by what, who, when), suggestions and stored file."""
    links = session.execute(
        select(PodLink, InvoiceRecord.number)  # type: ignore[call-overload]
        .join(InvoiceRecord, col(InvoiceRecord.id) == col(PodLink.invoice_id))
        .where(col(PodLink.pod_id) == pod.id)
        .order_by(col(PodLink.linked_at))
    ).all()
    document = session.get(StoredDocument, pod.document_id) if pod.document_id else None
    view = pod_summary(pod)
    view["links"] = [
        {"invoice_id": link.invoice_id, "number": number, "linked_by": link.linked_by, "actor": link.actor,
         "linked_at": link.linked_at.isoformat()}
        for link, number in links
    ]  # fmt: skip
    view["suggestions"] = [] if pod.linked else pod.suggestions
    view["document"] = (
        {"id": document.id, "sha256": document.sha256, "size": document.size,
         "media_type": document.media_type, "filename": document.filename}
        if document else None
    )  # fmt: skip
    return view


# ----------------------------------------------------------------------------------------------------------
# A folder drop


_FILENAME_KINDS = {
    "order": "order_numbers",
    "note": "delivery_notes",
    "shipment": "shipment_ids",
    "invoice": "invoice_numbers",
}


@dataclass
class FolderItem:
    """One file of a folder drop: `outcome` created, duplicate or rejected, and where it went."""

    file: str
    outcome: str
    pod_ids: list[str] = field(default_factory=list)
    reason: str | None = None
    moved_to: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def references_from_filename(name: str) -> dict[str, list[str]]:
    """`POD_<kind>_<reference>[_...].<ext>` with kind order | note | shipment | invoice; else nothing."""
    stem = name.rsplit(".", 1)[0]
    parts = stem.split("_")
    if len(parts) < 3 or parts[0].upper() != "POD" or parts[1].lower() not in _FILENAME_KINDS or not parts[2]:
        return {}
    return {_FILENAME_KINDS[parts[1].lower()]: [parts[2]]}


def _sidecar_text(name: str, text: str) -> dict[str, Any]:
    path = Path(name)
    try:
        data = json.loads(text)
    except ValueError as error:
        raise PodRefused(path.name, f"the sidecar is not readable JSON ({error})") from None
    if not isinstance(data, dict):
        raise PodRefused(path.name, "the sidecar must be a JSON object")
    unknown = set(data) - {"signer_name", "signed_at", "place", "references"}
    if unknown:
        raise PodRefused(f"{path.name}: {sorted(unknown)[0]}", "unknown sidecar field")
    for key in ("signer_name", "signed_at", "place"):
        if data.get(key) is not None and not isinstance(data[key], str):
            raise PodRefused(f"{path.name}: {key}", "expected a string")
    if data.get("references") is not None and not isinstance(data["references"], dict):
        raise PodRefused(f"{path.name}: references", "expected an object of lists")
    return data


def receive_pod_drop(
    engine: Engine,
    store: DocumentStore,
    folder: DropFolder,
    tenant_id: str,
    actor: str,
    *,
    max_bytes: int = MAX_POD_BYTES,
) -> list[FolderItem]:
    """Take in every file waiting in a drop folder (local or SFTP: `transports.drop_folder`), with its
    `<file>.json` sidecar or the file-name convention. Each goes to `done/`, or to `rejected/` with a
    `<file>.reason.txt`, only after it has been stored, so a crash or a dropped connection means it is read
    again next time and answered as a duplicate, never lost. The POD's source is the folder's transport."""

    def keep(file: DroppedFile) -> Kept[PodReceipt]:
        try:
            meta = _sidecar_of(file)
            references = _merge_references(
                clean_references(meta.get("references")), references_from_filename(file.name)
            )
            receipt = receive_pod(
                engine, store, tenant_id=tenant_id, data=file.read(), filename=file.name,
                signer_name=meta.get("signer_name"), signed_at=parse_signed_at(meta.get("signed_at")),
                place=meta.get("place"), references=references, source=folder.transport, actor=actor,
                max_bytes=max_bytes,
            )  # fmt: skip
        except PodRefused as error:
            return Kept(refused=f"{error.field}: {error.reason}")
        return Kept(receipt)

    items: list[FolderItem] = []
    for taken in take_waiting_files(folder, keep, max_bytes=max_bytes, companion_suffix=".json"):
        if taken.result is None:
            items.append(FolderItem(taken.name, "rejected", reason=taken.refused, moved_to=taken.moved_to))
            continue
        outcome = "duplicate" if taken.result.duplicate else "created"
        items.append(FolderItem(taken.name, outcome, pod_ids=taken.result.pod_ids, moved_to=taken.moved_to))
    return items


def _sidecar_of(file: DroppedFile) -> dict[str, Any]:
    raw = file.read_companion()
    if raw is None or file.companion is None:
        return {}
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise PodRefused(file.companion, f"the sidecar is not readable JSON ({error})") from None
    return _sidecar_text(file.companion, text)
