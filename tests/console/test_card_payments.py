"""The console's Card payments page: checkouts (customer, invoices, amount, provider, status, when, the
provider's events) and payouts (reference, net, gross, fees, arrival, reconciled with a link to the bank
payment), over a real story (portal pay form, Stripe stand-in, webhooks, payout, camt.053); read-only, one
tenant's, linked from the Payments page."""

from __future__ import annotations

import html
import re
from decimal import Decimal

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from gateway.console.templating import money
from tests.card_payments import NAMES, CardStory, card_story, settings, story
from tests.console.helpers import ConsoleClient, make_user
from tests.payment_providers import StripeStandIn, stripe

__all__ = ["settings", "story", "stripe"]  # fixtures


PAGE = "/console/payments/cards"


def _text(page: str) -> str:
    """The page as a person reads it (amounts' narrow no-break spaces kept: they are part of the figure)."""
    return re.sub(r"[ \t\r\n]+", " ", html.unescape(re.sub(r"<[^>]+>", " ", page))).strip()


def _row(page: str, row_id: str) -> str:
    found = re.search(rf'<tr id="{row_id}">.*?</tr>', page, re.S)
    assert found, f"no row {row_id}"
    return found.group(0)


def test_checkouts_and_payouts_as_an_operator_reads_them(viewer: ConsoleClient, story: CardStory) -> None:
    listing = viewer.get("/console/payments")
    assert f'href="{PAGE}"' in listing.text
    page = viewer.get(PAGE)
    assert page.status_code == 200, page.text
    paid = _row(page.text, f"checkout-{story.checkouts['a']}")
    assert f'href="/console/invoices/{story.invoices["a"]["id"]}"' in paid
    words = _text(paid)
    assert NAMES["C1"] in words and story.invoices["a"]["number"] in words and "Stripe" in words
    assert money(story.invoices["a"]["payable_amount"], "NOK") in words and "paid" in words
    assert "checkout.session.completed : booked" in words
    assert "the card payment →" in words
    waiting = _text(_row(page.text, f"checkout-{story.checkouts['other']}"))
    assert NAMES["C2"] in waiting and "open" in waiting and "provider event" not in waiting
    payout = _row(page.text, f"payout-{story.payout_id}")
    assert f'href="/console/payments/{story.bank_payment_id}"' in payout
    words = _text(payout)
    assert story.payout_reference in words and "reconciled" in words and "2 card payments" in words
    assert money(story.net, "NOK") in words
    for number in (story.invoices["a"]["number"], story.invoices["b"]["number"]):
        assert number in words  # what it bundles


def test_the_filter_narrows_the_checkouts(viewer: ConsoleClient, story: CardStory) -> None:
    only_open = viewer.get(PAGE, params={"status": "open"}).text
    assert f"checkout-{story.checkouts['other']}" in only_open
    assert f"checkout-{story.checkouts['a']}" not in only_open
    of_c1 = viewer.get(PAGE, params={"customer": "C1"}).text
    assert f"checkout-{story.checkouts['a']}" in of_c1 and f"checkout-{story.checkouts['other']}" not in of_c1
    assert "No checkout matches the filter." in viewer.get(PAGE, params={"customer": "C9"}).text
    assert viewer.get(PAGE, params={"status": "lost"}).status_code == 404


def test_an_announced_payout_waits_for_the_bank(
    viewer: ConsoleClient, client: TestClient, engine: Engine, auth: dict[str, str], stripe: StripeStandIn
) -> None:
    story = card_story(client, engine, auth, stripe, reconcile=False)
    words = _text(_row(viewer.get(PAGE).text, f"payout-{story.payout_id}"))
    assert "announced" in words and "waiting for the bank statement’s entry" in words
    assert Decimal(story.net) > 0


def test_another_tenants_user_sees_none_of_it(web: TestClient, engine: Engine, story: CardStory) -> None:
    other = ConsoleClient(web, make_user(engine, "ops@globex.example", "admin", tenants=("globex",)))
    page = other.get(PAGE).text
    assert story.payout_reference not in page and NAMES["C1"] not in page
    assert "No card checkout yet" in page and "No payout recorded yet" in page
