"""Migration 0012 marks the automatic applications people undid before it, as the match report reads them."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import sqlalchemy as sa

from db.engine import make_engine, migrate, session_scope
from gateway.services.payments.matching_runs import match_rates, match_report

_tenants = sa.table("tenants", sa.column("id"), sa.column("name"), sa.column("created_at"))
_FILE_COLUMNS = "id tenant_id payload_sha256 document_key size source status payment_count received_at"
_PAYMENT_COLUMNS = (
    "id tenant_id file_id sequence position kind direction hint_only amount currency data status decision "
    "decided_by created_at"
)
_files = sa.table("remittance_files", *(sa.column(name) for name in _FILE_COLUMNS.split()))
_payments = sa.table("payments", *(sa.column(name) for name in _PAYMENT_COLUMNS.split()))


def test_undone_automatic_applications_are_marked(database_url: str) -> None:
    engine = make_engine(database_url)
    now = dt.datetime(2026, 12, 2, 9, 0)
    histories: list[tuple[str, str | None, dict[str, Any] | None]] = [
        ("applied", "matching", {"outcome": "applied"}),
        ("exception", "console:ops", {"reversals": [{"was_automatic": True, "by": "console:ops"}]}),
        ("resolved", "api:erp", {"resolutions": [{"replaced_automatic": True}]}),
        ("resolved", "api:erp", {"resolutions": [{"replaced_automatic": False}]}),  # an exception resolved
        ("exception", "matching", {"outcome": "exception"}),
        ("duplicate", "matching", None),
    ]
    try:
        migrate(engine, "0011")
        with engine.begin() as connection:
            connection.execute(sa.insert(_tenants).values(id="acme", name="acme", created_at=now))
            connection.execute(
                sa.insert(_files).values(
                    id="f" * 32, tenant_id="acme", payload_sha256="0" * 64, document_key="k", size=1,
                    source="api", status="accepted", payment_count=6, received_at=now,
                )
            )  # fmt: skip
            for n, (status, by, decision) in enumerate(histories):
                connection.execute(
                    sa.insert(_payments).values(
                        id=f"{n:032d}", tenant_id="acme", file_id="f" * 32, sequence=n + 1, kind="credit",
                        direction="in", position="", hint_only=False, amount="100.00", currency="NOK",
                        data="{}", status=status, decision=json.dumps(decision) if decision else None,
                        decided_by=by, created_at=now,
                    )
                )  # fmt: skip
        migrate(engine)
        with session_scope(engine) as session:
            marked = session.execute(sa.text("SELECT id FROM payments WHERE false_automatic ORDER BY id"))
            assert [row[0] for row in marked] == [f"{1:032d}", f"{2:032d}"]
            start = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
            [rates] = match_rates(session, "acme", [start], start + dt.timedelta(days=7))
            report = match_report(session, "acme", since=start)["per_payment"]
        assert (rates.matchable, rates.automatic, rates.false_automatic) == (5, 3, 2)
        assert (report["matchable"], report["auto_applied"], report["false_auto_applied"]) == (5, 3, 2)
        assert rates.false_auto_rate_pct == report["false_auto_rate_pct"] == 66.67
    finally:
        engine.dispose()
