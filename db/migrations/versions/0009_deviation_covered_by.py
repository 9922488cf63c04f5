"""deviations covered by another delivery

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-26

A deviation closed because another delivery took over (the worker's fallback, or a resend on another
channel) names that delivery in `covered_by`, so the list can show it as covered instead of closed. Rows
closed that way before this revision get it from their closure reason, which ends "(delivery <id>)".
"""

from __future__ import annotations

import re

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

_NAMED = re.compile(r"\(delivery ([0-9a-f]{32})\)\s*$")


def upgrade() -> None:
    op.add_column("deviations", sa.Column("covered_by", sa.String(length=32), nullable=True))
    deviations = sa.table(
        "deviations",
        sa.column("id", sa.String),
        sa.column("closure", sa.String),
        sa.column("closure_reason", sa.Text),
        sa.column("covered_by", sa.String),
    )
    bind = op.get_bind()
    closed_by_fallback = bind.execute(
        sa.select(deviations.c.id, deviations.c.closure_reason).where(deviations.c.closure == "fallback")
    ).all()
    for row in closed_by_fallback:
        named = _NAMED.search(row.closure_reason or "")
        if named is not None:
            bind.execute(
                sa.update(deviations).where(deviations.c.id == row.id).values(covered_by=named.group(1))
            )


def downgrade() -> None:
    with op.batch_alter_table("deviations", schema=None) as batch_op:
        batch_op.drop_column("covered_by")
