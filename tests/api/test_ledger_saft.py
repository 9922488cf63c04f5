"""`GET /ledger/saft`: the caller's SAF-T file streamed once it is checked, 422 naming the field and the
reason when it is refused, scoped to the token's tenant."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from gateway.api.app import create_app
from gateway.settings import Settings
from mappings import inspect_file
from tests.conftest import SHARED
from tests.services.ledger.saft_seed import Line, add_voucher, invoice_customers, seed_month

NOVEMBER = {"date_from": "2026-11-01", "date_to": "2026-11-30"}


@pytest.fixture
def rules_client(settings: Settings, engine: Engine) -> Iterator[TestClient]:
    app = create_app(settings.model_copy(update={"rules_dir": SHARED / "validation"}), engine)
    with TestClient(app) as test_client:
        yield test_client


def test_the_file_is_streamed_and_reads_back_balanced(
    rules_client: TestClient, auth: dict[str, Any], engine: Engine
) -> None:
    seed_month(engine, *invoice_customers(rules_client, auth))
    answer = rules_client.get("/ledger/saft", params=NOVEMBER, headers=auth)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("application/xml")
    assert answer.headers["x-ledger-export"] == "1"
    assert 'filename="saft-acme-2026-11-01-2026-11-30.xml"' in answer.headers["content-disposition"]
    summary = inspect_file(answer.content)
    assert (summary["format"], summary["transactions"], summary["balanced"]) == ("saft-financial", 9, True)


def test_refused_with_the_field_and_the_reason(
    rules_client: TestClient, auth: dict[str, Any], engine: Engine
) -> None:
    seed_month(engine, *invoice_customers(rules_client, auth))
    add_voucher(engine, 11, dt.date(2026, 11, 28), "payment", [
        Line("1920", debit="100.00"), Line("2900", credit="90.00"),
    ])  # fmt: skip
    answer = rules_client.get("/ledger/saft", params=NOVEMBER, headers=auth)
    assert answer.status_code == 422
    (error,) = answer.json()["errors"]
    assert error["field"] == "Transaction 11" and "differ by 10.00" in error["reason"]
    backwards = rules_client.get(
        "/ledger/saft", params={"date_from": "2026-11-30", "date_to": "2026-11-01"}, headers=auth
    )
    assert backwards.status_code == 422 and backwards.json()["errors"][0]["field"] == "date_from"


def test_without_a_rules_directory_it_is_refused_naming_the_setting(
    client: TestClient, auth: dict[str, Any]
) -> None:
    answer = client.get("/ledger/saft", params=NOVEMBER, headers=auth)
    assert answer.status_code == 422
    assert answer.json()["errors"][0]["field"] == "GATEWAY_RULES_DIR"


def test_another_tenant_sees_only_its_own_ledger(
    rules_client: TestClient, auth: dict[str, Any], engine: Engine, token_for: Any
) -> None:
    seed_month(engine, *invoice_customers(rules_client, auth))
    other = token_for("globex")
    answer = rules_client.get("/ledger/saft", params=NOVEMBER, headers=other)
    # globex has no invoices, so no organisation number for the header: refused, and nothing of acme's
    assert answer.status_code == 422
    assert answer.json()["errors"][0]["field"] == "ledger.company.registration_number"
    assert rules_client.get("/ledger/saft", params=NOVEMBER).status_code == 401


def test_without_dates_it_is_last_month_and_one_date_is_its_month(
    rules_client: TestClient, auth: dict[str, Any], engine: Engine
) -> None:
    from gateway.api.routes.ledger import _first_of_last_month, _last_of_month

    assert _first_of_last_month(dt.date(2027, 1, 15)) == dt.date(2026, 12, 1)
    assert _last_of_month(dt.date(2028, 2, 1)) == dt.date(2028, 2, 29)
    seed_month(engine, *invoice_customers(rules_client, auth))
    answer = rules_client.get("/ledger/saft", params={"date_from": "2026-11-01"}, headers=auth)
    assert answer.status_code == 200, answer.text
    assert inspect_file(answer.content)["selection_end"] == "2026-11-30"
