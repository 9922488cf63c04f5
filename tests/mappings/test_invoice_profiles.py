"""Invoice profiles kept through the model: PEPPOL BIS Self-Billing 3.0, EHF forward billing, XRechnung.

The files stand for what other networks send: the three official PEPPOL self-billing examples (shared
`validation/examples/self-billing/`), the DFØ EHF forward-billing sample (shared `samples/ehf/`), and a
hand-built XRechnung 3.0 UBL invoice between two German companies with early-payment-discount terms, as the
KoSIT XRechnung test suite's UBL examples carry them (`#SKONTO#TAGE=…#PROZENT=…#` and a line break).
"""

from __future__ import annotations

import functools
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from lxml import etree
from pydantic import ValidationError
from typer.testing import CliRunner

from gateway.samples import sample_invoice
from gateway.services.validation import ValidationReport, Validator, get_validator
from mappings import detect_format, inspect_file, read_invoices, render
from mappings.base import FormatError
from mappings.invoice import canonical_json, peppol_self_billing, ubl
from mappings.invoice.canonical_json import InvoiceValidationError
from schemas.canonical import Invoice
from schemas.invoice_profiles import (
    EHF_FORWARD_BILLING_CUSTOMIZATION,
    EHF_FORWARD_BILLING_PROCESS,
    PEPPOL_BILLING_CUSTOMIZATION,
    PEPPOL_BILLING_PROCESS,
    SELF_BILLING_CUSTOMIZATION,
    SELF_BILLING_PROCESS,
    XRECHNUNG_CUSTOMIZATION,
)
from tests.conftest import SHARED

VALIDATION = SHARED / "validation"
SELF_BILLING_EXAMPLES = sorted((VALIDATION / "examples" / "self-billing").glob("*.xml"))
FORWARD_BILLING = SHARED / "samples" / "ehf" / "dfo_Invoice_EHF3.0_forward-billing-nettleie-consumer_v2.0.xml"
NS = {
    "cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2",
    "cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2",
}
SKONTO = "#SKONTO#TAGE=14#PROZENT=2.00#\n#SKONTO#TAGE=30#PROZENT=1.00#BASISBETRAG=1000.00#\n"


@functools.cache
def _validator() -> Validator:
    return get_validator(VALIDATION)


def _blocking(report: ValidationReport) -> list[str]:
    return [f"{f.rule_id}: {f.text}" for f in report.blocking]


def _header(content: bytes) -> tuple[str | None, str | None, str | None]:
    root = etree.fromstring(content)
    type_code = root.findtext("cbc:InvoiceTypeCode", namespaces=NS) or root.findtext(
        "cbc:CreditNoteTypeCode", namespaces=NS
    )
    return (
        root.findtext("cbc:CustomizationID", namespaces=NS),
        root.findtext("cbc:ProfileID", namespaces=NS),
        type_code,
    )


def _stated_totals(content: bytes) -> dict[str, Decimal]:
    root = etree.fromstring(content)
    monetary = root.find("cac:LegalMonetaryTotal", NS)
    assert monetary is not None
    return {etree.QName(child).localname: Decimal(child.text or "") for child in monetary}


# ------------------------------------------------------------------------------ PEPPOL self-billing


def test_the_three_official_self_billing_examples_are_there() -> None:
    assert [p.name for p in SELF_BILLING_EXAMPLES] == [
        "SB-Vat-category-S.xml",
        "SB-vat-category-E.xml",
        "SB-vat-category-Z.xml",
    ]


@pytest.mark.parametrize("path", SELF_BILLING_EXAMPLES, ids=[p.name for p in SELF_BILLING_EXAMPLES])
def test_official_self_billing_example_round_trips_in_its_profile(path: Path) -> None:
    original = path.read_bytes()
    assert detect_format(original) == "peppol-self-billing"
    invoice = peppol_self_billing.parse(original)
    assert invoice.customization_id == SELF_BILLING_CUSTOMIZATION
    assert invoice.is_self_billing
    assert invoice.effective_type_code == "389"
    for name in ("peppol-self-billing", "ehf"):  # ehf writes an invoice in its own profile
        rendered = render(name, invoice).content
        assert _header(rendered) == (SELF_BILLING_CUSTOMIZATION, SELF_BILLING_PROCESS, "389")
        report = _validator().validate(rendered)
        assert _blocking(report) == [], name
        assert report.rule_sets[1:] == ["CEN-EN16931-UBL-1.3.16", "PEPPOL-EN16931-UBL-SB-3.0.21"]
        assert _stated_totals(rendered) == _stated_totals(original)
        again = peppol_self_billing.parse(rendered)
        assert again == invoice


@pytest.mark.parametrize("path", SELF_BILLING_EXAMPLES, ids=[p.name for p in SELF_BILLING_EXAMPLES])
def test_official_self_billing_example_as_it_comes_validates_with_the_sb_rules(path: Path) -> None:
    report = _validator().validate(path.read_bytes())
    assert _blocking(report) == []
    assert "PEPPOL-EN16931-UBL-SB-3.0.21" in report.rule_sets


def test_self_billing_written_as_ordinary_billing_gains_p0100() -> None:
    """The bug this format fixes: the same invoice with the billing identifiers fails the billing rules."""
    invoice = peppol_self_billing.parse(SELF_BILLING_EXAMPLES[0].read_bytes())
    as_billing = ubl.write_ubl(
        invoice,
        customization_id=PEPPOL_BILLING_CUSTOMIZATION,
        profile_id=PEPPOL_BILLING_PROCESS,
        format_name="ehf",
    )
    assert "PEPPOL-EN16931-P0100" in _validator().validate(as_billing.content).rule_ids({"fatal"})


def test_self_billed_credit_note_is_261_and_valid() -> None:
    invoice = peppol_self_billing.parse(SELF_BILLING_EXAMPLES[0].read_bytes())
    credit_note = Invoice.model_validate(
        {**invoice.model_dump(), "document_type": "credit_note", "type_code": None}
    )
    assert credit_note.effective_type_code == "261"
    rendered = render("peppol-self-billing", credit_note).content
    assert etree.QName(etree.fromstring(rendered)).localname == "CreditNote"
    assert _header(rendered) == (SELF_BILLING_CUSTOMIZATION, SELF_BILLING_PROCESS, "261")
    assert _blocking(_validator().validate(rendered)) == []
    assert peppol_self_billing.parse(rendered).effective_type_code == "261"


def test_a_canonical_invoice_rendered_as_self_billing_is_389_and_valid() -> None:
    invoice = sample_invoice(3)
    assert invoice.customization_id is None and invoice.type_code is None
    rendered = render("peppol-self-billing", invoice)
    assert rendered.format == "peppol-self-billing"
    assert _header(rendered.content) == (SELF_BILLING_CUSTOMIZATION, SELF_BILLING_PROCESS, "389")
    assert _blocking(_validator().validate(rendered.content)) == []
    read_back = peppol_self_billing.parse(rendered.content)
    assert read_back.customization_id == SELF_BILLING_CUSTOMIZATION
    assert read_back.totals == invoice.totals


def test_self_billing_refuses_a_billing_type_code_naming_the_field() -> None:
    invoice = sample_invoice(3).model_copy(update={"type_code": "380"})
    with pytest.raises(FormatError) as caught:
        render("peppol-self-billing", invoice)
    assert caught.value.where == "type_code"
    assert "389" in caught.value.reason
    data = json.loads(canonical_json.render(sample_invoice(3)).content)
    data.update(customization_id=SELF_BILLING_CUSTOMIZATION, type_code="380")
    with pytest.raises(InvoiceValidationError) as refused:
        canonical_json.parse(json.dumps(data))
    assert "self-billed invoice" in refused.value.errors[0]["reason"]


def test_a_billing_invoice_is_not_read_as_self_billing() -> None:
    billing = (VALIDATION / "examples" / "billing" / "base-example.xml").read_bytes()
    assert detect_format(billing) == "ehf"
    assert not peppol_self_billing.sniff(billing)
    with pytest.raises(FormatError) as caught:
        peppol_self_billing.parse(billing)
    assert caught.value.where == "cbc:CustomizationID"


def test_inspect_shows_the_profile() -> None:
    shown = inspect_file(SELF_BILLING_EXAMPLES[0].read_bytes())
    assert shown["format"] == "peppol-self-billing"
    assert shown["profile"] == "peppol-self-billing"
    assert (shown["customization_id"], shown["profile_id"]) == (
        SELF_BILLING_CUSTOMIZATION,
        SELF_BILLING_PROCESS,
    )
    assert shown["type_code"] == "389" and shown["valid"] is True
    as_json = json.loads(
        canonical_json.render(peppol_self_billing.parse(SELF_BILLING_EXAMPLES[0].read_bytes())).content
    )
    listed = inspect_file(json.dumps(as_json).encode())["documents"][0]
    assert (listed["profile"], listed["customization_id"]) == (
        "peppol-self-billing",
        SELF_BILLING_CUSTOMIZATION,
    )


def test_cli_render_and_inspect_show_the_self_billing_profile(tmp_path: Path) -> None:
    from gateway.cli import app

    source = tmp_path / "sb.json"
    source.write_bytes(canonical_json.render(sample_invoice(2)).content)
    target = tmp_path / "sb.xml"
    rendered = CliRunner().invoke(
        app, ["render", str(source), "--to", "peppol-self-billing", "-o", str(target)]
    )
    assert rendered.exit_code == 0, rendered.output
    assert _header(target.read_bytes()) == (SELF_BILLING_CUSTOMIZATION, SELF_BILLING_PROCESS, "389")
    inspected = CliRunner().invoke(app, ["inspect", str(target), "--json"])
    assert inspected.exit_code == 0, inspected.output
    shown = json.loads(inspected.output)
    assert (shown["format"], shown["profile"], shown["profile_id"]) == (
        "peppol-self-billing",
        "peppol-self-billing",
        SELF_BILLING_PROCESS,
    )
    example = CliRunner().invoke(app, ["render", str(SELF_BILLING_EXAMPLES[1]), "--to", "ehf"])
    assert example.exit_code == 0, example.output
    assert SELF_BILLING_CUSTOMIZATION in example.output and "poacc:billing:3.0" not in example.output


# ------------------------------------------------------------------------------ EHF forward billing


def _forward_billing_with_vat_corrected() -> bytes:
    # The DFØ sample states VAT 308.63 on 1234.71 at 25 % (308.68 exactly): the tolerance of intake's
    # BR-CO-17 is another point of issue 17, so this test corrects the figure and looks at the profile only.
    data = FORWARD_BILLING.read_bytes()
    for old, new in [(b">308.63<", b">308.68<"), (b">1543.34<", b">1543.39<")]:
        assert old in data
        data = data.replace(old, new)
    return data


def test_ehf_forward_billing_keeps_its_profile() -> None:
    data = _forward_billing_with_vat_corrected()
    assert detect_format(data) == "ehf"
    invoice = ubl.parse(data)
    assert (invoice.customization_id, invoice.profile_id) == (
        EHF_FORWARD_BILLING_CUSTOMIZATION,
        EHF_FORWARD_BILLING_PROCESS,
    )
    assert invoice.type_code == "82"
    rendered = ubl.render(invoice).content
    assert _header(rendered) == (EHF_FORWARD_BILLING_CUSTOMIZATION, EHF_FORWARD_BILLING_PROCESS, "82")
    # The EHF forward-billing rules are not among the official artefacts; under the PEPPOL billing rules the
    # sample itself breaks R007 (its process is EHF's, not PEPPOL's) and R040/R041 (its sample ids): written
    # back in its own profile it breaks exactly those and nothing new.
    original = _validator().validate(data).rule_ids({"fatal", "error"})
    assert original == {"PEPPOL-EN16931-R007", "PEPPOL-COMMON-R040", "PEPPOL-COMMON-R041"}
    assert _validator().validate(rendered).rule_ids({"fatal", "error"}) == original
    via_json = canonical_json.parse(canonical_json.render(invoice).content)
    assert via_json == invoice == ubl.parse(rendered)
    assert inspect_file(rendered)["profile"] == "ehf-forward-billing"


def test_ordinary_billing_stays_default() -> None:
    billing = (VALIDATION / "examples" / "billing" / "base-example.xml").read_bytes()
    invoice = ubl.parse(billing)
    assert (invoice.customization_id, invoice.profile_id) == (None, None)
    assert _header(ubl.render(invoice).content)[:2] == (PEPPOL_BILLING_CUSTOMIZATION, PEPPOL_BILLING_PROCESS)


# -------------------------------------------------------------------- XRechnung, Skonto (DE-R-018)


def _german_party(name: str, vat: str, street: str, city: str, postal: str, endpoint: str) -> dict[str, Any]:
    return {
        "name": name,
        "vat_id": vat,
        "endpoint": {"value": endpoint, "scheme": "EM"},
        "address": {"lines": [street], "city": city, "postal_code": postal, "country": "DE"},
        "contact": {"name": "Erika Mustermann", "phone": "+49 30 1234567", "email": "erika@example.de"},
    }


def _german_invoice(customization_id: str | None, payment_terms: str = SKONTO) -> Invoice:
    invoice = sample_invoice(5, lines=2)
    data = invoice.model_dump(exclude_none=True)
    data.update(
        customization_id=customization_id,
        currency="EUR",
        buyer_reference="04011000-12345-34",  # a Leitweg-ID
        seller=_german_party(
            "Lieferant GmbH", "DE123456789", "Lieferantenstr. 20", "Berlin", "10115", "seller@example.de"
        ),
        buyer=_german_party("Kunde AG", "DE987654321", "Kundenweg 5", "Hamburg", "20095", "buyer@example.de"),
        payment_means=[{"code": "58", "account": {"id": "DE75512108001245126199"}}],
        payment_terms=payment_terms,
    )
    return Invoice.model_validate(data)


def _payment_terms_text(content: bytes) -> str | None:
    return etree.fromstring(content).findtext("cac:PaymentTerms/cbc:Note", namespaces=NS)


def test_xrechnung_keeps_its_profile_and_skonto_terms_byte_exact() -> None:
    invoice = _german_invoice(XRECHNUNG_CUSTOMIZATION)
    assert invoice.payment_terms == SKONTO
    rendered = ubl.render(invoice).content
    assert _header(rendered)[:2] == (XRECHNUNG_CUSTOMIZATION, PEPPOL_BILLING_PROCESS)
    assert _payment_terms_text(rendered) == SKONTO
    assert b"#SKONTO#TAGE=14#PROZENT=2.00#\n#SKONTO#TAGE=30#PROZENT=1.00#BASISBETRAG=1000.00#\n<" in rendered
    read_back = ubl.parse(rendered)
    assert read_back.payment_terms == SKONTO
    assert read_back.customization_id == XRECHNUNG_CUSTOMIZATION
    assert read_back == invoice
    assert canonical_json.parse(canonical_json.render(read_back).content).payment_terms == SKONTO
    assert ubl.render(read_back).content == rendered
    report = _validator().validate(rendered)
    assert _blocking(report) == []
    assert report.rule_sets[1:] == ["CEN-EN16931-UBL-1.3.16"]  # not PEPPOL billing's R004
    assert "GATEWAY-CIUS-RULES" in report.rule_ids({"warning"})
    assert inspect_file(rendered)["profile"] == "xrechnung"


def test_skonto_terms_pass_de_r_018_only_when_kept_exactly() -> None:
    """The PEPPOL billing rules hold XRechnung's DE-R-018 for a German seller and buyer: the last `#…#`
    must be followed by a line break. Kept exactly, it passes; stripped (what the model did), it fails."""
    kept = _validator().validate(ubl.render(_german_invoice(None)).content)
    assert "DE-R-018" not in kept.rule_ids()
    stripped = _german_invoice(None, payment_terms=SKONTO.strip())
    assert "DE-R-018" in _validator().validate(ubl.render(stripped).content).rule_ids({"fatal"})


def test_payment_terms_from_an_xml_body_keep_their_line_breaks() -> None:
    rendered = ubl.render(_german_invoice(XRECHNUNG_CUSTOMIZATION)).content
    name, [invoice] = read_invoices(rendered)
    assert name == "ehf"
    assert invoice.payment_terms == SKONTO
    with pytest.raises(ValidationError, match="payment_terms"):
        _german_invoice(None, payment_terms="  \n ")
