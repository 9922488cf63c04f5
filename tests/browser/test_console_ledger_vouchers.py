"""A ledger month and its vouchers in a real Chromium: from the Ledger page's month link to the month's
vouchers, a voucher's number to its lines (accounts named from the chart), back again by the links; no
sideways scroll, every field labelled, no other host asked. Screenshots of the month and the voucher."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from sqlalchemy import Engine

from tests.browser.conftest import OfflinePage, sign_in, unlabelled_fields
from tests.console.helpers import PASSWORD, make_user
from tests.services.ledger.journal_rows import add_invoice, add_payment


def _no_sideways_scroll(tab: OfflinePage) -> bool:
    return not tab.page.evaluate(
        """() => document.documentElement.scrollWidth > window.innerWidth
              || [...document.querySelectorAll('.table-wrap')].some(t => t.scrollWidth > t.clientWidth + 1)"""
    )


def test_a_viewer_goes_from_a_month_to_a_voucher_and_back(
    console_page: OfflinePage, engine: Engine, screenshots: Path
) -> None:
    add_invoice(engine, "acme", dt.date(2026, 10, 3), "1000.00", number="1001", customer="C-1")
    add_invoice(engine, "acme", dt.date(2026, 10, 9), "412.50", number="1002", customer="Nordlys AS")
    add_payment(engine, "acme", dt.date(2026, 10, 20), "1250.00", customer="C-1")
    make_user(engine, "look@acme.example", "viewer")
    sign_in(console_page, "look@acme.example", PASSWORD)
    page = console_page.page
    page.get_by_role("navigation", name="Console").get_by_role("link", name="Ledger").click()
    page.wait_for_load_state("networkidle")
    page.get_by_role("link", name="2026-10").click()
    page.wait_for_load_state("networkidle")
    assert page.get_by_role("heading", name="Ledger 2026-10", level=1).is_visible()
    rows = page.locator("table.vouchers tbody tr")
    assert rows.count() == 3 and "Nordlys AS" in rows.nth(1).inner_text()
    assert "1\u202f250.00" in rows.nth(2).inner_text()
    assert unlabelled_fields(page) == [] and _no_sideways_scroll(console_page)
    page.screenshot(path=str(screenshots / "console-ledger-month.png"), full_page=True)

    page.locator("table.vouchers").get_by_role("link", name="2", exact=True).click()
    page.wait_for_load_state("networkidle")
    assert page.get_by_role("heading", name="Voucher 2", level=1).is_visible()
    lines = page.locator("table.voucher-lines tbody tr")
    assert lines.count() == 3
    first = lines.nth(0).inner_text()
    assert "1500" in first and "Kundefordringer" in first and "10027" in first and "515.62" in first
    assert "Nordlys AS" in first
    assert _no_sideways_scroll(console_page)
    page.screenshot(path=str(screenshots / "console-ledger-voucher.png"), full_page=True)
    page.get_by_role("link", name="← Ledger 2026-10").click()
    page.wait_for_load_state("networkidle")
    assert page.url.endswith("/console/ledger/2026-10")
    assert console_page.elsewhere == []
