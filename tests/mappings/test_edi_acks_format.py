"""EDI acknowledgements, pure: every ack sample read (values read off the files), CONTRL / 997 / 999 / TA1
written from syntax errors, round trips through our own syntax layer, and pyx12 as an outside check."""

from __future__ import annotations

import datetime as dt
import importlib
import subprocess
import sys
from pathlib import Path

import pytest

from mappings import detect_format, inspect_file
from mappings.acks import contrl, edifact_acks, functional_ack, x12_acks, x12_codes
from mappings.acks.model import ACCEPTED, PARTIAL, REJECTED, AckError, AckFormatError, AckParty
from mappings.acks.received import read_acknowledgement, read_acknowledgements
from mappings.syntax import edifact, lenient, x12
from mappings.syntax.edi_envelope import EdiEnvelope
from tests.conftest import SHARED

SAMPLES = SHARED / "samples" / "edi"
APERAK_DIR = SAMPLES / "edifact" / "APERAK"
X12_ACK_DIRS = [SAMPLES / "x12" / name for name in ("997", "999", "TA1")]
ACK_SAMPLES = sorted(APERAK_DIR.iterdir()) + sorted(p for d in X12_ACK_DIRS for p in d.iterdir())
BUSINESS_SAMPLES = [
    SAMPLES / "edifact" / "INVOIC" / "bots_invoic1_D96A_EAN008_generated.edi",
    SAMPLES / "edifact" / "DESADV" / "bots_desadv1_D96A_EAN005_generated.edi",
    SAMPLES / "x12" / "810" / "bots_810-004010-01.x12",
    SAMPLES / "x12" / "820" / "bots_820-004010-01_safeway.x12",
]
NOON = dt.datetime(2026, 11, 24, 12, 0, tzinfo=dt.UTC)


def _sample(relative: str) -> bytes:
    return (SAMPLES / relative).read_bytes()


def _envelope(**changes: object) -> EdiEnvelope:
    values: dict[str, object] = {
        "sender_id": "7080000000009",
        "sender_qualifier": "14",
        "recipient_id": "7300009000003",
        "recipient_qualifier": "14",
        "interchange_ref": "501",
        "message_ref": "77",
        "group_ref": "9",
        "prepared": NOON,
        "newline": "\n",
    }
    values.update(changes)
    return EdiEnvelope(**values)  # type: ignore[arg-type]


def _x12_envelope(**changes: object) -> EdiEnvelope:
    return _envelope(
        sender_id="RECEIVER",
        sender_qualifier="ZZ",
        recipient_id="SENDER",
        recipient_qualifier="ZZ",
        **changes,
    )


# --- every acknowledgement sample --------------------------------------------------------------------------


def test_every_ack_sample_is_sniffed_and_read_or_refused_clearly() -> None:
    assert len(ACK_SAMPLES) == 14
    for path in ACK_SAMPLES:
        data = path.read_bytes()
        assert (edifact_acks.sniff(data) or x12_acks.sniff(data)), path.name
        if path.name == "edinet_aperak_issue235.edi":
            continue
        assert read_acknowledgements(data), path.name


def test_business_files_are_not_acks_and_inspect_still_sees_the_syntax() -> None:
    for path in BUSINESS_SAMPLES:
        data = path.read_bytes()
        assert not (edifact_acks.sniff(data) or x12_acks.sniff(data)), path.name
        detected = detect_format(data)
        assert detected is not None and not detected.endswith("-ack"), (path.name, detected)
        assert detected.split("-")[0] in ("edifact", "x12", "invoic"), (path.name, detected)
        with pytest.raises(AckFormatError, match="not an acknowledgement"):
            read_acknowledgements(data)


def test_inspect_file_reads_acks_before_the_generic_syntax() -> None:
    aperak = inspect_file(_sample("edifact/APERAK/bots_dutchic_aperak1_D96A_generated.edi"))
    assert aperak["format"] == "edifact-ack"
    assert aperak["acknowledgements"][0]["kind"] == "APERAK"
    ta1 = inspect_file(_sample("x12/TA1/oopf_TA1_Sample1.txt"))
    assert ta1["format"] == "x12-ack"
    assert [a["of_interchange_ref"] for a in ta1["acknowledgements"]] == ["0659", "0660"]


def test_bots_aperak_without_errors_is_an_acceptance_of_order_t0000000015() -> None:
    ack = read_acknowledgement(_sample("edifact/APERAK/bots_dutchic_aperak1_D96A_generated.edi"))
    assert ack.kind == "APERAK" and ack.status == ACCEPTED
    assert ack.sender == AckParty("PARTNER2", "14") and ack.recipient == AckParty("PARTNER1", "14")
    assert (ack.control_ref, ack.message_ref, ack.prepared) == ("1", "14", "130123 0123")
    assert ack.references == (("ON", "T0000000015"),)
    assert ack.reference("ON") == "T0000000015"
    assert ack.warnings == ()
    assert "APERAK 14" in ack.note


def test_pydifact_rejected_aperak_is_read_leniently_with_its_error() -> None:
    data = _sample("edifact/APERAK/pydifact_aperak_rejected_v3.edi")
    with pytest.raises(edifact.EdiSyntaxError) as strict:
        read_acknowledgement(data, lenient=False)
    assert (strict.value.segment_position, strict.value.segment_tag) == (8, "FTX")
    ack = read_acknowledgement(data)
    assert ack.status == REJECTED
    assert ack.sender == AckParty("RECEIVERID") and ack.recipient == AckParty("SENDERID")
    assert ack.control_ref == "000000003"
    assert ack.references == (("ACW", "PO123456"),)
    [message] = ack.messages
    assert message.ref == "PO123456" and message.status == REJECTED
    [error] = message.errors
    assert (error.code, error.text) == ("12", "Order rejected due to invalid product code")
    assert "segment 8 (FTX)" in ack.warnings[0] and "UNOA" in ack.warnings[0]
    assert "UNT at segment 9 says '8' segments, message '1' has 7" in ack.warnings


@pytest.mark.parametrize(
    ("name", "control_ref", "text", "first_warning"),
    [
        ("pydifact_aperak_v3.edi", "000000002", "Message accepted without errors", "segment 8 (FTX)"),
        ("pydifact_aperak_v4.edi", "000000005", "Message accepted", "date '250322' must be CCYYMMDD"),
    ],
)
def test_pydifact_accepted_aperaks_carry_an_erc_and_so_read_as_rejections(
    name: str, control_ref: str, text: str, first_warning: str
) -> None:
    """Their acceptance is only in free text: BGM 1225 is 9 (original), and ERC+1 is an error code. A
    gateway never auto-accepts on free text, so these go to a person (deviation) — by design."""
    ack = read_acknowledgement(_sample(f"edifact/APERAK/{name}"))
    assert ack.control_ref == control_ref
    assert ack.status == REJECTED
    [message] = ack.messages
    assert [(e.code, e.text) for e in message.errors] == [("1", text)]
    assert first_warning in ack.warnings[0]
    assert "message function 9" in ack.note


def test_edinet_aperak_with_an_empty_unb_is_refused_naming_the_segment() -> None:
    with pytest.raises(edifact.EdiSyntaxError) as refused:
        read_acknowledgements(_sample("edifact/APERAK/edinet_aperak_issue235.edi"))
    assert (refused.value.segment_position, refused.value.segment_tag) == (2, "UNB")
    assert refused.value.element_index == 1


@pytest.mark.parametrize(
    ("name", "sender", "control_ref", "group", "functional_id", "sets"),
    [
        (
            "bots_997-004010VICS-01.x12",
            AckParty("111111111", "01"),
            "000001816",
            "10001",
            "PR",
            [("1294", "855")],
        ),
        ("bots_inbound_997_1.x12", AckParty("1234", "01"), "000000001", "214", "PO", [("000000390", "850")]),
        (
            "bots_outbound_997_10_generated.x12",
            AckParty("YYYYYYYYYY", "01"),
            "000000002",
            "142",
            "PO",
            [("101308635", "850")],
        ),
        (
            "bots_outbound_997_2_generated.x12",
            AckParty("1234567890", "01"),
            "000000001",
            "1403",
            "PO",
            [("01403001", "850")],
        ),
        (
            "stupidedi_FA997_4010_pass_1.edi",
            AckParty("XXXXXX", "01"),
            "300044350",
            "160",
            "AG",
            [("0160", "824")],
        ),
    ],
)
def test_accepting_997_samples(
    name: str, sender: AckParty, control_ref: str, group: str, functional_id: str, sets: list[tuple[str, str]]
) -> None:
    ack = read_acknowledgement(_sample(f"x12/997/{name}"))
    assert ack.kind == "997" and ack.status == ACCEPTED
    assert ack.sender == sender and ack.control_ref == control_ref
    assert ack.of_group_ref == group and f"({functional_id})" in ack.note
    assert [(m.ref, m.type, m.status) for m in ack.messages] == [(r, t, ACCEPTED) for r, t in sets]
    assert "sets included 1, received 1, accepted 1" in ack.note


def test_stupidedi_fa997_with_a_short_isa_is_read_leniently() -> None:
    ack = read_acknowledgement(_sample("x12/997/stupidedi_FA997_4010_pass_1.edi"))
    assert "ISA06" in ack.warnings[0] and "fixed width" in ack.warnings[0]
    with pytest.raises(x12.X12SyntaxError):
        read_acknowledgement(_sample("x12/997/stupidedi_FA997_4010_pass_1.edi"), lenient=False)


def test_x230_997_partially_accepts_with_ak3_ak4_detail() -> None:
    ack = read_acknowledgement(_sample("x12/997/stupidedi_X230_FA997_response-to-837s.edi"))
    assert (ack.status, ack.of_group_ref, ack.control_ref) == (PARTIAL, "17456", "000010216")
    assert ack.sender == AckParty("123456789012345", "ZZ")
    first, second = ack.messages
    assert (first.ref, first.type, first.status, first.errors) == ("0001", "837", ACCEPTED, ())
    assert (second.ref, second.status) == ("0002", REJECTED)
    segment, element, trailer = second.errors
    assert (segment.segment_position, segment.segment_tag, segment.code) == (22, "CLM", "8")
    assert (element.segment_position, element.segment_tag, element.element, element.code) == (
        22,
        "CLM",
        1,
        "1",
    )
    assert "data element 1028" in element.text
    assert (trailer.code, trailer.text) == ("5", "one or more segments in error")
    assert "sets included 2, received 2, accepted 1" in ack.note


@pytest.mark.parametrize(
    "name", ["oopf_999_DHS_Wisconsin.txt", "stupidedi_X231A1_FA999_response-to-3-837s.edi"]
)
def test_999_samples_with_ik3_ik4_and_context(name: str) -> None:
    ack = read_acknowledgement(_sample(f"x12/999/{name}"))
    assert ack.kind == "999" and ack.status == PARTIAL and ack.of_group_ref == "17456"
    accepted, clm, ref = ack.messages
    assert accepted.status == ACCEPTED and accepted.ref == "0001"
    assert clm.status == REJECTED and clm.ref in ("002", "0002")
    ik3, ik4, ik5 = clm.errors
    assert (ik3.segment_tag, ik3.segment_position, ik3.code) == ("CLM", 22, "8")
    assert "context CLM01:123456789" in ik3.text
    assert (ik4.element, ik4.code) == (2, "1") and "data element 782" in ik4.text
    assert ik5.code == "5"
    assert (ref.errors[0].segment_tag, ref.errors[0].segment_position, ref.errors[0].code) == ("REF", 57, "3")
    assert "SITUATIONAL TRIGGER" in ref.errors[0].text
    assert "sets included 3, received 3, accepted 1" in ack.note


def test_ta1_sample_holds_two_interchange_acknowledgements() -> None:
    first, second = read_acknowledgements(_sample("x12/TA1/oopf_TA1_Sample1.txt"))
    assert (first.kind, first.of_interchange_ref, first.status) == ("TA1", "0659", ACCEPTED)
    assert (second.of_interchange_ref, second.status) == ("0660", ACCEPTED)
    assert first.sender == AckParty("SenderID", "ZZ") and first.recipient == AckParty("SCMEDICAID", "ZZ")
    assert first.prepared == "20110922 0512"


def test_contrl_detail_is_read_with_positions() -> None:
    data = (
        b"UNB+UNOC:3+7300009000003:14+7080000000009:14+261124:1200+501'UNH+1+CONTRL:D:3:UN'"
        b"UCI+17+7080000000009:14+7300009000003:14+7'UCM+1+INVOIC:D:96A:UN:EAN008+4'UCS+5'UCD+12+3:1'"
        b"UCS+9+35'UNT+7+1'UNZ+1+501'"
    )
    ack = read_acknowledgement(data)
    assert (ack.kind, ack.of_interchange_ref, ack.status) == ("CONTRL", "17", PARTIAL)
    [message] = ack.messages
    assert (message.ref, message.type, message.status) == ("1", "INVOIC", REJECTED)
    element, segment = message.errors
    assert element == AckError(5, "", 2, 1, "12", "invalid value")
    assert (segment.segment_position, segment.code, segment.text) == (9, "35", "too many repetitions")
    assert "segment 5 element 2 component 1: code 12 (invalid value)" in ack.describe()


def test_contrl_without_uci_and_ta1_with_a_bad_code_are_refused() -> None:
    with pytest.raises(AckFormatError, match="without UCI"):
        read_acknowledgements(b"UNB+UNOC:3+A+B+261124:1200+1'UNH+1+CONTRL:D:3:UN'UNT+2+1'UNZ+1+1'")
    ta1 = _sample("x12/TA1/oopf_TA1_Sample1.txt").replace(b"0512*A", b"0512*Q", 1)
    with pytest.raises(AckFormatError, match="TA104"):
        read_acknowledgements(ta1)


# --- error codes -------------------------------------------------------------------------------------------


def _edifact_error(data: bytes) -> edifact.EdiSyntaxError:
    with pytest.raises(edifact.EdiSyntaxError) as caught:
        edifact.parse(data)
    return caught.value


REMADV = (
    b"UNA:+.? 'UNB+UNOA:3+7300009000003:14+7080000000009:14+261124:1200+42'UNH+7+REMADV:D:96A:UN'"
    b"BGM+481+R-1+9'DTM+137:20261124:102'RFF+IV:INV-1'MOA+9:100.00'UNT+6+7'UNZ+1+42'"
)


@pytest.mark.parametrize(
    ("old", "new", "code"),
    [
        (b"UNT+6+7", b"UNT+9+7", "29"),
        (b"UNT+6+7", b"UNT+6+8", "28"),
        (b"UNZ+1+42", b"UNZ+2+42", "29"),
        (b"+42'UNH", b"+'UNH", "13"),
        (b"RFF+IV:INV-1", b"RFF+IV:inv-1", "21"),
        (b"UNH+7+", b"UNH+777777777777777+", "39"),
        (b"261124:1200", b"26112A:1200", "37"),
        (b"UNH+7+REMADV:D:96A:UN'", b"UNH+7+REMADV:D:96A:UN++++:::'", "16"),
        (b"UNOA:3", b"UNOQ:3", "2"),
        (b"UNT+6+7'UNZ", b"UNZ", "13"),
        (b"UNZ+1+42'", b"UNZ+1+42'MOA+1'", "33"),
    ],
)
def test_syntax_errors_map_to_contrl_codes(old: bytes, new: bytes, code: str) -> None:
    assert REMADV.count(old) == 1
    assert contrl.error_code(_edifact_error(REMADV.replace(old, new))) == code


def test_x12_syntax_errors_map_to_levels_and_codes() -> None:
    data = _sample("x12/820/bots_820-004010-01_safeway.x12")

    def codes(old: bytes, new: bytes) -> tuple[str, str]:
        assert data.count(old) >= 1
        with pytest.raises(x12.X12SyntaxError) as caught:
            x12.parse(data.replace(old, new, 1))
        error = caught.value
        interchange = lenient.loose_x12_interchange(data.replace(old, new, 1))[0]
        group, transaction = functional_ack._locate_x12(interchange, error.segment_position)
        found = x12_codes.error_codes(error, in_set=transaction is not None, in_group=group is not None)
        return found.level, found.code

    assert codes(b"*08*9251750000     ", b"*08*9251750000    ") == ("interchange", "006")
    assert codes(b"IEA*1*000025029", b"IEA*1*000025030") == ("interchange", "001")
    assert codes(b"IEA*1*", b"IEA*2*") == ("interchange", "021")
    assert codes(b"GE*1*106", b"GE*2*106") == ("group", "5")
    assert codes(b"GE*1*106", b"GE*1*107") == ("group", "4")
    assert codes(b"SE*39*", b"SE*38*") == ("set", "4")
    assert codes(b"SE*39*00106001", b"SE*39*00106002") == ("set", "3")
    assert codes(b"GS*RA*8019721193*XXXXXXXXXX*20051018", b"GS*RA*8019721193*XXXXXXXXXX*051018") == (
        "interchange",
        "024",
    )
    body = x12.X12SyntaxError(
        "BPR02 'ABC' must be a number", segment_position=5, segment_tag="BPR", element_index=2
    )
    assert x12_codes.error_codes(body, in_set=True, in_group=True) == x12_codes.X12Codes("element", "6")


# --- writing CONTRL ----------------------------------------------------------------------------------------


def test_an_accepted_contrl_answers_in_the_partners_syntax_and_round_trips() -> None:
    received = edifact.parse(REMADV)
    out = contrl.answer(received, envelope=_envelope(), accepted=True)
    parsed = edifact.parse(out)
    assert (parsed.syntax_id, parsed.syntax_version) == ("UNOA", 3)
    assert (parsed.sender.id, parsed.recipient.id, parsed.control_ref) == (
        "7080000000009",
        "7300009000003",
        "501",
    )
    [message] = parsed.messages
    assert (message.type, message.version, message.release, message.reference) == ("CONTRL", "D", "3", "77")
    assert [s.tag for s in message.segments] == ["UCI"]
    uci = message.segments[0]
    assert (uci.get(1), uci.get(2, 1), uci.get(3, 1), uci.get(4)) == (
        "42",
        "7300009000003",
        "7080000000009",
        "7",
    )
    ack = read_acknowledgement(out)
    assert (ack.status, ack.of_interchange_ref) == (ACCEPTED, "42")


def test_a_syntax_4_partner_gets_contrl_4_1_in_syntax_4() -> None:
    received = edifact.parse(
        b"UNB+UNOC:4+7300009000003:14+7080000000009:14+20261124:1200+42'UNH+7+REMADV:D:96A:UN'"
        b"BGM+481+R-1+9'UNT+3+7'UNZ+1+42'"
    )
    parsed = edifact.parse(contrl.answer(received, envelope=_envelope(), accepted=True))
    assert (parsed.syntax_id, parsed.syntax_version, parsed.prepared[0]) == ("UNOC", 4, "20261124")
    assert (parsed.messages[0].version, parsed.messages[0].release) == ("4", "1")


def test_a_bad_character_is_reported_as_ucm_ucs_ucd() -> None:
    bad = REMADV.replace(b"RFF+IV:INV-1", b"RFF+IV:inv-1")
    error = _edifact_error(bad)
    assert (error.segment_position, error.element_index, error.component_index) == (6, 1, 2)
    out = contrl.answer(bad, envelope=_envelope(), accepted=False, errors=[error])
    segments = [s for s in edifact.parse(out).messages[0].segments]
    assert [(s.tag, s.elements) for s in segments] == [
        ("UCI", (("42",), ("7300009000003", "14"), ("7080000000009", "14"), ("4",))),
        ("UCM", (("7",), ("REMADV", "D", "96A", "UN"), ("4",))),
        ("UCS", (("4",),)),  # UNH = 1: the RFF is the 4th segment of the message (6th of the file)
        ("UCD", (("21",), ("2", "2"))),  # 0098 counts the tag as 1: element 1 is position 2
    ]
    ack = read_acknowledgement(out)
    assert ack.status == REJECTED
    assert ack.messages[0].errors[0] == AckError(4, "", 1, 2, "21", "invalid character(s)")


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            b"UNT+6+7",
            b"UNT+9+7",
            ("UCM", (("7",), ("REMADV", "D", "96A", "UN"), ("4",), ("29",), ("UNT",), ("2",))),
        ),
        (
            b"UNT+6+7",
            b"UNT+6+8",
            ("UCM", (("7",), ("REMADV", "D", "96A", "UN"), ("4",), ("28",), ("UNT",), ("3",))),
        ),
        (
            b"UNZ+1+42",
            b"UNZ+1+43",
            (
                "UCI",
                (
                    ("42",),
                    ("7300009000003", "14"),
                    ("7080000000009", "14"),
                    ("4",),
                    ("28",),
                    ("UNZ",),
                    ("3",),
                ),
            ),
        ),
    ],
)
def test_trailer_errors_land_on_ucm_and_uci(old: bytes, new: bytes, expected: tuple[str, object]) -> None:
    bad = REMADV.replace(old, new)
    out = contrl.answer(bad, envelope=_envelope(), accepted=False, errors=[_edifact_error(bad)])
    segments = edifact.parse(out).messages[0].segments
    assert (segments[-1].tag, segments[-1].elements) == expected


def test_a_duplicate_interchange_is_uci_4_code_26() -> None:
    out = contrl.answer(
        edifact.parse(REMADV), envelope=_envelope(), accepted=False, duplicate=True
    )
    [uci] = edifact.parse(out).messages[0].segments
    assert uci.elements[3:] == (("4",), ("26",), ("UNB",), ("6",))
    assert read_acknowledgement(out).errors[0].code == "26"


def test_grouped_interchanges_are_answered_through_ucf() -> None:
    grouped = (
        b"UNB+UNOC:3+7300009000003:14+7080000000009:14+261124:1200+42'UNG+REMADV+P1+US+261124:1200+G1+UN+D:96A'"
        b"UNH+7+REMADV:D:96A:UN'BGM+481+R-1+9'UNT+3+8'UNE+1+G1'UNZ+1+42'"
    )
    out = contrl.answer(
        grouped, envelope=_envelope(use_groups=True), accepted=False, errors=[_edifact_error(grouped)]
    )
    parsed = edifact.parse(out)
    segments = parsed.groups[0].messages[0].segments
    assert [s.tag for s in segments] == ["UCI", "UCF", "UCM"]
    assert segments[1].elements[:1] + segments[1].elements[3:] == (("G1",), ("4",))
    assert segments[2].get(4) == "28"


# --- writing 997 / 999 / TA1 -------------------------------------------------------------------------------

SAFEWAY = "x12/820/bots_820-004010-01_safeway.x12"
HIPAA_820 = "x12/820/stupidedi_X218_RA820_summary-bill-payment.edi"


def test_997_accepting_the_safeway_820() -> None:
    data = _sample(SAFEWAY)
    out = functional_ack.answer(x12.parse(data), envelope=_x12_envelope(), accepted=True)
    parsed = x12.parse(out)
    assert (parsed.version, parsed.control_number, parsed.sender.id) == ("00401", "000000501", "RECEIVER")
    [group] = parsed.groups
    assert (group.functional_id, group.version, group.control_number) == ("FA", "004010", "9")
    [transaction] = group.transactions
    assert (transaction.set_id, transaction.control_number) == ("997", "0077")
    assert [(s.tag, s.elements) for s in transaction.segments] == [
        ("AK1", (("RA",), ("106",))),
        ("AK2", (("820",), ("00106001",))),
        ("AK5", (("A",),)),
        ("AK9", (("A",), ("1",), ("1",), ("1",))),
    ]
    ack = read_acknowledgement(out)
    assert (ack.kind, ack.status, ack.of_group_ref) == ("997", ACCEPTED, "106")


def test_997_with_ak3_ak4_for_an_element_error_and_a_copy_of_the_bad_value() -> None:
    data = _sample(SAFEWAY)
    error = x12.X12SyntaxError(
        "BPR02 must be a number", segment_position=4, segment_tag="BPR", element_index=2
    )
    out = functional_ack.answer(data, envelope=_x12_envelope(), accepted=False, errors=[error])
    segments = x12.parse(out).transactions[0].segments
    assert [(s.tag, s.elements) for s in segments] == [
        ("AK1", (("RA",), ("106",))),
        ("AK2", (("820",), ("00106001",))),
        ("AK3", (("BPR",), ("2",), ("",), ("8",))),  # ST = 1: BPR is the 2nd segment of the set
        ("AK4", (("2",), ("",), ("6",), ("416093.15",))),
        ("AK5", (("R",), ("5",))),
        ("AK9", (("R",), ("1",), ("1",), ("0",))),
    ]
    ack = read_acknowledgement(out)
    assert ack.status == REJECTED
    assert "segment 2 (BPR) element 2: code 6" in ack.describe()


def test_a_wrong_se_count_is_ak5_code_4_and_an_ieia_mismatch_is_a_ta1() -> None:
    data = _sample(SAFEWAY)
    bad = data.replace(b"SE*39*", b"SE*38*", 1)
    with pytest.raises(x12.X12SyntaxError) as caught:
        x12.parse(bad)
    segments = (
        x12.parse(
            functional_ack.answer(bad, envelope=_x12_envelope(), accepted=False, errors=[caught.value])
        )
        .transactions[0]
        .segments
    )
    assert ("AK5", (("R",), ("4",))) in [(s.tag, s.elements) for s in segments]
    bad_iea = data.replace(b"IEA*1*000025029", b"IEA*1*000025030")
    with pytest.raises(x12.X12SyntaxError) as caught_iea:
        x12.parse(bad_iea)
    out = functional_ack.answer(bad_iea, envelope=_x12_envelope(), accepted=False, errors=[caught_iea.value])
    parsed = x12.parse(out)
    assert parsed.groups == []
    [ta1] = parsed.acknowledgments
    assert ta1.elements == (("000025029",), ("051018",), ("1820",), ("R",), ("001",))
    assert read_acknowledgement(out).errors[0].code == "001"


def test_a_duplicate_is_a_ta1_025_and_isa14_asks_for_a_ta1() -> None:
    data = _sample(SAFEWAY)
    out = functional_ack.answer(data, envelope=_x12_envelope(), accepted=False, duplicate=True)
    [ta1] = x12.parse(out).acknowledgments
    assert (ta1.get(4), ta1.get(5)) == ("R", "025")
    asked = data.replace(b"*000025029*0*P*", b"*000025029*1*P*")
    parsed = x12.parse(functional_ack.answer(asked, envelope=_x12_envelope(), accepted=True))
    assert [a.get(4) for a in parsed.acknowledgments] == ["A"] and parsed.groups


def test_a_5010_implementation_guide_group_gets_a_999() -> None:
    data = _sample(HIPAA_820)
    out = functional_ack.answer(data, envelope=_x12_envelope(), accepted=True)
    parsed = x12.parse(out)
    assert (parsed.version, parsed.separators.repetition) == ("00501", "^")
    [transaction] = parsed.transactions
    assert (transaction.set_id, transaction.implementation_ref) == ("999", "005010X231A1")
    assert transaction.segments[0].elements == (("RA",), ("20213",), ("005010X218",))
    assert functional_ack.kind_for("00501", "005010") == "997"
    assert functional_ack.kind_for("00401", "004010") == "997"


def test_999_carries_ik3_ik4_ik5() -> None:
    error = x12.X12SyntaxError("BPR02 is missing", segment_position=4, segment_tag="BPR", element_index=2)
    out = functional_ack.answer(
        _sample(HIPAA_820), envelope=_x12_envelope(), accepted=False, errors=[error], functional_ack="999"
    )
    tags = [(s.tag, s.elements) for s in x12.parse(out).transactions[0].segments]
    assert ("IK3", (("BPR",), ("2",), ("",), ("8",))) in tags
    assert ("IK4", (("2",), ("",), ("1",), ("19000",))) in tags
    assert ("IK5", (("R",), ("I5",))) in tags
    ack = read_acknowledgement(out)
    assert ack.kind == "999" and ack.status == REJECTED


def test_several_groups_get_one_functional_ack_each() -> None:
    data = _sample("x12/810/bots_810-004010-01.x12")
    received = x12.parse(data)
    received.groups.append(
        x12.FunctionalGroup(
            "IN", "A", "B", "20261124", "1200", "225", "X", "004010", received.groups[0].transactions
        )
    )
    out = functional_ack.answer(received, envelope=_x12_envelope(), accepted=True, set_refs=["5", "6"])
    acks = read_acknowledgements(out)
    assert [(a.of_group_ref, a.message_ref) for a in acks] == [("224", "0005"), ("225", "0006")]


# --- pyx12 as an outside validator (test-only; it knows the HIPAA code lists, so an 820 is answered) --------


def _pyx12_valid(tmp_path: Path, content: bytes) -> tuple[bool, str]:
    importlib.import_module("pyx12")
    path = tmp_path / "ack.x12"
    path.write_bytes(content)
    script = Path(sys.executable).with_name("x12valid")
    result = subprocess.run(
        [str(script), str(path)], capture_output=True, text=True, check=False, timeout=120
    )
    output = result.stdout + result.stderr
    return output.strip().endswith("OK"), output


def test_pyx12_validates_our_997(tmp_path: Path) -> None:
    data = _sample(SAFEWAY)
    ok, output = _pyx12_valid(tmp_path, functional_ack.answer(data, envelope=_x12_envelope(), accepted=True))
    assert ok, output
    error = x12.X12SyntaxError(
        "BPR02 must be a number", segment_position=4, segment_tag="BPR", element_index=2
    )
    ok, output = _pyx12_valid(
        tmp_path, functional_ack.answer(data, envelope=_x12_envelope(), accepted=False, errors=[error])
    )
    assert ok, output


def test_pyx12_validates_our_999(tmp_path: Path) -> None:
    data = _sample(HIPAA_820)
    envelope = _x12_envelope()
    ok, output = _pyx12_valid(
        tmp_path, functional_ack.answer(data, envelope=envelope, accepted=True, functional_ack="999")
    )
    assert ok, output
    error = x12.X12SyntaxError("BPR02 is missing", segment_position=4, segment_tag="BPR", element_index=2)
    ok, output = _pyx12_valid(
        tmp_path,
        functional_ack.answer(data, envelope=envelope, accepted=False, errors=[error], functional_ack="999"),
    )
    assert ok, output
