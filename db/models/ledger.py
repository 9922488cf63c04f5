"""The receivables journal: vouchers and their lines, which source event each voucher posts, the periods
(open or closed by an export) and the numbered exports kept.

Why posted rows and not a journal computed on demand: a period handed to the ledger must never change
(re-exporting it gives the same bytes), while the gateway's own rows keep moving (an allocation is reversed
next month, a notice comes back). Each source event (an invoice, a payment, an allocation, a reversal, a
notice's charges) is posted once, into the first open period on or after its date; later corrections are new
vouchers, never edits. Amounts are exact decimal text in the accounting currency.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Column, Date, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from db.models.base import UTCDateTime, new_id, utcnow


class LedgerVoucher(SQLModel, table=True):
    """One balanced voucher (bilag): the lines of one source event, numbered per tenant in posting order."""

    __tablename__ = "ledger_vouchers"
    __table_args__ = (
        UniqueConstraint("tenant_id", "number", name="uq_ledger_voucher_number"),
        Index("ix_ledger_vouchers_period", "tenant_id", "period", "number"),
        Index("ix_ledger_vouchers_date", "tenant_id", "voucher_date", "number"),
    )

    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    tenant_id: str = Field(foreign_key="tenants.id", max_length=64)
    number: int = Field(description="1, 2, … per tenant, in posting order")
    period: str = Field(max_length=7, description="YYYY-MM: the open period it was posted into")
    voucher_date: dt.date = Field(sa_column=Column(Date(), nullable=False))
    event_date: dt.date = Field(
        sa_column=Column(Date(), nullable=False),
        description="the source event's own date; later than voucher_date never, earlier when the event's "
        "period was already closed and the voucher landed in the next open one",
    )
    voucher_type: str = Field(max_length=30, description="schemas.ledger.VoucherType")
    source_key: str = Field(max_length=80, description="the event posted, e.g. invoice:<id>")
    customer_key: str | None = Field(default=None, max_length=200)
    description: str = Field(default="", sa_column=Column(Text, nullable=False))
    created_at: dt.datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


class LedgerLine(SQLModel, table=True):
    """One line of a voucher: one account, a debit or a credit (the other is "0")."""

    __tablename__ = "ledger_lines"
    __table_args__ = (
        Index("ix_ledger_lines_voucher", "voucher_id", "line_no"),
        Index("ix_ledger_lines_account", "tenant_id", "account", "voucher_date"),
    )

    id: int | None = Field(default=None, primary_key=True)
    voucher_id: str = Field(foreign_key="ledger_vouchers.id", max_length=32)
    tenant_id: str = Field(max_length=64)
    line_no: int
    voucher_date: dt.date = Field(sa_column=Column(Date(), nullable=False), description="as the voucher's")
    account: str = Field(max_length=10)
    debit: str = Field(default="0", max_length=40)
    credit: str = Field(default="0", max_length=40)
    tax_code: str | None = Field(default=None, max_length=3, description="on revenue lines")
    tax_rate: str | None = Field(default=None, max_length=10)
    tax_base: str | None = Field(default=None, max_length=40, description="the revenue the VAT is on")
    tax_amount: str | None = Field(default=None, max_length=40, description="the VAT on that base")
    customer_key: str | None = Field(default=None, max_length=200, description="on receivables lines")
    document_number: str | None = Field(default=None, max_length=100, description="invoice / notice no.")
    kid: str | None = Field(default=None, max_length=35)
    due_date: dt.date | None = Field(default=None, sa_column=Column(Date(), nullable=True))
    text: str = Field(default="", max_length=300)
    currency: str | None = Field(default=None, max_length=3, description="a foreign currency's code")
    currency_amount: str | None = Field(default=None, max_length=40, description="signed: + debit")
    exchange_rate: str | None = Field(default=None, max_length=40)


class LedgerSource(SQLModel, table=True):
    """A source event and the voucher that posted it (none: it needed no voucher, e.g. an allocation
    reversed before it was ever posted). A payment voucher also registers the allocations it covered."""

    __tablename__ = "ledger_sources"

    tenant_id: str = Field(primary_key=True, max_length=64)
    source_key: str = Field(primary_key=True, max_length=80)
    voucher_id: str | None = Field(default=None, max_length=32, index=True)
    posted_at: dt.datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


class LedgerPeriod(SQLModel, table=True):
    """A month of a tenant's journal; closed by its journal export, never reopened."""

    __tablename__ = "ledger_periods"

    tenant_id: str = Field(primary_key=True, max_length=64)
    period: str = Field(primary_key=True, max_length=7)
    status: str = Field(default="open", max_length=10, description="open, closed")
    closed_at: dt.datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    closed_by: str | None = Field(default=None, max_length=200)
    export_id: str | None = Field(default=None, max_length=32, description="the export that closed it")


class LedgerExport(SQLModel, table=True):
    """A numbered export (journal file or SAF-T file) and its bytes, kept so a re-export is identical."""

    __tablename__ = "ledger_exports"
    __table_args__ = (UniqueConstraint("tenant_id", "number", name="uq_ledger_export_number"),)

    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    tenant_id: str = Field(foreign_key="tenants.id", max_length=64)
    number: int = Field(description="1, 2, … per tenant")
    kind: str = Field(max_length=20, description="journal, saft")
    format: str = Field(max_length=20, description="gbat10, csv, json, saft-1.30")
    period_from: str = Field(max_length=10, description="YYYY-MM (journal) or YYYY-MM-DD (SAF-T)")
    period_to: str = Field(max_length=10)
    voucher_count: int = 0
    sha256: str = Field(max_length=64)
    size: int
    document_key: str = Field(max_length=300, description="where the document store keeps the bytes")
    created_by: str = Field(max_length=200)
    created_at: dt.datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
