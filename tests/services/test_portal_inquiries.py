"""A customer's inquiries and promises from the portal, at the service: an inquiry is a dispute (origin
portal, follow-up paused), a second one joins the open one, attachments are checked like PODs, the customer's
thread holds its own words and the seller's answers only, and everything is scoped to the one customer."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlmodel import col

from db.engine import session_scope
from db.models import Dispute, DisputeMessage, ReminderNotice, ReminderNoticeItem
from gateway.samples import sample_invoice_json
from gateway.services.followup import disputes
from gateway.services.outbound.documents import document_store
from gateway.services.portal import inquiries
from gateway.services.portal.sessions import PortalIdentity
from gateway.settings import Settings
from tests.portal.helpers import portal_session
from tests.services.test_resend_with_pod import photo

NOW = dt.datetime(2026, 12, 7, 10, 0, tzinfo=dt.UTC)
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 200


def customer_invoice(client: TestClient, auth: dict[str, Any], n: int, receiver_id: str) -> str:
    """Invoice `n` for customer `receiver_id` (its receiver profile made when missing), through the API."""
    profile = {
        "receiver_id": receiver_id, "preferred_channel": "folder", "addresses": {"folder": receiver_id}
    }  # fmt: skip
    if client.get(f"/receivers/{receiver_id}", headers=auth).status_code == 404:
        assert client.put(f"/receivers/{receiver_id}", json=profile, headers=auth).status_code == 200
    answer = client.post("/invoices", json=sample_invoice_json(n, receiver_id=receiver_id), headers=auth)
    assert answer.status_code == 201, answer.text
    invoice_id: str = answer.json()["invoice_id"]
    return invoice_id


def _waiting_notice(engine: Engine, invoice_id: str) -> str:
    """A reminder awaiting approval that reminds of this invoice only: an inquiry must stop it."""
    with session_scope(engine) as session:
        notice = ReminderNotice(
            tenant_id="acme", customer_key="C1", level=1, kind="reminder", status="awaiting_approval",
            notice_on=dt.date(2026, 12, 1), deadline=dt.date(2026, 12, 15), currency="NOK",
            open_total="100.00", total="100.00",
        )  # fmt: skip
        session.add(notice)
        session.flush()
        session.add(ReminderNoticeItem(notice_id=notice.id, invoice_id=invoice_id, open_amount="100.00"))
        return notice.id


@pytest.fixture
def customers(client: TestClient, auth: dict[str, Any], engine: Engine) -> dict[str, Any]:
    """Customer C1 (two invoices) and customer C2 (one) of acme, each with a signed-in portal user."""
    first, second = customer_invoice(client, auth, 1, "C1"), customer_invoice(client, auth, 2, "C1")
    foreign = customer_invoice(client, auth, 3, "C2")
    c2 = portal_session(client, engine, "acme", "C2", email="ap@c2.example")
    c1 = portal_session(client, engine, "acme", "C1", email="ap@c1.example")
    return {"c1": c1, "c2": c2, "first": first, "second": second, "foreign": foreign}


def _open(
    engine: Engine, settings: Settings, identity: PortalIdentity, invoice_id: str, **extra: Any
) -> inquiries.InquiryOpened:
    with session_scope(engine) as session:
        values: dict[str, Any] = {"category": "wrong_amount", "text": "The price per unit is wrong", **extra}
        opened = inquiries.open_inquiry(
            session, document_store(settings, engine), identity, invoice_id, max_bytes=settings.max_pod_bytes,
            now=NOW, **values,
        )  # fmt: skip
        session.expunge(opened.dispute)
        return opened


def test_an_inquiry_opens_a_portal_dispute_that_pauses_follow_up_and_a_second_joins_it(
    engine: Engine, settings: Settings, customers: dict[str, Any]
) -> None:
    notice = _waiting_notice(engine, customers["first"])
    opened = _open(engine, settings, customers["c1"], customers["first"])
    assert not opened.added
    with session_scope(engine) as session:
        dispute = session.get(Dispute, opened.dispute.id)
        assert dispute is not None
        assert (dispute.origin, dispute.category, dispute.status) == ("portal", "wrong_amount", "open")
        assert dispute.opened_by == "portal:ap@c1.example"
        cancelled = session.get(ReminderNotice, notice)
        assert cancelled is not None and cancelled.status == "cancelled"
        assert disputes.active_dispute(session, customers["first"]) is not None

    again = _open(engine, settings, customers["c1"], customers["first"], category="other", text="And VAT too")
    assert again.added and again.dispute.id == opened.dispute.id
    with session_scope(engine) as session:
        assert len(disputes.list_disputes(session, "acme", invoice_id=customers["first"])) == 1
        thread = inquiries.inquiry_thread(session, customers["c1"], opened.dispute.id)
    assert [m.text for m in thread.messages] == ["The price per unit is wrong", "And VAT too"]
    assert thread.state == "open" and thread.is_open


def test_an_attachment_is_checked_like_a_pod_and_a_renamed_program_is_refused(
    engine: Engine, settings: Settings, customers: dict[str, Any]
) -> None:
    exe = disputes.AttachmentUpload(EXE, "invoice.pdf", "application/pdf")
    with pytest.raises(inquiries.InquiryRefused) as refused:
        _open(engine, settings, customers["c1"], customers["first"], attachment=exe)
    assert refused.value.field == "attachment" and refused.value.status in (415, 422)
    with session_scope(engine) as session:  # refused before anything was opened
        assert disputes.active_dispute(session, customers["first"]) is None

    picture = disputes.AttachmentUpload(photo(), "damaged.png", "image/png")
    opened = _open(engine, settings, customers["c1"], customers["first"], attachment=picture)
    with session_scope(engine) as session:
        thread = inquiries.inquiry_thread(session, customers["c1"], opened.dispute.id)
        [with_file] = [m for m in thread.messages if m.attachment_name]
        stored, data = inquiries.thread_attachment(
            session, document_store(settings, engine), customers["c1"], opened.dispute.id, with_file.id
        )
    assert data[:4] == b"\x89PNG" and stored.filename == "damaged.png"


def test_the_customer_sees_its_words_and_the_sellers_answers_never_internal_notes(
    engine: Engine, settings: Settings, customers: dict[str, Any]
) -> None:
    opened = _open(engine, settings, customers["c1"], customers["first"])
    store = document_store(settings, engine)
    with session_scope(engine) as session:
        disputes.add_message(
            session, store, "acme", opened.dispute.id, text="Customer is a known late payer", side="internal",
            actor="console:kari@acme.example", now=NOW,
        )  # fmt: skip
        disputes.add_message(
            session, store, "acme", opened.dispute.id, text="they called: angry", side="customer",
            actor="console:kari@acme.example", now=NOW,
        )  # fmt: skip
        disputes.update_dispute(
            session, "acme", opened.dispute.id, changes={"owner": "kari@acme.example"},
            actor="console:kari@acme.example", now=NOW,
        )  # fmt: skip
        disputes.add_message(
            session, store, "acme", opened.dispute.id, text="You are right: we will credit 100 NOK.",
            side="seller", attachment=disputes.AttachmentUpload(photo(), "internal.png", "image/png"),
            actor="console:kari@acme.example", now=NOW + dt.timedelta(minutes=5),
        )  # fmt: skip
    with session_scope(engine) as session:
        thread = inquiries.inquiry_thread(session, customers["c1"], opened.dispute.id)
        [summary] = inquiries.list_inquiries(session, customers["c1"])
        internal = session.execute(
            select(DisputeMessage).where(
                col(DisputeMessage.dispute_id) == opened.dispute.id, col(DisputeMessage.side) == "internal"
            )
        ).scalars()
        internal_ids = [m.id for m in internal]
    texts = [m.text for m in thread.messages]
    assert texts == ["The price per unit is wrong", "You are right: we will credit 100 NOK."]
    assert [m.by_customer for m in thread.messages] == [True, False]
    assert summary.answered and summary.state == "open"
    with session_scope(engine) as session:  # an internal entry's id is no attachment of the customer's
        for message_id in internal_ids:
            assert message_id is not None
            with pytest.raises(inquiries.InquiryNotFound):
                inquiries.thread_attachment(session, store, customers["c1"], opened.dispute.id, message_id)

    with session_scope(engine) as session:  # closed: the outcome in words, and no more replies
        disputes.resolve_dispute(
            session, "acme", opened.dispute.id, outcome="rejected", note="internal reasoning",
            actor="console:kari@acme.example", now=NOW + dt.timedelta(days=1),
        )  # fmt: skip
    with session_scope(engine) as session:
        thread = inquiries.inquiry_thread(session, customers["c1"], opened.dispute.id)
        assert thread.state == "rejected" and not thread.is_open
        assert all("internal" not in (m.text or "") for m in thread.messages)
        with pytest.raises(inquiries.InquiryRefused) as closed:
            inquiries.reply(
                session, store, customers["c1"], opened.dispute.id, text="why?", max_bytes=1000, now=NOW
            )
    assert closed.value.status == 409


def test_another_customers_invoice_inquiry_and_attachment_are_not_found(
    engine: Engine, settings: Settings, customers: dict[str, Any]
) -> None:
    c1, c2 = customers["c1"], customers["c2"]
    with pytest.raises(inquiries.InquiryNotFound):
        _open(engine, settings, c1, customers["foreign"])
    opened = _open(engine, settings, c2, customers["foreign"])
    store = document_store(settings, engine)
    with session_scope(engine) as session:
        assert inquiries.list_inquiries(session, c1) == []
        for call in (
            lambda: inquiries.inquiry_thread(session, c1, opened.dispute.id),
            lambda: inquiries.reply(session, store, c1, opened.dispute.id, text="hi", max_bytes=10, now=NOW),
            lambda: inquiries.thread_attachment(session, store, c1, opened.dispute.id, 1),
            lambda: inquiries.promise_to_pay(
                session, c1, customers["foreign"], promised_on="2026-12-20", now=NOW
            ),
            lambda: inquiries.inquiry_thread(session, c1, "0" * 32),
        ):
            with pytest.raises(inquiries.InquiryNotFound):
                call()
    with session_scope(engine) as session:  # an ERP-opened internal dispute is not the customer's to see
        dispute = disputes.open_dispute(
            session, "acme", customers["second"], reason="check the VAT", category="other", side="internal",
            actor="api:erp", now=NOW,
        )  # fmt: skip
        dispute_id = dispute.id
    with session_scope(engine) as session:
        assert [item.id for item in inquiries.list_inquiries(session, c1)] == []
        with pytest.raises(inquiries.InquiryNotFound):
            inquiries.inquiry_thread(session, c1, dispute_id)


def test_a_promise_to_pay_within_the_tenants_limit(
    engine: Engine, settings: Settings, customers: dict[str, Any]
) -> None:
    c1 = customers["c1"]
    with session_scope(engine) as session:
        days = inquiries.promise_limit(session, c1)
        with pytest.raises(inquiries.InquiryRefused) as late:
            inquiries.promise_to_pay(
                session, c1, customers["first"], promised_on=NOW.date() + dt.timedelta(days=days + 1), now=NOW
            )
        assert late.value.field == "date" and late.value.values["days"] == days
        assert str(days) in late.value.reason
        with pytest.raises(inquiries.InquiryRefused) as past:
            inquiries.promise_to_pay(session, c1, customers["first"], promised_on="2026-12-01", now=NOW)
        assert past.value.key == "date_past"
        with pytest.raises(inquiries.InquiryRefused) as too_much:
            inquiries.promise_to_pay(
                session, c1, customers["first"], promised_on="2026-12-20", amount="99999999", now=NOW
            )
        assert too_much.value.field == "amount"
        promise = inquiries.promise_to_pay(session, c1, customers["first"], promised_on="2026-12-20", now=NOW)
        assert promise.created_by == "portal:ap@c1.example" and promise.status == "open"
        partial = inquiries.promise_to_pay(
            session, c1, customers["first"], promised_on="2026-12-21", amount="1 000,50", now=NOW
        )
        assert Decimal(partial.amount) == Decimal("1000.50")
        current = inquiries.open_promise(session, c1, customers["first"])
        assert current is not None and current.id == partial.id
