"""The overview in a real Chromium at 1366×768: a fortnight of traffic, and a tenant with nothing yet."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from db.models import utcnow
from gateway.settings import Settings
from tests.browser.conftest import OfflinePage, sign_in
from tests.console import overview_data
from tests.console.helpers import PASSWORD, make_user


def test_the_overview_with_a_fortnight_of_traffic(
    console_page: OfflinePage, client: TestClient, engine: Engine, settings: Settings, screenshots: Path
) -> None:
    overview_data.build(client, engine, settings, utcnow())
    make_user(engine, "ops@acme.example", "operator")
    sign_in(console_page, "ops@acme.example", PASSWORD)
    page = console_page.page
    assert page.url == f"{console_page.base_url}/console/"
    charts = page.get_by_role("img")
    assert charts.count() == 3
    names = [charts.nth(i).get_attribute("aria-label") for i in range(3)]
    assert names == [
        "Deliveries created per day and channel, last 14 days",
        "Open deviations by cause, split by how long they have been open",
        "Automatic-match rate and false automatic rate per week",
    ]
    page.screenshot(path=str(screenshots / "console-overview.png"), full_page=True)
    # every chart fits its card: nothing drawn past the right edge at 1366 wide
    for i in range(3):
        box = charts.nth(i).bounding_box()
        assert box is not None and box["x"] + box["width"] <= 1366 and box["width"] > 300
    # the charts' numbers as tables, one click (or Enter) away
    per_day = page.get_by_role("region", name="Deliveries per day")
    per_day.get_by_text("The figures as a table").click()
    assert per_day.get_by_role("row").count() == 1 + 14
    # a card is a link to the page behind the figure, reachable by keyboard
    page.get_by_role("link", name="Open deviations 4").focus()
    assert page.evaluate("document.activeElement.getAttribute('href')") == "/console/deviations"
    assert console_page.elsewhere == []


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_new_tenant_sees_what_will_appear(
    console_page: OfflinePage, engine: Engine, screenshots: Path
) -> None:
    make_user(engine, "new@fresh.example", "viewer", tenants=("fresh",))
    sign_in(console_page, "new@fresh.example", PASSWORD)
    page = console_page.page
    assert page.get_by_role("img").count() == 0
    assert page.get_by_text("No deliveries yet: they appear here once invoices come in.").is_visible()
    page.screenshot(path=str(screenshots / "console-overview-empty.png"), full_page=True)
    assert console_page.elsewhere == []
