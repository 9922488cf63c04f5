"""The worker reads an invoice's stored payload without checking again what intake checked, unless the
payload changed since (its checksum no longer matches), and compiles the validator when it starts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, update

import schemas.canonical
from db.engine import session_scope
from db.models import InvoiceRecord
from gateway.samples import sample_invoice_json
from gateway.services.outbound import deliveries as service
from gateway.services.outbound.intake import IntakeItem, accept_invoices
from gateway.services.tenancy.tenants import ensure_tenant
from gateway.settings import Settings
from gateway.worker import Worker, runner


@pytest.fixture
def rule_checks(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The invoice numbers the EN 16931 business rules were checked for, from now on."""
    checked: list[str] = []
    original = schemas.canonical.business_rule_violations

    def counting(invoice: schemas.canonical.Invoice) -> list[tuple[str, str, str]]:
        checked.append(invoice.number)
        return original(invoice)

    monkeypatch.setattr(schemas.canonical, "business_rule_violations", counting)
    return checked


def _accept(engine: Engine, invoice: dict[str, Any]) -> str:
    with session_scope(engine) as session:
        ensure_tenant(session, "acme")
    [result] = accept_invoices(engine, "acme", [IntakeItem(invoice)], actor="test", default_channel="folder")
    assert result.outcome == "created", result.errors
    return result.invoice_id or ""


def _delivery(engine: Engine, invoice_id: str) -> dict[str, Any]:
    with session_scope(engine) as session:
        [delivery] = service.invoice_view(session, "acme", invoice_id)["deliveries"]
    return delivery


def test_an_unchanged_payload_is_not_checked_again(
    engine: Engine, settings: Settings, rule_checks: list[str]
) -> None:
    invoice_id = _accept(engine, sample_invoice_json(1))
    assert "INV-000001" in rule_checks  # intake checked it
    rule_checks.clear()
    assert Worker(engine, settings, worker_id="w").run(once=True).outcomes == {"delivered": 1}
    assert rule_checks == []  # the worker trusted its checksum
    written = Path(_delivery(engine, invoice_id)["channel_message_id"])
    assert json.loads(written.read_text())["number"] == "INV-000001"


def test_a_payload_edited_in_the_database_is_checked_in_full(
    engine: Engine, settings: Settings, rule_checks: list[str]
) -> None:
    invoice_id = _accept(engine, sample_invoice_json(2))
    with session_scope(engine) as session:
        payload = json.loads(session.get(InvoiceRecord, invoice_id).payload)  # type: ignore[union-attr]
        payload["totals"]["payable"] = "1.00"  # breaks BR-CO-16; payload_sha256 left as intake wrote it
        session.execute(
            update(InvoiceRecord).where(InvoiceRecord.id == invoice_id).values(payload=json.dumps(payload))  # type: ignore[arg-type]
        )
    rule_checks.clear()
    assert Worker(engine, settings, worker_id="w").run(once=True).outcomes == {"deviation": 1}
    assert rule_checks == ["INV-000002"]
    delivery = _delivery(engine, invoice_id)
    assert delivery["status"] == "deviation"
    assert "BR-CO-16" in delivery["last_error"]


def test_the_worker_compiles_the_validator_when_it_starts(
    engine: Engine, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    warmed: list[Path | None] = []

    class Recording:
        def warm_up(self) -> None:
            warmed.append(settings.rules_dir)

    monkeypatch.setattr(runner, "validator_from_settings", lambda given: Recording())
    Worker(engine, settings, worker_id="w").run(once=True)  # nothing queued: no delivery validated
    assert warmed == [settings.rules_dir]


def test_rules_that_cannot_be_read_do_not_stop_the_worker_starting(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    settings.rules_dir = tmp_path / "no-such-rules"
    assert Worker(engine, settings, worker_id="w").run(once=True).outcomes == {}
