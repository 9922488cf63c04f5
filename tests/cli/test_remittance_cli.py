"""`gateway remittance receive | drop` receive and then match through the one intake
(`gateway.services.payments.intake`): a run only when a file was accepted now, and a busy tenant's
payments left to the worker with a word instead of a traceback."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from typer.testing import CliRunner

from gateway.cli import app as cli_app
from gateway.samples import sample_invoice_json
from gateway.services.payments.intake import MATCHING_DEFERRED
from gateway.services.payments.matching_runs import acquire_lease, release_lease
from gateway.settings import Settings
from tests.remittance_files import Tx, camt054


@pytest.fixture
def runner(monkeypatch: pytest.MonkeyPatch, settings: Settings) -> CliRunner:
    import gateway.cli

    monkeypatch.setenv("GATEWAY_DATABASE_URL", settings.database)
    monkeypatch.setenv("GATEWAY_DATA_DIR", str(settings.data_dir))
    monkeypatch.setattr(gateway.cli.console, "width", 200)
    return CliRunner()


def _invoice(client: TestClient, auth: dict[str, Any], n: int) -> dict[str, Any]:
    answer = client.post("/invoices", json=sample_invoice_json(n), headers=auth)
    assert answer.status_code == 201, answer.text
    return dict(client.get(f"/invoices/{answer.json()['invoice_id']}", headers=auth).json())


def _pays(invoice: dict[str, Any], reference: str) -> bytes:
    tx = Tx(Decimal(invoice["payable_amount"]), kid=invoice["payment_reference"], reference=reference)
    return camt054([tx], message_id=reference)


def _status(client: TestClient, auth: dict[str, Any], invoice: dict[str, Any]) -> str:
    return str(client.get(f"/invoices/{invoice['id']}", headers=auth).json()["payment"]["payment_status"])


def test_drop_receives_then_matches_once(
    client: TestClient, auth: dict[str, Any], runner: CliRunner, tmp_path: Path
) -> None:
    invoice = _invoice(client, auth, 1)
    drop = tmp_path / "drop"
    drop.mkdir()
    (drop / "good.xml").write_bytes(_pays(invoice, "D1"))
    (drop / "bad.xml").write_bytes(b"<Document/>")
    (drop / "half.xml.part").write_bytes(b"<")
    result = runner.invoke(cli_app, ["remittance", "drop", str(drop), "--tenant", "acme"])
    assert result.exit_code == 2, result.output  # bad.xml was rejected
    assert "matching: {'applied': 1}" in result.output
    assert _status(client, auth, invoice) == "paid"
    assert sorted(p.name for p in (drop / "done").iterdir()) == ["good.xml"]
    assert sorted(p.name for p in (drop / "rejected").iterdir()) == ["bad.xml", "bad.xml.reason.txt"]
    assert (drop / "half.xml.part").exists()
    # nothing new: no run
    again = runner.invoke(cli_app, ["remittance", "drop", str(drop), "--tenant", "acme"])
    assert again.exit_code == 0 and "matching" not in again.output
    missing = runner.invoke(cli_app, ["remittance", "drop", str(tmp_path / "nope"), "--tenant", "acme"])
    assert missing.exit_code == 2 and "not a directory" in " ".join(missing.output.split())


def test_receive_matches_only_what_it_accepted_and_defers_when_busy(
    client: TestClient, auth: dict[str, Any], runner: CliRunner, engine: Engine, tmp_path: Path
) -> None:
    first, second = _invoice(client, auth, 1), _invoice(client, auth, 2)
    path = tmp_path / "first.xml"
    path.write_bytes(_pays(first, "R1"))
    received = runner.invoke(cli_app, ["remittance", "receive", str(path), "--tenant", "acme"])
    assert received.exit_code == 0, received.output
    assert "matching: {'applied': 1}" in received.output and _status(client, auth, first) == "paid"
    repeat = runner.invoke(cli_app, ["remittance", "receive", str(path), "--tenant", "acme", "--json"])
    assert repeat.exit_code == 0, repeat.output
    assert '"matching": null' in repeat.output and '"outcome": "duplicate"' in repeat.output

    other = tmp_path / "second.xml"
    other.write_bytes(_pays(second, "R2"))
    assert acquire_lease(engine, "acme", "someone-else")
    busy = runner.invoke(cli_app, ["remittance", "receive", str(other), "--tenant", "acme"])
    release_lease(engine, "acme", "someone-else")
    assert busy.exit_code == 0, busy.output
    assert f"matching: {MATCHING_DEFERRED}" in busy.output
    assert _status(client, auth, second) == "unpaid"  # booked, waiting for the worker's run
