"""edi partners, control counters, interchanges

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "edi_control_counters",
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("partner_id", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("last_value", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "partner_id", "kind"),
    )
    op.create_table(
        "edi_interchanges",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("partner_id", sa.String(length=100), nullable=False),
        sa.Column("direction", sa.String(length=3), nullable=False),
        sa.Column("standard", sa.String(length=10), nullable=False),
        sa.Column("message_type", sa.String(length=20), nullable=False),
        sa.Column("interchange_ref", sa.String(length=20), nullable=False),
        sa.Column("group_ref", sa.String(length=20), nullable=True),
        sa.Column("message_refs", sa.JSON(), nullable=False),
        sa.Column("delivery_id", sa.String(length=32), nullable=True),
        sa.Column("invoice_id", sa.String(length=32), nullable=True),
        sa.Column("attempt", sa.Integer(), nullable=True),
        sa.Column("ack_status", sa.String(length=20), nullable=True),
        sa.Column("ack_due_at", sa.DateTime(), nullable=True),
        sa.Column("ack_details", sa.JSON(), nullable=True),
        sa.Column("ack_document_id", sa.String(length=32), nullable=True),
        sa.Column("inbound_document_id", sa.String(length=32), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("delivery_id", "attempt", name="uq_edi_interchange_attempt"),
        sa.UniqueConstraint(
            "tenant_id", "partner_id", "direction", "interchange_ref", name="uq_edi_interchange"
        ),
    )
    with op.batch_alter_table("edi_interchanges", schema=None) as batch_op:
        batch_op.create_index(
            "ix_edi_interchanges_ack", ["direction", "ack_status", "ack_due_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_edi_interchanges_delivery_id"), ["delivery_id"], unique=False)

    op.create_table(
        "trading_partners",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("partner_id", sa.String(length=100), nullable=False),
        sa.Column("profile", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("tenant_id", "partner_id", name="uq_trading_partner"),
    )


def downgrade() -> None:
    op.drop_table("trading_partners")
    with op.batch_alter_table("edi_interchanges", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_edi_interchanges_delivery_id"))
        batch_op.drop_index("ix_edi_interchanges_ack")

    op.drop_table("edi_interchanges")
    op.drop_table("edi_control_counters")
