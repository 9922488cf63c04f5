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
import warnings
from decimal import Decimal
from typing import Any

from reportlab.lib import colors
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    Flowable,
    KeepTogether,
    NextPageTemplate,
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
    FONT,
    FONT_BOLD,
    FONT_ITALIC,
    MAX_PAGES,
    NORMAL_STYLE,
    PAGE_HEIGHT,
    WINDOW_LEFT,
    WINDOW_TOP,
    ZEBRA_ROWS,
    _escape,
    _Style,
    build_pdf,
    draw_facts,
    draw_footer,
    draw_header_rule,
    draw_later_header,
    draw_logo_or_name,
    draw_return_line,
    footer_left_text,
    format_account,
    format_date,
    format_money,
    format_org_number,
    format_rate,
    items_table_commands,
    party_lines,
    payment_box_commands,
    payment_lines,
    portal_link_paragraph,
    ready_template,
    seller_registration_lines,
    table_header_styles,
    totals_table_style,
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
    # the customer portal's link (issue 21): to the one reminded invoice, or the portal's sign-in page
    "portal_link": {"nb": "Se og betal på nett", "en": "View and pay online"},
}


def _intro(doc: ReminderDocument, language: Language) -> list[str]:
    """The notice's text: Norwegian first, the English after (the statutory words for a warning)."""
    deadline = format_date(doc.deadline, "nb")
    sent = format_date(doc.notice_date, "nb")
    texts: dict[str, tuple[str, str]] = {
        "nudge": (
            "Dette er en vennlig påminnelse om at fakturaen nedenfor snart forfaller. "
            "Har du allerede betalt, "
            "kan du se bort fra denne meldingen.",
            "A friendly reminder that the invoice below falls due soon. "
            "If you have paid, please disregard it.",
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
            f"This warning was sent on {doc.notice_date.isoformat()}. "
            "If the claim is not paid within 14 days "
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
    def __init__(
        self, doc: ReminderDocument, template: PdfTemplate, style: _Style, portal_link: str | None = None
    ) -> None:
        self.doc = doc
        self.portal_link = portal_link
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

    # -- page furniture

    def first_page(self, canvas: Canvas, _doc: Any) -> None:
        canvas.saveState()
        top = PAGE_HEIGHT - 12 * mm
        name = _fit(self.display_name, FONT_BOLD, 16, 95 * mm)
        draw_logo_or_name(canvas, self.template, self.accent, name, top)
        draw_header_rule(canvas, self.accent)
        canvas.setFillColor(self.accent)
        size = 20 if len(self.title) <= 14 else 16
        canvas.setFont(FONT_BOLD, size)
        canvas.drawRightString(CONTENT_RIGHT, top - 7 * mm, self.title)
        canvas.setFont(FONT_ITALIC, 8)
        canvas.setFillColor(colors.HexColor("#444444"))
        canvas.drawRightString(CONTENT_RIGHT, top - 11.5 * mm, self.subtitle)
        # Seller: address left under the name, registration and contact right under the title.
        seller = self.seller
        address_lines = [seller.name, *party_lines(seller)]
        other = seller_registration_lines(seller, self.t)
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
        return_line = ", ".join([self.seller.name, *party_lines(self.seller)])
        draw_return_line(canvas, _fit(return_line, FONT, 6.5, width), left)
        wrapped = _wrap(self.buyer.name, FONT_BOLD, 10, width)
        lines = wrapped[:1] + (
            [_fit(" ".join(wrapped[1:]), FONT_BOLD, 10, width)] if len(wrapped) > 1 else []
        )
        bold_lines = len(lines)
        if self.buyer.contact and self.buyer.contact.name:
            lines.append(f"v/ {self.buyer.contact.name}")
        lines.extend(party_lines(self.buyer))
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
            facts.append(
                (self.t("customer_no"), format_org_number(self.buyer.legal_registration.value), False)
            )
        if doc.currency != "NOK" or self.language == "en":
            facts.append((self.t("currency"), doc.currency, False))
        return facts[:10]

    def _facts(self, canvas: Canvas) -> None:
        draw_facts(canvas, self._fact_rows(), lambda value, font, size: _fit(value, font, size, 45 * mm))

    def later_page(self, canvas: Canvas, _doc: Any) -> None:
        heading = f"{self.title} {self.doc.notice_id} ({self.t('continued')})"
        name = _fit(self.display_name, FONT_BOLD, 11, 85 * mm)
        draw_later_header(canvas, self.accent, name, _fit(heading, FONT, 9, 85 * mm))

    def footer(self, canvas: Canvas, page: int, pages: int) -> None:
        left_text = _fit(footer_left_text(self.template, self.seller), FONT, 7, 140 * mm)
        draw_footer(canvas, left_text, self.t("page").format(page=page, pages=pages))

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
        head, head_r = table_header_styles(style, style.base_size - 0.5)
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
        commands = items_table_commands(style, self.accent, [("ALIGN", (3, 1), (-1, -1), "RIGHT")])
        table.setStyle(TableStyle([*commands, ZEBRA_ROWS]))
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
        table.setStyle(totals_table_style(style, self.accent, last))
        return table

    def _payment_box(self) -> list[Flowable]:
        style = self.style
        doc = self.doc
        portal: list[Flowable] = []
        if self.portal_link:
            line = portal_link_paragraph(style, self.accent, self.t("portal_link"), self.portal_link)
            portal = [Spacer(1, 2 * mm), line]
        if not (doc.payee_account or doc.kid):
            return portal
        big, lines = payment_lines(style, self.accent, self.t, doc.payee_account, doc.kid)
        amount = f"{doc.currency} {self.money(notice_total(doc))}"
        deadline = format_date(doc.deadline, self.language)
        cells: list[Flowable] = [
            Paragraph(f"{self.t('payable')}: {amount} {self.t('pay_by')} {deadline}", big),
            *lines,
        ]
        box = Table([[cells]], colWidths=[CONTENT_WIDTH])
        box.setStyle(TableStyle(payment_box_commands(style, self.accent)))
        return [box, *portal]

    # -- build

    def build(self) -> tuple[bytes, int]:
        title = f"{self.title.capitalize()} {self.doc.notice_id}"
        return build_pdf(
            self.story(),
            first_page=self.first_page,
            later_page=self.later_page,
            footer=self.footer,
            title=title,
            author=self.seller.name,
            subject=f"{title} – {self.buyer.name}",
            language=self.language,
        )


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


def render_reminder_pdf(
    doc: ReminderDocument, template: PdfTemplate | None = None, *, portal_link: str | None = None
) -> bytes:
    """`ReminderDocument` → a printable A4 PDF (fonts embedded, left 15 mm free, at most 20 pages).

    `portal_link` (made by the gateway) is the customer portal's link, printed as a clickable line under
    the payment information."""
    chosen = ready_template(template)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        content, pages = _NoticeRenderer(doc, chosen, NORMAL_STYLE, portal_link).build()
    if pages > MAX_PAGES:
        raise FormatError(
            "invoices",
            f"{len(doc.invoices)} items need {pages} pages: more than {MAX_PAGES}, "
            "which print houses refuse; "
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
        doc = doc.model_copy(
            update={
                "kind": "statement",
                "level": 0,
                "fee": Decimal(0),
                "notice_id": f"S-{invoice.number}"[:100],
            }
        )
    name = STATEMENT_FORMAT_NAME if statement else FORMAT_NAME
    return RenderedDocument(name, render_reminder_pdf(doc, chosen.template), MEDIA_TYPE, EXTENSION)
