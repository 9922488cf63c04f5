"""UN/EDIFACT syntax (ISO 9735 versions 1–4): tokenizer, interchange envelope, serializer, sniff and inspect.

Syntax only: segments, their data elements and components, and the service segments around them
(UNA, UNB…UNZ, UNG…UNE, UNH…UNT). Message grammars (which segments an INVOIC has, in which order) belong
to the mappings built on top of this module, and so do CONTRL/APERAK answers; what they need from here is an
exact reading and the position of the first thing that is wrong.

Strict on purpose: a partner's interchange is either read exactly or refused with the first error and its
place (`EdiSyntaxError`: segment number, tag, element, component). What real senders do that the syntax
allows is accepted: segment terminators followed by CR/LF or indentation, a UTF-8 byte order mark, empty
trailing components (kept as read; the serializer drops them, as ISO 9735 asks writers to). Two departures
that real files make and that stay unambiguous are read with a warning on the interchange
(`Interchange.warnings`) instead of refused: a file hard-wrapped at a fixed width (line breaks inside
segments, `unwrap_hard_wrapped`) and a release character before a character that is no service character
(`?A` is read as `A`). `parse` reads one interchange; `every_interchange` each of a file that holds several
(`mappings.syntax.interchanges`).

Numbering: segment positions count every segment in the data from 1, the UNA service string advice
included (so they match line numbers in files written one segment a line); element indexes count the data
elements after the tag from 1 and component indexes from 1, as in the EDIFACT directories (`BGM` element 2
component 1 is data element 1004, the document number).

Pure functions, no I/O: `tokenize`, `parse`, `serialize_segment`, `build_interchange`,
`serialize_interchange`, `write_interchange`, `sniff`, `inspect`.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from mappings.base import FormatError, SegmentError  # noqa: F401  (FormatError: callers catch edifact.FormatError)
from mappings.syntax.interchanges import interchanges_parsed, segments_of_each

FORMAT_NAME = "edifact"
MEDIA_TYPE = "application/EDIFACT"  # RFC 1767

BOM = "\ufeff"
_BOM_BYTES = b"\xef\xbb\xbf"

#: Syntax identifier (UNB S001 0001) → Python codec. Levels A and B are subsets of ASCII (level A is further
#: restricted: see `UNOA_REPERTOIRE`); C–K are the ISO 8859 parts; W and Y are ISO 10646 as UTF-8.
SYNTAX_ENCODINGS: dict[str, str] = {
    "UNOA": "ascii",
    "UNOB": "ascii",
    "UNOC": "iso8859-1",
    "UNOD": "iso8859-2",
    "UNOE": "iso8859-5",
    "UNOF": "iso8859-7",
    "UNOG": "iso8859-3",
    "UNOH": "iso8859-4",
    "UNOI": "iso8859-6",
    "UNOJ": "iso8859-8",
    "UNOK": "iso8859-9",
    "UNOW": "utf-8",
    "UNOY": "utf-8",
}
#: Level A: what a UNOA interchange may contain (ISO 9735 annex: upper case, digits, space and these).
UNOA_REPERTOIRE = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .,-()/='+:?!\"%&*;<>"

_WHITESPACE = " \t\r\n"
_ENVELOPE_TAGS = frozenset({"UNB", "UNZ", "UNG", "UNE", "UNH", "UNT"})


class EdiSyntaxError(SegmentError):
    """An EDIFACT interchange that breaks the syntax rules; names where, as precisely as known.

    `segment_position` is 0 when the data has no segment to point at (empty input); `offset` is the character
    offset in the decoded data (byte order mark excluded) where the faulty segment or character starts.
    """


@dataclass(frozen=True)
class ServiceCharacters:
    """The six characters of the UNA service string advice, in UNA order.

    `release` and `repetition` may be a space, which means "not used" (syntax versions 1–3 reserve the
    fifth UNA position and write a space there; version 4 puts its repetition separator there).
    """

    component: str = ":"
    element: str = "+"
    decimal: str = "."
    release: str = "?"
    repetition: str = " "
    terminator: str = "'"

    @classmethod
    def parse_una(cls, advice: str) -> ServiceCharacters:
        """Read `advice`: "UNA" and exactly six characters (the rest of the data may follow)."""
        if not advice.startswith("UNA"):
            raise EdiSyntaxError("the service string advice starts with 'UNA'", segment_position=1,
                                 segment_tag="UNA", offset=0)
        chars = advice[3:9]
        if len(chars) < 6:
            raise EdiSyntaxError(f"UNA needs exactly 6 service characters after 'UNA', found {len(chars)}",
                                 segment_position=1, segment_tag="UNA", offset=0)
        service = cls(*chars)
        service.check(segment_position=1)
        return service

    def check(self, segment_position: int = 0) -> None:
        """Refuse characters that would make the data ambiguous (the same character twice, a letter…)."""
        names = ("component separator", "data element separator", "decimal mark", "release character",
                 "repetition separator", "segment terminator")
        for index, (name, char) in enumerate(zip(names, self.as_tuple(), strict=True), start=1):
            problem = ("must be one character" if len(char) != 1
                       else "cannot be a letter or digit" if char.isalnum() else "")
            if problem:
                raise EdiSyntaxError(f"{name} {char!r} {problem}", segment_position=segment_position,
                                     segment_tag="UNA", element_index=index)
        if self.decimal not in ".,":
            raise EdiSyntaxError(f"decimal mark must be '.' or ',', is {self.decimal!r}",
                                 segment_position=segment_position, segment_tag="UNA", element_index=3)
        used = [self.component, self.element, self.terminator]
        used += [c for c in (self.release, self.repetition) if c != " "]
        if len(set(used)) != len(used):
            raise EdiSyntaxError(f"service characters must differ from each other: {self.una!r}",
                                 segment_position=segment_position, segment_tag="UNA")

    def as_tuple(self) -> tuple[str, str, str, str, str, str]:
        """The six characters in UNA order."""
        return (self.component, self.element, self.decimal, self.release, self.repetition, self.terminator)

    @property
    def una(self) -> str:
        """The UNA service string advice that announces these characters (it ends with the terminator)."""
        return "UNA" + "".join(self.as_tuple())

    @property
    def release_character(self) -> str | None:
        """None when the UNA says "not used" (a space)."""
        return None if self.release == " " else self.release

    @property
    def repetition_separator(self) -> str | None:
        """None when the UNA says "not used" (a space; always so in syntax 1–3 without UNA)."""
        return None if self.repetition == " " else self.repetition

    @property
    def delimiters(self) -> str:
        """The characters that the release character must precede when they are data."""
        return "".join(c for c in (self.component, self.element, self.release, self.repetition,
                                   self.terminator) if c != " ")


#: Syntax versions 1–3 without UNA, and the UNA most senders write.
DEFAULT_SERVICE_CHARACTERS = ServiceCharacters()
#: Syntax version 4 without UNA: `*` is the repetition separator and must be released when it is data.
DEFAULT_SERVICE_CHARACTERS_V4 = ServiceCharacters(repetition="*")


def default_service_characters(syntax_version: int) -> ServiceCharacters:
    """What applies when there is no UNA: syntax 4 adds `*` as the repetition separator."""
    return DEFAULT_SERVICE_CHARACTERS_V4 if syntax_version >= 4 else DEFAULT_SERVICE_CHARACTERS


@dataclass(frozen=True, slots=True)
class Segment:
    """One segment: its tag, its data elements (each a tuple of components) and where it was read.

    `position` is the 1-based segment number in the data (UNA counts as 1 when present) and `offset` the
    character offset of the tag; both are 0 for segments built in code. Values are unescaped.
    """

    tag: str
    elements: tuple[tuple[str, ...], ...] = ()
    position: int = 0
    offset: int = 0

    @classmethod
    def of(cls, tag: str, *elements: str | Sequence[str]) -> Segment:
        """Build a segment in code: `Segment.of("BGM", "380", ("INV1",), "9")`."""
        return cls(tag, tuple((e,) if isinstance(e, str) else tuple(e) for e in elements))

    def get(self, element: int, component: int = 1) -> str:
        """Element `element`, component `component` (both 1-based); "" when absent."""
        if 1 <= element <= len(self.elements):
            components = self.elements[element - 1]
            if 1 <= component <= len(components):
                return components[component - 1]
        return ""

    def trimmed(self) -> Segment:
        """The same segment without trailing empty components and elements (what the serializer writes)."""
        return Segment(self.tag, _trim_elements(self.elements), self.position, self.offset)

    def same_content(self, other: Segment) -> bool:
        """Tag and data equal (positions ignored)."""
        return self.tag == other.tag and self.elements == other.elements


def _trim_elements(elements: Sequence[tuple[str, ...]]) -> tuple[tuple[str, ...], ...]:
    """Trailing empty components and elements dropped; an empty element in between stays ``("",)``, as
    the tokenizer reads it."""
    trimmed = [_trim(e) or ("",) for e in elements]
    while trimmed and trimmed[-1] == ("",):
        trimmed.pop()
    return tuple(trimmed)


def _trim(components: tuple[str, ...]) -> tuple[str, ...]:
    end = len(components)
    while end and not components[end - 1]:
        end -= 1
    return components[:end]


@dataclass(frozen=True)
class Party:
    """An interchange or group sender/recipient: identification, code qualifier and (UNB only) the internal
    identification (syntax 3: address for reverse routing) and, in syntax 4, internal sub-identification."""

    id: str
    qualifier: str = ""
    internal: str = ""
    internal_sub: str = ""

    def as_dict(self) -> dict[str, str]:
        """For JSON: id and qualifier, and the internal identifications when given."""
        out = {"id": self.id, "qualifier": self.qualifier}
        if self.internal:
            out["internal"] = self.internal
        if self.internal_sub:
            out["internal_sub"] = self.internal_sub
        return out


@dataclass
class Message:
    """One message, UNH…UNT; `segments` is the body between them (UNH and UNT are written from the fields).

    `position` is the UNH's segment number in the interchange (0 when built in code): a segment's position in
    its message, as CONTRL reports it, is `segment.position - message.position + 1`.
    """

    reference: str
    type: str
    version: str
    release: str
    agency: str
    association: str = ""
    segments: list[Segment] = field(default_factory=list)
    #: UNH 0068
    common_access_ref: str = ""
    #: UNH S010: sequence of transfers, first and last transfer
    transfer_status: tuple[str, ...] = ()
    #: UNH S009 components after the association code (syntax 4: code list directory, sub-function)
    type_extra: tuple[str, ...] = ()
    #: UNH elements after S010 (syntax 4: S016 subset, S017 implementation guideline, S018 scenario)
    header_extra: tuple[tuple[str, ...], ...] = ()
    position: int = 0

    @property
    def segment_count(self) -> int:
        """UNH to UNT inclusive, as UNT 0074 counts them."""
        return len(self.segments) + 2


@dataclass
class Group:
    """A functional group, UNG…UNE: messages of one type (UNG 0038) for one application."""

    group_id: str
    sender: Party
    recipient: Party
    prepared: tuple[str, str]
    reference: str
    agency: str
    version: str
    release: str
    association: str = ""
    password: str = ""
    messages: list[Message] = field(default_factory=list)
    position: int = 0


@dataclass
class Interchange:
    """One interchange, UNB…UNZ, with its messages either directly inside (`messages`) or in groups.

    `prepared` is UNB S004 as written (date YYMMDD, or CCYYMMDD in syntax 4, and HHMM). `una` says whether
    a UNA service string advice was read (and should be written even with default characters).
    """

    service_chars: ServiceCharacters
    syntax_id: str
    syntax_version: int
    sender: Party
    recipient: Party
    prepared: tuple[str, str]
    control_ref: str
    application_ref: str = ""
    test_indicator: str = ""
    groups: list[Group] = field(default_factory=list)
    messages: list[Message] = field(default_factory=list)
    recipient_password: str = ""
    recipient_password_qualifier: str = ""
    priority: str = ""
    ack_requested: str = ""
    agreement_id: str = ""
    #: syntax 4 UNB S001 0080 and 0133
    service_code_list_version: str = ""
    character_encoding: str = ""
    una: bool = False
    #: what was read although the syntax does not allow it (a hard-wrapped file, a needless release
    #: character), each naming the segment: the partner is told, the interchange is not refused for it
    warnings: list[str] = field(default_factory=list)

    @property
    def all_messages(self) -> list[Message]:
        """Every message, those in groups first (an interchange has one kind or the other)."""
        return [m for g in self.groups for m in g.messages] + self.messages

    @property
    def is_test(self) -> bool:
        """UNB 0035 given and not 0."""
        return bool(self.test_indicator) and self.test_indicator != "0"


# ----------------------------------------------------------------------------------------------------------
# Reading: header, decoding, segments


@dataclass
class _Tokens:
    text: str
    service_chars: ServiceCharacters
    una: bool
    segments: list[Segment]
    #: the first illegal character (wrong repertoire, undecodable byte), kept so that an envelope error
    #: before it can still be the one reported
    char_error: EdiSyntaxError | None
    #: tolerated departures from the syntax (see `Interchange.warnings`)
    warnings: list[str] = field(default_factory=list)


def _header(text: str) -> tuple[int, ServiceCharacters | None, str, int | None]:
    """Where segments start, the UNA characters if any, and the syntax identifier/version UNB announces."""
    start = 0
    while start < len(text) and text[start] in _WHITESPACE:
        start += 1
    service: ServiceCharacters | None = None
    if text.startswith("UNA", start):
        service = ServiceCharacters.parse_una(text[start:])
        start += 9
    # the syntax identifier is needed before the data can be decoded: read it from the raw UNB
    syntax_id, version = "", None
    rest = text[start : start + 64].lstrip(_WHITESPACE).replace("\r", "").replace("\n", "")
    if rest.startswith("UNB") and len(rest) > 4:
        element_sep = rest[3]
        component_sep = service.component if service else ":"
        s001 = rest[4:].split(element_sep, 1)[0].split(component_sep)
        syntax_id = s001[0]
        if len(s001) > 1 and len(s001[1]) == 1 and s001[1] in "1234":
            version = int(s001[1])
    return start, service, syntax_id, version


def _decode(data: bytes | str) -> tuple[str, str, bool]:
    """The text, its syntax identifier as announced, and whether undecodable bytes were replaced.

    Bytes the syntax level's codec cannot decode become lone surrogates (``surrogateescape``): tokenizing
    goes on and the per-segment character check reports the first one with its position.
    """
    if isinstance(data, str):
        text = data[1:] if data.startswith(BOM) else data
        return text, _header(text)[2], False
    raw = data[3:] if data.startswith(_BOM_BYTES) else data
    _, _, syntax_id, _ = _header(raw[:80].decode("latin-1"))
    codec = SYNTAX_ENCODINGS.get(syntax_id, "utf-8")
    try:
        return raw.decode(codec), syntax_id, False
    except UnicodeDecodeError:
        return raw.decode(codec, errors="surrogateescape"), syntax_id, True


def _char_check(syntax_id: str, service: ServiceCharacters, undecodable: bool) -> re.Pattern[str] | None:
    """A pattern matching the first character a segment of this syntax level may not contain (or None)."""
    if syntax_id == "UNOA":
        allowed = set(UNOA_REPERTOIRE) | set(service.delimiters)
        return re.compile("[^" + "".join(re.escape(c) for c in sorted(allowed)) + "]")
    if undecodable:
        return re.compile("[\udc80-\udcff]")
    return None


def _char_error(raw: str, index: int, syntax_id: str, service: ServiceCharacters, position: int, tag: str,
                offset: int) -> EdiSyntaxError:
    char = raw[index]
    element, component = _element_at(raw, index, service)
    if "\udc80" <= char <= "\udcff":
        codec = SYNTAX_ENCODINGS.get(syntax_id, "utf-8")
        byte = ord(char) - 0xDC00
        reason = f"byte 0x{byte:02X} is not valid {codec} (syntax identifier {syntax_id or 'missing'})"
    elif syntax_id == "UNOA":
        reason = (f"character {char!r} (U+{ord(char):04X}) is not allowed in UNOA (upper case letters, "
                  f"digits, space and {UNOA_REPERTOIRE[37:]}); use UNOC or UNOW for other characters")
    else:  # pragma: no cover - only the two checks above exist
        reason = f"character {char!r} is not allowed"
    return EdiSyntaxError(reason, segment_position=position, segment_tag=tag, element_index=element,
                          component_index=component, offset=offset + index)


def _element_at(raw: str, index: int, service: ServiceCharacters) -> tuple[int | None, int | None]:
    """Element and component index of character `index` in a raw segment; (None, None) in the tag."""
    prefix = raw[:index]
    release = service.release_character
    if release:
        prefix = re.sub(re.escape(release) + r"[\s\S]", "", prefix)
    elements = prefix.split(service.element)
    if len(elements) == 1:
        return None, None
    return len(elements) - 1, elements[-1].count(service.component) + 1


_TAG = re.compile(r"[A-Z0-9]{3}")


def _read(data: bytes | str, service_chars: ServiceCharacters | None = None) -> _Tokens:
    if not isinstance(data, bytes | str):
        raise TypeError("EDIFACT data must be bytes or str")
    text, syntax_id, undecodable = _decode(data)
    start, una_chars, _, version = _header(text)
    if una_chars is not None:
        service = una_chars
        position = 2
    else:
        service = service_chars or default_service_characters(version or 3)
        position = 1
        rest = text[start : start + 4]
        if service_chars is None and rest.startswith("UNB") and len(rest) == 4 and rest[3] != service.element:
            raise EdiSyntaxError(
                f"without a UNA service string advice the data element separator is {service.element!r}, "
                f"found {rest[3]!r} (send a UNA to announce other service characters)",
                segment_position=1, segment_tag="UNB", offset=start)
    text, wrapped = unwrap_hard_wrapped(text, start, service)
    warnings = [wrapped] if wrapped else []
    check = _char_check(syntax_id, service, undecodable)
    segments, char_error = _split_segments(text, start, service, position, check, syntax_id, warnings)
    return _Tokens(text, service, una_chars is not None, segments, char_error, warnings)


_WRAP_PATTERNS: dict[str, re.Pattern[str]] = {}


def unwrap_hard_wrapped(text: str, start: int, service: ServiceCharacters) -> tuple[str, str | None]:
    """`text` with the line breaks inside segments removed when the file is hard-wrapped; and a warning.

    Mainframe and VAN mailbox exports write EDIFACT as fixed-width records (a line break every 80
    characters, also in the middle of a segment or a tag). When the terminator is not a line break itself
    (the UNA, or the default `'`), a line break is never a service character, so a line that does not end
    with the terminator shows the breaks are the file's wrapping, not data: every CR and LF after the
    service string advice is removed (offsets then count in the unwrapped text). A file with a line break
    after each terminator (CRLF a segment) is not wrapped and is returned as it is. Linear in the text.
    """
    terminator = service.terminator
    if any(c in "\r\n" for c in service.as_tuple()):
        return text, None
    pattern = _WRAP_PATTERNS.get(terminator)
    if pattern is None:
        pattern = re.compile(f"[^{re.escape(terminator)}\\s][ \\t]*[\\r\\n]")
        _WRAP_PATTERNS[terminator] = pattern
    found = pattern.search(text, start)
    if found is None:
        return text, None
    line_start = text.rfind("\n", 0, found.start()) + 1
    width = found.end() - 1 - line_start
    body = text[start:].replace("\r", "").replace("\n", "")
    return text[:start] + body, (
        f"the file is hard-wrapped (a line break inside a segment, after {width} characters on its line): "
        "line breaks between the segment terminators were removed"
    )


def _split_segments(
    text: str, start: int, service: ServiceCharacters, position: int, check: re.Pattern[str] | None,
    syntax_id: str, warnings: list[str] | None = None,
) -> tuple[list[Segment], EdiSyntaxError | None]:
    """One pass: split at unreleased terminators, then each segment at separators.

    Segments without a release character (nearly all) take the fast path, `str.split`; only those that
    contain one go through the escape-aware splitter.
    """
    terminator, element_sep, component_sep = service.terminator, service.element, service.component
    release = service.release_character
    repetition = service.repetition_separator
    strip = "".join(c for c in _WHITESPACE if c not in service.delimiters)
    strip_set = frozenset(strip)
    pieces = text[start:].split(terminator) if start else text.split(terminator)
    if release and release in text:
        pieces = _join_released(pieces, terminator, release)
    tail = pieces.pop()
    out: list[Segment] = []
    append = out.append
    known_tags: set[str] = set()
    char_error: EdiSyntaxError | None = None
    offset = start
    blank_lines = terminator in _WHITESPACE

    def fail(reason: str, tag: str, seg_offset: int, element: int | None = None,
             component: int | None = None) -> EdiSyntaxError:
        # an illegal character earlier in the data is the first error, not this one
        return char_error or EdiSyntaxError(
            reason, segment_position=position, segment_tag=tag, element_index=element,
            component_index=component, offset=seg_offset)

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
            raise fail("empty segment: two segment terminators with nothing between them", "", seg_offset)
        if release and release in raw:
            needless: list[tuple[str, int | None, int | None]] = []
            try:
                elements = _split_released(raw, service, needless)
            except _ReleaseError as error:
                raise fail(error.reason, raw[:3], seg_offset, error.element, error.component) from None
            if warnings is not None:
                for char, element, component in needless[:5]:
                    where = f"segment {position} ({raw[:3]})" + (
                        f" element {element} component {component}" if element else "")
                    warnings.append(f"{where}: release character {release!r} before {char!r}, which is no "
                                    f"service character: read as {char!r}")
            tag_components = elements[0]
            tag = tag_components[0]
            body = tuple(elements[1:])
        else:
            parts = raw.split(element_sep)
            tag = parts[0]
            tag_components = (tag,) if component_sep not in tag else tuple(tag.split(component_sep))
            tag = tag_components[0]
            body = tuple([tuple(p.split(component_sep)) for p in parts[1:]])
            if repetition and repetition in raw:
                element, component = _element_at(raw, raw.index(repetition), service)
                raise fail(f"repetition separator {repetition!r} found: repeated data elements are not "
                           f"supported here; release it ({release}{repetition}) if it is data",
                           tag, seg_offset, element, component)
        if tag not in known_tags:
            if len(tag_components) != 1 or not _TAG.fullmatch(tag):
                shown = raw[:12].replace(terminator, "")
                raise fail(f"segment tag must be 3 upper case letters or digits, found {shown!r}"
                           + (" (is a segment terminator missing?)" if len(tag) > 3 else ""),
                           tag[:3], seg_offset)
            known_tags.add(tag)
        if check is not None and char_error is None:
            bad = check.search(raw)
            if bad is not None:
                char_error = _char_error(raw, bad.start(), syntax_id, service, position, tag, seg_offset)
        append(Segment(tag, body, position, seg_offset))
        position += 1
    if tail.strip(strip):
        stripped = tail.lstrip(strip)
        seg_offset = offset + len(tail) - len(stripped)
        if release and _odd_release_run(stripped, release):
            reason = (f"the data ends with the release character {release!r}: it releases nothing (the last "
                      "segment terminator is missing)")
        elif release and stripped.endswith(terminator) and _odd_release_run(stripped[:-1], release):
            reason = (f"the last segment terminator is released ({release}{terminator}): it is data, and the "
                      "segment has no terminator")
        else:
            reason = f"no segment terminator {terminator!r} after the last segment: the data is truncated"
        raise fail(reason, stripped[:3], seg_offset)
    if not out:
        raise char_error or EdiSyntaxError("no EDIFACT segments in the data", offset=start)
    return out, char_error


def _odd_release_run(text: str, release: str) -> bool:
    return (len(text) - len(text.rstrip(release))) % 2 == 1


def _join_released(pieces: list[str], terminator: str, release: str) -> list[str]:
    """Put back together the pieces that a released terminator (``?'``) split."""
    merged: list[str] = []
    pending: str | None = None
    for piece in pieces:
        if pending is not None:
            piece = pending + terminator + piece
            pending = None
        if piece.endswith(release) and _odd_release_run(piece, release):
            pending = piece
            continue
        merged.append(piece)
    if pending is not None:
        merged.append(pending)  # the tail: it ends with a lone release character
    return merged


class _ReleaseError(Exception):
    def __init__(self, reason: str, element: int | None, component: int | None) -> None:
        super().__init__(reason)
        self.reason, self.element, self.component = reason, element, component


_RELEASE_SPLITTERS: dict[ServiceCharacters, re.Pattern[str]] = {}


def _split_released(
    raw: str, service: ServiceCharacters, needless: list[tuple[str, int | None, int | None]] | None = None,
) -> list[tuple[str, ...]]:
    """Split one segment that contains release characters; the tag is the first element.

    A release character before a character that is no service character (``?A``) releases nothing; ISO
    9735 readers take the character after it as data, and so does this one, noting it in `needless`
    (character, element, component) when given; without `needless` it is an error.
    """
    pattern = _RELEASE_SPLITTERS.get(service)
    if pattern is None:
        release = re.escape(service.release)
        separators = "".join(re.escape(c) for c in (service.element, service.component, service.repetition)
                             if c != " ")
        pattern = re.compile(f"{release}([\\s\\S]?)|([{separators}])")
        _RELEASE_SPLITTERS[service] = pattern
    elements: list[tuple[str, ...]] = []
    components: list[str] = []
    current: list[str] = []
    last = 0
    for match in pattern.finditer(raw):
        current.append(raw[last : match.start()])
        last = match.end()
        released, separator = match.group(1), match.group(2)
        if separator is None:
            if released == "":
                raise _ReleaseError(f"release character {service.release!r} at the end of the segment "
                                    "releases nothing", len(elements) or None,
                                    len(components) + 1 if elements else None)
            if released not in service.delimiters and needless is not None:
                needless.append((released, len(elements) or None, len(components) + 1 if elements else None))
            elif released not in service.delimiters:
                raise _ReleaseError(
                    f"release character {service.release!r} before {released!r}: only service characters "
                    f"({service.delimiters}) may be released; write {service.release * 2} for a literal "
                    f"{service.release!r}", len(elements) or None, len(components) + 1 if elements else None)
            current.append(released)
            continue
        if separator == service.repetition:
            raise _ReleaseError(f"repetition separator {separator!r} found: repeated data elements are not "
                                f"supported here; release it ({service.release}{separator}) if it is data",
                                len(elements) or None, len(components) + 1 if elements else None)
        components.append("".join(current))
        current = []
        if separator == service.element:
            elements.append(tuple(components))
            components = []
    current.append(raw[last:])
    components.append("".join(current))
    elements.append(tuple(components))
    return elements


def tokenize(data: bytes | str, service_chars: ServiceCharacters | None = None) -> list[Segment]:
    """Split EDIFACT data into segments (the UNA advice is read, not returned).

    Bytes are decoded by the syntax identifier in UNB (UTF-8 when there is no UNB). `service_chars` is for
    data without a UNA that uses other characters than the defaults (a UNA in the data always wins).
    Raises `EdiSyntaxError` for the first problem: an illegal character, a bad tag, a lone release
    character, a missing last terminator.
    """
    tokens = _read(data, service_chars)
    if tokens.char_error is not None:
        raise tokens.char_error
    return tokens.segments


# ----------------------------------------------------------------------------------------------------------
# The envelope


@dataclass(frozen=True)
class _Spec:
    """One data element or component of a service segment: its directory name, format and status."""

    name: str
    kind: str  # "a", "n" or "an"
    max_length: int
    mandatory: bool = False
    min_length: int = 0


def _value(segment: Segment, element: int, component: int, spec: _Spec, *, present: bool = True) -> str:
    value = segment.get(element, component)

    def fail(reason: str) -> EdiSyntaxError:
        return EdiSyntaxError(reason, segment_position=segment.position, segment_tag=segment.tag,
                              element_index=element, component_index=component, offset=segment.offset)

    if not value:
        if spec.mandatory and present:
            raise fail(f"{spec.name} is mandatory and missing")
        return value
    if len(value) > spec.max_length:
        raise fail(f"{spec.name} {value!r} is {len(value)} characters long, at most {spec.max_length}")
    if len(value) < spec.min_length:
        raise fail(f"{spec.name} {value!r} must be {spec.min_length} characters long")
    if spec.kind == "n" and not (value.isascii() and value.isdigit()):
        raise fail(f"{spec.name} {value!r} must be numeric")
    if spec.kind == "a" and not (value.isascii() and value.isalpha()):
        raise fail(f"{spec.name} {value!r} must be alphabetic")
    return value


def _shape(segment: Segment, max_elements: int, max_components: Sequence[int]) -> None:
    """Refuse service segments with more elements or components than the syntax version defines."""
    if len(segment.elements) > max_elements:
        raise EdiSyntaxError(f"{segment.tag} has at most {max_elements} data elements, found "
                             f"{len(segment.elements)}", segment_position=segment.position,
                             segment_tag=segment.tag, element_index=max_elements + 1, offset=segment.offset)
    for index, components in enumerate(segment.elements, start=1):
        limit = max_components[index - 1]
        if len(_trim(components)) > limit:
            raise EdiSyntaxError(f"element has at most {limit} component{'s' if limit > 1 else ''}, found "
                                 f"{len(components)}", segment_position=segment.position,
                                 segment_tag=segment.tag, element_index=index, component_index=limit + 1,
                                 offset=segment.offset)


def _date_time(segment: Segment, element: int, version: int) -> tuple[str, str]:
    """S004: date YYMMDD (syntax 1–3) or CCYYMMDD (syntax 4), time HHMM; both real."""
    pattern = "CCYYMMDD" if version >= 4 else "YYMMDD"

    def fail(component: int, reason: str) -> EdiSyntaxError:
        return EdiSyntaxError(reason, segment_position=segment.position, segment_tag=segment.tag,
                              element_index=element, component_index=component, offset=segment.offset)

    date = _value(segment, element, 1, _Spec("date", "n", len(pattern), True))
    time = _value(segment, element, 2, _Spec("time", "n", 4, True))
    if len(date) != len(pattern):
        raise fail(1, f"date {date!r} must be {pattern} in syntax version {version}")
    try:
        if version >= 4:
            dt.date(int(date[:4]), int(date[4:6]), int(date[6:]))
        else:
            dt.date(2000 + int(date[:2]), int(date[2:4]), int(date[4:]))
    except ValueError:
        raise fail(1, f"date {date!r} is not a calendar date ({pattern})") from None
    if len(time) != 4 or int(time[:2]) > 23 or int(time[2:]) > 59:
        raise fail(2, f"time {time!r} is not a time of day (HHMM)")
    return date, time


def _parse_unb(segment: Segment) -> Interchange:
    syntax_id = _value(segment, 1, 1, _Spec("syntax identifier (0001)", "a", 4, True, 4))
    if syntax_id not in SYNTAX_ENCODINGS:
        raise EdiSyntaxError(f"syntax identifier {syntax_id!r} is not supported (known: "
                             f"{', '.join(SYNTAX_ENCODINGS)})", segment_position=segment.position,
                             segment_tag="UNB", element_index=1, component_index=1, offset=segment.offset)
    version_text = _value(segment, 1, 2, _Spec("syntax version number (0002)", "n", 1, True))
    version = int(version_text)
    if not 1 <= version <= 4:
        raise EdiSyntaxError(f"syntax version {version} does not exist (1–4)",
                             segment_position=segment.position, segment_tag="UNB", element_index=1,
                             component_index=2, offset=segment.offset)
    v4 = version >= 4
    _shape(segment, 11, (4 if v4 else 2, 4 if v4 else 3, 4 if v4 else 3, 2, 1, 2, 1, 1, 1, 1, 1))
    internal = 35 if v4 else 14
    sender = Party(
        _value(segment, 2, 1, _Spec("interchange sender identification (0004)", "an", 35, True)),
        _value(segment, 2, 2, _Spec("identification code qualifier (0007)", "an", 4)),
        _value(segment, 2, 3, _Spec("sender internal identification / routing address (0008)", "an",
                                    internal)),
        _value(segment, 2, 4, _Spec("sender internal sub-identification (0042)", "an", 35)),
    )
    recipient = Party(
        _value(segment, 3, 1, _Spec("interchange recipient identification (0010)", "an", 35, True)),
        _value(segment, 3, 2, _Spec("identification code qualifier (0007)", "an", 4)),
        _value(segment, 3, 3, _Spec("recipient internal identification / routing address (0014)", "an",
                                    internal)),
        _value(segment, 3, 4, _Spec("recipient internal sub-identification (0046)", "an", 35)),
    )
    prepared = _date_time(segment, 4, version)
    control_ref = _value(segment, 5, 1, _Spec("interchange control reference (0020)", "an", 14, True))
    has_password = any(segment.get(6, c) for c in (1, 2))
    return Interchange(
        service_chars=DEFAULT_SERVICE_CHARACTERS,
        syntax_id=syntax_id,
        syntax_version=version,
        sender=sender,
        recipient=recipient,
        prepared=prepared,
        control_ref=control_ref,
        recipient_password=_value(segment, 6, 1, _Spec("recipient reference/password (0022)", "an", 14, True),
                                  present=has_password),
        recipient_password_qualifier=_value(segment, 6, 2, _Spec("reference/password qualifier (0025)", "an",
                                                                 2, min_length=2)),
        application_ref=_value(segment, 7, 1, _Spec("application reference (0026)", "an", 14)),
        priority=_value(segment, 8, 1, _Spec("processing priority code (0029)", "a", 1)),
        ack_requested=_value(segment, 9, 1, _Spec("acknowledgement request (0031)", "n", 1)),
        agreement_id=_value(segment, 10, 1, _Spec("interchange agreement identifier (0032)", "an", 35)),
        test_indicator=_value(segment, 11, 1, _Spec("test indicator (0035)", "n", 1)),
        service_code_list_version=_value(segment, 1, 3, _Spec("service code list directory version (0080)",
                                                              "an", 6)),
        character_encoding=_value(segment, 1, 4, _Spec("character encoding (0133)", "an", 3)),
    )


def _parse_unh(segment: Segment, version: int) -> Message:
    v4 = version >= 4
    _shape(segment, 7 if v4 else 4, (1, 7 if v4 else 5, 1, 2, 4, 4, 4))
    has_status = any(segment.get(4, c) for c in (1, 2))
    for element in (5, 6, 7):
        if any(segment.get(element, c) for c in (1, 2, 3, 4)):
            _value(segment, element, 1, _Spec("identification", "an", 14, True))
            for component in (2, 3, 4):
                _value(segment, element, component, _Spec("code", "an", 3))
    return Message(
        reference=_value(segment, 1, 1, _Spec("message reference number (0062)", "an", 14, True)),
        type=_value(segment, 2, 1, _Spec("message type (0065)", "an", 6, True)),
        version=_value(segment, 2, 2, _Spec("message version number (0052)", "an", 3, True)),
        release=_value(segment, 2, 3, _Spec("message release number (0054)", "an", 3, True)),
        agency=_value(segment, 2, 4, _Spec("controlling agency (0051)", "an", 3 if v4 else 2, True)),
        association=_value(segment, 2, 5, _Spec("association assigned code (0057)", "an", 6)),
        type_extra=_trim((
            _value(segment, 2, 6, _Spec("code list directory version number (0110)", "an", 6)),
            _value(segment, 2, 7, _Spec("message type sub-function identification (0113)", "an", 6)),
        )),
        common_access_ref=_value(segment, 3, 1, _Spec("common access reference (0068)", "an", 35)),
        transfer_status=_trim((
            _value(segment, 4, 1, _Spec("sequence of transfers (0070)", "n", 2, True), present=has_status),
            _value(segment, 4, 2, _Spec("first and last transfer (0073)", "a", 1)),
        )),
        header_extra=_trim_elements(segment.elements[4:]),
        position=segment.position,
    )


def _parse_ung(segment: Segment, version: int) -> Group:
    _shape(segment, 8, (1, 2, 2, 2, 1, 1, 3, 1))
    return Group(
        group_id=_value(segment, 1, 1, _Spec("message group identification (0038)", "an", 6, True)),
        sender=Party(
            _value(segment, 2, 1, _Spec("application sender identification (0040)", "an", 35, True)),
            _value(segment, 2, 2, _Spec("identification code qualifier (0007)", "an", 4)),
        ),
        recipient=Party(
            _value(segment, 3, 1, _Spec("application recipient identification (0044)", "an", 35, True)),
            _value(segment, 3, 2, _Spec("identification code qualifier (0007)", "an", 4)),
        ),
        prepared=_date_time(segment, 4, version),
        reference=_value(segment, 5, 1, _Spec("group reference number (0048)", "an", 14, True)),
        agency=_value(segment, 6, 1, _Spec("controlling agency (0051)", "an", 3, version < 4)),
        version=_value(segment, 7, 1, _Spec("message version number (0052)", "an", 3, True)),
        release=_value(segment, 7, 2, _Spec("message release number (0054)", "an", 3, True)),
        association=_value(segment, 7, 3, _Spec("association assigned code (0057)", "an", 6)),
        password=_value(segment, 8, 1, _Spec("application password (0058)", "an", 14)),
        position=segment.position,
    )


def _trailer(segment: Segment, count_name: str, count_length: int, ref_name: str, expected_count: int,
             counted: str, expected_ref: str, header: Segment) -> None:
    """UNT/UNE/UNZ: element 1 a count that must match, element 2 the header's reference.

    `counted` says what was counted, with `{n}` for the number: "message has {n} segments".
    """
    _shape(segment, 2, (1, 1))
    count = _value(segment, 1, 1, _Spec(count_name, "n", count_length, True))
    if int(count) != expected_count:
        label = count_name.split(" (")[0]
        raise EdiSyntaxError(f"{label} says {int(count)}, {counted.format(n=expected_count)}",
                             segment_position=segment.position, segment_tag=segment.tag, element_index=1,
                             offset=segment.offset)
    reference = _value(segment, 2, 1, _Spec(ref_name, "an", 14, True))
    if reference != expected_ref:
        raise EdiSyntaxError(f"{ref_name} {reference!r} differs from {header.tag}'s {expected_ref!r} "
                             f"(segment {header.position})", segment_position=segment.position,
                             segment_tag=segment.tag, element_index=2, offset=segment.offset)


def _read_message(segments: list[Segment], index: int, version: int) -> tuple[Message, int]:
    header = segments[index]
    message = _parse_unh(header, version)
    end = index + 1
    count = len(segments)
    while end < count:
        tag = segments[end].tag
        if tag == "UNT":
            break
        if tag in _ENVELOPE_TAGS:
            segment = segments[end]
            raise EdiSyntaxError(f"{tag} inside message {message.reference!r} (UNH at segment "
                                 f"{header.position}): the message's UNT is missing",
                                 segment_position=segment.position, segment_tag=tag, offset=segment.offset)
        end += 1
    if end == count:
        last = segments[-1]
        raise EdiSyntaxError(f"message {message.reference!r} (UNH at segment {header.position}) has no UNT",
                             segment_position=last.position, segment_tag=last.tag, offset=last.offset)
    trailer = segments[end]
    _trailer(trailer, "segment count (0074)", 10 if version >= 4 else 6, "message reference number (0062)",
             end - index + 1, "message has {n} segments", message.reference, header)
    message.segments = segments[index + 1 : end]
    return message, end + 1


def _assemble(segments: list[Segment], service: ServiceCharacters, una: bool) -> Interchange:
    first = segments[0]
    if first.tag != "UNB":
        raise EdiSyntaxError(f"an interchange starts with UNB (after an optional UNA), found {first.tag}",
                             segment_position=first.position, segment_tag=first.tag, offset=first.offset)
    interchange = _parse_unb(first)
    interchange.service_chars = service
    interchange.una = una
    version = interchange.syntax_version
    count = len(segments)
    index = 1
    while index < count:
        segment = segments[index]
        tag = segment.tag
        if tag == "UNH":
            if interchange.groups:
                raise EdiSyntaxError("message outside a group (UNG…UNE) in an interchange that uses groups",
                                     segment_position=segment.position, segment_tag=tag,
                                     offset=segment.offset)
            message, index = _read_message(segments, index, version)
            interchange.messages.append(message)
        elif tag == "UNG":
            if interchange.messages:
                raise EdiSyntaxError("a group (UNG) after messages outside groups: an interchange has either "
                                     "groups or messages", segment_position=segment.position, segment_tag=tag,
                                     offset=segment.offset)
            group, index = _read_group(segments, index, version)
            interchange.groups.append(group)
        elif tag == "UNZ":
            break
        else:
            if tag == "UNB":
                reason = "a second UNB: the interchange before it has no UNZ"
            elif tag in ("UNT", "UNE"):
                reason = f"{tag} without {'UNH' if tag == 'UNT' else 'UNG'}"
            else:
                reason = f"{tag} outside a message: every segment after UNB belongs between UNH and UNT"
            raise EdiSyntaxError(reason, segment_position=segment.position, segment_tag=tag,
                                 offset=segment.offset)
    if index >= count:
        last = segments[-1]
        raise EdiSyntaxError(f"the interchange has no UNZ (it ends with {last.tag})",
                             segment_position=last.position, segment_tag=last.tag, offset=last.offset)
    trailer = segments[index]
    if interchange.groups:
        expected, counted = len(interchange.groups), "interchange has {n} groups"
    else:
        expected, counted = len(interchange.messages), "interchange has {n} messages"
    _trailer(trailer, "interchange control count (0036)", 6, "interchange control reference (0020)", expected,
             counted, interchange.control_ref, first)
    if index + 1 < count:
        extra = segments[index + 1]
        raise EdiSyntaxError("data after UNZ: one interchange per file", segment_position=extra.position,
                             segment_tag=extra.tag, offset=extra.offset)
    return interchange


def _read_group(segments: list[Segment], index: int, version: int) -> tuple[Group, int]:
    header = segments[index]
    group = _parse_ung(header, version)
    index += 1
    count = len(segments)
    while index < count:
        segment = segments[index]
        if segment.tag == "UNH":
            message, index = _read_message(segments, index, version)
            group.messages.append(message)
        elif segment.tag == "UNE":
            _trailer(segment, "number of messages (0060)", 6, "group reference number (0048)",
                     len(group.messages), "group has {n} messages", group.reference, header)
            return group, index + 1
        else:
            reason = (f"{segment.tag} inside group {group.reference!r} (UNG at segment {header.position}): "
                      + ("the group's UNE is missing" if segment.tag in _ENVELOPE_TAGS
                         else "every segment in a group belongs between UNH and UNT"))
            raise EdiSyntaxError(reason, segment_position=segment.position, segment_tag=segment.tag,
                                 offset=segment.offset)
    last = segments[-1]
    raise EdiSyntaxError(f"group {group.reference!r} (UNG at segment {header.position}) has no UNE",
                         segment_position=last.position, segment_tag=last.tag, offset=last.offset)


def parse(data: bytes | str) -> Interchange:
    """Read one interchange and check its envelope strictly; `EdiSyntaxError` names the first error.

    Checked: UNB first (after an optional UNA) and UNZ last; the service segments' elements (presence,
    length, numeric/alphabetic, dates); UNZ count (messages, or groups when groups are used) and reference;
    UNE count and reference; UNT segment count (UNH…UNT inclusive) and reference; nothing outside messages,
    no UNH/UNG/UNB inside a message or group; and, through the tokenizer, the characters of the syntax
    level. When an illegal character comes before an envelope error, the character is reported.
    """
    tokens = _read(data)
    try:
        interchange = _assemble(tokens.segments, tokens.service_chars, tokens.una)
    except EdiSyntaxError as error:
        if tokens.char_error is not None and tokens.char_error.segment_position <= error.segment_position:
            raise tokens.char_error from None
        raise
    if tokens.char_error is not None:
        raise tokens.char_error
    interchange.warnings = list(tokens.warnings)
    return interchange


def every_interchange(data: bytes | str) -> list[Interchange]:
    """Every interchange of a file, in file order, each read as strictly as `parse` reads one (a VAN's
    concatenated daily file, an ERP's batch export); the first refusal raises, naming the interchange."""
    return interchanges_parsed(data, parse, EdiSyntaxError)


# ----------------------------------------------------------------------------------------------------------
# Writing


def _escaper(service: ServiceCharacters) -> Callable[[str], str]:
    release = service.release_character
    specials = service.delimiters
    if release is None:
        def check_only(value: str) -> str:
            for char in specials:
                if char in value:
                    raise ValueError(f"{char!r} in data, and these service characters have no release "
                                     "character to write it")
            return value
        return check_only
    table = str.maketrans({c: release + c for c in specials})
    pattern = re.compile("[" + re.escape(specials) + "]")

    def escape(value: str) -> str:
        return value.translate(table) if pattern.search(value) else value
    return escape


def _element_text(element: str | Sequence[str], escape: Callable[[str], str], component_sep: str) -> str:
    components = [element] if isinstance(element, str) else list(element)
    while components and not components[-1]:
        components.pop()
    return component_sep.join(escape(c) for c in components)


def serialize_segment(tag: str, elements: Iterable[str | Sequence[str]],
                      service_chars: ServiceCharacters = DEFAULT_SERVICE_CHARACTERS) -> str:
    """One segment as text, terminator included: service characters in data are released (``?+``),
    trailing empty components and elements are left out. An element is a str or a sequence of components."""
    if not _TAG.fullmatch(tag):
        raise ValueError(f"segment tag must be 3 upper case letters or digits, got {tag!r}")
    escape = _escaper(service_chars)
    texts = [_element_text(e, escape, service_chars.component) for e in elements]
    while texts and not texts[-1]:
        texts.pop()
    return service_chars.element.join([tag, *texts]) + service_chars.terminator


def build_interchange(
    *,
    sender: Party,
    recipient: Party,
    control_ref: str,
    prepared: dt.datetime,
    messages: Sequence[Message] = (),
    groups: Sequence[Group] = (),
    syntax_id: str = "UNOC",
    syntax_version: int = 3,
    service_chars: ServiceCharacters | None = None,
    application_ref: str = "",
    test_indicator: str = "",
    ack_requested: str = "",
    una: bool = False,
) -> Interchange:
    """An interchange to write: UNB fields from arguments (the date in the version's format), and the
    messages or groups as given. Counts, UNT/UNE/UNZ and their references are computed when written."""
    date = prepared.strftime("%Y%m%d" if syntax_version >= 4 else "%y%m%d")
    return Interchange(
        service_chars=service_chars or default_service_characters(syntax_version),
        syntax_id=syntax_id,
        syntax_version=syntax_version,
        sender=sender,
        recipient=recipient,
        prepared=(date, prepared.strftime("%H%M")),
        control_ref=control_ref,
        application_ref=application_ref,
        test_indicator=test_indicator,
        ack_requested=ack_requested,
        messages=list(messages),
        groups=list(groups),
        una=una,
    )


def _interchange_segments(interchange: Interchange) -> list[tuple[str, list[str | Sequence[str]]]]:
    i = interchange
    if i.groups and i.messages:
        raise ValueError("an interchange has either groups or messages outside groups, not both")

    def party(p: Party) -> list[str]:
        return [p.id, p.qualifier, p.internal, p.internal_sub]

    out: list[tuple[str, list[str | Sequence[str]]]] = [("UNB", [
        [i.syntax_id, str(i.syntax_version), i.service_code_list_version, i.character_encoding],
        party(i.sender), party(i.recipient), list(i.prepared), i.control_ref,
        [i.recipient_password, i.recipient_password_qualifier], i.application_ref, i.priority,
        i.ack_requested, i.agreement_id, i.test_indicator,
    ])]

    def message_segments(m: Message) -> None:
        identifier = [m.type, m.version, m.release, m.agency, m.association, *m.type_extra]
        out.append(("UNH", [m.reference, identifier, m.common_access_ref, list(m.transfer_status),
                            *m.header_extra]))
        out.extend((s.tag, list(s.elements)) for s in m.segments)
        out.append(("UNT", [str(len(m.segments) + 2), m.reference]))

    for group in i.groups:
        out.append(("UNG", [group.group_id, [group.sender.id, group.sender.qualifier],
                            [group.recipient.id, group.recipient.qualifier], list(group.prepared),
                            group.reference, group.agency, [group.version, group.release, group.association],
                            group.password]))
        for message in group.messages:
            message_segments(message)
        out.append(("UNE", [str(len(group.messages)), group.reference]))
    for message in i.messages:
        message_segments(message)
    out.append(("UNZ", [str(len(i.groups) if i.groups else len(i.messages)), i.control_ref]))
    return out


def serialize_interchange(interchange: Interchange, *, una: bool | None = None, newline: str = "") -> str:
    """The interchange as text: UNA (when asked, when `interchange.una`, or when the service characters are
    not the version's defaults), UNB, groups and messages with computed UNT/UNE/UNZ counts, UNZ.

    `newline` ("", "\\n" or "\\r\\n") is written after every segment terminator. Data the syntax level cannot
    carry (a lower case letter in UNOA, a service character without a release character) raises
    `EdiSyntaxError` naming the segment as it would be numbered in the output.
    """
    if newline not in ("", "\n", "\r\n"):
        raise ValueError("newline must be '', '\\n' or '\\r\\n'")
    service = interchange.service_chars
    service.check()
    default = default_service_characters(interchange.syntax_version)
    write_una = una if una is not None else (interchange.una or service != default)
    if not write_una and service != default:
        raise ValueError(f"service characters {service.una!r} differ from the defaults: a UNA is needed")
    check = _char_check(interchange.syntax_id, service, False)
    parts: list[str] = []
    position = 1
    if write_una:
        parts.append(service.una + newline)
        position = 2
    for tag, elements in _interchange_segments(interchange):
        try:
            text = serialize_segment(tag, elements, service)
        except ValueError as error:
            raise EdiSyntaxError(str(error), segment_position=position, segment_tag=tag) from None
        if check is not None:
            bad = check.search(text, 0, len(text) - 1)
            if bad is not None:
                raise _char_error(text, bad.start(), interchange.syntax_id, service, position, tag, 0)
        parts.append(text + newline)
        position += 1
    return "".join(parts)


def write_interchange(interchange: Interchange, *, una: bool | None = None, newline: str = "") -> bytes:
    """`serialize_interchange` encoded with the syntax level's character set (UNOA/UNOB ASCII, UNOC
    ISO 8859-1, UNOW/UNOY UTF-8, …); a character the set lacks raises `EdiSyntaxError`."""
    text = serialize_interchange(interchange, una=una, newline=newline)
    codec = SYNTAX_ENCODINGS.get(interchange.syntax_id)
    if codec is None:
        raise EdiSyntaxError(f"syntax identifier {interchange.syntax_id!r} is not supported",
                             segment_position=2 if text.startswith("UNA") else 1, segment_tag="UNB",
                             element_index=1, component_index=1)
    try:
        return text.encode(codec)
    except UnicodeEncodeError as error:
        tokens = _read(text)
        at = next((s for s in reversed(tokens.segments) if s.offset <= error.start), tokens.segments[0])
        raise EdiSyntaxError(f"character {text[error.start]!r} cannot be written in {interchange.syntax_id} "
                             f"({codec})", segment_position=at.position, segment_tag=at.tag,
                             offset=error.start) from None


# ----------------------------------------------------------------------------------------------------------
# Sniff and inspect


def sniff(data: bytes) -> bool:
    """UNA or UNB (followed by a separator) at the start, after an optional byte order mark and whitespace."""
    head = data[:64]
    if head.startswith(_BOM_BYTES):
        head = head[3:]
    head = head.lstrip(b" \t\r\n")
    if head.startswith(b"UNA"):
        return len(head) >= 9
    return head.startswith(b"UNB") and len(head) > 3 and not chr(head[3]).isalnum()


def all_messages_are(data: bytes, message_type: str) -> bool:
    """An EDIFACT interchange (UNA/UNB) whose messages are all `message_type` (at least one).

    In a file of several interchanges, one that cannot even be split into segments does not decide what
    the file is (the reader of `message_type` refuses it on its own, naming it), as long as another one
    carries `message_type` messages; a file of one interchange that cannot be split is no `message_type`."""
    if not sniff(data):
        return False
    segments = segments_of_each(data, tokenize)  # each interchange has its own service characters
    if segments is None:
        return False
    types = [s.get(2, 1) for s in segments if s.tag == "UNH"]
    return bool(types) and all(t == message_type for t in types)


def _first(segments: Iterable[Segment], tag: str, qualifier: str | None = None) -> Segment | None:
    for segment in segments:
        if segment.tag == tag and (qualifier is None or segment.get(1) == qualifier):
            return segment
    return None


def _document_hint(message: Message) -> dict[str, str]:
    """BGM document code, number and function; the document date (DTM 137) when given."""
    hint: dict[str, str] = {}
    bgm = _first(message.segments, "BGM")
    if bgm is not None:
        for key, value in (("document_code", bgm.get(1)), ("document_number", bgm.get(2)),
                           ("message_function", bgm.get(3))):
            if value:
                hint[key] = value
    date = _first(message.segments, "DTM", "137")
    if date is not None and date.get(1, 2):
        hint["document_date"] = date.get(1, 2)
    return hint


def _invoice_hint(message: Message) -> dict[str, str]:
    hint = _document_hint(message)
    currency = _first(message.segments, "CUX")
    if currency is not None and currency.get(1, 2):
        hint["currency"] = currency.get(1, 2)
    for qualifier, key in (("77", "invoice_amount"), ("86", "invoice_amount"), ("79", "line_total")):
        amount = _first(message.segments, "MOA", qualifier)
        if amount is not None and key not in hint:
            hint[key] = amount.get(1, 2)
    return hint


def _aperak_hint(message: Message) -> dict[str, Any]:
    hint: dict[str, Any] = _document_hint(message)
    errors = [s.get(1) for s in message.segments if s.tag == "ERC"]
    if errors:
        hint["error_codes"] = errors
    return hint


def _contrl_hint(message: Message) -> dict[str, str]:
    uci = _first(message.segments, "UCI")
    if uci is None:
        return {}
    return {"interchange_ref": uci.get(1), "action": uci.get(4)}


_HINTS: dict[str, Callable[[Message], dict[str, Any]]] = {
    "INVOIC": _invoice_hint,
    "APERAK": _aperak_hint,
    "CONTRL": _contrl_hint,
    **{t: _document_hint for t in ("DESADV", "ORDERS", "ORDRSP", "REMADV", "IFTSTA", "RECADV")},
}


def _message_summary(message: Message, group: str | None) -> dict[str, Any]:
    summary: dict[str, Any] = {
        "reference": message.reference,
        "type": message.type,
        "version": message.version,
        "release": message.release,
        "agency": message.agency,
        "association": message.association,
        "segments": message.segment_count,
        "position": message.position,
    }
    if group is not None:
        summary["group"] = group
    hint = _HINTS.get(message.type)
    if hint is not None:
        found = hint(message)
        if found:
            summary["hint"] = found
    return summary


def inspect(data: bytes) -> dict[str, Any]:
    """What the gateway reads from an EDIFACT interchange (for `gateway inspect --json`).

    The whole envelope is checked first: a malformed interchange raises `EdiSyntaxError` rather than giving
    a partial answer.
    """
    interchange = parse(data)
    i = interchange
    messages = [_message_summary(m, g.reference) for g in i.groups for m in g.messages]
    messages += [_message_summary(m, None) for m in i.messages]
    return {
        "format": FORMAT_NAME,
        "syntax": {"identifier": i.syntax_id, "version": i.syntax_version,
                   "service_characters": i.service_chars.una, "una": i.una},
        "sender": i.sender.as_dict(),
        "recipient": i.recipient.as_dict(),
        "prepared": {"date": i.prepared[0], "time": i.prepared[1]},
        "control_ref": i.control_ref,
        "application_ref": i.application_ref,
        "test": i.is_test,
        "groups": [
            {"group_id": g.group_id, "reference": g.reference, "sender": g.sender.as_dict(),
             "recipient": g.recipient.as_dict(), "version": g.version, "release": g.release,
             "agency": g.agency, "association": g.association, "messages": len(g.messages)}
            for g in i.groups
        ],
        "message_count": len(messages),
        "messages": messages,
    }
