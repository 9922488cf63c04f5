"""The Reports page in a real Chromium: a viewer reaches it from the navigation, picks a day and a month,
and sees the aging, DSO and deliveries tables with their charts loaded as images (drawn by the server, no
other host asked). Screenshotted whole."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine

from tests.browser.conftest import OfflinePage, sign_in, unlabelled_fields
from tests.console.helpers import PASSWORD, make_user
from tests.services.reports.scenarios import aging_history, delivery_history, dso_history

VIEWER = "look@acme.example"


def test_a_viewer_reads_the_reports_with_their_charts(
    console_page: OfflinePage, engine: Engine, screenshots: Path
) -> None:
    aging_history(engine)
    dso_history(engine)
    delivery_history(engine)
    make_user(engine, VIEWER, "viewer")
    sign_in(console_page, VIEWER, PASSWORD)
    page = console_page.page
    page.get_by_role("link", name="Reports").click()
    page.wait_for_load_state("networkidle")
    assert page.get_by_role("heading", name="Reports", level=1).is_visible()
    page.get_by_label("Aging as of", exact=True).fill("2026-11-30")
    page.get_by_label("Month", exact=True).fill("2026-11")
    page.get_by_label("DSO trend over").select_option("6")
    page.get_by_role("button", name="Show").click()
    page.wait_for_load_state("networkidle")
    assert "date=2026-11-30" in page.url and "period=2026-11" in page.url and "months=6" in page.url
    assert page.get_by_role("heading", name="Aging as of 2026-11-30").is_visible()
    assert page.get_by_role("heading", name="Deliveries per channel, 2026-11").is_visible()
    loaded = page.evaluate(
        "() => [...document.querySelectorAll('figure.chart img')]"
        ".map(i => [i.complete, Math.round(i.naturalWidth / i.naturalHeight * 10)])"
    )
    assert loaded == [[True, 20]] * 3  # every chart came and is an image (an SVG twice as wide as high)
    aging = page.locator("table.aging").first
    assert "Alfa AS" in aging.inner_text() and "Total NOK" in aging.inner_text()
    assert "email" in page.locator("table.deliveries-report").inner_text()
    assert unlabelled_fields(page) == []
    page.screenshot(path=str(screenshots / "console-reports.png"), full_page=True)
    page.locator("#h-dso").scroll_into_view_if_needed()
    page.screenshot(path=str(screenshots / "console-reports-dso.png"))
    assert console_page.elsewhere == [] and console_page.failed == []
