"""Consolidated statements: one notice of kind "statement" per statement customer with every open item
(credit notes negative, KIDs kept), once per date; a dry run writes nothing; the daily run's list."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from db.engine import session_scope
from db.models import ReminderNotice, ReminderNoticeItem
from gateway.samples import sample_invoice_json
from gateway.services.followup.statements import run_statements, statement_customers
from gateway.settings import Settings
from tests.services.followup.helpers import amount, post_invoice, put_profile

ON = dt.date(2027, 1, 31)


def _statements_on(client: TestClient, auth: dict[str, str]) -> None:
    settings = client.get("/settings", headers=auth).json()
    settings["follow_up"]["statements"] = True
    assert client.put("/settings", json=settings, headers=auth).status_code == 200


def test_a_statement_per_statement_customer(
    client: TestClient, auth: dict[str, str], engine: Engine, settings: Settings, token_for: Any
) -> None:
    put_profile(client, auth, "C-1", statements=True)
    put_profile(client, auth, "C-2")
    first, second = post_invoice(client, auth, 1), post_invoice(client, auth, 2)
    credit = post_invoice(
        client, auth, 1, document_type="credit_note", number="CN-1",
        preceding_invoices=[{"id": sample_invoice_json(1)["number"]}],
    )  # fmt: skip
    post_invoice(client, auth, 3, receiver_id="C-2")
    with session_scope(engine) as session:
        assert statement_customers(session, "acme") == set()  # the tenant's switch is off
    _statements_on(client, auth)
    with session_scope(engine) as session:
        assert statement_customers(session, "acme") == {"C-1"}
        assert statement_customers(session, "globex") == set()

    dry = client.post("/statements/run", json={"date": ON.isoformat(), "dry_run": True}, headers=auth).json()
    assert [(s["receiver_id"], s["status"], s["items"]) for s in dry["statements"]] == [("C-1", "dry_run", 3)]
    with session_scope(engine) as session:
        assert session.execute(select(ReminderNotice)).first() is None

    run = client.post("/statements/run", json={"date": ON.isoformat()}, headers=auth)
    assert run.status_code == 200, run.text
    [statement] = run.json()["statements"]
    expected = amount(1) + amount(2) - amount(1)
    assert statement["receiver_id"] == "C-1" and Decimal(statement["total"]) == expected
    assert statement["status"] == "queued"  # without the notices service it waits for it
    with session_scope(engine) as session:
        [notice] = session.execute(select(ReminderNotice)).scalars().all()
        assert (notice.kind, notice.level, notice.receiver_id, notice.notice_on) == (
            "statement",
            0,
            "C-1",
            ON,
        )
        assert Decimal(notice.total) == expected and notice.fee == "0"
        items = {
            i.invoice_id: Decimal(i.open_amount)
            for i in session.execute(select(ReminderNoticeItem)).scalars()
        }
        assert items == {first["id"]: amount(1), second["id"]: amount(2), credit["id"]: -amount(1)}
        # the document every renderer takes: KIDs kept, the credit note marked
        [result] = run_statements(session, "acme", on=ON, actor="test", settings=settings, dry_run=True)
        kinds = {i.number: (i.document_type, i.kid) for i in result.document.invoices}
        assert kinds[first["number"]] == ("invoice", first["payment_reference"])
        assert kinds["CN-1"][0] == "credit_note" and result.document.kind == "statement"

    again = client.post("/statements/run", json={"date": ON.isoformat()}, headers=auth).json()
    assert [s["status"] for s in again["statements"]] == ["skipped"]
    other = client.post("/statements/run", json={"date": ON.isoformat()}, headers=token_for("globex")).json()
    assert other["statements"] == []
