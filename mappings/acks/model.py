"""What every EDI acknowledgement says, in one model: CONTRL, APERAK, TA1, 997 and 999 alike.

An `Acknowledgement` is one acknowledgement of one interchange (CONTRL, TA1), group (997, 999) or message
(APERAK): who sent it (the ack's own envelope), which interchange / group / messages of ours it answers, a
status (accepted, rejected, partial, received), and the errors with the segment and element they name.

Numbering: `AckError.segment_position` is the position as the acknowledgement reports it (within the
message: UNH / ST = 1); `element` counts the elements after the tag from 1 (BGM element 2 is 1004 — for a
CONTRL the UCD's 0098 minus one) and `component` from 1.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

from mappings.base import FormatError

CONTRL, APERAK, TA1, FA997, FA999 = "CONTRL", "APERAK", "TA1", "997", "999"
ACCEPTED, REJECTED, PARTIAL, RECEIVED = "accepted", "rejected", "partial", "received"
AckKind = Literal["CONTRL", "APERAK", "TA1", "997", "999"]
AckStatus = Literal["accepted", "rejected", "partial", "received"]
EDIFACT_ACK_TYPES = frozenset({CONTRL, APERAK})
X12_ACK_SETS = frozenset({FA997, FA999})

#: Removed from a value copied from a received file into our answer: we never write control characters.
CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f]")


class AckFormatError(FormatError):
    """Data that is EDI but not an acknowledgement the gateway reads (or not one at all)."""


def as_bytes(data: bytes | str) -> bytes:
    """Acknowledgement data as the sniffers read it: a `str` as its latin-1 bytes."""
    raw = data.encode("latin-1", errors="replace") if isinstance(data, str) else data
    if not isinstance(raw, bytes):
        raise TypeError("acknowledgement data must be bytes or str")
    return raw


def int_or_none(text: str) -> int | None:
    """A count or position as an acknowledgement writes it (ASCII digits), or None."""
    return int(text) if text.isascii() and text.isdigit() else None


@dataclass(frozen=True)
class AckParty:
    """An interchange sender or recipient: id and qualifier (UNB 0007, ISA05/07)."""

    id: str
    qualifier: str = ""

    def as_dict(self) -> dict[str, str]:
        return {"id": self.id, "qualifier": self.qualifier}


@dataclass(frozen=True)
class AckError:
    """One error an acknowledgement reports (or one we report), placed as precisely as it says.

    `segment_position` is as the acknowledgement counts it (UNH / ST = 1), None at interchange or group
    level; `element` counts the elements after the tag from 1, `component` from 1; `code` is the standard's
    code (CONTRL 0085, AK304 / AK403 / AK502 / AK905 / TA105, APERAK ERC 9321) and `text` its meaning plus
    whatever the acknowledgement adds (FTX, a copy of the bad data).
    """

    segment_position: int | None
    segment_tag: str
    element: int | None
    component: int | None
    code: str
    text: str

    def where(self) -> str:
        parts: list[str] = []
        if self.segment_position is not None:
            parts.append(
                f"segment {self.segment_position}" + (f" ({self.segment_tag})" if self.segment_tag else "")
            )
        elif self.segment_tag:
            parts.append(self.segment_tag)
        if self.element is not None:
            parts.append(f"element {self.element}")
            if self.component is not None:
                parts.append(f"component {self.component}")
        return " ".join(parts)

    def describe(self) -> str:
        """ "segment 5 (NAD) element 2 component 1: code 12 (invalid value)"."""
        where = self.where()
        what = f"code {self.code}" + (f" ({self.text})" if self.text else "") if self.code else self.text
        return f"{where}: {what}" if where else what

    def as_dict(self) -> dict[str, Any]:
        return {
            "segment_position": self.segment_position,
            "segment_tag": self.segment_tag,
            "element": self.element,
            "component": self.component,
            "code": self.code,
            "text": self.text,
        }


@dataclass(frozen=True)
class MessageAck:
    """What an acknowledgement says about one message / transaction set (UNH 0062 / ST02)."""

    ref: str
    type: str
    status: str
    errors: tuple[AckError, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {
            "ref": self.ref,
            "type": self.type,
            "status": self.status,
            "errors": [e.as_dict() for e in self.errors],
        }


@dataclass(frozen=True)
class Acknowledgement:
    """One acknowledgement of one interchange (CONTRL, TA1) or group (997, 999) or message (APERAK).

    `sender` / `recipient` are the ack's own envelope (the partner and us); `control_ref` its own
    interchange reference and `message_ref` its UNH / ST reference. `of_interchange_ref` (UCI 0020, TA101),
    `of_group_ref` (UCF 0048, AK102) and the messages' refs (UCM 0062, AK202, APERAK RFF+ACW) name what of
    ours it answers; `references` are APERAK's RFF qualifier/value pairs (IV invoice number, ON order…).
    `errors` are at interchange or group level; each message carries its own. `warnings` say where the
    file broke the syntax rules and was read leniently.
    """

    kind: str
    sender: AckParty
    recipient: AckParty
    of_interchange_ref: str | None
    of_group_ref: str | None
    status: str
    messages: tuple[MessageAck, ...] = ()
    errors: tuple[AckError, ...] = ()
    note: str = ""
    control_ref: str = ""
    message_ref: str = ""
    references: tuple[tuple[str, str], ...] = ()
    warnings: tuple[str, ...] = ()
    prepared: str = ""
    standard: str = "edifact"

    @property
    def rejected_messages(self) -> tuple[MessageAck, ...]:
        return tuple(m for m in self.messages if m.status == REJECTED)

    def reference(self, *qualifiers: str) -> str | None:
        """The first APERAK reference with one of these qualifiers."""
        for qualifier, value in self.references:
            if qualifier in qualifiers and value:
                return value
        return None

    def error_summary(self, limit: int = 5) -> str:
        """The errors in words, interchange/group level first, then per rejected message."""
        parts = [e.describe() for e in self.errors]
        for message in self.messages:
            if message.status != REJECTED and not message.errors:
                continue
            label = f"message {message.ref}" + (f" ({message.type})" if message.type else "")
            details = "; ".join(e.describe() for e in message.errors) or message.status
            parts.append(f"{label}: {details}")
        shown = parts[:limit]
        if len(parts) > limit:
            shown.append(f"and {len(parts) - limit} more")
        return "; ".join(shown)

    def describe(self) -> str:
        """One line: kind, what it answers, the status, and the errors."""
        target = []
        if self.of_interchange_ref:
            target.append(f"interchange {self.of_interchange_ref}")
        if self.of_group_ref:
            target.append(f"group {self.of_group_ref}")
        refs = [m.ref for m in self.messages if m.ref]
        if not target and refs:
            target.append("message " + ", ".join(refs))
        if not target and self.references:
            target.append(" ".join(self.references[0]))
        head = (
            f"{self.kind} ({', '.join(target)}): {self.status}" if target else f"{self.kind}: {self.status}"
        )
        summary = self.error_summary()
        return f"{head}: {summary}" if summary else head

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "standard": self.standard,
            "sender": self.sender.as_dict(),
            "recipient": self.recipient.as_dict(),
            "control_ref": self.control_ref,
            "message_ref": self.message_ref,
            "prepared": self.prepared,
            "of_interchange_ref": self.of_interchange_ref,
            "of_group_ref": self.of_group_ref,
            "status": self.status,
            "messages": [m.as_dict() for m in self.messages],
            "errors": [e.as_dict() for e in self.errors],
            "references": [{"qualifier": q, "value": v} for q, v in self.references],
            "note": self.note,
            "warnings": list(self.warnings),
        }


@dataclass(frozen=True)
class AckEnvelope:
    """The interchange an acknowledgement came in (the partner → us), as each message's reader needs it.

    `warnings` say where the file broke the syntax rules and was read leniently; every acknowledgement read
    from the file carries them.
    """

    sender: AckParty
    recipient: AckParty
    control_ref: str
    prepared: str
    warnings: tuple[str, ...] = ()
