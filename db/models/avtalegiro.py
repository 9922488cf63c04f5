"""AvtaleGiro: the payers' mandates as Nets' agreements files describe them, withdrawn claims waiting
for the next claim file, and the counted numbers each claim file goes under."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from db.models.base import UTCDateTime, new_id, utcnow


class AvtaleGiroMandate(SQLModel, table=True):
    """One payer's AvtaleGiro mandate with one tenant, by KID: the latest word of Nets' agreements files.

    A deleted mandate keeps its row (status `deleted`), so a claim refused for it says so plainly and the
    history of where the word came from (`source_file`) stays.
    """

    __tablename__ = "avtalegiro_mandates"
    __table_args__ = (UniqueConstraint("tenant_id", "kid", name="uq_avtalegiro_mandate"),)

    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    tenant_id: str = Field(foreign_key="tenants.id", max_length=64)
    kid: str = Field(max_length=25)
    status: str = Field(max_length=10, description="active, deleted")
    notify: bool = Field(default=False, description="the payer wants the bank to notify each claim")
    registration: str = Field(
        max_length=20, description="what Nets said last: new or updated, deleted, active"
    )
    source_file: str | None = Field(default=None, max_length=255)
    created_at: dt.datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    updated_at: dt.datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


class AvtaleGiroCancellation(SQLModel, table=True):
    """A claim handed over to Nets and withdrawn: queued (`batch_id` empty), fixed into a closed batch,
    and `sent` once that batch's file was handed over. The claim's fields are a copy of what went."""

    __tablename__ = "avtalegiro_cancellations"
    __table_args__ = (Index("ix_avtalegiro_cancellations_waiting", "tenant_id", "channel", "status"),)

    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    tenant_id: str = Field(foreign_key="tenants.id", max_length=64)
    channel: str = Field(max_length=50)
    batch_key: str = Field(max_length=100)
    delivery_id: str = Field(foreign_key="deliveries.id", index=True, max_length=32)
    invoice_id: str = Field(max_length=32)
    attempt: int
    kid: str = Field(max_length=25)
    due_date: dt.date
    amount: str = Field(max_length=40)
    reference: str | None = Field(default=None, max_length=25)
    payer_name: str | None = Field(default=None, max_length=10)
    status: str = Field(max_length=10, description="queued, closed, sent")
    due_at: dt.datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    batch_id: str | None = Field(default=None, max_length=200)
    requested_by: str = Field(max_length=200)
    created_at: dt.datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    sent_at: dt.datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))


class AvtaleGiroCounter(SQLModel, table=True):
    """The last number a data transmitter used, per kind (`transmission`, `assignment`).

    Nets refuses a transmission number the data transmitter has used before (and an assignment number used
    within a year), so numbers are counted, never derived: one `UPDATE … RETURNING` in the transaction that
    numbers a batch, so two workers never get the same number and none is handed out twice.
    """

    __tablename__ = "avtalegiro_counters"

    data_transmitter: str = Field(primary_key=True, max_length=8)
    kind: str = Field(primary_key=True, max_length=20)
    last_value: int = 0


class AvtaleGiroTransmission(SQLModel, table=True):
    """The numbers a closed AvtaleGiro batch's claim file goes under, fixed the first time it is handed over.

    Written (and committed) before the channel writes the file, so every later try of the batch — also
    after a crash between the numbering and the hand-over — writes the same numbers, and the file Nets
    may already hold is the same file.
    """

    __tablename__ = "avtalegiro_transmissions"
    __table_args__ = (
        UniqueConstraint("data_transmitter", "transmission_number", name="uq_avtalegiro_transmission"),
    )

    batch_id: str = Field(foreign_key="batches.id", primary_key=True, max_length=200)
    data_transmitter: str = Field(max_length=8)
    transmission_number: int
    #: the claims' assignment (type 00); None when the batch carries only cancellations
    claims_assignment: int | None = None
    #: the cancellations' assignment (type 36); None when the batch withdraws nothing
    cancellations_assignment: int | None = None
    created_at: dt.datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
