"""Every log line of a representative run, read back: JSON, in context, and without a secret or a national
identity number.

The run: invoices pushed through the API (one to a folder whose name is a fødselsnummer, one whose
format cannot be rendered, one by e-mail through a real SMTP server on loopback that wants a password over
TLS), a real worker delivering them, a console sign-in with a wrong password, a webhook with its own
secret, a scrape of /metrics, a path holding the identity number. The lines are what the production
handler writes (`GATEWAY_LOG_FORMAT=json`), captured at the handler.
"""

from __future__ import annotations

import json
import logging
import ssl
from collections.abc import Iterator
from typing import Any

import pytest
import trustme
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import Engine

from db.engine import session_scope
from gateway.api.app import create_app
from gateway.logging_setup import configure_logging
from gateway.samples import sample_invoice_json
from gateway.services.tenancy.tenants import ensure_tenant, put_receiver
from gateway.settings import Settings
from gateway.worker import Worker
from schemas.canonical import ReceiverProfile
from tests.channels.test_email import PASSWORD as SMTP_PASSWORD
from tests.channels.test_email import USERNAME as SMTP_USERNAME
from tests.channels.test_email import DsnController, Recorder, free_port, settings_for
from tests.console.helpers import csrf_of, make_user

FNR = "15108695088"  # a valid fødselsnummer (check digits and date), made up
CONSOLE_PASSWORD = "wrong-horse-7e1d9a"
WEBHOOK_SECRET = "whsec-3b9f0c7d2a614e58"
METRICS_TOKEN = "metrics-5a2c8e0f1b"


class Lines(logging.Handler):
    """The production handler's output, one rendered line per record."""

    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture
def smtp_tls(tmp_path: Any) -> Iterator[tuple[int, str, Recorder]]:
    """An SMTP server on loopback speaking implicit TLS and wanting a login (port, CA file, recorder)."""
    ca = trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("localhost", "127.0.0.1").configure_cert(context)
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    recorder, port = Recorder(), free_port()
    controller = DsnController(
        recorder, hostname="127.0.0.1", port=port, ssl_context=context, server_hostname="mx.ok.test",
        authenticator=recorder.authenticate, auth_require_tls=False,
    )  # fmt: skip
    controller.start()
    try:
        yield port, str(ca_file), recorder
    finally:
        controller.stop()


@pytest.fixture
def json_lines() -> Lines:
    return Lines()  # installed after the app's own setup; taken off after the test (tests/conftest.py)


def test_every_log_line_is_json_in_context_and_leaks_nothing(
    engine: Engine,
    settings: Settings,
    smtp_tls: tuple[int, str, Recorder],
    json_lines: Lines,
    auth: dict[str, str],
    token: str,
) -> None:
    port, ca_file, recorder = smtp_tls
    email = settings_for(
        port, security="tls", ca_file=ca_file, username=SMTP_USERNAME, password=SMTP_PASSWORD
    )
    production = settings.model_copy(
        update={
            "log_format": "json",
            "metrics_token": SecretStr(METRICS_TOKEN),
            "channels": {"email": email},
        }
    )
    with session_scope(engine) as session:
        ensure_tenant(session, "acme")
        put_receiver(
            session,
            "acme",
            ReceiverProfile(
                receiver_id="C-1", preferred_channel="email", addresses={"email": "kunde@ok.test"}
            ),
        )
    make_user(engine, "ops@acme.no")
    app = create_app(production, engine)
    configure_logging("INFO", "json", stream_handler=json_lines)  # the app's handler, read here
    with TestClient(app) as client:
        to_folder = sample_invoice_json(1)
        # the buyer's identity number on the invoice (a number as an address is refused: views show addresses)
        to_folder["routing"] = {"national_id": FNR}
        to_folder["buyer"]["identifiers"] = [{"value": FNR}]
        unrenderable = sample_invoice_json(2)
        unrenderable["routing"] = {"format": "canonical-jsn"}
        by_email = sample_invoice_json(3, receiver_id="C-1")
        for invoice in (to_folder, unrenderable, by_email):
            assert client.post("/invoices", json=invoice, headers=auth).status_code == 201
        refused = client.post("/invoices", json={"number": FNR}, headers=auth)
        assert refused.status_code == 422
        assert client.get(f"/invoices/{FNR}", headers=auth).status_code == 404
        assert client.put(
            "/webhooks", json={"url": "https://erp.example.com/hooks", "secret": WEBHOOK_SECRET}, headers=auth
        ).status_code in (201, 422)
        form = client.get("/console/login")
        wrong = client.post(
            "/console/login",
            data={"email": "ops@acme.no", "password": CONSOLE_PASSWORD, "csrf_token": csrf_of(form.text)},
            follow_redirects=False,
        )
        assert wrong.status_code != 303
        assert client.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}).status_code == 200
        stats = Worker(engine, production, worker_id="log-test").run(once=True)
    assert stats.outcomes == {"delivered": 1, "deviation": 1, "sent": 1}
    assert recorder.logins == [("PLAIN", True)]

    records = [json.loads(line) for line in json_lines.lines]  # every line is one JSON object
    assert all(
        isinstance(record, dict) and {"timestamp", "level", "event"} <= set(record) for record in records
    )
    text = "\n".join(json_lines.lines)
    for secret in (
        token,
        CONSOLE_PASSWORD,
        WEBHOOK_SECRET,
        SMTP_PASSWORD,
        METRICS_TOKEN,
        FNR,
        "151086 95088",
    ):
        assert secret not in text, f"{secret!r} is in a log line"

    # the API's lines carry the request id that its answers and error bodies carry
    requests = [record for record in records if record["event"] == "request"]
    assert len(requests) >= 8
    assert all(record["request_id"] and record["route"] for record in requests)
    assert refused.json()["request_id"] in {record["request_id"] for record in requests}
    assert {"/invoices", "/invoices/{invoice_id}", "/webhooks", "/console/login", "/metrics"} <= {
        record["route"] for record in requests
    }

    # every step of every delivery is logged, each line in the delivery's context
    about_deliveries = [record for record in records if "delivery_id" in record]
    assert about_deliveries
    for record in about_deliveries:
        assert record["tenant"] == "acme"
        assert record["attempt"] == 1
        assert record["invoice_number"] in {"INV-000001", "INV-000002", "INV-000003"}
    steps: dict[str, list[str]] = {}
    for record in about_deliveries:
        if record["event"].startswith("delivery."):
            steps.setdefault(record["invoice_number"], []).append(record["event"])
    full = ["delivery.claimed", "delivery.rendered", "delivery.sent", "delivery.outcome"]
    assert steps["INV-000001"] == full  # folder
    assert steps["INV-000003"] == full  # e-mail
    assert steps["INV-000002"] == ["delivery.claimed", "delivery.outcome"]  # never rendered
    outcomes = {r["invoice_number"]: r for r in about_deliveries if r["event"] == "delivery.outcome"}
    assert (outcomes["INV-000001"]["status"], outcomes["INV-000001"]["level"]) == ("delivered", "info")
    assert (outcomes["INV-000002"]["status"], outcomes["INV-000002"]["level"]) == ("deviation", "warning")
    assert outcomes["INV-000003"]["status"] == "sent"
    # a channel's own (stdlib) line gets the delivery's context too
    assert any(r["logger"] == "gateway.channels.email" for r in about_deliveries)
    folder_sent = next(
        r for r in about_deliveries if r["event"] == "delivery.sent" and r["channel"] == "folder"
    )
    assert FNR not in folder_sent["message_id"]  # the number rides on the invoice, never in a path
