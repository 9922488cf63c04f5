"""Invoice intake: validate, de-duplicate, route, and write invoice + first delivery + event at once.

A repeat of an accepted invoice (same `Idempotency-Key`, or no key and the same document number) returns
the first result; the same key or number with different content is a conflict, never a second invoice.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, NamedTuple

from sqlalchemy import Engine, insert, select, union_all
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from db.engine import session_scope
from db.models import Delivery, DeliveryEvent, InvoiceRecord, new_id, utcnow
from gateway.services import metrics
from gateway.services.followup.credit import DETAILS_KEY, CreditCheck, CreditVerdict
from gateway.services.outbound.routing import (
    DEFAULT,
    Route,
    RoutingError,
    chain_of,
    load_profiles,
    route_for,
)
from gateway.services.outbound.search import invoice_search_columns, remember_buyer_names
from gateway.services.tenancy.tenants import tenant_settings
from mappings.invoice.canonical_json import InvoiceValidationError, invoice_from_data
from outbox.states import DeliveryStatus
from outbox.wakeup import notify_new_work
from schemas.canonical import (
    DocumentType,
    Invoice,
    PaymentMeans,
    ReceiverProfile,
    channel_address_problem,
)
from schemas.kid import KidAgreement, KidError
from schemas.tenant import TenantSettings

Outcome = Literal["created", "duplicate", "conflict", "rejected"]
HTTP_STATUS: dict[Outcome, int] = {"created": 201, "duplicate": 200, "conflict": 409, "rejected": 422}


def ubl_intake_data(body: bytes) -> dict[str, Any]:
    """An XML invoice body — EHF / PEPPOL BIS (UBL), or UN/CEFACT CII (XRechnung CII, Factur-X / ZUGFeRD
    XML), told apart by the root element — as the dict the intake takes: pure, so the API runs it in its
    parse pool (a module-level function, pickled by name); `FormatError` (`InvoiceValidationError`) when
    refused. Anything that is not CII is read as UBL, whose errors say what the root should be."""
    from mappings.invoice import cii, ubl  # lxml and the mappings load on first use

    reader = cii.parse if cii.sniff(body) else ubl.parse
    return reader(body).model_dump(mode="json", exclude_none=True)


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
    warnings: list[dict[str, str]] = field(default_factory=list)
    credit_warning: dict[str, Any] | None = None

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
        if self.warnings:
            body["warnings"] = self.warnings
        if self.credit_warning:
            body["credit_warning"] = self.credit_warning
        return body


@dataclass
class _Candidate:
    index: int
    invoice: Invoice
    key: str
    digest: str
    keyed: bool = False  # the key is the client's Idempotency-Key, not one made from the number


def _number_taken(invoice: Invoice) -> str:
    """The conflict of a number that is taken: what the sender should do instead."""
    if invoice.document_type is DocumentType.CREDIT_NOTE:
        return f"credit note {invoice.number} exists with other content; send it under a new number"
    return f"invoice {invoice.number} exists with other content; send a credit note or a new number"


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
    results, candidates = _read_items(items)
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
    return _answered(results, candidates)


def accept_in_session(
    session: Session,
    tenant_id: str,
    items: Sequence[IntakeItem],
    *,
    actor: str,
    default_channel: str,
) -> list[IntakeResult]:
    """`accept_invoices` inside the caller's transaction: a document the gateway writes itself (a credit
    note approved in a dispute) is stored together with the change that made it, or not at all. The
    same checks, routing and rows as any intake; a concurrent duplicate fails the caller's transaction."""
    results, candidates = _read_items(items)
    for result in _store(session, tenant_id, candidates, actor=actor, default_channel=default_channel):
        results[result.index] = result
    return _answered(results, candidates)


def _read_items(items: Sequence[IntakeItem]) -> tuple[list[IntakeResult | None], list[_Candidate]]:
    """Each item parsed and checked: a rejected result for one that fails, a candidate for the rest."""
    results: list[IntakeResult | None] = [None] * len(items)
    candidates: list[_Candidate] = []
    for index, item in enumerate(items):
        try:
            invoice = invoice_from_data(item.data)
        except InvoiceValidationError as error:
            results[index] = IntakeResult(index, "rejected", errors=error.errors)
            continue
        key = item.idempotency_key or default_key(invoice)
        candidates.append(
            _Candidate(index, invoice, key, payload_digest(invoice), keyed=bool(item.idempotency_key))
        )
    return results, candidates


def _answered(results: list[IntakeResult | None], candidates: list[_Candidate]) -> list[IntakeResult]:
    done = [result for result in results if result is not None]
    for candidate in candidates:  # accepted within an official rule's tolerance: say so, never hide it
        answer = results[candidate.index]
        if answer is not None and answer.outcome in ("created", "duplicate"):
            answer.warnings = [w.as_dict() for w in candidate.invoice.arithmetic_warnings]
    metrics.record_intake(result.outcome for result in done)
    return done


def _store(
    session: Session, tenant_id: str, candidates: list[_Candidate], *, actor: str, default_channel: str
) -> list[IntakeResult]:
    """One pass over the batch in one transaction: repeats answered, new invoices routed and written."""
    results: list[IntakeResult] = []
    if not candidates:
        return results
    known = _known_invoices(session, tenant_id, candidates)
    receiver_ids = {
        c.invoice.routing.receiver_id
        for c in candidates
        if c.invoice.routing and c.invoice.routing.receiver_id
    }
    profiles = load_profiles(session, tenant_id, receiver_ids)
    settings = tenant_settings(session, tenant_id)
    credit = CreditCheck.for_batch(session, tenant_id, profiles, settings)  # one query for the batch
    rows = _NewRows(tenant_id, actor, settings, utcnow())
    for candidate in candidates:
        repeat = known.repeat_of(candidate)
        if repeat is not None:
            results.append(repeat)
            continue
        admitted = _admit(candidate, profiles, default_channel, settings)
        if isinstance(admitted, IntakeResult):
            results.append(admitted)
            continue
        invoice = admitted.invoice
        admitted.credit = credit.judge(invoice)
        invoice_id, delivery_id = rows.add(admitted)
        known.remember(
            candidate.key, invoice.document_type.value, _Stored(invoice_id, candidate.digest, invoice.number)
        )
        results.append(
            IntakeResult(
                candidate.index,
                "created",
                invoice_id,
                invoice.number,
                [delivery_id],
                payment_reference=invoice.kid,
                credit_warning=admitted.credit.as_dict() if admitted.credit else None,
            )
        )
    rows.insert(session)
    return results


class _Stored(NamedTuple):
    """An invoice the tenant already has, as a repeat is compared with it."""

    invoice_id: str
    digest: str
    number: str


@dataclass
class _KnownInvoices:
    """The tenant's invoices under the batch's keys and numbers, and those the batch adds as it goes."""

    by_key: dict[str, _Stored] = field(default_factory=dict)
    by_number: dict[tuple[str, str], _Stored] = field(default_factory=dict)

    def remember(self, key: str, document_type: str, stored: _Stored) -> None:
        self.by_key[key] = stored
        self.by_number[(document_type, stored.number)] = stored

    def repeat_of(self, candidate: _Candidate) -> IntakeResult | None:
        """A duplicate (same content) or conflict (other content) when the key or number is known."""
        invoice = candidate.invoice
        seen = self.by_key.get(candidate.key) if candidate.keyed else None
        conflict_reason = "Idempotency-Key was used before for a different invoice"
        if seen is None:
            # without a key of its own the invoice's key is its number: a clash is about the number
            seen = self.by_key.get(candidate.key) or self.by_number.get(
                (invoice.document_type.value, invoice.number)
            )
            conflict_reason = _number_taken(invoice)
        if seen is None:
            return None
        if seen.digest == candidate.digest:
            return IntakeResult(candidate.index, "duplicate", seen.invoice_id, seen.number)
        return IntakeResult(
            candidate.index,
            "conflict",
            seen.invoice_id,
            seen.number,
            errors=[{"field": "number", "reason": conflict_reason}],
        )


def _known_invoices(session: Session, tenant_id: str, candidates: list[_Candidate]) -> _KnownInvoices:
    """The tenant's stored invoices that share a candidate's idempotency key or document number.

    Two lookups joined by UNION ALL, each one a range of a unique index: by key (`uq_invoice_idempotency`)
    and by number (`uq_invoice_number`, the batch's types and numbers as two IN lists, the pairs then
    matched exactly here). One OR of the two, or a tuple IN, makes both databases read every invoice of the
    tenant per chunk, so intake slowed down as the store grew.
    """
    table = InvoiceRecord.__table__  # type: ignore[attr-defined]
    columns = (table.c.id, table.c.idempotency_key, table.c.payload_sha256, table.c.document_type,
               table.c.number)  # fmt: skip
    known = _KnownInvoices()
    for chunk_start in range(0, len(candidates), 400):
        chunk = candidates[chunk_start : chunk_start + 400]
        chunk_keys = {c.key for c in chunk}
        chunk_numbers = {(c.invoice.document_type.value, c.invoice.number) for c in chunk}
        by_key = select(*columns).where(
            table.c.tenant_id == tenant_id, table.c.idempotency_key.in_(sorted(chunk_keys))
        )
        by_number = select(*columns).where(
            table.c.tenant_id == tenant_id,
            table.c.document_type.in_(sorted({document_type for document_type, _ in chunk_numbers})),
            table.c.number.in_(sorted({number for _, number in chunk_numbers})),
        )
        for row in session.execute(union_all(by_key, by_number)):
            if row.idempotency_key not in chunk_keys and (row.document_type, row.number) not in chunk_numbers:
                continue  # another type's invoice under one of the numbers: not this batch's
            stored = _Stored(row.id, row.payload_sha256, row.number)
            known.by_key[row.idempotency_key] = stored
            known.by_number[(row.document_type, row.number)] = stored
    return known


@dataclass
class _Admitted:
    """A new invoice that passed routing and the KID agreement: what its rows are written from."""

    candidate: _Candidate
    invoice: Invoice  # with a generated KID, when the tenant's agreement gives one
    route: Route
    kid_note: str | None
    credit: CreditVerdict | None = None  # over the customer's credit limit, or its risk flag stops it


def _admit(
    candidate: _Candidate,
    profiles: dict[str, ReceiverProfile],
    default_channel: str,
    settings: TenantSettings,
) -> _Admitted | IntakeResult:
    """Route the invoice and apply the KID agreement; a rejected result when either refuses it."""
    invoice = candidate.invoice
    agreement = settings.kid
    receiver_id = invoice.routing.receiver_id if invoice.routing else None
    try:
        route = route_for(
            invoice, profiles.get(receiver_id or ""), default_channel, 0, settings.consumer_waterfall
        )
    except RoutingError as error:
        return IntakeResult(
            candidate.index,
            "rejected",
            number=invoice.number,
            errors=[{"field": error.field, "reason": error.reason}],
        )
    assert route is not None
    address_problem = _address_problem(
        invoice, route, profiles.get(receiver_id or ""), settings.consumer_waterfall
    )
    if address_problem is not None:
        field_name, reason = address_problem
        return IntakeResult(
            candidate.index,
            "rejected",
            number=invoice.number,
            errors=[{"field": field_name, "reason": reason}],
        )
    try:
        invoice, kid_note = _apply_kid_agreement(invoice, agreement)
    except KidError as error:
        return IntakeResult(
            candidate.index,
            "rejected",
            number=invoice.number,
            errors=[{"field": "payment_means[0].payment_id (BT-83)", "reason": str(error)}],
        )
    return _Admitted(candidate, invoice, route, kid_note)


def _address_problem(
    invoice: Invoice, route: Route, profile: ReceiverProfile | None, consumer_waterfall: list[str]
) -> tuple[str, str] | None:
    """(field, reason) for the first address the invoice would go to that its channel cannot take.

    The invoice's own `routing.address` goes to its first channel; a receiver profile's addresses go to
    the channels of its chain (the preferred one only when the invoice names no address of its own).
    """
    routing = invoice.routing
    if routing is not None and routing.address:
        problem = channel_address_problem(route.channel, routing.address)
        if problem is not None:
            return "routing.address", f"{problem} (the address on channel {route.channel})"
    if profile is None or (routing is not None and routing.channel):
        return None
    for position, channel in enumerate(chain_of(profile, consumer_waterfall)):
        address = profile.addresses.get(channel)
        if not address or (position == 0 and routing is not None and routing.address):
            continue
        problem = channel_address_problem(channel, address)
        if problem is not None:
            return (
                "routing.receiver_id",
                f"receiver {profile.receiver_id}'s {channel} address: {problem}; "
                "correct the receiver profile",
            )
    return None


@dataclass
class _NewRows:
    """The rows one intake batch writes: per invoice the invoice, its first delivery and that one's event."""

    tenant_id: str
    actor: str
    settings: TenantSettings
    now: dt.datetime
    invoices: list[dict[str, Any]] = field(default_factory=list)
    deliveries: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)

    def add(self, admitted: _Admitted) -> tuple[str, str]:
        """Rows for a new invoice; its invoice and delivery ids."""
        invoice, route, now = admitted.invoice, admitted.route, self.now
        invoice_id = new_id()
        delivery_id = new_id()
        credit = admitted.credit
        held = self.settings.holds(route.channel) or (credit is not None and credit.action == "hold")
        first_status = DeliveryStatus.HELD if held else DeliveryStatus.QUEUED
        due = self.settings.due_at(route.channel, now)
        self.invoices.append(_invoice_row(invoice_id, self.tenant_id, admitted.candidate, invoice, now))
        self.deliveries.append(
            {
                "id": delivery_id,
                "invoice_id": invoice_id,
                "tenant_id": self.tenant_id,
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
        self.events.append(
            {
                "delivery_id": delivery_id,
                "invoice_id": invoice_id,
                "tenant_id": self.tenant_id,
                "attempt": 1,
                "from_status": None,
                "to_status": first_status.value,
                "actor": self.actor,
                "reason": f"accepted; route {route.channel}"
                + (f" ({route.describe()})" if route.chain_length > 1 or route.source != DEFAULT else "")
                + ("; held for review" if first_status is DeliveryStatus.HELD else "")
                + (f"; {credit.note}" if credit else "")
                + (f"; sending window opens {due.isoformat()}" if due > now else "")
                + (f"; {admitted.kid_note}" if admitted.kid_note else ""),
                "at": now,
                **({"details": {DETAILS_KEY: credit.as_dict()}} if credit else {}),
            }
        )
        return invoice_id, delivery_id

    def insert(self, session: Session) -> None:
        if self.invoices:
            session.execute(insert(InvoiceRecord.__table__), self.invoices)  # type: ignore[attr-defined]
            session.execute(insert(Delivery.__table__), self.deliveries)  # type: ignore[attr-defined]
            for events in (  # one executemany per key set: the others' details stay SQL NULL
                [event for event in self.events if "details" not in event],
                [event for event in self.events if "details" in event],
            ):
                if events:
                    session.execute(insert(DeliveryEvent.__table__), events)  # type: ignore[attr-defined]
            remember_buyer_names(session, self.tenant_id, [row["buyer_search"] for row in self.invoices])
        if any(row["status"] == DeliveryStatus.QUEUED.value and row["next_attempt_at"] <= self.now
               for row in self.deliveries):  # fmt: skip
            notify_new_work(session)  # idle workers wake when this transaction commits


def _invoice_row(
    invoice_id: str, tenant_id: str, candidate: _Candidate, invoice: Invoice, now: dt.datetime
) -> dict[str, Any]:
    return {
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
        "receiver_id": invoice.routing.receiver_id if invoice.routing else None,
        "payment_reference": invoice.kid,
        "payload": invoice.model_dump_json(exclude_none=True),
        "created_at": now,
        "customer_key": invoice.buyer.customer_key,
        "payment_status": "unpaid",
        **invoice_search_columns(invoice),
    }


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
