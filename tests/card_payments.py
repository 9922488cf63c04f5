"""Card payments as they really happen, for the tests of what operations read of them (service listings,
`/card-checkouts` and `/card-payouts`, the CLI, the console's Card payments page): customers pay through
the portal's pay form at the Stripe stand-in, its signed webhooks book the advices, Stripe pays them out
(`payout.paid`), and the bank statement's entry for the payout is reconciled.

A test module uses it with a `stripe` fixture and a `settings` fixture naming the stand-in
(`with_stripe`), then `card_story(client, engine, auth, stripe)`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlmodel import col

from db.engine import session_scope
from db.models import CardCheckout
from gateway.samples import kid_for, sample_invoice_json
from gateway.settings import Settings
from tests.payment_providers import StripeStandIn
from tests.payment_scenarios import invoice
from tests.portal.helpers import portal_session
from tests.remittance_files import Tx, camt053

STRIPE_PAYER = "STRIPE PAYMENTS EUROPE LTD"
#: The receiver profiles' names: a checkout shows its customer by it.
NAMES = {"C1": "Fjordkraft Kunde AS", "C2": "Nordlys Handel AS"}


def with_stripe(settings: Settings, tmp_path: Path, stripe: StripeStandIn) -> Settings:
    """`settings` with tenant acme's Stripe account at the stand-in."""
    path = tmp_path / "providers.json"
    path.write_text(json.dumps({"acme": {"stripe": stripe.settings()}}))
    return settings.model_copy(update={"payment_providers_file": path})


@dataclass(frozen=True)
class CardStory:
    """What `card_story` made: invoices by name, the checkouts (paid a and b, open other), the payout."""

    invoices: dict[str, dict[str, Any]]
    checkouts: dict[str, str]
    payout_id: str
    payout_reference: str
    net: Decimal
    advices: list[str]
    bank_payment_id: str


def _checkout(client: TestClient, engine: Engine, receiver: str, invoice_id: str) -> CardCheckout:
    identity = portal_session(client, engine, "acme", receiver)
    answer = client.post(
        "/portal/pay",
        data={"csrf_token": identity.csrf_token, "invoice": [invoice_id], "provider": "stripe"},
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text
    with session_scope(engine) as session:
        query = select(CardCheckout).order_by(col(CardCheckout.created_at).desc())
        row = session.execute(query).scalars().first()
        assert row is not None and row.invoice_ids == [invoice_id]
        session.expunge(row)
    return row


def card_story(
    client: TestClient, engine: Engine, auth: dict[str, str], stripe: StripeStandIn, *, reconcile: bool = True
) -> CardStory:
    """Customer C1 pays invoices a and b in two checkouts, C2 opens one for its invoice and leaves it; Stripe
    pays a and b out less its fees; the bank statement's entry for the payout is reconciled (`reconcile`)."""
    stripe.gateway = client
    for receiver, name in NAMES.items():
        profile = {
            "receiver_id": receiver, "name": name, "preferred_channel": "folder",
            "addresses": {"folder": receiver},
        }  # fmt: skip
        assert client.put(f"/receivers/{receiver}", json=profile, headers=auth).status_code == 200
    second = sample_invoice_json(1)["payment_means"]
    second[0]["payment_id"] = kid_for(101)
    views = {
        "a": invoice(client, auth, 1, routing={"receiver_id": "C1"}),
        "b": invoice(
            client, auth, 1, number="INV-000101", payment_means=second, routing={"receiver_id": "C1"}
        ),
        "other": invoice(client, auth, 3, routing={"receiver_id": "C2"}),
    }
    checkouts: dict[str, str] = {}
    for name, receiver in (("a", "C1"), ("b", "C1")):
        row = _checkout(client, engine, receiver, views[name]["id"])
        stripe.pay(row.provider_reference or "")
        checkouts[name] = row.id
    stripe.settle()
    checkouts["other"] = _checkout(client, engine, "C2", views["other"]["id"]).id
    payout_reference, net_minor, _ = stripe.payout()
    stripe.settle()
    assert stripe.deliveries[-1].answer["outcome"] == "payout", stripe.deliveries[-1].answer
    net = Decimal(net_minor) / 100
    with session_scope(engine) as session:
        paid = [session.get(CardCheckout, checkouts[name]) for name in ("a", "b")]
        advices = [row.payment_id for row in paid if row is not None and row.payment_id]
    assert len(advices) == 2
    bank_payment_id = ""
    if reconcile:
        entry = Tx(net, payer=STRIPE_PAYER, text=f"STRIPE {payout_reference.upper()}")
        answer = client.post(
            "/remittances?wait=true", content=camt053([entry]),
            headers={**auth, "Content-Type": "application/xml"},
        )  # fmt: skip
        assert answer.status_code in (200, 201), answer.text
        body = answer.json()
        [bank] = body["files"][0]["payments"] if "files" in body else body["payments"]
        assert bank["status"] == "reconciled", bank
        bank_payment_id = bank["id"]
    payouts = client.get("/card-payouts", headers=auth).json()["items"]
    [payout] = [row for row in payouts if row["payout_reference"] == payout_reference]
    return CardStory(views, checkouts, payout["id"], payout_reference, net, advices, bank_payment_id)


@pytest.fixture
def settings(settings: Settings, tmp_path: Path, stripe: StripeStandIn) -> Settings:
    """The seller takes cards through the Stripe stand-in (import this fixture with `stripe` and `story`)."""
    return with_stripe(settings, tmp_path, stripe)


@pytest.fixture
def story(client: TestClient, engine: Engine, auth: dict[str, str], stripe: StripeStandIn) -> CardStory:
    """The card story of `card_story`, played through the app."""
    return card_story(client, engine, auth, stripe)
