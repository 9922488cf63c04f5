"""EDIFACT acknowledgement files (registry format "edifact-ack"): every CONTRL and APERAK in an interchange.

Ack intake is tolerant where a real gateway must be: a partner's APERAK with lower-case text in a UNOA
interchange, a wrong UNT count or a syntax-4 UNB with a 6-digit date is still read — first strictly, and
only when that refuses, leniently (`mappings.syntax.lenient`); what the strict reading said is kept in each
acknowledgement's `warnings`. The messages are read by `mappings.acks.contrl` and `mappings.acks.aperak`.
Pure functions, no I/O.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mappings.acks import aperak, contrl
from mappings.acks.model import (
    APERAK,
    CONTRL,
    EDIFACT_ACK_TYPES,
    AckEnvelope,
    AckFormatError,
    Acknowledgement,
    AckParty,
    as_bytes,
)
from mappings.syntax import edifact
from mappings.syntax.interchanges import split_interchanges
from mappings.syntax.lenient import first_message_type, read_edifact

FORMAT_NAME = "edifact-ack"

_READERS: dict[str, Callable[[edifact.Message, AckEnvelope], Acknowledgement]] = {
    CONTRL: contrl.read_message,
    APERAK: aperak.read_message,
}


def sniff(data: bytes) -> bool:
    """An EDIFACT interchange whose first message is a CONTRL or APERAK."""
    return edifact.sniff(data) and first_message_type(data) in EDIFACT_ACK_TYPES


def parse(data: bytes | str, *, lenient: bool = True) -> list[Acknowledgement]:
    """Every acknowledgement in one EDIFACT interchange, in file order.

    `AckFormatError` when the file is not EDIFACT or holds no acknowledgement (or a message that is not
    one); the syntax layer's error when not even a lenient reading is possible.
    """
    if not edifact.sniff(as_bytes(data)):
        raise AckFormatError("file", "not an EDIFACT (UNA/UNB) interchange")
    pieces = split_interchanges(as_bytes(data))
    if len(pieces) > 1:  # a VAN's file of several interchanges: each read on its own, in file order
        return [ack for piece in pieces for ack in parse(piece.data, lenient=lenient)]
    interchange, warnings = read_edifact(data, lenient=lenient)
    envelope = AckEnvelope(
        sender=AckParty(interchange.sender.id, interchange.sender.qualifier),
        recipient=AckParty(interchange.recipient.id, interchange.recipient.qualifier),
        control_ref=interchange.control_ref,
        prepared=" ".join(interchange.prepared).strip(),
        warnings=tuple(warnings),
    )
    found: list[Acknowledgement] = []
    for message in interchange.all_messages:
        reader = _READERS.get(message.type)
        if reader is None:
            raise AckFormatError(
                f"segment {message.position} (UNH)",
                f"message type {message.type!r} is not an acknowledgement (CONTRL, APERAK)",
            )
        found.append(reader(message, envelope))
    if not found:
        raise AckFormatError("interchange", "no CONTRL or APERAK message in the interchange")
    return found


def inspect(data: bytes) -> dict[str, Any]:
    """What the gateway reads from an EDIFACT acknowledgement file (for `gateway inspect --json`)."""
    found = parse(data)
    return {
        "format": FORMAT_NAME,
        "acknowledgements": [a.as_dict() for a in found],
        "summary": [a.describe() for a in found],
    }
