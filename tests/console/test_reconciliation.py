"""The console's bank reconciliation: credit control uploads a camt.053 statement and sees the service's
answer (verdict, counts, differences, balances); a file that is not a statement is refused on the page (422,
never a 500); a viewer sees no form and neither a viewer nor an operator may post one; another tenant's
payments never match this tenant's statement."""

from __future__ import annotations

import datetime as dt

import pytest
from fastapi.testclient import TestClient
from lxml import etree
from sqlalchemy import Engine

from tests.console.helpers import ConsoleClient, api_auth, make_user
from tests.services.reports.test_reconciliation import as_camt054, book, statement_v8

ACCOUNT = "15030012345"
PAGE = "/console/reports/reconciliation"


def statement() -> bytes:
    return statement_v8(
        account=ACCOUNT, currency="NOK", opening="0.00", closing="1170.00",
        entries=[("1000.00", "R-1", "CRDT"), ("120.00", "R-MISSING", "CRDT"), ("50.00", "R-DIFF", "CRDT")],
    )  # fmt: skip


def notification(tenant_entries: list[tuple[str, str, str]], name: str) -> bytes:
    """What the bank notified the gateway of, as the camt.054 intake reads it."""
    data = statement_v8(
        account=ACCOUNT, currency="NOK", opening="0.00", closing="0.00", entries=tenant_entries
    )
    return as_camt054(etree.fromstring(data), name)


def upload(client: ConsoleClient, data: bytes, name: str = "statement.xml") -> object:
    return client.post(PAGE, files={"file": (name, data, "application/xml")})


def test_credit_control_sees_the_verdict_counts_and_differences(web: TestClient, engine: Engine) -> None:
    book(
        web,
        api_auth(engine),
        notification([("1000.00", "R-1", "CRDT"), ("55.00", "R-DIFF", "CRDT")], "N1"),
        "n.xml",
    )
    credit = ConsoleClient(web, make_user(engine, "kari@acme.example", "credit"))
    form = credit.get(PAGE)
    assert form.status_code == 200 and 'enctype="multipart/form-data"' in form.text
    assert 'href="/console/reports/reconciliation"' in credit.get("/console/reports").text
    answer = upload(credit, statement())
    assert answer.status_code == 200, answer.text
    page = answer.text
    # the planted two, and the bank's movements the journal (no bank lines posted here) does not carry
    assert "statement.xml" in page and "3 differences" in page
    differences = page.split('<table class="differences"')[1].split("</table>")[0]
    assert "Missing in the gateway" in differences and "R-MISSING" in differences and "120.00" in differences
    assert "Amount difference" in differences and "R-DIFF" in differences and "-5.00" in differences
    counts = page.split('<table class="reconciliation-counts">')[1].split("</table>")[0]
    assert '<td>Matched</td><td class="num">1</td>' in counts
    assert "Movements" in differences and "1\u202f170.00" in differences
    assert '<table class="balances">' in page


@pytest.mark.parametrize(
    ("data", "said"),
    [
        (b"", "file: choose a camt.053 statement"),
        (b"<Document><unclosed>", "not a camt.052 / camt.053 / camt.054 Document"),
        (b"%PDF-1.4 not xml", "not"),
    ],
)
def test_a_bad_file_is_refused_on_the_page(web: TestClient, engine: Engine, data: bytes, said: str) -> None:
    admin = ConsoleClient(web, make_user(engine, "boss@acme.example", "admin"))
    answer = upload(admin, data, "bad.xml")
    assert answer.status_code == 422
    assert 'role="alert"' in answer.text and said in answer.text
    assert 'type="file"' in answer.text and '<table class="differences"' not in answer.text


def test_a_file_field_left_out_is_refused_too(web: TestClient, engine: Engine) -> None:
    admin = ConsoleClient(web, make_user(engine, "boss@acme.example", "admin"))
    answer = admin.post(PAGE, {})
    assert answer.status_code == 422 and "choose a camt.053 statement" in answer.text


def test_a_viewer_sees_no_form_and_no_one_but_credit_control_may_post(
    viewer: ConsoleClient, operator: ConsoleClient
) -> None:
    page = viewer.get(PAGE).text
    assert "your role is viewer" in page and 'type="file"' not in page
    assert upload(viewer, statement()).status_code == 403
    assert upload(operator, statement()).status_code == 403


def test_another_tenants_payments_never_match(web: TestClient, engine: Engine) -> None:
    entries = [("1000.00", "R-1", "CRDT"), ("120.00", "R-MISSING", "CRDT"), ("50.00", "R-DIFF", "CRDT")]
    book(web, api_auth(engine, "other"), notification(entries, "OTHER"), "other.xml")
    credit = ConsoleClient(web, make_user(engine, "kari@acme.example", "credit"))
    page = upload(credit, statement()).text
    differences = page.split('<table class="differences"')[1].split("</table>")[0]
    assert "4 differences" in page and differences.count("Missing in the gateway") == 3
    assert "Missing on the statement" not in differences
    assert dt.date(2026, 11, 20).isoformat() in page
