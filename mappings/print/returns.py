"""Files a print house sends back: receipts, production reports and returned-mail notices (XML or CSV).

Print houses each have their own return files; the gateway defines one format (in two syntaxes) and
asks them to produce it, or converts theirs into it. This docstring is the specification.

General rules (both syntaxes)
=============================
* Encoding UTF-8 (a BOM is allowed). At most 20 MB per file. One file holds one kind of report only.
* Dates are ISO 8601 calendar dates, exactly ``YYYY-MM-DD`` (``2026-11-25``). Timestamps are ISO 8601
  with seconds and a zone, exactly ``YYYY-MM-DDThh:mm:ss[.ffffff](Z|±hh:mm)`` (``2026-11-24T15:03:00Z``).
* Identifiers come from the batch's index file: ``batch_id`` (the index's batch id), ``sequence`` (a
  document's 1-based position in the batch), ``delivery_id`` and ``invoice_number`` (copied from the
  index). Every document entry must be linkable: it carries a ``delivery_id``, or a ``batch_id`` together
  with a ``sequence`` (or both).
* Text values are at most 200 characters (free reason text: 2000) and contain no control characters.
* A file with any error is rejected whole, with the line or element and the field named; nothing in it
  is applied. Send a corrected file.

Receipt — the batch arrived (``accepted``) or cannot be produced (``rejected``)
------------------------------------------------------------------------------
Send one per uploaded batch, soon after it is picked up. ``documents`` is how many documents the print
house counted; reasons explain a rejection (or remarks on an acceptance); ``code`` is the print house's
own short code (letters, digits, ``_ . : -``, at most 50).

XML::

    <PrintReceipt xmlns="urn:invoice-gateway:print-return:1" batchId="B-20261124-1500"
                  status="accepted|rejected" documents="12" receivedAt="2026-11-24T15:03:00Z">
      <Reason code="PDF_NOT_A4">Document 3 is A5</Reason>   <!-- zero or more -->
    </PrintReceipt>

CSV: one or more ``receipt`` rows, all with the same ``batch_id``, ``status`` and ``date`` (here the
``receivedAt`` timestamp); each row carries one reason (``reason_code`` required when ``reason`` is
given) or none; ``sequence``, ``delivery_id`` and ``invoice_number`` are empty. The optional
``documents`` column (see below) gives the count; without it the count is unknown.

Production report — documents printed, or handed to the post
------------------------------------------------------------
XML (one ``Document`` or more)::

    <ProductionReport xmlns="urn:invoice-gateway:print-return:1" batchId="B-20261124-1500"
                      producedAt="2026-11-25T06:10:00Z">
      <Document deliveryId="…" sequence="1" status="printed|posted" postedOn="2026-11-25"
                postClass="A|B" sheets="1"/>
    </ProductionReport>

``postedOn`` is required when ``status="posted"`` and not allowed when ``status="printed"``;
``postClass`` and ``sheets`` are optional. Every ``Document`` belongs to the report's ``batchId``.

CSV: ``production`` rows, all with the same (required) ``batch_id``; ``status`` ``printed`` or
``posted``; ``date`` is the day posted (required for ``posted``, empty for ``printed``);
``reason_code`` and ``reason`` empty; optional columns ``post_class`` and ``sheets``.

Returned mail — a letter came back undeliverable
------------------------------------------------
XML (one ``Item`` or more; items may belong to different batches)::

    <ReturnedMail xmlns="urn:invoice-gateway:print-return:1" reportedAt="2026-12-02T09:00:00Z">
      <Item deliveryId="…" batchId="…" sequence="3" invoiceNumber="…" returnedOn="2026-12-02"
            reasonCode="ADDRESSEE_UNKNOWN|MOVED|INSUFFICIENT_ADDRESS|REFUSED|DECEASED|OTHER">free text</Item>
    </ReturnedMail>

``returnedOn`` and ``reasonCode`` are required; ``invoiceNumber`` and the text are optional.

CSV: ``returned`` rows; ``status`` is ``returned``; ``date`` is the day it came back; ``reason_code``
one of the codes above; ``reason`` optional free text.

CSV syntax
==========
``;`` between fields, RFC 4180 quoting (``"`` around a field holding ``;``, ``"`` or a line break, ``""``
for a quote), CRLF or LF line ends, blank lines ignored. The first row is the header: exactly these
columns, in this order::

    record;batch_id;sequence;delivery_id;invoice_number;status;date;reason_code;reason

optionally followed by any of the extra columns ``documents`` (receipts), ``post_class`` and ``sheets``
(production), each once, in any order. ``record`` is ``receipt``, ``production`` or ``returned``; every
row of a file has the same ``record``. Fields a kind does not use must be empty.

XML syntax
==========
Namespace ``urn:invoice-gateway:print-return:1`` on every element; the root is ``PrintReceipt``,
``ProductionReport`` or ``ReturnedMail``. No DTD, no entities. Attributes and elements other than those
shown are refused (a misspelt attribute would otherwise silently lose a status).
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from lxml import etree

from mappings.base import FormatError
from mappings.csv_text import csv_rows, decode_utf8
from mappings.xml import local_name, namespace, parse_xml

FORMAT_NAME = "print-return"
NAMESPACE = "urn:invoice-gateway:print-return:1"
MAX_RETURN_BYTES = 20_000_000

CSV_COLUMNS: tuple[str, ...] = (
    "record",
    "batch_id",
    "sequence",
    "delivery_id",
    "invoice_number",
    "status",
    "date",
    "reason_code",
    "reason",
)
CSV_EXTRA_COLUMNS: tuple[str, ...] = ("documents", "post_class", "sheets")

ReturnKind = Literal["receipt", "production", "returned-mail"]
RECEIPT_STATUSES = frozenset({"accepted", "rejected"})
PRODUCTION_STATUSES = frozenset({"printed", "posted"})
RETURNED_STATUS = "returned"
RETURN_REASON_CODES: dict[str, str] = {
    "ADDRESSEE_UNKNOWN": "addressee unknown at the address",
    "MOVED": "addressee has moved",
    "INSUFFICIENT_ADDRESS": "address incomplete or wrong",
    "REFUSED": "addressee refused the letter",
    "DECEASED": "addressee deceased",
    "OTHER": "other reason (see the text)",
}
_CSV_RECORDS: dict[str, ReturnKind] = {
    "receipt": "receipt",
    "production": "production",
    "returned": "returned-mail",
}
_ROOTS: dict[str, ReturnKind] = {
    "PrintReceipt": "receipt",
    "ProductionReport": "production",
    "ReturnedMail": "returned-mail",
}

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?(Z|[+-]\d{2}:\d{2})")
_SEQUENCE = re.compile(r"[1-9][0-9]{0,8}")
_COUNT = re.compile(r"[0-9]{1,9}")
_CODE = re.compile(r"[A-Za-z0-9_.:-]{1,50}")
MAX_TEXT = 200
MAX_REASON_TEXT = 2000


@dataclass(frozen=True)
class ReceiptReason:
    """One reason on a receipt: the print house's code and its text."""

    code: str
    text: str | None


@dataclass(frozen=True)
class PrintReturnEntry:
    """One fact from a return file: a batch's receipt, a document printed or posted, a letter returned.

    Which fields are set depends on the kind: a receipt has `status` accepted/rejected, `documents` and
    `reasons`; a production entry has `status` printed/posted, `date` (posted on), `post_class`, `sheets`;
    a returned-mail entry has `status` "returned", `date` (returned on), `reason_code` and `reason`.
    """

    status: str
    batch_id: str | None = None
    delivery_id: str | None = None
    sequence: int | None = None
    invoice_number: str | None = None
    date: dt.date | None = None
    reason_code: str | None = None
    reason: str | None = None
    documents: int | None = None
    reasons: tuple[ReceiptReason, ...] = ()
    post_class: Literal["A", "B"] | None = None
    sheets: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "batch_id": self.batch_id,
            "delivery_id": self.delivery_id,
            "sequence": self.sequence,
            "invoice_number": self.invoice_number,
            "date": self.date.isoformat() if self.date else None,
            "reason_code": self.reason_code,
            "reason": self.reason,
            "documents": self.documents,
            "reasons": [{"code": r.code, "text": r.text} for r in self.reasons],
            "post_class": self.post_class,
            "sheets": self.sheets,
        }


@dataclass(frozen=True)
class PrintReturnFile:
    """A whole return file: its kind, the batch it is about (None when items span batches), the entries."""

    kind: ReturnKind
    syntax: Literal["xml", "csv"]
    batch_id: str | None
    entries: tuple[PrintReturnEntry, ...]
    #: receivedAt / producedAt / reportedAt (XML), the receipt's date (CSV); None for CSV reports.
    issued_at: dt.datetime | None = field(default=None)

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "syntax": self.syntax,
            "batch_id": self.batch_id,
            "issued_at": _utc_text(self.issued_at) if self.issued_at else None,
            "entries": [entry.as_dict() for entry in self.entries],
        }


def _utc_text(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


# ------------------------------------------------------------------------------------------- field reading


def _has_control(text: str) -> bool:
    return any(unicodedata.category(char) in {"Cc", "Cf", "Cs", "Co"} for char in text)


class _Values:
    """Typed reads of one row's or element's values; each failure a `FormatError` naming where and what."""

    def __init__(self, where: str, values: dict[str, str | None], *, prefix: str = "") -> None:
        self.where = where
        self.values = values
        self.prefix = prefix  # "@" for XML attributes

    def error(self, name: str, reason: str) -> FormatError:
        return FormatError(f"{self.where}, {self.prefix}{name}", reason)

    def text(self, name: str, *, max_length: int = MAX_TEXT, multiline: bool = False) -> str | None:
        raw = self.values.get(name)
        value = None if raw is None else raw.strip()
        if not value:
            return None
        if len(value) > max_length:
            raise self.error(name, f"longer than {max_length} characters")
        checked = " ".join(value.split()) if multiline else value
        if _has_control(checked):
            raise self.error(name, "contains a control character")
        return checked

    def required(self, name: str, *, what: str = "") -> str:
        value = self.text(name)
        if value is None:
            raise self.error(name, "missing" + (f" — {what}" if what else ""))
        return value

    def empty(self, name: str, reason: str) -> None:
        if self.text(name, max_length=MAX_REASON_TEXT, multiline=True) is not None:
            raise self.error(name, f"must be empty ({reason})")

    def choice(self, name: str, allowed: Sequence[str] | frozenset[str]) -> str:
        value = self.required(name)
        if value not in allowed:
            raise self.error(name, f"{value!r} is not one of {', '.join(sorted(allowed))}")
        return value

    def sequence(self, name: str) -> int | None:
        value = self.text(name)
        if value is None:
            return None
        if not _SEQUENCE.fullmatch(value):
            raise self.error(name, f"{value!r} is not a sequence number (a whole number from 1)")
        return int(value)

    def count(self, name: str, *, minimum: int = 0) -> int | None:
        value = self.text(name)
        if value is None:
            return None
        if not _COUNT.fullmatch(value) or int(value) < minimum:
            raise self.error(name, f"{value!r} is not a whole number of at least {minimum}")
        return int(value)

    def date(self, name: str) -> dt.date | None:
        value = self.text(name)
        if value is None:
            return None
        if not _DATE.fullmatch(value):
            raise self.error(name, f"{value!r} is not an ISO 8601 date (YYYY-MM-DD)")
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            raise self.error(name, f"{value!r} is not a real date") from None

    def timestamp(self, name: str) -> dt.datetime:
        value = self.required(name)
        if not _DATETIME.fullmatch(value):
            raise self.error(
                name, f"{value!r} is not an ISO 8601 timestamp with a zone (e.g. 2026-11-24T15:03:00Z)"
            )
        try:
            return dt.datetime.fromisoformat(value)
        except ValueError:
            raise self.error(name, f"{value!r} is not a real date and time") from None

    def code(self, name: str) -> str | None:
        value = self.text(name)
        if value is not None and not _CODE.fullmatch(value):
            raise self.error(name, f"{value!r} is not a code (letters, digits, _ . : -; at most 50)")
        return value

    def post_class(self, name: str) -> Literal["A", "B"] | None:
        value = self.text(name)
        if value is None:
            return None
        if value == "A":
            return "A"
        if value == "B":
            return "B"
        raise self.error(name, f"{value!r} is not a post class (A or B)")


def _linkable(
    values: _Values, entry: PrintReturnEntry, *, batch_key: str, sequence_key: str, id_key: str
) -> None:
    if entry.delivery_id is None and (entry.batch_id is None or entry.sequence is None):
        missing = sequence_key if entry.batch_id is not None else f"{batch_key} and {sequence_key}"
        raise values.error(id_key, f"missing, and so is {missing}: the entry cannot be linked to a delivery")


# --------------------------------------------------------------------------------------------------- CSV


def _csv_header(line: int, header: list[str]) -> tuple[str, ...]:
    names = tuple(cell.strip() for cell in header)
    if names[: len(CSV_COLUMNS)] != CSV_COLUMNS:
        raise FormatError(f"line {line}", "the header row does not start with " + ";".join(CSV_COLUMNS))
    extra = names[len(CSV_COLUMNS) :]
    for name in extra:
        if name not in CSV_EXTRA_COLUMNS:
            raise FormatError(f"line {line}, {name or '(empty)'}", "unknown column")
    if len(set(extra)) != len(extra):
        raise FormatError(f"line {line}", "a column appears twice")
    return names


def _csv_receipt(rows: list[tuple[_Values, PrintReturnEntry | None]]) -> tuple[PrintReturnEntry, dt.datetime]:
    first, _ = rows[0]
    batch_id = first.required("batch_id")
    status = first.choice("status", RECEIPT_STATUSES)
    received_text = first.required("date")
    received = first.timestamp("date")
    documents_text = first.text("documents")
    documents = first.count("documents")
    reasons: list[ReceiptReason] = []
    for values, _ in rows:
        for name, expected in (
            ("batch_id", batch_id),
            ("status", status),
            ("date", received_text),
            ("documents", documents_text),
        ):
            if values.text(name) != expected:
                raise values.error(name, f"differs from the first receipt row ({expected!r})")
        for name in ("sequence", "delivery_id", "invoice_number", "post_class", "sheets"):
            values.empty(name, "a receipt is about the whole batch")
        code = values.code("reason_code")
        text = values.text("reason", max_length=MAX_REASON_TEXT, multiline=True)
        if text is not None and code is None:
            raise values.error("reason_code", "missing — a reason needs a code")
        if code is not None:
            reasons.append(ReceiptReason(code=code, text=text))
    entry = PrintReturnEntry(status=status, batch_id=batch_id, documents=documents, reasons=tuple(reasons))
    return entry, received


def _csv_production(values: _Values) -> PrintReturnEntry:
    status = values.choice("status", PRODUCTION_STATUSES)
    posted_on = values.date("date")
    if status == "posted" and posted_on is None:
        raise values.error("date", "missing — a posted document needs the day it was posted")
    if status == "printed" and posted_on is not None:
        raise values.error("date", "must be empty for status printed (only posted documents have a date)")
    for name in ("reason_code", "reason", "documents"):
        values.empty(name, "a production row has no reason or document count")
    entry = PrintReturnEntry(
        status=status,
        batch_id=values.required("batch_id", what="a production report is about one batch"),
        delivery_id=values.text("delivery_id"),
        sequence=values.sequence("sequence"),
        invoice_number=values.text("invoice_number"),
        date=posted_on,
        post_class=values.post_class("post_class"),
        sheets=values.count("sheets", minimum=1),
    )
    _linkable(values, entry, batch_key="batch_id", sequence_key="sequence", id_key="delivery_id")
    return entry


def _csv_returned(values: _Values) -> PrintReturnEntry:
    values.choice("status", (RETURNED_STATUS,))
    returned_on = values.date("date")
    if returned_on is None:
        raise values.error("date", "missing — the day the letter came back")
    for name in ("documents", "post_class", "sheets"):
        values.empty(name, "not used for returned mail")
    entry = PrintReturnEntry(
        status=RETURNED_STATUS,
        batch_id=values.text("batch_id"),
        delivery_id=values.text("delivery_id"),
        sequence=values.sequence("sequence"),
        invoice_number=values.text("invoice_number"),
        date=returned_on,
        reason_code=values.choice("reason_code", tuple(RETURN_REASON_CODES)),
        reason=values.text("reason", max_length=MAX_REASON_TEXT, multiline=True),
    )
    _linkable(values, entry, batch_key="batch_id", sequence_key="sequence", id_key="delivery_id")
    return entry


def _common_batch(entries: Sequence[PrintReturnEntry]) -> str | None:
    batches = {entry.batch_id for entry in entries}
    return next(iter(batches)) if len(batches) == 1 else None


def _parse_csv(text: str) -> PrintReturnFile:
    rows = csv_rows(text)
    first = next(rows, None)
    if first is None:
        raise FormatError("line 1", "empty file")
    columns = _csv_header(*first)
    kind: ReturnKind | None = None
    parsed: list[tuple[_Values, PrintReturnEntry | None]] = []
    for line, row in rows:
        if len(row) != len(columns):
            raise FormatError(f"line {line}", f"{len(row)} fields, the header has {len(columns)}")
        values = _Values(f"line {line}", dict(zip(columns, row, strict=True)))
        record = values.choice("record", tuple(_CSV_RECORDS))
        if kind is None:
            kind = _CSV_RECORDS[record]
        elif _CSV_RECORDS[record] != kind:
            raise values.error("record", f"{record!r} in a file of {kind} rows: one file holds one kind only")
        if kind == "production":
            entry = _csv_production(values)
            batch = next((e.batch_id for _, e in parsed if e is not None), entry.batch_id)
            if entry.batch_id != batch:
                raise values.error("batch_id", f"differs from the first row's {batch!r}: one batch a report")
            parsed.append((values, entry))
        elif kind == "returned-mail":
            parsed.append((values, _csv_returned(values)))
        else:
            parsed.append((values, None))
    if kind is None:
        raise FormatError("line 2", "the file has a header but no rows")
    if kind == "receipt":
        entry, received = _csv_receipt(parsed)
        return PrintReturnFile(
            kind=kind, syntax="csv", batch_id=entry.batch_id, entries=(entry,), issued_at=received
        )
    entries = tuple(entry for _, entry in parsed if entry is not None)
    return PrintReturnFile(kind=kind, syntax="csv", batch_id=_common_batch(entries), entries=entries)


# --------------------------------------------------------------------------------------------------- XML


def _elements(element: etree._Element) -> list[etree._Element]:
    return [child for child in element if isinstance(child.tag, str)]


def _xml_values(element: etree._Element, where: str, allowed: Sequence[str]) -> _Values:
    values = _Values(where, {str(key): str(value) for key, value in element.items()}, prefix="@")
    unknown = sorted(set(values.values) - set(allowed))
    if unknown:
        raise values.error(unknown[0], "unknown attribute")
    return values


def _child_where(root_name: str, element: etree._Element, child_name: str, index: int) -> str:
    return f"{root_name}/{child_name}[{index}] (line {element.sourceline})"


def _xml_children(root: etree._Element, root_name: str, child_name: str) -> list[tuple[str, etree._Element]]:
    out: list[tuple[str, etree._Element]] = []
    for child in _elements(root):
        where = _child_where(root_name, child, child_name, len(out) + 1)
        if namespace(child) != NAMESPACE or local_name(child) != child_name:
            raise FormatError(f"{root_name} (line {child.sourceline})", f"unexpected element {child.tag!r}")
        if _elements(child):
            raise FormatError(where, "holds elements, expected none")
        out.append((where, child))
    return out


def _xml_receipt(root: etree._Element) -> PrintReturnFile:
    head = _xml_values(root, "PrintReceipt", ("batchId", "status", "documents", "receivedAt"))
    batch_id = head.required("batchId")
    status = head.choice("status", RECEIPT_STATUSES)
    documents = head.count("documents")
    if documents is None:
        raise head.error("documents", "missing — how many documents the print house counted")
    received = head.timestamp("receivedAt")
    reasons: list[ReceiptReason] = []
    for where, element in _xml_children(root, "PrintReceipt", "Reason"):
        values = _xml_values(element, where, ("code",))
        code = values.code("code")
        if code is None:
            raise values.error("code", "missing — a reason needs a code")
        text = _Values(where, {"text": element.text}).text("text", max_length=MAX_REASON_TEXT, multiline=True)
        reasons.append(ReceiptReason(code=code, text=text))
    entry = PrintReturnEntry(status=status, batch_id=batch_id, documents=documents, reasons=tuple(reasons))
    return PrintReturnFile(
        kind="receipt", syntax="xml", batch_id=batch_id, entries=(entry,), issued_at=received
    )


def _xml_production(root: etree._Element) -> PrintReturnFile:
    head = _xml_values(root, "ProductionReport", ("batchId", "producedAt"))
    batch_id = head.required("batchId")
    produced = head.timestamp("producedAt")
    entries: list[PrintReturnEntry] = []
    allowed = ("deliveryId", "sequence", "status", "postedOn", "postClass", "sheets")
    for where, element in _xml_children(root, "ProductionReport", "Document"):
        values = _xml_values(element, where, allowed)
        if element.text and element.text.strip():
            raise FormatError(f"{where}, text", "a Document holds no text")
        status = values.choice("status", PRODUCTION_STATUSES)
        posted_on = values.date("postedOn")
        if status == "posted" and posted_on is None:
            raise values.error("postedOn", "missing — a posted document needs the day it was posted")
        if status == "printed" and posted_on is not None:
            raise values.error("postedOn", "not allowed with status printed")
        entry = PrintReturnEntry(
            status=status,
            batch_id=batch_id,
            delivery_id=values.text("deliveryId"),
            sequence=values.sequence("sequence"),
            date=posted_on,
            post_class=values.post_class("postClass"),
            sheets=values.count("sheets", minimum=1),
        )
        _linkable(values, entry, batch_key="batchId", sequence_key="sequence", id_key="deliveryId")
        entries.append(entry)
    if not entries:
        raise FormatError(
            "ProductionReport/Document", "missing — a production report lists at least one document"
        )
    return PrintReturnFile(
        kind="production", syntax="xml", batch_id=batch_id, entries=tuple(entries), issued_at=produced
    )


def _xml_returned(root: etree._Element) -> PrintReturnFile:
    head = _xml_values(root, "ReturnedMail", ("reportedAt",))
    reported = head.timestamp("reportedAt")
    entries: list[PrintReturnEntry] = []
    allowed = ("deliveryId", "batchId", "sequence", "invoiceNumber", "returnedOn", "reasonCode")
    for where, element in _xml_children(root, "ReturnedMail", "Item"):
        values = _xml_values(element, where, allowed)
        returned_on = values.date("returnedOn")
        if returned_on is None:
            raise values.error("returnedOn", "missing — the day the letter came back")
        text = _Values(where, {"text": element.text}).text("text", max_length=MAX_REASON_TEXT, multiline=True)
        entry = PrintReturnEntry(
            status=RETURNED_STATUS,
            batch_id=values.text("batchId"),
            delivery_id=values.text("deliveryId"),
            sequence=values.sequence("sequence"),
            invoice_number=values.text("invoiceNumber"),
            date=returned_on,
            reason_code=values.choice("reasonCode", tuple(RETURN_REASON_CODES)),
            reason=text,
        )
        _linkable(values, entry, batch_key="batchId", sequence_key="sequence", id_key="deliveryId")
        entries.append(entry)
    if not entries:
        raise FormatError("ReturnedMail/Item", "missing — a returned-mail notice lists at least one item")
    return PrintReturnFile(
        kind="returned-mail",
        syntax="xml",
        batch_id=_common_batch(entries),
        entries=tuple(entries),
        issued_at=reported,
    )


def _parse_xml(data: bytes) -> PrintReturnFile:
    root = parse_xml(data, max_bytes=MAX_RETURN_BYTES)
    name = local_name(root)
    if namespace(root) != NAMESPACE or name not in _ROOTS:
        raise FormatError(
            "document",
            f"root element {root.tag!r} is not PrintReceipt, ProductionReport or ReturnedMail in {NAMESPACE}",
        )
    if (root.text and root.text.strip()) or any(child.tail and child.tail.strip() for child in root):
        raise FormatError(name, "holds text outside its elements")
    kind = _ROOTS[name]
    if kind == "receipt":
        return _xml_receipt(root)
    if kind == "production":
        return _xml_production(root)
    return _xml_returned(root)


# ------------------------------------------------------------------------------------------------ public


def _is_xml(data: bytes) -> bool:
    return data.removeprefix(b"\xef\xbb\xbf").lstrip().startswith(b"<")


def parse(data: bytes) -> PrintReturnFile:
    """A receipt, production report or returned-mail file (XML or CSV); `FormatError` rejects it whole."""
    if len(data) > MAX_RETURN_BYTES:
        raise FormatError("document", f"file is {len(data)} bytes, the limit is {MAX_RETURN_BYTES}")
    if _is_xml(data):
        return _parse_xml(data)
    return _parse_csv(decode_utf8(data))


def sniff(data: bytes) -> bool:
    """Our CSV header on the first line, or an XML root of ours (checked by parsing)."""
    head = data[:4096].removeprefix(b"\xef\xbb\xbf")
    if head.startswith(";".join(CSV_COLUMNS).encode()):
        return True
    if not _is_xml(head) or NAMESPACE.encode() not in head:
        return False
    try:
        root = parse_xml(data, max_bytes=MAX_RETURN_BYTES)
    except FormatError:
        return False
    return namespace(root) == NAMESPACE and local_name(root) in _ROOTS


def inspect(data: bytes) -> dict[str, Any]:
    """What the gateway reads from a return file (for `gateway inspect`), with counts per status."""
    parsed = parse(data)
    counts: dict[str, int] = {}
    for entry in parsed.entries:
        counts[entry.status] = counts.get(entry.status, 0) + 1
    return {"format": FORMAT_NAME, **parsed.as_dict(), "by_status": dict(sorted(counts.items()))}
