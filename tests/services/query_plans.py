"""Query-plan checks for hot paths: capture the SQL the real code sends, ask the database how it would run it.

A hot query that stops using an index still returns the right rows, only slower as the store grows, so no
behaviour test notices; these helpers make that a failure. `captured` records every statement (with its
parameters) that touches a table while the real code runs; `plan_of` asks SQLite (`EXPLAIN QUERY PLAN`) or
PostgreSQL (`EXPLAIN (FORMAT JSON)`) for its plan; `assert_indexed` fails when the plan reads the table
whole or finds its rows by the tenant alone (every row of the tenant). `fill` writes enough rows, spread
over several tenants (and PostgreSQL's statistics), so that the planner's choice is the one it makes on a
real store (an empty table is scanned whatever its indexes). SQLite gets no statistics, as in production.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, event, insert, text

from db.engine import session_scope
from db.models import BuyerName, Delivery, Deviation, InvoiceRecord
from gateway.services.tenancy.tenants import ensure_tenant

TENANTS = ("acme", "globex", "initech", "umbrella")
START = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)


@dataclass
class Statement:
    """One statement as the driver received it."""

    sql: str
    parameters: Any


@dataclass
class Captured:
    """The statements sent while the block ran that name `table`."""

    table: str
    statements: list[Statement] = field(default_factory=list)

    def selects(self) -> list[Statement]:
        return [s for s in self.statements if s.sql.lstrip().upper().startswith(("SELECT", "WITH", "("))]


@contextlib.contextmanager
def captured(engine: Engine, table: str) -> Iterator[Captured]:
    """Record every statement the engine sends that reads or writes `table` (by name, as a word)."""
    found = Captured(table)
    name = re.compile(rf"\b{re.escape(table)}\b")

    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, many: bool) -> None:
        if not many and name.search(statement):
            found.statements.append(Statement(statement, parameters))

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield found
    finally:
        event.remove(engine, "before_cursor_execute", record)


def plan_of(engine: Engine, statement: Statement) -> list[str]:
    """The plan's steps, one line each: SQLite's `EXPLAIN QUERY PLAN` details, or PostgreSQL's nodes as
    `<Node Type> on <relation> using <index> (<index condition>)`."""
    with engine.connect() as connection:
        if engine.dialect.name == "sqlite":
            rows = connection.exec_driver_sql("EXPLAIN QUERY PLAN " + statement.sql, statement.parameters)
            return [str(row[-1]) for row in rows]
        raw = connection.exec_driver_sql("EXPLAIN (FORMAT JSON) " + statement.sql, statement.parameters)
        document = raw.scalar_one()
    lines: list[str] = []

    def walk(node: dict[str, Any], parent_relation: str | None) -> None:
        relation = node.get("Relation Name", parent_relation)
        line = node["Node Type"]
        if relation is not None and ("Scan" in line):
            line += f" on {relation}"
        if "Index Name" in node:
            line += f" using {node['Index Name']}"
        if "Index Cond" in node:
            line += f" ({node['Index Cond']})"
        lines.append(line)
        for child in node.get("Plans", []):
            # a bitmap heap scan's index scans read the same table
            walk(
                child,
                relation if node["Node Type"] in ("Bitmap Heap Scan", "BitmapOr", "BitmapAnd") else None,
            )

    walk(document[0]["Plan"], None)
    return lines


def problems(engine: Engine, plan: list[str], table: str, *, walks_order: bool = False) -> list[str]:
    """The steps of `plan` that read `table` whole, or find its rows by the tenant alone (its tenant
    index, or the tenant column of another: every row of the tenant). `walks_order`: a walk of an order's
    index from the tenant's first row (a page of a sorted list, stopped by its limit) is what is wanted."""
    found = []
    for step in plan:
        if engine.dialect.name == "sqlite":
            scans = re.search(rf"\bSCAN {table}\b", step) is not None and "COVERING INDEX" not in step
            by_tenant = re.search(rf"\bSEARCH {table} USING .*\(tenant_id=\?\)$", step) is not None
        else:
            scans = step == f"Seq Scan on {table}"
            condition = re.search(r"\((.*)\)$", step)
            by_tenant = (
                f" on {table} using " in step
                and condition is not None
                and "tenant_id" in condition.group(1)
                and " AND " not in condition.group(1)
            )
        if scans or (by_tenant and not walks_order):
            found.append(step)
    return found


def assert_indexed(
    engine: Engine, statement: Statement, table: str, *, walks_order: bool = False
) -> list[str]:
    """Fail when the statement's plan reads `table` whole or by tenant only; its plan otherwise."""
    plan = plan_of(engine, statement)
    bad = problems(engine, plan, table, walks_order=walks_order)
    assert not bad, f"{table} read without a fitting index: {bad}\nplan: {plan}\nSQL: {statement.sql}"
    return plan


def fill(engine: Engine, invoices: int = 10_000) -> None:
    """`invoices` invoices spread over `TENANTS`, each with a delivery (every 50th in deviation), every
    10th with a deviation (closed but for those in deviation), two thirds of them paid long ago; then
    PostgreSQL's statistics."""
    with session_scope(engine) as session:
        for tenant in TENANTS:
            ensure_tenant(session, tenant)
    invoice_rows, delivery_rows, deviation_rows = [], [], []
    for n in range(invoices):
        tenant = TENANTS[n % len(TENANTS)]
        created = START + dt.timedelta(minutes=n)
        invoice_id, delivery_id = f"i{n:031d}", f"d{n:031d}"
        paid = n % 3 != 0
        invoice_rows.append(
            {
                "id": invoice_id, "tenant_id": tenant, "idempotency_key": f"number:invoice:F-{n:07d}",
                "payload_sha256": "0" * 64, "document_type": "invoice", "number": f"F-{n:07d}",
                "issue_date": created.date(), "due_date": created.date() + dt.timedelta(days=14),
                "currency": "NOK", "payable_amount": f"{100 + n}.00", "buyer_name": f"Buyer {n % 997} AS",
                "receiver_id": f"C-{n % 997}", "payment_reference": f"{n:010d}", "payload": "{}",
                "created_at": created, "customer_key": f"org:0192:9{n % 997:08d}",
                "payment_status": "paid" if paid else "unpaid", "paid_at": created if paid else None,
                "open_amount": "0.00" if paid else None, "buyer_search": f"buyer {n % 997} as",
                "payable_cents": (100 + n) * 100, "buyer_legal_id": f"9{n % 997:08d}",
            }
        )  # fmt: skip
        deviating = n % 50 == 0
        delivery_rows.append(
            {
                "id": delivery_id, "invoice_id": invoice_id, "tenant_id": tenant, "channel": "peppol",
                "format": None, "address": None, "chain_position": 0,
                "status": "deviation" if deviating else "delivered", "attempt": 1, "tries": 1,
                "next_attempt_at": created, "created_at": created, "updated_at": created,
            }
        )  # fmt: skip
        if n % 10 == 0:  # a deviation in the delivery's history; open while the delivery is in deviation
            closed = None if deviating else created + dt.timedelta(hours=1)
            deviation_rows.append(
                {
                    "id": f"v{n:031d}", "tenant_id": tenant, "delivery_id": delivery_id,
                    "invoice_id": invoice_id, "attempt": 1, "channel": "peppol", "cause": "rejected",
                    "detail": None, "opened_at": created, "closed_at": closed,
                    "closed_by": "cli:ops" if closed else None, "closure": "resolved" if closed else None,
                }
            )  # fmt: skip
    with engine.begin() as connection:
        connection.execute(insert(InvoiceRecord.__table__), invoice_rows)  # type: ignore[attr-defined]
        connection.execute(insert(Delivery.__table__), delivery_rows)  # type: ignore[attr-defined]
        connection.execute(insert(Deviation.__table__), deviation_rows)  # type: ignore[attr-defined]
        names = sorted({(row["tenant_id"], row["buyer_search"]) for row in invoice_rows})
        connection.execute(
            insert(BuyerName.__table__),  # type: ignore[attr-defined]
            [{"tenant_id": tenant, "name_search": name} for tenant, name in names],
        )
    if engine.dialect.name == "postgresql":  # what autovacuum does; SQLite gets none, as in production
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("ANALYZE"))
