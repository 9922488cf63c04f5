"""AvtaleGiro: counted transmission and assignment numbers per data transmitter, fixed per batch

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-10 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "avtalegiro_counters",
        sa.Column("data_transmitter", sa.String(length=8), primary_key=True),
        sa.Column("kind", sa.String(length=20), primary_key=True),
        sa.Column("last_value", sa.Integer(), nullable=False),
    )
    op.create_table(
        "avtalegiro_transmissions",
        sa.Column("batch_id", sa.String(length=200), sa.ForeignKey("batches.id"), primary_key=True),
        sa.Column("data_transmitter", sa.String(length=8), nullable=False),
        sa.Column("transmission_number", sa.Integer(), nullable=False),
        sa.Column("claims_assignment", sa.Integer(), nullable=True),
        sa.Column("cancellations_assignment", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.UniqueConstraint("data_transmitter", "transmission_number", name="uq_avtalegiro_transmission"),
    )


def downgrade() -> None:
    op.drop_table("avtalegiro_transmissions")
    op.drop_table("avtalegiro_counters")
