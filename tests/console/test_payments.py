"""The payment pages over HTTP: the exception queue, a payment's suggestions with their evidence in words,
and a credit controller's decisions booked by the same services the API uses, with real bank files and
real matching (`tests/payment_scenarios.py`)."""

from __future__ import annotations

import html
import re
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from db.engine import session_scope
from db.models import PaymentAllocation, PaymentRecord
from tests.console.helpers import ConsoleClient, api_auth, make_user
from tests.payment_scenarios import Booked, book_payments, payment_status, refuse_a_file


@pytest.fixture
def credit(web: TestClient, engine: Engine) -> ConsoleClient:
    return ConsoleClient(web, make_user(engine, "kreditt@acme.example", "credit"))


@pytest.fixture
def auth(engine: Engine) -> dict[str, str]:
    return api_auth(engine)


@pytest.fixture
def booked(web: TestClient, auth: dict[str, str]) -> Booked:
    return book_payments(web, auth)


def _payment(engine: Engine, payment_id: str) -> PaymentRecord:
    with session_scope(engine) as session:
        payment = session.get(PaymentRecord, payment_id)
        assert payment is not None
        session.expunge(payment)
        return payment


def test_the_queue_lists_exceptions_with_their_best_suggestion(credit: ConsoleClient, booked: Booked) -> None:
    page = credit.get("/console/payments")
    assert page.status_code == 200
    text = page.text
    twins = booked.payments["twins"]["id"]
    assert f'href="/console/payments/{twins}"' in text and "3\u202f885.00 NOK" in text
    assert (
        "Best suggestion INV-000001: 3,885.00 NOK equals the open amount of invoice INV-000001 (+1 more)"
        in text
    )
    assert "KID 0000005553" in text and "Midnattsol Drift AS" in text
    # the KID-paid one is not in the exception queue, but is among the matched
    assert booked.payments["by_kid"]["id"] not in text
    matched = credit.get("/console/payments?queue=matched").text
    assert booked.payments["by_kid"]["id"] in matched and "Applied to INV-000003 by the matcher" in matched
    assert credit.get("/console/payments?queue=nonsense").status_code == 404
    assert credit.get("/console/payments?page=zero").status_code == 422


def test_a_payment_shows_its_suggestions_and_evidence_in_words(credit: ConsoleClient, booked: Booked) -> None:
    text = credit.get(f"/console/payments/{booked.payments['twins']['id']}").text
    assert "3,885.00 NOK equals the open amount of invoice INV-000001." in text
    assert "2 open invoices of Midnattsol Drift AS have exactly 3,885.00 NOK: a person decides." in text
    assert "KID 0000005553 belongs to no known item." in text
    assert "Invoice INV-000101 becomes paid." in text
    assert "camt054-20261120.xml" in text
    assert '"kind"' not in text and "&#34;kind&#34;" not in text, "no raw JSON on the page"
    for action in ("choose", "allocate", "ignore"):
        assert f'action="/console/payments/{booked.payments["twins"]["id"]}/{action}' in text


def test_choosing_a_suggestion_pays_the_invoice_as_the_person(
    credit: ConsoleClient, booked: Booked, auth: dict[str, str], engine: Engine
) -> None:
    payment_id = booked.payments["twins"]["id"]
    answer = credit.post(
        f"/console/payments/{payment_id}/choose",
        {"suggestion": "1", "reason": "Midnattsol confirmed by phone"},
    )
    assert answer.status_code == 303 and answer.headers["location"] == f"/console/payments/{payment_id}"
    after = credit.get(answer.headers["location"]).text
    assert "Booked: invoice INV-000101 is now paid." in after
    assert payment_status(credit.client, auth, "INV-000101")["payment_status"] == "paid"
    assert payment_status(credit.client, auth, "INV-000001")["payment_status"] == "unpaid"
    payment = _payment(engine, payment_id)
    assert payment.status == "resolved" and payment.decided_by == "console:kreditt@acme.example"
    [resolution] = (payment.decision or {})["resolutions"]
    assert resolution["by"] == "console:kreditt@acme.example"
    assert resolution["reason"] == "Midnattsol confirmed by phone"
    with session_scope(engine) as session:
        [allocation] = session.execute(
            select(PaymentAllocation).where(PaymentAllocation.payment_id == payment_id)
        ).scalars()
        assert allocation.created_by == "console:kreditt@acme.example" and allocation.amount == "3885.00"
    # the queue no longer holds it; a second choice is refused, naming why
    assert payment_id not in credit.get("/console/payments").text
    again = credit.post(f"/console/payments/{payment_id}/choose", {"suggestion": "0"})
    assert again.status_code == 422 and "nothing to approve for a payment in status resolved" in again.text
    missing = credit.post(f"/console/payments/{booked.payments['by_name']['id']}/choose", {"suggestion": "7"})
    assert missing.status_code == 422 and "suggestion: there is no suggestion 7" in missing.text


def test_allocate_by_hand_with_a_write_off_previews_then_books(
    credit: ConsoleClient, booked: Booked, auth: dict[str, str], engine: Engine
) -> None:
    payment_id = booked.payments["short"]["id"]
    paid = Decimal(booked.payments["short"]["amount"])
    printed = f"{paid:,.2f}".replace(",", "\u202f")  # as the console prints it: 2 532.50
    form = {"invoice_1": "INV-000002", "amount_1": printed, "write_off": "12.50",
            "reason": "bank fee deducted by the payer"}  # fmt: skip
    preview = credit.post(f"/console/payments/{payment_id}/allocate", {**form, "step": "preview"})
    assert preview.status_code == 200
    assert (
        'Invoice <a href="/console/invoices/INV-000002">INV-000002</a> becomes paid; 12.50 NOK written off'
        in preview.text
    )
    assert payment_status(credit.client, auth, "INV-000002")["payment_status"] == "unpaid", (
        "a preview books nothing"
    )
    booked_answer = credit.post(f"/console/payments/{payment_id}/allocate", {**form, "step": "book"})
    assert booked_answer.status_code == 303
    assert "invoice INV-000002 is now paid" in credit.get(booked_answer.headers["location"]).text
    status = payment_status(credit.client, auth, "INV-000002")
    assert status["payment_status"] == "paid" and Decimal(status["open_amount"]) == 0
    [allocation] = status["allocations"]
    assert (
        Decimal(allocation["write_off"]) == Decimal("12.50")
        and allocation["by"] == "console:kreditt@acme.example"
    )
    assert _payment(engine, payment_id).note == "bank fee deducted by the payer"


@pytest.mark.parametrize(
    ("field", "value", "words"),
    [
        ("amount_1", "1,2,3", "amount_1: '1,2,3' has a comma"),
        ("amount_1", "NaN", "amount_1: 'NaN' is not an amount"),
        ("amount_1", "Infinity", "amount_1: 'Infinity' is not an amount"),
        ("amount_1", "1e3", "amount_1: '1e3' is not an amount"),
        ("amount_1", "10.505", "amount_1: NOK has 2 decimals at most"),
        ("amount_1", "-5.00", "amount_1: must not be negative"),
        ("amount_1", "0", "amount_1: must be more than zero"),
        ("amount_1", "", "amount_1: an amount is required"),
        ("write_off", "-1", "write_off: must not be negative"),
        ("write_off", "1.001", "write_off: NOK has 2 decimals at most"),
    ],
)
def test_a_malformed_amount_is_refused_naming_the_field(
    credit: ConsoleClient, booked: Booked, engine: Engine, field: str, value: str, words: str
) -> None:
    form = {"invoice_1": "INV-000002", "amount_1": "100.00", "reason": "test", "step": "book", field: value}
    answer = credit.post(f"/console/payments/{booked.payments['short']['id']}/allocate", form)
    assert answer.status_code == 422, answer.text
    assert words in html.unescape(answer.text)
    assert _payment(engine, booked.payments["short"]["id"]).status == "exception"


def test_refused_hand_allocations_name_the_field(credit: ConsoleClient, booked: Booked) -> None:
    payment_id = booked.payments["short"]["id"]
    no_reason = credit.post(
        f"/console/payments/{payment_id}/allocate",
        {"invoice_1": "INV-000002", "amount_1": "10.00", "write_off": "5.00", "step": "book"},
    )
    assert no_reason.status_code == 422 and "reason: say why the write-off is written off" in no_reason.text
    unknown = credit.post(
        f"/console/payments/{payment_id}/allocate", {"invoice_1": "INV-999999", "amount_1": "10.00"}
    )
    assert unknown.status_code == 422 and "allocations[0].invoice_id: no invoice INV-999999" in unknown.text
    too_much = credit.post(
        f"/console/payments/{payment_id}/allocate", {"invoice_1": "INV-000002", "amount_1": "99999.00"}
    )
    assert (
        too_much.status_code == 422 and "allocations: they apply 99999.00 but the payment is" in too_much.text
    )


def test_approving_a_proposal(
    web: TestClient, engine: Engine, auth: dict[str, str], credit: ConsoleClient
) -> None:
    settings = web.put("/settings", json={"matching": {"approval_above": "1000"}}, headers=auth)
    assert settings.status_code in (200, 201), settings.text
    booked = book_payments(web, auth)
    payment_id = booked.payments["by_kid"]["id"]
    assert _payment(engine, payment_id).status == "needs_approval"
    page = credit.get("/console/payments?queue=approvals").text
    assert payment_id in page and "Proposal INV-000003: KID" in page
    text = credit.get(f"/console/payments/{payment_id}").text
    assert "The matcher’s proposal" in text and "Approve the chosen one" in text
    answer = credit.post(f"/console/payments/{payment_id}/choose", {"suggestion": "0"})
    assert answer.status_code == 303
    assert payment_status(web, auth, "INV-000003")["payment_status"] == "paid"
    assert _payment(engine, payment_id).decided_by == "console:kreditt@acme.example"


def test_reverse_then_ignore(
    credit: ConsoleClient, booked: Booked, auth: dict[str, str], engine: Engine
) -> None:
    payment_id = booked.payments["by_kid"]["id"]
    text = credit.get(f"/console/payments/{payment_id}").text
    assert 'Invoice <a href="/console/invoices/INV-000003">INV-000003</a> becomes unpaid' in text
    assert credit.post(f"/console/payments/{payment_id}/reverse", {"reason": " "}).status_code == 422
    answer = credit.post(
        f"/console/payments/{payment_id}/reverse", {"reason": "the KID was the wrong customer's"}
    )
    assert answer.status_code == 303
    assert "Booked" not in (notice := credit.get(answer.headers["location"]).text)
    assert "invoice INV-000003 is now unpaid" in notice
    assert payment_status(credit.client, auth, "INV-000003")["payment_status"] == "unpaid"
    payment = _payment(engine, payment_id)
    assert payment.status == "exception"
    assert (payment.decision or {})["reversals"][0]["by"] == "console:kreditt@acme.example"
    ignored = credit.post(f"/console/payments/{payment_id}/ignore", {"reason": "a refund of another order"})
    assert ignored.status_code == 303 and _payment(engine, payment_id).status == "ignored"
    refund = booked.payments["refund"]["id"]
    nothing = credit.post(f"/console/payments/{refund}/reverse", {"reason": "x"})
    assert nothing.status_code == 422 and "has nothing applied" in nothing.text


@pytest.mark.parametrize("role", ["operator", "viewer"])
def test_other_roles_see_no_actions_and_are_refused(
    web: TestClient, engine: Engine, booked: Booked, role: str
) -> None:
    user = ConsoleClient(web, make_user(engine, f"{role}@acme.example", role))
    payment_id = booked.payments["twins"]["id"]
    text = user.get(f"/console/payments/{payment_id}").text
    assert "3,885.00 NOK equals the open amount of invoice INV-000001." in text, "they may read the evidence"
    assert f'action="/console/payments/{payment_id}/' not in text and "<button" in text  # sign-out only
    for action, form in (
        ("choose", {"suggestion": "0"}),
        ("allocate", {"invoice_1": "INV-000001", "amount_1": "3885.00", "step": "book"}),
        ("ignore", {"reason": "no"}),
        ("reverse", {"reason": "no"}),
    ):
        answer = user.post(f"/console/payments/{payment_id}/{action}", form)
        assert answer.status_code == 403, (action, answer.status_code)
    assert _payment(engine, payment_id).status == "exception"


def test_another_tenants_payment_is_not_found(web: TestClient, engine: Engine, booked: Booked) -> None:
    other = ConsoleClient(web, make_user(engine, "kreditt@globex.example", "credit", tenants=("globex",)))
    payment_id = booked.payments["twins"]["id"]
    assert other.get(f"/console/payments/{payment_id}").status_code == 404
    assert other.post(f"/console/payments/{payment_id}/choose", {"suggestion": "0"}).status_code == 404
    assert payment_id not in other.get("/console/payments?queue=all").text
    assert "camt054-20261120.xml" not in other.get("/console/remittances").text
    assert _payment(engine, payment_id).status == "exception"


def test_remittance_files_with_counts_and_refused_files_with_the_reason(
    credit: ConsoleClient, booked: Booked, web: TestClient, auth: dict[str, str]
) -> None:
    refuse_a_file(web, auth)
    text = credit.get("/console/remittances").text
    assert "camt054-20261120.xml" in text and "camt054-broken.xml" in text
    refused = text[text.index("Refused files") : text.index("Received files")]
    assert "camt054-broken.xml" in refused and "NbOfTxs" in refused
    received = text[text.index("Received files") :]
    row = received[
        received.index("camt054-20261120.xml") : received.index(
            "</tr>", received.index("camt054-20261120.xml")
        )
    ]
    cells = [
        re.sub(r"<[^>]+>", " ", cell.split(">", 1)[1]).split()[0] for cell in row.split('<td class="num"')[1:]
    ]
    # 5 payments; matched 1 (by KID); unmatched 3 exceptions; other 1 (the refund, ignored) or more exceptions
    assert cells[0] == "5"
    assert int(cells[2]) == 1 and int(cells[3]) + int(cells[4]) == 4
