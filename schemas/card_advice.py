"""A card payment advice: what a payment provider says was paid at checkout, as the gateway keeps it.

A completed checkout (Stripe `checkout.session.completed`, Vipps ePayment `…captured`) is written as this
small JSON document and goes through the remittance intake like a bank's file (format "card-advice",
`mappings/remittance/card_advice.py`): kept, booked once (the same advice twice is the same bytes; the
provider's payment id is the payment's fingerprint), and matched — its lines name the invoices, so it
applies. The provider's later payout on the bank statement is reconciled against the advices it bundles.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

Provider = Literal["stripe", "vipps"]
ADVICE_TYPE: Literal["gateway.card-payment-advice"] = "gateway.card-payment-advice"


class AdvisedInvoice(BaseModel):
    """One invoice the customer paid at checkout, with the amount paid on it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    number: Annotated[str, Field(min_length=1, max_length=100)]
    kid: Annotated[str, Field(max_length=35)] | None = None
    amount: Annotated[Decimal, Field(gt=0, max_digits=19, decimal_places=2)]


class CardPaymentAdvice(BaseModel):
    """One card (or wallet) payment at a provider's checkout, for one or several invoices of one customer."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["gateway.card-payment-advice"] = ADVICE_TYPE
    version: Literal[1] = 1
    provider: Provider
    event_id: Annotated[str, Field(min_length=1, max_length=200)] = Field(
        description="the provider's webhook event id (Stripe evt_…, Vipps idempotency key / psp reference)"
    )
    checkout_id: Annotated[str, Field(min_length=1, max_length=200)] = Field(
        description="the gateway's checkout id (Stripe client_reference_id, Vipps reference)"
    )
    provider_payment: Annotated[str, Field(min_length=1, max_length=200)] = Field(
        description="Stripe's payment intent pi_…, Vipps' pspReference: the payment's fingerprint"
    )
    paid_at: dt.datetime
    amount: Annotated[Decimal, Field(gt=0, max_digits=19, decimal_places=2)]
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")]
    payer_name: Annotated[str, Field(max_length=200)] | None = None
    payer_email: Annotated[str, Field(max_length=320)] | None = None
    customer: Annotated[str, Field(max_length=100)] = Field(description="the tenant's receiver id")
    invoices: Annotated[list[AdvisedInvoice], Field(min_length=1, max_length=200)]
