"""Nets OCR giro files read into the remittance model; AvtaleGiro claim and agreement files shown, not booked.

An OCR giro file is what Nets sends a payee for the KID payments that reached its account: one transmission
(`NY000010` … `NY000089`) of assignments (`NY090020` … `NY090088`, one per agreement and account), each a
list of transactions of two or three 80-character records (amount items 1, 2 and 3: `NY09tt30/31/32`, `tt`
the transaction type). Every end record repeats how many transactions and records came before it and what
they add up to; a file that does not add up is refused, naming the line.

The same record syntax carries three AvtaleGiro files that are no payments and are refused by
`parse` (remittance intake) but shown by `inspect`:

* payment claims (service code 21, assignment type 00): the requests a payee *sends* Nets, one per due date
  and KID, with the payer's notice text when the bank notifies the payer;
* cancellations (assignment type 36): claims the payee withdraws;
* agreements (assignment type 24): Nets telling the payee which payers signed, changed or ended a mandate.

AvtaleGiro *payments* arrive in ordinary OCR giro files as transaction type 15 (`kind="avtalegiro"`).

Records are parsed by netsgiro's records API (its record layouts and field converters); the structure,
the control totals, the line numbers in errors and the mapping are done here, since netsgiro checks no
totals, reports no line numbers and relies on `assert`. Files are ISO-8859-1 (as Nets writes them; a file
that is valid UTF-8 is read as UTF-8), with LF or CRLF line ends. Amounts are øre (integers) and become
`Decimal` kroner exactly.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from netsgiro import AssignmentType, AvtaleGiroRegistrationType, ServiceCode, TransactionType
from netsgiro.objects import Agreement, PaymentRequest
from netsgiro.records import (
    AssignmentEnd,
    AssignmentStart,
    AvtaleGiroAgreement,
    Record,
    TransactionAmountItem1,
    TransactionAmountItem2,
    TransactionAmountItem3,
    TransactionRecord,
    TransactionSpecification,
    TransmissionEnd,
    TransmissionStart,
)

from mappings.base import FormatError
from schemas.remittance import Payment, RemittanceDocument, RemittanceLine

FORMAT_NAME = "ocr-giro"
CURRENCY = "NOK"
RECORD_LENGTH = 80
#: About 1.6 million transactions; a payee's daily file is far below it. Anything larger is refused.
MAX_OCR_BYTES = 256 * 1024 * 1024
_TRANSMISSION_START = b"NY000010"
_BYTE_ORDER_MARK = b"\xef\xbb\xbf"

_RECORD_CLASSES: dict[str, type[Record]] = {
    "10": TransmissionStart,
    "20": AssignmentStart,
    "30": TransactionAmountItem1,
    "31": TransactionAmountItem2,
    "32": TransactionAmountItem3,
    "49": TransactionSpecification,
    "70": AvtaleGiroAgreement,
    "88": AssignmentEnd,
    "89": TransmissionEnd,
}
RECORD_NAMES: dict[str, str] = {
    "10": "transmission start",
    "20": "assignment start",
    "30": "amount item 1",
    "31": "amount item 2",
    "32": "amount item 3",
    "49": "AvtaleGiro notice specification",
    "70": "AvtaleGiro agreement",
    "88": "assignment end",
    "89": "transmission end",
}

#: OCR giro transaction types (Nets' OCR giro system specification), as a person reads them.
OCR_GIRO_TRANSACTION_TYPES: dict[int, str] = {
    10: "giro debited to the payer's account",
    11: "standing order",
    12: "direct remittance",
    13: "business terminal giro",
    14: "counter giro",
    15: "AvtaleGiro",
    16: "TeleGiro",
    17: "giro paid in cash",
    18: "reversal with KID (Nettgiro)",
    19: "purchase with KID (Nettgiro)",
    20: "reversal with free text (Nettgiro)",
    21: "purchase with free text (Nettgiro)",
}
AVTALEGIRO_CLAIM_TYPES: dict[int, str] = {
    TransactionType.AVTALEGIRO_WITH_PAYEE_NOTIFICATION: "the payee notifies the payer",
    TransactionType.AVTALEGIRO_WITH_BANK_NOTIFICATION: "the payer's bank notifies the payer",
}
_REVERSAL_TYPES = frozenset({TransactionType.REVERSING_WITH_KID, TransactionType.REVERSING_WITH_TEXT})

#: What each kind of assignment is, and why remittance intake refuses the ones that are no payments.
CONTENT_OCR_GIRO = "ocr-giro-payments"
CONTENT_CLAIMS = "avtalegiro-claims"
CONTENT_CANCELLATIONS = "avtalegiro-cancellations"
CONTENT_AGREEMENTS = "avtalegiro-agreements"
NOT_PAYMENTS: dict[str, str] = {
    CONTENT_CLAIMS: "an AvtaleGiro payment claim file is a request we send, not a payment",
    CONTENT_CANCELLATIONS: "an AvtaleGiro cancellation file withdraws claims we sent, it is not a payment",
    CONTENT_AGREEMENTS: "an AvtaleGiro agreement file lists payers' mandates (new, changed or deleted "
    "agreements), not payments",
}
MEANINGS: dict[str, str] = {
    CONTENT_OCR_GIRO: "KID payments credited to the payee's account (and reversals debited from it)",
    **NOT_PAYMENTS,
}


@dataclass
class _Transaction:
    """The records of one transaction, in file order, with the line of its first record."""

    line: int
    number: int
    transaction_type: TransactionType
    records: list[TransactionRecord]


@dataclass
class _Assignment:
    line: int
    start: AssignmentStart
    content: str
    transactions: list[_Transaction] = field(default_factory=list)
    record_count: int = 1
    end: AssignmentEnd | None = None
    end_line: int = 0


@dataclass
class _Transmission:
    start: TransmissionStart
    assignments: list[_Assignment]
    end: TransmissionEnd
    end_line: int
    declared_total_kind: str


def sniff(data: bytes) -> bool:
    """A Nets OCR / AvtaleGiro file: its first record is an 80-character transmission start."""
    if data.startswith(_BYTE_ORDER_MARK):
        data = data[len(_BYTE_ORDER_MARK) :]
    first_record = data[:RECORD_LENGTH]
    return (
        first_record.startswith(_TRANSMISSION_START)
        and len(first_record) == RECORD_LENGTH
        and b"\n" not in first_record
        and b"\r" not in first_record
        and data[RECORD_LENGTH : RECORD_LENGTH + 1] in (b"", b"\r", b"\n")
    )


def parse(data: bytes) -> RemittanceDocument:
    """The payments of an OCR giro file, checked against its end records; AvtaleGiro claim files refused.

    One `Payment` per transaction (NOK, positive amount): its KID as a `RemittanceLine`, the Nets date as
    `booking_date`, the payer's debit account, and `bank_reference` = `<transmission>/<assignment>/
    <transaction>[/<archive reference>]`, which is the same each time the same file is read. Reversals
    (types 18 and 20, or a `-` sign) are debits.
    """
    transmission = _read_transmission(data)
    for assignment in transmission.assignments:
        if assignment.content != CONTENT_OCR_GIRO:
            raise FormatError(
                f"line {assignment.line} (assignment start)",
                f"{NOT_PAYMENTS[assignment.content]}; assignment {assignment.start.assignment_number} "
                f"(service code {assignment.start.service_code:02d}, "
                f"assignment type {assignment.start.assignment_type:02d})",
            )
    return _document(transmission)


def inspect(data: bytes) -> dict[str, Any]:
    """What the gateway reads from an OCR / AvtaleGiro file (for `gateway inspect`).

    Payment files show the remittance document; AvtaleGiro claim, cancellation and agreement files show
    their claims and agreements, with what the file is and why intake does not book it.
    """
    transmission = _read_transmission(data)
    contents = list(dict.fromkeys(assignment.content for assignment in transmission.assignments))
    out: dict[str, Any] = {
        "format": FORMAT_NAME,
        "content": contents,
        "meaning": [MEANINGS[content] for content in contents],
        "transmission": _transmission_facts(transmission),
        "assignments": [_assignment_facts(assignment) for assignment in transmission.assignments],
    }
    if all(assignment.content == CONTENT_OCR_GIRO for assignment in transmission.assignments):
        out["remittance"] = _document(transmission).as_dict()
        out["transactions"] = [
            _ocr_transaction_facts(assignment, transaction)
            for assignment in transmission.assignments
            for transaction in assignment.transactions
        ]
    else:
        out["refused_by_intake"] = "; ".join(NOT_PAYMENTS[c] for c in contents if c in NOT_PAYMENTS)
    claims = [
        _claim_facts(assignment, transaction)
        for assignment in transmission.assignments
        if assignment.content in (CONTENT_CLAIMS, CONTENT_CANCELLATIONS)
        for transaction in assignment.transactions
    ]
    if claims:
        out["claims"] = claims
    agreements = [
        _agreement_facts(assignment, transaction)
        for assignment in transmission.assignments
        if assignment.content == CONTENT_AGREEMENTS
        for transaction in assignment.transactions
    ]
    if agreements:
        out["agreements"] = agreements
    return out


# --- reading records ----------------------------------------------------------------------------------


def _decode(data: bytes) -> str:
    """Text of the file: ISO-8859-1 as Nets writes it, UTF-8 when the file is valid UTF-8 (never guessed
    per line, so every line is decoded the same way)."""
    if len(data) > MAX_OCR_BYTES:
        raise FormatError("file", f"larger than {MAX_OCR_BYTES} bytes ({len(data)})")
    if data.startswith(_BYTE_ORDER_MARK):
        data = data[len(_BYTE_ORDER_MARK) :]
    if data.isascii():
        return data.decode("ascii")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("iso-8859-1")


def _lines(data: bytes) -> list[str]:
    """The records as text lines (LF or CRLF); blank lines and a DOS end-of-file mark at the end dropped."""
    lines = _decode(data).split("\n")
    for index, line in enumerate(lines):
        if line.endswith("\r"):
            lines[index] = line[:-1]
    while lines and not lines[-1].strip(" \t\r\x1a"):
        lines.pop()
    if not lines:
        raise FormatError("line 1", "empty file: no transmission start record (NY000010)")
    return lines


def record_lines(data: bytes) -> list[str]:
    """The file's records as text lines, decoded and split as every reader of Nets files does."""
    return _lines(data)


def _parse_record(number: int, line: str) -> Record:
    """One line as a netsgiro record; any problem becomes a `FormatError` naming the line and the record."""
    if len(line) != RECORD_LENGTH:
        raise FormatError(
            f"line {number}",
            f"a record is {RECORD_LENGTH} characters long, this one has {len(line)}"
            + (" (truncated?)" if len(line) < RECORD_LENGTH else ""),
        )
    if not line.startswith("NY"):
        raise FormatError(f"line {number}", f"a record starts with the format code 'NY', not {line[:2]!r}")
    code = line[6:8]
    record_class = _RECORD_CLASSES.get(code)
    if record_class is None:
        raise FormatError(
            f"line {number}",
            f"unknown record type {code!r} (positions 7-8; known: {', '.join(_RECORD_CLASSES)})",
        )
    where = f"line {number} ({RECORD_NAMES[code]})"
    try:
        return record_class.from_string(line)
    except (ValueError, TypeError) as exc:
        message = str(exc)
        if "did not match" in message:
            reason = (
                f"does not fit the {RECORD_NAMES[code]} layout for service code {line[2:4]!r} and "
                f"type {line[4:6]!r}: a field holds characters the layout does not allow "
                "(digits where digits are required, blanks or zero fillers elsewhere)"
            )
        elif any(text in message for text in ("time data", "unconverted data", "out of range")):
            reason = f"a date field (DDMMYY) holds no real date ({message})"
        else:
            reason = f"a field is not valid: {message}"
        raise FormatError(where, reason) from exc


def _content(number: int, start: AssignmentStart) -> str:
    if start.service_code == ServiceCode.OCR_GIRO:
        if start.assignment_type != AssignmentType.TRANSACTIONS:
            raise FormatError(
                f"line {number} (assignment start)",
                f"an OCR giro assignment has assignment type 00, not {start.assignment_type:02d}",
            )
        return CONTENT_OCR_GIRO
    return {
        AssignmentType.TRANSACTIONS: CONTENT_CLAIMS,
        AssignmentType.AVTALEGIRO_CANCELLATIONS: CONTENT_CANCELLATIONS,
        AssignmentType.AVTALEGIRO_AGREEMENTS: CONTENT_AGREEMENTS,
    }[start.assignment_type]


#: The transaction types each kind of assignment may hold.
_ALLOWED_TYPES: dict[str, frozenset[int]] = {
    CONTENT_OCR_GIRO: frozenset(OCR_GIRO_TRANSACTION_TYPES),
    CONTENT_CLAIMS: frozenset(AVTALEGIRO_CLAIM_TYPES),
    CONTENT_CANCELLATIONS: frozenset({TransactionType.AVTALEGIRO_CANCELLATION}),
    CONTENT_AGREEMENTS: frozenset({TransactionType.AVTALEGIRO_AGREEMENT}),
}


#: Which record may follow which inside one transaction ("30" and "70" open one).
_FOLLOWS: dict[str, dict[str, frozenset[str]]] = {
    CONTENT_OCR_GIRO: {"31": frozenset({"30"}), "32": frozenset({"31"})},
    CONTENT_CLAIMS: {"31": frozenset({"30"}), "49": frozenset({"31", "49"})},
    CONTENT_CANCELLATIONS: {"31": frozenset({"30"}), "49": frozenset({"31", "49"})},
    CONTENT_AGREEMENTS: {},
}
_OPENS = {CONTENT_OCR_GIRO: "30", CONTENT_CLAIMS: "30", CONTENT_CANCELLATIONS: "30", CONTENT_AGREEMENTS: "70"}


def _read_transmission(data: bytes) -> _Transmission:
    """Every record, in the structure the format prescribes, checked against the end records' totals."""
    lines = _lines(data)
    first = _parse_record(1, lines[0])
    if not isinstance(first, TransmissionStart):
        raise FormatError("line 1", "a file starts with the transmission start record (NY000010)")
    assignments: list[_Assignment] = []
    current: _Assignment | None = None
    last_code = ""
    seen_numbers: dict[int, int] = {}
    for number, line in enumerate(lines[1:], start=2):
        record = _parse_record(number, line)
        code = line[6:8]
        where = f"line {number} ({RECORD_NAMES[code]})"
        if isinstance(record, TransmissionEnd):
            if current is not None:
                raise FormatError(
                    where,
                    f"assignment {current.start.assignment_number} (line {current.line}) has no end record",
                )
            if number != len(lines):
                raise FormatError(f"line {number + 1}", "a record after the transmission end record")
            transmission = _Transmission(first, assignments, record, number, "")
            _check_transmission_totals(transmission, len(lines))
            return transmission
        if isinstance(record, TransmissionStart):
            raise FormatError(where, "a second transmission start; a file holds one transmission")
        if isinstance(record, AssignmentStart):
            if current is not None:
                raise FormatError(
                    where,
                    f"assignment {current.start.assignment_number} (line {current.line}) has no end record",
                )
            current = _Assignment(number, record, _content(number, record))
            assignments.append(current)
            last_code, seen_numbers = "20", {}
            continue
        if current is None:
            raise FormatError(where, "a record outside an assignment (no assignment start before it)")
        current.record_count += 1
        if isinstance(record, AssignmentEnd):
            _check_incomplete(current, last_code, number)
            current.end, current.end_line = record, number
            _check_assignment_totals(current)
            current = None
            continue
        assert isinstance(record, TransactionRecord)  # every other record class is a transaction record
        if record.service_code != current.start.service_code:
            raise FormatError(
                where,
                f"service code {record.service_code:02d} inside an assignment of service code "
                f"{current.start.service_code:02d} (line {current.line})",
            )
        if code == _OPENS[current.content]:
            _check_incomplete(current, last_code, number)
            if record.transaction_type not in _ALLOWED_TYPES[current.content]:
                raise FormatError(
                    where,
                    f"transaction type {record.transaction_type:02d} does not belong in this assignment "
                    f"(allowed: {', '.join(f'{t:02d}' for t in sorted(_ALLOWED_TYPES[current.content]))})",
                )
            if record.transaction_number in seen_numbers:
                raise FormatError(
                    where,
                    f"transaction number {record.transaction_number} appears twice in the assignment "
                    f"(first on line {seen_numbers[record.transaction_number]})",
                )
            seen_numbers[record.transaction_number] = number
            current.transactions.append(
                _Transaction(number, record.transaction_number, record.transaction_type, [record])
            )
        else:
            allowed_before = _FOLLOWS[current.content].get(code)
            if allowed_before is None or last_code not in allowed_before:
                raise FormatError(
                    where, f"a {RECORD_NAMES[code]} record cannot follow a {_name(last_code)} here"
                )
            transaction = current.transactions[-1]
            if record.transaction_number != transaction.number:
                raise FormatError(
                    where,
                    f"transaction number {record.transaction_number} differs from the number "
                    f"{transaction.number} of the transaction it continues (line {transaction.line})",
                )
            if record.transaction_type != transaction.transaction_type:
                raise FormatError(
                    where,
                    f"transaction type {record.transaction_type:02d} differs from the type "
                    f"{transaction.transaction_type:02d} of the transaction it continues "
                    f"(line {transaction.line})",
                )
            transaction.records.append(record)
        last_code = code
    if current is not None:
        raise FormatError(
            f"line {len(lines)}",
            f"the file ends inside assignment {current.start.assignment_number} (line {current.line}): "
            "no assignment end or transmission end record (truncated?)",
        )
    raise FormatError(f"line {len(lines)}", "the file ends without the transmission end record (truncated?)")


def _name(code: str) -> str:
    return RECORD_NAMES.get(code, "start") + " record"


def _check_incomplete(assignment: _Assignment, last_code: str, number: int) -> None:
    """A transaction whose amount item 1 is not followed by its amount item 2."""
    if last_code == "30":
        transaction = assignment.transactions[-1]
        raise FormatError(
            f"line {transaction.line} (amount item 1)",
            f"transaction {transaction.number} has no amount item 2 (line {number} follows instead)",
        )


def _amount(transaction: _Transaction) -> int:
    """The transaction's amount in øre (0 for an agreement, which has none)."""
    first = transaction.records[0]
    return first.amount if isinstance(first, TransactionAmountItem1) else 0


def _is_reversal(transaction: _Transaction) -> bool:
    first = transaction.records[0]
    return transaction.transaction_type in _REVERSAL_TYPES or (
        isinstance(first, TransactionAmountItem1) and first.sign == "-"
    )


def _mismatch(where: str, what: str, declared: int, counted: int) -> FormatError:
    return FormatError(where, f"declares {what} {declared}, the file holds {counted}")


def _check_assignment_totals(assignment: _Assignment) -> None:
    """The assignment end record against its start record and what came between them."""
    end = assignment.end
    assert end is not None
    where = f"line {assignment.end_line} (assignment end)"
    start = assignment.start
    if (end.service_code, end.assignment_type) != (start.service_code, start.assignment_type):
        raise FormatError(
            where,
            f"service code {end.service_code:02d} / assignment type {end.assignment_type:02d} differ from "
            f"the assignment start's {start.service_code:02d} / {start.assignment_type:02d} "
            f"(line {assignment.line})",
        )
    if end.num_transactions != len(assignment.transactions):
        raise _mismatch(where, "a transaction count of", end.num_transactions, len(assignment.transactions))
    if end.num_records != assignment.record_count:
        raise _mismatch(where, "a record count of", end.num_records, assignment.record_count)
    if end.total_amount is not None:
        _check_total(where, end.total_amount, assignment.transactions)


def _check_total(where: str, declared: int, transactions: list[_Transaction]) -> str:
    """The declared sum in øre against the transactions: all amounts added ("gross", as netsgiro writes and
    as every file without reversals has it) or, when there are reversals, credits less reversals ("net").
    Nets' specification does not say which of the two an end record holds with reversals, so both pass."""
    gross = sum(_amount(t) for t in transactions)
    if declared == gross:
        return "gross"
    reversed_amount = sum(_amount(t) for t in transactions if _is_reversal(t))
    net = gross - 2 * reversed_amount
    if reversed_amount and declared == net:
        return "net"
    counted = f"{_kroner(gross)}" + (f" (net of reversals {_kroner(net)})" if reversed_amount else "")
    raise FormatError(
        where, f"declares a total amount of {_kroner(declared)} NOK, the transactions add up to {counted}"
    )


def _check_transmission_totals(transmission: _Transmission, line_count: int) -> None:
    """The transmission end record against the whole file."""
    end = transmission.end
    where = f"line {transmission.end_line} (transmission end)"
    transactions = [t for a in transmission.assignments for t in a.transactions]
    if end.num_transactions != len(transactions):
        raise _mismatch(where, "a transaction count of", end.num_transactions, len(transactions))
    if end.num_records != line_count:
        raise _mismatch(where, "a record count of", end.num_records, line_count)
    transmission.declared_total_kind = _check_total(where, end.total_amount, transactions)


# --- mapping ---------------------------------------------------------------------------------------------


def _kroner(ore: int) -> Decimal:
    """Øre as kroner, exactly (the constructor never rounds, whatever the decimal context)."""
    return Decimal(f"{ore}E-2")


def _account(digits: str | None) -> str | None:
    """An 11-digit account number; an all-zero field is no account."""
    return digits if digits and digits.strip("0 ") else None


def _items(
    transaction: _Transaction,
) -> tuple[TransactionAmountItem1, TransactionAmountItem2, TransactionAmountItem3 | None]:
    first, second, *rest = transaction.records
    assert isinstance(first, TransactionAmountItem1)
    assert isinstance(second, TransactionAmountItem2)
    third = rest[0] if rest else None
    assert third is None or isinstance(third, TransactionAmountItem3)
    return first, second, third


def bank_reference(
    transmission_number: str, assignment_number: str, transaction: int, archive: str | None
) -> str:
    """The payment's id: unique in the file and across a transmitter's files, the same on every reading."""
    reference = f"{transmission_number}/{assignment_number}/{transaction:07d}"
    return f"{reference}/{archive}" if archive else reference


def _payment(transmission: _Transmission, assignment: _Assignment, transaction: _Transaction) -> Payment:
    first, second, third = _items(transaction)
    amount = _kroner(first.amount)
    reversal = _is_reversal(transaction)
    return Payment(
        amount=amount,
        currency=CURRENCY,
        direction="debit" if reversal else "credit",
        booking_date=first.nets_date,
        payer_account=_account(second.debit_account),
        payee_account=assignment.start.assignment_account,
        bank_reference=bank_reference(
            transmission.start.transmission_number,
            assignment.start.assignment_number,
            transaction.number,
            second.reference,
        ),
        free_text=(third.text,) if third is not None and third.text else (),
        lines=(RemittanceLine(kid=first.kid, amount=amount),) if first.kid else (),
        kind="avtalegiro" if transaction.transaction_type == TransactionType.FROM_AVTALEGIRO else "ocr-giro",
        position=f"assignment {assignment.start.assignment_number} transaction {transaction.number} "
        f"(line {transaction.line})",
    )


def _document(transmission: _Transmission) -> RemittanceDocument:
    payments: list[Payment] = []
    notes: list[str] = []
    for assignment in transmission.assignments:
        for transaction in assignment.transactions:
            payment = _payment(transmission, assignment, transaction)
            payments.append(payment)
            if payment.direction == "debit":
                meaning = OCR_GIRO_TRANSACTION_TYPES[transaction.transaction_type]
                notes.append(
                    f"{payment.position}: reversal ({meaning}), "
                    f"{payment.amount} NOK taken back from the payee's account"
                )
    accounts = list(dict.fromkeys(a.start.assignment_account for a in transmission.assignments))
    if len(accounts) > 1:
        notes.append(
            f"assignments for several accounts: {', '.join(accounts)} (see each payment's payee_account)"
        )
    if transmission.declared_total_kind == "net":
        notes.append("the transmission end total is credits less reversals")
    end = transmission.end
    return RemittanceDocument(
        format=FORMAT_NAME,
        payments=payments,
        message_id=transmission.start.transmission_number,
        account=accounts[0] if len(accounts) == 1 else None,
        currency=CURRENCY,
        sender=transmission.start.data_transmitter,
        receiver=transmission.start.data_recipient,
        declared_count=end.num_transactions,
        declared_total=_kroner(end.total_amount),
        notes=notes,
    )


# --- inspect -------------------------------------------------------------------------------------------


def _iso(value: dt.date | None) -> str | None:
    return value.isoformat() if value else None


def _transmission_facts(transmission: _Transmission) -> dict[str, Any]:
    start, end = transmission.start, transmission.end
    return {
        "number": start.transmission_number,
        "data_transmitter": start.data_transmitter,
        "data_recipient": start.data_recipient,
        "nets_date": _iso(end.nets_date),
        "transaction_count": end.num_transactions,
        "record_count": end.num_records,
        "total_amount": str(_kroner(end.total_amount)),
    }


def _assignment_facts(assignment: _Assignment) -> dict[str, Any]:
    start, end = assignment.start, assignment.end
    assert end is not None
    facts: dict[str, Any] = {
        "line": assignment.line,
        "content": assignment.content,
        "service_code": f"{start.service_code:02d}",
        "assignment_type": f"{start.assignment_type:02d}",
        "number": start.assignment_number,
        "account": start.assignment_account,
        "agreement_id": start.agreement_id,
        "transaction_count": end.num_transactions,
        "record_count": end.num_records,
        "total_amount": str(_kroner(end.total_amount)) if end.total_amount is not None else None,
    }
    if assignment.content == CONTENT_OCR_GIRO:
        facts["nets_date"] = _iso(end.nets_date)
    if end.total_amount is not None:
        facts["earliest_date"] = _iso(end.nets_date_earliest)
        facts["latest_date"] = _iso(end.nets_date_latest)
    return facts


def _ocr_transaction_facts(assignment: _Assignment, transaction: _Transaction) -> dict[str, Any]:
    first, second, third = _items(transaction)
    return {
        "line": transaction.line,
        "assignment": assignment.start.assignment_number,
        "number": transaction.number,
        "type": f"{transaction.transaction_type:02d}",
        "type_meaning": OCR_GIRO_TRANSACTION_TYPES[transaction.transaction_type],
        "nets_date": _iso(first.nets_date),
        "amount": str(_kroner(first.amount)),
        "sign": first.sign,
        "kid": first.kid,
        "centre_id": first.centre_id,
        "day_code": first.day_code,
        "partial_settlement_number": first.partial_settlement_number,
        "partial_settlement_serial_number": first.partial_settlement_serial_number,
        "form_number": second.form_number,
        "archive_reference": second.reference,
        "bank_date": _iso(second.bank_date),
        "debit_account": _account(second.debit_account),
        "text": third.text if third is not None else None,
    }


def _from_netsgiro(where: str, build: Any, records: list[TransactionRecord]) -> Any:
    try:
        return build(list(records))
    except (ValueError, TypeError, AssertionError) as exc:
        raise FormatError(where, f"netsgiro cannot read this transaction: {exc}") from exc


def _claim_facts(assignment: _Assignment, transaction: _Transaction) -> dict[str, Any]:
    where = f"line {transaction.line} (amount item 1)"
    claim: PaymentRequest = _from_netsgiro(where, PaymentRequest.from_records, transaction.records)
    notice = "\n".join(line.rstrip() for line in (claim.text or "").splitlines()).strip("\n")
    return {
        "line": transaction.line,
        "assignment": assignment.start.assignment_number,
        "number": claim.number,
        "type": f"{claim.type:02d}",
        "type_meaning": "cancellation of a claim"
        if claim.type == TransactionType.AVTALEGIRO_CANCELLATION
        else AVTALEGIRO_CLAIM_TYPES[claim.type],
        "due_date": _iso(claim.date),
        "amount": str(_kroner(_amount(transaction))),
        "kid": claim.kid,
        "payer_name": claim.payer_name,
        "external_reference": claim.reference,
        "notice": notice or None,
    }


def _agreement_facts(assignment: _Assignment, transaction: _Transaction) -> dict[str, Any]:
    where = f"line {transaction.line} (AvtaleGiro agreement)"
    agreement: Agreement = _from_netsgiro(where, Agreement.from_records, transaction.records)
    registration = AvtaleGiroRegistrationType(agreement.registration_type)
    return {
        "line": transaction.line,
        "assignment": assignment.start.assignment_number,
        "number": agreement.number,
        "kid": agreement.kid,
        "registration_type": f"{registration.value}",
        "registration": registration.name.lower().replace("_", " "),
        "notify": agreement.notify,
    }


__all__ = [
    "FORMAT_NAME",
    "bank_reference",
    "inspect",
    "parse",
    "record_lines",
    "sniff",
]
