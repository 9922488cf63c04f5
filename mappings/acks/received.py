"""What a received EDI file is, as far as it can be read: the envelope to answer, and its acknowledgements.

`examine` reads a received EDIFACT or X12 file strictly and, when refused, leniently enough to say who sent
it and to answer it (the CONTRL / 997 names the error); `read_acknowledgements` reads the acknowledgements
of either syntax (`mappings.acks.edifact_acks`, `mappings.acks.x12_acks`). Pure functions, no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass

from mappings.acks import edifact_acks, x12_acks
from mappings.acks.model import (
    EDIFACT_ACK_TYPES,
    TA1,
    X12_ACK_SETS,
    AckFormatError,
    Acknowledgement,
    AckParty,
    as_bytes,
)
from mappings.base import FormatError
from mappings.syntax import edifact, x12
from mappings.syntax.lenient import loose_edifact_interchange, loose_x12_interchange


def read_acknowledgements(data: bytes | str, *, lenient: bool = True) -> list[Acknowledgement]:
    """Every acknowledgement in one EDIFACT or X12 file, in file order (see `edifact_acks.parse`)."""
    raw = as_bytes(data)
    if edifact.sniff(raw):
        return edifact_acks.parse(data, lenient=lenient)
    if x12.sniff(raw):
        return x12_acks.parse(data, lenient=lenient)
    raise AckFormatError("file", "not an EDIFACT (UNA/UNB) or X12 (ISA) interchange")


def read_acknowledgement(data: bytes | str, *, lenient: bool = True) -> Acknowledgement:
    """The one acknowledgement in a file (`AckFormatError` when it holds several)."""
    found = read_acknowledgements(data, lenient=lenient)
    if len(found) != 1:
        raise AckFormatError("file", f"{len(found)} acknowledgements in one file; use read_acknowledgements")
    return found[0]


@dataclass
class ReceivedFile:
    """A received EDIFACT or X12 file as far as it can be read: its envelope, and the strict verdict.

    `interchange` is the strict reading, or the lenient one when `error` (the syntax layer's first error)
    refused the file — enough to address an answer. `acknowledgements` is set when the file is an ack.
    """

    standard: str
    sender: AckParty
    recipient: AckParty
    control_ref: str
    message_types: tuple[str, ...]
    message_refs: tuple[str, ...]
    group_refs: tuple[str, ...]
    edifact_interchange: edifact.Interchange | None = None
    x12_interchange: x12.Interchange | None = None
    error: FormatError | None = None
    acknowledgements: tuple[Acknowledgement, ...] = ()
    ack_error: FormatError | None = None
    warnings: tuple[str, ...] = ()

    @property
    def is_ack(self) -> bool:
        types = set(self.message_types)
        if self.standard == "edifact":
            return bool(types) and types <= EDIFACT_ACK_TYPES
        if self.x12_interchange is not None and self.x12_interchange.acknowledgments and not types:
            return True
        return bool(types) and types <= X12_ACK_SETS

    @property
    def message_type(self) -> str:
        return ",".join(dict.fromkeys(self.message_types))[:20] or (TA1 if self.is_ack else "")

    @property
    def ack_requested(self) -> bool:
        if self.standard == "edifact":
            return self.edifact_interchange is not None and self.edifact_interchange.ack_requested == "1"
        return self.x12_interchange is not None and self.x12_interchange.ack_requested == "1"


def examine(data: bytes) -> ReceivedFile:
    """Read a received file: strictly, and when refused, leniently enough to say who sent it and answer.

    Raises `FormatError` (the syntax layer's error, naming segment and position) when the file is not
    EDIFACT or X12 at all, or when not even its envelope can be read.
    """
    if edifact.sniff(data):
        error: FormatError | None = None
        warnings: list[str] = []
        try:
            interchange = edifact.parse(data)
        except edifact.EdiSyntaxError as strict:
            error = strict
            try:
                interchange, warnings = loose_edifact_interchange(data)
            except edifact.EdiSyntaxError:
                raise strict from None
        messages = interchange.all_messages
        received = ReceivedFile(
            standard="edifact",
            sender=AckParty(interchange.sender.id, interchange.sender.qualifier),
            recipient=AckParty(interchange.recipient.id, interchange.recipient.qualifier),
            control_ref=interchange.control_ref,
            message_types=tuple(m.type for m in messages),
            message_refs=tuple(m.reference for m in messages),
            group_refs=tuple(g.reference for g in interchange.groups),
            edifact_interchange=interchange,
            error=error,
            warnings=tuple(warnings),
        )
    elif x12.sniff(data):
        x_error: FormatError | None = None
        x_warnings: list[str] = []
        try:
            x_interchange = x12.parse(data)
        except x12.X12SyntaxError as strict:
            x_error = strict
            try:
                x_interchange, x_warnings = loose_x12_interchange(data)
            except x12.X12SyntaxError:
                raise strict from None
        sets = x_interchange.transactions
        received = ReceivedFile(
            standard="x12",
            sender=AckParty(x_interchange.sender.id, x_interchange.sender.qualifier),
            recipient=AckParty(x_interchange.receiver.id, x_interchange.receiver.qualifier),
            control_ref=x_interchange.control_number,
            message_types=tuple(t.set_id for t in sets),
            message_refs=tuple(t.control_number for t in sets),
            group_refs=tuple(g.control_number for g in x_interchange.groups),
            x12_interchange=x_interchange,
            error=x_error,
            warnings=tuple(x_warnings),
        )
    else:
        raise AckFormatError("file", "not an EDIFACT (UNA/UNB) or X12 (ISA) interchange")
    if received.is_ack:
        try:
            received.acknowledgements = tuple(read_acknowledgements(data))
        except FormatError as problem:
            received.ack_error = problem
    return received
