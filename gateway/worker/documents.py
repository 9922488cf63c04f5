"""The documents a delivery carries besides its invoice, and the documents a worker keeps as sent.

A resend with proof of delivery names stored documents (`extra_documents`): they are appended to a PDF,
embedded in EHF (BG-24 attachments), or handed to the channel as files. What a channel handed over is kept
in the document store (`store_sent_documents`), so an operator can see exactly what left.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session
from sqlmodel import col

from db.models import Delivery, InvoiceRecord, StoredDocument, new_id, utcnow
from gateway.services.outbound.documents import DocumentStore, load_document, store_document
from gateway.worker.context import WorkerContext, log
from mappings.base import RenderedDocument
from outbox.queue import Claim
from schemas.canonical import Attachment, Invoice


class StoredPayload(str):
    """An invoice's canonical JSON as stored, with the SHA-256 intake recorded for it (`payload_sha256`).

    A `str` to whatever takes the payload; the worker's rendering reads `sha256` to know whether the
    payload is still the one intake checked (`canonical_json.stored_invoice`) and need not be checked again.
    """

    sha256: str | None

    def __new__(cls, payload: str, sha256: str | None) -> StoredPayload:
        stored = super().__new__(cls, payload)
        stored.sha256 = sha256
        return stored


def load_payloads(session: Session, invoice_ids: set[str | None]) -> dict[str | None, str]:
    """Canonical JSON of the claimed deliveries' invoices, in one query (a document delivery has none)."""
    return load_payloads_and_numbers(session, invoice_ids)[0]


def load_payloads_and_numbers(
    session: Session, invoice_ids: set[str | None]
) -> tuple[dict[str | None, str], dict[str | None, str]]:
    """The claimed deliveries' invoices' canonical JSON and numbers (every log line about a delivery names
    its invoice), in one query."""
    wanted = sorted(invoice_id for invoice_id in invoice_ids if invoice_id is not None)
    if not wanted:
        return {}, {}
    rows = session.execute(
        select(
            col(InvoiceRecord.id),
            col(InvoiceRecord.payload),
            col(InvoiceRecord.number),
            col(InvoiceRecord.payload_sha256),
        ).where(col(InvoiceRecord.id).in_(wanted))
    ).all()
    return {row[0]: StoredPayload(row[1], row[3]) for row in rows}, {row[0]: row[2] for row in rows}


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
EMBEDS_ATTACHMENTS = frozenset({"ehf", "peppol-self-billing"})
#: Formats the extra documents are appended to as pages.
APPENDS_PAGES = frozenset({"pdf"})
_EXTENSIONS = {"application/pdf": "pdf", "image/jpeg": "jpg", "image/png": "png"}


def file_extension(document: ExtraDocument) -> str:
    """The extension an extra document is handed over with: by its media type, else its own name's."""
    if document.media_type in _EXTENSIONS:
        return _EXTENSIONS[document.media_type]
    suffix = document.filename.rpartition(".")[2].lower()
    return suffix if suffix.isalnum() and 0 < len(suffix) <= 8 else "bin"


def _attachment_filename(document: ExtraDocument) -> str:
    cleaned = "".join("_" if c in "/\\\x00" else c for c in document.filename).strip()
    return cleaned[-200:] or f"{document.document_id}.{file_extension(document)}"


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


def with_embedded_documents(invoice: Invoice, documents: tuple[RenderedDocument, ...]) -> Invoice:
    """`invoice` with each rendered document (the invoice as PDF, for eFaktura) as a BG-24 attachment
    embedded in base64, named by the invoice number: a channel's `embedded_formats`."""
    attachments = [
        Attachment(
            id=f"{invoice.number}-{document.format}"[:100],
            description=f"The invoice as {document.format.upper()}",
            mime_type=document.media_type,
            filename=_safe_filename(f"{invoice.number}.{document.extension}"),
            content_base64=base64.b64encode(document.content).decode("ascii"),
        )
        for document in documents
    ]
    return invoice.model_copy(update={"attachments": [*invoice.attachments, *attachments]})


def _safe_filename(name: str) -> str:
    cleaned = "".join("_" if c in "/\\\x00" else c for c in name).strip()
    return cleaned[-200:] or "invoice"


#: The `kind` of a document kept exactly as it left.
SENT_DOCUMENT_KIND = "invoice-as-sent"

_STORED = StoredDocument.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class SentDocumentRow:
    """A document already in the store, for its `stored_documents` row (`record_stored_documents`)."""

    tenant_id: str
    data: bytes
    storage_key: str
    media_type: str
    filename: str
    kind: str


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
    """`store_document`'s row for bytes already in the store (`record_stored_documents` of one)."""
    row = SentDocumentRow(tenant_id, data, storage_key, media_type, filename, kind)
    return record_stored_documents(session, [row])[0]


def record_stored_documents(session: Session, rows: Sequence[SentDocumentRow]) -> list[str]:
    """The `stored_documents` ids of documents already in the store, in the order given: the rows that
    exist are found by one read per tenant, the missing ones inserted by one executemany, and those read
    back with the rest. The worker keeps every document it hands over: the ORM path (a savepoint per
    row) cost a third of the folder channel's throughput, and a statement or two per document a grouped
    batch's outcome transaction half its time. The same bytes twice for a tenant are one row, as in
    `store_document`; a row another worker inserts meanwhile is taken, not duplicated."""
    digests = [hashlib.sha256(row.data).hexdigest() for row in rows]
    found = _stored_ids(session, rows, digests)
    missing: dict[tuple[str, str], dict[str, object]] = {}
    for row, digest in zip(rows, digests, strict=True):
        key = (row.tenant_id, digest)
        if key not in found and key not in missing:
            missing[key] = {
                "id": new_id(),
                "tenant_id": row.tenant_id,
                "sha256": digest,
                "size": len(row.data),
                "media_type": row.media_type[:100],
                "filename": row.filename[:200],
                "kind": row.kind,
                "storage_key": row.storage_key,
                "created_at": utcnow(),
            }
    if missing:
        insert = postgresql_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
        statement = (
            insert(_STORED)
            .on_conflict_do_nothing(index_elements=["tenant_id", "sha256"])
            .returning(_STORED.c.id)
        )
        inserted = set(session.execute(statement, list(missing.values())).scalars())
        found |= {key: str(values["id"]) for key, values in missing.items() if values["id"] in inserted}
        taken = {key for key in missing if key not in found}
        if taken:  # stored by another worker a moment ago: theirs are the ids
            found |= _stored_ids(session, rows, digests, only=taken)
    return [found[(row.tenant_id, digest)] for row, digest in zip(rows, digests, strict=True)]


def _stored_ids(
    session: Session,
    rows: Sequence[SentDocumentRow],
    digests: Sequence[str],
    only: set[tuple[str, str]] | None = None,
) -> dict[tuple[str, str], str]:
    """(tenant, sha256) → id of the rows already stored among these (or among `only`), one read a tenant."""
    wanted: dict[str, set[str]] = {}
    for row, digest in zip(rows, digests, strict=True):
        if only is None or (row.tenant_id, digest) in only:
            wanted.setdefault(row.tenant_id, set()).add(digest)
    found: dict[tuple[str, str], str] = {}
    for tenant_id, tenant_digests in wanted.items():
        query = select(_STORED.c.id, _STORED.c.sha256).where(
            _STORED.c.tenant_id == tenant_id, _STORED.c.sha256.in_(sorted(tenant_digests))
        )
        found.update({(tenant_id, str(digest)): str(id_) for id_, digest in session.execute(query)})
    return found


def put_sent(context: WorkerContext, delivery_id: str, content: bytes) -> str | None:
    """The bytes into the store (its key), before the outcome's transaction; None when that failed."""
    try:
        return context.document_store.put(content)
    except Exception as error:  # it has left already: losing the copy must not lose the outcome
        log.warning("worker %s: cannot keep %s as sent: %s", context.worker_id, delivery_id, error)
        return None


def store_sent(
    context: WorkerContext,
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
            kind=SENT_DOCUMENT_KIND,
        )
    try:
        stored = store_document(
            session,
            context.document_store,
            tenant_id=tenant_id,
            data=document.content,
            media_type=document.media_type,
            filename=filename,
            kind=SENT_DOCUMENT_KIND,
        )
    except OSError as error:
        log.warning("worker %s: cannot keep %s as sent: %s", context.worker_id, delivery_id, error)
        return None
    return stored.id
