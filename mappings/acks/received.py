"""What a received EDI file is, as far as it can be read: the envelope to answer, and its acknowledgements.

`examine` reads a received EDIFACT or X12 file strictly and, when refused, leniently enough to say who sent
it and to answer it (the CONTRL / 997 names the error); `read_acknowledgements` reads the acknowledgements
of either syntax (`mappings.acks.edifact_acks`, `mappings.acks.x12_acks`). A file of several interchanges
(a VAN's concatenated daily file) is examined interchange by interchange (`ReceivedFile.parts`): each is
answered on its own, and one that cannot be read at all is refused alone. Pure functions, no I/O.
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
from mappings.syntax.interchanges import split_interchanges
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
    #: a file of several interchanges: each one examined on its own (empty for a file of one interchange,
    #: which is this object itself); the fields above then sum the parts up
    parts: tuple[ReceivedPart, ...] = ()

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


@dataclass(frozen=True)
class ReceivedPart:
    """One interchange of a file that holds several: its bytes (a file of its own), where it starts, and
    what `examine` made of it — or why not even its envelope could be read."""

    index: int
    offset: int
    data: bytes
    received: ReceivedFile | None
    error: FormatError | None = None

    @property
    def where(self) -> str:
        """How an operator finds it: "interchange 2 (byte 1234)"."""
        return f"interchange {self.index} (byte {self.offset})"


def examine(data: bytes) -> ReceivedFile:
    """Read a received file: strictly, and when refused, leniently enough to say who sent it and answer.

    A file of several interchanges gives one `ReceivedPart` per interchange in `parts`. Raises `FormatError`
    (the syntax layer's error, naming segment and position) when the file is not EDIFACT or X12 at all, or
    when not even one interchange's envelope can be read.
    """
    pieces = split_interchanges(data)
    if len(pieces) == 1:
        return _examine_one(data)
    parts: list[ReceivedPart] = []
    for piece in pieces:
        try:
            parts.append(ReceivedPart(piece.index, piece.offset, piece.data, _examine_one(piece.data)))
        except FormatError as error:
            parts.append(ReceivedPart(piece.index, piece.offset, piece.data, None, error))
    read = [p.received for p in parts if p.received is not None]
    if not read:
        first = parts[0].error
        assert first is not None
        raise first
    first_read = read[0]
    standards = {r.standard for r in read}
    return ReceivedFile(
        standard=first_read.standard if len(standards) == 1 else "mixed",
        sender=first_read.sender,
        recipient=first_read.recipient,
        control_ref=",".join(r.control_ref for r in read),
        message_types=tuple(t for r in read for t in r.message_types),
        message_refs=tuple(m for r in read for m in r.message_refs),
        group_refs=tuple(g for r in read for g in r.group_refs),
        warnings=tuple(f"{p.where}: {w}" for p in parts if p.received for w in p.received.warnings),
        parts=tuple(parts),
    )


def _examine_one(data: bytes) -> ReceivedFile:
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
            warnings=tuple(interchange.warnings if error is None else warnings),
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
