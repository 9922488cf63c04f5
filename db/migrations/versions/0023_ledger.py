"""The receivables journal: vouchers and lines, the source events they post, periods closed by an export, and
the numbered exports kept (issue 20)

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-13 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "ledger_periods",
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("closed_at", sa.DateTime(), nullable=True),
        sa.Column("closed_by", sa.String(length=200), nullable=True),
        sa.Column("export_id", sa.String(length=32), nullable=True),
        sa.PrimaryKeyConstraint("tenant_id", "period"),
    )
    op.create_table(
        "ledger_sources",
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("source_key", sa.String(length=80), nullable=False),
        sa.Column("voucher_id", sa.String(length=32), nullable=True),
        sa.Column("posted_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "source_key"),
    )
    with op.batch_alter_table("ledger_sources", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ledger_sources_voucher_id"), ["voucher_id"], unique=False)

    op.create_table(
        "ledger_exports",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("format", sa.String(length=20), nullable=False),
        sa.Column("period_from", sa.String(length=10), nullable=False),
        sa.Column("period_to", sa.String(length=10), nullable=False),
        sa.Column("voucher_count", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("document_key", sa.String(length=300), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("tenant_id", "number", name="uq_ledger_export_number"),
    )
    op.create_table(
        "ledger_vouchers",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("voucher_date", sa.Date(), nullable=False),
        sa.Column("event_date", sa.Date(), nullable=False),
        sa.Column("voucher_type", sa.String(length=30), nullable=False),
        sa.Column("source_key", sa.String(length=80), nullable=False),
        sa.Column("customer_key", sa.String(length=200), nullable=True),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("tenant_id", "number", name="uq_ledger_voucher_number"),
    )
    with op.batch_alter_table("ledger_vouchers", schema=None) as batch_op:
        batch_op.create_index(
            "ix_ledger_vouchers_date", ["tenant_id", "voucher_date", "number"], unique=False
        )
        batch_op.create_index("ix_ledger_vouchers_period", ["tenant_id", "period", "number"], unique=False)

    op.create_table(
        "ledger_lines",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("voucher_id", sa.String(length=32), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("line_no", sa.Integer(), nullable=False),
        sa.Column("voucher_date", sa.Date(), nullable=False),
        sa.Column("account", sa.String(length=10), nullable=False),
        sa.Column("debit", sa.String(length=40), nullable=False),
        sa.Column("credit", sa.String(length=40), nullable=False),
        sa.Column("tax_code", sa.String(length=3), nullable=True),
        sa.Column("tax_rate", sa.String(length=10), nullable=True),
        sa.Column("tax_base", sa.String(length=40), nullable=True),
        sa.Column("tax_amount", sa.String(length=40), nullable=True),
        sa.Column("customer_key", sa.String(length=200), nullable=True),
        sa.Column("document_number", sa.String(length=100), nullable=True),
        sa.Column("kid", sa.String(length=35), nullable=True),
        sa.Column("due_date", sa.Date(), nullable=True),
        sa.Column("text", sa.String(length=300), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=True),
        sa.Column("currency_amount", sa.String(length=40), nullable=True),
        sa.Column("exchange_rate", sa.String(length=40), nullable=True),
        sa.ForeignKeyConstraint(
            ["voucher_id"],
            ["ledger_vouchers.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("ledger_lines", schema=None) as batch_op:
        batch_op.create_index(
            "ix_ledger_lines_account", ["tenant_id", "account", "voucher_date"], unique=False
        )
        batch_op.create_index("ix_ledger_lines_voucher", ["voucher_id", "line_no"], unique=False)


def downgrade() -> None:

    with op.batch_alter_table("ledger_lines", schema=None) as batch_op:
        batch_op.drop_index("ix_ledger_lines_voucher")
        batch_op.drop_index("ix_ledger_lines_account")

    op.drop_table("ledger_lines")
    with op.batch_alter_table("ledger_vouchers", schema=None) as batch_op:
        batch_op.drop_index("ix_ledger_vouchers_period")
        batch_op.drop_index("ix_ledger_vouchers_date")

    op.drop_table("ledger_vouchers")
    op.drop_table("ledger_exports")
    with op.batch_alter_table("ledger_sources", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ledger_sources_voucher_id"))

    op.drop_table("ledger_sources")
    op.drop_table("ledger_periods")
