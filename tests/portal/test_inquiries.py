"""The inquiry pages: a customer asks about an invoice (with a file), follows the thread, replies, promises to
pay; ops answer from the console and the customer reads it; another customer's ids are 404; a POST without
the CSRF token is 403; a refused form comes back with the field's message (422)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from db.engine import session_scope
from db.models import Dispute
from gateway.api.app import create_app
from gateway.services.followup import disputes
from gateway.settings import Settings
from tests.console.helpers import ConsoleClient, make_user
from tests.portal.helpers import portal_session
from tests.services.test_portal_inquiries import EXE, customer_invoice
from tests.services.test_resend_with_pod import photo

_DISPUTE = re.compile(r"/portal/inquiries/([0-9a-f]{32})")


@pytest.fixture
def acme(client: TestClient, auth: dict[str, Any], engine: Engine) -> dict[str, Any]:
    first = customer_invoice(client, auth, 1, "C1")
    foreign = customer_invoice(client, auth, 2, "C2")
    identity = portal_session(client, engine, "acme", "C1", email="ap@c1.example")
    return {"first": first, "foreign": foreign, "csrf": identity.csrf_token}


def _ask(client: TestClient, invoice_id: str, csrf: str | None, **fields: Any) -> Any:
    data = {"action": "inquiry", "category": "goods", "text": "Two pallets arrived broken", **fields}
    if csrf is not None:
        data["csrf_token"] = csrf
    files = fields.pop("files", None)
    data.pop("files", None)
    return client.post(
        f"/portal/invoices/{invoice_id}/inquiry", data=data, files=files or {"x": ("", b"")},
        follow_redirects=False,
    )  # fmt: skip


def test_a_customer_asks_ops_answer_in_the_console_and_the_customer_reads_it(
    client: TestClient, engine: Engine, settings: Settings, acme: dict[str, Any]
) -> None:
    form = client.get(f"/portal/invoices/{acme['first']}/inquiry")
    assert form.status_code == 200
    assert "Varer mangler eller er skadet" in form.text and "Feil beløp" in form.text  # nb by default

    answer = _ask(
        client, acme["first"], acme["csrf"], files={"attachment": ("pallet.png", photo(), "image/png")}
    )
    assert answer.status_code == 303, answer.text
    dispute_id = _DISPUTE.search(answer.headers["location"]).group(1)  # type: ignore[union-attr]
    with session_scope(engine) as session:
        dispute = session.get(Dispute, dispute_id)
        assert dispute is not None and dispute.origin == "portal" and dispute.status == "open"
        disputes.add_message(
            session, None, "acme", dispute_id, text="SECRET: customer often claims damage",  # type: ignore[arg-type]
            side="internal", actor="console:kari@acme.example", now=dispute.opened_at,
        )  # fmt: skip

    with TestClient(create_app(settings, engine), base_url="http://testserver") as console_client:
        ops = ConsoleClient(console_client, make_user(engine, "ops@acme.example", "operator"))
        page = ops.get(f"/console/follow-up/disputes/{dispute_id}")
        assert "Reply to the customer" in page.text and "the customer sees this" in page.text
        assert "internal: the customer does not see this" in page.text
        sent = ops.post(
            f"/console/follow-up/disputes/{dispute_id}/reply",
            {"text": "Sorry! We send two new pallets tomorrow."},
        )
        assert sent.status_code == 303, sent.text
        thread_in_console = ops.get(f"/console/follow-up/disputes/{dispute_id}").text
        assert "To the customer" in thread_in_console

    thread = client.get(f"/portal/inquiries/{dispute_id}")
    assert thread.status_code == 200
    assert "Two pallets arrived broken" in thread.text and "We send two new pallets tomorrow." in thread.text
    assert "SECRET" not in thread.text and "kari@acme.example" not in thread.text
    assert "pallet.png" in thread.text
    listing = client.get("/portal/inquiries")
    assert dispute_id in listing.text and "Besvart" in listing.text

    href = re.search(rf"/portal/inquiries/{dispute_id}/attachments/(\d+)", thread.text)
    assert href is not None
    file = client.get(href.group(0))
    assert file.status_code == 200 and file.content[:4] == b"\x89PNG"

    reply = client.post(
        f"/portal/inquiries/{dispute_id}/messages",
        data={"csrf_token": acme["csrf"], "text": "Thank you"},
        files={"attachment": ("", b"", "application/octet-stream")},
        follow_redirects=False,
    )
    assert reply.status_code == 303
    assert "Thank you" in client.get(f"/portal/inquiries/{dispute_id}").text

    again = _ask(client, acme["first"], acme["csrf"], category="other", text="And the invoice is late")
    assert again.status_code == 303 and dispute_id in again.headers["location"]  # joined the open one
    assert "allerede en åpen henvendelse" in client.get(again.headers["location"]).text


def test_a_renamed_program_and_an_empty_form_are_refused_naming_the_field(
    client: TestClient, engine: Engine, acme: dict[str, Any]
) -> None:
    refused = _ask(
        client, acme["first"], acme["csrf"], files={"attachment": ("faktura.pdf", EXE, "application/pdf")}
    )
    assert refused.status_code == 422
    assert 'id="attachment-error"' in refused.text and "Vedlegget ble ikke godtatt" in refused.text
    assert "Two pallets arrived broken" in refused.text  # what the customer wrote is kept
    empty = _ask(client, acme["first"], acme["csrf"], category="", text="")
    assert empty.status_code == 422 and 'id="category-error"' in empty.text
    with session_scope(engine) as session:
        assert disputes.active_dispute(session, acme["first"]) is None


def test_a_promise_beyond_the_limit_is_refused_naming_it_and_one_within_is_kept(
    client: TestClient, acme: dict[str, Any]
) -> None:
    form = client.get(f"/portal/invoices/{acme['first']}/inquiry").text
    latest = re.search(r'name="date" type="date" min="([\d-]+)" max="([\d-]+)"', form)
    assert latest is not None
    late = client.post(
        f"/portal/invoices/{acme['first']}/inquiry",
        data={"csrf_token": acme["csrf"], "action": "promise", "date": "2099-01-01"},
        follow_redirects=False,
    )
    assert late.status_code == 422 and 'id="date-error"' in late.text
    assert "60 dager" in late.text and latest.group(2) in late.text
    kept = client.post(
        f"/portal/invoices/{acme['first']}/inquiry",
        data={"csrf_token": acme["csrf"], "action": "promise", "date": latest.group(1), "amount": "100,00"},
        follow_redirects=False,
    )
    assert kept.status_code == 303
    assert "Du har lovet å betale 100.00 NOK" in client.get(kept.headers["location"]).text


def test_another_customers_invoice_inquiry_and_attachment_are_404_and_no_token_is_403(
    client: TestClient, engine: Engine, acme: dict[str, Any]
) -> None:
    assert _ask(client, acme["first"], None).status_code == 403
    assert _ask(client, acme["first"], "stale").status_code == 403
    assert client.get(f"/portal/invoices/{acme['foreign']}/inquiry").status_code == 404
    assert _ask(client, acme["foreign"], acme["csrf"]).status_code == 404

    other = TestClient(client.app, base_url="http://testserver")
    c2 = portal_session(other, engine, "acme", "C2", email="ap@c2.example")
    opened = _ask(
        other, acme["foreign"], c2.csrf_token, files={"attachment": ("p.png", photo(), "image/png")}
    )
    dispute_id = _DISPUTE.search(opened.headers["location"]).group(1)  # type: ignore[union-attr]
    href = re.search(
        rf"/portal/inquiries/{dispute_id}/attachments/\d+", other.get(opened.headers["location"]).text
    )
    assert href is not None and other.get(href.group(0)).status_code == 200

    for path in (
        f"/portal/inquiries/{dispute_id}",
        href.group(0),
        f"/portal/inquiries/{dispute_id}/attachments/x",
    ):
        answer = client.get(path)
        assert answer.status_code == 404 and "<html" in answer.text
    reply = client.post(
        f"/portal/inquiries/{dispute_id}/messages", data={"csrf_token": acme["csrf"], "text": "hi"},
        files={"x": ("", b"")}, follow_redirects=False,
    )  # fmt: skip
    assert reply.status_code == 404
    assert dispute_id not in client.get("/portal/inquiries").text


def test_a_body_larger_than_a_file_may_be_is_refused_before_it_is_read(
    client: TestClient, settings: Settings, acme: dict[str, Any]
) -> None:
    big = b"%PDF-1.4\n" + b"0" * (settings.max_pod_bytes + 70_000)
    answer = _ask(
        client, acme["first"], acme["csrf"], files={"attachment": ("big.pdf", big, "application/pdf")}
    )
    assert answer.status_code == 413


def test_a_signed_out_visitor_is_sent_to_sign_in(client: TestClient) -> None:
    answer = client.get("/portal/inquiries", follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"].startswith("/portal/sign-in")
