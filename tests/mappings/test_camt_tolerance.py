"""camt read as real banks send it: statuses in the other versions' shape, and versions .08 to .13.

The hand-built files are derived from the shared samples that read whole (`genkgo_camt054.v8.xml` does not
add up: its batch declares 2 transactions and has 3) (`../shared/samples/camt`): the namespace is
changed and, where a version really changed an element the reader uses, that element too (`.12` on:
`RfrdDocAmt` holds `RmtAmtAndTp`, `RltdDt` is `DateAndType1`). Each test says which real file it stands for.
"""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

import mappings
from mappings.remittance import camt
from schemas.remittance import RemittanceDocument
from tests.conftest import SHARED
from tests.mappings.test_camt import build_notification, entry, notification, transaction

SAMPLES = SHARED / "samples" / "camt"
STATUS_CODE = re.compile(rb"<Sts>\s*<Cd>(\w+)</Cd>\s*</Sts>")


def sample(name: str) -> bytes:
    return (SAMPLES / name).read_bytes()


def as_version(data: bytes, version: int) -> bytes:
    """A `.08` sample as the same bank would write it in `version`: the namespace, and from `.12` the
    typed document amounts (`RmtAmtAndTp`, here with a proprietary type) and the typed related date."""
    data = re.sub(rb"(camt\.05[234]\.001\.)08", b"\\g<1>%02d" % version, data)
    if version >= 12:
        data = re.sub(
            rb'<RmtdAmt Ccy="(\w+)">([\d.]+)</RmtdAmt>',
            rb'<RmtAmtAndTp><Tp><Prtry>REMITTED</Prtry></Tp><Amt Ccy="\1">\2</Amt></RmtAmtAndTp>',
            data,
        )
        data = re.sub(
            rb"<RltdDt>([\d-]+)</RltdDt>", rb"<RltdDt><Tp><Cd>INDA</Cd></Tp><Dt>\1</Dt></RltdDt>", data
        )
    return data


def text_status(data: bytes) -> bytes:
    """The .02 shape `<Sts>BOOK</Sts>` in place of `<Sts><Cd>BOOK</Cd></Sts>`."""
    return STATUS_CODE.sub(rb"<Sts>\1</Sts>", data)


def facts(document: RemittanceDocument) -> list[tuple[object, ...]]:
    """What matching uses of each payment (line amounts apart: they differ from .12 on)."""
    return [
        (
            p.amount,
            p.currency,
            p.direction,
            p.kind,
            p.bank_reference,
            p.payer_name,
            p.payer_account,
            p.booking_date,
            tuple(p.kids),
            tuple(p.invoice_numbers),
            p.free_text,
        )
        for p in document.payments
    ]


# -- statuses ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "version"),
    [
        ("genkgo_camt053.v8.xml", 8),
        ("SYNTHETIC_no_camt054_v08_kid_batch.xml", 8),
        ("SYNTHETIC_no_camt054_v08_kid_batch.xml", 10),
    ],
)
def test_text_status_in_a_later_version_is_read_with_a_warning(name: str, version: int) -> None:
    # stands for the Lithuanian bank's camt.053.001.08 / camt.054.001.10 files with <Sts>BOOK</Sts>
    proper = camt.parse(as_version(sample(name), version))
    tolerated = camt.parse(text_status(as_version(sample(name), version)))
    assert facts(tolerated) == facts(proper)
    assert proper.warnings == []
    [warning] = tolerated.warnings
    assert warning.startswith("Sts: 1 entry gives the status as text (the .02-.06 shape)")
    assert f"where {proper.format} has Sts/Cd" in warning


@pytest.mark.parametrize(
    ("shape", "kind"),
    [
        ("<Sts>BOOK</Sts>", "camt054"),
        ("<Sts>PDNG</Sts>", "camt054-pending"),
        ("<Sts>INFO</Sts>", "camt054-pending"),
        ("<Sts> BOOK </Sts>", "camt054"),
        ("<Sts><Prtry>BOOK</Prtry></Sts>", "camt054"),
        ("<Sts><Prtry>PDNG</Prtry></Sts>", "camt054-pending"),
        ("<Sts>BOOK<Cd>BOOK</Cd></Sts>", "camt054"),
    ],
)
def test_every_unambiguous_status_shape_is_read(shape: str, kind: str) -> None:
    # stands for camt.054.001.08 notifications whose banks wrote Sts in either shape
    data = build_notification(8, notification(8, entry(8, "10.00", transactions=(transaction(8, "10.00"),))))
    data = data.replace(b"<Sts><Cd>BOOK</Cd></Sts>", shape.encode())
    [payment] = camt.parse(data).payments
    assert payment.kind == kind


def test_a_coded_status_in_an_02_file_is_read_with_a_warning() -> None:
    # stands for a camt.054.001.02 from a bank that already writes the .07 shape <Sts><Cd>BOOK</Cd></Sts>
    data = sample("genkgo_camt054.v2.xml")
    shaped = re.sub(rb"<Sts>\s*(\w+)\s*</Sts>", rb"<Sts><Cd>\1</Cd></Sts>", data)
    assert shaped != data
    document = camt.parse(shaped)
    assert facts(document) == facts(camt.parse(data))
    assert document.warnings[0].startswith("Sts: 1 entry gives the status as Sts/Cd or Sts/Prtry")


@pytest.mark.parametrize(
    ("shape", "where", "why"),
    [
        ("<Sts>XBOOK</Sts>", "Sts", "'XBOOK' is not a status code (BOOK, FUTR, INFO, PDNG)"),
        ("<Sts>booked</Sts>", "Sts", "'booked' is not a status code (BOOK, FUTR, INFO, PDNG)"),
        ("<Sts><Prtry>CLEARED</Prtry></Sts>", "Sts/Prtry", "'CLEARED' is not a status code"),
        ("<Sts/>", "Sts", "empty"),
        ("<Sts><Cd>BOOK</Cd><Prtry>PDNG</Prtry></Sts>", "Sts", "says two things (Cd 'BOOK', Prtry 'PDNG')"),
        ("<Sts>PDNG<Cd>BOOK</Cd></Sts>", "Sts", "says two things (text 'PDNG', Cd 'BOOK')"),
        ("", "Sts", "missing (mandatory in camt.054.001.08)"),
    ],
)
def test_an_entry_whose_status_cannot_be_told_is_reported_and_never_booked(
    shape: str, where: str, why: str
) -> None:
    # stands for a bank file where one entry's status is garbled: the other entries are read as usual
    good = entry(8, "10.00", reference="A-1", transactions=(transaction(8, "10.00"),))
    bad = entry(8, "20.00", reference="A-2", transactions=(transaction(8, "20.00"),)).replace(
        "<Sts><Cd>BOOK</Cd></Sts>", shape
    )
    later = entry(8, "30.00", reference="A-3", transactions=(transaction(8, "30.00"),))
    document = camt.parse(build_notification(8, notification(8, good, bad, later)))
    assert [(p.amount, p.kind) for p in document.payments] == [
        (Decimal("10.00"), "camt054"),
        (Decimal("20.00"), "camt054-pending"),  # never matched: the matcher ignores -pending kinds
        (Decimal("30.00"), "camt054"),
    ]
    [warning] = document.warnings
    assert warning.startswith(f"Ntfctn[1]/Ntry[2]/{where}: ")
    assert why in warning
    assert warning.endswith("never booked or matched")


def test_many_unreadable_statuses_are_named_up_to_a_bound_then_counted() -> None:
    entries = [
        entry(8, "1.00", reference=f"R-{n}", transactions=(transaction(8, "1.00"),)).replace(
            "<Sts><Cd>BOOK</Cd></Sts>", "<Sts>??</Sts>"
        )
        for n in range(25)
    ]
    document = camt.parse(build_notification(8, notification(8, *entries)))
    assert {p.kind for p in document.payments} == {"camt054-pending"}
    assert len(document.warnings) == 21
    assert document.warnings[-1] == "Sts: 5 more entries whose status cannot be told (not booked)"


def test_inspect_shows_the_warnings() -> None:
    shown = camt.inspect(text_status(sample("genkgo_camt053.v8.xml")))
    assert shown["bookable"] is True
    assert len(shown["warnings"]) == 1


# -- versions .08 to .13 -----------------------------------------------------------------------------------


@pytest.mark.parametrize("version", [8, 9, 10, 11, 12, 13])
@pytest.mark.parametrize(
    "name", ["genkgo_camt053.v8.xml", "genkgo_camt052.v8.xml", "SYNTHETIC_no_camt054_v08_kid_batch.xml"]
)
def test_versions_08_to_13_read_the_same_payments(name: str, version: int) -> None:
    # stands for the same bank's statement / notification in each later version of camt.053 / camt.054
    original = camt.parse(sample(name))
    data = as_version(sample(name), version)
    assert mappings.detect_format(data) == "camt"
    document = camt.parse(data)
    assert document.format == original.format.replace(".08", f".{version:02d}")
    assert facts(document) == facts(original)
    assert (document.message_id, document.account, document.declared_total) == (
        original.message_id,
        original.account,
        original.declared_total,
    )
    assert document.warnings == []


@pytest.mark.parametrize("version", [12, 13])
def test_12_on_typed_document_amounts_are_noted_not_read(version: int) -> None:
    # stands for a Norwegian KID/invoice batch in camt.054.001.12 / .13 (RemittanceAmount4)
    document = camt.parse(as_version(sample("SYNTHETIC_no_camt054_v08_kid_batch.xml"), version))
    ola = document.payments[1]
    assert [line.invoice_number for line in ola.lines] == ["1002", "1003"]
    assert [line.amount for line in ola.lines] == [None, None]
    typed = [note for note in document.notes if "RmtAmtAndTp" in note]
    assert len(typed) == 2
    assert "(REMITTED): a typed document amount" in typed[0]
    # below .12 the same amounts are read
    eleven = camt.parse(as_version(sample("SYNTHETIC_no_camt054_v08_kid_batch.xml"), 11))
    assert [line.amount for line in eleven.payments[1].lines] == [Decimal("500.00"), Decimal("375.00")]
