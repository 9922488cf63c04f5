"""The Digipost channel against the stand-in Digipost (tests/digipost_server.py), on a real outbox.

The stand-in verifies every request's signature and content hash and validates every XML it gets against
the v8 XSDs; each test ends by asserting that every request it got was valid. Keys and certificates are
made here; nothing leaves 127.0.0.1.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from lxml import etree
from sqlalchemy import Engine

from channels import create_channel
from channels.base import Channel, DeliveryResult, Failed, OutboundDelivery, Retry, Sent
from channels.context import ReceiverIdentity
from channels.digipost import DigipostChannel, derived_uuid
from db.engine import make_engine, migrate, session_scope
from db.models import DigipostEventCursor
from gateway.samples import sample_invoice, sample_invoice_json
from gateway.services.outbound import deliveries as service
from gateway.services.outbound.channel_context import deliver_with_context
from gateway.services.outbound.intake import IntakeItem, accept_invoices
from gateway.services.tenancy.tenants import ensure_tenant, put_receiver
from gateway.settings import Settings
from gateway.worker import Worker
from mappings import render
from mappings.base import RenderedDocument
from schemas.canonical import Attachment, ReceiverProfile
from schemas.tenant import TenantSettings
from tests.channels.contract import ChannelContract
from tests.conftest import SHARED
from tests.digipost_fixtures import BROKER_ID, NATIONAL_ID, digipost_settings
from tests.digipost_server import BrokerKeys, DigipostStandIn, split_multipart

BUYER_ORG = "923609016"  # the sample invoices' buyer
NS = {"d": "http://api.digipost.no/schema/v8", "t": "http://api.digipost.no/schema/datatypes"}


@pytest.fixture
def stand_in(stand_in: DigipostStandIn) -> Iterator[DigipostStandIn]:
    """The shared stand-in (tests/digipost_fixtures.py); every request the channel made must also have
    carried a good signature and content hash."""
    yield stand_in
    assert all(r.signature_ok and r.content_hash_ok for r in stand_in.requests)


@pytest.fixture
def outbox(tmp_path: Path) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{tmp_path / 'outbox.sqlite3'}")
    migrate(engine)
    yield engine
    engine.dispose()


def make_channel(stand_in: DigipostStandIn, keys: BrokerKeys, **overrides: Any) -> DigipostChannel:
    channel = create_channel("digipost", digipost_settings(stand_in, keys, **overrides))
    assert isinstance(channel, DigipostChannel)
    return channel


def message_of(stand_in: DigipostStandIn, delivery: OutboundDelivery) -> etree._Element:
    stored = stand_in.messages[derived_uuid(delivery.idempotency_key, "document:0")]
    return etree.fromstring(stored.xml)


def consumer_delivery(n: int = 1, **changes: Any) -> OutboundDelivery:
    invoice = sample_invoice(n)
    delivery = OutboundDelivery(
        delivery_id=f"c{n:05d}",
        invoice_id=f"i{n:05d}",
        tenant_id="acme",
        attempt=1,
        address=None,
        document=render("pdf", invoice),
        invoice=invoice,
        receiver=ReceiverIdentity(receiver_id="C-1", national_id=NATIONAL_ID),
    )
    return dataclasses.replace(delivery, **changes)


# -- the contract -------------------------------------------------------------------------------------------


class TestDigipostContract(ChannelContract):
    @pytest.fixture
    def channel(self, stand_in: DigipostStandIn, keys: BrokerKeys, outbox: Engine) -> Iterator[Channel[Any]]:
        self.stand_in = stand_in
        self.outbox = outbox
        channel = make_channel(stand_in, keys)
        yield channel
        channel.close()

    def deliver(self, channel: Channel[Any], delivery: OutboundDelivery) -> DeliveryResult:
        return deliver_with_context(self.outbox, channel, delivery)

    def received(self, channel: Channel[Any], delivery: OutboundDelivery) -> int:
        message_id = derived_uuid(delivery.idempotency_key, "document:0")
        return sum(1 for stored in self.stand_in.messages.values() if stored.message_id == message_id)

    def break_transiently(self, channel: Channel[Any], delivery: OutboundDelivery) -> None:
        self.stand_in.down = True

    def break_permanently(self, channel: Channel[Any], delivery: OutboundDelivery) -> None:
        self.stand_in.default = "error"
        self.stand_in.error_code = "SENDER_NOT_AUTHORIZED"


# -- identification and outcomes ----------------------------------------------------------------------------


@pytest.fixture
def channel(stand_in: DigipostStandIn, keys: BrokerKeys) -> Iterator[DigipostChannel]:
    channel = make_channel(stand_in, keys)
    yield channel
    channel.close()


def test_a_consumer_with_a_mailbox_gets_the_invoice_digitally(
    channel: DigipostChannel, stand_in: DigipostStandIn
) -> None:
    delivery = consumer_delivery()
    result = channel.deliver(delivery)
    assert isinstance(result, Sent), result
    assert result.message_id == derived_uuid(delivery.idempotency_key, "document:0")
    assert result.detail == "delivered via DIGIPOST: DELIVERED"
    identification, sent = (etree.fromstring(r.xml[0][0]) for r in stand_in.requests if r.xml)
    assert identification.findtext("d:personal-identification-number", namespaces=NS) == NATIONAL_ID
    message = message_of(stand_in, delivery)
    assert message.findtext("d:recipient/d:personal-identification-number", namespaces=NS) == NATIONAL_ID
    assert message.find("d:recipient/d:print-details", NS) is None
    invoice = message.find("d:primary-document/d:data-type/t:invoice", NS)
    assert invoice is not None
    assert invoice.findtext("t:kid", namespaces=NS) == "0000000018"
    assert invoice.findtext("t:creditor-account", namespaces=NS) == "86011117947"
    stored = stand_in.messages[result.message_id]
    assert stored.documents[result.message_id] == delivery.document.content
    assert sent is not None


def test_without_a_national_id_the_organisation_number_addresses_it(
    channel: DigipostChannel, stand_in: DigipostStandIn
) -> None:
    delivery = consumer_delivery(receiver=ReceiverIdentity(receiver_id=None))
    result = channel.deliver(delivery)
    assert isinstance(result, Sent), result
    message = message_of(stand_in, delivery)
    assert message.findtext("d:recipient/d:organisation-number", namespaces=NS) == BUYER_ORG


def test_unidentified_without_print_fallback_fails_without_deviation(
    channel: DigipostChannel, stand_in: DigipostStandIn
) -> None:
    stand_in.answer(NATIONAL_ID, "unidentified")
    result = channel.deliver(consumer_delivery())
    assert isinstance(result, Failed) and not result.deviation, result
    assert "no Digipost mailbox (UNIDENTIFIED, NOT_FOUND)" in result.reason
    assert not stand_in.messages
    stand_in.answer(NATIONAL_ID, "identified")  # known, but no mailbox: the same
    result = channel.deliver(consumer_delivery())
    assert isinstance(result, Failed) and not result.deviation, result
    assert not stand_in.messages


def test_an_invalid_identification_is_a_deviation(
    channel: DigipostChannel, stand_in: DigipostStandIn
) -> None:
    stand_in.answer(NATIONAL_ID, "invalid")
    result = channel.deliver(consumer_delivery())
    assert isinstance(result, Failed) and result.deviation, result
    assert NATIONAL_ID not in result.reason


def test_unidentified_with_print_fallback_goes_on_paper(stand_in: DigipostStandIn, keys: BrokerKeys) -> None:
    channel = make_channel(
        stand_in,
        keys,
        profiles={
            "paper": {
                "colour": True,
                "nondeliverable_handling": "SHRED",
                "return_address": {
                    "name": "Acme Retur",
                    "lines": ["Postboks 9"],
                    "postal_code": "0101",
                    "city": "Oslo",
                },
            }
        },
    )
    stand_in.answer(NATIONAL_ID, "unidentified")
    delivery = consumer_delivery(tenant_settings=TenantSettings(print_profile="paper"))
    try:
        result = channel.deliver(delivery)
    finally:
        channel.close()
    assert isinstance(result, Sent), result
    assert result.detail == "delivered via PRINT: DELIVERED_TO_PRINT"
    details = message_of(stand_in, delivery).find("d:recipient/d:print-details", NS)
    assert details is not None
    assert details.findtext("d:recipient/d:name", namespaces=NS) == "Midnattsol Drift AS"
    assert details.findtext("d:recipient/d:norwegian-address/d:zip-code", namespaces=NS) == "9008"
    assert details.findtext("d:return-address/d:name", namespaces=NS) == "Acme Retur"
    assert details.findtext("d:color", namespaces=NS) == "COLORS"
    assert details.findtext("d:nondeliverable-handling", namespaces=NS) == "SHRED"


def test_print_if_unread_for_a_mailbox_when_the_profile_asks(
    stand_in: DigipostStandIn, keys: BrokerKeys
) -> None:
    channel = make_channel(stand_in, keys, profiles={"default": {"print_if_unread_days": 7}})
    delivery = consumer_delivery()
    try:
        result = channel.deliver(delivery)
    finally:
        channel.close()
    assert isinstance(result, Sent) and "on paper later" in (result.detail or ""), result
    message = message_of(stand_in, delivery)
    assert message.findtext("d:print-if-unread/d:print-if-unread-after", namespaces=NS)
    assert message.findtext("d:print-if-unread/d:print-details/d:return-address/d:name", namespaces=NS) == (
        sample_invoice(1).seller.name
    )


def test_an_unprintable_pdf_is_refused_before_anything_is_sent_when_paper_is_possible(
    stand_in: DigipostStandIn, keys: BrokerKeys
) -> None:
    channel = make_channel(stand_in, keys, profiles={"default": {}})
    pdf = (SHARED / "samples" / "print" / "digipost_a4-left-margin-14_5mm.pdf").read_bytes()
    delivery = consumer_delivery(document=RenderedDocument("pdf", pdf, "application/pdf", "pdf"))
    try:
        result = channel.deliver(delivery)
        assert isinstance(result, Failed) and result.deviation, result
        assert "not printable by Digipost" in result.reason
        assert not stand_in.requests
        # without paper the same PDF goes digitally
        digital = make_channel(stand_in, keys)
        assert isinstance(digital.deliver(delivery), Sent)
        digital.close()
    finally:
        channel.close()


def test_the_invoices_attachments_go_as_attachments(
    channel: DigipostChannel, stand_in: DigipostStandIn
) -> None:
    pod = b"%PDF-1.4 proof of delivery"
    invoice = sample_invoice(1).model_copy(
        update={
            "attachments": [
                Attachment(
                    id="POD-1",
                    filename="pod.pdf",
                    mime_type="application/pdf",
                    content_base64=base64.b64encode(pod).decode(),
                )
            ]
        }
    )
    delivery = consumer_delivery(invoice=invoice)
    result = channel.deliver(delivery)
    assert isinstance(result, Sent), result
    message = message_of(stand_in, delivery)
    [attachment] = message.findall("d:attachment", NS)
    uuid = attachment.findtext("d:uuid", namespaces=NS)
    assert uuid == derived_uuid(delivery.idempotency_key, "document:1")
    request = next(r for r in stand_in.requests if r.path == "/messages")
    parts = split_multipart(request.content_type, request.body)
    assert [filename for headers, _c in parts for filename in [headers["content-disposition"]]] == [
        'attachment; filename="message"',
        f'attachment; filename="{result.message_id}"',
        f'attachment; filename="{uuid}"',
    ]
    assert parts[2][1] == pod


def test_a_5xx_is_a_retry_and_a_refusal_a_deviation(
    channel: DigipostChannel, stand_in: DigipostStandIn
) -> None:
    stand_in.answer(NATIONAL_ID, "5xx")
    result = channel.deliver(consumer_delivery())
    assert isinstance(result, Retry) and "503" in result.reason, result
    stand_in.answer(NATIONAL_ID, "error")
    stand_in.error_code = "DOCUMENT_TOO_LARGE"
    result = channel.deliver(consumer_delivery())
    assert isinstance(result, Failed) and result.deviation and "DOCUMENT_TOO_LARGE" in result.reason, result


def test_a_forged_answer_is_not_taken_for_digiposts(
    channel: DigipostChannel, stand_in: DigipostStandIn
) -> None:
    stand_in.forge_signatures = True
    result = channel.deliver(consumer_delivery())
    assert isinstance(result, Retry) and "signature" in result.reason, result


def test_a_try_repeated_after_a_crash_is_not_a_second_message(
    channel: DigipostChannel, stand_in: DigipostStandIn, keys: BrokerKeys
) -> None:
    delivery = consumer_delivery()
    first = channel.deliver(delivery)
    assert isinstance(first, Sent), first
    another_worker = make_channel(stand_in, keys)  # the first one crashed before recording the send
    try:
        again = another_worker.deliver(delivery)
    finally:
        another_worker.close()
    assert isinstance(again, Sent), again
    assert again.message_id == first.message_id
    assert "sent by an earlier try); delivered via DIGIPOST" in (again.detail or "")
    assert len(stand_in.messages) == 1


def test_a_wrong_certificate_password_is_a_deviation_without_the_password(
    stand_in: DigipostStandIn, keys: BrokerKeys
) -> None:
    channel = make_channel(stand_in, keys, pkcs12_password="wrong-password-4417")
    result = channel.deliver(consumer_delivery())
    channel.close()
    assert isinstance(result, Failed) and result.deviation, result
    assert "wrong-password-4417" not in result.reason
    assert not stand_in.requests  # nothing went out


# -- through the worker: the receiver's fallback takes over --------------------------------------------------


def test_worker_falls_back_when_the_consumer_has_no_mailbox(
    engine: Engine, settings: Settings, stand_in: DigipostStandIn, keys: BrokerKeys, outbound_dir: Path
) -> None:
    settings = settings.model_copy(update={"channels": {"digipost": digipost_settings(stand_in, keys)}})
    with session_scope(engine) as session:
        ensure_tenant(session, "acme")
        put_receiver(
            session,
            "acme",
            ReceiverProfile(
                receiver_id="C-1",
                preferred_channel="digipost",
                fallback_channels=["folder"],
                national_id=NATIONAL_ID,
            ),
        )
    stand_in.answer(NATIONAL_ID, "unidentified")
    [result] = accept_invoices(
        engine,
        "acme",
        [IntakeItem(sample_invoice_json(1, receiver_id="C-1"))],
        actor="test",
        default_channel="folder",
    )
    assert result.outcome == "created", result.errors
    Worker(engine, settings, worker_id="w").run(once=True)
    with session_scope(engine) as session:
        first, second = service.invoice_view(session, "acme", result.invoice_id or "")["deliveries"]
    assert (first["channel"], first["status"]) == ("digipost", "failed")
    assert "no Digipost mailbox" in first["last_error"]
    assert (second["channel"], second["status"]) == ("folder", "delivered")
    assert NATIONAL_ID not in str(first)


# -- document events, through the worker --------------------------------------------------------------------


def test_the_worker_applies_digiposts_document_events(
    engine: Engine, settings: Settings, stand_in: DigipostStandIn, keys: BrokerKeys
) -> None:
    events_settings = digipost_settings(
        stand_in, keys, events_settle_seconds=0, events_first_window_hours=1, events_page_size=2
    )
    settings = settings.model_copy(update={"channels": {"digipost": events_settings}})
    with session_scope(engine) as session:
        ensure_tenant(session, "acme")
        put_receiver(
            session,
            "acme",
            ReceiverProfile(receiver_id="C-1", preferred_channel="digipost", national_id=NATIONAL_ID),
        )
    results = accept_invoices(
        engine,
        "acme",
        [IntakeItem(sample_invoice_json(n, receiver_id="C-1")) for n in (1, 2, 3)],
        actor="test",
        default_channel="folder",
    )
    invoice_ids = [r.invoice_id or "" for r in results]
    worker = Worker(engine, settings, worker_id="w")
    worker.run(once=True)

    def deliveries() -> list[dict[str, Any]]:
        with session_scope(engine) as session:
            return [service.invoice_view(session, "acme", i)["deliveries"][0] for i in invoice_ids]

    sent = deliveries()
    assert [d["status"] for d in sent] == ["sent"] * 3
    assert all("delivered via DIGIPOST" in d["events"][-1]["reason"] for d in sent), sent[0]["events"]
    opened, failed, posted = (d["channel_message_id"] for d in sent)
    stand_in.add_event(opened, "OPENED")
    stand_in.add_event(failed, "PRINT_FAILED", error_code="ADDRESS_UNKNOWN")
    stand_in.add_event(posted, "POSTMARKED")
    stand_in.add_event("0b7e7e3c-0000-4000-8000-000000000001", "OPENED")  # not one of ours
    assert worker.periodic is not None
    worker.periodic.make_due("digipost-events")
    worker.run(once=True)
    after = deliveries()
    assert [d["status"] for d in after] == ["delivered", "deviation", "delivered"]
    assert "opened in the recipient's Digipost mailbox" in after[0]["events"][-1]["reason"]
    assert after[1]["last_error"].startswith("Digipost: Digipost could not print the letter: ADDRESS_UNKNOWN")
    assert "postmarked" in after[2]["events"][-1]["reason"]
    event_requests = [r for r in stand_in.requests if r.path == "/documentevents"]
    assert len(event_requests) == 3  # pages of two: 2 + 2 + an empty one

    # a later poll reads only what is new: the same events are not applied twice
    stand_in.add_event(opened, "POSTMARKED")
    worker.periodic.make_due("digipost-events")
    worker.run(once=True)
    again = deliveries()
    assert [d["status"] for d in again] == ["delivered", "deviation", "delivered"]
    assert [len(d["events"]) for d in again] == [
        len(after[0]["events"]) + 1,
        *(len(d["events"]) for d in after[1:]),
    ]
    assert (
        "postmarked" in again[0]["events"][-1]["reason"]
        and again[0]["events"][-1]["from"] == again[0]["events"][-1]["to"] == "delivered"
    )
    with session_scope(engine) as session:
        cursor = session.get(DigipostEventCursor, "digipost")
        assert cursor is not None


# -- gateway check ------------------------------------------------------------------------------------------


def test_gateway_check_opens_the_enterprise_certificate_and_says_until_when(
    keys: BrokerKeys, settings: Settings, tmp_path: Path
) -> None:
    """`gateway check` reads the PKCS#12 file with its password (nothing is sent): whose certificate and
    until when, a warning a month ahead; a wrong password or an expired certificate is a failed check that
    names the problem and never the password."""
    from gateway.cli.checks import channel_findings
    from tests.certificates import make_certificate
    from tests.digipost_server import write_pkcs12

    def finding(**overrides: Any) -> tuple[bool, str]:
        digipost = {"base_url": "https://digipost.invalid/", "broker_id": BROKER_ID}
        digipost.update(pkcs12=str(keys.pkcs12), pkcs12_password=keys.password)
        digipost.update(overrides)
        checked = settings.model_copy(update={"channels": {"digipost": digipost}})
        [found] = channel_findings(checked, ["digipost"])
        return found.ok, found.detail

    ok, detail = finding()
    assert ok, detail
    assert "CN=invoice gateway broker" in detail and "renew it: 0 day(s) left" in detail

    ok, detail = finding(pkcs12_password="not-the-password-7f3a")
    assert not ok and "password does not fit" in detail and "not-the-password-7f3a" not in detail

    now = dt.datetime.now(dt.UTC)
    key, expired = make_certificate(
        "expired broker",
        not_valid_before=now - dt.timedelta(days=400),
        not_valid_after=now - dt.timedelta(days=1),
    )
    path = write_pkcs12(tmp_path / "expired.p12", key, expired, "pw-expired-1")
    ok, detail = finding(pkcs12=str(path), pkcs12_password="pw-expired-1")
    assert not ok and "CN=expired broker expired on" in detail, detail
