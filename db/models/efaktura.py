"""The tenant's eFaktura recipient registry: what a provider's recipient search said about each consumer."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Column, UniqueConstraint
from sqlmodel import Field, SQLModel

from db.models.base import UTCDateTime, utcnow


class EfakturaRecipient(SQLModel, table=True):
    """One consumer as the eFaktura recipient search answered for one tenant (the issuer).

    `lookup_key` is what a send looks the consumer up by: `nin:<national identity number>` or
    `addr:<name>|<postal code>|<street>` (folded). The national identity number is kept because the search
    is by it; it is never shown or logged in full (`schemas.national_id.mask_national_id`).
    """

    __tablename__ = "efaktura_recipients"
    __table_args__ = (UniqueConstraint("tenant_id", "lookup_key", name="uq_efaktura_recipient_key"),)

    id: int | None = Field(default=None, primary_key=True)
    tenant_id: str = Field(max_length=64, index=True)
    lookup_key: str = Field(max_length=400)
    national_id: str | None = Field(default=None, max_length=11)
    name: str | None = Field(default=None, max_length=200)
    street: str | None = Field(default=None, max_length=200)
    postal_code: str | None = Field(default=None, max_length=20)
    efaktura_id: str | None = Field(default=None, max_length=100)
    #: found | not-found | blocked (`channels.context.EfakturaStatus`)
    status: str = Field(max_length=20)
    #: import (a recipient-search file), http (the search before a send), receipt (a provider's rejection)
    source: str = Field(max_length=20)
    note: str | None = Field(default=None, max_length=500)
    updated_at: dt.datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
