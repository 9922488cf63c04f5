"""The worker hands the customer portal's link with an invoice (issue 21): with `portal_base_url` set, an
e-mailed invoice to a portal customer (a receiver) says its signed link in the body and prints it in the PDF,
and the link names that very tenant and invoice; without the setting, or without a receiver, nothing.

Real parts only: the worker, the e-mail channel, an SMTP server on loopback (aiosmtpd), the follow-up
notices through the folder channel, pypdf for what the PDFs say.
"""

from __future__ import annotations

import io
import re
from email.message import EmailMessage
from typing import Any

import pytest
from pypdf import PdfReader
from sqlalchemy import Engine

from db.engine import session_scope
from gateway.samples import sample_invoice_json
from gateway.services.followup import notices
from gateway.services.outbound.intake import IntakeItem, accept_invoices
from gateway.services.portal.links import read_invoice_link
from gateway.services.tenancy.tenants import ensure_tenant, put_receiver
from gateway.settings import Settings
from gateway.worker import Worker
from schemas.canonical import ReceiverProfile
from tests.services.followup.test_notices import Inbox, _notice, inbox

RECEIVER = "kunde@ok.test"
__all__ = ["inbox"]  # fixture

LINK = re.compile(r"https://portal\.acme\.test/portal/i/[A-Za-z0-9._-]+")


def _email_settings(settings: Settings, port: int) -> None:
    settings.channels = {
        "email": {
            "host": "127.0.0.1",
            "port": port,
            "security": "none",
            "from_address": "faktura@acme.test",
            "bounce_domain": "hub.test",
            "timeout_seconds": 5,
        }
    }


def _accept(engine: Engine, n: int, receiver_id: str | None) -> str:
    with session_scope(engine) as session:
        ensure_tenant(session, "acme")
        put_receiver(
            session,
            "acme",
            ReceiverProfile(receiver_id="C-1", preferred_channel="email", addresses={"email": RECEIVER}),
        )
    routing: dict[str, Any] = {"receiver_id": receiver_id} if receiver_id else {}
    data = sample_invoice_json(n, **routing)
    if receiver_id is None:  # no portal customer: the invoice names its e-mail address itself
        data["routing"] = {"channel": "email", "address": RECEIVER}
    [result] = accept_invoices(engine, "acme", [IntakeItem(data)], actor="test", default_channel="email")
    assert result.outcome == "created" and result.invoice_id, result.errors
    return result.invoice_id


def _parts(message: EmailMessage) -> tuple[str, str, bytes]:
    plain, rich = message.get_body(preferencelist=("plain",)), message.get_body(preferencelist=("html",))
    assert plain is not None and rich is not None
    [pdf] = [part for part in message.iter_attachments() if part.get_content_type() == "application/pdf"]
    content = pdf.get_payload(decode=True)
    assert isinstance(content, bytes)
    return plain.get_content(), rich.get_content(), content


def _pdf_text_and_uris(pdf: bytes) -> tuple[str, list[str]]:
    reader = PdfReader(io.BytesIO(pdf))
    uris = [
        str(annotation.get_object()["/A"]["/URI"])
        for page in reader.pages
        for annotation in page.get("/Annots") or []
    ]
    return "\n".join(page.extract_text() or "" for page in reader.pages), uris


def test_an_emailed_invoice_carries_its_own_signed_link(
    engine: Engine, settings: Settings, inbox: tuple[Inbox, int]
) -> None:
    server, port = inbox
    _email_settings(settings, port)
    settings.portal_base_url = "https://portal.acme.test/"
    invoice_id = _accept(engine, 1, "C-1")
    assert Worker(engine, settings, worker_id="w").run(once=True).outcomes == {"sent": 1}
    [message] = server.messages
    text, page, pdf = _parts(message)
    [link] = LINK.findall(text)
    assert f"Se fakturaen på nett og betal: {link}" in text
    named = read_invoice_link(settings, link.rpartition("/")[2])
    assert named is not None and (named.tenant_id, named.invoice_id) == ("acme", invoice_id)
    assert f'<a href="{link}">' in page
    pdf_text, uris = _pdf_text_and_uris(pdf)
    assert uris == [link] and link in pdf_text and "Se og betal på nett:" in pdf_text


@pytest.mark.parametrize("case", ["no portal address", "no receiver"])
def test_no_link_without_the_portal_address_or_a_receiver(
    engine: Engine, settings: Settings, inbox: tuple[Inbox, int], case: str
) -> None:
    server, port = inbox
    _email_settings(settings, port)
    if case == "no receiver":
        settings.portal_base_url = "https://portal.acme.test"
    _accept(engine, 1, None if case == "no receiver" else "C-1")
    assert Worker(engine, settings, worker_id="w").run(once=True).outcomes == {"sent": 1}
    [message] = server.messages
    text, page, pdf = _parts(message)
    assert "/portal/" not in text and "<a " not in page
    pdf_text, uris = _pdf_text_and_uris(pdf)
    assert uris == [] and "på nett" not in pdf_text


def test_a_reminder_about_one_invoice_carries_its_link_about_several_the_sign_in_page(
    engine: Engine, settings: Settings, inbox: tuple[Inbox, int]
) -> None:
    server, port = inbox
    _email_settings(settings, port)
    settings.portal_base_url = "https://portal.acme.test"
    first, second, third = (_accept(engine, n, "C-1") for n in (1, 2, 3))
    Worker(engine, settings, worker_id="w").run(once=True)  # the invoices themselves
    sent = len(server.messages)
    one, both = _notice(engine, [first]), _notice(engine, [second, third])
    for notice_id in (one, both):
        with session_scope(engine) as session:
            notices.queue_notice(session, notice_id, actor="test", settings=settings)
    Worker(engine, settings, worker_id="w").run(once=True)
    reminders = server.messages[sent:]
    assert len(reminders) == 2, [m["Subject"] for m in reminders]
    by_notice = {str(m["X-Reminder-Notice"]): _parts(m) for m in reminders}
    text, _, pdf = by_notice[one]
    [link] = LINK.findall(text)
    named = read_invoice_link(settings, link.rpartition("/")[2])
    assert named is not None and (named.tenant_id, named.invoice_id) == ("acme", first)
    assert f"Se og betal på nett: {link}" in text
    assert _pdf_text_and_uris(pdf)[1] == [link]
    text, _, pdf = by_notice[both]
    sign_in = "https://portal.acme.test/portal/sign-in?seller=acme"
    assert f"Se og betal på nett: {sign_in}" in text and not LINK.findall(text)
    assert _pdf_text_and_uris(pdf)[1] == [sign_in]
