"""Pay by link through the portal, against the providers' stand-ins: the pay form opens a checkout at the
provider and sends the browser there; the provider's signed webhook books a card payment advice that
matching applies; refused, repeated, declined, abandoned and late webhooks; another customer's invoice.

Booking (`book_advice`) goes through the remittance intake as format "card-advice"
(mappings/remittance/card_advice.py, the ADVICE helper's): the tests marked "books" need it."""

from __future__ import annotations

import json
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from sqlmodel import col

from db.engine import session_scope
from db.models import CardCheckout, CardPayout, PaymentAllocation, PaymentRecord, ProviderEvent
from gateway.samples import kid_for, sample_invoice_json
from gateway.settings import Settings
from tests.payment_providers import (
    DECLINED_CARD,
    StripeStandIn,
    VippsStandIn,
    stripe,
    stripe_signature,
    vipps,
)
from tests.payment_scenarios import invoice, receive
from tests.portal.helpers import portal_session
from tests.remittance_files import Tx, camt053, camt054

__all__ = ["stripe", "vipps"]  # fixtures


@pytest.fixture
def settings(settings: Settings, tmp_path: Path, stripe: StripeStandIn, vipps: VippsStandIn) -> Settings:
    path = tmp_path / "providers.json"
    path.write_text(json.dumps({"acme": {"stripe": stripe.settings(), "vipps": vipps.settings()}}))
    return settings.model_copy(update={"payment_providers_file": path})


@pytest.fixture
def shop(
    client: TestClient, auth: dict[str, str], stripe: StripeStandIn, vipps: VippsStandIn
) -> dict[str, Any]:
    """Two open invoices of customer C1 (one buyer), one of C2; the stand-ins deliver to this app."""
    second = sample_invoice_json(1)["payment_means"]
    second[0]["payment_id"] = kid_for(101)
    stripe.gateway = vipps.gateway = client
    for receiver in ("C1", "C2"):
        profile = {"receiver_id": receiver, "preferred_channel": "folder", "addresses": {"folder": receiver}}
        assert client.put(f"/receivers/{receiver}", json=profile, headers=auth).status_code == 200
    views = {
        "a": invoice(client, auth, 1, routing={"receiver_id": "C1"}),
        "b": invoice(
            client, auth, 1, number="INV-000101", payment_means=second, routing={"receiver_id": "C1"}
        ),
        "other": invoice(client, auth, 3, routing={"receiver_id": "C2"}),
    }
    return views


def _pay(client: TestClient, csrf: str, invoices: list[str], provider: str = "stripe") -> httpx.Response:
    return client.post(
        "/portal/pay",
        data={"csrf_token": csrf, "invoice": invoices, "provider": provider},
        follow_redirects=False,
    )


def _browser() -> httpx.Client:
    return httpx.Client(follow_redirects=False, timeout=20)


def _count(engine: Engine, model: Any, **where: Any) -> int:
    with session_scope(engine) as session:
        query = select(func.count()).select_from(model)
        for name, value in where.items():
            query = query.where(getattr(model, name) == value)
        return int(session.execute(query).scalar_one())


def _one(engine: Engine, model: Any, **where: Any) -> Any:
    with session_scope(engine) as session:
        query = select(model)
        for name, value in where.items():
            query = query.where(getattr(model, name) == value)
        row = session.execute(query).scalars().one()
        session.expunge(row)
        return row


def _checkout(engine: Engine, checkout_id: str) -> CardCheckout:
    with session_scope(engine) as session:
        row = session.get(CardCheckout, checkout_id)
        assert row is not None
        session.expunge(row)
        return row


def _stripe_checkout(
    client: TestClient, engine: Engine, stripe: StripeStandIn, ids: list[str]
) -> CardCheckout:
    identity = portal_session(client, engine, "acme", "C1")
    answer = _pay(client, identity.csrf_token, ids)
    assert answer.status_code == 303, answer.text
    assert answer.headers["location"].startswith(f"{stripe.base}/c/pay/cs_test_")
    with session_scope(engine) as session:
        row = (
            session.execute(select(CardCheckout).order_by(col(CardCheckout.created_at).desc()))
            .scalars()
            .first()
        )
        assert row is not None
        session.expunge(row)
    return row


def test_pay_two_invoices_with_stripe_books_once(
    client: TestClient, engine: Engine, auth: dict[str, str], stripe: StripeStandIn, shop: dict[str, Any]
) -> None:
    """books: the full round — pay form → Stripe's page → success_url → signed webhook → advice → applied."""
    ids = [shop["a"]["id"], shop["b"]["id"]]
    checkout = _stripe_checkout(client, engine, stripe, ids)
    total = Decimal(shop["a"]["payable_amount"]) + Decimal(shop["b"]["payable_amount"])
    assert Decimal(checkout.amount) == total and checkout.status == "open"
    session = stripe.sessions[checkout.provider_reference or ""]
    assert session["client_reference_id"] == checkout.id and session["amount_total"] == int(total * 100)
    assert session["customer_email"] == "ap@customer.example"
    with _browser() as browser:
        page = browser.get(checkout.redirect_url or "")
        assert page.status_code == 200 and "Pay" in page.text
        paid = browser.post(f"{stripe.base}/c/pay/{checkout.provider_reference}/pay", data={"card": "4242"})
    assert paid.status_code == 303 and paid.headers["location"].endswith(
        f"/portal/pay/{checkout.id}/return?result=success"
    )
    stripe.settle()
    [delivery] = stripe.deliveries
    assert delivery.status == 200 and delivery.answer["outcome"] == "booked", delivery.answer
    done = _checkout(engine, checkout.id)
    assert done.status == "paid" and done.payment_id and done.provider_payment == session["payment_intent"]
    for number in (shop["a"]["number"], shop["b"]["number"]):
        assert client.get(f"/invoices/{number}", headers=auth).json()["payment"]["payment_status"] == "paid"
    back = client.get(f"/portal/pay/{checkout.id}/return?result=success")
    assert back.status_code == 200 and ("Betalt" in back.text or "Paid" in back.text)
    # the same event again: 200, the first answer, nothing booked twice
    again = stripe.send_now(delivery.body)
    assert again.status_code == 200 and again.json()["duplicate"] is True
    assert _count(engine, PaymentRecord, tenant_id="acme") == 1
    assert _count(engine, ProviderEvent, provider="stripe") == 1


def test_unsigned_or_wrongly_signed_webhooks_change_nothing(
    client: TestClient, engine: Engine, stripe: StripeStandIn, vipps: VippsStandIn, shop: dict[str, Any]
) -> None:
    checkout = _stripe_checkout(client, engine, stripe, [shop["a"]["id"]])
    stripe.pay(checkout.provider_reference or "", deliver=False)
    body = stripe.event_body("checkout.session.completed", stripe.sessions[checkout.provider_reference or ""])
    for headers in (
        {"Content-Type": "application/json"},
        stripe.sign(body, secret="whsec_wrong"),
        stripe.sign(body, timestamp=int(time.time()) - 301),
        {
            "Content-Type": "application/json",
            "Stripe-Signature": stripe_signature(stripe.webhook_secret, b"{}", int(time.time())),
        },
    ):
        answer = stripe.send_now(body, headers)
        assert answer.status_code == 400, answer.text
        assert "refused" in answer.text
    vipps_body = (
        b'{"msn":"123456","reference":"' + checkout.id.encode() + b'","name":"CAPTURED","pspReference":"x"}'
    )
    assert vipps.send_now(vipps_body, {"Content-Type": "application/json"}).status_code == 400
    assert vipps.send_now(vipps_body, vipps.sign(vipps_body, secret="nope")).status_code == 400
    assert _count(engine, ProviderEvent) == 0
    assert _checkout(engine, checkout.id).status == "open"
    assert _count(engine, PaymentRecord, tenant_id="acme") == 0


def test_declined_card_then_abandoned_checkout_expires(
    client: TestClient, engine: Engine, stripe: StripeStandIn, shop: dict[str, Any]
) -> None:
    checkout = _stripe_checkout(client, engine, stripe, [shop["a"]["id"]])
    with _browser() as browser:
        declined = browser.post(
            f"{stripe.base}/c/pay/{checkout.provider_reference}/pay", data={"card": DECLINED_CARD}
        )
        assert declined.status_code == 402 and "declined" in declined.text
        cancel = browser.post(f"{stripe.base}/c/pay/{checkout.provider_reference}/cancel")
    assert cancel.headers["location"].endswith("result=cancel")
    page = client.get(f"/portal/pay/{checkout.id}/return?result=cancel")
    assert page.status_code == 200 and ("avbrutt" in page.text or "cancelled" in page.text)
    stripe.expire(checkout.provider_reference or "")
    stripe.settle()
    assert stripe.deliveries[-1].answer["outcome"] == "expired"
    assert _checkout(engine, checkout.id).status == "expired"
    assert _count(engine, PaymentRecord, tenant_id="acme") == 0


def test_async_payment_failure_declines(
    client: TestClient, engine: Engine, stripe: StripeStandIn, shop: dict[str, Any]
) -> None:
    checkout = _stripe_checkout(client, engine, stripe, [shop["a"]["id"]])
    session = stripe.sessions[checkout.provider_reference or ""]
    pending = stripe.send_now(
        stripe.event_body("checkout.session.completed", {**session, "status": "complete"})
    )
    assert pending.json()["outcome"] == "pending"
    failed = stripe.send_now(stripe.event_body("checkout.session.async_payment_failed", session))
    assert failed.status_code == 200 and failed.json()["outcome"] == "declined"
    assert _checkout(engine, checkout.id).status == "declined"
    assert _count(engine, PaymentRecord, tenant_id="acme") == 0


def test_late_webhook_after_expiry_still_books(
    client: TestClient, engine: Engine, auth: dict[str, str], stripe: StripeStandIn, shop: dict[str, Any]
) -> None:
    """books: money taken after the checkout expired is never dropped: booked, outcome "late"."""
    checkout = _stripe_checkout(client, engine, stripe, [shop["a"]["id"]])
    stripe.expire(checkout.provider_reference or "")
    stripe.settle()
    assert _checkout(engine, checkout.id).status == "expired"
    stripe.pay(checkout.provider_reference or "", deliver=True)
    stripe.settle()
    assert stripe.deliveries[-1].answer["outcome"] == "late"
    done = _checkout(engine, checkout.id)
    assert done.status == "paid" and done.payment_id
    assert _count(engine, PaymentRecord, tenant_id="acme") == 1


def test_unknown_checkout_is_recorded_not_an_error(
    client: TestClient, engine: Engine, stripe: StripeStandIn, shop: dict[str, Any]
) -> None:
    body = stripe.event_body(
        "checkout.session.completed",
        {"id": "cs_test_nothing", "object": "checkout.session", "client_reference_id": "f" * 32,
         "metadata": {"gw_tenant": "acme"}, "payment_status": "paid", "amount_total": 100, "currency": "nok",
         "payment_intent": "pi_x"},
    )  # fmt: skip
    answer = stripe.send_now(body)
    assert answer.status_code == 200 and answer.json()["outcome"] == "unknown"
    assert _count(engine, ProviderEvent, outcome="unknown") == 1
    payout = stripe.send_now(
        stripe.event_body(
            "payout.paid", {"id": "po_1", "object": "payout", "amount": 5000, "currency": "nok"}
        )
    )
    # a payout whose balance transactions do not add up to it is recorded as refused, never guessed at
    assert payout.status_code == 200 and payout.json()["outcome"] == "payout-refused"
    assert "balance_transactions" in (_one(engine, ProviderEvent, outcome="payout-refused").detail or "")


def test_another_customers_invoice_never_makes_a_checkout(
    client: TestClient, engine: Engine, stripe: StripeStandIn, shop: dict[str, Any]
) -> None:
    identity = portal_session(client, engine, "acme", "C1")
    assert _pay(client, identity.csrf_token, [shop["a"]["id"], shop["other"]["id"]]).status_code == 404
    assert _pay(client, identity.csrf_token, ["0" * 32]).status_code == 404
    assert _pay(client, identity.csrf_token, [shop["a"]["id"]], provider="paypal").status_code == 422
    assert _pay(client, "wrong-token", [shop["a"]["id"]]).status_code == 403
    assert _count(engine, CardCheckout) == 0 and stripe.sessions == {}
    # an invoice link's visitor may pay its one invoice only
    link = TestClient(client.app)
    visitor = portal_session(link, engine, "acme", "C1", email=None, invoice_id=shop["a"]["id"])
    assert _pay(link, visitor.csrf_token, [shop["b"]["id"]]).status_code == 404
    assert _pay(link, visitor.csrf_token, [shop["a"]["id"]]).status_code == 303
    checkout_id = _checkout_ids(engine)[0]
    # the return page is the customer's own: C2 gets a 404
    portal_session(client, engine, "acme", "C2", email="ap@c2.example")
    assert client.get(f"/portal/pay/{checkout_id}/return").status_code == 404


def _checkout_ids(engine: Engine) -> list[str]:
    with session_scope(engine) as session:
        return list(session.execute(select(col(CardCheckout.id))).scalars())


def test_vipps_authorized_is_captured_then_booked(
    client: TestClient, engine: Engine, auth: dict[str, str], vipps: VippsStandIn, shop: dict[str, Any]
) -> None:
    """books: Vipps — landing page → returnUrl → AUTHORIZED → the gateway captures → CAPTURED → advice."""
    identity = portal_session(client, engine, "acme", "C1")
    answer = _pay(client, identity.csrf_token, [shop["a"]["id"]], provider="vipps")
    assert answer.status_code == 303 and answer.headers["location"].startswith(f"{vipps.base}/landing/")
    [checkout_id] = _checkout_ids(engine)
    with _browser() as browser:
        paid = browser.post(f"{vipps.base}/landing/{checkout_id}/pay")
    assert paid.headers["location"].endswith(f"/portal/pay/{checkout_id}/return?result=success")
    vipps.settle()
    outcomes = [d.answer["outcome"] for d in vipps.deliveries]
    assert outcomes == ["capturing", "booked"], vipps.deliveries
    assert vipps.captures[0][2] == f"capture-{checkout_id}"
    assert _checkout(engine, checkout_id).status == "paid"
    assert (
        client.get(f"/invoices/{shop['a']['number']}", headers=auth).json()["payment"]["payment_status"]
        == "paid"
    )
    again = vipps.send_now(vipps.deliveries[-1].body)
    assert again.json()["duplicate"] is True and _count(engine, PaymentRecord, tenant_id="acme") == 1


def test_vipps_cancelled_in_the_app_declines(
    client: TestClient, engine: Engine, vipps: VippsStandIn, shop: dict[str, Any]
) -> None:
    identity = portal_session(client, engine, "acme", "C1")
    _pay(client, identity.csrf_token, [shop["a"]["id"]], provider="vipps")
    [checkout_id] = _checkout_ids(engine)
    with _browser() as browser:
        browser.post(f"{vipps.base}/landing/{checkout_id}/cancel")
    vipps.settle()
    assert vipps.deliveries[-1].answer["outcome"] == "declined"
    assert _checkout(engine, checkout_id).status == "declined"
    page = client.get(f"/portal/pay/{checkout_id}/return?result=success")
    assert "avvist" in page.text or "declined" in page.text


def test_late_webhook_after_the_invoice_was_paid_by_bank_still_books(
    client: TestClient, engine: Engine, auth: dict[str, str], stripe: StripeStandIn, shop: dict[str, Any]
) -> None:
    """books: the customer paid by bank first, then finished the card checkout: both payments are kept
    (the card one shows as an overpayment for a person to refund), and the event says "late"."""
    checkout = _stripe_checkout(client, engine, stripe, [shop["a"]["id"]])
    bank = camt054(
        [
            Tx(
                Decimal(shop["a"]["payable_amount"]),
                kid=shop["a"]["payment_reference"],
                payer="Midnattsol Drift AS",
            )
        ]
    )
    assert receive(client, auth, bank).status_code == 201
    assert (
        client.get(f"/invoices/{shop['a']['number']}", headers=auth).json()["payment"]["payment_status"]
        == "paid"
    )
    stripe.pay(checkout.provider_reference or "")
    stripe.settle()
    assert stripe.deliveries[-1].answer["outcome"] == "late"
    done = _checkout(engine, checkout.id)
    assert done.status == "paid" and done.payment_id
    assert _count(engine, PaymentRecord, tenant_id="acme") == 2


def test_the_payout_of_two_card_payments_is_reconciled_on_the_bank_statement_not_booked_twice(
    client: TestClient, engine: Engine, auth: dict[str, str], stripe: StripeStandIn, shop: dict[str, Any]
) -> None:
    """Two checkouts paid, Stripe pays them out less its fees (`payout.paid`, balance transactions read from
    Stripe), the bank statement's one credit for the payout is reconciled against the two advices: the
    invoices stay paid once, the entry is applied to no invoice."""
    intents = []
    for invoice_id in (shop["a"]["id"], shop["b"]["id"]):
        checkout = _stripe_checkout(client, engine, stripe, [invoice_id])
        stripe.pay(checkout.provider_reference or "")
        intents.append(stripe.sessions[checkout.provider_reference or ""]["payment_intent"])
    stripe.settle()
    assert [delivery.answer["outcome"] for delivery in stripe.deliveries] == ["booked", "booked"]
    payout_id, net, _ = stripe.payout()
    stripe.settle()
    assert stripe.deliveries[-1].status == 200 and stripe.deliveries[-1].answer["outcome"] == "payout"
    with session_scope(engine) as session:
        [payout] = session.execute(select(CardPayout)).scalars().all()
        advices = session.execute(
            select(col(PaymentRecord.id)).where(col(PaymentRecord.bank_reference).in_(intents))
        ).scalars()
        assert sorted(payout.payment_ids) == sorted(advices)
        assert (payout.payout_reference, payout.status) == (payout_id, "announced")
        assert Decimal(payout.amount) == Decimal(net) / 100
        assert Decimal(payout.gross) - Decimal(payout.fees) == Decimal(payout.amount)
    entry = Tx(Decimal(net) / 100, payer="STRIPE PAYMENTS EUROPE LTD", text=f"STRIPE {payout_id.upper()}")
    answer = client.post(
        "/remittances?wait=true",
        content=camt053([entry]),
        headers={**auth, "Content-Type": "application/xml"},
    )
    assert answer.status_code in (200, 201), answer.text
    [bank] = answer.json()["files"][0]["payments"] if "files" in answer.json() else answer.json()["payments"]
    assert bank["status"] == "reconciled", bank
    with session_scope(engine) as session:
        applied = select(PaymentAllocation).where(col(PaymentAllocation.payment_id) == bank["id"])
        assert session.execute(applied).first() is None
        stored = session.get(CardPayout, payout.id)
        assert stored is not None and (stored.status, stored.bank_payment_id) == ("reconciled", bank["id"])
    for number in (shop["a"]["number"], shop["b"]["number"]):
        assert client.get(f"/invoices/{number}", headers=auth).json()["payment"]["payment_status"] == "paid"
    # the payout's event again: the first record, nothing read or recorded twice
    again = stripe.send_now(stripe.deliveries[-1].body)
    assert again.status_code == 200 and again.json()["duplicate"] is True
    assert _count(engine, CardPayout) == 1


def test_the_content_policy_lets_a_pay_form_go_on_to_a_configured_checkout_origin(
    client: TestClient, stripe: StripeStandIn, vipps: VippsStandIn
) -> None:
    """A browser enforces `form-action` on the redirect after the pay form: the providers' own pages are
    HTTPS (`https:`); a configured plain-HTTP origin (the loopback stand-ins here) is listed by name, and
    nothing else is."""
    policy = client.get("/portal/brand/acme/logo").headers["content-security-policy"]
    form_action = next(part for part in policy.split(";") if part.strip().startswith("form-action"))
    assert form_action.split() == ["form-action", "'self'", "https:", *sorted([stripe.base, vipps.base])]
