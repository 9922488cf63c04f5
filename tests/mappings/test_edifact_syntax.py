"""The EDIFACT syntax layer (`mappings.syntax.edifact`) on every real sample in shared/samples/edi/edifact.

Each sample was read by eye (and against SOURCES.md) and put in one of three tables below, with what it
contains or where its first error is. The decision for each file is written next to it. The figures come
from the files themselves: UNB, UNH, UNT and UNZ as written, and BGM document numbers.

Then the cases the samples do not cover: release characters, a UNA with other characters, CRLF and BOM,
syntax level A characters, broken envelopes, groups (UNG…UNE: no sample has one, and pydifact cannot read
them), syntax version 4 repetition, the serializer, and junk.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, replace

import pytest

from mappings.base import FormatError
from mappings.syntax import edifact
from mappings.syntax.edifact import (
    DEFAULT_SERVICE_CHARACTERS,
    EdiSyntaxError,
    Interchange,
    Message,
    Party,
    Segment,
    ServiceCharacters,
    build_interchange,
    serialize_interchange,
    serialize_segment,
    sniff,
    tokenize,
    write_interchange,
)
from tests.conftest import SHARED

SAMPLES = SHARED / "samples" / "edi" / "edifact"


@dataclass(frozen=True)
class Good:
    syntax: tuple[str, int]
    sender: tuple[str, str]
    recipient: tuple[str, str]
    control_ref: str
    #: per message: UNH reference, type, association code, segment count as the UNT says
    messages: tuple[tuple[str, str, str, int], ...]
    una: bool
    #: BGM document numbers (element 2), message by message
    documents: tuple[str, ...] = ()
    #: the newline our writer must use to give back the very same bytes (None: not byte-identical)
    golden_newline: str | None = None


GOOD: dict[str, Good] = {
    "INVOIC/bots_invoic1_D96A_EAN008_generated.edi": Good(
        ("UNOC", 3), ("5555555555555", "14"), ("1111111111111", "14"), "3",
        (("14", "INVOIC", "EAN008", 85), ("16", "INVOIC", "EAN008", 39)), una=True,
        documents=("DOCNUM", "DOCNUM"), golden_newline="\r\n"),
    "INVOIC/bots_invoic3_D96A_EAN008_generated.edi": Good(
        ("UNOC", 3), ("6666666666666", "14"), ("1111111111111", "14"), "3",
        (("18", "INVOIC", "EAN008", 39),), una=True, documents=("DOCNUM",), golden_newline="\r\n"),
    # UNOA without UNA: every character is in level A's repertoire (checked, not assumed).
    "INVOIC/bots_dutchic_invoic1_D96A_EAN008_generated.edi": Good(
        ("UNOA", 3), ("8712345678910", "14"), ("8712345678920", "14"), "2",
        (("9", "INVOIC", "EAN008", 67),), una=False, documents=("20051098",), golden_newline="\r\n"),
    # Syntax version 1, sender and recipient without qualifiers, a 14-character control reference.
    "INVOIC/pydifact_invoice1_D97A.edi": Good(
        ("UNOA", 1), ("01010000253001", ""), ("O0013000093SCHA-Z59", ""), "PAYO0012101221",
        (("1", "INVOIC", "", 24),), una=False, documents=("1060113800026",), golden_newline="\n"),
    # Edge, accepted: `RFF+VA:382324067:` has an empty trailing component. ISO 9735 asks writers to leave
    # it out, but it changes nothing and partners send it; the tokenizer keeps it as read, our writer drops
    # it (so this file round-trips to the same data, not the same segments).
    "INVOIC/pydifact_invoice_with_colon_at_end_D97A.edi": Good(
        ("UNOA", 1), ("01010000253001", ""), ("O0013000093SCHA-Z59", ""), "PAYO0012101221",
        (("1", "INVOIC", "", 24),), una=False, documents=("1060113800026",)),
    "APERAK/bots_dutchic_aperak1_D96A_generated.edi": Good(
        ("UNOA", 3), ("PARTNER2", "14"), ("PARTNER1", "14"), "1",
        (("14", "APERAK", "", 8),), una=False, documents=("14",), golden_newline="\r\n"),
    # Three messages; lower case qualifiers (`NAD+lsp`, `NAD+mf`) are fine in UNOC (code lists are a grammar
    # matter, not syntax).
    "DESADV/bots_desadv1_D96A_EAN005_generated.edi": Good(
        ("UNOC", 3), ("5555555555555", "14"), ("1111111111111", "14"), "1",
        (("7", "DESADV", "EAN005", 18), ("8", "DESADV", "EAN005", 134), ("10", "DESADV", "EAN005", 24)),
        una=True, documents=("1923", "DOCNUM", "DOCNUM"), golden_newline="\r\n"),
    "DESADV/bots_dutchic_desadv1_D96A_EAN005_generated.edi": Good(
        ("UNOA", 3), ("8712345678910", "14"), ("8712345678920", "14"), "1",
        tuple((str(n), "DESADV", "EAN005", count)
              for n, count in enumerate((38, 16, 15, 15, 18, 16, 16, 14), start=1)),
        una=False, documents=tuple(f"VERZENDVB{n}" for n in range(8, 0, -1)), golden_newline="\r\n"),
    # Edge, accepted: message version "0" instead of "D" (0052 is an..3: syntactically fine; the directory
    # lookup that a grammar layer does will refuse it), UNOC announced with syntax version 1, and BGM 1225
    # "700101" are all outside what this layer checks. No newline after the last terminator.
    "DESADV/phpedifact_D96ADESADV.edi": Good(
        ("UNOC", 1), ("1556150", "31B"), ("8888888", "ZZ"), "1",
        (("142", "DESADV", "", 21),), una=False, documents=("Y02197250",)),
}


@dataclass(frozen=True)
class Bad:
    position: int
    tag: str
    element: int | None
    component: int | None
    reason: str


MALFORMED: dict[str, Bad] = {
    # A real bug report: an empty UNB ("UNB+++++4") before the real one. The first error is its missing
    # syntax identifier; the second UNB and the missing control reference come after. No partner should get
    # this accepted.
    "APERAK/edinet_aperak_issue235.edi": Bad(2, "UNB", 1, 1, "syntax identifier (0001) is mandatory"),
    # UNOA, but the FTX free text is in lower case ("Message accepted…"): level A has no lower case letters.
    # Partners that tolerate this exist, but it is exactly what a CONTRL with 7/"character set" rejects; we
    # reject it. The UNT count (8, the message has 7) is wrong as well: see the test below.
    "APERAK/pydifact_aperak_v3.edi": Bad(8, "FTX", 4, 1, "'e' (U+0065) is not allowed in UNOA"),
    "APERAK/pydifact_aperak_rejected_v3.edi": Bad(8, "FTX", 4, 1, "'r' (U+0072) is not allowed in UNOA"),
    # Syntax version 4 dates are CCYYMMDD; this UNB says 250322. That comes before the lower case FTX and
    # the wrong UNT count, so it is the first error.
    "APERAK/pydifact_aperak_v4.edi": Bad(2, "UNB", 4, 1, "must be CCYYMMDD in syntax version 4"),
}

#: Bare messages (UNA, UNH…UNT) without UNB/UNZ: they tokenize and their UNT counts are right, but they are
#: not interchanges, and `edifact.parse` rejects them at the UNH. The "malformed" pair differs from the
#: "conforming" pair only in grammar (BGM missing, DTM 137 without format 2379, NAD qualifier ZZZ), which is
#: invisible at the syntax level: the message grammar layer has to catch those.
NO_ENVELOPE: dict[str, tuple[int, str]] = {
    "INVOIC/edifactrs_d96a_invoic_conforming.edi": (7, "INV-9901"),
    "INVOIC/edifactrs_d01b_invoic_conforming.edi": (7, "INV-9001"),
    "INVOIC/edifactrs_d96a_invoic_malformed.edi": (4, ""),
    "INVOIC/edifactrs_d01b_invoic_malformed.edi": (4, ""),
}


def _read(name: str) -> bytes:
    return (SAMPLES / name).read_bytes()


def _content(segments: list[Segment]) -> list[tuple[str, tuple[tuple[str, ...], ...]]]:
    return [(s.tag, s.elements) for s in segments]


def _trimmed(segments: list[Segment]) -> list[tuple[str, tuple[tuple[str, ...], ...]]]:
    return _content([s.trimmed() for s in segments])


def test_every_sample_is_classified() -> None:
    on_disk = {str(p.relative_to(SAMPLES)) for p in SAMPLES.rglob("*.edi")}
    classified = set(GOOD) | set(MALFORMED) | set(NO_ENVELOPE)
    assert on_disk == classified


@pytest.mark.parametrize("name", sorted(GOOD))
def test_good_sample_parses(name: str) -> None:
    expected = GOOD[name]
    data = _read(name)
    assert sniff(data)
    interchange = edifact.parse(data)
    assert (interchange.syntax_id, interchange.syntax_version) == expected.syntax
    assert (interchange.sender.id, interchange.sender.qualifier) == expected.sender
    assert (interchange.recipient.id, interchange.recipient.qualifier) == expected.recipient
    assert interchange.control_ref == expected.control_ref
    assert interchange.una is expected.una
    assert interchange.groups == []
    messages = interchange.all_messages
    summary = [(m.reference, m.type, m.association, m.segment_count) for m in messages]
    assert summary == list(expected.messages)
    assert all(m.agency == "UN" for m in messages)
    # every body segment sits between its UNH and UNT, numbered in file order
    for message in messages:
        positions = [s.position for s in message.segments]
        assert positions == list(range(message.position + 1, message.position + message.segment_count - 1))

    report = edifact.inspect(data)
    assert report["format"] == "edifact"
    assert report["control_ref"] == expected.control_ref
    assert report["message_count"] == len(expected.messages)
    assert [m["hint"].get("document_number", "") for m in report["messages"]] == list(expected.documents)
    assert "error" not in report


@pytest.mark.parametrize("name", sorted(GOOD))
def test_good_sample_round_trips(name: str) -> None:
    data = _read(name)
    original = tokenize(data)
    interchange = edifact.parse(data)
    for newline in ("", "\n", "\r\n"):
        written = write_interchange(interchange, newline=newline)
        again = tokenize(written)
        assert [s.position for s in again] == [s.position for s in original]
        if name.endswith("colon_at_end_D97A.edi"):
            assert _content(again) == _trimmed(original)
            assert _content(again) != _content(original)
        else:
            assert _content(again) == _content(original)
        # and a second round changes nothing
        assert write_interchange(edifact.parse(written), newline=newline) == written
    golden = GOOD[name].golden_newline
    if golden is not None:
        assert write_interchange(interchange, newline=golden) == data


@pytest.mark.parametrize("name", sorted(MALFORMED))
def test_malformed_sample_is_rejected_at_its_first_error(name: str) -> None:
    expected = MALFORMED[name]
    data = _read(name)
    assert sniff(data)
    with pytest.raises(EdiSyntaxError) as caught:
        edifact.parse(data)
    error = caught.value
    assert isinstance(error, FormatError)
    assert (error.segment_position, error.segment_tag, error.element_index, error.component_index) == (
        expected.position, expected.tag, expected.element, expected.component)
    assert expected.reason in error.reason
    assert str(error).startswith(f"segment {expected.position} ({expected.tag}): element {expected.element}")
    assert error.as_dict()["segment_position"] == expected.position
    with pytest.raises(EdiSyntaxError):
        edifact.inspect(data)


def test_aperak_samples_also_miscount_their_segments() -> None:
    """Behind the UNOA error of the pydifact APERAKs is a UNT that counts 8 where the message has 7."""
    for name in ("APERAK/pydifact_aperak_v3.edi", "APERAK/pydifact_aperak_rejected_v3.edi"):
        data = _read(name).replace(b"UNOA", b"UNOC")
        with pytest.raises(EdiSyntaxError) as caught:
            edifact.parse(data)
        assert str(caught.value) == "segment 9 (UNT): element 1: segment count says 8, message has 7 segments"


@pytest.mark.parametrize("name", sorted(NO_ENVELOPE))
def test_bare_messages_tokenize_but_are_not_interchanges(name: str) -> None:
    count, document = NO_ENVELOPE[name]
    data = _read(name)
    segments = tokenize(data)
    assert segments[0].tag == "UNH"
    assert segments[-1].tag == "UNT"
    assert segments[-1].get(1) == str(count) == str(len(segments))
    assert segments[0].position == 2  # the UNA is segment 1
    bgm = [s for s in segments if s.tag == "BGM"]
    assert (bgm[0].get(2) if bgm else "") == document
    with pytest.raises(EdiSyntaxError) as caught:
        edifact.parse(data)
    assert (caught.value.segment_position, caught.value.segment_tag) == (2, "UNH")
    assert "starts with UNB" in caught.value.reason


# ----------------------------------------------------------------------------------------------------------
# Tokenizer details

UNB = "UNB+UNOC:3+SENDER:14+RECIPIENT:14+240131:1200+REF1'"


def _interchange(*body: str, unb: str = UNB, unz: str | None = None, una: str = "") -> str:
    """An interchange around one message with `body` segments; counts right unless given."""
    message = ["UNH+1+INVOIC:D:96A:UN:EAN008'", *body, f"UNT+{len(body) + 2}+1'"]
    return una + unb + "".join(message) + (unz if unz is not None else "UNZ+1+REF1'")


@pytest.mark.parametrize(
    ("written", "value"),
    [
        ("FTX+AAI+++IT?'S'", "IT'S"),
        ("FTX+AAI+++A?+B'", "A+B"),
        ("FTX+AAI+++A??B'", "A?B"),
        ("FTX+AAI+++A?:B'", "A:B"),
        ("FTX+AAI+++??'", "?"),
        ("FTX+AAI+++?'?+?:??'", "'+:?"),
    ],
)
def test_release_character(written: str, value: str) -> None:
    segments = tokenize(written)
    assert len(segments) == 1
    assert segments[0].elements == (("AAI",), ("",), ("",), (value,))
    assert serialize_segment("FTX", ["AAI", "", "", value]) == written


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        ("FTX+AAI+++ABC?", "ends with the release character"),
        ("FTX+AAI+++ABC?'", "the last segment terminator is released"),
    ],
)
def test_release_character_errors(data: str, reason: str) -> None:
    with pytest.raises(EdiSyntaxError) as caught:
        tokenize(data)
    assert caught.value.segment_position == 1
    assert reason in caught.value.reason


def test_a_release_character_before_an_ordinary_character_is_read_with_a_warning() -> None:
    """Issue 17: `A?BC` (a writer that releases more than the service characters) is read as `ABC`, as ISO
    9735 readers do, and the interchange says so instead of being refused."""
    assert tokenize("FTX+AAI+++A?BC'")[0].elements[3] == ("ABC",)
    data = "UNB+UNOC:3+S+R+240131:1200+9'UNH+1+INVOIC:D:96A:UN'FTX+AAI+++A?BC:D?.E'UNT+3+1'UNZ+1+9'"
    interchange = edifact.parse(data)
    assert interchange.messages[0].segments[0].elements[3] == ("ABC", "D.E")
    assert interchange.warnings == [
        "segment 3 (FTX) element 4 component 1: release character '?' before 'B', which is no service "
        "character: read as 'B'",
        "segment 3 (FTX) element 4 component 2: release character '?' before '.', which is no service "
        "character: read as '.'",
    ]


def test_una_with_other_service_characters() -> None:
    una = "UNA|^,! ~"
    data = (f"{una}UNB^UNOC|3^S^R^240131|1200^9~UNH^1^INVOIC|D|96A|UN~FTX^AAI^^^A!^B!|C!!D!~E+F:G'H~"
            "UNT^3^1~UNZ^1^9~")
    interchange = edifact.parse(data)
    assert interchange.service_chars == ServiceCharacters("|", "^", ",", "!", " ", "~")
    assert interchange.una
    ftx = interchange.messages[0].segments[0]
    assert ftx.elements == (("AAI",), ("",), ("",), ("A^B|C!D~E+F:G'H",))
    assert serialize_interchange(interchange) == data


def test_a_real_sample_written_with_other_service_characters() -> None:
    data = _read("INVOIC/bots_invoic1_D96A_EAN008_generated.edi")
    interchange = edifact.parse(data)
    interchange.service_chars = ServiceCharacters(component="^", element="|", decimal=",", release="\\",
                                                  terminator="#")
    written = write_interchange(interchange)
    assert written.startswith(b"UNA^|,\\ #UNB|UNOC^3|")
    assert _content(tokenize(written)) == _content(tokenize(data))
    with pytest.raises(ValueError, match="a UNA is needed"):
        serialize_interchange(interchange, una=False)


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        ("UNA:+.?", "needs exactly 6 service characters after 'UNA', found 4"),
        ("UNA:+.?" + UNB, "repetition separator 'U' cannot be a letter or digit"),
        ("UNA::.? '" + UNB, "must differ"),
        ("UNA:+;? '" + UNB, "decimal mark must be"),
        ("UNA:A.? '" + UNB, "cannot be a letter or digit"),
    ],
)
def test_bad_una(data: str, reason: str) -> None:
    with pytest.raises(EdiSyntaxError) as caught:
        edifact.parse(data)
    assert (caught.value.segment_position, caught.value.segment_tag) == (1, "UNA")
    assert reason in caught.value.reason


def test_terminator_followed_by_crlf_or_indentation_and_a_bom() -> None:
    plain = _interchange("BGM+380+INV1+9'", "DTM+137:20240131:102'").encode()
    crlf = plain.replace(b"'", b"'\r\n")
    indented = plain.replace(b"'", b"'\n    ")
    bom = b"\xef\xbb\xbf" + b"UNA:+.? '\r\n" + crlf
    reference = _content(tokenize(plain))
    for variant in (crlf, indented, bom):
        assert sniff(variant)
        assert _content(tokenize(variant)) == reference
        assert edifact.parse(variant).messages[0].segments[0].get(2) == "INV1"
    offsets = [s.offset for s in tokenize(crlf)]
    assert [crlf.decode()[o : o + 3] for o in offsets] == [s[0] for s in reference]


def test_syntax_level_a_refuses_lower_case_with_its_position() -> None:
    data = _interchange("BGM+380+INV1+9'", "FTX+AAI+++Paid:OK'", unb=UNB.replace("UNOC", "UNOA"))
    with pytest.raises(EdiSyntaxError) as caught:
        edifact.parse(data)
    error = caught.value
    assert (error.segment_position, error.segment_tag, error.element_index, error.component_index) == (
        4, "FTX", 4, 1)
    assert error.offset == data.index("Paid") + 1  # the 'a'
    assert "'a' (U+0061) is not allowed in UNOA" in error.reason
    # the same text is fine in UNOC, and UNOA characters such as ()/=!"%&*;<> are fine in UNOA
    edifact.parse(data.replace("UNOA", "UNOC"))
    edifact.parse(_interchange("FTX+AAI+++(A)/B=C!\"%&*;<>.,-'", unb=UNB.replace("UNOC", "UNOA")))


def test_syntax_level_decides_the_decoding() -> None:
    def wrap(syntax: str, text: bytes) -> bytes:
        return _interchange("FTX+AAI+++X'", unb=UNB.replace("UNOC", syntax)).encode().replace(b"+X'", text)

    assert edifact.parse(wrap("UNOC", b"+Caf\xe9'")).messages[0].segments[0].get(4) == "Café"
    assert edifact.parse(wrap("UNOW", "+Café Øl'".encode())).messages[0].segments[0].get(4) == "Café Øl"
    for syntax, data, byte in (("UNOW", b"+Caf\xe9'", "0xE9"), ("UNOB", b"+Caf\xe9'", "0xE9"),
                               ("UNOA", b"+CAF\xc9'", "0xC9")):
        with pytest.raises(EdiSyntaxError) as caught:
            edifact.parse(wrap(syntax, data))
        assert (caught.value.segment_position, caught.value.segment_tag) == (3, "FTX")
        assert f"byte {byte}" in caught.value.reason


@pytest.mark.parametrize(
    ("data", "position", "tag", "element", "reason"),
    [
        (_interchange("BGM+380'", "DTM+137:20240131:102'").replace("UNT+4", "UNT+3"), 5, "UNT", 1,
         "segment count says 3, message has 4 segments"),
        (_interchange("BGM+380'").replace("UNT+3+1", "UNT+3+2"), 4, "UNT", 2,
         "message reference number (0062) '2' differs from UNH's '1' (segment 2)"),
        (_interchange("BGM+380'", unz="UNZ+1+REF2'"), 5, "UNZ", 2,
         "interchange control reference (0020) 'REF2' differs from UNB's 'REF1' (segment 1)"),
        (_interchange("BGM+380'", unz="UNZ+2+REF1'"), 5, "UNZ", 1,
         "interchange control count says 2, interchange has 1 messages"),
        (_interchange("BGM+380'", unz=""), 4, "UNT", None, "the interchange has no UNZ"),
        (_interchange("BGM+380'", unz="UNZ+1+REF1'UNB+UNOC:3+A+B+240131:1200+2'"), 6, "UNB", None,
         "data after UNZ"),
        (_interchange("BGM+380'", "UNH+2+INVOIC:D:96A:UN'"), 4, "UNH", None,
         "UNH inside message '1' (UNH at segment 2): the message's UNT is missing"),
        (UNB + "UNH+1+INVOIC:D:96A:UN'BGM+380'UNZ+1+REF1'", 4, "UNZ", None, "UNT is missing"),
        (UNB + "BGM+380'UNZ+0+REF1'", 2, "BGM", None, "BGM outside a message"),
        (UNB + "UNT+2+1'UNZ+0+REF1'", 2, "UNT", None, "UNT without UNH"),
        ("UNH+1+INVOIC:D:96A:UN'UNT+2+1'", 1, "UNH", None, "starts with UNB"),
        (_interchange("BGM+380'", unb=UNB.replace("240131", "240231")), 1, "UNB", 4,
         "'240231' is not a calendar date"),
        (_interchange("BGM+380'", unb=UNB.replace("REF1", "REF456789012345")), 1, "UNB", 5,
         "is 15 characters long, at most 14"),
        (_interchange("BGM+380'", unb=UNB.replace("UNOC", "UNOZ")), 1, "UNB", 1,
         "syntax identifier 'UNOZ' is not supported"),
        (_interchange("BGM+380'", unb=UNB[:-1] + "++++++X'"), 1, "UNB", 11, "test indicator (0035) 'X'"),
        (_interchange("BGM+380'", unb=UNB[:-1] + "++++++1+1'"), 1, "UNB", 12, "at most 11 data elements"),
        (_interchange("BGM+380'").replace(":UN:EAN008", "::EAN008"), 2, "UNH", 2,
         "controlling agency (0051) is mandatory"),
        (_interchange("BGM+380''"), 4, "", None, "empty segment"),
        (_interchange("BGM+380'", "dtm+137'"), 4, "dtm", None, "segment tag must be 3 upper case"),
        (_interchange("BGM+380'")[:-1], 5, "UNZ", None, "no segment terminator"),
    ],
)
def test_envelope_errors(data: str, position: int, tag: str, element: int | None, reason: str) -> None:
    with pytest.raises(EdiSyntaxError) as caught:
        edifact.parse(data)
    error = caught.value
    assert (error.segment_position, error.segment_tag, error.element_index) == (position, tag, element)
    assert reason in error.reason
    assert error.offset is not None


def test_a_missing_terminator_inside_is_a_tag_error_or_a_count_error() -> None:
    """`BGM+380 DTM+137'` is one BGM: the UNT count then no longer matches (not silently read)."""
    data = _interchange("BGM+380+A'", "DTM+137:20240131:102'").replace("A'DTM", "ADTM")
    with pytest.raises(EdiSyntaxError, match="segment count says 4, message has 3 segments"):
        edifact.parse(data)


GROUPED = (
    "UNA:+.? '"
    "UNB+UNOC:3+5555555555555:14+1111111111111:14+130123:0123+3'"
    "UNG+INVOIC+5555555555555:14+1111111111111:14+130123:0123+G1+UN+D:96A:EAN008'"
    "UNH+14+INVOIC:D:96A:UN:EAN008'BGM+380+INV1'UNT+3+14'"
    "UNH+16+INVOIC:D:96A:UN:EAN008'BGM+380+INV2'DTM+137:20130123:102'UNT+4+16'"
    "UNE+2+G1'"
    "UNG+INVOIC+5555555555555:14+1111111111111:14+130123:0123+G2+UN+D:96A:EAN008'"
    "UNH+17+INVOIC:D:96A:UN:EAN008'BGM+380+INV3'UNT+3+17'"
    "UNE+1+G2'"
    "UNZ+2+3'"
)


def test_groups() -> None:
    interchange = edifact.parse(GROUPED)
    assert interchange.messages == []
    assert [(g.group_id, g.reference, len(g.messages), g.position) for g in interchange.groups] == [
        ("INVOIC", "G1", 2, 3), ("INVOIC", "G2", 1, 12)]
    first = interchange.groups[0]
    assert (first.sender, first.recipient) == (Party("5555555555555", "14"), Party("1111111111111", "14"))
    assert (first.agency, first.version, first.release, first.association) == ("UN", "D", "96A", "EAN008")
    assert [m.reference for m in interchange.all_messages] == ["14", "16", "17"]
    report = edifact.inspect(GROUPED.encode())
    assert [(m["group"], m["hint"]["document_number"]) for m in report["messages"]] == [
        ("G1", "INV1"), ("G1", "INV2"), ("G2", "INV3")]
    assert serialize_interchange(interchange) == GROUPED


@pytest.mark.parametrize(
    ("change", "position", "tag", "reason"),
    [
        (("UNE+2+G1'", "UNE+3+G1'"), 11, "UNE", "number of messages says 3, group has 2 messages"),
        (("UNE+2+G1'", "UNE+2+G9'"), 11, "UNE", "'G9' differs from UNG's 'G1' (segment 3)"),
        (("UNZ+2+3'", "UNZ+3+3'"), 17, "UNZ", "interchange control count says 3, interchange has 2 groups"),
        (("UNE+1+G2'", ""), 16, "UNZ", "inside group 'G2' (UNG at segment 12): the group's UNE is missing"),
        (("UNE+1+G2'", "UNE+1+G2'UNH+18+INVOIC:D:96A:UN'UNT+2+18'"), 17, "UNH",
         "message outside a group"),
        (("UNE+2+G1'", "UNE+2+G1'BGM+1'"), 12, "BGM", "BGM outside a message"),
    ],
)
def test_group_errors(change: tuple[str, str], position: int, tag: str, reason: str) -> None:
    with pytest.raises(EdiSyntaxError) as caught:
        edifact.parse(GROUPED.replace(*change))
    assert (caught.value.segment_position, caught.value.segment_tag) == (position, tag)
    assert reason in caught.value.reason


def test_syntax_version_4_repetition_separator() -> None:
    unb = "UNB+UNOC:4+SENDER:14+RECIPIENT:14+20240131:1200+REF1'"
    released = _interchange("FTX+AAI+++5?*3'", unb=unb)
    assert edifact.parse(released).messages[0].segments[0].get(4) == "5*3"
    with pytest.raises(EdiSyntaxError) as caught:
        edifact.parse(_interchange("FTX+AAI+++5*3'", unb=unb))
    assert (caught.value.segment_position, caught.value.element_index) == (3, 4)
    assert "repetition separator '*'" in caught.value.reason
    # in syntax 3 '*' is ordinary data, and in syntax 4 the writer releases it
    assert edifact.parse(_interchange("FTX+AAI+++5*3'")).messages[0].segments[0].get(4) == "5*3"
    interchange = edifact.parse(released)
    assert "FTX+AAI+++5?*3'" in serialize_interchange(interchange)
    # the syntax 4 date is CCYYMMDD
    with pytest.raises(EdiSyntaxError, match="must be CCYYMMDD in syntax version 4"):
        edifact.parse(_interchange(unb=unb.replace("20240131", "240131")))


# ----------------------------------------------------------------------------------------------------------
# Writing


def test_serialize_segment_releases_and_drops_trailing_empties() -> None:
    assert serialize_segment("RFF", [("VA", "382324067", "")]) == "RFF+VA:382324067'"
    assert serialize_segment("TAX", ["7", "VAT", "", "", ("", "", "", "19"), "S", "", ("", "")]) == (
        "TAX+7+VAT+++:::19+S'")
    assert serialize_segment("FTX", ["AAI", "", "", "50% OFF+FREE: 'NOW'?"]) == (
        "FTX+AAI+++50% OFF?+FREE?: ?'NOW?'??'")
    assert serialize_segment("UNS", ["S"]) == "UNS+S'"
    with pytest.raises(ValueError, match="segment tag"):
        serialize_segment("bgm", [])
    no_release = replace(DEFAULT_SERVICE_CHARACTERS, release=" ")
    with pytest.raises(ValueError, match="no release character"):
        serialize_segment("FTX", ["A+B"], no_release)


def _invoice_message(reference: str, number: str) -> Message:
    return Message(reference=reference, type="INVOIC", version="D", release="96A", agency="UN",
                   association="EAN008", segments=[
                       Segment.of("BGM", "380", number, "9"),
                       Segment.of("DTM", ("137", "20240131", "102")),
                       Segment.of("FTX", "AAI", "", "", "Note: 10% + VAT isn't included?"),
                       Segment.of("UNS", "S"),
                   ])


def test_build_and_write_an_interchange() -> None:
    interchange = build_interchange(
        sender=Party("7080005051288", "14"), recipient=Party("5790000000000", "14"), control_ref="1042",
        prepared=dt.datetime(2024, 1, 31, 12, 5), messages=[_invoice_message("1", "INV-1"),
                                                             _invoice_message("2", "INV-2")],
        test_indicator="1")
    text = serialize_interchange(interchange, newline="\n")
    assert text.splitlines()[0] == "UNB+UNOC:3+7080005051288:14+5790000000000:14+240131:1205+1042++++++1'"
    assert "UNT+6+1'" in text and "UNT+6+2'" in text
    assert text.endswith("UNZ+2+1042'\n")
    assert "FTX+AAI+++Note?: 10% ?+ VAT isn?'t included??'" in text
    back = edifact.parse(write_interchange(interchange, newline="\r\n"))
    assert back.is_test
    assert [m.segments[0].get(2) for m in back.messages] == ["INV-1", "INV-2"]
    assert [s.same_content(t) for s, t in zip(back.messages[0].segments, interchange.messages[0].segments,
                                               strict=True)] == [True] * 4
    # UNOA cannot carry lower case letters: refused when written, with the segment as it would be numbered
    unoa = replace(interchange, syntax_id="UNOA")
    with pytest.raises(EdiSyntaxError) as caught:
        write_interchange(unoa)
    assert (caught.value.segment_position, caught.value.segment_tag) == (5, "FTX")
    # UNOB is ASCII: a character outside it is refused when encoded
    accented = replace(interchange, syntax_id="UNOB", messages=[
        replace(_invoice_message("1", "INV-1"), segments=[Segment.of("FTX", "AAI", "", "", "Café")])])
    with pytest.raises(EdiSyntaxError, match="cannot be written in UNOB") as caught:
        write_interchange(accented)
    assert (caught.value.segment_position, caught.value.segment_tag) == (3, "FTX")
    assert write_interchange(replace(accented, syntax_id="UNOC")).count(b"Caf\xe9") == 1


def test_interchange_has_groups_or_messages_not_both() -> None:
    interchange = edifact.parse(GROUPED)
    interchange.messages.append(_invoice_message("9", "X"))
    with pytest.raises(ValueError, match="either groups or messages"):
        serialize_interchange(interchange)


# ----------------------------------------------------------------------------------------------------------
# Sniff and junk


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"UNA:+.? 'UNB+UNOC:3", True),
        (b"\xef\xbb\xbf\r\n  UNB+UNOA:3+X", True),
        (b"UNB+", True),
        (b"UNBX", False),
        (b"UNA:+", False),
        (b"ISA*00*", False),
        (b"<?xml version='1.0'?>", False),
        (b"", False),
    ],
)
def test_sniff(data: bytes, expected: bool) -> None:
    assert sniff(data) is expected


def _junk(seed: int, count: int) -> list[bytes]:
    """Real samples cut short, with bytes flipped, dropped, doubled, or service characters put in."""
    rng = random.Random(seed)
    bases = [p.read_bytes() for p in sorted(SAMPLES.rglob("*.edi"))]
    out: list[bytes] = [b"", b"'", b"UNA", b"UNA:+.? ", b"UNB", b"UNB+", b"UNB+UNOC:3+A+B+240131:1200+1'",
                        bytes(range(256)), b"\xef\xbb\xbf", b"UNA:+.? 'UNA:+.? '", b"?" * 10, b"'" * 10]
    out += [base[: rng.randrange(len(base))] for base in bases]
    for _ in range(count):
        data = bytearray(rng.choice(bases))
        for _ in range(rng.randint(1, 6)):
            position = rng.randrange(len(data) + 1)
            action = rng.random()
            if action < 0.3:
                data[position : position + 1] = bytes([rng.randrange(256)])
            elif action < 0.5:
                del data[position : position + rng.randint(1, 30)]
            elif action < 0.8:
                data[position:position] = rng.choice([b"'", b"?", b"+", b":", b"*", b"\r\n", b"UNH+", b"?'",
                                                       b"UNA:+.? '", b"UNG+X+A+B+240131:1200+1'", b"\xc3"])
            else:
                data[position:position] = data[position : position + rng.randint(1, 40)]
        out.append(bytes(data))
    return out


@pytest.mark.parametrize("data", _junk(20261124, 400))
def test_junk_is_rejected_with_a_syntax_error_only(data: bytes) -> None:
    for reader in (tokenize, edifact.parse, edifact.inspect):
        try:
            reader(data)
        except EdiSyntaxError as error:
            assert error.reason
            assert error.where
    sniff(data)


def test_tokenizer_reads_what_it_returns_as_positions_and_offsets() -> None:
    data = _read("INVOIC/bots_invoic1_D96A_EAN008_generated.edi").decode("latin-1")
    segments = tokenize(data)
    assert [s.position for s in segments] == list(range(2, len(segments) + 2))
    assert all(data[s.offset : s.offset + 3] == s.tag for s in segments)
    assert isinstance(edifact.parse(data), Interchange)
