"""Receivables follow-up: each invoice's dunning state, the notices written, every decision a run took,
disputes with their messages, promises to pay and hand-offs to a collection agency.

Amounts are exact decimal text, as everywhere in the store. `followup_states` holds one row per invoice
that follow-up has touched (level reached, fees charged, pauses): a daily run reads it beside the open
invoices instead of re-reading every notice, so a run over a million open invoices stays one pass.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Column, Date, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from db.models.base import UTCDateTime, new_id, utcnow


class FollowUpState(SQLModel, table=True):
    """Where one invoice stands in follow-up."""

    __tablename__ = "followup_states"
    __table_args__ = (Index("ix_followup_states_tenant_next", "tenant_id", "next_action_on"),)

    invoice_id: str = Field(foreign_key="invoices.id", primary_key=True, max_length=32)
    tenant_id: str = Field(foreign_key="tenants.id", max_length=64)
    level: int = Field(default=0, description="the highest level a notice was sent at (0: none yet)")
    last_notice_id: str | None = Field(default=None, max_length=32)
    last_notice_on: dt.date | None = Field(default=None, sa_column=Column(Date(), nullable=True))
    last_deadline: dt.date | None = Field(
        default=None, sa_column=Column(Date(), nullable=True), description="the deadline the last notice gave"
    )
    fees_charged: int = Field(default=0, description="reminder/warning fees charged on this claim")
    fee_total: str = Field(default="0", max_length=40)
    interest_total: str = Field(default="0", max_length=40)
    paused_days: int = Field(default=0, description="days follow-up was paused by disputes, added to delays")
    next_action_on: dt.date | None = Field(default=None, sa_column=Column(Date(), nullable=True))
    held: bool = Field(default=False, description="a person stopped follow-up on this invoice")
    handed_off_at: dt.datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    updated_at: dt.datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


class FollowUpRun(SQLModel, table=True):
    """One daily run (or a dry run) and what it counted."""

    __tablename__ = "followup_runs"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    tenant_id: str = Field(foreign_key="tenants.id", index=True, max_length=64)
    run_on: dt.date = Field(sa_column=Column(Date(), nullable=False))
    dry_run: bool = False
    actor: str = Field(max_length=200)
    started_at: dt.datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    finished_at: dt.datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    counts: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class ReminderNotice(SQLModel, table=True):
    """One notice to one customer at one level, for one or several invoices (`reminder_notice_items`)."""

    __tablename__ = "reminder_notices"
    __table_args__ = (
        Index("ix_reminder_notices_tenant_status", "tenant_id", "status", "created_at"),
        # the portal's statements and reminders of one customer, newest first
        Index("ix_reminder_notices_receiver", "tenant_id", "receiver_id", "notice_on"),
    )

    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    tenant_id: str = Field(foreign_key="tenants.id", max_length=64)
    run_id: str | None = Field(default=None, foreign_key="followup_runs.id", max_length=32)
    customer_key: str = Field(max_length=200, index=True)
    receiver_id: str | None = Field(default=None, max_length=100)
    level: int
    kind: str = Field(max_length=30, description="schemas.followup.NoticeKind")
    status: str = Field(max_length=20, description="schemas.followup.NoticeStatus")
    notice_on: dt.date = Field(sa_column=Column(Date(), nullable=False))
    deadline: dt.date = Field(
        sa_column=Column(Date(), nullable=False), description="the new due date it gives"
    )
    currency: str = Field(max_length=3)
    fee: str = Field(default="0", max_length=40)
    interest: str = Field(default="0", max_length=40)
    compensation: str = Field(default="0", max_length=40, description="B2B fixed compensation claimed")
    open_total: str = Field(max_length=40, description="the open amounts of the invoices reminded")
    total: str = Field(max_length=40, description="open total + fee + interest + compensation")
    kid: str | None = Field(default=None, max_length=25)
    channel: str | None = Field(default=None, max_length=50)
    format: str | None = Field(default=None, max_length=50)
    delivery_id: str | None = Field(default=None, foreign_key="deliveries.id", max_length=32, index=True)
    approved_by: str | None = Field(default=None, max_length=200)
    cancelled_by: str | None = Field(default=None, max_length=200)
    cancel_reason: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    created_at: dt.datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    updated_at: dt.datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


class ReminderNoticeItem(SQLModel, table=True):
    """One invoice on a notice, with what the notice claims for it."""

    __tablename__ = "reminder_notice_items"

    id: int | None = Field(default=None, primary_key=True)
    notice_id: str = Field(foreign_key="reminder_notices.id", index=True, max_length=32)
    invoice_id: str = Field(foreign_key="invoices.id", index=True, max_length=32)
    open_amount: str = Field(max_length=40)
    fee: str = Field(default="0", max_length=40)
    interest: str = Field(default="0", max_length=40)
    days_late: int = 0


class FollowUpDecision(SQLModel, table=True):
    """What a run decided about one invoice: a notice, or why none (paid, disputed, promised, rule …)."""

    __tablename__ = "followup_decisions"
    __table_args__ = (Index("ix_followup_decisions_invoice", "invoice_id", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    run_id: str = Field(foreign_key="followup_runs.id", index=True, max_length=32)
    tenant_id: str = Field(max_length=64)
    invoice_id: str = Field(max_length=32)
    level: int | None = None
    decision: str = Field(max_length=20, description="notice, skipped, refused, handed_off")
    reason: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    rule: str | None = Field(default=None, max_length=60, description="the rule that refused a notice")
    notice_id: str | None = Field(default=None, max_length=32)


class Dispute(SQLModel, table=True):
    """A disputed invoice (or part of it): follow-up stops on the disputed amount until it is resolved."""

    __tablename__ = "disputes"
    __table_args__ = (Index("ix_disputes_tenant_status", "tenant_id", "status", "opened_at"),)

    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    tenant_id: str = Field(foreign_key="tenants.id", max_length=64)
    invoice_id: str = Field(foreign_key="invoices.id", index=True, max_length=32)
    category: str = Field(max_length=20, description="schemas.followup.DisputeCategory")
    origin: str = Field(max_length=20, description="schemas.followup.DisputeOrigin")
    reason: str = Field(sa_column=Column(Text, nullable=False))
    amount: str | None = Field(
        default=None, max_length=40, description="the disputed amount; None: all of it"
    )
    status: str = Field(max_length=20, description="schemas.followup.DisputeStatus")
    owner: str | None = Field(default=None, max_length=200)
    due_on: dt.date | None = Field(default=None, sa_column=Column(Date(), nullable=True))
    opened_by: str = Field(max_length=200)
    opened_at: dt.datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    resolved_at: dt.datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    resolved_by: str | None = Field(default=None, max_length=200)
    resolution_note: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    credit_amount: str | None = Field(default=None, max_length=40)
    credit_requested_by: str | None = Field(default=None, max_length=200)
    credit_note_invoice_id: str | None = Field(default=None, max_length=32)
    paused_days: int = Field(default=0, description="days follow-up was paused, counted when it resumed")


class DisputeMessage(SQLModel, table=True):
    """One entry of a dispute's history: a message, an attachment, or a change of owner or status."""

    __tablename__ = "dispute_messages"

    id: int | None = Field(default=None, primary_key=True)
    dispute_id: str = Field(foreign_key="disputes.id", index=True, max_length=32)
    at: dt.datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    author: str = Field(max_length=200)
    side: str = Field(
        max_length=20, description="customer, internal, or seller (an answer the customer sees in the portal)"
    )
    text: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    attachment_key: str | None = Field(default=None, max_length=200, description="document store key")
    attachment_name: str | None = Field(default=None, max_length=255)
    attachment_type: str | None = Field(default=None, max_length=100)
    event: str | None = Field(default=None, max_length=30, description="opened, note, owner, resolved …")


class PaymentPromise(SQLModel, table=True):
    """A customer's promise to pay an amount by a date: follow-up waits until then."""

    __tablename__ = "payment_promises"
    __table_args__ = (Index("ix_payment_promises_tenant_status", "tenant_id", "status", "promised_on"),)

    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    tenant_id: str = Field(foreign_key="tenants.id", max_length=64)
    invoice_id: str = Field(foreign_key="invoices.id", index=True, max_length=32)
    customer_key: str | None = Field(default=None, max_length=200, index=True)
    promised_on: dt.date = Field(sa_column=Column(Date(), nullable=False))
    amount: str = Field(max_length=40)
    status: str = Field(max_length=20, description="schemas.followup.PromiseStatus")
    created_by: str = Field(max_length=200)
    created_at: dt.datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    resolved_at: dt.datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))


class CollectionHandoff(SQLModel, table=True):
    """An invoice handed to a collection agency in an export: follow-up stops for it."""

    __tablename__ = "collection_handoffs"
    __table_args__ = (UniqueConstraint("tenant_id", "invoice_id", name="uq_collection_handoff"),)

    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    tenant_id: str = Field(foreign_key="tenants.id", max_length=64)
    invoice_id: str = Field(foreign_key="invoices.id", max_length=32)
    export_id: str = Field(max_length=32, index=True)
    handed_off_by: str = Field(max_length=200)
    handed_off_at: dt.datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False)
    )
