"""ANSI ASC X12 syntax: tokenizer, interchange envelope (ISA/GS/ST…SE/GE/IEA), serializer, sniff and inspect.

Syntax only, as `mappings.syntax.edifact` is for EDIFACT: segments and their elements, and the envelopes
around
transaction sets. Transaction set grammars (what an 810 contains) and the 997/999/TA1 answers are built on
top of this module.

X12 announces its delimiters in the fixed-width ISA: the element separator is ISA's fourth character, the
component separator is ISA16, the segment terminator is the character after ISA16, and from version 00402
ISA11 is the repetition separator. X12 has no release character: data can never contain a delimiter.

Strict on purpose: an interchange is read exactly or refused with the first error and its place
(`X12SyntaxError`: segment number, tag, element, component). What real senders do within the rules is
accepted: CR/LF or indentation after the terminators, a UTF-8 byte order mark, a control character (0x15)
or a newline as the terminator, "U" kept in ISA11 from 00402 on (then there is no repetition separator).
Not accepted: an ISA that is not fixed width, a last segment without its terminator, counts or control
numbers that do not match.

Numbering: segment positions count every segment from 1 (ISA is 1); element indexes count the elements after
the tag from 1 (ISA06 is element 6) and component indexes from 1.

Repeated data elements (ISA11 as separator) are kept as written: the repetition separator stays in the
element's text, which is unambiguous because X12 data cannot contain it.

Pure functions, no I/O: `tokenize`, `parse`, `serialize_segment`, `build_interchange`,
`serialize_interchange`, `write_interchange`, `sniff`, `inspect`.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from mappings.base import SegmentError
from mappings.syntax.interchanges import interchanges_parsed, segments_of_each

FORMAT_NAME = "x12"
MEDIA_TYPE = "application/EDI-X12"  # RFC 1767

_BOM_BYTES = b"\xef\xbb\xbf"
_WHITESPACE = " \t\r\n"

#: ISA01 … ISA16: width and name. The ISA is fixed width: 106 characters with its terminator.
ISA_FIELDS: tuple[tuple[int, str], ...] = (
    (2, "authorization information qualifier"),
    (10, "authorization information"),
    (2, "security information qualifier"),
    (10, "security information"),
    (2, "interchange ID qualifier (sender)"),
    (15, "interchange sender ID"),
    (2, "interchange ID qualifier (receiver)"),
    (15, "interchange receiver ID"),
    (6, "interchange date (YYMMDD)"),
    (4, "interchange time (HHMM)"),
    (1, "repetition separator / standards identifier"),
    (5, "interchange control version number"),
    (9, "interchange control number"),
    (1, "acknowledgment requested"),
    (1, "usage indicator"),
    (1, "component element separator"),
)
ISA_LENGTH = 3 + sum(width + 1 for width, _ in ISA_FIELDS) + 1  # 106


class X12SyntaxError(SegmentError):
    """An X12 interchange that breaks the syntax or envelope rules; names where, as precisely as known."""


@dataclass(frozen=True)
class Separators:
    """The delimiters an ISA announces. `repetition` is None before version 00402 (ISA11 is then "U")."""

    element: str = "*"
    component: str = ":"
    segment: str = "~"
    repetition: str | None = None

    def check(self) -> None:
        """`ValueError` for delimiters that would make the data ambiguous (repeated, a letter, a space)."""
        chars = [self.element, self.component, self.segment] + ([self.repetition] if self.repetition else [])
        for char in chars:
            if len(char) != 1 or char.isalnum() or char == " ":
                raise ValueError(f"delimiter {char!r} must be one character, not a letter, digit or space")
        if len(set(chars)) != len(chars):
            raise ValueError(f"delimiters must differ from each other: {chars!r}")


DEFAULT_SEPARATORS = Separators()


@dataclass(frozen=True, slots=True)
class Segment:
    """One segment: tag, elements (each a tuple of components) and where it was read (1-based position,
    character offset; both 0 for segments built in code). ISA's elements are never split in components."""

    tag: str
    elements: tuple[tuple[str, ...], ...] = ()
    position: int = 0
    offset: int = 0

    @classmethod
    def of(cls, tag: str, *elements: str | Sequence[str]) -> Segment:
        """Build a segment in code: `Segment.of("BIG", "20240131", "INV-1")`."""
        return cls(tag, tuple((e,) if isinstance(e, str) else tuple(e) for e in elements))

    def get(self, element: int, component: int = 1) -> str:
        """Element `element`, component `component` (both 1-based, BIG02 = `get(2)`); "" when absent."""
        if 1 <= element <= len(self.elements):
            components = self.elements[element - 1]
            if 1 <= component <= len(components):
                return components[component - 1]
        return ""

    def trimmed(self) -> Segment:
        """Without trailing empty components and elements (what the serializer writes)."""
        elements = [_trim(e) or ("",) for e in self.elements]
        while elements and elements[-1] == ("",):
            elements.pop()
        return Segment(self.tag, tuple(elements), self.position, self.offset)

    def same_content(self, other: Segment) -> bool:
        return self.tag == other.tag and self.elements == other.elements


def _trim(components: tuple[str, ...]) -> tuple[str, ...]:
    end = len(components)
    while end and not components[end - 1]:
        end -= 1
    return components[:end]


@dataclass(frozen=True)
class Party:
    """An ISA sender or receiver: ID qualifier (ISA05/07) and ID (ISA06/08, without its padding)."""

    qualifier: str
    id: str

    def as_dict(self) -> dict[str, str]:
        """For JSON."""
        return {"qualifier": self.qualifier, "id": self.id}


@dataclass
class TransactionSet:
    """ST…SE; `segments` is the body between them (ST and SE are written from the fields)."""

    set_id: str
    control_number: str
    implementation_ref: str = ""
    segments: list[Segment] = field(default_factory=list)
    position: int = 0

    @property
    def segment_count(self) -> int:
        """ST to SE inclusive, as SE01 counts them."""
        return len(self.segments) + 2


@dataclass
class FunctionalGroup:
    """GS…GE: transaction sets of one functional identifier (IN = 810, RA = 820, FA = 997/999, QM = 214…)."""

    functional_id: str
    sender: str
    receiver: str
    date: str
    time: str
    control_number: str
    agency: str
    version: str
    transactions: list[TransactionSet] = field(default_factory=list)
    position: int = 0


@dataclass
class Interchange:
    """ISA…IEA. Padded ISA fields are kept without their padding; `control_number` is ISA13 as written.

    `acknowledgments` are the TA1 segments that an interchange carries before its first group.
    """

    separators: Separators
    sender: Party
    receiver: Party
    date: str
    time: str
    version: str
    control_number: str
    ack_requested: str = "0"
    usage_indicator: str = "P"
    groups: list[FunctionalGroup] = field(default_factory=list)
    authorization: tuple[str, str] = ("00", "")
    security: tuple[str, str] = ("00", "")
    #: ISA11 when it is not a repetition separator (before 00402, or a sender that kept "U")
    standards_id: str = "U"
    acknowledgments: list[Segment] = field(default_factory=list)

    @property
    def transactions(self) -> list[TransactionSet]:
        """Every transaction set of every group, in order."""
        return [t for g in self.groups for t in g.transactions]

    @property
    def is_test(self) -> bool:
        """ISA15 is not P (T = test, I = information)."""
        return self.usage_indicator != "P"


# ----------------------------------------------------------------------------------------------------------
# Reading


def _decode(data: bytes | str) -> str:
    """X12 names no character set: UTF-8 when the bytes are UTF-8, otherwise ISO 8859-1 (never fails)."""
    if isinstance(data, str):
        return data[1:] if data.startswith("\ufeff") else data
    if not isinstance(data, bytes):
        raise TypeError("X12 data must be bytes or str")
    raw = data[3:] if data.startswith(_BOM_BYTES) else data
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def _isa_error(reason: str, element: int | None, offset: int) -> X12SyntaxError:
    return X12SyntaxError(reason, segment_position=1, segment_tag="ISA", element_index=element, offset=offset)


def _read_isa(text: str, start: int) -> tuple[Segment, Separators, int]:
    """The fixed-width ISA at `start`: its segment, the delimiters and where the next segment starts."""
    if not text.startswith("ISA", start):
        shown = text[start : start + 3]
        raise X12SyntaxError(f"an X12 interchange starts with ISA, found {shown!r}" if shown
                             else "no X12 data", segment_position=1 if shown else 0, segment_tag=shown,
                             offset=start)
    if len(text) < start + 4:
        raise _isa_error("the ISA is truncated", None, start)
    separator = text[start + 3]
    if separator.isalnum() or separator in _WHITESPACE:
        raise _isa_error(f"the character after 'ISA' is the element separator: {separator!r} cannot be one",
                         None, start)
    fields: list[str] = []
    cursor = start + 4
    for index, (width, name) in enumerate(ISA_FIELDS, start=1):
        value = text[cursor : cursor + width]
        if index == len(ISA_FIELDS):
            if len(value) < 1 or len(text) < cursor + 2:
                raise _isa_error("the ISA is truncated: ISA16 and the segment terminator must follow",
                                 index, cursor)
            fields.append(value)
            cursor += 1
            break
        follows = text[cursor + width : cursor + width + 1]
        if not follows and separator not in value:
            raise _isa_error(f"the ISA is truncated in ISA{index:02d} ({name}): an ISA has {ISA_LENGTH} "
                             "characters", index, cursor)
        if separator in value or follows != separator:
            end = text.find(separator, cursor)
            actual = text[cursor:end] if end >= 0 else text[cursor : cursor + width + 10]
            note = " (it contains a line break)" if "\n" in actual or "\r" in actual else ""
            raise _isa_error(f"ISA{index:02d} ({name}) must be exactly {width} characters (the ISA is fixed "
                             f"width: pad with spaces), found {len(actual)}: {actual!r}{note}", index, cursor)
        fields.append(value)
        cursor += width + 1
    terminator = text[cursor]
    component = fields[15]
    version = fields[11]
    isa11 = fields[10]
    repetition = None
    if _is_digits(version) and version >= "00402" and not isa11.isalnum() and isa11 != " ":
        repetition = isa11
    separators = Separators(separator, component, terminator, repetition)
    try:
        separators.check()
    except ValueError as error:
        raise _isa_error(f"ISA16 / segment terminator: {error}", 16, cursor) from None
    isa = Segment("ISA", tuple((f,) for f in fields), 1, start)
    _check_isa(isa, start)
    return isa, separators, cursor + 1


def _check_isa(isa: Segment, offset: int) -> None:
    def value(index: int) -> str:
        return isa.elements[index - 1][0]

    for index in (1, 3, 5, 6, 7, 8):
        if not value(index).strip():
            raise _isa_error(f"ISA{index:02d} ({ISA_FIELDS[index - 1][1]}) is blank", index, offset)
    for index in (1, 3):
        if not _is_digits(value(index)):
            raise _isa_error(f"ISA{index:02d} ({ISA_FIELDS[index - 1][1]}) must be a 2-digit code, found "
                             f"{value(index)!r}", index, offset)
    if not _valid_date(value(9)):
        raise _isa_error(f"ISA09 {value(9)!r} is not a date (YYMMDD)", 9, offset)
    if not _valid_time(value(10)):
        raise _isa_error(f"ISA10 {value(10)!r} is not a time (HHMM)", 10, offset)
    version = value(12)
    if not _is_digits(version) or version < "00200":
        raise _isa_error(f"ISA12 (interchange control version number) {version!r} is not an X12 version "
                         "(5 digits such as 00401 or 00501)", 12, offset)
    if not _is_digits(value(13)):
        raise _isa_error(f"ISA13 (interchange control number) {value(13)!r} must be 9 digits", 13, offset)
    if value(14) not in ("0", "1"):
        raise _isa_error(f"ISA14 (acknowledgment requested) must be 0 or 1, found {value(14)!r}", 14, offset)
    if value(15) not in ("P", "T", "I"):
        raise _isa_error(f"ISA15 (usage indicator) must be P, T or I, found {value(15)!r}", 15, offset)


def _is_digits(text: str) -> bool:
    """ASCII digits only (`str.isdigit` also accepts "³" and other digits `int` refuses)."""
    return text.isascii() and text.isdigit()


def _valid_date(text: str) -> bool:
    return _is_digits(text) and read_date(text) is not None


def read_date(text: str) -> dt.date | None:
    """An X12 date element: CCYYMMDD, or YYMMDD as releases before 004010 write it (years 50–99 are
    19xx); None when `text` is neither (the caller names the segment and element)."""
    try:
        if len(text) == 8 and text.isdigit():
            return dt.date(int(text[:4]), int(text[4:6]), int(text[6:]))
        if len(text) == 6 and text.isdigit():
            year = int(text[:2])
            return dt.date(year + (1900 if year >= 50 else 2000), int(text[2:4]), int(text[4:]))
    except ValueError:
        return None
    return None


def _valid_time(text: str) -> bool:
    """HHMM, HHMMSS or HHMMSSD / HHMMSSDD."""
    return (_is_digits(text) and 4 <= len(text) <= 8 and len(text) != 5
            and int(text[:2]) <= 23 and int(text[2:4]) <= 59 and (len(text) < 6 or int(text[4:6]) <= 59))


_TAG = re.compile(r"[A-Z][A-Z0-9]{1,2}")


@dataclass
class _Tokens:
    text: str
    separators: Separators
    segments: list[Segment]


def _read(data: bytes | str) -> _Tokens:
    text = _decode(data)
    start = 0
    while start < len(text) and text[start] in _WHITESPACE:
        start += 1
    isa, separators, cursor = _read_isa(text, start)
    element_sep, component_sep, terminator = separators.element, separators.component, separators.segment
    delimiters = {element_sep, component_sep, terminator}
    strip = "".join(c for c in _WHITESPACE if c not in delimiters)
    strip_set = frozenset(strip)
    blank_lines = terminator in _WHITESPACE
    out: list[Segment] = [isa]
    append = out.append
    known_tags: set[str] = set()
    pieces = text[cursor:].split(terminator)
    tail = pieces.pop()
    offset = cursor
    position = 2
    for raw in pieces:
        seg_offset = offset
        offset += len(raw) + 1
        if raw[:1] in strip_set:
            stripped = raw.lstrip(strip)
            seg_offset += len(raw) - len(stripped)
            raw = stripped
        if not raw:
            if blank_lines:
                continue
            raise X12SyntaxError("empty segment: two segment terminators with nothing between them",
                                 segment_position=position, offset=seg_offset)
        parts = raw.split(element_sep)
        tag = parts[0]
        if tag not in known_tags:
            if not _TAG.fullmatch(tag):
                shown = raw[:12]
                raise X12SyntaxError(
                    f"segment tag must be 2–3 upper case letters or digits, found {shown!r}"
                    + (" (is a segment terminator missing?)" if len(tag) > 3 else ""),
                    segment_position=position, segment_tag=tag[:3], offset=seg_offset)
            known_tags.add(tag)
        append(Segment(tag, tuple([tuple(p.split(component_sep)) for p in parts[1:]]), position, seg_offset))
        position += 1
    if tail.strip(strip):
        stripped = tail.lstrip(strip)
        raise X12SyntaxError(f"no segment terminator {terminator!r} after the last segment: the data is "
                             "truncated or uses another terminator than the ISA announces",
                             segment_position=position, segment_tag=stripped.split(element_sep, 1)[0][:3],
                             offset=offset + len(tail) - len(stripped))
    return _Tokens(text, separators, out)


def tokenize(data: bytes | str) -> list[Segment]:
    """Split X12 data into segments, ISA first, using the delimiters the ISA announces.

    Raises `X12SyntaxError` for an ISA that is not fixed width, a bad tag, an empty segment or a missing last
    terminator.
    """
    return _read(data).segments


# ----------------------------------------------------------------------------------------------------------
# The envelope


def _fail(segment: Segment, element: int | None, reason: str) -> X12SyntaxError:
    return X12SyntaxError(reason, segment_position=segment.position, segment_tag=segment.tag,
                          element_index=element, offset=segment.offset)


def _element(segment: Segment, index: int, name: str, *, kind: str = "AN", min_length: int = 1,
             max_length: int, mandatory: bool = True) -> str:
    """An envelope element: single component, present when mandatory, of its type and length."""
    if index <= len(segment.elements) and len(_trim(segment.elements[index - 1])) > 1:
        raise _fail(segment, index, f"{name} is a simple element: it cannot have components")
    value = segment.get(index)
    label = f"{segment.tag}{index:02d} ({name})"
    if not value:
        if mandatory:
            raise _fail(segment, index, f"{label} is mandatory and missing")
        return value
    if kind == "N0" and not _is_digits(value):
        raise _fail(segment, index, f"{label} {value!r} must be a number (digits only)")
    if not min_length <= len(value) <= max_length:
        size = f"{min_length}–{max_length}" if min_length != max_length else f"{min_length}"
        raise _fail(segment, index, f"{label} {value!r} must be {size} characters long")
    if kind == "ID" and value != value.strip():
        raise _fail(segment, index, f"{label} {value!r} has leading or trailing spaces")
    return value


def _max_elements(segment: Segment, count: int) -> None:
    """Refuse data in elements an envelope segment does not have (empty trailing ones are harmless)."""
    for index, components in enumerate(segment.elements[count:], start=count + 1):
        if any(components):
            raise _fail(segment, index, f"{segment.tag} has {count} elements, found {len(segment.elements)}")


def _gs_version(version: str) -> int:
    digits = version[:6]
    return int(digits) if _is_digits(digits) else 0


def _parse_gs(segment: Segment) -> FunctionalGroup:
    _max_elements(segment, 8)
    version = _element(segment, 8, "version / release / industry identifier code", max_length=12)
    date = _element(segment, 4, "date", kind="N0", min_length=6, max_length=8)
    if _gs_version(version) >= 4010 and len(date) != 8:
        raise _fail(segment, 4, f"GS04 (date) {date!r} must be CCYYMMDD from version 004010 on")
    if not _valid_date(date):
        raise _fail(segment, 4, f"GS04 (date) {date!r} is not a date")
    time = _element(segment, 5, "time", kind="N0", min_length=4, max_length=8)
    if not _valid_time(time):
        raise _fail(segment, 5, f"GS05 (time) {time!r} is not a time (HHMM[SS[DD]])")
    group = FunctionalGroup(
        functional_id=_element(segment, 1, "functional identifier code", kind="ID", min_length=2,
                               max_length=2),
        sender=_element(segment, 2, "application sender's code", min_length=2, max_length=15),
        receiver=_element(segment, 3, "application receiver's code", min_length=2, max_length=15),
        date=date,
        time=time,
        control_number=_element(segment, 6, "group control number", kind="N0", max_length=9),
        agency=_element(segment, 7, "responsible agency code", kind="ID", max_length=2),
        version=version,
        position=segment.position,
    )
    return group


def _read_transaction(segments: list[Segment], index: int) -> tuple[TransactionSet, int]:
    header = segments[index]
    _max_elements(header, 3)
    transaction = TransactionSet(
        set_id=_element(header, 1, "transaction set identifier code", kind="ID", min_length=3, max_length=3),
        control_number=_element(header, 2, "transaction set control number", min_length=4, max_length=9),
        implementation_ref=_element(header, 3, "implementation convention reference", max_length=35,
                                    mandatory=False),
        position=header.position,
    )
    end = index + 1
    count = len(segments)
    while end < count:
        tag = segments[end].tag
        if tag == "SE":
            break
        if tag in _ENVELOPE_TAGS:
            raise _fail(segments[end], None, f"{tag} inside transaction set {transaction.control_number!r} "
                                             f"(ST at segment {header.position}): its SE is missing")
        end += 1
    if end == count:
        raise _fail(segments[-1], None, f"transaction set {transaction.control_number!r} (ST at segment "
                                        f"{header.position}) has no SE")
    trailer = segments[end]
    _max_elements(trailer, 2)
    counted = _element(trailer, 1, "number of included segments", kind="N0", max_length=10)
    if int(counted) != end - index + 1:
        raise _fail(trailer, 1, f"segment count says {int(counted)}, transaction set has {end - index + 1} "
                                "segments (ST to SE)")
    control = _element(trailer, 2, "transaction set control number", min_length=4, max_length=9)
    if control != transaction.control_number:
        raise _fail(trailer, 2, f"SE02 {control!r} differs from ST02 {transaction.control_number!r} (segment "
                                f"{header.position})")
    transaction.segments = segments[index + 1 : end]
    return transaction, end + 1


_ENVELOPE_TAGS = frozenset({"ISA", "IEA", "GS", "GE", "ST", "SE", "TA1"})


def _read_group(segments: list[Segment], index: int) -> tuple[FunctionalGroup, int]:
    header = segments[index]
    group = _parse_gs(header)
    index += 1
    count = len(segments)
    while index < count:
        segment = segments[index]
        if segment.tag == "ST":
            transaction, index = _read_transaction(segments, index)
            group.transactions.append(transaction)
            continue
        if segment.tag == "GE":
            _max_elements(segment, 2)
            included = _element(segment, 1, "number of transaction sets included", kind="N0", max_length=6)
            if int(included) != len(group.transactions):
                raise _fail(segment, 1, f"transaction set count says {int(included)}, group has "
                                        f"{len(group.transactions)} transaction sets")
            control = _element(segment, 2, "group control number", kind="N0", max_length=9)
            if int(control) != int(group.control_number):
                raise _fail(segment, 2, f"GE02 {control!r} differs from GS06 {group.control_number!r} "
                                        f"(segment {header.position})")
            return group, index + 1
        if segment.tag in _ENVELOPE_TAGS:
            reason = (f"{segment.tag} inside group {group.control_number!r} (GS at segment "
                      f"{header.position}): its GE is missing")
        else:
            reason = (f"{segment.tag} outside a transaction set: every segment in a group belongs between ST "
                      "and SE")
        raise _fail(segment, None, reason)
    raise _fail(segments[-1], None,
                f"group {group.control_number!r} (GS at segment {header.position}) has no GE")


def _assemble(segments: list[Segment], separators: Separators) -> Interchange:
    isa = segments[0]

    def isa_value(index: int) -> str:
        return isa.elements[index - 1][0]

    interchange = Interchange(
        separators=separators,
        sender=Party(isa_value(5), isa_value(6).rstrip(" ")),
        receiver=Party(isa_value(7), isa_value(8).rstrip(" ")),
        date=isa_value(9),
        time=isa_value(10),
        version=isa_value(12),
        control_number=isa_value(13),
        ack_requested=isa_value(14),
        usage_indicator=isa_value(15),
        authorization=(isa_value(1), isa_value(2).rstrip(" ")),
        security=(isa_value(3), isa_value(4).rstrip(" ")),
        standards_id=isa_value(11) if separators.repetition is None else "U",
    )
    index = 1
    count = len(segments)
    while index < count:
        segment = segments[index]
        tag = segment.tag
        if tag == "GS":
            group, index = _read_group(segments, index)
            interchange.groups.append(group)
        elif tag == "TA1" and not interchange.groups:
            interchange.acknowledgments.append(segment)
            index += 1
        elif tag == "IEA":
            break
        else:
            if tag == "ISA":
                reason = "a second ISA: the interchange before it has no IEA"
            elif tag in ("SE", "GE"):
                reason = f"{tag} without {'ST' if tag == 'SE' else 'GS'}"
            elif tag == "TA1":
                reason = "TA1 after a functional group: TA1 segments come right after the ISA"
            else:
                reason = (f"{tag} outside a functional group: every segment after ISA belongs between GS "
                          "and GE")
            raise _fail(segment, None, reason)
    if index >= count:
        raise _fail(segments[-1], None, f"the interchange has no IEA (it ends with {segments[-1].tag})")
    trailer = segments[index]
    _max_elements(trailer, 2)
    included = _element(trailer, 1, "number of included functional groups", kind="N0", max_length=5)
    if int(included) != len(interchange.groups):
        raise _fail(trailer, 1, f"functional group count says {int(included)}, interchange has "
                                f"{len(interchange.groups)} groups")
    control = _element(trailer, 2, "interchange control number", kind="N0", min_length=9, max_length=9)
    if control != interchange.control_number:
        raise _fail(trailer, 2, f"IEA02 {control!r} differs from ISA13 {interchange.control_number!r}")
    if index + 1 < count:
        raise _fail(segments[index + 1], None, "data after IEA: one interchange per file")
    return interchange


def parse(data: bytes | str) -> Interchange:
    """Read one interchange and check its envelopes strictly; `X12SyntaxError` names the first error.

    Checked: the fixed-width ISA (widths, date, time, version, control number, delimiters); GS elements
    (GS04 CCYYMMDD from 004010 on) and GE01 = number of ST, GE02 = GS06; ST/SE: SE01 = segments from ST to SE
    inclusive, SE02 = ST02; IEA01 = number of GS, IEA02 = ISA13; nothing outside ST…SE but TA1 before the
    first GS.
    """
    tokens = _read(data)
    return _assemble(tokens.segments, tokens.separators)


# ----------------------------------------------------------------------------------------------------------
# Writing


def every_interchange(data: bytes | str) -> list[Interchange]:
    """Every interchange of a file, in file order, each read as strictly as `parse` reads one (a VAN's
    concatenated daily file: ISA…IEA, ISA…IEA); the first refusal raises, naming the interchange."""
    return interchanges_parsed(data, parse, X12SyntaxError)


def serialize_segment(tag: str, elements: Iterable[str | Sequence[str]],
                      separators: Separators = DEFAULT_SEPARATORS) -> str:
    """One segment as text, terminator included, trailing empty elements and components left out.

    X12 cannot release a delimiter: data containing one raises `ValueError` (the repetition separator is
    allowed: it is how repeated elements are kept).
    """
    if not _TAG.fullmatch(tag):
        raise ValueError(f"segment tag must be 2–3 upper case letters or digits, got {tag!r}")
    forbidden = (separators.element, separators.component, separators.segment)
    texts: list[str] = []
    for index, element in enumerate(elements, start=1):
        components = [element] if isinstance(element, str) else list(element)
        while components and not components[-1]:
            components.pop()
        for component in components:
            for char in forbidden:
                if char in component:
                    raise ValueError(f"element {index}: {component!r} contains the delimiter {char!r}")
        texts.append(separators.component.join(components))
    while texts and not texts[-1]:
        texts.pop()
    return separators.element.join([tag, *texts]) + separators.segment


def _isa_text(interchange: Interchange) -> str:
    i = interchange
    sep = i.separators
    isa11 = sep.repetition if sep.repetition is not None and i.version >= "00402" else i.standards_id
    values = [i.authorization[0], i.authorization[1], i.security[0], i.security[1], i.sender.qualifier,
              i.sender.id, i.receiver.qualifier, i.receiver.id, i.date, i.time, isa11, i.version,
              i.control_number.zfill(9), i.ack_requested, i.usage_indicator, sep.component]
    fields: list[str] = []
    for index, ((width, name), value) in enumerate(zip(ISA_FIELDS, values, strict=True), start=1):
        if len(value) > width:
            raise X12SyntaxError(f"ISA{index:02d} ({name}) {value!r} is longer than {width} characters",
                                 segment_position=1, segment_tag="ISA", element_index=index)
        if index < 16 and any(c in value for c in (sep.element, sep.segment)):
            raise X12SyntaxError(f"ISA{index:02d} ({name}) {value!r} contains a delimiter",
                                 segment_position=1, segment_tag="ISA", element_index=index)
        fields.append(value.ljust(width))
    return sep.element.join(["ISA", *fields]) + sep.segment


def serialize_interchange(interchange: Interchange, *, newline: str = "") -> str:
    """The interchange as text: the fixed-width ISA, TA1s, groups with their transaction sets, with SE/GE/IEA
    counts and control numbers computed. `newline` ("", "\\n", "\\r\\n") follows every terminator."""
    if newline not in ("", "\n", "\r\n"):
        raise ValueError("newline must be '', '\\n' or '\\r\\n'")
    i = interchange
    try:
        i.separators.check()
    except ValueError as error:
        raise X12SyntaxError(str(error), segment_position=1, segment_tag="ISA") from None
    if newline and newline[0] in (i.separators.element, i.separators.component):
        raise ValueError("a newline cannot follow the terminator when it is also a separator")
    parts = [_isa_text(i) + newline]
    position = 2

    def add(tag: str, elements: Sequence[str | Sequence[str]]) -> None:
        nonlocal position
        try:
            parts.append(serialize_segment(tag, elements, i.separators) + newline)
        except ValueError as error:
            raise X12SyntaxError(str(error), segment_position=position, segment_tag=tag) from None
        position += 1

    for ack in i.acknowledgments:
        add(ack.tag, ack.elements)
    for group in i.groups:
        add("GS", [group.functional_id, group.sender, group.receiver, group.date, group.time,
                   group.control_number, group.agency, group.version])
        for transaction in group.transactions:
            add("ST", [transaction.set_id, transaction.control_number, transaction.implementation_ref])
            for segment in transaction.segments:
                add(segment.tag, segment.elements)
            add("SE", [str(transaction.segment_count), transaction.control_number])
        add("GE", [str(len(group.transactions)), group.control_number])
    add("IEA", [str(len(i.groups)), i.control_number.zfill(9)])
    return "".join(parts)


def write_interchange(interchange: Interchange, *, newline: str = "", encoding: str = "utf-8") -> bytes:
    """`serialize_interchange` encoded (UTF-8 unless the partner agreed on another character set)."""
    return serialize_interchange(interchange, newline=newline).encode(encoding)


def build_interchange(
    *,
    sender: Party,
    receiver: Party,
    control_number: int | str,
    prepared: dt.datetime,
    groups: Sequence[FunctionalGroup] = (),
    version: str = "00401",
    usage_indicator: str = "P",
    ack_requested: str = "0",
    separators: Separators = DEFAULT_SEPARATORS,
) -> Interchange:
    """An interchange to write: ISA fields from arguments (ISA13 zero-padded to 9 digits), the groups as
    given; counts and trailers are computed when written."""
    number = str(control_number).zfill(9)
    if len(number) != 9 or not _is_digits(number):
        raise ValueError(f"interchange control number must be up to 9 digits, got {control_number!r}")
    if separators.repetition is not None and version < "00402":
        raise ValueError(f"version {version} has no repetition separator (ISA11 is 'U' before 00402)")
    return Interchange(
        separators=separators,
        sender=sender,
        receiver=receiver,
        date=prepared.strftime("%y%m%d"),
        time=prepared.strftime("%H%M"),
        version=version,
        control_number=number,
        ack_requested=ack_requested,
        usage_indicator=usage_indicator,
        groups=list(groups),
    )


# ----------------------------------------------------------------------------------------------------------
# Sniff and inspect


def sniff(data: bytes) -> bool:
    """ISA at the start (after an optional byte order mark and whitespace), its 4th character a separator that
    also follows ISA01."""
    head = data[:64]
    if head.startswith(_BOM_BYTES):
        head = head[3:]
    head = head.lstrip(b" \t\r\n")
    if not head.startswith(b"ISA") or len(head) < 7:
        return False
    separator = head[3:4]
    return not separator.isalnum() and separator not in b" \t\r\n" and head[6:7] == separator


def has_set(data: bytes, set_id: str) -> bool:
    """An X12 interchange that carries at least one `set_id` transaction set (an ST naming it), found by a
    scan of the bytes: cheap enough for every sniff, also on a file the strict reading would refuse."""
    if not sniff(data):
        return False
    start = data.find(b"ISA")
    separator = re.escape(data[start + 3 : start + 4])
    pattern = rb"(?:^|[^A-Za-z0-9])ST" + separator + re.escape(set_id.encode()) + separator
    return re.search(pattern, data) is not None


def all_sets_are(data: bytes, set_id: str) -> bool:
    """An X12 interchange whose transaction sets are all `set_id` (at least one), by its segments.

    Each interchange of a file is split with its own separators; in a file of several, one that cannot be
    split does not decide what the file is (the reader refuses it on its own, naming it)."""
    if not sniff(data):
        return False
    segments = segments_of_each(data, tokenize)
    if segments is None:
        return False
    sets = [s.get(1) for s in segments if s.tag == "ST"]
    return bool(sets) and all(s == set_id for s in sets)


def _first(segments: Iterable[Segment], tag: str) -> Segment | None:
    return next((s for s in segments if s.tag == tag), None)


def _fields(segment: Segment | None, names: dict[int, str]) -> dict[str, Any]:
    if segment is None:
        return {}
    return {name: segment.get(index) for index, name in names.items() if segment.get(index)}


def _invoice_hint(t: TransactionSet) -> dict[str, Any]:
    hint = _fields(_first(t.segments, "BIG"), {1: "invoice_date", 2: "invoice_number", 3: "order_date",
                                               4: "purchase_order", 7: "transaction_type"})
    hint.update(_fields(_first(t.segments, "TDS"), {1: "total_amount_implied_2_decimals"}))
    return hint


def _remittance_hint(t: TransactionSet) -> dict[str, Any]:
    hint = _fields(_first(t.segments, "BPR"), {1: "handling_code", 2: "amount", 3: "credit_debit",
                                               4: "payment_method", 16: "payment_date"})
    hint.update(_fields(_first(t.segments, "TRN"), {2: "trace_number"}))
    return hint


def _ack_hint(t: TransactionSet) -> dict[str, Any]:
    hint = _fields(_first(t.segments, "AK1"), {1: "functional_id", 2: "group_control_number"})
    hint.update(_fields(_first(t.segments, "AK9"), {1: "group_status", 2: "sets_included", 3: "sets_received",
                                                    4: "sets_accepted"}))
    sets = [s for s in t.segments if s.tag == "AK2"]
    if sets:
        hint["acknowledged_sets"] = [{"set_id": s.get(1), "control_number": s.get(2)} for s in sets]
    return hint


def _status_hint(t: TransactionSet) -> dict[str, Any]:
    hint = _fields(_first(t.segments, "B10"), {1: "reference", 2: "shipment_id", 3: "carrier_scac"})
    statuses = [s.get(1) for s in t.segments if s.tag == "AT7" and s.get(1)]
    if statuses:
        hint["status_codes"] = statuses
    return hint


def _ship_notice_hint(t: TransactionSet) -> dict[str, Any]:
    return _fields(_first(t.segments, "BSN"), {2: "shipment_id", 3: "date"})


_HINTS: dict[str, Callable[[TransactionSet], dict[str, Any]]] = {
    "810": _invoice_hint,
    "820": _remittance_hint,
    "997": _ack_hint,
    "999": _ack_hint,
    "214": _status_hint,
    "856": _ship_notice_hint,
}


def inspect(data: bytes) -> dict[str, Any]:
    """What the gateway reads from an X12 interchange (for `gateway inspect --json`); a malformed one raises
    `X12SyntaxError` rather than giving a partial answer."""
    i = parse(data)
    groups = []
    for group in i.groups:
        transactions = []
        for t in group.transactions:
            summary: dict[str, Any] = {"set_id": t.set_id, "control_number": t.control_number,
                                       "segments": t.segment_count, "position": t.position}
            if t.implementation_ref:
                summary["implementation_ref"] = t.implementation_ref
            hint = _HINTS.get(t.set_id)
            if hint is not None:
                found = hint(t)
                if found:
                    summary["hint"] = found
            transactions.append(summary)
        groups.append({"functional_id": group.functional_id, "sender": group.sender,
                       "receiver": group.receiver, "date": group.date, "time": group.time,
                       "control_number": group.control_number, "agency": group.agency,
                       "version": group.version, "transactions": transactions})
    sep = i.separators
    return {
        "format": FORMAT_NAME,
        "version": i.version,
        "separators": {"element": sep.element, "component": sep.component, "segment": sep.segment,
                       "repetition": sep.repetition},
        "sender": i.sender.as_dict(),
        "receiver": i.receiver.as_dict(),
        "date": i.date,
        "time": i.time,
        "control_number": i.control_number,
        "ack_requested": i.ack_requested == "1",
        "usage_indicator": i.usage_indicator,
        "test": i.is_test,
        "interchange_acknowledgments": [
            {"control_number": a.get(1), "date": a.get(2), "time": a.get(3), "ack_code": a.get(4),
             "note_code": a.get(5)} for a in i.acknowledgments
        ],
        "groups": groups,
        "transaction_count": len(i.transactions),
    }
