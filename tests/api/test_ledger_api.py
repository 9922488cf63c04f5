"""The ledger routes: posting (422 naming the field when refused), vouchers page by page, one voucher,
balances; every route scoped to the token's tenant."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from tests.services.ledger import factories as f

ORG = "910667831"


def _month(engine: Engine) -> None:
    for n in range(3):
        f.invoice(engine, org=ORG, issue_date=dt.date(2026, 11, 2 + n))
    f.payment(engine, "1250.00", booking_date=dt.date(2026, 11, 20))


def test_post_then_read_vouchers_page_by_page(
    client: TestClient, auth: dict[str, Any], engine: Engine
) -> None:
    _month(engine)
    posted = client.post("/ledger/post", json={"until": "2026-11-30"}, headers=auth)
    assert posted.status_code == 200, posted.text
    body = posted.json()
    assert (body["vouchers"], body["by_type"], body["first_number"], body["last_number"]) == (
        4, {"invoice": 3, "payment": 1}, 1, 4,
    )  # fmt: skip
    assert body["periods"] == ["2026-11"]
    again = client.post("/ledger/post", json={"until": "2026-11-30"}, headers=auth).json()
    assert again["vouchers"] == 0

    numbers: list[int] = []
    url: str | None = "/ledger/vouchers?period=2026-11&limit=3"
    while url is not None:
        page = client.get(url, headers=auth)
        assert page.status_code == 200, page.text
        numbers += [item["number"] for item in page.json()["items"]]
        url = page.json()["next"]
    assert numbers == [1, 2, 3, 4]
    assert client.get("/ledger/vouchers?period=2026-12", headers=auth).json() == {"items": [], "next": None}

    one = client.get("/ledger/vouchers/4", headers=auth)
    assert one.status_code == 200
    assert one.json()["voucher_type"] == "payment"
    assert [(line["account"], line["debit"], line["credit"]) for line in one.json()["lines"]] == [
        ("1920", "1250.00", "0"),
        ("2900", "0", "1250.00"),
    ]
    missing = client.get("/ledger/vouchers/5", headers=auth)
    assert missing.status_code == 404 and missing.json()["errors"][0]["field"] == "number"

    balances = client.get("/ledger/balances?date=2026-11-30", headers=auth).json()
    assert balances["total"] == "0.00"
    assert {row["account"]: row["balance"] for row in balances["accounts"]}["1500"] == "3750.00"
    assert balances["customers"] == [
        {"customer_key": f.customer_key(ORG), "customer_number": f.customer_key(ORG), "balance": "3750.00"}
    ]


def test_a_refusal_is_422_naming_the_field_and_writes_nothing(
    client: TestClient, auth: dict[str, Any], engine: Engine
) -> None:
    f.invoice(engine, org=ORG)
    f.invoice(engine, lines=[("S", "25", "80.00")], currency="EUR", org=ORG)
    answer = client.post("/ledger/post", json={"until": "2026-11-30"}, headers=auth)
    assert answer.status_code == 422
    [error] = answer.json()["errors"]
    assert error["field"] == "ledger.exchange_rates" and "EUR" in error["reason"]
    assert client.get("/ledger/vouchers", headers=auth).json()["items"] == []


def test_every_route_is_the_token_tenants(
    client: TestClient, auth: dict[str, Any], engine: Engine, token_for: Any
) -> None:
    _month(engine)
    assert client.post("/ledger/post", json={"until": "2026-11-30"}, headers=auth).status_code == 200
    other = token_for("other")
    assert client.post("/ledger/post", json={"until": "2026-11-30"}, headers=other).json()["vouchers"] == 0
    assert client.get("/ledger/vouchers", headers=other).json()["items"] == []
    assert client.get("/ledger/vouchers/1", headers=other).status_code == 404
    assert client.get("/ledger/balances", headers=other).json()["accounts"] == []
    assert client.get("/ledger/vouchers").status_code == 401


def test_bad_queries_are_refused(client: TestClient, auth: dict[str, Any]) -> None:
    assert client.get("/ledger/vouchers?period=2026-13", headers=auth).status_code == 422
    assert client.get("/ledger/vouchers?cursor=abc", headers=auth).status_code == 422
    assert client.post("/ledger/post", json={"until": "not a date"}, headers=auth).status_code == 422
    assert client.post("/ledger/post", json={"since": "2026-11-01"}, headers=auth).status_code == 422
