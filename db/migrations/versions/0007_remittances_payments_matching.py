"""remittances, payments, matching

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-24 18:47:59.429791
"""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "matching_leases",
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("holder", sa.String(length=200), nullable=True),
        sa.Column("expires_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("tenant_id"),
    )
    op.create_table(
        "payer_aliases",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("value", sa.String(length=200), nullable=False),
        sa.Column("customer_key", sa.String(length=200), nullable=False),
        sa.Column("learned_from", sa.String(length=32), nullable=True),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("tenant_id", "kind", "value", name="uq_payer_alias"),
    )
    op.create_table(
        "reference_patterns",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("customer_key", sa.String(length=200), nullable=True),
        sa.Column("regex", sa.String(length=300), nullable=False),
        sa.Column("learned_from", sa.String(length=32), nullable=True),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("tenant_id", "customer_key", "regex", name="uq_reference_pattern"),
    )
    op.create_table(
        "remittance_files",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("payload_sha256", sa.String(length=64), nullable=False),
        sa.Column("document_key", sa.String(length=100), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("format", sa.String(length=40), nullable=True),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("error_field", sa.String(length=300), nullable=True),
        sa.Column("message_id", sa.String(length=200), nullable=True),
        sa.Column("payment_count", sa.Integer(), nullable=False),
        sa.Column("credit_total", sa.String(length=40), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=True),
        sa.Column("received_by", sa.String(length=200), nullable=True),
        sa.Column("received_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("tenant_id", "payload_sha256", name="uq_remittance_file"),
    )
    with op.batch_alter_table("remittance_files", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_remittance_files_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "payments",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("file_id", sa.String(length=32), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("position", sa.String(length=200), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=True),
        sa.Column("duplicate_of", sa.String(length=32), nullable=True),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("direction", sa.String(length=10), nullable=False),
        sa.Column("hint_only", sa.Boolean(), nullable=False),
        sa.Column("amount", sa.String(length=40), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("booking_date", sa.Date(), nullable=True),
        sa.Column("value_date", sa.Date(), nullable=True),
        sa.Column("payer_name", sa.String(length=200), nullable=True),
        sa.Column("payer_account", sa.String(length=50), nullable=True),
        sa.Column("bank_reference", sa.String(length=200), nullable=True),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("customer_key", sa.String(length=200), nullable=True),
        sa.Column("confidence", sa.Float(), nullable=True),
        sa.Column("decision", sa.JSON(), nullable=True),
        sa.Column("applied_amount", sa.String(length=40), nullable=True),
        sa.Column("write_off", sa.String(length=40), nullable=True),
        sa.Column("unapplied", sa.String(length=40), nullable=True),
        sa.Column("decided_at", sa.DateTime(), nullable=True),
        sa.Column("decided_by", sa.String(length=200), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["file_id"],
            ["remittance_files.id"],
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("tenant_id", "fingerprint", name="uq_payment_fingerprint"),
    )
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_payments_customer_key"), ["customer_key"], unique=False)
        batch_op.create_index(batch_op.f("ix_payments_file_id"), ["file_id"], unique=False)
        batch_op.create_index("ix_payments_status", ["tenant_id", "status"], unique=False)

    op.create_table(
        "payment_allocations",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("payment_id", sa.String(length=32), nullable=False),
        sa.Column("invoice_id", sa.String(length=32), nullable=False),
        sa.Column("amount", sa.String(length=40), nullable=False),
        sa.Column("write_off", sa.String(length=40), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("reversed_at", sa.DateTime(), nullable=True),
        sa.Column("reversed_by", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(
            ["invoice_id"],
            ["invoices.id"],
        ),
        sa.ForeignKeyConstraint(
            ["payment_id"],
            ["payments.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("payment_allocations", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_payment_allocations_invoice_id"), ["invoice_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_payment_allocations_payment_id"), ["payment_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_payment_allocations_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "remittance_lines",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("payment_id", sa.String(length=32), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("kid", sa.String(length=35), nullable=True),
        sa.Column("invoice_number", sa.String(length=100), nullable=True),
        sa.Column("document_kind", sa.String(length=20), nullable=True),
        sa.Column("amount", sa.String(length=40), nullable=True),
        sa.Column("document_amount", sa.String(length=40), nullable=True),
        sa.Column("adjustment", sa.String(length=40), nullable=True),
        sa.Column("adjustment_reason", sa.String(length=200), nullable=True),
        sa.Column("text", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["payment_id"],
            ["payments.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("remittance_lines", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_remittance_lines_kid"), ["kid"], unique=False)
        batch_op.create_index(batch_op.f("ix_remittance_lines_payment_id"), ["payment_id"], unique=False)

    with op.batch_alter_table("invoices", schema=None) as batch_op:
        batch_op.add_column(sa.Column("customer_key", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("open_amount", sa.String(length=40), nullable=True))
        batch_op.add_column(
            sa.Column("payment_status", sa.String(length=20), nullable=False, server_default="unpaid")
        )
        batch_op.add_column(sa.Column("paid_at", sa.DateTime(), nullable=True))
        batch_op.create_index(batch_op.f("ix_invoices_customer_key"), ["customer_key"], unique=False)
        batch_op.create_index(batch_op.f("ix_invoices_payment_status"), ["payment_status"], unique=False)
    _backfill_customer_keys()


def _backfill_customer_keys() -> None:
    """Existing invoices get the customer key intake now computes (`Party.customer_key`), frozen here."""
    bind = op.get_bind()
    invoices = sa.table(
        "invoices",
        sa.column("id", sa.String),
        sa.column("payload", sa.Text),
        sa.column("customer_key", sa.String),
    )
    rows = bind.execute(sa.select(invoices.c.id, invoices.c.payload)).all()
    for invoice_id, payload in rows:
        try:
            buyer = json.loads(payload).get("buyer") or {}
        except ValueError:
            continue
        bind.execute(
            sa.update(invoices).where(invoices.c.id == invoice_id).values(customer_key=_customer_key(buyer))
        )


def _customer_key(buyer: dict[str, Any]) -> str:
    legal = buyer.get("legal_registration") or {}
    if legal.get("value"):
        scheme = legal.get("scheme")
        return "org:" + (f"{scheme}:" if scheme else "") + "".join(str(legal["value"]).split()).upper()
    if buyer.get("vat_id"):
        return "vat:" + "".join(str(buyer["vat_id"]).split()).upper()
    return "name:" + " ".join(str(buyer.get("name") or "").split()).casefold()


def downgrade() -> None:
    with op.batch_alter_table("invoices", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_invoices_payment_status"))
        batch_op.drop_index(batch_op.f("ix_invoices_customer_key"))
        batch_op.drop_column("paid_at")
        batch_op.drop_column("payment_status")
        batch_op.drop_column("open_amount")
        batch_op.drop_column("customer_key")

    with op.batch_alter_table("remittance_lines", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_remittance_lines_payment_id"))
        batch_op.drop_index(batch_op.f("ix_remittance_lines_kid"))

    op.drop_table("remittance_lines")
    with op.batch_alter_table("payment_allocations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_payment_allocations_tenant_id"))
        batch_op.drop_index(batch_op.f("ix_payment_allocations_payment_id"))
        batch_op.drop_index(batch_op.f("ix_payment_allocations_invoice_id"))

    op.drop_table("payment_allocations")
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.drop_index("ix_payments_status")
        batch_op.drop_index(batch_op.f("ix_payments_file_id"))
        batch_op.drop_index(batch_op.f("ix_payments_customer_key"))

    op.drop_table("payments")
    with op.batch_alter_table("remittance_files", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_remittance_files_tenant_id"))

    op.drop_table("remittance_files")
    op.drop_table("reference_patterns")
    op.drop_table("payer_aliases")
    op.drop_table("matching_leases")
