"""Several interchanges in one file: where each EDIFACT (UNA/UNB…UNZ) or X12 (ISA…IEA) interchange starts
and ends, so each can be read, recorded and answered on its own.

VANs and clearing centres deliver a day's traffic as one file with the interchanges written one after the
other (often with CR/LF or blank lines between them, sometimes EDIFACT and X12 mixed), and ERPs export a
batch the same way. Each interchange there has its own envelope, service characters and control numbers,
and a broken one (a wrong UNZ count, a bad character) says nothing about the others; so the file is cut at
the envelope boundaries first, and every piece is given to the strict single-interchange readers
(`mappings.syntax.edifact.parse`, `mappings.syntax.x12.parse`) as if it had come in a file of its own.

The cut is made on the bytes, in one pass (every syntax level the gateway reads is ASCII-compatible, so the
service characters are single bytes): at a UNA/UNB or ISA an interchange starts; its service characters
(UNA, or the defaults; ISA's separators) give its segment terminator; it ends after the segment terminator
of its UNZ / IEA, or where the next UNA/UNB/ISA starts when the trailer is missing (that piece is then
refused alone by the strict reader). Released terminators (``?'``) are honoured, and line breaks inside a
tag (a file hard-wrapped at 80 columns) do not hide a UNZ. Anything between interchanges that is neither
whitespace nor an envelope is a piece of its own (the readers refuse it, naming it).

A file with one interchange is one piece: its bytes unchanged. Pure functions, no I/O.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, Literal, TypeVar

from mappings.base import FormatError, SegmentError

Standard = Literal["edifact", "x12", "unknown"]

_BOM = b"\xef\xbb\xbf"
_WHITESPACE = b" \t\r\n"
_LINE_BREAKS = b"\r\n"


@dataclass(frozen=True)
class InterchangePiece:
    """One interchange of a file: its bytes (a file of its own), where they start in the file, which syntax.

    `index` counts the pieces from 1, as an operator reads "the second interchange in the file".
    """

    index: int
    offset: int
    standard: Standard
    data: bytes


def _skip_whitespace(data: bytes, at: int) -> int:
    length = len(data)
    while at < length and data[at] in _WHITESPACE:
        at += 1
    return at


def _standard_at(data: bytes, at: int) -> Standard:
    head = data[at : at + 4]
    if head[:3] == b"UNA" and len(data) >= at + 9:
        return "edifact"
    if head[:3] == b"UNB" and len(head) == 4 and not chr(head[3]).isalnum():
        return "edifact"
    if head[:3] == b"ISA" and len(head) == 4 and not chr(head[3]).isalnum():
        return "x12"
    return "unknown"


def _tag_at(data: bytes, at: int, width: int = 3) -> bytes:
    """The first `width` bytes at `at`, line breaks skipped (a tag cut by a hard wrap reads whole)."""
    out = bytearray()
    length = len(data)
    while at < length and len(out) < width:
        byte = data[at]
        if byte not in _LINE_BREAKS:
            out.append(byte)
        at += 1
    return bytes(out)


def _released(data: bytes, at: int, start: int, release: int | None) -> bool:
    """Whether the terminator at `at` is preceded by an odd run of release characters (line breaks between
    them skipped): then it is data, not the end of the segment."""
    if release is None:
        return False
    run = 0
    index = at - 1
    while index >= start:
        byte = data[index]
        if byte == release:
            run += 1
        elif byte not in _LINE_BREAKS:
            break
        index -= 1
    return run % 2 == 1


def _edifact_end(data: bytes, start: int) -> int:
    """Where the EDIFACT interchange starting at `start` ends (exclusive)."""
    length = len(data)
    cursor = start
    terminator = ord("'")
    release: int | None = ord("?")
    if data[start : start + 3] == b"UNA":
        terminator = data[start + 8]
        release_byte = data[start + 6]
        release = None if release_byte == ord(" ") else release_byte
        cursor = start + 9
    seen_unb = False
    while True:
        cursor = _skip_whitespace(data, cursor)
        if cursor >= length:
            return length
        tag = _tag_at(data, cursor)
        if tag in (b"UNA", b"UNB") and seen_unb:
            return cursor
        if tag == b"ISA" and seen_unb and _standard_at(data, cursor) == "x12":
            return cursor
        seen_unb = seen_unb or tag == b"UNB"
        end = data.find(terminator, cursor)
        while end >= 0 and _released(data, end, cursor, release):
            end = data.find(terminator, end + 1)
        if end < 0:
            return length
        if tag == b"UNZ":
            return end + 1
        cursor = end + 1


def _x12_end(data: bytes, start: int) -> int:
    """Where the X12 interchange starting at `start` ends (exclusive): ISA's separators counted, not its
    widths (a partner's ISA that is not fixed width still splits)."""
    length = len(data)
    element = data[start + 3]
    cursor = start + 3
    for _ in range(15):
        cursor = data.find(element, cursor + 1)
        if cursor < 0:
            return length
    if cursor + 2 >= length:
        return length
    terminator = data[cursor + 2]
    cursor += 3
    while True:
        while cursor < length and data[cursor] in _WHITESPACE and data[cursor] != terminator:
            cursor += 1
        if cursor >= length:
            return length
        tag = data[cursor : cursor + 3] if terminator in _LINE_BREAKS else _tag_at(data, cursor)
        if tag == b"ISA" or (tag in (b"UNA", b"UNB") and _standard_at(data, cursor) == "edifact"):
            return cursor
        end = data.find(terminator, cursor)
        if end < 0:
            return length
        if tag == b"IEA":
            return end + 1
        cursor = end + 1


def _unknown_end(data: bytes, start: int) -> int:
    """Something that is no envelope: up to the next line that starts one, or the end."""
    length = len(data)
    cursor = start
    while True:
        newline = data.find(b"\n", cursor)
        if newline < 0:
            return length
        cursor = _skip_whitespace(data, newline + 1)
        if cursor >= length:
            return length
        if _standard_at(data, cursor) != "unknown":
            return cursor


def split_interchanges(data: bytes) -> list[InterchangePiece]:
    """The interchanges of a file, in file order (one piece, the bytes unchanged, when there is only one).

    Whitespace between interchanges is dropped; a byte order mark stays with the first piece.
    """
    start = 3 if data.startswith(_BOM) else 0
    pieces: list[tuple[int, int, Standard]] = []
    cursor = _skip_whitespace(data, start)
    length = len(data)
    while cursor < length:
        standard = _standard_at(data, cursor)
        if standard == "edifact":
            end = _edifact_end(data, cursor)
        elif standard == "x12":
            end = _x12_end(data, cursor)
        else:
            end = _unknown_end(data, cursor)
        end = max(end, cursor + 1)
        pieces.append((cursor, end, standard))
        cursor = _skip_whitespace(data, end)
    if len(pieces) <= 1:
        standard = pieces[0][2] if pieces else "unknown"
        return [InterchangePiece(1, 0, standard, data)]
    out = []
    for index, (begin, end, standard) in enumerate(pieces, start=1):
        begin = 0 if index == 1 else begin
        out.append(InterchangePiece(index, begin, standard, data[begin:end]))
    return out


def interchange_count(data: bytes) -> int:
    """How many interchanges (and other pieces) `split_interchanges` finds in `data`."""
    return len(split_interchanges(data))


SegmentErrorT = TypeVar("SegmentErrorT", bound=SegmentError)


def in_piece(error: SegmentErrorT, piece: InterchangePiece, count: int) -> SegmentErrorT:
    """The same error, its reason saying which interchange of the file it is in (positions stay counted
    from that interchange's first segment, as its acknowledgement counts them; the offset becomes the
    file's)."""
    return type(error)(
        f"interchange {piece.index} of {count} (byte {piece.offset}): {error.reason}",
        segment_position=error.segment_position,
        segment_tag=error.segment_tag,
        element_index=error.element_index,
        component_index=error.component_index,
        offset=None if error.offset is None else error.offset + piece.offset,
    )


ParsedT = TypeVar("ParsedT")


def interchanges_parsed(
    data: bytes | str, parse: Callable[[bytes | str], ParsedT], refusal: type[SegmentError]
) -> list[ParsedT]:
    """Every interchange of a file, in file order, each read by a syntax's strict single-interchange `parse`
    (a VAN's concatenated daily file, an ERP's batch export); the first `refusal` (that syntax's error)
    raises, naming the interchange. Text, and a file of one interchange, is parsed as it is."""
    if isinstance(data, str):
        return [parse(data)]
    pieces = split_interchanges(data)
    if len(pieces) == 1:
        return [parse(data)]
    parsed: list[ParsedT] = []
    for piece in pieces:
        try:
            parsed.append(parse(piece.data))
        except refusal as error:
            raise in_piece(error, piece, len(pieces)) from None
    return parsed


SegmentT = TypeVar("SegmentT")


def segments_of_each(data: bytes, tokenize: Callable[[bytes], list[SegmentT]]) -> list[SegmentT] | None:
    """The segments of every interchange of `data` that can be split (each with its own service characters
    or separators), for a sniffer that asks what the file carries. In a file of several interchanges one
    that cannot be split does not decide (its reader refuses it on its own, naming it); a file of one such
    interchange gives None."""
    segments: list[SegmentT] = []
    pieces = split_interchanges(data)
    for piece in pieces:
        try:
            segments += tokenize(piece.data)
        except FormatError:
            if len(pieces) == 1:
                return None
            continue
    return segments


ReadT = TypeVar("ReadT")


@dataclass(frozen=True)
class InterchangeReading(Generic[ReadT]):
    """What one interchange of a file gave: the reader's value, or its refusal naming the interchange."""

    piece: InterchangePiece
    count: int
    value: ReadT | None = None
    error: FormatError | None = None

    @property
    def label(self) -> str:
        """How an operator names it: "interchange 2 of 3 (byte 812)"."""
        return f"interchange {self.piece.index} of {self.count} (byte {self.piece.offset})"


def named_error(error: FormatError, piece: InterchangePiece, count: int) -> FormatError:
    """`error` saying which interchange of the file it is in (`in_piece` for segment errors; a content error
    that names no segment keeps its field and gains the interchange in its reason)."""
    if isinstance(error, SegmentError):
        return in_piece(error, piece, count)
    label = f"interchange {piece.index} of {count} (byte {piece.offset})"
    return FormatError(error.where, f"{label}: {error.reason}")


def read_each(data: bytes, read: Callable[[bytes], ReadT]) -> list[InterchangeReading[ReadT]]:
    """`read` applied to every interchange of `data` on its own, in file order: a refusal (`FormatError`)
    is kept with the interchange it refuses, named, and the others are still read — the business readers
    (REMADV, 820, IFTSTA, 214) take the good ones and say which were not.

    A file of one interchange is read as it is and its refusal is not renamed (it is the file's)."""
    pieces = split_interchanges(data)
    count = len(pieces)
    readings: list[InterchangeReading[ReadT]] = []
    for piece in pieces:
        try:
            readings.append(InterchangeReading(piece, count, value=read(piece.data)))
        except FormatError as error:
            named = error if count == 1 else named_error(error, piece, count)
            readings.append(InterchangeReading(piece, count, error=named))
    return readings


def refusal_warning(reading: InterchangeReading[ReadT], what: str) -> str:
    """The warning for an interchange refused on its own while the file's others were read: which one,
    that `what` it carries was not read, and why (field and reason)."""
    error = reading.error
    assert error is not None
    reason = error.reason.removeprefix(f"{reading.label}: ")
    return f"{reading.label} refused, {what} not read: {error.where}: {reason}"
