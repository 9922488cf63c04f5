"""Invoice intake as a service: one batch meets its own repeats, and one refused invoice spoils nothing.

The API tests cover repeats across requests; these cover what one batch learns as it goes (an invoice
accepted early in a batch is a known invoice for the rest of it).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from typer.testing import CliRunner

import gateway.cli
from db.engine import session_scope
from db.models import Delivery, DeliveryEvent, InvoiceRecord
from gateway.cli import app as cli_app
from gateway.samples import sample_invoice_json
from gateway.services.outbound.intake import IntakeItem, accept_invoices
from gateway.services.tenancy.tenants import ensure_tenant
from gateway.settings import Settings


def _accept(engine: Engine, items: list[IntakeItem]) -> list[Any]:
    with session_scope(engine) as session:
        ensure_tenant(session, "acme")
    return accept_invoices(engine, "acme", items, actor="test", default_channel="folder")


def _count(engine: Engine, table: Any) -> int:
    with session_scope(engine) as session:
        return int(session.execute(select(func.count()).select_from(table)).scalar_one())


def test_one_batch_answers_its_own_repeats(engine: Engine) -> None:
    changed = sample_invoice_json(1)
    changed["notes"] = ["another invoice under the same number"]
    results = _accept(
        engine,
        [
            IntakeItem(sample_invoice_json(1)),
            IntakeItem(sample_invoice_json(1)),
            IntakeItem(changed, idempotency_key="k-other"),
            IntakeItem(sample_invoice_json(2), idempotency_key="k-2"),
            IntakeItem(sample_invoice_json(3), idempotency_key="k-2"),
        ],
    )
    assert [r.outcome for r in results] == ["created", "duplicate", "conflict", "created", "conflict"]
    assert results[1].invoice_id == results[2].invoice_id == results[0].invoice_id
    assert results[4].invoice_id == results[3].invoice_id
    assert results[2].errors == [
        {
            "field": "number",
            "reason": "invoice INV-000001 exists with other content; send a credit note or a new number",
        }
    ]
    assert "Idempotency-Key" in results[4].errors[0]["reason"]
    assert (_count(engine, InvoiceRecord), _count(engine, Delivery), _count(engine, DeliveryEvent)) == (
        2,
        2,
        2,
    )


def test_a_refused_route_rejects_only_its_invoice(engine: Engine) -> None:
    unknown = sample_invoice_json(2)
    unknown["routing"] = {"receiver_id": "nobody"}
    results = _accept(engine, [IntakeItem(sample_invoice_json(1)), IntakeItem(unknown), IntakeItem("junk")])
    assert [r.outcome for r in results] == ["created", "rejected", "rejected"]
    assert results[1].errors == [
        {"field": "routing.receiver_id", "reason": "no receiver profile 'nobody' for this tenant"}
    ]
    assert results[1].number == unknown["number"]
    assert _count(engine, InvoiceRecord) == 1


# --- addresses checked at intake; conflicts and codes named plainly (issue 14) -----------------------------


def _with_routing(n: int, **routing: str) -> dict[str, Any]:
    invoice = sample_invoice_json(n)
    invoice["routing"] = routing
    return invoice


@pytest.mark.parametrize(
    ("routing", "reason"),
    [
        ({"channel": "email", "address": "ap.example.com"}, "'ap.example.com' is not an e-mail address"),
        ({"channel": "email", "address": "ap@example.local"}, "is not an e-mail address"),
        ({"channel": "peppol", "address": "987654325"}, "is not a PEPPOL participant id 'scheme:value'"),
        ({"channel": "edi", "address": "ica retail"}, "is not a trading partner id"),
    ],
)
def test_api_refuses_an_address_its_channel_cannot_take(
    client: TestClient, auth: dict[str, str], routing: dict[str, str], reason: str
) -> None:
    response = client.post("/invoices", json=_with_routing(1, **routing), headers=auth)
    assert response.status_code == 422, response.text
    [error] = response.json()["errors"]
    assert error["field"] == "routing.address"
    assert reason in error["reason"] and f"channel {routing['channel']}" in error["reason"]
    assert client.get("/deliveries", headers=auth).json()["items"] == []


def test_api_takes_addresses_of_the_right_shape(client: TestClient, auth: dict[str, str]) -> None:
    good = [
        _with_routing(1, channel="email", address="ap@kunde.test"),
        _with_routing(2, channel="peppol", address="0192:987654325"),
        _with_routing(3, channel="edi", address="ica.retail"),
        _with_routing(4, channel="folder", address="any sub folder"),
        _with_routing(5, address="ap@kunde.test"),  # the default channel (folder) takes any text
    ]
    bad = _with_routing(6, channel="email", address="nobody")
    response = client.post("/invoices:bulk", json=[*good, bad], headers=auth)
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert [r["outcome"] for r in results] == ["created"] * 5 + ["rejected"]
    assert results[5]["errors"][0]["field"] == "routing.address"
    addresses = {d["channel"]: d["address"] for d in client.get("/deliveries", headers=auth).json()["items"]}
    assert addresses["email"] == "ap@kunde.test" and addresses["peppol"] == "0192:987654325"


def test_api_refuses_a_receiver_profile_address_at_intake(client: TestClient, auth: dict[str, str]) -> None:
    profile = {
        "receiver_id": "C-7",
        "preferred_channel": "folder",
        "fallback_channels": ["email"],
        "addresses": {"email": "regnskap(at)kunde.no"},
    }
    assert client.put("/receivers/C-7", json=profile, headers=auth).status_code == 200
    response = client.post("/invoices", json=_with_routing(1, receiver_id="C-7"), headers=auth)
    assert response.status_code == 422, response.text
    [error] = response.json()["errors"]
    assert error["field"] == "routing.receiver_id"
    assert error["reason"].startswith("receiver C-7's email address: 'regnskap(at)kunde.no' is not an e-mail")
    assert error["reason"].endswith("; correct the receiver profile")


def test_api_conflict_without_a_key_names_the_number_not_the_key(
    client: TestClient, auth: dict[str, str]
) -> None:
    assert client.post("/invoices", json=sample_invoice_json(1), headers=auth).status_code == 201
    changed = sample_invoice_json(1)
    changed["notes"] = ["other content, the same number"]
    conflict = client.post("/invoices", json=changed, headers=auth)
    assert conflict.status_code == 409
    assert conflict.json()["errors"] == [
        {
            "field": "number",
            "reason": "invoice INV-000001 exists with other content; send a credit note or a new number",
        }
    ]
    keyed = client.post(
        "/invoices", json=sample_invoice_json(2), headers={**auth, "Idempotency-Key": "k-9"}
    ).status_code
    assert keyed == 201
    reused = client.post("/invoices", json=sample_invoice_json(3), headers={**auth, "Idempotency-Key": "k-9"})
    assert reused.status_code == 409
    assert reused.json()["errors"][0]["reason"] == "Idempotency-Key was used before for a different invoice"


def test_api_names_the_unknown_country_code(client: TestClient, auth: dict[str, str]) -> None:
    invoice = sample_invoice_json(1)
    invoice["buyer"]["address"]["country"] = "XQ"
    response = client.post("/invoices", json=invoice, headers=auth)
    assert response.status_code == 422
    [error] = [e for e in response.json()["errors"] if e["field"] == "buyer.address.country"]
    assert error["reason"] == "unknown ISO 3166-1 alpha-2 country code 'XQ'"


def test_cli_send_names_the_address_the_number_and_the_country(
    settings: Settings, engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(gateway.cli.console, "width", 400)
    runner = CliRunner()
    bad_address = tmp_path / "bad-address.json"
    bad_address.write_text(json.dumps(_with_routing(1, channel="email", address="ap.kunde.test")))
    result = runner.invoke(cli_app, ["send", str(bad_address), "--tenant", "acme"], obj=settings)
    assert result.exit_code != 0
    assert "routing.address" in result.output and "is not an e-mail address" in result.output

    first, changed, bad_country = tmp_path / "first.json", tmp_path / "changed.json", tmp_path / "xq.json"
    first.write_text(json.dumps(sample_invoice_json(2)))
    other = sample_invoice_json(2)
    other["notes"] = ["other content"]
    changed.write_text(json.dumps(other))
    country = sample_invoice_json(3)
    country["buyer"]["address"]["country"] = "XQ"
    bad_country.write_text(json.dumps(country))
    assert runner.invoke(cli_app, ["send", str(first), "--tenant", "acme"], obj=settings).exit_code == 0
    result = runner.invoke(
        cli_app, ["send", str(changed), str(bad_country), "--tenant", "acme"], obj=settings
    )
    assert result.exit_code != 0
    assert "invoice INV-000002 exists with other content; send a credit note or a new number" in " ".join(
        result.output.split()
    )
    assert "unknown ISO 3166-1 alpha-2 country code 'XQ'" in result.output
    assert "{code" not in result.output
    with session_scope(engine) as session:
        assert session.execute(select(func.count()).select_from(InvoiceRecord)).scalar_one() == 1
