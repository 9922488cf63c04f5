"""payments per file and status: the remittance files page counts each file's outcomes from the index alone

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06 18:30:00
"""

from __future__ import annotations

from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_payments_file_status", "payments", ["file_id", "status", "tenant_id"])


def downgrade() -> None:
    op.drop_index("ix_payments_file_status", table_name="payments")
