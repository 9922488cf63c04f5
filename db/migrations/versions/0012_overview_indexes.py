"""console overview: indexes that keep its counts bounded by what is moving, not by the archive

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06 17:10:00

- deliveries (tenant, status, created_at, channel): counts by status and channel, the last 14 days per
  day, and the head of each waiting status (the oldest waiting delivery), all read from the index alone;
- deviations (tenant, closed_at, cause, opened_at): open deviations by cause and age from the index alone;
- payments (tenant, created_at): the match report of a month or a week reads only that span's payments.
"""

from __future__ import annotations

from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

#: (name, table, columns)
INDEXES = [
    ("ix_deliveries_status_created", "deliveries", ["tenant_id", "status", "created_at", "channel"]),
    ("ix_deviations_open_cause", "deviations", ["tenant_id", "closed_at", "cause", "opened_at"]),
    ("ix_payments_created", "payments", ["tenant_id", "created_at"]),
]


def upgrade() -> None:
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns)


def downgrade() -> None:
    for name, table, _columns in reversed(INDEXES):
        op.drop_index(name, table_name=table)
