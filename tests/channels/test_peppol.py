"""The PEPPOL channel: SBDH envelope, capability lookup and fallback, and each transport for real.

The folder transport writes into a real directory; the HTTP transport talks to a stand-in access point
(FastAPI under uvicorn on a free 127.0.0.1 port, in a thread) that records what it receives and answers
as it is told; the AS4 transport pushes signed, encrypted messages to an AS4 receiver built with the `as4`
package on the same stand-in, with self-signed certificates made here. Nothing leaves 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import logging
import re
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from lxml import etree
from sqlalchemy import Engine, delete

from channels import create_channel
from channels.base import Channel, DeliveryResult, Failed, OutboundDelivery, Retry, Sent
from channels.context import ChannelNeed
from channels.peppol import PeppolChannel, retry_after_seconds
from db.engine import make_engine, migrate, session_scope
from db.models import Participant
from gateway.samples import sample_invoice, sample_invoice_json
from gateway.services.outbound import deliveries as service
from gateway.services.outbound.channel_context import deliver_with_context, prepare
from gateway.services.outbound.intake import IntakeItem, accept_invoices
from gateway.services.tenancy.tenants import ensure_tenant, put_receiver
from gateway.settings import Settings
from gateway.worker import Worker
from mappings import FORMATS, FormatEntry, inspect_file
from mappings.base import FormatError, RenderedDocument
from mappings.sbdh import (
    BILLING_PROCESS,
    CREDIT_NOTE_DOCUMENT_TYPE,
    INVOICE_DOCUMENT_TYPE,
    document_type_id_of,
    sniff,
    unwrap_sbdh,
    wrap_sbdh,
)
from schemas.canonical import Invoice, ReceiverProfile
from tests.channels.contract import ChannelContract, outbound
from tests.conftest import SHARED

EXAMPLE = SHARED / "validation" / "examples" / "billing" / "base-example.xml"
SBDH_XSD = SHARED / "validation" / "sbdh-1.3" / "StandardBusinessDocumentHeader.xsd"
TOKEN = "ap-token-7f3c9e1d5b"  # the stand-in access point's bearer token: must never show


def render_example(invoice: Invoice) -> RenderedDocument:
    """An official PEPPOL BIS Billing 3 example standing in for the UBL renderer (the invoice is unused)."""
    return RenderedDocument(
        format="ehf", content=EXAMPLE.read_bytes(), media_type="application/xml", extension="xml"
    )


@pytest.fixture(autouse=True)
def ehf_format(monkeypatch: pytest.MonkeyPatch) -> None:
    """Use the real "ehf" renderer when it is registered; until then, the official example."""
    if "ehf" not in FORMATS or FORMATS["ehf"].render is None:
        entry = FormatEntry(kind="invoice", description="", render=f"{__name__}:render_example")
        monkeypatch.setitem(FORMATS, "ehf", entry)


def receiver_of(n: int) -> str:
    endpoint = sample_invoice(n).buyer.endpoint
    assert endpoint is not None
    return f"{endpoint.scheme}:{endpoint.value}"


def add_participant(engine: Engine, participant_id: str, document_types: list[str]) -> None:
    with session_scope(engine) as session:
        session.add(Participant(participant_id=participant_id, document_types=document_types))


def remove_participants(engine: Engine) -> None:
    with session_scope(engine) as session:
        session.execute(delete(Participant))


@pytest.fixture
def registry(tmp_path: Path) -> Iterator[tuple[str, Engine]]:
    """A real outbox database whose participants table knows the sample buyers (invoice + credit note)."""
    url = f"sqlite:///{tmp_path / 'registry.sqlite3'}"
    engine = make_engine(url)
    migrate(engine)
    for n in (1, 2, 3):
        add_participant(engine, receiver_of(n), ["invoice", CREDIT_NOTE_DOCUMENT_TYPE])
    yield url, engine
    engine.dispose()


def send(registry: tuple[str, Engine], channel: Channel[Any], delivery: OutboundDelivery) -> DeliveryResult:
    """One try as the worker makes it: the gateway looks the receiver up in `registry`, the channel sends."""
    return deliver_with_context(registry[1], channel, delivery)


def without_declaration(xml: bytes) -> bytes:
    """The document less its XML declaration (an SBDH cannot carry it; unwrap adds a standard one)."""
    return re.sub(rb"^<\?xml[^>]*\?>\s*", b"", xml)


def sbdh_documents(directory: Path) -> list[dict[str, Any]]:
    return [unwrap_sbdh(path.read_bytes())[0] for path in sorted(directory.rglob("*.xml"))]


# -- the envelope ------------------------------------------------------------------------------------


def _wrap(document: bytes, **overrides: Any) -> bytes:
    arguments: dict[str, Any] = {
        "sender": "0192:987654325",
        "receiver": "0192:910667831",
        "document_type_id": document_type_id_of(document),
        "process_id": BILLING_PROCESS,
        "instance_id": "0b7e7e3c-delivery-1",
        "created": dt.datetime(2026, 11, 2, 9, 30, tzinfo=dt.UTC),
        "country_c1": "NO",
    }
    arguments.update(overrides)
    return wrap_sbdh(document, **arguments)


def test_sbdh_validates_against_the_sbdh_1_3_schema() -> None:
    schema = etree.XMLSchema(etree.parse(str(SBDH_XSD)))
    wrapped = _wrap(EXAMPLE.read_bytes())
    root = etree.fromstring(wrapped)
    assert schema.validate(root), schema.error_log
    ns = {"s": "http://www.unece.org/cefact/namespaces/StandardBusinessDocumentHeader"}
    assert root.xpath("//s:Sender/s:Identifier/@Authority", namespaces=ns) == ["iso6523-actorid-upis"]
    assert root.xpath("//s:DocumentIdentification/s:Type/text()", namespaces=ns) == ["Invoice"]
    assert root.xpath("//s:DocumentIdentification/s:Standard/text()", namespaces=ns) == [
        "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
    ]
    scopes = root.xpath("//s:Scope/s:Type/text()", namespaces=ns)
    assert scopes == ["DOCUMENTID", "PROCESSID", "COUNTRY_C1"]


def test_unwrap_gives_back_exactly_what_was_wrapped() -> None:
    document = EXAMPLE.read_bytes()
    header, inner = unwrap_sbdh(_wrap(document))
    assert inner == document
    assert header["sender"] == "0192:987654325"
    assert header["receiver"] == "0192:910667831"
    assert header["instance_id"] == "0b7e7e3c-delivery-1"
    assert header["document_type_id"] == INVOICE_DOCUMENT_TYPE
    assert header["process_id"] == BILLING_PROCESS
    assert header["country_c1"] == "NO"
    assert header["created"] == dt.datetime(2026, 11, 2, 9, 30, tzinfo=dt.UTC)
    assert (header["standard"], header["type"], header["type_version"]) == (
        "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2",
        "Invoice",
        "2.1",
    )


def test_an_sbdh_is_recognised_as_the_envelope() -> None:
    wrapped = _wrap(EXAMPLE.read_bytes())
    assert sniff(wrapped) and not sniff(EXAMPLE.read_bytes())
    inspected = inspect_file(wrapped)
    assert inspected["format"] == "sbdh"
    assert inspected["header"]["receiver"] == "0192:910667831"
    assert inspected["document"]["bytes"] == len(EXAMPLE.read_bytes())


def test_envelope_refuses_bad_identifiers_and_foreign_xml() -> None:
    with pytest.raises(FormatError, match="participant id"):
        _wrap(EXAMPLE.read_bytes(), receiver="910667831")
    with pytest.raises(FormatError, match="time zone"):
        _wrap(EXAMPLE.read_bytes(), created=dt.datetime(2026, 1, 1))
    with pytest.raises(FormatError, match="StandardBusinessDocument"):
        unwrap_sbdh(EXAMPLE.read_bytes())
    with pytest.raises(FormatError):
        unwrap_sbdh(b'<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>')


def test_unwrap_reads_an_envelope_whose_document_uses_the_envelopes_prefixes() -> None:
    foreign = b"""<?xml version="1.0"?>
<sh:StandardBusinessDocument xmlns:sh="http://www.unece.org/cefact/namespaces/StandardBusinessDocumentHeader"
    xmlns:inv="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2">
  <sh:StandardBusinessDocumentHeader>
    <sh:HeaderVersion>1.0</sh:HeaderVersion>
    <sh:Sender><sh:Identifier Authority="iso6523-actorid-upis">0192:987654325</sh:Identifier></sh:Sender>
    <sh:Receiver><sh:Identifier Authority="iso6523-actorid-upis">0192:910667831</sh:Identifier></sh:Receiver>
    <sh:DocumentIdentification>
      <sh:Standard>urn:oasis:names:specification:ubl:schema:xsd:Invoice-2</sh:Standard>
      <sh:TypeVersion>2.1</sh:TypeVersion>
      <sh:InstanceIdentifier>x-1</sh:InstanceIdentifier>
      <sh:Type>Invoice</sh:Type>
      <sh:CreationDateAndTime>2026-11-02T09:30:00Z</sh:CreationDateAndTime>
    </sh:DocumentIdentification>
  </sh:StandardBusinessDocumentHeader>
  <inv:Invoice><inv:Note>x</inv:Note></inv:Invoice>
</sh:StandardBusinessDocument>
"""
    header, inner = unwrap_sbdh(foreign)
    assert header["receiver"] == "0192:910667831"
    assert header["created"] == dt.datetime(2026, 11, 2, 9, 30, tzinfo=dt.UTC)
    assert header["document_type_id"] is None  # no BusinessScope in this one
    root = etree.fromstring(inner)
    assert root.tag == "{urn:oasis:names:specification:ubl:schema:xsd:Invoice-2}Invoice"
    assert root[0].text == "x"


def test_retry_after_reads_seconds_and_http_dates() -> None:
    now = dt.datetime(2026, 11, 2, 12, 0, tzinfo=dt.UTC)
    assert retry_after_seconds("120") == 120
    assert retry_after_seconds("Mon, 02 Nov 2026 12:01:30 GMT", now) == 90
    assert retry_after_seconds("soon") is None
    assert retry_after_seconds(None) is None


# -- folder transport --------------------------------------------------------------------------------


class TestPeppolFolder(ChannelContract):
    @pytest.fixture
    def channel(self, tmp_path: Path, registry: tuple[str, Engine]) -> Iterator[Channel[Any]]:
        self.registry_engine = registry[1]
        channel = create_channel(
            "peppol", {"folder": {"directory": str(tmp_path / "ap-outbound")}}
        )
        yield channel
        channel.close()

    def deliver(self, channel: Channel[Any], delivery: OutboundDelivery) -> DeliveryResult:
        return deliver_with_context(self.registry_engine, channel, delivery)

    def received(self, channel: Channel[Any], delivery: OutboundDelivery) -> int:
        assert isinstance(channel, PeppolChannel)
        directory = channel.config.folder.directory
        return sum(1 for h in sbdh_documents(directory) if h["instance_id"] == delivery.idempotency_key)

    def break_transiently(self, channel: Channel[Any], delivery: OutboundDelivery) -> None:
        assert isinstance(channel, PeppolChannel)
        target = channel.outbound_path(delivery).parent
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text("a file where the access point's folder should be")

    def break_permanently(self, channel: Channel[Any], delivery: OutboundDelivery) -> None:
        remove_participants(self.registry_engine)


def test_folder_hands_over_a_valid_sbdh_named_by_the_instance_id(
    tmp_path: Path, registry: tuple[str, Engine]
) -> None:
    channel = create_channel("peppol", {"folder": {"directory": str(tmp_path)}})
    delivery = outbound(channel, n=2)
    result = send(registry, channel, delivery)
    channel.close()
    assert isinstance(result, Sent), result
    assert result.message_id == delivery.idempotency_key
    written = tmp_path / "acme" / f"{delivery.idempotency_key}.xml"
    header, document = unwrap_sbdh(written.read_bytes())
    assert without_declaration(document) == without_declaration(delivery.document.content)
    assert header["receiver"] == receiver_of(2)
    assert header["sender"] == "0192:987654325"  # the seller's endpoint
    assert header["country_c1"] == "NO"
    schema = etree.XMLSchema(etree.parse(str(SBDH_XSD)))
    assert schema.validate(etree.parse(str(written))), schema.error_log
    assert not list(tmp_path.rglob(".tmp-*"))


def test_address_overrides_the_buyer_endpoint(tmp_path: Path, registry: tuple[str, Engine]) -> None:
    add_participant(registry[1], "0088:7300010000001", ["invoice"])
    channel = create_channel("peppol", {"folder": {"directory": str(tmp_path)}})
    result = send(registry, channel, outbound(channel, address="0088:7300010000001"))
    channel.close()
    assert isinstance(result, Sent), result
    assert [h["receiver"] for h in sbdh_documents(tmp_path)] == ["0088:7300010000001"]


def test_unknown_receiver_or_document_type_is_failed_without_deviation(
    tmp_path: Path, registry: tuple[str, Engine]
) -> None:
    add_participant(registry[1], "0192:811111112", ["credit_note"])
    channel = create_channel("peppol", {"folder": {"directory": str(tmp_path)}})
    unknown = send(registry, channel, outbound(channel, address="0192:999999999"))
    wrong_type = send(registry, channel, outbound(channel, address="0192:811111112"))
    channel.close()
    assert isinstance(unknown, Failed) and not unknown.deviation
    assert "0192:999999999 is not PEPPOL-capable" in unknown.reason
    assert isinstance(wrong_type, Failed) and not wrong_type.deviation
    assert "not PEPPOL-capable for invoice" in wrong_type.reason
    assert sbdh_documents(tmp_path) == []


def test_the_gateway_hands_the_registry_answer_over_and_the_channel_decides(
    tmp_path: Path, registry: tuple[str, Engine]
) -> None:
    add_participant(registry[1], "0192:811111112", ["credit_note"])
    channel = create_channel("peppol", {"folder": {"directory": str(tmp_path)}})
    assert channel.capabilities.needs == (ChannelNeed.PEPPOL_PARTICIPANT,)
    known = prepare(registry[1], channel, outbound(channel, address="0192:811111112"))
    assert isinstance(known, OutboundDelivery) and known.participant is not None
    assert known.participant.participant_id == "0192:811111112"
    assert known.participant.info is not None and known.participant.info.document_types == ("credit_note",)
    unknown = prepare(registry[1], channel, outbound(channel, address="0192:999999999"))
    assert isinstance(unknown, OutboundDelivery) and unknown.participant is not None
    assert unknown.participant.info is None  # asked, and the registry does not know it
    # an answer about someone else is not taken as an answer about this receiver
    mixed_up = dataclasses.replace(known, address="0192:923609016")
    refused = channel.deliver(mixed_up)
    channel.close()
    assert isinstance(refused, Failed) and refused.deviation
    assert "no participant registry answer about 0192:923609016" in refused.reason
    assert sbdh_documents(tmp_path) == []


def test_an_unavailable_registry_is_a_retry_and_old_settings_still_load(tmp_path: Path) -> None:
    empty = make_engine(f"sqlite:///{tmp_path / 'not-migrated.sqlite3'}")  # no participants table
    old_settings = {"registry_url": f"sqlite:///{tmp_path / 'ignored.db'}"}
    channel = create_channel("peppol", {**old_settings, "folder": {"directory": str(tmp_path / "ap")}})
    try:
        result = deliver_with_context(empty, channel, outbound(channel))
    finally:
        channel.close()
        empty.dispose()
    assert isinstance(result, Retry) and "participant registry unavailable" in result.reason, result
    assert not (tmp_path / "ap").exists()
    assert not (tmp_path / "ignored.db").exists()  # the channel opened nothing


def _accept(engine: Engine, items: list[dict[str, Any]]) -> list[str]:
    with session_scope(engine) as session:
        ensure_tenant(session, "acme")
    results = accept_invoices(
        engine, "acme", [IntakeItem(i) for i in items], actor="test", default_channel="folder"
    )
    assert [r.outcome for r in results] == ["created"] * len(items), [r.errors for r in results]
    return [r.invoice_id or "" for r in results]


def _profile(engine: Engine) -> None:
    with session_scope(engine) as session:
        put_receiver(
            session,
            "acme",
            ReceiverProfile(receiver_id="C-1", preferred_channel="peppol", fallback_channels=["folder"]),
        )


def test_worker_falls_back_to_the_next_channel_when_the_receiver_is_not_peppol_capable(
    engine: Engine, settings: Settings, outbound_dir: Path
) -> None:
    _profile(engine)
    [invoice_id] = _accept(engine, [sample_invoice_json(1, receiver_id="C-1")])
    Worker(engine, settings, worker_id="w").run(once=True)
    with session_scope(engine) as session:
        first, second = service.invoice_view(session, "acme", invoice_id)["deliveries"]
    assert (first["channel"], first["status"]) == ("peppol", "failed")
    assert "is not PEPPOL-capable" in first["last_error"]
    assert (second["channel"], second["status"]) == ("folder", "delivered")
    assert not (settings.data_dir / "peppol-outbound").exists()


def test_worker_sends_through_peppol_when_the_receiver_is_registered(
    engine: Engine, settings: Settings
) -> None:
    _profile(engine)
    add_participant(engine, receiver_of(1), ["invoice"])
    [invoice_id] = _accept(engine, [sample_invoice_json(1, receiver_id="C-1")])
    Worker(engine, settings, worker_id="w").run(once=True)
    with session_scope(engine) as session:
        [delivery] = service.invoice_view(session, "acme", invoice_id)["deliveries"]
    assert (delivery["channel"], delivery["status"]) == ("peppol", "sent")
    [header] = sbdh_documents(settings.data_dir / "peppol-outbound")
    assert header["instance_id"] == delivery["channel_message_id"]
    assert header["receiver"] == receiver_of(1)


# -- the stand-in access point -----------------------------------------------------------------------


@dataclass
class AccessPoint:
    """A provider's API and an AS4 endpoint, as far as the gateway can tell; scripted per test."""

    url: str = ""
    received: dict[str, bytes] = field(default_factory=dict)  # idempotency key → SBDH
    requests: list[dict[str, str]] = field(default_factory=list)
    script: list[tuple[int, dict[str, str], Any]] = field(default_factory=list)
    delay: float = 0.0
    generation: int = 0  # a request from an earlier test that finishes late must not touch this one's state
    as4_party: Any = None
    as4_policy: Any = None
    as4_refuse: set[str] = field(default_factory=set)
    as4_payloads: list[bytes] = field(default_factory=list)

    def reset(self) -> None:
        self.generation += 1
        self.received.clear()
        self.requests.clear()
        self.script.clear()
        self.delay = 0.0
        self.as4_refuse.clear()
        self.as4_payloads.clear()


def access_point_app(ap: AccessPoint) -> FastAPI:
    app = FastAPI()

    @app.post("/api/v1/outbox")
    async def outbox(request: Request) -> Response:
        generation = ap.generation
        ap.requests.append(dict(request.headers))
        if ap.delay:
            await asyncio.sleep(ap.delay)  # a stalled provider
            if generation != ap.generation:
                return JSONResponse({"error": "too late"}, status_code=503)
        if request.headers.get("authorization") != f"Bearer {TOKEN}":
            return JSONResponse({"error": "invalid token"}, status_code=401)
        if ap.script:
            status, headers, body = ap.script.pop(0)
            return JSONResponse(body, status_code=status, headers=headers)
        key = request.headers.get("idempotency-key", "")
        body_bytes = await request.body()
        try:
            header, _document = unwrap_sbdh(body_bytes)
        except FormatError as error:
            return JSONResponse({"error": f"not a valid SBDH: {error}"}, status_code=400)
        ap.received.setdefault(key, body_bytes)  # a repeated key is the same transmission
        return JSONResponse(
            {"message_id": f"ap-{header['instance_id']}", "status": "accepted"}, status_code=202
        )

    @app.post("/as4")
    async def as4_endpoint(request: Request) -> Response:
        from as4 import ParticipantNotServicedError
        from as4.peppol import parse_peppol_message

        def accept(participant: str) -> None:
            if participant in ap.as4_refuse:
                raise ParticipantNotServicedError(participant)

        exchange = parse_peppol_message(
            dict(request.headers),
            await request.body(),
            ap.as4_party,
            accept_participant=accept,
            security_policy=ap.as4_policy,
        )
        if exchange.successful:
            ap.as4_payloads.append(next(iter(exchange.message.decrypted_data.values())))
        headers, signal = exchange.build_signal()
        return Response(signal, status_code=200, headers=headers)

    return app


@pytest.fixture(scope="module")
def access_point_server() -> Iterator[AccessPoint]:
    ap = AccessPoint()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(access_point_app(ap), log_level="warning", lifespan="off", ws="none", access_log=False)
    )
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "the stand-in access point did not start"
        time.sleep(0.01)
    ap.url = f"http://127.0.0.1:{port}"
    yield ap
    server.should_exit = True
    thread.join(timeout=10)
    sock.close()
    assert not thread.is_alive()


@pytest.fixture
def access_point(access_point_server: AccessPoint) -> Iterator[AccessPoint]:
    access_point_server.reset()
    yield access_point_server
    access_point_server.reset()


def http_channel(ap: AccessPoint, **overrides: Any) -> Channel[Any]:
    settings: dict[str, Any] = {
        "transport": "http",
        "http": {"url": f"{ap.url}/api/v1/outbox", "token": TOKEN},
        "timeout_seconds": 5,
    }
    settings.update(overrides)
    return create_channel("peppol", settings)


# -- HTTP transport ----------------------------------------------------------------------------------


class TestPeppolHttp(ChannelContract):
    @pytest.fixture
    def channel(self, access_point: AccessPoint, registry: tuple[str, Engine]) -> Iterator[Channel[Any]]:
        self.ap = access_point
        self.registry_engine = registry[1]
        channel = http_channel(access_point)
        yield channel
        channel.close()

    def deliver(self, channel: Channel[Any], delivery: OutboundDelivery) -> DeliveryResult:
        return deliver_with_context(self.registry_engine, channel, delivery)

    def received(self, channel: Channel[Any], delivery: OutboundDelivery) -> int:
        return sum(
            1
            for body in self.ap.received.values()
            if unwrap_sbdh(body)[0]["instance_id"] == delivery.idempotency_key
        )

    def break_transiently(self, channel: Channel[Any], delivery: OutboundDelivery) -> None:
        self.ap.script.append((503, {}, {"error": f"maintenance (token was {TOKEN})"}))

    def break_permanently(self, channel: Channel[Any], delivery: OutboundDelivery) -> None:
        self.ap.script.append((400, {}, {"error": "receiver endpoint unknown to the SMP"}))


def test_http_sends_bearer_token_and_idempotency_key(
    access_point: AccessPoint, registry: tuple[str, Engine]
) -> None:
    channel = http_channel(access_point)
    delivery = outbound(channel, n=3)
    result = send(registry, channel, delivery)
    channel.close()
    assert result == Sent(message_id=f"ap-{delivery.idempotency_key}", detail="access point answered 202")
    [request] = access_point.requests
    assert request["authorization"] == f"Bearer {TOKEN}"
    assert request["idempotency-key"] == delivery.idempotency_key
    assert request["content-type"] == "application/xml"
    header, document = unwrap_sbdh(access_point.received[delivery.idempotency_key])
    assert header["receiver"] == receiver_of(3)
    assert without_declaration(document) == without_declaration(delivery.document.content)


def test_http_500_then_200_is_a_retry_then_one_copy(
    access_point: AccessPoint, registry: tuple[str, Engine]
) -> None:
    channel = http_channel(access_point)
    delivery = outbound(channel)
    access_point.script.append((500, {}, {"error": "internal error"}))
    first = send(registry, channel, delivery)
    second = send(registry, channel, delivery)
    channel.close()
    assert isinstance(first, Retry) and "500" in first.reason and "internal error" in first.reason
    assert first.after is None
    assert isinstance(second, Sent)
    assert [r["idempotency-key"] for r in access_point.requests] == [delivery.idempotency_key] * 2
    assert len(access_point.received) == 1


def test_http_429_honours_retry_after(access_point: AccessPoint, registry: tuple[str, Engine]) -> None:
    channel = http_channel(access_point)
    access_point.script.append((429, {"Retry-After": "120"}, {"error": "rate limited"}))
    result = send(registry, channel, outbound(channel))
    channel.close()
    assert isinstance(result, Retry)
    assert result.after == 120
    assert "rate limited" in result.reason


def test_http_400_is_a_deviation_with_the_providers_error(
    access_point: AccessPoint, registry: tuple[str, Engine]
) -> None:
    channel = http_channel(access_point)
    access_point.script.append((400, {}, {"error": "PEPPOL-EN16931-R001: business process missing"}))
    result = send(registry, channel, outbound(channel))
    channel.close()
    assert result == Failed(
        "access point refused the document (400): PEPPOL-EN16931-R001: business process missing",
        deviation=True,
    )


def test_http_timeout_and_refused_connection_are_retries(
    access_point: AccessPoint, registry: tuple[str, Engine]
) -> None:
    slow = http_channel(access_point, timeout_seconds=0.3)
    access_point.delay = 1.0
    timed_out = send(registry, slow, outbound(slow))
    slow.close()
    assert isinstance(timed_out, Retry) and "did not answer in time" in timed_out.reason
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()  # nothing listens there now
    gone = http_channel(access_point, http={"url": f"http://127.0.0.1:{port}/x", "token": TOKEN})
    refused = send(registry, gone, outbound(gone))
    gone.close()
    assert isinstance(refused, Retry) and "unreachable" in refused.reason


def test_http_token_is_masked_in_reasons_logs_and_config(
    access_point: AccessPoint, registry: tuple[str, Engine], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    channel = http_channel(access_point)
    # a careless provider that echoes the credentials it was sent, in an error and in a success without id
    access_point.script.append((422, {}, {"error": f"bad request with Authorization: Bearer {TOKEN}"}))
    access_point.script.append((200, {}, {"note": f"thanks {TOKEN}"}))
    refused = send(registry, channel, outbound(channel))
    accepted = send(registry, channel, outbound(channel, n=2))
    channel.close()
    assert isinstance(refused, Failed) and "********" in refused.reason
    assert isinstance(accepted, Sent)
    text = repr(refused) + repr(accepted) + caplog.text + repr(channel.config) + str(channel.config)
    assert TOKEN not in text


def test_http_transport_needs_its_settings() -> None:
    with pytest.raises(ValueError, match="transport 'http' needs http settings"):
        create_channel("peppol", {"transport": "http"})


# -- AS4 transport -----------------------------------------------------------------------------------


@dataclass
class As4Keys:
    directory: Path
    sender: tuple[Any, Any]
    receiver: tuple[Any, Any]


def _self_signed(common_name: str, directory: Path) -> tuple[Any, Any]:
    from cryptography.hazmat.primitives import serialization

    from tests.certificates import make_certificate

    key, certificate = make_certificate(common_name)
    (directory / f"{common_name}.crt").write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    (directory / f"{common_name}.key").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"key-password-1"),
        )
    )
    return certificate, key


@pytest.fixture(scope="module")
def as4_keys(tmp_path_factory: pytest.TempPathFactory) -> As4Keys:
    pytest.importorskip("as4")
    directory = tmp_path_factory.mktemp("as4")
    return As4Keys(directory, _self_signed("POP000001", directory), _self_signed("POP000002", directory))


@pytest.fixture
def as4_access_point(access_point: AccessPoint, as4_keys: As4Keys) -> AccessPoint:
    from as4 import AS4LocalPrivateKey, SecurityPolicy, pinned_certificates
    from as4.peppol import create_peppol_internal_party

    certificate, key = as4_keys.receiver
    access_point.as4_party = create_peppol_internal_party("POP000002", certificate, AS4LocalPrivateKey(key))
    access_point.as4_policy = SecurityPolicy(signer_resolver=pinned_certificates(as4_keys.sender[0]))
    return access_point


def as4_channel(ap: AccessPoint, keys: As4Keys) -> Channel[Any]:
    return create_channel(
        "peppol",
        {
            "transport": "as4",
            "as4": {
                "endpoint": f"{ap.url}/as4",
                "certificate": str(keys.directory / "POP000001.crt"),
                "private_key": str(keys.directory / "POP000001.key"),
                "private_key_password": "key-password-1",
                "receiver_certificate": str(keys.directory / "POP000002.crt"),
                "party_id": "POP000001",
                "receiver_party_id": "POP000002",
            },
        },
    )


def test_as4_round_trip_on_loopback_ends_with_a_signed_receipt(
    as4_access_point: AccessPoint, as4_keys: As4Keys, registry: tuple[str, Engine]
) -> None:
    channel = as4_channel(as4_access_point, as4_keys)
    delivery = outbound(channel, n=2)
    result = send(registry, channel, delivery)
    again = send(registry, channel, delivery)
    channel.close()
    assert isinstance(result, Sent), result
    assert result.message_id == f"{delivery.idempotency_key}@invoice-gateway"
    assert again == result  # the same AS4 MessageId: a receiver that eliminates duplicates keeps one
    payload = as4_access_point.as4_payloads[0]
    schema = etree.XMLSchema(etree.parse(str(SBDH_XSD)))
    assert schema.validate(etree.fromstring(payload)), schema.error_log
    header, document = unwrap_sbdh(payload)
    assert header["receiver"] == receiver_of(2)
    assert header["instance_id"] == delivery.idempotency_key
    assert header["document_type_id"] == INVOICE_DOCUMENT_TYPE
    assert etree.tostring(etree.fromstring(document), method="c14n") == etree.tostring(
        etree.fromstring(delivery.document.content), method="c14n"
    )
    assert "key-password-1" not in repr(channel.config)


def test_as4_error_signal_is_a_deviation(
    as4_access_point: AccessPoint, as4_keys: As4Keys, registry: tuple[str, Engine]
) -> None:
    as4_access_point.as4_refuse.add(receiver_of(1))
    channel = as4_channel(as4_access_point, as4_keys)
    result = send(registry, channel, outbound(channel))
    channel.close()
    assert isinstance(result, Failed) and result.deviation, result
    assert result.reason.startswith("AS4 error")
    assert as4_access_point.as4_payloads == []


def test_as4_unreachable_endpoint_is_a_retry(as4_keys: As4Keys, registry: tuple[str, Engine]) -> None:
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    ap = AccessPoint(url=f"http://127.0.0.1:{closed.getsockname()[1]}")
    closed.close()
    channel = as4_channel(ap, as4_keys)
    result = send(registry, channel, outbound(channel))
    channel.close()
    assert isinstance(result, Retry) and "unreachable" in result.reason
