"""Invoice intake: validate, de-duplicate, route, and write invoice + first delivery + event at once.

A repeat of an accepted invoice (same `Idempotency-Key`, or no key and the same document number) returns
the first result; the same key or number with different content is a conflict, never a second invoice.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from sqlalchemy import Engine, insert, or_, select, tuple_
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from db.engine import session_scope
from db.models import Delivery, DeliveryEvent, InvoiceRecord, new_id, utcnow
from gateway.services.outbound.routing import RoutingError, load_profiles, route_for
from gateway.services.tenancy.tenants import tenant_settings
from mappings.invoice.canonical_json import InvoiceValidationError, invoice_from_data
from outbox.states import DeliveryStatus
from schemas.canonical import DocumentType, Invoice, PaymentMeans
from schemas.kid import KidAgreement, KidError

Outcome = Literal["created", "duplicate", "conflict", "rejected"]
HTTP_STATUS: dict[Outcome, int] = {"created": 201, "duplicate": 200, "conflict": 409, "rejected": 422}


@dataclass
class IntakeItem:
    """One invoice offered for intake: the raw JSON value and an optional idempotency key."""

    data: Any
    idempotency_key: str | None = None


@dataclass
class IntakeResult:
    index: int
    outcome: Outcome
    invoice_id: str | None = None
    number: str | None = None
    delivery_ids: list[str] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)
    payment_reference: str | None = None

    @property
    def http_status(self) -> int:
        return HTTP_STATUS[self.outcome]

    def as_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"index": self.index, "outcome": self.outcome, "status": self.http_status}
        if self.invoice_id:
            body["invoice_id"] = self.invoice_id
        if self.number:
            body["number"] = self.number
        if self.delivery_ids:
            body["delivery_ids"] = self.delivery_ids
        if self.payment_reference:
            body["payment_reference"] = self.payment_reference
        if self.errors:
            body["errors"] = self.errors
        return body


@dataclass
class _Candidate:
    index: int
    invoice: Invoice
    key: str
    digest: str


def payload_digest(invoice: Invoice) -> str:
    """Digest of the invoice's content, independent of JSON formatting and key order."""
    return hashlib.sha256(invoice.model_dump_json(exclude_none=True).encode()).hexdigest()


def default_key(invoice: Invoice) -> str:
    return f"number:{invoice.document_type.value}:{invoice.number}"


def accept_invoices(
    engine: Engine,
    tenant_id: str,
    items: Sequence[IntakeItem],
    *,
    actor: str,
    default_channel: str,
) -> list[IntakeResult]:
    """Validate and store `items` for `tenant_id`; one result per item, in order."""
    results: list[IntakeResult | None] = [None] * len(items)
    candidates: list[_Candidate] = []
    for index, item in enumerate(items):
        try:
            invoice = invoice_from_data(item.data)
        except InvoiceValidationError as error:
            results[index] = IntakeResult(index, "rejected", errors=error.errors)
            continue
        key = item.idempotency_key or default_key(invoice)
        candidates.append(_Candidate(index, invoice, key, payload_digest(invoice)))
    for _ in range(3):
        try:
            with session_scope(engine) as session:
                for result in _store(
                    session, tenant_id, candidates, actor=actor, default_channel=default_channel
                ):
                    results[result.index] = result
            break
        except IntegrityError:
            # A concurrent request stored one of these keys first; the next pass finds it as existing.
            continue
    else:  # pragma: no cover - three lost races in a row
        raise RuntimeError("intake could not settle concurrent duplicates")
    return [result for result in results if result is not None]


def _store(
    session: Session, tenant_id: str, candidates: list[_Candidate], *, actor: str, default_channel: str
) -> list[IntakeResult]:
    results: list[IntakeResult] = []
    if not candidates:
        return results
    table = InvoiceRecord.__table__  # type: ignore[attr-defined]
    existing_by_key: dict[str, tuple[str, str, str]] = {}
    existing_by_number: dict[tuple[str, str], tuple[str, str, str]] = {}
    for chunk_start in range(0, len(candidates), 400):
        chunk = candidates[chunk_start : chunk_start + 400]
        chunk_keys = [c.key for c in chunk]
        chunk_numbers = [(c.invoice.document_type.value, c.invoice.number) for c in chunk]
        rows = session.execute(
            select(
                table.c.id,
                table.c.idempotency_key,
                table.c.payload_sha256,
                table.c.document_type,
                table.c.number,
            ).where(
                table.c.tenant_id == tenant_id,
                or_(
                    table.c.idempotency_key.in_(chunk_keys),
                    tuple_(table.c.document_type, table.c.number).in_(chunk_numbers),
                ),
            )
        )
        for row in rows:
            existing_by_key[row.idempotency_key] = (row.id, row.payload_sha256, row.number)
            existing_by_number[(row.document_type, row.number)] = (row.id, row.payload_sha256, row.number)

    receiver_ids = {
        c.invoice.routing.receiver_id
        for c in candidates
        if c.invoice.routing and c.invoice.routing.receiver_id
    }
    profiles = load_profiles(session, tenant_id, receiver_ids)
    delivery_settings = tenant_settings(session, tenant_id)
    now = utcnow()
    invoice_rows: list[dict[str, Any]] = []
    delivery_rows: list[dict[str, Any]] = []
    event_rows: list[dict[str, Any]] = []
    for candidate in candidates:
        invoice = candidate.invoice
        number_key = (invoice.document_type.value, invoice.number)
        seen = existing_by_key.get(candidate.key)
        conflict_reason = "Idempotency-Key was used before for a different invoice"
        if seen is None:
            seen = existing_by_number.get(number_key)
            conflict_reason = (
                f"{invoice.document_type.value} number {invoice.number} was already accepted "
                "with different content"
            )
        if seen is not None:
            invoice_id, digest, number = seen
            if digest == candidate.digest:
                results.append(IntakeResult(candidate.index, "duplicate", invoice_id, number))
            else:
                results.append(
                    IntakeResult(
                        candidate.index,
                        "conflict",
                        invoice_id,
                        number,
                        errors=[{"field": "number", "reason": conflict_reason}],
                    )
                )
            continue
        receiver_id = invoice.routing.receiver_id if invoice.routing else None
        try:
            route = route_for(invoice, profiles.get(receiver_id or ""), default_channel)
        except RoutingError as error:
            results.append(
                IntakeResult(
                    candidate.index,
                    "rejected",
                    number=invoice.number,
                    errors=[{"field": error.field, "reason": error.reason}],
                )
            )
            continue
        assert route is not None
        try:
            invoice, kid_note = _apply_kid_agreement(invoice, delivery_settings.kid)
        except KidError as error:
            results.append(
                IntakeResult(
                    candidate.index,
                    "rejected",
                    number=invoice.number,
                    errors=[{"field": "payment_means[0].payment_id (BT-83)", "reason": str(error)}],
                )
            )
            continue
        invoice_id = new_id()
        delivery_id = new_id()
        held = delivery_settings.holds(route.channel)
        first_status = DeliveryStatus.HELD if held else DeliveryStatus.QUEUED
        due = delivery_settings.due_at(route.channel, now)
        invoice_rows.append(
            {
                "id": invoice_id,
                "tenant_id": tenant_id,
                "idempotency_key": candidate.key,
                "payload_sha256": candidate.digest,
                "document_type": invoice.document_type.value,
                "number": invoice.number,
                "issue_date": invoice.issue_date,
                "due_date": invoice.due_date,
                "currency": invoice.currency,
                "payable_amount": str(invoice.totals.payable),
                "buyer_name": invoice.buyer.name,
                "receiver_id": receiver_id,
                "payment_reference": invoice.kid,
                "payload": invoice.model_dump_json(exclude_none=True),
                "created_at": now,
                "customer_key": invoice.buyer.customer_key,
                "payment_status": "unpaid",
            }
        )
        delivery_rows.append(
            {
                "id": delivery_id,
                "invoice_id": invoice_id,
                "tenant_id": tenant_id,
                "channel": route.channel,
                "format": route.format,
                "address": route.address,
                "chain_position": route.chain_position,
                "status": first_status.value,
                "attempt": 1,
                "tries": 0,
                "next_attempt_at": due,
                "created_at": now,
                "updated_at": now,
            }
        )
        event_rows.append(
            {
                "delivery_id": delivery_id,
                "invoice_id": invoice_id,
                "tenant_id": tenant_id,
                "attempt": 1,
                "from_status": None,
                "to_status": first_status.value,
                "actor": actor,
                "reason": f"accepted; route {route.channel}"
                + ("; held for review" if first_status is DeliveryStatus.HELD else "")
                + (f"; sending window opens {due.isoformat()}" if due > now else "")
                + (f"; {kid_note}" if kid_note else ""),
                "at": now,
            }
        )
        existing_by_key[candidate.key] = (invoice_id, candidate.digest, invoice.number)
        existing_by_number[number_key] = (invoice_id, candidate.digest, invoice.number)
        results.append(
            IntakeResult(
                candidate.index,
                "created",
                invoice_id,
                invoice.number,
                [delivery_id],
                payment_reference=invoice.kid,
            )
        )
    if invoice_rows:
        session.execute(insert(table), invoice_rows)
        session.execute(insert(Delivery.__table__), delivery_rows)  # type: ignore[attr-defined]
        session.execute(insert(DeliveryEvent.__table__), event_rows)  # type: ignore[attr-defined]
    return results


def _apply_kid_agreement(invoice: Invoice, agreement: KidAgreement | None) -> tuple[Invoice, str | None]:
    """Check the invoice's KID against the tenant's agreement, or give it one when the tenant asks.

    Only invoices get a generated KID (a credit note is not paid). The payload keeps naming what the ERP
    sent in `payload_sha256`, so a re-post of the same invoice still answers as a duplicate.
    """
    if agreement is None:
        return invoice, None
    if invoice.kid:
        agreement.validate_kid(invoice.kid)
        return invoice, None
    if not agreement.generate or invoice.document_type is not DocumentType.INVOICE:
        return invoice, None
    kid = agreement.generate_for(invoice.number)
    means = list(invoice.payment_means) or [PaymentMeans()]
    means[0] = means[0].model_copy(update={"payment_id": kid})
    return invoice.model_copy(update={"payment_means": means}), f"KID {kid} generated ({agreement.algorithm})"
