"""Matching learns: payer identities observed on confident automatic applications, and customer groups
(a parent paying its subsidiaries' invoices) (issue 22)

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-14 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "payer_observations",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("value", sa.String(length=200), nullable=False),
        sa.Column("customer_key", sa.String(length=200), nullable=False),
        sa.Column("payment_id", sa.String(length=32), nullable=False),
        sa.Column("observed_at", sa.DateTime(), nullable=False),
        sa.Column("withdrawn_at", sa.DateTime(), nullable=True),
        sa.Column("withdrawn_by", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("payer_observations", schema=None) as batch_op:
        batch_op.create_index("ix_payer_observations_value", ["tenant_id", "kind", "value"], unique=False)
        batch_op.create_index("ix_payer_observations_payment", ["payment_id"], unique=False)
    op.create_table(
        "customer_groups",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("customer_key", sa.String(length=200), nullable=False),
        sa.Column("parent_key", sa.String(length=200), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("learned_from", sa.String(length=32), nullable=True),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("tenant_id", "customer_key", "parent_key", name="uq_customer_group"),
    )


def downgrade() -> None:
    op.drop_table("customer_groups")
    with op.batch_alter_table("payer_observations", schema=None) as batch_op:
        batch_op.drop_index("ix_payer_observations_payment")
        batch_op.drop_index("ix_payer_observations_value")
    op.drop_table("payer_observations")
