"""Fix data and resend (issue 8): correct the buyer's delivery data, never amounts, and send again."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select, update
from sqlmodel import col
from typer.testing import CliRunner

from db.engine import session_scope
from db.models import Delivery, Deviation, InvoiceRecord
from gateway.cli import app as cli_app
from gateway.samples import sample_invoice_json
from gateway.services.outbound import deliveries as service
from gateway.services.outbound.corrections import CorrectionInvalid, CorrectionRefused, correct_delivery_data
from gateway.services.outbound.intake import IntakeItem, accept_invoices
from gateway.services.tenancy.tenants import ensure_tenant
from gateway.settings import Settings
from gateway.worker import Worker
from mappings.invoice import canonical_json
from outbox.queue import change_status
from outbox.states import DeliveryStatus as S

NEW_ADDRESS = {"lines": ["Storgata 1"], "city": "Bodø", "postal_code": "8006", "country": "NO"}


def _accept(engine: Engine, items: list[dict[str, Any]], tenant: str = "acme") -> list[str]:
    with session_scope(engine) as session:
        ensure_tenant(session, tenant)
    results = accept_invoices(
        engine, tenant, [IntakeItem(i) for i in items], actor="test", default_channel="folder"
    )
    assert [r.outcome for r in results] == ["created"] * len(items), [r.errors for r in results]
    return [r.invoice_id or "" for r in results]


def _delivered(engine: Engine, settings: Settings) -> str:
    [invoice_id] = _accept(engine, [sample_invoice_json(1)])
    assert Worker(engine, settings, worker_id="w").run(once=True).outcomes == {"delivered": 1}
    return invoice_id


def _record(engine: Engine, invoice_id: str) -> InvoiceRecord:
    with session_scope(engine) as session:
        record = session.get(InvoiceRecord, invoice_id)
        assert record is not None
        return record


def test_correct_address_and_resend(
    engine: Engine, settings: Settings, client: TestClient, auth: dict[str, str]
) -> None:
    invoice_id = _delivered(engine, settings)
    with session_scope(engine) as session:
        delivery_row = session.execute(
            select(Delivery).where(col(Delivery.invoice_id) == invoice_id)
        ).scalar_one()
        change_status(
            session, delivery_row, S.DEVIATION, actor="post", reason="returned mail: unknown address"
        )
    before = _record(engine, invoice_id)
    response = client.post(
        f"/invoices/{invoice_id}/corrections",
        json={"reason": "returned mail: moved", "buyer_address": NEW_ADDRESS, "resend": True},
        headers=auth,
    )
    assert response.status_code == 200, response.json()
    view = response.json()
    assert view["id"] == invoice_id and view["payable_amount"] == before.payable_amount
    after = _record(engine, invoice_id)
    assert after.payload_sha256 == before.payload_sha256
    invoice = canonical_json.parse(after.payload)
    assert invoice.buyer.address is not None and invoice.buyer.address.city == "Bodø"
    assert invoice.model_dump(exclude={"buyer"}) == canonical_json.parse(before.payload).model_dump(
        exclude={"buyer"}
    )

    [delivery] = view["deliveries"]
    [note] = [e for e in delivery["events"] if (e["reason"] or "").startswith("delivery data corrected")]
    assert (
        note["reason"] == f"delivery data corrected by {note['actor']}: buyer.address (returned mail: moved)"
    )
    assert note["from"] == note["to"] == "deviation"
    details = note["details"]
    assert details["corrected"] == ["buyer.address"]
    assert details["before"]["buyer.address"]["city"] == "Tromsø"
    assert details["after"]["buyer.address"] == NEW_ADDRESS
    assert details["requested_by"] == note["actor"]
    assert delivery["events"][-1]["to"] == "queued" and delivery["attempt"] == 2
    with session_scope(engine) as session:
        [deviation] = session.execute(
            select(Deviation).where(col(Deviation.invoice_id) == invoice_id)
        ).scalars()
        assert deviation.closed_at is not None and deviation.cause == "returned-mail"
        assert deviation.closure == "resent"

    assert Worker(engine, settings, worker_id="w").run(once=True).outcomes == {"delivered": 1}
    [delivery] = client.get(f"/invoices/{invoice_id}", headers=auth).json()["deliveries"]
    assert delivery["status"] == "delivered" and delivery["attempt"] == 2
    written = json.loads(Path(delivery["channel_message_id"]).read_text())
    assert written["buyer"]["address"]["city"] == "Bodø"
    assert written["buyer"]["address"]["lines"] == ["Storgata 1"]


def test_correct_email_without_resend(engine: Engine, settings: Settings) -> None:
    invoice_id = _delivered(engine, settings)
    with session_scope(engine) as session:
        correct_delivery_data(
            session,
            "acme",
            invoice_id,
            actor="ops",
            reason="bounced",
            buyer_address=None,
            buyer_email="ap@midnattsol.example",
            buyer_endpoint={"scheme": "0192", "value": "999999999"},
        )
    invoice = canonical_json.parse(_record(engine, invoice_id).payload)
    assert invoice.buyer.contact is not None and invoice.buyer.contact.email == "ap@midnattsol.example"
    assert invoice.buyer.endpoint is not None and invoice.buyer.endpoint.value == "999999999"
    with session_scope(engine) as session:
        [delivery] = service.invoice_view(session, "acme", invoice_id)["deliveries"]
    assert delivery["status"] == "delivered" and delivery["attempt"] == 1
    assert delivery["events"][-1]["details"]["corrected"] == ["buyer.contact.email", "buyer.endpoint"]
    assert delivery["events"][-1]["reason"] == (
        "delivery data corrected by ops: buyer.contact.email, buyer.endpoint (bounced)"
    )


def test_refused_while_worked_on(engine: Engine) -> None:
    [invoice_id] = _accept(engine, [sample_invoice_json(1)])
    with session_scope(engine) as session:
        session.execute(
            update(Delivery).where(col(Delivery.invoice_id) == invoice_id).values(status="sending")
        )
    with session_scope(engine) as session, pytest.raises(CorrectionRefused):
        correct_delivery_data(
            session, "acme", invoice_id, actor="ops", reason="x",
            buyer_address=NEW_ADDRESS, buyer_email=None, buyer_endpoint=None,
        )  # fmt: skip
    with session_scope(engine) as session, pytest.raises(CorrectionInvalid):
        correct_delivery_data(
            session, "acme", invoice_id, actor="ops", reason="x",
            buyer_address=None, buyer_email=None, buyer_endpoint=None,
        )  # fmt: skip


def test_refusals(
    engine: Engine, settings: Settings, client: TestClient, auth: dict[str, str], token_for: Any
) -> None:
    invoice_id = _delivered(engine, settings)
    payload = _record(engine, invoice_id).payload
    url = f"/invoices/{invoice_id}/corrections"

    amounts = client.post(url, json={"reason": "x", "payable_amount": "1.00"}, headers=auth)
    assert amounts.status_code == 422
    assert any("payable_amount" in (e["field"] or "") for e in amounts.json()["errors"])

    nothing = client.post(url, json={"reason": "x"}, headers=auth)
    assert nothing.status_code == 422 and nothing.json()["errors"][0]["field"] == "body"
    same = client.post(
        url, json={"reason": "x", "buyer_address": sample_invoice_json(1)["buyer"]["address"]}, headers=auth
    )
    assert same.status_code == 422 and "nothing to correct" in same.json()["errors"][0]["reason"]

    no_country = {k: v for k, v in NEW_ADDRESS.items() if k != "country"}
    invalid = client.post(url, json={"reason": "x", "buyer_address": no_country}, headers=auth)
    assert invalid.status_code == 422
    assert [e["field"] for e in invalid.json()["errors"]] == ["buyer_address.country"]
    bad_email = client.post(url, json={"reason": "x", "buyer_email": "not-an-address"}, headers=auth)
    assert bad_email.status_code == 422 and bad_email.json()["errors"][0]["field"] == "buyer_email"

    other = client.post(url, json={"reason": "x", "buyer_address": NEW_ADDRESS}, headers=token_for("globex"))
    assert other.status_code == 404
    assert (
        client.post(
            "/invoices/nope/corrections", json={"reason": "x", "buyer_address": NEW_ADDRESS}, headers=auth
        ).status_code
        == 404
    )

    assert _record(engine, invoice_id).payload == payload
    with session_scope(engine) as session:
        [delivery] = service.invoice_view(session, "acme", invoice_id)["deliveries"]
    assert [e["to"] for e in delivery["events"]] == ["queued", "rendering", "sending", "delivered"]


def test_cli_correct(
    monkeypatch: pytest.MonkeyPatch, engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    monkeypatch.setenv("GATEWAY_DATABASE_URL", settings.database)
    monkeypatch.setenv("GATEWAY_DATA_DIR", str(settings.data_dir))
    invoice_id = _delivered(engine, settings)
    address = tmp_path / "address.json"
    address.write_text(json.dumps(NEW_ADDRESS))
    runner = CliRunner()
    result = runner.invoke(
        cli_app,
        ["correct", invoice_id, "--tenant", "acme", "--reason", "returned mail",
         "--address-json", str(address), "--email", "ap@midnattsol.example", "--resend"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "corrected" in result.output and "attempt 2" in result.output
    invoice = canonical_json.parse(_record(engine, invoice_id).payload)
    assert invoice.buyer.address is not None and invoice.buyer.address.city == "Bodø"
    assert invoice.buyer.contact is not None and invoice.buyer.contact.email == "ap@midnattsol.example"

    again = runner.invoke(
        cli_app, ["correct", invoice_id, "--tenant", "acme", "--reason", "x", "--address-json", str(address)]
    )
    assert again.exit_code == 1 and "nothing to correct" in again.output
    other = runner.invoke(
        cli_app, ["correct", invoice_id, "--tenant", "globex", "--reason", "x", "--email", "a@b.no"]
    )
    assert other.exit_code == 1 and "not found" in other.output
