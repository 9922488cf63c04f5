"""Digipost document events: how far each digipost channel's events have been read

Revision ID: 0018
Revises: 0015
Create Date: 2026-12-09 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "digipost_event_cursors",
        sa.Column("channel", sa.String(length=50), primary_key=True),
        sa.Column("polled_until", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("digipost_event_cursors")
