"""Print batches as files: real PDFs in, PDFs plus an index out, the index read back, byte for byte stable."""

from __future__ import annotations

import csv
import datetime as dt
import importlib
import io
import zipfile
from collections.abc import Callable
from functools import cache
from typing import Any, cast

import pytest
from pypdf import PdfReader
from pypdf.generic import ArrayObject, ByteStringObject, TextStringObject

from gateway.samples import sample_invoice
from mappings import FORMATS, detect_format, inspect_file, render
from mappings.base import FormatError
from mappings.invoice import pdf as invoice_pdf
from mappings.print import batch as print_batch
from mappings.print.batch import (
    INDEX_COLUMNS,
    PostalRecipient,
    PrintItem,
    build_print_batch,
    envelope_for,
    package_zip,
    post_class_for,
    recipient_from_invoice,
    sheets,
)
from mappings.sbdh import wrap_sbdh
from schemas.canonical import Invoice
from schemas.print_profile import PrintProfile
from tests.conftest import SHARED as SHARED_DIR

SHARED = SHARED_DIR / "samples"
DIGIPOST_PDF = SHARED / "print" / "digipost_a4-free-barcode-area.pdf"
CUTOFF = dt.datetime(2026, 11, 24, 14, 0, tzinfo=dt.UTC)
BATCH = "acme-20261124-1500"


# -- material -------------------------------------------------------------------------------------------


@cache
def _pdf(n: int, lines: int) -> tuple[bytes, int]:
    content = invoice_pdf.render(sample_invoice(n, lines=lines)).content
    return content, len(PdfReader(io.BytesIO(content)).pages)


def _invoice_with(n: int = 1, **address: Any) -> Invoice:
    invoice = sample_invoice(n).model_copy(deep=True)
    assert invoice.buyer.address is not None
    for key, value in address.items():
        setattr(invoice.buyer.address, key, value)
    return invoice


def _item(n: int, sequence: int, *, lines: int = 3, **overrides: Any) -> PrintItem:
    """Invoice `n` as a real rendered PDF; `lines` picks its length (3 → 1 page, 15 → 2, 40 → 3)."""
    invoice = sample_invoice(n, lines=lines)
    pdf, pages = _pdf(n, lines)
    arguments: dict[str, Any] = {
        "delivery_id": f"dlv-{n}",
        "sequence": sequence,
        "invoice_number": invoice.number,
        "pdf": pdf,
        "pages": pages,
        "recipient": recipient_from_invoice(invoice),
    }
    arguments.update(overrides)
    return PrintItem(**arguments)


def _digipost_item(sequence: int, **overrides: Any) -> PrintItem:
    arguments: dict[str, Any] = {
        "delivery_id": "dlv-digipost",
        "sequence": sequence,
        "invoice_number": "EXT-1",
        "pdf": DIGIPOST_PDF.read_bytes(),
        "pages": 1,
        "recipient": PostalRecipient("Kari Nordmann", ("Postboks 1",), "0101", "Oslo", "NO"),
    }
    arguments.update(overrides)
    return PrintItem(**arguments)


def _items() -> list[PrintItem]:
    """Five documents of 1, 2, 3 and 1 pages (one of them Digipost's own sample), given out of order."""
    return [
        _item(3, 4, lines=40),
        _item(1, 1),
        _item(2, 2, lines=15),
        _digipost_item(5),
        _item(4, 3, lines=3),
    ]


def _build(items: list[PrintItem] | None = None, **profile: Any) -> Any:
    return build_print_batch(
        BATCH,
        items if items is not None else _items(),
        PrintProfile(**profile),
        tenant_id="acme",
        cutoff=CUTOFF,
    )


def _index_rows(data: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(data.decode("utf-8"), newline=""), delimiter=";"))


def _page_text(pdf: bytes, page: int) -> str:
    return PdfReader(io.BytesIO(pdf)).pages[page - 1].extract_text() or ""


def foreign_samples() -> dict[str, bytes]:
    """One file of every other format the gateway reads: none of them may pass for ours, nor ours for them."""
    invoice = sample_invoice(5)
    ubl = render("ehf", invoice).content
    return {
        "canonical-json": render("canonical-json", invoice).content,
        "ehf": ubl,
        "pdf": render("pdf", invoice).content,
        "pdf-digipost": DIGIPOST_PDF.read_bytes(),
        "dsn": (SHARED / "email" / "postfix37_dsn_2_INV-1002_failed_5.2.2.eml").read_bytes(),
        "invoice-response": (SHARED / "ehf" / "peppol_T111-uc003-Invoice_is_accepted.xml").read_bytes(),
        "sbdh": wrap_sbdh(
            ubl,
            sender="0192:987654325",
            receiver="0192:910667831",
            document_type_id="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2::Invoice"
            "##urn:cen.eu:en16931:2017#compliant#urn:fdc:peppol.eu:2017:poacc:billing:3.0::2.1",
            process_id="urn:fdc:peppol.eu:2017:poacc:billing:01:1.0",
            instance_id="instance-1",
            created=CUTOFF,
            country_c1="NO",
        ),
    }


FOREIGN_FORMAT = {"pdf-digipost": "pdf"}


def other_sniffers(own: str) -> dict[str, Callable[[bytes], bool]]:
    """Every registered sniffer but `own`'s."""
    out: dict[str, Callable[[bytes], bool]] = {}
    for name, entry in FORMATS.items():
        if name != own and entry.sniff:
            module, _, attribute = entry.sniff.partition(":")
            out[name] = getattr(importlib.import_module(module), attribute)
    return out


# -- recipients -------------------------------------------------------------------------------------------


def test_recipient_comes_from_the_buyers_postal_address() -> None:
    recipient = recipient_from_invoice(sample_invoice(1))  # Midnattsol Drift AS, Tromsø
    assert recipient == PostalRecipient("Midnattsol Drift AS", ("Sjøgata 12",), "9008", "Tromsø", "NO")


@pytest.mark.parametrize(
    ("address", "field", "reason"),
    [
        ({"lines": []}, "buyer.address.lines", "at least one address line"),
        ({"lines": ["   "]}, "buyer.address.lines", "at least one address line"),
        ({"city": None}, "buyer.address.city", "city"),
        ({"postal_code": None}, "buyer.address.postal_code", "postcode"),
        ({"postal_code": "123"}, "buyer.address.postal_code", "4 digits"),
        ({"postal_code": "12345"}, "buyer.address.postal_code", "4 digits"),
        ({"postal_code": "ABCD"}, "buyer.address.postal_code", "4 digits"),
        ({"country": "SE", "postal_code": None}, "buyer.address.postal_code", "SE needs a postcode"),
        ({"country": "DK", "postal_code": None}, "buyer.address.postal_code", "DK needs a postcode"),
        ({"country": "FI", "postal_code": None}, "buyer.address.postal_code", "FI needs a postcode"),
        ({"country": "DE", "postal_code": None}, "buyer.address.postal_code", "DE needs a postcode"),
        ({"country": "GB", "postal_code": None}, "buyer.address.postal_code", "GB needs a postcode"),
        ({"country": "NL", "postal_code": None}, "buyer.address.postal_code", "NL needs a postcode"),
        ({"country": "DE", "postal_code": "1234"}, "buyer.address.postal_code", "5 digits"),
        ({"lines": ["Gate 1\x00"]}, "buyer.address.lines[0]", "control character"),
    ],
)
def test_an_address_a_letter_cannot_reach_is_refused_naming_the_field(
    address: dict[str, Any], field: str, reason: str
) -> None:
    with pytest.raises(FormatError) as caught:
        recipient_from_invoice(_invoice_with(1, **address))
    assert caught.value.where == field
    assert reason in caught.value.reason


def test_a_buyer_without_any_address_is_refused() -> None:
    invoice = sample_invoice(1).model_copy(deep=True)
    invoice.buyer.address = None
    with pytest.raises(FormatError) as caught:
        recipient_from_invoice(invoice)
    assert caught.value.where == "buyer.address"
    assert str(caught.value) == "buyer.address: missing — a letter needs a postal address"


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        ({"country": "SE", "postal_code": "123 45"}, ("123 45", "SE")),
        ({"country": "GB", "postal_code": "sw1a 1aa"}, ("SW1A 1AA", "GB")),
        ({"country": "NL", "postal_code": "1234 AB"}, ("1234 AB", "NL")),
        ({"country": "IE", "postal_code": None}, (None, "IE")),  # no postcode needed
    ],
)
def test_postcodes_of_other_countries(address: dict[str, Any], expected: tuple[str | None, str]) -> None:
    recipient = recipient_from_invoice(_invoice_with(1, **address))
    assert (recipient.postcode, recipient.country_code) == expected


def test_line_breaks_inside_an_address_line_become_spaces() -> None:
    recipient = recipient_from_invoice(_invoice_with(1, lines=["c/o Ola\nNordmann", "Sjøgata\t12"]))
    assert recipient.lines == ("c/o Ola Nordmann", "Sjøgata 12")


def test_postal_recipient_holds_one_to_three_lines() -> None:
    with pytest.raises(ValueError, match="1 to 3 lines"):
        PostalRecipient("A", (), "0150", "Oslo", "NO")
    with pytest.raises(ValueError, match="1 to 3 lines"):
        PostalRecipient("A", ("1", "2", "3", "4"), "0150", "Oslo", "NO")
    with pytest.raises(ValueError, match="alpha-2"):
        PostalRecipient("A", ("1",), "0150", "Oslo", "Norway")


# -- sheets, envelopes, post classes --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pages", "duplex", "expected"),
    [(1, True, 1), (2, True, 1), (3, True, 2), (20, True, 10), (1, False, 1), (3, False, 3), (20, False, 20)],
)
def test_sheets(pages: int, duplex: bool, expected: int) -> None:
    assert sheets(pages, duplex) == expected


def test_sheets_of_nothing_is_an_error() -> None:
    with pytest.raises(ValueError, match="at least one page"):
        sheets(0, True)


@pytest.mark.parametrize(
    ("sheet_count", "from_sheets", "expected"),
    [(1, 6, "C5"), (5, 6, "C5"), (6, 6, "C4"), (10, 6, "C4"), (1, 1, "C4"), (2, 3, "C5"), (3, 3, "C4")],
)
def test_envelope_for(sheet_count: int, from_sheets: int, expected: str) -> None:
    assert envelope_for(sheet_count, PrintProfile(large_envelope_from_sheets=from_sheets)) == expected


@pytest.mark.parametrize(
    ("country", "profile", "expected"),
    [
        ("NO", {}, "B"),
        ("SE", {}, "A"),
        ("NO", {"post_class": "A"}, "A"),
        ("DE", {"international_post_class": "B"}, "B"),
        ("SE", {"home_country": "se", "post_class": "B"}, "B"),
        ("NO", {"home_country": "SE"}, "A"),
    ],
)
def test_post_class_for(country: str, profile: dict[str, Any], expected: str) -> None:
    recipient = PostalRecipient("A", ("Gate 1",), "1234", "By", country)
    assert post_class_for(recipient, PrintProfile(**profile)) == expected


# -- per-document batches with a CSV index --------------------------------------------------------------


def test_per_document_batch_with_csv_index() -> None:
    items = _items()
    built = _build(items)
    names = [name for name, _ in built.files]
    assert names == [f"{BATCH}-{n:05d}.pdf" for n in range(1, 6)] + [f"{BATCH}.csv"]
    assert built.index_name == f"{BATCH}.csv"
    by_sequence = {item.sequence: item for item in items}
    for (name, content), entry in zip(built.files[:-1], built.documents, strict=True):
        assert content == by_sequence[entry.sequence].pdf  # the renderer's bytes, untouched
        assert entry.file == name
        assert entry.first_page == 1

    rows = _index_rows(built.files[-1][1])
    assert list(rows[0]) == list(INDEX_COLUMNS)
    assert [row["sequence"] for row in rows] == ["1", "2", "3", "4", "5"]
    assert [row["pages"] for row in rows] == ["1", "2", "1", "3", "1"]
    assert [row["sheets"] for row in rows] == ["1", "1", "1", "2", "1"]
    assert rows[0] == {
        "batch_id": BATCH,
        "sequence": "1",
        "delivery_id": "dlv-1",
        "invoice_number": "INV-000001",
        "file": f"{BATCH}-00001.pdf",
        "first_page": "1",
        "pages": "1",
        "sheets": "1",
        "envelope": "C5",
        "post_class": "B",
        "colour": "false",
        "duplex": "true",
        "recipient_name": "Midnattsol Drift AS",
        "address_line_1": "Sjøgata 12",
        "address_line_2": "",
        "address_line_3": "",
        "postcode": "9008",
        "city": "Tromsø",
        "country": "NO",
        "document_kind": "invoice",
    }
    assert built.files[-1][1].startswith(b"batch_id;sequence;")  # no BOM
    assert b"\r\n" in built.files[-1][1]
    assert built.summary == {
        "documents": 5,
        "pages": 8,
        "sheets": 6,
        "by_post_class": {"B": 5},
        "by_envelope": {"C5": 5},
        "blank_pages": 0,
    }

    index = print_batch.parse(built.files[-1][1])
    assert index.index_format == "csv"
    assert index.batch_id == BATCH
    assert index.entries == built.documents
    assert index.summary == built.totals


# -- merged batches with an XML index -------------------------------------------------------------------


def test_merged_batch_with_xml_index_gives_each_documents_first_page() -> None:
    built = _build(layout="merged", index_format="xml")
    assert [name for name, _ in built.files] == [f"{BATCH}.pdf", f"{BATCH}.xml"]
    merged = built.files[0][1]
    # pages 1, 2, 1, 3, 1 in sequence order; duplex, so each odd-length document gets a blank page after
    # it (except that the file simply ends after the last): 1+1, 2, 1+1, 3+1, 1+1
    assert [entry.first_page for entry in built.documents] == [1, 3, 5, 7, 11]
    assert built.totals.blank_pages == 4
    reader = PdfReader(io.BytesIO(merged))
    assert len(reader.pages) == 8 + 4
    for entry in built.documents:
        if entry.delivery_id != "dlv-digipost":
            assert entry.invoice_number in _page_text(merged, entry.first_page)
        if entry.pages % 2:
            assert _page_text(merged, entry.first_page + entry.pages).strip() == ""  # the blank page
    for entry, following in zip(built.documents, built.documents[1:], strict=False):
        assert following.first_page - entry.first_page == entry.pages + entry.pages % 2

    index = print_batch.parse(built.files[-1][1])
    assert index.index_format == "xml"
    assert index.entries == built.documents
    assert (index.tenant_id, index.cutoff) == ("acme", CUTOFF)
    xml = built.files[-1][1].decode()
    assert 'xmlns="urn:invoice-gateway:print-batch:1"' in xml
    assert (
        f'id="{BATCH}" tenant="acme" cutoff="2026-11-24T14:00:00Z" documents="5" pages="8" sheets="6"' in xml
    )
    assert "<AddressLine>Sjøgata 12</AddressLine>" in xml


def test_simplex_documents_in_a_merged_file_need_no_blank_pages() -> None:
    built = _build(layout="merged", duplex=False)
    assert [entry.first_page for entry in built.documents] == [1, 2, 4, 5, 8]
    assert [entry.sheets for entry in built.documents] == [1, 2, 1, 3, 1]
    assert built.totals.blank_pages == 0
    assert len(PdfReader(io.BytesIO(built.files[0][1])).pages) == 8


def _file_id(pdf: bytes) -> tuple[bytes, bytes]:
    first, second = cast(ArrayObject, PdfReader(io.BytesIO(pdf)).trailer["/ID"])
    strings = cast(tuple[ByteStringObject | TextStringObject, ...], (first, second))
    return strings[0].original_bytes, strings[1].original_bytes


def test_merged_pdf_has_a_fixed_id_and_no_dates() -> None:
    first = _build(layout="merged").files[0][1]
    reader = PdfReader(io.BytesIO(first))
    file_id = _file_id(first)
    assert file_id[0] == file_id[1] and len(file_id[0]) == 16
    metadata: dict[str, Any] = dict(reader.metadata or {})
    assert metadata.get("/Producer") == "invoice-gateway"
    assert "/CreationDate" not in metadata and "/ModDate" not in metadata
    other = build_print_batch(
        "other-batch", _items(), PrintProfile(layout="merged"), tenant_id="acme", cutoff=CUTOFF
    ).files[0][1]
    assert _file_id(other)[0] != file_id[0]


# -- determinism ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("layout", ["per-document", "merged"])
@pytest.mark.parametrize("index_format", ["csv", "xml"])
def test_the_same_batch_gives_the_same_bytes(layout: str, index_format: str) -> None:
    first = _build(layout=layout, index_format=index_format)
    second = _build(list(reversed(_items())), layout=layout, index_format=index_format)
    assert first.files == second.files
    assert package_zip(BATCH, first.files) == package_zip(BATCH, second.files)


def test_zip_package_is_flat_ordered_and_timeless() -> None:
    built = _build(index_format="xml")
    name, content = package_zip(BATCH, built.files)
    assert name == f"{BATCH}.zip"
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        infos = archive.infolist()
        assert [info.filename for info in infos] == [file_name for file_name, _ in built.files]
        assert infos[-1].filename == f"{BATCH}.xml"
        assert {info.date_time for info in infos} == {(1980, 1, 1, 0, 0, 0)}
        assert [archive.read(info) for info in infos] == [data for _, data in built.files]
    with pytest.raises(ValueError, match="duplicate"):
        package_zip(BATCH, [("a.pdf", b"1"), ("a.pdf", b"2")])
    with pytest.raises(ValueError, match="plain relative name"):
        package_zip(BATCH, [("../a.pdf", b"1")])


# -- text: Norwegian letters, CSV injection, quoting ----------------------------------------------------


def _named(
    name: str, sequence: int, *, lines: tuple[str, ...] = ("Øvre Ålgate 7",), city: str = "Ås"
) -> PrintItem:
    recipient = PostalRecipient(name, lines, "1430", city, "NO")
    return _item(
        1, sequence, recipient=recipient, delivery_id=f"dlv-{sequence}", invoice_number=f"Æ-{sequence}"
    )


def test_norwegian_letters_survive_both_index_formats() -> None:
    items = [_named("Ærlige Øystein & Åse Håkonsen", 1, lines=("c/o Blåbærveien 5", "Leil. Ø2"))]
    for index_format in ("csv", "xml"):
        built = _build(items, index_format=index_format)
        index = built.files[-1][1]
        assert "Ærlige Øystein & Åse Håkonsen".encode() in index or b"&amp;" in index
        assert "Blåbærveien".encode() in index
        entry = print_batch.parse(index).entries[0]
        assert entry.recipient.name == "Ærlige Øystein & Åse Håkonsen"
        assert entry.recipient.lines == ("c/o Blåbærveien 5", "Leil. Ø2")
        assert entry.recipient.city == "Ås"
        assert entry.invoice_number == "Æ-1"


@pytest.mark.parametrize(
    ("name", "cell"),
    [
        ('=HYPERLINK("http://evil.example","Klikk")', '\'=HYPERLINK("http://evil.example","Klikk")'),
        ("+47 Rør AS", "'+47 Rør AS"),
        ("-Minus AS", "'-Minus AS"),
        ("@SUM(A1:A9)", "'@SUM(A1:A9)"),
        ("'=already quoted", "''=already quoted"),
        ("'Tis Bakeri", "'Tis Bakeri"),
        ('Semi;colon "quoted" AS', 'Semi;colon "quoted" AS'),
        ("Normal AS", "Normal AS"),
    ],
)
def test_formula_looking_names_are_neutralised_in_the_csv_and_read_back_unchanged(
    name: str, cell: str
) -> None:
    built = _build([_named(name, 1, city=name)])
    index = built.files[-1][1]
    row = _index_rows(index)[0]
    assert row["recipient_name"] == cell
    assert row["city"] == cell
    entry = print_batch.parse(index).entries[0]
    assert entry.recipient.name == name
    assert entry.recipient.city == name
    xml = _build([_named(name, 1)], index_format="xml").files[-1][1]
    assert print_batch.parse(xml).entries[0].recipient.name == name  # XML needs no neutralising


def test_semicolons_and_quotes_are_quoted_per_rfc_4180() -> None:
    index = _build([_named('Semi;colon "quoted" AS', 1)]).files[-1][1]
    assert b';"Semi;colon ""quoted"" AS";' in index


# -- overrides and profile choices ----------------------------------------------------------------------


def test_item_overrides_and_profile_choices_reach_the_index() -> None:
    items = [
        _item(3, 1, lines=40, duplex=False, colour=True),  # 3 pages simplex: 3 sheets → large envelope
        _item(1, 2, recipient=PostalRecipient("Svensk AB", ("Storgatan 1",), "111 22", "Stockholm", "SE")),
        _item(2, 3, lines=15),
    ]
    built = _build(items, large_envelope_from_sheets=3, envelope="C5", large_envelope="C4", colour=False)
    first, second, third = built.documents
    assert (first.sheets, first.envelope, first.colour, first.duplex) == (3, "C4", True, False)
    assert (second.post_class, second.envelope, second.colour, second.duplex) == ("A", "C5", False, True)
    assert (third.sheets, third.post_class) == (1, "B")
    assert built.totals.by_post_class == {"A": 1, "B": 2}
    assert built.totals.by_envelope == {"C4": 1, "C5": 2}
    row = _index_rows(built.files[-1][1])[0]
    assert (row["colour"], row["duplex"], row["envelope"]) == ("true", "false", "C4")


@pytest.mark.parametrize(
    ("items", "profile", "message"),
    [
        ([], {}, "at least one document"),
        ([("a", 1), ("b", 1)], {}, "duplicate sequence"),
        ([("a", 1), ("a", 2)], {}, "duplicate delivery_id"),
        ([("a", 1)], {"max_pages": 1}, None),  # a 1-page document fits
    ],
)
def test_batch_composition_errors(
    items: list[tuple[str, int]], profile: dict[str, Any], message: str | None
) -> None:
    built_items = [_item(1, sequence, delivery_id=delivery) for delivery, sequence in items]
    if message is None:
        assert _build(built_items, **profile).totals.documents == 1
        return
    with pytest.raises(ValueError, match=message):
        _build(built_items, **profile)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda: _build([_item(3, 1, lines=40)], max_pages=2), "3 pages, the print profile allows 2"),
        (lambda: _build([_item(1, 1, pages=2)]), "the PDF has 1 pages, the item says 2"),
        (lambda: _build([_item(1, 1, pdf=b"%PDF-1.4 not really")]), "not a readable PDF"),
        (
            lambda: _build(
                [_item(1, 1, pdf=(SHARED / "print" / "digipost_encrypted-with-password.pdf").read_bytes())]
            ),
            "encrypted",
        ),
        (
            lambda: build_print_batch("../x", [_item(1, 1)], PrintProfile(), tenant_id="acme", cutoff=CUTOFF),
            "batch id",
        ),
        (
            lambda: build_print_batch(
                BATCH, [_item(1, 1)], PrintProfile(), tenant_id="acme", cutoff=dt.datetime(2026, 1, 1)
            ),
            "time zone",
        ),
        (lambda: _item(1, 0), "sequence must be 1 or more"),
        (lambda: _item(1, 1, invoice_number=""), "invoice_number"),
    ],
)
def test_what_the_channel_must_settle_first_is_a_value_error(change: Callable[[], Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        change()


# -- reading index files back ---------------------------------------------------------------------------


def _csv_index() -> bytes:
    return bytes(_build([_item(1, 1), _item(2, 2, lines=15)]).files[-1][1])


def _xml_index() -> bytes:
    return bytes(_build([_item(1, 1), _item(2, 2, lines=15)], index_format="xml").files[-1][1])


def _replace(data: bytes, old: str, new: str, count: int = 1) -> bytes:
    assert old.encode() in data, old
    return data.replace(old.encode(), new.encode(), count)


@pytest.mark.parametrize(
    ("mutate", "where", "reason"),
    [
        (lambda d: b"", "line 1", "empty"),
        (lambda d: _replace(d, "batch_id;sequence", "batch;sequence"), "line 1", "header"),
        (lambda d: d + b"x;y\r\n", "line 4", "2 fields"),
        (
            lambda d: _replace(d, ";C5;B;false;true;Midnattsol", ";C5;B;no;true;Midnattsol"),
            "line 2, colour",
            "'no'",
        ),
        (lambda d: _replace(d, ";C5;B;false", ";C5;Q;false"), "line 2, post_class", "'Q'"),
        (lambda d: _replace(d, ";1;1;1;C5", ";1;x;1;C5"), "line 2, pages", "'x'"),
        (lambda d: _replace(d, ";1;1;1;C5", ";1;1;2;C5"), "index, sequence 1", "sheets 2"),
        (lambda d: _replace(d, ";Sjøgata 12;", ";;"), "line 2, address_line_1", "missing"),
        (lambda d: _replace(d, ";9008;Tromsø;NO", ";9008;Tromsø;Norge"), "line 2, country", "alpha-2"),
        (lambda d: _replace(d, f"\r\n{BATCH};2;", "\r\nother;2;"), "line 3, batch_id", "differs"),
        (lambda d: _replace(d, f"\r\n{BATCH};2;", f"\r\n{BATCH};1;"), "index", "duplicate sequence: 1"),
        (lambda d: _replace(d, ";dlv-2;", ";dlv-1;"), "index", "duplicate delivery_id: dlv-1"),
        (lambda d: _replace(d, "-00001.pdf", "/../../etc/passwd"), "line 2, file", "plain file name"),
        (lambda d: _replace(d, "Midnattsol", '"Midnattsol'), "line", "CSV"),
        (lambda d: d.replace("Tromsø".encode(), b"Troms\xf8"), "line 2", "UTF-8"),
        (lambda d: d.split(b"\r\n")[0] + b"\r\n", "line 2", "no documents"),
    ],
)
def test_malformed_csv_index_names_line_and_column(
    mutate: Callable[[bytes], bytes], where: str, reason: str
) -> None:
    with pytest.raises(FormatError) as caught:
        print_batch.parse(mutate(_csv_index()))
    assert caught.value.where.startswith(where), caught.value
    assert reason in caught.value.reason, caught.value


@pytest.mark.parametrize(
    ("mutate", "where", "reason"),
    [
        (lambda d: _replace(d, "PrintBatch", "PrintBatchX", 2), "document", "not {urn:invoice-gateway"),
        (lambda d: _replace(d, 'documents="2"', 'documents="3"'), "PrintBatch, documents", "says 3"),
        (
            lambda d: _replace(d, 'pages="3" sheets="2">', 'pages="4" sheets="2">'),
            "PrintBatch, pages",
            "add up to 3",
        ),
        (lambda d: _replace(d, ' tenant="acme"', ""), "PrintBatch, tenant", "missing"),
        (
            lambda d: _replace(d, 'cutoff="2026-11-24T14:00:00Z"', 'cutoff="2026-11-24"'),
            "PrintBatch, cutoff",
            "zone",
        ),
        (lambda d: _replace(d, ' deliveryId="dlv-2"', ""), "Document[2]", "deliveryId: missing"),
        (lambda d: _replace(d, ' firstPage="1"', ' firstPage="0"'), "Document[1]", "at least 1"),
        (
            lambda d: _replace(d, ' colour="false"', ' color="false"'),
            "Document[1]",
            "unknown attribute 'color'",
        ),
        (lambda d: _replace(d, "<City>Tromsø</City>", ""), "Document[1]", "Recipient/City"),
        (
            lambda d: _replace(d, "<City>Tromsø</City>", "<Town>Tromsø</Town>"),
            "Document[1]",
            "unexpected element 'Town'",
        ),
        (
            lambda d: _replace(d, "<Name>Midnattsol Drift AS</Name>", "<Name/>"),
            "Document[1]",
            "Recipient/Name",
        ),
        (lambda d: _replace(d, "</PrintBatch>", ""), "line", "not well-formed"),
        (
            lambda d: _replace(d, "<?xml version='1.0' encoding='UTF-8'?>", '<!DOCTYPE x [<!ENTITY e "x">]>'),
            "document",
            "DOCTYPE",
        ),
    ],
)
def test_malformed_xml_index_names_the_element(
    mutate: Callable[[bytes], bytes], where: str, reason: str
) -> None:
    with pytest.raises(FormatError) as caught:
        print_batch.parse(mutate(_xml_index()))
    assert where in str(caught.value), caught.value
    assert reason in str(caught.value), caught.value


def test_csv_index_with_a_bom_and_lf_line_ends_still_reads() -> None:
    data = b"\xef\xbb\xbf" + _csv_index().replace(b"\r\n", b"\n")
    assert print_batch.parse(data).entries == print_batch.parse(_csv_index()).entries
    assert print_batch.sniff(data)


# -- sniffing and inspecting ----------------------------------------------------------------------------


def test_index_sniffer_and_the_others_keep_to_their_own_files() -> None:
    ours = {"csv": _csv_index(), "xml": _xml_index()}
    for name, data in ours.items():
        assert print_batch.sniff(data), name
        assert detect_format(data) == "print-index", name
        for format_name, sniff in other_sniffers("print-index").items():
            assert not sniff(data), (format_name, name)
    for name, data in foreign_samples().items():
        assert not print_batch.sniff(data), name
        assert detect_format(data) == FOREIGN_FORMAT.get(name, name)


def test_inspect_file_reads_an_index() -> None:
    for data, index_format in ((_csv_index(), "csv"), (_xml_index(), "xml")):
        facts = inspect_file(data)
        assert facts["format"] == "print-index"
        assert facts["index_format"] == index_format
        assert (facts["batch_id"], facts["documents"], facts["pages"], facts["sheets"]) == (BATCH, 2, 3, 2)
        assert facts["rows"][1]["first_page"] == 1
        assert facts["rows"][0]["recipient"]["city"] == "Tromsø"
        assert facts["tenant"] == ("acme" if index_format == "xml" else None)
