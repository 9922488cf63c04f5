"""EHF deliveries are validated with the official rules before they leave; a failure never leaves."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from db.engine import session_scope
from gateway.samples import sample_invoice_json
from gateway.services.outbound import deliveries as service
from gateway.services.outbound.intake import IntakeItem, accept_invoices
from gateway.services.tenancy.tenants import ensure_tenant
from gateway.settings import Settings
from gateway.worker import Worker
from mappings.invoice import cii
from tests.conftest import SHARED

RULES = SHARED / "validation"


def _deliver(engine: Engine, settings: Settings, invoice: dict[str, Any]) -> dict[str, Any]:
    with session_scope(engine) as session:
        ensure_tenant(session, "acme")
    invoice["routing"] = {"format": "ehf"}
    [result] = accept_invoices(engine, "acme", [IntakeItem(invoice)], actor="test", default_channel="folder")
    assert result.outcome == "created", result.errors
    Worker(engine, settings).run(once=True)
    with session_scope(engine) as session:
        [delivery] = service.invoice_view(session, "acme", result.invoice_id or "")["deliveries"]
    return delivery


@pytest.fixture
def ehf_settings(settings: Settings) -> Settings:
    settings.rules_dir = RULES
    return settings


def test_valid_ehf_is_validated_then_delivered(engine: Engine, ehf_settings: Settings) -> None:
    delivery = _deliver(engine, ehf_settings, sample_invoice_json(1))
    assert delivery["status"] == "delivered", delivery["last_error"]
    sending = next(e for e in delivery["events"] if e["to"] == "sending")
    assert sending["details"]["format"] == "ehf"
    assert "PEPPOL-EN16931-UBL-3.0.21" in sending["details"]["validation"]["rule_sets"]
    written = Path(delivery["channel_message_id"])
    assert written.suffix == ".xml" and b"<cbc:CustomizationID>" in written.read_bytes()


def test_invalid_ehf_never_leaves_and_says_why(
    engine: Engine, ehf_settings: Settings, outbound_dir: Path
) -> None:
    invoice = sample_invoice_json(2)
    invoice["seller"]["vat_id"] = "NO987654321MVA"  # fails the mod 11 check: EHF rule NO-R-001
    delivery = _deliver(engine, ehf_settings, invoice)
    assert delivery["status"] == "deviation"
    assert "NO-R-001" in delivery["last_error"]
    findings = delivery["events"][-1]["details"]["validation"]["findings"]
    assert any(f["rule_id"] == "NO-R-001" and f["flag"] == "fatal" for f in findings)
    assert not list(outbound_dir.rglob("*.xml"))
    assert not [e for e in delivery["events"] if e["to"] == "sending"]


def test_without_rules_dir_xsd_and_cen_still_run(engine: Engine, settings: Settings) -> None:
    settings.rules_dir = None
    delivery = _deliver(engine, settings, sample_invoice_json(3))
    assert delivery["status"] == "delivered"
    sending = next(e for e in delivery["events"] if e["to"] == "sending")
    rule_sets = sending["details"]["validation"]["rule_sets"]
    assert any(name.startswith("CEN-EN16931") for name in rule_sets)
    assert not any(name.startswith("PEPPOL") for name in rule_sets)


def test_cii_en16931_invoice_as_ehf_is_refused_for_r120_by_the_official_rules(
    engine: Engine, ehf_settings: Settings, outbound_dir: Path
) -> None:
    """An EN 16931 CII invoice (official CEN `CII_business_example_01`: net price 1273 per base quantity 1273,
    one unit, line net 1273) is accepted at intake, R120 being PEPPOL's rule and not EN 16931's. Routed to a
    folder as EHF, it takes PEPPOL BIS Billing 3.0's identifiers (no R004 for its specification id), so the
    worker's official validation applies PEPPOL-EN16931-R120 and refuses it, naming the rule: a deviation,
    nothing written."""
    body = (RULES / "cii-d16b" / "examples" / "CII_business_example_01.xml").read_bytes()
    invoice = cii.parse(body)
    assert invoice.customization_id == cii.EN16931
    assert {w.rule for w in invoice.arithmetic_warnings} == {"PEPPOL-EN16931-R120"}
    delivery = _deliver(engine, ehf_settings, invoice.model_dump(mode="json", exclude_none=True))
    assert delivery["status"] == "deviation"
    assert "PEPPOL-EN16931-R120" in delivery["last_error"]
    validation = delivery["events"][-1]["details"]["validation"]
    refused_by = {f["rule_id"] for f in validation["findings"] if f["flag"] == "fatal"}
    assert "PEPPOL-EN16931-R120" in refused_by and "PEPPOL-EN16931-R004" not in refused_by
    assert any(rule_set.startswith("PEPPOL-EN16931-UBL") for rule_set in validation["rule_sets"])
    assert not list(outbound_dir.rglob("*.xml"))
