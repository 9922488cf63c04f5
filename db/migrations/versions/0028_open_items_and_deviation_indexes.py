"""Matching's open items and the deviation list each read an index of what they show (issue 23)

Matching starts every run from the tenant's open invoices and those paid lately (`open_items`: unpaid or
partially paid, or paid / overpaid since a cut-off). Without an index with the tenant and the payment
status, both databases read every invoice the tenant ever sent to find them, so a run slowed as the
history grew. `ix_invoices_open_items (tenant_id, payment_status, paid_at)` gives each half of that
condition a range of its own (the paid half names its two statuses beside the cut-off: `paid_at` is set
exactly when an invoice is paid or overpaid).

`GET /deviations` lists open and covered deviations (closed because another delivery took over, closure
`fallback`) by default. Open ones had `ix_deviations_open (tenant_id, closed_at)`; covered ones had no
index, so the list read every deviation the tenant ever had. `ix_deviations_closure (tenant_id, closure,
opened_at)` finds them, newest first.

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-07 19:20:00
"""

from __future__ import annotations

from alembic import op

revision = "0028"
down_revision = "0027"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_invoices_open_items", "invoices", ["tenant_id", "payment_status", "paid_at"], unique=False
    )
    op.create_index(
        "ix_deviations_closure", "deviations", ["tenant_id", "closure", "opened_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_deviations_closure", table_name="deviations")
    op.drop_index("ix_invoices_open_items", table_name="invoices")
