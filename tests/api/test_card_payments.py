"""`GET /card-checkouts`, `GET /card-payouts`, `GET /card-payouts/{id}`: what operations read of card
payments through the API, over a real story (portal pay form, Stripe stand-in, webhooks, payout, camt.053),
each tenant seeing only its own."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from fastapi.testclient import TestClient

from tests.card_payments import NAMES, CardStory, settings, story
from tests.payment_providers import stripe

__all__ = ["settings", "story", "stripe"]  # fixtures


def test_checkouts_with_invoices_events_filters_and_paging(
    client: TestClient, auth: dict[str, str], story: CardStory
) -> None:
    answer = client.get("/card-checkouts", headers=auth)
    assert answer.status_code == 200, answer.text
    items = answer.json()["items"]
    assert [row["id"] for row in items] == [story.checkouts[n] for n in ("other", "b", "a")]
    paid = items[2]
    assert (paid["status"], paid["customer_name"], paid["provider"]) == ("paid", NAMES["C1"], "stripe")
    a = story.invoices["a"]
    assert paid["invoices"] == [{"id": a["id"], "number": a["number"], "amount": a["payable_amount"]}]
    assert paid["note"] in (None, "paid")  # what became of it, in words
    assert paid["provider_reference"].startswith("cs_test_") and paid["provider_payment"].startswith("pi_")
    assert [event["outcome"] for event in paid["events"]] == ["booked"]
    assert client.get(f"/payments/{paid['payment_id']}", headers=auth).status_code == 200
    only_open = client.get("/card-checkouts", params={"status": "open"}, headers=auth).json()["items"]
    assert [row["id"] for row in only_open] == [story.checkouts["other"]]
    of_c1 = client.get("/card-checkouts", params={"customer": "C1"}, headers=auth).json()["items"]
    assert sorted(row["id"] for row in of_c1) == sorted([story.checkouts["a"], story.checkouts["b"]])
    page = client.get("/card-checkouts", params={"limit": 1, "offset": 1}, headers=auth).json()["items"]
    assert [row["id"] for row in page] == [story.checkouts["b"]]
    assert client.get("/card-checkouts", params={"status": "lost"}, headers=auth).status_code == 422
    assert client.get("/card-checkouts", params={"limit": 0}, headers=auth).status_code == 422


def test_payouts_and_one_payout_with_its_advices_fees_and_bank_payment(
    client: TestClient, auth: dict[str, str], story: CardStory
) -> None:
    [payout] = client.get("/card-payouts", headers=auth).json()["items"]
    assert payout["id"] == story.payout_id and payout["status"] == "reconciled"
    assert Decimal(payout["amount"]) == story.net and payout["advices"] == 2
    assert payout["bank_payment"]["id"] == story.bank_payment_id
    assert client.get("/card-payouts", params={"status": "announced"}, headers=auth).json()["items"] == []
    detail = client.get(f"/card-payouts/{story.payout_id}", headers=auth)
    assert detail.status_code == 200, detail.text
    body = detail.json()
    assert Decimal(body["gross"]) - Decimal(body["fees"]) == Decimal(body["amount"]) == story.net
    assert body["bank_payment_id"] == story.bank_payment_id
    assert sorted(row["payment_id"] for row in body["payments"]) == sorted(story.advices)
    numbers = {row["checkout_id"]: [i["number"] for i in row["invoices"]] for row in body["payments"]}
    assert numbers == {story.checkouts[n]: [story.invoices[n]["number"]] for n in ("a", "b")}
    bank = client.get(f"/payments/{story.bank_payment_id}", headers=auth).json()
    assert bank["status"] == "reconciled"


def test_another_tenant_sees_none_of_it(
    client: TestClient, story: CardStory, token_for: Callable[[str], dict[str, str]]
) -> None:
    globex = token_for("globex")
    assert client.get("/card-checkouts", headers=globex).json()["items"] == []
    assert client.get("/card-payouts", headers=globex).json()["items"] == []
    foreign = client.get(f"/card-payouts/{story.payout_id}", headers=globex)
    unknown = client.get(f"/card-payouts/{'0' * 32}", headers=globex)
    assert foreign.status_code == unknown.status_code == 404
    assert foreign.json()["errors"][0]["field"] == "path.payout_id"
    assert client.get("/card-payouts").status_code == 401
