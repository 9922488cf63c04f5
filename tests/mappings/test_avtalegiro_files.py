"""AvtaleGiro claim and agreements files (mappings.consumer.avtalegiro): written with netsgiro and read back
by netsgiro; Nets' own samples (netsgiro's test data in ../shared/samples/ocr) read as what they are; the OCR
giro payment reader still reads AvtaleGiro settlements (transaction type 15) and nothing else of these."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import netsgiro
import pytest
from netsgiro import AssignmentType, ServiceCode, TransactionType
from netsgiro.objects import Transaction

from gateway.samples import kid_for, sample_invoice
from gateway.services.payments.remittances import read_remittance
from mappings import FormatError, detect_format, inspect_file, parser, render
from mappings.consumer import avtalegiro, avtalegiro_agreements
from mappings.consumer.avtalegiro import Claim, ClaimAssignment
from tests.conftest import SHARED

SAMPLES = SHARED / "samples" / "ocr"
CLAIMS = SAMPLES / "netsgiro_avtalegiro_payment_request.txt"
AGREEMENTS = SAMPLES / "netsgiro_avtalegiro_agreements.txt"
OCR_GIRO = SAMPLES / "netsgiro_ocr_giro_transactions.txt"
ACCOUNT = "86011117947"


def test_nets_claim_sample_is_a_claim_file() -> None:
    data = CLAIMS.read_bytes()
    assert detect_format(data) == "avtalegiro-claims"
    read = avtalegiro.parse(data)
    assert (read.number, read.data_transmitter, read.data_recipient) == ("1000081", "55555555", "00008080")
    assert [claim.kid for claim in read.claims] == [
        "008000011688373", "008000021688389", "008000031688395",
        "008000041688401", "008000051688416", "008000061688422",
    ]  # fmt: skip
    assert {(claim.amount, claim.due_date) for claim in read.claims} == {
        (Decimal("1.00"), dt.date(2004, 6, 17))
    }
    assert "Gjelder Faktura: 168837" in (read.claims[0].bank_notification or "")
    assert read.claims[2].bank_notification is None  # the payee notifies this payer itself
    assert read.cancellations == []


def test_nets_agreements_sample_gives_every_mandate() -> None:
    data = AGREEMENTS.read_bytes()
    assert detect_format(data) == "avtalegiro-agreements"
    read = avtalegiro_agreements.parse(data)
    assert (read.account, read.nets_date, read.complete) == ("99991042764", dt.date(2017, 4, 19), False)
    assert len(read.mandates) == 16
    assert read.mandates[0].kid == "000112000507155"
    assert {(m.status, m.registration) for m in read.mandates} == {("active", "new or updated")}
    assert "".join("J" if m.notify else "N" for m in read.mandates) == "JNJJJNNJJJJJNJJN"
    assert [m.line for m in read.mandates] == list(range(3, 19))
    facts = inspect_file(data)
    assert facts["format"] == "avtalegiro-agreements"
    assert facts["mandates"][1] == {
        "kid": "001006300507304", "status": "active", "registration": "new or updated", "notify": False,
        "line": 4,
    }  # fmt: skip


def test_a_claim_file_we_write_is_read_back_by_netsgiro() -> None:
    notice = "Nordlys Kraft AS\nFaktura 1001 desember"
    claims = (
        Claim(kid=kid_for(1001), due_date=dt.date(2027, 1, 15), amount=Decimal("1249.50"),
              reference="Faktura 1001", payer_name="Kari Nordmann", bank_notification=notice),
        Claim(kid=kid_for(1002), due_date=dt.date(2027, 1, 20), amount=Decimal("99.00"), payer_name="Ola"),
    )  # fmt: skip
    withdrawn = (Claim(kid=kid_for(900), due_date=dt.date(2027, 1, 2), amount=Decimal("10.00")),)
    data = avtalegiro.claim_file(
        number="0000042",
        data_transmitter="12345678",
        assignments=[
            ClaimAssignment(number="0000042", account=ACCOUNT, agreement_id="123456789", claims=claims,
                            cancellations=withdrawn)
        ],
    )  # fmt: skip
    transmission = netsgiro.parse(data.decode("iso-8859-1"))
    assert (transmission.number, transmission.data_transmitter, transmission.data_recipient) == (
        "0000042", "12345678", "00008080",
    )  # fmt: skip
    requests, cancellations = transmission.assignments
    assert (requests.service_code, requests.type, requests.account, requests.agreement_id) == (
        ServiceCode.AVTALEGIRO, AssignmentType.TRANSACTIONS, ACCOUNT, "123456789",
    )  # fmt: skip
    assert cancellations.type == AssignmentType.AVTALEGIRO_CANCELLATIONS
    bank = TransactionType.AVTALEGIRO_WITH_BANK_NOTIFICATION
    payee = TransactionType.AVTALEGIRO_WITH_PAYEE_NOTIFICATION
    assert [(t.kid, t.amount, t.date, t.type) for t in requests.transactions] == [
        (kid_for(1001), Decimal("1249.50"), dt.date(2027, 1, 15), bank),
        (kid_for(1002), Decimal("99.00"), dt.date(2027, 1, 20), payee),
    ]
    assert requests.transactions[0].text.splitlines()[0].strip() == "Nordlys Kraft AS"
    assert [(t.kid, t.amount, t.type) for t in cancellations.transactions] == [
        (kid_for(900), Decimal("10.00"), TransactionType.AVTALEGIRO_CANCELLATION)
    ]
    ours = avtalegiro.parse(data)  # our reader agrees with netsgiro's
    assert [c.kid for c in ours.claims] == [kid_for(1001), kid_for(1002)]
    assert [c.kid for c in ours.cancellations] == [kid_for(900)]
    assert ours.claims[0].bank_notification is not None
    assert "Faktura 1001 desember" in ours.claims[0].bank_notification


def test_an_invoice_renders_as_a_one_claim_file_a_person_can_check() -> None:
    invoice = sample_invoice(7).model_copy(update={"due_date": dt.date(2027, 1, 31)})
    document = render("avtalegiro-claims", invoice)
    assert (document.format, document.extension) == ("avtalegiro-claims", "txt")
    assert detect_format(document.content) == "avtalegiro-claims"
    (assignment,) = netsgiro.parse(document.content.decode("iso-8859-1")).assignments
    (request,) = assignment.transactions
    assert (request.kid, request.amount, request.date) == (
        invoice.kid,
        invoice.totals.payable,
        invoice.due_date,
    )
    assert assignment.account == ACCOUNT  # the invoice's own 11-digit account
    facts = inspect_file(document.content)
    assert json.loads(json.dumps(facts)) == facts
    assert facts["claims"][0]["kid"] == invoice.kid
    assert facts["claims"][0]["amount"] == str(invoice.totals.payable)
    assert f"Faktura {invoice.number}" in facts["claims"][0]["bank_notification"]


def test_an_invoice_without_kid_or_in_another_currency_is_no_claim() -> None:
    invoice = sample_invoice(1)
    no_kid = invoice.model_copy(update={"payment_means": []})
    with pytest.raises(FormatError) as error:
        render("avtalegiro-claims", no_kid)
    assert error.value.where == "payment_means.payment_id"
    with pytest.raises(FormatError) as error:
        avtalegiro.claim_from_invoice(invoice.model_copy(update={"currency": "SEK"}), notify=False)
    assert error.value.where == "currency"


@pytest.mark.parametrize(
    "data",
    [b"", b"not a nets file", AGREEMENTS.read_bytes(), OCR_GIRO.read_bytes(), CLAIMS.read_bytes()[:-90]],
    ids=["empty", "junk", "agreements", "ocr-giro", "truncated"],
)
def test_what_is_no_claim_file_is_refused_plainly(data: bytes) -> None:
    with pytest.raises(FormatError) as error:
        parser("avtalegiro-claims")(data)
    assert error.value.reason


def test_a_claim_file_cut_short_names_the_line() -> None:
    lines = CLAIMS.read_bytes().splitlines(keepends=True)
    with pytest.raises(FormatError) as error:
        avtalegiro.parse(b"".join(lines[:-1]))
    assert error.value.where.startswith("line ")


def test_payment_intake_refuses_claims_and_agreements_and_reads_settlements() -> None:
    for sample, name in ((CLAIMS, "avtalegiro-claims"), (AGREEMENTS, "avtalegiro-agreements")):
        with pytest.raises(FormatError) as error:
            read_remittance(sample.read_bytes())
        assert f"a {name} file carries no payments" in error.value.reason
    settlement = Transaction(
        service_code=ServiceCode.OCR_GIRO, type=TransactionType.FROM_AVTALEGIRO, number=1,
        date=dt.date(2027, 1, 15), amount=Decimal("1249.50"), kid=kid_for(1001), reference="700000001",
        text=None, centre_id="13", day_code=15, partial_settlement_number=1,
        partial_settlement_serial_number="00001", sign="0", form_number="0000000000",
        bank_date=dt.date(2027, 1, 15), debit_account="12345678903", filler=None,
    )  # fmt: skip
    transmission = netsgiro.Transmission(
        number="0000099", data_transmitter="00008080", data_recipient="12345678", date=dt.date(2027, 1, 15)
    )
    assignment = transmission.add_assignment(
        service_code=ServiceCode.OCR_GIRO, assignment_type=AssignmentType.TRANSACTIONS, number="0000001",
        account=ACCOUNT, agreement_id="123456789", date=dt.date(2027, 1, 15),
    )  # fmt: skip
    assignment.transactions.append(settlement)
    data = transmission.to_ocr().encode() + b"\n"
    name, document = read_remittance(data)
    assert name == "ocr-giro"
    (payment,) = document.payments
    assert (payment.kind, payment.amount, payment.lines[0].kid) == (
        "avtalegiro",
        Decimal("1249.50"),
        kid_for(1001),
    )
