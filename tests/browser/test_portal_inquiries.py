"""An inquiry in a real Chromium: the customer raises it on an invoice in the portal (with a photo), the ops
user answers it from the console's dispute page, and the customer sees the answer in its thread (and never
the team's internal note). The inquiry form and the thread are screenshotted at 1366×768 and at a phone's
390×844; the console's dispute page with the reply too."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from playwright.sync_api import Browser
from sqlalchemy import Engine

from gateway.api.app import create_app
from gateway.settings import Settings
from tests.browser.conftest import OfflinePage, sign_in, unlabelled_fields
from tests.console.helpers import PASSWORD, api_auth, make_user
from tests.portal.helpers import portal_session
from tests.services.test_portal_inquiries import customer_invoice
from tests.services.test_resend_with_pod import photo

OPS = "ops@acme.example"
SIZES = {"desktop": (1366, 768), "phone": (390, 844)}


@pytest.fixture
def invoices(settings: Settings, engine: Engine) -> dict[str, Any]:
    """Customer C1's invoice, and the portal session cookie of its user (made as a sign-in would)."""
    with TestClient(create_app(settings, engine), base_url="http://testserver") as api:
        auth = api_auth(engine)
        mine = customer_invoice(api, auth, 1, "C1")
        customer_invoice(api, auth, 2, "C2")
        portal_session(api, engine, "acme", "C1", email="ap@c1.example")
        cookie = api.cookies.get("gw_portal")
        assert cookie
    make_user(engine, OPS, "operator")
    return {"invoice": mine, "cookie": cookie}


def _portal_tab(browser: Browser, served: str, cookie: str, size: str) -> OfflinePage:
    width, height = SIZES[size]
    context = browser.new_context(viewport={"width": width, "height": height})
    context.add_cookies([{"name": "gw_portal", "value": cookie, "url": f"{served}/portal/"}])
    return OfflinePage(context.new_page(), served)


def _shot(tab: OfflinePage, screenshots: Path, name: str) -> None:
    tab.page.screenshot(path=str(screenshots / f"portal-{name}.png"), full_page=True)


def test_the_customer_asks_ops_answer_in_the_console_and_the_customer_sees_it(
    browser: Browser,
    served: str,
    console_page: OfflinePage,
    invoices: dict[str, Any],
    screenshots: Path,
    tmp_path: Path,
) -> None:
    customer = _portal_tab(browser, served, invoices["cookie"], "desktop")
    page = customer.page
    page.goto(f"{served}/portal/invoices/{invoices['invoice']}/inquiry")
    assert unlabelled_fields(page) == []
    _shot(customer, screenshots, "inquiry-form-desktop")

    picture = tmp_path / "broken-pallet.png"
    picture.write_bytes(photo())
    page.get_by_label("Hva gjelder det?").select_option("goods")
    page.get_by_label("Din melding").fill("To paller kom knust fram. Bilde vedlagt.")
    page.get_by_label("Vedlegg").set_input_files(str(picture))
    with page.expect_navigation():
        page.get_by_role("button", name="Send henvendelsen").click()
    assert "Henvendelsen er sendt" in page.get_by_role("status").inner_text()
    dispute_url = page.url
    dispute_id = dispute_url.rstrip("/").split("/")[-1]
    assert "broken-pallet.png" in page.locator("ol.inq-thread").inner_text()

    sign_in(console_page, OPS, PASSWORD)
    ops = console_page.page
    ops.goto(f"{served}/console/follow-up/disputes/{dispute_id}")
    assert unlabelled_fields(ops) == []
    ops.get_by_label("Message").fill("Internal: check with the carrier first")
    with ops.expect_navigation():
        ops.get_by_role("button", name="Add", exact=True).click()
    ops.get_by_label("Answer to the customer").fill("Beklager! Vi sender to nye paller i morgen.")
    with ops.expect_navigation():
        ops.get_by_role("button", name="Send to the customer").click()
    thread = ops.locator("ol.thread")
    assert thread.locator("li.msg-seller").count() == 1
    assert thread.locator(".customer-sees").count() == 3 and thread.locator(".internal-only").count() == 1
    ops.screenshot(path=str(screenshots / "console-followup-dispute-reply.png"), full_page=True)

    page.goto(dispute_url)
    seen = page.locator("ol.inq-thread").inner_text()
    assert "Vi sender to nye paller i morgen." in seen
    assert "carrier" not in page.content()
    _shot(customer, screenshots, "inquiry-thread-desktop")

    phone = _portal_tab(browser, served, invoices["cookie"], "phone")
    phone.page.goto(f"{served}/portal/invoices/{invoices['invoice']}/inquiry")
    _shot(phone, screenshots, "inquiry-form-phone")
    phone.page.goto(dispute_url)
    _shot(phone, screenshots, "inquiry-thread-phone")
    width = phone.page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the thread is {width}px wide on a 390px phone"
    phone.page.goto(f"{served}/portal/inquiries")
    _shot(phone, screenshots, "inquiries-phone")
    assert phone.page.evaluate("document.documentElement.scrollWidth") <= 390

    for tab in (customer, phone, console_page):
        assert tab.elsewhere == []
    phone.page.context.close()
    customer.page.context.close()
