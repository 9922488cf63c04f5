"""A printable, branded PDF of a follow-up notice (reminder, warning, demand, nudge) or a statement.

Pure: bytes out; the only I/O is reading a template's logo file. The invoice PDF's machinery and branding
(`mappings.invoice.pdf`): A4, embedded Vera fonts, nothing left of 20 mm (Digipost's strip stays free, so
`check_printable` passes in its strict mode), the recipient in the envelope window, the tenant's logo,
accent colour, contact and footer lines, "page x of y".

What a notice says, decided here:

* The title by kind, in Norwegian with an English subtitle: PURRING (Betalingspåminnelse / Payment
  reminder), INKASSOVARSEL (with the statutory text: the claim goes to debt collection if not paid within
  14 days of the warning, inkassoloven § 9), BETALINGSOPPFORDRING, VENNLIG PÅMINNELSE (a nudge),
  KONTOUTSKRIFT (a statement).
* The invoices reminded (number, dates, invoiced, open, days late, interest; credit notes negative), then
  the fee, the interest with its rate, the compensation and the total, which is `notice.notice_total` —
  the same number the EHF Reminder states.
* The new due date, the KID and the account in a payment box. Many invoices run over pages with the table
  header repeated; more than 20 pages is refused like an invoice PDF (`FormatError`).
"""

from __future__ import annotations

import datetime as dt
import io
import warnings
from decimal import Decimal
from typing import Any

from reportlab.lib import colors
from reportlab.lib.enums import TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    BaseDocTemplate,
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
from mappings.invoice.pdf import (
    CONTENT_LEFT,
    CONTENT_RIGHT,
    CONTENT_WIDTH,
    CREATOR,
    FIRST_FRAME_TOP,
    FONT,
    FONT_BOLD,
    FONT_ITALIC,
    FRAME_BOTTOM,
    LATER_FRAME_TOP,
    MAX_PAGES,
    NORMAL_STYLE,
    PAGE_HEIGHT,
    PAGE_WIDTH,
    WINDOW_LEFT,
    WINDOW_TOP,
    _escape,
    _GatewayCanvas,
    _register_fonts,
    _Style,
    format_account,
    format_date,
    format_money,
    format_org_number,
    format_rate,
    template_for,
)
from mappings.reminder.notice import NoticeOptions, first_notice_for, notice_total, signed_open
from schemas.branding import Language, PdfTemplate
from schemas.canonical import Invoice, Party
from schemas.followup import ReminderDocument

FORMAT_NAME = "reminder-pdf"
STATEMENT_FORMAT_NAME = "statement-pdf"
MEDIA_TYPE = "application/pdf"
EXTENSION = "pdf"

#: kind → (Norwegian title, subtitle: the Norwegian long name and the English one)
TITLES: dict[str, tuple[str, str]] = {
    "nudge": ("VENNLIG PÅMINNELSE", "Påminnelse før forfall · Friendly reminder"),
    "reminder": ("PURRING", "Betalingspåminnelse · Payment reminder"),
    "collection_warning": ("INKASSOVARSEL", "Varsel om inkasso · Debt collection warning"),
    "payment_demand": ("BETALINGSOPPFORDRING", "Oppfordring til betaling · Demand for payment"),
    "statement": ("KONTOUTSKRIFT", "Åpne poster · Statement of account"),
}

LABELS: dict[str, dict[Language, str]] = {
    "reference": {"nb": "Referanse", "en": "Reference"},
    "date": {"nb": "Dato", "en": "Date"},
    "deadline": {"nb": "Ny betalingsfrist", "en": "New due date"},
    "kid": {"nb": "KID", "en": "Payment ref. (KID)"},
    "account": {"nb": "Kontonr.", "en": "Bank account"},
    "bic": {"nb": "BIC", "en": "BIC"},
    "customer_no": {"nb": "Kundens org.nr.", "en": "Customer reg. no."},
    "your_ref": {"nb": "Deres ref.", "en": "Your ref."},
    "currency": {"nb": "Valuta", "en": "Currency"},
    "org": {"nb": "Org.nr.", "en": "Org. no."},
    "vat_reg": {"nb": "MVA", "en": "VAT"},
    "phone": {"nb": "Tlf.", "en": "Phone"},
    "invoice": {"nb": "Faktura", "en": "Invoice"},
    "credit_note": {"nb": "Kreditnota", "en": "Credit note"},
    "issue_date": {"nb": "Dato", "en": "Date"},
    "due_date": {"nb": "Forfall", "en": "Due"},
    "invoiced": {"nb": "Fakturert", "en": "Invoiced"},
    "open": {"nb": "Åpent", "en": "Open"},
    "days_late": {"nb": "Dager", "en": "Days"},
    "interest": {"nb": "Rente", "en": "Interest"},
    "open_total": {"nb": "Sum åpne poster", "en": "Open items"},
    "fee": {"nb": "Gebyr (uten mva)", "en": "Fee (no VAT)"},
    "fee_reminder": {"nb": "Purregebyr (uten mva)", "en": "Reminder fee (no VAT)"},
    "fee_collection_warning": {"nb": "Gebyr for inkassovarsel (uten mva)", "en": "Warning fee (no VAT)"},
    "interest_total": {"nb": "Forsinkelsesrente", "en": "Late-payment interest"},
    "compensation": {"nb": "Standardkompensasjon", "en": "Fixed compensation"},
    "payable": {"nb": "Å betale", "en": "Amount due"},
    "pay_by": {"nb": "innen", "en": "by"},
    "pay_to": {"nb": "Betal til konto", "en": "Pay to account"},
    "pay_with_kid": {"nb": "Bruk KID ved betaling", "en": "Use this reference (KID) when paying"},
    "page": {"nb": "Side {page} av {pages}", "en": "Page {page} of {pages}"},
    "continued": {"nb": "forts.", "en": "continued"},
    "per_year": {"nb": "% p.a.", "en": "% p.a."},
}


def _intro(doc: ReminderDocument, language: Language) -> list[str]:
    """The notice's text: Norwegian first, the English after (the statutory words for a warning)."""
    deadline = format_date(doc.deadline, "nb")
    sent = format_date(doc.notice_date, "nb")
    texts: dict[str, tuple[str, str]] = {
        "nudge": (
            "Dette er en vennlig påminnelse om at fakturaen nedenfor snart forfaller. Har du allerede betalt, "
            "kan du se bort fra denne meldingen.",
            "A friendly reminder that the invoice below falls due soon. If you have paid, please disregard it.",
        ),
        "reminder": (
            "Vi kan ikke se å ha mottatt betaling for fakturaen(e) nedenfor. Vennligst betal det forfalte "
            f"beløpet innen {deadline}. Har du allerede betalt, kan du se bort fra denne påminnelsen.",
            "We have not received payment for the invoice(s) below. Please pay the amount due by "
            f"{doc.deadline.isoformat()}. If you have already paid, please disregard this reminder.",
        ),
        "collection_warning": (
            f"Dette varselet er sendt {sent}. Dersom kravet ikke er betalt innen 14 dager etter at dette "
            f"varselet ble sendt (senest {deadline}), vil kravet bli sendt til inkasso, og det vil medføre "
            "ekstra kostnader for deg (inkassoloven § 9).",
            f"This warning was sent on {doc.notice_date.isoformat()}. If the claim is not paid within 14 days "
            "of this warning being sent, it will be passed to debt collection, which will add costs for you.",
        ),
        "payment_demand": (
            f"Kravet er ikke betalt. Vi oppfordrer deg til å betale innen {deadline}. Betales kravet ikke, "
            "kan det bli inndrevet ved rettslige skritt, som vil medføre ytterligere kostnader.",
            f"The claim is unpaid. Please pay by {doc.deadline.isoformat()}; otherwise it may be enforced by "
            "legal action at further cost to you.",
        ),
        "statement": (
            f"Kontoutskrift per {sent}: alle åpne poster. Betal hver faktura med dens KID.",
            f"Statement of your account on {doc.notice_date.isoformat()}: all open items.",
        ),
    }
    norwegian, english = texts[str(doc.kind)]
    return [norwegian, english] if language == "nb" else [english, norwegian]


class _NoticeRenderer:
    def __init__(self, doc: ReminderDocument, template: PdfTemplate, style: _Style) -> None:
        self.doc = doc
        self.template = template
        self.style = style
        self.language: Language = template.language
        self.accent = colors.HexColor(template.accent_color)
        self.seller = Party.model_validate(doc.seller)
        self.buyer = Party.model_validate(doc.buyer)
        self.statement = doc.kind == "statement"
        self.title, self.subtitle = TITLES[str(doc.kind)]
        self.display_name = template.company_display_name or self.seller.trading_name or self.seller.name

    def t(self, key: str) -> str:
        return LABELS[key][self.language]

    def money(self, value: Decimal) -> str:
        return format_money(value, self.doc.currency, self.language)

    @staticmethod
    def _party_lines(party: Party) -> list[str]:
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

    # -- page furniture

    def _logo_or_name(self, canvas: Canvas, top: float) -> None:
        logo = self.template.logo_path
        if logo is not None:
            image = ImageReader(str(logo))
            width, height = image.getSize()
            scale = min(60 * mm / width, 10 * mm / height)
            canvas.drawImage(
                image, CONTENT_LEFT, top - height * scale, width * scale, height * scale, mask="auto"
            )
            return
        canvas.setFillColor(self.accent)
        canvas.setFont(FONT_BOLD, 16)
        canvas.drawString(CONTENT_LEFT, top - 6 * mm, _fit(self.display_name, FONT_BOLD, 16, 95 * mm))

    def first_page(self, canvas: Canvas, _doc: Any) -> None:
        canvas.saveState()
        top = PAGE_HEIGHT - 12 * mm
        self._logo_or_name(canvas, top)
        canvas.setStrokeColor(self.accent)
        canvas.setLineWidth(1.2)
        canvas.line(CONTENT_LEFT, PAGE_HEIGHT - 40 * mm, CONTENT_RIGHT, PAGE_HEIGHT - 40 * mm)
        canvas.setFillColor(self.accent)
        size = 20 if len(self.title) <= 14 else 16
        canvas.setFont(FONT_BOLD, size)
        canvas.drawRightString(CONTENT_RIGHT, top - 7 * mm, self.title)
        canvas.setFont(FONT_ITALIC, 8)
        canvas.setFillColor(colors.HexColor("#444444"))
        canvas.drawRightString(CONTENT_RIGHT, top - 11.5 * mm, self.subtitle)
        # Seller: address left under the name, registration and contact right under the title.
        seller = self.seller
        address_lines = [seller.name, *self._party_lines(seller)]
        other: list[str] = []
        if seller.legal_registration:
            suffix = f" {self.t('vat_reg')}" if seller.vat_id else ""
            other.append(f"{self.t('org')} {format_org_number(seller.legal_registration.value)}{suffix}")
        elif seller.vat_id:
            other.append(seller.vat_id)
        if seller.legal_info:
            other.append(seller.legal_info)
        if seller.contact:
            contact = seller.contact
            phone = f"{self.t('phone')} {contact.phone}" if contact.phone else None
            other.extend(item for item in (phone, contact.email) if item)
        other.extend(self.template.contact_lines)
        canvas.setFillColor(colors.black)
        canvas.setFont(FONT, 7.5)
        y = top - 13 * mm
        for line in address_lines[:5]:
            canvas.drawString(CONTENT_LEFT, y, _fit(line, FONT, 7.5, 95 * mm))
            y -= 3.2 * mm
        # Four lines a column under the subtitle, a second column left of the first for more.
        for column, start in enumerate((0, 4)):
            y = top - 16 * mm
            for line in other[start : start + 4]:
                x = CONTENT_RIGHT - column * 50 * mm
                canvas.drawRightString(x, y, _fit(line, FONT, 7.5, 45 * mm))
                y -= 3.2 * mm
        self._window(canvas)
        self._facts(canvas)
        canvas.restoreState()

    def _window(self, canvas: Canvas) -> None:
        window_top = PAGE_HEIGHT - WINDOW_TOP
        left = WINDOW_LEFT + 5 * mm
        width = 80 * mm
        return_line = ", ".join([self.seller.name, *self._party_lines(self.seller)])
        canvas.setFont(FONT, 6.5)
        canvas.setFillColor(colors.HexColor("#555555"))
        canvas.drawString(left, window_top - 5 * mm, _fit(return_line, FONT, 6.5, width))
        canvas.setFillColor(colors.black)
        lines = _wrap(self.buyer.name, FONT_BOLD, 10, width)[:2]
        bold_lines = len(lines)
        if self.buyer.contact and self.buyer.contact.name:
            lines.append(f"v/ {self.buyer.contact.name}")
        lines.extend(self._party_lines(self.buyer))
        y = window_top - 12 * mm
        for index, line in enumerate(lines[:6]):
            font = FONT_BOLD if index < bold_lines else FONT
            canvas.setFont(font, 10)
            canvas.drawString(left, y, _fit(line, font, 10, width))
            y -= 4.6 * mm

    def _fact_rows(self) -> list[tuple[str, str, bool]]:
        doc = self.doc
        facts: list[tuple[str, str, bool]] = [
            (self.t("reference"), doc.notice_id, True),
            (self.t("date"), format_date(doc.notice_date, self.language), False),
        ]
        if not self.statement:
            facts.append((self.t("deadline"), format_date(doc.deadline, self.language), True))
        if doc.kid:
            facts.append((self.t("kid"), doc.kid, True))
        if doc.payee_account:
            facts.append((self.t("account"), format_account(doc.payee_account), True))
        if doc.payee_bic:
            facts.append((self.t("bic"), doc.payee_bic, False))
        if doc.buyer_reference:
            facts.append((self.t("your_ref"), doc.buyer_reference, False))
        if self.buyer.legal_registration:
            facts.append((self.t("customer_no"), format_org_number(self.buyer.legal_registration.value), False))
        if doc.currency != "NOK" or self.language == "en":
            facts.append((self.t("currency"), doc.currency, False))
        return facts[:10]

    def _facts(self, canvas: Canvas) -> None:
        left = 120 * mm
        y = PAGE_HEIGHT - WINDOW_TOP - 2 * mm
        for label, value, strong in self._fact_rows():
            canvas.setFont(FONT, 8)
            canvas.setFillColor(colors.HexColor("#444444"))
            canvas.drawString(left, y, label)
            canvas.setFillColor(colors.black)
            font, size = (FONT_BOLD, 9) if strong else (FONT, 8.5)
            canvas.setFont(font, size)
            canvas.drawRightString(CONTENT_RIGHT, y, _fit(value, font, size, 45 * mm))
            y -= 4.4 * mm

    def later_page(self, canvas: Canvas, _doc: Any) -> None:
        canvas.saveState()
        canvas.setFillColor(self.accent)
        canvas.setFont(FONT_BOLD, 11)
        canvas.drawString(CONTENT_LEFT, PAGE_HEIGHT - 15 * mm, _fit(self.display_name, FONT_BOLD, 11, 85 * mm))
        canvas.setFillColor(colors.black)
        canvas.setFont(FONT, 9)
        heading = f"{self.title} {self.doc.notice_id} ({self.t('continued')})"
        canvas.drawRightString(CONTENT_RIGHT, PAGE_HEIGHT - 15 * mm, _fit(heading, FONT, 9, 85 * mm))
        canvas.setStrokeColor(self.accent)
        canvas.setLineWidth(0.8)
        canvas.line(CONTENT_LEFT, PAGE_HEIGHT - 19 * mm, CONTENT_RIGHT, PAGE_HEIGHT - 19 * mm)
        canvas.restoreState()

    def footer(self, canvas: Canvas, page: int, pages: int) -> None:
        canvas.saveState()
        canvas.setStrokeColor(colors.HexColor("#BBBBBB"))
        canvas.setLineWidth(0.4)
        canvas.line(CONTENT_LEFT, 13 * mm, CONTENT_RIGHT, 13 * mm)
        canvas.setFont(FONT, 7)
        canvas.setFillColor(colors.HexColor("#444444"))
        seller = self.seller
        left_text = self.template.footer_text or " · ".join(
            part for part in (seller.name, seller.vat_id, seller.legal_info) if part
        )
        canvas.drawString(CONTENT_LEFT, 9 * mm, _fit(left_text, FONT, 7, 140 * mm))
        canvas.drawRightString(CONTENT_RIGHT, 9 * mm, self.t("page").format(page=page, pages=pages))
        canvas.restoreState()

    # -- story

    def story(self) -> list[Flowable]:
        style = self.style
        intro, other = _intro(self.doc, self.language)
        story: list[Flowable] = [
            NextPageTemplate("later"),
            Paragraph(_escape(intro), style.paragraph("intro", size=style.base_size + 1)),
            Spacer(1, 1.5 * mm),
            Paragraph(
                _escape(other),
                style.paragraph("intro-other", size=style.small_size, textColor=colors.HexColor("#555555")),
            ),
            Spacer(1, 4 * mm),
            self._items_table(),
            Spacer(1, 4 * mm),
            KeepTogether([self._totals()]),
            Spacer(1, 4 * mm),
            KeepTogether(self._payment_box()),
        ]
        if self.doc.note:
            story += [Spacer(1, 3 * mm), Paragraph(_escape(self.doc.note), style.paragraph("note"))]
        return story

    def _items_table(self) -> Table:
        style = self.style
        cell = style.paragraph("cell", size=style.base_size)
        head = style.paragraph("head", size=style.base_size - 0.5, bold=True, textColor=colors.white)
        head_r = style.paragraph(
            "head-r", size=style.base_size - 0.5, bold=True, textColor=colors.white, alignment=TA_RIGHT
        )
        header = [
            Paragraph(self.t("invoice"), head),
            Paragraph(self.t("issue_date"), head),
            Paragraph(self.t("due_date"), head),
            Paragraph(self.t("invoiced"), head_r),
            Paragraph(self.t("open"), head_r),
            Paragraph(self.t("days_late"), head_r),
            Paragraph(self.t("interest"), head_r),
        ]
        rows: list[list[Any]] = [header]
        for item in self.doc.invoices:
            credit = item.document_type == "credit_note"
            label = f"{self.t('credit_note')} " if credit else ""
            invoiced = -abs(item.invoiced_amount) if credit else item.invoiced_amount
            rows.append(
                [
                    Paragraph(_escape(label + item.number), cell),
                    format_date(item.issue_date, self.language),
                    format_date(item.due_date, self.language),
                    self.money(invoiced),
                    self.money(signed_open(item)),
                    str(item.days_late) if item.days_late else "",
                    self.money(item.interest) if item.interest else "",
                ]
            )
        widths = [39 * mm, 21 * mm, 21 * mm, 28 * mm, 28 * mm, 15 * mm, 23 * mm]
        table = Table(rows, colWidths=widths, repeatRows=1)
        table.setStyle(
            TableStyle(
                [
                    ("FONT", (0, 0), (-1, -1), FONT, style.base_size),
                    ("BACKGROUND", (0, 0), (-1, 0), self.accent),
                    ("VALIGN", (0, 0), (-1, -1), "TOP"),
                    ("ALIGN", (3, 1), (-1, -1), "RIGHT"),
                    ("TOPPADDING", (0, 0), (-1, -1), style.padding),
                    ("BOTTOMPADDING", (0, 0), (-1, -1), style.padding),
                    ("LINEBELOW", (0, 1), (-1, -1), 0.25, colors.HexColor("#CCCCCC")),
                    ("ROWBACKGROUNDS", (0, 1), (-1, -1), [colors.white, colors.HexColor("#F4F6F9")]),
                ]
            )
        )
        return table

    def _totals(self) -> Table:
        style = self.style
        doc = self.doc
        items = sum((signed_open(item) for item in doc.invoices), Decimal(0))
        rows: list[list[str]] = [[self.t("open_total"), self.money(items)]]
        if doc.fee:
            key = f"fee_{doc.kind}" if f"fee_{doc.kind}" in LABELS else "fee"
            rows.append([self.t(key), self.money(doc.fee)])
        if doc.interest:
            rate = doc.interest_rate_percent
            suffix = f" ({format_rate(rate, self.language)} {self.t('per_year')})" if rate is not None else ""
            rows.append([self.t("interest_total") + suffix, self.money(doc.interest)])
        if doc.compensation:
            rows.append([self.t("compensation"), self.money(doc.compensation)])
        rows.append([f"{self.t('payable')} {doc.currency}", self.money(notice_total(doc))])
        last = len(rows) - 1
        table = Table(rows, colWidths=[70 * mm, 40 * mm], hAlign="RIGHT")
        table.setStyle(
            TableStyle(
                [
                    ("FONT", (0, 0), (-1, -1), FONT, style.base_size),
                    ("ALIGN", (1, 0), (1, -1), "RIGHT"),
                    ("TOPPADDING", (0, 0), (-1, -1), 1.5),
                    ("BOTTOMPADDING", (0, 0), (-1, -1), 1.5),
                    ("LINEABOVE", (0, last), (-1, last), 1, self.accent),
                    ("FONT", (0, last), (-1, last), FONT_BOLD, style.base_size + 2),
                    ("TEXTCOLOR", (0, last), (-1, last), self.accent),
                    ("TOPPADDING", (0, last), (-1, last), 4),
                ]
            )
        )
        return table

    def _payment_box(self) -> list[Flowable]:
        style = self.style
        doc = self.doc
        if not (doc.payee_account or doc.kid):
            return []
        big = style.paragraph("pay-big", size=style.base_size + 3, bold=True, textColor=self.accent)
        normal = style.paragraph("pay", size=style.base_size + 0.5)
        amount = f"{doc.currency} {self.money(notice_total(doc))}"
        deadline = format_date(doc.deadline, self.language)
        cells: list[Flowable] = [Paragraph(f"{self.t('payable')}: {amount} {self.t('pay_by')} {deadline}", big)]
        if doc.payee_account:
            account = _escape(format_account(doc.payee_account))
            cells.append(Paragraph(f"{self.t('pay_to')}: <b>{account}</b>", normal))
        if doc.kid:
            cells.append(
                Paragraph(
                    f"{self.t('pay_with_kid')}: <font size='{style.base_size + 5}'><b>{_escape(doc.kid)}</b></font>",
                    style.paragraph("kid", size=style.base_size + 0.5, leading=(style.base_size + 6) * 1.3),
                )
            )
        box = Table([[cells]], colWidths=[CONTENT_WIDTH])
        box.setStyle(
            TableStyle(
                [
                    ("BOX", (0, 0), (-1, -1), 1, self.accent),
                    ("BACKGROUND", (0, 0), (-1, -1), colors.HexColor("#F4F6F9")),
                    ("LEFTPADDING", (0, 0), (-1, -1), 6),
                    ("TOPPADDING", (0, 0), (-1, -1), 5),
                    ("BOTTOMPADDING", (0, 0), (-1, -1), 5),
                ]
            )
        )
        return [box]

    # -- build

    def build(self) -> tuple[bytes, int]:
        buffer = io.BytesIO()
        renderer = self

        class _Canvas(_GatewayCanvas):
            def __init__(self, *args: Any, **kwargs: Any) -> None:
                super().__init__(*args, **kwargs)
                self.footer = renderer.footer

        title = f"{self.title.capitalize()} {self.doc.notice_id}"
        document = BaseDocTemplate(
            buffer,
            pagesize=A4,
            leftMargin=CONTENT_LEFT,
            rightMargin=PAGE_WIDTH - CONTENT_RIGHT,
            topMargin=LATER_FRAME_TOP,
            bottomMargin=FRAME_BOTTOM,
            title=title,
            author=self.seller.name,
            subject=f"{title} – {self.buyer.name}",
            creator=CREATOR,
            lang="nb-NO" if self.language == "nb" else "en",
            invariant=1,
        )
        padding = {"leftPadding": 0, "rightPadding": 0, "topPadding": 0, "bottomPadding": 0}
        first_height = PAGE_HEIGHT - FIRST_FRAME_TOP - FRAME_BOTTOM
        later_height = PAGE_HEIGHT - LATER_FRAME_TOP + 6 * mm - FRAME_BOTTOM
        first = Frame(CONTENT_LEFT, FRAME_BOTTOM, CONTENT_WIDTH, first_height, id="first", **padding)
        later = Frame(CONTENT_LEFT, FRAME_BOTTOM, CONTENT_WIDTH, later_height, id="later", **padding)
        document.addPageTemplates(
            [
                PageTemplate(id="first", frames=[first], onPage=self.first_page),
                PageTemplate(id="later", frames=[later], onPage=self.later_page),
            ]
        )
        document.build(self.story(), canvasmaker=_Canvas)
        return buffer.getvalue(), document.page


def _wrap(text: str, font: str, size: float, width: float) -> list[str]:
    """`text` in lines of at most `width` points (by words; a word too long for a line is cut by `_fit`)."""
    from reportlab.pdfbase.pdfmetrics import stringWidth

    lines: list[str] = []
    current = ""
    for word in text.split():
        candidate = f"{current} {word}".strip()
        if current and stringWidth(candidate, font, size) > width:
            lines.append(current)
            current = word
        else:
            current = candidate
    lines.append(current)
    return [_fit(line, font, size, width) for line in lines]


def _fit(text: str, font: str, size: float, width: float) -> str:
    """`text` cut with an ellipsis to fit `width` points in `font` at `size` (long names stay on the page)."""
    from reportlab.pdfbase.pdfmetrics import stringWidth

    if stringWidth(text, font, size) <= width:
        return text
    while text and stringWidth(text + "…", font, size) > width:
        text = text[:-1]
    return text.rstrip() + "…"


def render_reminder_pdf(doc: ReminderDocument, template: PdfTemplate | None = None) -> bytes:
    """`ReminderDocument` → a printable A4 PDF (fonts embedded, left 15 mm free, at most 20 pages)."""
    _register_fonts()
    chosen = template or template_for(None)
    if chosen.logo_path is not None and not chosen.logo_path.is_file():
        raise FormatError("template.logo_path", f"logo file {chosen.logo_path} does not exist")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        content, pages = _NoticeRenderer(doc, chosen, NORMAL_STYLE).build()
    if pages > MAX_PAGES:
        raise FormatError(
            "invoices",
            f"{len(doc.invoices)} items need {pages} pages: more than {MAX_PAGES}, which print houses refuse; "
            "split the notice",
        )
    return content


def render(
    invoice: Invoice, options: NoticeOptions | None = None, *, statement: bool = False
) -> RenderedDocument:
    """The registry's verb: the first notice for `invoice` (`notice.first_notice_for`) as a PDF, or (with
    `statement`) a statement of it as the one open item. Without options the notice is written on the due
    date + 14 days, as `ehf_reminder.render` does."""
    chosen = options or NoticeOptions(on=(invoice.due_date or invoice.issue_date) + dt.timedelta(days=14))
    doc = first_notice_for(invoice, chosen.on, chosen.settings, segment=chosen.segment)
    if statement:
        doc = doc.model_copy(update={"kind": "statement", "level": 0, "fee": Decimal(0),
                                     "notice_id": f"S-{invoice.number}"[:100]})  # fmt: skip
    name = STATEMENT_FORMAT_NAME if statement else FORMAT_NAME
    return RenderedDocument(name, render_reminder_pdf(doc, chosen.template), MEDIA_TYPE, EXTENSION)
