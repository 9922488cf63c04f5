"""Return files from the print house: every kind in XML and CSV read with its values, every flaw refused."""

from __future__ import annotations

import datetime as dt

import pytest

from mappings import detect_format, inspect_file
from mappings.base import FormatError
from mappings.print import returns
from mappings.print.returns import MAX_RETURN_BYTES, PrintReturnEntry, ReceiptReason

from .test_print_batch_files import FOREIGN_FORMAT, foreign_samples, other_sniffers

NS = 'xmlns="urn:invoice-gateway:print-return:1"'
HEADER = "record;batch_id;sequence;delivery_id;invoice_number;status;date;reason_code;reason"
UTC = dt.UTC


def _xml(body: str) -> bytes:
    return ('<?xml version="1.0" encoding="UTF-8"?>\n' + body).encode()


def _csv(*rows: str, header: str = HEADER, end: str = "\r\n") -> bytes:
    return (end.join([header, *rows]) + end).encode()


RECEIPT_ACCEPTED_XML = _xml(
    f'<PrintReceipt {NS} batchId="acme-20261124-1500" status="accepted" documents="12"'
    ' receivedAt="2026-11-24T15:03:00Z"/>'
)
RECEIPT_REJECTED_XML = _xml(
    f'<PrintReceipt {NS} batchId="acme-20261124-1500" status="rejected" documents="11"\n'
    '              receivedAt="2026-11-24T16:03:00+01:00">\n'
    '  <Reason code="PDF_NOT_A4">Dokument 3 er A5, ikke A4</Reason>\n'
    '  <Reason code="COUNT"/>\n'
    "</PrintReceipt>\n"
)
PRODUCTION_XML = _xml(
    f'<ProductionReport {NS} batchId="acme-20261124-1500" producedAt="2026-11-25T06:10:00Z">\n'
    '  <Document deliveryId="dlv-1" sequence="1" status="posted" postedOn="2026-11-25" postClass="B"'
    ' sheets="1"/>\n'
    '  <Document sequence="2" status="printed"/>\n'
    '  <Document deliveryId="dlv-3" status="posted" postedOn="2026-11-26"/>\n'
    "</ProductionReport>\n"
)
RETURNED_XML = _xml(
    f'<ReturnedMail {NS} reportedAt="2026-12-02T09:00:00Z">\n'
    '  <Item deliveryId="dlv-1" batchId="acme-20261124-1500" sequence="1" invoiceNumber="INV-000001"'
    ' returnedOn="2026-12-01" reasonCode="MOVED">Flyttet,\n  ukjent adresse (Tromsø)</Item>\n'
    '  <Item batchId="acme-20261125-1500" sequence="3" returnedOn="2026-12-02" reasonCode="DECEASED"/>\n'
    "</ReturnedMail>\n"
)
RECEIPT_ACCEPTED_CSV = _csv("receipt;acme-20261124-1500;;;;accepted;2026-11-24T15:03:00Z;;")
RECEIPT_REJECTED_CSV = _csv(
    "receipt;acme-20261124-1500;;;;rejected;2026-11-24T15:03:00Z;PDF_NOT_A4;Dokument 3 er A5;11",
    'receipt;acme-20261124-1500;;;;rejected;2026-11-24T15:03:00Z;COUNT;"11 dokumenter; 12 i indeksen";11',
    header=HEADER + ";documents",
)
PRODUCTION_CSV = b"\xef\xbb\xbf" + _csv(
    "production;acme-20261124-1500;1;dlv-1;INV-000001;posted;2026-11-25;;;1;B",
    "production;acme-20261124-1500;2;;;printed;;;;;",
    "",
    "production;acme-20261124-1500;;dlv-3;;posted;2026-11-26;;;;",
    header=HEADER + ";sheets;post_class",
    end="\n",
)
RETURNED_CSV = _csv(
    'returned;acme-20261124-1500;1;dlv-1;INV-000001;returned;2026-12-01;MOVED;"Flyttet; ukjent adresse"',
    "returned;acme-20261125-1500;3;;;returned;2026-12-02;DECEASED;",
)
VALID = {
    "receipt-accepted.xml": RECEIPT_ACCEPTED_XML,
    "receipt-rejected.xml": RECEIPT_REJECTED_XML,
    "production.xml": PRODUCTION_XML,
    "returned.xml": RETURNED_XML,
    "receipt-accepted.csv": RECEIPT_ACCEPTED_CSV,
    "receipt-rejected.csv": RECEIPT_REJECTED_CSV,
    "production.csv": PRODUCTION_CSV,
    "returned.csv": RETURNED_CSV,
}


# -- every kind, both syntaxes ----------------------------------------------------------------------------


def test_receipt_accepted_xml() -> None:
    parsed = returns.parse(RECEIPT_ACCEPTED_XML)
    assert (parsed.kind, parsed.syntax, parsed.batch_id) == ("receipt", "xml", "acme-20261124-1500")
    assert parsed.issued_at == dt.datetime(2026, 11, 24, 15, 3, tzinfo=UTC)
    assert parsed.entries == (
        PrintReturnEntry(status="accepted", batch_id="acme-20261124-1500", documents=12),
    )


def test_receipt_rejected_xml_with_reasons() -> None:
    parsed = returns.parse(RECEIPT_REJECTED_XML)
    [entry] = parsed.entries
    assert (entry.status, entry.documents, entry.batch_id) == ("rejected", 11, "acme-20261124-1500")
    assert entry.reasons == (
        ReceiptReason("PDF_NOT_A4", "Dokument 3 er A5, ikke A4"),
        ReceiptReason("COUNT", None),
    )
    assert parsed.issued_at == dt.datetime(2026, 11, 24, 15, 3, tzinfo=UTC)  # 16:03+01:00


def test_receipts_in_csv() -> None:
    accepted = returns.parse(RECEIPT_ACCEPTED_CSV)
    assert (accepted.kind, accepted.syntax, accepted.batch_id) == ("receipt", "csv", "acme-20261124-1500")
    assert accepted.entries == (PrintReturnEntry(status="accepted", batch_id="acme-20261124-1500"),)
    assert accepted.issued_at == dt.datetime(2026, 11, 24, 15, 3, tzinfo=UTC)

    rejected = returns.parse(RECEIPT_REJECTED_CSV)
    [entry] = rejected.entries
    assert (entry.status, entry.documents) == ("rejected", 11)
    assert entry.reasons == (
        ReceiptReason("PDF_NOT_A4", "Dokument 3 er A5"),
        ReceiptReason("COUNT", "11 dokumenter; 12 i indeksen"),
    )


def test_production_report_xml() -> None:
    parsed = returns.parse(PRODUCTION_XML)
    assert (parsed.kind, parsed.batch_id) == ("production", "acme-20261124-1500")
    assert parsed.issued_at == dt.datetime(2026, 11, 25, 6, 10, tzinfo=UTC)
    batch = "acme-20261124-1500"
    assert parsed.entries == (
        PrintReturnEntry(
            status="posted",
            batch_id=batch,
            delivery_id="dlv-1",
            sequence=1,
            date=dt.date(2026, 11, 25),
            post_class="B",
            sheets=1,
        ),
        PrintReturnEntry(status="printed", batch_id=batch, sequence=2),
        PrintReturnEntry(status="posted", batch_id=batch, delivery_id="dlv-3", date=dt.date(2026, 11, 26)),
    )


def test_production_report_csv_with_bom_lf_blank_lines_and_extra_columns() -> None:
    parsed = returns.parse(PRODUCTION_CSV)
    assert (parsed.kind, parsed.syntax, parsed.batch_id, parsed.issued_at) == (
        "production",
        "csv",
        "acme-20261124-1500",
        None,
    )
    batch = "acme-20261124-1500"
    assert parsed.entries == (
        PrintReturnEntry(
            status="posted",
            batch_id=batch,
            delivery_id="dlv-1",
            sequence=1,
            invoice_number="INV-000001",
            date=dt.date(2026, 11, 25),
            post_class="B",
            sheets=1,
        ),
        PrintReturnEntry(status="printed", batch_id=batch, sequence=2),
        PrintReturnEntry(status="posted", batch_id=batch, delivery_id="dlv-3", date=dt.date(2026, 11, 26)),
    )


def test_returned_mail_xml() -> None:
    parsed = returns.parse(RETURNED_XML)
    assert parsed.kind == "returned-mail"
    assert parsed.batch_id is None  # the items come from two batches
    assert parsed.issued_at == dt.datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
    assert parsed.entries == (
        PrintReturnEntry(
            status="returned",
            batch_id="acme-20261124-1500",
            delivery_id="dlv-1",
            sequence=1,
            invoice_number="INV-000001",
            date=dt.date(2026, 12, 1),
            reason_code="MOVED",
            reason="Flyttet, ukjent adresse (Tromsø)",
        ),
        PrintReturnEntry(
            status="returned",
            batch_id="acme-20261125-1500",
            sequence=3,
            date=dt.date(2026, 12, 2),
            reason_code="DECEASED",
        ),
    )


def test_returned_mail_csv() -> None:
    parsed = returns.parse(RETURNED_CSV)
    assert (parsed.kind, parsed.syntax, parsed.batch_id) == ("returned-mail", "csv", None)
    first, second = parsed.entries
    assert first == PrintReturnEntry(
        status="returned",
        batch_id="acme-20261124-1500",
        delivery_id="dlv-1",
        sequence=1,
        invoice_number="INV-000001",
        date=dt.date(2026, 12, 1),
        reason_code="MOVED",
        reason="Flyttet; ukjent adresse",
    )
    assert (second.batch_id, second.sequence, second.delivery_id, second.reason_code, second.reason) == (
        "acme-20261125-1500",
        3,
        None,
        "DECEASED",
        None,
    )


def test_returned_mail_of_one_batch_names_it() -> None:
    data = _csv(
        "returned;b-1;1;;;returned;2026-12-01;REFUSED;", "returned;b-1;2;;;returned;2026-12-01;OTHER;x"
    )
    assert returns.parse(data).batch_id == "b-1"


# -- malformed files are rejected whole, naming line / element and field --------------------------------

RECEIPT = (
    '<PrintReceipt {ns} batchId="b-1" status="accepted" documents="2" receivedAt="2026-11-24T15:03:00Z"{rest}'
)
PRODUCTION = (
    '<ProductionReport {ns} batchId="b-1" producedAt="2026-11-25T06:10:00Z">{body}</ProductionReport>'
)
RETURNED = '<ReturnedMail {ns} reportedAt="2026-12-02T09:00:00Z">{body}</ReturnedMail>'


def _production(body: str) -> bytes:
    return _xml(PRODUCTION.format(ns=NS, body=body))


def _returned(body: str) -> bytes:
    return _xml(RETURNED.format(ns=NS, body=body))


def _item(**attributes: str) -> str:
    values = {"deliveryId": "dlv-1", "returnedOn": "2026-12-01", "reasonCode": "MOVED"}
    values.update(attributes)
    return "<Item " + " ".join(f'{k}="{v}"' for k, v in values.items() if v != "-") + "/>"


def _document(**attributes: str) -> str:
    values = {"deliveryId": "dlv-1", "sequence": "1", "status": "posted", "postedOn": "2026-11-25"}
    values.update(attributes)
    return "<Document " + " ".join(f'{k}="{v}"' for k, v in values.items() if v != "-") + "/>"


MALFORMED_XML: list[tuple[str, bytes, str, str]] = [
    ("wrong root", _xml(f"<Invoice {NS}/>"), "document", "not PrintReceipt"),
    (
        "foreign namespace",
        _xml('<PrintReceipt xmlns="urn:other" batchId="b" status="accepted"/>'),
        "document",
        "not PrintReceipt",
    ),
    ("not well-formed", _xml(f"<PrintReceipt {NS} batchId='b'"), "line", "not well-formed"),
    (
        "doctype",
        b'<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><PrintReceipt>&e;</PrintReceipt>',
        "document",
        "DOCTYPE",
    ),
    (
        "receipt status",
        _xml(RECEIPT.format(ns=NS, rest="/>").replace('"accepted"', '"received"')),
        "PrintReceipt, @status",
        "'received' is not one of accepted, rejected",
    ),
    (
        "receipt without batch",
        _xml(RECEIPT.format(ns=NS, rest="/>").replace(' batchId="b-1"', "")),
        "PrintReceipt, @batchId",
        "missing",
    ),
    (
        "receipt without count",
        _xml(RECEIPT.format(ns=NS, rest="/>").replace(' documents="2"', "")),
        "PrintReceipt, @documents",
        "missing",
    ),
    (
        "receipt count negative",
        _xml(RECEIPT.format(ns=NS, rest="/>").replace('documents="2"', 'documents="-2"')),
        "PrintReceipt, @documents",
        "not a whole number",
    ),
    (
        "receipt time without zone",
        _xml(RECEIPT.format(ns=NS, rest="/>").replace("15:03:00Z", "15:03:00")),
        "PrintReceipt, @receivedAt",
        "with a zone",
    ),
    (
        "receipt time not ISO",
        _xml(RECEIPT.format(ns=NS, rest="/>").replace("2026-11-24T15:03:00Z", "24.11.2026 15:03")),
        "PrintReceipt, @receivedAt",
        "not an ISO 8601 timestamp",
    ),
    (
        "receipt time impossible",
        _xml(RECEIPT.format(ns=NS, rest="/>").replace("2026-11-24T15", "2026-02-30T15")),
        "PrintReceipt, @receivedAt",
        "not a real date",
    ),
    (
        "reason without code",
        _xml(RECEIPT.format(ns=NS, rest="><Reason>why</Reason></PrintReceipt>")),
        "PrintReceipt/Reason[1] (line 2), @code",
        "missing",
    ),
    (
        "reason code with spaces",
        _xml(RECEIPT.format(ns=NS, rest='><Reason code="NOT A CODE"/></PrintReceipt>')),
        "PrintReceipt/Reason[1] (line 2), @code",
        "not a code",
    ),
    (
        "unknown receipt attribute",
        _xml(RECEIPT.format(ns=NS, rest=' pages="3"/>')),
        "PrintReceipt, @pages",
        "unknown attribute",
    ),
    (
        "foreign element in receipt",
        _xml(RECEIPT.format(ns=NS, rest="><Remark/></PrintReceipt>")),
        "PrintReceipt (line 2)",
        "unexpected element",
    ),
    (
        "production status",
        _production(_document(status="shipped")),
        "ProductionReport/Document[1] (line 2), @status",
        "'shipped' is not one of posted, printed",
    ),
    (
        "posted without date",
        _production(_document(postedOn="-")),
        "ProductionReport/Document[1] (line 2), @postedOn",
        "missing",
    ),
    (
        "printed with date",
        _production(_document(status="printed")),
        "ProductionReport/Document[1] (line 2), @postedOn",
        "not allowed with status printed",
    ),
    (
        "posted date not ISO",
        _production(_document(postedOn="25.11.2026")),
        "ProductionReport/Document[1] (line 2), @postedOn",
        "not an ISO 8601 date",
    ),
    (
        "posted date impossible",
        _production(_document(postedOn="2026-11-31")),
        "ProductionReport/Document[1] (line 2), @postedOn",
        "not a real date",
    ),
    (
        "posted date with time",
        _production(_document(postedOn="2026-11-25T10:00:00Z")),
        "ProductionReport/Document[1] (line 2), @postedOn",
        "not an ISO 8601 date",
    ),
    (
        "unlinkable document",
        _production(_document(deliveryId="-", sequence="-")),
        "ProductionReport/Document[1] (line 2), @deliveryId",
        "cannot be linked",
    ),
    (
        "misspelt attribute",
        _production(_document(deliveryID="dlv-1")),
        "ProductionReport/Document[1] (line 2), @deliveryID",
        "unknown attribute",
    ),
    (
        "post class",
        _production(_document(postClass="C")),
        "ProductionReport/Document[1] (line 2), @postClass",
        "not a post class",
    ),
    (
        "zero sheets",
        _production(_document(sheets="0")),
        "ProductionReport/Document[1] (line 2), @sheets",
        "at least 1",
    ),
    (
        "sequence zero",
        _production(_document(sequence="0")),
        "ProductionReport/Document[1] (line 2), @sequence",
        "not a sequence number",
    ),
    (
        "second document bad",
        _production(_document() + "\n" + _document(sequence="x")),
        "ProductionReport/Document[2] (line 3), @sequence",
        "not a sequence number",
    ),
    ("empty production report", _production(""), "ProductionReport/Document", "at least one"),
    (
        "production without batch",
        _production(_document()).replace(b' batchId="b-1"', b""),
        "ProductionReport, @batchId",
        "missing",
    ),
    (
        "text in a document",
        _production(_document().replace("/>", ">posted</Document>")),
        "ProductionReport/Document[1] (line 2), text",
        "no text",
    ),
    (
        "returned reason code",
        _returned(_item(reasonCode="LOST")),
        "ReturnedMail/Item[1] (line 2), @reasonCode",
        "'LOST' is not one of",
    ),
    (
        "returned without reason code",
        _returned(_item(reasonCode="-")),
        "ReturnedMail/Item[1] (line 2), @reasonCode",
        "missing",
    ),
    (
        "returned without date",
        _returned(_item(returnedOn="-")),
        "ReturnedMail/Item[1] (line 2), @returnedOn",
        "missing",
    ),
    (
        "returned batch without sequence",
        _returned(_item(deliveryId="-", batchId="b-1")),
        "ReturnedMail/Item[1] (line 2), @deliveryId",
        "and so is sequence",
    ),
    (
        "returned sequence without batch",
        _returned(_item(deliveryId="-", sequence="3")),
        "ReturnedMail/Item[1] (line 2), @deliveryId",
        "and so is batchId and sequence",
    ),
    (
        "returned mixed with production",
        _returned(_item() + _document()),
        "ReturnedMail (line 2)",
        "unexpected element",
    ),
    ("empty returned mail", _returned(""), "ReturnedMail/Item", "at least one"),
    ("stray text", _returned(_item() + "and more"), "ReturnedMail", "text outside its elements"),
    (
        "invisible control character",
        _returned(_item(deliveryId="dlv-1\u202e")),
        "ReturnedMail/Item[1] (line 2), @deliveryId",
        "control character",
    ),
    (
        "XML-forbidden character",
        _returned(_item().replace("/>", ">bad &#x1; text</Item>")),
        "line 2",
        "not well-formed",
    ),
]


@pytest.mark.parametrize(
    ("data", "where", "reason"), [case[1:] for case in MALFORMED_XML], ids=[c[0] for c in MALFORMED_XML]
)
def test_malformed_xml_is_rejected_naming_element_and_field(data: bytes, where: str, reason: str) -> None:
    with pytest.raises(FormatError) as caught:
        returns.parse(data)
    assert caught.value.where.startswith(where), str(caught.value)
    assert reason in caught.value.reason, str(caught.value)


MALFORMED_CSV: list[tuple[str, bytes, str, str]] = [
    ("empty", b"", "line 1", "empty"),
    ("header only", _csv(), "line 2", "no rows"),
    (
        "wrong header",
        _csv("receipt;b;;;;accepted;2026-11-24T15:03:00Z;;", header="type;" + HEADER[7:]),
        "line 1",
        "header",
    ),
    (
        "unknown column",
        _csv("receipt;b;;;;accepted;2026-11-24T15:03:00Z;;;x", header=HEADER + ";colour"),
        "line 1, colour",
        "unknown column",
    ),
    (
        "column twice",
        _csv("receipt;b;;;;accepted;2026-11-24T15:03:00Z;;;1;1", header=HEADER + ";sheets;sheets"),
        "line 1",
        "twice",
    ),
    ("field count", _csv("production;b;1;d;;posted;2026-11-25;"), "line 2", "8 fields, the header has 9"),
    (
        "unknown record",
        _csv("invoice;b;1;d;;posted;2026-11-25;;"),
        "line 2, record",
        "'invoice' is not one of",
    ),
    (
        "mixed kinds",
        _csv("production;b;1;d;;posted;2026-11-25;;", "returned;b;1;d;;returned;2026-12-01;MOVED;"),
        "line 3, record",
        "one kind only",
    ),
    ("production status", _csv("production;b;1;d;;delivered;2026-11-25;;"), "line 2, status", "'delivered'"),
    (
        "production date with time",
        _csv("production;b;1;d;;posted;2026-11-25T10:00:00Z;;"),
        "line 2, date",
        "not an ISO 8601 date",
    ),
    (
        "production date impossible",
        _csv("production;b;1;d;;posted;2026-13-01;;"),
        "line 2, date",
        "not a real date",
    ),
    ("posted without date", _csv("production;b;1;d;;posted;;;"), "line 2, date", "missing"),
    ("printed with date", _csv("production;b;1;d;;printed;2026-11-25;;"), "line 2, date", "must be empty"),
    (
        "production unlinkable",
        _csv("production;b;;;INV-1;posted;2026-11-25;;"),
        "line 2, delivery_id",
        "cannot be linked",
    ),
    ("production without batch", _csv("production;;1;d;;posted;2026-11-25;;"), "line 2, batch_id", "missing"),
    (
        "production of two batches",
        _csv("production;b;1;;;posted;2026-11-25;;", "production;c;2;;;posted;2026-11-25;;"),
        "line 3, batch_id",
        "differs from the first row's 'b'",
    ),
    (
        "production with a reason",
        _csv("production;b;1;d;;posted;2026-11-25;MOVED;"),
        "line 2, reason_code",
        "must be empty",
    ),
    (
        "bad sequence",
        _csv("production;b;x1;d;;posted;2026-11-25;;"),
        "line 2, sequence",
        "not a sequence number",
    ),
    (
        "returned status",
        _csv("returned;b;1;d;;posted;2026-12-01;MOVED;"),
        "line 2, status",
        "'posted' is not one of returned",
    ),
    (
        "returned reason code",
        _csv("returned;b;1;d;;returned;2026-12-01;moved;"),
        "line 2, reason_code",
        "'moved'",
    ),
    ("returned without date", _csv("returned;b;1;d;;returned;;MOVED;"), "line 2, date", "missing"),
    (
        "returned unlinkable",
        _csv("returned;;1;;INV-1;returned;2026-12-01;MOVED;"),
        "line 2, delivery_id",
        "cannot be linked",
    ),
    ("receipt status", _csv("receipt;b;;;;ok;2026-11-24T15:03:00Z;;"), "line 2, status", "'ok'"),
    ("receipt date only", _csv("receipt;b;;;;accepted;2026-11-24;;"), "line 2, date", "timestamp"),
    (
        "receipt without batch",
        _csv("receipt;;;;;accepted;2026-11-24T15:03:00Z;;"),
        "line 2, batch_id",
        "missing",
    ),
    (
        "receipt with a sequence",
        _csv("receipt;b;1;;;accepted;2026-11-24T15:03:00Z;;"),
        "line 2, sequence",
        "must be empty",
    ),
    (
        "receipt reason without code",
        _csv("receipt;b;;;;rejected;2026-11-24T15:03:00Z;;why"),
        "line 2, reason_code",
        "needs a code",
    ),
    (
        "receipt rows disagree",
        _csv(
            "receipt;b;;;;rejected;2026-11-24T15:03:00Z;A;", "receipt;b;;;;accepted;2026-11-24T15:03:00Z;B;"
        ),
        "line 3, status",
        "differs from the first receipt row",
    ),
    (
        "receipt count bad",
        _csv("receipt;b;;;;accepted;2026-11-24T15:03:00Z;;;twelve", header=HEADER + ";documents"),
        "line 2, documents",
        "not a whole number",
    ),
    (
        "broken quote",
        _csv('returned;b;1;d;;returned;2026-12-01;MOVED;"unterminated'),
        "line",
        "not valid CSV",
    ),
    (
        "not UTF-8",
        _csv("returned;b;1;d;;returned;2026-12-01;MOVED;Tromsø").replace("ø".encode(), b"\xf8"),
        "line 2",
        "UTF-8",
    ),
    (
        "control character",
        _csv("returned;b;1;d\x07;;returned;2026-12-01;MOVED;"),
        "line 2, delivery_id",
        "control character",
    ),
]


@pytest.mark.parametrize(
    ("data", "where", "reason"), [case[1:] for case in MALFORMED_CSV], ids=[c[0] for c in MALFORMED_CSV]
)
def test_malformed_csv_is_rejected_naming_line_and_field(data: bytes, where: str, reason: str) -> None:
    with pytest.raises(FormatError) as caught:
        returns.parse(data)
    assert caught.value.where.startswith(where), str(caught.value)
    assert reason in caught.value.reason, str(caught.value)


def test_a_file_with_one_bad_row_is_rejected_whole() -> None:
    good = "returned;b;1;d1;;returned;2026-12-01;MOVED;"
    data = _csv(
        *[good.replace("d1", f"d{n}") for n in range(1, 50)], "returned;b;1;d99;;returned;2026-12-01;GONE;"
    )
    with pytest.raises(FormatError, match="line 51, reason_code"):
        returns.parse(data)


def test_oversized_files_are_refused_before_parsing() -> None:
    for data in (b"<" + b" " * MAX_RETURN_BYTES, HEADER.encode() + b"\n" + b"x" * MAX_RETURN_BYTES):
        with pytest.raises(FormatError) as caught:
            returns.parse(data)
        assert caught.value.where == "document"
        assert "limit" in caught.value.reason


# -- sniffing and inspecting ----------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(VALID))
def test_return_files_are_recognised_as_ours_only(name: str) -> None:
    data = VALID[name]
    assert returns.sniff(data)
    assert detect_format(data) == "print-return"
    for format_name, sniff in other_sniffers("print-return").items():
        assert not sniff(data), (format_name, name)


def test_other_formats_are_not_return_files() -> None:
    from .test_print_batch_files import _csv_index, _xml_index

    samples = {**foreign_samples(), "print-index-csv": _csv_index(), "print-index-xml": _xml_index()}
    for name, data in samples.items():
        assert not returns.sniff(data), name
    for name, data in foreign_samples().items():
        assert detect_format(data) == FOREIGN_FORMAT.get(name, name)


def test_inspect_file_reads_every_kind() -> None:
    receipt = inspect_file(RECEIPT_REJECTED_XML)
    assert (receipt["format"], receipt["kind"], receipt["syntax"]) == ("print-return", "receipt", "xml")
    assert receipt["issued_at"] == "2026-11-24T15:03:00Z"
    assert receipt["entries"][0]["reasons"][0] == {"code": "PDF_NOT_A4", "text": "Dokument 3 er A5, ikke A4"}
    production = inspect_file(PRODUCTION_CSV)
    assert (production["kind"], production["syntax"]) == ("production", "csv")
    assert production["by_status"] == {"posted": 2, "printed": 1}
    assert production["entries"][0]["date"] == "2026-11-25"
    returned = inspect_file(RETURNED_XML)
    assert returned["kind"] == "returned-mail"
    assert returned["by_status"] == {"returned": 2}
    assert [e["reason_code"] for e in returned["entries"]] == ["MOVED", "DECEASED"]
