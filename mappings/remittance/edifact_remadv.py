"""UN/EDIFACT REMADV (remittance advice) read into the remittance model, and written for tests and partners.

A REMADV is a payer telling the payee which documents a payment settles: one payment per message, the
documents in DOC groups. Read here: EANCOM 1997 REMADV (UN D.96A, subset version 002, `EAN002`), EANCOM 2002
(D.01B, `EAN005`) and plain UN releases with the same segments. The envelope is `mappings.syntax.edifact`'s,
checked
strictly first (UNT counts, references, characters); the content is then read as follows.

Heading (everything before the first DOC):

* BGM 1004, the advice number → `Payment.bank_reference` (the payer's id of this advice; 1001 is 481,
  other codes are read the same). A message whose first segment is not a BGM is refused.
* DTM 137 document date → `RemittanceDocument.created_at` (of the first message), 209 value date →
  `value_date`, 203 execution date (requested) → `booking_date`. Formats 101, 102, 201, 203, 204.
* RFF AEK (payment order number), else CR → `end_to_end_id`; RFF IV / PQ name documents in an advice that
  has no DOC group (a total-only advice): they become lines without amounts.
* FII (C078 3194 the account): OR / PB / I1 are the payer's side → `payer_account`, BF / RB / RH the
  payee's → `payee_account`.
* NAD PR (the payer; BY when there is no PR) → `payer_name` (C080, else C058) and `payer_id` (C082 3039);
  NAD PE (the payee) → `RemittanceDocument.account_owner` when all messages name the same one.
* CUX C504 6345 → the currency; without CUX the total MOA's 6345, else `default_currency`, else refused.
* FTX → `free_text`, one entry per segment (C108 components joined: a full-length piece continues without
  a space).

Detail, one DOC group per document (DOC-MOA-DTM-RFF-NAD-CUX-AJT-DLI):

* DOC 1001 → `document_kind`: credit notes (381, 83, 81, 261, 262, 296, 308, 396, 420, 458, 532) are
  "credit_note", debit notes (383, 84, 80) "debit_note", invoice codes (380, 82, 384, 386, 389, 393, …)
  "invoice", any other code "other", no code None. DOC 1004 → `invoice_number` (else a RFF IV in the group).
* MOA 12 (amount remitted) → `amount`; MOA 9 (amount due/payable) → `document_amount`, and the amount when
  the payer states no MOA 12. A MOA 9 in another currency than the payment (6345, EANCOM's rule for the
  amount due) is not the payment's money: it is left out (and cannot stand in for MOA 12).
* Amounts are positive in the model: a credit note's line is positive with kind "credit_note" whatever
  sign the sender wrote; a negative amount remitted on any other document is a credit too (the payer nets
  something against it) and is read as a "credit_note" line for that number.
* MOA 52 (discount) and each AJT group's MOA (5, adjusted amount) are deductions → `adjustment` (their sum,
  as positive amounts: senders disagree on the sign, the reason codes all are deductions) with the reasons
  → `adjustment_reason` ("discount", the EANCOM/UNCL 4465 phrase of the AJT code, an FTX in the AJT group,
  joined by "; "). EANCOM calls AJT amounts informative: they are not part of the check below.
* DTM 137 / 171 / 3 → `document_date`; RFF PQ → `kid`; other RFF → `text` ("ON 4711; VN 12"). DLI groups
  (line items inside a document) are not read.

Summary (after UNS): MOA 12 (total amount remitted), else MOA 9 → the payment's amount; a heading MOA 12 / 9
stands in when the summary has none. A negative total is money going back to the payer:
`direction="debit"`.

The check, per message: when at least one DOC carries an amount (MOA 12, else MOA 9), every DOC must
(else refused naming that DOC), and

    Σ(non-credit DOC amounts) − Σ(credit DOC amounts) = stated total (summary MOA 12, else 9, else heading)

or the message is refused naming the total's MOA with both figures and the difference
(`unbalanced="note"` keeps it and adds a note instead, for inspection). Advices without DOC amounts (a
total only, perhaps with RFF IV references) are accepted as they are; advices with DOC amounts and no
total take the sum as the amount (noted). An advice with neither is refused.

Only REMADV messages: an interchange with any other message type is refused for `parse`.

The message structure is not what decides: `inspect` reports what `mappings.syntax.grammars.remadv`
finds
(`grammar_problems`), reading goes by the segments above wherever the sender put them.

`render` writes a `RemittanceDocument` back as a REMADV interchange (D96A or D01B) with the syntax
layer, checked against our own grammar before it is returned, so tests and partner simulators have
realistic files. `parse(render(d))` gives `d` back, positions aside, for the fields it
carries, when `d` says what reading derives (`declared_count` = payments, `declared_total` = the credits,
`account`/`currency` when common to all payments, `created_at` set; a line's `document_kind` None is
written as 380). Refused when writing (a REMADV has no place for them): line `text`,
`instructed_amount`/`instructed_currency`, `hint_only`, several adjustment reasons on one line, and a
free-text adjustment reason in D96A (its AJT group has no FTX).
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
from mappings.syntax import edifact
from mappings.syntax.edi_grammar import MessageGrammar, StructureProblem, check_message
from mappings.syntax.grammars.invoic import CREDIT_NOTE_CODES
from mappings.syntax.grammars.remadv import GRAMMARS
from schemas.remittance import Direction, DocumentKind, Payment, RemittanceDocument, RemittanceLine

__all__ = [
    "FORMAT_NAME",
    "RemadvError",
    "grammar_for",
    "inspect",
    "parse",
    "render",
    "sniff",
]

FORMAT_NAME = "remadv"
KIND = "remadv"
MESSAGE_TYPE = "REMADV"
MAX_DIGITS = 35  # MOA 5004 is n..18 in D.96A, n..35 from D.01B on
MAX_GRAMMAR_PROBLEMS = 20  # per message, in `inspect`

DEBIT_NOTE_CODES = frozenset({"80", "84", "383"})
INVOICE_CODES = frozenset(
    {"71", "82", "325", "326", "380", "384", "385", "386", "387", "388", "389", "390", "393", "394", "395"}
)
#: FII 3035 party qualifiers read as the payer's account and as the payee's.
PAYER_ACCOUNT_QUALIFIERS = ("OR", "PB", "I1")
PAYEE_ACCOUNT_QUALIFIERS = ("BF", "RB", "RH")
#: UNCL 4465 adjustment reasons (those EANCOM 1997/2002 list for REMADV, CREMUL and PAYMUL).
ADJUSTMENT_REASONS: dict[str, str] = {
    "1": "agreed settlement",
    "2": "below specification goods",
    "3": "damaged goods",
    "4": "short delivery",
    "5": "price query",
    "6": "proof of delivery required",
    "9": "invoice error",
    "14": "wrong delivery",
    "17": "transport damage",
    "20": "discount for late delivery",
    "32": "goods not delivered",
    "52": "wrong invoice",
    "14E": "cash discount",
}
_REASON_CODES = {phrase: code for code, phrase in ADJUSTMENT_REASONS.items()}
_UNKNOWN_REASON = re.compile(r"adjustment reason (\w{1,3})")
DISCOUNT_REASON = "discount"

_RELEASES: dict[str, tuple[str, str, str, str]] = {
    "D96A": ("D", "96A", "UN", "EAN002"),
    "D01B": ("D", "01B", "UN", "EAN005"),
}
_TEXT_WIDTH = {"D96A": 70, "D01B": 512}
_NAME_WIDTH = 35
_NUMBER = re.compile(r"-?(?:\d+(?:[.,]\d*)?|[.,]\d+)")
_DATE_FORMATS = {"101": "%y%m%d", "102": "%Y%m%d", "201": "%y%m%d%H%M", "203": "%Y%m%d%H%M",
                 "204": "%Y%m%d%H%M%S"}  # fmt: skip


class RemadvError(SegmentError):
    """A REMADV whose content cannot be read, or does not add up; names the segment (and element)."""


def _fail(segment: edifact.Segment, reason: str, element: int | None = None,
          component: int | None = None) -> RemadvError:
    return RemadvError(reason, segment_position=segment.position, segment_tag=segment.tag,
                       element_index=element, component_index=component, offset=segment.offset)


def _message_fail(message: edifact.Message, reason: str) -> RemadvError:
    return RemadvError(f"message {message.reference!r}: {reason}", segment_position=message.position,
                       segment_tag="UNH")


# ============================================================================================== reading


def _number(segment: edifact.Segment, element: int, component: int, what: str) -> Decimal | None:
    value = segment.get(element, component).strip()
    if not value:
        return None
    if not _NUMBER.fullmatch(value):
        raise _fail(segment, f"{what} {value!r} is not a number", element, component)
    if len(value) - value.startswith("-") - ("." in value or "," in value) > MAX_DIGITS:  # digits only
        raise _fail(segment, f"{what} has more than {MAX_DIGITS} digits", element, component)
    try:
        return Decimal(value.replace(",", "."))
    except InvalidOperation:  # pragma: no cover - the pattern admits only valid numbers
        raise _fail(segment, f"{what} {value!r} is not a number", element, component) from None


def _when(segment: edifact.Segment) -> dt.datetime:
    """DTM C507 as a datetime (UTC; EDIFACT dates here name no zone): formats 101, 102, 201, 203, 204, the
    format inferred from the length when 2379 is absent."""
    value, form = segment.get(1, 2).strip(), segment.get(1, 3).strip()
    if not form or (form == "102" and len(value) == 12):  # a CCYYMMDDHHMM labelled 102 is seen in real files
        form = {6: "101", 8: "102", 10: "201", 12: "203", 14: "204"}.get(len(value), "")
    pattern = _DATE_FORMATS.get(form)
    if pattern is None:
        raise _fail(segment, f"date/time format {form or '(none)'!r} is not read (101, 102, 201, 203, 204 "
                             "are)", 1, 3 if form else 2)  # fmt: skip
    try:
        if not value.isdigit():
            raise ValueError("digits only")
        return dt.datetime.strptime(value, pattern).replace(tzinfo=dt.UTC)
    except ValueError:
        raise _fail(segment, f"{value!r} is not a date in format {form}", 1, 2) from None


def _join(pieces: Sequence[str], size: int) -> str:
    """Text pieces as one text: a piece as long as its element allows was cut there by its writer and
    continues without a space; a shorter one ended a line, and a space separates it from the next."""
    text = ""
    previous = ""
    for piece in pieces:
        if not piece:
            continue
        if text and len(previous) < size:
            text += " "
        text += piece
        previous = piece
    return text.strip()


def _components(segment: edifact.Segment, element: int) -> list[str]:
    return list(segment.elements[element - 1]) if len(segment.elements) >= element else []


def _text_width(message: edifact.Message) -> int:
    return 70 if message.release[:2].isdigit() and "90" <= message.release[:2] <= "99" else 512


def _party_name(nad: edifact.Segment) -> str | None:
    name = _join(_components(nad, 4)[:5], _NAME_WIDTH) or _join(_components(nad, 3)[:5], _NAME_WIDTH)
    return name or None


def _document_kind(code: str, negative: bool) -> DocumentKind | None:
    if code in CREDIT_NOTE_CODES or negative:
        return "credit_note"
    if code in DEBIT_NOTE_CODES:
        return "debit_note"
    if code in INVOICE_CODES:
        return "invoice"
    return "other" if code else None


def _reason_phrase(code: str) -> str:
    return ADJUSTMENT_REASONS.get(code) or f"adjustment reason {code}"


@dataclass
class _Adjustment:
    segment: edifact.Segment
    amount: Decimal | None = None
    text: str | None = None


@dataclass
class _DocReading:
    segment: edifact.Segment
    amounts: dict[str, tuple[Decimal, edifact.Segment]] = field(default_factory=dict)
    date: dt.date | None = None
    kid: str | None = None
    invoice_number: str | None = None
    references: list[str] = field(default_factory=list)
    adjustments: list[_Adjustment] = field(default_factory=list)


@dataclass
class _MessageReading:
    """What one REMADV message says, before the amounts are checked."""

    message: edifact.Message
    bgm: edifact.Segment
    created: dt.datetime | None = None
    value_date: dt.date | None = None
    booking_date: dt.date | None = None
    end_to_end_id: str | None = None
    header_references: list[tuple[str, str]] = field(default_factory=list)
    payer_account: str | None = None
    payee_account: str | None = None
    payer: edifact.Segment | None = None
    buyer: edifact.Segment | None = None
    payee: edifact.Segment | None = None
    currency: str | None = None
    free_text: list[str] = field(default_factory=list)
    header_totals: dict[str, tuple[Decimal, edifact.Segment]] = field(default_factory=dict)
    summary_totals: dict[str, tuple[Decimal, edifact.Segment]] = field(default_factory=dict)
    docs: list[_DocReading] = field(default_factory=list)


def _amount(segment: edifact.Segment) -> tuple[str, Decimal | None]:
    qualifier = segment.get(1, 1).strip()
    return qualifier, _number(segment, 1, 2, f"MOA {qualifier or '(no qualifier)'} monetary amount (5004)")


def _read_header(reading: _MessageReading, segment: edifact.Segment, width: int) -> None:
    tag = segment.tag
    if tag == "DTM":
        qualifier = segment.get(1, 1)
        if qualifier in ("137", "209", "203") and segment.get(1, 2):
            when = _when(segment)
            if qualifier == "137" and reading.created is None:
                reading.created = when
            elif qualifier == "209" and reading.value_date is None:
                reading.value_date = when.date()
            elif qualifier == "203" and reading.booking_date is None:
                reading.booking_date = when.date()
    elif tag == "RFF":
        qualifier, value = segment.get(1, 1), segment.get(1, 2).strip()
        if value and (qualifier == "AEK" or (qualifier == "CR" and reading.end_to_end_id is None)):
            reading.end_to_end_id = value
        elif value and qualifier in ("IV", "PQ"):
            reading.header_references.append((qualifier, value))
    elif tag == "FII":
        qualifier, account = segment.get(1), segment.get(2, 1).strip()
        if account and qualifier in PAYER_ACCOUNT_QUALIFIERS and reading.payer_account is None:
            reading.payer_account = account
        elif account and qualifier in PAYEE_ACCOUNT_QUALIFIERS and reading.payee_account is None:
            reading.payee_account = account
    elif tag == "NAD":
        role = segment.get(1)
        if role == "PR" and reading.payer is None:
            reading.payer = segment
        elif role == "BY" and reading.buyer is None:
            reading.buyer = segment
        elif role == "PE" and reading.payee is None:
            reading.payee = segment
    elif tag == "CUX":
        currency = segment.get(1, 2).strip()
        if currency and reading.currency is None:
            if not re.fullmatch(r"[A-Z]{3}", currency):
                raise _fail(segment, f"currency {currency!r} is not an ISO 4217 code", 1, 2)
            reading.currency = currency
    elif tag == "FTX":
        text = _join(_components(segment, 4)[:5], width)
        if text:
            reading.free_text.append(text)
    elif tag == "MOA":
        moa_qualifier, amount = _amount(segment)
        if amount is not None and moa_qualifier in ("12", "9"):
            reading.header_totals.setdefault(moa_qualifier, (amount, segment))


def _read_doc_segment(doc: _DocReading, segment: edifact.Segment, width: int) -> None:
    tag = segment.tag
    if tag == "MOA":
        moa_qualifier, amount = _amount(segment)
        if amount is not None:
            doc.amounts.setdefault(moa_qualifier, (amount, segment))
    elif tag == "DTM":
        if segment.get(1, 1) in ("137", "171", "3") and segment.get(1, 2) and doc.date is None:
            doc.date = _when(segment).date()
    elif tag == "RFF":
        qualifier, value = segment.get(1, 1).strip(), segment.get(1, 2).strip()
        if not value:
            return
        if qualifier == "PQ" and doc.kid is None:
            doc.kid = value
        elif qualifier == "IV" and doc.invoice_number is None:
            doc.invoice_number = value
        else:
            doc.references.append(f"{qualifier} {value}")


def _read_message(message: edifact.Message) -> _MessageReading:
    segments = message.segments
    if not segments or segments[0].tag != "BGM":
        found = segments[0].tag if segments else "UNT"
        raise _message_fail(message, f"a REMADV starts with BGM after UNH, found {found}")
    width = _text_width(message)
    reading = _MessageReading(message, segments[0])
    doc: _DocReading | None = None
    adjustment: _Adjustment | None = None
    in_line_items = False
    summary = False
    for segment in segments[1:]:
        tag = segment.tag
        if tag == "BGM":
            raise _fail(segment, "a second BGM: one REMADV message has one beginning of message")
        if tag == "UNS":
            summary, doc, adjustment = True, None, None
            continue
        if summary:
            if tag == "MOA":
                qualifier, value = _amount(segment)
                if value is not None and qualifier in ("12", "9"):
                    reading.summary_totals.setdefault(qualifier, (value, segment))
            continue
        if tag == "DOC":
            doc, adjustment, in_line_items = _DocReading(segment), None, False
            reading.docs.append(doc)
            continue
        if doc is None:
            _read_header(reading, segment, width)
            continue
        if tag == "DLI":
            in_line_items, adjustment = True, None
        elif in_line_items:
            continue  # a document's line items are its detail, not what the payment settles
        elif tag == "AJT":
            adjustment = _Adjustment(segment)
            doc.adjustments.append(adjustment)
        elif adjustment is not None and tag in ("MOA", "RFF", "FTX", "QTY"):
            if tag == "MOA" and adjustment.amount is None:
                adjustment.amount = _amount(segment)[1]
            elif tag == "FTX" and adjustment.text is None:
                adjustment.text = _join(_components(segment, 4)[:5], width) or None
        else:
            _read_doc_segment(doc, segment, width)
    return reading


@dataclass
class _Total:
    value: Decimal
    segment: edifact.Segment | None


def _stated_total(reading: _MessageReading) -> _Total | None:
    for totals in (reading.summary_totals, reading.header_totals):
        for qualifier in ("12", "9"):
            if qualifier in totals:
                value, segment = totals[qualifier]
                return _Total(value, segment)
    return None


def _currency(reading: _MessageReading, default_currency: str | None) -> str:
    if reading.currency:
        return reading.currency
    for totals in (reading.summary_totals, reading.header_totals):
        for _, segment in totals.values():
            currency = segment.get(1, 3).strip()
            if re.fullmatch(r"[A-Z]{3}", currency):
                return currency
    if default_currency:
        return default_currency
    raise _fail(reading.bgm, "no currency: the REMADV has no CUX and its total MOA names none (6345)")


def _doc_line(doc: _DocReading, currency: str) -> tuple[RemittanceLine, Decimal | None]:
    """The document's line and its signed contribution to the payment (None: the DOC states no amount)."""

    def in_payment_currency(qualifier: str) -> tuple[Decimal, edifact.Segment] | None:
        found = doc.amounts.get(qualifier)
        if found is None:
            return None
        stated = found[1].get(1, 3).strip()
        if stated and stated != currency:
            return None
        return found

    remitted = doc.amounts.get("12")
    if remitted is not None:
        stated = remitted[1].get(1, 3).strip()
        if stated and stated != currency:
            raise _fail(remitted[1], f"amount remitted in {stated}, the payment is in {currency}", 1, 3)
    due = in_payment_currency("9")
    chosen = remitted or due
    if chosen is None and "9" in doc.amounts:
        due_segment = doc.amounts["9"][1]
        raise _fail(due_segment, f"amount due in {due_segment.get(1, 3)}, the payment is in {currency}: the "
                                 "amount remitted (MOA 12) is needed", 1, 3)  # fmt: skip
    code = doc.segment.get(1, 1).strip()
    value = chosen[0] if chosen is not None else None
    kind = _document_kind(code, value is not None and value < 0)
    adjustment = Decimal(0)
    reasons: list[str] = []
    discount = in_payment_currency("52")
    if discount is not None and discount[0]:
        adjustment += abs(discount[0])
        reasons.append(DISCOUNT_REASON)
    for ajt in doc.adjustments:
        if ajt.amount is None:
            continue
        adjustment += abs(ajt.amount)
        reasons.append(ajt.text or _reason_phrase(ajt.segment.get(1).strip()))
    line = RemittanceLine(
        kid=doc.kid,
        invoice_number=doc.segment.get(2, 1).strip() or doc.invoice_number,
        document_kind=kind,
        amount=abs(value) if value is not None else None,
        document_amount=abs(due[0]) if due is not None else None,
        adjustment=adjustment if reasons else None,
        adjustment_reason="; ".join(reasons) if reasons else None,
        document_date=doc.date,
        text="; ".join(doc.references) or None,
    )
    if value is None:
        return line, None
    return line, -abs(value) if kind == "credit_note" else value


def _payment(reading: _MessageReading, default_currency: str | None, unbalanced: Literal["reject", "note"],
             notes: list[str]) -> Payment:
    message = reading.message
    where = f"message {message.reference!r} (UNH at segment {message.position})"
    currency = _currency(reading, default_currency)
    lines: list[RemittanceLine] = []
    contributions: list[tuple[Decimal | None, _DocReading]] = []
    for doc in reading.docs:
        line, contribution = _doc_line(doc, currency)
        lines.append(line)
        contributions.append((contribution, doc))
    stated = [(c, d) for c, d in contributions if c is not None]
    total = _stated_total(reading)
    if stated:
        missing = next((d for c, d in contributions if c is None), None)
        if missing is not None:
            raise _fail(missing.segment, "the document has no amount (MOA 12 amount remitted or MOA 9 amount "
                                         "due) while other documents of the advice have one")  # fmt: skip
        documents_sum = sum((c for c, _ in stated), Decimal(0))
        if total is None:
            total = _Total(documents_sum, None)
            notes.append(f"{where}: no total MOA; the payment amount is the sum of its documents")
        elif documents_sum != total.value:
            difference = total.value - documents_sum
            qualifier = total.segment.get(1, 1) if total.segment is not None else ""
            reason = (f"the total (MOA {qualifier}) {total.value} is {abs(difference)} "
                      f"{'more' if difference > 0 else 'less'} than the documents add up to: {documents_sum} "
                      "(invoices and debit notes less credit notes)")
            if unbalanced == "reject" and total.segment is not None:
                raise _fail(total.segment, reason, 1, 2)
            notes.append(f"{where}: {reason}")
    elif not reading.docs:
        lines = [RemittanceLine(invoice_number=value) if qualifier == "IV" else RemittanceLine(kid=value)
                 for qualifier, value in reading.header_references]
    if total is None:
        raise _fail(reading.bgm, "the advice states no amount: no total MOA (12 or 9), no document amounts")
    payer = reading.payer or reading.buyer
    direction: Direction = "debit" if total.value < 0 else "credit"
    return Payment(
        amount=abs(total.value),
        currency=currency,
        direction=direction,
        booking_date=reading.booking_date,
        value_date=reading.value_date,
        payer_name=_party_name(payer) if payer is not None else None,
        payer_account=reading.payer_account,
        payer_id=(payer.get(2, 1).strip() or None) if payer is not None else None,
        payee_account=reading.payee_account,
        bank_reference=reading.bgm.get(2, 1).strip() or None,
        end_to_end_id=reading.end_to_end_id,
        free_text=tuple(reading.free_text),
        lines=tuple(lines),
        kind=KIND,
        position=where,
    )


def _same(values: Sequence[str | None]) -> str | None:
    distinct = set(values)
    return values[0] if len(distinct) == 1 else None


def _remadv_messages(interchange: edifact.Interchange) -> list[edifact.Message]:
    messages = interchange.all_messages
    for message in messages:
        if message.type != MESSAGE_TYPE:
            raise _message_fail(message, f"a {message.type}, not a REMADV: an interchange read as remittance "
                                         "advice carries REMADV messages only")  # fmt: skip
    if not messages:
        raise FormatError("interchange", "no REMADV message")
    return messages


def _prepared(interchange: edifact.Interchange) -> dt.datetime | None:
    date, time = interchange.prepared
    try:
        day = dt.datetime.strptime(date, "%Y%m%d" if len(date) == 8 else "%y%m%d")
        clock = dt.datetime.strptime(time, "%H%M") if time else day
    except ValueError:
        return None
    return day.replace(hour=clock.hour, minute=clock.minute, tzinfo=dt.UTC)


def _document(interchange: edifact.Interchange, default_currency: str | None,
              unbalanced: Literal["reject", "note"]) -> RemittanceDocument:
    messages = _remadv_messages(interchange)
    notes: list[str] = []
    readings = [_read_message(message) for message in messages]
    payments = [_payment(reading, default_currency, unbalanced, notes) for reading in readings]
    payees = [_party_name(r.payee) if r.payee is not None else None for r in readings]
    return RemittanceDocument(
        format=FORMAT_NAME,
        payments=payments,
        message_id=interchange.control_ref,
        created_at=readings[0].created or _prepared(interchange),
        account=_same([p.payee_account for p in payments]),
        account_owner=_same(payees),
        currency=_same([p.currency for p in payments]),
        sender=interchange.sender.id,
        receiver=interchange.recipient.id,
        declared_count=len(messages),
        declared_total=sum((p.amount for p in payments if p.direction == "credit"), Decimal(0)),
        notes=notes,
        warnings=list(interchange.warnings),  # read with tolerance: hard-wrapped, a needless release char
    )


def parse(data: bytes, *, default_currency: str | None = None,
          unbalanced: Literal["reject", "note"] = "reject") -> RemittanceDocument:
    """Every REMADV message of an EDIFACT interchange as one `Payment` each (module docstring: the mapping
    and the check).

    The envelope is checked strictly first (`EdiSyntaxError`); content that cannot be read or does not add
    up raises `RemadvError` naming the segment, element and component. `default_currency` is used only when
    a message names no currency at all; `unbalanced="note"` keeps a message whose documents do not add up
    to its total, with a note saying by how much (for inspection, never for booking).

    A file of several interchanges (a bank's concatenated daily file) is one document with the payments of
    every interchange that reads; one that does not is named in a warning
    (`mappings.remittance.edi_interchanges`), and the file is refused only when none reads.
    """
    return read_every_interchange(
        data, lambda one: _document(edifact.parse(one), default_currency, unbalanced)
    )


def sniff(data: bytes) -> bool:
    """An EDIFACT interchange (UNA/UNB) whose messages are all REMADV (at least one)."""
    return edifact.all_messages_are(data, MESSAGE_TYPE)


def inspect(data: bytes) -> dict[str, Any]:
    """What the gateway reads from a REMADV interchange (for `gateway inspect --json`): the document as
    `RemittanceDocument.as_dict()`, `valid` and the `errors` of the strict reading, and the envelope as
    `mappings.syntax.edifact.inspect` shows it. An advice that does not add up is shown as read (its notes
    say by how much) with `valid: false`; a broken envelope raises `EdiSyntaxError`, as that does."""
    envelope = edifact.inspect(data)
    interchange = edifact.parse(data)
    problems = [
        _problem_dict(problem, message)
        for message in interchange.all_messages
        if message.type == MESSAGE_TYPE
        for problem in check_message(grammar_for(message), message.segments)[:MAX_GRAMMAR_PROBLEMS]
    ]
    return remittance_view(data, parse, format_name=FORMAT_NAME, grammar_problems=problems, envelope=envelope)


def grammar_for(message: edifact.Message) -> MessageGrammar:
    """The grammar a REMADV message is checked against: D.01B (EAN005) for directories from 2000 on, D.96A
    (EAN002) for the 1990s ones."""
    year = message.release[:2]
    return GRAMMARS["D96A"] if year.isdigit() and year >= "90" else GRAMMARS["D01B"]


def _problem_dict(problem: StructureProblem, message: edifact.Message) -> dict[str, Any]:
    return {"message": message.reference, "segment_position": problem.position, "segment_tag": problem.tag,
            "element_index": problem.element, "component_index": problem.component, "reason": problem.reason}


# ============================================================================================== writing


def _plain(value: Decimal) -> str:
    text = format(value, "f")
    return "0" if text in ("-0", "0") else text


def _pieces(text: str, width: int, count: int, where: str) -> list[str]:
    text = " ".join(text.split())
    if len(text) > width * count:
        raise FormatError(where, f"{len(text)} characters: a REMADV has room for {width * count} here")
    return [text[i : i + width] for i in range(0, len(text), width)] or [""]


def _dtm(qualifier: str, value: dt.date | dt.datetime) -> edifact.Segment:
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.UTC)
        return edifact.Segment.of("DTM", (qualifier, value.strftime("%Y%m%d%H%M"), "203"))
    return edifact.Segment.of("DTM", (qualifier, value.strftime("%Y%m%d"), "102"))


def _party_id(identifier: str) -> tuple[str, str, str]:
    return (identifier, "", "9") if re.fullmatch(r"\d{13}", identifier) else (identifier, "", "ZZZ")


def _doc_code(kind: DocumentKind | None) -> str:
    return {"credit_note": "381", "debit_note": "383", "other": "ZZZ"}.get(kind or "invoice", "380")


def _line_segments(line: RemittanceLine, where: str, version: str) -> list[edifact.Segment]:
    """One DOC group, its segments in the group's order: DOC, MOA (12, 9, 52), DTM, RFF, the AJT group."""
    S = edifact.Segment.of  # noqa: N806 - reads like the segments it writes
    if line.text:
        raise FormatError(f"{where}.text", "a REMADV DOC group has no free text")
    reason = line.adjustment_reason or ""
    if line.adjustment is not None and ";" in reason:
        raise FormatError(f"{where}.adjustment_reason", "one adjustment with several reasons cannot be "
                                                        "split into AJT groups")  # fmt: skip
    discount = line.adjustment is not None and reason == DISCOUNT_REASON
    out = [S("DOC", _doc_code(line.document_kind), line.invoice_number or "")]
    if line.amount is not None:
        out.append(S("MOA", ("12", _plain(line.amount))))
    if line.document_amount is not None:
        out.append(S("MOA", ("9", _plain(line.document_amount))))
    if discount and line.adjustment is not None:
        out.append(S("MOA", ("52", _plain(line.adjustment))))
    if line.document_date is not None:
        out.append(_dtm("137", line.document_date))
    if line.kid:
        out.append(S("RFF", ("PQ", line.kid)))
    if line.adjustment is not None and not discount:
        unknown = _UNKNOWN_REASON.fullmatch(reason)
        code = _REASON_CODES.get(reason) or (unknown.group(1) if unknown else "ZZZ")
        out.append(S("AJT", code))
        out.append(S("MOA", ("5", _plain(line.adjustment))))
        if code == "ZZZ":
            if version == "D96A":
                raise FormatError(f"{where}.adjustment_reason", "a free-text adjustment reason needs an "
                                  "FTX in the AJT group, which D96A does not have (write D01B)")
            out.append(S("FTX", "AAO", "", "", _pieces(reason, _TEXT_WIDTH[version], 5,
                                                       f"{where}.adjustment_reason")))
    return out


def _message(payment: Payment, index: int, document: RemittanceDocument, version: str) -> edifact.Message:
    S = edifact.Segment.of  # noqa: N806 - reads like the segments it writes
    where = f"payments[{index}]"
    for name in ("instructed_amount", "instructed_currency"):
        if getattr(payment, name) is not None:
            raise FormatError(f"{where}.{name}", "a REMADV carries the payment currency only")
    if payment.hint_only:
        raise FormatError(f"{where}.hint_only", "a REMADV advises a payment; it has no 'hint only' form")
    body = [S("BGM", "481", payment.bank_reference or "", "9")]
    if document.created_at is not None:
        body.append(_dtm("137", document.created_at))
    if payment.booking_date is not None:
        body.append(_dtm("203", payment.booking_date))
    if payment.value_date is not None:
        body.append(_dtm("209", payment.value_date))
    if payment.end_to_end_id:
        body.append(S("RFF", ("AEK", payment.end_to_end_id)))
    if payment.payer_account:
        body.append(S("FII", "OR", payment.payer_account))
    if payment.payee_account:
        body.append(S("FII", "BF", payment.payee_account))
    for number, text in enumerate(payment.free_text):
        pieces = _pieces(text, _TEXT_WIDTH[version], 5, f"{where}.free_text[{number}]")
        body.append(S("FTX", "AAI", "", "", pieces))
    if payment.payer_name or payment.payer_id:
        payer_name = _pieces(payment.payer_name or "", _NAME_WIDTH, 5, f"{where}.payer_name")
        body.append(S("NAD", "PR", _party_id(payment.payer_id) if payment.payer_id else "", "", payer_name))
    if document.account_owner:
        body.append(S("NAD", "PE", "", "", _pieces(document.account_owner, _NAME_WIDTH, 5, "account_owner")))
    body.append(S("CUX", ("2", payment.currency, "11")))
    for number, line in enumerate(payment.lines):
        body.extend(_line_segments(line, f"{where}.lines[{number}]", version))
    body.append(S("UNS", "S"))
    total = payment.amount if payment.direction == "credit" else -payment.amount
    body.append(S("MOA", ("12", _plain(total))))
    release = _RELEASES[version]
    return edifact.Message(str(index + 1), MESSAGE_TYPE, *release, segments=body)


def render(
    document: RemittanceDocument,
    *,
    version: Literal["D96A", "D01B"] = "D96A",
    sender: edifact.Party | None = None,
    recipient: edifact.Party | None = None,
    control_ref: str | None = None,
    prepared: dt.datetime | None = None,
    syntax_id: str = "UNOC",
    newline: str = "\n",
) -> bytes:
    """`document` as a REMADV interchange: one message per payment (module docstring: what is written
    where). The parties default to `document.sender` / `receiver` (qualifier 14 for a GLN, else ZZZ), the
    interchange reference to `message_id`, the preparation time to `created_at`. Raises `FormatError`
    naming the field for what a REMADV cannot carry, and `EdiSyntaxError` for characters `syntax_id`
    cannot write."""
    if version not in _RELEASES:
        raise ValueError(f"version must be one of {sorted(_RELEASES)}, got {version!r}")

    def party(given: edifact.Party | None, identifier: str | None, name: str) -> edifact.Party:
        if given is not None:
            return given
        if not identifier:
            raise FormatError(name, f"the interchange needs a {name}: give one or set document.{name}")
        return edifact.Party(identifier, "14" if re.fullmatch(r"\d{13}", identifier) else "ZZZ")

    when = prepared or document.created_at or dt.datetime.now(dt.UTC)
    if when.tzinfo is not None:
        when = when.astimezone(dt.UTC)
    messages = [_message(paid, number, document, version) for number, paid in enumerate(document.payments)]
    interchange = edifact.build_interchange(
        sender=party(sender, document.sender, "sender"),
        recipient=party(recipient, document.receiver, "receiver"),
        control_ref=control_ref or document.message_id or "1",
        prepared=when,
        messages=messages,
        syntax_id=syntax_id,
        una=True,
    )
    data = edifact.write_interchange(interchange, newline=newline)
    for message in edifact.parse(data).all_messages:  # positions as written
        problems = check_message(GRAMMARS[version], message.segments)
        if problems:
            first = problems[0]
            more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
            raise RemadvError(f"REMADV {version} grammar: {first.reason}{more}",
                              segment_position=first.position, segment_tag=first.tag,
                              element_index=first.element, component_index=first.component)  # fmt: skip
    return data
