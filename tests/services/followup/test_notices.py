"""Follow-up notices as deliveries: queued, rendered and kept, sent by the worker through a real channel, the
notice's status following its delivery, and a payment over `POST /remittances` that cancels a notice which
has not left yet.

Real parts: the outbox on SQLite and PostgreSQL, the worker, the folder and PEPPOL (folder transport)
channels, an SMTP server on loopback (aiosmtpd), the remittance intake and matching engine, `pdftotext`.
The notice renderers are the documents' own (`mappings.reminder`) when they are there; until that branch is
merged, stand-ins behind the notices' renderer seam (`notices.RENDERERS`) write a real PDF (ReportLab) and a
UBL Invoice in the EHF Reminder customization.
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import importlib.util
import io
import socket
import subprocess
from collections.abc import Iterator
from decimal import Decimal
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from fastapi.testclient import TestClient
from reportlab.pdfgen.canvas import Canvas
from sqlalchemy import Engine, select
from sqlmodel import col

from db.engine import session_scope
from db.models import (
    Delivery,
    DeliveryEvent,
    FollowUpState,
    InvoiceRecord,
    ReminderNotice,
    ReminderNoticeItem,
    StoredDocument,
)
from gateway.samples import sample_invoice_json
from gateway.services.followup import notices
from gateway.services.outbound import deliveries as delivery_service
from gateway.services.tenancy.tenants import ensure_tenant, put_participant, put_receiver
from gateway.settings import Settings
from gateway.worker import Worker
from mappings.sbdh import unwrap_sbdh
from schemas.branding import PdfTemplate
from schemas.canonical import ReceiverProfile
from schemas.followup import ReminderDocument
from tests.conftest import SHARED
from tests.outbox_helpers import take_to_sent
from tests.payment_scenarios import receive
from tests.remittance_files import Tx, camt054
from tests.services.followup.test_run import _setup, decisions, notice_of
from tests.services.followup.test_run import run as follow_up_run
from tests.services.test_bounces import _retag, _sample

REMINDER_CUSTOMIZATION = (
    "urn:cen.eu:en16931:2017#compliant#urn:fdc:peppol.eu:2017:poacc:billing:3.0"
    "#conformant#urn:fdc:anskaffelser.no:2019:ehf:reminder:3.0"
)
REMINDER_PROCESS = "urn:fdc:anskaffelser.no:2019:ehf:postaward:g3:06:1.0"
REMINDER_DOCUMENT_TYPE = (
    f"urn:oasis:names:specification:ubl:schema:xsd:Invoice-2::Invoice##{REMINDER_CUSTOMIZATION}::2.1"
)
BUYER_PARTICIPANT = "0192:923609016"  # the sample invoices' buyer endpoint


# -- the renderers: the documents' own, or stand-ins until they are merged --------------------------------


def stand_in_pdf(document: ReminderDocument, template: PdfTemplate | None) -> bytes:
    buffer = io.BytesIO()
    canvas = Canvas(buffer)
    lines = [
        f"Purring {document.notice_id}",
        *(f"Faktura {item.number} {item.open_amount}" for item in document.invoices),
        f"Purregebyr {document.fee}",
        f"Betalingsfrist {document.deadline.isoformat()}",
        f"KID {document.kid or ''}",
    ]
    for row, line in enumerate(lines):
        canvas.drawString(100, 750 - 20 * row, line)
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def stand_in_ehf(document: ReminderDocument) -> bytes:
    seller = document.seller["endpoint"]
    buyer = document.buyer["endpoint"]
    assert isinstance(seller, dict) and isinstance(buyer, dict)
    references = "".join(
        f"<cac:BillingReference><cac:InvoiceDocumentReference><cbc:ID>{item.number}</cbc:ID>"
        "</cac:InvoiceDocumentReference></cac:BillingReference>"
        for item in document.invoices
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2" '
        'xmlns:cac="urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2" '
        'xmlns:cbc="urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2">'
        f"<cbc:CustomizationID>{REMINDER_CUSTOMIZATION}</cbc:CustomizationID>"
        f"<cbc:ProfileID>{REMINDER_PROCESS}</cbc:ProfileID><cbc:ID>{document.notice_id}</cbc:ID>"
        f"<cbc:IssueDate>{document.notice_date}</cbc:IssueDate><cbc:DueDate>{document.deadline}</cbc:DueDate>"
        f"<cbc:DocumentCurrencyCode>{document.currency}</cbc:DocumentCurrencyCode>{references}"
        f'<cac:AccountingSupplierParty><cac:Party><cbc:EndpointID schemeID="{seller["scheme"]}">'
        f"{seller['value']}</cbc:EndpointID></cac:Party></cac:AccountingSupplierParty>"
        f'<cac:AccountingCustomerParty><cac:Party><cbc:EndpointID schemeID="{buyer["scheme"]}">'
        f"{buyer['value']}</cbc:EndpointID></cac:Party></cac:AccountingCustomerParty>"
        "</Invoice>"
    ).encode()


@pytest.fixture(autouse=True)
def renderers(monkeypatch: pytest.MonkeyPatch) -> None:
    """The documents' renderers where they exist; stand-ins behind the seam where not."""
    if importlib.util.find_spec("mappings.reminder") is None:
        monkeypatch.setitem(notices.RENDERERS, notices.REMINDER_PDF, stand_in_pdf)
        monkeypatch.setitem(notices.RENDERERS, notices.EHF_REMINDER, lambda doc, _t: stand_in_ehf(doc))


# -- an SMTP server on loopback ------------------------------------------------------------------------------


class Inbox:
    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.content if isinstance(envelope.content, bytes) else b""
        parsed = email.message_from_bytes(content, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        self.messages.append(parsed)
        return "250 2.0.0 Ok: queued"


@pytest.fixture
def inbox() -> Iterator[tuple[Inbox, int]]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    handler = Inbox()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield handler, port
    finally:
        controller.stop()


# -- helpers -------------------------------------------------------------------------------------------------


def _invoice(client: TestClient, auth: dict[str, Any], n: int = 1, **changes: Any) -> dict[str, Any]:
    data = sample_invoice_json(n, **changes)
    answer = client.post("/invoices", json=data, headers=auth)
    assert answer.status_code == 201, answer.text
    view: dict[str, Any] = client.get(f"/invoices/{answer.json()['invoice_id']}", headers=auth).json()
    return view


def _notice(
    engine: Engine,
    invoice_ids: list[str],
    *,
    kind: str = "reminder",
    level: int = 1,
    fee: str = "35",
    channel: str | None = None,
) -> str:
    """A queued notice as the daily run writes it, with the invoices' follow-up state moved on."""
    with session_scope(engine) as session:
        records = [session.get(InvoiceRecord, invoice_id) for invoice_id in invoice_ids]
        open_total = sum((Decimal(r.payable_amount) for r in records if r is not None), Decimal(0))
        notice = ReminderNotice(
            tenant_id="acme",
            customer_key="923609016",
            level=level,
            kind=kind,
            status="queued",
            notice_on=dt.date(2026, 12, 1),
            deadline=dt.date(2026, 12, 15),
            currency="NOK",
            fee=fee,
            open_total=str(open_total),
            total=str(open_total + Decimal(fee)),
            channel=channel,
        )
        session.add(notice)
        session.flush()
        for index, record in enumerate(records):
            assert record is not None
            item_fee = fee if index == 0 else "0"
            session.add(
                ReminderNoticeItem(
                    notice_id=notice.id, invoice_id=record.id, open_amount=record.payable_amount, fee=item_fee
                )
            )
            session.add(
                FollowUpState(
                    invoice_id=record.id,
                    tenant_id="acme",
                    level=level,
                    last_notice_id=notice.id,
                    last_notice_on=notice.notice_on,
                    last_deadline=notice.deadline,
                    fees_charged=1 if Decimal(item_fee) else 0,
                    fee_total=item_fee,
                )
            )
        return notice.id


def _queue(engine: Engine, settings: Settings, notice_id: str) -> str:
    with session_scope(engine) as session:
        return notices.queue_notice(session, notice_id, actor="test", settings=settings)


def _queue_refused(engine: Engine, settings: Settings, notice_id: str) -> notices.NoticeUndeliverable:
    """Queue a notice no channel can carry: the refusal, with the notice's failure committed."""
    with session_scope(engine) as session:
        try:
            notices.queue_notice(session, notice_id, actor="test", settings=settings)
        except notices.NoticeUndeliverable as refusal:
            return refusal  # the scope commits: the failure is kept
    raise AssertionError(f"notice {notice_id} was queued")


def _state(engine: Engine, notice_id: str) -> dict[str, Any]:
    with session_scope(engine) as session:
        notice = session.get(ReminderNotice, notice_id)
        assert notice is not None
        return notices.notice_view(session, notice)


def _rendered(engine: Engine, delivery_id: str) -> dict[str, Any] | None:
    """What the `rendered` event of a notice's delivery names (the kept documents), if it was rendered."""
    with session_scope(engine) as session:
        events = session.execute(
            select(DeliveryEvent).where(col(DeliveryEvent.delivery_id) == delivery_id)
        ).scalars()
        return next((e.details for e in events if (e.details or {}).get("document_id")), None)


def _business_receiver(engine: Engine, **profile: Any) -> None:
    with session_scope(engine) as session:
        ensure_tenant(session, "acme")
        put_receiver(session, "acme", ReceiverProfile(receiver_id="B-1", segment="business", **profile))


def _pdf_text(path: Path) -> str:
    return subprocess.run(["pdftotext", str(path), "-"], check=True, capture_output=True, text=True).stdout


# -- the tests -----------------------------------------------------------------------------------------------


def test_a_queued_notice_goes_out_through_the_folder_as_a_reminder_pdf(
    client: TestClient, auth: dict[str, Any], engine: Engine, settings: Settings, outbound_dir: Path
) -> None:
    invoice = _invoice(client, auth)
    notice_id = _notice(engine, [invoice["id"]])
    with session_scope(engine) as session:
        said = notices.notice_document(session, notice_id)
    assert [item.number for item in said.invoices] == ["INV-000001"]
    assert said.kid == invoice["payment_reference"] and said.payee_account == "86011117947"
    assert said.seller["name"] == "Nordlys Verktøy AS" and said.buyer["name"] == "Midnattsol Drift AS"
    assert said.total == Decimal(invoice["payable_amount"]) + 35

    delivery_id = _queue(engine, settings, notice_id)
    assert _queue(engine, settings, notice_id) == delivery_id  # queued once
    with session_scope(engine) as session:
        delivery = session.get(Delivery, delivery_id)
        assert delivery is not None
        # not the invoice's delivery: linked by the notice (resends, fallbacks, counts stay the invoice's)
        assert (delivery.invoice_id, delivery.document_kind) == (None, "reminder")
        assert (delivery.channel, delivery.format) == ("folder", "reminder-pdf")
    assert _state(engine, notice_id)["status"] == "queued"

    outcomes = Worker(engine, settings, worker_id="w").run(once=True).outcomes
    assert outcomes["delivered"] == 2  # the invoice itself, and the notice
    state = _state(engine, notice_id)
    assert (state["status"], state["delivery_status"]) == ("sent", "delivered")
    [written] = (outbound_dir / "acme").glob("reminder-INV-000001__*.pdf")
    text = _pdf_text(written)
    assert "INV-000001" in text and "35" in text
    # the invoice's page: still its one delivery, and the notice in its history
    view = client.get(f"/invoices/{invoice['id']}", headers=auth).json()
    assert len(view["deliveries"]) == 1
    reasons = [event["reason"] or "" for event in view["deliveries"][0]["events"]]
    assert any(f"reminder {notice_id} (level 1) queued on folder" in r for r in reasons), reasons
    assert any(f"reminder {notice_id} (level 1) sent on folder" in r for r in reasons), reasons


def test_a_business_on_peppol_gets_an_ehf_reminder_in_its_sbdh(
    client: TestClient, auth: dict[str, Any], engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    settings.channels = {"peppol": {"folder": {"directory": str(tmp_path / "ap"), "fsync": False}}}
    settings.rules_dir = SHARED / "validation"  # the official artefacts, the reminder's three rule sets too
    _business_receiver(engine, preferred_channel="peppol", fallback_channels=["folder"])
    with session_scope(engine) as session:  # the receiver takes EHF Reminders, nothing else
        put_participant(session, BUYER_PARTICIPANT, document_types=[REMINDER_DOCUMENT_TYPE])
    invoice = _invoice(client, auth, receiver_id="B-1")
    notice_id = _notice(engine, [invoice["id"]])
    delivery_id = _queue(engine, settings, notice_id)
    assert _state(engine, notice_id)["format"] == "ehf-reminder"
    assert _rendered(engine, delivery_id) is None  # queueing renders nothing: the worker does
    Worker(engine, settings, worker_id="w").run(once=True)
    # rendered by the worker, validated by the reminder's own rule sets before it was sent, and kept
    rendered = _rendered(engine, delivery_id)
    assert rendered is not None
    rule_sets = rendered["validation"]["rule_sets"]
    assert any("REMINDER-PEPPOL" in name for name in rule_sets), rule_sets
    state = _state(engine, notice_id)
    assert (state["status"], state["channel"], state["delivery_status"]) == ("sent", "peppol", "sent")
    [sbdh] = (tmp_path / "ap" / "acme").glob(f"{delivery_id}-1.xml")
    header, document = unwrap_sbdh(sbdh.read_bytes())
    assert header["document_type_id"] == REMINDER_DOCUMENT_TYPE
    assert REMINDER_CUSTOMIZATION.encode() in document and b"INV-000001" in document


def test_a_collection_warning_to_a_peppol_receiver_goes_as_pdf_by_email(
    client: TestClient,
    auth: dict[str, Any],
    engine: Engine,
    settings: Settings,
    inbox: tuple[Inbox, int],
) -> None:
    server, port = inbox
    settings.channels = {
        "email": {"host": "127.0.0.1", "port": port, "security": "none", "from_address": "faktura@hub.test"}
    }
    _business_receiver(
        engine, preferred_channel="peppol", fallback_channels=["email"], addresses={"email": "kunde@ok.test"}
    )
    first = _invoice(client, auth, 1, receiver_id="B-1")
    second = _invoice(client, auth, 2, receiver_id="B-1")
    notice_id = _notice(engine, [first["id"], second["id"]], kind="collection_warning", level=2, fee="35")
    _queue(engine, settings, notice_id)
    state = _state(engine, notice_id)
    assert (state["channel"], state["format"]) == ("email", "reminder-pdf")  # never as EHF
    Worker(engine, settings, worker_id="w").run(once=True)
    assert _state(engine, notice_id)["status"] == "sent"
    [message] = [m for m in server.messages if m["X-Reminder-Notice"] == notice_id]
    assert message["To"] == "kunde@ok.test"
    assert (
        message["Subject"]
        == f"Inkassovarsel – faktura {first['number']}, {second['number']} fra Nordlys Verktøy AS"
    )
    body = message.get_body(("plain",))
    assert body is not None and "Betalingsfrist: 15.12.2026" in body.get_content()
    [attachment] = list(message.iter_attachments())
    assert attachment.get_content_type() == "application/pdf"
    assert attachment.get_filename() == f"Inkassovarsel-{first['number']}.pdf"


def test_a_warning_with_no_channel_but_peppol_fails_with_the_reason(
    client: TestClient, auth: dict[str, Any], engine: Engine, settings: Settings
) -> None:
    _business_receiver(engine, preferred_channel="peppol")
    invoice = _invoice(client, auth, receiver_id="B-1")
    notice_id = _notice(engine, [invoice["id"]], kind="collection_warning", level=2)
    refused = _queue_refused(engine, settings, notice_id)
    assert "never sent as EHF" in refused.reason
    state = _state(engine, notice_id)
    assert (state["status"], state["delivery_id"]) == ("failed", None)
    assert "collection warning is never sent as EHF" in state["reason"]


def test_the_notice_fails_when_its_delivery_does(
    client: TestClient, auth: dict[str, Any], engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    settings.channels = {"peppol": {"folder": {"directory": str(tmp_path / "ap"), "fsync": False}}}
    settings.rules_dir = SHARED / "validation"
    _business_receiver(engine, preferred_channel="peppol")  # not in the participant registry
    invoice = _invoice(client, auth, receiver_id="B-1")
    notice_id = _notice(engine, [invoice["id"]])
    _queue(engine, settings, notice_id)
    Worker(engine, settings, worker_id="w").run(once=True)
    state = _state(engine, notice_id)
    assert (state["status"], state["delivery_status"]) == ("failed", "failed")
    assert "not PEPPOL-capable" in state["reason"]


def test_a_channel_that_does_not_send_reminders_is_a_deviation(
    client: TestClient, auth: dict[str, Any], engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    invoice = _invoice(client, auth)
    notice_id = _notice(engine, [invoice["id"]])
    delivery_id = _queue(engine, settings, notice_id)
    with session_scope(engine) as session:  # a delivery moved to a channel that takes invoices only
        delivery = session.get(Delivery, delivery_id)
        assert delivery is not None
        delivery.channel, delivery.address = "efaktura", None
    settings.channels = {"efaktura": {"provider_participant_id": "0192:910000009"}}
    Worker(engine, settings, worker_id="w").run(once=True)
    with session_scope(engine) as session:
        delivery = session.get(Delivery, delivery_id)
        assert delivery is not None
        assert delivery.status == "deviation"
        assert "does not send reminder documents" in (delivery.last_error or "")
    assert _state(engine, notice_id)["status"] == "queued"  # a person may resend it elsewhere


def test_a_payment_before_the_notice_left_cancels_it(
    client: TestClient, auth: dict[str, Any], engine: Engine, settings: Settings
) -> None:
    paid, partly = _invoice(client, auth, 1), _invoice(client, auth, 2)
    whole = _notice(engine, [paid["id"]])
    part = _notice(engine, [partly["id"]])
    whole_delivery = _queue(engine, settings, whole)
    part_delivery = _queue(engine, settings, part)
    answer = receive(
        client,
        auth,
        camt054(
            [
                Tx(Decimal(paid["payable_amount"]), kid=paid["payment_reference"]),
                Tx(Decimal("100.00"), kid=partly["payment_reference"]),
            ]
        ),
    )
    assert answer.status_code == 201, answer.text
    payment_id = next(p["id"] for p in answer.json()["payments"] if p["invoices"] == [paid["number"]])

    cancelled = _state(engine, whole)
    assert (cancelled["status"], cancelled["delivery_status"]) == ("cancelled", "cancelled")
    assert cancelled["reason"] == f"paid before it left: payment {payment_id}"
    with session_scope(engine) as session:
        state = session.get(FollowUpState, paid["id"])
        assert state is not None
        assert (state.level, state.last_notice_id, state.fees_charged, state.fee_total) == (0, None, 0, "0")
        events = delivery_service.invoice_view(session, "acme", paid["id"])["deliveries"][0]["events"]
        assert any(f"{whole} (level 1) cancelled: paid before it left" in (e["reason"] or "") for e in events)
    # a partial payment leaves the notice alone: it still reminds of the rest
    kept = _state(engine, part)
    assert (kept["status"], kept["delivery_status"]) == ("queued", "queued")
    Worker(engine, settings, worker_id="w").run(once=True)
    assert _state(engine, part)["status"] == "sent"
    with session_scope(engine) as session:
        statuses = dict(
            session.execute(
                select(col(Delivery.id), col(Delivery.status)).where(
                    col(Delivery.id).in_([whole_delivery, part_delivery])
                )
            ).all()
        )
    assert statuses == {whole_delivery: "cancelled", part_delivery: "delivered"}


# -- rendered by the worker, not at queue time ---------------------------------------------------------------


def _kept_reminders(engine: Engine) -> int:
    with session_scope(engine) as session:
        return len(
            session.execute(select(StoredDocument).where(col(StoredDocument.kind) == "reminder")).all()
        )


def test_the_worker_renders_a_notice_once_and_a_resend_sends_the_same_bytes(
    client: TestClient, auth: dict[str, Any], engine: Engine, settings: Settings, outbound_dir: Path
) -> None:
    invoice = _invoice(client, auth)
    notice_id = _notice(engine, [invoice["id"]])
    delivery_id = _queue(engine, settings, notice_id)
    assert _rendered(engine, delivery_id) is None and _kept_reminders(engine) == 0  # nothing rendered yet
    Worker(engine, settings, worker_id="w").run(once=True)
    rendered = _rendered(engine, delivery_id)
    assert rendered is not None and rendered["bytes"] > 0 and _kept_reminders(engine) == 1
    [first] = (outbound_dir / "acme").glob("reminder-INV-000001__*.pdf")
    sent = first.read_bytes()
    first.unlink()
    with session_scope(engine) as session:
        delivery = session.get(Delivery, delivery_id)
        assert delivery is not None
        delivery_service.resend(session, delivery, actor="test", reason="the customer lost it")
    Worker(engine, settings, worker_id="w").run(once=True)
    assert _state(engine, notice_id)["status"] == "sent"
    [again] = (outbound_dir / "acme").glob("reminder-INV-000001__*.pdf")
    assert again.read_bytes() == sent  # the kept rendering, not a new one
    assert _kept_reminders(engine) == 1 and _rendered(engine, delivery_id) == rendered


def test_an_ehf_reminder_that_fails_its_rules_is_a_deviation_naming_the_rule(
    client: TestClient,
    auth: dict[str, Any],
    engine: Engine,
    settings: Settings,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings.channels = {"peppol": {"folder": {"directory": str(tmp_path / "ap"), "fsync": False}}}
    settings.rules_dir = SHARED / "validation"
    _business_receiver(engine, preferred_channel="peppol")
    with session_scope(engine) as session:
        put_participant(session, BUYER_PARTICIPANT, document_types=[REMINDER_DOCUMENT_TYPE])
    real = notices.renderer(notices.EHF_REMINDER)

    def unknown_currency(document: ReminderDocument, template: PdfTemplate | None) -> bytes:
        return real(document, template).replace(
            b"<cbc:DocumentCurrencyCode>NOK<", b"<cbc:DocumentCurrencyCode>XYZ<"
        )

    monkeypatch.setitem(notices.RENDERERS, notices.EHF_REMINDER, unknown_currency)
    invoice = _invoice(client, auth, receiver_id="B-1")
    notice_id = _notice(engine, [invoice["id"]])
    delivery_id = _queue(engine, settings, notice_id)  # queued: nothing is rendered or checked yet
    Worker(engine, settings, worker_id="w").run(once=True)
    with session_scope(engine) as session:
        delivery = session.get(Delivery, delivery_id)
        assert delivery is not None and delivery.status == "deviation"
        error = delivery.last_error or ""
        [event] = session.execute(
            select(DeliveryEvent).where(
                col(DeliveryEvent.delivery_id) == delivery_id, col(DeliveryEvent.to_status) == "deviation"
            )
        ).scalars()
        report = (event.details or {})["validation"]
    assert error.startswith("validation failed (") and "BR-CL-04" in error, error
    assert any("REMINDER" in name for name in report["rule_sets"]), report["rule_sets"]
    assert _kept_reminders(engine) == 0 and not list((tmp_path / "ap").rglob("*.xml"))  # never sent
    assert _state(engine, notice_id)["status"] == "queued"  # a person may fix and resend it


# -- a dispute or a promise before the notice left ---------------------------------------------------------


def test_a_dispute_or_a_promise_cancels_the_waiting_notices_with_nothing_else_to_remind(
    client: TestClient, auth: dict[str, Any], engine: Engine, settings: Settings
) -> None:
    disputed_one, promised_one, partly, grouped, other = (_invoice(client, auth, n) for n in range(1, 6))
    alone = _notice(engine, [disputed_one["id"]])
    waiting = _notice(engine, [promised_one["id"]])
    with session_scope(engine) as session:  # this one waits for a person's approval
        row = session.get(ReminderNotice, waiting)
        assert row is not None
        row.status = "awaiting_approval"
    part = _notice(engine, [partly["id"]])
    together = _notice(engine, [grouped["id"], other["id"]])
    alone_delivery = _queue(engine, settings, alone)
    for notice_id in (part, together):
        _queue(engine, settings, notice_id)

    def dispute(invoice: dict[str, Any], **extra: Any) -> None:
        body = {"reason": "not delivered", "category": "not_received", "from": "customer", **extra}
        answer = client.post(f"/invoices/{invoice['id']}/disputes", json=body, headers=auth)
        assert answer.status_code == 201, answer.text

    dispute(disputed_one)
    cancelled = _state(engine, alone)
    assert (cancelled["status"], cancelled["delivery_status"]) == ("cancelled", "cancelled")
    assert cancelled["reason"].startswith("disputed before it left: dispute ")
    with session_scope(engine) as session:  # the state as before the notice (rolled back as a cancel does)
        state = session.get(FollowUpState, disputed_one["id"])
        assert state is not None
        assert (state.level, state.last_notice_id, state.fees_charged, state.fee_total) == (0, None, 0, "0")
        assert session.get(Delivery, alone_delivery).status == "cancelled"  # type: ignore[union-attr]

    today = dt.datetime.now(dt.UTC).date()
    promise = {"date": (today + dt.timedelta(days=5)).isoformat(), "amount": "100.00"}
    answer = client.post(f"/invoices/{promised_one['id']}/promises", json=promise, headers=auth)
    assert answer.status_code == 201, answer.text
    assert _state(engine, waiting)["status"] == "cancelled"
    assert _state(engine, waiting)["reason"].startswith("promised before it left: promise ")

    dispute(partly, amount="100.00")  # the rest is still owed: the notice still reminds of it
    dispute(grouped)  # the notice reminds of another invoice too
    assert _state(engine, part)["status"] == "queued" and _state(engine, together)["status"] == "queued"


def test_a_bounced_reminder_fails_and_the_next_run_writes_the_level_again(
    client: TestClient, auth: dict[str, str], engine: Engine
) -> None:
    """A reminder e-mailed and sent, then bounced (a DSN naming its delivery): it was not received, so the
    notice is `failed` with the bounce's reason, the invoice's history says so, its follow-up state goes
    back to level 0 with no fee charged, and the next run writes level 1 again."""
    prio = _setup(client, auth)["5"]  # C-PRIO: e-mail, ap@prio.example
    first = follow_up_run(client, auth, dt.date(2026, 6, 15))
    notice_id = decisions(client, auth, first["run_id"])[prio["number"]]["notice_id"]
    queued = notice_of(client, auth, notice_id)
    delivery_id = queued["delivery_id"]
    assert (queued["status"], queued["channel"]) == ("queued", "email"), queued
    with session_scope(engine) as session:  # the invoice's own e-mail is out of the way: only the notice
        [own] = session.execute(select(Delivery).where(col(Delivery.invoice_id) == prio["id"])).scalars()
        delivery_service.cancel(session, own, actor="test", reason="not under test")
    take_to_sent(engine, delivery_id, lambda n: f"<{delivery_id}-{n}@hub.test>", channels=["email"])
    assert notice_of(client, auth, notice_id)["status"] == "sent"
    with session_scope(engine) as session:
        state = session.get(FollowUpState, prio["id"])
        assert state is not None
        assert (state.level, state.last_notice_id, state.fees_charged) == (1, notice_id, 1)

    bounce = _retag(_sample("INV-1002", "failed"), "INV-1002", delivery_id)
    answer = client.post("/bounces", content=bounce, headers={**auth, "Content-Type": "message/rfc822"})
    assert answer.status_code == 200, answer.text
    assert (answer.json()["delivery_id"], answer.json()["delivery_status"]) == (delivery_id, "deviation")

    failed = notice_of(client, auth, notice_id)
    assert failed["status"] == "failed", failed
    with session_scope(engine) as session:
        notice = session.get(ReminderNotice, notice_id)
        assert notice is not None and notice.cancel_reason is not None
        assert "e-mail bounced" in notice.cancel_reason and "5.1.1" in notice.cancel_reason
        state = session.get(FollowUpState, prio["id"])
        assert state is not None
        assert (state.level, state.last_notice_id, state.fees_charged, state.fee_total) == (0, None, 0, "0")
    view = client.get(f"/invoices/{prio['id']}", headers=auth).json()
    text = "\n".join(event["reason"] or "" for d in view["deliveries"] for event in d["events"])
    assert f"reminder {notice_id} (level 1) returned on email" in text and "5.1.1" in text, text

    rerun = follow_up_run(client, auth, dt.date(2026, 6, 16))
    again = decisions(client, auth, rerun["run_id"])[prio["number"]]
    assert again["decision"] == "notice" and again["level"] == 1 and again["notice_id"] != notice_id, again
    with session_scope(engine) as session:
        state = session.get(FollowUpState, prio["id"])
        assert state is not None
        assert (state.level, state.last_notice_id, state.fees_charged) == (1, again["notice_id"], 1)
