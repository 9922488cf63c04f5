"""UN/CEFACT CII D16B (`mappings.invoice.cii`) and Factur-X (`mappings.invoice.facturx`).

The official CEN CII examples (`validation/cii-d16b/examples`, all valid by the XSD and the CEN EN 16931 CII
rules) are all read (their guideline kept as the invoice's profile, so PEPPOL's R120 is a warning for them),
rendered back in the same guideline, validated again and compared; the canonical model's maximal invoice goes
through CII and through CII → UBL without losing a field.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import facturx
import pytest
from lxml import etree
from pydantic import ValidationError
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
from schemas.invoice_profiles import (
    FACTUR_X_BASIC,
    FACTUR_X_EXTENDED,
    PEPPOL_BILLING_CUSTOMIZATION,
    PEPPOL_BILLING_PROCESS,
    SELF_BILLING_CUSTOMIZATION,
    XRECHNUNG_CUSTOMIZATION,
    ZUGFERD_1_COMFORT,
)
from tests.conftest import SHARED
from tests.mappings.test_ubl_mapping import maximal_invoice

RULES = SHARED / "validation"
CII_DIR = RULES / "cii-d16b"
EXAMPLES = sorted((CII_DIR / "examples").glob("*.xml"))
#: The examples whose lines state a net amount PEPPOL-EN16931-R120 (a PEPPOL rule, not EN 16931's) would
#: refuse: four give the net price as the base quantity (1273 per 1273 for one unit…), huf_example_cii's line
#: nets are whole forints, up to 0.26 HUF from quantity × price. EN 16931 / ZUGFeRD documents, so intake
#: reads them with the difference as a warning.
R120_EXAMPLES = {
    "CII_business_example_01.xml",
    "CII_business_example_Z.xml",
    "CII_example8.xml",
    "CII_example9.xml",
    "huf_example_cii.xml",
}
STATED_TOTALS = {
    "line_extension": "LineTotalAmount",
    "tax_exclusive": "TaxBasisTotalAmount",
    "tax_inclusive": "GrandTotalAmount",
    "payable": "DuePayableAmount",
}


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


def _as_en16931(invoice: Invoice) -> Invoice:
    """The invoice as its CII rendering reads back: a PEPPOL BIS invoice becomes a plain EN 16931 one."""
    return invoice.model_copy(update={"customization_id": cii.EN16931})


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
    invoice = cii.parse(path.read_bytes())  # every one: the rules intake enforces are the document's own
    root = etree.fromstring(path.read_bytes())
    assert invoice.customization_id == cii.guideline_of(root)
    rendered = cii.render(invoice)
    assert cii.guideline_of(etree.fromstring(rendered.content)) == cii.guideline_of(
        root
    )  # the same guideline
    report = validator.validate(rendered.content)
    assert report.ok and report.rule_sets == original.rule_sets, report.blocking
    assert not report.findings or {f.flag for f in report.findings} <= {"warning"}, report.findings
    back = cii.parse(rendered.content)
    assert back == invoice
    # the same totals as the example states them
    summation = root.find(f".//{{{cii.RAM}}}SpecifiedTradeSettlementHeaderMonetarySummation")
    assert summation is not None
    for field, element in STATED_TOTALS.items():
        stated = summation.findtext(f"{{{cii.RAM}}}{element}")
        assert stated is not None and getattr(back.totals, field) == Decimal(stated.strip()), field


def test_all_ten_examples_go_all_the_way() -> None:
    """The figure the report quotes: all ten examples read, render back and validate (the test above)."""
    read = [cii.parse(path.read_bytes()).number for path in EXAMPLES]  # raises for one intake refuses
    assert len(read) == 10


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_r120_is_a_warning_for_an_en16931_document(path: Path) -> None:
    """PEPPOL-EN16931-R120 is PEPPOL's rule: an EN 16931 / ZUGFeRD CII document beyond its 0.02 keeps the
    difference as a warning saying a PEPPOL delivery would be refused; read as PEPPOL BIS Billing (no
    customization), the same invoice is refused for it, as before."""
    invoice = cii.parse(path.read_bytes())
    beyond = [w for w in invoice.arithmetic_warnings if w.outside_specification is not None]
    if path.name not in R120_EXAMPLES:
        assert beyond == []
        return
    assert beyond and {w.rule for w in beyond} == {"PEPPOL-EN16931-R120"}
    assert all(w.field.endswith(".net_amount") and abs(w.difference) > Decimal("0.02") for w in beyond)
    shown = beyond[0].as_dict()
    assert shown["outside_specification"] == cii.guideline_name(invoice.customization_id)
    assert "is a PEPPOL rule, not part of" in shown["message"]
    assert "a PEPPOL delivery (EHF) would be refused for it" in shown["message"]
    data = invoice.model_dump()
    data["customization_id"] = None  # PEPPOL BIS Billing 3.0, the gateway's default
    with pytest.raises(ValidationError) as refused:
        Invoice.model_validate(data)
    assert "PEPPOL-EN16931-R120" in str(refused.value)


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_cii_to_canonical_to_ubl_to_canonical_keeps_every_field(validator: Validator, path: Path) -> None:
    """CII → canonical → EHF (UBL) → canonical keeps every model field but the profile: the EN 16931 /
    ZUGFeRD invoice written as EHF takes PEPPOL BIS Billing 3.0's identifiers (the conversion into that
    CIUS), which read back as the default (None, None). Where R120 then applies (PEPPOL's rule, now the
    document's), the EHF is refused for it by the official PEPPOL rules and by intake alike."""
    invoice = cii.parse(path.read_bytes())
    ehf = ubl.render(invoice).content
    header = etree.fromstring(ehf)
    assert header.findtext(f"{{{ubl.CBC}}}CustomizationID") == PEPPOL_BILLING_CUSTOMIZATION
    assert header.findtext(f"{{{ubl.CBC}}}ProfileID") == PEPPOL_BILLING_PROCESS
    as_peppol = invoice.model_copy(update={"customization_id": None, "profile_id": None})
    data = ubl.invoice_data_from_ubl(header)
    assert Invoice.model_validate({**data, "customization_id": invoice.customization_id}) == invoice
    if path.name not in R120_EXAMPLES:
        assert ubl.parse(ehf).model_dump() == as_peppol.model_dump()
        return
    with pytest.raises(InvoiceValidationError) as refused:
        ubl.parse(ehf)
    assert {e.get("rule") for e in refused.value.errors} == {"PEPPOL-EN16931-R120"}
    assert "PEPPOL-EN16931-R120" in validator.validate(ehf).rule_ids({"fatal"})


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
    # a PEPPOL BIS invoice written as CII is an EN 16931 one: its guideline is all that changes
    assert back.model_dump() == _as_en16931(invoice).model_dump()
    # and on through UBL: CII → canonical → UBL → canonical keeps every model field (EHF takes PEPPOL's
    # identifiers again, which read back as the default)
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
    assert cii.parse(rendered.content) == _as_en16931(invoice)


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


@pytest.mark.parametrize(
    ("customization", "written"),
    [
        (None, cii.EN16931),  # PEPPOL BIS Billing 3.0 (the default) as CII: EN 16931
        (PEPPOL_BILLING_CUSTOMIZATION, cii.EN16931),
        (SELF_BILLING_CUSTOMIZATION, cii.EN16931),
        (cii.EN16931, cii.EN16931),
        (FACTUR_X_BASIC, FACTUR_X_BASIC),
        (FACTUR_X_EXTENDED, FACTUR_X_EXTENDED),
        (ZUGFERD_1_COMFORT, ZUGFERD_1_COMFORT),
        (XRECHNUNG_CUSTOMIZATION, XRECHNUNG_CUSTOMIZATION),
        ("urn:factur-x.eu:1p0:minimum", cii.EN16931),  # a level without lines cannot state this invoice
    ],
)
def test_cii_is_written_in_the_invoices_own_guideline(customization: str | None, written: str) -> None:
    invoice = sample_invoice(5).model_copy(update={"customization_id": customization})
    assert cii.guideline_of(etree.fromstring(cii.render(invoice).content)) == written


def test_business_process_bt23_is_kept_both_ways(validator: Validator) -> None:
    """Stands for an XRechnung CII invoice naming its business process (BT-23, e.g. a framework contract)."""
    invoice = sample_invoice(6).model_copy(
        update={"customization_id": XRECHNUNG_CUSTOMIZATION, "profile_id": "urn:example:process:framework"}
    )
    rendered = cii.render(invoice)
    assert cii.business_process_of(etree.fromstring(rendered.content)) == "urn:example:process:framework"
    _assert_cii_xsd_valid(validator, rendered.content)
    assert cii.parse(rendered.content) == invoice
    # as EHF, XRechnung keeps its own identifiers (the profiles work), BT-23 too
    header = etree.fromstring(ubl.render(invoice).content)
    assert header.findtext(f"{{{ubl.CBC}}}CustomizationID") == XRECHNUNG_CUSTOMIZATION
    assert header.findtext(f"{{{ubl.CBC}}}ProfileID") == "urn:example:process:framework"


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
    assert facturx_format.parse(document.content) == _as_en16931(invoice)
    assert inspect_file(document.content)["embedded_file"] == "factur-x.xml"
    report = validator.validate(document.content)  # the PDF is validated as the CII inside it
    assert report.ok and report.document_kind == CII, report.blocking


@pytest.mark.parametrize(
    ("example", "customization", "level"),
    [
        ("CII_example6.xml", FACTUR_X_BASIC, "basic"),  # BASIC content: written at its own level
        ("CII_example5.xml", FACTUR_X_EXTENDED, "extended"),
        ("CII_example5.xml", FACTUR_X_BASIC, "en16931"),  # beyond BASIC: EN 16931 states it
        ("CII_business_example_Z.xml", ZUGFERD_1_COMFORT, "en16931"),  # no Factur-X level of that name
        ("CII_example7.xml", XRECHNUNG_CUSTOMIZATION, "en16931"),
    ],
)
def test_factur_x_level_is_the_invoices_own_as_the_package_reads_it(
    example: str, customization: str, level: str
) -> None:
    """The PDF's XMP level and the embedded XML's BT-24 agree: `facturx.get_level` reads the level we wrote
    (the package checked the XML against that level's XSD while generating)."""
    invoice = cii.parse(_cii_example(example)).model_copy(update={"customization_id": customization})
    document = render("factur-x", invoice)
    _, xml = facturx.get_facturx_xml_from_pdf(document.content, check_xsd=True)
    assert facturx.get_level(etree.fromstring(xml)) == level
    xmp_level = {"basic": "BASIC", "en16931": "EN 16931", "extended": "EXTENDED"}[level]
    assert f"ConformanceLevel>{xmp_level}<".encode() in _xmp(document.content)


def _xmp(pdf_content: bytes) -> bytes:
    """The PDF's XMP metadata stream (where Factur-X states the conformance level)."""
    import io

    import pypdf

    catalog: Any = pypdf.PdfReader(io.BytesIO(pdf_content)).trailer["/Root"]
    return bytes(catalog["/Metadata"].get_object().get_data())


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
    assert cii.parse(rendered.read_bytes()) == _as_en16931(sample_invoice(4))

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
