"""A bounce that names no tenant finds its delivery through an index, not by reading every delivery.

Since migration 0027 no index on `deliveries` begins with the status; the lookup names every tenant
instead, so SQLite searches `ix_deliveries_status_created` per tenant. The store here has no statistics
(the gateway never runs ANALYZE), as in production.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Connection, Engine, event, insert
from sqlalchemy.orm import Session

from db.engine import session_scope
from db.models import Delivery, new_id
from gateway.services.inbound.bounces import _by_recipient
from gateway.services.tenancy.tenants import ensure_tenant
from mappings.status.dsn import FAILED, DeliveryStatusNotification, RecipientStatus

NOW = dt.datetime(2026, 12, 7, 12, 0, tzinfo=dt.UTC)


def _fill(engine: Engine) -> str:
    """3,000 e-mail deliveries of two tenants, one in ten still `sent`; returns the id of r7@example.no's."""
    rows: list[dict[str, Any]] = []
    for n in range(3_000):
        rows.append(
            {
                "id": new_id(),
                "tenant_id": "acme" if n % 2 else "globex",
                "channel": "email",
                "address": f"R{n}@Example.no",
                "chain_position": 0,
                "status": "sent" if n % 10 == 7 else "delivered",
                "attempt": 1,
                "tries": 0,
                "next_attempt_at": NOW,
                "created_at": NOW,
                "updated_at": NOW,
            }
        )
    with session_scope(engine) as session:
        ensure_tenant(session, "acme")
        ensure_tenant(session, "globex")
        session.execute(insert(Delivery.__table__), rows)  # type: ignore[attr-defined]
    return str(rows[7]["id"])


def _bounce(address: str) -> DeliveryStatusNotification:
    return DeliveryStatusNotification(
        report_type="delivery-status",
        message_id=None,
        subject=None,
        from_=None,
        date=None,
        envelope_recipients=[],
        reporting_mta=None,
        arrival_date=None,
        original_envelope_id=None,
        original_sender=None,
        recipients=[RecipientStatus(action=FAILED, status="5.1.1", final_recipient=address)],
        returned=None,
    )


def test_a_bounce_without_a_tenant_searches_the_index_per_tenant(engine: Engine) -> None:
    expected = _fill(engine)
    seen: list[tuple[str, Any]] = []

    def capture(
        _conn: Connection, _cursor: Any, statement: str, parameters: Any, _ctx: Any, _many: bool
    ) -> None:
        if "FROM deliveries" in statement:
            seen.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", capture)
    try:
        with Session(engine) as session:
            delivery, problem = _by_recipient(session, _bounce("<r7@example.no>"), None)
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    assert problem is None
    assert delivery is not None and delivery.id == expected
    if engine.dialect.name == "sqlite":
        [(statement, parameters)] = seen
        with engine.connect() as connection:
            plan = [
                str(row[3])
                for row in connection.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters)
            ]
        assert any(
            "INDEX ix_deliveries_status_created (tenant_id=? AND status=?)" in step for step in plan
        ), plan
        assert not [step for step in plan if step.startswith("SCAN deliveries")], plan
