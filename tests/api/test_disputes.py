"""Disputes through the API on a real outbox: opening (and what is refused), the pause and the days it adds
to follow-up, history with attachments checked like proofs of delivery, and an Invoice Response UQ / RE
that opens a dispute (a repeated UQ writes to it instead)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from sqlmodel import col

from db.engine import session_scope
from db.models.followup import Dispute, DisputeMessage, FollowUpState
from gateway.samples import sample_invoice_json
from gateway.services.followup import disputes as service
from tests.conftest import SHARED
from tests.outbox_helpers import take_to_sent
from tests.services.test_pods import make_png

Auth = dict[str, Any]
USE_CASES = SHARED / "validation" / "examples" / "invoice-response" / "Invoice reponse use cases"


def _use_case(prefix: str) -> bytes:
    [path] = USE_CASES.glob(f"T111-{prefix}-*.xml")
    return path.read_bytes()


def post_invoice(client: TestClient, auth: Auth, n: int = 1, **changes: Any) -> dict[str, Any]:
    data = {**sample_invoice_json(n), **changes}
    answer = client.post("/invoices", json=data, headers=auth)
    assert answer.status_code == 201, answer.text
    body: dict[str, Any] = answer.json()
    return body


def open_dispute(client: TestClient, auth: Auth, invoice_id: str, **body: Any) -> Any:
    payload = {"reason": "three chairs arrived broken", "category": "goods", **body}
    return client.post(f"/invoices/{invoice_id}/disputes", json=payload, headers=auth)


def backdate(engine: Engine, dispute_id: str, days: int) -> None:
    """The dispute was opened `days` ago (the calendar walks; the clock in the services is their `now`)."""
    with session_scope(engine) as session:
        dispute = session.get(Dispute, dispute_id)
        assert dispute is not None
        dispute.opened_at = dispute.opened_at - dt.timedelta(days=days)


def test_a_dispute_is_opened_once_and_junk_is_refused_naming_the_field(
    client: TestClient, auth: Auth, token_for: Any
) -> None:
    invoice = post_invoice(client, auth)
    answer = open_dispute(
        client, auth, invoice["invoice_id"], amount="100.00", owner="kari", due_date="2026-12-01"
    )
    assert answer.status_code == 201, answer.text
    dispute = answer.json()
    assert dispute["status"] == "open" and dispute["origin"] == "customer" and dispute["amount"] == "100.00"
    assert dispute["invoice"]["number"] == invoice["number"]
    assert [m["event"] for m in dispute["messages"]] == ["opened"]
    assert dispute["messages"][0]["from"] == "customer"

    second = open_dispute(client, auth, invoice["number"])  # by number too
    assert second.status_code == 409
    assert dispute["id"] in second.json()["errors"][0]["reason"]

    other = post_invoice(client, auth, 2)
    too_much = open_dispute(client, auth, other["invoice_id"], amount="99999999.00")
    assert too_much.status_code == 422 and too_much.json()["errors"][0]["field"] == "amount"
    cases: list[tuple[dict[str, Any], str]] = [
        ({"category": "nonsense"}, "body.category"),
        ({"amount": "-5"}, "body.amount"),
        ({"amount": "1.001"}, "body.amount"),
        ({"from": "robot"}, "body.from"),
        ({"reason": ""}, "body.reason"),
        ({"due_date": "tomorrow"}, "body.due_date"),
        ({"surprise": 1}, "body.surprise"),
    ]
    for body, field in cases:
        refused = open_dispute(client, auth, other["invoice_id"], **body)
        assert refused.status_code == 422, (body, refused.text)
        assert refused.json()["errors"][0]["field"] == field, refused.json()
    junk = client.post(
        f"/invoices/{other['invoice_id']}/disputes",
        content=b"{\x00",
        headers={**auth, "Content-Type": "application/json"},
    )
    assert 400 <= junk.status_code < 500

    credit = post_invoice(client, auth, 3, document_type="credit_note", due_date=None, payment_means=[],
                          preceding_invoices=[{"id": "INV-000003"}])  # fmt: skip
    refused = open_dispute(client, auth, credit["invoice_id"])
    assert refused.status_code == 422 and "credit note" in refused.json()["errors"][0]["reason"]

    # another tenant sees none of it
    globex = token_for("globex")
    assert client.get(f"/disputes/{dispute['id']}", headers=globex).status_code == 404
    assert open_dispute(client, globex, invoice["invoice_id"]).status_code == 404
    assert (
        client.post(
            f"/disputes/{dispute['id']}/resolve", json={"outcome": "rejected"}, headers=globex
        ).status_code
        == 404
    )
    assert client.get("/disputes", headers=globex).json()["items"] == []

    listed = client.get("/disputes", params={"status": "open", "owner": "kari"}, headers=auth).json()["items"]
    assert [d["id"] for d in listed] == [dispute["id"]]
    overdue = client.get("/disputes", params={"overdue": "true"}, headers=auth).json()["items"]
    assert [d["id"] for d in overdue] == ([dispute["id"]] if service.today() > dt.date(2026, 12, 1) else [])
    assert client.get("/disputes", params={"status": "bogus"}, headers=auth).status_code == 422


def test_owner_and_due_date_changes_are_history(client: TestClient, auth: Auth) -> None:
    invoice = post_invoice(client, auth)
    dispute = open_dispute(client, auth, invoice["invoice_id"]).json()
    changed = client.patch(
        f"/disputes/{dispute['id']}", json={"owner": "ola", "due_date": "2030-01-31"}, headers=auth
    )
    assert changed.status_code == 200, changed.text
    body = changed.json()
    assert body["owner"] == "ola" and body["due_date"] == "2030-01-31"
    assert [m["event"] for m in body["messages"]] == ["opened", "owner", "due_date"]
    assert body["messages"][1]["text"] == "owner (none) → ola"
    empty = client.patch(f"/disputes/{dispute['id']}", json={}, headers=auth)
    assert empty.status_code == 422


def test_an_erp_answers_the_customer_as_the_seller_and_junk_sides_are_refused(
    client: TestClient, auth: Auth
) -> None:
    """`from: seller` is the seller's answer the customer reads in the portal; an internal note is not."""
    invoice = post_invoice(client, auth)
    dispute = open_dispute(client, auth, invoice["invoice_id"]).json()
    url = f"/disputes/{dispute['id']}/messages"
    answered = client.post(
        url, json={"text": "A new pallet leaves tomorrow.", "from": "seller"}, headers=auth
    )
    assert answered.status_code == 201, answered.text
    noted = client.post(url, json={"text": "check the carrier", "from": "internal"}, headers=auth)
    assert noted.status_code == 201, noted.text
    sides = [
        (m["from"], m["text"])
        for m in client.get(f"/disputes/{dispute['id']}", headers=auth).json()["messages"]
    ]
    assert ("seller", "A new pallet leaves tomorrow.") in sides and ("internal", "check the carrier") in sides
    refused = client.post(url, json={"text": "x", "from": "everyone"}, headers=auth)
    assert refused.status_code == 422 and "from" in refused.text


def test_a_rejection_resumes_follow_up_with_the_days_paused_added(
    client: TestClient, auth: Auth, engine: Engine
) -> None:
    invoice = post_invoice(client, auth)
    first = open_dispute(client, auth, invoice["invoice_id"]).json()
    backdate(engine, first["id"], 10)
    assert client.get(f"/disputes/{first['id']}", headers=auth).json()["days_paused"] == 10
    with session_scope(engine) as session:  # paused: the open dispute is what the run skips on
        assert service.active_dispute(session, invoice["invoice_id"]) is not None
    resolved = client.post(
        f"/disputes/{first['id']}/resolve",
        json={"outcome": "rejected", "note": "the chairs were fine"},
        headers=auth,
    )
    assert resolved.status_code == 200, resolved.text
    body = resolved.json()
    assert body["status"] == "rejected" and body["paused_days"] == 10 and body["days_paused"] == 10
    assert body["messages"][-1]["event"] == "rejected"
    again = client.post(f"/disputes/{first['id']}/resolve", json={"outcome": "withdrawn"}, headers=auth)
    assert again.status_code == 409

    # a second dispute later, withdrawn after 3 days: the pauses add up on the invoice's follow-up state
    second = open_dispute(client, auth, invoice["invoice_id"], category="other").json()
    backdate(engine, second["id"], 3)
    client.post(f"/disputes/{second['id']}/resolve", json={"outcome": "withdrawn"}, headers=auth)
    with session_scope(engine) as session:
        state = session.get(FollowUpState, invoice["invoice_id"])
        assert state is not None and state.paused_days == 13
        assert service.active_dispute(session, invoice["invoice_id"]) is None

    refused = client.post(f"/disputes/{second['id']}/resolve", json={"outcome": "maybe"}, headers=auth)
    assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "body.outcome"


def test_a_credit_is_proposed_over_the_api_and_never_approved_by_a_token(
    client: TestClient, auth: Auth, engine: Engine
) -> None:
    invoice = post_invoice(client, auth)
    dispute = open_dispute(client, auth, invoice["invoice_id"]).json()
    missing = client.post(f"/disputes/{dispute['id']}/resolve", json={"outcome": "credited"}, headers=auth)
    assert missing.status_code == 422 and missing.json()["errors"][0]["field"] == "credit_amount"
    too_much = client.post(
        f"/disputes/{dispute['id']}/resolve",
        json={"outcome": "credited", "credit_amount": "9999999"},
        headers=auth,
    )
    assert too_much.status_code == 422 and too_much.json()["errors"][0]["field"] == "credit_amount"
    proposed = client.post(
        f"/disputes/{dispute['id']}/resolve",
        json={"outcome": "credited", "credit_amount": "100.00"},
        headers=auth,
    ).json()
    assert proposed["status"] == "awaiting_approval" and proposed["credit_requested_by"] == "api:erp"
    refused = client.post(f"/disputes/{dispute['id']}/approve-credit", headers=auth)
    assert refused.status_code == 403
    assert "credit or admin" in refused.json()["errors"][0]["reason"]
    with session_scope(engine) as session:
        for role in ("viewer", "operator", "api-token"):
            with pytest.raises(service.FollowUpRefused) as error:
                service.approve_credit(session, dispute["id"], approver="console:kari", approver_role=role)
            assert error.value.status == 403
        with pytest.raises(service.FollowUpRefused, match="four eyes"):
            service.approve_credit(session, dispute["id"], approver="console:erp", approver_role="credit")
    assert client.get(f"/disputes/{dispute['id']}", headers=auth).json()["status"] == "awaiting_approval"


# --- attachments --------------------------------------------------------------------------------------------


def test_messages_with_attachments_are_checked_like_proofs_of_delivery(
    client: TestClient, auth: Auth, token_for: Any
) -> None:
    invoice = post_invoice(client, auth)
    dispute = open_dispute(client, auth, invoice["invoice_id"]).json()
    url = f"/disputes/{dispute['id']}/messages"
    png = make_png(4, 3)
    sent = client.post(
        url, data={"text": "photo of the broken chair", "from": "customer"},
        files={"attachment": ("chair.png", png, "image/png")}, headers=auth,
    )  # fmt: skip
    assert sent.status_code == 201, sent.text
    message = sent.json()
    assert message["from"] == "customer" and message["attachment"]["filename"] == "chair.png"
    stored = client.get(f"/documents/{message['attachment']['document_id']}", headers=auth)
    assert stored.status_code == 200 and stored.content == png
    assert (
        client.get(
            f"/documents/{message['attachment']['document_id']}", headers=token_for("globex")
        ).status_code
        == 404
    )

    as_json = client.post(url, json={"text": "called them back"}, headers=auth)
    assert as_json.status_code == 201 and as_json.json()["attachment"] is None

    refusals = [
        (
            {"attachment": ("run.exe", b"MZ\x90\x00" + b"\x00" * 60, "application/octet-stream")},
            415,
            "attachment.content",
        ),
        ({"attachment": ("../../etc/chair.png", png, "image/png")}, 422, "attachment.filename"),
        ({"attachment": ("chair.pdf", png, "application/pdf")}, 415, "attachment.content_type"),
        (
            {"attachment": ("huge.png", make_png(20_000, 20_000, rows=b""), "image/png")},
            422,
            "attachment.content",
        ),
    ]
    for files, status, field in refusals:
        refused = client.post(url, data={"text": "x"}, files=files, headers=auth)
        assert refused.status_code == status, (files["attachment"][0], refused.text)
        assert refused.json()["errors"][0]["field"] == field, refused.json()
    nothing = client.post(url, data={"from": "customer"}, headers=auth)
    assert nothing.status_code == 422 and nothing.json()["errors"][0]["field"] == "text"
    unknown = client.post(url, data={"txt": "typo"}, headers=auth)
    assert unknown.status_code == 422 and unknown.json()["errors"][0]["field"] == "txt"
    plain = client.post(url, content=b"hello", headers={**auth, "Content-Type": "text/plain"})
    assert plain.status_code == 415
    broken = client.post(
        url, content=b"--x\r\nnonsense", headers={**auth, "Content-Type": "multipart/form-data; boundary=x"}
    )
    assert 400 <= broken.status_code < 500, broken.text
    foreign = client.post(url, json={"text": "hi"}, headers=token_for("globex"))
    assert foreign.status_code == 404
    history = client.get(f"/disputes/{dispute['id']}", headers=auth).json()["messages"]
    assert [m["event"] for m in history] == ["opened", "message", "message"]  # refusals left nothing


def test_an_attachment_over_the_size_limit_is_a_413() -> None:
    upload = service.AttachmentUpload(make_png(2, 2), "a.png", "image/png")
    with pytest.raises(service.FollowUpRefused) as error:
        service.check_attachment(upload, max_bytes=10)
    assert error.value.status == 413 and error.value.field == "attachment.content"


# --- Invoice Response ---------------------------------------------------------------------------------------


def _sent_invoice(client: TestClient, auth: Auth, engine: Engine, number: str) -> dict[str, Any]:
    invoice = post_invoice(client, auth, 1, number=number)
    take_to_sent(engine, invoice["delivery_ids"][0], lambda _attempt: f"msg-{number}")
    return invoice


def _respond(client: TestClient, auth: Auth, data: bytes) -> dict[str, Any]:
    answer = client.post("/responses", content=data, headers={**auth, "Content-Type": "application/xml"})
    assert answer.status_code in (200, 201), answer.text
    body: dict[str, Any] = answer.json()
    return body


def _disputes_of(engine: Engine, invoice_id: str) -> list[Dispute]:
    with session_scope(engine) as session:
        found = session.execute(select(Dispute).where(col(Dispute.invoice_id) == invoice_id)).scalars().all()
        session.expunge_all()
        return list(found)


def test_an_invoice_response_under_query_opens_a_dispute_and_a_repeat_writes_to_it(
    client: TestClient, auth: Auth, engine: Engine
) -> None:
    invoice = _sent_invoice(client, auth, engine, "inv021")
    received = _respond(client, auth, _use_case("uc006c"))  # UQ: DEL (delivery issues), CNP
    assert received["applied"] is True
    [dispute] = _disputes_of(engine, invoice["invoice_id"])
    assert dispute.origin == "invoice_response" and dispute.status == "open"
    assert dispute.category == "not_received"  # DEL
    assert dispute.opened_by == "invoice-response:0196:6963495890"
    assert "UQ" in dispute.reason

    repeated = _respond(client, auth, _use_case("uc006a"))  # UQ again (REF, PIN): recorded, not applied
    assert repeated["applied"] is False
    [same] = _disputes_of(engine, invoice["invoice_id"])
    assert same.id == dispute.id
    with session_scope(engine) as session:
        events = (
            session.execute(
                select(col(DisputeMessage.event))
                .where(col(DisputeMessage.dispute_id) == dispute.id)
                .order_by(col(DisputeMessage.id))
            )
            .scalars()
            .all()
        )
    assert list(events) == ["opened", "invoice_response"]


def test_an_invoice_response_rejected_opens_a_dispute_and_accepted_leaves_disputes_alone(
    client: TestClient, auth: Auth, engine: Engine
) -> None:
    accepted = _sent_invoice(client, auth, engine, "inv021")
    _respond(client, auth, _use_case("uc003"))  # AP
    assert _disputes_of(engine, accepted["invoice_id"]) == []
    _respond(client, auth, _use_case("uc007"))  # PD
    assert _disputes_of(engine, accepted["invoice_id"]) == []
    with session_scope(engine) as session:
        assert session.execute(select(func.count()).select_from(Dispute)).scalar_one() == 0


def test_an_invoice_response_rejected_opens_a_dispute(client: TestClient, auth: Auth, engine: Engine) -> None:
    invoice = _sent_invoice(client, auth, engine, "inv021")
    _respond(client, auth, _use_case("uc004a"))  # RE with REF
    [dispute] = _disputes_of(engine, invoice["invoice_id"])
    assert dispute.origin == "invoice_response" and dispute.category == "other"
    assert dispute.reason.startswith("Invoice Response RE")


def test_a_rejection_moves_the_outstanding_notice_deadline_by_the_pause(
    client: TestClient, auth: Auth, engine: Engine
) -> None:
    """Regression: the pause is added to the next level's date once — the deadline the next level counts
    from moves by it (before, the days were added again to every later level counted from a notice)."""
    invoice = post_invoice(client, auth)
    with session_scope(engine) as session:  # a reminder is out, its deadline 12 April
        session.add(FollowUpState(invoice_id=invoice["invoice_id"], tenant_id="acme", level=1,
                                  last_deadline=dt.date(2026, 4, 12), paused_days=0))  # fmt: skip
    dispute = open_dispute(client, auth, invoice["invoice_id"]).json()
    backdate(engine, dispute["id"], 20)
    resolved = client.post(f"/disputes/{dispute['id']}/resolve", json={"outcome": "rejected"}, headers=auth)
    assert resolved.status_code == 200 and resolved.json()["paused_days"] == 20
    with session_scope(engine) as session:
        state = session.get(FollowUpState, invoice["invoice_id"])
        assert state is not None
        assert (state.paused_days, state.last_deadline) == (20, dt.date(2026, 5, 2))
