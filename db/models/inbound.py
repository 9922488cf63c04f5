"""What comes back: status documents, DSNs, acknowledgements, print returns; proofs of delivery."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    Text,
    UniqueConstraint,
)
from sqlmodel import Field, SQLModel

from db.models.base import UTCDateTime, new_id, timestamp_column, utcnow


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
    signed_at: dt.datetime | None = timestamp_column(nullable=True)
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


class DigipostEventCursor(SQLModel, table=True):
    """How far a Digipost channel's document events have been read and applied: the next poll asks for
    events created from `polled_until` on. Moved in the same transaction as the events it covers are
    applied, so a crash between the two reads the same window again and applies nothing twice."""

    __tablename__ = "digipost_event_cursors"

    channel: str = Field(primary_key=True, max_length=50)
    polled_until: dt.datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    updated_at: dt.datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
