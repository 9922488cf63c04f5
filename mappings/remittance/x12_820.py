"""ASC X12 820 Payment Order / Remittance Advice read into the remittance model.

One `Payment` per 820 transaction set (ST…SE), its lines the RMR segments (and entity-level ADX
adjustments). Releases 003020 … 005010 (004010VICS, 004030, 005010X218 included) share the segments read
here; an 003010 820 (BPS/RMT instead of BPR/RMR) is refused for having no BPR. The envelope is checked by
`mappings.syntax.x12.parse` first, strictly: a file whose ISA, GS, ST/SE counts or control
numbers are
wrong is refused with that error (`X12SyntaxError`, segment position and element), before any content.

Heading:

* BPR01 transaction handling code: C (payment accompanies remittance), D (make payment only), I
  (remittance information only: the money moves separately, e.g. a check or an ACH credit reported by the
  bank), U / X (split payment and remittance), … are payments. H (notification only) and P (prenotification
  of future transfers, a zero-dollar test) move no money: the payment is kept with `hint_only=True` and a
  note, so it can corroborate a bank's report but is never booked.
* BPR02 the total amount (R, exact), BPR03 the credit/debit flag: the 820 is written by the originator of
  the transfer; C is a credit to the receiver's (payee's) account — money in for the gateway's tenant,
  `direction="credit"` — and D a debit of it (money out, e.g. a payee-authorised draw or a reversal),
  `direction="debit"`: kept and shown, never matched.
* BPR04 payment method (ACH, CHK, FWT, NON…) and BPR05 format are read for the notes only; BPR09 (the
  originating account) → `payer_account`, BPR15 (the receiving account) → `payee_account`, BPR16 (the
  effective entry date) → `value_date`; without BPR16 a DTM 007 (effective) stands in.
* TRN02 (the reassociation trace number, which the bank's credit carries too) → `bank_reference`; REF CK
  (check number) → `end_to_end_id`; NTE02 → `free_text`. CUR02 → the currency; an 820 without CUR is USD.
* N1 PR → `payer_name` (N102) and `payer_id` (N104; else BPR10, the originating company identifier);
  N1 PE (the payee) → `RemittanceDocument.account_owner` when every set names the same one.

Detail: ENT loops (or RMR without ENT) with RMR loops.

* RMR01/RMR02: IV (seller's invoice number), IK (invoice number, X218), OI (original invoice), AP
  (accounts receivable open item) → `invoice_number`, kind "invoice"; CM (credit memo) → kind
  "credit_note"; any other qualifier (PO, 12 billing account, …) is no invoice number: kind "other" with
  the reference in `text` ("PO 00583236").
* RMR04 (amount paid) → `amount`. Amounts are positive in the model: a negative RMR04, or any RMR04 of a
  CM line, is a credit memo the payer takes — a "credit_note" line with the positive amount.
  RMR05 (invoice amount) → `document_amount`, RMR06 (discount taken) → part of `adjustment` ("discount").
* REF/DTM/NTE after an RMR belong to it: DTM 003 (invoice date) → `document_date`, REF → `text`, NTE too.
  IT1/SAC/SLN item detail is not read.
* ADX after an RMR explains that item's RMR04 (RMR04 = RMR05 − RMR06 + ADX01): it adds to the line's
  `adjustment` (reason ADX02) and not to the check. ADX in an ENT before its first RMR is an adjustment of
  the payment itself (payer-generated debit/credit memo): its own line (`amount` None, `adjustment` the
  deduction, reason ADX02, the ADX03/04 reference in `text`) that takes part in the check.
* ADX01 sign: from 003040 on a negative ADX01 reduces the payment ("must be signed if negative"); 003030
  and earlier define the opposite (positive reduces), and those releases are read that way.

The check, per transaction set: when at least one RMR carries RMR04, every RMR must (else refused naming
that RMR), and

    Σ(RMR04 of invoices/other items) − Σ|RMR04 of credit memos| + Σ(ENT-level ADX01, signed as above)
        = BPR02

or the set is refused naming BPR02 with both figures and the difference (`unbalanced="note"` keeps it with
a note, for inspection). A set without RMR04 amounts (payment and reference only) is accepted as it is.

Only 820 transaction sets: an interchange carrying another set is refused for `parse`.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

from mappings.base import FormatError, SegmentError
from mappings.remittance.edi_interchanges import read_every_interchange, remittance_view
from mappings.syntax import x12
from mappings.syntax.edi_grammar import check_message
from mappings.syntax.grammars.x12_820 import grammar_for
from schemas.remittance import Direction, DocumentKind, Payment, RemittanceDocument, RemittanceLine

__all__ = ["FORMAT_NAME", "Remittance820Error", "inspect", "parse", "sniff"]

FORMAT_NAME = "x12-820"
KIND = "x12-820"
SET_ID = "820"
DEFAULT_CURRENCY = "USD"
MAX_DIGITS = 18  # R 1/18 (element 782)
MAX_GRAMMAR_PROBLEMS = 20  # per transaction set, in `inspect`

#: BPR01 codes that move no money: the payment is only a hint.
HINT_HANDLING = {"H": "notification only", "P": "prenotification of future transfers"}
HANDLING = {
    "C": "payment accompanies remittance advice",
    "D": "make payment only",
    "I": "remittance information only",
    "U": "split payment and remittance",
    "X": "handling party's option to split payment and remittance",
    **HINT_HANDLING,
}
INVOICE_QUALIFIERS = frozenset({"IV", "IK", "OI", "AP"})
CREDIT_MEMO_QUALIFIERS = frozenset({"CM"})
DISCOUNT_REASON = "discount"
_NUMBER = re.compile(r"-?(?:\d+(?:\.\d*)?|\.\d+)")
_ADJUSTMENT_SEGMENTS = frozenset({"NTE", "PER", "DTM", "REF"})


class Remittance820Error(SegmentError):
    """An 820 whose content cannot be read, or does not add up; names the segment and element."""


def _fail(segment: x12.Segment, reason: str, element: int | None = None) -> Remittance820Error:
    return Remittance820Error(reason, segment_position=segment.position, segment_tag=segment.tag,
                              element_index=element, offset=segment.offset)


def _value(segment: x12.Segment, element: int) -> str:
    return segment.get(element).strip()


def _number(segment: x12.Segment, element: int) -> Decimal | None:
    text = _value(segment, element)
    if not text:
        return None
    if not _NUMBER.fullmatch(text):
        raise _fail(segment, f"{segment.tag}{element:02d} {text!r} is not a number (R: digits, an optional "
                             "decimal point and minus sign)", element)  # fmt: skip
    if len(text) - text.startswith("-") - ("." in text) > MAX_DIGITS:  # the digits (the pattern matched)
        raise _fail(segment, f"{segment.tag}{element:02d} {text!r} has over {MAX_DIGITS} digits", element)
    try:
        return Decimal(text)
    except InvalidOperation:  # pragma: no cover - the pattern admits only valid numbers
        raise _fail(segment, f"{segment.tag}{element:02d} {text!r} is not a number", element) from None


def _date(segment: x12.Segment, element: int) -> dt.date | None:
    text = _value(segment, element)
    if not text:
        return None
    day = x12.read_date(text)
    if day is None:
        raise _fail(segment, f"{segment.tag}{element:02d} {text!r} is not a date (CCYYMMDD)", element)
    return day


def _release(version: str) -> str:
    """GS08's six-digit release ("004010VICS" → "004010"); "" when it is not one."""
    digits = version[:6]
    return digits if digits.isdigit() else ""


@dataclass
class _LineReading:
    rmr: x12.Segment | None
    kind: DocumentKind | None
    reference: str | None
    invoice_number: str | None
    amount: Decimal | None
    contribution: Decimal | None
    document_amount: Decimal | None = None
    adjustment: Decimal = Decimal(0)
    reasons: list[str] = field(default_factory=list)
    date: dt.date | None = None
    texts: list[str] = field(default_factory=list)

    def line(self) -> RemittanceLine:
        return RemittanceLine(
            invoice_number=self.invoice_number,
            document_kind=self.kind,
            amount=self.amount,
            document_amount=self.document_amount,
            adjustment=self.adjustment if self.reasons else None,
            adjustment_reason="; ".join(self.reasons) if self.reasons else None,
            document_date=self.date,
            text="; ".join(self.texts) or None,
        )


@dataclass
class _SetReading:
    transaction: x12.TransactionSet
    bpr: x12.Segment
    handling: str
    total: Decimal
    direction: Direction
    bpr_date: dt.date | None
    trn: x12.Segment | None = None
    currency: str | None = None
    check_number: str | None = None
    effective: dt.date | None = None
    notes: list[str] = field(default_factory=list)
    payer: x12.Segment | None = None
    payee: x12.Segment | None = None
    lines: list[_LineReading] = field(default_factory=list)


def _adx_reduction(adx: x12.Segment, old_sign: bool) -> Decimal:
    """How much an ADX reduces the payment (negative: increases it)."""
    amount = _number(adx, 1)
    if amount is None:
        raise _fail(adx, "ADX01 (the adjustment amount) is missing", 1)
    return amount if old_sign else -amount


def _rmr_line(rmr: x12.Segment) -> _LineReading:
    qualifier, reference = _value(rmr, 1), _value(rmr, 2)
    paid = _number(rmr, 4)
    credit = qualifier in CREDIT_MEMO_QUALIFIERS or (paid is not None and paid < 0)
    kind: DocumentKind = ("credit_note" if credit else "invoice" if qualifier in INVOICE_QUALIFIERS
                          else "other")  # fmt: skip
    numbered = qualifier in INVOICE_QUALIFIERS or qualifier in CREDIT_MEMO_QUALIFIERS
    reading = _LineReading(
        rmr=rmr,
        kind=kind,
        reference=reference or None,
        invoice_number=(reference or None) if numbered else None,
        amount=abs(paid) if paid is not None else None,
        contribution=None if paid is None else -abs(paid) if credit else paid,
        document_amount=abs(total) if (total := _number(rmr, 5)) is not None else None,
    )
    if reference and not numbered:
        reading.texts.append(f"{qualifier} {reference}")
    discount = _number(rmr, 6)
    if discount:
        reading.adjustment += abs(discount)
        reading.reasons.append(DISCOUNT_REASON)
    return reading


def _read_set(transaction: x12.TransactionSet, release: str) -> _SetReading:
    segments = transaction.segments
    if not segments or segments[0].tag != "BPR":
        found = segments[0].tag if segments else "SE"
        raise Remittance820Error(
            f"820 {transaction.control_number}: BPR must follow ST, found {found}"
            + (" (an 003010 820 with BPS/RMT is not read)" if found == "BPS" else ""),
            segment_position=transaction.position, segment_tag="ST")
    old_sign = bool(release) and release <= "003030"
    reading = _read_bpr(transaction, segments[0])
    heading = True
    entity_open = False  # inside an ENT before its first RMR
    line: _LineReading | None = None
    adjustment_line: _LineReading | None = None
    for segment in segments[1:]:
        tag = segment.tag
        if tag == "ENT":
            heading, entity_open, line, adjustment_line = False, True, None, None
            continue
        if tag == "RMR":
            heading, entity_open, adjustment_line = False, False, None
            line = _rmr_line(segment)
            reading.lines.append(line)
            continue
        if heading:
            _read_heading(reading, segment)
            continue
        if tag == "ADX":
            reduction = _adx_reduction(segment, old_sign)
            reason = _value(segment, 2) or "adjustment"
            if line is not None:
                line.adjustment += reduction
                line.reasons.append(reason)
                adjustment_line = None
            elif entity_open:
                reference = " ".join(v for v in (_value(segment, 3), _value(segment, 4)) if v)
                adjustment_line = _LineReading(
                    rmr=None, kind="other", reference=None, invoice_number=None, amount=None,
                    contribution=-reduction, adjustment=reduction, reasons=[reason],
                    texts=[f"ADX {reference}"] if reference else [],
                )
                reading.lines.append(adjustment_line)
            continue
        if adjustment_line is not None and tag in _ADJUSTMENT_SEGMENTS:
            if tag == "NTE" and _value(segment, 2):
                adjustment_line.texts.append(_value(segment, 2))
            continue
        if line is None:
            continue  # ENT-level NM1/REF/DTM: about the entity, not a remitted item
        if tag == "DTM" and _value(segment, 1) == "003" and line.date is None:
            line.date = _date(segment, 2)
        elif tag == "REF" and _value(segment, 2):
            line.texts.append(f"{_value(segment, 1)} {_value(segment, 2)}")
        elif tag == "NTE" and _value(segment, 2):
            line.texts.append(_value(segment, 2))
    return reading


def _read_bpr(transaction: x12.TransactionSet, bpr: x12.Segment) -> _SetReading:
    handling = _value(bpr, 1)
    if not handling:
        raise _fail(bpr, "BPR01 (transaction handling code) is missing", 1)
    total = _number(bpr, 2)
    if total is None:
        raise _fail(bpr, "BPR02 (the total payment amount) is missing", 2)
    if total < 0:
        raise _fail(bpr, f"BPR02 {total} is negative: the direction is BPR03's (C or D)", 2)
    flag = _value(bpr, 3)
    if flag not in ("C", "D"):
        raise _fail(bpr, f"BPR03 (credit/debit flag) must be C or D, found {flag!r}", 3)
    direction: Direction = "credit" if flag == "C" else "debit"
    return _SetReading(transaction, bpr, handling, total, direction, _date(bpr, 16))


def _read_heading(reading: _SetReading, segment: x12.Segment) -> None:
    tag = segment.tag
    if tag == "TRN" and reading.trn is None:
        reading.trn = segment
    elif tag == "CUR" and reading.currency is None:
        currency = _value(segment, 2)
        if not re.fullmatch(r"[A-Z]{3}", currency):
            raise _fail(segment, f"CUR02 {currency!r} is not an ISO 4217 currency code", 2)
        reading.currency = currency
    elif tag == "REF" and _value(segment, 1) == "CK" and reading.check_number is None:
        reading.check_number = _value(segment, 2) or None
    elif tag == "DTM" and _value(segment, 1) == "007" and reading.effective is None:
        reading.effective = _date(segment, 2)
    elif tag == "NTE" and _value(segment, 2):
        reading.notes.append(_value(segment, 2))
    elif tag == "N1":
        role = _value(segment, 1)
        if role == "PR" and reading.payer is None:
            reading.payer = segment
        elif role == "PE" and reading.payee is None:
            reading.payee = segment


def _payment(reading: _SetReading, unbalanced: Literal["reject", "note"], notes: list[str]) -> Payment:
    transaction, bpr, total, handling = reading.transaction, reading.bpr, reading.total, reading.handling
    where = f"820 {transaction.control_number} (ST at segment {transaction.position})"
    stated = [line for line in reading.lines if line.contribution is not None]
    if stated:
        missing = next((line for line in reading.lines if line.contribution is None), None)
        if missing is not None and missing.rmr is not None:
            raise _fail(missing.rmr, "RMR04 (amount paid) is missing while other RMR segments of the 820 "
                                     "state theirs", 4)  # fmt: skip
        lines_sum = sum((line.contribution for line in stated if line.contribution is not None), Decimal(0))
        if lines_sum != total:
            difference = total - lines_sum
            reason = (f"BPR02 {total} is {abs(difference)} {'more' if difference > 0 else 'less'} than the "
                      f"remittance adds up to: {lines_sum} (RMR04 amounts, credit memos subtracted, and "
                      "entity-level ADX adjustments)")
            if unbalanced == "reject":
                raise _fail(bpr, reason, 2)
            notes.append(f"{where}: {reason}")
    hint = HINT_HANDLING.get(handling)
    if hint is not None:
        notes.append(f"{where}: BPR01 {handling} ({hint}): no money moves with this 820; kept as a hint, "
                     "never booked")
    method = _value(bpr, 4)
    if method == "NON" and hint is None:
        notes.append(f"{where}: BPR04 NON (non-payment data)")
    payer = reading.payer
    payer_id = (_value(payer, 4) if payer is not None else "") or _value(bpr, 10)
    return Payment(
        amount=total,
        currency=reading.currency or DEFAULT_CURRENCY,
        direction=reading.direction,
        value_date=reading.bpr_date or reading.effective,
        payer_name=(_value(payer, 2) or None) if payer is not None else None,
        payer_account=_value(bpr, 9) or None,
        payer_id=payer_id or None,
        payee_account=_value(bpr, 15) or None,
        bank_reference=(_value(reading.trn, 2) or None) if reading.trn is not None else None,
        end_to_end_id=reading.check_number,
        free_text=tuple(reading.notes),
        lines=tuple(line.line() for line in reading.lines),
        kind=KIND,
        hint_only=hint is not None,
        position=where,
    )


def _same(values: Sequence[str | None]) -> str | None:
    return values[0] if values and len(set(values)) == 1 else None


def _sets(interchange: x12.Interchange) -> list[tuple[x12.FunctionalGroup, x12.TransactionSet]]:
    found: list[tuple[x12.FunctionalGroup, x12.TransactionSet]] = []
    for group in interchange.groups:
        for transaction in group.transactions:
            if transaction.set_id != SET_ID:
                raise Remittance820Error(
                    f"transaction set {transaction.set_id} {transaction.control_number}: an interchange read "
                    "as remittance advice carries 820 transaction sets only",
                    segment_position=transaction.position, segment_tag="ST", element_index=1)
            found.append((group, transaction))
    if not found:
        raise FormatError("interchange", "no 820 transaction set")
    return found


def _created(interchange: x12.Interchange) -> dt.datetime | None:
    """The first group's GS04/GS05 (else ISA09/ISA10), read as UTC: X12 names no time zone."""
    date, time = ((interchange.groups[0].date, interchange.groups[0].time) if interchange.groups
                  else (interchange.date, interchange.time))  # fmt: skip
    try:
        day = dt.datetime.strptime(date, "%Y%m%d" if len(date) == 8 else "%y%m%d")
        clock = dt.datetime.strptime(time[:4], "%H%M")
    except ValueError:
        return None
    return day.replace(hour=clock.hour, minute=clock.minute, tzinfo=dt.UTC)


def _document(interchange: x12.Interchange, unbalanced: Literal["reject", "note"]) -> RemittanceDocument:
    notes: list[str] = []
    readings = [_read_set(transaction, _release(group.version)) for group, transaction in _sets(interchange)]
    payments = [_payment(reading, unbalanced, notes) for reading in readings]
    payees = [(_value(r.payee, 2) or None) if r.payee is not None else None for r in readings]
    return RemittanceDocument(
        format=FORMAT_NAME,
        payments=payments,
        message_id=interchange.control_number,
        created_at=_created(interchange),
        account=_same([p.payee_account for p in payments]),
        account_owner=_same(payees),
        currency=_same([p.currency for p in payments]),
        sender=interchange.sender.id,
        receiver=interchange.receiver.id,
        declared_count=len(payments),
        declared_total=sum((p.amount for p in payments if p.direction == "credit"), Decimal(0)),
        notes=notes,
    )


def parse(data: bytes, *, unbalanced: Literal["reject", "note"] = "reject") -> RemittanceDocument:
    """Every 820 transaction set of an X12 interchange as one `Payment` each (format "x12-820"; the module
    docstring has the mapping and the check).

    The envelope is checked strictly first (`X12SyntaxError`); content that cannot be read or does not add
    up raises `Remittance820Error` naming the segment and element. `unbalanced="note"` keeps a set whose
    remittance lines do not add up to BPR02, with a note saying by how much (for inspection, never for
    booking).

    A file of several interchanges (ISA…IEA, ISA…IEA: a VAN's day of 820s) is one document with the
    payments of every interchange that reads; one that does not is named in a warning
    (`mappings.remittance.edi_interchanges`), and the file is refused only when none reads.
    """
    return read_every_interchange(data, lambda one: _document(x12.parse(one), unbalanced))


def sniff(data: bytes) -> bool:
    """An X12 interchange (ISA first) whose transaction sets are all 820s (at least one)."""
    return x12.all_sets_are(data, SET_ID)


def inspect(data: bytes) -> dict[str, Any]:
    """What the gateway reads from an 820 interchange (for `gateway inspect --json`): the document as
    `RemittanceDocument.as_dict()`, `valid` and the `errors` of the strict reading, and the envelope as
    `mappings.syntax.x12.inspect` shows it. A set that does not add up is shown as read (its notes say by
    how much) with `valid: false`; what the 820 grammar (`mappings.syntax.grammars.x12_820`) finds is
    listed in `grammar_problems` (shown, not acted on: real 820s place REF/DTM freely); a broken envelope
    raises `X12SyntaxError`, as that does."""
    envelope = x12.inspect(data)
    interchange = x12.parse(data)
    problems = [
        {"transaction_set": transaction.control_number, "segment_position": problem.position,
         "segment_tag": problem.tag, "element_index": problem.element, "component_index": problem.component,
         "reason": problem.reason}
        for group in interchange.groups
        for transaction in group.transactions
        if transaction.set_id == SET_ID
        for problem in check_message(grammar_for(group.version), transaction.segments)[:MAX_GRAMMAR_PROBLEMS]
    ]  # fmt: skip
    return remittance_view(data, parse, format_name=FORMAT_NAME, grammar_problems=problems, envelope=envelope)
