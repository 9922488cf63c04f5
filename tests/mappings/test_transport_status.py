"""Transport statuses as proofs of delivery: EDIFACT IFTSTA (built with our syntax layer: no IFTSTA sample
exists in ../shared/samples) and X12 214 (the real samples, values read off the files, plus built ones)."""

from __future__ import annotations

import datetime as dt

import pytest

from mappings import detect_format, inspect_file
from mappings.base import FormatError
from mappings.status import iftsta, x12_214
from mappings.status.transport_status import TransportStatusError
from mappings.syntax import edifact, x12
from tests.conftest import SHARED

SAMPLES_214 = SHARED / "samples" / "edi" / "x12" / "214"
S = edifact.Segment.of


def build_iftsta(*consignments: list[edifact.Segment], header: list[edifact.Segment] | None = None,
                 control_ref: str = "1") -> bytes:
    """An IFTSTA D.01B interchange written by `mappings.syntax.edifact` (its envelope right by
    construction)."""
    body = [S("BGM", "23", "STATUS-0001", "9"), S("DTM", ("137", "202611241200", "203")), *(header or [])]
    for consignment in consignments:
        body.extend(consignment)
    message = edifact.Message("1", "IFTSTA", "D", "01B", "UN", segments=body)
    interchange = edifact.build_interchange(
        sender=edifact.Party("5790000000001", "14"), recipient=edifact.Party("7080000000007", "14"),
        control_ref=control_ref, prepared=dt.datetime(2026, 11, 24, 12, 0), messages=[message],
    )  # fmt: skip
    return edifact.write_interchange(interchange)


def sample_iftsta(order: str = "PO-4711", note: str = "DN-1001", invoice: str = "INV-000009",
                  control_ref: str = "1") -> bytes:
    """Three consignments: delivered (signer in FTX), in transit, delivered (signer as NAD+DP, zoned time)."""
    return build_iftsta(
        [
            S("CNI", "1", "CONS-001"),
            S("STS", "1", ("21", "", "", "Delivered")),
            S("RFF", ("AAK", note)),
            S("DTM", ("334", "202611241035", "203")),
            S("LOC", "8", ("NOOSL", "", "", "Oslo")),
            S("FTX", "AAI", "", "", "Signed by Kari Nordmann"),
        ],
        [
            S("CNI", "2", "CONS-002"),
            S("STS", "1", ("24", "", "", "In transit")),
            S("RFF", ("SRN", "SHP-77")),
        ],
        [
            S("CNI", "3", "CONS-003"),
            S("STS", "1", "21"),
            S("RFF", ("IV", invoice)),
            S("DTM", ("334", "202611241500+01", "303")),
            S("NAD", "DP", "", "Ola Hansen"),
        ],
        header=[S("RFF", ("ON", order))],
        control_ref=control_ref,
    )


def build_214(*status_loops: list[x12.Segment], references: list[x12.Segment] | None = None) -> bytes:
    t = x12.TransactionSet("214", "0001", segments=[
        x12.Segment.of("B10", "PRO-9", "SHIP-123", "ABCD"), *(references or []),
        *[segment for loop in status_loops for segment in loop],
    ])  # fmt: skip
    group = x12.FunctionalGroup("QM", "ABCD", "ACME", "20261124", "1200", "1", "X", "004010", [t])
    interchange = x12.build_interchange(
        sender=x12.Party("02", "ABCD"), receiver=x12.Party("ZZ", "ACME"), control_number=7,
        prepared=dt.datetime(2026, 11, 24, 12, 0), groups=[group],
    )  # fmt: skip
    return x12.write_interchange(interchange)


def test_iftsta_consignments_status_references_signer_time_place() -> None:
    data = sample_iftsta()
    assert iftsta.sniff(data) and not x12_214.sniff(data)
    assert detect_format(data) == "iftsta"
    status = iftsta.parse(data)
    assert status.format == "iftsta"
    assert status.document_number == "STATUS-0001"
    first, second, third = status.shipments
    assert first.delivered and first.status == "delivered" and first.status_code == "21"
    assert first.references == {"order_numbers": ["PO-4711"], "shipment_ids": ["CONS-001"],
                                "delivery_notes": ["DN-1001"]}  # fmt: skip
    assert first.signer == "Kari Nordmann"
    assert first.at == dt.datetime(2026, 11, 24, 10, 35, tzinfo=dt.UTC)
    assert first.place == "Oslo"
    assert not second.delivered and second.status == "in transit"
    assert second.references["shipment_ids"] == ["CONS-002", "SHP-77"]
    assert third.delivered and third.signer == "Ola Hansen"
    assert third.references["invoice_numbers"] == ["INV-000009"]
    assert third.at == dt.datetime(2026, 11, 24, 14, 0, tzinfo=dt.UTC)
    assert inspect_file(data)["shipments"][0]["signer"] == "Kari Nordmann"


def test_iftsta_without_status_or_consignment_is_refused_clearly() -> None:
    with pytest.raises(TransportStatusError, match="no STS"):
        iftsta.parse(build_iftsta([S("CNI", "1", "C-1"), S("RFF", ("ON", "PO-1"))]))
    with pytest.raises(TransportStatusError, match="no CNI"):
        iftsta.parse(build_iftsta())
    with pytest.raises(FormatError) as error:
        iftsta.parse(build_iftsta([S("CNI", "1", "C"), S("STS", "1", "21"), S("DTM", ("334", "2026x"))]))
    assert "DTM" in error.value.where


def test_real_214_sample_read_with_values_off_the_file() -> None:
    data = (SAMPLES_214 / "edinet_214-MGCTLYST-SAMPLE.EDI").read_bytes()
    assert x12_214.sniff(data) and not iftsta.sniff(data)
    assert detect_format(data) == "x12-214"
    [shipment] = x12_214.parse(data).shipments
    # B10*1751807*75027674*SCAC; AT7*D1*NS***20160726*1230*LT; MS1*BRATTLEBORO*VT
    assert shipment.references == {"shipment_ids": ["75027674", "1751807"]}
    assert shipment.delivered and shipment.status == "delivered" and shipment.status_code == "D1"
    assert shipment.at == dt.datetime(2016, 7, 26, 12, 30, tzinfo=dt.UTC)  # LT: no zone said, read as UTC
    assert shipment.place == "BRATTLEBORO, VT"
    assert shipment.signer is None  # the sample names no signer (no POD segment)


def test_214_sample_with_broken_isa_is_refused_naming_the_isa() -> None:
    data = (SAMPLES_214 / "edinet_x12.214_broken_isa.edi").read_bytes()
    with pytest.raises(FormatError) as error:
        x12_214.parse(data)
    assert "ISA" in str(error.value) and "line break" in str(error.value)


def test_built_214_references_signer_and_latest_delivered_status() -> None:
    data = build_214(
        [x12.Segment.of("LX", "1"), x12.Segment.of("AT7", "X6", "NS", "", "", "20261123", "0800", "ET"),
         x12.Segment.of("MS1", "DALLAS", "TX", "US")],
        [x12.Segment.of("LX", "2"), x12.Segment.of("AT7", "D1", "NS", "", "", "20261124", "1415", "ET"),
         x12.Segment.of("MS1", "OSLO", "", "NO"), x12.Segment.of("POD", "20261124", "1416", "JANE DOE")],
        references=[x12.Segment.of("L11", "PO-4711", "PO"), x12.Segment.of("L11", "INV-000001", "IV"),
                    x12.Segment.of("L11", "DN-1", "DO")],
    )  # fmt: skip
    [shipment] = x12_214.parse(data).shipments
    assert shipment.references == {
        "shipment_ids": ["SHIP-123", "PRO-9"], "order_numbers": ["PO-4711"],
        "invoice_numbers": ["INV-000001"], "delivery_notes": ["DN-1"],
    }  # fmt: skip
    assert shipment.delivered and shipment.signer == "JANE DOE" and shipment.place == "OSLO, NO"
    assert shipment.at == dt.datetime(2026, 11, 24, 14, 16, tzinfo=dt.UTC)  # POD date/time, no zone


def test_214_in_transit_only_is_not_delivered() -> None:
    data = build_214([x12.Segment.of("LX", "1"),
                      x12.Segment.of("AT7", "X6", "NS", "", "", "20261123", "0800", "ET")])  # fmt: skip
    [shipment] = x12_214.parse(data).shipments
    assert not shipment.delivered and shipment.status == "in-transit"
    assert shipment.at == dt.datetime(2026, 11, 23, 13, 0, tzinfo=dt.UTC)  # ET = UTC-5


def test_other_files_are_not_transport_statuses() -> None:
    invoic = next((SHARED / "samples" / "edi" / "edifact" / "INVOIC").iterdir()).read_bytes()
    assert not iftsta.sniff(invoic)
    for parse in (iftsta.parse, x12_214.parse):
        with pytest.raises(FormatError):
            parse(b"%PDF-1.7")
