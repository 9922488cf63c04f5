"""participants, inbound documents, invoice response status

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "inbound_documents",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=True),
        sa.Column("kind", sa.String(length=50), nullable=False),
        sa.Column("payload_sha256", sa.String(length=64), nullable=False),
        sa.Column("document_id", sa.String(length=200), nullable=True),
        sa.Column("referenced_document_id", sa.String(length=200), nullable=True),
        sa.Column("response_code", sa.String(length=10), nullable=True),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("delivery_id", sa.String(length=32), nullable=True),
        sa.Column("invoice_id", sa.String(length=32), nullable=True),
        sa.Column("applied", sa.Boolean(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("received_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("payload_sha256"),
    )
    with op.batch_alter_table("inbound_documents", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_inbound_documents_delivery_id"), ["delivery_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_inbound_documents_invoice_id"), ["invoice_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_inbound_documents_referenced_document_id"),
            ["referenced_document_id"],
            unique=False,
        )
        batch_op.create_index(batch_op.f("ix_inbound_documents_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "participants",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("participant_id", sa.String(length=200), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=True),
        sa.Column("document_types", sa.JSON(), nullable=False),
        sa.Column("access_point", sa.String(length=500), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("participant_id"),
    )
    with op.batch_alter_table("invoices", schema=None) as batch_op:
        batch_op.add_column(sa.Column("response_status", sa.String(length=10), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("invoices", schema=None) as batch_op:
        batch_op.drop_column("response_status")

    op.drop_table("participants")
    with op.batch_alter_table("inbound_documents", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_inbound_documents_tenant_id"))
        batch_op.drop_index(batch_op.f("ix_inbound_documents_referenced_document_id"))
        batch_op.drop_index(batch_op.f("ix_inbound_documents_invoice_id"))
        batch_op.drop_index(batch_op.f("ix_inbound_documents_delivery_id"))

    op.drop_table("inbound_documents")
