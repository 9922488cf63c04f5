"""The console's ledger month and voucher pages: a month's vouchers a page of 50 at a time (keyset by number),
a voucher's lines with the chart's account names; a bad month or number is the 404 page, and another tenant's
voucher is never shown (its number answers 404 in this tenant)."""

from __future__ import annotations

import datetime as dt

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from gateway.console.pages.ledger import MONTH_PAGE
from tests.console.helpers import ConsoleClient, make_user
from tests.services.ledger.journal_rows import add_invoice, add_payment


def test_the_months_link_to_their_vouchers_and_a_voucher_to_its_lines(
    viewer: ConsoleClient, engine: Engine
) -> None:
    add_invoice(engine, "acme", dt.date(2026, 10, 5), "1000.00", number="1001", customer="C-1")
    add_payment(engine, "acme", dt.date(2026, 10, 15), "1250.00", customer="C-1")
    add_invoice(engine, "acme", dt.date(2026, 11, 3), "8.00", number="1002", customer="C-2")
    home = viewer.get("/console/ledger").text
    assert 'href="/console/ledger/2026-10"' in home and 'href="/console/ledger/2026-11"' in home
    month = viewer.get("/console/ledger/2026-10")
    assert month.status_code == 200
    rows = month.text.split("<tbody>")[1].split("</tbody>")[0]
    assert rows.count("<tr>") == 2 and "1002" not in rows  # November's voucher is not October's
    assert 'href="/console/ledger/2026-10/1"' in rows and "1\u202f250.00" in rows and "C-1" in rows
    assert "Next page" not in month.text
    voucher = viewer.get("/console/ledger/2026-10/1")
    assert voucher.status_code == 200
    lines = voucher.text.split("<tbody>")[1].split("</tbody>")[0]
    assert lines.count("<tr>") == 3
    for shown in (
        "1500",
        "Kundefordringer",
        "3000",
        "2700",
        "10017",
        "1001",
        "C-1",
        "1\u202f250.00",
        "250.00",
    ):
        assert shown in lines, shown
    assert voucher.text.count("1\u202f250.00") >= 3  # the line, the debit total and the credit total


def test_a_month_pages_by_voucher_number(viewer: ConsoleClient, engine: Engine) -> None:
    for n in range(MONTH_PAGE + 3):
        add_payment(engine, "acme", dt.date(2026, 9, 1 + n % 28), f"{n + 1}.00", customer="C-9")
    first = viewer.get("/console/ledger/2026-09").text
    assert first.split("<tbody>")[1].count("<tr>") == MONTH_PAGE
    assert f'href="/console/ledger/2026-09?after={MONTH_PAGE}"' in first
    second = viewer.get(f"/console/ledger/2026-09?after={MONTH_PAGE}").text
    body = second.split("<tbody>")[1].split("</tbody>")[0]
    assert body.count("<tr>") == 3 and f"/console/ledger/2026-09/{MONTH_PAGE + 1}" in body
    assert "Next page" not in second and 'href="/console/ledger/2026-09"' in second


def test_bad_months_and_numbers_are_the_404_page(viewer: ConsoleClient, engine: Engine) -> None:
    add_invoice(engine, "acme", dt.date(2026, 10, 5), "10.00", number="1", customer="C-1")
    for path in ("/console/ledger/2026-13", "/console/ledger/26-10", "/console/ledger/2026-10?after=x",
                 "/console/ledger/2026-10/x", "/console/ledger/2026-10/99", "/console/ledger/2026-11/1",
                 "/console/ledger/2026-10/" + "9" * 30):  # fmt: skip
        answer = viewer.get(path)
        assert answer.status_code == 404, path
        assert "error-page" in answer.text, path
    assert "No voucher is posted in 2026-12." in viewer.get("/console/ledger/2026-12").text


def test_another_tenants_voucher_is_never_shown(web: TestClient, engine: Engine) -> None:
    add_invoice(engine, "other", dt.date(2026, 10, 5), "777.00", number="OTHER-1", customer="SECRET")
    add_invoice(engine, "other", dt.date(2026, 10, 6), "777.00", number="OTHER-2", customer="SECRET")
    add_invoice(engine, "acme", dt.date(2026, 10, 7), "10.00", number="A-1", customer="C-1")
    acme = ConsoleClient(web, make_user(engine, "kari@acme.example", "credit"))
    month = acme.get("/console/ledger/2026-10").text
    assert "SECRET" not in month and "OTHER-1" not in month and "A-1" in month
    assert acme.get("/console/ledger/2026-10/1").status_code == 200  # acme's own voucher 1
    assert "SECRET" not in acme.get("/console/ledger/2026-10/1").text
    assert acme.get("/console/ledger/2026-10/2").status_code == 404  # other's voucher 2: not here
