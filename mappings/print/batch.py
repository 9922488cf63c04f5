"""A print-house batch as files: the PDFs plus an index (CSV or XML), and the index read back.

Pure: bytes in, bytes out (the channel uploads them over SFTP, optionally PGP-encrypted). The shape
follows the tenant's `PrintProfile`:

* `layout="per-document"`: one PDF per document, `<batch_id>-<sequence:05d>.pdf`, exactly the bytes the
  renderer made; each index row's `first_page` is 1.
* `layout="merged"`: one `<batch_id>.pdf` with every document's pages in sequence order; the index gives
  each document's `first_page` in that file. A duplex document with an odd page count is followed by one
  blank page, so every document starts on a fresh sheet even if the print house prints the file straight
  through: a naive duplex run can never put one recipient's page on the back of another's letter.
  `pages` in the index (and in the summary) counts the document's own pages, never the blank ones.
* `index_format="csv"`: `<batch_id>.csv`, UTF-8 without BOM, `;` between fields, CRLF line ends, RFC 4180
  quoting, one header row (`INDEX_COLUMNS`), one row per document; booleans are `true` / `false`.
* `index_format="xml"`: `<batch_id>.xml` in namespace `urn:invoice-gateway:print-batch:1`::

      <PrintBatch id="…" tenant="…" cutoff="2026-11-24T14:00:00Z" documents="2" pages="3" sheets="2">
        <Document sequence="1" deliveryId="…" invoiceNumber="…" file="….pdf" firstPage="1" pages="2"
                  sheets="1" envelope="C5" postClass="B" colour="false" duplex="true">
          <Recipient><Name>…</Name><AddressLine>…</AddressLine>(1–3)<Postcode>…</Postcode>(0–1)
                     <City>…</City><Country>NO</Country></Recipient>
        </Document>
      </PrintBatch>

The index file is always the last of `PrintBatchFiles.files`, so a channel that uploads in order (and
renames each file when complete) publishes the index only after every PDF it names is in place.

The same inputs give byte-identical files: the merged PDF has a fixed `/ID` derived from the batch id and
the documents' bytes and no creation or modification date; ZIP entries carry a fixed timestamp.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import re
import unicodedata
import zipfile
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from lxml import etree
from pypdf import PdfReader, PdfWriter
from pypdf.generic import ArrayObject, ByteStringObject

from mappings.base import FormatError, RenderedDocument
from mappings.csv_text import csv_record, csv_rows, decode_utf8, restored_cell
from mappings.print.printability import quiet_pypdf
from mappings.xml import local_name, namespace, parse_xml
from schemas.canonical import Invoice
from schemas.print_profile import PrintProfile

FORMAT_NAME = "print-index"
NAMESPACE = "urn:invoice-gateway:print-batch:1"
MAX_INDEX_BYTES = 50_000_000
#: A fixed timestamp for ZIP entries (the earliest a ZIP can hold): the same files give the same ZIP.
ZIP_DATE_TIME = (1980, 1, 1, 0, 0, 0)

INDEX_COLUMNS: tuple[str, ...] = (
    "batch_id",
    "sequence",
    "delivery_id",
    "invoice_number",
    "file",
    "first_page",
    "pages",
    "sheets",
    "envelope",
    "post_class",
    "colour",
    "duplex",
    "recipient_name",
    "address_line_1",
    "address_line_2",
    "address_line_3",
    "postcode",
    "city",
    "country",
    "document_kind",
)
#: What a document of a batch is (`document_kind`): an invoice, or a follow-up notice's letter. An index
#: written before the column existed (its header without it) is read as invoices only.
DOCUMENT_KINDS = frozenset({"invoice", "reminder"})

PostClass = Literal["A", "B"]

#: Countries whose post needs a postcode on the envelope; those with a pattern are also checked for shape.
POSTCODE_PATTERNS: dict[str, tuple[str, str]] = {
    "NO": (r"\d{4}", "4 digits"),
    "DK": (r"\d{4}", "4 digits"),
    "SE": (r"\d{3} ?\d{2}", "5 digits, e.g. 123 45"),
    "FI": (r"\d{5}", "5 digits"),
    "IS": (r"\d{3}", "3 digits"),
    "DE": (r"\d{5}", "5 digits"),
    "NL": (r"\d{4} ?[A-Z]{2}", "4 digits and 2 letters, e.g. 1234 AB"),
    "GB": (r"[A-Z]{1,2}\d[A-Z\d]? ?\d[A-Z]{2}", "a UK postcode, e.g. SW1A 1AA"),
}
POSTCODE_REQUIRED: frozenset[str] = frozenset(
    {
        *POSTCODE_PATTERNS,
        *("AT", "AU", "BE", "BG", "CA", "CH", "CY", "CZ", "EE", "ES", "FR", "GR", "HR"),
        *("HU", "IT", "LI", "LT", "LU", "LV", "MT", "PL", "PT", "RO", "SI", "SK", "US"),
    }
)

_SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")
_INTEGER = re.compile(r"[0-9]{1,9}")

# ------------------------------------------------------------------------------------------------ recipients


def _has_control(text: str) -> bool:
    return any(unicodedata.category(char) in {"Cc", "Cf", "Cs", "Co"} for char in text)


def _clean(text: str | None) -> str:
    """Whitespace runs (newlines, tabs) become one space: an address line is one printed line."""
    return " ".join((text or "").split())


@dataclass(frozen=True)
class PostalRecipient:
    """Whom a letter goes to, as the print house prints it in the envelope window."""

    name: str
    lines: tuple[str, ...]
    postcode: str | None
    city: str
    country_code: str

    def __post_init__(self) -> None:
        if not 1 <= len(self.lines) <= 3:
            raise ValueError(f"a postal address has 1 to 3 lines, not {len(self.lines)}")
        if not re.fullmatch(r"[A-Z]{2}", self.country_code):
            raise ValueError(f"country_code {self.country_code!r} is not an ISO 3166-1 alpha-2 code")
        for name, value in (("name", self.name), ("city", self.city), *_lines_named(self.lines)):
            if not value.strip():
                raise ValueError(f"{name} is empty")
            if _has_control(value):
                raise ValueError(f"{name} contains a control character")


def _lines_named(lines: Sequence[str]) -> list[tuple[str, str]]:
    return [(f"lines[{index}]", line) for index, line in enumerate(lines)]


def recipient_from_invoice(invoice: Invoice) -> PostalRecipient:
    """The buyer's name and postal address (BG-8) as a letter needs them; `FormatError` names what is missing.

    Checked here rather than at the print house: an address a letter cannot reach goes to deviation before
    it is printed and paid for.
    """
    buyer = invoice.buyer
    name = _clean(buyer.name)
    if not name:
        raise FormatError("buyer.name", "missing — a letter needs the recipient's name")
    address = buyer.address
    if address is None:
        raise FormatError("buyer.address", "missing — a letter needs a postal address")
    lines = tuple(line for line in (_clean(raw) for raw in address.lines) if line)
    if not lines:
        raise FormatError("buyer.address.lines", "missing — a letter needs at least one address line")
    city = _clean(address.city)
    if not city:
        raise FormatError("buyer.address.city", "missing — a letter needs a city (post town)")
    country = address.country.upper()
    postcode = _clean(address.postal_code).upper() or None
    if postcode is None and country in POSTCODE_REQUIRED:
        raise FormatError("buyer.address.postal_code", f"missing — a letter to {country} needs a postcode")
    if postcode is not None and country in POSTCODE_PATTERNS:
        pattern, shape = POSTCODE_PATTERNS[country]
        if not re.fullmatch(pattern, postcode):
            raise FormatError(
                "buyer.address.postal_code", f"{postcode!r} is not a postcode of {country} ({shape})"
            )
    for where, value in (
        ("buyer.name", name),
        *((f"buyer.address.lines[{i}]", line) for i, line in enumerate(lines)),
        ("buyer.address.city", city),
        ("buyer.address.postal_code", postcode or ""),
    ):
        if _has_control(value):
            raise FormatError(where, "contains a control character, which cannot be printed")
    return PostalRecipient(name=name, lines=lines, postcode=postcode, city=city, country_code=country)


# --------------------------------------------------------------------------------------------- batch items


@dataclass(frozen=True)
class PrintItem:
    """One document of a batch: its PDF, where it goes, and any override of the profile's colour/duplex."""

    delivery_id: str
    sequence: int
    invoice_number: str
    pdf: bytes = field(repr=False)
    pages: int
    recipient: PostalRecipient
    colour: bool | None = None
    duplex: bool | None = None
    #: "invoice", or "reminder" for a follow-up notice (`invoice_number` then lists the reminded invoices)
    document_kind: str = "invoice"

    def __post_init__(self) -> None:
        if self.sequence < 1:
            raise ValueError(f"sequence must be 1 or more, not {self.sequence}")
        if self.pages < 1:
            raise ValueError(f"pages must be 1 or more, not {self.pages}")
        for name, value in (("delivery_id", self.delivery_id), ("invoice_number", self.invoice_number)):
            if not value or len(value) > 200 or _has_control(value):
                raise ValueError(f"{name} {value!r} must be 1–200 printable characters")
        if self.document_kind not in DOCUMENT_KINDS:
            raise ValueError(f"document_kind {self.document_kind!r} is not one of {sorted(DOCUMENT_KINDS)}")


def sheets(pages: int, duplex: bool) -> int:
    """Sheets of paper a document takes: two pages a sheet when printed on both sides."""
    if pages < 1:
        raise ValueError(f"a document has at least one page, not {pages}")
    return (pages + 1) // 2 if duplex else pages


def envelope_for(sheet_count: int, profile: PrintProfile) -> str:
    """The profile's envelope, or its large one from `large_envelope_from_sheets` sheets on."""
    return profile.large_envelope if sheet_count >= profile.large_envelope_from_sheets else profile.envelope


def post_class_for(recipient: PostalRecipient, profile: PrintProfile) -> PostClass:
    """Domestic post class at home, the international one anywhere else."""
    if recipient.country_code == profile.home_country:
        return profile.post_class
    return profile.international_post_class


# -------------------------------------------------------------------------------------------- index model


@dataclass(frozen=True)
class PrintIndexEntry:
    """One index row: a document, where it is in the batch's files, and how to print and post it."""

    batch_id: str
    sequence: int
    delivery_id: str
    invoice_number: str
    file: str
    first_page: int
    pages: int
    sheets: int
    envelope: str
    post_class: PostClass
    colour: bool
    duplex: bool
    recipient: PostalRecipient
    document_kind: str = "invoice"

    def as_dict(self) -> dict[str, Any]:
        return {
            "batch_id": self.batch_id,
            "sequence": self.sequence,
            "delivery_id": self.delivery_id,
            "invoice_number": self.invoice_number,
            "file": self.file,
            "first_page": self.first_page,
            "pages": self.pages,
            "sheets": self.sheets,
            "envelope": self.envelope,
            "post_class": self.post_class,
            "colour": self.colour,
            "duplex": self.duplex,
            "document_kind": self.document_kind,
            "recipient": {
                "name": self.recipient.name,
                "lines": list(self.recipient.lines),
                "postcode": self.recipient.postcode,
                "city": self.recipient.city,
                "country": self.recipient.country_code,
            },
        }


@dataclass(frozen=True)
class PrintBatchSummary:
    """Counts a person (and the print house's invoice) checks: documents, pages, sheets, by class."""

    documents: int
    pages: int
    sheets: int
    by_post_class: dict[str, int]
    by_envelope: dict[str, int]
    #: Blank pages added to a merged PDF so each duplex document starts on a new sheet (0 otherwise).
    blank_pages: int = 0

    @classmethod
    def of(cls, entries: Sequence[PrintIndexEntry], blank_pages: int = 0) -> PrintBatchSummary:
        return cls(
            documents=len(entries),
            pages=sum(entry.pages for entry in entries),
            sheets=sum(entry.sheets for entry in entries),
            by_post_class=dict(sorted(Counter(entry.post_class for entry in entries).items())),
            by_envelope=dict(sorted(Counter(entry.envelope for entry in entries).items())),
            blank_pages=blank_pages,
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "documents": self.documents,
            "pages": self.pages,
            "sheets": self.sheets,
            "by_post_class": dict(self.by_post_class),
            "by_envelope": dict(self.by_envelope),
            "blank_pages": self.blank_pages,
        }


@dataclass(frozen=True)
class PrintBatchFiles:
    """What is uploaded for one batch: relative file names and bytes, the index last."""

    batch_id: str
    files: tuple[tuple[str, bytes], ...]
    index_name: str
    documents: tuple[PrintIndexEntry, ...]
    totals: PrintBatchSummary

    @property
    def summary(self) -> dict[str, Any]:
        """`totals` as a JSON-ready dict, for a delivery's history."""
        return self.totals.as_dict()


@dataclass(frozen=True)
class PrintIndex:
    """An index file read back: which batch, and one entry per document (tenant and cutoff: XML only)."""

    index_format: Literal["csv", "xml"]
    batch_id: str
    entries: tuple[PrintIndexEntry, ...]
    tenant_id: str | None = None
    cutoff: dt.datetime | None = None

    @property
    def summary(self) -> PrintBatchSummary:
        return PrintBatchSummary.of(self.entries)


# ------------------------------------------------------------------------------------------------ building


def _check_batch_id(batch_id: str) -> None:
    if not _SAFE_NAME.fullmatch(batch_id) or ".." in batch_id:
        raise ValueError(
            f"batch id {batch_id!r} must be 1–100 letters, digits, '.', '_' or '-' (it names files)"
        )


def _reader(item: PrintItem) -> PdfReader:
    try:
        reader = PdfReader(io.BytesIO(item.pdf), strict=False)
        if reader.is_encrypted:
            raise ValueError(f"delivery {item.delivery_id}: the PDF is encrypted; print houses refuse it")
        count = len(reader.pages)
    except ValueError:
        raise
    except Exception as error:
        raise ValueError(f"delivery {item.delivery_id}: not a readable PDF ({error})") from None
    if count != item.pages:
        raise ValueError(
            f"delivery {item.delivery_id}: the PDF has {count} pages, the item says {item.pages}"
        )
    return reader


def _merged_pdf(batch_id: str, parts: Sequence[tuple[PrintItem, PdfReader, bool]]) -> bytes:
    """One PDF of every document's pages; a blank page after each odd-length duplex document."""
    writer = PdfWriter()
    identity = hashlib.sha256(batch_id.encode())
    for item, reader, pad in parts:
        for page in reader.pages:
            writer.add_page(page)
        if pad:
            writer.add_blank_page()  # the size of the document's last page
        identity.update(hashlib.sha256(item.pdf).digest())
        identity.update(b"+" if pad else b"-")
    writer.add_metadata({"/Producer": "invoice-gateway", "/Title": f"Print batch {batch_id}"})
    # pypdf writes no /ID of its own; a fixed one (from the content) keeps the output reproducible while
    # still telling two different batches apart, as PDF 2.0 readers expect. No public setter exists.
    file_id = ByteStringObject(identity.digest()[:16])
    writer._ID = ArrayObject([file_id, file_id])
    writer.compress_identical_objects()  # shared fonts and images are stored once
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def build_print_batch(
    batch_id: str,
    items: Sequence[PrintItem],
    profile: PrintProfile,
    *,
    tenant_id: str,
    cutoff: dt.datetime,
) -> PrintBatchFiles:
    """The files of one batch, in sequence order, shaped by `profile` (layout and index format).

    `ValueError` for what the caller must have settled before: an empty batch, duplicate sequences or
    delivery ids, a PDF whose page count differs from the item's or exceeds `profile.max_pages`, an
    unreadable or encrypted PDF, a naive `cutoff` or a batch id that cannot name a file.
    """
    _check_batch_id(batch_id)
    if not tenant_id or _has_control(tenant_id):
        raise ValueError("tenant_id must be a non-empty printable string")
    if cutoff.tzinfo is None or cutoff.utcoffset() is None:
        raise ValueError("cutoff must carry a time zone")
    if not items:
        raise ValueError("a print batch needs at least one document")
    for attribute in ("sequence", "delivery_id"):
        counts = Counter(getattr(item, attribute) for item in items)
        duplicates = sorted(str(value) for value, count in counts.items() if count > 1)
        if duplicates:
            raise ValueError(f"duplicate {attribute} in batch {batch_id}: {', '.join(duplicates)}")
    ordered = sorted(items, key=lambda item: item.sequence)
    merged = profile.layout == "merged"

    entries: list[PrintIndexEntry] = []
    files: list[tuple[str, bytes]] = []
    parts: list[tuple[PrintItem, PdfReader, bool]] = []
    position = 1
    blank_pages = 0
    with quiet_pypdf():
        for item in ordered:
            if item.pages > profile.max_pages:
                raise ValueError(
                    f"delivery {item.delivery_id}: {item.pages} pages, the print profile allows "
                    f"{profile.max_pages}"
                )
            reader = _reader(item)
            duplex = profile.duplex if item.duplex is None else item.duplex
            colour = profile.colour if item.colour is None else item.colour
            sheet_count = sheets(item.pages, duplex)
            file_name = f"{batch_id}.pdf" if merged else f"{batch_id}-{item.sequence:05d}.pdf"
            entries.append(
                PrintIndexEntry(
                    batch_id=batch_id,
                    sequence=item.sequence,
                    delivery_id=item.delivery_id,
                    invoice_number=item.invoice_number,
                    file=file_name,
                    first_page=position if merged else 1,
                    pages=item.pages,
                    sheets=sheet_count,
                    envelope=envelope_for(sheet_count, profile),
                    post_class=post_class_for(item.recipient, profile),
                    colour=colour,
                    duplex=duplex,
                    recipient=item.recipient,
                    document_kind=item.document_kind,
                )
            )
            if merged:
                pad = duplex and item.pages % 2 == 1
                parts.append((item, reader, pad))
                position += item.pages + (1 if pad else 0)
                blank_pages += 1 if pad else 0
            else:
                files.append((file_name, item.pdf))
        if merged:
            files.append((f"{batch_id}.pdf", _merged_pdf(batch_id, parts)))

    if profile.index_format == "csv":
        index_name, index = f"{batch_id}.csv", index_csv(entries)
    else:
        index_name, index = f"{batch_id}.xml", index_xml(batch_id, entries, tenant_id, cutoff)
    files.append((index_name, index))
    return PrintBatchFiles(
        batch_id=batch_id,
        files=tuple(files),
        index_name=index_name,
        documents=tuple(entries),
        totals=PrintBatchSummary.of(entries, blank_pages),
    )


def _restore(value: str) -> str:
    """A cell as it was before `csv_record` neutralised it (exactly one neutralising `'` dropped).

    Print houses and the people who check their invoices open index files in Excel or LibreOffice; a buyer
    named `=HYPERLINK(…)` must stay text there, so every cell is neutralised (`numbers=False`: nothing is
    exempt, so every value survives the round trip unchanged)."""
    return restored_cell(value)


def _bool_text(value: bool) -> str:
    return "true" if value else "false"


def _row(entry: PrintIndexEntry) -> list[str]:
    recipient = entry.recipient
    lines = [*recipient.lines, "", "", ""][:3]
    return [
        entry.batch_id,
        str(entry.sequence),
        entry.delivery_id,
        entry.invoice_number,
        entry.file,
        str(entry.first_page),
        str(entry.pages),
        str(entry.sheets),
        entry.envelope,
        entry.post_class,
        _bool_text(entry.colour),
        _bool_text(entry.duplex),
        recipient.name,
        *lines,
        recipient.postcode or "",
        recipient.city,
        recipient.country_code,
        entry.document_kind,
    ]


def index_csv(entries: Sequence[PrintIndexEntry]) -> bytes:
    """The CSV index: UTF-8, `;`, CRLF, a header row, RFC 4180 quoting, formula-looking cells neutralised."""
    lines = [csv_record(INDEX_COLUMNS, delimiter=";", lineterminator="\r\n", numbers=False)]
    lines += (
        csv_record(_row(entry), delimiter=";", lineterminator="\r\n", numbers=False) for entry in entries
    )
    return "".join(lines).encode("utf-8")


def _utc(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _q(name: str) -> str:
    return f"{{{NAMESPACE}}}{name}"


def index_xml(
    batch_id: str, entries: Sequence[PrintIndexEntry], tenant_id: str, cutoff: dt.datetime
) -> bytes:
    """The XML index (namespace `urn:invoice-gateway:print-batch:1`), UTF-8 with an XML declaration."""
    summary = PrintBatchSummary.of(entries)
    nsmap: Any = {None: NAMESPACE}  # lxml-stubs want str keys; None is lxml's default namespace
    root = etree.Element(_q("PrintBatch"), nsmap=nsmap)
    for key, value in (
        ("id", batch_id),
        ("tenant", tenant_id),
        ("cutoff", _utc(cutoff)),
        ("documents", str(summary.documents)),
        ("pages", str(summary.pages)),
        ("sheets", str(summary.sheets)),
    ):
        root.set(key, value)
    for entry in entries:
        document = etree.SubElement(root, _q("Document"))
        for key, value in (
            ("sequence", str(entry.sequence)),
            ("deliveryId", entry.delivery_id),
            ("invoiceNumber", entry.invoice_number),
            ("file", entry.file),
            ("firstPage", str(entry.first_page)),
            ("pages", str(entry.pages)),
            ("sheets", str(entry.sheets)),
            ("envelope", entry.envelope),
            ("postClass", entry.post_class),
            ("colour", _bool_text(entry.colour)),
            ("duplex", _bool_text(entry.duplex)),
            *((("kind", entry.document_kind),) if entry.document_kind != "invoice" else ()),
        ):
            document.set(key, value)
        recipient = etree.SubElement(document, _q("Recipient"))
        etree.SubElement(recipient, _q("Name")).text = entry.recipient.name
        for line in entry.recipient.lines:
            etree.SubElement(recipient, _q("AddressLine")).text = line
        if entry.recipient.postcode is not None:
            etree.SubElement(recipient, _q("Postcode")).text = entry.recipient.postcode
        etree.SubElement(recipient, _q("City")).text = entry.recipient.city
        etree.SubElement(recipient, _q("Country")).text = entry.recipient.country_code
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True))


def package_zip(batch_id: str, files: Sequence[tuple[str, bytes]]) -> tuple[str, bytes]:
    """`<batch_id>.zip` holding `files` in order (index last), byte-identical for the same files.

    Every entry has the same fixed timestamp, permissions and creator system, so the archive depends only
    on the names and contents (and on zlib's output for them, which is stable for a given zlib).
    """
    _check_batch_id(batch_id)
    names = [name for name, _ in files]
    if len(set(names)) != len(names):
        raise ValueError("duplicate file names in a print batch")
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, content in files:
            if not _SAFE_NAME.fullmatch(name) or ".." in name:
                raise ValueError(f"file name {name!r} is not a plain relative name")
            info = zipfile.ZipInfo(name, date_time=ZIP_DATE_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3  # Unix, whatever platform builds it
            info.external_attr = 0o100644 << 16
            archive.writestr(info, content, compresslevel=6)
    return f"{batch_id}.zip", out.getvalue()


# ------------------------------------------------------------------------------------------------- reading


class _Fields:
    """Typed reads of one row or element's text values, each failure a `FormatError` naming where."""

    def __init__(self, where: str, values: dict[str, str | None]) -> None:
        self.where = where
        self.values = values

    def error(self, name: str, reason: str) -> FormatError:
        return FormatError(f"{self.where}, {name}", reason)

    def text(self, name: str, *, required: bool = True, max_length: int = 200) -> str | None:
        value = self.values.get(name)
        value = None if value is None else value.strip()
        if not value:
            if required:
                raise self.error(name, "missing")
            return None
        if len(value) > max_length:
            raise self.error(name, f"longer than {max_length} characters")
        if _has_control(value):
            raise self.error(name, "contains a control character")
        return value

    def required(self, name: str) -> str:
        value = self.text(name)
        assert value is not None
        return value

    def integer(self, name: str, *, minimum: int) -> int:
        value = self.required(name)
        if not _INTEGER.fullmatch(value) or int(value) < minimum:
            raise self.error(name, f"{value!r} is not a whole number of at least {minimum}")
        return int(value)

    def boolean(self, name: str) -> bool:
        value = self.required(name)
        if value not in {"true", "false"}:
            raise self.error(name, f"{value!r} is neither 'true' nor 'false'")
        return value == "true"

    def post_class(self, name: str) -> PostClass:
        value = self.required(name)
        if value == "A":
            return "A"
        if value == "B":
            return "B"
        raise self.error(name, f"{value!r} is not a post class (A or B)")

    def file_name(self, name: str) -> str:
        value = self.required(name)
        if not _SAFE_NAME.fullmatch(value) or ".." in value:
            raise self.error(name, f"{value!r} is not a plain file name")
        return value


def _recipient(fields: _Fields, names: tuple[str, str, str, str, str, str, str]) -> PostalRecipient:
    name_key, line1, line2, line3, postcode_key, city_key, country_key = names
    lines = [fields.text(key, required=False) for key in (line1, line2, line3)]
    if lines[0] is None:
        raise fields.error(line1, "missing — a letter needs at least one address line")
    if lines[1] is None and lines[2] is not None:
        raise fields.error(line2, f"empty while {line3} is set")
    country = fields.required(country_key)
    if not re.fullmatch(r"[A-Z]{2}", country):
        raise fields.error(country_key, f"{country!r} is not an ISO 3166-1 alpha-2 code")
    return PostalRecipient(
        name=fields.required(name_key),
        lines=tuple(line for line in lines if line is not None),
        postcode=fields.text(postcode_key, required=False, max_length=20),
        city=fields.required(city_key),
        country_code=country,
    )


def _entry(fields: _Fields, keys: dict[str, str], batch_id: str) -> PrintIndexEntry:
    """An index entry from a row or an element; `keys` maps entry fields to the file's names."""
    kind = fields.text(keys["document_kind"], required=False, max_length=30) or "invoice"
    if kind not in DOCUMENT_KINDS:
        raise fields.error(
            keys["document_kind"], f"{kind!r} is not one of {', '.join(sorted(DOCUMENT_KINDS))}"
        )
    return PrintIndexEntry(
        batch_id=batch_id,
        document_kind=kind,
        sequence=fields.integer(keys["sequence"], minimum=1),
        delivery_id=fields.required(keys["delivery_id"]),
        invoice_number=fields.required(keys["invoice_number"]),
        file=fields.file_name(keys["file"]),
        first_page=fields.integer(keys["first_page"], minimum=1),
        pages=fields.integer(keys["pages"], minimum=1),
        sheets=fields.integer(keys["sheets"], minimum=1),
        envelope=fields.required(keys["envelope"]),
        post_class=fields.post_class(keys["post_class"]),
        colour=fields.boolean(keys["colour"]),
        duplex=fields.boolean(keys["duplex"]),
        recipient=_recipient(
            fields,
            (
                keys["recipient_name"],
                keys["address_line_1"],
                keys["address_line_2"],
                keys["address_line_3"],
                keys["postcode"],
                keys["city"],
                keys["country"],
            ),
        ),
    )


def _check_entries(entries: Sequence[PrintIndexEntry], where: str) -> None:
    for attribute in ("sequence", "delivery_id"):
        counts = Counter(getattr(entry, attribute) for entry in entries)
        duplicates = sorted(str(value) for value, count in counts.items() if count > 1)
        if duplicates:
            raise FormatError(where, f"duplicate {attribute}: {', '.join(duplicates)}")
    for entry in entries:
        if entry.sheets != sheets(entry.pages, entry.duplex):
            raise FormatError(
                f"{where}, sequence {entry.sequence}",
                f"sheets {entry.sheets} do not fit {entry.pages} pages "
                f"({'duplex' if entry.duplex else 'simplex'})",
            )


def _parse_index_csv(text: str) -> PrintIndex:
    rows = csv_rows(text)
    first = next(rows, None)
    if first is None:
        raise FormatError("line 1", "empty index file")
    line, header = first
    columns = tuple(cell.strip() for cell in header)
    if columns not in (INDEX_COLUMNS, INDEX_COLUMNS[:-1]):  # without document_kind: an older index
        raise FormatError(f"line {line}", "the header row is not " + ";".join(INDEX_COLUMNS))
    entries: list[PrintIndexEntry] = []
    batch_id: str | None = None
    for line, row in rows:
        if len(row) != len(columns):
            raise FormatError(f"line {line}", f"{len(row)} fields, the header has {len(columns)}")
        fields = _Fields(f"line {line}", {k: _restore(v) for k, v in zip(columns, row, strict=True)})
        row_batch = fields.file_name("batch_id")
        if batch_id is None:
            batch_id = row_batch
        elif row_batch != batch_id:
            raise fields.error("batch_id", f"{row_batch!r} differs from the first row's {batch_id!r}")
        entries.append(_entry(fields, {key: key for key in INDEX_COLUMNS}, row_batch))
    if batch_id is None:
        raise FormatError("line 2", "the index lists no documents")
    _check_entries(entries, "index")
    return PrintIndex(index_format="csv", batch_id=batch_id, entries=tuple(entries))


_XML_DOCUMENT_KEYS = {
    "sequence": "sequence",
    "delivery_id": "deliveryId",
    "invoice_number": "invoiceNumber",
    "file": "file",
    "first_page": "firstPage",
    "pages": "pages",
    "sheets": "sheets",
    "envelope": "envelope",
    "post_class": "postClass",
    "colour": "colour",
    "duplex": "duplex",
    "recipient_name": "Recipient/Name",
    "address_line_1": "Recipient/AddressLine[1]",
    "address_line_2": "Recipient/AddressLine[2]",
    "address_line_3": "Recipient/AddressLine[3]",
    "postcode": "Recipient/Postcode",
    "city": "Recipient/City",
    "country": "Recipient/Country",
    "document_kind": "kind",
}
#: Each Recipient child and how often it may occur.
_RECIPIENT_CHILDREN = {
    "Name": (1, 1),
    "AddressLine": (1, 3),
    "Postcode": (0, 1),
    "City": (1, 1),
    "Country": (1, 1),
}


def _children(element: etree._Element) -> list[etree._Element]:
    return [child for child in element if isinstance(child.tag, str)]


def _xml_document(element: etree._Element, index: int) -> dict[str, str | None]:
    where = f"Document[{index}] (line {element.sourceline})"
    values: dict[str, str | None] = {
        key: element.get(key) for key in _XML_DOCUMENT_KEYS.values() if "/" not in key
    }
    unknown = sorted(set(element.keys()) - set(values))
    if unknown:
        raise FormatError(where, f"unknown attribute {unknown[0]!r}")
    children = _children(element)
    if len(children) != 1 or children[0].tag != _q("Recipient"):
        raise FormatError(where, "a Document holds exactly one Recipient element")
    counts: Counter[str] = Counter()
    for child in _children(children[0]):
        name = local_name(child)
        if namespace(child) != NAMESPACE or name not in _RECIPIENT_CHILDREN:
            raise FormatError(f"{where}, Recipient", f"unexpected element {name!r}")
        counts[name] += 1
        path = f"Recipient/{name}" + (f"[{counts[name]}]" if name == "AddressLine" else "")
        if len(_children(child)):
            raise FormatError(f"{where}, {path}", "holds elements, expected text")
        values[path] = child.text
    for name, (low, high) in _RECIPIENT_CHILDREN.items():
        if not low <= counts[name] <= high:
            raise FormatError(f"{where}, Recipient/{name}", f"{counts[name]} found, expected {low}–{high}")
    return values


def _parse_index_xml(data: bytes) -> PrintIndex:
    root = parse_xml(data, max_bytes=MAX_INDEX_BYTES)
    if root.tag != _q("PrintBatch"):
        raise FormatError("document", f"root element {root.tag!r} is not {{{NAMESPACE}}}PrintBatch")
    head = _Fields("PrintBatch", {str(key): str(value) for key, value in root.items()})
    batch_id = head.file_name("id")
    tenant = head.required("tenant")
    cutoff = _parse_utc(head, "cutoff")
    entries: list[PrintIndexEntry] = []
    for index, element in enumerate(_children(root), start=1):
        if element.tag != _q("Document"):
            raise FormatError(
                f"PrintBatch (line {element.sourceline})", f"unexpected element {element.tag!r}"
            )
        values = _xml_document(element, index)
        fields = _Fields(f"Document[{index}] (line {element.sourceline})", values)
        entries.append(_entry(fields, _XML_DOCUMENT_KEYS, batch_id))
    if not entries:
        raise FormatError("PrintBatch", "the index lists no documents")
    _check_entries(entries, "PrintBatch")
    summary = PrintBatchSummary.of(entries)
    totals = (("documents", summary.documents), ("pages", summary.pages), ("sheets", summary.sheets))
    for key, actual in totals:
        stated = head.integer(key, minimum=0)
        if stated != actual:
            raise head.error(key, f"says {stated}, the documents add up to {actual}")
    return PrintIndex(
        index_format="xml", batch_id=batch_id, entries=tuple(entries), tenant_id=tenant, cutoff=cutoff
    )


_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?(Z|[+-]\d{2}:\d{2})")


def _parse_utc(fields: _Fields, name: str) -> dt.datetime:
    value = fields.required(name)
    if not _DATETIME.fullmatch(value):
        raise fields.error(
            name, f"{value!r} is not an ISO 8601 date-time with a zone (e.g. 2026-11-24T14:00:00Z)"
        )
    try:
        return dt.datetime.fromisoformat(value).astimezone(dt.UTC)
    except ValueError:
        raise fields.error(name, f"{value!r} is not a real date and time") from None


def _is_xml(data: bytes) -> bool:
    return data.removeprefix(b"\xef\xbb\xbf").lstrip().startswith(b"<")


def parse(data: bytes) -> PrintIndex:
    """A CSV or XML index file back as entries; `FormatError` naming the line / element and field."""
    if len(data) > MAX_INDEX_BYTES:
        raise FormatError("document", f"index is {len(data)} bytes, the limit is {MAX_INDEX_BYTES}")
    if _is_xml(data):
        return _parse_index_xml(data)
    return _parse_index_csv(decode_utf8(data))


def sniff(data: bytes) -> bool:
    """Our CSV header on the first line, or an XML root `PrintBatch` in our namespace."""
    head = data[:4096].removeprefix(b"\xef\xbb\xbf")
    if head.startswith(";".join(INDEX_COLUMNS[:4]).encode()):
        return True
    if not _is_xml(head) or NAMESPACE.encode() not in head:
        return False
    try:
        return parse_xml(data, max_bytes=MAX_INDEX_BYTES).tag == _q("PrintBatch")
    except FormatError:
        return False


def inspect(data: bytes) -> dict[str, Any]:
    """What the gateway reads from an index file (for `gateway inspect`)."""
    index = parse(data)
    summary = index.summary
    return {
        "format": FORMAT_NAME,
        "index_format": index.index_format,
        "batch_id": index.batch_id,
        "tenant": index.tenant_id,
        "cutoff": _utc(index.cutoff) if index.cutoff else None,
        "documents": summary.documents,
        "pages": summary.pages,
        "sheets": summary.sheets,
        "by_post_class": summary.by_post_class,
        "by_envelope": summary.by_envelope,
        "rows": [entry.as_dict() for entry in index.entries],
    }


def render(invoice: Invoice, options: Any = None) -> RenderedDocument:
    """The index line the print house would get for `invoice` alone (the default profile, CSV).

    `gateway render FILE --to print-index` shows what paper delivery reads from an invoice — the postal
    address, pages, sheets, envelope and post class — and refuses an address a letter cannot go to, the
    same check the print channel makes before a document joins a batch.
    """
    from mappings.invoice import pdf as invoice_pdf

    recipient = recipient_from_invoice(invoice)
    pdf = invoice_pdf.render(invoice) if options is None else invoice_pdf.render(invoice, options)
    with quiet_pypdf():
        pages = len(PdfReader(io.BytesIO(pdf.content)).pages)
    item = PrintItem(
        delivery_id="preview",
        sequence=1,
        invoice_number=invoice.number,
        pdf=pdf.content,
        pages=pages,
        recipient=recipient,
    )
    built = build_print_batch(
        "preview", [item], PrintProfile(), tenant_id="preview", cutoff=dt.datetime.now(dt.UTC)
    )
    return RenderedDocument("print-index", dict(built.files)[built.index_name], "text/csv", "csv")
