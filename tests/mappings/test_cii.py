"""UN/CEFACT CII D16B (`mappings.invoice.cii`) and Factur-X (`mappings.invoice.facturx`).

The official CEN CII examples (`validation/cii-d16b/examples`, all valid by the XSD and the CEN EN 16931 CII
rules) are read, rendered back, validated again and compared; the canonical model's maximal invoice goes
through CII and through CII → UBL without losing a field.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import facturx
import pytest
from lxml import etree
from typer.testing import CliRunner

from gateway.cli import app
from gateway.samples import sample_invoice
from gateway.services.validation import CII, Validator, get_validator
from mappings import detect_format, inspect_file, read_invoices, render
from mappings.base import FormatError
from mappings.invoice import cii, ubl
from mappings.invoice import facturx as facturx_format
from mappings.invoice.canonical_json import InvoiceValidationError
from mappings.print.printability import check_printable
from schemas.canonical import Invoice
from tests.conftest import SHARED
from tests.mappings.test_ubl_mapping import maximal_invoice

RULES = SHARED / "validation"
CII_DIR = RULES / "cii-d16b"
EXAMPLES = sorted((CII_DIR / "examples").glob("*.xml"))
#: The rules our intake checks that the CEN CII rules do not: PEPPOL-EN16931-R120 (line net = quantity ×
#: price / base quantity, a PEPPOL rule; four CEN examples give the base quantity as the price) and the exact
#: BR-CO-17 (CEN allows a difference below one unit: `huf_example_cii.xml`, 18679.00 for 18678.60). An
#: example intake refuses may be refused for these only; the tolerance work (issue 17) narrows BR-CO-17.
PEPPOL_OR_EXACT_RULES = {"PEPPOL-EN16931-R120", "BR-CO-17"}


def _reads(path: Path) -> bool:
    try:
        cii.parse(path.read_bytes())
    except InvoiceValidationError:
        return False
    return True


#: The examples intake reads today (the others are refused for R120 alone: the test below says so).
READ_EXAMPLES = [path for path in EXAMPLES if _reads(path)]


@pytest.fixture(scope="module")
def validator() -> Validator:
    return get_validator(RULES)


def _cii_example(name: str = "CII_example5.xml") -> bytes:
    return (CII_DIR / "examples" / name).read_bytes()


def _totals(invoice: Invoice) -> dict[str, object]:
    return invoice.totals.model_dump()


def _cii_ready(invoice: Invoice) -> Invoice:
    """The maximal invoice as CII can carry it: one preceding invoice (D16B has room for one), the mandate
    on the first payment means, identifiers without a scheme first (the schema's order: ID, then GlobalID)."""
    data = invoice.model_dump()
    data["preceding_invoices"] = data["preceding_invoices"][:1]
    means = data["payment_means"]
    means[0]["mandate_reference"], means[1]["mandate_reference"] = means[1]["mandate_reference"], None
    for role in ("seller", "buyer", "payee", "tax_representative"):
        data[role]["identifiers"].sort(key=lambda identifier: identifier["scheme"] is not None)
    return Invoice.model_validate(data)


def _assert_cii_xsd_valid(validator: Validator, content: bytes) -> None:
    report = validator.validate(content)
    xsd = [f for f in report.findings if f.rule_id == "CII-XSD"]
    assert report.rule_sets[0] == "CII-D16B-XSD" and not xsd, xsd


# -- the official examples -----------------------------------------------------------------------------


def test_examples_are_all_there() -> None:
    assert len(EXAMPLES) == 10


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_official_example_parses_renders_back_and_validates(validator: Validator, path: Path) -> None:
    original = validator.validate(path.read_bytes())
    assert original.ok, original.blocking  # the official rules accept every example
    assert original.rule_sets == ["CII-D16B-XSD", "CEN-EN16931-CII-1.3.16"]
    try:
        invoice = cii.parse(path.read_bytes())
    except InvoiceValidationError as error:
        refused_by = {entry.get("rule") for entry in error.errors}
        assert "PEPPOL-EN16931-R120" in refused_by and refused_by <= PEPPOL_OR_EXACT_RULES, error.errors
        return
    rendered = cii.render(invoice)
    report = validator.validate(rendered.content)
    assert report.ok, report.blocking
    back = cii.parse(rendered.content)
    assert back == invoice
    assert _totals(back) == _totals(invoice)
    # the same totals as the example states them
    root = etree.fromstring(path.read_bytes())
    ram = {"ram": cii.RAM}
    payable = root.findtext(
        ".//ram:SpecifiedTradeSettlementHeaderMonetarySummation/ram:DuePayableAmount", namespaces=ram
    )
    assert payable is not None and back.totals.payable == type(back.totals.payable)(payable.strip())


def test_how_many_examples_go_all_the_way() -> None:
    """The figure the report quotes: examples read, rendered back and valid (the rest: R120 only)."""
    assert len(READ_EXAMPLES) >= 5


@pytest.mark.parametrize("path", READ_EXAMPLES, ids=lambda p: p.name)
def test_cii_to_canonical_to_ubl_to_canonical_keeps_every_field(path: Path) -> None:
    invoice = cii.parse(path.read_bytes())
    assert ubl.parse(ubl.render(invoice).content).model_dump() == invoice.model_dump()


def test_example_details() -> None:
    """What example 5 (EN 16931 maximum content) says, field by field where CII differs from UBL."""
    invoice = cii.parse(_cii_example())
    assert invoice.number == "TOSL110" and invoice.currency == "DKK" and invoice.tax_currency == "EUR"
    assert invoice.totals.tax_amount_in_tax_currency == Decimal("628.62")
    assert invoice.seller.vat_id == "NL16356706" and invoice.seller.tax_registration_id == "NL16356706"
    assert invoice.seller.trading_name == "SelCo" and invoice.seller.legal_info == "Export"
    assert invoice.seller.endpoint is not None and invoice.seller.endpoint.scheme == "EM"
    assert invoice.payee is not None and invoice.payee.name == "Dagobert Duck"
    assert invoice.tax_representative is not None and invoice.tax_representative.vat_id == "DK16356609"
    assert [m.payment_id for m in invoice.payment_means] == ["Payref1", "Payref1"]  # one BT-83 for all
    assert invoice.payment_means[0].mandate_reference == "123456"
    assert invoice.tax_point_date is not None and invoice.tax_point_date.isoformat() == "2013-04-10"
    assert invoice.project_reference == "Project345"
    assert invoice.attachments[-1].filename == "EHF.pdf"
    assert invoice.lines[0].price.gross == Decimal("1.1") and invoice.lines[0].price.discount == 10
    assert invoice.lines[0].item.attributes == {"Thickness": "2 mm"}
    assert invoice.preceding_invoices[0].id == "TOSL109"


# -- the canonical model through CII --------------------------------------------------------------------


@pytest.mark.parametrize("credit_note", [False, True], ids=["invoice", "credit-note"])
def test_maximal_invoice_round_trip_is_lossless(validator: Validator, credit_note: bool) -> None:
    invoice = _cii_ready(maximal_invoice(credit_note=credit_note))
    rendered = cii.render(invoice)
    _assert_cii_xsd_valid(validator, rendered.content)
    back = cii.parse(rendered.content)
    assert back.model_dump() == invoice.model_dump()
    # and on through UBL: CII → canonical → UBL → canonical keeps every model field
    assert ubl.parse(ubl.render(back).content).model_dump() == invoice.model_dump()


@pytest.mark.parametrize("credit_note", [False, True], ids=["invoice", "credit-note"])
def test_rendered_sample_invoices_pass_official_rules(validator: Validator, credit_note: bool) -> None:
    invoice = sample_invoice(3, credit_note=credit_note)
    rendered = cii.render(invoice)
    report = validator.validate(rendered.content)
    assert report.ok, report.blocking
    assert report.document_kind == CII
    root = etree.fromstring(rendered.content)
    assert cii.guideline_of(root) == cii.EN16931
    assert root.findtext(f".//{{{cii.RAM}}}TypeCode") == ("381" if credit_note else "380")
    assert cii.parse(rendered.content) == invoice


def test_two_preceding_invoices_are_refused_not_cut() -> None:
    invoice = maximal_invoice()
    assert len(invoice.preceding_invoices) == 2
    with pytest.raises(FormatError) as caught:
        cii.render(invoice)
    assert caught.value.where == "preceding_invoices"


# -- refusals name the element --------------------------------------------------------------------------


def _without(xml: bytes, element: bytes) -> bytes:
    start = xml.index(b"<" + element)
    end = xml.index(b"</" + element + b">", start) + len(element) + 3
    return xml[:start] + xml[end:]


def test_a_missing_element_is_a_format_error_naming_it() -> None:
    broken = _without(_cii_example(), b"ram:SpecifiedTradeSettlementHeaderMonetarySummation")
    with pytest.raises(FormatError) as caught:
        cii.parse(broken)
    assert caught.value.where.endswith(
        "ram:ApplicableHeaderTradeSettlement/ram:SpecifiedTradeSettlementHeaderMonetarySummation"
    )
    assert "missing" in caught.value.reason


def test_a_bad_amount_or_date_names_the_element() -> None:
    xml = _cii_example()
    with pytest.raises(FormatError) as amount:
        cii.parse(xml.replace(b"<ram:GrandTotalAmount>4675<", b"<ram:GrandTotalAmount>4.675,00<"))
    assert amount.value.where.endswith("ram:GrandTotalAmount") and "not a number" in amount.value.reason
    with pytest.raises(FormatError) as date:
        cii.parse(xml.replace(b'format="102">20130410</udt', b'format="102">2013-04-10</udt', 1))
    assert "ram:IssueDateTime/udt:DateTimeString" in date.value.where
    with pytest.raises(FormatError) as line:
        cii.parse(xml.replace(b"<ram:Name>Parker Pen</ram:Name>", b""))
    assert "ram:IncludedSupplyChainTradeLineItem[2]/ram:SpecifiedTradeProduct/ram:Name" in line.value.where


def test_not_cii_and_malformed_xml() -> None:
    with pytest.raises(FormatError) as other:
        cii.parse(b'<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"/>')
    assert "not a UN/CEFACT CII" in other.value.reason
    with pytest.raises(FormatError):
        cii.parse(b"<rsm:CrossIndustryInvoice")
    assert not cii.sniff(b"<rsm:CrossIndustryInvoice")


def test_factur_x_minimum_without_lines_is_refused_saying_why() -> None:
    """Stands for a Factur-X MINIMUM PDF's XML (header and totals only, as French B2B portals send)."""
    xml = _cii_example("CII_example7.xml")
    root = etree.fromstring(xml)
    for line in root.iter(f"{{{cii.RAM}}}IncludedSupplyChainTradeLineItem"):
        line.getparent().remove(line)  # type: ignore[union-attr]
    guideline = root.find(f".//{{{cii.RAM}}}GuidelineSpecifiedDocumentContextParameter/{{{cii.RAM}}}ID")
    assert guideline is not None
    guideline.text = "urn:factur-x.eu:1p0:minimum"
    with pytest.raises(FormatError) as caught:
        cii.parse(etree.tostring(root))
    assert "Factur-X MINIMUM" in caught.value.reason and "BG-25" in caught.value.reason


# -- sniff, inspect, the registry --------------------------------------------------------------------------


def test_detect_inspect_and_read_invoices() -> None:
    xml = _cii_example()
    assert detect_format(xml) == "cii"
    assert not ubl.sniff(xml) and not cii.sniff(ubl.render(sample_invoice(1)).content)
    shown = inspect_file(xml)
    assert shown["format"] == "cii" and shown["valid"] is True and shown["number"] == "TOSL110"
    assert shown["guideline_name"].startswith("EN 16931")
    name, invoices = read_invoices(xml)
    assert name == "cii" and invoices[0].number == "TOSL110"


def test_xrechnung_guideline_is_named() -> None:
    """Stands for an XRechnung 3.0 CII file (the KoSIT guideline id in BT-24)."""
    xrechnung = "urn:cen.eu:en16931:2017#compliant#urn:xeinkauf.de:kosit:xrechnung_3.0"
    xml = _cii_example("CII_example6.xml").replace(cii.EN16931.encode() + b"<", xrechnung.encode() + b"<", 1)
    shown = cii.inspect(xml)
    assert shown["guideline"] == xrechnung and shown["guideline_name"] == "XRechnung 3.0"
    assert shown["valid"] is True
    assert (
        cii.guideline_of(etree.fromstring(cii.render(cii.parse(xml), guideline=xrechnung).content))
        == xrechnung
    )


# -- Factur-X --------------------------------------------------------------------------------------------


def test_factur_x_embeds_our_cii_and_stays_printable(validator: Validator) -> None:
    invoice = sample_invoice(2)
    document = render("factur-x", invoice)
    assert document.media_type == "application/pdf" and document.extension == "pdf"
    name, xml = facturx.get_facturx_xml_from_pdf(document.content)  # the package's own reader, XSD checked
    assert name == "factur-x.xml"
    assert xml == cii.render(invoice).content
    assert check_printable(document.content) == []
    assert facturx.get_level(etree.fromstring(xml)) == "en16931"
    assert detect_format(document.content) == "factur-x"
    assert facturx_format.parse(document.content) == invoice
    assert inspect_file(document.content)["embedded_file"] == "factur-x.xml"
    report = validator.validate(document.content)  # the PDF is validated as the CII inside it
    assert report.ok and report.document_kind == CII, report.blocking


def test_a_plain_pdf_is_no_factur_x(validator: Validator) -> None:
    plain = render("pdf", sample_invoice(1)).content
    assert detect_format(plain) == "pdf"
    with pytest.raises(FormatError):
        facturx_format.parse(plain)
    report = validator.validate(plain)
    assert [f.rule_id for f in report.blocking] == ["GATEWAY-NO-EMBEDDED-XML"]


# -- the CLI ---------------------------------------------------------------------------------------------


def test_cli_render_inspect_validate(tmp_path: Path) -> None:
    runner = CliRunner()
    ehf = tmp_path / "invoice.xml"
    ehf.write_bytes(ubl.render(sample_invoice(4)).content)
    rendered = tmp_path / "invoice-cii.xml"
    result = runner.invoke(app, ["render", str(ehf), "--to", "cii", "-o", str(rendered)])
    assert result.exit_code == 0, result.output
    assert cii.parse(rendered.read_bytes()) == sample_invoice(4)

    shown = runner.invoke(app, ["inspect", str(rendered), "--json"])
    assert shown.exit_code == 0, shown.output
    assert json.loads(shown.stdout)["format"] == "cii"

    valid = runner.invoke(app, ["validate", str(rendered), "--rules-dir", str(RULES)])
    assert valid.exit_code == 0, valid.output
    assert "CEN-EN16931-CII-1.3.16" in valid.output
    bad = tmp_path / "bad.xml"
    bad.write_bytes(_cii_example().replace(b"<ram:GrandTotalAmount>4675<", b"<ram:GrandTotalAmount>4676<"))
    refused = runner.invoke(app, ["validate", str(bad), "--json", "--rules-dir", str(RULES)])
    assert refused.exit_code == 1
    assert "BR-CO-15" in {f["rule_id"] for f in json.loads(refused.stdout)["findings"]}

    pdf = tmp_path / "invoice.pdf"
    made = runner.invoke(app, ["render", str(ehf), "--to", "factur-x", "-o", str(pdf)])
    assert made.exit_code == 0, made.output
    assert facturx.get_facturx_xml_from_pdf(pdf.read_bytes())[1] == rendered.read_bytes()
