"""Lenient EDIFACT and X12 reading: the segments of a file the strict syntax layer refuses, when they are
still unambiguous.

A partner's acknowledgement with lower-case text in a UNOA interchange, a wrong UNT count, a syntax-4 UNB
with a 6-digit date or an X12 ISA that is not fixed width must still be read, and a business message the
strict reading refuses must still be answered (CONTRL / 997 name the error, so they need its sender and
references). `read_edifact` / `read_x12` try the strict reading (`mappings.syntax.edifact.parse`,
`mappings.syntax.x12.parse`) first and only when it refuses read the same segments leniently; what the
strict reading said is kept as the first warning. Not tolerated: anything that makes the reading ambiguous
(no envelope, two UNBs / ISAs, no segment terminator).

Pure functions, no I/O.
"""

from __future__ import annotations

import re

from mappings.base import FormatError
from mappings.syntax import edifact, x12

_BOM = b"\xef\xbb\xbf"
_WHITESPACE = " \t\r\n"
#: How much of a file `first_message_type` looks at.
_SNIFF_BYTES = 65536


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


def loose_edifact_segments(
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
    text, _ = edifact.unwrap_hard_wrapped(text, start, service)
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
    segments, service, una = loose_edifact_segments(data)
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


def loose_x12_segments(data: bytes | str) -> tuple[list[x12.Segment], x12.Separators]:
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
    segments, separators = loose_x12_segments(data)
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
        return edifact.parse(data), []
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
        return x12.parse(data), []
    except x12.X12SyntaxError as error:
        if not lenient:
            raise
        try:
            interchange, warnings = loose_x12_interchange(data)
        except x12.X12SyntaxError:
            raise error from None
        return interchange, [f"read leniently: {error}", *warnings]


def first_message_type(data: bytes) -> str | None:
    """The first UNH message type or ST set id (TA1 for TA1 segments before any group), read leniently from
    the start of the data: what an acknowledgement's sniffer asks before the whole file is read."""
    head = data[:_SNIFF_BYTES]
    try:
        if edifact.sniff(head):
            segments, _, _ = loose_edifact_segments(head)
            return next((s.get(2, 1) for s in segments if s.tag == "UNH"), None)
        if x12.sniff(head):
            x_segments, _ = loose_x12_segments(head)
            for segment in x_segments[1:]:
                if segment.tag == "ST":
                    return segment.get(1)
                if segment.tag == "TA1":
                    return "TA1"
            return None
    except FormatError:
        return None
    return None
