"""The e-mail channel against real SMTP servers on loopback (aiosmtpd), with real TLS (a trustme CA).

Each server is an aiosmtpd `Controller` on a free 127.0.0.1 port whose handler records every envelope
(MAIL FROM and its options, RCPT TO and its options, the message bytes, whether TLS was on) and can be
told to refuse (550 / 451 at RCPT, 552 at DATA, 554 at MAIL), to stall, to want AUTH, to offer STARTTLS
or to speak implicit TLS. aiosmtpd does not implement DSN (RFC 3461), so `DsnSMTP` advertises it and
accepts its parameters when the handler says so; otherwise the server answers them with 555, as a server
without DSN does. Nothing leaves 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import email
import email.policy
import logging
import socket
import ssl
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from pydantic import ValidationError
from sqlalchemy import Engine

from channels import create_channel
from channels.base import Channel, Failed, OutboundDelivery, Retry, Sent
from channels.email import EmailChannel, fill_template, format_amount, xtext
from db.engine import session_scope
from gateway.samples import sample_invoice, sample_invoice_json
from gateway.services.outbound import deliveries as service
from gateway.services.outbound.intake import IntakeItem, accept_invoices
from gateway.services.tenancy.tenants import ensure_tenant, put_receiver
from gateway.settings import Settings
from gateway.worker import Worker
from mappings import FORMATS, FormatEntry, render
from mappings.base import RenderedDocument
from schemas.canonical import Invoice, ReceiverProfile
from tests.channels.contract import ChannelContract, outbound

USERNAME = "erp"
PASSWORD = "smtp-pass-9c1e7b3a5d"  # the test relay's password: must never show in a result or our logs
RECEIVER = "kunde@ok.test"
DSN_PARAMETERS = ("RET", "ENVID", "NOTIFY", "ORCPT")


def render_test_pdf(invoice: Invoice) -> RenderedDocument:
    """A stand-in for the "pdf" renderer while `mappings/pdf.py` is not registered."""
    return RenderedDocument(
        format="pdf",
        content=b"%PDF-1.4 test " + invoice.number.encode() + b"\n%%EOF\n",
        media_type="application/pdf",
        extension="pdf",
    )


@pytest.fixture(autouse=True)
def pdf_format(monkeypatch: pytest.MonkeyPatch) -> None:
    """Use the real "pdf" renderer when it is registered; until then, a few PDF-looking bytes."""
    if "pdf" not in FORMATS or FORMATS["pdf"].render is None:
        entry = FormatEntry(kind="invoice", description="", render=f"{__name__}:render_test_pdf")
        monkeypatch.setitem(FORMATS, "pdf", entry)


# -- the stand-in SMTP servers -------------------------------------------------------------------------


@dataclass
class Received:
    mail_from: str
    mail_options: list[str]
    rcpt_tos: list[str]
    rcpt_options: list[str]
    data: bytes
    tls: bool

    @property
    def message(self) -> EmailMessage:
        parsed = email.message_from_bytes(self.data, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        return parsed


@dataclass
class Recorder:
    """The aiosmtpd handler: records what arrives, answers as scripted."""

    messages: list[Received] = field(default_factory=list)
    advertise_dsn: bool = True
    mail_reply: str | None = None
    rcpt_reply: str | None = None
    data_reply: str | None = None
    stall_seconds: float = 0.0
    logins: list[tuple[str, bool]] = field(default_factory=list)

    async def handle_EHLO(
        self, server: SMTP, session: Session, envelope: Envelope, hostname: str, responses: list[str]
    ) -> list[str]:
        session.host_name = hostname
        if self.advertise_dsn:
            responses.insert(-1, "250-DSN")
        return responses

    async def handle_MAIL(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if self.mail_reply:
            return self.mail_reply
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 2.1.0 Ok"

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if self.stall_seconds:
            await asyncio.sleep(self.stall_seconds)
        if self.rcpt_reply:
            return self.rcpt_reply
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(options)
        return "250 2.1.5 Ok"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self.data_reply:
            return self.data_reply
        content = envelope.original_content or b""
        self.messages.append(
            Received(
                mail_from=envelope.mail_from or "",
                mail_options=list(envelope.mail_options),
                rcpt_tos=list(envelope.rcpt_tos),
                rcpt_options=list(envelope.rcpt_options),
                data=content,
                # STARTTLS sets session.ssl; implicit TLS shows only on the transport
                tls=session.ssl is not None or server.transport.get_extra_info("ssl_object") is not None,
            )
        )
        return f"250 2.0.0 Ok: queued as Q{len(self.messages):04d}"

    def authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
    ) -> AuthResult:
        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login == USERNAME.encode()
            and auth_data.password == PASSWORD.encode()
        )
        self.logins.append((mechanism, ok))
        return AuthResult(success=ok, handled=False)


class DsnSMTP(SMTP):
    """aiosmtpd's SMTP, taking the DSN parameters (RFC 3461) when its handler advertises DSN."""

    def _getparams(self, params: Any) -> Any:
        result = super()._getparams(params)
        if result is not None and getattr(self.event_handler, "advertise_dsn", False):
            for name in DSN_PARAMETERS:
                result.pop(name, None)
        return result


class DsnController(Controller):
    def factory(self) -> SMTP:
        return DsnSMTP(self.handler, **self.SMTP_kwargs)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Server:
    recorder: Recorder
    port: int


@dataclass
class Tls:
    ca_file: Path
    server_context: ssl.SSLContext


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> Tls:
    """A private CA and a server certificate for localhost / 127.0.0.1."""
    ca = trustme.CA()
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("localhost", "127.0.0.1").configure_cert(server_context)
    ca_file = tmp_path_factory.mktemp("ca") / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    return Tls(ca_file=ca_file, server_context=server_context)


@pytest.fixture
def start_server() -> Iterator[Callable[..., Server]]:
    """Start an SMTP server: `start_server()` plain; `tls=ctx` implicit TLS; other kwargs go to SMTP."""
    controllers: list[Controller] = []

    def start(*, implicit_tls: ssl.SSLContext | None = None, **smtp: Any) -> Server:
        recorder = Recorder()
        if smtp.pop("auth", False):
            smtp["authenticator"] = recorder.authenticate
        port = free_port()
        controller = DsnController(
            recorder,
            hostname="127.0.0.1",
            port=port,
            ssl_context=implicit_tls,
            server_hostname="mx.ok.test",
            **smtp,
        )
        controller.start()
        controllers.append(controller)
        return Server(recorder, port)

    yield start
    for controller in controllers:
        controller.stop()


def settings_for(server: Server | int, **overrides: Any) -> dict[str, Any]:
    port = server if isinstance(server, int) else server.port
    return {
        "host": "127.0.0.1",
        "port": port,
        "security": "none",
        "from_address": "faktura@acme.test",
        "from_name": "Faktura ACME AS",
        "reply_to": "regnskap@acme.test",
        "bounce_domain": "hub.test",
        "local_hostname": "erp.hub.test",
        "timeout_seconds": 5,
        **overrides,
    }


def email_channel(settings: dict[str, Any]) -> EmailChannel:
    channel = create_channel("email", settings)
    assert isinstance(channel, EmailChannel)
    return channel


def with_ehf(delivery: OutboundDelivery) -> OutboundDelivery:
    """The delivery as the worker hands it over: the EHF rendered beside the PDF."""
    return dataclasses.replace(delivery, attachments=(render("ehf", delivery.invoice),))


# -- the contract every channel keeps -------------------------------------------------------------------


class TestEmailContract(ChannelContract):
    """The contract over STARTTLS with AUTH, verified against the test CA.

    A repeated try is "not a second copy" only as far as SMTP allows. SMTP has no idempotency: the message
    is the relay's once it answers 250 to the final dot, and if the connection drops after the dot but
    before that reply reaches us (RFC 1047's duplicate-message window) we cannot know whether it took it.
    The only safe reading is to try again, and the receiver may then hold two copies. What the channel
    guarantees is that both are the *same* message: the same `Message-ID` (`<delivery>-<attempt>@…`), the
    same `ENVID`, the same headers, so mail clients, archives and the bounce intake recognise the repeat.
    So "received" here counts the distinct Message-IDs of one delivery attempt, not the copies.
    """

    @pytest.fixture
    def channel(self, start_server: Callable[..., Server], tls: Tls) -> Channel[Any]:
        self.server = start_server(
            tls_context=tls.server_context, require_starttls=True, auth=True, auth_require_tls=True
        )
        return create_channel(
            "email",
            settings_for(
                self.server,
                host="localhost",
                security="starttls",
                ca_file=str(tls.ca_file),
                username=USERNAME,
                password=PASSWORD,
            ),
        )

    def address(self) -> str | None:
        return RECEIVER

    def received(self, channel: Channel[Any], delivery: OutboundDelivery) -> int:
        return len(
            {
                str(item.message["Message-ID"])
                for item in self.server.recorder.messages
                if item.message["X-Delivery-Id"] == delivery.delivery_id
                and item.message["X-Delivery-Attempt"] == str(delivery.attempt)
            }
        )

    def break_transiently(self, channel: Channel[Any], delivery: OutboundDelivery) -> None:
        self.server.recorder.rcpt_reply = "451 4.3.0 <kunde@ok.test>: Temporary lookup failure"

    def break_permanently(self, channel: Channel[Any], delivery: OutboundDelivery) -> None:
        self.server.recorder.rcpt_reply = "550 5.1.1 <kunde@ok.test>: Recipient address rejected"

    def test_repeated_try_is_the_same_message(self, channel: Channel[Any]) -> None:
        delivery = outbound(channel, address=RECEIVER)
        first, second = channel.deliver(delivery), channel.deliver(delivery)
        assert isinstance(first, Sent) and isinstance(second, Sent)
        assert first.message_id == second.message_id == f"<{delivery.idempotency_key}@hub.test>"
        copies = [item.message for item in self.server.recorder.messages]
        assert len(copies) == 2  # SMTP cannot prevent the second copy …
        assert {str(m["Message-ID"]) for m in copies} == {first.message_id}  # … only make it recognisable
        assert all(item.tls for item in self.server.recorder.messages)
        assert self.server.recorder.logins[0] == ("PLAIN", True)


# -- the message -------------------------------------------------------------------------------------------


def test_message_structure_and_envelope(start_server: Callable[..., Server]) -> None:
    server = start_server()
    channel = email_channel(settings_for(server))
    delivery = with_ehf(outbound(channel, n=1, address=RECEIVER))
    result = channel.deliver(delivery)
    assert isinstance(result, Sent), result
    assert result.message_id == f"<{delivery.delivery_id}-1@hub.test>"
    assert result.detail and "Q0001" in result.detail

    [received] = server.recorder.messages
    assert received.mail_from == f"bounces+{delivery.delivery_id}@hub.test"
    assert received.rcpt_tos == [RECEIVER]
    message = received.message
    invoice = delivery.invoice
    assert message["From"] == "Faktura ACME AS <faktura@acme.test>"
    assert message["To"] == RECEIVER
    assert message["Reply-To"] == "regnskap@acme.test"
    assert message["Subject"] == f"Faktura {invoice.number} fra {invoice.seller.name}"
    assert message["Message-ID"] == result.message_id
    assert message["Date"] is not None
    assert message["X-Invoice-Number"] == invoice.number
    assert message["X-Delivery-Id"] == delivery.delivery_id
    assert message.get_content_type() == "multipart/mixed"

    body = message.get_body(preferencelist=("plain",))
    assert body is not None
    text = body.get_content()
    assert format_amount(invoice.totals.payable, "NOK") in text
    assert invoice.due_date is not None and invoice.due_date.strftime("%d.%m.%Y") in text
    assert invoice.kid and f"KID: {invoice.kid}" in text
    assert "Kontonummer: 86011117947" in text
    html_body = message.get_body(preferencelist=("html",))
    assert html_body is not None and f"KID: {invoice.kid}" in html_body.get_content()

    attachments = {part.get_filename(): part for part in message.iter_attachments()}
    assert set(attachments) == {f"{invoice.number}.pdf", f"{invoice.number}.xml"}
    pdf, xml = attachments[f"{invoice.number}.pdf"], attachments[f"{invoice.number}.xml"]
    assert pdf.get_content_type() == "application/pdf"
    assert pdf.get_content() == delivery.document.content
    assert xml.get_content_type() == "application/xml"
    assert xml.get_content() == delivery.attachments[0].content


def test_credit_note_subject_and_body_leave_out_what_it_lacks(start_server: Callable[..., Server]) -> None:
    server = start_server()
    channel = email_channel(settings_for(server))
    invoice = sample_invoice(2, credit_note=True)
    delivery = dataclasses.replace(
        outbound(channel, n=2, address=RECEIVER), invoice=invoice, document=render("pdf", invoice)
    )
    assert isinstance(channel.deliver(delivery), Sent)
    message = server.recorder.messages[0].message
    assert message["Subject"] == f"Kreditnota {invoice.number} fra {invoice.seller.name}"
    body = message.get_body(preferencelist=("plain",))
    assert body is not None
    text = body.get_content()
    assert "kreditnota" in text and "KID" not in text and "Forfallsdato" not in text


def test_templates_are_checked_and_lines_without_values_dropped() -> None:
    with pytest.raises(ValidationError, match=r"unknown placeholder\(s\) \{amout\}"):
        EmailChannel.config_model.model_validate(
            settings_for(25, subject_invoice="Faktura {number} på {amout}")
        )
    assert fill_template("A {number}\nKID: {kid}\nslutt", {"number": "1", "kid": ""}) == "A 1\nslutt\n"
    assert format_amount(sample_invoice(1).totals.payable.__class__("12345.5"), "NOK") == "12 345,50"
    assert xtext("d1-2") == "d1-2" and xtext("a+b=c d") == "a+2Bb+3Dc+20d"


def test_attachment_formats_follow_the_config() -> None:
    assert email_channel(settings_for(25)).attachment_formats() == ("ehf",)
    assert email_channel(settings_for(25, attach_ehf=False)).attachment_formats() == ()


def test_a_password_in_clear_is_refused_by_the_config() -> None:
    with pytest.raises(ValidationError, match="in clear"):
        EmailChannel.config_model.model_validate(settings_for(25, username=USERNAME, password=PASSWORD))


# -- DSN -------------------------------------------------------------------------------------------------


def test_dsn_options_when_the_server_offers_dsn(start_server: Callable[..., Server]) -> None:
    server = start_server()
    channel = email_channel(settings_for(server))
    delivery = outbound(channel, n=3, attempt=2, address=RECEIVER)
    result = channel.deliver(delivery)
    assert isinstance(result, Sent), result
    [received] = server.recorder.messages
    # aiosmtpd upper-cases the parameters it records; the values themselves went as sent.
    assert "RET=HDRS" in received.mail_options
    assert f"ENVID={delivery.delivery_id}-2".upper() in received.mail_options
    assert received.rcpt_options == ["NOTIFY=SUCCESS,FAILURE,DELAY", f"ORCPT=RFC822;{RECEIVER.upper()}"]
    assert "no DSN" not in (result.detail or "")


def test_no_dsn_options_when_the_server_does_not_offer_dsn(start_server: Callable[..., Server]) -> None:
    server = start_server()
    server.recorder.advertise_dsn = False  # and it answers 555 to DSN parameters, like a real one
    channel = email_channel(settings_for(server))
    result = channel.deliver(outbound(channel, address=RECEIVER))
    assert isinstance(result, Sent), result
    [received] = server.recorder.messages
    assert not any(option.split("=")[0] in DSN_PARAMETERS for option in received.mail_options)
    assert received.rcpt_options == []
    assert "server offers no DSN" in (result.detail or "")


def test_dsn_can_be_switched_off(start_server: Callable[..., Server]) -> None:
    server = start_server()
    channel = email_channel(settings_for(server, dsn=False))
    assert isinstance(channel.deliver(outbound(channel, address=RECEIVER)), Sent)
    assert server.recorder.messages[0].rcpt_options == []


# -- refusals and failures --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("stage", "reply", "expected"),
    [
        ("rcpt_reply", "550 5.1.1 <kunde@ok.test>: Recipient address rejected: User unknown", Failed),
        ("data_reply", "552 5.2.2 Mailbox full", Failed),
        ("mail_reply", "554 5.7.1 Sender rejected", Failed),
        ("rcpt_reply", "451 4.3.0 Temporary lookup failure", Retry),
        ("data_reply", "452 4.3.1 Insufficient system storage", Retry),
    ],
)
def test_smtp_replies(
    start_server: Callable[..., Server], stage: str, reply: str, expected: type[Failed | Retry]
) -> None:
    server = start_server()
    setattr(server.recorder, stage, reply)
    channel = email_channel(settings_for(server))
    result = channel.deliver(outbound(channel, address=RECEIVER))
    assert isinstance(result, expected), result
    reason = result.reason
    code, _, text = reply.partition(" ")
    assert code in reason and text in reason
    assert {"mail_reply": "MAIL FROM", "rcpt_reply": "RCPT TO", "data_reply": "DATA"}[stage] in reason
    if isinstance(result, Failed):
        assert result.deviation
    assert server.recorder.messages == []


def test_send_from_inside_an_event_loop(start_server: Callable[..., Server]) -> None:
    """`send` runs its own loop; called where one already runs (an async caller), it uses a thread."""
    server = start_server()
    channel = email_channel(settings_for(server))

    async def caller() -> object:
        return channel.deliver(outbound(channel, address=RECEIVER))

    assert isinstance(asyncio.run(caller()), Sent)
    assert len(server.recorder.messages) == 1


def test_invalid_address_fails_before_connecting() -> None:
    channel = email_channel(settings_for(free_port()))  # nothing listens: a connection would be a Retry
    for address in ("kunde@", "kunde ok.test", "a@b@c.test", "kunde@ok.test\r\nBcc: x@evil.test"):
        result = channel.deliver(outbound(channel, address=address))
        assert isinstance(result, Failed) and result.deviation, (address, result)
        assert "not an e-mail address" in result.reason


def test_connection_refused_is_a_retry() -> None:
    channel = email_channel(settings_for(free_port()))
    result = channel.deliver(outbound(channel, address=RECEIVER))
    assert isinstance(result, Retry) and "unreachable" in result.reason, result


def test_a_stalled_server_is_a_retry(start_server: Callable[..., Server]) -> None:
    server = start_server()
    server.recorder.stall_seconds = 3
    channel = email_channel(settings_for(server, timeout_seconds=0.3))
    result = channel.deliver(outbound(channel, address=RECEIVER))
    assert isinstance(result, Retry) and "did not answer within 0.3s" in result.reason, result


# -- TLS ---------------------------------------------------------------------------------------------------


def test_implicit_tls_verified_against_the_ca(start_server: Callable[..., Server], tls: Tls) -> None:
    server = start_server(implicit_tls=tls.server_context)
    channel = email_channel(settings_for(server, host="localhost", security="tls", ca_file=str(tls.ca_file)))
    assert isinstance(channel.deliver(outbound(channel, address=RECEIVER)), Sent)
    assert server.recorder.messages[0].tls


def test_starttls_without_auth(start_server: Callable[..., Server], tls: Tls) -> None:
    server = start_server(tls_context=tls.server_context, require_starttls=True)
    channel = email_channel(settings_for(server, security="starttls", ca_file=str(tls.ca_file)))
    assert isinstance(channel.deliver(outbound(channel, address=RECEIVER)), Sent)
    assert server.recorder.messages[0].tls


@pytest.mark.parametrize("security", ["starttls", "tls"])
def test_an_unverifiable_certificate_is_a_retry(
    start_server: Callable[..., Server], tls: Tls, security: str
) -> None:
    if security == "tls":
        server = start_server(implicit_tls=tls.server_context)
    else:
        server = start_server(tls_context=tls.server_context, require_starttls=True)
    channel = email_channel(settings_for(server, security=security))  # system CAs do not know ours
    result = channel.deliver(outbound(channel, address=RECEIVER))
    assert isinstance(result, Retry), result
    assert "TLS with" in result.reason and "CERTIFICATE_VERIFY_FAILED" in result.reason
    assert server.recorder.messages == []
    unverified = email_channel(settings_for(server, security=security, verify=False))
    assert isinstance(unverified.deliver(outbound(unverified, address=RECEIVER)), Sent)


def test_starttls_required_but_not_offered_is_a_deviation(start_server: Callable[..., Server]) -> None:
    server = start_server()
    channel = email_channel(settings_for(server, security="starttls"))
    result = channel.deliver(outbound(channel, address=RECEIVER))
    assert isinstance(result, Failed) and result.deviation, result
    assert "STARTTLS" in result.reason and "security settings" in result.reason
    assert server.recorder.messages == []


# -- AUTH --------------------------------------------------------------------------------------------------


def test_wrong_password_is_a_deviation_and_never_shows(
    start_server: Callable[..., Server], tls: Tls, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    server = start_server(tls_context=tls.server_context, require_starttls=True, auth=True)
    wrong = PASSWORD[::-1]
    channel = email_channel(
        settings_for(server, security="starttls", ca_file=str(tls.ca_file), username=USERNAME, password=wrong)
    )
    result = channel.deliver(outbound(channel, address=RECEIVER))
    assert isinstance(result, Failed) and result.deviation, result
    assert "535" in result.reason and "username and password" in result.reason
    assert server.recorder.logins and not any(ok for _, ok in server.recorder.logins)
    assert server.recorder.messages == []
    over_the_wire = [
        base64.b64encode(f"\0{USERNAME}\0{wrong}".encode()).decode(),
        base64.b64encode(wrong.encode()).decode(),
    ]
    assert set(over_the_wire) <= set(channel._secrets)
    assert wrong not in repr(result) + repr(channel.config) + caplog.text
    ours = "\n".join(r.getMessage() for r in caplog.records if not r.name.startswith("mail.log"))
    assert "email:" in ours  # the channel did log the refusal …
    for secret in channel._secrets:
        assert secret not in ours  # … and no form of the password with it


def test_auth_over_implicit_tls(start_server: Callable[..., Server], tls: Tls) -> None:
    # aiosmtpd counts only STARTTLS as TLS for AUTH; the connection here is TLS from the first byte.
    server = start_server(implicit_tls=tls.server_context, auth=True, auth_require_tls=False)
    channel = email_channel(
        settings_for(server, security="tls", ca_file=str(tls.ca_file), username=USERNAME, password=PASSWORD)
    )
    assert isinstance(channel.deliver(outbound(channel, address=RECEIVER)), Sent)
    assert server.recorder.logins == [("PLAIN", True)]


# -- through the worker ------------------------------------------------------------------------------------


def _accept_for_receiver(engine: Engine, settings: Settings, server: Server) -> str:
    settings.channels = {"email": settings_for(server)}
    with session_scope(engine) as session:
        ensure_tenant(session, "acme")
        put_receiver(
            session,
            "acme",
            ReceiverProfile(
                receiver_id="C-1",
                preferred_channel="email",
                fallback_channels=["folder"],
                addresses={"email": RECEIVER},
            ),
        )
    [result] = accept_invoices(
        engine,
        "acme",
        [IntakeItem(sample_invoice_json(1, receiver_id="C-1"))],
        actor="test",
        default_channel="folder",
    )
    assert result.outcome == "created", result.errors
    assert result.invoice_id
    return result.invoice_id


def _deliveries(engine: Engine, invoice_id: str) -> list[dict[str, Any]]:
    with session_scope(engine) as session:
        deliveries: list[dict[str, Any]] = service.invoice_view(session, "acme", invoice_id)["deliveries"]
        return deliveries


def test_worker_sends_by_email(
    engine: Engine, settings: Settings, start_server: Callable[..., Server]
) -> None:
    server = start_server()
    invoice_id = _accept_for_receiver(engine, settings, server)
    assert Worker(engine, settings, worker_id="w").run(once=True).outcomes == {"sent": 1}
    [delivery] = _deliveries(engine, invoice_id)
    assert delivery["status"] == "sent"
    assert delivery["channel_message_id"] == f"<{delivery['id']}-1@hub.test>"
    sending = next(event for event in delivery["events"] if event["to"] == "sending")
    assert sending["details"]["attachments"] == ["ehf"]
    [received] = server.recorder.messages
    assert received.mail_from == f"bounces+{delivery['id']}@hub.test"
    message = received.message
    assert message["Message-ID"] == delivery["channel_message_id"]
    assert message["X-Delivery-Id"] == delivery["id"]
    assert sorted(part.get_filename() or "" for part in message.iter_attachments()) == [
        "INV-000001.pdf",
        "INV-000001.xml",
    ]


def test_worker_refused_recipient_is_a_deviation_and_folder_takes_over(
    engine: Engine, settings: Settings, start_server: Callable[..., Server]
) -> None:
    server = start_server()
    server.recorder.rcpt_reply = "550 5.1.1 <kunde@ok.test>: Recipient address rejected: User unknown"
    invoice_id = _accept_for_receiver(engine, settings, server)
    Worker(engine, settings, worker_id="w").run(once=True)
    first, second = _deliveries(engine, invoice_id)
    assert (first["channel"], first["status"]) == ("email", "deviation")
    assert "550 5.1.1" in first["last_error"] and "RCPT TO" in first["last_error"]
    assert (second["channel"], second["status"]) == ("folder", "delivered")
    assert "fallback: email ended deviation" in second["events"][0]["reason"]


def test_worker_sends_factur_x_when_the_receiver_wants_it(
    engine: Engine, settings: Settings, start_server: Callable[..., Server]
) -> None:
    """A French or German receiver: its profile names `factur-x` for e-mail, so the PDF attachment carries the
    CII (EN 16931) inside as PDF/A-3, validated before it leaves, and still passes the printability check."""
    import facturx

    from mappings.invoice import cii
    from mappings.print.printability import check_printable

    server = start_server()
    invoice_id = _accept_for_receiver(engine, settings, server)
    with session_scope(engine) as session:
        put_receiver(
            session,
            "acme",
            ReceiverProfile(
                receiver_id="C-1",
                preferred_channel="email",
                addresses={"email": RECEIVER},
                formats={"email": "factur-x"},
            ),
        )
    invoice_id = _accept_factur_x(engine)
    assert Worker(engine, settings, worker_id="w").run(once=True).outcomes == {"sent": 2}
    [delivery] = _deliveries(engine, invoice_id)
    sending = next(event for event in delivery["events"] if event["to"] == "sending")
    assert sending["details"]["validation"]["format"] in {"factur-x", "ehf"}
    messages = [r.message for r in server.recorder.messages]
    [received] = [m for m in messages if m["X-Invoice-Number"] == "INV-000002"]
    [pdf] = [part for part in received.iter_attachments() if part.get_filename() == "INV-000002.pdf"]
    content = pdf.get_payload(decode=True)
    assert isinstance(content, bytes)
    name, xml = facturx.get_facturx_xml_from_pdf(content)
    assert name == "factur-x.xml"
    assert xml == cii.render(sample_invoice(2, receiver_id="C-1")).content
    assert check_printable(content) == []


def _accept_factur_x(engine: Engine) -> str:
    [result] = accept_invoices(
        engine,
        "acme",
        [IntakeItem(sample_invoice_json(2, receiver_id="C-1"))],
        actor="test",
        default_channel="folder",
    )
    assert result.outcome == "created" and result.invoice_id, result.errors
    return result.invoice_id


# -- the customer portal's "view online / pay" link (issue 21) ----------------------------------------------

PORTAL_LINK = (
    "https://portal.acme.test/portal/i/eyJ0IjoiYWNtZSIsImkiOiJpMDAwMDEifQ.Vv0dWm2qkPq3L6hXQ2aJ0_xj-1Zs"
)


def _sent_bodies(server: Server, channel: EmailChannel, delivery: OutboundDelivery) -> tuple[str, str]:
    """Send `delivery`; the plain and HTML bodies of the message the server took."""
    assert isinstance(channel.deliver(delivery), Sent)
    message = server.recorder.messages[-1].message
    plain, rich = message.get_body(preferencelist=("plain",)), message.get_body(preferencelist=("html",))
    assert plain is not None and rich is not None
    return plain.get_content().replace("\r\n", "\n"), rich.get_content().replace("\r\n", "\n")


def test_the_body_carries_the_portal_link_in_the_tenants_language(
    start_server: Callable[..., Server],
) -> None:
    from schemas.branding import PdfTemplate
    from schemas.tenant import TenantSettings

    server = start_server()
    channel = email_channel(settings_for(server))
    delivery = dataclasses.replace(outbound(channel, address=RECEIVER), portal_link=PORTAL_LINK)
    text, page = _sent_bodies(server, channel, delivery)
    assert f"Se fakturaen på nett og betal: {PORTAL_LINK}\n" in text
    # right under the attachment sentence, before the greeting
    assert text.index(PORTAL_LINK) < text.index("Med vennlig hilsen")
    assert f'<a href="{PORTAL_LINK}">{PORTAL_LINK}</a>' in page

    english = TenantSettings(pdf_template=PdfTemplate(language="en"))
    delivery = dataclasses.replace(delivery, tenant_settings=english)
    text, _ = _sent_bodies(server, channel, delivery)
    assert f"View the invoice online and pay: {PORTAL_LINK}" in text

    credit = sample_invoice(2, credit_note=True)
    delivery = dataclasses.replace(delivery, invoice=credit, tenant_settings=None)
    text, _ = _sent_bodies(server, channel, delivery)
    assert f"Se kreditnotaen på nett: {PORTAL_LINK}" in text


def test_without_a_portal_link_the_body_is_as_before(start_server: Callable[..., Server]) -> None:
    server = start_server()
    channel = email_channel(settings_for(server))
    text, page = _sent_bodies(server, channel, outbound(channel, address=RECEIVER))
    assert "på nett" not in text and "portal" not in text and "<a " not in page
    assert "regnskapssystemet.\n\nMed vennlig hilsen" in text  # no empty line left where the link goes


def test_a_custom_body_places_the_link_or_gets_it_appended(start_server: Callable[..., Server]) -> None:
    server = start_server()
    placed = email_channel(
        settings_for(server, body_invoice="Faktura {number}\nBetal her: {portal_link}\nHilsen")
    )
    delivery = dataclasses.replace(outbound(placed, address=RECEIVER), portal_link=PORTAL_LINK)
    text, page = _sent_bodies(server, placed, delivery)
    assert text.splitlines()[1] == f"Betal her: {PORTAL_LINK}" and text.count(PORTAL_LINK) == 1
    assert f'Betal her: <a href="{PORTAL_LINK}">' in page
    # a body of its own that does not say the link: the line comes after it
    own = email_channel(settings_for(server, body_invoice="Faktura {number}\nHilsen"))
    text, _ = _sent_bodies(server, own, delivery)
    assert text.endswith(f"Hilsen\n\nSe fakturaen på nett og betal: {PORTAL_LINK}\n")
    # and without a link the placeholder's line is left out
    text, _ = _sent_bodies(server, placed, dataclasses.replace(delivery, portal_link=None))
    assert "Betal her" not in text
