"""The command line finds things by what people know: invoice numbers and unique id prefixes wherever an id is
taken (an ambiguous one exits 2 listing the candidates), `gateway invoices` and `gateway document`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from gateway.cli import app
from gateway.samples import sample_invoice_json
from gateway.settings import Settings
from tests.api.test_search import post
from tests.remittance_files import Tx, camt054

runner = CliRunner()
Auth = dict[str, str]


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, settings: Settings, client: TestClient) -> Settings:
    """The CLI on the same outbox as `client` (which made the schema)."""
    monkeypatch.setenv("GATEWAY_DATABASE_URL", settings.database)
    monkeypatch.setenv("GATEWAY_DATA_DIR", str(settings.data_dir))
    monkeypatch.chdir(settings.data_dir.parent)
    return settings


def gateway(*args: str) -> Any:
    return runner.invoke(app, list(args))


def test_status_resend_correct_and_release_take_a_number_or_an_id_prefix(
    cli_env: Settings, client: TestClient, auth: Auth
) -> None:
    invoice = post(client, auth, sample_invoice_json(2))
    shown = gateway("status", "INV-000002", "--json")
    assert shown.exit_code == 0, shown.output
    assert json.loads(shown.output)["id"] == invoice["id"]
    for prefix in (invoice["id"][:6], invoice["id"][:6].upper(), invoice["deliveries"][0]["id"][:8]):
        by_prefix = gateway("status", prefix, "--json")
        assert by_prefix.exit_code == 0, by_prefix.output
        assert json.loads(by_prefix.output)["id"] == invoice["id"]
    missing = gateway("status", "INV-999999")
    assert missing.exit_code == 1 and "INV-999999" in missing.output
    assert gateway("worker", "--once").exit_code == 0
    resent = gateway("resend", "INV-000002", "--reason", "lost")
    assert resent.exit_code == 0, resent.output
    assert f"delivery {invoice['deliveries'][0]['id']} queued again" in resent.output
    corrected = gateway(
        "correct", "INV-000002", "--tenant", "acme", "--reason", "moved", "--email", "ap@vestkyst.example"
    )
    assert corrected.exit_code == 0, corrected.output
    view = client.get("/invoices/INV-000002", headers=auth).json()
    assert any("corrected" in (event["reason"] or "") for event in view["deliveries"][0]["events"])
    held = gateway("release", invoice["id"][:10])
    assert held.exit_code == 1 and "not held" in held.output  # found by its prefix, refused for its state


@pytest.fixture
def shared_prefixes(monkeypatch: pytest.MonkeyPatch) -> None:
    """The intake's next ids: two invoices that share `abcd`, and their deliveries sharing `dddd`."""
    ids = iter(f"{kind}{n}{'0' * 27}" for n in (1, 2) for kind in ("abcd", "dddd"))
    monkeypatch.setattr("gateway.services.outbound.intake.new_id", lambda: next(ids))


def test_an_ambiguous_number_or_prefix_exits_2_listing_the_candidates(
    cli_env: Settings, client: TestClient, auth: Auth, shared_prefixes: None
) -> None:
    invoice = post(client, auth, sample_invoice_json(1))
    credit = post(client, auth, sample_invoice_json(1, credit_note=True, number_prefix="INV"))
    assert {invoice["id"][:4], credit["id"][:4]} == {"abcd"}
    for command in (
        ("status", "INV-000001"),
        ("status", "abcd"),
        ("resend", "abcd"),
        ("correct", "abcd", "--tenant", "acme", "--reason", "x", "--email", "a@b.example"),
        ("release", "dddd"),
    ):
        answer = gateway(*command)
        assert answer.exit_code == 2, (command, answer.output)
        listed = answer.output.replace("\n", "")
        expected = [invoice["id"], credit["id"]] if command[1] != "dddd" else ["dddd1", "dddd2"]
        assert all(identifier in listed for identifier in expected), (command, answer.output)
    assert json.loads(gateway("status", "abcd1", "--json").output)["id"] == invoice["id"]
    assert json.loads(gateway("status", "dddd2", "--json").output)["id"] == credit["id"]
    assert gateway("status", "abc").exit_code == 1  # shorter than git's four: no prefix search


def test_payments_resolve_takes_an_invoice_number(cli_env: Settings, client: TestClient, auth: Auth) -> None:
    post(client, auth, sample_invoice_json(2))
    tx = Tx(Decimal("500.00"), payer="SOMEONE ELSE AS", account="12345678903", reference="see mail")
    answer = client.post(
        "/remittances", content=camt054([tx]), headers={**auth, "Content-Type": "application/xml"}
    )
    assert answer.status_code == 201, answer.text
    [payment] = client.get("/payments", headers=auth).json()["items"]
    unknown = gateway(
        "payments", "resolve", payment["id"], "--invoice", "INV-999999=500.00", "--tenant", "acme"
    )
    assert unknown.exit_code == 2 and "INV-999999" in unknown.output
    resolved = gateway(
        "payments", "resolve", payment["id"], "--invoice", "INV-000002=500.00", "--tenant", "acme"
    )
    assert resolved.exit_code == 0, resolved.output
    view = client.get("/invoices/INV-000002", headers=auth).json()
    assert view["payment"]["payment_status"] == "partially_paid"
    assert view["payment"]["open_amount"] == str(Decimal(view["payable_amount"]) - Decimal("500.00"))
    post(client, auth, sample_invoice_json(2, credit_note=True, number_prefix="INV"))
    ambiguous = gateway(
        "payments", "resolve", payment["id"], "--invoice", "INV-000002=500", "--tenant", "acme"
    )
    assert ambiguous.exit_code == 2 and "credit_note" in ambiguous.output


def test_invoices_lists_like_the_api(cli_env: Settings, client: TestClient, auth: Auth) -> None:
    for n in (1, 2, 3, 4):
        post(client, auth, sample_invoice_json(n))
    listed = gateway("invoices", "--buyer", "DRIFT", "--tenant", "acme", "--json")
    assert listed.exit_code == 0, listed.output
    body = json.loads(listed.output)
    assert set(body) == {"items", "next"} and body["next"] is None
    api = client.get("/invoices", params={"buyer": "DRIFT"}, headers=auth).json()
    assert body["items"] == api["items"]
    assert [item["number"] for item in body["items"]] == ["INV-000004", "INV-000001"]
    first = json.loads(
        gateway("invoices", "--tenant", "acme", "--json", "--limit", "3", "--sort", "number").output
    )
    rest = json.loads(
        gateway(
            "invoices", "--tenant", "acme", "--json", "--sort", "number", "--cursor", first["next"]
        ).output
    )
    assert [i["number"] for i in first["items"] + rest["items"]] == [f"INV-00000{n}" for n in (1, 2, 3, 4)]
    one_box = json.loads(gateway("invoices", "INV-000003", "--tenant", "acme", "--json").output)
    assert [item["number"] for item in one_box["items"]] == ["INV-000003"]
    table = gateway("invoices", "INV-000003", "--tenant", "acme")
    # piped: plain tab-separated rows, no header, nothing cut
    assert table.exit_code == 0 and table.output.startswith("INV-000003\t") and "queued" in table.output
    for bad, option in ((("--amount", "1.234"), "--amount"), (("--status", "lost"), "--status")):
        refused = gateway("invoices", *bad, "--tenant", "acme")
        assert refused.exit_code == 2 and option in refused.output, refused.output
    tampered = gateway("invoices", "--tenant", "acme", "--cursor", "nonsense")
    assert tampered.exit_code == 2 and "cursor" in tampered.output


def _gateway_process(settings: Settings, *args: str) -> subprocess.CompletedProcess[bytes]:
    environment = {
        **os.environ,
        "GATEWAY_DATABASE_URL": settings.database,
        "GATEWAY_DATA_DIR": str(settings.data_dir),
    }
    return subprocess.run(
        [sys.executable, "-c", "from gateway.cli import app; app()", *args],
        env=environment,
        capture_output=True,
        timeout=120,
        check=False,
    )


def test_document_writes_the_document_as_sent(
    cli_env: Settings, client: TestClient, auth: Auth, tmp_path: Path
) -> None:
    invoice = post(client, auth, sample_invoice_json(1))
    assert gateway("worker", "--once").exit_code == 0
    view = json.loads(gateway("status", "INV-000001", "--json").output)
    [event] = [e for e in view["deliveries"][0]["events"] if e["to"] == "delivered"]
    document_id = event["details"]["document_id"]
    sent = client.get(f"/documents/{document_id}", headers=auth).content
    [sent_file] = (cli_env.data_dir / "outbound").rglob(
        f"INV-000001__{invoice['deliveries'][0]['id']}-1.json"
    )
    assert sent == sent_file.read_bytes()

    target = tmp_path / "copy.json"
    written = gateway("document", document_id[:8], "-o", str(target))
    assert written.exit_code == 0, written.output
    assert target.read_bytes() == sent
    again = gateway("document", document_id, "-o", str(target))
    assert again.exit_code == 1 and "--force" in again.output
    assert gateway("document", document_id, "-o", str(target), "--force").exit_code == 0
    default = gateway("document", document_id)
    assert default.exit_code == 0 and (Path.cwd() / "INV-000001.json").read_bytes() == sent
    assert gateway("document", "0" * 32).exit_code == 1
    assert gateway("document", document_id, "--tenant", "globex").exit_code == 1
    piped = _gateway_process(cli_env, "document", document_id, "-o", "-")
    assert piped.returncode == 0, piped.stderr
    assert piped.stdout == sent
