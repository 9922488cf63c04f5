"""Card payments as operations read them: the portal's checkouts (with their invoices and the provider
events that moved them) and the providers' payouts (the advices each bundles, its fees, the bank payment it
was reconciled with). Read-only; another tenant's payout is a 404, exactly like one that does not exist."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from gateway.api.deps import IdentityDep, SessionDep
from gateway.api.errors import ErrorAnswer
from gateway.services.portal import card_payments as service

router = APIRouter(tags=["card payments"])

CheckoutStatus = Literal["open", "paid", "expired", "declined", "failed"]
PayoutStatus = Literal["announced", "reconciled"]
Limit = Annotated[int, Query(ge=1, le=service.MAX_LIMIT, description="at most this many, newest first")]
Offset = Annotated[int, Query(ge=0, le=1_000_000, description="skip this many (paging)")]


class ProviderEventOut(BaseModel):
    """A provider's webhook event about a checkout, as received (signature checked), once per event id."""

    event_id: str
    event_type: str
    outcome: str = Field(description="booked, ignored, late, declined, expired …")
    received_at: str | None
    detail: str | None


class CheckoutInvoice(BaseModel):
    id: str
    number: str | None
    amount: str | None = Field(description="what the checkout charges for it (its open amount then)")


class CardCheckoutOut(BaseModel):
    """A customer's checkout at a payment provider, opened in the portal."""

    id: str
    receiver_id: str = Field(description="the customer (receiver id)")
    customer_name: str | None = Field(description="the receiver profile's name, else an invoice's buyer")
    provider: str = Field(description="stripe or vipps")
    provider_reference: str | None = Field(description="Stripe's checkout session id, or our Vipps reference")
    invoices: list[CheckoutInvoice]
    amount: str
    currency: str
    status: CheckoutStatus
    provider_payment: str | None = Field(description="Stripe's payment intent, Vipps' pspReference")
    payment_id: str | None = Field(description="the card payment advice booked (GET /payments/{id})")
    created_by: str
    created_at: str | None
    completed_at: str | None
    note: str | None = Field(description="what became of it, in words (declined, expired …)")
    events: list[ProviderEventOut]


class CardCheckoutList(BaseModel):
    items: list[CardCheckoutOut]


class BankPaymentRef(BaseModel):
    """The bank statement's entry a payout was reconciled with (GET /payments/{id})."""

    id: str
    amount: str
    currency: str
    booking_date: str | None
    payer_name: str | None
    status: str


class CardPayoutOut(BaseModel):
    """A provider's payout to the seller's bank account: net `amount` = `gross` less `fees`."""

    id: str
    provider: str
    payout_reference: str
    amount: str = Field(description="net: what reaches the bank")
    gross: str = Field(description="the card payments it bundles")
    fees: str
    currency: str
    arrival_date: str | None
    payment_ids: list[str] = Field(description="the card payment advices bundled")
    advices: int
    status: PayoutStatus
    bank_payment_id: str | None
    bank_payment: BankPaymentRef | None
    unknown_payments: list[str] = Field(description="provider payment ids the gateway has no advice for")
    created_at: str | None
    reconciled_at: str | None


class CardPayoutList(BaseModel):
    items: list[CardPayoutOut]


class BundledInvoice(BaseModel):
    id: str
    number: str | None
    amount: str = Field(description="applied to this invoice")


class BundledPayment(BaseModel):
    """One card payment advice a payout bundles."""

    payment_id: str
    amount: str | None
    currency: str | None
    date: str | None
    provider_payment: str | None
    payer_name: str | None
    status: str | None
    checkout_id: str | None
    receiver_id: str | None
    invoices: list[BundledInvoice]


class CardPayoutDetail(CardPayoutOut):
    payments: list[BundledPayment]


@router.get("/card-checkouts", response_model=CardCheckoutList)
def get_card_checkouts(
    session: SessionDep,
    identity: IdentityDep,
    status: CheckoutStatus | None = None,
    customer: Annotated[str | None, Query(max_length=100, description="a receiver id")] = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> CardCheckoutList:
    """The portal's card checkouts, newest first, with their invoices and the provider events of each."""
    items = service.list_card_checkouts(
        session, identity.tenant_id, status=status, receiver_id=customer, limit=limit, offset=offset
    )
    return CardCheckoutList.model_validate({"items": items})


@router.get("/card-payouts", response_model=CardPayoutList)
def get_card_payouts(
    session: SessionDep,
    identity: IdentityDep,
    status: PayoutStatus | None = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> CardPayoutList:
    """The providers' payouts, newest first: announced (recorded from the provider) or reconciled (the
    bank statement's entry for it found)."""
    items = service.list_card_payouts(session, identity.tenant_id, status=status, limit=limit, offset=offset)
    return CardPayoutList.model_validate({"items": items})


@router.get(
    "/card-payouts/{payout_id}",
    response_model=CardPayoutDetail,
    responses={404: {"description": "no such payout for this tenant"}},
)
def get_card_payout(payout_id: str, session: SessionDep, identity: IdentityDep) -> CardPayoutDetail:
    """One payout: the advices it bundles with the invoices they paid, its fees, the bank payment."""
    try:
        detail = service.payout_detail(session, identity.tenant_id, payout_id)
    except service.CardPayoutNotFound:
        raise ErrorAnswer.one(404, "path.payout_id", f"no card payout {payout_id!r}") from None
    return CardPayoutDetail.model_validate(detail)
