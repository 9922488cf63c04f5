"""invoice search: folded buyer names, buyer ids and exact cents on invoices; the indexes GET /invoices uses

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06 14:10:00

The new columns of invoices accepted before this revision are filled from their payload here, with the
same keys the intake writes (`schemas.search_keys`).
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from alembic import op

from schemas.search_keys import search_columns

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

#: (name, columns) of the invoices' search indexes.
INVOICE_INDEXES = [
    ("ix_invoices_search_created", ["tenant_id", "created_at", "id", "buyer_search"]),
    ("ix_invoices_search_issued", ["tenant_id", "issue_date", "id", "buyer_search"]),
    ("ix_invoices_search_due", ["tenant_id", "due_date", "id", "buyer_search"]),
    ("ix_invoices_search_amount", ["tenant_id", "payable_cents", "id", "buyer_search"]),
    ("ix_invoices_search_number", ["tenant_id", "number", "id", "buyer_search"]),
    ("ix_invoices_search_buyer", ["tenant_id", "buyer_search", "created_at", "id"]),
    ("ix_invoices_search_kid", ["tenant_id", "payment_reference"]),
    ("ix_invoices_search_legal_id", ["tenant_id", "buyer_legal_id"]),
    ("ix_invoices_search_vat_id", ["tenant_id", "buyer_vat_id"]),
    ("ix_invoices_search_endpoint", ["tenant_id", "buyer_endpoint"]),
    ("ix_invoices_search_receiver", ["tenant_id", "receiver_id"]),
]
_CHUNK = 2000

_invoices = sa.table(
    "invoices",
    sa.column("id", sa.String),
    sa.column("buyer_name", sa.String),
    sa.column("payable_amount", sa.String),
    sa.column("payload", sa.Text),
    sa.column("buyer_search", sa.String),
    sa.column("payable_cents", sa.BigInteger),
    sa.column("buyer_legal_id", sa.String),
    sa.column("buyer_vat_id", sa.String),
    sa.column("buyer_endpoint", sa.String),
)


def upgrade() -> None:
    op.create_table(
        "invoice_buyer_names",
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("name_search", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"]),
        sa.PrimaryKeyConstraint("tenant_id", "name_search"),
    )
    with op.batch_alter_table("invoices", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("buyer_search", sa.String(length=200), nullable=False, server_default="")
        )
        batch_op.add_column(sa.Column("payable_cents", sa.BigInteger(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("buyer_legal_id", sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column("buyer_vat_id", sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column("buyer_endpoint", sa.String(length=100), nullable=True))
    _fill_existing_invoices(op.get_bind())
    with op.batch_alter_table("invoices", schema=None) as batch_op:
        for name, columns in INVOICE_INDEXES:
            batch_op.create_index(name, columns, unique=False)
    with op.batch_alter_table("delivery_events", schema=None) as batch_op:
        batch_op.create_index("ix_delivery_events_changed", ["tenant_id", "at"], unique=False)
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.create_index(
            "ix_deliveries_search_status", ["tenant_id", "status", "invoice_id", "channel"], unique=False
        )


def _search_values(row: Any) -> dict[str, Any]:
    buyer = json.loads(row.payload).get("buyer") or {}
    values = search_columns(
        row.buyer_name,
        Decimal(row.payable_amount),
        legal_id=(buyer.get("legal_registration") or {}).get("value"),
        vat_id=buyer.get("vat_id"),
        endpoint=(buyer.get("endpoint") or {}).get("value"),
    )
    return {"row_id": row.id, **{f"new_{name}": value for name, value in values.items()}}


def _fill_existing_invoices(connection: sa.Connection) -> None:
    """The search columns of every existing invoice, a chunk at a time; then each tenant's buyer names."""
    update = (
        sa.update(_invoices)
        .where(_invoices.c.id == sa.bindparam("row_id"))
        .values(
            buyer_search=sa.bindparam("new_buyer_search"),
            payable_cents=sa.bindparam("new_payable_cents"),
            buyer_legal_id=sa.bindparam("new_buyer_legal_id"),
            buyer_vat_id=sa.bindparam("new_buyer_vat_id"),
            buyer_endpoint=sa.bindparam("new_buyer_endpoint"),
        )
    )
    last = ""
    while True:
        rows = connection.execute(
            sa.select(_invoices.c.id, _invoices.c.buyer_name, _invoices.c.payable_amount, _invoices.c.payload)
            .where(_invoices.c.id > last)
            .order_by(_invoices.c.id)
            .limit(_CHUNK)
        ).all()
        if not rows:
            break
        connection.execute(update, [_search_values(row) for row in rows])
        last = rows[-1].id
    connection.execute(
        sa.text(
            "INSERT INTO invoice_buyer_names (tenant_id, name_search) "
            "SELECT DISTINCT tenant_id, buyer_search FROM invoices"
        )
    )


def downgrade() -> None:
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.drop_index("ix_deliveries_search_status")
    with op.batch_alter_table("delivery_events", schema=None) as batch_op:
        batch_op.drop_index("ix_delivery_events_changed")
    with op.batch_alter_table("invoices", schema=None) as batch_op:
        for name, _ in reversed(INVOICE_INDEXES):
            batch_op.drop_index(name)
    columns = ("buyer_endpoint", "buyer_vat_id", "buyer_legal_id", "payable_cents", "buyer_search")
    if op.get_bind().dialect.name == "sqlite":
        # SQLite (3.35+) drops an unindexed column in place; a batch rebuild of `invoices` would drop the
        # table its deliveries, events and payments refer to, which the foreign keys refuse.
        for column in columns:
            op.execute(f'ALTER TABLE invoices DROP COLUMN "{column}"')
    else:
        with op.batch_alter_table("invoices", schema=None) as batch_op:
            for column in columns:
                batch_op.drop_column(column)
    op.drop_table("invoice_buyer_names")
