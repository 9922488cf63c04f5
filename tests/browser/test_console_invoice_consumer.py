"""A consumer's invoice in a real Chromium at 1366×768: the tolerated VAT difference in words, the EHF
forward-billing profile, the consumer card (masked national identity number, the waterfall steps, the
eFaktura registry's word) and the AvtaleGiro mandate; the full number nowhere in the page."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from gateway.api.app import create_app
from gateway.settings import Settings
from tests.browser.conftest import OfflinePage, sign_in
from tests.console.consumer_scenario import (
    AGREEMENTS_FILE,
    MASKED,
    NATIONAL_ID,
    ConsumerInvoice,
    consumer_book,
)
from tests.console.helpers import PASSWORD, make_user


@pytest.fixture
def consumer(settings: Settings, engine: Engine) -> ConsumerInvoice:
    with TestClient(create_app(settings, engine)) as client:
        return consumer_book(client, engine, settings)


def test_a_consumer_invoice_reads_plainly(
    console_page: OfflinePage, consumer: ConsumerInvoice, engine: Engine, screenshots: Path
) -> None:
    make_user(engine, "credit@acme.example", "credit")
    page = console_page.page
    sign_in(console_page, "credit@acme.example", PASSWORD)
    page.goto(f"{console_page.base_url}/console/invoices/{consumer.number}")
    page.wait_for_load_state("networkidle")
    assert page.get_by_role("heading", level=1).inner_text() == f"Invoice {consumer.number}"

    tolerated = page.get_by_role("region", name="Accepted with a difference from the exact figure")
    assert tolerated.locator("li").inner_text() == (
        "BR-CO-17: VAT (25 %) 1\u202f706.20 stated, 1\u202f706.25 computed — "
        "within the official tolerance of 1.00"
    )
    assert "EHF forward billing 3.0" in page.locator("p.lead").inner_text()
    assert "Ingrid Fjeld (consumer)" in page.locator("p.lead").inner_text()

    buyer = page.get_by_role("region", name="Buyer").inner_text()
    assert MASKED in buyer
    card = page.get_by_role("region", name="Consumer")
    steps = card.locator("ol.steps > li")
    assert [steps.nth(i).inner_text() for i in range(steps.count())] == [
        "Step 1 of 2: efaktura failed",
        "Step 2 of 2: folder delivered",
    ]
    registry = card.inner_text()
    assert "the consumer refuses eFaktura from this issuer" in registry
    assert f"looked up by national identity number {MASKED}" in registry
    assert f"mandate for KID {consumer.kid}; the payer's bank notifies them of each claim" in registry
    assert AGREEMENTS_FILE in registry
    routes = page.locator("#deliveries + .table-wrap tbody tr td:first-child")
    assert [routes.nth(i).inner_text() for i in range(routes.count())] == [
        "waterfall step 1 of 2",
        "waterfall step 2 of 2",
    ]

    html = page.content()
    assert NATIONAL_ID not in html and f"{NATIONAL_ID[:6]} {NATIONAL_ID[6:]}" not in html
    # nothing scrolls sideways at 1366 px
    assert page.evaluate("document.documentElement.scrollWidth") <= 1366
    page.screenshot(path=str(screenshots / "console-invoice-consumer.png"))
    page.screenshot(path=str(screenshots / "console-invoice-consumer-full.png"), full_page=True)
    card.scroll_into_view_if_needed()
    page.screenshot(path=str(screenshots / "console-invoice-consumer-card.png"))
    assert console_page.elsewhere == []
