"""Disputes and promises from the command line, with the API beside it: a credit proposed over the API is
approved on the host by another person (four eyes), becomes a credit note the worker delivers through the
folder channel, and closes the invoice."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlmodel import col

from db.engine import session_scope
from db.models import Delivery, InvoiceRecord
from db.models.followup import Dispute
from gateway.samples import sample_invoice_json
from gateway.services.followup.disputes import today
from gateway.settings import Settings
from gateway.worker import Worker
from tests.cli.conftest import invoke
from tests.portal.helpers import portal_session
from tests.portal.mailbox import Mailbox, mail_settings, mailbox
from tests.services.test_pods import make_png
from tests.services.test_portal_inquiries import customer_invoice

Auth = dict[str, Any]
__all__ = ["mailbox"]  # the loopback SMTP fixture


def _invoice(client: TestClient, auth: Auth, n: int = 1) -> dict[str, Any]:
    answer = client.post("/invoices", json=sample_invoice_json(n), headers=auth)
    assert answer.status_code == 201, answer.text
    body: dict[str, Any] = answer.json()
    return body


def test_a_credited_dispute_becomes_an_approved_delivered_credit_note_that_closes_the_invoice(
    cli_env: Settings, client: TestClient, auth: Auth, engine: Engine
) -> None:
    invoice = _invoice(client, auth)
    with session_scope(engine) as session:
        record = session.get(InvoiceRecord, invoice["invoice_id"])
        assert record is not None
        payable = record.payable_amount
    dispute = client.post(
        f"/invoices/{invoice['invoice_id']}/disputes",
        json={"reason": "the whole delivery went back", "category": "goods"},
        headers=auth,
    ).json()
    proposed = client.post(
        f"/disputes/{dispute['id']}/resolve",
        json={"outcome": "credited", "note": "goods returned", "credit_amount": payable},
        headers=auth,
    )
    assert proposed.status_code == 200 and proposed.json()["status"] == "awaiting_approval"

    own = invoke(
        "disputes", "approve", dispute["id"], "--as", "erp", "--tenant", "acme"
    )  # proposed as api:erp
    assert own.exit_code == 1 and "four eyes" in own.output
    foreign = invoke("disputes", "approve", dispute["id"], "--as", "kari", "--tenant", "globex")
    assert foreign.exit_code == 1 and "no dispute" in foreign.output
    approved = invoke("disputes", "approve", dispute["id"], "--as", "kari", "--tenant", "acme")
    assert approved.exit_code == 0, approved.output
    again = invoke("disputes", "approve", dispute["id"], "--as", "kari", "--tenant", "acme")
    assert again.exit_code == 1 and "no credit awaits approval" in again.output

    with session_scope(engine) as session:
        row = session.get(Dispute, dispute["id"])
        assert row is not None and row.status == "credited" and row.resolved_by == "cli:kari"
        assert row.credit_note_invoice_id is not None
        credit_note = session.get(InvoiceRecord, row.credit_note_invoice_id)
        assert credit_note is not None and credit_note.document_type == "credit_note"
        assert Decimal(credit_note.payable_amount) == Decimal(payable)
        payload = json.loads(credit_note.payload)
        assert payload["preceding_invoices"][0]["id"] == invoice["number"]  # BT-25
        assert payload["preceding_invoices"][0]["issue_date"] == "2026-11-02"  # BT-26
        original = json.loads(record.payload)["vat_breakdown"]
        # the whole invoice credited: each VAT category gets back exactly what it was invoiced
        assert [
            (vb["category"], vb.get("rate"), vb["taxable_amount"], vb["tax_amount"]) for vb in original
        ] == [
            (vb["category"], vb.get("rate"), vb["taxable_amount"], vb["tax_amount"])
            for vb in payload["vat_breakdown"]
        ]
        closed = session.get(InvoiceRecord, invoice["invoice_id"])
        assert (
            closed is not None and closed.payment_status == "paid" and Decimal(closed.open_amount or "1") == 0
        )
        [delivery_id] = (
            session.execute(select(col(Delivery.id)).where(col(Delivery.invoice_id) == credit_note.id))
            .scalars()
            .all()
        )

    Worker(engine, cli_env).run(once=True)
    with session_scope(engine) as session:
        delivery = session.get(Delivery, delivery_id)
        assert delivery is not None
        assert delivery.status == "delivered", delivery.last_error
    written = [p.name for p in (cli_env.data_dir / "outbound").rglob("*") if p.is_file()]
    assert any(f"CN-{invoice['number']}-1" in name for name in written), written

    shown = json.loads(invoke("disputes", "show", dispute["id"], "--tenant", "acme", "--json").output)
    assert [m["event"] for m in shown["messages"]] == ["opened", "credit_proposed", "credited"]
    assert shown["invoice"]["payment_status"] == "paid"


def test_disputes_and_promises_from_the_command_line(
    cli_env: Settings, client: TestClient, auth: Auth, engine: Engine, tmp_path: Path
) -> None:
    invoice = _invoice(client, auth)
    opened = invoke(
        "disputes", "open", invoice["number"], "--reason", "wrong price", "--category", "wrong_amount",
        "--amount", "50", "--owner", "kari", "--tenant", "acme", "--as", "ola",
    )  # fmt: skip
    assert opened.exit_code == 0, opened.output
    [listed] = json.loads(invoke("disputes", "list", "--tenant", "acme", "--json").output)["items"]
    assert listed["owner"] == "kari" and listed["amount"] == "50.00" and listed["opened_by"] == "cli:ola"
    photo = tmp_path / "scan.png"
    photo.write_bytes(make_png(3, 3))
    noted = invoke(
        "disputes", "note", listed["id"], "customer called", "--attach", str(photo), "--tenant", "acme"
    )
    assert noted.exit_code == 0, noted.output
    bad = tmp_path / "evil.png"
    bad.write_bytes(b"#!/bin/sh\nrm -rf /\n")
    refused = invoke("disputes", "note", listed["id"], "--attach", str(bad), "--tenant", "acme")
    assert refused.exit_code == 1 and "attachment.content" in refused.output
    resolved = invoke(
        "disputes", "resolve", listed["id"], "--outcome", "rejected", "--note", "agreed", "--tenant", "acme"
    )
    assert resolved.exit_code == 0 and "rejected" in resolved.output
    assert json.loads(invoke("disputes", "list", "--tenant", "globex", "--json").output)["items"] == []
    assert invoke("disputes", "list", "--tenant", "acme", "--status", "nope").exit_code == 2

    date = (today() + dt.timedelta(days=10)).isoformat()
    added = invoke(
        "promises", "add", invoice["number"], "--date", date, "--amount", "100", "--tenant", "acme"
    )
    assert added.exit_code == 0, added.output
    past = invoke(
        "promises", "add", invoice["number"], "--date", "2020-01-01", "--amount", "1", "--tenant", "acme"
    )
    assert past.exit_code == 1 and "in the past" in past.output
    [promise] = json.loads(invoke("promises", "list", "--tenant", "acme", "--json").output)["items"]
    assert promise["status"] == "open" and promise["amount"] == "100.00" and promise["date"] == date
    assert invoke("promises", "cancel", promise["id"], "--tenant", "globex").exit_code == 1
    assert invoke("promises", "cancel", promise["id"], "--tenant", "acme").exit_code == 0
    [cancelled] = json.loads(
        invoke("promises", "list", "--tenant", "acme", "--status", "cancelled", "--json").output
    )["items"]
    assert cancelled["id"] == promise["id"]


def test_a_credit_approved_on_the_host_is_mailed_to_the_customer_who_asked_in_the_portal(
    cli_env: Settings,
    client: TestClient,
    auth: Auth,
    engine: Engine,
    mailbox: Mailbox,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The command line tells the customer after its transaction, as the console does (a real SMTP server)."""
    invoice_id = customer_invoice(client, auth, 1, "C1")
    identity = portal_session(client, engine, "acme", "C1", email="ap@c1.example")
    asked = client.post(
        f"/portal/invoices/{invoice_id}/inquiry",
        data={"action": "inquiry", "category": "wrong_amount", "text": "Price was 10 % lower",
              "csrf_token": identity.csrf_token},
        files={"x": ("", b"")},
        follow_redirects=False,
    )  # fmt: skip
    assert asked.status_code == 303, asked.text
    dispute_id = asked.headers["location"].rsplit("/", 1)[-1]
    proposed = client.post(
        f"/disputes/{dispute_id}/resolve",
        json={"outcome": "credited", "credit_amount": "100.00"},
        headers=auth,
    )
    assert proposed.status_code == 200 and mailbox.messages == []  # a proposal is not an outcome yet
    channels = mail_settings(cli_env, mailbox).channels
    monkeypatch.setenv("GATEWAY_CHANNELS", json.dumps(channels))
    monkeypatch.setenv("GATEWAY_PORTAL_BASE_URL", "https://portal.acme.test")
    approved = invoke("disputes", "approve", dispute_id, "--as", "kari", "--tenant", "acme")
    assert approved.exit_code == 0, approved.output
    assert "the customer was told by e-mail: ap@c1.example" in approved.output
    body = mailbox.wait_for("ap@c1.example").get_body(("plain",))
    assert body is not None
    text = body.get_content()
    assert "Vi har kreditert 100,00 NOK (kreditnota" in text
    assert f"https://portal.acme.test/portal/inquiries/{dispute_id}" in text
