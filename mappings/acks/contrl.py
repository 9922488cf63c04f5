"""EDIFACT CONTRL: read a partner's CONTRL, and write the CONTRL that answers a partner's interchange.

Reading (`read_message`): the UCI verdict on the interchange (0083 action 4 rejected, 7 acknowledged,
8 received), UCF per group, UCM per message with its UCS (segment position from UNH = 1) and UCD (element,
component) errors, each with its ISO 9735 0085 code.

Writing (`answer`): always in the partner's own syntax identifier and version as read from the received UNB,
with our envelope (us → the partner, our control numbers), and each error the syntax layer found
(`EdiSyntaxError`, or what a message grammar raises in the same form) at the lowest level that can name it;
`error_code` maps the syntax layer's reason to its 0085 code.

Pure functions, no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from mappings.acks.model import (
    ACCEPTED,
    CONTRL,
    CONTROL_CHARACTERS,
    PARTIAL,
    RECEIVED,
    REJECTED,
    AckEnvelope,
    AckError,
    AckFormatError,
    Acknowledgement,
    MessageAck,
    int_or_none,
)
from mappings.syntax import edifact, lenient
from mappings.syntax.edi_envelope import EdiEnvelope

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


def error_text(code: str) -> str:
    """The name of a CONTRL 0085 code (both code lists)."""
    return CONTRL_ERROR_CODES.get(code) or _OLD_CONTRL_ERROR_CODES.get(code) or f"syntax error {code}"


# ----------------------------------------------------------------------------------------------------------
# Reading


def _edifact_element_position(text: str) -> int | None:
    """S011 0098 counts the segment tag as position 1; our element index counts from the first element."""
    value = int_or_none(text)
    return value - 1 if value is not None and value > 1 else value


def _contrl_error(tag: str, code: str, s011: tuple[str, str], position: int | None = None) -> AckError:
    return AckError(
        position,
        tag,
        _edifact_element_position(s011[0]),
        int_or_none(s011[1]),
        code,
        error_text(code) if code else "",
    )


def read_message(message: edifact.Message, envelope: AckEnvelope) -> Acknowledgement:
    """One CONTRL message: the UCI verdict on the interchange, UCF per group, UCM / UCS / UCD per message.

    `AckFormatError` for a CONTRL without UCI or with an action code (0083) other than 4, 7 or 8.
    """
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
            segment_position = int_or_none(segment.get(1))
            if current is not None and segment.get(2):
                current["errors"].append(
                    AckError(
                        segment_position, "", None, None, segment.get(2), error_text(segment.get(2))
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
        sender=envelope.sender,
        recipient=envelope.recipient,
        of_interchange_ref=uci.get(1) or None,
        of_group_ref=group_refs[0] if group_refs else None,
        status=status,
        messages=tuple(messages),
        errors=tuple(errors),
        note=note,
        control_ref=envelope.control_ref,
        message_ref=message.reference,
        warnings=envelope.warnings,
        prepared=envelope.prepared,
    )


# ----------------------------------------------------------------------------------------------------------
# Syntax errors → 0085 codes

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


def error_code(error: edifact.EdiSyntaxError) -> str:
    """The ISO 9735 0085 code that names what the syntax layer found (18 "unspecified" when none fits)."""
    reason = error.reason
    for pattern, code in _EDIFACT_PATTERNS:
        if re.search(pattern, reason):
            return code
    return "18"


# ----------------------------------------------------------------------------------------------------------
# Writing


def message_version(syntax_version: int) -> tuple[str, str]:
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
        return edifact.parse(received)
    except edifact.EdiSyntaxError:
        return lenient.loose_edifact_interchange(received)[0]


def answer(
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
        code = error_code(error)
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
    version, release = message_version(subject.syntax_version)
    message = edifact.Message(
        reference=envelope.message_ref,
        type=CONTRL,
        version=version,
        release=release,
        agency="UN",
        segments=body,
    )
    return _write_edifact(subject, envelope, message)


def _clean_edifact(
    segment: edifact.Segment, syntax_id: str, service: edifact.ServiceCharacters
) -> edifact.Segment:
    """Values copied from a received file, made writable in our answer: no control characters, and only
    what the syntax level can carry (UNOA upper case); delimiters are released by the serializer, or dropped
    when there is no release character."""
    codec = edifact.SYNTAX_ENCODINGS.get(syntax_id, "utf-8")
    drop = "" if service.release_character else service.delimiters

    def clean(value: str) -> str:
        value = CONTROL_CHARACTERS.sub("", value)
        if syntax_id == "UNOA":
            value = "".join(
                c for c in value.upper() if c in edifact.UNOA_REPERTOIRE or c in service.delimiters
            )
        value = value.encode(codec, errors="ignore").decode(codec)
        return "".join(c for c in value if c not in drop)

    elements = tuple(tuple(clean(c) for c in element) for element in segment.elements)
    return edifact.Segment(segment.tag, elements, segment.position, segment.offset)


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
