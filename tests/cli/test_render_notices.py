"""`gateway render INVOICE --to ehf-reminder | reminder-pdf`: the first notice the gateway would send for
an invoice in any format intake reads, on --date (default today), for a person to check."""

from __future__ import annotations

import io
import json
from pathlib import Path

from pypdf import PdfReader
from typer.testing import CliRunner

from gateway.cli import app
from gateway.samples import sample_invoice_json
from gateway.services.validation import get_validator
from mappings.reminder.ehf_reminder import parse
from tests.conftest import SHARED

runner = CliRunner()
UBL_INVOICE = SHARED / "validation" / "examples" / "billing" / "base-example.xml"
CONSUMER_INVOICE = (
    SHARED / "samples" / "ehf" / "dfo_Invoice_EHF3.0_forward-billing-nettleie-consumer_v2.0.xml"
)


def test_ehf_reminder_for_a_ubl_invoice_validates(tmp_path: Path) -> None:
    target = tmp_path / "reminder.xml"
    result = runner.invoke(
        app, ["render", str(UBL_INVOICE), "--to", "ehf-reminder", "--date", "2026-03-01", "-o", str(target)]
    )
    assert result.exit_code == 0, result.output
    report = get_validator(SHARED / "validation").validate(target.read_bytes())
    assert report.findings == [] and len(report.rule_sets) == 4
    notice = parse(target.read_bytes())
    assert notice.notice_date.isoformat() == "2026-03-01" and notice.deadline.isoformat() == "2026-03-15"
    assert notice.currency == "EUR" and notice.fee == 0  # the statutory fee is NOK only
    assert notice.interest > 0  # long past due
    assert notice.invoices[0].number == "Snippet1"


def test_ehf_reminder_for_canonical_json_on_stdout(tmp_path: Path) -> None:
    source = tmp_path / "invoice.json"
    data = sample_invoice_json(8)
    source.write_text(json.dumps(data))
    due = data["due_date"]
    result = runner.invoke(app, ["render", str(source), "--to", "ehf-reminder", "--date", due])
    assert result.exit_code == 0, result.output
    notice = parse(result.stdout_bytes.strip())
    assert notice.fee == 0 and notice.interest == 0  # on the due date: nothing yet
    assert notice.kid == data["payment_means"][0]["payment_id"]


def test_reminder_pdf_for_the_ehf_sample_invoice(tmp_path: Path) -> None:
    target = tmp_path / "reminder.pdf"
    result = runner.invoke(
        app,
        ["render", str(CONSUMER_INVOICE), "--to", "reminder-pdf", "--date", "2026-03-01", "-o", str(target)],
    )
    assert result.exit_code == 0, result.output
    text = "\n".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(target.read_bytes())).pages)
    assert "PURRING" in text and "01.03.2026" in text


def test_a_bad_date_is_a_usage_error(tmp_path: Path) -> None:
    source = tmp_path / "invoice.json"
    source.write_text(json.dumps(sample_invoice_json(8)))
    result = runner.invoke(app, ["render", str(source), "--to", "ehf-reminder", "--date", "1 March"])
    assert result.exit_code == 2
    assert "--date" in result.output
