"""Fuzz every parser family with mutated real samples (`tests/fuzz/harness.py` says what and how).

One test per family; each example goes through the registry's `detect`, `inspect`, `parse` of the family's
formats, the service-level readers the API uses and the inbound door on a real outbox. Only the project's
declared errors may come out (`FormatError`, and `InboundRefused` at the door), and no example may take a
second of CPU. The examples are fixed (`derandomize`), so a run in CI is the run on a laptop.
"""

from __future__ import annotations

import datetime as dt
import struct
import zlib
from decimal import Decimal

from hypothesis import given, settings

from gateway.services.payments.remittances import read_remittance
from mappings.acks import contrl
from mappings.registry import read_invoices
from mappings.syntax.edi_envelope import EdiEnvelope
from tests.conftest import SHARED
from tests.fuzz.harness import FUZZ, Door, Family, check, mutated, seed_files, ubl_intake_body
from tests.mappings.test_print_returns_format import VALID as PRINT_RETURNS
from tests.remittance_files import card_advice

SAMPLES = SHARED / "samples"


def _contrl_seeds(invoices: list[bytes]) -> list[bytes]:
    """CONTRLs as the gateway writes them (accepted, received only) for the INVOIC samples: no CONTRL sample
    is in ../shared, and these are the files a partner's CONTRL looks like."""
    envelope = EdiEnvelope(
        sender_id="7080000000009", sender_qualifier="14", recipient_id="7300009000003",
        recipient_qualifier="14", interchange_ref="501", message_ref="77", group_ref="9",
        prepared=dt.datetime(2026, 11, 24, 12, 0, tzinfo=dt.UTC), newline="\n",
    )  # fmt: skip
    seeds = []
    for data in invoices:
        seeds.append(contrl.answer(data, envelope=envelope, accepted=True))
        seeds.append(contrl.answer(data, envelope=envelope, accepted=True, received_only=True))
    return seeds


def _png(width: int, height: int) -> bytes:
    """A small real PNG (a photo of a signed delivery note, as far as the POD reader is concerned)."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    rows = b"".join(b"\x00" + b"\xff\x80\x00" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def _jpeg(width: int, height: int) -> bytes:
    """The header of a baseline JPEG (SOI, APP0, SOF0 with its size, EOI): what the POD reader looks at."""
    app0 = b"\xff\xe0" + struct.pack(">H", 16) + b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    sof0 = b"\xff\xc0" + struct.pack(">HBHHB", 11, 8, height, width, 1) + b"\x01\x11\x00"
    return b"\xff\xd8" + app0 + sof0 + b"\xff\xd9"


EDIFACT = seed_files(SAMPLES / "edi" / "edifact")
CAMT = Family("camt", ["camt"], [read_remittance])
OCR = Family("ocr-giro", ["ocr-giro"], [read_remittance])
CARD_ADVICE = Family("card-advice", ["card-advice"], [read_remittance])
#: No advice is in ../shared: the gateway writes these itself from a checkout (one and two invoices).
CARD_ADVICES = [
    card_advice([("INV-1", "10010000016", Decimal("100.00"))]),
    card_advice(
        [("INV-2", None, Decimal("12.50")), ("INV-3", "00000000018", Decimal("7.25"))], provider="vipps"
    ),
]
EDIFACT_FAMILY = Family("edifact", ["invoic", "edifact-ack", "remadv", "iftsta", "edifact"], [read_invoices])
X12 = Family("x12", ["x12-810", "x12-ack", "x12-820", "x12-214", "x12"], [read_invoices, read_remittance])
UBL = Family("ubl", ["sbdh", "ehf", "invoice-response"], [ubl_intake_body, read_invoices])
DSN = Family("dsn", ["dsn"])
POD = Family("pod", ["pod", "pdf"])
PRINT_RETURN = Family("print-return", ["print-return", "print-index"])


@settings(FUZZ, max_examples=150)
@given(data=mutated(seed_files(SAMPLES / "camt")))
def test_camt_statements_and_notifications(data: bytes, door: Door) -> None:
    check(CAMT, data, door)


@settings(FUZZ, max_examples=100)
@given(data=mutated(CARD_ADVICES))
def test_card_payment_advices(data: bytes, door: Door) -> None:
    check(CARD_ADVICE, data, door)


@settings(FUZZ, max_examples=100)
@given(data=mutated(seed_files(SAMPLES / "ocr")))
def test_ocr_giro_and_avtalegiro(data: bytes, door: Door) -> None:
    check(OCR, data, door)


@settings(FUZZ, max_examples=150)
@given(data=mutated([*EDIFACT, *_contrl_seeds([d for d in EDIFACT if b"INVOIC" in d][:3])]))
def test_edifact_invoic_contrl_aperak(data: bytes, door: Door) -> None:
    check(EDIFACT_FAMILY, data, door)


@settings(FUZZ, max_examples=150)
@given(data=mutated(seed_files(SAMPLES / "edi" / "x12")))
def test_x12_810_820_997_999_214(data: bytes, door: Door) -> None:
    check(X12, data, door)


@settings(FUZZ, max_examples=150)
@given(data=mutated(seed_files(SAMPLES / "ehf")))
def test_ubl_invoice_intake_and_invoice_responses(data: bytes, door: Door) -> None:
    check(UBL, data, door)


@settings(FUZZ, max_examples=150)
@given(data=mutated(seed_files(SAMPLES / "email")))
def test_dsn_bounces(data: bytes, door: Door) -> None:
    check(DSN, data, door)


@settings(FUZZ, max_examples=100)
@given(data=mutated([*seed_files(SAMPLES / "print", "*.pdf"), _png(40, 30), _jpeg(1200, 900)]))
def test_pod_files(data: bytes, door: Door) -> None:
    check(POD, data, door)


@settings(FUZZ, max_examples=100)
@given(data=mutated(list(PRINT_RETURNS.values())))
def test_print_house_return_files_csv_and_xml(data: bytes, door: Door) -> None:
    """No print-house file is in ../shared: the seeds are the format tests' valid receipts, production
    reports and returned-mail lists, CSV and XML."""
    check(PRINT_RETURN, data, door)
