"""the eFaktura recipient registry: per tenant, what the recipient search said about each consumer

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06 23:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "efaktura_recipients",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("lookup_key", sa.String(length=400), nullable=False),
        sa.Column("national_id", sa.String(length=11), nullable=True),
        sa.Column("name", sa.String(length=200), nullable=True),
        sa.Column("street", sa.String(length=200), nullable=True),
        sa.Column("postal_code", sa.String(length=20), nullable=True),
        sa.Column("efaktura_id", sa.String(length=100), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("note", sa.String(length=500), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.UniqueConstraint("tenant_id", "lookup_key", name="uq_efaktura_recipient_key"),
    )
    op.create_index("ix_efaktura_recipients_tenant_id", "efaktura_recipients", ["tenant_id"])


def downgrade() -> None:
    op.drop_index("ix_efaktura_recipients_tenant_id", table_name="efaktura_recipients")
    op.drop_table("efaktura_recipients")
