"""The customer portal's story in a real Chromium, against the app on a real socket, a real SMTP server on
loopback (the sign-in link) and the Stripe stand-in (its hosted Checkout page, its signed webhooks):

a customer signs in with the one-time link its registered address received, sees its own invoices and none
of another customer's (another customer's invoice URL is a 404), opens an invoice's PDF and its proof of
delivery, pays two invoices in one Stripe checkout and sees them paid once the webhook has come — and paid
once only when the webhook comes again; an expired link and a used link are refused. Screenshots at
1366×768 and at a phone's 390×844 (portal-tour-*.png).

Raising an inquiry and seeing the console's answer is `test_portal_inquiries.py`; the sign-in pages at both
widths `test_portal_access.py`; every invoice page at both widths `test_portal_pages.py`.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from fastapi.testclient import TestClient
from playwright.sync_api import Browser, Page, Route
from sqlalchemy import Engine, func, select, update

from db.engine import session_scope
from db.models import CardCheckout, PaymentRecord, PortalLinkToken, ProviderEvent
from gateway.api.app import create_app
from gateway.settings import Settings
from tests.browser.conftest import unlabelled_fields
from tests.payment_providers import StripeStandIn, stripe
from tests.portal.customer_scenario import Customers, two_customers
from tests.portal.mailbox import Mailbox, mail_settings, mailbox

__all__ = ["mailbox", "stripe"]  # fixtures

CUSTOMER = "ap@c-a.example"
PHONE = {"width": 390, "height": 844}


@pytest.fixture
def settings(settings: Settings, mailbox: Mailbox, stripe: StripeStandIn, tmp_path: Path) -> Settings:
    """Portal mail to the loopback SMTP server; the seller takes cards through the Stripe stand-in."""
    providers = tmp_path / "providers.json"
    providers.write_text(json.dumps({"acme": {"stripe": stripe.settings()}}))
    return mail_settings(settings, mailbox, payment_providers_file=providers)


@pytest.fixture
def book(settings: Settings, engine: Engine) -> Customers:
    with TestClient(create_app(settings, engine)) as client:
        return two_customers(client, engine, settings)


class Tab:
    """A browser tab that may talk to the app and the Stripe stand-in only: anything else is refused and
    remembered (none may happen)."""

    def __init__(self, page: Page, base_url: str, stripe: StripeStandIn) -> None:
        self.page = page
        self.base_url = base_url
        self.elsewhere: list[str] = []
        allowed = {urlsplit(base_url).netloc, urlsplit(stripe.base).netloc}
        page.route("**/*", lambda route: self._only(route, allowed))

    def _only(self, route: Route, allowed: set[str]) -> None:
        parts = urlsplit(route.request.url)
        if parts.scheme in ("http", "https") and parts.netloc not in allowed:
            self.elsewhere.append(route.request.url)
            route.abort()
        else:
            route.continue_()

    def shoot(self, screenshots: Path, name: str) -> None:
        """The page at 1366×768, then at a phone's width (and back)."""
        self.page.screenshot(path=str(screenshots / f"portal-tour-{name}-desktop.png"), full_page=True)
        self.page.set_viewport_size(PHONE)
        self.page.screenshot(path=str(screenshots / f"portal-tour-{name}-phone.png"), full_page=True)
        width = self.page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], f"{name}: {width}px wide on a {PHONE['width']}px phone"
        self.page.set_viewport_size({"width": 1366, "height": 768})


@pytest.fixture
def tab(browser: Browser, served: str, stripe: StripeStandIn) -> Iterator[Tab]:
    context = browser.new_context(viewport={"width": 1366, "height": 768})
    yield Tab(context.new_page(), served, stripe)
    context.close()


@pytest.fixture
def webhooks_to_the_app(served: str, stripe: StripeStandIn) -> Iterator[None]:
    """The stand-in's webhooks go to the app on its socket."""
    with httpx.Client(base_url=served, timeout=20) as client:
        stripe.gateway = client
        yield
        stripe.gateway = None


def _ask_for_link(tab: Tab, mailbox: Mailbox, count: int) -> str:
    page = tab.page
    page.goto(f"{tab.base_url}/portal/sign-in?seller=acme")
    page.get_by_label("E-postadresse").first.fill(CUSTOMER)
    page.keyboard.press("Enter")
    page.wait_for_load_state("networkidle")
    return mailbox.link_to(CUSTOMER, count)


def _count(engine: Engine, model: Any, *where: Any) -> int:
    with session_scope(engine) as session:
        return int(session.execute(select(func.count()).select_from(model).where(*where)).scalar_one())


def test_a_customer_signs_in_sees_its_own_invoices_and_pays_two_by_card(
    tab: Tab,
    book: Customers,
    engine: Engine,
    mailbox: Mailbox,
    stripe: StripeStandIn,
    screenshots: Path,
    webhooks_to_the_app: None,
) -> None:
    page = tab.page

    # An expired link is refused, whoever opens it.
    expired = _ask_for_link(tab, mailbox, 1)
    with session_scope(engine) as session:
        past = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)
        session.execute(update(PortalLinkToken).values(expires_at=past))
    refused = page.goto(expired)
    assert refused is not None and refused.status == 410
    assert page.get_by_role("heading", name="Lenken virker ikke").is_visible()
    assert page.get_by_role("button", name="Fortsett").count() == 0
    assert "/portal/invoices" not in page.url

    # A fresh one signs in; used once, it is refused the next time.
    link = _ask_for_link(tab, mailbox, 2)
    page.goto(link)
    page.get_by_role("button", name="Fortsett").click()
    page.wait_for_load_state("networkidle")
    assert page.url == f"{tab.base_url}/portal/"
    page.goto(link)
    assert page.get_by_role("heading", name="Lenken virker ikke").is_visible()

    # Its own invoices, none of the other customer's.
    page.goto(f"{tab.base_url}/portal/invoices?show=all")
    listed = page.locator("main").inner_text()
    for name in ("A1", "A2", "A3", "A4", "A5"):
        assert book.views[name]["number"] in listed
    assert book.views["B1"]["number"] not in listed
    other = page.goto(f"{tab.base_url}/portal/invoices/{book.ids['B1']}")
    assert other is not None and other.status == 404
    assert page.get_by_role("heading", name="Ikke funnet").is_visible()

    # An invoice's PDF as sent, and its proof of delivery, through the links its page shows.
    page.goto(f"{tab.base_url}/portal/invoices/{book.ids['A1']}")
    links = page.locator("main a[href*='/documents/'], main a[href*='/pods/']")
    targets = [links.nth(i).get_attribute("href") or "" for i in range(links.count())]
    pdf = next(href for href in targets if "/documents/" in href)
    pod = next(href for href in targets if "/pods/" in href)
    shown_pdf = page.context.request.get(f"{tab.base_url}{pdf}")
    assert shown_pdf.status == 200 and shown_pdf.headers["content-type"] == "application/pdf"
    assert shown_pdf.body().startswith(b"%PDF-")
    shown_pod = page.context.request.get(f"{tab.base_url}{pod}")
    assert shown_pod.status == 200 and len(shown_pod.body()) > 0

    # Two invoices paid in one Stripe checkout.
    page.goto(f"{tab.base_url}/portal/")
    assert unlabelled_fields(page) == []
    chosen = [book.ids["A2"], book.ids["A3"]]
    for invoice_id in chosen:
        page.locator(f"input[name='invoice'][value='{invoice_id}']").check()
    tab.shoot(screenshots, "overview-chosen")
    page.get_by_role("button", name="Betal med kort").click()
    page.wait_for_load_state("networkidle")
    assert page.url.startswith(f"{stripe.base}/c/pay/cs_test_")
    owed = sum(float(book.views[name]["payable_amount"]) for name in ("A2", "A3"))
    assert f"{owed:.2f} NOK" in page.locator("h1").inner_text()
    page.get_by_role("button", name="Pay").click()
    page.wait_for_load_state("networkidle")
    assert page.url.startswith(f"{tab.base_url}/portal/pay/") and "result=success" in page.url
    stripe.settle()
    [delivery] = [d for d in stripe.deliveries if json.loads(d.body)["type"] == "checkout.session.completed"]
    assert delivery.status == 200 and delivery.answer["outcome"] == "booked", delivery.answer
    page.reload()
    assert page.get_by_role("heading", name="Betalt").is_visible(), page.locator("main").inner_text()
    tab.shoot(screenshots, "paid")
    page.goto(f"{tab.base_url}/portal/invoices?show=paid")
    paid = page.locator("main").inner_text()
    assert book.views["A2"]["number"] in paid and book.views["A3"]["number"] in paid

    # The webhook again: answered, nothing booked twice.
    again = stripe.send_now(delivery.body)
    assert again.status_code == 200 and again.json()["duplicate"] is True
    assert _count(engine, PaymentRecord, PaymentRecord.kind == "card") == 1  # type: ignore[arg-type]
    assert _count(engine, ProviderEvent, ProviderEvent.provider == "stripe") == 1  # type: ignore[arg-type]
    assert _count(engine, CardCheckout, CardCheckout.status == "paid") == 1  # type: ignore[arg-type]
    assert tab.elsewhere == []
