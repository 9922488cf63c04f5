"""A printable, branded PDF of the canonical invoice or credit note (ReportLab), and what a PDF holds.

Pure: bytes out; the only I/O is reading a template's logo file. Layout decisions:

* A4 portrait. The left 15 mm (Digipost's barcode / franking strip) stays empty on every page: nothing is
  drawn left of `CONTENT_LEFT` = 20 mm, so `mappings.print.printability.check_printable` passes even in its
  strict
  (whole-height) mode.
* Page 1 has the recipient's address in the window of a C5/DL window envelope (DIN 5008 form B: 20 mm
  from the left, 45 mm from the top, 85 × 45 mm), the seller and the invoice facts (number, dates, KID,
  account) to the right. Later pages repeat a slim header; the lines table repeats its header row; every
  page says "page x of y".
* Fonts are the TrueType Bitstream Vera fonts that ship inside ReportLab, registered and embedded (subset).
  The base-14 fonts are never referenced, not even as the canvas's initial font.
* Money is printed with the currency's ISO 4217 minor units; Norwegian labels use "1 234,50".
* At most `MAX_PAGES` (20, Digipost's limit). When the normal layout needs more, the document is set
  again in a compact layout (smaller type, one-line item names); if that still needs more than 20 pages the
  render fails with `FormatError("lines", …)`, so the worker records a deviation instead of a print
  house refusing the file later.
* An optional Norwegian giro-style payment slip closes the last page of an invoice (never a credit note);
  it moves to a new page when the last page has no room for it.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from functools import cache
from typing import Any

from reportlab import rl_config
from reportlab.graphics.barcode.qr import QrCodeWidget
from reportlab.graphics.shapes import Rect
from reportlab.lib import colors
from reportlab.lib.enums import TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    BaseDocTemplate,
    CondPageBreak,
    Flowable,
    Frame,
    KeepTogether,
    NextPageTemplate,
    PageTemplate,
    Paragraph,
    Spacer,
    Table,
    TableStyle,
)

from mappings.base import FormatError, RenderedDocument
from schemas.branding import Language, PdfTemplate
from schemas.canonical import DocumentType, Invoice, Party, currency_minor_units

#: Streams are Flate-compressed binary, not ASCII85 text on top (ReportLab's default): a quarter smaller,
#: and the encoding step (pure Python without `rl_accel`) is gone. Every PDF reader and print house takes
#: binary streams; ReportLab marks the file binary in its second line, as the PDF specification asks.
#: A process-wide ReportLab setting: the reminder PDFs (built with this module) and any other ReportLab
#: document rendered in a process that imported it get it too.
rl_config.useA85 = 0

FORMAT_NAME = "pdf"
MEDIA_TYPE = "application/pdf"
EXTENSION = "pdf"
CREATOR = "invoice-gateway"
MAX_PAGES = 20

PAGE_WIDTH, PAGE_HEIGHT = A4
#: Digipost's free left strip, plus a small gap; nothing is drawn left of CONTENT_LEFT.
PRINT_MARGIN = 15 * mm
CONTENT_LEFT = 20 * mm
CONTENT_RIGHT = PAGE_WIDTH - 15 * mm
CONTENT_WIDTH = CONTENT_RIGHT - CONTENT_LEFT
#: DIN 5008 form B address field, the window of a C5/DL window envelope.
WINDOW_LEFT = 20 * mm
WINDOW_TOP = 45 * mm
WINDOW_WIDTH = 85 * mm
WINDOW_HEIGHT = 45 * mm
FIRST_FRAME_TOP = 94 * mm
LATER_FRAME_TOP = 30 * mm
FRAME_BOTTOM = 18 * mm
SLIP_HEIGHT = 64 * mm


DEFAULT_TEMPLATE = PdfTemplate()


def template_for(tenant_id: str | None) -> PdfTemplate:
    """The default template; a tenant's own comes from its settings (`TenantSettings.pdf_template`)."""
    del tenant_id
    return DEFAULT_TEMPLATE


# ------------------------------------------------------------------------------------------ labels

LABELS: dict[str, dict[Language, str]] = {
    "invoice": {"nb": "FAKTURA", "en": "INVOICE"},
    "credit_note": {"nb": "KREDITNOTA", "en": "CREDIT NOTE"},
    "number": {"nb": "Fakturanr.", "en": "Invoice no."},
    "credit_number": {"nb": "Kreditnotanr.", "en": "Credit note no."},
    "issue_date": {"nb": "Fakturadato", "en": "Invoice date"},
    "due_date": {"nb": "Forfallsdato", "en": "Due date"},
    "kid": {"nb": "KID", "en": "Payment ref. (KID)"},
    "account": {"nb": "Kontonr.", "en": "Bank account"},
    "bic": {"nb": "BIC", "en": "BIC"},
    "buyer_reference": {"nb": "Deres ref.", "en": "Your ref."},
    "order_reference": {"nb": "Ordrenr.", "en": "Order no."},
    "contract_reference": {"nb": "Kontrakt", "en": "Contract"},
    "project_reference": {"nb": "Prosjekt", "en": "Project"},
    "period": {"nb": "Periode", "en": "Period"},
    "delivery_date": {"nb": "Leveringsdato", "en": "Delivery date"},
    "currency": {"nb": "Valuta", "en": "Currency"},
    "customer_no": {"nb": "Kundens org.nr.", "en": "Customer reg. no."},
    "org": {"nb": "Org.nr.", "en": "Org. no."},
    "vat_reg": {"nb": "MVA", "en": "VAT"},
    "phone": {"nb": "Tlf.", "en": "Phone"},
    "line_no": {"nb": "Nr.", "en": "No."},
    "description": {"nb": "Beskrivelse", "en": "Description"},
    "quantity": {"nb": "Antall", "en": "Qty"},
    "unit": {"nb": "Enhet", "en": "Unit"},
    "price": {"nb": "Pris", "en": "Price"},
    "vat_rate": {"nb": "MVA %", "en": "VAT %"},
    "amount": {"nb": "Beløp", "en": "Amount"},
    "vat_breakdown": {"nb": "MVA", "en": "VAT"},
    "vat_category": {"nb": "Kategori", "en": "Category"},
    "taxable": {"nb": "Grunnlag", "en": "Taxable amount"},
    "vat_amount": {"nb": "MVA", "en": "VAT"},
    "line_total": {"nb": "Sum linjer", "en": "Lines total"},
    "allowance": {"nb": "Rabatt", "en": "Allowance"},
    "charge": {"nb": "Gebyr", "en": "Charge"},
    "tax_exclusive": {"nb": "Sum ekskl. mva", "en": "Total excl. VAT"},
    "tax_amount": {"nb": "Merverdiavgift", "en": "VAT"},
    "tax_inclusive": {"nb": "Sum inkl. mva", "en": "Total incl. VAT"},
    "prepaid": {"nb": "Forskuddsbetalt", "en": "Prepaid"},
    "rounding": {"nb": "Øreavrunding", "en": "Rounding"},
    "payable": {"nb": "Å betale", "en": "Amount due"},
    "credited": {"nb": "Til gode", "en": "Amount credited"},
    "credit_refers": {"nb": "Krediterer faktura", "en": "Credits invoice"},
    "credit_text": {
        "nb": "Beløpet godskrives Deres konto hos oss. Ikke betal denne kreditnotaen.",
        "en": "The amount is credited to your account with us. Do not pay this credit note.",
    },
    "pay_to": {"nb": "Betal til konto", "en": "Pay to account"},
    "pay_with_kid": {"nb": "Bruk KID ved betaling", "en": "Use this reference (KID) when paying"},
    "pay_by": {"nb": "innen", "en": "by"},
    "payment_terms": {"nb": "Betalingsbetingelser", "en": "Payment terms"},
    "notes": {"nb": "Merknader", "en": "Notes"},
    "page": {"nb": "Side {page} av {pages}", "en": "Page {page} of {pages}"},
    "continued": {"nb": "forts.", "en": "continued"},
    "scan_to_pay": {"nb": "Skann for å betale", "en": "Scan to pay"},
    # the customer portal's "view online / pay" link (issue 21)
    "portal_link": {"nb": "Se og betal på nett", "en": "View and pay online"},
    "portal_link_credit": {"nb": "Se kreditnotaen på nett", "en": "View the credit note online"},
    "portal_link_notice": {"nb": "Se og betal på nett", "en": "View and pay online"},
    "slip_receipt": {"nb": "KVITTERING", "en": "RECEIPT"},
    "slip_info": {"nb": "Betalingsinformasjon", "en": "Payment information"},
    "slip_paid_by": {"nb": "Betalt av", "en": "Paid by"},
    "slip_paid_to": {"nb": "Betalt til", "en": "Paid to"},
    "slip_giro": {"nb": "GIRO", "en": "GIRO"},
    "slip_signature": {"nb": "Underskrift ved girering", "en": "Signature"},
    "slip_kid": {"nb": "Kundeidentifikasjon (KID)", "en": "Customer identification (KID)"},
    "slip_amount": {"nb": "Kroner / Øre", "en": "Amount"},
    "slip_to_account": {"nb": "Til konto", "en": "To account"},
    "slip_due": {"nb": "Betalingsfrist", "en": "Due date"},
}

UNITS: dict[str, dict[Language, str]] = {
    "EA": {"nb": "stk", "en": "pcs"},
    "C62": {"nb": "stk", "en": "pcs"},
    "H87": {"nb": "stk", "en": "pcs"},
    "HUR": {"nb": "timer", "en": "hours"},
    "DAY": {"nb": "dager", "en": "days"},
    "MON": {"nb": "mnd", "en": "months"},
    "KMT": {"nb": "km", "en": "km"},
    "KGM": {"nb": "kg", "en": "kg"},
    "LTR": {"nb": "liter", "en": "litres"},
    "MTR": {"nb": "m", "en": "m"},
    "MTK": {"nb": "m²", "en": "m²"},
    "KWH": {"nb": "kWh", "en": "kWh"},
    "ZZ": {"nb": "", "en": ""},
}


def _label(key: str, language: Language) -> str:
    return LABELS[key][language]


# ------------------------------------------------------------------------------------------ formatting


def _group(digits: str, separator: str) -> str:
    head = len(digits) % 3 or 3
    parts = [digits[:head]] + [digits[i : i + 3] for i in range(head, len(digits), 3)]
    return separator.join(parts)


def format_number(value: Decimal, places: int, language: Language) -> str:
    """`1234.5` → "1 234,50" (nb) or "1,234.50" (en), rounded half away from zero to `places`."""
    quantum = Decimal(1).scaleb(-places)
    rounded = value.quantize(quantum, rounding=ROUND_HALF_UP)
    sign = "-" if rounded < 0 else ""
    text = format(abs(rounded), "f")
    whole, _, fraction = text.partition(".")
    thousands, decimal_mark = (" ", ",") if language == "nb" else (",", ".")
    grouped = _group(whole, thousands)
    return f"{sign}{grouped}{decimal_mark}{fraction}" if fraction else f"{sign}{grouped}"


def format_money(value: Decimal, currency: str, language: Language) -> str:
    """An amount with exactly the currency's minor units (NOK 2, JPY 0, KWD 3)."""
    return format_number(value, currency_minor_units(currency), language)


def format_quantity(value: Decimal, language: Language) -> str:
    normalized = value.normalize()
    exponent = normalized.as_tuple().exponent
    places = -exponent if isinstance(exponent, int) and exponent < 0 else 0
    return format_number(value, min(places, 6), language)


def format_rate(value: Decimal | None, language: Language) -> str:
    if value is None:
        return ""
    return format_quantity(value, language)


def format_date(value: dt.date | None, language: Language) -> str:
    if value is None:
        return ""
    return value.strftime("%d.%m.%Y") if language == "nb" else value.isoformat()


def format_account(account: str) -> str:
    """Norwegian 11-digit BBAN as "8601 11 17947"; an IBAN in groups of four; anything else as is."""
    if re.fullmatch(r"\d{11}", account):
        return f"{account[:4]} {account[4:6]} {account[6:]}"
    if re.fullmatch(r"[A-Z]{2}\d{2}[A-Z0-9]{8,30}", account):
        return " ".join(account[i : i + 4] for i in range(0, len(account), 4))
    return account


def format_org_number(value: str) -> str:
    return f"{value[:3]} {value[3:6]} {value[6:]}" if re.fullmatch(r"\d{9}", value) else value


# ------------------------------------------------------------------------------------------ fonts

FONT = "GatewayVera"
FONT_BOLD = "GatewayVera-Bold"
FONT_ITALIC = "GatewayVera-Italic"
FONT_BOLD_ITALIC = "GatewayVera-BoldItalic"


@cache
def _register_fonts() -> None:
    """Register ReportLab's own TrueType Vera fonts (always embedded) once per process."""
    from reportlab.lib.fonts import addMapping

    for name, filename in (
        (FONT, "Vera.ttf"),
        (FONT_BOLD, "VeraBd.ttf"),
        (FONT_ITALIC, "VeraIt.ttf"),
        (FONT_BOLD_ITALIC, "VeraBI.ttf"),
    ):
        pdfmetrics.registerFont(TTFont(name, filename))
    addMapping(FONT, 0, 0, FONT)
    addMapping(FONT, 1, 0, FONT_BOLD)
    addMapping(FONT, 0, 1, FONT_ITALIC)
    addMapping(FONT, 1, 1, FONT_BOLD_ITALIC)


# ------------------------------------------------------------------------------------------ layout


@dataclass(frozen=True)
class _Style:
    base_size: float
    small_size: float
    padding: float
    compact: bool

    def paragraph(
        self, name: str, *, size: float | None = None, bold: bool = False, **kw: Any
    ) -> ParagraphStyle:
        font_size = size or self.base_size
        kw.setdefault("leading", font_size * 1.25)
        return ParagraphStyle(name, fontName=FONT_BOLD if bold else FONT, fontSize=font_size, **kw)


NORMAL_STYLE = _Style(base_size=9, small_size=7.5, padding=3, compact=False)
COMPACT_STYLE = _Style(base_size=7, small_size=6, padding=1.2, compact=True)


class _GatewayCanvas(Canvas):  # type: ignore[misc]  # ReportLab has no type information
    """Defers pages so each can say "page x of y"; starts in an embedded font, never Helvetica."""

    page_label = "Page {page} of {pages}"
    footer: Callable[[Canvas, int, int], None] | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # BaseDocTemplate passes its own (None → Helvetica, a non-embedded base-14 font): override it.
        kwargs["initialFontName"] = FONT
        kwargs["initialFontSize"] = 9
        super().__init__(*args, **kwargs)
        self._saved_pages: list[dict[str, Any]] = []

    def linkURL(self, url: str, rect: Any, relative: int = 0, *args: Any, **kw: Any) -> None:  # noqa: N802
        """A link annotation with its print flag set (/F 4): PDF/A (the Factur-X PDF is PDF/A-3) wants it
        on every annotation, and a print house's check reads the page as printed."""
        kw.setdefault("F", 4)
        super().linkURL(url, rect, relative, *args, **kw)

    def showPage(self) -> None:  # noqa: N802 - ReportLab's name
        self._saved_pages.append(dict(self.__dict__))
        self._startPage()

    def save(self) -> None:
        total = len(self._saved_pages)
        for number, state in enumerate(self._saved_pages, start=1):
            self.__dict__.update(state)
            if self.footer is not None:
                self.footer(self, number, total)
            super().showPage()
        super().save()


# -- drawing shared by every branded PDF (this invoice and the follow-up notices of mappings.reminder)


def party_lines(party: Party) -> list[str]:
    """The postal lines of `party`'s address: street lines, postcode + city, the country when not Norway."""
    lines: list[str] = []
    address = party.address
    if address:
        lines.extend(address.lines)
        city = " ".join(part for part in (address.postal_code, address.city) if part)
        if city:
            lines.append(city)
        if address.country != "NO":
            lines.append(address.country)
    return lines


def seller_registration_lines(seller: Party, label: Callable[[str], str]) -> list[str]:
    """Org. no. (with "MVA" when VAT-registered) or the VAT id, then the legal info: what the law asks a
    seller's documents to state."""
    lines: list[str] = []
    if seller.legal_registration:
        suffix = f" {label('vat_reg')}" if seller.vat_id else ""
        lines.append(f"{label('org')} {format_org_number(seller.legal_registration.value)}{suffix}")
    elif seller.vat_id:
        lines.append(seller.vat_id)
    if seller.legal_info:
        lines.append(seller.legal_info)
    return lines


def draw_logo_or_name(canvas: Canvas, template: PdfTemplate, accent: Any, name: str, top: float) -> None:
    """The tenant's logo (at most 60 × 10 mm) top left, or `name` (already cut to fit) in the accent."""
    logo = template.logo_path
    if logo is not None:
        image = ImageReader(str(logo))
        width, height = image.getSize()
        scale = min(60 * mm / width, 10 * mm / height)
        canvas.drawImage(
            image, CONTENT_LEFT, top - height * scale, width * scale, height * scale, mask="auto"
        )
        return
    canvas.setFillColor(accent)
    canvas.setFont(FONT_BOLD, 16)
    canvas.drawString(CONTENT_LEFT, top - 6 * mm, name)


def draw_header_rule(canvas: Canvas, accent: Any) -> None:
    """The accent rule under the first page's header, starting right of the print margin."""
    canvas.setStrokeColor(accent)
    canvas.setLineWidth(1.2)
    canvas.line(CONTENT_LEFT, PAGE_HEIGHT - 40 * mm, CONTENT_RIGHT, PAGE_HEIGHT - 40 * mm)


def draw_return_line(canvas: Canvas, text: str, left: float) -> None:
    """The small return address at the top of the envelope window (`text` already cut to fit)."""
    canvas.setFont(FONT, 6.5)
    canvas.setFillColor(colors.HexColor("#555555"))
    canvas.drawString(left, PAGE_HEIGHT - WINDOW_TOP - 5 * mm, text)
    canvas.setFillColor(colors.black)


def draw_facts(
    canvas: Canvas, facts: list[tuple[str, str, bool]], cut: Callable[[str, str, float], str]
) -> None:
    """The label/value facts right of the window; `cut(value, font, size)` keeps a value inside its column."""
    left = 120 * mm
    y = PAGE_HEIGHT - WINDOW_TOP - 2 * mm
    for label, value, strong in facts:
        canvas.setFont(FONT, 8)
        canvas.setFillColor(colors.HexColor("#444444"))
        canvas.drawString(left, y, label)
        canvas.setFillColor(colors.black)
        font, size = (FONT_BOLD, 9) if strong else (FONT, 8.5)
        canvas.setFont(font, size)
        canvas.drawRightString(CONTENT_RIGHT, y, cut(value, font, size))
        y -= 4.4 * mm


def draw_later_header(canvas: Canvas, accent: Any, name: str, heading: str) -> None:
    """The slim header of pages after the first: `name` left, `heading` right (both already cut), a rule."""
    canvas.saveState()
    canvas.setFillColor(accent)
    canvas.setFont(FONT_BOLD, 11)
    canvas.drawString(CONTENT_LEFT, PAGE_HEIGHT - 15 * mm, name)
    canvas.setFillColor(colors.black)
    canvas.setFont(FONT, 9)
    canvas.drawRightString(CONTENT_RIGHT, PAGE_HEIGHT - 15 * mm, heading)
    canvas.setStrokeColor(accent)
    canvas.setLineWidth(0.8)
    canvas.line(CONTENT_LEFT, PAGE_HEIGHT - 19 * mm, CONTENT_RIGHT, PAGE_HEIGHT - 19 * mm)
    canvas.restoreState()


def footer_left_text(template: PdfTemplate, seller: Party) -> str:
    """The footer's left text: the template's own, else the seller's name, VAT id and legal info."""
    return template.footer_text or " · ".join(
        part for part in (seller.name, seller.vat_id, seller.legal_info) if part
    )


def draw_footer(canvas: Canvas, left_text: str, page_text: str) -> None:
    """Every page's footer: a grey rule, `left_text` (already cut) left, "page x of y" right."""
    canvas.saveState()
    canvas.setStrokeColor(colors.HexColor("#BBBBBB"))
    canvas.setLineWidth(0.4)
    canvas.line(CONTENT_LEFT, 13 * mm, CONTENT_RIGHT, 13 * mm)
    canvas.setFont(FONT, 7)
    canvas.setFillColor(colors.HexColor("#444444"))
    canvas.drawString(CONTENT_LEFT, 9 * mm, left_text)
    canvas.drawRightString(CONTENT_RIGHT, 9 * mm, page_text)
    canvas.restoreState()


def table_header_styles(style: _Style, size: float) -> tuple[ParagraphStyle, ParagraphStyle]:
    """White bold header cell styles at `size`: left-aligned and right-aligned (for amounts)."""
    head = style.paragraph("head", size=size, bold=True, textColor=colors.white)
    right = style.paragraph("head-r", size=size, bold=True, textColor=colors.white, alignment=TA_RIGHT)
    return head, right


def items_table_commands(style: _Style, accent: Any, align: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """The style of a table of items under an accent header row, with `align` for its number columns."""
    return [
        ("FONT", (0, 0), (-1, -1), FONT, style.base_size),
        ("BACKGROUND", (0, 0), (-1, 0), accent),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        *align,
        ("TOPPADDING", (0, 0), (-1, -1), style.padding),
        ("BOTTOMPADDING", (0, 0), (-1, -1), style.padding),
        ("LINEBELOW", (0, 1), (-1, -1), 0.25, colors.HexColor("#CCCCCC")),
    ]


ZEBRA_ROWS: tuple[Any, ...] = ("ROWBACKGROUNDS", (0, 1), (-1, -1), [colors.white, colors.HexColor("#F4F6F9")])


def totals_table_style(style: _Style, accent: Any, last: int) -> TableStyle:
    """Label/amount rows right-aligned, the last (the amount to pay) large and bold in the accent."""
    return TableStyle(
        [
            ("FONT", (0, 0), (-1, -1), FONT, style.base_size),
            ("ALIGN", (1, 0), (1, -1), "RIGHT"),
            ("TOPPADDING", (0, 0), (-1, -1), 1.5),
            ("BOTTOMPADDING", (0, 0), (-1, -1), 1.5),
            ("LINEABOVE", (0, last), (-1, last), 1, accent),
            ("FONT", (0, last), (-1, last), FONT_BOLD, style.base_size + 2),
            ("TEXTCOLOR", (0, last), (-1, last), accent),
            ("TOPPADDING", (0, last), (-1, last), 4),
        ]
    )


def payment_lines(
    style: _Style, accent: Any, label: Callable[[str], str], account: str | None, kid: str | None
) -> tuple[ParagraphStyle, list[Flowable]]:
    """The payment box's large-line style, and its account and KID lines (the KID large, to copy)."""
    big = style.paragraph("pay-big", size=style.base_size + 3, bold=True, textColor=accent)
    normal = style.paragraph("pay", size=style.base_size + 0.5)
    lines: list[Flowable] = []
    if account:
        lines.append(Paragraph(f"{label('pay_to')}: <b>{_escape(format_account(account))}</b>", normal))
    if kid:
        lines.append(
            Paragraph(
                f"{label('pay_with_kid')}: <font size='{style.base_size + 5}'><b>{_escape(kid)}</b></font>",
                style.paragraph("kid", size=style.base_size + 0.5, leading=(style.base_size + 6) * 1.3),
            )
        )
    return big, lines


def payment_box_commands(style: _Style, accent: Any, *extra: tuple[Any, ...]) -> list[tuple[Any, ...]]:
    """The payment box: accent border on the light background; `extra` commands go after the background."""
    return [
        ("FONT", (0, 0), (-1, -1), FONT, style.base_size),
        ("BOX", (0, 0), (-1, -1), 1, accent),
        ("BACKGROUND", (0, 0), (-1, -1), colors.HexColor("#F4F6F9")),
        *extra,
        ("LEFTPADDING", (0, 0), (-1, -1), 6),
        ("TOPPADDING", (0, 0), (-1, -1), 5),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 5),
    ]


def portal_link_paragraph(style: _Style, accent: Any, label: str, url: str) -> Paragraph:
    """The customer portal's link as a visible, clickable line: `label` and the URL under it when they do
    not fit on one line; the URL in a size that keeps it on one line (a link token is ~90 characters and
    must not be cut or broken), with a URI link annotation on it."""
    size = style.base_size
    while size > 5 and pdfmetrics.stringWidth(url, FONT, size) > CONTENT_WIDTH - 14:
        size -= 0.25
    one_line = pdfmetrics.stringWidth(f"{label}: {url}", FONT, size) <= CONTENT_WIDTH - 14
    escaped = _escape(url)
    link = (
        f"<font size='{size:g}'><a href=\"{escaped}\" color='{accent.hexval().replace('0x', '#')}'>"
        f"{escaped}</a></font>"
    )
    return Paragraph(
        f"<b>{_escape(label)}:</b>" + (" " if one_line else "<br/>") + link,
        style.paragraph("portal-link", size=style.base_size, splitLongWords=0),
    )


def build_pdf(
    story: list[Flowable],
    *,
    first_page: Callable[[Canvas, Any], None],
    later_page: Callable[[Canvas, Any], None],
    footer: Callable[[Canvas, int, int], None],
    title: str,
    author: str,
    subject: str,
    language: Language,
) -> tuple[bytes, int]:
    """Set `story` on A4 (a first-page frame under the window, slimmer later pages, `footer` on each);
    the PDF bytes and the number of pages."""
    buffer = io.BytesIO()

    class _Canvas(_GatewayCanvas):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.footer = footer

    document = BaseDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=CONTENT_LEFT,
        rightMargin=PAGE_WIDTH - CONTENT_RIGHT,
        topMargin=LATER_FRAME_TOP,
        bottomMargin=FRAME_BOTTOM,
        title=title,
        author=author,
        subject=subject,
        creator=CREATOR,
        lang="nb-NO" if language == "nb" else "en",
        invariant=1,
    )
    padding = {"leftPadding": 0, "rightPadding": 0, "topPadding": 0, "bottomPadding": 0}
    first_height = PAGE_HEIGHT - FIRST_FRAME_TOP - FRAME_BOTTOM
    later_height = PAGE_HEIGHT - LATER_FRAME_TOP + 6 * mm - FRAME_BOTTOM
    first = Frame(CONTENT_LEFT, FRAME_BOTTOM, CONTENT_WIDTH, first_height, id="first", **padding)
    later = Frame(CONTENT_LEFT, FRAME_BOTTOM, CONTENT_WIDTH, later_height, id="later", **padding)
    document.addPageTemplates(
        [
            PageTemplate(id="first", frames=[first], onPage=first_page),
            PageTemplate(id="later", frames=[later], onPage=later_page),
        ]
    )
    document.build(story, canvasmaker=_Canvas)
    return buffer.getvalue(), document.page


class _PaymentSlip(Flowable):  # type: ignore[misc]  # ReportLab has no type information
    """The giro-style slip: takes the rest of the last page's frame and draws itself at its bottom."""

    def __init__(self, draw: Callable[[Canvas, float], None]) -> None:
        super().__init__()
        self._draw = draw
        self._height = SLIP_HEIGHT

    def wrap(self, available_width: float, available_height: float) -> tuple[float, float]:
        self.width = available_width
        self._height = max(SLIP_HEIGHT, available_height)
        return available_width, self._height

    def draw(self) -> None:
        self._draw(self.canv, 0)


class _QrCode(Flowable):  # type: ignore[misc]  # ReportLab has no type information
    """A QR code drawn as plain filled squares (ReportLab's widget, without its Helvetica text state)."""

    def __init__(self, value: str, size: float) -> None:
        super().__init__()
        self.value = value
        self.size = size

    def wrap(self, available_width: float, available_height: float) -> tuple[float, float]:
        return self.size, self.size

    def draw(self) -> None:
        widget = QrCodeWidget(self.value)
        x0, y0, x1, y1 = widget.getBounds()
        scale = self.size / max(x1 - x0, y1 - y0)
        canvas = self.canv
        canvas.saveState()
        canvas.setFillColor(colors.black)
        for shape in widget.draw().contents:
            if isinstance(shape, Rect) and shape.fillColor is not None:
                canvas.setFillColor(shape.fillColor)
                canvas.rect(
                    (shape.x - x0) * scale,
                    (shape.y - y0) * scale,
                    shape.width * scale,
                    shape.height * scale,
                    fill=1,
                    stroke=0,
                )
        canvas.restoreState()


class _Renderer:
    def __init__(
        self, invoice: Invoice, template: PdfTemplate, style: _Style, portal_link: str | None = None
    ) -> None:
        self.invoice = invoice
        self.portal_link = portal_link
        self.template = template
        self.style = style
        self.language: Language = template.language
        self.accent = colors.HexColor(template.accent_color)
        self.credit = invoice.document_type is DocumentType.CREDIT_NOTE
        self.means = next((m for m in invoice.payment_means if m.account or m.payment_id), None)
        self.kid = invoice.kid
        self.account = self.means.account if self.means else None
        self.display_name = (
            template.company_display_name or invoice.seller.trading_name or invoice.seller.name
        )

    # -- helpers

    def t(self, key: str) -> str:
        return _label(key, self.language)

    def money(self, value: Decimal) -> str:
        return format_money(value, self.invoice.currency, self.language)

    def _party_lines(self, party: Party) -> list[str]:
        return party_lines(party)

    def _title(self) -> str:
        return self.t("credit_note" if self.credit else "invoice")

    def _number_label(self) -> str:
        return self.t("credit_number" if self.credit else "number")

    # -- page furniture

    def first_page(self, canvas: Canvas, _doc: Any) -> None:
        invoice = self.invoice
        canvas.saveState()
        top = PAGE_HEIGHT - 12 * mm
        draw_logo_or_name(canvas, self.template, self.accent, self.display_name[:40], top)
        draw_header_rule(canvas, self.accent)
        # Title, top right.
        canvas.setFillColor(self.accent)
        canvas.setFont(FONT_BOLD, 20)
        canvas.drawRightString(CONTENT_RIGHT, top - 7 * mm, self._title())
        # Seller block, right column under the title.
        seller = invoice.seller
        seller_lines = [seller.name, *self._party_lines(seller), *seller_registration_lines(seller, self.t)]
        contact = seller.contact
        if contact:
            seller_lines.extend(
                item
                for item in (
                    contact.name,
                    f"{self.t('phone')} {contact.phone}" if contact.phone else None,
                    contact.email,
                )
                if item
            )
        seller_lines.extend(self.template.contact_lines)
        canvas.setFillColor(colors.black)
        canvas.setFont(FONT, 7.5)
        address_lines = seller_lines[: 1 + len(self._party_lines(seller))]
        other_lines = seller_lines[len(address_lines) :]
        y = top - 13 * mm
        for line in address_lines[:4]:
            canvas.drawString(CONTENT_LEFT, y, line[:70])
            y -= 3.2 * mm
        y = top - 13 * mm
        for line in other_lines[:4]:
            canvas.drawRightString(CONTENT_RIGHT, y, line[:70])
            y -= 3.2 * mm
        if len(other_lines) > 4:
            y = top - 13 * mm
            for line in other_lines[4:8]:
                canvas.drawRightString(CONTENT_RIGHT - 50 * mm, y, line[:40])
                y -= 3.2 * mm
        self._draw_window(canvas)
        self._draw_facts(canvas)
        canvas.restoreState()

    def _draw_window(self, canvas: Canvas) -> None:
        invoice = self.invoice
        window_top = PAGE_HEIGHT - WINDOW_TOP
        left = WINDOW_LEFT + 5 * mm
        # Return address line (small), then the recipient.
        seller = invoice.seller
        return_line = ", ".join([seller.name, *self._party_lines(seller)])
        draw_return_line(canvas, return_line[:80], left)
        buyer = invoice.buyer
        lines = [buyer.name]
        if buyer.contact and buyer.contact.name:
            lines.append(f"v/ {buyer.contact.name}")
        lines.extend(self._party_lines(buyer))
        y = window_top - 12 * mm
        for index, line in enumerate(lines[:6]):
            canvas.setFont(FONT_BOLD if index == 0 else FONT, 10)
            canvas.drawString(left, y, line[:48])
            y -= 4.6 * mm

    def _facts(self) -> list[tuple[str, str, bool]]:
        invoice = self.invoice
        facts: list[tuple[str, str, bool]] = [
            (self._number_label(), invoice.number, True),
            (self.t("issue_date"), format_date(invoice.issue_date, self.language), False),
        ]
        if invoice.due_date and not self.credit:
            facts.append((self.t("due_date"), format_date(invoice.due_date, self.language), True))
        if self.kid and not self.credit:
            facts.append((self.t("kid"), self.kid, True))
        if self.account and not self.credit:
            facts.append((self.t("account"), format_account(self.account.id), True))
            if self.account.bic:
                facts.append((self.t("bic"), self.account.bic, False))
        if invoice.buyer_reference:
            facts.append((self.t("buyer_reference"), invoice.buyer_reference, False))
        if invoice.order_reference:
            facts.append((self.t("order_reference"), invoice.order_reference, False))
        if invoice.contract_reference:
            facts.append((self.t("contract_reference"), invoice.contract_reference, False))
        if invoice.project_reference:
            facts.append((self.t("project_reference"), invoice.project_reference, False))
        if invoice.buyer.legal_registration:
            facts.append(
                (self.t("customer_no"), format_org_number(invoice.buyer.legal_registration.value), False)
            )
        if invoice.period and (invoice.period.start or invoice.period.end):
            span = " – ".join(
                format_date(day, self.language) for day in (invoice.period.start, invoice.period.end) if day
            )
            facts.append((self.t("period"), span, False))
        if invoice.delivery and invoice.delivery.date:
            facts.append((self.t("delivery_date"), format_date(invoice.delivery.date, self.language), False))
        if invoice.currency != "NOK" or self.language == "en":
            facts.append((self.t("currency"), invoice.currency, False))
        return facts[:12]

    def _draw_facts(self, canvas: Canvas) -> None:
        draw_facts(canvas, self._facts(), lambda value, _font, _size: value[:40])

    def later_page(self, canvas: Canvas, _doc: Any) -> None:
        heading = f"{self._title()} {self.invoice.number} ({self.t('continued')})"
        draw_later_header(canvas, self.accent, self.display_name[:50], heading)

    def footer(self, canvas: Canvas, page: int, pages: int) -> None:
        left_text = footer_left_text(self.template, self.invoice.seller)
        draw_footer(canvas, left_text[:110], _label("page", self.language).format(page=page, pages=pages))

    # -- story

    def story(self) -> list[Flowable]:
        style = self.style
        invoice = self.invoice
        story: list[Flowable] = [NextPageTemplate("later")]
        if self.credit and invoice.preceding_invoices:
            refs = ", ".join(
                ref.id + (f" ({format_date(ref.issue_date, self.language)})" if ref.issue_date else "")
                for ref in invoice.preceding_invoices
            )
            story.append(
                Paragraph(
                    f"<b>{self.t('credit_refers')}:</b> {_escape(refs)}",
                    style.paragraph("credit-ref", size=style.base_size + 1),
                )
            )
            story.append(Spacer(1, 3 * mm))
        story.append(self._lines_table())
        story.append(Spacer(1, 4 * mm))
        story.append(KeepTogether([self._totals_block()]))
        story.append(Spacer(1, 4 * mm))
        story.append(KeepTogether(self._payment_block()))
        notes = self._notes()
        if notes:
            story.append(Spacer(1, 3 * mm))
            story.extend(notes)
        if self.template.show_payment_slip and not self.credit and (self.account or self.kid):
            story.append(CondPageBreak(SLIP_HEIGHT))
            story.append(_PaymentSlip(self._draw_slip))
        return story

    def _lines_table(self) -> Table:
        style = self.style
        language = self.language
        cell = style.paragraph("cell", size=style.base_size)
        small = style.paragraph("small", size=style.small_size, textColor=colors.HexColor("#555555"))
        header_style, right_header = table_header_styles(style, style.base_size)
        header = [
            Paragraph(self.t("line_no"), header_style),
            Paragraph(self.t("description"), header_style),
            Paragraph(self.t("quantity"), right_header),
            Paragraph(self.t("unit"), header_style),
            Paragraph(self.t("price"), right_header),
            Paragraph(self.t("vat_rate"), right_header),
            Paragraph(self.t("amount"), right_header),
        ]
        rows: list[list[Any]] = [header]
        for line in self.invoice.lines:
            item = line.item
            if style.compact:
                text = item.name if len(item.name) <= 70 else item.name[:67] + "…"
                description: Any = text
            else:
                extra = [
                    part
                    for part in (
                        item.seller_id,
                        item.description,
                        line.note,
                        _period_text(line.period, language) if line.period else None,
                    )
                    if part
                ]
                parts: list[Any] = [Paragraph(_escape(item.name), cell)]
                if extra:
                    parts.append(Paragraph(_escape(" · ".join(extra)), small))
                description = parts
            base = line.price.base_quantity
            price = format_number(
                line.price.net,
                max(currency_minor_units(self.invoice.currency), _places(line.price.net)),
                language,
            )
            if base and base != 1:
                price += f" / {format_quantity(base, language)}"
            rows.append(
                [
                    line.id,
                    description,
                    format_quantity(line.quantity, language),
                    UNITS.get(line.unit_code, {}).get(language, line.unit_code),
                    price,
                    format_rate(line.vat_rate, language),
                    self.money(line.net_amount),
                ]
            )
        widths = [11 * mm, 64 * mm, 16 * mm, 16 * mm, 22 * mm, 18 * mm, 28 * mm]
        table = Table(rows, colWidths=widths, repeatRows=1)
        align = [("ALIGN", (2, 1), (2, -1), "RIGHT"), ("ALIGN", (4, 1), (-1, -1), "RIGHT")]
        commands = items_table_commands(style, self.accent, align)
        if not style.compact:
            commands.append(ZEBRA_ROWS)
        table.setStyle(TableStyle(commands))
        return table

    def _totals_block(self) -> Table:
        style = self.style
        invoice = self.invoice
        totals = invoice.totals
        bold = style.paragraph("vat-head", size=style.base_size, bold=True)
        vat_rows: list[list[Any]] = [
            [
                Paragraph(self.t("vat_breakdown"), bold),
                "",
                self.t("taxable"),
                self.t("vat_amount"),
            ]
        ]
        for vb in invoice.vat_breakdown:
            rate = f"{format_rate(vb.rate, self.language)} %" if vb.rate is not None else ""
            vat_rows.append(
                [
                    f"{self.t('vat_category')} {vb.category.value}",
                    rate,
                    self.money(vb.taxable_amount),
                    self.money(vb.tax_amount),
                ]
            )
            if vb.exemption_reason:
                vat_rows.append(
                    [
                        Paragraph(_escape(vb.exemption_reason), style.paragraph("ex", size=style.small_size)),
                        "",
                        "",
                        "",
                    ]
                )
        vat_table = Table(vat_rows, colWidths=[22 * mm, 14 * mm, 24 * mm, 22 * mm])
        vat_table.setStyle(
            TableStyle(
                [
                    ("FONT", (0, 0), (-1, -1), FONT, style.base_size - 0.5),
                    ("FONT", (0, 0), (-1, 0), FONT_BOLD, style.base_size - 0.5),
                    ("ALIGN", (1, 0), (-1, -1), "RIGHT"),
                    ("LINEBELOW", (0, 0), (-1, 0), 0.5, self.accent),
                    ("TOPPADDING", (0, 0), (-1, -1), 1.5),
                    ("BOTTOMPADDING", (0, 0), (-1, -1), 1.5),
                ]
            )
        )
        total_rows: list[list[str]] = [[self.t("line_total"), self.money(totals.line_extension)]]
        for ac in invoice.allowances_charges:
            name = ac.reason or self.t("charge" if ac.is_charge else "allowance")
            amount = ac.amount if ac.is_charge else -ac.amount
            total_rows.append([name, self.money(amount)])
        total_rows.append([self.t("tax_exclusive"), self.money(totals.tax_exclusive)])
        total_rows.append([self.t("tax_amount"), self.money(totals.tax_amount)])
        total_rows.append([self.t("tax_inclusive"), self.money(totals.tax_inclusive)])
        if totals.prepaid:
            total_rows.append([self.t("prepaid"), self.money(-totals.prepaid)])
        if totals.rounding:
            total_rows.append([self.t("rounding"), self.money(totals.rounding)])
        total_rows.append(
            [
                f"{self.t('credited' if self.credit else 'payable')} {invoice.currency}",
                self.money(totals.payable),
            ]
        )
        totals_table = Table(total_rows, colWidths=[45 * mm, 40 * mm])
        last = len(total_rows) - 1
        totals_table.setStyle(totals_table_style(style, self.accent, last))
        outer = Table([[vat_table, totals_table]], colWidths=[88 * mm, CONTENT_WIDTH - 88 * mm])
        outer.setStyle(
            TableStyle(
                [
                    ("FONT", (0, 0), (-1, -1), FONT, style.base_size),
                    ("VALIGN", (0, 0), (-1, -1), "TOP"),
                    ("ALIGN", (1, 0), (1, 0), "RIGHT"),
                    ("LEFTPADDING", (0, 0), (-1, -1), 0),
                    ("RIGHTPADDING", (0, 0), (-1, -1), 0),
                ]
            )
        )
        return outer

    def _payment_block(self) -> list[Flowable]:
        style = self.style
        invoice = self.invoice
        if self.credit:
            return [
                Paragraph(
                    _escape(self.t("credit_text")), style.paragraph("credit", size=style.base_size + 1)
                ),
                *self._portal_line("portal_link_credit"),
            ]
        if not (self.account or self.kid):
            return self._portal_line("portal_link")
        account = self.account.id if self.account else None
        big, lines = payment_lines(style, self.accent, self.t, account, self.kid)
        due = format_date(invoice.due_date, self.language) if invoice.due_date else ""
        amount = f"{invoice.currency} {self.money(invoice.totals.payable)}"
        left: list[Flowable] = [
            Paragraph(
                f"{self.t('payable')}: {amount}" + (f" {self.t('pay_by')} {due}" if due else ""),
                big,
            ),
            *lines,
        ]
        qr = self._qr()
        cells: list[Any] = [left, qr if qr is not None else ""]
        qr_width = 30 * mm if qr is not None else 0
        box = Table([cells], colWidths=[CONTENT_WIDTH - qr_width - 0.01, qr_width + 0.01])
        middle = ("VALIGN", (0, 0), (-1, -1), "MIDDLE")
        box.setStyle(TableStyle(payment_box_commands(style, self.accent, middle)))
        blocks: list[Flowable] = [box, *self._portal_line("portal_link")]
        if invoice.payment_terms:
            blocks.append(Spacer(1, 2 * mm))
            blocks.append(
                Paragraph(
                    f"{self.t('payment_terms')}: {_escape(invoice.payment_terms)}", style.paragraph("terms")
                )
            )
        return blocks

    def _payment_url(self) -> str | None:
        url = self.template.payment_link_url
        if not url:
            return None
        return url.replace("{number}", self.invoice.number).replace("{kid}", self.kid or "")

    def _qr(self) -> _QrCode | None:
        """One QR code: the tenant's own payment link, else the customer portal's link to this invoice."""
        url = self._payment_url() or self.portal_link
        return None if url is None else _QrCode(url, 24 * mm)

    def _portal_line(self, key: str) -> list[Flowable]:
        """The portal link under the payment information (nothing without a link)."""
        if not self.portal_link:
            return []
        line = portal_link_paragraph(self.style, self.accent, self.t(key), self.portal_link)
        return [Spacer(1, 2 * mm), line]

    def _notes(self) -> list[Flowable]:
        if not self.invoice.notes:
            return []
        style = self.style
        items: list[Flowable] = [Paragraph(self.t("notes"), style.paragraph("notes-head", bold=True))]
        items.extend(Paragraph(_escape(note), style.paragraph("note")) for note in self.invoice.notes)
        return items

    def _draw_slip(self, canvas: Canvas, bottom: float) -> None:
        """A simplified Norwegian giro (blankett) at the bottom of the frame: receipt + giro part."""
        invoice = self.invoice
        language = self.language
        left, right = 0.0, CONTENT_WIDTH  # flowable coordinates: the frame's left edge is x = 0
        width = right - left
        top = bottom + SLIP_HEIGHT - 3 * mm
        canvas.saveState()
        # Cut line.
        canvas.setDash(3, 2)
        canvas.setStrokeColor(colors.HexColor("#888888"))
        canvas.setLineWidth(0.5)
        canvas.line(left, top, right, top)
        canvas.setDash()
        warm = colors.HexColor("#FFF4E0")
        canvas.setFillColor(warm)
        canvas.setStrokeColor(colors.HexColor("#E0A040"))
        canvas.rect(left, bottom, width, top - bottom - 2 * mm, fill=1, stroke=0)
        canvas.setFillColor(colors.black)
        canvas.setFont(FONT_BOLD, 9)
        y = top - 7 * mm
        canvas.drawString(left + 3 * mm, y, _label("slip_receipt", language))
        canvas.drawRightString(right - 3 * mm, y, _label("slip_giro", language))
        # Two columns: payment information / paid to, paid by.
        column = left + width / 2 + 2 * mm
        y -= 6 * mm
        canvas.setFont(FONT, 7)
        canvas.drawString(left + 3 * mm, y, _label("slip_info", language))
        canvas.drawString(column, y, _label("slip_due", language))
        canvas.setFont(FONT, 9)
        info = f"{self._number_label()} {invoice.number}"
        canvas.drawString(left + 3 * mm, y - 4.5 * mm, info[:50])
        canvas.setFont(FONT_BOLD, 10)
        canvas.drawString(column, y - 4.5 * mm, format_date(invoice.due_date, language) or "-")
        y -= 11 * mm
        canvas.setFont(FONT, 7)
        canvas.drawString(left + 3 * mm, y, _label("slip_paid_by", language))
        canvas.drawString(column, y, _label("slip_paid_to", language))
        canvas.setFont(FONT, 8.5)
        for index, line in enumerate([invoice.buyer.name, *self._party_lines(invoice.buyer)][:3]):
            canvas.drawString(left + 3 * mm, y - (4 + 3.6 * index) * mm, line[:45])
        for index, line in enumerate([invoice.seller.name, *self._party_lines(invoice.seller)][:3]):
            canvas.drawString(column, y - (4 + 3.6 * index) * mm, line[:45])
        # The OCR-style bottom line: KID | amount | account, in boxes.
        line_y = bottom + 2 * mm
        box_height = 9 * mm
        minor = currency_minor_units(invoice.currency)
        payable = invoice.totals.payable.quantize(Decimal(1).scaleb(-minor), rounding=ROUND_HALF_UP)
        whole, _, fraction = format(payable, "f").partition(".")
        fields = [
            (_label("slip_kid", language), self.kid or "", 68 * mm),
            (_label("slip_amount", language), f"{_group(whole, ' ')}  {fraction}".rstrip(), 44 * mm),
            (
                _label("slip_to_account", language),
                format_account(self.account.id) if self.account else "",
                width - 6 * mm - 112 * mm,
            ),
        ]
        x = left + 3 * mm
        for label, value, field_width in fields:
            canvas.setFillColor(colors.white)
            canvas.setStrokeColor(colors.HexColor("#E0A040"))
            canvas.rect(x, line_y, field_width - 2 * mm, box_height, fill=1, stroke=1)
            canvas.setFillColor(colors.black)
            canvas.setFont(FONT, 6)
            canvas.drawString(x + 1.5 * mm, line_y + box_height + 1.2 * mm, label)
            canvas.setFont(FONT_BOLD, 11)
            canvas.drawString(x + 2 * mm, line_y + 2.8 * mm, value)
            x += field_width
        canvas.restoreState()

    # -- build

    def build(self) -> tuple[bytes, int]:
        title = f"{self._title().capitalize()} {self.invoice.number}"
        return build_pdf(
            self.story(),
            first_page=self.first_page,
            later_page=self.later_page,
            footer=self.footer,
            title=title,
            author=self.invoice.seller.name,
            subject=f"{title} – {self.invoice.buyer.name}",
            language=self.language,
        )


def _places(value: Decimal) -> int:
    exponent = value.normalize().as_tuple().exponent
    return min(-exponent, 6) if isinstance(exponent, int) and exponent < 0 else 0


def _period_text(period: Any, language: Language) -> str:
    return " – ".join(format_date(day, language) for day in (period.start, period.end) if day)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def ready_template(template: PdfTemplate | None) -> PdfTemplate:
    """The template to render with (the default when none), fonts registered; a logo file that is not there
    is a `FormatError` now rather than a ReportLab error halfway through the drawing."""
    _register_fonts()
    chosen = template or template_for(None)
    if chosen.logo_path is not None and not chosen.logo_path.is_file():
        raise FormatError("template.logo_path", f"logo file {chosen.logo_path} does not exist")
    return chosen


def render(
    invoice: Invoice,
    template: PdfTemplate | None = None,
    *,
    max_pages: int = MAX_PAGES,
    portal_link: str | None = None,
) -> RenderedDocument:
    """`Invoice` → a printable A4 PDF (fonts embedded, left 15 mm free, at most `max_pages` pages).

    `portal_link` is the customer portal's "view online / pay" link to this invoice, made by the gateway
    (a mapping knows no portal): printed under the payment information as a clickable line, and the QR code
    points to it when the template names no payment link of its own."""
    chosen = ready_template(template)
    pages = 0
    for style in (NORMAL_STYLE, COMPACT_STYLE):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            content, pages = _Renderer(invoice, chosen, style, portal_link).build()
        if pages <= max_pages:
            return RenderedDocument(
                format=FORMAT_NAME, content=content, media_type=MEDIA_TYPE, extension=EXTENSION
            )
    raise FormatError(
        "lines",
        f"{len(invoice.lines)} lines need {pages} pages even in the compact layout: more than {max_pages} "
        "pages, which print houses refuse; send it electronically (EHF) or split the invoice",
    )


# ------------------------------------------------------------------------------------------ sniff / inspect


def sniff(data: bytes) -> bool:
    return b"%PDF-" in data[:1024]


_FACT_PATTERNS: dict[str, str] = {
    "number": r"(?:Fakturanr\.|Kreditnotanr\.|Invoice no\.|Credit note no\.)\s*(\S+)",
    "kid": r"(?:Bruk KID ved betaling|Use this reference \(KID\) when paying):\s*(\d+)",
    "bank_account": r"(?:Betal til konto|Pay to account):\s*([0-9A-Z ]+?)\s*$",
    "amount_due": r"^(?:Å betale|Amount due|Til gode|Amount credited) ([A-Z]{3})\s*\n"
    r"\s*([-0-9][-0-9 ,.]*?)\s*$",
}


def invoice_facts_from_text(text: str) -> dict[str, Any]:
    """What a person reads off one of our PDFs: number, amount due, KID, account, document kind."""
    facts: dict[str, Any] = {}
    if re.search(r"^(KREDITNOTA|CREDIT NOTE)\b", text, re.MULTILINE):
        facts["document_type"] = "credit_note"
    elif re.search(r"^(FAKTURA|INVOICE)\b", text, re.MULTILINE) or "FAKTURA" in text or "INVOICE" in text:
        facts["document_type"] = "invoice"
    for name, pattern in _FACT_PATTERNS.items():
        match = re.search(pattern, text, re.MULTILINE)
        if not match:
            continue
        if name == "amount_due":
            facts["currency"] = match.group(1)
            facts["amount_due"] = match.group(2).strip()
        else:
            facts[name] = match.group(1).strip()
    return facts


def inspect(data: bytes) -> dict[str, Any]:
    """Pages, page sizes, fonts, encryption, printability problems, and our invoice facts if it is ours."""
    from mappings.print.printability import describe_pdf

    return describe_pdf(data)
