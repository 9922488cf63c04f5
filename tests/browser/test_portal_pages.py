"""The customer's pages in a real Chromium, at a laptop's 1366×768 and a phone's 390×844: the overview, the
invoice list, an invoice with its PDF and POD, the statements. Every page fits the phone's width (the tables
fold into cards), the PDF opens as a PDF, another customer's invoice is a 404 page, and nothing is fetched
from another host. Screenshots: portal-<page>-<desktop|phone>.png."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from playwright.sync_api import Browser
from sqlalchemy import Engine

from gateway.api.app import create_app
from gateway.settings import Settings
from tests.browser.conftest import OfflinePage, unlabelled_fields
from tests.portal.customer_scenario import Customers, two_customers
from tests.portal.helpers import portal_session
from tests.portal.providers_config import STRIPE, VIPPS

SIZES = {"desktop": (1366, 768), "phone": (390, 844)}


@pytest.fixture
def book(settings: Settings, engine: Engine, tmp_path: Path) -> tuple[Customers, str]:
    """The two customers' book, card payments configured, and C-A's signed session cookie."""
    providers = tmp_path / "providers.json"
    providers.write_text(json.dumps({"acme": {"stripe": STRIPE, "vipps": VIPPS}}))
    settings.payment_providers_file = providers
    with TestClient(create_app(settings, engine)) as client:
        customers = two_customers(client, engine, settings)
        portal_session(client, engine, "acme", "C-A", email="ap@c-a.example")
        cookie = client.cookies.get("gw_portal", path="/portal")
    assert cookie
    return customers, cookie


def _tab(browser: Browser, served: str, size: str, cookie: str) -> tuple[OfflinePage, object]:
    width, height = SIZES[size]
    context = browser.new_context(viewport={"width": width, "height": height})
    context.add_cookies(
        [{"name": "gw_portal", "value": cookie, "domain": "127.0.0.1", "path": "/portal", "httpOnly": True}]
    )
    return OfflinePage(context.new_page(), served), context


@pytest.mark.parametrize("size", list(SIZES))
def test_the_customers_pages_at_laptop_and_phone_width(
    browser: Browser, served: str, book: tuple[Customers, str], screenshots: Path, size: str
) -> None:
    customers, cookie = book
    tab, context = _tab(browser, served, size, cookie)
    page = tab.page
    width = SIZES[size][0]
    shown = {
        "overview": "/portal/",
        "invoices": "/portal/invoices?show=all",
        "invoice": f"/portal/invoices/{customers.ids['A1']}",
        "statements": "/portal/statements",
    }
    for name, path in shown.items():
        answer = page.goto(f"{served}{path}")
        assert answer is not None and answer.status == 200, path
        page.wait_for_load_state("networkidle")
        assert page.evaluate("document.documentElement.scrollWidth") <= width, f"{name} is wider than {width}"
        assert unlabelled_fields(page) == [], name
        page.screenshot(path=str(screenshots / f"portal-{name}-{size}.png"), full_page=True)

    page.goto(f"{served}/portal/")
    assert page.locator("form#pay-form button[name=provider]").count() == 2
    assert page.locator("input[name=invoice][form=pay-form]").count() == 3
    assert "INV-000006" not in page.locator("main").inner_text()

    page.goto(f"{served}/portal/invoices/{customers.ids['A1']}")
    pdf = page.locator("ul.files a").first.get_attribute("href")
    assert pdf is not None
    fetched = page.request.get(f"{served}{pdf}")
    assert fetched.status == 200 and fetched.headers["content-type"] == "application/pdf"
    assert fetched.body().startswith(b"%PDF")

    missing = page.goto(f"{served}/portal/invoices/{customers.ids['B1']}")
    assert missing is not None and missing.status == 404
    assert page.get_by_role("heading", level=1).inner_text() in ("Ikke funnet", "Not found")
    assert tab.elsewhere == []
    context.close()  # type: ignore[attr-defined]
