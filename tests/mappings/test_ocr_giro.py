"""Nets OCR giro files: every shared sample read by eye, and built files (netsgiro's writer) for each rule.

The samples are netsgiro's test data (the example file of Nets' OCR giro manual, an AvtaleGiro claim file
and an AvtaleGiro agreement file) and one file netsgiro wrote. Every value asserted below was read off the
80-character records by hand.
"""

from __future__ import annotations

import datetime as dt
import decimal
import json
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import pytest
from netsgiro import AssignmentType, ServiceCode, Transaction, TransactionType, Transmission

from mappings import detect_format, inspect_file
from mappings.base import FormatError
from mappings.remittance import ocr_giro
from schemas.kid import is_valid_kid
from schemas.remittance import RemittanceDocument
from tests.conftest import SHARED

SAMPLES = SHARED / "samples" / "ocr"
OCR_GIRO = SAMPLES / "netsgiro_ocr_giro_transactions.txt"
SYNTHETIC = SAMPLES / "SYNTHETIC_ocr_giro_netsgiro_generated.txt"
CLAIMS = SAMPLES / "netsgiro_avtalegiro_payment_request.txt"
AGREEMENTS = SAMPLES / "netsgiro_avtalegiro_agreements.txt"

#: Nets' example file: (transaction type, amount, KID) of transactions 1…20, read off the amount item 1 lines.
OCR_GIRO_TRANSACTIONS = [
    ("21", "1020.00", "0000531"),
    ("10", "1020.00", "0036633"),
    ("10", "560.00", "0048763"),
    ("10", "1020.00", "0063851"),
    ("10", "1020.00", "0120243"),
    ("10", "560.00", "0165867"),
    ("10", "1020.00", "0178357"),
    ("11", "1500.00", "02212291038306"),
    ("12", "1200.00", "02311291038304"),
    ("13", "550.00", "02310291038308"),
    ("11", "1943.00", "000149012"),
    ("12", "1000.00", "01211291038306"),
    ("13", "500.00", "02111291038305"),
    ("13", "20500.00", "02321291038303"),
    ("13", "5500.00", "02331291038302"),
    ("13", "10500.00", "02341291038301"),
    ("10", "644.00", "02358291038305"),
    ("10", "564.00", "02311291029238"),
    ("10", "288.00", "02311291034832"),
    ("10", "540.00", "02311291133188"),
]

NETS_DATE = dt.date(2026, 3, 2)
BANK_DATE = dt.date(2026, 2, 27)
PAYEE_ACCOUNT = "15038366383"


def ocr_transaction(
    number: int,
    amount: str,
    kid: str,
    transaction_type: TransactionType = TransactionType.FROM_GIRO_DEBITED_ACCOUNT,
    *,
    sign: str = "0",
    text: str | None = None,
    debit_account: str = "86011117947",
) -> Transaction:
    """One OCR giro transaction as Nets would send it (netsgiro's object, written by netsgiro)."""
    return Transaction(
        service_code=ServiceCode.OCR_GIRO,
        type=transaction_type,
        number=number,
        date=NETS_DATE,
        amount=Decimal(amount),
        kid=kid,
        reference=f"{700000000 + number:09d}",
        text=text,
        centre_id="13",
        day_code=2,
        partial_settlement_number=1,
        partial_settlement_serial_number="00001",
        sign=sign,
        form_number="0000000000",
        bank_date=BANK_DATE,
        debit_account=debit_account,
        filler=None,
    )


def ocr_file(
    *assignments: list[Transaction], accounts: tuple[str, ...] = (PAYEE_ACCOUNT,), end: str = "\n"
) -> str:
    """A whole OCR giro transmission, one assignment per list of transactions, as netsgiro writes it."""
    transmission = Transmission(
        number="0000042", data_transmitter="00008080", data_recipient="00123456", date=NETS_DATE
    )
    for index, transactions in enumerate(assignments):
        assignment = transmission.add_assignment(
            service_code=ServiceCode.OCR_GIRO,
            assignment_type=AssignmentType.TRANSACTIONS,
            agreement_id="001234567",
            number=f"{index + 1:07d}",
            account=accounts[index],
            date=NETS_DATE,
        )
        assignment.transactions.extend(transactions)
    return end.join(transmission.to_ocr().split("\n")) + end


def encoded(text: str) -> bytes:
    return text.encode("iso-8859-1")


def two_payments() -> str:
    return ocr_file([ocr_transaction(1, "100.00", "0010017"), ocr_transaction(2, "250.50", "0010025")])


def refused(data: bytes) -> FormatError:
    with pytest.raises(FormatError) as caught:
        ocr_giro.parse(data)
    return caught.value


def replaced_line(text: str, number: int, new_line: str) -> str:
    lines = text.split("\n")
    lines[number - 1] = new_line
    return "\n".join(lines)


def line_of(text: str, number: int) -> str:
    return text.split("\n")[number - 1]


def without_kid(text: str, number: int) -> str:
    """Blank the KID of the amount item 1 on line `number` (netsgiro's writer cannot leave it out)."""
    line = line_of(text.replace("\r\n", "\n"), number)
    blanked = replaced_line(text.replace("\r\n", "\n"), number, line[:49] + " " * 25 + line[74:])
    return blanked.replace("\n", "\r\n") if "\r\n" in text else blanked


# --- the samples ------------------------------------------------------------------------------------------


def test_nets_example_file_every_transaction() -> None:
    document = ocr_giro.parse(OCR_GIRO.read_bytes())
    assert isinstance(document, RemittanceDocument)
    assert document.format == "ocr-giro"
    assert (document.message_id, document.sender, document.receiver) == ("0170031", "00008080", "00010200")
    assert document.account == "99991042764"
    assert document.currency == "NOK"
    assert (document.declared_count, document.declared_total) == (20, Decimal("51449.00"))
    assert len(document.payments) == 20
    assert document.credit_total == Decimal("51449.00")
    assert sum(p.amount for p in document.payments) == Decimal("51449.00")
    assert [(p.amount, p.kids) for p in document.payments] == [
        (Decimal(amount), [kid]) for _, amount, kid in OCR_GIRO_TRANSACTIONS
    ]
    for payment in document.payments:
        assert payment.currency == "NOK"
        assert payment.direction == "credit"
        assert payment.kind == "ocr-giro"
        assert payment.booking_date == dt.date(1992, 1, 20)
        assert payment.payee_account == "99991042764"
        assert isinstance(payment.amount, Decimal)
        assert payment.lines[0].amount == payment.amount
    assert document.notes == []


def test_nets_example_file_individual_transactions() -> None:
    payments = ocr_giro.parse(OCR_GIRO.read_bytes()).payments
    first = payments[0]  # type 21, purchase with free text: the only one with an amount item 3
    assert first.free_text == ("Foo bar baz",)
    assert first.payer_account == "99990512341"
    assert first.bank_reference == "0170031/0000002/0000001/099038562"
    assert first.position == "assignment 0000002 transaction 1 (line 3)"
    assert all(p.free_text == () for p in payments[1:])
    fourteenth = payments[13]
    assert (fourteenth.amount, fourteenth.kids) == (Decimal("20500.00"), ["02321291038303"])
    assert fourteenth.payer_account == "99990510055"
    assert fourteenth.bank_reference == "0170031/0000002/0000014/025066370"
    assert fourteenth.position == "assignment 0000002 transaction 14 (line 30)"
    eleventh = payments[10]
    assert (eleventh.amount, eleventh.kids, eleventh.payer_account) == (
        Decimal("1943.00"),
        ["000149012"],
        "99990508034",
    )
    last = payments[19]
    assert (last.amount, last.kids, last.payer_account) == (
        Decimal("540.00"),
        ["02311291133188"],
        "99991011125",
    )
    assert last.bank_reference == "0170031/0000002/0000020/091308861"


def test_bank_references_are_unique_and_stable() -> None:
    data = OCR_GIRO.read_bytes()
    first = [p.bank_reference for p in ocr_giro.parse(data).payments]
    again = [p.bank_reference for p in ocr_giro.parse(data).payments]
    assert first == again
    assert len(set(first)) == 20


def test_nets_example_file_inspect_shows_the_raw_fields() -> None:
    facts = ocr_giro.inspect(OCR_GIRO.read_bytes())
    assert facts["format"] == "ocr-giro"
    assert facts["content"] == ["ocr-giro-payments"]
    assert facts["transmission"] == {
        "number": "0170031",
        "data_transmitter": "00008080",
        "data_recipient": "00010200",
        "nets_date": "1992-01-20",
        "transaction_count": 20,
        "record_count": 45,
        "total_amount": "51449.00",
    }
    (assignment,) = facts["assignments"]
    assert (assignment["number"], assignment["agreement_id"], assignment["account"]) == (
        "0000002",
        "001008566",
        "99991042764",
    )
    assert (assignment["transaction_count"], assignment["record_count"]) == (20, 43)
    assert facts["remittance"]["payment_count"] == 20
    assert facts["remittance"]["credit_total"] == "51449.00"
    transactions = facts["transactions"]
    assert [t["type"] for t in transactions] == [t for t, _, _ in OCR_GIRO_TRANSACTIONS]
    second = transactions[1]
    assert (second["form_number"], second["archive_reference"], second["bank_date"]) == (
        "9797596016",
        "097596016",
        "1992-01-16",
    )
    assert transactions[8]["bank_date"] is None  # "000000" on line 21
    assert transactions[0]["text"] == "Foo bar baz"


def test_netsgiro_generated_sample() -> None:
    document = ocr_giro.parse(SYNTHETIC.read_bytes())
    assert (document.message_id, document.sender, document.receiver) == ("0000123", "00008080", "00123456")
    assert document.account == "15038366383"
    assert (document.declared_count, document.declared_total) == (1, Decimal("1250.00"))
    (payment,) = document.payments
    assert (payment.amount, payment.kids, payment.booking_date) == (
        Decimal("1250.00"),
        ["0010017"],
        dt.date(2024, 5, 2),
    )
    assert payment.payer_account == "86011117947"
    assert payment.bank_reference == "0000123/0000001/0000001/000000001"
    assert ocr_giro.inspect(SYNTHETIC.read_bytes())["transactions"][0]["bank_date"] == "2024-05-01"


def test_our_builder_writes_the_generated_sample_byte_for_byte() -> None:
    """The built cases below are real OCR files: netsgiro's writer reproduces the shared sample exactly."""
    transmission = Transmission(
        number="0000123", data_transmitter="00008080", data_recipient="00123456", date=dt.date(2024, 5, 2)
    )
    assignment = transmission.add_assignment(
        service_code=ServiceCode.OCR_GIRO,
        assignment_type=AssignmentType.TRANSACTIONS,
        agreement_id="001234567",
        number="0000001",
        account="15038366383",
        date=dt.date(2024, 5, 2),
    )
    transaction = ocr_transaction(1, "1250.00", "0010017")
    transaction.date = dt.date(2024, 5, 2)
    transaction.bank_date = dt.date(2024, 5, 1)
    transaction.reference = "000000001"
    assignment.transactions.append(transaction)
    assert encoded(transmission.to_ocr() + "\n") == SYNTHETIC.read_bytes()


def test_sample_kids_check_digits() -> None:
    """What the samples' KIDs are: every one passes MOD10 or MOD11, none passes neither."""
    kids = [kid for _, _, kid in OCR_GIRO_TRANSACTIONS]
    mod10 = [i + 1 for i, kid in enumerate(kids) if is_valid_kid(kid, "mod10")]
    mod11 = [i + 1 for i, kid in enumerate(kids) if is_valid_kid(kid, "mod11")]
    assert mod10 == [9, 14, 15, 16, 17, 18, 19, 20]
    assert mod11 == [*range(1, 14), 20]
    assert set(mod10) | set(mod11) == set(range(1, 21))
    assert is_valid_kid("0010017", "mod10")
    assert not is_valid_kid("0010017", "mod11")
    claims = [claim["kid"] for claim in ocr_giro.inspect(CLAIMS.read_bytes())["claims"]]
    agreements = [a["kid"] for a in ocr_giro.inspect(AGREEMENTS.read_bytes())["agreements"]]
    assert all(is_valid_kid(kid, "mod10") for kid in claims + agreements)


def test_avtalegiro_claim_file_is_refused_and_shown() -> None:
    data = CLAIMS.read_bytes()
    error = refused(data)
    assert error.where == "line 2 (assignment start)"
    assert "an AvtaleGiro payment claim file is a request we send, not a payment" in error.reason
    facts = ocr_giro.inspect(data)
    assert facts["content"] == ["avtalegiro-claims"]
    assert "not a payment" in facts["refused_by_intake"]
    assert "remittance" not in facts
    assert facts["transmission"]["number"] == "1000081"
    assert facts["transmission"]["data_transmitter"] == "55555555"
    assert facts["transmission"]["data_recipient"] == "00008080"
    assert facts["transmission"]["total_amount"] == "6.00"
    (assignment,) = facts["assignments"]
    assert (assignment["number"], assignment["account"], assignment["service_code"]) == (
        "4000086",
        "88888888888",
        "21",
    )
    claims = facts["claims"]
    assert [c["kid"] for c in claims] == [
        "008000011688373",
        "008000021688389",
        "008000031688395",
        "008000041688401",
        "008000051688416",
        "008000061688422",
    ]
    assert all(c["due_date"] == "2004-06-17" and c["amount"] == "1.00" for c in claims)
    assert all(c["payer_name"] == "NAVN" for c in claims)
    assert [c["type"] for c in claims] == ["21", "21", "21", "21", "21", "02"]
    assert claims[5]["type_meaning"] == "the payee notifies the payer"
    assert claims[0]["notice"] == (
        " Gjelder Faktura: 168837  Dato: 19/03/04                  ForfallsDato: 17/06/04"
    )
    assert "168838" in claims[1]["notice"]
    assert claims[2]["notice"] is None
    assert "168841" in claims[4]["notice"]
    assert [c["line"] for c in claims] == [3, 7, 11, 13, 15, 19]


def test_avtalegiro_agreement_file_is_refused_and_shown() -> None:
    data = AGREEMENTS.read_bytes()
    error = refused(data)
    assert error.where == "line 2 (assignment start)"
    assert "AvtaleGiro agreement file" in error.reason
    assert "not payments" in error.reason
    facts = ocr_giro.inspect(data)
    assert facts["content"] == ["avtalegiro-agreements"]
    assert facts["transmission"]["number"] == "1091949"
    assert facts["transmission"]["nets_date"] == "2017-04-19"
    assert facts["transmission"]["transaction_count"] == 16
    (assignment,) = facts["assignments"]
    assert (assignment["number"], assignment["account"], assignment["assignment_type"]) == (
        "0000002",
        "99991042764",
        "24",
    )
    agreements = facts["agreements"]
    assert len(agreements) == 16
    assert agreements[0]["kid"] == "000112000507155"
    assert agreements[1]["kid"] == "001006300507304"
    assert agreements[15]["kid"] == "001186100509492"
    assert all(a["registration"] == "new or updated agreement" for a in agreements)
    assert "".join("J" if a["notify"] else "N" for a in agreements) == "JNJJJNNJJJJJNJJN"


@pytest.mark.parametrize(
    ("sample", "expected"),
    [
        (OCR_GIRO, "ocr-giro"),
        (SYNTHETIC, "ocr-giro"),
        # Nets transmissions too, but no payment files: read as what they are, before the OCR reader
        (CLAIMS, "avtalegiro-claims"),
        (AGREEMENTS, "avtalegiro-agreements"),
    ],
    ids=lambda value: value.name if isinstance(value, Path) else value,
)
def test_inspect_file_detects_ocr_giro(sample: Path, expected: str) -> None:
    data = sample.read_bytes()
    assert ocr_giro.sniff(data)
    assert detect_format(data) == expected
    facts = inspect_file(data)
    assert facts["format"] == expected
    assert json.loads(json.dumps(facts)) == facts  # plain JSON for `gateway inspect`


# --- built files ------------------------------------------------------------------------------------------


def test_avtalegiro_payment_in_an_ocr_file() -> None:
    text = ocr_file(
        [
            ocr_transaction(1, "399.00", "0010017", TransactionType.FROM_AVTALEGIRO),
            ocr_transaction(2, "100.00", "0010025", TransactionType.FROM_TELEGIRO),
        ]
    )
    avtalegiro, telegiro = ocr_giro.parse(encoded(text)).payments
    assert (avtalegiro.kind, avtalegiro.amount, avtalegiro.direction) == (
        "avtalegiro",
        Decimal("399.00"),
        "credit",
    )
    assert telegiro.kind == "ocr-giro"


def test_reversals_are_debits_with_a_note() -> None:
    text = ocr_file(
        [
            ocr_transaction(1, "500.00", "0010017", TransactionType.PURCHASE_WITH_KID),
            ocr_transaction(2, "120.00", "0010017", TransactionType.REVERSING_WITH_KID, sign="-"),
            ocr_transaction(
                3, "80.00", "1", TransactionType.REVERSING_WITH_TEXT, sign="-", text="Retur ordre 77"
            ),
        ]
    )
    text = without_kid(text, 7)
    document = ocr_giro.parse(encoded(text))
    purchase, reversal, text_reversal = document.payments
    assert purchase.direction == "credit"
    assert (reversal.direction, reversal.amount, reversal.kids) == ("debit", Decimal("120.00"), ["0010017"])
    assert (text_reversal.direction, text_reversal.lines, text_reversal.free_text) == (
        "debit",
        (),
        ("Retur ordre 77",),
    )
    assert document.credit_total == Decimal("500.00")
    assert document.declared_total == Decimal("700.00")  # netsgiro writes the sum of all amounts
    assert len(document.notes) == 2
    assert document.notes[0].startswith("assignment 0000001 transaction 2 (line 5): reversal")


def test_net_totals_with_reversals_are_accepted_too() -> None:
    """An end record holding credits less reversals (500 - 120 = 380) passes and is noted."""
    text = ocr_file(
        [
            ocr_transaction(1, "500.00", "0010017", TransactionType.PURCHASE_WITH_KID),
            ocr_transaction(2, "120.00", "0010017", TransactionType.REVERSING_WITH_KID, sign="-"),
        ]
    )
    lines = text.split("\n")
    for number in (7, 8):  # assignment end, transmission end: the 17-digit total at positions 25-41
        line = lines[number - 1]
        assert line[24:41] == "00000000000062000"
        lines[number - 1] = line[:24] + "00000000000038000" + line[41:]
    document = ocr_giro.parse(encoded("\n".join(lines)))
    assert document.declared_total == Decimal("380.00")
    assert "credits less reversals" in document.notes[-1]


def test_sign_alone_makes_a_reversal() -> None:
    text = ocr_file(
        [ocr_transaction(1, "75.00", "0010017", TransactionType.FROM_DIRECT_REMITTANCE, sign="-")]
    )
    (payment,) = ocr_giro.parse(encoded(text)).payments
    assert payment.direction == "debit"


def test_crlf_and_lf_and_latin1_and_utf8() -> None:
    transactions = [
        ocr_transaction(1, "10.00", "1", TransactionType.PURCHASE_WITH_TEXT, text="Betaling for kåpe")
    ]
    lf = without_kid(ocr_file(transactions), 3)
    crlf = without_kid(ocr_file(transactions, end="\r\n"), 3)
    assert "\r\n" in crlf
    readings = [
        ocr_giro.parse(encoded(lf)),
        ocr_giro.parse(encoded(crlf)),
        ocr_giro.parse(lf.encode("utf-8")),
        ocr_giro.parse(lf.rstrip("\n").encode("iso-8859-1")),  # no line end after the last record
    ]
    assert all(r.payments[0].free_text == ("Betaling for kåpe",) for r in readings)
    assert all(r.payments[0].lines == () for r in readings)
    assert len({repr(r.as_dict()) for r in readings}) == 1


def test_several_assignments_and_accounts() -> None:
    text = ocr_file(
        [ocr_transaction(1, "10.00", "0010017"), ocr_transaction(2, "20.00", "0010025")],
        [ocr_transaction(1, "30.00", "0010033")],
        accounts=(PAYEE_ACCOUNT, "12345678903"),
    )
    document = ocr_giro.parse(encoded(text))
    assert document.account is None
    assert "several accounts" in document.notes[0]
    assert [p.payee_account for p in document.payments] == [PAYEE_ACCOUNT, PAYEE_ACCOUNT, "12345678903"]
    references = [p.bank_reference for p in document.payments]
    assert references == [
        "0000042/0000001/0000001/700000001",
        "0000042/0000001/0000002/700000002",
        "0000042/0000002/0000001/700000001",
    ]
    assert (document.declared_count, document.declared_total) == (3, Decimal("60.00"))


def test_amounts_are_exact_decimals_whatever_the_context() -> None:
    text = ocr_file([ocr_transaction(1, "123456789012345.67", "0010017")])
    with decimal.localcontext(decimal.Context(prec=5)):
        document = ocr_giro.parse(encoded(text))
    assert document.payments[0].amount == Decimal("123456789012345.67")
    assert str(document.payments[0].amount) == "123456789012345.67"
    assert document.declared_total == Decimal("123456789012345.67")


def test_zero_debit_account_is_no_payer_account() -> None:
    text = ocr_file([ocr_transaction(1, "10.00", "0010017", debit_account="00000000000")])
    assert ocr_giro.parse(encoded(text)).payments[0].payer_account is None


def test_cancellation_and_mixed_files_are_refused() -> None:
    transmission = Transmission(number="0000007", data_transmitter="00123456", data_recipient="00008080")
    cancellations = transmission.add_assignment(
        service_code=ServiceCode.AVTALEGIRO,
        assignment_type=AssignmentType.AVTALEGIRO_CANCELLATIONS,
        number="0000001",
        account=PAYEE_ACCOUNT,
    )
    cancellations.add_payment_cancellation(
        kid="0010017", due_date=dt.date(2026, 4, 1), amount=Decimal("99.50"), payer_name="Ola"
    )
    data = encoded(transmission.to_ocr())
    error = refused(data)
    assert "cancellation" in error.reason
    (claim,) = ocr_giro.inspect(data)["claims"]
    assert (claim["type_meaning"], claim["amount"], claim["due_date"], claim["kid"], claim["payer_name"]) == (
        "cancellation of a claim",
        "99.50",
        "2026-04-01",
        "0010017",
        "Ola",
    )

    mixed = Transmission(
        number="0000008", data_transmitter="00008080", data_recipient="00123456", date=NETS_DATE
    )
    payments = mixed.add_assignment(
        service_code=ServiceCode.OCR_GIRO,
        assignment_type=AssignmentType.TRANSACTIONS,
        agreement_id="001234567",
        number="0000001",
        account=PAYEE_ACCOUNT,
        date=NETS_DATE,
    )
    payments.transactions.append(ocr_transaction(1, "10.00", "0010017"))
    claims = mixed.add_assignment(
        service_code=ServiceCode.AVTALEGIRO,
        assignment_type=AssignmentType.TRANSACTIONS,
        agreement_id="000000000",
        number="0000002",
        account=PAYEE_ACCOUNT,
    )
    claims.add_payment_request(kid="0010025", due_date=dt.date(2026, 4, 1), amount=Decimal("5.00"))
    mixed_data = encoded(mixed.to_ocr())
    error = refused(mixed_data)
    assert error.where == "line 6 (assignment start)"
    assert "payment claim" in error.reason
    facts = ocr_giro.inspect(mixed_data)
    assert facts["content"] == ["ocr-giro-payments", "avtalegiro-claims"]
    assert "remittance" not in facts
    assert facts["claims"][0]["amount"] == "5.00"


# --- malformed files --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line_number", "offset", "what"),
    [
        (8, 8, "transmission end"),  # transaction count
        (8, 16, "transmission end"),  # record count
        (8, 24, "transmission end"),  # total amount
        (7, 8, "assignment end"),
        (7, 16, "assignment end"),
        (7, 24, "assignment end"),
    ],
)
def test_tampered_control_totals_are_refused(line_number: int, offset: int, what: str) -> None:
    text = two_payments()
    line = line_of(text, line_number)
    field_end = offset + (17 if offset == 24 else 8)
    tampered = (
        line[:offset] + str(int(line[offset:field_end]) + 1).zfill(field_end - offset) + line[field_end:]
    )
    error = refused(encoded(replaced_line(text, line_number, tampered)))
    assert error.where == f"line {line_number} ({what})"
    assert "declares" in error.reason
    assert "the file holds" in error.reason or "add up to" in error.reason


def test_total_mismatch_names_both_figures() -> None:
    text = two_payments()
    line = line_of(text, 8)
    tampered = line[:24] + "00000000000035000" + line[41:]
    error = refused(encoded(replaced_line(text, 8, tampered)))
    assert error.reason == "declares a total amount of 350.00 NOK, the transactions add up to 350.50"


def test_truncated_line() -> None:
    text = two_payments()
    error = refused(encoded(replaced_line(text, 4, line_of(text, 4)[:79])))
    assert error.where == "line 4"
    assert "80 characters" in error.reason
    assert "has 79" in error.reason


def test_truncated_file() -> None:
    lines = two_payments().split("\n")
    error = refused(encoded("\n".join(lines[:5])))
    assert error.where == "line 5"
    assert "ends inside assignment 0000001" in error.reason
    error = refused(encoded("\n".join(lines[:7])))
    assert "without the transmission end" in error.reason


@pytest.mark.parametrize(
    ("line_number", "position", "junk", "where"),
    [
        (3, 30, "X", "line 3 (amount item 1)"),  # a letter in the amount
        (4, 20, "A", "line 4 (amount item 2)"),  # a letter in the form number
        (2, 12, " ", "line 2 (assignment start)"),  # a blank in the agreement id
        (8, 10, "-", "line 8 (transmission end)"),
    ],
)
def test_non_digit_fields_name_line_and_record(
    line_number: int, position: int, junk: str, where: str
) -> None:
    text = two_payments()
    line = line_of(text, line_number)
    error = refused(encoded(replaced_line(text, line_number, line[:position] + junk + line[position + 1 :])))
    assert error.where == where
    assert "does not fit" in error.reason


def test_impossible_date_is_refused() -> None:
    text = two_payments()
    line = line_of(text, 3)  # the Nets date is positions 16-21
    error = refused(encoded(replaced_line(text, 3, line[:15] + "320226" + line[21:])))
    assert error.where == "line 3 (amount item 1)"
    assert "no real date" in error.reason


@pytest.mark.parametrize(
    ("change", "where", "reason"),
    [
        (lambda line: line[:6] + "55" + line[8:], "line 3", "unknown record type '55'"),
        (lambda line: "XY" + line[2:], "line 3", "format code 'NY'"),
        (lambda line: line[:4] + "93" + line[6:], "line 3 (amount item 1)", "transaction type 93"),
    ],
)
def test_bad_record_types(change: Callable[[str], str], where: str, reason: str) -> None:
    text = two_payments()
    error = refused(encoded(replaced_line(text, 3, change(line_of(text, 3)))))
    assert error.where == where
    assert reason in error.reason


def test_structure_errors() -> None:
    lines = two_payments().split("\n")
    # amount item 2 missing: the next transaction's item 1 follows item 1
    error = refused(encoded("\n".join(lines[:3] + lines[4:])))
    assert error.where == "line 3 (amount item 1)"
    assert "no amount item 2" in error.reason
    # amount item 2 of another transaction
    error = refused(encoded("\n".join([*lines[:3], lines[5], *lines[4:]])))
    assert error.where == "line 4 (amount item 2)"
    assert "differs from the number 1" in error.reason
    # the same transaction twice
    error = refused(encoded("\n".join([*lines[:6], lines[2], lines[3], *lines[6:]])))
    assert error.where == "line 7 (amount item 1)"
    assert "appears twice" in error.reason
    # a transaction outside an assignment
    error = refused(encoded("\n".join([lines[0], lines[2], *lines[1:]])))
    assert error.where == "line 2 (amount item 1)"
    assert "outside an assignment" in error.reason
    # a record after the transmission end
    error = refused(encoded("\n".join([*lines[:8], lines[2]])))
    assert error.where == "line 9"
    # a file that does not start with a transmission start
    error = refused(encoded("\n".join(lines[1:])))
    assert error.where == "line 1"


@pytest.mark.parametrize(
    "junk",
    [
        b"",
        b"\n\n",
        b"NY000010",
        b"hello world\n",
        b"\x00\xff" * 100,
        ("NY000010" + "0" * 72 + "\n").encode(),
    ],
)
def test_junk_is_a_format_error(junk: bytes) -> None:
    with pytest.raises(FormatError):
        ocr_giro.parse(junk)
    with pytest.raises(FormatError):
        ocr_giro.inspect(junk)


def test_sniff() -> None:
    assert ocr_giro.sniff(encoded(two_payments()))
    assert ocr_giro.sniff(b"\xef\xbb\xbf" + encoded(two_payments()))
    assert not ocr_giro.sniff(b"NY000010" + b"0" * 71 + b"\n")
    assert not ocr_giro.sniff(b"UNA:+.? 'UNB+UNOC:3+SENDER+RECEIVER'")
    assert not ocr_giro.sniff(b"NY090020" + b"0" * 72 + b"\n")
