"""The invoice search and the invoice page in a real Chromium, by keyboard: find an invoice by its number
and by its buyer, open it, read its timeline, open the PDF as it was sent; another tenant's invoice and a
malformed search field are clear pages, never a 500."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from gateway.api.app import create_app
from gateway.settings import Settings
from tests.browser.conftest import OfflinePage, sign_in, unlabelled_fields
from tests.console.helpers import PASSWORD, make_user
from tests.console.invoice_scenario import Book, invoice_book


@pytest.fixture
def book(settings: Settings, engine: Engine) -> Book:
    with TestClient(create_app(settings, engine)) as client:
        return invoice_book(client, engine, settings)


def test_find_open_and_read_an_invoice(
    console_page: OfflinePage, book: Book, engine: Engine, screenshots: Path
) -> None:
    make_user(engine, "ops@acme.example", "operator")
    page = console_page.page
    sign_in(console_page, "ops@acme.example", PASSWORD)
    page.get_by_role("navigation", name="Console").get_by_role("link", name="Invoices").click()
    page.wait_for_load_state("networkidle")
    assert page.url.endswith("/console/invoices")
    assert unlabelled_fields(page) == []
    assert page.locator("table.results tbody tr").count() == 10

    # by the buyer: type in the box (it has the focus), Enter
    search_box = page.get_by_label("Search", exact=True)
    page.wait_for_function("document.activeElement && document.activeElement.id === 'f-q'")  # autofocus
    page.keyboard.type("midnattsol")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    rows = page.locator("table.results tbody tr")
    assert rows.count() == 3
    assert all("Midnattsol Drift AS" in rows.nth(i).inner_text() for i in range(3))
    assert "INV-000001" in page.locator("table.results").inner_text()
    page.screenshot(path=str(screenshots / "console-invoices-search.png"))

    # nothing found: the page says what was searched
    search_box.fill("Nordkapp Fisk")
    page.get_by_label("Payment status").select_option("paid")
    with page.expect_navigation():
        search_box.press("Enter")
    empty = page.locator(".empty-state").inner_text()
    assert "No invoices match “Nordkapp Fisk” and payment status “paid”." in empty
    page.screenshot(path=str(screenshots / "console-invoices-empty.png"))

    # by the number typed in full: straight to the invoice
    page.goto(f"{console_page.base_url}/console/invoices")
    page.wait_for_function("document.activeElement && document.activeElement.id === 'f-q'")
    page.keyboard.type(book.busy_number)
    with page.expect_navigation(url=f"**/console/invoices/{book.busy_id}"):
        page.keyboard.press("Enter")
    assert page.url.endswith(f"/console/invoices/{book.busy_id}")
    assert page.get_by_role("heading", level=1).inner_text() == "Invoice INV-000001"
    assert "is the only invoice numbered so" in page.get_by_role("status").inner_text()
    timeline = page.locator("ol.timeline > li")
    assert timeline.count() >= 10
    story = page.locator("ol.timeline").inner_text()
    assert "by API token erp" in story
    assert "the buyer's accounts payable asked for a copy" in story
    assert "fallback: email ended deviation" in story
    shown_size = re.search(r"document is (\d+) bytes", story)
    assert shown_size is not None, story
    assert page.locator("iframe.pdf").count() == 1
    assert console_page.elsewhere == []

    # the PDF as sent: loads as a PDF in the page, and on its own
    frame_src = page.locator("iframe.pdf").get_attribute("src")
    assert frame_src is not None
    page.locator("iframe.pdf").scroll_into_view_if_needed()
    # Chromium's own PDF viewer renders it inside the frame (an extension frame beside the document's)
    deadline = time.monotonic() + 15
    while not any(frame.url.startswith("chrome-extension://") for frame in page.frames):
        assert time.monotonic() < deadline, [frame.url for frame in page.frames]
        page.wait_for_timeout(100)
    page.wait_for_timeout(1000)
    page.screenshot(path=str(screenshots / "console-invoice-pdf.png"))
    page.screenshot(path=str(screenshots / "console-invoice.png"), full_page=True)
    response = page.request.get(f"{console_page.base_url}{frame_src}")
    assert response.status == 200
    assert response.headers["content-type"] == "application/pdf"
    assert response.body().startswith(b"%PDF-")
    assert int(shown_size.group(1)) == len(response.body())  # the size the timeline tells is the PDF's
    opened = page.goto(f"{console_page.base_url}{frame_src}")
    assert opened is not None and opened.status == 200
    assert opened.headers["content-type"] == "application/pdf"
    assert console_page.elsewhere == []


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_foreign_invoices_documents_and_bad_fields_are_clear_pages(
    console_page: OfflinePage, book: Book, engine: Engine, screenshots: Path
) -> None:
    make_user(engine, "ops@acme.example", "operator")
    page = console_page.page
    sign_in(console_page, "ops@acme.example", PASSWORD)

    for path in (
        f"/console/invoices/{book.other_tenant_invoice_id}",
        f"/console/documents/{book.other_tenant_document_id}",
    ):
        answer = page.goto(f"{console_page.base_url}{path}")
        assert answer is not None and answer.status == 404
        assert page.get_by_role("heading", level=1).inner_text() == "Not found"

    answer = page.goto(f"{console_page.base_url}/console/invoices?q=AS&due_from=2026-02-31")
    assert answer is not None and answer.status == 400
    alert = page.get_by_role("alert").inner_text()
    assert alert.startswith("Due from:") and "not a date" in alert
    assert page.get_by_label("Due from").get_attribute("aria-invalid") == "true"
    page.screenshot(path=str(screenshots / "console-invoices-bad-field.png"))
    # the box kept what was typed; fixing the field and Enter searches
    assert page.get_by_label("Search", exact=True).input_value() == "AS"
    page.get_by_label("Due from").fill("2026-10-20")
    with page.expect_navigation():
        page.get_by_label("Due from").press("Enter")
    assert page.get_by_role("alert").count() == 0
    assert page.locator("table.results tbody tr").count() > 0

    # a number two documents carry: the page lists both, each a link
    answer = page.goto(f"{console_page.base_url}/console/invoices/INV-000003")
    assert answer is not None and answer.status == 409
    page.screenshot(path=str(screenshots / "console-invoices-ambiguous.png"))
    page.get_by_role("link", name="credit note INV-000003").click()
    page.wait_for_url(f"**/console/invoices/{book.credit_note_id}")
    assert page.get_by_role("heading", level=1).inner_text() == "Credit note INV-000003"
    assert console_page.elsewhere == []
