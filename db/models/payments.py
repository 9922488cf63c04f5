"""Remittance files, payments and their lines, allocations, what matching learned, matching leases."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Index,
    Text,
    UniqueConstraint,
    false,
)
from sqlmodel import Field, SQLModel

from db.models.base import UTCDateTime, new_id, timestamp_column, utcnow


class RemittanceFile(SQLModel, table=True):
    """A remittance file as received (camt, OCR giro, REMADV, 820, …): accepted whole or rejected whole.

    The bytes are kept in the document store (`document_key`) either way, so a rejected file can be
    inspected — unless the tenant's quota for refused files (`GATEWAY_REFUSED_REMITTANCE_QUOTA_BYTES`) was
    full: then `document_key` is empty and only the size, hash and reason are kept. The same bytes twice for
    a tenant are one row (`payload_sha256`) and are booked once.
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
    #: what the sender should hear about an accepted file read with tolerance (a camt whose statuses do not
    #: follow its declared version, an entry whose status cannot be told)
    warnings: list[str] | None = Field(default=None, sa_column=Column(JSON, nullable=True))


class PaymentRecord(SQLModel, table=True):
    """One payment read from a remittance file, and what matching decided about it.

    `fingerprint` identifies the same money movement arriving again in another file (a bank's reference
    with amount and date); such a payment is kept with `duplicate_of` and never matched. `decision` is the
    matching engine's explained decision (evidence, proposal, suggestions) as JSON.
    """

    __tablename__ = "payments"
    __table_args__ = (
        UniqueConstraint("tenant_id", "fingerprint", name="uq_payment_fingerprint"),
        Index("ix_payments_status", "tenant_id", "status", "created_at", "decided_by", "false_automatic"),
        Index("ix_payments_file_status", "file_id", "status", "tenant_id"),
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
        description="new, applied, needs_approval, exception, ignored, duplicate, resolved, hint, reconciled",
    )
    customer_key: str | None = Field(default=None, max_length=200, index=True)
    confidence: float | None = None
    decision: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    applied_amount: str | None = Field(default=None, max_length=40)
    write_off: str | None = Field(default=None, max_length=40)
    unapplied: str | None = Field(default=None, max_length=40)
    decided_at: dt.datetime | None = timestamp_column(nullable=True)
    decided_by: str | None = Field(default=None, max_length=200)
    note: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    created_at: dt.datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    false_automatic: bool = Field(
        default=False,
        sa_column=Column(Boolean, nullable=False, server_default=false()),
        description="matching applied it by itself and a person reversed or re-allocated it: counted "
        "against the automatic rate without reading `decision`",
    )


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
    reversed_at: dt.datetime | None = timestamp_column(nullable=True)
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


class PayerObservation(SQLModel, table=True):
    """A payer identity seen on a confident automatic application (issue 22): this account (or name) paid
    this customer's item, named by a structured reference that fits the amount.

    Learned identities are derived, never stored as a verdict: an account whose standing observations all
    name one customer identifies it; one seen for several customers is shared and identifies no one (a
    payment service, a bank's collective account). Reversing the application withdraws the observation,
    so what a wrong application taught is forgotten with it.
    """

    __tablename__ = "payer_observations"
    __table_args__ = (
        Index("ix_payer_observations_value", "tenant_id", "kind", "value"),
        Index("ix_payer_observations_payment", "payment_id"),
    )

    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    tenant_id: str = Field(foreign_key="tenants.id", max_length=64)
    kind: str = Field(max_length=10, description="account, name")
    value: str = Field(max_length=200, description="normalised account or name key")
    customer_key: str = Field(max_length=200)
    payment_id: str = Field(max_length=32, description="the payment whose automatic application showed it")
    observed_at: dt.datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    withdrawn_at: dt.datetime | None = timestamp_column(nullable=True)
    withdrawn_by: str | None = Field(default=None, max_length=200)


class CustomerGroupLink(SQLModel, table=True):
    """A customer whose invoices a parent (or another group member) may pay (issue 22).

    From a receiver profile's `parent_customer`, an API call, or learned when a person resolves a payment
    from one customer onto another's items. Matching searches the parent's group when the parent pays.
    """

    __tablename__ = "customer_groups"
    __table_args__ = (UniqueConstraint("tenant_id", "customer_key", "parent_key", name="uq_customer_group"),)

    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    tenant_id: str = Field(foreign_key="tenants.id", max_length=64)
    customer_key: str = Field(max_length=200, description="the member (a subsidiary)")
    parent_key: str = Field(max_length=200, description="the customer that pays for it")
    source: str = Field(max_length=20, description="profile, api, resolution")
    learned_from: str | None = Field(default=None, max_length=32, description="the payment resolved")
    created_by: str = Field(max_length=200)
    created_at: dt.datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


class MatchingLease(SQLModel, table=True):
    """One matching run per tenant at a time: two runs on stale open amounts could pay an invoice twice."""

    __tablename__ = "matching_leases"

    tenant_id: str = Field(primary_key=True, max_length=64)
    holder: str | None = Field(default=None, max_length=200)
    expires_at: dt.datetime | None = timestamp_column(nullable=True)
