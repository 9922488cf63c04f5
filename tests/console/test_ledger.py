"""The console's Ledger page: months with status and totals, exports with their files, the export form for
credit control only (the server refuses a viewer's and an operator's POST), refusals as a 422 page."""

from __future__ import annotations

import datetime as dt

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from mappings import inspect_file
from tests.console.helpers import ConsoleClient, make_user
from tests.services.ledger.journal_rows import add_invoice, add_payment


def _october(engine: Engine) -> None:
    add_invoice(engine, "acme", dt.date(2026, 10, 5), "1000.00", number="1001", customer="C-1")
    add_payment(engine, "acme", dt.date(2026, 10, 15), "1250.00", customer="C-1")
    add_invoice(engine, "acme", dt.date(2026, 11, 3), "8.00", number="1002", customer="C-2")


def test_credit_control_exports_a_month_and_downloads_it(web: TestClient, engine: Engine) -> None:
    _october(engine)
    credit = ConsoleClient(web, make_user(engine, "kari@acme.example", "credit"))
    home = credit.get("/console/ledger")
    assert home.status_code == 200
    assert 'href="/console/ledger"' in home.text and "Export and close the month" in home.text
    assert "No month has been exported yet." in home.text
    assert 'name="period" type="month" value="2026-10"' in home.text  # the oldest open month that ended
    done = credit.post("/console/ledger/journal", {"period": "2026-10", "format": "csv"})
    assert done.status_code == 303 and done.headers["location"] == "/console/ledger"
    page = credit.get("/console/ledger").text
    assert "Export 1: 2026-10 as CSV, 2 voucher(s); the period is closed." in page
    assert "journal-acme-2026-10-n1.csv" in page and "2\u202f500.00" in page
    link = page.split('href="/console/ledger/exports/')[1].split('"')[0]
    file = credit.get(f"/console/ledger/exports/{link}")
    assert file.status_code == 200 and file.headers["content-disposition"].startswith("attachment;")
    assert inspect_file(file.content)["debit_total"] == "2500.00"
    assert credit.get("/console/ledger/exports/0123456789abcdef0123456789abcdef/file").status_code == 404


def test_refusals_are_a_page_naming_the_field(web: TestClient, engine: Engine) -> None:
    admin = ConsoleClient(web, make_user(engine, "boss@acme.example", "admin"))
    future = admin.post("/console/ledger/journal", {"period": "2999-01", "format": "json"})
    assert future.status_code == 422 and "period: 2999-01 ends on 2999-01-31" in future.text
    wrong = admin.post("/console/ledger/journal", {"period": "2026-10", "format": "xml"})
    assert wrong.status_code == 422 and "format: &#39;xml&#39; is not a journal format" in wrong.text


def test_a_viewer_sees_the_months_but_may_not_export(viewer: ConsoleClient, engine: Engine) -> None:
    _october(engine)
    page = viewer.get("/console/ledger").text
    assert "your role is viewer" in page and "Export and close the month" not in page
    assert "2026-11" in page and "2026-10" in page
    assert viewer.post("/console/ledger/journal", {"period": "2026-10"}).status_code == 403


def test_an_operator_may_not_export(operator: ConsoleClient, engine: Engine) -> None:
    assert operator.post("/console/ledger/journal", {"period": "2026-10"}).status_code == 403
