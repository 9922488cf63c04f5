"""The reminder / statement PDF: what a person reads off it, and whether a print house takes it."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal

import pytest
from pypdf import PdfReader

import mappings
from gateway.samples import BUYERS, SELLER, sample_invoice
from mappings.base import FormatError
from mappings.print.printability import check_printable
from mappings.reminder.reminder_pdf import render_reminder_pdf
from schemas.branding import PdfTemplate
from schemas.followup import RemindedInvoice, ReminderDocument


def _text(pdf: bytes) -> str:
    return "\n".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(pdf)).pages)


def _items(count: int) -> list[RemindedInvoice]:
    return [
        RemindedInvoice(
            number=f"INV-2026-{index:06d}",
            issue_date=dt.date(2026, 1, 1),
            due_date=dt.date(2026, 1, 31),
            currency="NOK",
            invoiced_amount=Decimal("1234567.89"),
            open_amount=Decimal("1234567.89"),
            interest=Decimal("4321.10"),
            days_late=45,
        )
        for index in range(count)
    ]


def _doc(kind: str, **changes: object) -> ReminderDocument:
    data: dict[str, object] = {
        "notice_id": "N-77",
        "kind": kind,
        "level": 1,
        "notice_date": dt.date(2026, 3, 17),
        "deadline": dt.date(2026, 3, 31),
        "currency": "NOK",
        "seller": SELLER,
        "buyer": BUYERS[1],
        "invoices": _items(1),
        "fee": Decimal("35"),
        "interest": Decimal("4321.10"),
        "interest_rate_percent": Decimal("12.50"),
        "kid": "0000000018",
        "payee_account": "86011117947",
    }
    data.update(changes)
    return ReminderDocument.model_validate(data)


TITLES = {
    "reminder": ("PURRING", "Payment reminder"),
    "collection_warning": ("INKASSOVARSEL", "Debt collection warning"),
    "payment_demand": ("BETALINGSOPPFORDRING", "Demand for payment"),
    "nudge": ("VENNLIG PÅMINNELSE", "Friendly reminder"),
    "statement": ("KONTOUTSKRIFT", "Statement of account"),
}


@pytest.mark.parametrize("kind", list(TITLES))
def test_each_kind_has_its_title_and_the_facts_and_is_printable(kind: str) -> None:
    pdf = render_reminder_pdf(_doc(kind), None)
    assert check_printable(pdf, margin_band_mm=None) == []
    text = _text(pdf)
    title, subtitle = TITLES[kind]
    assert title in text and subtitle in text
    assert "INV-2026-000000" in text and "1 234 567,89" in text and "4 321,10" in text
    assert "1 238 923,99" in text  # open + fee + interest
    assert "0000000018" in text and "8601 11 17947" in text
    assert SELLER["name"] in text and BUYERS[1]["name"] in text
    if kind != "statement":
        assert "31.03.2026" in text  # the new due date
        assert "12,5 % p.a." in text


def test_a_warning_carries_the_statutory_fourteen_days() -> None:
    text = " ".join(_text(render_reminder_pdf(_doc("collection_warning"), None)).split())
    assert "innen 14 dager etter at dette varselet ble sendt" in text
    assert "inkasso" in text and "17.03.2026" in text


def test_many_invoices_long_names_and_large_amounts_run_over_pages_and_stay_printable() -> None:
    buyer = dict(BUYERS[0], name="Det Kongelige Norske Videnskabers Selskab Stiftelse for Lange Navn AS")
    doc = _doc("reminder", invoices=_items(60), buyer=buyer, compensation=Decimal("470"))
    pdf = render_reminder_pdf(doc, PdfTemplate(language="en", accent_color="#8B0000"))
    reader = PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) == 3
    assert check_printable(pdf, margin_band_mm=None) == []
    text = _text(pdf)
    assert "INV-2026-000059" in text and "Page 3 of 3" in text and "(continued)" in text
    assert "74,074,073.40" in text  # 60 × 1 234 567,89
    assert "Det Kongelige Norske Videnskabers" in text


def test_more_than_twenty_pages_is_refused() -> None:
    with pytest.raises(FormatError, match="invoices"):
        render_reminder_pdf(_doc("statement", invoices=_items(800)), None)


def test_registry_renders_the_first_notice_and_a_statement_for_an_invoice() -> None:
    invoice = sample_invoice(2)
    reminder = mappings.render("reminder-pdf", invoice)
    statement = mappings.render("statement-pdf", invoice)
    assert (reminder.format, statement.format) == ("reminder-pdf", "statement-pdf")
    assert "PURRING" in _text(reminder.content) and "KONTOUTSKRIFT" in _text(statement.content)
    assert invoice.number in _text(statement.content)
    assert check_printable(statement.content, margin_band_mm=None) == []


def test_the_portal_link_is_printed_and_clickable() -> None:
    """Issue 21: a notice carries the customer portal's link (made by the gateway) as a visible line with a
    URI link annotation; without one, nothing of it."""
    link = (
        "https://portal.acme.test/portal/i/eyJ0IjoiYWNtZSIsImkiOiIwMTIzNDU2Nzg5YWJjZGVmIn0.q3V7o1rJb0nA8qf5Ky"
    )
    pdf = render_reminder_pdf(_doc("reminder"), PdfTemplate(language="en"), portal_link=link)
    text = _text(pdf)
    assert "View and pay online:" in text and link in text.splitlines()
    annotations = [a.get_object() for a in PdfReader(io.BytesIO(pdf)).pages[0].get("/Annots") or []]
    assert [str(a["/A"]["/URI"]) for a in annotations] == [link]
    assert check_printable(pdf, margin_band_mm=None) == []
    plain = render_reminder_pdf(_doc("reminder"), None)
    assert "på nett" not in _text(plain) and not PdfReader(io.BytesIO(plain)).pages[0].get("/Annots")
