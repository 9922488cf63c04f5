"""`mappings.read_invoices`: every invoice format intake takes, detected and read into canonical invoices —
on the real samples in ../shared (values read off the files), and a clear refusal for everything else."""

from __future__ import annotations

import json

import pytest

from gateway.samples import sample_invoice, sample_invoice_json
from mappings import FormatError, read_invoices, render
from mappings.invoice.canonical_json import InvoiceValidationError
from schemas.canonical import DocumentType
from tests.conftest import SHARED

SAMPLES = SHARED / "samples"
EXAMPLES = SHARED / "validation" / "examples" / "billing"


def _sample(path: str) -> bytes:
    return (SAMPLES / path).read_bytes()


def test_canonical_json_one_invoice_or_a_list() -> None:
    one = json.dumps(sample_invoice_json(1)).encode()
    assert read_invoices(one) == ("canonical-json", [sample_invoice(1)])
    several = json.dumps([sample_invoice_json(1), sample_invoice_json(2)]).encode()
    name, invoices = read_invoices(several)
    assert name == "canonical-json" and [i.number for i in invoices] == ["INV-000001", "INV-000002"]
    assert read_invoices(render("canonical-json", sample_invoice(3)).content)[1] == [sample_invoice(3)]


def test_canonical_json_that_does_not_validate_names_the_fields() -> None:
    incomplete = json.dumps({"number": "A-1"}).encode()  # no lines, no seller: not even sniffed as ours
    with pytest.raises(InvoiceValidationError) as refused:
        read_invoices(incomplete)
    assert {"seller", "lines"} <= {e["field"] for e in refused.value.errors}
    broken = sample_invoice_json(2)
    broken["currency"] = "XX"
    with pytest.raises(InvoiceValidationError) as refused:
        read_invoices(json.dumps([sample_invoice_json(1), broken]).encode())
    assert refused.value.errors[0]["field"].startswith("[1].currency")
    with pytest.raises(FormatError, match="not valid JSON"):
        read_invoices(b'{"lines": [], "seller": ')


def test_ehf_invoice_samples() -> None:
    # An EHF Reminder is a UBL Invoice in its own profile: a notice the gateway writes, no invoice to send.
    with pytest.raises(FormatError, match=r"^file: ehf-reminder .*not an invoice format"):
        read_invoices(_sample("ehf/dfo_Reminder-Example.xml"))
    name, [base] = read_invoices((EXAMPLES / "base-example.xml").read_bytes())
    # cac:AccountingSupplierParty: cbc:RegistrationName "SupplierOfficialName Ltd"
    assert (name, base.number, base.seller.name) == ("ehf", "Snippet1", "SupplierOfficialName Ltd")


def test_ehf_sample_whose_vat_is_off_by_cents_is_read_with_a_warning() -> None:
    # The forward-billing example states VAT 308.63 where 1234.71 × 25 % is 308.68: the official BR-CO-17
    # allows a difference below one currency unit, so it is read, the exact figure kept as a warning.
    _, [invoice] = read_invoices(
        _sample("ehf/dfo_Invoice_EHF3.0_forward-billing-nettleie-consumer_v2.0.xml")
    )
    assert [(w.rule, str(w.computed)) for w in invoice.arithmetic_warnings] == [("BR-CO-17", "308.68")]


def test_ubl_credit_note() -> None:
    credit_note = sample_invoice(4, credit_note=True)
    content = render("ehf", credit_note).content
    assert b"<CreditNote" in content[:400]
    assert read_invoices(content) == ("ehf", [credit_note])


def test_edifact_invoic_samples() -> None:
    name, [credit] = read_invoices(_sample("edi/edifact/INVOIC/pydifact_invoice1_D97A.edi"))
    assert name == "invoic" and credit.number == "1060113800026"
    assert credit.document_type is DocumentType.CREDIT_NOTE
    ours = render("edifact-d01b", sample_invoice(5)).content
    name, [back] = read_invoices(ours)
    assert name == "invoic" and back.number == "INV-000005"


def test_x12_810_samples() -> None:
    name, invoices = read_invoices(_sample("edi/x12/810/bots_810-004010-01.x12"))
    assert name == "x12-810" and [i.number for i in invoices] == ["465266", "465267"]
    name, [walmart_guide] = read_invoices(_sample("edi/x12/810/stupidedi_IN810_4010_pass_1.edi"))
    assert walmart_guide.number == "00237058" and walmart_guide.currency == "USD"
    name, [back] = read_invoices(render("x12-810-5010", sample_invoice(6)).content)
    assert name == "x12-810" and back.number == "INV-000006"


@pytest.mark.parametrize(
    ("path", "what"),
    [
        ("camt/genkgo_camt053.v8.xml", "camt"),
        ("ehf/peppol_T111-uc003-Invoice_is_accepted.xml", "invoice-response"),
        ("edi/edifact/APERAK/pydifact_aperak_v3.edi", "edifact-ack"),
        ("edi/edifact/DESADV/bots_desadv1_D96A_EAN005_generated.edi", "edifact"),
        ("edi/x12/820/bots_820-004010-01_safeway.x12", "x12-820"),
        ("print/digipost_a4-full-page.pdf", "pdf"),
        ("email/postfix37_dsn_2_INV-1002_failed_5.2.2.eml", "dsn"),
    ],
)
def test_other_formats_are_refused_saying_what_they_are(path: str, what: str) -> None:
    with pytest.raises(FormatError) as refused:
        read_invoices(_sample(path))
    assert refused.value.where == "file"
    assert refused.value.reason.startswith(f"{what} (")
    assert refused.value.reason.endswith(
        "not an invoice format the gateway reads "
        "(canonical-json, peppol-self-billing, ehf, cii, factur-x, invoic, x12-810)"
    )


@pytest.mark.parametrize("data", [b"", b"\x00\x01 not anything", b"<x/>", b"hello"])
def test_junk_is_refused(data: bytes) -> None:
    with pytest.raises(FormatError, match="not a format the gateway understands"):
        read_invoices(data)


def test_an_invoice_file_with_a_broken_envelope_raises_the_syntax_error() -> None:
    with pytest.raises(FormatError, match="ISA12"):
        read_invoices(_sample("edi/x12/810/oopf_Example5_Walmart.txt"))
