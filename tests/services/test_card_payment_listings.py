"""What operations read of card payments (`gateway.services.portal.card_payments`): checkouts with their
invoices' numbers and provider events, payouts with the bank payment, one payout's advices and invoices —
over a real story (portal pay form, Stripe stand-in, signed webhooks, payout, camt.053), one tenant only."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import Engine

from db.engine import session_scope
from gateway.services.portal.card_payments import (
    CardPayoutNotFound,
    list_card_checkouts,
    list_card_payouts,
    payout_detail,
)
from tests.card_payments import NAMES, CardStory, settings, story
from tests.payment_providers import stripe

__all__ = ["settings", "story", "stripe"]  # fixtures


def test_checkouts_name_their_customer_invoices_and_events(engine: Engine, story: CardStory) -> None:
    with session_scope(engine) as session:
        rows = list_card_checkouts(session, "acme")
    by_id = {row["id"]: row for row in rows}
    assert [row["id"] for row in rows] == [story.checkouts[n] for n in ("other", "b", "a")]  # newest first
    paid = by_id[story.checkouts["a"]]
    assert paid["status"] == "paid" and paid["customer_name"] == NAMES["C1"]
    assert [invoice["number"] for invoice in paid["invoices"]] == [story.invoices["a"]["number"]]
    assert paid["payment_id"] in story.advices
    assert Decimal(paid["amount"]) == Decimal(story.invoices["a"]["payable_amount"])
    events = [(e["event_type"], e["outcome"]) for e in paid["events"]]
    assert events == [("checkout.session.completed", "booked")]
    waiting = by_id[story.checkouts["other"]]
    assert (waiting["status"], waiting["customer_name"], waiting["events"]) == ("open", NAMES["C2"], [])


def test_checkouts_filter_by_status_and_customer_and_page(engine: Engine, story: CardStory) -> None:
    with session_scope(engine) as session:
        waiting = list_card_checkouts(session, "acme", status="open")
        assert [r["id"] for r in waiting] == [story.checkouts["other"]]
        assert {r["receiver_id"] for r in list_card_checkouts(session, "acme", receiver_id="C1")} == {"C1"}
        assert len(list_card_checkouts(session, "acme", receiver_id="C1")) == 2
        first = list_card_checkouts(session, "acme", limit=1)
        second = list_card_checkouts(session, "acme", limit=1, offset=1)
        assert [r["id"] for r in first + second] == [story.checkouts["other"], story.checkouts["b"]]
        assert list_card_checkouts(session, "globex") == []


def test_a_reconciled_payout_names_its_bank_payment_and_what_it_bundles(
    engine: Engine, story: CardStory
) -> None:
    with session_scope(engine) as session:
        [payout] = list_card_payouts(session, "acme")
        assert list_card_payouts(session, "acme", status="announced") == []
        detail = payout_detail(session, "acme", story.payout_id)
    assert payout["status"] == "reconciled" and payout["advices"] == 2
    assert Decimal(payout["amount"]) == story.net
    assert Decimal(payout["gross"]) - Decimal(payout["fees"]) == story.net and Decimal(payout["fees"]) > 0
    assert payout["bank_payment"]["id"] == story.bank_payment_id
    assert Decimal(payout["bank_payment"]["amount"]) == story.net
    bundled = {row["payment_id"]: row for row in detail["payments"]}
    assert set(bundled) == set(story.advices)
    numbers = sorted(invoice["number"] for row in detail["payments"] for invoice in row["invoices"])
    assert numbers == sorted(story.invoices[n]["number"] for n in ("a", "b"))
    assert {row["checkout_id"] for row in detail["payments"]} == {story.checkouts["a"], story.checkouts["b"]}
    assert sum(Decimal(row["amount"]) for row in detail["payments"]) == Decimal(payout["gross"])


def test_another_tenants_payout_is_not_found(engine: Engine, story: CardStory) -> None:
    with session_scope(engine) as session:
        with pytest.raises(CardPayoutNotFound):
            payout_detail(session, "globex", story.payout_id)
        with pytest.raises(CardPayoutNotFound):
            payout_detail(session, "acme", "0" * 32)
        assert list_card_payouts(session, "globex") == []
