"""The eFaktura channel: recipient lookup, EHF with KID and PDF, both transports, receipts, AvtaleGiro.

The folder transport writes into a real directory; the HTTP transport and the HTTP recipient search talk to
a stand-in eFaktura provider (FastAPI under uvicorn on a free 127.0.0.1 port, in a thread) that speaks the
shapes the README documents (the provider's own are not public), checks every request against them and
answers as it is told. The EHF that leaves is checked with the official PEPPOL / CEN validation.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import json
import logging
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi.testclient import TestClient
from lxml import etree
from sqlalchemy import Engine, select
from sqlmodel import col
from stdnum.no import fodselsnummer
from typer.testing import CliRunner

from channels import create_channel
from channels.base import Channel, DeliveryResult, Failed, OutboundDelivery, Retry, Sent
from channels.context import ChannelNeed, EfakturaStatus
from channels.efaktura import RECIPIENT_SCOPE, EfakturaChannel, LookupKey
from db.engine import make_engine, migrate, session_scope
from db.models import EfakturaRecipient
from gateway.cli import app as cli_app
from gateway.samples import sample_invoice, sample_invoice_json
from gateway.services.inbound.door import InboundDoor, InboundFile, receive_inbound
from gateway.services.inbound.efaktura_receipts import poll_efaktura_receipts
from gateway.services.outbound import deliveries as service
from gateway.services.outbound.channel_context import deliver_with_context, prepare
from gateway.services.outbound.documents import document_store
from gateway.services.outbound.efaktura_recipients import import_recipients, remember
from gateway.services.outbound.intake import IntakeItem, accept_invoices
from gateway.services.tenancy.tenants import ensure_tenant, put_receiver
from gateway.services.validation import get_validator
from gateway.settings import Settings
from gateway.worker import Worker
from mappings import inspect_file, render
from mappings.base import FormatError
from mappings.efaktura.recipients import RecipientFileRefused
from mappings.invoice import ubl
from mappings.sbdh import unwrap_sbdh
from schemas.canonical import DeliveryPreference, Invoice, PaymentMeans, ReceiverProfile
from schemas.national_id import mask_national_id
from tests.channels.contract import ChannelContract, outbound

PROVIDER = "0192:910000009"  # the eFaktura provider's participant id (SBDH receiver)
TOKEN = "efaktura-token-3b9d27c1e8"  # the stand-in provider's bearer token: must never show
HEADER = "national_id;name;street;postal_code;efaktura_id;status\n"
UBL = {
    "cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2",
    "cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2",
}


def national_id(birth_date: str, individual: int) -> str:
    """A valid fødselsnummer for `birth_date` (ddmmyy), the first valid one from `individual` on."""
    for number in range(individual, individual + 50):
        for check in range(100):
            candidate = f"{birth_date}{number:03d}{check:02d}"
            if fodselsnummer.is_valid(candidate):
                return candidate
    raise AssertionError(f"no valid number for {birth_date}")  # pragma: no cover


NIN_FOUND = national_id("010190", 123)
NIN_BLOCKED = national_id("150583", 256)
NIN_UNKNOWN = national_id("311299", 371)


def buyer_line(n: int, status: str = "found", efaktura_id: str | None = None) -> str:
    """The CSV line of a recipient-search answer for sample invoice n's buyer, by name and address."""
    buyer = sample_invoice(n).buyer
    assert buyer.address is not None and buyer.address.postal_code is not None
    identifier = efaktura_id if efaktura_id is not None else (f"EFAKTURA-{n}" if status == "found" else "")
    return f";{buyer.name};{buyer.address.lines[0]};{buyer.address.postal_code};{identifier};{status}\n"


def migrated(tmp_path: Path) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{tmp_path / 'outbox.sqlite3'}")
    migrate(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def outbox(tmp_path: Path) -> Iterator[Engine]:
    """A real outbox whose eFaktura registry (tenant acme) knows sample buyers 1–3 as found."""
    for engine in migrated(tmp_path):
        import_recipients(engine, "acme", (HEADER + "".join(buyer_line(n) for n in (1, 2, 3))).encode())
        yield engine


def folder_channel(directory: Path, **overrides: Any) -> EfakturaChannel:
    settings: dict[str, Any] = {"provider_participant_id": PROVIDER, "folder": {"directory": str(directory)}}
    settings.update(overrides)
    channel = create_channel("efaktura", settings)
    assert isinstance(channel, EfakturaChannel)
    return channel


def written(directory: Path) -> list[tuple[dict[str, Any], bytes]]:
    return [unwrap_sbdh(path.read_bytes()) for path in sorted(directory.rglob("*.xml"))]


# -- folder transport ----------------------------------------------------------------------------------------


class TestEfakturaFolder(ChannelContract):
    @pytest.fixture
    def channel(self, tmp_path: Path, outbox: Engine) -> Iterator[Channel[Any]]:
        self.outbox = outbox
        channel = folder_channel(tmp_path / "provider-pickup")
        yield channel
        channel.close()

    def deliver(self, channel: Channel[Any], delivery: OutboundDelivery) -> DeliveryResult:
        return deliver_with_context(self.outbox, channel, delivery)

    def received(self, channel: Channel[Any], delivery: OutboundDelivery) -> int:
        assert isinstance(channel, EfakturaChannel)
        found = written(channel.config.folder.directory)
        return sum(1 for header, _ in found if header["instance_id"] == delivery.idempotency_key)

    def break_transiently(self, channel: Channel[Any], delivery: OutboundDelivery) -> None:
        assert isinstance(channel, EfakturaChannel)
        target = channel.outbound_path(delivery).parent
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text("a file where the provider's pick-up folder should be")

    def break_permanently(self, channel: Channel[Any], delivery: OutboundDelivery) -> None:
        assert delivery.invoice is not None
        buyer = delivery.invoice.buyer
        assert buyer.address is not None
        key = LookupKey(
            None, name=buyer.name, street=buyer.address.lines[0], postal_code=buyer.address.postal_code
        )
        with session_scope(self.outbox) as session:
            remember(session, "acme", key, EfakturaStatus.BLOCKED, None, source="import")


def test_found_goes_to_the_provider_with_the_identifier_in_the_envelope(
    tmp_path: Path, outbox: Engine
) -> None:
    channel = folder_channel(tmp_path)
    assert channel.capabilities.needs == (ChannelNeed.EFAKTURA_RECIPIENT,)
    assert channel.capabilities.embedded_formats == ("pdf",)
    delivery = outbound(channel, n=2)
    prepared = prepare(outbox, channel, delivery)
    assert isinstance(prepared, OutboundDelivery) and prepared.efaktura is not None
    assert prepared.efaktura.status is EfakturaStatus.FOUND
    assert prepared.efaktura.efaktura_id == "EFAKTURA-2"
    assert prepared.efaktura.looked_up_by == "name and address"
    result = channel.deliver(prepared)
    assert isinstance(result, Sent) and result.message_id == delivery.idempotency_key, result
    [(header, document)] = written(tmp_path)
    assert header["receiver"] == PROVIDER
    assert header["sender"] == "0192:987654325"
    assert header["scopes"][RECIPIENT_SCOPE] == "EFAKTURA-2"
    assert document.split(b"?>", 1)[1].strip() == delivery.document.content.split(b"?>", 1)[-1].strip()


def test_not_found_and_blocked_fail_without_deviation_so_the_waterfall_goes_on(
    tmp_path: Path, outbox: Engine
) -> None:
    import_recipients(outbox, "acme", (HEADER + buyer_line(2, "blocked")).encode())
    channel = folder_channel(tmp_path)
    stranger = outbound(channel, n=1)
    assert stranger.invoice is not None
    buyer = stranger.invoice.buyer.model_copy(update={"name": "Ola Nordmann"})  # not in the registry
    stranger = dataclasses.replace(stranger, invoice=stranger.invoice.model_copy(update={"buyer": buyer}))
    unknown = deliver_with_context(outbox, channel, stranger)
    blocked = deliver_with_context(outbox, channel, outbound(channel, n=2))
    assert isinstance(unknown, Failed) and not unknown.deviation, unknown
    assert "no eFaktura consent" in unknown.reason and "name and address" in unknown.reason
    assert isinstance(blocked, Failed) and not blocked.deviation, blocked
    assert "has blocked eFaktura from this issuer" in blocked.reason
    assert written(tmp_path) == []


def _consumer(engine: Engine, national: str, *, receiver_id: str = "P-1") -> None:
    with session_scope(engine) as session:
        ensure_tenant(session, "acme")
        put_receiver(
            session,
            "acme",
            ReceiverProfile(
                receiver_id=receiver_id,
                preferred_channel="efaktura",
                fallback_channels=["folder"],
                national_id=national,
            ),
        )


def consumer_delivery(channel: Channel[Any], n: int = 1, receiver_id: str = "P-1") -> OutboundDelivery:
    delivery = outbound(channel, n=n)
    assert delivery.invoice is not None
    routed = delivery.invoice.model_copy(update={"routing": DeliveryPreference(receiver_id=receiver_id)})
    return dataclasses.replace(delivery, invoice=routed)


def test_a_consumer_is_looked_up_by_national_id_and_the_number_never_shows(
    tmp_path: Path, outbox: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    lines = f"{NIN_FOUND};;;;EF-777;found\n{NIN_BLOCKED};;;;;blocked\n"
    import_recipients(outbox, "acme", (HEADER + lines).encode())
    _consumer(outbox, NIN_FOUND, receiver_id="P-1")
    _consumer(outbox, NIN_BLOCKED, receiver_id="P-2")
    _consumer(outbox, NIN_UNKNOWN, receiver_id="P-3")
    channel = folder_channel(tmp_path)
    found = deliver_with_context(outbox, channel, consumer_delivery(channel, 1, "P-1"))
    blocked = deliver_with_context(outbox, channel, consumer_delivery(channel, 2, "P-2"))
    unknown = deliver_with_context(outbox, channel, consumer_delivery(channel, 3, "P-3"))
    assert isinstance(found, Sent), found
    [(header, _)] = written(tmp_path)
    assert header["scopes"][RECIPIENT_SCOPE] == "EF-777"
    assert isinstance(blocked, Failed) and not blocked.deviation
    assert isinstance(unknown, Failed) and not unknown.deviation
    assert f"national identity number {mask_national_id(NIN_BLOCKED)}" in blocked.reason
    text = (
        repr((found, blocked, unknown))
        + caplog.text
        + "".join(p.read_text() for p in tmp_path.rglob("*.xml"))
    )
    for number in (NIN_FOUND, NIN_BLOCKED, NIN_UNKNOWN):
        assert number not in text


def test_without_a_kid_it_is_a_deviation(tmp_path: Path, outbox: Engine) -> None:
    channel = folder_channel(tmp_path)
    delivery = outbound(channel, n=1)
    assert delivery.invoice is not None
    without_kid = delivery.invoice.model_copy(update={"payment_means": [PaymentMeans(code="30")]})
    result = deliver_with_context(outbox, channel, dataclasses.replace(delivery, invoice=without_kid))
    assert isinstance(result, Failed) and result.deviation, result
    assert "payment_means.payment_id" in result.reason


# -- AvtaleGiro ----------------------------------------------------------------------------------------------


def avtalegiro_invoice(n: int, due_in_days: int, today: dt.date) -> Invoice:
    data = sample_invoice_json(n)
    data["issue_date"] = today.isoformat()
    data["due_date"] = (today + dt.timedelta(days=due_in_days)).isoformat()
    data["payment_means"][0]["avtalegiro"] = True
    return Invoice.model_validate(data)


def test_the_avtalegiro_marker_rides_in_the_ehf_and_reads_back() -> None:
    invoice = avtalegiro_invoice(1, 14, dt.date(2026, 12, 7))
    document = render("ehf", invoice).content
    root = etree.fromstring(document)
    assert root.xpath("//cac:PaymentMeans/cbc:PaymentMeansCode/@name", namespaces=UBL) == ["AvtaleGiro"]
    assert root.xpath("//cac:PaymentMeans/cbc:PaymentID/text()", namespaces=UBL) == [invoice.kid]
    assert ubl.parse(document) == invoice  # the flag, not a text, comes back
    report = get_validator().validate(document)
    assert report.ok, [f.rule_id for f in report.blocking]
    with pytest.raises(ValueError, match="AvtaleGiro"):
        PaymentMeans(code="30", text="Bankgiro", avtalegiro=True)


@pytest.mark.parametrize(
    ("due_in_days", "sent"),
    [(3, False), (4, True), (365, True), (366, False)],
)
def test_avtalegiro_due_date_is_4_to_365_days_after_sending(
    tmp_path: Path, outbox: Engine, due_in_days: int, sent: bool
) -> None:
    channel = folder_channel(tmp_path)
    today = channel.today()
    invoice = avtalegiro_invoice(1, due_in_days, today)
    delivery = dataclasses.replace(outbound(channel, n=1), invoice=invoice, document=render("ehf", invoice))
    result = deliver_with_context(outbox, channel, delivery)
    if sent:
        assert isinstance(result, Sent), result
    else:
        assert isinstance(result, Failed) and result.deviation, result
        assert result.reason.startswith("cannot send as eFaktura: due_date:")
        assert ("at least 4" if due_in_days < 4 else "at most 365") in result.reason
        assert written(tmp_path) == []


# -- the registry import -------------------------------------------------------------------------------------


def test_the_registry_import_reads_the_csv_and_updates_on_a_second_file(tmp_path: Path) -> None:
    for engine in migrated(tmp_path):
        first = import_recipients(
            engine, "acme", (HEADER + f"{NIN_FOUND};;;;EF-1;found\n" + buyer_line(1, "not-found")).encode()
        )
        again = import_recipients(engine, "acme", (HEADER + f"{NIN_FOUND};;;;;blocked\n").encode())
        other_tenant = import_recipients(engine, "globex", (HEADER + f"{NIN_FOUND};;;;EF-9;found\n").encode())
        assert (first.added, first.updated, again.added, again.updated) == (2, 0, 0, 1)
        assert other_tenant.added == 1
        assert first.lines[0]["national_id"] == mask_national_id(NIN_FOUND)
        with session_scope(engine) as session:
            rows = (
                session.execute(select(EfakturaRecipient).order_by(col(EfakturaRecipient.id))).scalars().all()
            )
            found = [(r.tenant_id, r.national_id, r.status, r.efaktura_id) for r in rows]
        assert found[0] == ("acme", NIN_FOUND, "blocked", "EF-1")
        assert found[2] == ("globex", NIN_FOUND, "found", "EF-9")
        with pytest.raises(RecipientFileRefused) as refused:
            import_recipients(
                engine,
                "acme",
                (
                    HEADER + "12345678901;;;;EF-2;found\n;Kari;;;;found\n" + f"{NIN_UNKNOWN};;;;;maybe\n"
                ).encode(),
            )
        assert [e["field"] for e in refused.value.errors] == [
            "line 2: national_id",
            "line 3",
            "line 4: status",
        ]
        assert "12345678901" not in str(refused.value)
        with pytest.raises(FormatError, match="the header must be"):
            import_recipients(engine, "acme", b"fnr,name\n")


def test_the_cli_imports_and_lists_with_national_ids_masked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GATEWAY_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.sqlite3'}")
    monkeypatch.setenv("GATEWAY_DATA_DIR", str(tmp_path / "data"))
    for name in ("GATEWAY_TENANT", "GATEWAY_CHANNELS", "GATEWAY_CHANNELS_FILE"):
        monkeypatch.delenv(name, raising=False)
    answer = tmp_path / "recipients.csv"
    answer.write_text(HEADER + f"{NIN_FOUND};;;;EF-1;found\n{NIN_BLOCKED};;;;;blocked\n" + buyer_line(1))
    runner = CliRunner()
    imported = runner.invoke(cli_app, ["efaktura", "recipients", "import", str(answer), "--tenant", "acme"])
    listed = runner.invoke(cli_app, ["efaktura", "recipients", "list", "--tenant", "acme", "--json"])
    inspected = runner.invoke(cli_app, ["inspect", str(answer), "--json"])
    bad = tmp_path / "bad.csv"
    bad.write_text(HEADER + "12345678901;;;;;found\n")
    refused = runner.invoke(cli_app, ["efaktura", "recipients", "import", str(bad), "--tenant", "acme"])
    assert imported.exit_code == 0, imported.output
    assert "3 added, 0 updated for tenant acme" in imported.output
    assert str(mask_national_id(NIN_FOUND)) in imported.output
    items = json.loads(listed.output)["items"]
    assert [(i["national_id"], i["status"]) for i in items] == [
        (mask_national_id(NIN_FOUND), "found"), (mask_national_id(NIN_BLOCKED), "blocked"), (None, "found")
    ]  # fmt: skip
    assert json.loads(inspected.output)["format"] == "efaktura-recipients"
    assert refused.exit_code == 2 and "line 2: national_id" in refused.output
    for output in (imported.output, listed.output, inspected.output, refused.output):
        assert NIN_FOUND not in output and NIN_BLOCKED not in output and "12345678901" not in output


# -- the stand-in eFaktura provider (HTTP) -------------------------------------------------------------------


@dataclass
class Provider:
    """An eFaktura provider's API as far as the gateway can tell: a recipient search and an outbox."""

    url: str = ""
    #: ("nin", number) or ("addr", name, street, postal code) → the documented answer
    recipients: dict[tuple[str, ...], dict[str, Any]] = field(default_factory=dict)
    searches: list[dict[str, Any]] = field(default_factory=list)
    received: dict[str, bytes] = field(default_factory=dict)  # idempotency key → SBDH
    search_script: list[int] = field(default_factory=list)
    outbox_script: list[tuple[int, Any]] = field(default_factory=list)

    def reset(self) -> None:
        self.recipients.clear()
        self.searches.clear()
        self.received.clear()
        self.search_script.clear()
        self.outbox_script.clear()


def _documented_question(body: Any) -> tuple[str, ...] | str:
    """The question's key, or why it is not the README's shape."""
    if not isinstance(body, dict) or not isinstance(body.get("issuer"), str):
        return "issuer: required"
    if set(body) == {"issuer", "national_id"}:
        return (
            ("nin", str(body["national_id"])) if fodselsnummer.is_valid(str(body["national_id"])) else "nin"
        )
    address = body.get("address")
    if (
        set(body) == {"issuer", "name", "address"}
        and isinstance(address, dict)
        and set(address) == {"street", "postal_code"}
        and all(address.values())
        and body["name"]
    ):
        return ("addr", body["name"], address["street"], address["postal_code"])
    return "neither national_id nor name and address"


def provider_app(provider: Provider) -> FastAPI:
    app = FastAPI()

    @app.post("/recipients")
    async def search(request: Request) -> JSONResponse:
        if request.headers.get("authorization") != f"Bearer {TOKEN}":
            return JSONResponse({"error": "invalid token"}, status_code=401)
        if provider.search_script:
            return JSONResponse({"error": "busy"}, status_code=provider.search_script.pop(0))
        body = await request.json()
        provider.searches.append(body)
        key = _documented_question(body)
        if isinstance(key, str):
            return JSONResponse({"error": key}, status_code=400)
        return JSONResponse(provider.recipients.get(key, {"status": "not-found"}))

    @app.post("/outbox")
    async def outbox(request: Request) -> JSONResponse:
        if request.headers.get("authorization") != f"Bearer {TOKEN}":
            return JSONResponse({"error": "invalid token"}, status_code=401)
        if provider.outbox_script:
            status, body = provider.outbox_script.pop(0)
            return JSONResponse(body, status_code=status)
        data = await request.body()
        try:
            header, _ = unwrap_sbdh(data)
        except FormatError as error:
            return JSONResponse({"error": f"not an SBDH: {error}"}, status_code=400)
        if not header["scopes"].get(RECIPIENT_SCOPE):
            return JSONResponse({"error": "no eFaktura recipient"}, status_code=400)
        provider.received.setdefault(request.headers.get("idempotency-key", ""), data)
        return JSONResponse({"message_id": f"efk-{header['instance_id']}"}, status_code=202)

    return app


@pytest.fixture(scope="module")
def provider_server() -> Iterator[Provider]:
    provider = Provider()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(
            provider_app(provider), log_level="warning", lifespan="off", ws="none", access_log=False
        )
    )
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "the stand-in provider did not start"
        time.sleep(0.01)
    provider.url = f"http://127.0.0.1:{port}"
    yield provider
    server.should_exit = True
    thread.join(timeout=10)
    sock.close()


@pytest.fixture
def provider(provider_server: Provider) -> Iterator[Provider]:
    provider_server.reset()
    for n in (1, 2, 3):
        buyer = sample_invoice(n).buyer
        assert buyer.address is not None and buyer.address.postal_code is not None
        key = ("addr", buyer.name, buyer.address.lines[0], buyer.address.postal_code)
        provider_server.recipients[key] = {"status": "found", "efaktura_id": f"HTTP-{n}"}
    yield provider_server
    provider_server.reset()


def http_channel(provider: Provider, **overrides: Any) -> EfakturaChannel:
    settings: dict[str, Any] = {
        "provider_participant_id": PROVIDER,
        "transport": "http",
        "http": {"url": f"{provider.url}/outbox", "token": TOKEN},
        "lookup": {"url": f"{provider.url}/recipients", "token": TOKEN, "allowed_networks": ["127.0.0.0/8"]},
        "timeout_seconds": 5,
    }
    settings.update(overrides)
    channel = create_channel("efaktura", settings)
    assert isinstance(channel, EfakturaChannel)
    return channel


class TestEfakturaHttp(ChannelContract):
    @pytest.fixture
    def channel(self, provider: Provider, tmp_path: Path) -> Iterator[Channel[Any]]:
        self.provider = provider
        self.engines = migrated(tmp_path)
        self.outbox = next(self.engines)  # an empty registry: every answer comes from the search
        channel = http_channel(provider)
        yield channel
        channel.close()
        next(self.engines, None)

    def deliver(self, channel: Channel[Any], delivery: OutboundDelivery) -> DeliveryResult:
        return deliver_with_context(self.outbox, channel, delivery)

    def received(self, channel: Channel[Any], delivery: OutboundDelivery) -> int:
        bodies = self.provider.received.values()
        return sum(1 for body in bodies if unwrap_sbdh(body)[0]["instance_id"] == delivery.idempotency_key)

    def break_transiently(self, channel: Channel[Any], delivery: OutboundDelivery) -> None:
        self.provider.outbox_script.append((503, {"error": f"maintenance (token was {TOKEN})"}))

    def break_permanently(self, channel: Channel[Any], delivery: OutboundDelivery) -> None:
        for key in self.provider.recipients:
            self.provider.recipients[key] = {"status": "blocked"}


def test_the_http_search_is_asked_before_every_send_and_the_registry_follows(
    provider: Provider, outbox: Engine
) -> None:
    channel = http_channel(provider)
    first = deliver_with_context(outbox, channel, outbound(channel, n=1))
    assert isinstance(first, Sent) and first.message_id is not None and first.message_id.startswith("efk-")
    [(header, _)] = [unwrap_sbdh(body) for body in provider.received.values()]
    assert header["scopes"][RECIPIENT_SCOPE] == "HTTP-1"  # the search's answer, not the imported EFAKTURA-1
    buyer = sample_invoice(1).buyer
    assert provider.searches[0] == {
        "issuer": "987654325",
        "name": buyer.name,
        "address": {"street": buyer.address.lines[0], "postal_code": buyer.address.postal_code},  # type: ignore[union-attr]
    }
    for key in provider.recipients:  # consent withdrawn since: the next send asks again and stops
        provider.recipients[key] = {"status": "not-found"}
    second = deliver_with_context(outbox, channel, outbound(channel, n=1, attempt=2))
    assert isinstance(second, Failed) and not second.deviation, second
    assert len(provider.searches) == 2 and len(provider.received) == 1
    with session_scope(outbox) as session:
        statuses = {
            r.lookup_key: (r.status, r.source) for r in session.execute(select(EfakturaRecipient)).scalars()
        }
    assert ("not-found", "http") in statuses.values()
    provider.search_script.append(503)
    busy = deliver_with_context(outbox, channel, outbound(channel, n=2))
    assert isinstance(busy, Retry) and "503" in busy.reason, busy
    channel.close()


def test_the_http_search_by_national_id_speaks_the_documented_json(
    provider: Provider, outbox: Engine
) -> None:
    provider.recipients[("nin", NIN_FOUND)] = {"status": "found", "efaktura_id": "HTTP-NIN"}
    _consumer(outbox, NIN_FOUND)
    channel = http_channel(provider)
    result = deliver_with_context(outbox, channel, consumer_delivery(channel))
    channel.close()
    assert isinstance(result, Sent), result
    assert provider.searches == [{"issuer": "987654325", "national_id": NIN_FOUND}]
    [(header, _)] = [unwrap_sbdh(body) for body in provider.received.values()]
    assert header["scopes"][RECIPIENT_SCOPE] == "HTTP-NIN"
    assert NIN_FOUND not in repr(result)


def test_the_search_url_is_held_to_the_ssrf_policy(provider: Provider, outbox: Engine) -> None:
    channel = http_channel(
        provider, lookup={"url": f"{provider.url}/recipients", "token": TOKEN}
    )  # loopback, not allowed
    result = deliver_with_context(outbox, channel, outbound(channel, n=1))
    channel.close()
    assert isinstance(result, Failed) and result.deviation, result
    assert "recipient search URL refused" in result.reason and "loopback" in result.reason
    assert provider.searches == [] and provider.received == {}


def test_a_search_answer_of_another_shape_is_a_deviation(provider: Provider, outbox: Engine) -> None:
    buyer = sample_invoice(1).buyer
    assert buyer.address is not None and buyer.address.postal_code is not None
    provider.recipients[("addr", buyer.name, buyer.address.lines[0], buyer.address.postal_code)] = {
        "status": "found"
    }
    channel = http_channel(provider)
    result = deliver_with_context(outbox, channel, outbound(channel, n=1))
    channel.close()
    assert isinstance(result, Failed) and result.deviation and "efaktura_id" in result.reason, result


# -- through the worker: the EHF as it leaves, receipts back -------------------------------------------------


def efaktura_settings(settings: Settings, **extra: Any) -> Settings:
    channels = {
        "efaktura": {
            "provider_participant_id": PROVIDER,
            "receipts_directory": str(settings.data_dir / "efaktura-receipts"),
            **extra,
        }
    }
    return settings.model_copy(update={"channels": channels, "return_poll_channels": ["print", "efaktura"]})


def send_through_worker(engine: Engine, settings: Settings, numbers: tuple[int, ...]) -> list[str]:
    """Sample invoices to a consumer profile (eFaktura, then folder) whose buyers the registry knows."""
    with session_scope(engine) as session:
        ensure_tenant(session, "acme")
        put_receiver(
            session,
            "acme",
            ReceiverProfile(receiver_id="C-1", preferred_channel="efaktura", fallback_channels=["folder"]),
        )
    import_recipients(engine, "acme", (HEADER + "".join(buyer_line(n) for n in numbers)).encode())
    items = [IntakeItem(sample_invoice_json(n, receiver_id="C-1")) for n in numbers]
    results = accept_invoices(engine, "acme", items, actor="test", default_channel="folder")
    assert [r.outcome for r in results] == ["created"] * len(numbers), [r.errors for r in results]
    Worker(engine, settings, worker_id="w").run(once=True)
    return [r.invoice_id or "" for r in results]


def deliveries_of(engine: Engine, invoice_id: str) -> list[dict[str, Any]]:
    with session_scope(engine) as session:
        return list(service.invoice_view(session, "acme", invoice_id)["deliveries"])


def test_the_ehf_that_leaves_carries_the_kid_and_the_pdf_and_passes_the_official_rules(
    engine: Engine, settings: Settings
) -> None:
    settings = efaktura_settings(settings)
    [invoice_id] = send_through_worker(engine, settings, (1,))
    [delivery] = deliveries_of(engine, invoice_id)
    assert (delivery["channel"], delivery["status"]) == ("efaktura", "sent"), delivery
    [(header, document)] = written(settings.data_dir / "efaktura-outbound")
    assert header["instance_id"] == delivery["channel_message_id"]
    assert header["scopes"][RECIPIENT_SCOPE] == "EFAKTURA-1"
    root = etree.fromstring(document)
    assert root.xpath("//cac:PaymentMeans/cbc:PaymentID/text()", namespaces=UBL) == [sample_invoice(1).kid]
    [embedded] = root.findall(
        "cac:AdditionalDocumentReference/cac:Attachment/cbc:EmbeddedDocumentBinaryObject", namespaces=UBL
    )
    assert (
        embedded.get("mimeCode") == "application/pdf"
        and embedded.get("filename") == f"{sample_invoice(1).number}.pdf"
    )
    assert base64.b64decode(embedded.text or "").startswith(b"%PDF-")
    report = get_validator().validate(document)
    assert report.ok, [(f.rule_id, f.text) for f in report.blocking]


def _receipts_csv(*lines: str) -> bytes:
    return (
        "message_id;status;reason_code;reason;timestamp\n" + "".join(f"{line}\n" for line in lines)
    ).encode()


def test_receipts_through_the_api_door_deliver_reject_and_fall_back(
    engine: Engine, settings: Settings, client: TestClient, auth: dict[str, str]
) -> None:
    settings = efaktura_settings(settings)
    accepted_id, rejected_id, withdrawn_id = send_through_worker(engine, settings, (1, 2, 3))
    message = {
        i: deliveries_of(engine, i)[0]["channel_message_id"] for i in (accepted_id, rejected_id, withdrawn_id)
    }
    csv_file = _receipts_csv(
        f"{message[accepted_id]};accepted;;;2026-12-07T08:00:00Z",
        f"{message[rejected_id]};rejected;validation-error;BR-CO-15 totals;2026-12-07T08:00:00Z",
    )
    answer = client.post("/inbound?filename=receipts.csv", content=csv_file, headers=auth)
    assert answer.status_code == 201, answer.text
    assert answer.json()["format"] == "efaktura-receipt" and answer.json()["service"] == "efaktura-receipts"
    assert answer.json()["result"]["applied"] == 2
    again = client.post("/inbound", content=csv_file, headers=auth)
    assert again.status_code == 200 and again.json()["duplicate"] is True
    json_file = json.dumps(
        {
            "efaktura_receipts": [
                {
                    "message_id": message[withdrawn_id],
                    "status": "rejected",
                    "reason_code": "consent-withdrawn",
                    "timestamp": "2026-12-07T09:00:00+01:00",
                }
            ]
        }
    ).encode()
    withdrawn = client.post("/inbound", content=json_file, headers=auth)
    assert withdrawn.status_code == 201, withdrawn.text
    assert withdrawn.json()["result"]["fallbacks"]
    [accepted] = deliveries_of(engine, accepted_id)
    [rejected] = deliveries_of(engine, rejected_id)
    first, fallback = deliveries_of(engine, withdrawn_id)
    assert accepted["status"] == "delivered"
    assert rejected["status"] == "deviation" and "validation-error: BR-CO-15 totals" in rejected["last_error"]
    assert first["status"] == "deviation" and "consent-withdrawn" in first["last_error"]
    assert (fallback["channel"], fallback["status"]) == ("folder", "queued")
    with session_scope(engine) as session:
        row = session.execute(
            select(EfakturaRecipient).where(col(EfakturaRecipient.note).like("consent-withdrawn%"))
        ).scalar_one()
    assert (row.status, row.source) == ("not-found", "receipt")
    # the next send's lookup says so: the waterfall's next invoice to that consumer skips eFaktura
    Worker(engine, settings, worker_id="w").run(once=True)
    assert deliveries_of(engine, withdrawn_id)[1]["status"] == "delivered"
    refused = client.post("/inbound", content=_receipts_csv("x-1;lost;;;"), headers=auth)
    assert refused.status_code == 422 and "line 2: status" in refused.text


def test_receipts_through_the_door_and_the_provider_folder(engine: Engine, settings: Settings) -> None:
    settings = efaktura_settings(settings)
    first_id, second_id = send_through_worker(engine, settings, (1, 2))
    first_message = deliveries_of(engine, first_id)[0]["channel_message_id"]
    door = InboundDoor(engine, document_store(settings, engine), settings)
    receipt = receive_inbound(
        door, InboundFile(_receipts_csv(f"{first_message};accepted;;;"), "r.csv", None, "test", "cli")
    )
    assert receipt.service == "efaktura-receipts" and receipt.summary.applied
    assert deliveries_of(engine, first_id)[0]["status"] == "delivered"
    second_message = deliveries_of(engine, second_id)[0]["channel_message_id"]
    folder = settings.data_dir / "efaktura-receipts"
    folder.mkdir(parents=True)
    (folder / "blocked.csv").write_bytes(_receipts_csv(f"{second_message};rejected;blocked;;"))
    (folder / "broken.csv").write_bytes(b"message_id;status;reason_code;reason;timestamp\nonly;two\n")
    report = poll_efaktura_receipts(engine, folder, default_channel="folder")
    assert [f["file"] for f in report.files] == ["blocked.csv", "broken.csv"]
    assert report.files[1]["rejected"] and (folder / "done" / "blocked.csv").exists()
    first, fallback = deliveries_of(engine, second_id)
    assert first["status"] == "deviation" and fallback["channel"] == "folder"
    inspected = inspect_file(_receipts_csv(f"{second_message};rejected;blocked;;"))
    assert inspected["format"] == "efaktura-receipt" and inspected["by_outcome"] == {"rejected:blocked": 1}


def test_gateway_inspect_reads_a_receipt_file(tmp_path: Path) -> None:
    receipt = tmp_path / "receipts.json"
    receipt.write_text(
        json.dumps({"efaktura_receipts": [{"message_id": "d1-1", "status": "accepted", "timestamp": None}]})
    )
    shown = CliRunner().invoke(cli_app, ["inspect", str(receipt), "--json"])
    assert shown.exit_code == 0, shown.output
    data = json.loads(shown.output)
    assert data["format"] == "efaktura-receipt" and data["lines"][0]["message_id"] == "d1-1"


def test_an_active_avtalegiro_mandate_marks_the_efaktura_the_worker_sends(
    engine: Engine, settings: Settings
) -> None:
    """The ERP need not know the payer's mandates: when Nets' agreements file reported an active mandate for
    the invoice's KID, the EHF the worker renders for eFaktura carries the AvtaleGiro marker (and so follows
    AvtaleGiro's due-date rule); a deleted mandate, or none, leaves the invoice as the ERP sent it."""
    from netsgiro import AssignmentType, ServiceCode, Transmission
    from netsgiro.objects import Agreement

    from gateway.services.outbound.avtalegiro import import_mandates

    settings = efaktura_settings(settings)
    today = dt.datetime.now(ZoneInfo("Europe/Oslo")).date()
    payloads = []
    for n in (1, 2):
        data = sample_invoice_json(n, receiver_id="C-1")
        data["issue_date"] = today.isoformat()
        data["due_date"] = (today + dt.timedelta(days=14)).isoformat()
        payloads.append(data)
    kids = [Invoice.model_validate(data).kid or "" for data in payloads]
    transmission = Transmission(
        number="1091950", data_transmitter="00008080", data_recipient="00010200", date=dt.date(2026, 12, 1)
    )
    assignment = transmission.add_assignment(
        service_code=ServiceCode.AVTALEGIRO, assignment_type=AssignmentType.AVTALEGIRO_AGREEMENTS,
        number="4000086", account="88888888888",
    )  # fmt: skip
    for number, (kid, registration) in enumerate([(kids[0], 1), (kids[1], 2)], start=1):
        assignment.transactions.append(
            Agreement(service_code=ServiceCode.AVTALEGIRO, number=number, registration_type=registration,
                      kid=kid, notify=False)
        )  # fmt: skip
    with session_scope(engine) as session:
        ensure_tenant(session, "acme")
        put_receiver(
            session,
            "acme",
            ReceiverProfile(receiver_id="C-1", preferred_channel="efaktura", fallback_channels=["folder"]),
        )
        agreements = (transmission.to_ocr() + "\n").encode()
        import_mandates(session, "acme", agreements, source_file="agreements.txt")
    import_recipients(engine, "acme", (HEADER + buyer_line(1) + buyer_line(2)).encode())
    results = accept_invoices(
        engine, "acme", [IntakeItem(data) for data in payloads], actor="test", default_channel="folder"
    )
    assert [r.outcome for r in results] == ["created", "created"], [r.errors for r in results]
    Worker(engine, settings, worker_id="w").run(once=True)
    sent = {header["instance_id"]: etree.fromstring(document) for header, document in written(
        settings.data_dir / "efaktura-outbound"
    )}  # fmt: skip
    marked = {}
    for result in results:
        [delivery] = deliveries_of(engine, result.invoice_id or "")
        assert delivery["status"] == "sent", delivery
        root = sent[delivery["channel_message_id"]]
        marked[result.invoice_id] = root.xpath(
            "//cac:PaymentMeans/cbc:PaymentMeansCode/@name", namespaces=UBL
        ) == ["AvtaleGiro"]
    assert list(marked.values()) == [True, False]  # the first KID's mandate is active, the second's deleted
