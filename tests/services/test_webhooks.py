"""Webhooks on a real outbox against a real loopback HTTP receiver (`http.server` in a thread).

The receiver does what an ERP should: it verifies `X-Gateway-Signature` with the shared secret, and
de-duplicates on `X-Gateway-Event-Id`; it can be told to fail the first requests.
"""

from __future__ import annotations

import datetime as dt
import functools
import ipaddress
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, delete, select
from sqlmodel import col
from typer.testing import CliRunner

import gateway.cli
from db.engine import session_scope
from db.models import Delivery, WebhookEvent, utcnow
from gateway.cli import app as cli_app
from gateway.samples import sample_invoice_json
from gateway.services import net_policy
from gateway.services.net_policy import AddressPolicy
from gateway.services.outbound.deviations import list_deviations, resend_deviation
from gateway.services.outbound.intake import IntakeItem, accept_invoices
from gateway.services.tenancy import webhooks
from gateway.services.tenancy.tenants import ensure_tenant
from gateway.settings import Settings
from gateway.worker import Worker
from outbox.queue import change_status
from outbox.states import DeliveryStatus as S
from tests.outbox_helpers import take_to_sent

SECRET = "whsec_test_0123456789abcdef"
#: The receiver listens on loopback, which webhooks may not reach unless the operator allows it.
LOOPBACK = AddressPolicy.of(False, ["127.0.0.0/8"])
_send = functools.partial(webhooks.send_due_events, addresses=LOOPBACK)


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The shared settings, with loopback allowed to webhooks (`GATEWAY_WEBHOOK_ALLOW_PRIVATE=true`)."""
    return settings.model_copy(update={"webhook_allow_private": True})


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    verified: bool


@dataclass
class Receiver:
    """A loopback ERP: answers `statuses` in turn (then 200), verifies every signature."""

    secret: str = SECRET
    statuses: list[int] = field(default_factory=list)
    requests: list[Received] = field(default_factory=list)
    seen: set[str] = field(default_factory=set)
    accepted: list[str] = field(default_factory=list)
    url: str = ""
    location: str = "http://169.254.169.254/latest/meta-data/"  # where a 3xx answer points


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            signature = self.headers.get("X-Gateway-Signature", "")
            verified = webhooks.verify(state.secret, body, signature)
            state.requests.append(Received(dict(self.headers.items()), body, verified))
            status = state.statuses.pop(0) if state.statuses else 200
            if not verified:
                status = 401
            event_id = self.headers.get("X-Gateway-Event-Id", "")
            if status == 200 and event_id not in state.seen:
                state.seen.add(event_id)
                state.accepted.append(event_id)
            self.send_response(status)
            if 300 <= status < 400:
                self.send_header("Location", state.location)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *_: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hooks"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def _endpoint(engine: Engine, url: str, events: list[str] | None = None, tenant: str = "acme") -> str:
    with session_scope(engine) as session:
        endpoint, _created, _secret = webhooks.put_endpoint(
            session, tenant, url=url, events=events or ["*"], secret=SECRET, actor="test", addresses=LOOPBACK
        )
        return endpoint.id


def _events(engine: Engine) -> list[WebhookEvent]:
    with session_scope(engine) as session:
        return webhooks.event_rows(session)


def _accept(engine: Engine, n: int = 1, tenant: str = "acme") -> str:
    with session_scope(engine) as session:
        ensure_tenant(session, tenant)
    [result] = accept_invoices(
        engine, tenant, [IntakeItem(sample_invoice_json(n))], actor="test", default_channel="folder"
    )
    assert result.invoice_id is not None
    return result.invoice_id


def _deviate(engine: Engine, n: int = 1) -> str:
    invoice_id = _accept(engine, n)
    with session_scope(engine) as session:
        delivery_id = session.execute(
            select(col(Delivery.id)).where(col(Delivery.invoice_id) == invoice_id)
        ).scalar_one()
    take_to_sent(engine, delivery_id, lambda attempt: f"m-{attempt}")
    with session_scope(engine) as session:
        delivery = session.get(Delivery, delivery_id)
        assert delivery is not None
        change_status(
            session, delivery, S.DEVIATION, actor="r", reason="e-mail bounced (DSN: failed): a@b.test 5.1.1"
        )
    return delivery_id


# --- signatures ---------------------------------------------------------------------------------------------


def test_signature_verifies_and_a_tampered_body_or_old_timestamp_does_not() -> None:
    body = b'{"id":"evt_1","type":"deviation.opened"}'
    header = webhooks.sign(SECRET, body, 1_800_000_000)
    assert webhooks.verify(SECRET, body, header, now=1_800_000_010)
    assert not webhooks.verify(SECRET, body.replace(b"opened", b"closed"), header, now=1_800_000_010)
    assert not webhooks.verify("another secret", body, header, now=1_800_000_010)
    assert not webhooks.verify(SECRET, body, header, now=1_800_000_000 + 301)
    assert not webhooks.verify(SECRET, body, "v1=abc", now=1_800_000_000)


# --- events written with the change -------------------------------------------------------------------------


def test_no_endpoint_writes_no_rows(engine: Engine) -> None:
    _deviate(engine)
    assert _events(engine) == []


def test_an_endpoint_for_deviations_only_gets_only_those(engine: Engine, receiver: Receiver) -> None:
    _endpoint(engine, receiver.url, ["deviation.opened", "deviation.closed"])
    delivery_id = _deviate(engine)
    with session_scope(engine) as session:
        [deviation] = list_deviations(session, "acme")
        resend_deviation(session, "acme", deviation["id"], actor="ops", reason="new address")
    rows = _events(engine)
    assert [r.event_type for r in rows] == ["deviation.opened", "deviation.closed"]
    opened, closed = (r.payload for r in rows)
    assert opened["deviation_cause"] == "bounced" and opened["delivery_id"] == delivery_id
    assert opened["invoice_number"] == "INV-000001" and opened["channel"] == "folder"
    assert opened["tenant"] == "acme" and opened["id"].startswith("evt_")
    assert closed["closure"] == "resent" and closed["closed_by"] == "ops"
    assert opened["id"] != closed["id"]


def test_status_changes_carry_the_transition(engine: Engine, receiver: Receiver) -> None:
    _endpoint(engine, receiver.url, ["delivery.status_changed"])
    delivery_id = _deviate(engine)
    rows = _events(engine)
    assert {r.event_type for r in rows} == {"delivery.status_changed"}
    moves = [(r.payload["from_status"], r.payload["to_status"]) for r in rows]
    # intake writes its rows in bulk, past record_event: the ERP has its 201 for that step already
    assert moves == [
        ("queued", "rendering"),
        ("rendering", "sending"),
        ("sending", "sent"),
        ("sent", "deviation"),
    ]
    last = rows[-1].payload
    assert last["deviation_cause"] == "bounced" and last["delivery_id"] == delivery_id
    assert last["attempt"] == 1 and last["reason"].startswith("e-mail bounced")
    assert last["invoice_id"] and last["invoice_number"] == "INV-000001"


def test_another_tenants_endpoint_gets_nothing(engine: Engine, receiver: Receiver) -> None:
    with session_scope(engine) as session:
        ensure_tenant(session, "globex")
    _endpoint(engine, receiver.url, tenant="globex")
    _deviate(engine)
    assert _events(engine) == []


# --- sending ------------------------------------------------------------------------------------------------


def test_a_500_is_retried_and_the_event_delivered_once_with_a_stable_id(
    engine: Engine, settings: Settings, receiver: Receiver
) -> None:
    _endpoint(engine, receiver.url, ["deviation.opened"])
    _deviate(engine)
    receiver.statuses = [500]
    settings.webhook_retry_base_seconds = 60
    Worker(engine, settings, worker_id="w").run(once=True)  # the worker's webhook step
    [row] = _events(engine)
    assert (row.status, row.tries) == ("pending", 1)
    assert row.last_error is not None and row.last_error.startswith("HTTP 500")
    assert row.next_attempt_at > utcnow() + dt.timedelta(seconds=25)
    assert len(receiver.requests) == 1 and receiver.accepted == []
    # not due yet: nothing is sent
    assert _send(engine).claimed == 0
    later = utcnow() + dt.timedelta(hours=2)
    report = _send(engine, now=later)
    assert (report.claimed, report.delivered) == (1, 1)
    [row] = _events(engine)
    assert (row.status, row.tries, row.last_error) == ("delivered", 2, None)
    assert _send(engine, now=later + dt.timedelta(hours=1)).claimed == 0
    first, second = receiver.requests
    assert first.verified and second.verified
    event_id = row.payload["id"]
    assert first.headers["X-Gateway-Event-Id"] == second.headers["X-Gateway-Event-Id"] == event_id
    assert json.loads(first.body)["id"] == json.loads(second.body)["id"] == event_id
    assert first.headers["X-Gateway-Event"] == "deviation.opened"
    assert first.headers["Content-Type"] == "application/json"
    assert receiver.accepted == [event_id]
    tampered = second.body.replace(b"bounced", b"resolved")
    assert not webhooks.verify(SECRET, tampered, second.headers["X-Gateway-Signature"])


def test_a_refusing_receiver_fails_after_a_few_tries_and_a_dead_one_after_max_tries(
    engine: Engine, receiver: Receiver
) -> None:
    _endpoint(engine, receiver.url, ["deviation.opened"])
    _deviate(engine)
    receiver.statuses = [404] * 10
    now = utcnow()
    for hours in range(1, 6):
        _send(engine, now=now + dt.timedelta(hours=hours * 2))
    [row] = _events(engine)
    assert (row.status, row.tries) == ("failed", webhooks.REFUSED_MAX_TRIES)
    assert row.last_error is not None and "gave up after 3 tries; last: HTTP 404" in row.last_error

    # nobody listening: connection errors are retried up to max_tries
    with session_scope(engine) as session:
        session.execute(delete(WebhookEvent))
    dead = "http://127.0.0.1:9/hooks"
    _endpoint(engine, dead, ["deviation.opened"])
    _deviate(engine, 2)
    policy = webhooks.RetryPolicy(base_seconds=1, jitter=False, max_tries=3)
    for hours in range(1, 5):
        _send(engine, policy=policy, timeout_seconds=2, now=now + dt.timedelta(hours=hours))
    rows = [r for r in _events(engine) if r.status == "failed" and r.tries == 3]
    assert rows and rows[-1].last_error is not None and "ConnectError" in rows[-1].last_error


# --- API and CLI --------------------------------------------------------------------------------------------


def test_api_put_get_delete(
    client: TestClient, auth: dict[str, str], token_for: Any, engine: Engine, receiver: Receiver
) -> None:
    created = client.put(
        "/webhooks", json={"url": receiver.url, "events": ["deviation.opened"]}, headers=auth
    )
    assert created.status_code == 201, created.text
    secret = created.json()["secret"]
    assert secret.startswith("whsec_") and len(secret) > 30
    changed = client.put("/webhooks", json={"url": receiver.url, "events": ["*"]}, headers=auth)
    assert changed.status_code == 200 and "secret" not in changed.json()
    assert changed.json()["id"] == created.json()["id"] and changed.json()["events"] == ["*"]
    listed = client.get("/webhooks", headers=auth).json()["items"]
    assert [e["url"] for e in listed] == [receiver.url] and "secret" not in listed[0]
    assert client.get("/webhooks", headers=token_for("globex")).json()["items"] == []
    bad = client.put("/webhooks", json={"url": receiver.url, "events": ["invoice.paid"]}, headers=auth)
    assert bad.status_code == 422
    assert client.put("/webhooks", json={"url": "ftp://x/y"}, headers=auth).status_code == 422
    # the route invalidated the cache: the next change is written for the new endpoint
    _deviate(engine)
    assert {r.event_type for r in _events(engine)} >= {"delivery.status_changed", "deviation.opened"}
    endpoint_id = created.json()["id"]
    assert client.delete(f"/webhooks/{endpoint_id}", headers=token_for("globex")).status_code == 404
    assert client.delete(f"/webhooks/{endpoint_id}", headers=auth).status_code == 204
    assert client.get("/webhooks", headers=auth).json()["items"] == []
    _deviate(engine, 2)
    assert _events(engine) == []


def test_cli_add_list_send(
    engine: Engine, settings: Settings, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GATEWAY_DATABASE_URL", settings.database)
    monkeypatch.setenv("GATEWAY_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("GATEWAY_WEBHOOK_ALLOWED_NETWORKS", "127.0.0.0/8")
    monkeypatch.setattr(gateway.cli.console, "width", 300)
    runner = CliRunner()
    result = runner.invoke(
        cli_app,
        [
            "webhook",
            "add",
            receiver.url,
            "--events",
            "deviation.opened",
            "--tenant",
            "acme",
            "--secret",
            SECRET,
        ],
    )
    assert result.exit_code == 0, result.output
    assert "secret (shown once)" not in result.output
    _deviate(engine)
    result = runner.invoke(cli_app, ["webhook", "list"])
    assert result.exit_code == 0 and receiver.url in result.output and SECRET not in result.output
    result = runner.invoke(cli_app, ["webhooks", "send"])
    assert result.exit_code == 0, result.output
    assert "delivered 1" in result.output
    assert len(receiver.accepted) == 1 and receiver.requests[0].verified
    generated = runner.invoke(cli_app, ["webhook", "add", receiver.url + "/2", "--tenant", "acme"])
    assert generated.exit_code == 0 and "secret (shown once): whsec_" in generated.output


# --- addresses (SSRF) ---------------------------------------------------------------------------------------

#: Every form of an internal address the campaign used, and the kind each is refused as.
INTERNAL_URLS = [
    ("http://127.0.0.1:8080/hook", "loopback"),
    ("http://169.254.169.254/latest/meta-data/", "link-local"),
    ("http://localhost:5432/", "loopback"),
    ("http://[::1]/hook", "loopback"),
    ("http://0x7f000001/hook", "loopback"),
    ("http://2130706433/hook", "loopback"),
    ("http://0177.0.0.1/hook", "loopback"),
    ("http://[::ffff:127.0.0.1]/hook", "loopback"),
    ("http://10.1.2.3/hook", "private"),
    ("https://192.168.0.10/hook", "private"),
    ("http://[fd00::1]/hook", "private"),
    ("http://[fe80::1]/hook", "link-local"),
    ("http://224.0.0.1/hook", "multicast"),
    ("http://0.0.0.0/hook", "unspecified"),
    ("http://240.0.0.1/hook", "reserved"),
    ("http://100.64.0.1/hook", "non-public"),
]


@pytest.mark.parametrize(("url", "kind"), INTERNAL_URLS)
def test_put_webhooks_refuses_internal_addresses_in_every_form(
    client: TestClient, auth: dict[str, str], settings: Settings, url: str, kind: str
) -> None:
    """Reproducer (issue 18, defect 3): `PUT /webhooks {"url": "http://127.0.0.1:…"}` (also
    169.254.169.254, localhost:5432, [::1], 0x7f000001, 2130706433, 0177.0.0.1, ::ffff:127.0.0.1) was a
    201: the worker then POSTed signed events into the gateway's own network. Now a 422 on `url` says
    which address the host is or resolves to and why it is refused; nothing is stored."""
    settings.webhook_allow_private = False
    answer = client.put("/webhooks", json={"url": url}, headers=auth)
    assert answer.status_code == 422, answer.text
    [error] = answer.json()["errors"]
    assert error["field"] == "url"
    assert f"a {kind} address" in error["reason"] or f"an {kind} address" in error["reason"], error
    assert client.get("/webhooks", headers=auth).json()["items"] == []


def test_the_refusal_names_the_address_a_name_resolves_to(client: TestClient, auth: dict[str, str]) -> None:
    """`localhost:5432` is not judged by its name: by what it resolves to."""
    client.app.state.settings.webhook_allow_private = False  # type: ignore[attr-defined]
    answer = client.put("/webhooks", json={"url": "http://localhost:5432/"}, headers=auth)
    [error] = answer.json()["errors"]
    assert error == {"field": "url", "reason": "localhost resolves to 127.0.0.1, a loopback address"}
    nowhere = client.put("/webhooks", json={"url": "https://erp.invalid/hooks"}, headers=auth)
    assert nowhere.status_code == 422 and "does not resolve" in nowhere.json()["errors"][0]["reason"]


def test_the_operator_may_allow_a_network_or_every_address(
    client: TestClient, auth: dict[str, str], settings: Settings
) -> None:
    settings.webhook_allow_private = False
    settings.webhook_allowed_networks = ["127.0.0.0/8"]
    assert client.put("/webhooks", json={"url": "http://127.0.0.1:9/a"}, headers=auth).status_code == 201
    assert client.put("/webhooks", json={"url": "http://[::1]:9/a"}, headers=auth).status_code == 422
    settings.webhook_allow_private = True
    assert client.put("/webhooks", json={"url": "http://[::1]:9/a"}, headers=auth).status_code == 201


def _resolving(monkeypatch: pytest.MonkeyPatch, answers: dict[str, str]) -> None:
    """The resolver of `net_policy` answering `answers` (name → address) and the system for the rest."""
    system = net_policy.resolve

    def resolve(host: str, port: int) -> list[net_policy.IPAddress]:
        if host in answers:
            return [ipaddress.ip_address(answers[host])]
        return system(host, port)

    monkeypatch.setattr(net_policy, "resolve", resolve)


def test_a_name_that_resolves_to_loopback_at_send_time_is_not_sent_to(
    engine: Engine, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Reproducer (DNS rebinding): the ERP's name resolved to a public address when the endpoint was
    saved and to 127.0.0.1 when the event is sent. The send-time check refuses it: the loopback receiver
    gets nothing and the event's error says why."""
    port = receiver.url.split(":")[2].split("/")[0]
    _resolving(monkeypatch, {"erp.rebind.test": "93.184.216.34"})
    with session_scope(engine) as session:
        webhooks.put_endpoint(
            session, "acme", url=f"http://erp.rebind.test:{port}/hooks", secret=SECRET, actor="test"
        )  # public when saved: accepted under the strict policy
    _deviate(engine)
    _resolving(monkeypatch, {"erp.rebind.test": "127.0.0.1"})
    report = webhooks.send_due_events(engine, now=utcnow() + dt.timedelta(seconds=1))
    assert report.claimed > 0 and report.delivered == 0
    assert receiver.requests == []
    errors = {row.last_error for row in _events(engine)}
    assert errors == {"RefusedConnection: refused: erp.rebind.test resolves to 127.0.0.1, a loopback address"}


def test_the_connection_goes_to_the_checked_address_with_the_name_as_host(
    engine: Engine, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The transport connects to the address it judged, not to a second lookup: a name only the
    (patched) resolver knows reaches the loopback receiver, and the receiver sees the name in `Host`."""
    port = receiver.url.split(":")[2].split("/")[0]
    _resolving(monkeypatch, {"erp.pinned.test": "127.0.0.1"})
    _endpoint(engine, f"http://erp.pinned.test:{port}/hooks", ["deviation.opened"])
    _deviate(engine)
    report = _send(engine, now=utcnow() + dt.timedelta(seconds=1))
    assert (report.claimed, report.delivered) == (1, 1)
    [request] = receiver.requests
    assert request.headers["Host"] == f"erp.pinned.test:{port}" and request.verified


def test_a_redirect_is_not_followed_and_fails_with_its_reason(engine: Engine, receiver: Receiver) -> None:
    """Reproducer: an endpoint that answers `302 Location: http://169.254.169.254/…` must not make the
    gateway request the metadata service. The 3xx is a failed try that says where it pointed."""
    _endpoint(engine, receiver.url, ["deviation.opened"])
    _deviate(engine)
    receiver.statuses = [302] * 5
    now = utcnow()
    for hours in range(1, 5):
        _send(engine, now=now + dt.timedelta(hours=hours * 2))
    [row] = _events(engine)
    assert (row.status, row.tries) == ("failed", webhooks.REFUSED_MAX_TRIES)
    assert len(receiver.requests) == webhooks.REFUSED_MAX_TRIES
    assert row.last_error is not None
    assert "HTTP 302: redirected to http://169.254.169.254/latest/meta-data/; redirects are not followed" in (
        row.last_error
    )
