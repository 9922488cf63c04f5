"""`gateway payments checkouts` and `gateway payments payouts`: the card payments operations read, as a
table and as JSON, over a real story (portal pay form, Stripe stand-in, webhooks, payout, camt.053)."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from gateway.settings import Settings
from tests.card_payments import NAMES, card_story, settings
from tests.cli.conftest import invoke
from tests.payment_providers import StripeStandIn, stripe

__all__ = ["settings", "stripe"]  # fixtures


def test_checkouts_and_payouts(
    cli_env: Settings, client: TestClient, engine: Engine, auth: dict[str, str], stripe: StripeStandIn
) -> None:
    story = card_story(client, engine, auth, stripe)
    table = invoke("payments", "checkouts", "--tenant", "acme")
    assert table.exit_code == 0, table.output
    assert NAMES["C1"] in table.output and story.invoices["a"]["number"] in table.output
    assert "checkout.session.completed: booked" in table.output
    checkouts = ("payments", "checkouts", "--tenant", "acme", "--json")
    listed = json.loads(invoke(*checkouts, "--status", "open").output)
    assert [row["id"] for row in listed["items"]] == [story.checkouts["other"]]
    of_c1 = json.loads(invoke(*checkouts, "--customer", "C1").output)
    assert {row["receiver_id"] for row in of_c1["items"]} == {"C1"} and len(of_c1["items"]) == 2
    assert invoke("payments", "checkouts", "--tenant", "acme", "--status", "lost").exit_code == 2
    payouts = invoke("payments", "payouts", "--tenant", "acme")
    assert payouts.exit_code == 0, payouts.output
    assert story.payout_reference in payouts.output and "reconciled" in payouts.output
    assert story.bank_payment_id in payouts.output
    [payout] = json.loads(invoke("payments", "payouts", "--tenant", "acme", "--json").output)["items"]
    assert payout["id"] == story.payout_id and payout["bank_payment"]["id"] == story.bank_payment_id
    assert json.loads(invoke("payments", "payouts", "--tenant", "globex", "--json").output)["items"] == []
