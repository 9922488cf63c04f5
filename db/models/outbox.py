"""Invoices, their deliveries and append-only delivery events, deviations, print batches, documents as sent.

Amounts are kept as exact decimal text: the canonical JSON is the record of what the ERP sent, and SQLite
has no exact numeric type."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Index,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlmodel import Field, SQLModel

from db.models.base import UTCDateTime, new_id, timestamp_column, utcnow
from schemas.delivery import DeliveryStatus


class InvoiceRecord(SQLModel, table=True):
    """One accepted invoice or credit note: the canonical JSON as received, plus what queries need.

    The `buyer_*` search columns and `payable_cents` are the payload's values written the way a search
    compares them (`schemas.search_keys`); the `ix_invoices_search_*` indexes serve `GET /invoices`: one per
    sort order, each with `id` after the key so that a page's cursor (sort key, id) is a range in the index,
    and the buyer's name last, so that a search by name walking an order never reads the rows it passes
    over; the name's own index is newest-first within a name.
    """

    __tablename__ = "invoices"
    __table_args__ = (
        UniqueConstraint("tenant_id", "idempotency_key", name="uq_invoice_idempotency"),
        UniqueConstraint("tenant_id", "document_type", "number", name="uq_invoice_number"),
        Index("ix_invoices_search_created", "tenant_id", "created_at", "id", "buyer_search"),
        Index("ix_invoices_search_issued", "tenant_id", "issue_date", "id", "buyer_search"),
        Index("ix_invoices_search_due", "tenant_id", "due_date", "id", "buyer_search"),
        Index("ix_invoices_search_amount", "tenant_id", "payable_cents", "id", "buyer_search"),
        Index("ix_invoices_search_number", "tenant_id", "number", "id", "buyer_search"),
        Index("ix_invoices_search_buyer", "tenant_id", "buyer_search", "created_at", "id"),
        Index("ix_invoices_search_kid", "tenant_id", "payment_reference"),
        Index("ix_invoices_search_legal_id", "tenant_id", "buyer_legal_id"),
        Index("ix_invoices_search_vat_id", "tenant_id", "buyer_vat_id"),
        Index("ix_invoices_search_endpoint", "tenant_id", "buyer_endpoint"),
        # one customer's invoices (the portal's pages newest first, a page at a time; follow-up's balances
        # per receiver): SQLite would otherwise walk every invoice of the seller in issue-date order
        Index("ix_invoices_portal_customer", "tenant_id", "receiver_id", "issue_date", "number", "id"),
        # matching's open items: the unpaid and partially paid, and those paid since a cut-off (0028)
        Index("ix_invoices_open_items", "tenant_id", "payment_status", "paid_at"),
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
    paid_at: dt.datetime | None = timestamp_column(nullable=True)
    buyer_search: str = Field(
        default="",
        sa_column=Column(String(200), nullable=False, server_default=""),
        description="the buyer's name folded (no case, accents or repeated spaces)",
    )
    payable_cents: int = Field(
        default=0,
        sa_column=Column(BigInteger, nullable=False, server_default="0"),
        description="BT-115 in hundredths: exact, comparable and indexable on both databases",
    )
    buyer_legal_id: str | None = Field(default=None, max_length=100, description="BT-47, as compared")
    buyer_vat_id: str | None = Field(default=None, max_length=100, description="BT-48, as compared")
    buyer_endpoint: str | None = Field(default=None, max_length=100, description="BT-49 value, as compared")


#: The one status a delivery waits in for its `next_attempt_at` (the claim's "ready" rows).
DUE_STATUS = DeliveryStatus.QUEUED
#: The statuses a worker holds a delivery in under a lease (as `outbox.states.LEASED`), in the order the
#: partial index's predicate and the claim query both spell them.
LEASED_STATUSES = (DeliveryStatus.RENDERING, DeliveryStatus.SENDING)
#: The partial indexes' predicates, as SQL text. A planner uses a partial index only when the query's own
#: WHERE implies the predicate, so the claim (`outbox.queue`) writes these statuses as literals too.
DUE_PREDICATE = f"status = '{DUE_STATUS.value}'"
LEASED_PREDICATE = f"status IN ({', '.join(repr(status.value) for status in LEASED_STATUSES)})"


class Delivery(SQLModel, table=True):
    """One invoice going out through one channel; retries and resends are tries/attempts on this row.

    `lease_token` and `lease_expires_at` are set while a worker holds the row (`rendering`, `sending`);
    every write that ends a worker's hold names the token, so a worker that stalled past its lease cannot
    overwrite what the worker that took over has done.

    The claim's two indexes are partial: they hold only the rows a claim can take (queued ones by due
    time, held ones by lease expiry), so with millions of finished deliveries they stay a few pages, and a
    delivery that finishes leaves them instead of adding an entry (migration 0027, benchmarks/claim.py).
    """

    __tablename__ = "deliveries"
    __table_args__ = (
        Index(
            "ix_deliveries_due",
            "next_attempt_at",
            sqlite_where=text(DUE_PREDICATE),
            postgresql_where=text(DUE_PREDICATE),
        ),
        Index(
            "ix_deliveries_leased",
            "lease_expires_at",
            sqlite_where=text(LEASED_PREDICATE),
            postgresql_where=text(LEASED_PREDICATE),
        ),
        Index("ix_deliveries_search_status", "tenant_id", "status", "invoice_id", "channel"),
        Index("ix_deliveries_status_created", "tenant_id", "status", "created_at", "channel"),
    )

    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    invoice_id: str | None = Field(
        default=None,
        foreign_key="invoices.id",
        index=True,
        max_length=32,
        description="the invoice it carries; None when it carries another document (`document_kind`)",
    )
    document_kind: str = Field(
        default="invoice",
        max_length=30,
        sa_column_kwargs={"server_default": "invoice"},
        description="what it carries: invoice, or edi-ack (an acknowledgement we answer a partner with, "
        "kept on its outbound `edi_interchanges` row)",
    )
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
    lease_expires_at: dt.datetime | None = timestamp_column(nullable=True)
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
    __table_args__ = (Index("ix_delivery_events_changed", "tenant_id", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    delivery_id: str = Field(foreign_key="deliveries.id", index=True, max_length=32)
    invoice_id: str | None = Field(default=None, index=True, max_length=32)
    tenant_id: str = Field(max_length=64)
    at: dt.datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    attempt: int
    from_status: str | None = Field(default=None, max_length=20)
    to_status: str = Field(max_length=20)
    actor: str = Field(max_length=200, description="worker id, api:<token name>, cli:<user>, system")
    reason: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    channel_message_id: str | None = Field(default=None, max_length=500)
    details: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))


class Deviation(SQLModel, table=True):
    """One deviation of one delivery attempt: why it happened, and how and by whom it was closed."""

    __tablename__ = "deviations"
    __table_args__ = (
        Index("ix_deviations_open", "tenant_id", "closed_at"),
        Index("ix_deviations_open_cause", "tenant_id", "closed_at", "cause", "opened_at"),
        # covered deviations (closed with closure `fallback`), listed beside the open ones (0028)
        Index("ix_deviations_closure", "tenant_id", "closure", "opened_at"),
    )

    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    tenant_id: str = Field(max_length=64)
    delivery_id: str = Field(foreign_key="deliveries.id", index=True, max_length=32)
    invoice_id: str | None = Field(default=None, max_length=32, index=True)
    attempt: int
    channel: str = Field(max_length=50)
    cause: str = Field(
        max_length=40,
        description="validation-failed, rejected, bounced, returned-mail, negative-ack, no-ack, "
        "undeliverable, render-failed, …",
    )
    detail: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    opened_at: dt.datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    closed_at: dt.datetime | None = timestamp_column(nullable=True)
    closed_by: str | None = Field(default=None, max_length=200)
    closure: str | None = Field(default=None, max_length=20, description="resolved, resent, fallback")
    closure_reason: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    covered_by: str | None = Field(
        default=None, max_length=32, description="closed by a fallback: the delivery that took over"
    )


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
    lease_expires_at: dt.datetime | None = timestamp_column(nullable=True)
    leased_by: str | None = Field(default=None, max_length=200)
    last_error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    channel_message_id: str | None = Field(default=None, max_length=500)
    summary: dict[str, Any] | None = Field(
        default=None, sa_column=Column(JSON, nullable=True), description="what the channel handed over"
    )
    created_at: dt.datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    sent_at: dt.datetime | None = timestamp_column(nullable=True)
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
    #: None for a document that is no invoice (a follow-up notice: `meta["document_kind"]` says so)
    invoice_id: str | None = Field(default=None, max_length=32)
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


class StoredDocument(SQLModel, table=True):
    """A file the gateway keeps (an invoice as it was sent, a proof of delivery), by its SHA-256.

    The bytes live in the document store (`gateway.services.outbound.documents`: a local directory by default,
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
