"""The message structure checker (`mappings.syntax.edi_grammar`) on a tiny grammar: every rule fires where it
should,
with the segment position and the element/component index, and a good message has no problem at all.

The tiny message (body only, as between UNH and UNT):

    BGM      M 1     1001 id (380/381) M, 1004 an..10 M
    DTM      C 2     C507: 2005 id..3 M, 2380 dt 8, 2379 id (102)
    SG1      M 3     NAD-RFF-SG2
      NAD    M 1     3035 a 2..3 M
      RFF    C 1     C506: 1153 id..3 M, 1154 an..5
      SG2    C 2     CTA-COM
        CTA  M 1     3139 an..3
        COM  M 2     C076: 3148 an..20 M, 3155 id (TE/EM) M
    UNS      M 1     0081 a 1 M
    SG3      M 5     MOA
      MOA    M 1     C516: 5025 id..3 M, 5004 r..5 M
    CNT      C 1     6066 n..3, 6411 tm
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from mappings.syntax.edi_grammar import (
    Element,
    GroupRule,
    MessageGrammar,
    SegmentRule,
    StructureProblem,
    check_message,
)
from mappings.syntax.edifact import Segment, tokenize

TINY_CHILDREN: tuple[SegmentRule | GroupRule, ...] = (
    SegmentRule(
        "BGM",
        mandatory=True,
        elements=(
            Element("1001", mandatory=True, kind="id", max_length=3, codes=frozenset({"380", "381"})),
            Element("1004", mandatory=True, max_length=10),
        ),
    ),
    SegmentRule(
        "DTM",
        max_repeat=2,
        elements=(
            Element(
                "C507",
                mandatory=True,
                components=(
                    Element("2005", mandatory=True, kind="id", max_length=3),
                    Element("2380", kind="dt", min_length=8, max_length=8),
                    Element("2379", kind="id", max_length=3, codes=frozenset({"102"})),
                ),
            ),
        ),
    ),
    GroupRule(
        "SG1",
        (
            SegmentRule("NAD", mandatory=True, elements=(Element("3035", True, "a", 2, 3),)),
            SegmentRule(
                "RFF",
                elements=(
                    Element(
                        "C506",
                        mandatory=True,
                        components=(Element("1153", True, "id", 0, 3), Element("1154", max_length=5)),
                    ),
                ),
            ),
            GroupRule(
                "SG2",
                (
                    SegmentRule("CTA", mandatory=True, elements=(Element("3139", max_length=3),)),
                    SegmentRule(
                        "COM",
                        mandatory=True,
                        max_repeat=2,
                        elements=(
                            Element(
                                "C076",
                                mandatory=True,
                                components=(
                                    Element("3148", True, "an", 0, 20),
                                    Element("3155", True, "id", 0, 3, frozenset({"TE", "EM"})),
                                ),
                            ),
                        ),
                    ),
                ),
                max_repeat=2,
            ),
        ),
        mandatory=True,
        max_repeat=3,
    ),
    SegmentRule("UNS", mandatory=True, elements=(Element("0081", True, "a", 1, 1),)),
    GroupRule(
        "SG3",
        (
            SegmentRule(
                "MOA",
                mandatory=True,
                elements=(
                    Element(
                        "C516",
                        mandatory=True,
                        components=(Element("5025", True, "id", 0, 3), Element("5004", True, "r", 0, 5)),
                    ),
                ),
            ),
        ),
        mandatory=True,
        max_repeat=5,
    ),
    SegmentRule(
        "CNT", elements=(Element("6066", kind="n", max_length=3), Element("6411", kind="tm", max_length=6))
    ),
)
TINY = MessageGrammar("TINY", TINY_CHILDREN, "edifact")
TINY_X12 = MessageGrammar("TINY-X12", TINY_CHILDREN, "x12")

GOOD = (
    "BGM+380+INV-1'"
    "DTM+137:20261102:102'"
    "NAD+BY'RFF+VA:NO1'CTA+IC'COM+22000000:TE'COM+a@b.example:EM'CTA+AD'COM+1:TE'"
    "NAD+SU'"
    "NAD+DP'CTA'COM+2:TE'"
    "UNS+S'"
    "MOA+79:1234.5'MOA+9:-99,50'"
    "CNT+-123+2359'"
)
# positions: 1 BGM, 2 DTM, 3 NAD, 4 RFF, 5 CTA, 6 COM, 7 COM, 8 CTA, 9 COM, 10 NAD, 11 NAD, 12 CTA, 13 COM,
# 14 UNS, 15 MOA, 16 MOA, 17 CNT


def body(text: str) -> list[Segment]:
    """Segments numbered from 1, as the body of a message whose UNH is segment 0."""
    return tokenize(text)


def problems(text: str, grammar: MessageGrammar = TINY) -> list[tuple[int, str, int | None, int | None]]:
    return [(p.position, p.tag, p.element, p.component) for p in check_message(grammar, body(text))]


def reasons(text: str, grammar: MessageGrammar = TINY) -> list[str]:
    return [str(p) for p in check_message(grammar, body(text))]


def test_a_good_message_has_no_problem() -> None:
    assert check_message(TINY, body(GOOD)) == []


def test_segments_need_only_tag_elements_and_position() -> None:
    @dataclass
    class Plain:
        tag: str
        elements: tuple[tuple[str, ...], ...]
        position: int

    plain = [Plain(s.tag, s.elements, s.position) for s in body(GOOD)]
    assert check_message(TINY, plain) == []


def test_problem_text_names_segment_element_and_component() -> None:
    problem = StructureProblem(12, "MOA", 1, 2, "too long")
    assert str(problem) == "segment 12 (MOA): element 1, component 2: too long"
    assert str(StructureProblem(3, "BGM", 2, None, "missing")) == "segment 3 (BGM): element 2: missing"
    assert str(StructureProblem(4, "XYZ", None, None, "unknown")) == "segment 4 (XYZ): unknown"


def test_a_group_starts_with_its_trigger_segment() -> None:
    with pytest.raises(ValueError, match="trigger"):
        GroupRule("SG9", (GroupRule("SG10", (SegmentRule("RFF"),)),))


# ------------------------------------------------------------------------------------- structure


def test_missing_mandatory_segment_is_reported_where_it_was_due() -> None:
    text = GOOD.replace("BGM+380+INV-1'", "")
    assert problems(text) == [(1, "DTM", None, None)]
    assert "mandatory segment BGM is missing before this segment" in reasons(text)[0]


def test_missing_mandatory_group_and_segment_at_the_end() -> None:
    text = GOOD.split("UNS+S'")[0]
    found = check_message(TINY, body(text))
    last = len(body(text))
    assert [(p.position, p.tag) for p in found] == [(last + 1, "UNT"), (last + 1, "UNT")]
    assert "mandatory segment UNS is missing at the end of the message" in found[0].reason
    assert "mandatory segment group SG3 (MOA) is missing" in found[1].reason
    assert check_message(TINY_X12, body(text))[0].tag == "SE"


def test_missing_mandatory_segment_inside_a_group() -> None:
    text = GOOD.replace("CTA+AD'COM+1:TE'", "CTA+AD'")  # SG2 closes at the next NAD without its COM
    assert problems(text) == [(9, "NAD", None, None)]
    assert "mandatory segment COM in SG2 is missing" in reasons(text)[0]


def test_unknown_segment_is_reported_and_skipped() -> None:
    text = GOOD.replace("UNS+S'", "FOO+1'UNS+S'")
    assert problems(text) == [(14, "FOO", None, None)]
    assert "not part of the TINY structure" in reasons(text)[0]


def test_segment_out_of_place() -> None:
    # a DTM after the parties: known to the grammar, but its place is before SG1
    text = GOOD.replace("UNS+S'", "DTM+35:20261101:102'UNS+S'")
    assert problems(text) == [(14, "DTM", None, None)]
    assert "out of place" in reasons(text)[0]


def test_group_out_of_order() -> None:
    # a MOA (SG3) before UNS: the walk takes it as SG3, so UNS was skipped, and the UNS after it is late
    text = GOOD.replace("UNS+S'", "MOA+1:1'UNS+S'")
    assert problems(text) == [(14, "MOA", None, None), (15, "UNS", None, None)]
    assert "mandatory segment UNS is missing before this segment" in reasons(text)[0]
    assert "segment UNS is out of place" in reasons(text)[1]


def test_too_many_repetitions_of_a_segment_and_of_groups() -> None:
    three_dates = GOOD.replace("DTM+137:20261102:102'", "DTM+137:20261102:102'" * 3)
    assert problems(three_dates) == [(4, "DTM", None, None)]
    assert "segment DTM occurs more than 2 times" in reasons(three_dates)[0]
    four_parties = GOOD.replace("UNS+S'", "NAD+PE'UNS+S'")
    assert problems(four_parties) == [(14, "NAD", None, None)]
    assert "segment group SG1 NAD occurs more than 3 times" in reasons(four_parties)[0]
    three_contacts = GOOD.replace("CTA+AD'COM+1:TE'", "CTA+AD'COM+1:TE'CTA+X'COM+2:TE'")
    assert problems(three_contacts) == [(10, "CTA", None, None)]
    assert "segment group SG2 CTA in SG1 occurs more than 2 times" in reasons(three_contacts)[0]
    three_numbers = GOOD.replace("COM+a@b.example:EM'", "COM+a@b.example:EM'COM+3:TE'")
    assert problems(three_numbers) == [(8, "COM", None, None)]
    assert "segment COM in SG2 occurs more than 2 times" in reasons(three_numbers)[0]
    six_amounts = GOOD.replace("MOA+9:-99,50'", "MOA+9:1'" * 5)
    assert problems(six_amounts) == [(20, "MOA", None, None)]


def test_nested_groups_repeat_and_close_properly() -> None:
    text = (
        "BGM+381+CN-1'"
        "NAD+BY'CTA'COM+1:TE'COM+2:EM'CTA'COM+3:TE'"  # SG1 with SG2 twice, each with COM up to twice
        "NAD+SU'RFF+VA'CTA'COM+4:TE'"  # a new SG1 occurrence: the RFF belongs to it
        "NAD+DP'"
        "UNS+S'MOA+77:1'"
    )
    assert check_message(TINY, body(text)) == []
    # an RFF after SG2 is out of place (RFF comes before SG2 in SG1)
    bad = text.replace("NAD+SU'RFF+VA'CTA'COM+4:TE'", "NAD+SU'CTA'COM+4:TE'RFF+VA'")
    assert problems(bad) == [(11, "RFF", None, None)]


# --------------------------------------------------------------------------------------- elements


def test_mandatory_element_component_and_composite() -> None:
    assert problems(GOOD.replace("BGM+380+INV-1'", "BGM+380'")) == [(1, "BGM", 2, None)]
    assert problems(GOOD.replace("BGM+380+INV-1'", "BGM++INV-1'")) == [(1, "BGM", 1, None)]
    assert problems(GOOD.replace("DTM+137:20261102:102'", "DTM'")) == [(2, "DTM", 1, None)]
    assert "mandatory composite C507 is missing" in reasons(GOOD.replace("DTM+137:20261102:102'", "DTM'"))[0]
    assert problems(GOOD.replace("MOA+79:1234.5'", "MOA+79'")) == [(15, "MOA", 1, 2)]
    assert problems(GOOD.replace("MOA+79:1234.5'", "MOA+:12'")) == [(15, "MOA", 1, 1)]


def test_too_many_elements_and_components() -> None:
    assert problems(GOOD.replace("BGM+380+INV-1'", "BGM+380+INV-1+9'")) == [(1, "BGM", 3, None)]
    assert problems(GOOD.replace("MOA+79:1234.5'", "MOA+79:1234.5:NOK'")) == [(15, "MOA", 1, 3)]
    assert problems(GOOD.replace("BGM+380+INV-1'", "BGM+380:X+INV-1'")) == [(1, "BGM", 1, 2)]
    # trailing empty components and elements are absent, as the syntax allows
    assert problems(GOOD.replace("BGM+380+INV-1'", "BGM+380+INV-1:++'")) == []
    assert problems(GOOD.replace("MOA+79:1234.5'", "MOA+79:1234.5::'")) == []


def test_lengths_count_characters_and_for_numbers_digits_only() -> None:
    assert problems(GOOD.replace("INV-1'", "INV-1234567'")) == [(1, "BGM", 2, None)]
    assert "has 11 characters, at most 10" in reasons(GOOD.replace("INV-1'", "INV-1234567'"))[0]
    assert problems(GOOD.replace("NAD+SU'", "NAD+S'")) == [(10, "NAD", 1, None)]  # min length 2
    # r..5: sign and decimal mark do not count; six digits do
    assert problems(GOOD.replace("1234.5'", "-123.45'")) == []
    assert problems(GOOD.replace("1234.5'", "12345.6'")) == [(15, "MOA", 1, 2)]
    # n..3 with a minus sign
    assert problems(GOOD.replace("CNT+-123", "CNT+-1234")) == [(17, "CNT", 1, None)]


def test_numeric_representation() -> None:
    for bad in ("12a", "1.2.3", "1,2.3", "?+12", ".5", "5.", "-", "1 000"):
        found = problems(GOOD.replace("1234.5'", f"{bad}'"))
        assert found == [(15, "MOA", 1, 2)], bad
    assert problems(GOOD.replace("1234.5'", "0,5'")) == []  # EDIFACT: comma or full stop
    # X12: full stop only (the good message's second amount has a decimal comma too)
    assert problems(GOOD.replace("1234.5'", "0,5'"), TINY_X12) == [(15, "MOA", 1, 2), (16, "MOA", 1, 2)]
    assert problems(GOOD.replace("1234.5'", ".5'").replace("-99,50", "-99.50"), TINY_X12) == []
    assert problems(GOOD.replace("CNT+-123", "CNT+1.5")) == [(17, "CNT", 1, None)]  # n is an integer


def test_dates_times_letters_and_codes() -> None:
    assert problems(GOOD.replace("20261102", "20260230")) == [(2, "DTM", 1, 2)]
    assert "not a calendar date" in reasons(GOOD.replace("20261102", "20260230"))[0]
    assert problems(GOOD.replace("20261102", "2026110")) == [(2, "DTM", 1, 2)]
    assert problems(GOOD.replace("20261102", "2026-11-02")) == [(2, "DTM", 1, 2)]
    assert problems(GOOD.replace("+2359'", "+2460'")) == [(17, "CNT", 2, None)]
    assert problems(GOOD.replace("+2359'", "+235959'")) == []
    assert problems(GOOD.replace("NAD+SU'", "NAD+S1'")) == [(10, "NAD", 1, None)]
    assert problems(GOOD.replace("BGM+380", "BGM+999")) == [(1, "BGM", 1, None)]
    assert "'999' is not an allowed code (380, 381)" in reasons(GOOD.replace("BGM+380", "BGM+999"))[0]
    assert problems(GOOD.replace("COM+1:TE'", "COM+1:FX'")) == [(9, "COM", 1, 2)]


def test_every_problem_is_reported_not_just_the_first() -> None:
    text = GOOD.replace("BGM+380+INV-1'", "BGM+999+INV-1234567+X'").replace("1234.5'", "ABC'")
    assert problems(text) == [
        (1, "BGM", 3, None),
        (1, "BGM", 1, None),
        (1, "BGM", 2, None),
        (15, "MOA", 1, 2),
    ]


def test_an_empty_body_misses_every_mandatory_part() -> None:
    found = check_message(TINY, [])
    assert [(p.position, p.tag) for p in found] == [(0, "UNT")] * 4
    assert [p.reason.split(" is ")[0] for p in found] == [
        "mandatory segment BGM",
        "mandatory segment group SG1 (NAD)",
        "mandatory segment UNS",
        "mandatory segment group SG3 (MOA)",
    ]
