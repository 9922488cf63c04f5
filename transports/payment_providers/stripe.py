"""Stripe Checkout: a hosted payment page for the customer's invoices, and Stripe's signed webhooks.

- `POST /v1/checkout/sessions`, form-encoded, `Authorization: Bearer <secret key>`, an `Idempotency-Key`:
  `mode=payment`, one line item per invoice (`price_data[currency]` lower-case, `unit_amount` in minor
  units, `product_data[name]` "Invoice <number>", quantity 1), `client_reference_id` = our checkout id,
  `metadata[gw_tenant]` / `metadata[gw_checkout]`, `success_url`, `cancel_url`, `customer_email`. The answer
  is the Session: `id` (`cs_…`) and `url` (the hosted page).
- Webhooks: header `Stripe-Signature: t=<unix time>,v1=<hex>[,v1=…][,v0=…]`; the signature is
  HMAC-SHA256 keyed with the endpoint's secret over `"<t>.<raw body>"`; any `v1` may match (secret
  rotation sends several), compared in constant time; `t` within 300 s of now.
- Events: `checkout.session.completed` (paid when `payment_status` is `paid`; `unpaid`: an asynchronous
  method still running), `checkout.session.async_payment_succeeded` / `…_failed`, `checkout.session.expired`,
  `payout.paid`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
from collections.abc import Callable, Mapping
from typing import Any

import httpx

from transports.payment_providers import (
    TIMEOUT_SECONDS,
    TOLERANCE_SECONDS,
    CheckoutRequest,
    ProviderCheckout,
    ProviderError,
    ProviderName,
    ProviderResult,
    StripeSettings,
    WebhookRefused,
    from_minor_units,
    header,
    minor_units,
    redirect_allowed,
)

SIGNATURE_HEADER = "Stripe-Signature"
#: Where Stripe's hosted checkout pages live: a session's `url` must be on one of these (or the api_base).
HOSTED_PAGE_HOSTS = ("checkout.stripe.com", "stripe.com")


def expected_signature(secret: str, timestamp: str, body: bytes) -> str:
    """Stripe's v1 scheme: hex HMAC-SHA256 of `"{t}.{body}"` keyed with the endpoint's signing secret."""
    signed = timestamp.encode() + b"." + body
    return hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def verify_signature(headers: Mapping[str, str], body: bytes, secret: str, now: dt.datetime) -> None:
    """`WebhookRefused` unless the `Stripe-Signature` header signs `body` with `secret`, freshly."""
    value = header(headers, SIGNATURE_HEADER)
    if not value:
        raise WebhookRefused("no Stripe-Signature header")
    timestamp: str | None = None
    signatures: list[str] = []
    for part in value.split(","):
        key, sep, item = part.strip().partition("=")
        if not sep:
            continue
        if key == "t":
            timestamp = item
        elif key == "v1":
            signatures.append(item)
    if timestamp is None or not timestamp.isdigit():
        raise WebhookRefused("Stripe-Signature has no timestamp (t=)")
    if not signatures:
        raise WebhookRefused("Stripe-Signature has no v1 signature")
    if abs(now.timestamp() - int(timestamp)) > TOLERANCE_SECONDS:
        raise WebhookRefused(f"Stripe-Signature timestamp is more than {TOLERANCE_SECONDS} s from now")
    expected = expected_signature(secret, timestamp, body)
    matched = False
    for signature in signatures:  # every one compared: the time taken does not say which matched
        matched |= hmac.compare_digest(expected, signature)
    if not matched:
        raise WebhookRefused("no Stripe-Signature v1 signature matches the body")


def _event(body: bytes) -> dict[str, Any]:
    try:
        event = json.loads(body)
    except ValueError as error:
        raise WebhookRefused(f"the body is not JSON: {error}") from None
    if not isinstance(event, dict) or event.get("object") != "event" or not event.get("id"):
        raise WebhookRefused("the body is not a Stripe event")
    return event


def tenant_hint(body: bytes) -> str | None:
    """The tenant an (unverified) event names in `data.object.metadata.gw_tenant`: which secret to check
    it with. Nothing in it is trusted before `verify_webhook` passes."""
    try:
        event = json.loads(body)
        value = event["data"]["object"]["metadata"]["gw_tenant"]
    except (ValueError, KeyError, TypeError):
        return None
    return value if isinstance(value, str) else None


class StripeProvider:
    """Stripe Checkout for one tenant's account."""

    name: ProviderName = "stripe"

    def __init__(self, settings: StripeSettings, *, client: Callable[[], httpx.Client] | None = None) -> None:
        self.settings = settings
        self._client = client or (lambda: httpx.Client(timeout=TIMEOUT_SECONDS))

    def session_form(self, request: CheckoutRequest) -> list[tuple[str, str]]:
        """The form fields of `POST /v1/checkout/sessions` (bracketed keys, as Stripe's API reads them)."""
        currency = request.currency.lower()
        form: list[tuple[str, str]] = [
            ("mode", "payment"),
            ("client_reference_id", request.checkout_id),
            ("metadata[gw_tenant]", request.tenant_id),
            ("metadata[gw_checkout]", request.checkout_id),
            ("success_url", request.success_url),
            ("cancel_url", request.cancel_url),
        ]
        for index, line in enumerate(request.lines):
            prefix = f"line_items[{index}]"
            form += [
                (f"{prefix}[quantity]", "1"),
                (f"{prefix}[price_data][currency]", currency),
                (f"{prefix}[price_data][unit_amount]", str(minor_units(line.amount, request.currency))),
                (f"{prefix}[price_data][product_data][name]", f"Invoice {line.number}"),
            ]
        if request.customer_email:
            form.append(("customer_email", request.customer_email))
        return form

    def start_checkout(self, request: CheckoutRequest, *, idempotency_key: str) -> ProviderCheckout:
        url = self.settings.api_base.rstrip("/") + "/v1/checkout/sessions"
        headers = {
            "Authorization": f"Bearer {self.settings.secret_key.get_secret_value()}",
            "Idempotency-Key": idempotency_key,
        }
        try:
            with self._client() as client:
                answer = client.post(url, data=dict(self.session_form(request)), headers=headers)
        except httpx.HTTPError as error:
            raise ProviderError(f"Stripe could not be reached: {error}") from None
        if answer.status_code != 200:
            raise ProviderError(
                f"Stripe refused the checkout ({answer.status_code}): {_stripe_error(answer)}"
            )
        try:
            session = answer.json()
            reference, redirect_url = str(session["id"]), str(session["url"])
        except (ValueError, KeyError, TypeError):
            raise ProviderError("Stripe's answer has no session id and url") from None
        if not redirect_allowed(redirect_url, self.settings.api_base, HOSTED_PAGE_HOSTS):
            raise ProviderError(f"Stripe's checkout page {redirect_url!r} is not on Stripe's host")
        return ProviderCheckout(reference=reference, redirect_url=redirect_url)

    def verify_webhook(
        self,
        headers: Mapping[str, str],
        body: bytes,
        secret: str,
        now: dt.datetime,
        *,
        path_and_query: str = "",
    ) -> dict[str, Any]:
        verify_signature(headers, body, secret, now)
        return _event(body)

    def parse_event(self, event: Mapping[str, Any]) -> ProviderResult:
        event_id, event_type = str(event["id"]), str(event.get("type", ""))
        obj = event.get("data", {}).get("object", {}) or {}
        metadata = obj.get("metadata") or {}
        created = event.get("created")
        at = dt.datetime.fromtimestamp(int(created), dt.UTC) if isinstance(created, int) else None
        if event_type.startswith("checkout.session."):
            currency = str(obj.get("currency") or "").upper() or None
            total = obj.get("amount_total")
            customer = obj.get("customer_details") or {}
            common: dict[str, Any] = {
                "event_id": event_id,
                "event_type": event_type,
                "checkout_id": obj.get("client_reference_id") or metadata.get("gw_checkout"),
                "provider_reference": obj.get("id"),
                "provider_payment": obj.get("payment_intent"),
                "amount": from_minor_units(total, currency) if isinstance(total, int) and currency else None,
                "currency": currency,
                "at": at,
                "payer_name": customer.get("name"),
                "payer_email": customer.get("email") or obj.get("customer_email"),
                "tenant_id": metadata.get("gw_tenant"),
                "data": obj,
            }
            if event_type in ("checkout.session.completed", "checkout.session.async_payment_succeeded"):
                status = obj.get("payment_status")
                if status == "paid":
                    return ProviderResult(kind="paid", **common)
                if status == "unpaid":
                    return ProviderResult(
                        kind="pending", detail="an asynchronous payment is running", **common
                    )
                return ProviderResult(kind="ignored", detail=f"payment_status {status!r}", **common)
            if event_type == "checkout.session.async_payment_failed":
                return ProviderResult(kind="declined", detail="the asynchronous payment failed", **common)
            if event_type == "checkout.session.expired":
                return ProviderResult(kind="expired", detail="the checkout expired unpaid", **common)
            return ProviderResult(kind="ignored", **common)
        if event_type == "payout.paid":
            currency = str(obj.get("currency") or "").upper() or None
            amount = obj.get("amount")
            return ProviderResult(
                kind="payout",
                event_id=event_id,
                event_type=event_type,
                provider_payment=obj.get("id"),
                amount=from_minor_units(amount, currency) if isinstance(amount, int) and currency else None,
                currency=currency,
                at=at,
                data=obj,
            )
        return ProviderResult(kind="ignored", event_id=event_id, event_type=event_type, at=at, data=obj)


def _stripe_error(answer: httpx.Response) -> str:
    try:
        error = answer.json().get("error", {})
        return str(error.get("message") or error)
    except ValueError:
        return answer.text[:200]
