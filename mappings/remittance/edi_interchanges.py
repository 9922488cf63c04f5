"""A remittance file of several EDI interchanges (a bank's concatenated daily REMADV file, a VAN's day of
820s) read as ONE remittance file whose payments come from every interchange that reads.

Why one file and not one per interchange: remittance intake keeps, books and answers files (one
`RemittanceFile`, one receipt, the payments listed under it), and the bank sent one file. Why partial: each
interchange is a sender's unit of its own (own envelope, control reference, counts), and a broken one
says nothing about the others; refusing the whole day's file for one bad interchange would hold back
payments that read perfectly well. So the good interchanges' payments are booked, and the receipt carries
a warning per refused interchange naming it (number, byte offset) with the field and reason, so the
sender resends that one (a payment in the resent interchange that was booked already is found again by
its bank reference and booked as a duplicate, see `payment_fingerprint`). Only when no interchange reads is
the file refused, with the first interchange's refusal.

The merged document: payments and notes in file order (their positions and notes prefixed with the
interchange); `message_id` the interchanges' control references joined by ", "; `created_at` the first
interchange's; `account`, `account_owner`, `currency`, `sender`, `receiver` when every interchange read
says the same (else None); `declared_count` / `declared_total` the sums (each interchange was checked
against its own); `warnings` in file order: each interchange's tolerance warnings (a hard-wrapped file, a
needless release character), prefixed, and each refusal.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any, Literal, Protocol

from mappings.base import FormatError
from mappings.syntax.interchanges import InterchangeReading, read_each, refusal_warning
from schemas.remittance import Payment, RemittanceDocument

#: what a refused interchange's warning says was not read
NOT_READ = "its payments"


def _same(values: Sequence[str | None]) -> str | None:
    return values[0] if values and len(set(values)) == 1 else None


def _merged(readings: list[InterchangeReading[RemittanceDocument]]) -> RemittanceDocument:
    documents = [r.value for r in readings if r.value is not None]
    first = documents[0]
    payments: list[Payment] = []
    notes: list[str] = []
    warnings: list[str] = []
    for reading in readings:  # in file order, the refusals among the rest
        document = reading.value
        if document is None:
            warnings.append(refusal_warning(reading, NOT_READ))
            continue
        where = f"interchange {reading.piece.index}"
        payments.extend(
            dataclasses.replace(payment, position=f"{where}: {payment.position}".rstrip(": "))
            for payment in document.payments
        )
        notes.extend(f"{where}: {note}" for note in document.notes)
        warnings.extend(f"{where}: {warning}" for warning in document.warnings)
    declared = [d.declared_total for d in documents]
    return RemittanceDocument(
        format=first.format,
        payments=payments,
        message_id=", ".join(d.message_id for d in documents if d.message_id) or None,
        created_at=first.created_at,
        account=_same([d.account for d in documents]),
        account_owner=_same([d.account_owner for d in documents]),
        currency=_same([d.currency for d in documents]),
        sender=_same([d.sender for d in documents]),
        receiver=_same([d.receiver for d in documents]),
        declared_count=sum(d.declared_count or 0 for d in documents),
        declared_total=None if None in declared else sum((t or Decimal(0) for t in declared), Decimal(0)),
        notes=notes,
        warnings=warnings,
    )


def read_every_interchange(
    data: bytes, read_one: Callable[[bytes], RemittanceDocument]
) -> RemittanceDocument:
    """`read_one` (a single-interchange reader) applied to each interchange of `data`, merged into one
    document (module docstring); a file of one interchange is `read_one(data)` itself. Raises the first
    refusal, naming its interchange, when no interchange reads."""
    readings = read_each(data, read_one)
    if not any(r.value is not None for r in readings):
        error = readings[0].error
        assert error is not None
        raise error
    if len(readings) == 1:
        value = readings[0].value
        assert value is not None
        return value
    return _merged(readings)


class RemittanceReader(Protocol):
    """An EDI remittance format's `parse`: strict, or keeping documents that do not add up with a note."""

    def __call__(self, data: bytes, *, unbalanced: Literal["reject", "note"] = ...) -> RemittanceDocument: ...


def remittance_view(
    data: bytes,
    parse: RemittanceReader,
    *,
    format_name: str,
    grammar_problems: list[dict[str, Any]],
    envelope: dict[str, Any],
) -> dict[str, Any]:
    """The `gateway inspect --json` view of an EDI remittance file (REMADV, 820): the document as read,
    `valid` and the `errors` of the strict reading, what the grammar found, and the envelope. A file the
    strict reading refuses (payments that do not add up) is shown as read with `unbalanced="note"` (its
    notes say by how much); one that does not read even so shows only the refusal."""
    errors: list[dict[str, Any]] = []
    try:
        document = parse(data)
    except FormatError as error:
        errors.append(error.as_dict())
        try:
            document = parse(data, unbalanced="note")
        except FormatError:
            return {
                "format": format_name,
                "valid": False,
                "errors": errors,
                "grammar_problems": grammar_problems,
                "envelope": envelope,
            }
    return {
        **document.as_dict(),
        "valid": not errors,
        "errors": errors,
        "grammar_problems": grammar_problems,
        "envelope": envelope,
    }
