"""Issue 16's acceptance line "national identity numbers never appear in logs", and more: a consumer's
invoice (a receiver profile with a fødselsnummer, and the number on the invoice too) goes through intake →
worker → a consumer channel that refuses (naming the number in its reason, as a careless channel might) →
the waterfall's next step → a deviation, with DEBUG logging on; then everything that could show the number
is gathered — every log line as production writes it, every raw message our own loggers made, the events
and deviations tables, the webhook payloads, the API's answers, the console's pages and the CLI's output —
and searched for it in full: it is in none of them (the masked form is where a person needs it)."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from typer.testing import CliRunner

from db.engine import session_scope
from db.models import DeliveryEvent, Deviation, WebhookEvent
from gateway.api.app import create_app
from gateway.cli import app as cli_app
from gateway.logging_setup import configure_logging
from gateway.samples import sample_invoice_json
from gateway.settings import Settings
from gateway.worker import Worker
from tests.api.test_consumer_routing import FNR, MASKED, consumer_channels  # noqa: F401 (a fixture)
from tests.console.helpers import ConsoleClient, api_auth, make_user

#: Our own loggers: what they hand to logging must not hold the number even before the redaction.
OWN_LOGGERS = ("gateway", "channels", "outbox", "mappings", "transports", "db", "schemas")
#: The number as it may be written: plain, or `ddmmyy nnnnn`.
FORMS = (FNR, f"{FNR[:6]} {FNR[6:]}")


class _RawRecords(logging.Handler):
    """Every record our loggers emit, as its message and arguments (before any formatter masks)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.texts: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.name.split(".")[0] in OWN_LOGGERS:
            self.texts.append(f"{record.name}: {record.getMessage()} {record.__dict__}")


@pytest.fixture
def debug_app(settings: Settings, engine: Engine) -> Iterator[tuple[TestClient, io.StringIO, _RawRecords]]:
    settings.log_level = "DEBUG"
    settings.log_format = "json"
    settings.webhook_allow_private = True
    written = io.StringIO()
    raw = _RawRecords()
    app = create_app(settings, engine)
    configure_logging("DEBUG", "json", stream_handler=logging.StreamHandler(written))
    logging.getLogger().addHandler(raw)
    try:
        with TestClient(app, base_url="http://testserver") as client:
            yield client, written, raw
    finally:
        logging.getLogger().removeHandler(raw)


def _table_texts(engine: Engine) -> list[str]:
    texts = []
    with session_scope(engine) as session:
        for event in session.execute(select(DeliveryEvent)).scalars():
            texts.append(json.dumps([event.reason, event.details], default=str))
        for deviation in session.execute(select(Deviation)).scalars():
            texts.append(json.dumps(deviation.model_dump(), default=str))
        for hook in session.execute(select(WebhookEvent)).scalars():
            texts.append(json.dumps(hook.payload, default=str))
    return texts


def test_a_consumer_invoice_leaves_its_national_id_nowhere(
    debug_app: tuple[TestClient, io.StringIO, _RawRecords],
    engine: Engine,
    settings: Settings,
    consumer_channels: None,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    client, written, raw = debug_app
    auth = api_auth(engine)
    answers: list[str] = []

    def call(method: str, path: str, **kwargs: Any) -> Any:
        answer = client.request(method, path, headers=auth, **kwargs)
        assert answer.status_code < 400, answer.text
        answers.append(answer.text)
        return answer.json()

    call("PUT", "/webhooks", json={"url": "http://127.0.0.1:9/hooks", "events": ["*"]})
    call("PUT", "/settings", json={"consumer_waterfall": ["refusing", "broken"]})
    call("PUT", "/receivers/K-1", json={"receiver_id": "K-1", "name": "Kari Nordmann", "national_id": FNR})
    invoice = sample_invoice_json(1, receiver_id="K-1")
    invoice["routing"]["national_id"] = FNR
    invoice_id = call("POST", "/invoices", json=invoice)["invoice_id"]
    worker = Worker(engine, settings)
    for _ in range(3):
        worker.run(once=True)

    view = call("GET", f"/invoices/{invoice_id}")
    assert [(d["channel"], d["status"]) for d in view["deliveries"]] == [
        ("refusing", "failed"),
        ("broken", "deviation"),
    ]
    deviations = call("GET", "/deviations")
    assert deviations and MASKED in json.dumps(deviations)  # the channel's reason, masked
    call("GET", "/receivers")
    assert call("GET", "/receivers/K-1")["national_id"] == MASKED
    call("GET", "/invoices", params={"q": "INV-000001"})
    call("GET", "/deliveries")

    console = ConsoleClient(client, make_user(engine, "ops@acme.example", "operator"))
    pages = [console.get(path).text for path in (
        "/console/", "/console/invoices", "/console/invoices/INV-000001", "/console/deviations",
        "/console/settings", "/console/webhooks",
    )]  # fmt: skip
    assert MASKED in pages[2]  # the invoice page shows the consumer's number, masked

    monkeypatch.setenv("GATEWAY_DATABASE_URL", settings.database)
    monkeypatch.setenv("GATEWAY_DATA_DIR", str(settings.data_dir))
    runner = CliRunner()
    outputs = []
    for args in (
        ["receiver", "list", "--json"], ["receiver", "list"], ["receiver", "show", "K-1", "--tenant", "acme"],
        ["receiver", "show", "K-1", "--tenant", "acme", "--json"], ["status", "INV-000001", "--json"],
        ["deviations", "--json"],
    ):  # fmt: skip
        result = runner.invoke(cli_app, args)
        assert result.exit_code == 0, (args, result.output)
        outputs.append(result.output)
    assert MASKED in outputs[2] and MASKED in outputs[0]

    logged = written.getvalue()
    assert '"level": "debug"' in logged or '"level":"debug"' in logged  # DEBUG was really on
    everything = {
        "log lines": logged,
        "raw log records": "\n".join(raw.texts),
        "tables": "\n".join(_table_texts(engine)),
        "API answers": "\n".join(answers),
        "console pages": "\n".join(pages),
        "CLI output": "\n".join(outputs),
    }
    leaks = [where for where, text in everything.items() if any(form in text for form in FORMS)]
    assert leaks == []
    assert all(text for text in everything.values())  # each source was really captured
