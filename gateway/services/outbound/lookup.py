"""Finding an invoice, a delivery or a stored document by what a person has at hand.

People know an invoice by its number ("INV-1003"), programs by its id; both are accepted wherever an invoice
is named. An id wins over a number; a number shared by two documents (a credit note may carry the number
of the invoice it credits) is `AmbiguousReference`, listing both, never a guess. On the command line the
first characters of an id are enough, as in git, when no other id of the kind starts with them.

`tenant_id=None` looks across tenants (the operator's command line); then a candidate names its tenant.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import and_, select
from sqlalchemy.orm import Session
from sqlmodel import col

from db.models import Delivery, InvoiceRecord, StoredDocument
from gateway.services.outbound.deliveries import NotFound
from gateway.services.outbound.documents import DocumentNotFound

#: Shortest id prefix taken (as git's); ids are 32 lower-case hex digits (`db.models.new_id`).
MIN_PREFIX = 4
ID_LENGTH = 32
_PREFIX = re.compile(rf"[0-9a-f]{{{MIN_PREFIX},{ID_LENGTH - 1}}}")
#: How many candidates an ambiguity lists.
MAX_CANDIDATES = 10

Row = TypeVar("Row", InvoiceRecord, Delivery, StoredDocument)


@dataclass(frozen=True)
class Candidate:
    """One of the things a reference could mean."""

    kind: str  # invoice, credit_note, delivery, document
    id: str
    tenant_id: str
    number: str | None = None

    def describe(self) -> str:
        number = f" {self.number}" if self.number else ""
        return f"{self.kind}{number} {self.id} (tenant {self.tenant_id})"

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "id": self.id, "number": self.number}


class AmbiguousReference(Exception):
    """A number or id prefix that names more than one thing; `candidates` lists them (409, exit 2)."""

    def __init__(self, reference: str, candidates: list[Candidate], *, field: str) -> None:
        listed = "; ".join(candidate.describe() for candidate in candidates[:MAX_CANDIDATES])
        more = " …" if len(candidates) > MAX_CANDIDATES else ""
        super().__init__(f"{reference!r} names {len(candidates)} documents: {listed}{more}; give the id")
        self.reference = reference
        self.candidates = candidates[:MAX_CANDIDATES]
        self.field = field


def _invoice_candidate(record: InvoiceRecord) -> Candidate:
    return Candidate(record.document_type, record.id, record.tenant_id, record.number)


def _visible(row: InvoiceRecord | Delivery | StoredDocument | None, tenant_id: str | None) -> bool:
    return row is not None and (tenant_id is None or row.tenant_id == tenant_id)


def _by_prefix(session: Session, table: type[Row], tenant_id: str | None, prefix: str) -> list[Row]:
    """Rows whose id starts with `prefix` (at most one more than a listing shows), by an index range."""
    if not _PREFIX.fullmatch(prefix):
        return []
    id_column = col(table.id)
    padding = ID_LENGTH - len(prefix)
    query = select(table).where(
        and_(
            id_column >= prefix + "0" * padding,
            id_column <= prefix + "f" * padding,
            id_column.startswith(prefix),
        )
    )
    if tenant_id is not None:
        query = query.where(col(table.tenant_id) == tenant_id)
    return list(session.execute(query.order_by(id_column).limit(MAX_CANDIDATES + 1)).scalars())


def _one(reference: str, found: list[Row], describe: Callable[[Row], Candidate], field: str) -> Row | None:
    if len(found) > 1:
        raise AmbiguousReference(reference, [describe(row) for row in found], field=field)
    return found[0] if found else None


def find_invoice(
    session: Session,
    tenant_id: str | None,
    reference: str,
    *,
    prefix: bool = False,
    field: str = "invoice_id",
) -> InvoiceRecord:
    """The invoice or credit note `reference` names: its id, its number, or (with `prefix`) an id's start.

    `NotFound` when nothing matches for the tenant; `AmbiguousReference` (naming `field`) when a number or
    prefix matches several.
    """
    record = session.get(InvoiceRecord, reference)
    if record is not None and _visible(record, tenant_id):
        return record
    by_number = select(InvoiceRecord).where(col(InvoiceRecord.number) == reference)
    if tenant_id is not None:
        by_number = by_number.where(col(InvoiceRecord.tenant_id) == tenant_id)
    numbered = list(session.execute(by_number.order_by(col(InvoiceRecord.id))).scalars())
    found = _one(reference, numbered, _invoice_candidate, field)
    if found is None and prefix:
        found = _one(
            reference,
            _by_prefix(session, InvoiceRecord, tenant_id, reference.lower()),
            _invoice_candidate,
            field,
        )
    if found is None:
        raise NotFound(f"invoice {reference} not found")
    return found


@dataclass(frozen=True)
class DeliveryOrInvoice:
    """What a command that takes "a delivery or an invoice" was given: `delivery` when it named one."""

    invoice_id: str | None  # None for a delivery of a document that is no invoice (an EDI acknowledgement)
    tenant_id: str
    delivery: Delivery | None = None


def find_delivery_or_invoice(
    session: Session, tenant_id: str | None, reference: str, *, prefix: bool = False
) -> DeliveryOrInvoice:
    """A delivery by its id, else an invoice by its id or number, else (with `prefix`) the one delivery or
    invoice whose id starts so. `NotFound` or `AmbiguousReference` (naming `id`) otherwise."""
    delivery = session.get(Delivery, reference)
    if delivery is not None and _visible(delivery, tenant_id):
        return DeliveryOrInvoice(delivery.invoice_id, delivery.tenant_id, delivery)
    try:
        record = find_invoice(session, tenant_id, reference, field="id")
        return DeliveryOrInvoice(record.id, record.tenant_id)
    except NotFound:
        if not prefix:
            raise
    key = reference.lower()
    deliveries = _by_prefix(session, Delivery, tenant_id, key)
    invoices = _by_prefix(session, InvoiceRecord, tenant_id, key)
    candidates = [Candidate("delivery", d.id, d.tenant_id) for d in deliveries]
    candidates += [_invoice_candidate(record) for record in invoices]
    if len(candidates) > 1:
        raise AmbiguousReference(reference, candidates, field="id")
    if deliveries:
        return DeliveryOrInvoice(deliveries[0].invoice_id, deliveries[0].tenant_id, deliveries[0])
    if invoices:
        return DeliveryOrInvoice(invoices[0].id, invoices[0].tenant_id)
    raise NotFound(f"no delivery or invoice {reference}")


def named_or_latest_delivery(session: Session, found: DeliveryOrInvoice) -> Delivery:
    """The delivery named, or the named invoice's most recent one (what "resend this invoice" sends)."""
    if found.delivery is not None:
        return found.delivery
    latest = session.execute(
        select(Delivery)
        .where(col(Delivery.invoice_id) == found.invoice_id)
        .order_by(col(Delivery.created_at).desc(), col(Delivery.id).desc())
        .limit(1)
    ).scalar_one_or_none()
    if latest is None:
        raise NotFound(f"invoice {found.invoice_id} has no delivery")
    return latest


def find_document(
    session: Session, tenant_id: str | None, reference: str, *, prefix: bool = False
) -> StoredDocument:
    """A stored document by its id or (with `prefix`) an id's start; `DocumentNotFound` otherwise."""
    document = session.get(StoredDocument, reference)
    if document is not None and _visible(document, tenant_id):
        return document
    if prefix:
        found = _one(
            reference,
            _by_prefix(session, StoredDocument, tenant_id, reference.lower()),
            lambda row: Candidate("document", row.id, row.tenant_id, row.filename),
            "id",
        )
        if found is not None:
            return found
    raise DocumentNotFound(f"no document {reference}")
