"""Tenants and their API tokens, receiver profiles, the local PEPPOL participant registry."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    Index,
    Text,
    UniqueConstraint,
)
from sqlmodel import Field, SQLModel

from db.models.base import UTCDateTime, timestamp_column, utcnow


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
    revoked_at: dt.datetime | None = timestamp_column(nullable=True)


class Receiver(SQLModel, table=True):
    """A tenant's customer as a receiver of invoices: `schemas.canonical.ReceiverProfile` as JSON."""

    __tablename__ = "receivers"
    __table_args__ = (UniqueConstraint("tenant_id", "receiver_id", name="uq_receiver_per_tenant"),)

    id: int | None = Field(default=None, primary_key=True)
    tenant_id: str = Field(foreign_key="tenants.id", max_length=64)
    receiver_id: str = Field(max_length=100)
    profile: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    updated_at: dt.datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


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


class TenantEvent(SQLModel, table=True):
    """Who changed a tenant's configuration (its settings, its webhook endpoints), when, why, and what
    changed: the history of what is not a delivery, written by the API, the command line and the console."""

    __tablename__ = "tenant_events"
    __table_args__ = (Index("ix_tenant_events_tenant_at", "tenant_id", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    tenant_id: str = Field(max_length=64)
    at: dt.datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    actor: str = Field(max_length=200, description="api:<token name>, cli:<user>, console:<email>")
    subject: str = Field(max_length=100, description="settings, or webhook <endpoint id>")
    action: str = Field(max_length=100, description="what happened, in words: settings changed, …")
    reason: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    changes: dict[str, Any] | None = Field(
        default=None, sa_column=Column(JSON, nullable=True), description="{field: [before, after]}"
    )
