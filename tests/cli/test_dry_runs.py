"""`gateway render` and `validate` take every invoice format intake takes, not only canonical JSON."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from gateway.cli import app
from gateway.samples import sample_invoice_json
from tests.conftest import SHARED

runner = CliRunner()
X12_810_TWO_INVOICES = SHARED / "samples" / "edi" / "x12" / "810" / "bots_810-004010-01.x12"


@pytest.fixture
def wire_files(tmp_path: Path) -> dict[str, Path]:
    """The same invoice as canonical JSON and as the gateway writes it in EHF, EDIFACT INVOIC and X12 810."""
    source = tmp_path / "invoice.json"
    source.write_text(json.dumps(sample_invoice_json(7)))
    files = {"canonical-json": source}
    wire = (("ehf", "xml"), ("edifact-d96a", "edi"), ("edifact-d01b", "edi"), ("x12-810", "x12"))
    for name, suffix in wire:
        target = tmp_path / f"invoice-{name}.{suffix}"
        result = runner.invoke(app, ["render", str(source), "--to", name, "-o", str(target)])
        assert result.exit_code == 0, result.output
        files[name] = target
    return files


ALL_INVOICE_FORMATS = ["canonical-json", "ehf", "edifact-d96a", "edifact-d01b", "x12-810"]


@pytest.mark.parametrize("source_format", ALL_INVOICE_FORMATS)
def test_render_reads_any_invoice_format(wire_files: dict[str, Path], source_format: str) -> None:
    result = runner.invoke(app, ["render", str(wire_files[source_format]), "--to", "canonical-json"])
    assert result.exit_code == 0, result.output
    read = json.loads(result.output)
    assert read["number"] == "INV-000007"
    assert read["totals"]["payable"] == sample_invoice_json(7)["totals"]["payable"]


@pytest.mark.parametrize("source_format", ["ehf", "edifact-d96a", "x12-810"])
def test_render_a_wire_invoice_as_pdf(
    wire_files: dict[str, Path], source_format: str, tmp_path: Path
) -> None:
    target = tmp_path / "out.pdf"
    result = runner.invoke(app, ["render", str(wire_files[source_format]), "--to", "pdf", "-o", str(target)])
    assert result.exit_code == 0, result.output
    assert target.read_bytes().startswith(b"%PDF-")


@pytest.mark.parametrize("source_format", ["canonical-json", "ehf", "edifact-d01b", "x12-810"])
def test_validate_any_invoice_format_as_the_ehf_it_becomes(
    wire_files: dict[str, Path], source_format: str
) -> None:
    result = runner.invoke(app, ["validate", str(wire_files[source_format]), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["ok"] is True
    assert report["document_kind"] == "invoice"


def test_a_file_of_several_invoices_renders_into_a_folder(tmp_path: Path) -> None:
    refused = runner.invoke(app, ["render", str(X12_810_TWO_INVOICES), "--to", "ehf"])
    assert refused.exit_code == 2
    assert "holds 2 invoices" in refused.output
    into_file = runner.invoke(
        app, ["render", str(X12_810_TWO_INVOICES), "--to", "ehf", "-o", str(tmp_path / "a.xml")]
    )
    assert into_file.exit_code == 2 and not (tmp_path / "a.xml").exists()
    folder = tmp_path / "out"
    written = runner.invoke(app, ["render", str(X12_810_TWO_INVOICES), "--to", "ehf", "-o", str(folder)])
    assert written.exit_code == 0, written.output
    files = sorted(folder.iterdir())
    assert len(files) == 2 and all(f.read_bytes().lstrip().startswith(b"<?xml") for f in files)


def test_a_file_that_is_no_invoice_is_a_usage_error(tmp_path: Path) -> None:
    response = SHARED / "samples" / "ehf" / "peppol_T111-uc003-Invoice_is_accepted.xml"
    result = runner.invoke(app, ["render", str(response), "--to", "pdf"])
    assert result.exit_code == 2
    assert "not an invoice format" in result.output
