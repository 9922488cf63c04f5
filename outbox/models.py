"""Outbox tables: tenants and their API tokens, receiver profiles, invoices, deliveries, delivery events.

Amounts are kept as exact decimal text: the canonical JSON is the record of what the ERP sent, and SQLite
has no exact numeric type. Timestamps are stored as naive UTC and handed back timezone-aware.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    DateTime,
    Index,
    LargeBinary,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlmodel import Field, SQLModel

from outbox.states import DeliveryStatus


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def new_id() -> str:
    return uuid.uuid4().hex


class UTCDateTime(TypeDecorator[dt.datetime]):
    """A timestamp stored as naive UTC (same on SQLite and PostgreSQL), returned as aware UTC."""

    impl = DateTime(timezone=False)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(dt.UTC).replace(tzinfo=None)

    def process_result_value(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        return None if value is None else value.replace(tzinfo=dt.UTC)


def _ts(nullable: bool = False, index: bool = False) -> Any:
    return Field(default=None, sa_column=Column(UTCDateTime(), nullable=nullable, index=index))


class Tenant(SQLModel, table=True):
    """A sender organisation (one ERP or company); every invoice and token belongs to one."""

    __tablename__ = "tenants"

    id: str = Field(primary_key=True, max_length=64)
    name: str = Field(max_length=200)
    settings: dict[str, Any] | None = Field(
        default=None, sa_column=Column(JSON, nullable=True), description="schemas.tenant.TenantSettings"
    )
    created_at: dt.datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


class ApiToken(SQLModel, table=True):
    """An API token of a tenant. Only a SHA-256 of the secret is kept; the secret is shown once."""

    __tablename__ = "api_tokens"

    id: str = Field(primary_key=True, max_length=32)
    tenant_id: str = Field(foreign_key="tenants.id", index=True, max_length=64)
    name: str = Field(max_length=200)
    secret_sha256: str = Field(max_length=64)
    created_at: dt.datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    revoked_at: dt.datetime | None = _ts(nullable=True)


class Receiver(SQLModel, table=True):
    """A tenant's customer as a receiver of invoices: `schemas.canonical.ReceiverProfile` as JSON."""

    __tablename__ = "receivers"
    __table_args__ = (UniqueConstraint("tenant_id", "receiver_id", name="uq_receiver_per_tenant"),)

    id: int | None = Field(default=None, primary_key=True)
    tenant_id: str = Field(foreign_key="tenants.id", max_length=64)
    receiver_id: str = Field(max_length=100)
    profile: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    updated_at: dt.datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


class InvoiceRecord(SQLModel, table=True):
    """One accepted invoice or credit note: the canonical JSON as received, plus what queries need."""

    __tablename__ = "invoices"
    __table_args__ = (
        UniqueConstraint("tenant_id", "idempotency_key", name="uq_invoice_idempotency"),
        UniqueConstraint("tenant_id", "document_type", "number", name="uq_invoice_number"),
    )

    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    tenant_id: str = Field(foreign_key="tenants.id", index=True, max_length=64)
    idempotency_key: str = Field(max_length=200)
    payload_sha256: str = Field(max_length=64)
    document_type: str = Field(max_length=20)
    number: str = Field(max_length=100)
    issue_date: dt.date
    due_date: dt.date | None = None
    currency: str = Field(max_length=3)
    payable_amount: str = Field(max_length=40, description="BT-115 as exact decimal text")
    buyer_name: str = Field(max_length=200)
    receiver_id: str | None = Field(default=None, max_length=100)
    payment_reference: str | None = Field(default=None, max_length=35, index=True)
    response_status: str | None = Field(
        default=None, max_length=10, description="the buyer's latest applied Invoice Response code (AB…PD)"
    )
    payload: str = Field(sa_column=Column(Text, nullable=False))
    created_at: dt.datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    customer_key: str | None = Field(
        default=None, max_length=200, index=True, description="who owes it: buyer org number, VAT id or name"
    )
    open_amount: str | None = Field(
        default=None, max_length=40, description="what remains to be paid (None: nothing applied yet)"
    )
    payment_status: str = Field(
        default="unpaid", max_length=20, index=True, description="unpaid, partially_paid, paid, overpaid"
    )
    paid_at: dt.datetime | None = _ts(nullable=True)


class Delivery(SQLModel, table=True):
    """One invoice going out through one channel; retries and resends are tries/attempts on this row.

    `lease_token` and `lease_expires_at` are set while a worker holds the row (`rendering`, `sending`);
    every write that ends a worker's hold names the token, so a worker that stalled past its lease cannot
    overwrite what the worker that took over has done.
    """

    __tablename__ = "deliveries"
    __table_args__ = (
        Index("ix_deliveries_claim", "status", "next_attempt_at"),
        Index("ix_deliveries_lease", "status", "lease_expires_at"),
    )

    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    invoice_id: str = Field(foreign_key="invoices.id", index=True, max_length=32)
    tenant_id: str = Field(foreign_key="tenants.id", index=True, max_length=64)
    channel: str = Field(max_length=50)
    format: str | None = Field(default=None, max_length=50)
    address: str | None = Field(default=None, max_length=500)
    chain_position: int = Field(default=0, description="0 = preferred channel, 1… = fallbacks")
    status: DeliveryStatus = Field(
        default=DeliveryStatus.QUEUED, sa_column=Column(String(20), nullable=False)
    )
    attempt: int = Field(default=1, description="1 = first send; a resend starts the next attempt")
    tries: int = Field(default=0, description="tries within the current attempt (for backoff)")
    next_attempt_at: dt.datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False)
    )
    lease_token: str | None = Field(default=None, max_length=32)
    lease_expires_at: dt.datetime | None = _ts(nullable=True)
    leased_by: str | None = Field(default=None, max_length=200)
    claimed_from: str | None = Field(default=None, max_length=20, description="status before the last claim")
    last_error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    channel_message_id: str | None = Field(default=None, max_length=500)
    extra_documents: list[str] | None = Field(
        default=None,
        sa_column=Column(JSON, nullable=True),
        description="stored_documents ids sent with the current attempt (a resend with its POD)",
    )
    created_at: dt.datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    updated_at: dt.datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


class DeliveryEvent(SQLModel, table=True):
    """Append-only history: one row per status change or notable happening of a delivery."""

    __tablename__ = "delivery_events"

    id: int | None = Field(default=None, primary_key=True)
    delivery_id: str = Field(foreign_key="deliveries.id", index=True, max_length=32)
    invoice_id: str = Field(index=True, max_length=32)
    tenant_id: str = Field(max_length=64)
    at: dt.datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    attempt: int
    from_status: str | None = Field(default=None, max_length=20)
    to_status: str = Field(max_length=20)
    actor: str = Field(max_length=200, description="worker id, api:<token name>, cli:<user>, system")
    reason: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    channel_message_id: str | None = Field(default=None, max_length=500)
    details: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))


class Participant(SQLModel, table=True):
    """A PEPPOL participant the gateway knows can receive (the local, SMP-style capability registry).

    `document_types` lists what it accepts ("invoice", "credit_note", or full PEPPOL document type ids);
    a lookup that finds no row means "not PEPPOL-capable", and routing falls back.
    """

    __tablename__ = "participants"

    id: int | None = Field(default=None, primary_key=True)
    participant_id: str = Field(max_length=200, unique=True, description="scheme:value, e.g. 0192:987654325")
    name: str | None = Field(default=None, max_length=200)
    document_types: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    access_point: str | None = Field(default=None, max_length=500)
    updated_at: dt.datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


class InboundDocument(SQLModel, table=True):
    """A status document received from the world (Invoice Response, MLR, MLS, later acks, bounces, PODs).

    Kept whole (`payload`) with what was read from it; `applied` says whether it moved a delivery, and
    `note` why not (unlinked, out of order, a repeat). The same file twice is one row (`payload_sha256`).
    """

    __tablename__ = "inbound_documents"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    tenant_id: str | None = Field(default=None, index=True, max_length=64)
    kind: str = Field(max_length=50, description="invoice-response, mlr, mls, …")
    payload_sha256: str = Field(max_length=64, unique=True)
    document_id: str | None = Field(default=None, max_length=200)
    referenced_document_id: str | None = Field(default=None, max_length=200, index=True)
    response_code: str | None = Field(default=None, max_length=10)
    reasons: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    delivery_id: str | None = Field(default=None, index=True, max_length=32)
    invoice_id: str | None = Field(default=None, index=True, max_length=32)
    applied: bool = False
    note: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    payload: str = Field(sa_column=Column(Text, nullable=False))
    received_at: dt.datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


class Batch(SQLModel, table=True):
    """A batching channel's batch (a print house's daily run): closed at a cut-off, handed over whole.

    The id is derived from tenant, channel, profile and cut-off, and the members are fixed when the batch
    closes, so every try uploads the same batch under the same name: the channel's commit point (the
    print channel's final rename) then makes a retried upload either a no-op or the first copy, never a
    second print job. Claimed with a lease like a delivery.
    """

    __tablename__ = "batches"
    __table_args__ = (Index("ix_batches_claim", "status", "next_attempt_at"),)

    id: str = Field(primary_key=True, max_length=200)
    tenant_id: str = Field(foreign_key="tenants.id", index=True, max_length=64)
    channel: str = Field(max_length=50)
    batch_key: str = Field(max_length=100, description="the channel's grouping key, e.g. the print profile")
    cutoff_at: dt.datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    status: str = Field(
        default="ready",
        max_length=20,
        description="ready → sending (leased) → sent → accepted | rejected; or failed",
    )
    item_count: int = 0
    tries: int = 0
    next_attempt_at: dt.datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False)
    )
    lease_token: str | None = Field(default=None, max_length=32)
    lease_expires_at: dt.datetime | None = _ts(nullable=True)
    leased_by: str | None = Field(default=None, max_length=200)
    last_error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    channel_message_id: str | None = Field(default=None, max_length=500)
    summary: dict[str, Any] | None = Field(
        default=None, sa_column=Column(JSON, nullable=True), description="what the channel handed over"
    )
    created_at: dt.datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    sent_at: dt.datetime | None = _ts(nullable=True)
    updated_at: dt.datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


class BatchItem(SQLModel, table=True):
    """One delivery attempt waiting in (or belonging to) a batch, with the document as it will be sent.

    The rendered document is kept here so the batch is built from exactly what was checked when the
    delivery was staged; `meta` is what the channel needs besides the bytes (recipient, pages, …).
    """

    __tablename__ = "batch_items"
    __table_args__ = (
        UniqueConstraint("delivery_id", "attempt", name="uq_batch_item_attempt"),
        Index("ix_batch_items_open", "batch_id", "due_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    delivery_id: str = Field(foreign_key="deliveries.id", index=True, max_length=32)
    invoice_id: str = Field(max_length=32)
    tenant_id: str = Field(max_length=64)
    attempt: int
    channel: str = Field(max_length=50)
    batch_key: str = Field(max_length=100)
    due_at: dt.datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    batch_id: str | None = Field(default=None, max_length=200, index=True)
    sequence: int | None = Field(default=None, description="1-based position in the closed batch")
    format: str = Field(max_length=50)
    media_type: str = Field(max_length=100)
    extension: str = Field(max_length=20)
    content: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    meta: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    outcome: str | None = Field(
        default=None, max_length=20, description="what the print house reported: printed, posted, returned"
    )
    created_at: dt.datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


class TradingPartnerRecord(SQLModel, table=True):
    """A tenant's EDI trading partner: `schemas.edi_partner.TradingPartner` as JSON."""

    __tablename__ = "trading_partners"
    __table_args__ = (UniqueConstraint("tenant_id", "partner_id", name="uq_trading_partner"),)

    id: int | None = Field(default=None, primary_key=True)
    tenant_id: str = Field(foreign_key="tenants.id", max_length=64)
    partner_id: str = Field(max_length=100)
    profile: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    updated_at: dt.datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


class EdiControlCounter(SQLModel, table=True):
    """The last control number used per tenant, partner and kind (interchange, group, message).

    Incremented with one `UPDATE … RETURNING` in the transaction that records the interchange, so two
    workers never get the same number and a number is never handed out twice.
    """

    __tablename__ = "edi_control_counters"

    tenant_id: str = Field(primary_key=True, max_length=64)
    partner_id: str = Field(primary_key=True, max_length=100)
    kind: str = Field(primary_key=True, max_length=20)
    last_value: int = 0


class EdiInterchange(SQLModel, table=True):
    """One interchange sent to (or received from) a partner, with the control numbers that identify it.

    Outbound rows are created once per delivery attempt (a retried try reuses the numbers, so the partner
    never sees the same invoice under two interchange numbers); acknowledgements are linked by them.
    """

    __tablename__ = "edi_interchanges"
    __table_args__ = (
        UniqueConstraint(
            "tenant_id", "partner_id", "direction", "interchange_ref", name="uq_edi_interchange"
        ),
        UniqueConstraint("delivery_id", "attempt", name="uq_edi_interchange_attempt"),
        Index("ix_edi_interchanges_ack", "direction", "ack_status", "ack_due_at"),
    )

    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    tenant_id: str = Field(foreign_key="tenants.id", max_length=64)
    partner_id: str = Field(max_length=100)
    direction: str = Field(max_length=3, description="out (we sent it) or in (the partner sent it)")
    standard: str = Field(max_length=10, description="edifact or x12")
    message_type: str = Field(max_length=20, description="INVOIC, 810, REMADV, 820, IFTSTA, 214, …")
    interchange_ref: str = Field(max_length=20)
    group_ref: str | None = Field(default=None, max_length=20)
    message_refs: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    delivery_id: str | None = Field(default=None, max_length=32, index=True)
    invoice_id: str | None = Field(default=None, max_length=32)
    attempt: int | None = None
    ack_status: str | None = Field(
        default=None, max_length=20, description="None (waiting), accepted, rejected, partial, overdue"
    )
    ack_due_at: dt.datetime | None = _ts(nullable=True)
    ack_details: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    ack_document_id: str | None = Field(default=None, max_length=32)
    inbound_document_id: str | None = Field(default=None, max_length=32, description="direction in: the file")
    created_at: dt.datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    updated_at: dt.datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


class StoredDocument(SQLModel, table=True):
    """A file the gateway keeps (an invoice as it was sent, a proof of delivery), by its SHA-256.

    The bytes live in the document store (`gateway.services.documents`: a local directory by default,
    replaceable by an object store); this row says what they are and whose.
    """

    __tablename__ = "stored_documents"
    __table_args__ = (UniqueConstraint("tenant_id", "sha256", name="uq_stored_document"),)

    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    tenant_id: str = Field(foreign_key="tenants.id", index=True, max_length=64)
    sha256: str = Field(max_length=64)
    size: int
    media_type: str = Field(max_length=100)
    filename: str = Field(max_length=200)
    kind: str = Field(max_length=30, description="invoice-as-sent, pod, …")
    storage_key: str = Field(max_length=300, description="where the store keeps the bytes")
    created_at: dt.datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


class ProofOfDelivery(SQLModel, table=True):
    """A proof of delivery: a signed document or photo, or a transport status (IFTSTA, X12 214).

    `references` holds what it names (order numbers, delivery notes / shipment ids, invoice numbers);
    it is linked to invoices through `pod_links`, or waits unlinked with `suggestions`.
    """

    __tablename__ = "pods"
    __table_args__ = (UniqueConstraint("tenant_id", "payload_sha256", name="uq_pod_payload"),)

    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    tenant_id: str = Field(foreign_key="tenants.id", index=True, max_length=64)
    source: str = Field(max_length=30, description="api, folder, sftp, iftsta, x12-214")
    kind: str = Field(max_length=20, description="pdf, jpeg, png, transport-status")
    payload_sha256: str = Field(max_length=64)
    document_id: str | None = Field(default=None, max_length=32, description="stored_documents.id")
    filename: str | None = Field(default=None, max_length=200)
    signer_name: str | None = Field(default=None, max_length=200)
    signed_at: dt.datetime | None = _ts(nullable=True)
    place: str | None = Field(default=None, max_length=200)
    status: str | None = Field(default=None, max_length=50, description="delivered, signed, … (transport)")
    references: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    linked: bool = False
    suggestions: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    received_at: dt.datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


class PodLink(SQLModel, table=True):
    """A proof of delivery linked to an invoice, and by what (order number, delivery note, …, operator)."""

    __tablename__ = "pod_links"

    pod_id: str = Field(foreign_key="pods.id", primary_key=True, max_length=32)
    invoice_id: str = Field(foreign_key="invoices.id", primary_key=True, max_length=32, index=True)
    linked_by: str = Field(max_length=50)
    actor: str = Field(max_length=200)
    linked_at: dt.datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


class Deviation(SQLModel, table=True):
    """One deviation of one delivery attempt: why it happened, and how and by whom it was closed."""

    __tablename__ = "deviations"
    __table_args__ = (Index("ix_deviations_open", "tenant_id", "closed_at"),)

    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    tenant_id: str = Field(max_length=64)
    delivery_id: str = Field(foreign_key="deliveries.id", index=True, max_length=32)
    invoice_id: str = Field(max_length=32, index=True)
    attempt: int
    channel: str = Field(max_length=50)
    cause: str = Field(
        max_length=40,
        description="validation-failed, rejected, bounced, returned-mail, negative-ack, no-ack, "
        "undeliverable, render-failed, …",
    )
    detail: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    opened_at: dt.datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    closed_at: dt.datetime | None = _ts(nullable=True)
    closed_by: str | None = Field(default=None, max_length=200)
    closure: str | None = Field(default=None, max_length=20, description="resolved, resent, fallback")
    closure_reason: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


class WebhookEndpoint(SQLModel, table=True):
    """Where a tenant's ERP wants status changes and deviations (signed with `secret`)."""

    __tablename__ = "webhook_endpoints"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    tenant_id: str = Field(foreign_key="tenants.id", index=True, max_length=64)
    url: str = Field(max_length=1000)
    secret: str = Field(max_length=200)
    events: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    active: bool = True
    created_at: dt.datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


class WebhookEvent(SQLModel, table=True):
    """One event for one endpoint, written in the transaction of the change it reports (an outbox)."""

    __tablename__ = "webhook_events"
    __table_args__ = (Index("ix_webhook_events_due", "status", "next_attempt_at"),)

    id: int | None = Field(default=None, primary_key=True)
    endpoint_id: str = Field(foreign_key="webhook_endpoints.id", index=True, max_length=32)
    tenant_id: str = Field(max_length=64)
    event_type: str = Field(max_length=50)
    payload: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    status: str = Field(default="pending", max_length=20, description="pending, sending, delivered, failed")
    tries: int = 0
    next_attempt_at: dt.datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False)
    )
    lease_token: str | None = Field(default=None, max_length=32)
    lease_expires_at: dt.datetime | None = _ts(nullable=True)
    last_error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    created_at: dt.datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    delivered_at: dt.datetime | None = _ts(nullable=True)


class RemittanceFile(SQLModel, table=True):
    """A remittance file as received (camt, OCR giro, REMADV, 820, …): accepted whole or rejected whole.

    The bytes are kept in the document store (`document_key`) either way, so a rejected file can be
    inspected; the same bytes twice for a tenant are one row (`payload_sha256`) and are booked once.
    """

    __tablename__ = "remittance_files"
    __table_args__ = (UniqueConstraint("tenant_id", "payload_sha256", name="uq_remittance_file"),)

    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    tenant_id: str = Field(foreign_key="tenants.id", index=True, max_length=64)
    payload_sha256: str = Field(max_length=64)
    document_key: str = Field(max_length=100)
    size: int
    format: str | None = Field(default=None, max_length=40)
    source: str = Field(max_length=20, description="api, folder, sftp, cli")
    filename: str | None = Field(default=None, max_length=255)
    status: str = Field(max_length=20, description="accepted, rejected")
    reason: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    error_field: str | None = Field(default=None, max_length=300)
    message_id: str | None = Field(default=None, max_length=200)
    payment_count: int = 0
    credit_total: str | None = Field(default=None, max_length=40)
    currency: str | None = Field(default=None, max_length=3)
    received_by: str | None = Field(default=None, max_length=200)
    received_at: dt.datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


class PaymentRecord(SQLModel, table=True):
    """One payment read from a remittance file, and what matching decided about it.

    `fingerprint` identifies the same money movement arriving again in another file (a bank's reference
    with amount and date); such a payment is kept with `duplicate_of` and never matched. `decision` is the
    matching engine's explained decision (evidence, proposal, suggestions) as JSON.
    """

    __tablename__ = "payments"
    __table_args__ = (
        UniqueConstraint("tenant_id", "fingerprint", name="uq_payment_fingerprint"),
        Index("ix_payments_status", "tenant_id", "status"),
    )

    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    tenant_id: str = Field(foreign_key="tenants.id", max_length=64)
    file_id: str = Field(foreign_key="remittance_files.id", index=True, max_length=32)
    sequence: int = Field(description="position of the payment in its file, from 1")
    position: str = Field(default="", max_length=200)
    fingerprint: str | None = Field(default=None, max_length=64)
    duplicate_of: str | None = Field(default=None, max_length=32)
    kind: str = Field(max_length=40)
    direction: str = Field(max_length=10)
    hint_only: bool = False
    amount: str = Field(max_length=40)
    currency: str = Field(max_length=3)
    booking_date: dt.date | None = None
    value_date: dt.date | None = None
    payer_name: str | None = Field(default=None, max_length=200)
    payer_account: str | None = Field(default=None, max_length=50)
    bank_reference: str | None = Field(default=None, max_length=200)
    data: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False), description="the whole Payment")
    status: str = Field(
        default="new",
        max_length=20,
        description="new, applied, needs_approval, exception, ignored, duplicate, resolved, hint",
    )
    customer_key: str | None = Field(default=None, max_length=200, index=True)
    confidence: float | None = None
    decision: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    applied_amount: str | None = Field(default=None, max_length=40)
    write_off: str | None = Field(default=None, max_length=40)
    unapplied: str | None = Field(default=None, max_length=40)
    decided_at: dt.datetime | None = _ts(nullable=True)
    decided_by: str | None = Field(default=None, max_length=200)
    note: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    created_at: dt.datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


class RemittanceLineRecord(SQLModel, table=True):
    """One document a payment says it settles (KID, invoice / credit note number, amounts)."""

    __tablename__ = "remittance_lines"

    id: int | None = Field(default=None, primary_key=True)
    payment_id: str = Field(foreign_key="payments.id", index=True, max_length=32)
    sequence: int
    kid: str | None = Field(default=None, max_length=35, index=True)
    invoice_number: str | None = Field(default=None, max_length=100)
    document_kind: str | None = Field(default=None, max_length=20)
    amount: str | None = Field(default=None, max_length=40)
    document_amount: str | None = Field(default=None, max_length=40)
    adjustment: str | None = Field(default=None, max_length=40)
    adjustment_reason: str | None = Field(default=None, max_length=200)
    text: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


class PaymentAllocation(SQLModel, table=True):
    """Money of one payment applied to one invoice; append-only (a reversal sets `reversed_at`)."""

    __tablename__ = "payment_allocations"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    tenant_id: str = Field(max_length=64, index=True)
    payment_id: str = Field(foreign_key="payments.id", index=True, max_length=32)
    invoice_id: str = Field(foreign_key="invoices.id", index=True, max_length=32)
    amount: str = Field(max_length=40, description="applied, in the invoice's currency")
    write_off: str = Field(default="0", max_length=40)
    created_by: str = Field(max_length=200, description="'matching' or the person who resolved it")
    created_at: dt.datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    reversed_at: dt.datetime | None = _ts(nullable=True)
    reversed_by: str | None = Field(default=None, max_length=200)


class PayerAlias(SQLModel, table=True):
    """A learned payer identity: a bank account or a name variant that belongs to a customer."""

    __tablename__ = "payer_aliases"
    __table_args__ = (UniqueConstraint("tenant_id", "kind", "value", name="uq_payer_alias"),)

    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    tenant_id: str = Field(foreign_key="tenants.id", max_length=64)
    kind: str = Field(max_length=10, description="account, name")
    value: str = Field(max_length=200, description="normalised account or name")
    customer_key: str = Field(max_length=200)
    learned_from: str | None = Field(default=None, max_length=32, description="the payment resolved")
    created_by: str = Field(max_length=200)
    created_at: dt.datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


class ReferencePattern(SQLModel, table=True):
    """A learned way a payer writes invoice numbers (a regex whose group is the invoice number)."""

    __tablename__ = "reference_patterns"
    __table_args__ = (UniqueConstraint("tenant_id", "customer_key", "regex", name="uq_reference_pattern"),)

    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    tenant_id: str = Field(foreign_key="tenants.id", max_length=64)
    customer_key: str | None = Field(default=None, max_length=200)
    regex: str = Field(max_length=300)
    learned_from: str | None = Field(default=None, max_length=32)
    created_by: str = Field(max_length=200)
    created_at: dt.datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


class MatchingLease(SQLModel, table=True):
    """One matching run per tenant at a time: two runs on stale open amounts could pay an invoice twice."""

    __tablename__ = "matching_leases"

    tenant_id: str = Field(primary_key=True, max_length=64)
    holder: str | None = Field(default=None, max_length=200)
    expires_at: dt.datetime | None = _ts(nullable=True)
