"""The outbound hot paths read `invoices` and `deviations` through indexes that fit, on both databases.

Each test runs the real code (intake's duplicate check, `GET /invoices`, `GET /deviations`) on a store of
several tenants, captures the SQL it sends, and checks that database's plan for it (`tests.services.
query_plans`): a plan that reads the table whole, or every invoice of the tenant, fails.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from gateway.samples import sample_invoice_json
from gateway.services.outbound.intake import IntakeItem, accept_invoices
from tests.services.query_plans import assert_indexed, captured, fill


@pytest.fixture
def filled(engine: Engine) -> Engine:
    fill(engine)
    return engine


def test_the_duplicate_check_finds_keys_and_numbers_through_the_unique_indexes(filled: Engine) -> None:
    """Intake's lookup of a batch's keys and numbers: one range of each unique index, whatever the store's
    size (the OR of the two it used to be had SQLite read every invoice of the tenant). Fifty invoices:
    with a chunk of 400 PostgreSQL rightly prefers the tenant's 2,500 rows of this small store to 800
    index probes, a choice it does not make among a million."""
    items = [IntakeItem(sample_invoice_json(n)) for n in range(1, 50)]
    items.append(IntakeItem(sample_invoice_json(50), idempotency_key="order-50"))
    with captured(filled, "invoices") as seen:
        results = accept_invoices(filled, "acme", items, actor="test", default_channel="folder")
    assert [result.outcome for result in results] == ["created"] * 50
    lookups = [s for s in seen.selects() if "idempotency_key" in s.sql and "payload_sha256" in s.sql]
    assert len(lookups) == 1, [s.sql for s in seen.selects()]
    plan = assert_indexed(filled, lookups[0], "invoices")
    unique_indexes = ("sqlite_autoindex_invoices", "uq_invoice_idempotency", "uq_invoice_number")
    assert any(name in step for step in plan for name in unique_indexes), plan


SEARCHES: dict[str, dict[str, str]] = {
    "newest first": {},
    "oldest first": {"sort": "created"},
    "by issue date": {"sort": "-issue_date"},
    "by due date": {"sort": "due_date"},
    "by amount": {"sort": "-amount"},
    "by number order": {"sort": "number"},
    "a number": {"number": "F-0000404"},
    "a KID": {"kid": "0000000808"},
    "a buyer's name": {"buyer": "Buyer 17 AS"},
    "a buyer's id": {"buyer_id": "900000017"},
    "one box with a number": {"q": "F-0000404"},
    "deviations by delivery status": {"status": "deviation"},
}


@pytest.mark.parametrize("params", SEARCHES.values(), ids=SEARCHES.keys())
def test_invoice_search_reads_an_index_of_the_filter_or_the_order(
    filled: Engine, client: TestClient, auth: dict[str, Any], params: dict[str, str]
) -> None:
    """Every `GET /invoices` query, in the main sort orders and by number, KID and buyer: the page's ids
    come from an index of the filter or of the order, never from a walk of the tenant's invoices."""
    with captured(filled, "invoices") as seen:
        answer = client.get("/invoices", params={**params, "limit": "20"}, headers=auth)
    assert answer.status_code == 200, answer.text
    assert answer.json()["items"], "the search should find invoices of the filled store"
    queries = [s for s in seen.selects() if "FROM invoices" in s.sql]
    assert queries
    walks_order = set(params) <= {"sort"}  # a sorted list without filters: its order's index, walked
    for statement in queries:
        assert_indexed(filled, statement, "invoices", walks_order=walks_order)


def test_the_deviation_list_reads_the_tenants_open_deviations_through_their_index(
    filled: Engine, client: TestClient, auth: dict[str, Any]
) -> None:
    """`GET /deviations` (open and covered, newest first): found through (tenant, closed_at, …), not by
    reading every deviation the tenant ever had; the page's invoices and deliveries by primary key."""
    with captured(filled, "deviations") as seen:
        answer = client.get("/deviations", params={"limit": "20"}, headers=auth)
    assert answer.status_code == 200, answer.text
    assert answer.json()["items"]
    queries = seen.selects()
    assert len(queries) >= 2, [s.sql for s in queries]
    page, *joins = queries
    assert "FROM deviations" in page.sql and "JOIN" not in page.sql, page.sql
    assert_indexed(filled, page, "deviations")
    for statement in joins:  # the page's own rows by primary key: a small table may be read whole
        for table in ("invoices", "deliveries"):
            assert_indexed(filled, statement, table)
