"""Pay by link: the payment providers' hosted checkouts (Stripe Checkout, Vipps ePayment / MobilePay) behind
one small interface, so the portal's services never speak a provider's dialect.

A provider does three things for the gateway: open a checkout for some invoices and say where to send the
customer (`start_checkout` → `ProviderCheckout`), prove that a webhook is its own (`verify_webhook`: the
provider's signature over the raw body, with a freshness bound, compared in constant time; `WebhookRefused`
names why not), and say what a verified event means in neutral words (`parse_event` → `ProviderResult`).
The settings models (secrets as `SecretStr`, `api_base` defaulting to the provider's real host) are read
from the installation's providers file per tenant (`gateway.services.portal.providers`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal, Protocol
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr

ProviderName = Literal["stripe", "vipps"]
PROVIDERS: tuple[ProviderName, ...] = ("stripe", "vipps")
#: How long a request to a provider may take (connect, read) before the customer is told to try again.
TIMEOUT_SECONDS = 15.0
#: How old (or how far ahead) a signed webhook's timestamp may be: Stripe's libraries' default, and the
#: same bound for Vipps' `x-ms-date`.
TOLERANCE_SECONDS = 300

#: What a verified event means to the gateway: `paid` books a card payment advice; `authorized` asks the
#: gateway to capture (Vipps); `pending` waits for an asynchronous payment; `expired` / `declined` end the
#: checkout with nothing booked; `payout` is the provider's payout to the seller's bank; `ignored` the rest.
ResultKind = Literal["paid", "authorized", "pending", "expired", "declined", "payout", "ignored"]


class ProviderError(Exception):
    """The provider could not be reached or refused a request: the checkout is not opened (or captured)."""


class WebhookRefused(Exception):
    """A webhook that is not the provider's (missing, malformed, stale or wrong signature): answered 400."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class StripeSettings(BaseModel):
    """A tenant's Stripe account: the secret API key, the webhook endpoint's signing secret."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    secret_key: SecretStr
    webhook_secret: SecretStr
    api_base: str = Field("https://api.stripe.com", description="Stripe's API host (a stand-in in tests)")


class VippsSettings(BaseModel):
    """A tenant's Vipps MobilePay sales unit: the API keys, its MSN, the webhook registration's secret."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    client_id: SecretStr
    client_secret: SecretStr
    subscription_key: SecretStr
    merchant_serial_number: str = Field(pattern=r"^[0-9]{4,10}$")
    webhook_secret: SecretStr
    api_base: str = Field("https://api.vipps.no", description="Vipps' API host (apitest.vipps.no: test)")


class TenantProviders(BaseModel):
    """What one tenant has configured: none, one or both providers."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    stripe: StripeSettings | None = None
    vipps: VippsSettings | None = None


@dataclass(frozen=True)
class CheckoutLine:
    """One invoice at checkout, with what is paid on it now (its open amount)."""

    number: str
    amount: Decimal


@dataclass(frozen=True)
class CheckoutRequest:
    """A checkout as the gateway asks for it: our id names it at the provider (Stripe
    `client_reference_id` / Vipps `reference`), and the customer comes back to `return_url`."""

    checkout_id: str
    tenant_id: str
    currency: str
    lines: tuple[CheckoutLine, ...]
    success_url: str
    cancel_url: str
    customer_email: str | None = None
    description: str = ""

    @property
    def amount(self) -> Decimal:
        return sum((line.amount for line in self.lines), Decimal("0"))


@dataclass(frozen=True)
class ProviderCheckout:
    """The provider's checkout: its id (Stripe `cs_…`; for Vipps our reference) and the hosted page."""

    reference: str
    redirect_url: str


@dataclass(frozen=True)
class ProviderResult:
    """A verified event in neutral words."""

    kind: ResultKind
    event_id: str
    event_type: str
    #: our checkout id as the provider echoes it (Stripe `client_reference_id`, Vipps `reference`)
    checkout_id: str | None = None
    #: the provider's checkout reference (Stripe's `cs_…`; Vipps: our reference)
    provider_reference: str | None = None
    #: Stripe's payment intent `pi_…`, Vipps' pspReference
    provider_payment: str | None = None
    amount: Decimal | None = None
    currency: str | None = None
    at: dt.datetime | None = None
    payer_name: str | None = None
    payer_email: str | None = None
    tenant_id: str | None = None
    detail: str | None = None
    data: Mapping[str, Any] = field(default_factory=dict)


class PaymentProvider(Protocol):
    """One provider behind the interface the portal's services use."""

    name: ProviderName

    def start_checkout(self, request: CheckoutRequest, *, idempotency_key: str) -> ProviderCheckout:
        """Open the hosted checkout; `ProviderError` when the provider cannot."""
        ...

    def verify_webhook(
        self,
        headers: Mapping[str, str],
        body: bytes,
        secret: str,
        now: dt.datetime,
        *,
        path_and_query: str = "",
    ) -> dict[str, Any]:
        """The event, once its signature is the provider's; else `WebhookRefused`."""
        ...

    def parse_event(self, event: Mapping[str, Any]) -> ProviderResult:
        """What a verified event means."""
        ...


def minor_units(amount: Decimal, currency: str) -> int:
    """An amount in the currency's minor units (øre, cent), as both providers count: exact or refused."""
    exponent = 0 if currency.upper() in ZERO_DECIMAL else 2
    scaled = amount.scaleb(exponent)
    if scaled != scaled.to_integral_value():
        raise ValueError(f"{amount} {currency} has more decimals than the currency")
    return int(scaled)


def from_minor_units(value: int, currency: str) -> Decimal:
    exponent = 0 if currency.upper() in ZERO_DECIMAL else 2
    return (Decimal(value).scaleb(-exponent)).quantize(Decimal("0.01"))


#: Currencies without minor units (Stripe's list, the ones an invoice here could carry).
ZERO_DECIMAL = frozenset({"ISK", "JPY", "KRW", "CLP", "VND", "XAF", "XOF", "UGX", "PYG", "RWF"})


def redirect_allowed(url: str, api_base: str, hosts: tuple[str, ...]) -> bool:
    """Whether `url` (from the provider's answer) may be where a customer is sent: HTTPS on one of the
    provider's own hosts (or a subdomain), or the configured `api_base`'s own scheme and host (a test or
    stand-in installation). Anything else (another host, `javascript:`, plain HTTP) is refused."""
    try:
        target, base = urlsplit(url), urlsplit(api_base)
    except ValueError:
        return False
    host = (target.hostname or "").lower()
    if not host:
        return False
    if target.scheme == base.scheme and target.netloc.lower() == base.netloc.lower():
        return True
    return target.scheme == "https" and any(host == h or host.endswith("." + h) for h in hosts)


def header(headers: Mapping[str, str], name: str) -> str | None:
    """A request header by name in any case (a plain dict from a test, Starlette's headers in the app)."""
    wanted = name.lower()
    for key, value in headers.items():
        if key.lower() == wanted:
            return value
    return None
