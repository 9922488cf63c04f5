"""`gateway render --to avtalegiro-claims` and `gateway inspect` on AvtaleGiro files: what a person checks."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import netsgiro
from typer.testing import CliRunner

from gateway.cli import app
from gateway.samples import sample_invoice_json
from tests.conftest import SHARED

runner = CliRunner()
SAMPLES = SHARED / "samples" / "ocr"


def test_render_prints_a_one_claim_file(tmp_path: Path) -> None:
    invoice = sample_invoice_json(4)
    invoice["due_date"] = "2027-02-15"
    source = tmp_path / "invoice.json"
    source.write_text(json.dumps(invoice))
    result = runner.invoke(app, ["render", str(source), "--to", "avtalegiro-claims"])
    assert result.exit_code == 0, result.output
    (assignment,) = netsgiro.parse(result.stdout.strip("\n")).assignments
    (claim,) = assignment.transactions
    assert (claim.kid, claim.amount, claim.date.isoformat()) == (
        invoice["payment_means"][0]["payment_id"], Decimal(invoice["totals"]["payable"]), "2027-02-15",
    )  # fmt: skip
    assert invoice["number"] in claim.text  # the bank's notice names the invoice


def test_render_refuses_an_invoice_without_kid(tmp_path: Path) -> None:
    invoice = sample_invoice_json(4)
    invoice["payment_means"] = []
    source = tmp_path / "invoice.json"
    source.write_text(json.dumps(invoice))
    result = runner.invoke(app, ["render", str(source), "--to", "avtalegiro-claims"])
    assert result.exit_code == 2
    assert "payment_means.payment_id" in result.output


def test_inspect_reads_claim_and_agreements_files() -> None:
    claims = runner.invoke(
        app, ["inspect", str(SAMPLES / "netsgiro_avtalegiro_payment_request.txt"), "--json"]
    )
    assert claims.exit_code == 0, claims.output
    facts = json.loads(claims.stdout)
    assert facts["format"] == "avtalegiro-claims"
    assert [c["kid"] for c in facts["claims"]][:2] == ["008000011688373", "008000021688389"]
    assert {(c["amount"], c["due_date"]) for c in facts["claims"]} == {("1.00", "2004-06-17")}
    assert facts["cancellations"] == []
    agreements = runner.invoke(
        app, ["inspect", str(SAMPLES / "netsgiro_avtalegiro_agreements.txt"), "--json"]
    )
    assert agreements.exit_code == 0, agreements.output
    facts = json.loads(agreements.stdout)
    assert facts["format"] == "avtalegiro-agreements"
    assert len(facts["mandates"]) == 16
    assert facts["mandates"][0] == {
        "kid": "000112000507155", "status": "active", "registration": "new or updated", "notify": True,
        "line": 3,
    }  # fmt: skip
    summary = runner.invoke(app, ["inspect", str(SAMPLES / "netsgiro_avtalegiro_agreements.txt")])
    assert summary.exit_code == 0 and "avtalegiro-agreements" in summary.output
