"""The printable PDF: what a person reads off it, and whether a print house (Digipost's rules) takes it."""

from __future__ import annotations

import io
import re
import shutil
import subprocess
from decimal import Decimal
from pathlib import Path

import pytest
from pypdf import PdfReader

from gateway.samples import sample_invoice
from mappings import inspect_file, render
from mappings.base import FormatError
from mappings.invoice import pdf as invoice_pdf
from mappings.invoice.pdf import PdfTemplate, format_money, template_for
from mappings.print.printability import check_printable
from tests.conftest import SHARED

PRINT_SAMPLES = SHARED / "samples" / "print"
EXPECTED: dict[str, set[str]] = {
    "digipost_a4-free-barcode-area.pdf": set(),
    "digipost_a4-full-page.pdf": {"left-margin"},
    "digipost_a4-left-margin-14_5mm.pdf": {"left-margin"},
    # Named A5, but its page is 842 × 1191 pt (A3); its text starts at the 15 mm line, as Digipost's own
    # test expects both errors for it.
    "digipost_a5-left-margin-15mm.pdf": {"not-a4", "left-margin"},
    "digipost_a4-21pages.pdf": {"too-many-pages"},
    "digipost_corrupt.pdf": {"unreadable"},
    "digipost_encrypted-with-password.pdf": {"encrypted"},
    "digipost_uten-embeddede-fonter.pdf": {"font-not-embedded"},
}


def _text(pdf: bytes) -> str:
    reader = PdfReader(io.BytesIO(pdf))
    return "\n".join(page.extract_text() or "" for page in reader.pages)


def test_invoice_pdf_reads_like_the_invoice() -> None:
    invoice = sample_invoice(7, lines=4)
    document = render("pdf", invoice)
    assert (document.format, document.media_type, document.extension) == ("pdf", "application/pdf", "pdf")
    text = _text(document.content)
    assert "FAKTURA" in text
    assert invoice.number in text
    payable = format_money(invoice.totals.payable, "NOK", "nb")
    assert re.match(r"^\d{1,3}( \d{3})*,\d{2}$", payable)
    assert payable in text
    assert invoice.kid and invoice.kid in text
    assert "8601 11 17947" in text  # the bank account, grouped the Norwegian way
    assert "16.11.2026" in text  # due date
    assert check_printable(document.content, margin_band_mm=None) == []


def test_money_formatting_uses_minor_units_and_language() -> None:
    assert format_money(Decimal("1234.5"), "NOK", "nb") == "1 234,50"
    assert format_money(Decimal("1234567.891"), "NOK", "en") == "1,234,567.89"
    assert format_money(Decimal("1234"), "JPY", "nb") == "1 234"
    assert format_money(Decimal("-5.1"), "KWD", "nb") == "-5,100"


def test_credit_note_says_so_and_names_the_invoice() -> None:
    credit = sample_invoice(3, credit_note=True)
    document = invoice_pdf.render(credit, PdfTemplate(language="en"))
    text = _text(document.content)
    assert "CREDIT NOTE" in text
    assert "INV-000003" in text
    assert "Do not pay" in text
    assert check_printable(document.content, margin_band_mm=None) == []


def test_long_invoice_runs_over_pages_with_header_repeated() -> None:
    invoice = sample_invoice(2, lines=150)
    template = PdfTemplate(payment_link_url="https://pay.example/{number}?kid={kid}")
    document = invoice_pdf.render(invoice, template)
    reader = PdfReader(io.BytesIO(document.content))
    pages = len(reader.pages)
    assert 2 <= pages <= 20
    for number, page in enumerate(reader.pages, start=1):
        text = page.extract_text()
        assert "Beskrivelse" in text or number == pages  # the table header on every page with lines
        assert f"Side {number} av {pages}" in text
    assert "150" in _text(document.content)
    assert check_printable(document.content, margin_band_mm=None) == []


def test_more_than_the_page_limit_is_refused_clearly() -> None:
    with pytest.raises(FormatError) as caught:
        invoice_pdf.render(sample_invoice(2, lines=150), max_pages=2)
    assert caught.value.where == "lines"
    assert "more than 2 pages" in caught.value.reason


def test_compact_layout_keeps_a_long_invoice_under_the_limit() -> None:
    normal = len(PdfReader(io.BytesIO(invoice_pdf.render(sample_invoice(2, lines=150)).content)).pages)
    compact = invoice_pdf.render(sample_invoice(2, lines=150), max_pages=normal - 1)
    assert len(PdfReader(io.BytesIO(compact.content)).pages) < normal


def test_template_logo_and_inspect(tmp_path: Path) -> None:
    from PIL import Image

    logo = tmp_path / "logo.png"
    Image.new("RGB", (300, 100), (31, 78, 121)).save(logo)
    document = invoice_pdf.render(sample_invoice(4), PdfTemplate(logo_path=logo, footer_text="Takk!"))
    assert check_printable(document.content, margin_band_mm=None) == []
    facts = inspect_file(document.content)
    assert facts["format"] == "pdf"
    assert facts["printable"] is True
    assert facts["pages"] >= 1
    assert all(font["embedded"] for font in facts["fonts"])
    invoice = sample_invoice(4)
    assert facts["invoice"]["number"] == invoice.number
    assert facts["invoice"]["kid"] == invoice.kid
    assert facts["invoice"]["amount_due"] == format_money(invoice.totals.payable, "NOK", "nb")
    assert template_for("acme") == PdfTemplate()


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_print_house_samples(name: str) -> None:
    path = PRINT_SAMPLES / name
    problems = check_printable(path.read_bytes())
    assert {problem.code for problem in problems} == EXPECTED[name], problems


def test_margin_check_strict_mode_sees_the_whole_strip() -> None:
    path = PRINT_SAMPLES / "digipost_a4-free-barcode-area.pdf"
    problems = check_printable(path.read_bytes(), margin_band_mm=None)
    assert [problem.code for problem in problems] == ["left-margin"]


@pytest.mark.parametrize("junk", [b"", b"junk", b"%PDF-1.4\n%%EOF", b"%PDF-1.7\n1 0 obj << /Type /Catalog"])
def test_junk_is_unreadable_never_an_exception(junk: bytes) -> None:
    assert [problem.code for problem in check_printable(junk)] == ["unreadable"]


def test_page_one_renders_as_an_image(tmp_path: Path) -> None:
    """Poppler's pdftoppm rasterises page 1: the PDF is sound for a real renderer, not only for pypdf.

    Poppler comes from Debian's packages; the test installs it when it is missing (as tests/mta.py does
    for Postfix) and fails, never skips, when that is impossible.
    """
    if shutil.which("pdftoppm") is None:
        installed = subprocess.run(
            "apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q poppler-utils",
            shell=True,
            capture_output=True,
            text=True,
            check=False,
        )
        assert shutil.which("pdftoppm"), f"cannot install poppler-utils: {installed.stderr[-500:]}"
    pdf = tmp_path / "invoice.pdf"
    pdf.write_bytes(invoice_pdf.render(sample_invoice(1)).content)
    subprocess.run(["pdftoppm", "-png", "-r", "40", "-f", "1", "-l", "1", pdf, tmp_path / "page"], check=True)
    assert (tmp_path / "page-1.png").stat().st_size > 1000


# -- the customer portal's "view online / pay" link (issue 21) ----------------------------------------------

PORTAL_LINK = (
    "https://portal.acme.test/portal/i/"
    "eyJ0IjoiYWNtZSIsImkiOiIwMTIzNDU2Nzg5YWJjZGVmMDEyMzQ1Njc4OWFiY2RlZiJ9.q3V7o1rJb0nA8qf5KyL4E3d1Pn8gJt2XwHcV0s"
)


def _uris(pdf: bytes) -> list[str]:
    """The URI link annotations of every page."""
    reader = PdfReader(io.BytesIO(pdf))
    found: list[str] = []
    for page in reader.pages:
        for annotation in page.get("/Annots") or []:
            action = annotation.get_object().get("/A")
            if action is not None and action.get("/S") == "/URI":
                assert annotation.get_object().get("/F") == 4  # printable, as PDF/A wants it
                found.append(str(action["/URI"]))
    return found


@pytest.mark.parametrize(
    ("language", "label"), [("nb", "Se og betal på nett"), ("en", "View and pay online")]
)
def test_the_portal_link_is_a_visible_clickable_line(language: str, label: str) -> None:
    invoice = sample_invoice(7, lines=4)
    document = invoice_pdf.render(invoice, PdfTemplate(language=language), portal_link=PORTAL_LINK)
    text = _text(document.content)
    assert f"{label}:" in text
    # the ~130-character link on one line, whole (not cut, not broken over lines)
    assert PORTAL_LINK in text.splitlines()
    assert _uris(document.content) == [PORTAL_LINK]
    assert check_printable(document.content, margin_band_mm=None) == []


def test_without_a_portal_link_the_pdf_is_as_before() -> None:
    invoice = sample_invoice(7, lines=4)
    plain = invoice_pdf.render(invoice).content
    assert invoice_pdf.render(invoice, portal_link=None).content == plain
    assert _uris(plain) == [] and "på nett" not in _text(plain)


def test_one_qr_code_the_tenants_payment_link_first() -> None:
    """Never two QR codes: the tenant's own payment link when its template names one, else the portal's."""
    invoice = sample_invoice(7, lines=4)
    style = invoice_pdf.NORMAL_STYLE
    portal_only = invoice_pdf._Renderer(invoice, template_for(None), style, PORTAL_LINK)._qr()
    assert portal_only is not None and portal_only.value == PORTAL_LINK
    template = PdfTemplate(payment_link_url="https://pay.acme.test/{number}")
    both = invoice_pdf._Renderer(invoice, template, style, PORTAL_LINK)._qr()
    assert both is not None and both.value == f"https://pay.acme.test/{invoice.number}"
    assert invoice_pdf._Renderer(invoice, template_for(None), style)._qr() is None
    rendered = invoice_pdf.render(invoice, template, portal_link=PORTAL_LINK).content
    assert _uris(rendered) == [PORTAL_LINK]  # the line still names the portal


def test_a_credit_note_and_factur_x_carry_the_link() -> None:
    from mappings.invoice import facturx

    credit = sample_invoice(2, credit_note=True)
    text = _text(invoice_pdf.render(credit, portal_link=PORTAL_LINK).content)
    assert "Se kreditnotaen på nett:" in text and PORTAL_LINK in text
    factur_x = facturx.render(sample_invoice(3), None, portal_link=PORTAL_LINK).content
    assert _uris(factur_x) == [PORTAL_LINK]
    assert PORTAL_LINK in _text(factur_x)
