"""What every format error carries: a field and a reason that can be stored and sent as UTF-8."""

from __future__ import annotations

import json

import pytest

from mappings.base import FormatError, SegmentError, printable
from mappings.syntax import edifact
from tests.conftest import SHARED

INVOIC = SHARED / "samples/edi/edifact/INVOIC/pydifact_invoice1_D97A.edi"


def undecodable_invoic(byte: bytes = b"\x80") -> bytes:
    """Found by tests/fuzz (test_edifact_invoic_contrl_aperak): a UNOA INVOIC with a 0x80 byte after a
    segment terminator. The syntax error quoted the byte as a lone surrogate; storing the rejected interchange
    raised `UnicodeEncodeError` and `POST /inbound` answered 500."""
    data = INVOIC.read_bytes()
    at = data.index(b"TAX+7+VAT+++:::0'") + len(b"TAX+7+VAT+++:::0'")
    return data[:at] + byte + data[at:]


def test_a_refusal_quoting_an_undecodable_byte_shows_it_escaped() -> None:
    with pytest.raises(edifact.EdiSyntaxError) as refused:
        edifact.parse(undecodable_invoic())
    error = refused.value
    assert "\\x80" in error.where and "\\x80" in error.segment_tag
    str(error).encode("utf-8")  # no lone surrogate left
    json.dumps(error.as_dict(), ensure_ascii=False).encode("utf-8")


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("plain æøå €", "plain æøå €"),
        (b"bad \x80\xff".decode("utf-8", "surrogateescape"), "bad \\x80\\xff"),
        ("lone \ud800", "lone \\ud800"),
    ],
)
def test_printable_keeps_text_and_escapes_only_what_utf8_cannot_carry(text: str, shown: str) -> None:
    assert printable(text) == shown
    error = SegmentError(f"found {text}", segment_position=3, segment_tag=text)
    assert error.reason == f"found {shown}" and error.segment_tag == shown
    assert FormatError(text, text).as_dict() == {"field": shown, "reason": shown}
