"""The X12 syntax layer (`mappings.syntax.x12`) on every real sample in shared/samples/edi/x12.

Each sample was read by eye (and against SOURCES.md) and put in one of two tables below, with its envelope
figures or where its first error is; the decision for each file is written next to it. The figures come from
the files: ISA, GS, ST and SE as written, and BIG / BPR / AK1 / AK9 / B10 / BSN values.

Then the cases the samples do not cover: other delimiters, broken envelopes, the serializer, and junk.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field, replace

import pytest

from mappings.base import FormatError
from mappings.syntax import x12
from mappings.syntax.x12 import (
    ISA_LENGTH,
    FunctionalGroup,
    Party,
    Segment,
    Separators,
    TransactionSet,
    X12SyntaxError,
    build_interchange,
    serialize_interchange,
    serialize_segment,
    sniff,
    tokenize,
    write_interchange,
)
from tests.conftest import SHARED

SAMPLES = SHARED / "samples" / "edi" / "x12"


@dataclass(frozen=True)
class Good:
    version: str
    sender: tuple[str, str]
    receiver: tuple[str, str]
    control_number: str
    usage: str
    #: element, component, segment terminator, repetition
    separators: tuple[str, str, str, str | None]
    #: per group: functional id, GS08 version, GS06, and per transaction set: ST01, ST02, SE01
    groups: tuple[tuple[str, str, str, tuple[tuple[str, str, int], ...]], ...]
    #: per transaction set: what its hint must contain
    hints: tuple[dict[str, object], ...] = ()
    acknowledgments: tuple[tuple[str, str], ...] = ()
    #: the newline our writer must use to give back the very same bytes (None: not byte-identical)
    golden_newline: str | None = None
    implementation_refs: tuple[str, ...] = field(default=())


_BOTS_810 = (("IN", "004010", "224", (("810", "2240001", 29), ("810", "2240002", 17))),)
_X348 = Good("00401", ("ZZ", "123456789012345"), ("ZZ", "123456789012346"), "000010216", "T",
             ("*", ":", "~", None), (("SC", "004010X348", "20213", (("810", "0001", 8),)),),
             hints=({"invoice_number": "39876980601170600", "invoice_date": "20000513",
                     "purchase_order": "767124", "transaction_type": "CI"},))

GOOD: dict[str, Good] = {
    "810/bots_810-004010-01.x12": Good(
        "00401", ("ZZ", "ABYZ000"), ("08", "9251750000"), "000000224", "P", ("*", ":", "~", None), _BOTS_810,
        hints=({"invoice_number": "465266", "purchase_order": "539893"}, {"invoice_number": "465267"}),
        golden_newline="\r\n"),
    "810/bots_810-004010VICS-01.x12": Good(
        "00401", ("ZZ", "ABYZ000"), ("08", "9251750000"), "000000224", "P", ("*", ":", "~", None),
        (("IN", "004010VICS", "224", (("810", "2240001", 29), ("810", "2240002", 17))),),
        hints=({"invoice_number": "465266"}, {"invoice_number": "465267"}), golden_newline="\r\n"),
    # 00403 with ISA11 '^': the repetition separator.
    "810/bots_inbound_810_1.x12": Good(
        "00403", ("01", "0011223456"), ("01", "999999999"), "000000001", "P", ("*", ">", "~", "^"),
        (("IN", "004010", "1", (("810", "0063", 22),)),),
        hints=({"invoice_number": "95018017", "purchase_order": "ordernumber", "transaction_type": "DR"},),
        golden_newline="\r\n"),
    "810/bots_outbound_810_1_generated.x12": Good(
        "00403", ("01", "0011223456"), ("01", "999999999"), "000000001", "P", ("*", ">", "~", "^"),
        (("IN", "004010", "1", (("810", "0063", 22),)),),
        hints=({"invoice_number": "95018017"},), golden_newline="\r\n"),
    # Edge, accepted: BOM and indentation between segments (whitespace after a terminator is not data).
    "810/oopf_Example1_CaliforniaISO.txt": Good(
        "00401", ("30", "943274043"), ("01", "175315246"), "000000002", "T", ("*", ">", "~", None),
        (("IN", "004010", "1", (("810", "0001", 48),)),), hints=({"invoice_number": "10429"},)),
    # Edge, accepted: BOM, indentation; two 810s in one group (bots' grammar complains about TDS placement:
    # a grammar matter).
    "810/oopf_Example3_MultiInvoice.txt": Good(
        "00403", ("ZZ", "ABYZ000"), ("08", "9251750000"), "000000224", "P", ("*", ":", "~", "^"),
        (("IN", "004030", "224", (("810", "2240001", 29), ("810", "2240002", 17))),),
        hints=({"invoice_number": "465266"}, {"invoice_number": "465267"})),
    # '|' as the element separator.
    "810/stupidedi_IN810_4010_pass_1.edi": Good(
        "00401", ("ZZ", "111111"), ("ZZ", "2222222"), "005639689", "T", ("|", ">", "~", None),
        (("IN", "004010", "5639689", (("810", "5639689", 13),)),),
        hints=({"invoice_number": "00237058", "purchase_order": "0691-0014403"},), golden_newline="\n"),
    # Two byte-identical copies in the corpus; the transaction set is on one line.
    "810/stupidedi_X348_SC810_basic-invoice.edi": _X348,
    "810/stupidedi_X348_SC810_credit-card-invoice.edi": _X348,
    # Edge, accepted: syntax is fine (ISA07 'XX' is not a code, but code lists are the grammar's business);
    # REF/DTM directly under ENT is a grammar deviation; a blank line after the IEA is whitespace.
    "820/bots_820-004010-01_safeway.x12": Good(
        "00401", ("08", "9251750000"), ("XX", "XXXXXXXXXX"), "000025029", "P", ("*", ">", "~", None),
        (("RA", "004010", "106", (("820", "00106001", 39),)),),
        hints=({"amount": "416093.15", "trace_number": "4311000190", "payment_method": "ACH"},)),
    # Edge, accepted: the segment terminator is LF (the character after ISA16), the file ends LF + CRLF: the
    # stray CR is whitespace on a blank line, not an empty segment.
    "820/bots_820-004010VICS-03.x12": Good(
        "00401", ("01", "111111111"), ("ZZ", "222222222222"), "000001692", "P", ("*", ">", "\n", None),
        (("RA", "004010VICS", "3406", (("820", "000004420", 330),)),),
        hints=({"amount": "47828.63", "payment_method": "CHK"},)),
    # Edge, accepted: terminator 0x15 (NAK) followed by CRLF; two 820s.
    "820/bots_820-004030-03.x12": Good(
        "00400", ("12", "1111111111"), ("12", "2222222222"), "017000934", "P", ("*", ":", "\x15", None),
        (("RA", "004030", "17000934", (("820", "017001511", 22), ("820", "017001512", 22))),),
        hints=({"amount": "561.72", "handling_code": "H"}, {"amount": "236.33"}), golden_newline="\r\n"),
    "820/bots_820-004030-04.x12": Good(
        "00400", ("12", "5198375355"), ("ZZ", "COYOTE"), "017000063", "P", ("*", ":", "\x15", None),
        (("RA", "004030", "17000063", (("820", "017000087", 30),)),), hints=({"amount": "5851.19"},),
        golden_newline="\r\n"),
    # 5010: ST03 implementation convention reference, ISA11 '>' as repetition separator.
    "820/stupidedi_X218_RA820_summary-bill-payment.edi": Good(
        "00501", ("ZZ", "123456789012345"), ("ZZ", "123456789012346"), "000010216", "T",
        ("*", ":", "~", ">"), (("RA", "005010X218", "20213", (("820", "0001", 15),)),),
        hints=({"amount": "19000", "trace_number": "12345"},), implementation_refs=("005010X218",),
        golden_newline=""),
    "856/bots_inbound_856_1.x12": Good(
        "00403", ("01", "111111111"), ("01", "22222222"), "000000001", "P", ("*", ">", "~", "^"),
        (("SH", "004010", "1", (("856", "0062", 190),)),), hints=({"shipment_id": "15918861602"},),
        golden_newline="\r\n"),
    "856/bots_outbound_856_1_generated.x12": Good(
        "00403", ("01", "111111111"), ("01", "22222222"), "000000001", "P", ("*", ">", "~", "^"),
        (("SH", "004010", "1", (("856", "0062", 190),)),), hints=({"shipment_id": "15918861602"},),
        golden_newline="\r\n"),
    # Edge, accepted: '~' separates elements and '*' terminates segments; BOM and indentation.
    "856/oopf_856_Example1.txt": Good(
        "00401", ("01", "201495124"), ("01", "207663412"), "000000001", "P", ("~", "`", "*", None),
        (("SH", "004010", "1", (("856", "0001", 25),)),), hints=({"shipment_id": "123456"},)),
    # Edge, accepted: terminator 0x15, the whole interchange on one line.
    "997/bots_997-004010VICS-01.x12": Good(
        "00401", ("01", "111111111"), ("ZZ", "222222222222"), "000001816", "P", ("*", ">", "\x15", None),
        (("FA", "004010VICS", "3407", (("997", "000004421", 6),)),),
        hints=({"functional_id": "PR", "group_control_number": "10001", "group_status": "A"},)),
    "997/bots_inbound_997_1.x12": Good(
        "00403", ("01", "1234"), ("01", "TEST"), "000000001", "P", ("*", ">", "~", "^"),
        (("FA", "004010", "1", (("997", "0015", 6),)),),
        hints=({"functional_id": "PO", "group_control_number": "214", "group_status": "A",
                "acknowledged_sets": [{"set_id": "850", "control_number": "000000390"}]},),
        golden_newline="\r\n"),
    "997/bots_outbound_997_10_generated.x12": Good(
        "00403", ("01", "YYYYYYYYYY"), ("01", "CCCCCC"), "000000002", "P", ("*", ">", "~", "^"),
        (("FA", "004010", "2", (("997", "0033", 6),)),),
        hints=({"functional_id": "PO", "group_control_number": "142"},), golden_newline="\r\n"),
    "997/bots_outbound_997_2_generated.x12": Good(
        "00403", ("01", "1234567890"), ("01", "8019721193"), "000000001", "P", ("*", ">", "~", "^"),
        (("FA", "004010", "1", (("997", "0010", 6),)),),
        hints=({"functional_id": "PO", "group_control_number": "1403"},), golden_newline="\r\n"),
    "997/stupidedi_X230_FA997_response-to-837s.edi": Good(
        "00501", ("ZZ", "123456789012345"), ("ZZ", "123456789012346"), "000010216", "T",
        ("*", ":", "~", ">"), (("FA", "005010X230", "20213", (("997", "2870001", 10),)),),
        hints=({"functional_id": "HC", "group_control_number": "17456", "group_status": "P",
                "sets_included": "2", "sets_accepted": "1"},), implementation_refs=("005010X230",)),
    # Edge, accepted: BOM, indentation, 00501 with ISA11 '^'.
    "999/oopf_999_DHS_Wisconsin.txt": Good(
        "00501", ("ZZ", "123456789"), ("ZZ", "987654321"), "000000286", "P", ("*", ":", "~", "^"),
        (("FA", "005010X231", "287", (("999", "2870001", 16),)),),
        hints=({"functional_id": "HC", "group_status": "P", "sets_included": "3", "sets_accepted": "1"},),
        implementation_refs=("005010X231",)),
    "999/stupidedi_X231A1_FA999_response-to-3-837s.edi": Good(
        "00501", ("ZZ", "123456789012345"), ("ZZ", "123456789012346"), "000010216", "T",
        ("*", ":", "~", ">"), (("FA", "005010X231A1", "20213", (("999", "2870001", 16),)),),
        hints=({"functional_id": "HC", "group_status": "P"},), implementation_refs=("005010X231A1",)),
    # Edge, accepted: ISA11 'U' with 00403 (the sender kept the 00401 standards identifier instead of a
    # repetition separator; common, and harmless: there is then no repetition separator).
    "214/edinet_214-MGCTLYST-SAMPLE.EDI": Good(
        "00403", ("02", "SCAC"), ("ZZ", "MGCTLYST"), "000082265", "T", ("*", ">", "~", None),
        (("QM", "004030", "82265", (("214", "822650001", 16),)),),
        hints=({"reference": "1751807", "shipment_id": "75027674", "carrier_scac": "SCAC",
                "status_codes": ["D1"]},), golden_newline="\n"),
    # Edge, accepted: an interchange that carries only TA1s (IEA01 = 0 groups). TA101 "0659" is not the
    # 9-digit control number a TA1 should quote: that is for the acknowledgement layer to judge, not syntax.
    "TA1/oopf_TA1_Sample1.txt": Good(
        "00401", ("ZZ", "SenderID"), ("ZZ", "SCMEDICAID"), "000000001", "P", ("*", "^", "~", None), (),
        acknowledgments=(("0659", "A"), ("0660", "A"))),
}


@dataclass(frozen=True)
class Bad:
    position: int
    tag: str
    element: int | None
    reason: str


MALFORMED: dict[str, Bad] = {
    # A line break inside the ISA (after ISA08). The ISA is fixed width, and this is how such files look
    # after an editor or a mail gateway wrapped them: refused.
    "214/edinet_x12.214_broken_isa.edi": Bad(1, "ISA", 8, "ISA08 (interchange receiver ID) must be exactly"),
    # The ISA is not fixed width (ISA02/04 one blank, ISA06/08 unpadded). Real Ariba interchanges are fixed
    # width; this test file was trimmed by hand. Refused, as bots and ansi-x12 refuse it.
    "810/edinet_x12.810a_ariba.edi": Bad(1, "ISA", 2, "ISA02 (authorization information) must be exactly 10"),
    "810/edinet_x12.810b_ariba_tax.edi": Bad(1, "ISA", 2, "must be exactly 10 characters"),
    "820/stupidedi_RA820_3010_pass_1.edi": Bad(1, "ISA", 2, "must be exactly 10 characters"),
    # "pass" in stupidedi (whose reader is lenient about the ISA), but ISA06 has 12 characters, not 15.
    "997/stupidedi_FA997_4010_pass_1.edi": Bad(1, "ISA", 6, "ISA06 (interchange sender ID) must be exactly"),
    # A partner guide excerpt: ISA12 '00040' is no version. Behind it: no terminator after the IEA (test
    # below).
    "810/oopf_Example5_Walmart.txt": Bad(1, "ISA", 12, "'00040' is not an X12 version"),
    # Blank ISA06 sender: the interchange cannot be answered (TA1/997 need it). Also lower case 'xxxx'
    # placeholders and leading spaces in IEA02.
    "820/oopf_Example2_ScanaEnergy.txt": Bad(1, "ISA", 6, "ISA06 (interchange sender ID) is blank"),
    # A template with prose placeholders: GS06 "44 (Group Control Number)".
    "820/oopf_Example3_HomeDepot_template.txt": Bad(2, "GS", 6,
                                                    "'44 (Group Control Number)' must be a number"),
    # GS04 is YYMMDD in a 004010 group (CCYYMMDD since 004010). Behind it, trailing spaces before every '\'
    # terminator make ST02/SE02/GE02 ten characters long (test below).
    "820/oopf_Example5_Wikipedia.txt": Bad(2, "GS", 4, "'031016' must be CCYYMMDD from version 004010 on"),
    # stupidedi's "fail" fixture. Its failure IS syntactic: lines 13–17 end with '~', but the ISA announces
    # '$' as the terminator, so N1 swallows N3, N4 and the next HL, and the transaction set has 22 segments
    # where SE01 counts 25. (bots reports the same fault as "N1 has too many fields".)
    "856/stupidedi_SH856_4010_fail_2.edi": Bad(24, "SE", 1, "segment count says 25, transaction set has 22"),
}


def _read(name: str) -> bytes:
    return (SAMPLES / name).read_bytes()


def _content(segments: list[Segment]) -> list[tuple[str, tuple[tuple[str, ...], ...]]]:
    return [(s.tag, s.elements) for s in segments]


def test_every_sample_is_classified() -> None:
    on_disk = {str(p.relative_to(SAMPLES)) for p in SAMPLES.rglob("*") if p.is_file()}
    assert on_disk == set(GOOD) | set(MALFORMED)


@pytest.mark.parametrize("name", sorted(GOOD))
def test_good_sample_parses(name: str) -> None:
    expected = GOOD[name]
    data = _read(name)
    assert sniff(data)
    interchange = x12.parse(data)
    assert interchange.version == expected.version
    assert (interchange.sender.qualifier, interchange.sender.id) == expected.sender
    assert (interchange.receiver.qualifier, interchange.receiver.id) == expected.receiver
    assert interchange.control_number == expected.control_number
    assert interchange.usage_indicator == expected.usage
    sep = interchange.separators
    assert (sep.element, sep.component, sep.segment, sep.repetition) == expected.separators
    groups = [(g.functional_id, g.version, g.control_number,
               tuple((t.set_id, t.control_number, t.segment_count) for t in g.transactions))
              for g in interchange.groups]
    assert groups == list(expected.groups)
    assert [(a.get(1), a.get(4)) for a in interchange.acknowledgments] == list(expected.acknowledgments)
    refs = tuple(t.implementation_ref for t in interchange.transactions if t.implementation_ref)
    assert refs == expected.implementation_refs
    for transaction in interchange.transactions:
        positions = [s.position for s in transaction.segments]
        assert positions == list(range(transaction.position + 1,
                                       transaction.position + transaction.segment_count - 1))

    report = x12.inspect(data)
    assert report["format"] == "x12"
    assert report["control_number"] == expected.control_number
    assert report["transaction_count"] == len(interchange.transactions)
    hints = [t.get("hint", {}) for g in report["groups"] for t in g["transactions"]]
    assert len(hints) == len(expected.hints) or not expected.hints
    for hint, wanted in zip(hints, expected.hints, strict=False):
        assert {key: hint.get(key) for key in wanted} == wanted
    assert [(a["control_number"], a["ack_code"]) for a in report["interchange_acknowledgments"]] == list(
        expected.acknowledgments)


@pytest.mark.parametrize("name", sorted(GOOD))
def test_good_sample_round_trips(name: str) -> None:
    data = _read(name)
    original = tokenize(data)
    interchange = x12.parse(data)
    for newline in ("", "\n", "\r\n"):
        if newline and interchange.separators.segment in newline:
            continue  # LF as terminator: another newline after it would be a blank line
        written = write_interchange(interchange, newline=newline)
        assert len(written.split(interchange.separators.segment.encode(), 1)[0]) + 1 == ISA_LENGTH
        again = tokenize(written)
        assert _content(again) == _content(original)
        assert [s.position for s in again] == [s.position for s in original]
        assert write_interchange(x12.parse(written), newline=newline) == written
    golden = GOOD[name].golden_newline
    if golden is not None:
        assert write_interchange(interchange, newline=golden) == data


@pytest.mark.parametrize("name", sorted(MALFORMED))
def test_malformed_sample_is_rejected_at_its_first_error(name: str) -> None:
    expected = MALFORMED[name]
    data = _read(name)
    with pytest.raises(X12SyntaxError) as caught:
        x12.parse(data)
    error = caught.value
    assert isinstance(error, FormatError)
    assert (error.segment_position, error.segment_tag, error.element_index) == (
        expected.position, expected.tag, expected.element)
    assert expected.reason in error.reason
    assert str(error).startswith(f"segment {expected.position} ({expected.tag}): element {expected.element}")
    with pytest.raises(X12SyntaxError):
        x12.inspect(data)


def test_what_comes_after_the_first_error_in_the_guide_excerpts() -> None:
    walmart = _read("810/oopf_Example5_Walmart.txt").replace(b"*00040*", b"*00401*")
    with pytest.raises(X12SyntaxError) as caught:
        x12.parse(walmart)
    # CR is the terminator (the character after ISA16), and the last segment has none
    assert (caught.value.segment_position, caught.value.segment_tag) == (24, "IEA")
    assert "no segment terminator '\\r' after the last segment" in caught.value.reason
    assert len(x12.parse(walmart + b"\r").transactions) == 1

    wikipedia = _read("820/oopf_Example5_Wikipedia.txt").replace(b"4*031016*", b"4*20031016*")  # GS04
    with pytest.raises(X12SyntaxError) as caught:
        x12.parse(wikipedia)
    error = caught.value
    assert (error.segment_position, error.segment_tag, error.element_index) == (3, "ST", 2)
    assert "'987600111 ' must be 4–9 characters long" in caught.value.reason


def test_the_swallowed_segments_of_the_failing_856() -> None:
    segments = tokenize(_read("856/stupidedi_SH856_4010_fail_2.edi"))
    n1 = segments[12]
    assert (n1.position, n1.tag) == (13, "N1")
    assert n1.get(4).startswith("010020001-ABCINC~")
    assert "N3" in n1.get(4) and len(n1.elements) > 4


# ----------------------------------------------------------------------------------------------------------
# Other delimiters, envelopes

ISA = ("ISA*00*          *00*          *ZZ*SENDER         *ZZ*RECEIVER       *240131*1200*U*00401*000000042"
       "*0*P*>~")
GS = "GS*IN*SENDER*RECEIVER*20240131*1200*42*X*004010~"


def _x12(*body: str, isa: str = ISA, gs: str = GS, se: str | None = None, ge: str = "GE*1*42~",
         iea: str = "IEA*1*000000042~") -> str:
    transaction = ["ST*810*0001~", *body, se if se is not None else f"SE*{len(body) + 2}*0001~"]
    return isa + gs + "".join(transaction) + ge + iea


@pytest.mark.parametrize(
    "separators",
    [
        Separators("*", ">", "~"),
        Separators("|", "^", "~"),
        Separators("~", "`", "*"),
        Separators("|", ">", "\n"),
        Separators("*", ":", "\x15"),
        Separators("^", "\\", "|"),
    ],
    ids=lambda s: f"{s.element}{s.component}{s.segment!r}",
)
def test_other_delimiters(separators: Separators) -> None:
    data = _read("810/bots_810-004010-01.x12")
    interchange = x12.parse(data)
    interchange.separators = separators
    written = write_interchange(interchange)
    assert sniff(written)
    assert written[3:4] == separators.element.encode()
    assert written[104:106] == (separators.component + separators.segment).encode()
    ours, theirs = tokenize(written), tokenize(data)
    assert ours[0].elements[:15] == theirs[0].elements[:15]  # ISA16 is the component separator itself
    assert _content(ours[1:]) == _content(theirs[1:])
    assert [t.segments[0].get(2) for t in x12.parse(written).transactions] == ["465266", "465267"]


def test_repetition_separator_from_00402_on() -> None:
    data = _x12("BIG*20240131*INV1~", "REF*ZZ*A^B~", isa=ISA.replace("*U*00401*", "*^*00501*"))
    interchange = x12.parse(data)
    assert interchange.separators.repetition == "^"
    # kept as written in the element's text (X12 data cannot contain it, so nothing is ambiguous)
    assert interchange.transactions[0].segments[1].get(2) == "A^B"
    assert serialize_interchange(interchange) == data
    # before 00402, ISA11 is the standards identifier and '^' is data
    old = x12.parse(data.replace("*^*00501*", "*U*00401*"))
    assert (old.separators.repetition, old.standards_id) == (None, "U")


@pytest.mark.parametrize(
    ("data", "position", "tag", "element", "reason"),
    [
        (_x12("BIG*20240131*INV1~", se="SE*2*0001~"), 5, "SE", 1,
         "segment count says 2, transaction set has 3 segments (ST to SE)"),
        (_x12("BIG*20240131*INV1~", se="SE*3*0002~"), 5, "SE", 2, "SE02 '0002' differs from ST02 '0001'"),
        (_x12("BIG*20240131*INV1~", ge="GE*2*42~"), 6, "GE", 1,
         "transaction set count says 2, group has 1 transaction sets"),
        (_x12("BIG*20240131*INV1~", ge="GE*1*43~"), 6, "GE", 2, "GE02 '43' differs from GS06 '42'"),
        (_x12("BIG*20240131*INV1~", iea="IEA*2*000000042~"), 7, "IEA", 1,
         "functional group count says 2, interchange has 1 groups"),
        (_x12("BIG*20240131*INV1~", iea="IEA*1*000000043~"), 7, "IEA", 2,
         "IEA02 '000000043' differs from ISA13 '000000042'"),
        (_x12("BIG*20240131*INV1~", iea="IEA*1*42~"), 7, "IEA", 2, "must be 9 characters long"),
        (_x12("BIG*20240131*INV1~", iea=""), 6, "GE", None, "the interchange has no IEA"),
        (_x12("BIG*20240131*INV1~", iea="IEA*1*000000042~ST*810*0002~"), 8, "ST", None, "data after IEA"),
        (_x12("BIG*20240131*INV1~", ge=""), 6, "IEA", None, "inside group '42' (GS at segment 2): its GE"),
        (_x12("BIG*20240131*INV1~", "ST*810*0002~"), 5, "ST", None,
         "ST inside transaction set '0001' (ST at segment 3): its SE is missing"),
        (ISA + "BIG*20240131*INV1~IEA*0*000000042~", 2, "BIG", None, "outside a functional group"),
        (ISA + GS + "BIG*20240131*INV1~GE*0*42~IEA*1*000000042~", 3, "BIG", None,
         "outside a transaction set"),
        (ISA + GS + "SE*2*0001~GE*0*42~IEA*1*000000042~", 3, "SE", None, ""),
        (ISA + "GE*0*42~IEA*0*000000042~", 2, "GE", None, "GE without GS"),
        (_x12("BIG*20240131*INV1~").replace("IEA", "TA1*000000001*240131*1200*A*000~IEA"), 7, "TA1", None,
         "TA1 after a functional group"),
        (_x12("BIG*20240131*INV1~~"), 5, "", None, "empty segment"),
        (_x12("big*20240131*INV1~"), 4, "big", None, "segment tag must be 2–3 upper case"),
        (_x12("BIG*20240131*INV1~")[:-1], 7, "IEA", None, "no segment terminator '~'"),
        (_x12("BIG*20240131*INV1~", gs=GS.replace("20240131", "240131")), 2, "GS", 4,
         "'240131' must be CCYYMMDD from version 004010 on"),
        (_x12("BIG*20240131*INV1~", gs=GS.replace("20240131", "20240230")), 2, "GS", 4, "is not a date"),
        (_x12("BIG*20240131*INV1~", gs=GS.replace("*X*004010", "*X*004010*EXTRA")), 2, "GS", 9,
         "GS has 8 elements"),
        (_x12("BIG*20240131*INV1~", gs=GS.replace("GS*IN", "GS*I")), 2, "GS", 1, "must be 2 characters"),
        (_x12("BIG*20240131*INV1~").replace("ST*810*0001", "ST*810*001"), 3, "ST", 2,
         "'001' must be 4–9 characters long"),
        (_x12("BIG*20240131*INV1~").replace("ST*810", "ST*81>0"), 3, "ST", 1, "cannot have components"),
    ],
)
def test_envelope_errors(data: str, position: int, tag: str, element: int | None, reason: str) -> None:
    with pytest.raises(X12SyntaxError) as caught:
        x12.parse(data)
    error = caught.value
    assert (error.segment_position, error.segment_tag, error.element_index) == (position, tag, element)
    assert reason in error.reason
    assert error.offset is not None


def test_gs_dates_before_004010_may_be_yymmdd() -> None:
    data = _x12("BIG*240131*INV1~", gs=GS.replace("20240131", "240131").replace("004010", "003010"))
    assert x12.parse(data).groups[0].date == "240131"


@pytest.mark.parametrize(
    ("isa", "element", "reason"),
    [
        (ISA.replace("SENDER         ", "SENDER        "), 6, "ISA06 (interchange sender ID) must be"),
        (ISA.replace("SENDER         ", "SENDER          "), 6, "found 16"),
        (ISA.replace("*00*          *ZZ", "*00*         *ZZ"), 4, "ISA04 (security information) must be"),
        (ISA.replace("*000000042*", "*00000042*"), 13, "ISA13 (interchange control number) must be"),
        (ISA.replace("*000000042*", "*00000004X*"), 13, "must be 9 digits"),
        (ISA.replace("*240131*", "*240231*"), 9, "ISA09 '240231' is not a date"),
        (ISA.replace("*1200*", "*2460*"), 10, "ISA10 '2460' is not a time"),
        (ISA.replace("*00401*", "*ABCDE*"), 12, "'ABCDE' is not an X12 version"),
        (ISA.replace("*0*P*", "*2*P*"), 14, "ISA14 (acknowledgment requested) must be 0 or 1"),
        (ISA.replace("*P*>", "*X*>"), 15, "ISA15 (usage indicator) must be P, T or I"),
        (ISA.replace("*P*>~", "*P**~"), 16, "delimiters must differ"),
        (ISA.replace("*ZZ*SENDER", "*  *SENDER"), 5, "ISA05 (interchange ID qualifier (sender)) is blank"),
        (ISA[:100], 14, "the ISA is truncated in ISA14"),
        (ISA[:105], 16, "ISA16 and the segment terminator must follow"),
        ("ISA 00", None, "cannot be one"),
        ("GS*IN*A*B~", None, "starts with ISA, found 'GS*'"),
    ],
)
def test_isa_errors(isa: str, element: int | None, reason: str) -> None:
    with pytest.raises(X12SyntaxError) as caught:
        tokenize(isa)
    assert (caught.value.segment_position, caught.value.element_index) == (1, element)
    assert reason in caught.value.reason


def test_no_data_at_all() -> None:
    for data in (b"", b"   \r\n", b"\xef\xbb\xbf"):
        with pytest.raises(X12SyntaxError, match="no X12 data") as caught:
            x12.parse(data)
        assert caught.value.segment_position == 0


def test_bom_and_whitespace_do_not_change_the_reading() -> None:
    plain = _x12("BIG*20240131*INV1~").encode()
    variants = [b"\xef\xbb\xbf" + plain, plain.replace(b"~", b"~\r\n"),
                b"\r\n" + plain.replace(b"~", b"~\n\t")]
    for variant in variants:
        assert sniff(variant)
        assert _content(tokenize(variant)) == _content(tokenize(plain))
    crlf = variants[1].decode()
    assert all(crlf[s.offset : s.offset + len(s.tag)] == s.tag for s in tokenize(crlf))


# ----------------------------------------------------------------------------------------------------------
# Writing


def test_serialize_segment() -> None:
    assert serialize_segment("N1", ["ST", "", "92", "1091581", "", ""]) == "N1*ST**92*1091581~"
    assert serialize_segment("CTX", [("CLM01", "123", "")], Separators(component=":")) == "CTX*CLM01:123~"
    with pytest.raises(ValueError, match="contains the delimiter '\\*'"):
        serialize_segment("N1", ["ST", "A*B"])
    with pytest.raises(ValueError, match="contains the delimiter '~'"):
        serialize_segment("N1", ["ST", "A~B"])
    with pytest.raises(ValueError, match="segment tag"):
        serialize_segment("n1", [])


def _invoice(control: str, number: str) -> TransactionSet:
    return TransactionSet("810", control, segments=[
        Segment.of("BIG", "20240131", number),
        Segment.of("N1", "ST", "STORE 1", "92", "1091581"),
        Segment.of("IT1", "1", "2", "EA", "10.50", "", "VP", "ABC-1"),
        Segment.of("TDS", "2100"),
        Segment.of("CTT", "1"),
    ])


def test_build_and_write_an_interchange() -> None:
    group = FunctionalGroup("IN", "SENDER", "RECEIVER", "20240131", "1205", "7", "X", "004010",
                            transactions=[_invoice("0001", "INV-1"), _invoice("0002", "INV-2")])
    interchange = build_interchange(sender=Party("ZZ", "SENDER"), receiver=Party("12", "5551234567"),
                                    control_number=7, prepared=dt.datetime(2024, 1, 31, 12, 5),
                                    groups=[group])
    text = serialize_interchange(interchange, newline="\n")
    lines = text.splitlines()
    assert lines[0] == ("ISA*00*          *00*          *ZZ*SENDER         *12*5551234567     *240131*1205*U*"
                        "00401*000000007*0*P*:~")
    assert len(lines[0]) == ISA_LENGTH
    assert "SE*7*0001~" in lines and "SE*7*0002~" in lines
    assert lines[-2:] == ["GE*2*7~", "IEA*1*000000007~"]
    back = x12.parse(text)
    assert [t.segments[0].get(2) for t in back.transactions] == ["INV-1", "INV-2"]
    assert x12.inspect(text.encode())["groups"][0]["transactions"][1]["hint"]["invoice_number"] == "INV-2"

    five = replace(interchange, version="00501",
                   separators=Separators("*", ":", "~", "^"),
                   groups=[replace(group, version="005010", transactions=[
                       replace(_invoice("0001", "INV-1"), implementation_ref="005010X999")])])
    written = serialize_interchange(five)
    assert written.startswith("ISA*00*") and written[82] == "^"
    assert "ST*810*0001*005010X999~" in written
    assert x12.parse(written).transactions[0].implementation_ref == "005010X999"


def test_writer_refuses_what_x12_cannot_carry() -> None:
    group = FunctionalGroup("IN", "SENDER", "RECEIVER", "20240131", "1205", "7", "X", "004010",
                            transactions=[TransactionSet("810", "0001", segments=[
                                Segment.of("BIG", "20240131", "INV*1")])])
    interchange = build_interchange(sender=Party("ZZ", "SENDER"), receiver=Party("ZZ", "RECEIVER"),
                                    control_number="7", prepared=dt.datetime(2024, 1, 31), groups=[group])
    with pytest.raises(X12SyntaxError) as caught:
        write_interchange(interchange)
    assert (caught.value.segment_position, caught.value.segment_tag) == (4, "BIG")
    with pytest.raises(X12SyntaxError, match=r"ISA06 .* is longer than 15"):
        write_interchange(replace(interchange, sender=Party("ZZ", "A-SENDER-ID-TOO-LONG"), groups=[]))
    with pytest.raises(ValueError, match="up to 9 digits"):
        build_interchange(sender=Party("ZZ", "S"), receiver=Party("ZZ", "R"), control_number=1234567890,
                          prepared=dt.datetime(2024, 1, 31))
    with pytest.raises(ValueError, match="no repetition separator"):
        build_interchange(sender=Party("ZZ", "S"), receiver=Party("ZZ", "R"), control_number=1,
                          prepared=dt.datetime(2024, 1, 31), separators=Separators(repetition="^"))


# ----------------------------------------------------------------------------------------------------------
# Sniff and junk


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (ISA.encode(), True),
        (b"\xef\xbb\xbf\r\n  ISA|00|", True),
        (b"ISA~00~", True),
        (b"ISA*0*", False),
        (b"ISAX00X", False),
        (b"UNB+UNOC:3", False),
        (b"ISA", False),
        (b"", False),
    ],
)
def test_sniff(data: bytes, expected: bool) -> None:
    assert sniff(data) is expected


def _junk(seed: int, count: int) -> list[bytes]:
    """Real samples cut short, with bytes flipped, dropped, doubled, or delimiters put in."""
    rng = random.Random(seed)
    bases = [p.read_bytes() for p in sorted(SAMPLES.rglob("*")) if p.is_file()]
    out: list[bytes] = [b"", b"ISA", b"ISA*", ISA.encode(), ISA.encode()[:-1], bytes(range(256)), b"~" * 10,
                        b"ISA" + bytes(range(256)), b"\xef\xbb\xbf" + ISA.encode() + b"IEA*0*000000042~"]
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
                data[position:position] = rng.choice([b"~", b"*", b">", b"^", b"\r\n", b"ST*810*1~", b"GS*",
                                                       b"SE*1*1~", b"IEA*1*1~", b"\xc3", "³".encode()])
            else:
                data[position:position] = data[position : position + rng.randint(1, 40)]
        out.append(bytes(data))
    return out


@pytest.mark.parametrize("data", _junk(20261124, 400))
def test_junk_is_rejected_with_a_syntax_error_only(data: bytes) -> None:
    for reader in (tokenize, x12.parse, x12.inspect):
        try:
            reader(data)
        except X12SyntaxError as error:
            assert error.reason
            assert error.where
    sniff(data)
