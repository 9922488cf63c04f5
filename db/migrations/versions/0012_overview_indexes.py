"""console overview: indexes that keep its counts bounded by what is moving, and payments' false_automatic

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06 17:10:00

- deliveries (tenant, status, created_at, channel): counts by status and channel, the last 14 days per
  day, and the head of each waiting status (the oldest waiting delivery), all read from the index alone;
- deviations (tenant, closed_at, cause, opened_at): open deviations by cause and age from the index alone;
- payments.false_automatic: an automatic application a person reversed or re-allocated, until now only
  found in the decision's history; filled here from that history for the payments a person decided;
- payments: ix_payments_status (tenant, status) becomes (tenant, status, created_at, decided_by,
  false_automatic): the payments waiting with the oldest, and the match rates of a month and of eight
  weeks, each a range per status read from the index alone.
"""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

#: (name, table, columns)
INDEXES = [
    ("ix_deliveries_status_created", "deliveries", ["tenant_id", "status", "created_at", "channel"]),
    ("ix_deviations_open_cause", "deviations", ["tenant_id", "closed_at", "cause", "opened_at"]),
]
#: The payments' status index, before and after.
PAYMENTS_STATUS_BEFORE = ["tenant_id", "status"]
PAYMENTS_STATUS_AFTER = ["tenant_id", "status", "created_at", "decided_by", "false_automatic"]

_payments = sa.table(
    "payments",
    sa.column("id", sa.String),
    sa.column("status", sa.String),
    sa.column("decided_by", sa.String),
    sa.column("decision", sa.JSON),
    sa.column("false_automatic", sa.Boolean),
)


def _undone_automatic(decision: Any) -> bool:
    """As `matching_runs._automatic` reads the history (a migration does not import the app)."""
    history = json.loads(decision) if isinstance(decision, str) else decision or {}
    return any(r.get("was_automatic") for r in history.get("reversals", [])) or any(
        r.get("replaced_automatic") for r in history.get("resolutions", [])
    )


def upgrade() -> None:
    with op.batch_alter_table("payments") as batch:
        batch.add_column(
            sa.Column("false_automatic", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    connection = op.get_bind()
    decided_by_people = connection.execute(
        sa.select(_payments.c.id, _payments.c.decision).where(
            _payments.c.status != "applied",
            _payments.c.decided_by.is_not(None),
            _payments.c.decided_by != "matching",
        )
    ).all()
    undone = [payment_id for payment_id, decision in decided_by_people if _undone_automatic(decision)]
    for start in range(0, len(undone), 500):
        connection.execute(
            sa.update(_payments)
            .where(_payments.c.id.in_(undone[start : start + 500]))
            .values(false_automatic=True)
        )
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns)
    op.drop_index("ix_payments_status", table_name="payments")
    op.create_index("ix_payments_status", "payments", PAYMENTS_STATUS_AFTER)


def downgrade() -> None:
    op.drop_index("ix_payments_status", table_name="payments")
    op.create_index("ix_payments_status", "payments", PAYMENTS_STATUS_BEFORE)
    for name, table, _columns in reversed(INDEXES):
        op.drop_index(name, table_name=table)
    with op.batch_alter_table("payments") as batch:
        batch.drop_column("false_automatic")
