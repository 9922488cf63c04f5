"""The ledger routes: a period's journal exported (201, a download link), its file with the right media type
and name, the same bytes for a closed period, refusals as 422 naming the field, lists, tenant isolation."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from mappings import inspect_file
from tests.services.ledger.journal_rows import add_invoice, add_payment

Auth = dict[str, Any]
OCTOBER = dt.date(2026, 10, 1)


def _october(engine: Engine) -> None:
    add_invoice(engine, "acme", OCTOBER + dt.timedelta(days=4), "1000.00", number="1001", customer="C-1")
    add_payment(engine, "acme", OCTOBER + dt.timedelta(days=14), "1250.00", customer="C-1")
    add_invoice(engine, "acme", dt.date(2026, 11, 3), "8.00", number="1002", customer="C-2")


def _export(client: TestClient, auth: Auth, fmt: str, period: str = "2026-10") -> Any:
    return client.post("/ledger/journal", json={"period": period, "format": fmt}, headers=auth)


def test_a_period_is_exported_downloaded_and_re_exported_byte_for_byte(
    client: TestClient, auth: Auth, engine: Engine
) -> None:
    _october(engine)
    made = _export(client, auth, "gbat10")
    assert made.status_code == 201, made.text
    record = made.json()
    assert (record["number"], record["format"], record["period"], record["vouchers"]) == (
        1,
        "gbat10",
        "2026-10",
        2,
    )
    file = client.get(record["download"], headers=auth)
    assert file.status_code == 200
    assert file.headers["content-type"].startswith("text/csv")
    assert file.headers["content-disposition"] == 'attachment; filename="journal-acme-2026-10-n1.txt"'
    found = inspect_file(file.content)
    assert (found["format"], found["vouchers"], found["balanced"], found["debit_total"]) == (
        "gbat10", 2, True, "2500.00",
    )  # fmt: skip
    again = _export(client, auth, "gbat10").json()
    assert again["number"] == 2 and again["sha256"] == record["sha256"]
    assert client.get(again["download"], headers=auth).content == file.content
    as_json = _export(client, auth, "json").json()
    data = client.get(as_json["download"], headers=auth)
    assert data.headers["content-type"] == "application/json"
    assert inspect_file(data.content)["vouchers"] == 2
    assert client.get(f"/ledger/exports/{record['id']}", headers=auth).json() == record


def test_refusals_are_422_naming_the_field(client: TestClient, auth: Auth, engine: Engine) -> None:
    _october(engine)
    cases = [
        ({"period": "2999-01", "format": "csv"}, "period", "ends on 2999-01-31"),
        ({"period": "2026-13", "format": "csv"}, "period", "not a period"),
        ({"period": "2026-10", "format": "xml"}, "body.format", ""),
        ({"format": "csv"}, "body.period", ""),
        ({"period": "2026-10", "format": "csv", "extra": 1}, "body.extra", ""),
    ]
    for body, field, words in cases:
        answer = client.post("/ledger/journal", json=body, headers=auth)
        assert answer.status_code == 422, (body, answer.text)
        error = answer.json()["errors"][0]
        assert error["field"] == field and words in error["reason"], (body, error)
    assert client.get("/ledger/exports", headers=auth).json() == {"items": [], "next": None}


def test_lists_pages_and_periods(client: TestClient, auth: Auth, engine: Engine) -> None:
    _october(engine)
    for fmt in ("gbat10", "csv", "json"):
        assert _export(client, auth, fmt).status_code == 201
    page = client.get("/ledger/exports?limit=2", headers=auth).json()
    assert [i["number"] for i in page["items"]] == [3, 2]
    assert page["next"] == "/ledger/exports?before=2&limit=2"
    rest = client.get(page["next"], headers=auth).json()
    assert [i["number"] for i in rest["items"]] == [1] and rest["next"] is None
    periods = client.get("/ledger/periods", headers=auth).json()
    assert [(p["period"], p["status"], p["vouchers"], p["export_number"]) for p in periods["items"]] == [
        ("2026-11", "open", 1, None),
        ("2026-10", "closed", 2, 1),
    ]
    assert periods["next"] is None and periods["items"][1]["balanced"] is True


def test_another_tenants_exports_are_not_found(
    client: TestClient, auth: Auth, engine: Engine, token_for: Any
) -> None:
    _october(engine)
    record = _export(client, auth, "csv").json()
    other = token_for("other")
    assert client.get(f"/ledger/exports/{record['id']}", headers=other).status_code == 404
    assert client.get(record["download"], headers=other).status_code == 404
    assert client.get("/ledger/exports", headers=other).json()["items"] == []
    assert client.get("/ledger/periods", headers=other).json()["items"] == []
    assert client.get("/ledger/exports/nope", headers=auth).status_code == 404
    assert client.post("/ledger/journal", json={"period": "2026-10"}).status_code == 401
