"""The inbound door's routing (`gateway.services.inbound.door`): every format the registry can recognise
has a decided service, and the ambiguous ones follow the rules in the module's docstring. (Receiving
through the door, on both databases, is in tests/api/test_inbound.py and tests/cli/test_receive_door.py.)
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from gateway.services.inbound.door import (
    FORMAT_ROUTES,
    NOT_RECEIVED,
    ROUTES,
    InboundFile,
    InboundRefused,
    detect,
    route_of,
    understood,
)
from mappings import FORMATS
from mappings.sbdh import wrap_sbdh
from tests.conftest import SHARED
from tests.mappings.test_edifact_remadv import BERG_D96A
from tests.mappings.test_print_returns_format import RECEIPT_ACCEPTED_CSV, RETURNED_XML
from tests.mappings.test_transport_status import sample_iftsta
from tests.remittance_files import Tx, camt054, card_advice
from tests.services.test_pods import make_jpeg, make_pdf, make_png

SAMPLES = SHARED / "samples"
EHF_INVOICE = "ehf/dfo_Invoice_EHF3.0_forward-billing-nettleie-consumer_v2.0.xml"


def _file(data: bytes, name: str | None = "file") -> InboundFile:
    return InboundFile(data, name, "acme", "test", "api")


def _in_sbdh(document: bytes) -> bytes:
    return wrap_sbdh(
        document, sender="0192:810306782", receiver="0192:937422295",
        document_type_id="urn:test", process_id="urn:test:process", instance_id="test-1",
        created=dt.datetime(2026, 11, 24, tzinfo=dt.UTC), country_c1="NO",
    )  # fmt: skip


def test_every_recognisable_format_has_a_decided_service() -> None:
    """A new format in the registry must be routed here or said not to be received (or be an envelope)."""
    undecided = [
        name
        for name, entry in FORMATS.items()
        if entry.sniff and route_of(name) is None and name not in NOT_RECEIVED and entry.kind != "envelope"
    ]
    assert undecided == []
    assert set(FORMAT_ROUTES) <= set(FORMATS) and set(NOT_RECEIVED) <= set(FORMATS)
    assert set(ROUTES) <= {entry.kind for entry in FORMATS.values()}
    services = {entry["service"] for entry in understood()}
    assert services == {
        "responses", "bounces", "edi", "print-returns", "remittances", "pods", "efaktura-receipts",
        "avtalegiro-mandates",
    }  # fmt: skip


def _sample(relative: str) -> bytes:
    return (SAMPLES / relative).read_bytes()


@pytest.mark.parametrize(
    ("data", "format_name", "service"),
    [
        pytest.param(_sample("ehf/peppol_T111-uc003-Invoice_is_accepted.xml"), "invoice-response",
                     "responses", id="invoice-response"),
        pytest.param(_sample("email/postfix37_dsn_2_INV-1002_failed_5.2.2.eml"), "dsn", "bounces", id="dsn"),
        pytest.param(_sample("edi/edifact/APERAK/pydifact_aperak_v3.edi"), "edifact-ack", "edi", id="aperak"),
        pytest.param(_sample("edi/x12/997/bots_inbound_997_1.x12"), "x12-ack", "edi", id="997"),
        pytest.param(_sample("edi/edifact/INVOIC/bots_invoic1_D96A_EAN008_generated.edi"), "invoic", "edi",
                     id="invoic"),
        pytest.param(_sample("edi/x12/810/bots_inbound_810_1.x12"), "x12-810", "edi", id="810"),
        pytest.param(_sample("edi/edifact/DESADV/phpedifact_D96ADESADV.edi"), "edifact", "edi", id="desadv"),
        pytest.param(_sample("edi/x12/856/bots_inbound_856_1.x12"), "x12", "edi", id="856"),
        pytest.param(camt054([Tx(Decimal("10.00"))]), "camt", "remittances", id="camt"),
        pytest.param(_sample("ocr/netsgiro_ocr_giro_transactions.txt"), "ocr-giro", "remittances", id="ocr"),
        pytest.param(BERG_D96A, "remadv", "remittances", id="remadv"),
        pytest.param(_sample("edi/x12/820/bots_820-004010-01_safeway.x12"), "x12-820", "remittances",
                     id="820"),
        pytest.param(card_advice([("INV-1", None, Decimal("10.00"))]), "card-advice", "remittances",
                     id="card-advice"),
        pytest.param(make_pdf(), "pdf", "pods", id="pdf"),
        pytest.param(make_jpeg(), "pod", "pods", id="jpeg"),
        pytest.param(make_png(), "pod", "pods", id="png"),
        pytest.param(sample_iftsta(order="PO-1"), "iftsta", "pods", id="iftsta"),
        pytest.param(_sample("edi/x12/214/edinet_214-MGCTLYST-SAMPLE.EDI"), "x12-214", "pods", id="214"),
        pytest.param(RETURNED_XML, "print-return", "print-returns", id="print-return-xml"),
        pytest.param(RECEIPT_ACCEPTED_CSV, "print-return", "print-returns", id="print-return-csv"),
    ],
)  # fmt: skip
def test_each_kind_of_file_goes_to_its_service(data: bytes, format_name: str, service: str) -> None:
    name, route = detect(_file(data))
    assert (name, route.service) == (format_name, service)


def test_a_status_document_in_an_sbdh_goes_to_responses() -> None:
    document = _sample("ehf/peppol_T111-uc003-Invoice_is_accepted.xml")
    name, route = detect(_file(_in_sbdh(document)))
    assert (name, route.service) == ("invoice-response", "responses")


@pytest.mark.parametrize(
    ("data", "says"),
    [
        (b"hello, world", "not a file the gateway understands"),
        (b"", "not a file the gateway understands"),
        (_sample(EHF_INVOICE), "post it to /invoices"),
        (b'{"number": "1"}', "post it to /invoices"),
        (_sample("email/delivered_invoice_pdf_ubl_INV-1001.eml"), "not a file the gateway understands"),
    ],
)
def test_a_file_the_gateway_does_not_receive_is_a_415_naming_it(data: bytes, says: str) -> None:
    with pytest.raises(InboundRefused) as refused:
        detect(_file(data, "upload.bin"))
    assert refused.value.status == 415
    [error] = refused.value.errors
    assert error["field"] == "file" and "'upload.bin'" in error["reason"] and says in error["reason"]
    assert "camt" in error["reason"]  # it lists what is understood
    listed = {entry["format"]: entry["service"] for entry in refused.value.extra["understood"]}
    assert listed["dsn"] == "bounces" and listed["pdf"] == "pods" and "ehf" not in listed


def test_an_sbdh_around_an_invoice_is_not_received() -> None:
    document = _sample(EHF_INVOICE)
    with pytest.raises(InboundRefused) as refused:
        detect(_file(_in_sbdh(document), None))
    assert refused.value.status == 415 and "SBDH envelope around ehf" in refused.value.errors[0]["reason"]
    assert refused.value.errors[0]["reason"].startswith("the file:")


def test_the_shared_samples_are_all_decided() -> None:
    """Every shared sample is either routed or refused with a 415: nothing falls through."""
    for path in sorted(SAMPLES.rglob("*")):
        if not path.is_file() or path.suffix == ".md":
            continue
        try:
            detect(_file(path.read_bytes(), path.name))
        except InboundRefused as refused:
            assert refused.status == 415, path
