"""The Ledger page in a real Chromium: credit control reaches it from the navigation, exports a month by
keyboard (month field, format, Enter), sees the month closed and downloads the file; a viewer sees the months
without the form. Screenshots of each state."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import Engine

from mappings import inspect_file
from tests.browser.conftest import OfflinePage, sign_in, unlabelled_fields
from tests.console.helpers import PASSWORD, make_user
from tests.services.ledger.journal_rows import add_invoice, add_payment


@pytest.fixture
def october(engine: Engine) -> None:
    for day, net, number, customer in ((3, "1000.00", "1001", "C-1"), (9, "412.50", "1002", "Nordlys AS")):
        add_invoice(engine, "acme", dt.date(2026, 10, day), net, number=number, customer=customer)
    add_payment(engine, "acme", dt.date(2026, 10, 20), "1250.00", customer="C-1")
    add_invoice(engine, "acme", dt.date(2026, 11, 2), "80.00", number="1003", customer="C-1")


def _shot(tab: OfflinePage, screenshots: Path, name: str) -> None:
    tab.page.screenshot(path=str(screenshots / f"console-ledger-{name}.png"), full_page=True)


def _no_sideways_scroll(tab: OfflinePage) -> bool:
    return not tab.page.evaluate(
        """() => document.documentElement.scrollWidth > window.innerWidth
              || [...document.querySelectorAll('.table-wrap')].some(t => t.scrollWidth > t.clientWidth + 1)"""
    )


def test_credit_control_exports_a_month_and_downloads_the_file(
    console_page: OfflinePage, october: None, engine: Engine, screenshots: Path
) -> None:
    make_user(engine, "kari@acme.example", "credit")
    sign_in(console_page, "kari@acme.example", PASSWORD)
    page = console_page.page
    page.get_by_role("navigation", name="Console").get_by_role("link", name="Ledger").click()
    page.wait_for_load_state("networkidle")
    assert page.get_by_role("heading", name="Export a month").is_visible()
    months = page.locator("table.periods tbody tr")
    assert months.count() == 2 and "open" in months.nth(1).inner_text()
    assert unlabelled_fields(page) == [] and _no_sideways_scroll(console_page)
    _shot(console_page, screenshots, "before")

    page.get_by_label("Month", exact=True).fill("2026-10")
    page.get_by_label("Format").select_option("csv")
    with page.expect_navigation():
        page.get_by_role("button", name="Export and close the month").press("Enter")
    assert "Export 1: 2026-10 as CSV, 3 voucher(s)" in page.get_by_role("status").inner_text()
    october_row = page.locator("table.periods tbody tr.period-closed")
    assert october_row.count() == 1 and "2026-10" in october_row.inner_text()
    assert "3\u202f015.62" in october_row.inner_text()  # 1250.00 + 515.62 + 1250.00 debit
    assert page.locator("table.exports tbody tr").count() == 1
    _shot(console_page, screenshots, "exported")

    with page.expect_download() as download:
        page.get_by_role("link", name="journal-acme-2026-10-n1.csv").click()
    saved = Path(download.value.path())
    assert download.value.suggested_filename == "journal-acme-2026-10-n1.csv"
    found = inspect_file(saved.read_bytes())
    assert (found["vouchers"], found["balanced"], found["debit_total"]) == (3, True, "3015.62")
    assert console_page.elsewhere == []


def test_a_viewer_sees_the_months_without_the_form(
    console_page: OfflinePage, october: None, engine: Engine, screenshots: Path
) -> None:
    make_user(engine, "look@acme.example", "viewer")
    sign_in(console_page, "look@acme.example", PASSWORD)
    page = console_page.page
    page.goto(f"{console_page.base_url}/console/ledger")
    page.wait_for_load_state("networkidle")
    assert page.get_by_role("button", name="Export and close the month").count() == 0
    assert "your role is viewer" in page.get_by_role("main").inner_text()
    assert page.locator("table.periods tbody tr").count() == 2
    _shot(console_page, screenshots, "viewer")
    assert console_page.elsewhere == []
