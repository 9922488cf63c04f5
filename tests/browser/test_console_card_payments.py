"""The operations side of card payments in a real Chromium at 1366×768: the Card payments page after two
customers used the portal's pay form (Stripe stand-in, webhooks, a payout reconciled on the bank
statement), and the Portal access block on a customer's page, where an operator invites someone by keyboard
and the invitation leaves by a real SMTP server on loopback. Screenshots: console-card-payments.png,
console-portal-access.png (full page), for a person to look at."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from gateway.settings import Settings
from tests.browser.conftest import OfflinePage, sign_in, unlabelled_fields
from tests.card_payments import NAMES, card_story, with_stripe
from tests.console.helpers import PASSWORD, make_user
from tests.payment_providers import StripeStandIn
from tests.portal.mailbox import Mailbox, mail_settings, mailbox

__all__ = ["mailbox"]  # fixture


@pytest.fixture
def stripe() -> Iterator[StripeStandIn]:
    stand_in = StripeStandIn()
    yield stand_in
    stand_in.close()


@pytest.fixture
def settings(settings: Settings, tmp_path: Path, stripe: StripeStandIn, mailbox: Mailbox) -> Settings:
    return with_stripe(mail_settings(settings, mailbox), tmp_path, stripe)


def test_card_payments_and_portal_access(
    console_page: OfflinePage,
    client: TestClient,
    engine: Engine,
    auth: dict[str, str],
    stripe: StripeStandIn,
    mailbox: Mailbox,
    screenshots: Path,
) -> None:
    story = card_story(client, engine, auth, stripe)
    make_user(engine, "drift@acme.example", "operator")
    page = console_page.page
    script_errors: list[str] = []
    page.on("pageerror", lambda error: script_errors.append(str(error)))
    sign_in(console_page, "drift@acme.example", PASSWORD)

    page.goto(f"{console_page.base_url}/console/payments", wait_until="networkidle")
    page.get_by_role("link", name="Card payments →").click()
    page.wait_for_load_state("networkidle")
    assert page.url.endswith("/console/payments/cards")
    assert unlabelled_fields(page) == []
    paid = page.locator(f"#checkout-{story.checkouts['a']}")
    assert NAMES["C1"] in paid.inner_text() and story.invoices["a"]["number"] in paid.inner_text()
    paid.locator("details.events summary").click()
    page.locator(f"#payout-{story.payout_id} details.bundled summary").click()
    assert page.locator(
        f'#payout-{story.payout_id} a[href="/console/payments/{story.bank_payment_id}"]'
    ).is_visible()
    page.screenshot(path=str(screenshots / "console-card-payments.png"), full_page=True)

    page.locator(f"#checkout-{story.checkouts['a']} td.customer a").click()
    page.wait_for_load_state("networkidle")
    assert page.url.endswith("/console/follow-up/customers/C1")
    page.get_by_label("E-mail", exact=True).fill("regnskap@kunde.test")
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent").strip() == "Send the invitation"
    page.keyboard.press("Enter")
    page.wait_for_load_state("networkidle")
    assert "Invited regnskap@kunde.test" in page.get_by_role("status").inner_text()
    assert mailbox.link_to("regnskap@kunde.test").startswith(f"{console_page.base_url}/portal/link/")
    block = page.locator("section.portal-access")
    assert "regnskap@kunde.test" in block.inner_text() and "ap@customer.example" in block.inner_text()
    assert unlabelled_fields(page) == []
    block.scroll_into_view_if_needed()
    page.screenshot(path=str(screenshots / "console-portal-access.png"), full_page=True)
    assert script_errors == []
    assert console_page.elsewhere == []
