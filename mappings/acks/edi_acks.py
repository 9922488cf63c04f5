"""EDI acknowledgements: read CONTRL, APERAK, TA1, 997 and 999 into one model; write CONTRL, 997, 999 and TA1.

Reading. Every acknowledgement becomes an `Acknowledgement`: who sent it (the ack's own envelope), which
interchange / group / messages of ours it answers, a status (accepted, rejected, partial, received), and the
errors with the segment and element they name. One file may carry several (two TA1s, a 997 per group, a
CONTRL per interchange): `parse_acknowledgements` returns them all.

Ack intake is tolerant where a real gateway must be: a partner's APERAK with lower-case text in a UNOA
interchange, a wrong UNT count, a syntax-4 UNB with a 6-digit date or an X12 ISA that is not fixed width is
still read — first strictly through `mappings.syntax.edifact` / `mappings.syntax.x12`, and only when that
refuses, by a
lenient reading of the same segments; what the strict reading said is kept in `warnings`. Not tolerated:
anything that makes the reading ambiguous (no envelope, two UNBs, no message to read).

Writing. `render_contrl` answers an EDIFACT interchange, `render_997` / `render_999` an X12 one (plus a TA1
when the interchange level is in error, a duplicate, or ISA14 asked for one), always in the partner's own
syntax identifier / version as read from the received UNB or ISA, and with the detail the syntax layer
gives: the segment position (UCS 0096 / AK302 count from UNH / ST = 1), the element and component (UCD
S011 counts the segment tag as position 1, AK401 does not) and the standard code for the error (ISO 9735
0085; X12 AK304/IK304, AK403/IK403, AK502/IK502, AK905, TA105). Errors come in as the syntax layer's
`EdiSyntaxError` / `X12SyntaxError` (or errors a message grammar raises in the same form); their reason text
is mapped to the code (`contrl_error_code`, `x12_error_codes`).

Numbering in the model: `AckError.segment_position` is the position as the acknowledgement reports it
(within the message: UNH / ST = 1); `element` counts the elements after the tag from 1 (BGM element 2 is
1004 — for a CONTRL the UCD's 0098 minus one) and `component` from 1.

Pure functions, no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from mappings.base import FormatError
from mappings.syntax import edifact, x12
from mappings.syntax.edi_envelope import EdiEnvelope

CONTRL, APERAK, TA1, FA997, FA999 = "CONTRL", "APERAK", "TA1", "997", "999"
ACCEPTED, REJECTED, PARTIAL, RECEIVED = "accepted", "rejected", "partial", "received"
AckKind = Literal["CONTRL", "APERAK", "TA1", "997", "999"]
AckStatus = Literal["accepted", "rejected", "partial", "received"]
EDIFACT_ACK_TYPES = frozenset({CONTRL, APERAK})
X12_ACK_SETS = frozenset({FA997, FA999})

_BOM = b"\xef\xbb\xbf"
_WHITESPACE = " \t\r\n"
_SNIFF_BYTES = 65536

# ----------------------------------------------------------------------------------------------------------
# Code lists

#: ISO 9735 (version 4 code list, also used in syntax 3 CONTRL D:3) data element 0085, syntax error.
CONTRL_ERROR_CODES: dict[str, str] = {
    "2": "syntax version or level not supported",
    "7": "interchange recipient not actual recipient",
    "12": "invalid value",
    "13": "missing",
    "14": "value not supported in this position",
    "15": "not supported in this position",
    "16": "too many constituents",
    "17": "no agreement",
    "18": "unspecified error",
    "19": "invalid decimal notation",
    "20": "character invalid as service character",
    "21": "invalid character(s)",
    "22": "invalid service character(s)",
    "23": "unknown interchange sender",
    "24": "too old",
    "25": "test indicator not supported",
    "26": "duplicate detected",
    "27": "security function not supported",
    "28": "references do not match",
    "29": "control count does not match number of instances received",
    "30": "functional groups and messages mixed",
    "31": "more than one message type in group",
    "32": "lower level empty",
    "33": "invalid occurrence outside message, package or group",
    "35": "too many repetitions",
    "36": "too many segment group repetitions",
    "37": "invalid type of character(s)",
    "38": "missing digit in front of decimal sign",
    "39": "data element too long",
    "40": "data element too short",
    "45": "trailing separator",
    "46": "character set not supported",
    "47": "envelope functionality not supported",
}
#: The pre-1998 service code list (D96A and older directories) that old partners still send.
_OLD_CONTRL_ERROR_CODES: dict[str, str] = {
    "1": "UNA not supported",
    "3": "message version/release not supported",
    "4": "service segment missing/invalid",
    "5": "trailer check in error",
    "6": "data segment missing/invalid",
    "8": "too many data elements in segment",
    "9": "mandatory data element missing",
    "10": "data element attribute error",
    "11": "password invalid",
}
#: CONTRL 0083 action.
CONTRL_ACTIONS: dict[str, str] = {
    "4": REJECTED,  # this level and all lower levels rejected
    "7": ACCEPTED,  # this level acknowledged, lower levels too unless explicitly rejected
    "8": RECEIVED,  # interchange received (syntax not yet checked)
}

#: X12 720 (AK304 / IK304): segment syntax error.
X12_SEGMENT_ERRORS: dict[str, str] = {
    "1": "unrecognized segment ID",
    "2": "unexpected segment",
    "3": "required segment missing",
    "4": "loop occurs over maximum times",
    "5": "segment exceeds maximum use",
    "6": "segment not in defined transaction set",
    "7": "segment not in proper sequence",
    "8": "segment has data element errors",
    "I4": "implementation 'not used' segment present",
    "I6": "implementation dependent segment missing",
    "I7": "implementation loop occurs under minimum times",
    "I8": "implementation segment below minimum use",
    "I9": "implementation dependent 'not used' segment present",
}
#: X12 723 / 621 (AK403 / IK403): data element syntax error.
X12_ELEMENT_ERRORS: dict[str, str] = {
    "1": "mandatory data element missing",
    "2": "conditional required data element missing",
    "3": "too many data elements",
    "4": "data element too short",
    "5": "data element too long",
    "6": "invalid character in data element",
    "7": "invalid code value",
    "8": "invalid date",
    "9": "invalid time",
    "10": "exclusion condition violated",
    "12": "too many repetitions",
    "13": "too many components",
    "I6": "code value not used in implementation",
    "I9": "implementation dependent data element missing",
    "I10": "implementation 'not used' data element present",
    "I11": "implementation too few repetitions",
    "I12": "implementation pattern match failure",
    "I13": "implementation dependent 'not used' data element present",
}
#: X12 718 (AK502 / IK502): transaction set syntax error.
X12_SET_ERRORS: dict[str, str] = {
    "1": "transaction set not supported",
    "2": "transaction set trailer missing",
    "3": "transaction set control number in header and trailer do not match",
    "4": "number of included segments does not match actual count",
    "5": "one or more segments in error",
    "6": "missing or invalid transaction set identifier",
    "7": "missing or invalid transaction set control number",
    "8": "authentication key name unknown",
    "9": "encryption key name unknown",
    "10": "requested service (authentication or encryption) not available",
    "11": "unknown security recipient",
    "12": "incorrect message length (encryption only)",
    "13": "message authentication code failed",
    "15": "unknown security originator",
    "16": "syntax error in decrypted text",
    "17": "security not supported",
    "18": "transaction set not in functional group",
    "19": "invalid transaction set implementation convention reference",
    "23": "transaction set control number not unique within the functional group",
    "24": "S3E security end segment missing for S3S security start segment",
    "25": "S3S security start segment missing for S3E security end segment",
    "26": "S4E security end segment missing for S4S security start segment",
    "27": "S4S security start segment missing for S4E security end segment",
    "I5": "implementation one or more segments in error",
    "I6": "implementation convention not supported",
}
#: X12 716 (AK905): functional group syntax error.
X12_GROUP_ERRORS: dict[str, str] = {
    "1": "functional group not supported",
    "2": "functional group version not supported",
    "3": "functional group trailer missing",
    "4": "group control number in the functional group header and trailer do not agree",
    "5": "number of included transaction sets does not match actual count",
    "6": "group control number violates syntax",
    "10": "authentication key name unknown",
    "11": "encryption key name unknown",
    "12": "requested service (authentication or encryption) not available",
    "13": "unknown security recipient",
    "14": "unknown security originator",
    "15": "syntax error in decrypted text",
    "16": "security not supported",
    "17": "incorrect message length (encryption only)",
    "18": "message authentication code failed",
    "19": "functional group control number not unique within interchange",
    "23": "S3E security end segment missing for S3S security start segment",
    "24": "S3S security start segment missing for S3E security end segment",
    "25": "S4E security end segment missing for S4S security start segment",
    "26": "S4S security start segment missing for S4E security end segment",
}
#: X12 I18 (TA105): interchange note.
X12_INTERCHANGE_NOTES: dict[str, str] = {
    "000": "no error",
    "001": "interchange control number in header and trailer do not match",
    "002": "this standard as noted in the control standards identifier is not supported",
    "003": "this version of the controls is not supported",
    "004": "the segment terminator is invalid",
    "005": "invalid interchange ID qualifier for sender",
    "006": "invalid interchange sender ID",
    "007": "invalid interchange ID qualifier for receiver",
    "008": "invalid interchange receiver ID",
    "009": "unknown interchange receiver ID",
    "010": "invalid authorization information qualifier value",
    "011": "invalid authorization information value",
    "012": "invalid security information qualifier value",
    "013": "invalid security information value",
    "014": "invalid interchange date value",
    "015": "invalid interchange time value",
    "016": "invalid interchange standards identifier value",
    "017": "invalid interchange version ID value",
    "018": "invalid interchange control number value",
    "019": "invalid acknowledgment requested value",
    "020": "invalid test indicator value",
    "021": "invalid number of included groups value",
    "022": "invalid control structure",
    "023": "improper (premature) end-of-file (transmission)",
    "024": "invalid interchange content (e.g. invalid GS segment)",
    "025": "duplicate interchange control number",
    "026": "invalid data element separator",
    "027": "invalid component element separator",
    "028": "invalid delivery date in deferred delivery request",
    "029": "invalid delivery time in deferred delivery request",
    "030": "invalid delivery time code in deferred delivery request",
    "031": "invalid grade of service code",
}
#: AK501 / IK501 / AK901 acknowledgment codes.
X12_ACK_CODES: dict[str, str] = {
    "A": ACCEPTED,
    "E": ACCEPTED,  # accepted, but errors were noted
    "P": PARTIAL,  # partially accepted: at least one transaction set was rejected
    "R": REJECTED,
    "M": REJECTED,  # rejected, message authentication code failed
    "W": REJECTED,  # rejected, assurance failed validity tests
    "X": REJECTED,  # rejected, content after decryption could not be analysed
}
#: TA104.
TA1_ACK_CODES: dict[str, str] = {"A": ACCEPTED, "E": ACCEPTED, "R": REJECTED}

#: APERAK BGM 1225 (message function) codes that accept the referenced message: ERC segments under them
#: are informational (6 confirmation, 28/29/30/34 accepted with/without amendment, 44/45 accepted
#: without/with reserves); 27 "not accepted" rejects even without ERC.
APERAK_ACCEPTING_FUNCTIONS = frozenset({"6", "28", "29", "30", "34", "44", "45"})
APERAK_REJECTING_FUNCTIONS = frozenset({"27"})
#: APERAK RFF qualifiers that name the message or document it answers.
APERAK_MESSAGE_REF_QUALIFIERS = ("ACW",)  # reference number to previous message (UNH 0062)
APERAK_DOCUMENT_REF_QUALIFIERS = ("IV", "ON", "DQ", "AAK", "CT", "VN", "ACE", "AGO")


def contrl_error_text(code: str) -> str:
    """The name of a CONTRL 0085 code (both code lists)."""
    return CONTRL_ERROR_CODES.get(code) or _OLD_CONTRL_ERROR_CODES.get(code) or f"syntax error {code}"


class AckFormatError(FormatError):
    """Data that is EDI but not an acknowledgement the gateway reads (or not one at all)."""


# ----------------------------------------------------------------------------------------------------------
# The model


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


# ----------------------------------------------------------------------------------------------------------
# Lenient reading (for partners' acknowledgements, and to address an answer to a file the strict reading
# refused). The strict syntax layer is always tried first.


def _decode_edifact(data: bytes | str) -> str:
    if isinstance(data, str):
        return data[1:] if data.startswith("\ufeff") else data
    raw = data[3:] if data.startswith(_BOM) else data
    head = raw[:200].decode("latin-1")
    match = re.search(r"UNB.(UNO[A-Z])", head)
    codec = edifact.SYNTAX_ENCODINGS.get(match.group(1), "latin-1") if match else "latin-1"
    if codec == "ascii":  # a lenient reading keeps what a UNOA sender put there anyway
        codec = "latin-1"
    return raw.decode(codec, errors="replace")


def _loose_edifact_segments(
    data: bytes | str,
) -> tuple[list[edifact.Segment], edifact.ServiceCharacters, bool]:
    """Segments by the service characters, releases honoured, nothing else checked."""
    text = _decode_edifact(data)
    start = 0
    while start < len(text) and text[start] in _WHITESPACE:
        start += 1
    una = text.startswith("UNA", start)
    if una:
        chars = text[start + 3 : start + 9]
        if len(chars) < 6:
            raise edifact.EdiSyntaxError(
                "UNA needs 6 service characters", segment_position=1, segment_tag="UNA"
            )
        service = edifact.ServiceCharacters(*chars)
        service.check(segment_position=1)
        start += 9
        position = 2
    else:
        head = text[start : start + 12]
        version = 4 if re.match(r"UNB.UNO[A-Z].4", head) else 3
        service = edifact.default_service_characters(version)
        position = 1
    terminator, element_sep, component_sep = service.terminator, service.element, service.component
    release = service.release_character
    strip = "".join(c for c in _WHITESPACE if c not in service.delimiters)
    raw_segments: list[tuple[str, int]] = []
    body = text[start:]
    if release is None or release not in body:
        offset = start
        for piece in body.split(terminator):
            raw_segments.append((piece, offset))
            offset += len(piece) + 1
        raw_segments.pop()  # after the last terminator: whitespace, or a truncated segment (ignored)
    else:
        current: list[str] = []
        seg_start = start
        index = start
        length = len(text)
        while index < length:
            char = text[index]
            if char == release and index + 1 < length:
                current.append(char + text[index + 1])
                index += 2
                continue
            if char == terminator:
                raw_segments.append(("".join(current), seg_start))
                current = []
                seg_start = index + 1
            else:
                current.append(char)
            index += 1
    segments: list[edifact.Segment] = []
    for raw, offset in raw_segments:
        stripped = raw.lstrip(strip)
        if not stripped:
            continue
        elements = _split_released(stripped, element_sep, component_sep, release)
        tag = elements[0][0] if elements and elements[0] else ""
        segments.append(
            edifact.Segment(tag, tuple(elements[1:]), position, offset + len(raw) - len(stripped))
        )
        position += 1
    return segments, service, una


def _split_released(
    raw: str, element_sep: str, component_sep: str, release: str | None
) -> list[tuple[str, ...]]:
    if release is None or release not in raw:
        return [tuple(part.split(component_sep)) for part in raw.split(element_sep)]
    elements: list[tuple[str, ...]] = []
    components: list[str] = []
    current: list[str] = []
    index = 0
    while index < len(raw):
        char = raw[index]
        if char == release and index + 1 < len(raw):
            current.append(raw[index + 1])
            index += 2
            continue
        if char == element_sep:
            components.append("".join(current))
            elements.append(tuple(components))
            components, current = [], []
        elif char == component_sep:
            components.append("".join(current))
            current = []
        else:
            current.append(char)
        index += 1
    components.append("".join(current))
    elements.append(tuple(components))
    return elements


def _edifact_party(segment: edifact.Segment, element: int) -> edifact.Party:
    return edifact.Party(
        segment.get(element, 1), segment.get(element, 2), segment.get(element, 3), segment.get(element, 4)
    )


def _message_from(header: edifact.Segment, body: list[edifact.Segment]) -> edifact.Message:
    return edifact.Message(
        reference=header.get(1),
        type=header.get(2, 1),
        version=header.get(2, 2),
        release=header.get(2, 3),
        agency=header.get(2, 4),
        association=header.get(2, 5),
        segments=body,
        position=header.position,
    )


def loose_edifact_interchange(data: bytes | str) -> tuple[edifact.Interchange, list[str]]:
    """An interchange read as leniently as stays unambiguous, and what broke the rules.

    Refused (`EdiSyntaxError`): no UNB, a UNB without sender or control reference, a second UNB. Counts,
    dates, character repertoire and trailer references are only noted.
    """
    segments, service, una = _loose_edifact_segments(data)
    if not segments:
        raise edifact.EdiSyntaxError("no EDIFACT segments in the data")
    first = segments[0]
    if first.tag != "UNB":
        raise edifact.EdiSyntaxError(
            f"an interchange starts with UNB, found {first.tag!r}",
            segment_position=first.position,
            segment_tag=first.tag[:3],
        )
    for element, component, name in (
        (2, 1, "interchange sender (0004)"),
        (3, 1, "interchange recipient (0010)"),
        (5, 1, "interchange control reference (0020)"),
    ):
        if not first.get(element, component).strip():
            raise edifact.EdiSyntaxError(
                f"{name} is missing",
                segment_position=first.position,
                segment_tag="UNB",
                element_index=element,
                component_index=component,
            )
    version_text = first.get(1, 2)
    interchange = edifact.Interchange(
        service_chars=service,
        syntax_id=first.get(1, 1),
        syntax_version=int(version_text) if version_text in ("1", "2", "3", "4") else 3,
        sender=_edifact_party(first, 2),
        recipient=_edifact_party(first, 3),
        prepared=(first.get(4, 1), first.get(4, 2)),
        control_ref=first.get(5),
        application_ref=first.get(7),
        ack_requested=first.get(9),
        test_indicator=first.get(11),
        una=una,
    )
    warnings: list[str] = []
    group: edifact.Group | None = None
    header: edifact.Segment | None = None
    body: list[edifact.Segment] = []

    def close_message(trailer: edifact.Segment | None) -> None:
        nonlocal header, body
        assert header is not None
        message = _message_from(header, body)
        if trailer is None:
            warnings.append(f"message {message.reference!r} (UNH at segment {header.position}) has no UNT")
        else:
            count = trailer.get(1)
            if count != str(len(body) + 2) and not (count.isdigit() and int(count) == len(body) + 2):
                warnings.append(
                    f"UNT at segment {trailer.position} says {count!r} segments, message "
                    f"{message.reference!r} has {len(body) + 2}"
                )
            if trailer.get(2) != message.reference:
                warnings.append(
                    f"UNT at segment {trailer.position} names {trailer.get(2)!r}, the UNH "
                    f"{message.reference!r}"
                )
        (group.messages if group is not None else interchange.messages).append(message)
        header, body = None, []

    for segment in segments[1:]:
        tag = segment.tag
        if header is not None and tag not in ("UNT", "UNH", "UNZ", "UNE", "UNG", "UNB"):
            body.append(segment)
            continue
        if tag == "UNT":
            if header is None:
                warnings.append(f"UNT without UNH at segment {segment.position}")
                continue
            close_message(segment)
        elif tag == "UNH":
            if header is not None:
                close_message(None)
            header = segment
        elif tag == "UNG":
            if header is not None:
                close_message(None)
            group = edifact.Group(
                group_id=segment.get(1),
                sender=edifact.Party(segment.get(2, 1), segment.get(2, 2)),
                recipient=edifact.Party(segment.get(3, 1), segment.get(3, 2)),
                prepared=(segment.get(4, 1), segment.get(4, 2)),
                reference=segment.get(5),
                agency=segment.get(6),
                version=segment.get(7, 1),
                release=segment.get(7, 2),
                position=segment.position,
            )
            interchange.groups.append(group)
        elif tag == "UNE":
            if header is not None:
                close_message(None)
            group = None
        elif tag == "UNZ":
            if header is not None:
                close_message(None)
            expected = len(interchange.groups) or len(interchange.messages)
            if segment.get(1) != str(expected):
                warnings.append(
                    f"UNZ at segment {segment.position} counts {segment.get(1)!r}, the interchange "
                    f"has {expected}"
                )
            if segment.get(2) != interchange.control_ref:
                warnings.append(
                    f"UNZ at segment {segment.position} names {segment.get(2)!r}, the UNB "
                    f"{interchange.control_ref!r}"
                )
            break
        elif tag == "UNB":
            raise edifact.EdiSyntaxError(
                "a second UNB: one interchange per file", segment_position=segment.position, segment_tag="UNB"
            )
        else:
            warnings.append(f"{tag} at segment {segment.position} is outside a message")
    else:
        if header is not None:
            close_message(None)
        warnings.append("the interchange has no UNZ")
    return interchange, warnings


def _decode_x12(data: bytes | str) -> str:
    if isinstance(data, str):
        return data[1:] if data.startswith("\ufeff") else data
    raw = data[3:] if data.startswith(_BOM) else data
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def _loose_x12_segments(data: bytes | str) -> tuple[list[x12.Segment], x12.Separators]:
    """Segments by the delimiters the ISA names, its fields counted by separators rather than widths."""
    text = _decode_x12(data)
    start = 0
    while start < len(text) and text[start] in _WHITESPACE:
        start += 1
    if not text.startswith("ISA", start) or len(text) < start + 8:
        raise x12.X12SyntaxError(
            "an X12 interchange starts with ISA",
            segment_position=1 if text else 0,
            segment_tag=text[start : start + 3],
        )
    element_sep = text[start + 3]
    if element_sep.isalnum() or element_sep in _WHITESPACE:
        raise x12.X12SyntaxError(
            f"{element_sep!r} cannot be the element separator", segment_position=1, segment_tag="ISA"
        )
    cursor = start + 3
    for _ in range(15):
        cursor = text.find(element_sep, cursor + 1)
        if cursor < 0:
            raise x12.X12SyntaxError(
                "the ISA is truncated: it has 16 elements", segment_position=1, segment_tag="ISA"
            )
    isa_text = text[start:cursor]
    fields = isa_text.split(element_sep)[1:]
    component = text[cursor + 1 : cursor + 2]
    terminator = text[cursor + 2 : cursor + 3]
    if not component or not terminator:
        raise x12.X12SyntaxError(
            "the ISA is truncated: ISA16 and the segment terminator must follow",
            segment_position=1,
            segment_tag="ISA",
            element_index=16,
        )
    fields.append(component)
    version = fields[11].strip() if len(fields) > 11 else ""
    isa11 = fields[10] if len(fields) > 10 else "U"
    repetition = (
        isa11 if version >= "00402" and len(isa11) == 1 and not isa11.isalnum() and isa11 != " " else None
    )
    separators = x12.Separators(element_sep, component, terminator, repetition)
    try:
        separators.check()
    except ValueError as error:
        raise x12.X12SyntaxError(
            f"ISA16 / segment terminator: {error}", segment_position=1, segment_tag="ISA", element_index=16
        ) from None
    segments = [x12.Segment("ISA", tuple((f,) for f in fields), 1, start)]
    strip = "".join(c for c in _WHITESPACE if c not in (element_sep, component, terminator))
    position = 2
    offset = cursor + 3
    pieces = text[offset:].split(terminator)
    pieces.pop()
    for piece in pieces:
        seg_offset = offset
        offset += len(piece) + 1
        stripped = piece.lstrip(strip)
        if not stripped:
            continue
        parts = stripped.split(element_sep)
        segments.append(
            x12.Segment(
                parts[0],
                tuple(tuple(p.split(component)) for p in parts[1:]),
                position,
                seg_offset + len(piece) - len(stripped),
            )
        )
        position += 1
    return segments, separators


def loose_x12_interchange(data: bytes | str) -> tuple[x12.Interchange, list[str]]:
    """An interchange read leniently (ISA fields by separators, counts only noted); see the EDIFACT twin."""
    segments, separators = _loose_x12_segments(data)
    isa = segments[0]

    def isa_value(index: int) -> str:
        return isa.get(index)

    for index, name in (
        (6, "interchange sender ID"),
        (8, "interchange receiver ID"),
        (13, "interchange control number"),
    ):
        if not isa_value(index).strip():
            raise x12.X12SyntaxError(
                f"ISA{index:02d} ({name}) is blank",
                segment_position=1,
                segment_tag="ISA",
                element_index=index,
            )
    interchange = x12.Interchange(
        separators=separators,
        sender=x12.Party(isa_value(5).strip(), isa_value(6).strip()),
        receiver=x12.Party(isa_value(7).strip(), isa_value(8).strip()),
        date=isa_value(9).strip(),
        time=isa_value(10).strip(),
        version=isa_value(12).strip(),
        control_number=isa_value(13).strip(),
        ack_requested=isa_value(14).strip(),
        usage_indicator=isa_value(15).strip(),
    )
    warnings: list[str] = []
    group: x12.FunctionalGroup | None = None
    header: x12.Segment | None = None
    body: list[x12.Segment] = []

    def close_set(trailer: x12.Segment | None) -> None:
        nonlocal header, body
        assert header is not None
        transaction = x12.TransactionSet(header.get(1), header.get(2), header.get(3), body, header.position)
        if trailer is None:
            warnings.append(
                f"transaction set {transaction.control_number!r} (ST at segment {header.position}) has no SE"
            )
        else:
            if trailer.get(1) != str(len(body) + 2):
                warnings.append(
                    f"SE at segment {trailer.position} counts {trailer.get(1)!r}, the set has "
                    f"{len(body) + 2} segments"
                )
            if trailer.get(2) != transaction.control_number:
                warnings.append(
                    f"SE at segment {trailer.position} names {trailer.get(2)!r}, the ST "
                    f"{transaction.control_number!r}"
                )
        if group is None:
            warnings.append(f"transaction set at segment {header.position} is outside a functional group")
        else:
            group.transactions.append(transaction)
        header, body = None, []

    for segment in segments[1:]:
        tag = segment.tag
        if header is not None and tag not in ("SE", "ST", "GE", "GS", "IEA", "ISA"):
            body.append(segment)
            continue
        if tag == "SE":
            if header is None:
                warnings.append(f"SE without ST at segment {segment.position}")
                continue
            close_set(segment)
        elif tag == "ST":
            if header is not None:
                close_set(None)
            header = segment
        elif tag == "GS":
            if header is not None:
                close_set(None)
            group = x12.FunctionalGroup(
                segment.get(1),
                segment.get(2),
                segment.get(3),
                segment.get(4),
                segment.get(5),
                segment.get(6),
                segment.get(7),
                segment.get(8),
                position=segment.position,
            )
            interchange.groups.append(group)
        elif tag == "GE":
            if header is not None:
                close_set(None)
            if group is not None and segment.get(1) != str(len(group.transactions)):
                warnings.append(
                    f"GE at segment {segment.position} counts {segment.get(1)!r}, the group has "
                    f"{len(group.transactions)} sets"
                )
            group = None
        elif tag == "TA1":
            interchange.acknowledgments.append(segment)
        elif tag == "IEA":
            if header is not None:
                close_set(None)
            if segment.get(2).lstrip("0") != interchange.control_number.lstrip("0"):
                warnings.append(f"IEA02 {segment.get(2)!r} differs from ISA13 {interchange.control_number!r}")
            break
        elif tag == "ISA":
            raise x12.X12SyntaxError(
                "a second ISA: one interchange per file", segment_position=segment.position, segment_tag="ISA"
            )
        else:
            warnings.append(f"{tag} at segment {segment.position} is outside a transaction set")
    else:
        if header is not None:
            close_set(None)
        warnings.append("the interchange has no IEA")
    return interchange, warnings


def read_edifact(data: bytes | str, *, lenient: bool) -> tuple[edifact.Interchange, list[str]]:
    """Strictly; when that fails and `lenient`, leniently with the strict error as the first warning."""
    try:
        return edifact.parse_interchange(data), []
    except edifact.EdiSyntaxError as error:
        if not lenient:
            raise
        try:
            interchange, warnings = loose_edifact_interchange(data)
        except edifact.EdiSyntaxError:
            raise error from None
        return interchange, [f"read leniently: {error}", *warnings]


def read_x12(data: bytes | str, *, lenient: bool) -> tuple[x12.Interchange, list[str]]:
    """Strictly; when that fails and `lenient`, leniently with the strict error as the first warning."""
    try:
        return x12.parse_interchange(data), []
    except x12.X12SyntaxError as error:
        if not lenient:
            raise
        try:
            interchange, warnings = loose_x12_interchange(data)
        except x12.X12SyntaxError:
            raise error from None
        return interchange, [f"read leniently: {error}", *warnings]


# ----------------------------------------------------------------------------------------------------------
# Reading acknowledgements


def _int_or_none(text: str) -> int | None:
    return int(text) if text.isascii() and text.isdigit() else None


def _edifact_element_position(text: str) -> int | None:
    """S011 0098 counts the segment tag as position 1; our element index counts from the first element."""
    value = _int_or_none(text)
    return value - 1 if value is not None and value > 1 else value


def _contrl_error(tag: str, code: str, s011: tuple[str, str], position: int | None = None) -> AckError:
    return AckError(
        position,
        tag,
        _edifact_element_position(s011[0]),
        _int_or_none(s011[1]),
        code,
        contrl_error_text(code) if code else "",
    )


def _parse_contrl(
    message: edifact.Message,
    sender: AckParty,
    recipient: AckParty,
    control_ref: str,
    prepared: str,
    warnings: Sequence[str],
) -> Acknowledgement:
    uci: edifact.Segment | None = None
    errors: list[AckError] = []
    messages: list[MessageAck] = []
    group_refs: list[str] = []
    group_rejected = False
    current: dict[str, Any] | None = None
    segment_position: int | None = None
    collected: list[dict[str, Any]] = []

    def flush() -> None:
        nonlocal current
        if current is not None:
            collected.append(current)
            current = None

    for segment in message.segments:
        tag = segment.tag
        if tag == "UCI" and uci is None:
            uci = segment
            if segment.get(5) or segment.get(6):
                errors.append(
                    _contrl_error(segment.get(6), segment.get(5), (segment.get(7, 1), segment.get(7, 2)))
                )
        elif tag == "UCF":
            flush()
            group_refs.append(segment.get(1))
            if CONTRL_ACTIONS.get(segment.get(4)) == REJECTED:
                group_rejected = True
            if segment.get(5) or segment.get(4) == "4":
                error = _contrl_error(
                    segment.get(6) or "UNG", segment.get(5), (segment.get(7, 1), segment.get(7, 2))
                )
                errors.append(replace(error, text=f"group {segment.get(1)}: {error.text or 'rejected'}"))
        elif tag == "UCM":
            flush()
            current = {
                "ref": segment.get(1),
                "type": segment.get(2, 1),
                "status": CONTRL_ACTIONS.get(segment.get(3), REJECTED),
                "errors": [],
            }
            if segment.get(4) or segment.get(5):
                current["errors"].append(
                    _contrl_error(segment.get(5), segment.get(4), (segment.get(6, 1), segment.get(6, 2)))
                )
            segment_position = None
        elif tag == "UCS":
            segment_position = _int_or_none(segment.get(1))
            if current is not None and segment.get(2):
                current["errors"].append(
                    AckError(
                        segment_position, "", None, None, segment.get(2), contrl_error_text(segment.get(2))
                    )
                )
        elif tag == "UCD" and current is not None:
            current["errors"].append(
                _contrl_error("", segment.get(1), (segment.get(2, 1), segment.get(2, 2)), segment_position)
            )
    flush()
    if uci is None:
        raise AckFormatError(f"segment {message.position} (UNH)", "a CONTRL message without UCI")
    for item in collected:
        messages.append(MessageAck(item["ref"], item["type"], item["status"], tuple(item["errors"])))
    action = uci.get(4)
    status = CONTRL_ACTIONS.get(action)
    if status is None:
        raise AckFormatError(
            f"segment {uci.position} (UCI): element 4", f"action code (0083) {action!r} is not 4, 7 or 8"
        )
    if status == ACCEPTED and (group_rejected or any(m.status == REJECTED for m in messages)):
        status = PARTIAL
    note = {"4": "interchange rejected", "7": "interchange acknowledged", "8": "interchange received"}[action]
    return Acknowledgement(
        kind=CONTRL,
        standard="edifact",
        sender=sender,
        recipient=recipient,
        of_interchange_ref=uci.get(1) or None,
        of_group_ref=group_refs[0] if group_refs else None,
        status=status,
        messages=tuple(messages),
        errors=tuple(errors),
        note=note,
        control_ref=control_ref,
        message_ref=message.reference,
        warnings=tuple(warnings),
        prepared=prepared,
    )


def _parse_aperak(
    message: edifact.Message,
    sender: AckParty,
    recipient: AckParty,
    control_ref: str,
    prepared: str,
    warnings: Sequence[str],
) -> Acknowledgement:
    references: list[tuple[str, str]] = []
    errors: list[AckError] = []
    texts: list[str] = []
    function = ""
    document = ""
    in_error_group = False
    for segment in message.segments:
        tag = segment.tag
        if tag == "BGM":
            document = segment.get(2)
            function = segment.get(3)
        elif tag == "RFF":
            if in_error_group and errors:
                last = errors[-1]
                errors[-1] = replace(
                    last, text=f"{last.text} (at {segment.get(1, 1)} {segment.get(1, 2)})".strip()
                )
            else:
                references.append((segment.get(1, 1), segment.get(1, 2)))
        elif tag == "ERC":
            in_error_group = True
            code = segment.get(1, 1)
            errors.append(AckError(None, "", None, None, code, f"application error {code}" if code else ""))
        elif tag == "FTX":
            text = " ".join(part for part in segment.elements[3] if part) if len(segment.elements) > 3 else ""
            if in_error_group and errors:
                last = errors[-1]
                errors[-1] = replace(last, text=text or last.text)
            elif text:
                texts.append(text)
    if function in APERAK_REJECTING_FUNCTIONS:
        status = REJECTED
    elif function in APERAK_ACCEPTING_FUNCTIONS or not errors:
        status = ACCEPTED
    else:
        status = REJECTED
    refs = dict(references)
    message_ref = next((refs[q] for q in APERAK_MESSAGE_REF_QUALIFIERS if refs.get(q)), "")
    document_ref = next((f"{q} {refs[q]}" for q in APERAK_DOCUMENT_REF_QUALIFIERS if refs.get(q)), "")
    notes = []
    if document:
        notes.append(f"APERAK {document}")
    if function:
        notes.append(f"message function {function}")
    if errors and status == ACCEPTED:
        notes.append("errors reported as information (the message function accepts)")
    if document_ref:
        notes.append(f"answers {document_ref}")
    notes.extend(texts)
    answered = MessageAck(message_ref, "", status, tuple(errors))
    return Acknowledgement(
        kind=APERAK,
        standard="edifact",
        sender=sender,
        recipient=recipient,
        of_interchange_ref=None,
        of_group_ref=None,
        status=status,
        messages=(answered,),
        errors=(),
        note="; ".join(notes),
        control_ref=control_ref,
        message_ref=message.reference,
        references=tuple(references),
        warnings=tuple(warnings),
        prepared=prepared,
    )


def _x12_ack_errors(
    segments: Sequence[x12.Segment], start: int, implementation: bool
) -> tuple[list[AckError], int]:
    """AK3/AK4 (IK3/IK4, CTX) after an AK2 at `start`; (errors, index of the AK5/IK5 or next AK2)."""
    seg_tag, elem_tag = ("IK3", "IK4") if implementation else ("AK3", "AK4")
    errors: list[AckError] = []
    index = start
    current: tuple[int | None, str] = (None, "")
    while index < len(segments):
        segment = segments[index]
        if segment.tag == seg_tag:
            current = (_int_or_none(segment.get(2)), segment.get(1))
            code = segment.get(4)
            errors.append(
                AckError(
                    current[0],
                    current[1],
                    None,
                    None,
                    code,
                    X12_SEGMENT_ERRORS.get(code, f"segment error {code}" if code else ""),
                )
            )
        elif segment.tag == elem_tag:
            code = segment.get(3)
            text = X12_ELEMENT_ERRORS.get(code, f"element error {code}")
            if segment.get(2):
                text += f", data element {segment.get(2)}"
            if segment.get(4):
                text += f", bad value {segment.get(4)!r}"
            errors.append(
                AckError(
                    current[0],
                    current[1],
                    _int_or_none(segment.get(1, 1)),
                    _int_or_none(segment.get(1, 2)),
                    code,
                    text,
                )
            )
        elif segment.tag == "CTX" and errors:
            context = " ".join(":".join(c for c in e if c) for e in segment.elements if any(e))
            last = errors[-1]
            errors[-1] = replace(last, text=f"{last.text} [context {context}]")
        else:
            break
        index += 1
    return errors, index


def _parse_functional_ack(
    transaction: x12.TransactionSet,
    sender: AckParty,
    recipient: AckParty,
    control_ref: str,
    prepared: str,
    warnings: Sequence[str],
) -> Acknowledgement:
    implementation = transaction.set_id == FA999
    set_status_tag = "IK5" if implementation else "AK5"
    segments = transaction.segments
    ak1 = next((s for s in segments if s.tag == "AK1"), None)
    if ak1 is None:
        raise AckFormatError(f"segment {transaction.position} (ST)", f"a {transaction.set_id} without AK1")
    messages: list[MessageAck] = []
    errors: list[AckError] = []
    group_status: str | None = None
    counts_note = ""
    index = 0
    while index < len(segments):
        segment = segments[index]
        if segment.tag == "AK2":
            found, index = _x12_ack_errors(segments, index + 1, implementation)
            status = ACCEPTED
            if index < len(segments) and segments[index].tag == set_status_tag:
                trailer = segments[index]
                status = X12_ACK_CODES.get(trailer.get(1), REJECTED)
                for element in range(2, 7):
                    code = trailer.get(element)
                    if code:
                        found.append(
                            AckError(
                                None,
                                "",
                                None,
                                None,
                                code,
                                X12_SET_ERRORS.get(code, f"transaction set error {code}"),
                            )
                        )
                if trailer.get(1) == "E":
                    found.append(AckError(None, "", None, None, "E", "accepted, but errors were noted"))
                index += 1
            messages.append(MessageAck(segment.get(2), segment.get(1), status, tuple(found)))
            continue
        if segment.tag == "AK9":
            group_status = X12_ACK_CODES.get(segment.get(1), REJECTED)
            for element in range(5, 10):
                code = segment.get(element)
                if code:
                    errors.append(
                        AckError(
                            None,
                            "GS",
                            None,
                            None,
                            code,
                            X12_GROUP_ERRORS.get(code, f"functional group error {code}"),
                        )
                    )
            counts = (segment.get(2), segment.get(3), segment.get(4))
            if any(counts):
                counts_note = (
                    f"sets included {counts[0] or '?'}, received {counts[1] or '?'}, "
                    f"accepted {counts[2] or '?'}"
                )
        index += 1
    if group_status is None:
        raise AckFormatError(f"segment {transaction.position} (ST)", f"a {transaction.set_id} without AK9")
    note = f"group {ak1.get(2)} ({ak1.get(1)})"
    if counts_note:
        note += f": {counts_note}"
    return Acknowledgement(
        kind=transaction.set_id,
        standard="x12",
        sender=sender,
        recipient=recipient,
        of_interchange_ref=None,
        of_group_ref=ak1.get(2) or None,
        status=group_status,
        messages=tuple(messages),
        errors=tuple(errors),
        note=note,
        control_ref=control_ref,
        message_ref=transaction.control_number,
        warnings=tuple(warnings),
        prepared=prepared,
    )


def _parse_ta1(
    segment: x12.Segment, sender: AckParty, recipient: AckParty, control_ref: str, warnings: Sequence[str]
) -> Acknowledgement:
    code = segment.get(4)
    status = TA1_ACK_CODES.get(code)
    if status is None:
        raise AckFormatError(
            f"segment {segment.position} (TA1): element 4",
            f"interchange acknowledgement code (TA104) {code!r} is not A, E or R",
        )
    note_code = segment.get(5)
    errors: tuple[AckError, ...] = ()
    note = {
        "A": "interchange accepted",
        "E": "interchange accepted with errors noted (do not resend)",
        "R": "interchange rejected",
    }[code]
    if note_code and note_code != "000":
        errors = (
            AckError(
                None,
                "ISA",
                None,
                None,
                note_code,
                X12_INTERCHANGE_NOTES.get(note_code, f"interchange note {note_code}"),
            ),
        )
    return Acknowledgement(
        kind=TA1,
        standard="x12",
        sender=sender,
        recipient=recipient,
        of_interchange_ref=segment.get(1) or None,
        of_group_ref=None,
        status=status,
        errors=errors,
        note=note,
        control_ref=control_ref,
        warnings=tuple(warnings),
        prepared=f"{segment.get(2)} {segment.get(3)}".strip(),
    )


def is_edifact(data: bytes) -> bool:
    return edifact.sniff(data)


def is_x12(data: bytes) -> bool:
    return x12.sniff(data)


def parse_acknowledgements(data: bytes | str, *, lenient: bool = True) -> list[Acknowledgement]:
    """Every acknowledgement in one EDIFACT or X12 file, in file order.

    `AckFormatError` when the file holds no acknowledgement (or a message that is not one); the syntax
    layer's error when not even a lenient reading is possible.
    """
    raw = data.encode("latin-1", errors="replace") if isinstance(data, str) else data
    if not isinstance(raw, bytes):
        raise TypeError("acknowledgement data must be bytes or str")
    if edifact.sniff(raw):
        interchange, warnings = read_edifact(data, lenient=lenient)
        sender = AckParty(interchange.sender.id, interchange.sender.qualifier)
        recipient = AckParty(interchange.recipient.id, interchange.recipient.qualifier)
        prepared = " ".join(interchange.prepared).strip()
        found: list[Acknowledgement] = []
        for message in interchange.all_messages:
            if message.type == CONTRL:
                found.append(
                    _parse_contrl(message, sender, recipient, interchange.control_ref, prepared, warnings)
                )
            elif message.type == APERAK:
                found.append(
                    _parse_aperak(message, sender, recipient, interchange.control_ref, prepared, warnings)
                )
            else:
                raise AckFormatError(
                    f"segment {message.position} (UNH)",
                    f"message type {message.type!r} is not an acknowledgement (CONTRL, APERAK)",
                )
        if not found:
            raise AckFormatError("interchange", "no CONTRL or APERAK message in the interchange")
        return found
    if x12.sniff(raw):
        x_interchange, warnings = read_x12(data, lenient=lenient)
        x_sender = AckParty(x_interchange.sender.id, x_interchange.sender.qualifier)
        x_recipient = AckParty(x_interchange.receiver.id, x_interchange.receiver.qualifier)
        x_found = [
            _parse_ta1(s, x_sender, x_recipient, x_interchange.control_number, warnings)
            for s in x_interchange.acknowledgments
        ]
        x_prepared = f"{x_interchange.date} {x_interchange.time}".strip()
        for transaction in x_interchange.transactions:
            if transaction.set_id not in X12_ACK_SETS:
                raise AckFormatError(
                    f"segment {transaction.position} (ST)",
                    f"transaction set {transaction.set_id!r} is not an acknowledgement (997, 999)",
                )
            x_found.append(
                _parse_functional_ack(
                    transaction, x_sender, x_recipient, x_interchange.control_number, x_prepared, warnings
                )
            )
        if not x_found:
            raise AckFormatError("interchange", "no TA1, 997 or 999 in the interchange")
        return x_found
    raise AckFormatError("file", "not an EDIFACT (UNA/UNB) or X12 (ISA) interchange")


def parse_acknowledgement(data: bytes | str, *, lenient: bool = True) -> Acknowledgement:
    """The one acknowledgement in a file (`AckFormatError` when it holds several)."""
    found = parse_acknowledgements(data, lenient=lenient)
    if len(found) != 1:
        raise AckFormatError("file", f"{len(found)} acknowledgements in one file; use parse_acknowledgements")
    return found[0]


def _first_message_type(data: bytes) -> str | None:
    """The first UNH message type or ST set id, read leniently from the start of the data."""
    head = data[:_SNIFF_BYTES]
    try:
        if edifact.sniff(head):
            segments, _, _ = _loose_edifact_segments(head)
            return next((s.get(2, 1) for s in segments if s.tag == "UNH"), None)
        if x12.sniff(head):
            x_segments, _ = _loose_x12_segments(head)
            for segment in x_segments[1:]:
                if segment.tag == "ST":
                    return segment.get(1)
                if segment.tag == "TA1":
                    return TA1
            return None
    except FormatError:
        return None
    return None


def sniff_edifact_ack(data: bytes) -> bool:
    """An EDIFACT interchange whose first message is a CONTRL or APERAK."""
    return edifact.sniff(data) and _first_message_type(data) in EDIFACT_ACK_TYPES


def sniff_x12_ack(data: bytes) -> bool:
    """An X12 interchange with TA1 segments before any group, or whose first set is a 997 or 999."""
    return x12.sniff(data) and _first_message_type(data) in (TA1, FA997, FA999)


def sniff_ack(data: bytes) -> bool:
    """Any acknowledgement the gateway reads (CONTRL, APERAK, TA1, 997, 999)."""
    return sniff_edifact_ack(data) or sniff_x12_ack(data)


def inspect_ack(data: bytes) -> dict[str, Any]:
    """What the gateway reads from an acknowledgement file (for `gateway inspect --json`)."""
    found = parse_acknowledgements(data)
    standard = found[0].standard
    return {
        "format": "edifact-ack" if standard == "edifact" else "x12-ack",
        "acknowledgements": [a.as_dict() for a in found],
        "summary": [a.describe() for a in found],
    }


# ----------------------------------------------------------------------------------------------------------
# Syntax errors → codes

_EDIFACT_PATTERNS: tuple[tuple[str, str], ...] = (
    (r"syntax identifier .* not supported|syntax version \d+ does not exist", "2"),
    (r"is not allowed in UNO|is not valid .*\(syntax identifier", "21"),
    (
        r"service string advice|UNA needs|service characters must differ|decimal mark must be"
        r"|separator .* cannot be|release character .* cannot be|terminator .* cannot be"
        r"|must be one character",
        "20",
    ),
    (r"without a UNA service string advice the data element separator", "22"),
    (r"release character", "22"),
    (r"repetition separator .* found", "35"),
    (
        r"segment count says|number of messages says|interchange control count says",
        "29",
    ),
    (r"differs from .*'s ", "28"),
    (r"mixed|a group \(UNG\) after messages|message outside a group", "30"),
    (
        r"is mandatory and missing|has no UNT|UNT is missing|has no UNE|UNE is missing|has no UNZ"
        r"|a second UNB|is truncated",
        "13",
    ),
    (r"characters long, at most", "39"),
    (r"must be \d+ characters long", "40"),
    (r"must be numeric|must be alphabetic", "37"),
    (r"has at most \d+ data elements|has at most \d+ component", "16"),
    (r"outside a message|data after UNZ|belongs between UNH and UNT|without UNH|without UNG", "33"),
    (r"empty segment", "33"),
    (r"segment tag must be", "12"),
    (r"not a calendar date|is not a time of day|must be YYMMDD|must be CCYYMMDD|date '", "12"),
    (r"duplicate", "26"),
)


def contrl_error_code(error: edifact.EdiSyntaxError) -> str:
    """The ISO 9735 0085 code that names what the syntax layer found (18 "unspecified" when none fits)."""
    reason = error.reason
    for pattern, code in _EDIFACT_PATTERNS:
        if re.search(pattern, reason):
            return code
    return "18"


_TA105_BY_ISA_ELEMENT = {
    1: "010",
    2: "011",
    3: "012",
    4: "013",
    5: "005",
    6: "006",
    7: "007",
    8: "008",
    9: "014",
    10: "015",
    11: "016",
    12: "017",
    13: "018",
    14: "019",
    15: "020",
    16: "027",
}


@dataclass(frozen=True)
class X12Codes:
    """Where an X12 syntax error is reported and with which code.

    `level` is "interchange" (TA1, `code` a TA105 note), "group" (AK905), "set" (AK502 / IK502), "segment"
    (AK304 / IK304) or "element" (AK403 / IK403, with AK304 8 on the segment).
    """

    level: str
    code: str


def x12_error_codes(error: x12.X12SyntaxError, *, in_set: bool = False, in_group: bool = False) -> X12Codes:
    """The level and code for an X12 syntax error; `in_set` / `in_group` say where its segment lies."""
    reason, tag = error.reason, error.segment_tag
    if re.search(r"truncated|no segment terminator", reason) and not in_set:
        return X12Codes("interchange", "023")
    if tag == "ISA" or (error.segment_position == 1 and not in_group):
        if re.search(r"element separator|the character after 'ISA'", reason):
            return X12Codes("interchange", "026")
        if re.search(r"segment terminator", reason):
            return X12Codes("interchange", "004")
        return X12Codes("interchange", _TA105_BY_ISA_ELEMENT.get(error.element_index or 0, "022"))
    if tag == "IEA":
        if error.element_index == 2:
            return X12Codes("interchange", "001")
        if error.element_index == 1:
            return X12Codes("interchange", "021")
        return X12Codes("interchange", "022")
    if re.search(r"a second ISA|data after IEA|has no IEA", reason):
        return X12Codes("interchange", "023" if "has no IEA" in reason else "022")
    if tag in ("ST", "SE") or re.search(r"has no SE|its SE is missing", reason):
        if re.search(r"has no SE|its SE is missing", reason):
            return X12Codes("set", "2")
        if tag == "SE" and error.element_index == 1:
            return X12Codes("set", "4")
        if tag == "SE" and error.element_index == 2:
            return X12Codes("set", "3")
        if tag == "ST" and error.element_index == 1:
            return X12Codes("set", "6")
        if tag == "ST" and error.element_index == 3:
            return X12Codes("set", "19")
        return X12Codes("set", "7")
    if in_set:
        if error.element_index is None:
            if re.search(r"segment tag must be|empty segment", reason):
                return X12Codes("segment", "1")
            if re.search(r"missing", reason):
                return X12Codes("segment", "3")
            return X12Codes("segment", "2")
        return X12Codes("element", _x12_element_code(reason))
    if tag in ("GS", "GE") or in_group or re.search(r"has no GE|its GE is missing", reason):
        if re.search(r"has no GE|its GE is missing", reason):
            return X12Codes("group", "3")
        if tag == "GE" and error.element_index == 1:
            return X12Codes("group", "5")
        if tag == "GE" and error.element_index == 2:
            return X12Codes("group", "4")
        if tag == "GS" and error.element_index == 6:
            return X12Codes("group", "6")
        if tag == "GS" and error.element_index == 8:
            return X12Codes("group", "2")
        if tag == "GS" and error.element_index == 1:
            return X12Codes("group", "1")
        return X12Codes("interchange", "024")
    return X12Codes("interchange", "024")


def _x12_element_code(reason: str) -> str:
    for pattern, code in (
        (r"mandatory|missing", "1"),
        (r"too many components|cannot have components", "13"),
        (r"repetition", "12"),
        (r"too long|longer than|at most", "5"),
        (r"too short|characters long", "4"),
        (r"not a date|date", "8"),
        (r"not a time|time", "9"),
        (r"number|digits|character", "6"),
        (r"elements", "3"),
    ):
        if re.search(pattern, reason):
            return code
    return "7"


# ----------------------------------------------------------------------------------------------------------
# Writing CONTRL


def contrl_message_version(syntax_version: int) -> tuple[str, str]:
    """CONTRL's own version: D:3 (the JSWG release for syntax versions 2 and 3), 4:1 for syntax 4."""
    return ("4", "1") if syntax_version >= 4 else ("D", "3")


def _s011(element: int | None, component: int | None) -> tuple[str, ...]:
    """UCD / UCI / UCM S011: 0098 counts the tag as 1, then 0104."""
    if element is None:
        return ()
    return (str(element + 1), str(component)) if component is not None else (str(element + 1),)


def _party_elements(party: edifact.Party) -> tuple[str, ...]:
    return (party.id, party.qualifier, party.internal) if party.internal else (party.id, party.qualifier)


@dataclass
class _MessageReport:
    message: edifact.Message
    group: edifact.Group | None
    code: str = ""
    tag: str = ""
    s011: tuple[str, ...] = ()
    segments: list[edifact.Segment] = field(default_factory=list)


def _locate_edifact(
    interchange: edifact.Interchange, position: int
) -> tuple[edifact.Group | None, edifact.Message | None, int]:
    """(group, message, last position of the message) that contain `position`."""
    for group in interchange.groups:
        for message in group.messages:
            end = message.position + len(message.segments) + 1
            if message.position <= position <= end:
                return group, message, end
    for message in interchange.messages:
        end = message.position + len(message.segments) + 1
        if message.position <= position <= end:
            return None, message, end
    for index, group in enumerate(interchange.groups):
        last = group.messages[-1] if group.messages else None
        end = last.position + len(last.segments) + 2 if last is not None else group.position + 1
        following = interchange.groups[index + 1].position if index + 1 < len(interchange.groups) else None
        if group.position <= position <= end and (following is None or position < following):
            return group, None, end
    return None, None, 0


_MESSAGE_NAMED = re.compile(r"message '([^']*)' \(UNH at segment (\d+)\)")


def _subject_edifact(received: edifact.Interchange | bytes | str) -> edifact.Interchange:
    if isinstance(received, edifact.Interchange):
        return received
    try:
        return edifact.parse_interchange(received)
    except edifact.EdiSyntaxError:
        return loose_edifact_interchange(received)[0]


def render_contrl(
    received: edifact.Interchange | bytes,
    *,
    envelope: EdiEnvelope,
    accepted: bool,
    errors: Sequence[edifact.EdiSyntaxError] = (),
    duplicate: bool = False,
    received_only: bool = False,
) -> bytes:
    """A CONTRL answering `received` (parsed, or the raw bytes the syntax layer refused with `errors`).

    Written with our envelope (`envelope`: us → the partner, our control numbers) but in the partner's syntax
    identifier and version from the received UNB. Accepted: UCI action 7. `received_only`: UCI 8. Rejected:
    UCI 4, with each error reported at the lowest level that can name it — UNB/UNZ on the UCI (0085, 0013,
    S011), UNG/UNE on a UCF, UNH/UNT on a UCM, a segment inside a message as UCM 4 + UCS (position from UNH
    = 1) + UCD (element, component) — and a duplicate interchange as UCI 4 with 0085 26.
    """
    if accepted and (errors or duplicate):
        raise ValueError("an accepted interchange has no errors")
    subject = _subject_edifact(received)
    action = "8" if received_only else ("7" if accepted else "4")
    uci: list[Any] = [
        subject.control_ref,
        _party_elements(subject.sender),
        _party_elements(subject.recipient),
        action,
    ]
    uci_error: tuple[str, str, tuple[str, ...]] | None = None
    if duplicate:
        uci_error = ("26", "UNB", ("6",))
    reports: dict[int, _MessageReport] = {}
    group_reports: dict[str, list[Any]] = {}
    for error in errors:
        code = contrl_error_code(error)
        position = error.segment_position
        named = _MESSAGE_NAMED.search(error.reason)
        if named and ("has no UNT" in error.reason or "UNT is missing" in error.reason):
            position = int(named.group(2))
        group, message, end = _locate_edifact(subject, position) if position else (None, None, 0)
        if message is not None:
            report = reports.setdefault(message.position, _MessageReport(message, group))
            missing_trailer = "has no UNT" in error.reason or "UNT is missing" in error.reason
            if missing_trailer:
                report.code, report.tag = code, "UNT"
            elif position == message.position or error.segment_tag == "UNH":
                report.code, report.tag = code, "UNH"
                report.s011 = _s011(error.element_index, error.component_index)
            elif position == end and error.segment_tag == "UNT":
                report.code, report.tag = code, "UNT"
                report.s011 = _s011(error.element_index, error.component_index)
            else:
                in_message = position - message.position + 1
                if error.element_index is not None:
                    report.segments.append(edifact.Segment.of("UCS", str(in_message)))
                    report.segments.append(
                        edifact.Segment.of("UCD", code, _s011(error.element_index, error.component_index))
                    )
                else:
                    report.segments.append(edifact.Segment.of("UCS", str(in_message), code))
            continue
        if group is not None:
            tag = error.segment_tag if error.segment_tag in ("UNG", "UNE") else "UNG"
            group_reports[group.reference] = [code, tag, _s011(error.element_index, error.component_index)]
            continue
        if uci_error is None:
            tag = error.segment_tag if error.segment_tag in ("UNB", "UNZ") else ""
            s011 = _s011(error.element_index, error.component_index) if tag else ()
            uci_error = (code, tag, s011)
    if uci_error is not None:
        uci += [uci_error[0], uci_error[1], uci_error[2]]
    body = [edifact.Segment.of("UCI", *uci)]

    def ucm(report: _MessageReport) -> list[edifact.Segment]:
        m = report.message
        identifier = [m.type, m.version, m.release, m.agency] + ([m.association] if m.association else [])
        elements: list[Any] = [m.reference, identifier, "4"]
        if report.code:
            elements += [report.code, report.tag, report.s011]
        return [edifact.Segment.of("UCM", *elements), *report.segments]

    if not accepted and not received_only:
        if subject.groups:
            for group in subject.groups:
                group_error = group_reports.get(group.reference)
                members = [r for r in reports.values() if r.group is group]
                if group_error is None and not members:
                    continue
                ucf: list[Any] = [
                    group.reference,
                    (group.sender.id, group.sender.qualifier),
                    (group.recipient.id, group.recipient.qualifier),
                    "4",
                ]
                if group_error is not None:
                    ucf += group_error
                body.append(edifact.Segment.of("UCF", *ucf))
                for report in members:
                    body.extend(ucm(report))
        else:
            for report in reports.values():
                body.extend(ucm(report))
    version, release = contrl_message_version(subject.syntax_version)
    message = edifact.Message(
        reference=envelope.message_ref,
        type=CONTRL,
        version=version,
        release=release,
        agency="UN",
        segments=body,
    )
    return _write_edifact(subject, envelope, message)


_CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f]")


def _clean_edifact(
    segment: edifact.Segment, syntax_id: str, service: edifact.ServiceCharacters
) -> edifact.Segment:
    """Values copied from a received file, made writable in our answer: no control characters, and only
    what the syntax level can carry (UNOA upper case); delimiters are released by the serializer, or dropped
    when there is no release character."""
    codec = edifact.SYNTAX_ENCODINGS.get(syntax_id, "utf-8")
    drop = "" if service.release_character else service.delimiters

    def clean(value: str) -> str:
        value = _CONTROL_CHARACTERS.sub("", value)
        if syntax_id == "UNOA":
            value = "".join(
                c for c in value.upper() if c in edifact.UNOA_REPERTOIRE or c in service.delimiters
            )
        value = value.encode(codec, errors="ignore").decode(codec)
        return "".join(c for c in value if c not in drop)

    elements = tuple(tuple(clean(c) for c in element) for element in segment.elements)
    return edifact.Segment(segment.tag, elements, segment.position, segment.offset)


def _clean_x12(segment: x12.Segment, separators: x12.Separators) -> x12.Segment:
    """Values copied from a received file, made writable in our answer: X12 cannot release a delimiter."""
    drop = {separators.element, separators.component, separators.segment, separators.repetition or ""} - {""}

    def clean(value: str) -> str:
        return "".join(c for c in _CONTROL_CHARACTERS.sub("", value) if c not in drop)

    return x12.Segment(segment.tag, tuple(tuple(clean(c) for c in e) for e in segment.elements))


def _write_edifact(subject: edifact.Interchange, envelope: EdiEnvelope, message: edifact.Message) -> bytes:
    version = subject.syntax_version if subject.syntax_version in (1, 2, 3, 4) else 3
    syntax_id = subject.syntax_id if subject.syntax_id in edifact.SYNTAX_ENCODINGS else envelope.syntax_id
    if envelope.service_characters:
        service = edifact.ServiceCharacters(*envelope.service_characters)
    elif subject.una:
        service = subject.service_chars
    else:
        service = edifact.default_service_characters(version)
    if version < 4 and service.repetition != " ":
        service = replace(service, repetition=" ")
    message.segments = [_clean_edifact(segment, syntax_id, service) for segment in message.segments]
    message.reference = _clean_edifact(edifact.Segment.of("UNH", message.reference), syntax_id, service).get(
        1
    )
    sender = edifact.Party(envelope.sender_id, envelope.sender_qualifier)
    recipient = edifact.Party(envelope.recipient_id, envelope.recipient_qualifier)
    groups: list[edifact.Group] = []
    messages: list[edifact.Message] = [message]
    if envelope.use_groups:
        date = envelope.prepared.strftime("%Y%m%d" if version >= 4 else "%y%m%d")
        groups = [
            edifact.Group(
                group_id=message.type,
                sender=edifact.Party(
                    envelope.group_sender_id or envelope.sender_id, envelope.sender_qualifier
                ),
                recipient=edifact.Party(
                    envelope.group_recipient_id or envelope.recipient_id, envelope.recipient_qualifier
                ),
                prepared=(date, envelope.prepared.strftime("%H%M")),
                reference=envelope.group_ref or "1",
                agency="UN",
                version=message.version,
                release=message.release,
                messages=[message],
            )
        ]
        messages = []
    interchange = edifact.build_interchange(
        sender=sender,
        recipient=recipient,
        control_ref=envelope.interchange_ref,
        prepared=envelope.prepared,
        messages=messages,
        groups=groups,
        syntax_id=syntax_id,
        syntax_version=version,
        service_chars=service,
        application_ref=envelope.application_ref,
        test_indicator="1" if envelope.test else "",
        una=subject.una or service != edifact.default_service_characters(version),
    )
    return edifact.write_interchange(interchange, newline=envelope.newline)


# ----------------------------------------------------------------------------------------------------------
# Writing 997 / 999 / TA1


def _subject_x12(received: x12.Interchange | bytes | str) -> x12.Interchange:
    if isinstance(received, x12.Interchange):
        return received
    try:
        return x12.parse_interchange(received)
    except x12.X12SyntaxError:
        return loose_x12_interchange(received)[0]


def functional_ack_for(version: str, group_version: str) -> str:
    """997 or 999 for a received group: 999 only from 005010 on and when the group names an implementation
    guide (GS08 like 005010X218, as HIPAA exchanges do); otherwise the 997 every X12 partner reads."""
    digits = group_version[:6]
    if digits.isdigit() and int(digits) >= 5010 and len(group_version) > 6 and group_version[6] == "X":
        return FA999
    return FA997


@dataclass
class _SetReport:
    transaction: x12.TransactionSet
    set_codes: list[str] = field(default_factory=list)
    segments: list[x12.Segment] = field(default_factory=list)


def _locate_x12(
    interchange: x12.Interchange, position: int
) -> tuple[x12.FunctionalGroup | None, x12.TransactionSet | None]:
    for index, group in enumerate(interchange.groups):
        following = interchange.groups[index + 1].position if index + 1 < len(interchange.groups) else None
        for transaction in group.transactions:
            if transaction.position <= position <= transaction.position + len(transaction.segments) + 1:
                return group, transaction
        if position >= group.position and (following is None or position < following):
            last = group.transactions[-1] if group.transactions else None
            end = last.position + len(last.segments) + 2 if last is not None else group.position + 1
            if position <= end:
                return group, None
    return None, None


_SET_NAMED = re.compile(r"transaction set '([^']*)' \(ST at segment (\d+)\)")


def _bad_value(
    interchange: x12.Interchange,
    data: bytes | None,
    position: int,
    element: int | None,
    component: int | None,
) -> str:
    """A copy of the bad data element (AK404), when it can be read and written back safely."""
    if data is None or element is None:
        return ""
    try:
        segments, _ = _loose_x12_segments(data)
    except FormatError:
        return ""
    segment = next((s for s in segments if s.position == position), None)
    if segment is None:
        return ""
    value = segment.get(element, component or 1)
    sep = interchange.separators
    if any(c in value for c in (sep.element, sep.component, sep.segment)):
        return ""
    return value[:99]


def render_997(
    received: x12.Interchange | bytes,
    *,
    envelope: EdiEnvelope,
    accepted: bool,
    errors: Sequence[x12.X12SyntaxError] = (),
    duplicate: bool = False,
    set_refs: Sequence[str] | None = None,
    functional_ack: str | None = None,
) -> bytes:
    """An X12 answer to `received` (parsed, or the raw bytes the syntax layer refused with `errors`).

    One functional acknowledgement per received group — a 997, or a 999 where `functional_ack_for` says so
    (or `functional_ack` asks): AK1 (AK103 from 005010), per set AK2 + AK3/AK4 (IK3/IK4) for a segment or
    element in error (position from ST = 1, element, component, a copy of the bad value) + AK5/IK5 with the
    AK502 code, and AK9 with the counts and AK905 codes. Interchange-level errors and duplicates are a TA1
    (TA104 R, TA105 note; 025 for a duplicate) and no group answer; a TA1 A also goes back when ISA14 asked.
    The envelope is ours (us → the partner, our numbers); the ISA version is the partner's. `set_refs` are
    the ST02 numbers, one per answered group (default: `envelope.message_ref`, counted up).
    """
    if accepted and (errors or duplicate):
        raise ValueError("an accepted interchange has no errors")
    data = received if isinstance(received, bytes) else None
    subject = _subject_x12(received)
    ta1_note: str | None = None
    group_codes: dict[int, list[str]] = {}
    reports: dict[int, _SetReport] = {}
    if duplicate:
        ta1_note = "025"
    for error in errors:
        position = error.segment_position
        named = _SET_NAMED.search(error.reason)
        if named and re.search(r"has no SE|its SE is missing", error.reason):
            position = int(named.group(2))
        group, transaction = _locate_x12(subject, position) if position else (None, None)
        codes = x12_error_codes(error, in_set=transaction is not None, in_group=group is not None)
        if codes.level == "interchange" or group is None:
            ta1_note = ta1_note or (codes.code if codes.level == "interchange" else "024")
            continue
        if transaction is None or codes.level == "group":
            if codes.level == "group":
                group_codes.setdefault(group.position, []).append(codes.code)
            else:
                group_codes.setdefault(group.position, [])
            continue
        report = reports.setdefault(transaction.position, _SetReport(transaction))
        if codes.level == "set":
            report.set_codes.append(codes.code)
            continue
        report.set_codes.append("5")
        in_set = position - transaction.position + 1
        report.segments.append(
            x12.Segment.of(
                "AK3",
                error.segment_tag or "",
                str(in_set),
                "",
                "8" if codes.level == "element" else codes.code,
            )
        )
        if codes.level == "element":
            bad = _bad_value(subject, data, position, error.element_index, error.component_index)
            report.segments.append(
                x12.Segment.of(
                    "AK4", (str(error.element_index), str(error.component_index or "")), "", codes.code, bad
                )
            )
    acknowledgments: list[x12.Segment] = []
    if ta1_note is not None or subject.ack_requested == "1":
        acknowledgments.append(
            x12.Segment.of(
                "TA1",
                subject.control_number.zfill(9),
                subject.date,
                subject.time,
                "R" if ta1_note is not None else "A",
                ta1_note or "000",
            )
        )
    transactions: list[x12.TransactionSet] = []
    kinds: set[str] = set()
    if ta1_note is None:
        refs = list(set_refs or [])
        for index, group in enumerate(subject.groups):
            kind = functional_ack or functional_ack_for(subject.version, group.version)
            kinds.add(kind)
            ref = refs[index] if index < len(refs) else _counted(envelope.message_ref, index)
            transactions.append(
                _functional_ack(group, kind, ref.zfill(4), accepted, group_codes.get(group.position), reports)
            )
    groups: list[x12.FunctionalGroup] = []
    if transactions:
        kind = FA999 if FA999 in kinds else FA997
        version = "005010X231A1" if kind == FA999 else _base_version(subject)
        date = envelope.prepared.strftime("%Y%m%d" if version[:6] >= "004010" else "%y%m%d")
        groups.append(
            x12.FunctionalGroup(
                "FA",
                envelope.group_sender_id or envelope.sender_id,
                envelope.group_recipient_id or envelope.recipient_id,
                date,
                envelope.prepared.strftime("%H%M"),
                envelope.group_ref or envelope.interchange_ref,
                "X",
                version,
                transactions,
            )
        )
    version = _isa_version(subject)
    repetition = envelope.x12_repetition_separator if version >= "00402" else None
    separators = x12.Separators(
        envelope.x12_element_separator,
        envelope.x12_component_separator,
        envelope.x12_segment_terminator,
        repetition,
    )
    interchange = x12.build_interchange(
        sender=x12.Party(envelope.sender_qualifier, envelope.sender_id),
        receiver=x12.Party(envelope.recipient_qualifier, envelope.recipient_id),
        control_number=envelope.interchange_ref,
        prepared=envelope.prepared,
        groups=groups,
        version=version,
        usage_indicator="T" if envelope.test else "P",
        ack_requested="0",
        separators=separators,
    )
    interchange.acknowledgments = [_clean_x12(segment, separators) for segment in acknowledgments]
    for transaction in transactions:
        transaction.segments = [_clean_x12(segment, separators) for segment in transaction.segments]
    return x12.write_interchange(interchange, newline=envelope.newline)


def render_999(
    received: x12.Interchange | bytes,
    *,
    envelope: EdiEnvelope,
    accepted: bool,
    errors: Sequence[x12.X12SyntaxError] = (),
    duplicate: bool = False,
    set_refs: Sequence[str] | None = None,
) -> bytes:
    """`render_997` answering every group with a 999 (IK3/IK4/IK5, GS08/ST03 005010X231A1)."""
    return render_997(
        received,
        envelope=envelope,
        accepted=accepted,
        errors=errors,
        duplicate=duplicate,
        set_refs=set_refs,
        functional_ack=FA999,
    )


def render_x12_ack(
    received: x12.Interchange | bytes,
    *,
    envelope: EdiEnvelope,
    accepted: bool,
    errors: Sequence[x12.X12SyntaxError] = (),
    duplicate: bool = False,
    set_refs: Sequence[str] | None = None,
) -> bytes:
    """997 or 999 as `functional_ack_for` decides per group (the default of `render_997`)."""
    return render_997(
        received, envelope=envelope, accepted=accepted, errors=errors, duplicate=duplicate, set_refs=set_refs
    )


def _counted(ref: str, index: int) -> str:
    if index == 0:
        return ref
    return str(int(ref) + index) if ref.isdigit() else f"{ref}{index}"


def _base_version(subject: x12.Interchange) -> str:
    for group in subject.groups:
        digits = group.version[:6]
        if digits.isdigit():
            return digits
    return "004010" if subject.version < "00500" else "005010"


def _functional_ack(
    group: x12.FunctionalGroup,
    kind: str,
    ref: str,
    accepted: bool,
    group_codes: list[str] | None,
    reports: dict[int, _SetReport],
) -> x12.TransactionSet:
    implementation = kind == FA999
    from_5010 = group.version[:6].isdigit() and int(group.version[:6]) >= 5010
    ak1: list[str] = [group.functional_id, group.control_number]
    if implementation or from_5010:
        ak1.append(group.version)
    segments = [x12.Segment.of("AK1", *ak1)]
    accepted_sets = 0
    group_rejected = group_codes is not None
    for transaction in group.transactions:
        ak2 = [transaction.set_id, transaction.control_number]
        if transaction.implementation_ref and (implementation or from_5010):
            ak2.append(transaction.implementation_ref)
        segments.append(x12.Segment.of("AK2", *ak2))
        report = reports.get(transaction.position)
        set_ok = accepted and report is None and not group_rejected
        if report is not None:
            for segment in report.segments:
                tag = segment.tag
                if implementation:
                    tag = {"AK3": "IK3", "AK4": "IK4"}[tag]
                segments.append(x12.Segment(tag, segment.elements))
        codes = list(dict.fromkeys(report.set_codes))[:5] if report is not None else []
        if implementation:
            codes = ["I5" if c == "5" else c for c in codes]
        segments.append(x12.Segment.of("IK5" if implementation else "AK5", "A" if set_ok else "R", *codes))
        accepted_sets += set_ok
    count = len(group.transactions)
    if accepted_sets == count and not group_rejected and accepted:
        status = "A"
    elif accepted_sets:
        status = "P"
    else:
        status = "R"
    ak9 = [status, str(count), str(count), str(accepted_sets), *(group_codes or [])[:5]]
    segments.append(x12.Segment.of("AK9", *ak9))
    return x12.TransactionSet(kind, ref, "005010X231A1" if implementation else "", segments)


def _isa_version(subject: x12.Interchange) -> str:
    """The partner's ISA12, when it is one we can write (00200 and later); else 00401."""
    version = subject.version
    return (
        version
        if version.isascii() and version.isdigit() and len(version) == 5 and version >= "00200"
        else ("00401")
    )


def render_ta1(
    received: x12.Interchange | bytes, *, envelope: EdiEnvelope, accepted: bool, note_code: str = "000"
) -> bytes:
    """An interchange holding only a TA1 for `received` (TA104 A or R, TA105 `note_code`)."""
    subject = _subject_x12(received)
    version = _isa_version(subject)
    repetition = envelope.x12_repetition_separator if version >= "00402" else None
    interchange = x12.build_interchange(
        sender=x12.Party(envelope.sender_qualifier, envelope.sender_id),
        receiver=x12.Party(envelope.recipient_qualifier, envelope.recipient_id),
        control_number=envelope.interchange_ref,
        prepared=envelope.prepared,
        version=version,
        usage_indicator="T" if envelope.test else "P",
        separators=x12.Separators(
            envelope.x12_element_separator,
            envelope.x12_component_separator,
            envelope.x12_segment_terminator,
            repetition,
        ),
    )
    interchange.acknowledgments = [
        x12.Segment.of(
            "TA1",
            subject.control_number.zfill(9),
            subject.date,
            subject.time,
            "A" if accepted else "R",
            note_code,
        )
    ]
    interchange.acknowledgments = [_clean_x12(a, interchange.separators) for a in interchange.acknowledgments]
    return x12.write_interchange(interchange, newline=envelope.newline)


# ----------------------------------------------------------------------------------------------------------
# What a received file is (for the service)


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
            interchange = edifact.parse_interchange(data)
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
            x_interchange = x12.parse_interchange(data)
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
            received.acknowledgements = tuple(parse_acknowledgements(data))
        except FormatError as problem:
            received.ack_error = problem
    return received
