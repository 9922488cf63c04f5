"""A print batch can carry a follow-up notice: `batch_items.invoice_id` may be empty

A reminder letter is a delivery without an invoice (it is linked by `reminder_notices.delivery_id`), and
the print channel stages it like an invoice; the batch item names the delivery, its kind is in `meta`.

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-12 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("batch_items", schema=None) as batch_op:
        batch_op.alter_column("invoice_id", existing_type=sa.String(length=32), nullable=True)


def downgrade() -> None:
    # Items without an invoice (notices) cannot exist in the older schema: they go; their deliveries keep
    # their history.
    op.execute("DELETE FROM batch_items WHERE invoice_id IS NULL")
    with op.batch_alter_table("batch_items", schema=None) as batch_op:
        batch_op.alter_column("invoice_id", existing_type=sa.String(length=32), nullable=False)
