"""Several interchanges in one file, hard-wrapped EDIFACT, CRLF after every segment (issue 17), through the
mapping layer: the cut (`mappings.syntax.interchanges`), the strict readers, `examine`, invoice intake,
acknowledgements and `gateway inspect`.

Every file here is built by hand from the shared samples, to reproduce a class of real input; each test
says which.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from gateway.cli import app as cli_app
from mappings import inspect_file, read_invoices
from mappings.acks import edifact_acks, x12_acks
from mappings.acks.received import examine
from mappings.base import FormatError
from mappings.invoice import edifact_invoic, x12_810
from mappings.syntax import edifact, x12
from mappings.syntax.interchanges import split_interchanges
from tests.conftest import SHARED

EDI = SHARED / "samples" / "edi"
INVOIC = (EDI / "edifact" / "INVOIC" / "pydifact_invoice1_D97A.edi").read_bytes()
DESADV = (EDI / "edifact" / "DESADV" / "bots_desadv1_D96A_EAN005_generated.edi").read_bytes()
X810 = (EDI / "x12" / "810" / "bots_810-004010-01.x12").read_bytes()


def _edifact_copy(data: bytes, ref: str, *, newline: str = "\r\n") -> bytes:
    """The sample's interchange again under control reference `ref`, one segment a line."""
    interchange = edifact.parse(data)
    interchange.control_ref = ref
    return edifact.write_interchange(interchange, una=True, newline=newline)


def _x12_copy(data: bytes, number: int) -> bytes:
    interchange = x12.parse(data)
    interchange.control_number = f"{number:09d}"
    return x12.write_interchange(interchange, newline="\n")


def _unz_count(data: bytes, count: int) -> bytes:
    """The interchange with a wrong UNZ count (a sender that counted segments, or lost a message)."""
    return re.sub(rb"UNZ\+\d+\+", f"UNZ+{count}+".encode(), data)


def _wrapped(data: bytes, width: int = 80, newline: str = "\r\n") -> bytes:
    """A fixed-width export: the interchange on one line, cut every `width` characters."""
    text = data.decode("latin-1").replace("\r", "").replace("\n", "")
    return newline.join(text[i : i + width] for i in range(0, len(text), width)).encode("latin-1") + b"\r\n"


# --- the cut -----------------------------------------------------------------------------------------------


def test_a_vans_concatenated_edifact_file_is_cut_into_its_interchanges() -> None:
    """A VAN mailbox's daily file: three INVOIC interchanges one after the other, blank lines and stray
    spaces between them, each with its own UNA and control reference."""
    parts = [_edifact_copy(INVOIC, ref) for ref in ("1001", "1002", "1003")]
    data = parts[0] + b"\r\n\r\n" + parts[1] + b"  \n\t" + parts[2]
    pieces = split_interchanges(data)
    assert [(p.index, p.standard, p.data) for p in pieces] == [  # the CRLF after each UNZ falls between
        (1, "edifact", parts[0].rstrip()),
        (2, "edifact", parts[1].rstrip()),
        (3, "edifact", parts[2].rstrip()),
    ]
    assert data[pieces[1].offset :].startswith(b"UNA")
    assert [i.control_ref for i in edifact.every_interchange(data)] == ["1001", "1002", "1003"]
    assert split_interchanges(INVOIC)[0].data is INVOIC  # one interchange: the bytes as they came


def test_x12_interchanges_twice_and_mixed_with_edifact_are_cut_at_isa_and_iea() -> None:
    """A clearing centre's file: two 810 interchanges (ISA…IEA, ISA…IEA), then an EDIFACT one."""
    first, second = _x12_copy(X810, 501), _x12_copy(X810, 502)
    pieces = split_interchanges(first + b"\r\n" + second + b"\n" + _edifact_copy(DESADV, "77"))
    assert [p.standard for p in pieces] == ["x12", "x12", "edifact"]
    assert [i.control_number for i in x12.every_interchange(first + second)] == ["000000501", "000000502"]
    assert edifact.parse(pieces[2].data).control_ref == "77"


def test_a_released_terminator_and_a_tag_like_text_do_not_cut() -> None:
    """Free text that holds `'UNZ+…` behind a release character is data, not the end of an interchange."""
    body = "UNH+1+DESADV:D:96A:UN'FTX+AAI+++SEE ?'UNZ?+1?+9?' AND ?'UNB?''UNT+3+1'"
    one = f"UNB+UNOC:3+S+R+240131:1200+9'{body}UNZ+1+9'".encode()
    assert len(split_interchanges(one + b"\n" + one)) == 2
    [message] = edifact.parse(one).messages
    assert message.segments[0].elements[3] == ("SEE 'UNZ+1+9' AND 'UNB'",)


def test_a_missing_unz_ends_the_interchange_where_the_next_one_starts() -> None:
    """A sender that lost the UNZ of the first interchange: it is refused alone, the second reads."""
    good = _edifact_copy(DESADV, "2")
    broken = re.sub(rb"UNZ\+\d\+1'\r\n", b"", _edifact_copy(DESADV, "1"))
    pieces = split_interchanges(broken + good)
    assert [p.data for p in pieces] == [broken, good.rstrip()]
    with pytest.raises(edifact.EdiSyntaxError, match="no UNZ"):
        edifact.parse(pieces[0].data)
    assert edifact.parse(pieces[1].data).control_ref == "2"


# --- examine: what POST /edi reads -------------------------------------------------------------------------


def test_a_broken_interchange_is_refused_alone_by_examine() -> None:
    """The VAN file whose second interchange has a wrong UNZ count and whose third is line noise: the
    first and fourth are read, the second is read leniently with its error (to be answered), the noise is
    an error of its own."""
    bad_count = _unz_count(_edifact_copy(DESADV, "2"), 7)
    data = _edifact_copy(DESADV, "1") + bad_count + b"\x1a\x1aGARBAGE\r\n" + _edifact_copy(DESADV, "4")
    received = examine(data)
    assert len(received.parts) == 4
    first, second, noise, fourth = received.parts
    assert first.received is not None and first.received.error is None
    assert second.received is not None and second.received.control_ref == "2"
    assert second.received.error is not None and "UNZ" in str(second.received.error)
    assert noise.received is None and noise.error is not None
    assert (
        fourth.received is not None and fourth.received.control_ref == "4" and fourth.received.error is None
    )
    assert received.control_ref == "1,2,4" and received.message_types == ("DESADV",) * 9


def test_a_file_of_one_interchange_is_examined_as_before() -> None:
    received = examine(DESADV)
    assert received.parts == () and received.control_ref == "1"


# --- hard-wrapped EDIFACT, CRLF after every segment -------------------------------------------------------


def test_a_file_hard_wrapped_at_80_characters_reads_like_the_original() -> None:
    """A mainframe / VAN mailbox export: fixed 80-character records with CRLF, cutting segments and tags."""
    wrapped = _wrapped(INVOIC)
    assert b"\r\n" in wrapped[:90] and not wrapped.split(b"\r\n")[0].endswith(b"'")
    original, read = edifact.parse(INVOIC), edifact.parse(wrapped)
    assert [(s.tag, s.elements) for s in read.all_messages[0].segments] == [
        (s.tag, s.elements) for s in original.all_messages[0].segments
    ]
    assert read.warnings and "hard-wrapped" in read.warnings[0] and "after 80 characters" in read.warnings[0]
    assert original.warnings == []
    [invoice] = edifact_invoic.parse(wrapped)
    assert invoice == edifact_invoic.parse(INVOIC)[0]


def test_a_wrap_between_a_release_character_and_what_it_releases() -> None:
    """The record boundary falls right after `?`: the released terminator is still data."""
    text = "UNB+UNOC:3+S+R+240131:1200+9'UNH+1+DESADV:D:96A:UN'FTX+AAI+++IT?'S'UNT+3+1'UNZ+1+9'"
    cut = text.index("?'") + 1
    wrapped = (text[:cut] + "\n" + text[cut:]).encode()
    assert edifact.parse(wrapped).messages[0].segments[0].elements[3] == ("IT'S",)


def test_crlf_after_every_segment_is_no_wrap_and_no_warning() -> None:
    """What most Windows translators write: a terminator and CRLF per segment."""
    crlf = _edifact_copy(INVOIC, "5", newline="\r\n")
    read = edifact.parse(crlf)
    assert read.warnings == [] and read.control_ref == "5"
    flat = edifact.parse(crlf.replace(b"\r\n", b""))
    assert [(s.tag, s.elements) for s in flat.all_messages[0].segments] == [
        (s.tag, s.elements) for s in read.all_messages[0].segments
    ]


def test_a_wrapped_file_of_several_interchanges_with_release_warnings() -> None:
    """All three at once: a VAN file of two hard-wrapped interchanges, one with `?` before a letter."""
    first = _wrapped(_edifact_copy(DESADV, "1", newline=""))
    second = _wrapped(_edifact_copy(DESADV, "2", newline="").replace(b"BGM++1923", b"BGM++19?23"))
    received = examine(first + second)
    assert [p.received.control_ref for p in received.parts if p.received] == ["1", "2"]
    assert all(p.received and p.received.error is None for p in received.parts)
    warnings = received.parts[1].received.warnings if received.parts[1].received else ()
    assert any("before '2'" in w for w in warnings) and any("hard-wrapped" in w for w in warnings)


# --- invoices and acknowledgements from such files --------------------------------------------------------


def test_invoice_intake_reads_every_interchange() -> None:
    """An ERP's batch export of INVOIC interchanges, and a VAN's file of two 810 interchanges: the dry runs
    (`gateway render`, `gateway validate`) read them through `read_invoices` (`POST /invoices` and `gateway
    send` take canonical JSON, UBL and CII only; a partner's EDI invoices come in at `POST /edi`)."""
    invoic = _edifact_copy(INVOIC, "1") + b"\r\n" + _edifact_copy(INVOIC, "2")
    name, invoices = read_invoices(invoic)
    assert name == "invoic" and len(invoices) == 2 * len(edifact_invoic.parse(INVOIC))
    name, invoices = read_invoices(_x12_copy(X810, 1) + _x12_copy(X810, 2))
    assert name == "x12-810" and len(invoices) == 2 * len(x12_810.parse(X810))


def test_invoice_intake_names_the_broken_interchange() -> None:
    broken = _unz_count(_edifact_copy(INVOIC, "2"), 2)
    with pytest.raises(FormatError) as caught:
        edifact_invoic.parse(_edifact_copy(INVOIC, "1") + broken)
    assert "interchange 2 of 2" in caught.value.reason and "UNZ" in str(caught.value)


def test_acknowledgements_of_several_interchanges_are_all_read() -> None:
    """A partner's VAN returns the day's CONTRLs in one file (EDIFACT), and 997s likewise (X12)."""
    contrl = "UNB+UNOC:3+P+U+240131:1200+{n}'UNH+1+CONTRL:D:3:UN'UCI+{of}+U+P+7'UNT+3+1'UNZ+1+{n}'\r\n"
    data = "".join(contrl.format(n=n, of=of) for n, of in ((91, 17), (92, 18))).encode()
    assert [a.of_interchange_ref for a in edifact_acks.parse(data)] == ["17", "18"]
    x997 = (EDI / "x12" / "997" / "bots_997-004010VICS-01.x12").read_bytes()
    assert len(x12_acks.parse(x997 + b"\n" + x997)) == 2 * len(x12_acks.parse(x997))


# --- gateway inspect ---------------------------------------------------------------------------------------


def _van_file() -> bytes:
    """A VAN file: an INVOIC interchange, one with a wrong UNZ count, and an X12 810 interchange."""
    broken = _unz_count(_edifact_copy(DESADV, "2"), 4)
    return _edifact_copy(INVOIC, "1") + broken + _x12_copy(X810, 3)


def test_inspect_shows_each_interchange_with_its_errors() -> None:
    result = inspect_file(_van_file())
    assert (result["format"], result["interchange_count"], result["refused_count"]) == (
        "edi-interchanges",
        3,
        1,
    )
    first, second, third = result["interchanges"]
    assert (first["standard"], first["control_ref"], first["format"], first["valid"]) == (
        "edifact",
        "1",
        "invoic",
        True,
    )
    assert first["messages"] == [
        {"type": "INVOIC", "reference": m.reference} for m in edifact.parse(INVOIC).all_messages
    ]
    assert first["detail"]["message_count"] == len(first["messages"])
    assert (second["control_ref"], second["valid"], second["sender"]["id"]) == ("2", False, "5555555555555")
    [error] = second["errors"]
    assert error["segment_tag"] == "UNZ" and "says 4" in error["reason"]
    assert (third["standard"], third["control_ref"], third["format"]) == ("x12", "000000003", "x12-810")
    assert third["recipient"]["id"] == x12.parse(X810).receiver.id


def test_gateway_inspect_prints_each_interchange(tmp_path: Path) -> None:
    path = tmp_path / "van_daily.edi"
    path.write_bytes(_van_file())
    runner = CliRunner()
    as_json = runner.invoke(cli_app, ["inspect", str(path), "--json"])
    assert as_json.exit_code == 0, as_json.output
    data = json.loads(as_json.output)
    assert [i["control_ref"] for i in data["interchanges"]] == ["1", "2", "000000003"]
    text = runner.invoke(cli_app, ["inspect", str(path)])
    assert text.exit_code == 0, text.output
    assert "interchange_count: 3" in text.output and "control_ref: 000000003" in text.output
    assert "says 4" in text.output
