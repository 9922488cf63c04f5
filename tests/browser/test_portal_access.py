"""A customer signs in to the portal in a real Chromium through the link a real e-mail carried (aiosmtpd on
loopback), at a desktop and at a phone width; screenshots of the sign-in, check-your-e-mail, continue and
account pages (portal-*.png)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser
from sqlalchemy import Engine, select

from db.engine import session_scope
from db.models import PortalSession
from gateway.settings import Settings
from tests.browser.conftest import OfflinePage, unlabelled_fields
from tests.portal.mailbox import Mailbox, mail_settings, mailbox, seed_customer

__all__ = ["mailbox"]  # fixture

SIZES = {"desktop": (1366, 768), "phone": (390, 844)}


@pytest.fixture
def settings(settings: Settings, mailbox: Mailbox) -> Settings:
    """The app the browser talks to sends its portal mail to the loopback server."""
    return mail_settings(settings, mailbox)


@pytest.fixture
def tabs(browser: Browser, served: str) -> Iterator[dict[str, OfflinePage]]:
    contexts = {
        name: browser.new_context(viewport={"width": w, "height": h}) for name, (w, h) in SIZES.items()
    }
    yield {name: OfflinePage(context.new_page(), served) for name, context in contexts.items()}
    for context in contexts.values():
        context.close()


def test_sign_in_with_the_e_mailed_link(
    tabs: dict[str, OfflinePage], engine: Engine, mailbox: Mailbox, screenshots: Path
) -> None:
    seed_customer(engine)
    for count, (size, tab) in enumerate(tabs.items(), start=1):
        page = tab.page
        page.goto(f"{tab.base_url}/portal/sign-in?seller=acme")
        assert unlabelled_fields(page) == []
        assert "Acme AS" in page.locator("header").inner_text()
        page.screenshot(path=str(screenshots / f"portal-sign-in-{size}.png"), full_page=True)

        page.get_by_label("E-postadresse").first.fill("ap@customer.test")
        page.keyboard.press("Enter")
        page.wait_for_load_state("networkidle")
        assert page.get_by_role("heading", name="Sjekk e-posten din").is_visible(), page.content()
        page.screenshot(path=str(screenshots / f"portal-check-email-{size}.png"), full_page=True)

        link = mailbox.link_to("ap@customer.test", count)
        assert link.startswith(tab.base_url)
        page.goto(link)
        assert page.get_by_role("button", name="Fortsett").is_visible()
        page.screenshot(path=str(screenshots / f"portal-continue-{size}.png"), full_page=True)
        page.get_by_role("button", name="Fortsett").click()
        page.wait_for_load_state("networkidle")
        assert page.url.startswith(f"{tab.base_url}/portal/")

        page.goto(f"{tab.base_url}/portal/account")
        assert page.get_by_role("heading", name="Din konto").is_visible()
        assert "ap@customer.test" in page.locator("main").inner_text()
        assert unlabelled_fields(page) == []
        page.screenshot(path=str(screenshots / f"portal-account-{size}.png"), full_page=True)

        # The link again, in the same browser: used up.
        page.goto(link)
        assert page.get_by_role("heading", name="Lenken virker ikke").is_visible()
        if size == "desktop":
            page.screenshot(path=str(screenshots / f"portal-link-refused-{size}.png"), full_page=True)
            # Asking again leads to this seller's form; the language switch keeps the seller.
            page.get_by_role("link", name="Be om en ny lenke").click()
            page.get_by_role("button", name="English").click()
            page.wait_for_load_state("networkidle")
            assert page.url.endswith("/portal/sign-in?seller=acme")
            assert page.get_by_role("heading", name="Sign in to the invoice portal").is_visible()
        assert tab.elsewhere == []
    with session_scope(engine) as session:
        live = session.execute(select(PortalSession).where(PortalSession.ended_at.is_(None))).scalars().all()  # type: ignore[union-attr]
        assert len(live) == 2 and all(row.user_id for row in live)
