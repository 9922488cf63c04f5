"""Credit limits at intake through POST /invoices: under, at and over the limit, flag mode, a stop flag,
and the held delivery released by the existing release route (SQLite and PostgreSQL)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from db.engine import session_scope
from gateway.samples import sample_invoice_json
from gateway.services.followup.credit import open_balances


def amount(n: int) -> Decimal:
    """The payable amount of sample invoice `n`."""
    return Decimal(sample_invoice_json(n)["totals"]["payable"])


AMOUNT = amount(1)


def _profile(client: TestClient, auth: dict[str, str], **fields: Any) -> None:
    profile = {"receiver_id": "C-1", "preferred_channel": "folder", **fields}
    answer = client.put("/receivers/C-1", json=profile, headers=auth)
    assert answer.status_code == 200, answer.text


def _invoice(n: int, document_type: str = "invoice") -> dict[str, Any]:
    data = sample_invoice_json(n)
    data["routing"] = {"receiver_id": "C-1"}
    if document_type == "credit_note":
        data["document_type"] = "credit_note"
        data["number"] = f"CN-{n}"
        data["preceding_invoices"] = [{"id": sample_invoice_json(1)["number"]}]
    return data


def _post(client: TestClient, auth: dict[str, str], n: int, **kw: Any) -> dict[str, Any]:
    answer = client.post("/invoices", json=_invoice(n, **kw), headers=auth)
    assert answer.status_code == 201, answer.text
    body: dict[str, Any] = answer.json()
    return body


def _status(client: TestClient, auth: dict[str, str], invoice_id: str) -> tuple[str, Any]:
    view = client.get(f"/invoices/{invoice_id}", headers=auth).json()
    return view["deliveries"][0]["status"], view["credit_warning"]


def test_under_at_and_over_the_limit(client: TestClient, auth: dict[str, str]) -> None:
    limit = amount(1) + amount(2)
    _profile(client, auth, credit_limit=str(limit))
    first = _post(client, auth, 1)  # under
    assert "credit_warning" not in first
    assert _status(client, auth, first["invoice_id"]) == ("queued", None)
    second = _post(client, auth, 2)  # at the limit, not over it
    assert "credit_warning" not in second
    assert _status(client, auth, second["invoice_id"])[0] == "queued"
    third = _post(client, auth, 3)  # over: accepted, held
    warning = third["credit_warning"]
    balance = limit + amount(3)
    assert (
        warning["action"] == "hold" and warning["balance"] == str(balance) and warning["limit"] == str(limit)
    )
    assert warning["message"] == (
        f"credit limit: balance {balance} NOK after this invoice exceeds the limit {limit}"
    )
    status, stored = _status(client, auth, third["invoice_id"])
    assert status == "held" and stored == warning
    view = client.get(f"/invoices/{third['invoice_id']}", headers=auth).json()
    assert warning["message"] in view["deliveries"][0]["events"][0]["reason"]
    # the existing release route lets it go after review
    delivery_id = third["delivery_ids"][0]
    released = client.post(
        f"/deliveries/{delivery_id}/release", json={"reason": "ok by credit"}, headers=auth
    )
    assert released.status_code == 200 and released.json()["status"] == "queued"
    assert client.post(f"/deliveries/{delivery_id}/release", headers=auth).status_code == 409


def test_a_credit_note_makes_room_and_is_never_held(client: TestClient, auth: dict[str, str]) -> None:
    _profile(client, auth, credit_limit=str(AMOUNT))
    _post(client, auth, 1)
    credit = _post(client, auth, 1, document_type="credit_note")
    assert "credit_warning" not in credit
    assert "credit_warning" not in _post(client, auth, 2)  # 3885 − 3885 + 2545 is under the limit


def test_flag_mode_delivers_with_a_warning(client: TestClient, auth: dict[str, str]) -> None:
    settings = client.get("/settings", headers=auth).json()
    settings["follow_up"]["credit_limit_action"] = "flag"
    assert client.put("/settings", json=settings, headers=auth).status_code == 200
    _profile(client, auth, credit_limit="1000")
    body = _post(client, auth, 1)
    assert body["credit_warning"]["action"] == "flag"
    status, stored = _status(client, auth, body["invoice_id"])
    assert status == "queued" and stored["balance"] == "3885.00" and stored["limit"] == "1000.00"


def test_a_stop_flag_holds_every_invoice(client: TestClient, auth: dict[str, str]) -> None:
    _profile(client, auth, risk_flag="stop")
    body = _post(client, auth, 1)
    assert body["credit_warning"]["action"] == "hold" and body["credit_warning"]["risk_flag"] == "stop"
    assert _status(client, auth, body["invoice_id"])[0] == "held"


def test_a_batch_counts_its_own_invoices_in_order(client: TestClient, auth: dict[str, str]) -> None:
    _profile(client, auth, credit_limit=str(amount(1) + amount(2)))
    answer = client.post("/invoices:bulk", json=[_invoice(n) for n in (1, 2, 3, 4)], headers=auth)
    results = answer.json()["results"]
    assert [("credit_warning" in r) for r in results] == [False, False, True, True]
    assert results[3]["credit_warning"]["balance"] == str(sum(amount(n) for n in (1, 2, 3, 4)))


def test_another_tenants_invoices_never_count(
    client: TestClient, auth: dict[str, str], token_for: Any, engine: Engine
) -> None:
    other = token_for("globex")
    assert client.put("/receivers/C-1", json={"receiver_id": "C-1", "preferred_channel": "folder"},
                      headers=other).status_code == 200  # fmt: skip
    for n in (1, 2, 3):
        assert client.post("/invoices", json=_invoice(n), headers=other).status_code == 201
    _profile(client, auth, credit_limit=str(AMOUNT))
    assert "credit_warning" not in _post(client, auth, 1)
    with session_scope(engine) as session:
        assert open_balances(session, "acme", ["C-1"]) == {("C-1", "NOK"): AMOUNT}
        assert open_balances(session, "globex", ["C-1"]) == {
            ("C-1", "NOK"): amount(1) + amount(2) + amount(3)
        }


def test_the_balance_query_uses_the_receiver_index(engine: Engine) -> None:
    """The intake's one query per batch reads the tenant's invoices by (tenant, receiver)."""
    with session_scope(engine) as session:
        if engine.dialect.name == "sqlite":
            plan = " ".join(
                str(row[-1])
                for row in session.execute(
                    text(
                        "EXPLAIN QUERY PLAN SELECT receiver_id, currency, count(*) FROM invoices "
                        "WHERE tenant_id = 'acme' AND receiver_id IN ('C-1', 'C-2') "
                        "AND payment_status IN ('unpaid', 'partially_paid') GROUP BY receiver_id, currency"
                    )
                )
            )
            assert "ix_invoices_portal_customer (tenant_id=? AND receiver_id=?)" in plan, plan
        else:
            session.execute(text("SET LOCAL enable_seqscan = off"))
            plan = " ".join(
                str(row[0])
                for row in session.execute(
                    text(
                        "EXPLAIN SELECT receiver_id, currency, count(*) FROM invoices "
                        "WHERE tenant_id = 'acme' AND receiver_id IN ('C-1', 'C-2') "
                        "AND payment_status IN ('unpaid', 'partially_paid') GROUP BY receiver_id, currency"
                    )
                )
            )
            assert "ix_invoices_portal_customer" in plan, plan
