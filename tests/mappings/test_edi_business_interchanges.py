"""Several interchanges in one file for the EDI business messages the gateway takes in (issue 17): payment
advices (REMADV, X12 820) and transport statuses (IFTSTA, X12 214) read from every interchange; a broken
interchange refused on its own, named (number, byte offset), while the others are read; the file refused
only when no interchange reads. The hard-wrapped EDIFACT and needless-release tolerance of the syntax
layer reaches these readers too, as a warning.

The files are built by hand to stand for real ones (no multi-interchange sample exists in ../shared):

* a bank's concatenated daily REMADV file: the day's advices as they arrived, one interchange each, written
  one after the other (CRLF between them), one of them hard-wrapped at 80 columns by a fixed-width export;
* a VAN's day of 820s from one payer (ISA…IEA, ISA…IEA);
* a carrier's IFTSTA batch: each status run of its tracking system one interchange, appended to one file;
* a carrier's 214 batch (ISA…IEA twice).
"""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

from mappings import detect_format
from mappings.base import FormatError, SegmentError
from mappings.remittance import edifact_remadv, x12_820
from mappings.status import iftsta, x12_214
from mappings.syntax import x12
from tests.mappings.test_edifact_remadv import BERG_D96A, KID_D01B
from tests.mappings.test_transport_status import S, build_214, build_iftsta, sample_iftsta
from tests.mappings.test_x12_820 import _full_820, build_820

G = x12.Segment.of


def wrapped(data: bytes, width: int = 80) -> bytes:
    """The interchange as a fixed-width export writes it: CRLF every `width` characters, inside segments
    too (the line breaks of the original dropped first)."""
    text = data.decode("latin-1").replace("\r", "").replace("\n", "")
    return ("\r\n".join(text[i : i + width] for i in range(0, len(text), width)) + "\r\n").encode("latin-1")


def bad_unt(data: bytes) -> bytes:
    """A wrong UNT segment count in the first message: the sender's translator miscounted."""
    return re.sub(
        rb"UNT\+(\d+)\+", lambda m: b"UNT+" + str(int(m.group(1)) + 1).encode() + b"+", data, count=1
    )


def x12_numbered(data: bytes, control_number: int) -> bytes:
    """The same X12 interchange under another ISA13/IEA02 (the next one of the day)."""
    interchange = x12.parse(data)
    interchange.control_number = f"{control_number:09d}"
    return x12.write_interchange(interchange, newline="\n")


# ----------------------------------------------------------------------------------------------------------
# REMADV: a bank's concatenated daily file


def test_a_daily_remadv_file_is_one_document_with_the_payments_of_every_interchange() -> None:
    daily = BERG_D96A + b"\r\n" + KID_D01B
    assert detect_format(daily) == "remadv"
    document = edifact_remadv.parse(daily)
    one, two = edifact_remadv.parse(BERG_D96A), edifact_remadv.parse(KID_D01B)
    assert [p.bank_reference for p in document.payments] == ["RA-88231", "KID-ADV-1", "KID-ADV-2"]
    assert [p.amount for p in document.payments] == [p.amount for p in [*one.payments, *two.payments]]
    assert [p.position for p in document.payments] == [
        "interchange 1: message '1' (UNH at segment 3)",
        "interchange 2: message 'M1' (UNH at segment 3)",
        "interchange 2: message 'M2' (UNH at segment 19)",
    ]
    assert document.message_id == "RA2611240001, 77"
    assert (document.declared_count, document.declared_total) == (3, Decimal("25595.40"))
    assert document.credit_total == one.credit_total + two.credit_total
    assert (document.receiver, document.currency, document.warnings) == ("7090000000005", "NOK", [])
    assert document.sender is None  # two payers' banks: no one sender to name
    assert document.created_at == one.created_at


def test_a_broken_interchange_is_refused_alone_and_named_in_a_warning() -> None:
    broken = bad_unt(KID_D01B)
    daily = BERG_D96A + b"\r\n" + broken + b"\r\n" + KID_D01B.replace(b"+77'", b"+78'")
    assert detect_format(daily) == "remadv"
    document = edifact_remadv.parse(daily)
    assert [p.bank_reference for p in document.payments] == ["RA-88231", "KID-ADV-1", "KID-ADV-2"]
    assert [p.position.split(":")[0] for p in document.payments] == ["interchange 1"] + ["interchange 3"] * 2
    offset = len(BERG_D96A) + 2
    [warning] = document.warnings
    assert warning == (
        f"interchange 2 of 3 (byte {offset}) refused, its payments not read: segment 18 (UNT): element 1: "
        "segment count says 17, message has 16 segments"
    )
    assert document.message_id == "RA2611240001, 78"


def test_content_that_does_not_add_up_refuses_only_its_interchange() -> None:
    unbalanced = KID_D01B.replace(b"MOA+12:1649,90'", b"MOA+12:1649,00'")
    document = edifact_remadv.parse(unbalanced + BERG_D96A)
    assert [p.bank_reference for p in document.payments] == ["RA-88231"]
    [warning] = document.warnings
    assert warning.startswith("interchange 1 of 2 (byte 0) refused, its payments not read: segment 17 (MOA)")
    assert "is 0.90 less than the documents add up to" in warning


def test_a_file_of_only_broken_interchanges_is_refused_naming_the_first() -> None:
    with pytest.raises(SegmentError) as caught:
        edifact_remadv.parse(bad_unt(BERG_D96A) + bad_unt(KID_D01B))
    assert caught.value.reason.startswith("interchange 1 of 2 (byte 0): ")
    assert (caught.value.segment_tag, caught.value.segment_position) == ("UNT", 35)  # UNA is segment 1


def test_one_interchange_reads_and_is_refused_as_before() -> None:
    """A file of one interchange: no interchange named anywhere (it is the file)."""
    assert edifact_remadv.parse(KID_D01B).payments[0].position == "message 'M1' (UNH at segment 3)"
    with pytest.raises(SegmentError) as caught:
        edifact_remadv.parse(bad_unt(KID_D01B))
    assert not caught.value.reason.startswith("interchange")


def test_hard_wrapped_interchange_and_a_needless_release_character_are_read_with_a_warning() -> None:
    """The day's second advice came through a fixed-width export (80 columns, CRLF inside segments) and its
    payer's name was written with a release character before an ordinary letter."""
    released = KID_D01B.replace(b"Hansen Regnskap AS", b"Hansen Regnskap ?AS")
    daily = BERG_D96A + wrapped(released)
    assert detect_format(daily) == "remadv"
    document = edifact_remadv.parse(daily)
    assert [p.payer_name for p in document.payments] == [
        "Berg + Sønn AS Avd. Økonomi", "Hansen Regnskap AS", "Lie + Co"
    ]  # fmt: skip
    assert len(document.warnings) == 2
    assert all(w.startswith("interchange 2: ") for w in document.warnings)
    assert any("hard-wrapped" in w for w in document.warnings)
    assert any("release character '?' before 'A'" in w for w in document.warnings)
    alone = edifact_remadv.parse(wrapped(KID_D01B))  # one interchange, wrapped: the warning, unprefixed
    assert len(alone.payments) == 2 and not any(w.startswith("interchange") for w in alone.warnings)
    assert any("hard-wrapped" in w for w in alone.warnings)


# ----------------------------------------------------------------------------------------------------------
# X12 820: a VAN's day of 820s


def test_a_day_of_820_interchanges_is_one_document() -> None:
    first = build_820(_full_820())
    second = x12_numbered(first, 43).replace(b"TRACE-9001", b"TRACE-9002")
    day = first + b"\n" + second
    assert detect_format(day) == "x12-820"
    document = x12_820.parse(day)
    assert [p.bank_reference for p in document.payments] == ["TRACE-9001", "TRACE-9002"]
    assert [p.position.split(":")[0] for p in document.payments] == ["interchange 1", "interchange 2"]
    assert (document.message_id, document.sender, document.account) == ("000000042, 000000043", "PAYER",
                                                                        "9876543210")  # fmt: skip
    assert document.credit_total == document.declared_total == Decimal("3200.00")
    assert document.warnings == []


def test_a_broken_820_interchange_is_refused_alone() -> None:
    first = build_820(_full_820())
    broken = x12_numbered(first, 43).replace(b"IEA*1*", b"IEA*2*")
    third = x12_numbered(first, 44).replace(b"TRACE-9001", b"TRACE-9003")
    day = first + broken + third
    assert detect_format(day) == "x12-820"
    document = x12_820.parse(day)
    assert [p.bank_reference for p in document.payments] == ["TRACE-9001", "TRACE-9003"]
    [warning] = document.warnings
    assert warning.startswith(f"interchange 2 of 3 (byte {len(first)}) refused, its payments not read: ")
    assert "IEA" in warning
    with pytest.raises(FormatError, match=r"interchange 1 of 2 \(byte 0\)"):
        x12_820.parse(broken + broken)


def test_820_interchanges_with_their_own_separators_are_each_recognised() -> None:
    """A second translator at the payer writes `|` and `~`: each interchange is split with its own ISA."""
    first = build_820(_full_820())
    other = x12_numbered(first, 43).replace(b"*", b"|").replace(b"TRACE-9001", b"TRACE-9002")
    assert detect_format(first + other) == "x12-820"
    assert len(x12_820.parse(first + other).payments) == 2


# ----------------------------------------------------------------------------------------------------------
# IFTSTA and 214: a carrier's batch


def test_a_carriers_iftsta_batch_reads_the_shipments_of_every_interchange() -> None:
    later = build_iftsta(
        [S("CNI", "1", "CONS-104"), S("STS", "1", "21"), S("RFF", ("IV", "INV-000104"))], control_ref="2"
    )
    batch = sample_iftsta() + b"\r\n" + bad_unt(sample_iftsta(control_ref="9")) + wrapped(later)
    assert detect_format(batch) == "iftsta"
    status = iftsta.parse(batch)
    assert [s.references["shipment_ids"][0] for s in status.shipments] == [
        "CONS-001", "CONS-002", "CONS-003", "CONS-104"
    ]  # fmt: skip
    assert status.document_number == "STATUS-0001"
    refused, hard_wrapped = status.warnings  # in file order
    assert refused.startswith(f"interchange 2 of 3 (byte {len(sample_iftsta()) + 2}) refused, its shipments")
    assert "(UNT)" in refused
    assert hard_wrapped.startswith("interchange 3: ") and "hard-wrapped" in hard_wrapped
    assert status.as_dict()["warnings"] == status.warnings
    assert "warnings" not in iftsta.parse(sample_iftsta()).as_dict()  # one interchange: as before


def test_an_iftsta_interchange_without_consignment_is_refused_alone() -> None:
    batch = build_iftsta(control_ref="1") + sample_iftsta(control_ref="2")
    status = iftsta.parse(batch)
    assert len(status.shipments) == 3
    [warning] = status.warnings
    assert warning.startswith("interchange 1 of 2 (byte 0) refused, its shipments not read: UNH 1: ")
    assert warning.endswith("the IFTSTA has no CNI consignment")
    with pytest.raises(FormatError) as alone:  # a file of one interchange: refused as before, unnamed
        iftsta.parse(build_iftsta())
    assert alone.value.reason == "the IFTSTA has no CNI consignment"


def test_a_carriers_214_batch() -> None:
    delivered = build_214([G("LX", "1"), G("AT7", "D1", "NS", "", "", "20261124", "1030", "LT")])
    second = x12_numbered(delivered, 8).replace(b"SHIP-123", b"SHIP-124")
    broken = x12_numbered(delivered, 9).replace(b"SE*", b"SE*9", 1)
    batch = delivered + b"\n" + broken + b"\n" + second
    assert detect_format(batch) == "x12-214"
    status = x12_214.parse(batch)
    assert [s.references["shipment_ids"][0] for s in status.shipments] == ["SHIP-123", "SHIP-124"]
    [warning] = status.warnings
    assert warning.startswith("interchange 2 of 3 (byte ") and "(SE)" in warning
    with pytest.raises(FormatError, match=r"interchange 1 of 2 \(byte 0\)"):
        x12_214.parse(broken + broken)
