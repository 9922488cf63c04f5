"""Matching's candidate load reads the tenant's open (and lately paid) invoices through an index that
finds them, not every invoice the tenant ever sent (`tests.services.query_plans`)."""

from __future__ import annotations

from sqlalchemy import Engine

from db.engine import session_scope
from gateway.services.payments.matching_runs import build_index, open_items
from tests.services.query_plans import assert_indexed, captured, fill


def test_the_open_items_load_reads_an_index_of_open_invoices(engine: Engine) -> None:
    """`build_index` loads the open items every matching run starts from: with two thirds of a tenant's
    invoices paid long ago, reading the tenant's invoices whole would grow with its history."""
    fill(engine)
    with session_scope(engine) as session, captured(engine, "invoices") as seen:
        index = build_index(session, "acme")
        items = list(open_items(session, "acme"))
    assert items and all(item.invoice_id for item in items)
    assert index is not None
    loads = [s for s in seen.selects() if "payment_status" in s.sql and "paid_at" in s.sql]
    assert loads, [s.sql for s in seen.selects()]
    for statement in loads:
        assert_indexed(engine, statement, "invoices")
