"""The normalised remittance model: what every payment file says, whatever its wire format.

A bank notification (camt.054 / camt.053), a Nets OCR giro file, an EDIFACT REMADV, an X12 820 and a
PEPPOL Invoice Response "paid" all come down to the same two things: a `Payment` (money moved, from whom,
when, how much) and its `RemittanceLine`s (which documents the payer says it pays: KID, invoice or credit
note number, amount, deduction, free text). The readers in `mappings/` produce a `RemittanceDocument`;
matching (`gateway/matching/`) reads only this model, so a new format is a new reader, nothing else.

Money is `Decimal` in the payment's currency. `amount` is always positive; `direction` says which way
it went (only credits — money in — pay invoices; debits are kept and shown but never matched).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

Direction = Literal["credit", "debit"]
DocumentKind = Literal["invoice", "credit_note", "debit_note", "other"]


@dataclass(frozen=True)
class RemittanceLine:
    """One document a payer says the payment settles (or, for a credit note, uses up).

    `amount` is what the payer applies to this document (positive; a credit note's line is positive too,
    with `document_kind="credit_note"`: the payment is that much smaller). `document_amount` is the
    document's own total when the advice repeats it; `adjustment` a deduction the payer took (discount,
    short payment, claim), positive = paid less, with its reason as the payer gave it.
    """

    kid: str | None = None
    invoice_number: str | None = None
    document_kind: DocumentKind | None = None
    amount: Decimal | None = None
    document_amount: Decimal | None = None
    adjustment: Decimal | None = None
    adjustment_reason: str | None = None
    document_date: dt.date | None = None
    text: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return _plain(self.__dict__)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RemittanceLine:
        values = {k: v for k, v in data.items() if k in _LINE_FIELDS}
        for key in ("amount", "document_amount", "adjustment"):
            if values.get(key) is not None:
                values[key] = Decimal(values[key])
        if values.get("document_date"):
            values["document_date"] = dt.date.fromisoformat(values["document_date"])
        return cls(**values)


@dataclass(frozen=True)
class Payment:
    """One movement of money with what it says about itself.

    `position` names where in the file it came from (`Ntry[2]/TxDtls[3]`, `transaction 7`, `ENT[1]`) so a
    person can find it; `bank_reference` is the bank's or network's own id for it (AcctSvcrRef, OCR
    archive reference, TRN02), which recognises the same payment delivered twice in two files.
    `instructed_amount` / `instructed_currency` is what the payer sent before conversion (FX).
    `hint_only` marks information that is no money movement (an Invoice Response "paid"): it may
    corroborate, never book.
    """

    amount: Decimal
    currency: str
    direction: Direction = "credit"
    booking_date: dt.date | None = None
    value_date: dt.date | None = None
    payer_name: str | None = None
    payer_account: str | None = None
    payer_id: str | None = None
    payee_account: str | None = None
    bank_reference: str | None = None
    end_to_end_id: str | None = None
    instructed_amount: Decimal | None = None
    instructed_currency: str | None = None
    free_text: tuple[str, ...] = ()
    lines: tuple[RemittanceLine, ...] = ()
    kind: str = "payment"
    hint_only: bool = False
    position: str = ""

    @property
    def kids(self) -> list[str]:
        return [line.kid for line in self.lines if line.kid]

    @property
    def invoice_numbers(self) -> list[str]:
        return [line.invoice_number for line in self.lines if line.invoice_number]

    def as_dict(self) -> dict[str, Any]:
        data = _plain({k: v for k, v in self.__dict__.items() if k != "lines"})
        data["lines"] = [line.as_dict() for line in self.lines]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Payment:
        """The payment `as_dict` wrote (as stored with a booked payment)."""
        values = {k: v for k, v in data.items() if k in _PAYMENT_FIELDS and k != "lines"}
        for key in ("amount", "instructed_amount"):
            if values.get(key) is not None:
                values[key] = Decimal(values[key])
        for key in ("booking_date", "value_date"):
            if values.get(key):
                values[key] = dt.date.fromisoformat(values[key])
        values["free_text"] = tuple(values.get("free_text") or ())
        lines = tuple(RemittanceLine.from_dict(line) for line in data.get("lines") or ())
        return cls(**values, lines=lines)


@dataclass(frozen=True)
class RemittanceDocument:
    """A whole remittance file as read: its envelope facts and every payment in file order.

    `declared_count` / `declared_total` are what the file says of itself (camt `NbOfNtries`/`Sum`, OCR
    end-record counts and sums, BPR02); a reader refuses a file whose payments do not add up to them, so
    a document that exists has been checked against its own control totals.
    """

    format: str
    payments: list[Payment]
    message_id: str | None = None
    created_at: dt.datetime | None = None
    account: str | None = None
    account_owner: str | None = None
    currency: str | None = None
    sender: str | None = None
    receiver: str | None = None
    declared_count: int | None = None
    declared_total: Decimal | None = None
    notes: list[str] = field(default_factory=list)
    #: what the sender should hear about the file itself: it departs from its declared schema and was read
    #: with tolerance, or some of it could not be told (shown on the file's receipt, unlike `notes`)
    warnings: list[str] = field(default_factory=list)

    @property
    def credit_total(self) -> Decimal:
        return sum((p.amount for p in self.payments if p.direction == "credit"), Decimal(0))

    def as_dict(self) -> dict[str, Any]:
        data = _plain({k: v for k, v in self.__dict__.items() if k != "payments"})
        data["payment_count"] = len(self.payments)
        data["credit_total"] = str(self.credit_total)
        data["payments"] = [payment.as_dict() for payment in self.payments]
        return data


_LINE_FIELDS = frozenset(RemittanceLine.__dataclass_fields__)
_PAYMENT_FIELDS = frozenset(Payment.__dataclass_fields__)


def _plain(values: dict[str, Any]) -> dict[str, Any]:
    """JSON-ready copy: Decimals and dates as text, tuples as lists."""
    out: dict[str, Any] = {}
    for key, value in values.items():
        if isinstance(value, Decimal):
            out[key] = str(value)
        elif isinstance(value, dt.date | dt.datetime):
            out[key] = value.isoformat()
        elif isinstance(value, tuple):
            out[key] = list(value)
        else:
            out[key] = value
    return out
