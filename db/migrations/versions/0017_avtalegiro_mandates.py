"""AvtaleGiro: payers' mandates from Nets' agreements files, and withdrawn claims for the next claim file

Revision ID: 0017
Revises: 0015
Create Date: 2026-12-07 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "avtalegiro_mandates",
        sa.Column("id", sa.String(length=32), primary_key=True),
        sa.Column("tenant_id", sa.String(length=64), sa.ForeignKey("tenants.id"), nullable=False),
        sa.Column("kid", sa.String(length=25), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("notify", sa.Boolean(), nullable=False),
        sa.Column("registration", sa.String(length=20), nullable=False),
        sa.Column("source_file", sa.String(length=255), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.UniqueConstraint("tenant_id", "kid", name="uq_avtalegiro_mandate"),
    )
    op.create_table(
        "avtalegiro_cancellations",
        sa.Column("id", sa.String(length=32), primary_key=True),
        sa.Column("tenant_id", sa.String(length=64), sa.ForeignKey("tenants.id"), nullable=False),
        sa.Column("channel", sa.String(length=50), nullable=False),
        sa.Column("batch_key", sa.String(length=100), nullable=False),
        sa.Column("delivery_id", sa.String(length=32), sa.ForeignKey("deliveries.id"), nullable=False),
        sa.Column("invoice_id", sa.String(length=32), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("kid", sa.String(length=25), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=False),
        sa.Column("amount", sa.String(length=40), nullable=False),
        sa.Column("reference", sa.String(length=25), nullable=True),
        sa.Column("payer_name", sa.String(length=10), nullable=True),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("due_at", sa.DateTime(), nullable=False),
        sa.Column("batch_id", sa.String(length=200), nullable=True),
        sa.Column("requested_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("sent_at", sa.DateTime(), nullable=True),
    )
    op.create_index("ix_avtalegiro_cancellations_delivery_id", "avtalegiro_cancellations", ["delivery_id"])
    op.create_index(
        "ix_avtalegiro_cancellations_waiting", "avtalegiro_cancellations", ["tenant_id", "channel", "status"]
    )


def downgrade() -> None:
    op.drop_index("ix_avtalegiro_cancellations_waiting", table_name="avtalegiro_cancellations")
    op.drop_index("ix_avtalegiro_cancellations_delivery_id", table_name="avtalegiro_cancellations")
    op.drop_table("avtalegiro_cancellations")
    op.drop_table("avtalegiro_mandates")
