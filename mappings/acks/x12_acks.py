"""X12 acknowledgement files (registry format "x12-ack"): every TA1, 997 and 999 in an interchange.

Read as tolerantly as the EDIFACT twin (`mappings.acks.edifact_acks`): an ISA that is not fixed width or a
wrong SE count is still read, leniently, with the strict error kept in `warnings`. TA1s are read by
`mappings.acks.ta1`, 997 / 999 by `mappings.acks.functional_ack`. Pure functions, no I/O.
"""

from __future__ import annotations

from typing import Any

from mappings.acks import functional_ack, ta1
from mappings.acks.model import (
    FA997,
    FA999,
    TA1,
    X12_ACK_SETS,
    AckEnvelope,
    AckFormatError,
    Acknowledgement,
    AckParty,
    as_bytes,
)
from mappings.syntax import x12
from mappings.syntax.interchanges import split_interchanges
from mappings.syntax.lenient import first_message_type, read_x12

FORMAT_NAME = "x12-ack"


def sniff(data: bytes) -> bool:
    """An X12 interchange with TA1 segments before any group, or whose first set is a 997 or 999."""
    return x12.sniff(data) and first_message_type(data) in (TA1, FA997, FA999)


def parse(data: bytes | str, *, lenient: bool = True) -> list[Acknowledgement]:
    """Every acknowledgement in one X12 interchange: its TA1s first, then a 997 / 999 per set, in file order.

    `AckFormatError` when the file is not X12 or holds no acknowledgement (or a set that is not one); the
    syntax layer's error when not even a lenient reading is possible.
    """
    if not x12.sniff(as_bytes(data)):
        raise AckFormatError("file", "not an X12 (ISA) interchange")
    pieces = split_interchanges(as_bytes(data))
    if len(pieces) > 1:  # a VAN's file of several interchanges: each read on its own, in file order
        return [ack for piece in pieces for ack in parse(piece.data, lenient=lenient)]
    interchange, warnings = read_x12(data, lenient=lenient)
    envelope = AckEnvelope(
        sender=AckParty(interchange.sender.id, interchange.sender.qualifier),
        recipient=AckParty(interchange.receiver.id, interchange.receiver.qualifier),
        control_ref=interchange.control_number,
        prepared=f"{interchange.date} {interchange.time}".strip(),
        warnings=tuple(warnings),
    )
    found = [ta1.read_segment(segment, envelope) for segment in interchange.acknowledgments]
    for transaction in interchange.transactions:
        if transaction.set_id not in X12_ACK_SETS:
            raise AckFormatError(
                f"segment {transaction.position} (ST)",
                f"transaction set {transaction.set_id!r} is not an acknowledgement (997, 999)",
            )
        found.append(functional_ack.read_set(transaction, envelope))
    if not found:
        raise AckFormatError("interchange", "no TA1, 997 or 999 in the interchange")
    return found


def inspect(data: bytes) -> dict[str, Any]:
    """What the gateway reads from an X12 acknowledgement file (for `gateway inspect --json`)."""
    found = parse(data)
    return {
        "format": FORMAT_NAME,
        "acknowledgements": [a.as_dict() for a in found],
        "summary": [a.describe() for a in found],
    }
