"""Pay by link: a checkout at a payment provider for some of a customer's open invoices.

The customer picks invoices on a portal page (an invoice link's visitor: its one invoice); the gateway checks
that every one is this customer's (else 404, as for an id that does not exist), is an invoice (not a credit
note) with something left to pay, in one currency, and not paid by card already; then it keeps a
`CardCheckout` (open) and asks the provider for a hosted page, where the customer is sent. What is paid on
each invoice is its open amount at this moment, kept with the checkout (`detail`: the lines), so a webhook
that comes late still books what the customer paid for, even after the invoice was paid another way.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import httpx
from sqlalchemy import Engine, select
from sqlmodel import Session, col

from db.engine import session_scope
from db.models import CardCheckout, InvoiceRecord, utcnow
from gateway.services.followup.disputes import open_amount
from gateway.services.portal.providers import configured, provider_for
from gateway.settings import Settings
from transports.payment_providers import (
    PROVIDERS,
    CheckoutLine,
    CheckoutRequest,
    ProviderError,
    minor_units,
)

#: At most this many invoices in one checkout (Stripe takes 100 line items; a person picks a few).
MAX_INVOICES = 50


class CheckoutRefused(Exception):
    """The checkout cannot be made as asked: `field` names the form field, `reason` says why (a 422)."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


class CheckoutNotFound(LookupError):
    """An invoice (or checkout) that is not this customer's, or does not exist: the same 404 either way."""


class CheckoutFailed(Exception):
    """The provider could not open the checkout: the customer may try again (the checkout is `failed`)."""


@dataclass(frozen=True)
class PaidLine:
    """One invoice in a checkout, as kept with it."""

    invoice_id: str
    number: str
    kid: str | None
    amount: Decimal


def checkout_lines(checkout: CardCheckout) -> list[PaidLine]:
    """The invoices and amounts the checkout was opened for (kept in its `detail`)."""
    data = _detail(checkout)
    return [
        PaidLine(line["invoice_id"], line["number"], line.get("kid"), Decimal(line["amount"]))
        for line in data.get("lines", [])
    ]


def checkout_note(checkout: CardCheckout) -> str | None:
    note = _detail(checkout).get("note")
    return str(note) if note else None


def set_note(checkout: CardCheckout, note: str) -> None:
    """Say what became of the checkout (its lines stay)."""
    data = _detail(checkout)
    data["note"] = note
    checkout.detail = json.dumps(data)


def _detail(checkout: CardCheckout) -> dict[str, Any]:
    try:
        data = json.loads(checkout.detail or "{}")
    except ValueError:
        return {"note": checkout.detail}
    return data if isinstance(data, dict) else {}


def portal_base(settings: Settings, request_base: str) -> str:
    """Where the customer comes back to: the configured portal address, else the one the request came to."""
    return (settings.portal_base_url or request_base).rstrip("/")


def return_url(base: str, checkout_id: str, result: str) -> str:
    return f"{base}/portal/pay/{checkout_id}/return?result={result}"


def _invoices(
    session: Session, tenant_id: str, receiver_id: str, invoice_ids: list[str]
) -> list[InvoiceRecord]:
    found = {
        invoice.id: invoice
        for invoice in session.execute(
            select(InvoiceRecord).where(
                col(InvoiceRecord.tenant_id) == tenant_id,
                col(InvoiceRecord.receiver_id) == receiver_id,
                col(InvoiceRecord.id).in_(invoice_ids),
            )
        ).scalars()
    }
    if set(found) != set(invoice_ids):
        raise CheckoutNotFound("no such invoice")
    return [found[invoice_id] for invoice_id in invoice_ids]


def paid_by_card(session: Session, tenant_id: str, receiver_id: str) -> set[str]:
    """The customer's invoices in a checkout already paid."""
    paid: set[str] = set()
    for ids in session.execute(
        select(col(CardCheckout.invoice_ids)).where(
            col(CardCheckout.tenant_id) == tenant_id,
            col(CardCheckout.receiver_id) == receiver_id,
            col(CardCheckout.status) == "paid",
        )
    ).scalars():
        paid.update(ids)
    return paid


def _check(
    session: Session, tenant_id: str, receiver_id: str, invoice_ids: list[str]
) -> tuple[str, list[PaidLine]]:
    invoices = _invoices(session, tenant_id, receiver_id, invoice_ids)
    already = paid_by_card(session, tenant_id, receiver_id)
    lines: list[PaidLine] = []
    for invoice in invoices:
        if invoice.document_type != "invoice":
            raise CheckoutRefused("invoice", f"{invoice.number} is a credit note: there is nothing to pay")
        amount = open_amount(invoice)
        if amount <= 0:
            raise CheckoutRefused("invoice", f"{invoice.number} has nothing left to pay")
        if invoice.id in already:
            raise CheckoutRefused("invoice", f"{invoice.number} is paid by card already")
        try:
            minor_units(amount, invoice.currency)
        except ValueError as error:
            raise CheckoutRefused("invoice", str(error)) from None
        lines.append(PaidLine(invoice.id, invoice.number, invoice.payment_reference, amount))
    currencies = sorted({invoice.currency for invoice in invoices})
    if len(currencies) > 1:
        raise CheckoutRefused("invoice", f"one currency per payment: these are in {', '.join(currencies)}")
    return currencies[0], lines


def start_checkout(
    engine: Engine,
    settings: Settings,
    *,
    tenant_id: str,
    receiver_id: str,
    invoice_ids: Iterable[str],
    provider: str,
    actor: str,
    base_url: str,
    customer_email: str | None = None,
    only_invoice: str | None = None,
    now: dt.datetime | None = None,
    client: Callable[[], httpx.Client] | None = None,
) -> CardCheckout:
    """Open a checkout for the customer's `invoice_ids` at `provider` and return it (with the provider's
    page in `redirect_url`). `only_invoice`: an invoice link's visitor, who may pay that invoice only.

    `CheckoutNotFound` (not the customer's), `CheckoutRefused` (field and reason), `CheckoutFailed` (the
    provider could not: the checkout is kept `failed` with the reason)."""
    now = now or utcnow()
    wanted = list(dict.fromkeys(invoice_id.strip() for invoice_id in invoice_ids if invoice_id.strip()))
    if only_invoice is not None and any(invoice_id != only_invoice for invoice_id in wanted):
        raise CheckoutNotFound("no such invoice")
    if provider not in PROVIDERS:
        raise CheckoutRefused("provider", f"{provider!r} is not one of {', '.join(PROVIDERS)}")
    if provider not in configured(settings, tenant_id):
        raise CheckoutRefused("provider", f"{provider} is not offered by this seller")
    if not wanted:
        raise CheckoutRefused("invoice", "choose at least one invoice to pay")
    if len(wanted) > MAX_INVOICES:
        raise CheckoutRefused("invoice", f"at most {MAX_INVOICES} invoices in one payment")
    with session_scope(engine) as session:
        currency, lines = _check(session, tenant_id, receiver_id, wanted)
        checkout = CardCheckout(
            tenant_id=tenant_id,
            receiver_id=receiver_id,
            provider=provider,
            invoice_ids=[line.invoice_id for line in lines],
            amount=str(sum((line.amount for line in lines), Decimal("0"))),
            currency=currency,
            created_by=actor,
            created_at=now,
            detail=json.dumps(
                {
                    "lines": [
                        {"invoice_id": line.invoice_id, "number": line.number, "kid": line.kid,
                         "amount": str(line.amount)}
                        for line in lines
                    ]
                }
            ),
        )  # fmt: skip
        session.add(checkout)
        session.flush()
        checkout_id = checkout.id
    client_provider = provider_for(settings, tenant_id, provider, client=client)
    assert client_provider is not None  # configured above
    request = CheckoutRequest(
        checkout_id=checkout_id,
        tenant_id=tenant_id,
        currency=currency,
        lines=tuple(CheckoutLine(line.number, line.amount) for line in lines),
        success_url=return_url(base_url, checkout_id, "success"),
        cancel_url=return_url(base_url, checkout_id, "cancel"),
        customer_email=customer_email,
    )
    try:
        opened = client_provider.start_checkout(request, idempotency_key=f"checkout-{checkout_id}")
    except ProviderError as error:
        with session_scope(engine) as session:
            row = session.get(CardCheckout, checkout_id)
            assert row is not None
            row.status = "failed"
            set_note(row, str(error))
        raise CheckoutFailed(str(error)) from None
    with session_scope(engine) as session:
        row = session.get(CardCheckout, checkout_id)
        assert row is not None
        row.provider_reference = opened.reference
        row.redirect_url = opened.redirect_url
        session.flush()
        session.expunge(row)
    return row


def customer_checkout(
    session: Session, tenant_id: str, receiver_id: str, checkout_id: str, only_invoice: str | None = None
) -> CardCheckout:
    """The customer's own checkout (an invoice link's visitor: one for its invoice only); else
    `CheckoutNotFound`."""
    checkout = session.get(CardCheckout, checkout_id)
    if checkout is None or checkout.tenant_id != tenant_id or checkout.receiver_id != receiver_id:
        raise CheckoutNotFound("no such checkout")
    if only_invoice is not None and checkout.invoice_ids != [only_invoice]:
        raise CheckoutNotFound("no such checkout")
    return checkout
