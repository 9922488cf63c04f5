"""deliveries carry documents other than invoices (EDI acknowledgements of ours)

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-25

A delivery says what it carries (`document_kind`: invoice, edi-ack); one that carries no invoice has no
`invoice_id`, and neither have its events and deviations.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

_HISTORY = ("delivery_events", "deviations")


def _sqlite() -> bool:
    return op.get_bind().dialect.name == "sqlite"


def _alter_deliveries(change: Callable[[Any], None]) -> None:
    """Apply `change` to `deliveries` in a batch; on SQLite, with the rows moved out meanwhile.

    SQLite changes a column by rebuilding the table, and dropping the old table would leave every event,
    deviation and batch item pointing at nothing. So the rows step out first (their children wait as
    deferred violations) and come back into the rebuilt table, which settles every one of them by commit.
    PostgreSQL alters the table in place.
    """
    if not _sqlite():
        with op.batch_alter_table("deliveries", schema=None) as batch_op:
            change(batch_op)
        return
    before = {column["name"] for column in sa.inspect(op.get_bind()).get_columns("deliveries")}
    op.execute("PRAGMA defer_foreign_keys = ON")  # checked at commit; ends with the transaction
    op.execute("CREATE TEMP TABLE _deliveries_0008 AS SELECT * FROM deliveries")
    op.execute("DELETE FROM deliveries")
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        change(batch_op)
    after = [column["name"] for column in sa.inspect(op.get_bind()).get_columns("deliveries")]
    moved = ", ".join(f'"{name}"' for name in after if name in before)
    op.execute(f"INSERT INTO deliveries ({moved}) SELECT {moved} FROM _deliveries_0008")  # noqa: S608
    op.execute("DROP TABLE _deliveries_0008")


def _invoice_nullable(batch_op: Any, nullable: bool) -> None:
    batch_op.alter_column("invoice_id", existing_type=sa.String(length=32), nullable=nullable)


def upgrade() -> None:
    for table in _HISTORY:  # rebuilt (SQLite) while the deliveries they point at are all there
        with op.batch_alter_table(table, schema=None) as batch_op:
            _invoice_nullable(batch_op, True)

    def carry_documents(batch_op: Any) -> None:
        batch_op.add_column(
            sa.Column("document_kind", sa.String(length=30), server_default="invoice", nullable=False)
        )
        _invoice_nullable(batch_op, True)

    _alter_deliveries(carry_documents)


def downgrade() -> None:
    # The deliveries of other documents cannot exist without an invoice: they go, with their history;
    # their acknowledgements stay recorded on `edi_interchanges`, without a delivery.
    others = "SELECT id FROM deliveries WHERE invoice_id IS NULL"
    op.execute(f"UPDATE edi_interchanges SET delivery_id = NULL WHERE delivery_id IN ({others})")  # noqa: S608
    for table in _HISTORY:
        op.execute(f"DELETE FROM {table} WHERE delivery_id IN ({others}) OR invoice_id IS NULL")  # noqa: S608
    op.execute("DELETE FROM deliveries WHERE invoice_id IS NULL")

    def invoices_only(batch_op: Any) -> None:
        _invoice_nullable(batch_op, False)
        batch_op.drop_column("document_kind")

    _alter_deliveries(invoices_only)
    for table in _HISTORY:
        with op.batch_alter_table(table, schema=None) as batch_op:
            _invoice_nullable(batch_op, False)
