"""EDI trading partners, their control-number counters and the interchanges sent and received."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    Index,
    UniqueConstraint,
)
from sqlmodel import Field, SQLModel

from db.models.base import UTCDateTime, new_id, timestamp_column, utcnow


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
    ack_due_at: dt.datetime | None = timestamp_column(nullable=True)
    ack_details: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    ack_document_id: str | None = Field(default=None, max_length=32)
    inbound_document_id: str | None = Field(default=None, max_length=32, description="direction in: the file")
    created_at: dt.datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    updated_at: dt.datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
