"""Opening a checkout for a customer's invoices: every invoice the customer's own, open, in one currency and
not paid by card already, else a refusal naming the field (or a 404 for another customer's); the amounts
are the open amounts, kept with the checkout; a provider that cannot be reached leaves it `failed`."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlmodel import col

from db.engine import session_scope
from db.models import CardCheckout, InvoiceRecord
from gateway.services.portal.checkout import (
    CheckoutFailed,
    CheckoutNotFound,
    CheckoutRefused,
    checkout_lines,
    customer_checkout,
    start_checkout,
)
from gateway.services.portal.providers import ProvidersFileError, configured
from gateway.settings import Settings
from tests.payment_providers import StripeStandIn, stripe
from tests.payment_scenarios import invoice

__all__ = ["stripe"]  # fixtures


@pytest.fixture
def settings(settings: Settings, tmp_path: Path, stripe: StripeStandIn) -> Settings:
    path = tmp_path / "providers.json"
    path.write_text(json.dumps({"acme": {"stripe": stripe.settings()}}))
    return settings.model_copy(update={"payment_providers_file": path})


@pytest.fixture
def invoices(client: TestClient, auth: dict[str, str]) -> dict[str, str]:
    for receiver in ("C1", "C2"):
        profile = {"receiver_id": receiver, "preferred_channel": "folder", "addresses": {"folder": receiver}}
        assert client.put(f"/receivers/{receiver}", json=profile, headers=auth).status_code == 200
    made = {
        "a": invoice(client, auth, 1, routing={"receiver_id": "C1"}),
        "b": invoice(client, auth, 2, routing={"receiver_id": "C1"}),
        "c": invoice(client, auth, 4, routing={"receiver_id": "C1"}),
        "other": invoice(client, auth, 3, routing={"receiver_id": "C2"}),
    }
    return {key: view["id"] for key, view in made.items()}


def _start(engine: Engine, settings: Settings, ids: list[str], **more: Any) -> CardCheckout:
    arguments: dict[str, Any] = {
        "tenant_id": "acme", "receiver_id": "C1", "invoice_ids": ids, "provider": "stripe",
        "actor": "portal:ap@c1.example", "base_url": "https://portal.example", **more,
    }  # fmt: skip
    return start_checkout(engine, settings, **arguments)


def _change(engine: Engine, invoice_id: str, **values: Any) -> None:
    with session_scope(engine) as session:
        row = session.get(InvoiceRecord, invoice_id)
        assert row is not None
        for name, value in values.items():
            setattr(row, name, value)


def test_a_checkout_takes_the_open_amounts(
    engine: Engine, settings: Settings, stripe: StripeStandIn, invoices: dict[str, str]
) -> None:
    _change(engine, invoices["a"], open_amount="100.25", payment_status="partially_paid")
    checkout = _start(engine, settings, [invoices["a"], invoices["b"], invoices["a"]])
    with session_scope(engine) as session:
        b = session.get(InvoiceRecord, invoices["b"])
        assert b is not None
        expected = Decimal("100.25") + Decimal(b.payable_amount)
    assert Decimal(checkout.amount) == expected and checkout.currency == "NOK"
    assert checkout.invoice_ids == [invoices["a"], invoices["b"]]  # once each, in the order chosen
    assert [line.amount for line in checkout_lines(checkout)][:1] == [Decimal("100.25")]
    assert checkout.redirect_url == stripe.sessions[checkout.provider_reference or ""]["url"]
    session_form = dict(stripe.forms[checkout.provider_reference or ""])
    assert (
        session_form["success_url"]
        == f"https://portal.example/portal/pay/{checkout.id}/return?result=success"
    )
    assert session_form["line_items[0][price_data][unit_amount]"] == "10025"
    assert configured(settings, "acme") == ["stripe"] and configured(settings, "globex") == []


def test_refusals_name_the_field(engine: Engine, settings: Settings, invoices: dict[str, str]) -> None:
    with pytest.raises(CheckoutNotFound):
        _start(engine, settings, [invoices["a"], invoices["other"]])
    with pytest.raises(CheckoutNotFound):
        _start(engine, settings, [invoices["b"]], only_invoice=invoices["a"])
    with pytest.raises(CheckoutRefused, match="provider: vipps is not offered"):
        _start(engine, settings, [invoices["a"]], provider="vipps")
    with pytest.raises(CheckoutRefused, match="provider: 'cash'"):
        _start(engine, settings, [invoices["a"]], provider="cash")
    with pytest.raises(CheckoutRefused, match="invoice: choose at least one"):
        _start(engine, settings, [" "])
    _change(engine, invoices["b"], open_amount="0.00", payment_status="paid")
    with pytest.raises(CheckoutRefused, match="nothing left to pay") as refused:
        _start(engine, settings, [invoices["a"], invoices["b"]])
    assert refused.value.field == "invoice"
    _change(engine, invoices["c"], currency="EUR")
    with pytest.raises(CheckoutRefused, match="one currency per payment: these are in EUR, NOK"):
        _start(engine, settings, [invoices["a"], invoices["c"]])
    _change(engine, invoices["c"], currency="NOK", document_type="credit_note")
    with pytest.raises(CheckoutRefused, match="credit note"):
        _start(engine, settings, [invoices["c"]])
    with session_scope(engine) as session:
        assert session.execute(select(col(CardCheckout.id))).first() is None


def test_an_invoice_paid_by_card_is_not_paid_again(
    engine: Engine, settings: Settings, invoices: dict[str, str]
) -> None:
    first = _start(engine, settings, [invoices["a"]])
    second = _start(engine, settings, [invoices["a"]])  # an open checkout does not block a new try
    with session_scope(engine) as session:
        row = session.get(CardCheckout, first.id)
        assert row is not None
        row.status = "paid"
    with pytest.raises(CheckoutRefused, match="paid by card already"):
        _start(engine, settings, [invoices["a"]])
    with session_scope(engine) as session:
        assert customer_checkout(session, "acme", "C1", second.id).id == second.id
        with pytest.raises(CheckoutNotFound):
            customer_checkout(session, "acme", "C2", second.id)
        with pytest.raises(CheckoutNotFound):
            customer_checkout(session, "acme", "C1", second.id, only_invoice=invoices["b"])


def test_an_unreachable_provider_leaves_the_checkout_failed(
    engine: Engine, settings: Settings, stripe: StripeStandIn, invoices: dict[str, str], tmp_path: Path
) -> None:
    stripe.close()
    with pytest.raises(CheckoutFailed, match="could not be reached"):
        _start(engine, settings, [invoices["a"]])
    with session_scope(engine) as session:
        [row] = session.execute(select(CardCheckout)).scalars()
        assert row.status == "failed" and row.redirect_url is None
    broken = tmp_path / "broken.json"
    broken.write_text('{"acme": {"stripe": {"secret_key": "x"}}}')
    with pytest.raises(ProvidersFileError, match="webhook_secret"):
        configured(settings.model_copy(update={"payment_providers_file": broken}), "acme")
