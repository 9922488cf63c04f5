"""The customer is told by e-mail (a real SMTP server on loopback): the seller's answer to its inquiry with
the text and a link to the thread, in each portal user's language; nothing for an internal note; the outcome
when the inquiry is closed; an answer that still stands when the mail server is down (the history says the
mail failed); one receipt for a booked card payment, none for the repeated webhook."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlmodel import col

from db.engine import session_scope
from db.models import InvoiceRecord, PortalUser
from db.models.followup import DisputeMessage
from gateway.api.app import create_app
from gateway.services.portal import notify
from gateway.settings import Settings
from tests.console.helpers import ConsoleClient, make_user
from tests.payment_providers import StripeStandIn, VippsStandIn, stripe, vipps
from tests.portal.helpers import portal_session
from tests.portal.mailbox import Mailbox, _free_port, mail_settings, mailbox
from tests.portal.test_pay import _browser, _stripe_checkout, shop
from tests.services.test_portal_inquiries import customer_invoice

__all__ = ["mailbox", "shop", "stripe", "vipps"]  # fixtures used here

PORTAL = "https://portal.acme.test"
_DISPUTE = re.compile(r"/portal/inquiries/([0-9a-f]{32})")


@pytest.fixture
def settings(
    settings: Settings, tmp_path: Path, mailbox: Mailbox, stripe: StripeStandIn, vipps: VippsStandIn
) -> Settings:
    """Mail to the loopback mailbox, the portal's address set, Stripe and Vipps stand-ins for acme."""
    path = tmp_path / "providers.json"
    path.write_text(json.dumps({"acme": {"stripe": stripe.settings(), "vipps": vipps.settings()}}))
    return mail_settings(settings, mailbox, portal_base_url=PORTAL, payment_providers_file=path)


@pytest.fixture
def asked(client: TestClient, auth: dict[str, Any], engine: Engine) -> dict[str, Any]:
    """Customer C1 asked about its invoice from the portal; it has two portal users (nb and en) and a
    third that is disabled; customer C2 has a user too."""
    invoice_id = customer_invoice(client, auth, 1, "C1")
    customer_invoice(client, auth, 2, "C2")
    identity = portal_session(client, engine, "acme", "C1", email="ap@c1.example")
    with session_scope(engine) as session:
        session.add(PortalUser(tenant_id="acme", receiver_id="C1", email="boss@c1.example", language="en"))
        disabled = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
        session.add(
            PortalUser(tenant_id="acme", receiver_id="C1", email="gone@c1.example", disabled_at=disabled)
        )
        session.add(PortalUser(tenant_id="acme", receiver_id="C2", email="ap@c2.example"))
        invoice = session.get(InvoiceRecord, invoice_id)
        assert invoice is not None
        number = invoice.number
    answer = client.post(
        f"/portal/invoices/{invoice_id}/inquiry",
        data={"action": "inquiry", "category": "goods", "text": "Two pallets arrived broken",
              "csrf_token": identity.csrf_token},
        files={"x": ("", b"")},
        follow_redirects=False,
    )  # fmt: skip
    assert answer.status_code == 303, answer.text
    found = _DISPUTE.search(answer.headers["location"])
    assert found is not None
    return {"invoice_id": invoice_id, "number": number, "dispute_id": found.group(1)}


@pytest.fixture
def ops(settings: Settings, engine: Engine) -> Iterator[ConsoleClient]:
    with TestClient(create_app(settings, engine), base_url="http://testserver") as console_client:
        yield ConsoleClient(console_client, make_user(engine, "ops@acme.example", "operator"))


def _text(message: EmailMessage) -> str:
    body = message.get_body(("plain",))
    assert body is not None
    return str(body.get_content())


def _history(engine: Engine, dispute_id: str) -> list[DisputeMessage]:
    with session_scope(engine) as session:
        rows = list(
            session.execute(
                select(DisputeMessage)
                .where(col(DisputeMessage.dispute_id) == dispute_id)
                .order_by(col(DisputeMessage.id))
            ).scalars()
        )
        session.expunge_all()
        return rows


def test_an_answer_is_mailed_to_each_user_in_its_language_with_the_link_and_a_note_is_not(
    engine: Engine, mailbox: Mailbox, ops: ConsoleClient, asked: dict[str, Any]
) -> None:
    dispute_id, number = asked["dispute_id"], asked["number"]
    note = ops.post(
        f"/console/follow-up/disputes/{dispute_id}/messages",
        {"text": "SECRET: this customer often claims damage", "side": "internal"},
    )
    assert note.status_code == 303
    assert mailbox.messages == []  # an internal note tells nobody

    sent = ops.post(
        f"/console/follow-up/disputes/{dispute_id}/reply", {"text": "Sorry! Two new pallets\ntomorrow."}
    )
    assert sent.status_code == 303, sent.text
    norwegian = mailbox.wait_for("ap@c1.example")
    english = mailbox.wait_for("boss@c1.example")
    assert norwegian["Subject"].endswith(f"har svart på spørsmålet ditt om faktura {number}")
    assert english["Subject"].endswith(f"has answered your question about invoice {number}")
    link = f"{PORTAL}/portal/inquiries/{dispute_id}"
    for message in (norwegian, english):
        text = _text(message)
        assert "Sorry! Two new pallets" in text and "tomorrow." in text and link in text
        assert "SECRET" not in text and "/portal/link/" not in text
    assert "Les hele saken" in _text(norwegian) and "Read it all" in _text(english)
    assert mailbox.to("gone@c1.example") == [] and mailbox.to("ap@c2.example") == []
    assert len(mailbox.messages) == 2
    events = [row for row in _history(engine, dispute_id) if row.event == notify.MAILED]
    assert len(events) == 1 and events[0].side == "internal" and "ap@c1.example" in (events[0].text or "")


def test_a_closed_inquiry_is_mailed_with_its_outcome_not_the_internal_note(
    engine: Engine, mailbox: Mailbox, ops: ConsoleClient, asked: dict[str, Any]
) -> None:
    dispute_id, number = asked["dispute_id"], asked["number"]
    closed = ops.post(
        f"/console/follow-up/disputes/{dispute_id}/resolve",
        {"outcome": "rejected", "note": "INTERNAL: photos show no damage"},
    )
    assert closed.status_code == 303, closed.text
    english = mailbox.wait_for("boss@c1.example")
    norwegian = mailbox.wait_for("ap@c1.example")
    assert english["Subject"].endswith(f"has closed your inquiry about invoice {number}")
    assert "the invoice stands as it is. Left to pay:" in _text(english)
    assert "fakturaen gjelder som før" in _text(norwegian)
    assert "INTERNAL" not in _text(english) + _text(norwegian)
    assert f"{PORTAL}/portal/inquiries/{dispute_id}" in _text(english)


def test_when_the_mail_server_is_down_the_answer_stands_and_the_history_says_so(
    settings: Settings, engine: Engine, asked: dict[str, Any]
) -> None:
    dispute_id = asked["dispute_id"]
    down = mail_settings(settings, Mailbox(port=_free_port()))  # nothing listens there
    with TestClient(create_app(down, engine), base_url="http://testserver") as console_client:
        ops = ConsoleClient(console_client, make_user(engine, "ops@acme.example", "operator"))
        sent = ops.post(f"/console/follow-up/disputes/{dispute_id}/reply", {"text": "We are on it."})
        assert sent.status_code == 303, sent.text
        page = ops.get(f"/console/follow-up/disputes/{dispute_id}").text
    history = _history(engine, dispute_id)
    assert any(row.side == "seller" and row.text == "We are on it." for row in history)
    failed = [row for row in history if row.event == notify.MAIL_FAILED]
    assert {row.side for row in failed} == {"internal"} and len(failed) == 2  # one per user
    assert all("e-mail to the customer (inquiry-answer) failed" in (row.text or "") for row in failed)
    assert "e-mail to the customer (inquiry-answer) failed" in page


def test_an_api_answer_without_a_portal_address_says_to_sign_in_and_an_erp_dispute_tells_nobody(
    settings: Settings, engine: Engine, mailbox: Mailbox, auth: dict[str, Any], asked: dict[str, Any]
) -> None:
    plain = settings.model_copy(update={"portal_base_url": None})
    with TestClient(create_app(plain, engine)) as api:
        answer = api.post(
            f"/disputes/{asked['dispute_id']}/messages",
            data={"text": "The driver confirms: two pallets.", "from": "seller"},  # the form takes seller
            headers=auth,
        )
        assert answer.status_code == 201, answer.text
        text = _text(mailbox.wait_for("boss@c1.example"))
        assert "The driver confirms" in text and "Sign in to" in text and "http" not in text
        assert "Logg inn i fakturaportalen" in _text(mailbox.wait_for("ap@c1.example"))

        # the ERP's own dispute on C1's other invoice: the customer never sees it, so it is not told
        other = customer_invoice(api, auth, 3, "C1")
        opened = api.post(
            f"/invoices/{other}/disputes", json={"reason": "ERP says", "category": "other"}, headers=auth
        )
        assert opened.status_code == 201, opened.text
        before = len(mailbox.messages)
        closed = api.post(
            f"/disputes/{opened.json()['id']}/resolve", json={"outcome": "withdrawn"}, headers=auth
        )
        assert closed.status_code == 200, closed.text
    assert len(mailbox.messages) == before


def test_a_booked_card_payment_sends_one_receipt_and_a_repeated_webhook_none(
    client: TestClient, engine: Engine, mailbox: Mailbox, stripe: StripeStandIn, shop: dict[str, Any]
) -> None:
    ids = [shop["a"]["id"], shop["b"]["id"]]
    checkout = _stripe_checkout(client, engine, stripe, ids)
    with _browser() as browser:
        paid = browser.post(f"{stripe.base}/c/pay/{checkout.provider_reference}/pay", data={"card": "4242"})
    assert paid.status_code == 303
    stripe.settle()
    [delivery] = stripe.deliveries
    assert delivery.answer["outcome"] == "booked", delivery.answer
    receipt = mailbox.wait_for("ap@customer.example")
    assert receipt["Subject"].startswith("Kvittering for betaling til")
    text = _text(receipt)
    for line in (shop["a"], shop["b"]):
        assert f"Faktura {line['number']}:" in text
    assert "kort (Stripe)" in text and f"{PORTAL}/portal/invoices?show=paid" in text
    assert checkout.amount.replace(".", ",") in text.replace(" ", "").replace("\xa0", "")

    again = stripe.send_now(delivery.body)
    assert again.status_code == 200 and again.json()["duplicate"] is True
    assert len(mailbox.to("ap@customer.example")) == 1


def test_an_installation_without_e_mail_settings_notes_nothing(
    settings: Settings, engine: Engine, asked: dict[str, Any]
) -> None:
    """No e-mail channel at all is not a failure to note on every answer: the history has no mail entry."""
    channels = {name: value for name, value in settings.channels.items() if name != "email"}
    silent = settings.model_copy(update={"channels": channels})
    with TestClient(create_app(silent, engine), base_url="http://testserver") as console_client:
        ops = ConsoleClient(console_client, make_user(engine, "ops@acme.example", "operator"))
        sent = ops.post(f"/console/follow-up/disputes/{asked['dispute_id']}/reply", {"text": "Noted."})
        assert sent.status_code == 303, sent.text
    history = _history(engine, asked["dispute_id"])
    assert any(row.side == "seller" and row.text == "Noted." for row in history)
    assert not [row for row in history if row.event in (notify.MAILED, notify.MAIL_FAILED)]
