"""Webhooks over HTTPS to a real TLS receiver on loopback (a `trustme` CA, `http.server` wrapped in `ssl`).

The pinned transport (`net_policy.PinnedTransport`) connects to the address it checked, not to the name.
These tests show the name is still what TLS is about: it goes out as the server name (SNI) and in `Host`,
the certificate is verified against it — a certificate for another name, even from a trusted CA, fails
the send — and the operator's CA (`GATEWAY_WEBHOOK_CA_BUNDLE`) is trusted besides the default store.
One server serves the module; which certificate it presents is switched per test in its SNI callback.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import trustme
from fastapi.testclient import TestClient
from pydantic import ValidationError
from sqlalchemy import Engine

from db.engine import session_scope
from db.models import WebhookEvent, utcnow
from gateway.services import net_policy
from gateway.services.tenancy import webhooks
from gateway.services.tenancy.tenants import ensure_tenant
from gateway.settings import Settings
from gateway.worker import Worker

NAME = "hooks.partner.test"
OTHER = "other.partner.test"
SECRET = "whsec_tls_0123456789abcdef"


@dataclass
class TlsReceiver:
    """The loopback ERP: what each connection asked for as server name, what each request carried."""

    port: int
    ca_bundle: Path
    present: str = NAME  # the name of the certificate the server shows
    server_names: list[str | None] = field(default_factory=list)
    requests: list[dict[str, str]] = field(default_factory=list)

    def url(self, host: str = NAME) -> str:
        return f"https://{host}:{self.port}/hooks"


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TlsReceiver]:
    ca = trustme.CA()
    ca_bundle = tmp_path_factory.mktemp("tls") / "partner-ca.pem"
    ca.cert_pem.write_to_path(str(ca_bundle))
    contexts: dict[str, ssl.SSLContext] = {}
    for name in (NAME, OTHER):
        contexts[name] = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ca.issue_cert(name).configure_cert(contexts[name])

    def on_server_name(
        connection: ssl.SSLObject | ssl.SSLSocket, name: str | None, _: ssl.SSLContext
    ) -> None:
        state.server_names.append(name)
        connection.context = contexts[state.present]

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", "0")))
            state.requests.append(dict(self.headers.items()))
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *_: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state = TlsReceiver(port=server.server_address[1], ca_bundle=ca_bundle)
    contexts[NAME].sni_callback = on_server_name
    server.socket = contexts[NAME].wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest.fixture
def receiver(tls_server: TlsReceiver) -> TlsReceiver:
    """The module's server, reset: its own certificate, nothing seen yet."""
    tls_server.present = NAME
    tls_server.server_names.clear()
    tls_server.requests.clear()
    return tls_server


@pytest.fixture
def settings(settings: Settings, tls_server: TlsReceiver) -> Settings:
    """Loopback allowed to webhooks (`GATEWAY_WEBHOOK_ALLOWED_NETWORKS=127.0.0.0/8`: names are still
    resolved and pinned, as in production) and the test CA trusted (`GATEWAY_WEBHOOK_CA_BUNDLE`)."""
    return settings.model_copy(
        update={"webhook_allowed_networks": ["127.0.0.0/8"], "webhook_ca_bundle": tls_server.ca_bundle}
    )


def _resolving(monkeypatch: pytest.MonkeyPatch, answers: dict[str, str]) -> None:
    """The resolver of `net_policy` answering `answers` (name → address) and the system for the rest."""
    system = net_policy.resolve

    def resolve(host: str, port: int) -> list[net_policy.IPAddress]:
        if host in answers:
            return [ipaddress.ip_address(answers[host])]
        return system(host, port)

    monkeypatch.setattr(net_policy, "resolve", resolve)


def _endpoint(engine: Engine, settings: Settings, url: str) -> None:
    with session_scope(engine) as session:
        ensure_tenant(session, "acme")
        webhooks.put_endpoint(
            session,
            "acme",
            url=url,
            secret=SECRET,
            actor="test",
            addresses=webhooks.webhook_addresses(settings),
        )


def _emit(engine: Engine) -> None:
    with session_scope(engine) as session:
        webhooks.emit(session, "acme", webhooks.DEVIATION_OPENED, {"invoice_number": "INV-1"}, at=utcnow())


def _send(engine: Engine, settings: Settings, *, hours: float = 0) -> webhooks.SendReport:
    """One send round as the worker makes it (`gateway.worker.tasks.send_webhooks`), `hours` from now."""
    return webhooks.send_due_events(
        engine,
        now=utcnow() + dt.timedelta(hours=hours, seconds=1),
        addresses=webhooks.webhook_addresses(settings),
        ca_bundle=settings.webhook_ca_bundle,
    )


def _events(engine: Engine) -> list[WebhookEvent]:
    with session_scope(engine) as session:
        return webhooks.event_rows(session)


def test_an_https_webhook_is_delivered_with_the_name_as_sni_and_host(
    engine: Engine,
    settings: Settings,
    client: TestClient,
    auth: dict[str, str],
    receiver: TlsReceiver,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Saved through the API, sent by a worker: the connection goes to 127.0.0.1 (the checked address),
    yet the server is asked for `hooks.partner.test` (SNI), the request names it in `Host`, and the
    certificate — issued by the operator's CA, not a public one — verifies for it."""
    _resolving(monkeypatch, {NAME: "127.0.0.1"})
    saved = client.put("/webhooks", json={"url": receiver.url(), "events": ["*"]}, headers=auth)
    assert saved.status_code == 201, saved.text
    _emit(engine)
    Worker(engine, settings, worker_id="w").run(once=True)  # the worker's webhook step, from the settings
    [row] = _events(engine)
    assert (row.status, row.tries, row.last_error) == ("delivered", 1, None)
    assert receiver.server_names == [NAME]
    [request] = receiver.requests
    assert request["Host"] == f"{NAME}:{receiver.port}"
    assert request["X-Gateway-Event-Id"] == row.payload["id"]


def test_a_certificate_for_another_name_fails_the_send_with_its_reason(
    engine: Engine, settings: Settings, receiver: TlsReceiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Pinning to the address did not switch off hostname verification: a server at the checked address
    showing a valid certificate (same trusted CA) for `other.partner.test` gets no request. The event
    records why, and a certificate the ERP must fix counts like a 4xx (failed after a few tries)."""
    _resolving(monkeypatch, {NAME: "127.0.0.1"})
    _endpoint(engine, settings, receiver.url())
    _emit(engine)
    receiver.present = OTHER
    report = _send(engine, settings)
    assert (report.claimed, report.delivered, report.retried) == (1, 0, 1)
    assert receiver.requests == [] and receiver.server_names == [NAME]
    [row] = _events(engine)
    assert row.status == "pending" and row.last_error is not None
    assert row.last_error.startswith("TLS certificate refused: Hostname mismatch")
    assert f"not valid for '{NAME}'" in row.last_error
    for hours in (2, 4):
        _send(engine, settings, hours=hours)
    [row] = _events(engine)
    assert (row.status, row.tries) == ("failed", webhooks.REFUSED_MAX_TRIES)
    assert row.last_error is not None and "TLS certificate refused: Hostname mismatch" in row.last_error
    assert receiver.requests == []


def test_without_the_operators_ca_the_certificate_is_not_trusted(
    engine: Engine, settings: Settings, receiver: TlsReceiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The default trust store (certifi) does not know the partner's private CA: the send fails with that
    reason, so `GATEWAY_WEBHOOK_CA_BUNDLE` is what made the first test pass."""
    _resolving(monkeypatch, {NAME: "127.0.0.1"})
    _endpoint(engine, settings, receiver.url())
    _emit(engine)
    report = _send(engine, settings.model_copy(update={"webhook_ca_bundle": None}))
    assert (report.claimed, report.delivered) == (1, 0)
    assert receiver.requests == []
    [row] = _events(engine)
    assert row.last_error == "TLS certificate refused: unable to get local issuer certificate"


def test_a_name_public_when_saved_and_loopback_when_sent_is_refused_over_https(
    engine: Engine, settings: Settings, receiver: TlsReceiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    """DNS rebinding over HTTPS, under the strict default: the name resolved to a public address when
    saved and to 127.0.0.1 at send time. No TLS connection is even opened (the server sees no handshake),
    although its certificate would have verified."""
    strict = settings.model_copy(update={"webhook_allowed_networks": []})
    _resolving(monkeypatch, {NAME: "93.184.216.34"})
    _endpoint(engine, strict, receiver.url())
    _emit(engine)
    _resolving(monkeypatch, {NAME: "127.0.0.1"})
    report = _send(engine, strict)
    assert (report.claimed, report.delivered) == (1, 0)
    assert receiver.server_names == [] and receiver.requests == []
    [row] = _events(engine)
    assert row.last_error == f"RefusedConnection: refused: {NAME} resolves to 127.0.0.1, a loopback address"


def test_the_ca_bundle_setting_is_checked_when_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A missing or non-PEM bundle stops the process at start with the setting's name, not every HTTPS
    webhook one by one later; unset (or empty) means the default trust store only."""
    monkeypatch.setenv("GATEWAY_WEBHOOK_CA_BUNDLE", "")
    assert Settings(_env_file=None).webhook_ca_bundle is None  # type: ignore[call-arg]
    not_pem = tmp_path / "ca.pem"
    not_pem.write_text("not a certificate\n")
    for path in (not_pem, tmp_path / "missing.pem"):
        monkeypatch.setenv("GATEWAY_WEBHOOK_CA_BUNDLE", str(path))
        with pytest.raises(ValidationError, match="webhook_ca_bundle") as raised:
            Settings(_env_file=None)  # type: ignore[call-arg]
        assert "not a readable PEM file of CA certificates" in str(raised.value)
