"""A credit controller resolves a payment exception in a real Chromium, by keyboard: the queue, the payment
with its suggestions and their evidence, a suggestion chosen, the invoice paid. Screenshots of the queue,
the payment and the remittance files."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from gateway.api.app import create_app
from gateway.settings import Settings
from tests.browser.conftest import OfflinePage, sign_in, unlabelled_fields
from tests.console.helpers import PASSWORD, api_auth, make_user
from tests.payment_scenarios import book_payments, payment_status, refuse_a_file


def test_resolve_an_exception_by_choosing_a_suggestion_by_keyboard(
    console_page: OfflinePage, engine: Engine, settings: Settings, screenshots: Path
) -> None:
    make_user(engine, "kreditt@acme.example", "credit")
    auth = api_auth(engine)
    with TestClient(create_app(settings, engine)) as api:
        booked = book_payments(api, auth)
        refuse_a_file(api, auth)
    page = console_page.page
    sign_in(console_page, "kreditt@acme.example", PASSWORD)

    page.goto(f"{console_page.base_url}/console/payments")
    assert page.get_by_role("link", name="Exceptions").get_attribute("aria-current") == "page"
    page.screenshot(path=str(screenshots / "console-payments.png"))
    twins = booked.payments["twins"]["id"]
    link = page.locator(f'a[href="/console/payments/{twins}"]')
    link.focus()
    page.keyboard.press("Enter")
    page.wait_for_load_state("networkidle")
    assert page.url.endswith(f"/console/payments/{twins}")
    assert unlabelled_fields(page) == []
    assert page.get_by_text("3,885.00 NOK equals the open amount of invoice INV-000101.").is_visible()
    page.screenshot(path=str(screenshots / "console-payment.png"), full_page=True)

    # the first suggestion is chosen; the arrow key moves to the second (INV-000101), Tab to the reason
    first = page.locator("#choice-0")
    first.focus()
    page.keyboard.press("ArrowDown")
    assert page.locator("#choice-1").is_checked()
    page.keyboard.press("Tab")
    page.keyboard.type("Midnattsol confirmed INV-000101 by phone")
    page.keyboard.press("Tab")
    focused = page.evaluate("document.activeElement.textContent")
    assert focused.strip() == "Book the chosen suggestion"
    page.keyboard.press("Enter")
    page.wait_for_load_state("networkidle")
    assert page.url.endswith(f"/console/payments/{twins}")
    assert "invoice INV-000101 is now paid" in page.get_by_role("status").inner_text()
    assert page.locator("h1 .badge").inner_text() == "resolved"
    with TestClient(create_app(settings, engine)) as api:
        assert payment_status(api, auth, "INV-000101")["payment_status"] == "paid"
        assert payment_status(api, auth, "INV-000001")["payment_status"] == "unpaid"
    page.screenshot(path=str(screenshots / "console-payment-resolved.png"), full_page=True)

    page.goto(f"{console_page.base_url}/console/remittances")
    assert page.get_by_text("camt054-broken.xml").is_visible()
    page.screenshot(path=str(screenshots / "console-remittances.png"), full_page=True)
    assert console_page.elsewhere == []


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_allocate_by_hand_with_a_write_off_after_a_preview(
    console_page: OfflinePage, engine: Engine, settings: Settings, screenshots: Path
) -> None:
    make_user(engine, "kreditt@acme.example", "credit")
    auth = api_auth(engine)
    with TestClient(create_app(settings, engine)) as api:
        booked = book_payments(api, auth)
    short = booked.payments["short"]
    page = console_page.page
    sign_in(console_page, "kreditt@acme.example", PASSWORD)
    page.goto(f"{console_page.base_url}/console/payments/{short['id']}")
    page.get_by_label("Invoice number 1").fill("INV-000002")
    page.get_by_label("Amount 1").fill(short["amount"])
    page.get_by_label("Write-off (optional)").fill("12.50")
    page.locator("#hand-reason").fill("Bank fee deducted by the payer")
    page.get_by_role("button", name="Preview").press("Enter")
    page.wait_for_load_state("networkidle")
    preview = page.locator(".preview")
    assert "Invoice INV-000002 becomes paid; 12.50 NOK written off" in preview.inner_text()
    assert preview.is_visible() and preview.bounding_box() is not None
    page.screenshot(path=str(screenshots / "console-payment-allocate-preview.png"))
    page.get_by_role("button", name="Book this allocation").press("Enter")
    page.wait_for_load_state("networkidle")
    assert "invoice INV-000002 is now paid" in page.get_by_role("status").inner_text()
    with TestClient(create_app(settings, engine)) as api:
        status = payment_status(api, auth, "INV-000002")
    assert status["payment_status"] == "paid" and status["allocations"][0]["write_off"] == "12.50"
    assert console_page.elsewhere == []
