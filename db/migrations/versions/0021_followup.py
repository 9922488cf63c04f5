"""Receivables follow-up: dunning state per invoice, runs and their decisions, reminder notices, disputes with
their messages, promises to pay and collection hand-offs

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-11 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "followup_runs",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("run_on", sa.Date(), nullable=False),
        sa.Column("dry_run", sa.Boolean(), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.Column("counts", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_followup_runs_tenant_id"), "followup_runs", ["tenant_id"], unique=False)
    op.create_table(
        "collection_handoffs",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("invoice_id", sa.String(length=32), nullable=False),
        sa.Column("export_id", sa.String(length=32), nullable=False),
        sa.Column("handed_off_by", sa.String(length=200), nullable=False),
        sa.Column("handed_off_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["invoice_id"],
            ["invoices.id"],
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("tenant_id", "invoice_id", name="uq_collection_handoff"),
    )
    op.create_index(
        op.f("ix_collection_handoffs_export_id"), "collection_handoffs", ["export_id"], unique=False
    )
    op.create_table(
        "disputes",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("invoice_id", sa.String(length=32), nullable=False),
        sa.Column("category", sa.String(length=20), nullable=False),
        sa.Column("origin", sa.String(length=20), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("amount", sa.String(length=40), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("owner", sa.String(length=200), nullable=True),
        sa.Column("due_on", sa.Date(), nullable=True),
        sa.Column("opened_by", sa.String(length=200), nullable=False),
        sa.Column("opened_at", sa.DateTime(), nullable=False),
        sa.Column("resolved_at", sa.DateTime(), nullable=True),
        sa.Column("resolved_by", sa.String(length=200), nullable=True),
        sa.Column("resolution_note", sa.Text(), nullable=True),
        sa.Column("credit_amount", sa.String(length=40), nullable=True),
        sa.Column("credit_requested_by", sa.String(length=200), nullable=True),
        sa.Column("credit_note_invoice_id", sa.String(length=32), nullable=True),
        sa.Column("paused_days", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["invoice_id"],
            ["invoices.id"],
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_disputes_invoice_id"), "disputes", ["invoice_id"], unique=False)
    op.create_index(
        "ix_disputes_tenant_status", "disputes", ["tenant_id", "status", "opened_at"], unique=False
    )
    op.create_table(
        "followup_decisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.String(length=32), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("invoice_id", sa.String(length=32), nullable=False),
        sa.Column("level", sa.Integer(), nullable=True),
        sa.Column("decision", sa.String(length=20), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("rule", sa.String(length=60), nullable=True),
        sa.Column("notice_id", sa.String(length=32), nullable=True),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["followup_runs.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_followup_decisions_invoice", "followup_decisions", ["invoice_id", "id"], unique=False)
    op.create_index(op.f("ix_followup_decisions_run_id"), "followup_decisions", ["run_id"], unique=False)
    op.create_table(
        "followup_states",
        sa.Column("invoice_id", sa.String(length=32), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("last_notice_id", sa.String(length=32), nullable=True),
        sa.Column("last_notice_on", sa.Date(), nullable=True),
        sa.Column("last_deadline", sa.Date(), nullable=True),
        sa.Column("fees_charged", sa.Integer(), nullable=False),
        sa.Column("fee_total", sa.String(length=40), nullable=False),
        sa.Column("interest_total", sa.String(length=40), nullable=False),
        sa.Column("paused_days", sa.Integer(), nullable=False),
        sa.Column("next_action_on", sa.Date(), nullable=True),
        sa.Column("held", sa.Boolean(), nullable=False),
        sa.Column("handed_off_at", sa.DateTime(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["invoice_id"],
            ["invoices.id"],
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
        ),
        sa.PrimaryKeyConstraint("invoice_id"),
    )
    op.create_index(
        "ix_followup_states_tenant_next", "followup_states", ["tenant_id", "next_action_on"], unique=False
    )
    op.create_table(
        "payment_promises",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("invoice_id", sa.String(length=32), nullable=False),
        sa.Column("customer_key", sa.String(length=200), nullable=True),
        sa.Column("promised_on", sa.Date(), nullable=False),
        sa.Column("amount", sa.String(length=40), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("resolved_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["invoice_id"],
            ["invoices.id"],
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        op.f("ix_payment_promises_customer_key"), "payment_promises", ["customer_key"], unique=False
    )
    op.create_index(op.f("ix_payment_promises_invoice_id"), "payment_promises", ["invoice_id"], unique=False)
    op.create_index(
        "ix_payment_promises_tenant_status",
        "payment_promises",
        ["tenant_id", "status", "promised_on"],
        unique=False,
    )
    op.create_table(
        "dispute_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dispute_id", sa.String(length=32), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("author", sa.String(length=200), nullable=False),
        sa.Column("side", sa.String(length=20), nullable=False),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("attachment_key", sa.String(length=200), nullable=True),
        sa.Column("attachment_name", sa.String(length=255), nullable=True),
        sa.Column("attachment_type", sa.String(length=100), nullable=True),
        sa.Column("event", sa.String(length=30), nullable=True),
        sa.ForeignKeyConstraint(
            ["dispute_id"],
            ["disputes.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_dispute_messages_dispute_id"), "dispute_messages", ["dispute_id"], unique=False)
    op.create_table(
        "reminder_notices",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("run_id", sa.String(length=32), nullable=True),
        sa.Column("customer_key", sa.String(length=200), nullable=False),
        sa.Column("receiver_id", sa.String(length=100), nullable=True),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("notice_on", sa.Date(), nullable=False),
        sa.Column("deadline", sa.Date(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("fee", sa.String(length=40), nullable=False),
        sa.Column("interest", sa.String(length=40), nullable=False),
        sa.Column("compensation", sa.String(length=40), nullable=False),
        sa.Column("open_total", sa.String(length=40), nullable=False),
        sa.Column("total", sa.String(length=40), nullable=False),
        sa.Column("kid", sa.String(length=25), nullable=True),
        sa.Column("channel", sa.String(length=50), nullable=True),
        sa.Column("format", sa.String(length=50), nullable=True),
        sa.Column("delivery_id", sa.String(length=32), nullable=True),
        sa.Column("approved_by", sa.String(length=200), nullable=True),
        sa.Column("cancelled_by", sa.String(length=200), nullable=True),
        sa.Column("cancel_reason", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["delivery_id"],
            ["deliveries.id"],
        ),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["followup_runs.id"],
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        op.f("ix_reminder_notices_customer_key"), "reminder_notices", ["customer_key"], unique=False
    )
    op.create_index(
        op.f("ix_reminder_notices_delivery_id"), "reminder_notices", ["delivery_id"], unique=False
    )
    op.create_index(
        "ix_reminder_notices_tenant_status",
        "reminder_notices",
        ["tenant_id", "status", "created_at"],
        unique=False,
    )
    op.create_table(
        "reminder_notice_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("notice_id", sa.String(length=32), nullable=False),
        sa.Column("invoice_id", sa.String(length=32), nullable=False),
        sa.Column("open_amount", sa.String(length=40), nullable=False),
        sa.Column("fee", sa.String(length=40), nullable=False),
        sa.Column("interest", sa.String(length=40), nullable=False),
        sa.Column("days_late", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["invoice_id"],
            ["invoices.id"],
        ),
        sa.ForeignKeyConstraint(
            ["notice_id"],
            ["reminder_notices.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        op.f("ix_reminder_notice_items_invoice_id"), "reminder_notice_items", ["invoice_id"], unique=False
    )
    op.create_index(
        op.f("ix_reminder_notice_items_notice_id"), "reminder_notice_items", ["notice_id"], unique=False
    )


def downgrade() -> None:

    op.drop_index(op.f("ix_reminder_notice_items_notice_id"), table_name="reminder_notice_items")
    op.drop_index(op.f("ix_reminder_notice_items_invoice_id"), table_name="reminder_notice_items")
    op.drop_table("reminder_notice_items")
    op.drop_index("ix_reminder_notices_tenant_status", table_name="reminder_notices")
    op.drop_index(op.f("ix_reminder_notices_delivery_id"), table_name="reminder_notices")
    op.drop_index(op.f("ix_reminder_notices_customer_key"), table_name="reminder_notices")
    op.drop_table("reminder_notices")
    op.drop_index(op.f("ix_dispute_messages_dispute_id"), table_name="dispute_messages")
    op.drop_table("dispute_messages")
    op.drop_index("ix_payment_promises_tenant_status", table_name="payment_promises")
    op.drop_index(op.f("ix_payment_promises_invoice_id"), table_name="payment_promises")
    op.drop_index(op.f("ix_payment_promises_customer_key"), table_name="payment_promises")
    op.drop_table("payment_promises")
    op.drop_index("ix_followup_states_tenant_next", table_name="followup_states")
    op.drop_table("followup_states")
    op.drop_index(op.f("ix_followup_decisions_run_id"), table_name="followup_decisions")
    op.drop_index("ix_followup_decisions_invoice", table_name="followup_decisions")
    op.drop_table("followup_decisions")
    op.drop_index("ix_disputes_tenant_status", table_name="disputes")
    op.drop_index(op.f("ix_disputes_invoice_id"), table_name="disputes")
    op.drop_table("disputes")
    op.drop_index(op.f("ix_collection_handoffs_export_id"), table_name="collection_handoffs")
    op.drop_table("collection_handoffs")
    op.drop_index(op.f("ix_followup_runs_tenant_id"), table_name="followup_runs")
    op.drop_table("followup_runs")
