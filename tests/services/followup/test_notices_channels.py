"""A consumer's follow-up notice along the consumer waterfall (eFaktura → Digipost → print), on a real outbox
(SQLite and PostgreSQL) and real channels: the stand-in Digipost (checks every signature, validates every
XML against the v8 XSDs) and the print channel's folder transport, as the print tests use it.

eFaktura carries invoices, so the route passes it over and says so; Digipost takes the reminder PDF as a
plain letter when the consumer has a mailbox; without one the notice falls back to the print house and
ends as a letter in its batch, the index saying it is a reminder; the tenant's review hold keeps the
notice's delivery `held`. Nothing shows the consumer's national identity number.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path
from typing import Any

from lxml import etree
from sqlalchemy import Engine, select, update
from sqlmodel import col

from channels import create_channel
from channels.print_sftp import PrintChannel
from db.engine import session_scope
from db.models import BatchItem, Delivery, DeliveryEvent, ReminderNotice, utcnow
from gateway.samples import sample_invoice_json
from gateway.services.followup import notices
from gateway.services.inbound.print_returns import poll_print_returns
from gateway.services.outbound import deliveries as delivery_service
from gateway.services.outbound.intake import IntakeItem, accept_invoices
from gateway.services.tenancy.tenants import ensure_tenant, put_receiver, put_tenant_settings
from gateway.settings import Settings
from gateway.worker import Worker
from mappings.print.batch import parse as parse_index
from schemas.canonical import ReceiverProfile
from schemas.tenant import TenantSettings
from tests.acceptance.test_consumer_waterfall import consumer_settings
from tests.digipost_fixtures import NATIONAL_ID
from tests.digipost_server import BrokerKeys, DigipostStandIn
from tests.services.followup.test_notices import _kept_reminders, _notice, _rendered

API_NS = "http://api.digipost.no/schema/v8"


def consumer_with_a_reminder(engine: Engine, settings: Settings, **tenant: Any) -> tuple[str, str]:
    """A private consumer on the waterfall eFaktura → Digipost → print, an invoice to it whose own delivery
    is out of the way (cancelled: only the notice is under test), and a queued reminder; (notice, invoice)."""
    with session_scope(engine) as session:
        ensure_tenant(session, "acme")
        waterfall = TenantSettings(consumer_waterfall=["efaktura", "digipost", "print"], **tenant)
        put_tenant_settings(session, "acme", waterfall, actor="test")
        put_receiver(
            session, "acme", ReceiverProfile(receiver_id="P-1", national_id=NATIONAL_ID, segment="private")
        )
    [accepted] = accept_invoices(
        engine,
        "acme",
        [IntakeItem(sample_invoice_json(1, receiver_id="P-1"))],
        actor="erp",
        default_channel="folder",
    )
    assert accepted.outcome == "created", accepted.errors
    invoice_id = accepted.invoice_id or ""
    with session_scope(engine) as session:
        [own] = session.execute(select(Delivery).where(col(Delivery.invoice_id) == invoice_id)).scalars()
        delivery_service.cancel(session, own, actor="test", reason="not under test")
    return _notice(engine, [invoice_id]), invoice_id


def queue(engine: Engine, settings: Settings, notice_id: str) -> str:
    with session_scope(engine) as session:
        return notices.queue_notice(session, notice_id, actor="test", settings=settings)


def notice_deliveries(engine: Engine, notice_id: str) -> list[dict[str, Any]]:
    """Every delivery of the notice, first to last, with its events (found by the notice id they name)."""
    with session_scope(engine) as session:
        ids = list(
            dict.fromkeys(
                session.execute(
                    select(col(DeliveryEvent.delivery_id))
                    .where(col(DeliveryEvent.invoice_id).is_(None))
                    .order_by(col(DeliveryEvent.id))
                ).scalars()
            )
        )
        found = []
        for delivery_id in ids:
            delivery = session.get(Delivery, delivery_id)
            assert delivery is not None
            events = list(
                session.execute(
                    select(DeliveryEvent)
                    .where(col(DeliveryEvent.delivery_id) == delivery_id)
                    .order_by(col(DeliveryEvent.id))
                ).scalars()
            )
            if not any((event.details or {}).get("notice_id") == notice_id for event in events):
                continue
            found.append(
                {
                    "id": delivery.id,
                    "channel": delivery.channel,
                    "status": delivery.status,
                    "position": delivery.chain_position,
                    "reasons": [event.reason or "" for event in events],
                }
            )
        return found


def notice_row(engine: Engine, notice_id: str) -> ReminderNotice:
    with session_scope(engine) as session:
        notice = session.get(ReminderNotice, notice_id)
        assert notice is not None
        session.expunge(notice)
        return notice


def test_digipost_unidentified_the_reminder_ends_as_a_letter_in_the_print_batch(
    engine: Engine, settings: Settings, stand_in: DigipostStandIn, keys: BrokerKeys, tmp_path: Path
) -> None:
    settings = consumer_settings(settings, stand_in, keys, tmp_path)
    notice_id, invoice_id = consumer_with_a_reminder(engine, settings)
    stand_in.answer(NATIONAL_ID, "unidentified")
    first = queue(engine, settings, notice_id)
    with session_scope(engine) as session:
        delivery = session.get(Delivery, first)
        assert delivery is not None
        # eFaktura (step 1) carries invoices only: passed over, said in the queued line
        assert (delivery.channel, delivery.format, delivery.chain_position) == ("digipost", "reminder-pdf", 1)

    Worker(engine, settings, worker_id="w").run(once=True)
    steps = notice_deliveries(engine, notice_id)
    assert [(d["channel"], d["status"], d["position"]) for d in steps] == [
        ("digipost", "failed", 1),
        ("print", "batched", 2),
    ], steps
    assert "efaktura: eFaktura carries invoices, not reminders" in steps[0]["reasons"][0], steps[0]
    assert any("fallback: digipost ended failed" in r and "next print" in r for r in steps[1]["reasons"])
    # queueing rendered nothing; Digipost's worker rendered the PDF once, and print (the same format) goes
    # on with those kept bytes: one kept reminder, named by both deliveries
    first_rendering, reused = _rendered(engine, steps[0]["id"]), _rendered(engine, steps[1]["id"])
    assert first_rendering is not None and reused is not None
    assert _kept_reminders(engine) == 1 and reused["document_id"] == first_rendering["document_id"]
    assert any("the kept rendering goes on" in r for r in steps[1]["reasons"]), steps[1]
    # Digipost was asked (signed, XSD-valid) and sent nothing
    assert stand_in.requests and not stand_in.invalid_requests(), stand_in.invalid_requests()
    assert stand_in.messages == {}
    notice = notice_row(engine, notice_id)
    assert (notice.status, notice.channel, notice.delivery_id) == ("queued", "print", steps[1]["id"])

    # the cut-off passes: the print house gets the letter, and the index says it is a reminder
    with session_scope(engine) as session:
        [item] = session.execute(select(BatchItem)).scalars()
        assert (item.invoice_id, item.delivery_id) == (None, steps[1]["id"])
        assert item.meta["document_kind"] == "reminder" and item.meta["notice_id"] == notice_id
        session.execute(update(BatchItem).values(due_at=utcnow() - dt.timedelta(seconds=1)))
    Worker(engine, settings, worker_id="w").run(once=True)
    handed_over = sorted(p for p in (tmp_path / "print-house").rglob("*") if p.is_file())
    [index_file] = [p for p in handed_over if p.suffix == ".csv"]
    [letter] = [p for p in handed_over if p.suffix == ".pdf"]
    assert letter.read_bytes().startswith(b"%PDF")
    [row] = list(csv.DictReader(io.StringIO(index_file.read_text("utf-8")), delimiter=";"))
    assert (row["document_kind"], row["delivery_id"]) == ("reminder", steps[1]["id"])
    assert row["invoice_number"] == "INV-000001" and row["recipient_name"] == "Midnattsol Drift AS"
    [entry] = parse_index(index_file.read_bytes()).entries
    assert entry.document_kind == "reminder"

    notice = notice_row(engine, notice_id)
    assert notice.status == "sent"
    [_, printed] = notice_deliveries(engine, notice_id)
    assert printed["status"] == "sent"
    with session_scope(engine) as session:
        view = delivery_service.invoice_view(session, "acme", invoice_id)
    text = "\n".join(event["reason"] or "" for d in view["deliveries"] for event in d["events"])
    assert f"reminder {notice_id} (level 1) queued on digipost" in text, text
    assert "falls back to print" in text and f"reminder {notice_id} (level 1) sent on print" in text, text
    everything = repr(steps) + text + index_file.read_text("utf-8")
    assert NATIONAL_ID not in everything

    # the letter comes back: the print house's returned-mail file names the notice's delivery
    outgoing = tmp_path / "print-house" / "out"
    outgoing.mkdir(parents=True, exist_ok=True)
    (outgoing / "returned.xml").write_text(
        '<ReturnedMail xmlns="urn:invoice-gateway:print-return:1" reportedAt="2026-12-20T08:00:00Z">'
        f'<Item deliveryId="{printed["id"]}" batchId="{entry.batch_id}" returnedOn="2026-12-19"'
        ' reasonCode="MOVED">Flyttet, ukjent adresse</Item></ReturnedMail>'
    )
    channel = create_channel("print", settings.channel_settings("print"))
    assert isinstance(channel, PrintChannel)
    report = poll_print_returns(engine, channel)
    assert not report.errors, report.errors
    [_, returned] = notice_deliveries(engine, notice_id)
    assert returned["status"] == "deviation"
    assert any("returned mail (MOVED" in reason for reason in returned["reasons"]), returned
    # not received: the notice failed with the return's reason (notices.on_delivery_status_change)
    notice = notice_row(engine, notice_id)
    assert notice.status == "failed" and "MOVED" in (notice.cancel_reason or ""), notice.cancel_reason


def test_digipost_identified_gets_the_reminder_as_a_plain_letter(
    engine: Engine, settings: Settings, stand_in: DigipostStandIn, keys: BrokerKeys, tmp_path: Path
) -> None:
    settings = consumer_settings(settings, stand_in, keys, tmp_path)
    notice_id, _invoice_id = consumer_with_a_reminder(engine, settings)
    stand_in.answer(NATIONAL_ID, "digipost")
    queue(engine, settings, notice_id)
    Worker(engine, settings, worker_id="w").run(once=True)

    assert not stand_in.invalid_requests(), stand_in.invalid_requests()
    assert all(r.signature_ok and r.content_hash_ok for r in stand_in.requests)
    [message] = stand_in.messages.values()
    root = etree.fromstring(message.xml)
    primary = root.find(f"{{{API_NS}}}primary-document")
    assert primary is not None
    subject = primary.findtext(f"{{{API_NS}}}subject") or ""
    assert subject.startswith("Purring – faktura INV-000001"), subject
    assert primary.find(f"{{{API_NS}}}data-type") is None  # a letter, not a second bill
    assert root.findtext(f"{{{API_NS}}}invoice-reference") == notice_id
    [content] = message.documents.values()
    assert content.startswith(b"%PDF")
    steps = notice_deliveries(engine, notice_id)
    assert [(d["channel"], d["status"]) for d in steps] == [("digipost", "sent")], steps
    assert notice_row(engine, notice_id).status == "sent"


def test_the_review_hold_keeps_the_notice_delivery_held(
    engine: Engine, settings: Settings, stand_in: DigipostStandIn, keys: BrokerKeys, tmp_path: Path
) -> None:
    settings = consumer_settings(settings, stand_in, keys, tmp_path)
    notice_id, _invoice_id = consumer_with_a_reminder(
        engine, settings, hold_for_review=True, hold_channels=["digipost"]
    )
    stand_in.answer(NATIONAL_ID, "digipost")
    delivery_id = queue(engine, settings, notice_id)
    Worker(engine, settings, worker_id="w").run(once=True)
    [step] = notice_deliveries(engine, notice_id)
    assert (step["id"], step["status"]) == (delivery_id, "held"), step
    assert "held for review" in step["reasons"][0]
    assert stand_in.messages == {}
    assert notice_row(engine, notice_id).status == "queued"

    with session_scope(engine) as session:  # a person releases it: it goes
        held = session.get(Delivery, delivery_id)
        assert held is not None
        delivery_service.release(session, held, actor="reviewer", reason="reviewed")
    Worker(engine, settings, worker_id="w").run(once=True)
    assert len(stand_in.messages) == 1
    assert notice_row(engine, notice_id).status == "sent"


def test_a_notice_whose_chain_runs_out_fails_with_the_reason(
    engine: Engine, settings: Settings, stand_in: DigipostStandIn, keys: BrokerKeys, tmp_path: Path
) -> None:
    settings = consumer_settings(settings, stand_in, keys, tmp_path)
    notice_id, _invoice_id = consumer_with_a_reminder(engine, settings)
    with session_scope(engine) as session:  # the waterfall ends at Digipost
        put_tenant_settings(
            session, "acme", TenantSettings(consumer_waterfall=["efaktura", "digipost"]), actor="test"
        )
    stand_in.answer(NATIONAL_ID, "unidentified")
    queue(engine, settings, notice_id)
    Worker(engine, settings, worker_id="w").run(once=True)
    [step] = notice_deliveries(engine, notice_id)
    assert step["status"] == "failed"
    notice = notice_row(engine, notice_id)
    assert notice.status == "failed"
    assert "digipost ended failed" in (notice.cancel_reason or "")
    assert "no further channel can carry this notice" in (notice.cancel_reason or "")
    assert NATIONAL_ID not in (notice.cancel_reason or "")
