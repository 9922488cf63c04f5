"""EHF Reminder 3.0: the official samples read and validate; every reminder the gateway writes passes the UBL
XSD and all three reminder rule sets with no finding at all; a broken one fails with the rule id."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

import mappings
from gateway.samples import BUYERS, SELLER, sample_invoice
from gateway.services.validation import Validator, get_validator
from mappings.reminder.ehf_reminder import inspect, parse, render_ehf_reminder, sniff
from mappings.reminder.notice import first_notice_for, notice_total
from schemas.followup import ReminderDocument, RemindedInvoice
from tests.conftest import SHARED

VALIDATION = SHARED / "validation"
OFFICIAL = sorted((SHARED / "samples" / "ehf").glob("dfo_Reminder-Example*.xml"))
REMINDER_SETS = ["EHF-P06-3.0-REMINDER", "REMINDER-CEN-EN16931-UBL", "REMINDER-PEPPOL-EN16931-UBL"]


@pytest.fixture(scope="module")
def validator() -> Validator:
    return get_validator(VALIDATION)


def _item(number: str, open_amount: str, **extra: Any) -> RemindedInvoice:
    data: dict[str, Any] = {
        "number": number, "issue_date": dt.date(2026, 1, 5), "due_date": dt.date(2026, 2, 4),
        "currency": "NOK", "invoiced_amount": Decimal(open_amount), "open_amount": Decimal(open_amount),
        "days_late": 40, **extra,
    }  # fmt: skip
    return RemindedInvoice(**data)


def _doc(**changes: Any) -> ReminderDocument:
    data: dict[str, Any] = {
        "notice_id": "P1-2026-0001", "kind": "reminder", "level": 1, "notice_date": dt.date(2026, 3, 16),
        "deadline": dt.date(2026, 3, 30), "currency": "NOK", "seller": SELLER, "buyer": BUYERS[0],
        "invoices": [_item("INV-1", "1250.00")], "kid": "0000000018", "payee_account": "86011117947",
    }  # fmt: skip
    data.update(changes)
    return ReminderDocument(**data)


VARIETY: dict[str, ReminderDocument] = {
    "one-invoice-no-fee": _doc(),
    "one-invoice-fee-interest": _doc(fee=Decimal("35"), interest=Decimal("17.12"),
                                     interest_rate_percent=Decimal("12.50")),  # fmt: skip
    "several-invoices": _doc(
        invoices=[_item("INV-1", "1250.00"), _item("INV-2", "99.90", interest=Decimal("1.10")),
                  _item("INV-3", "100000.00")],
        fee=Decimal("35"), interest=Decimal("1.10"), compensation=Decimal("470"), buyer_reference="PO 4711",
    ),  # fmt: skip
    "credit-note-in-the-list": _doc(
        invoices=[_item("INV-1", "1250.00"), _item("CN-9", "-250.00", document_type="credit_note")],
        fee=Decimal("35"),
    ),
    "foreign-currency": _doc(
        currency="EUR", invoices=[_item("INV-E1", "812.40", currency="EUR")], interest=Decimal("3.33"),
        payee_account="NO9386011117947", payee_bic="DNBANOKK", note="Bitte zahlen Sie bis 30.03.2026.",
    ),
    "nudge-without-account": _doc(kind="nudge", level=0, payee_account=None, kid=None),
}


@pytest.mark.parametrize("path", OFFICIAL, ids=[p.name for p in OFFICIAL])
def test_official_samples_validate_and_are_told_apart(path: Path, validator: Validator) -> None:
    data = path.read_bytes()
    report = validator.validate(data)
    assert report.findings == [] and report.ok
    assert [name.split(" ")[0].rsplit("-1.", 1)[0] for name in report.rule_sets[1:]] == REMINDER_SETS
    assert mappings.detect_format(data) == "ehf-reminder"
    facts = mappings.inspect_file(data)
    assert facts["format"] == "ehf-reminder"
    assert facts["reminded_invoices"][0]["number"] == "006"
    assert facts["fee"] == ("100" if "with-REM" in path.name else "0")
    assert facts["payable_amount"] == "1756.25"


@pytest.mark.parametrize("name", list(VARIETY))
def test_every_rendered_reminder_passes_xsd_and_the_three_rule_sets(name: str, validator: Validator) -> None:
    doc = VARIETY[name]
    xml = render_ehf_reminder(doc)
    report = validator.validate(xml)
    assert report.findings == [], [(f.rule_id, f.text) for f in report.findings]
    assert report.rule_sets[0] == "UBL-2.1-XSD" and len(report.rule_sets) == 4
    read = parse(xml)
    assert [item.number for item in read.invoices] == [item.number for item in doc.invoices]
    assert (read.fee, read.interest, read.compensation) == (doc.fee, doc.interest, doc.compensation)
    assert inspect(xml)["payable_amount"] == str(notice_total(doc))
    assert sniff(xml) and mappings.detect_format(xml) == "ehf-reminder"


def test_the_fee_is_a_rem_charge_without_vat() -> None:
    xml = render_ehf_reminder(VARIETY["one-invoice-fee-interest"]).decode()
    charge = xml[xml.index("<cac:AllowanceCharge>") : xml.index("</cac:AllowanceCharge>")]
    assert "<cbc:AllowanceChargeReasonCode>REM</cbc:AllowanceChargeReasonCode>" in charge
    assert "<cbc:ID>E</cbc:ID><cbc:Percent>0</cbc:Percent>" in charge
    assert "<cbc:TaxAmount currencyID=\"NOK\">0</cbc:TaxAmount>" in xml
    assert "<cbc:PayableAmount currencyID=\"NOK\">1302.12</cbc:PayableAmount>" in xml
    assert "<cbc:PaymentID>0000000018</cbc:PaymentID>" in xml and "<cbc:DueDate>2026-03-30</cbc:DueDate>" in xml


def test_a_fee_with_vat_fails_with_the_rule_id(validator: Validator) -> None:
    xml = render_ehf_reminder(VARIETY["one-invoice-fee-interest"]).decode()
    head, _, rest = xml.partition("<cbc:AllowanceChargeReasonCode>REM")
    broken = head + "<cbc:AllowanceChargeReasonCode>REM" + rest.replace(
        "<cbc:ID>E</cbc:ID><cbc:Percent>0</cbc:Percent>", "<cbc:ID>S</cbc:ID><cbc:Percent>25</cbc:Percent>", 1
    )
    report = validator.validate(broken.encode())
    assert not report.ok
    # a standard-rated charge needs an S breakdown (BR-S-01), and the E breakdown no longer adds up (BR-E-08)
    assert report.rule_ids({"fatal", "error"}) == {"BR-S-01", "BR-E-08"}


def test_a_reminder_without_its_rule_sets_is_never_a_silent_pass() -> None:
    report = Validator(None).validate(render_ehf_reminder(_doc()))
    assert "GATEWAY-NO-RULES" in report.rule_ids({"fatal"})


@pytest.mark.parametrize("kind", ["collection_warning", "payment_demand", "statement"])
def test_a_warning_demand_or_statement_is_never_ehf(kind: str) -> None:
    with pytest.raises(ValueError, match="kind"):
        render_ehf_reminder(_doc(kind=kind))


def test_a_buyer_without_an_electronic_address_gets_no_ehf() -> None:
    buyer = {key: value for key, value in BUYERS[0].items() if key != "endpoint"}
    with pytest.raises(ValueError, match="buyer.endpoint"):
        render_ehf_reminder(_doc(buyer=buyer))


def test_registry_render_writes_the_first_notice_for_an_invoice(validator: Validator) -> None:
    invoice = sample_invoice(4)
    document = mappings.render("ehf-reminder", invoice)
    assert (document.format, document.extension) == ("ehf-reminder", "xml")
    assert validator.validate(document.content).findings == []
    doc = first_notice_for(invoice, (invoice.due_date or invoice.issue_date) + dt.timedelta(days=14))
    assert parse(document.content).fee == doc.fee == Decimal("35.00")
