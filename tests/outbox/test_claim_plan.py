"""The claim's plan among many finished deliveries: it reads the partial claim indexes, never the table.

The statement is the one `claim_deliveries` really sends (captured from the engine, with its parameters),
explained on each database after ANALYZE: SQLite's `EXPLAIN QUERY PLAN`, PostgreSQL's `EXPLAIN (FORMAT JSON)`.
A planner can use a partial index only when the query's text implies the index's predicate, so a claim
that bound its statuses as parameters would fail here (a scan of `deliveries`).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import pytest
from psycopg import sql as psycopg_sql
from sqlalchemy import Connection, Engine, event, insert, text
from sqlalchemy.orm import Session

from db.engine import session_scope
from db.models import Delivery, new_id
from gateway.services.tenancy.tenants import ensure_tenant
from outbox.queue import claim_deliveries
from outbox.states import DeliveryStatus

S = DeliveryStatus
NOW = dt.datetime(2026, 12, 7, 12, 0, tzinfo=dt.UTC)
FINISHED = 20_000


def _fill(engine: Engine) -> None:
    """20,000 finished deliveries, 20 queued and due, 2 held under an expired lease; then ANALYZE."""
    statuses = [S.DELIVERED, S.SENT, S.FAILED, S.DEVIATION]
    rows: list[dict[str, Any]] = []
    for n in range(FINISHED + 22):
        status = statuses[n % len(statuses)] if n < FINISHED else S.QUEUED if n < FINISHED + 20 else S.SENDING
        rows.append(
            {
                "id": new_id(),
                "tenant_id": "acme",
                "channel": "folder" if n % 3 else "ehf",
                "chain_position": 0,
                "status": status.value,
                "attempt": 1,
                "tries": 0,
                "next_attempt_at": NOW - dt.timedelta(seconds=n),
                "lease_token": "t" * 32 if status is S.SENDING else None,
                "lease_expires_at": NOW - dt.timedelta(minutes=5) if status is S.SENDING else None,
                "created_at": NOW - dt.timedelta(seconds=n),
                "updated_at": NOW - dt.timedelta(seconds=n),
            }
        )
    with session_scope(engine) as session:
        ensure_tenant(session, "acme")
        session.execute(insert(Delivery.__table__), rows)  # type: ignore[attr-defined]
    with engine.begin() as connection:
        connection.execute(text("ANALYZE"))


@contextmanager
def _capturing(engine: Engine, prefix: str) -> Iterator[list[tuple[str, Any]]]:
    """Every statement (and its parameters) beginning with `prefix` that the engine sends meanwhile."""
    seen: list[tuple[str, Any]] = []

    def capture(
        _conn: Connection, _cursor: Any, statement: str, parameters: Any, _ctx: Any, _many: bool
    ) -> None:
        if statement.lstrip().upper().startswith(prefix):
            seen.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", capture)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", capture)


def _claim_statements(engine: Engine, channels: Sequence[str] | None) -> list[tuple[str, Any]]:
    """The claim's UPDATEs as sent, from a claim that is rolled back (the rows stay as filled)."""
    with _capturing(engine, "UPDATE DELIVERIES") as seen, engine.connect() as connection:
        transaction = connection.begin()
        claims = claim_deliveries(
            Session(bind=connection), worker_id="w", limit=20, channels=channels, now=NOW
        )
        transaction.rollback()
    assert len(claims) == 20, "the claim should take the 2 expired and 18 of the 20 due"
    return seen


def _sqlite_plan(engine: Engine, statement: str, parameters: Any) -> list[str]:
    with engine.connect() as connection:
        return [
            str(row[3]) for row in connection.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters)
        ]


def _postgres_nodes(
    engine: Engine, statement: str, parameters: Any, *, generic: bool
) -> list[dict[str, Any]]:
    """The plan's nodes: the custom plan (parameters known to the planner), or the generic plan a
    server-side prepared statement gets after five runs (psycopg prepares a statement it has sent five
    times), where a bound status could not prove a partial index's predicate."""
    with engine.connect() as connection:
        if generic:
            raw = connection.connection.dbapi_connection
            arguments: list[str] = []  # EXECUTE takes no bound parameters: its arguments are literals

            def numbered(match: re.Match[str]) -> str:
                arguments.append(psycopg_sql.Literal(parameters[match.group(1)]).as_string(raw))
                return f"${len(arguments)}"

            connection.exec_driver_sql(
                "PREPARE claim_probe AS " + re.sub(r"%\((\w+)\)s", numbered, statement)
            )
            connection.exec_driver_sql("SET plan_cache_mode = force_generic_plan")
            explain = f"EXPLAIN (FORMAT JSON) EXECUTE claim_probe({', '.join(arguments)})"
            document = connection.exec_driver_sql(explain).scalar_one()
            connection.exec_driver_sql("DEALLOCATE claim_probe")  # not transactional; the SET is
        else:
            document = connection.exec_driver_sql(
                "EXPLAIN (FORMAT JSON) " + statement, parameters
            ).scalar_one()
        connection.rollback()
    plan = document if isinstance(document, list) else json.loads(document)
    nodes: list[dict[str, Any]] = []
    pending = [plan[0]["Plan"]]
    while pending:
        node = pending.pop()
        nodes.append(node)
        pending.extend(node.get("Plans", []))
    return nodes


#: The indexes the claim's two statements read, in the order it sends them: takeovers, then queued ones.
INDEX_PER_STATEMENT = ["ix_deliveries_leased", "ix_deliveries_due"]


@pytest.mark.parametrize("channels", [None, ["folder", "ehf"]], ids=["every-channel", "some-channels"])
def test_the_claim_reads_only_the_partial_indexes(engine: Engine, channels: list[str] | None) -> None:
    _fill(engine)
    statements = _claim_statements(engine, channels)
    assert len(statements) == len(INDEX_PER_STATEMENT)
    for (statement, parameters), index in zip(statements, INDEX_PER_STATEMENT, strict=True):
        if engine.dialect.name == "sqlite":
            plan = _sqlite_plan(engine, statement, parameters)
            assert any(f"USING INDEX {index} (" in step for step in plan), plan
            assert not [step for step in plan if step.startswith("SCAN deliveries")], plan
            # read in the index's order, as far as the limit: no sort of every due row
            assert not [step for step in plan if "TEMP B-TREE FOR ORDER BY" in step], plan
        else:
            for generic in (False, True):
                nodes = _postgres_nodes(engine, statement, parameters, generic=generic)
                assert index in {node.get("Index Name") for node in nodes}, (generic, nodes)
                scans = [node for node in nodes if node["Node Type"] == "Seq Scan"]
                assert not [node for node in scans if node.get("Relation Name") == "deliveries"], (
                    generic,
                    nodes,
                )


def test_the_claim_takes_expired_then_due_rows_among_the_finished(engine: Engine) -> None:
    """What the plans serve: the 2 expired, then the 20 due, none of the 20,000 finished."""
    _fill(engine)
    with session_scope(engine) as session:
        claims = claim_deliveries(session, worker_id="w", limit=100, now=NOW)
    assert [claim.claimed_from for claim in claims] == [S.SENDING] * 2 + [S.QUEUED] * 20
    assert [claim.taken_over for claim in claims] == [True] * 2 + [False] * 20
