"""Vipps MobilePay ePayment: a payment the customer approves in the app (or on Vipps' landing page), captured
by the gateway, and the Webhooks API's HMAC-signed events.

- Access token: `POST /accesstoken/get` with the headers `client_id`, `client_secret`,
  `Ocp-Apim-Subscription-Key`, `Merchant-Serial-Number` (empty body); the answer's `access_token` is a
  bearer JWT valid `expires_in` seconds (a string in Vipps' answer), kept until shortly before then.
- Create: `POST /epayment/v1/payments` (JSON) with `Authorization: Bearer`, `Ocp-Apim-Subscription-Key`,
  `Merchant-Serial-Number`, `Idempotency-Key`, `Vipps-System-Name`: `amount {currency, value}` (minor units),
  `paymentMethod {type: WALLET}`, `reference` (our checkout id: 8–64 of `[a-zA-Z0-9-]`), `returnUrl`,
  `userFlow: WEB_REDIRECT`, `paymentDescription`; the answer's `redirectUrl` is where the customer goes.
- Capture: `POST /epayment/v1/payments/{reference}/capture` with `modificationAmount {currency, value}` and an
  `Idempotency-Key`. The gateway captures at once when the payment is authorized: an invoice is for goods
  already delivered, so there is nothing to wait for.
- Webhooks: headers `x-ms-date` (RFC 1123), `x-ms-content-sha256` (base64 SHA-256 of the body) and
  `Authorization: HMAC-SHA256 SignedHeaders=x-ms-date;host;x-ms-content-sha256&Signature=<base64>`, the
  signature being HMAC-SHA256 keyed with the webhook registration's secret over
  `"POST\\n<path and query>\\n<x-ms-date>;<host>;<content hash>"`. Body: `msn`, `reference`,
  `pspReference`, `name` (CREATED, AUTHORIZED, CAPTURED, ABORTED, EXPIRED, CANCELLED, REFUNDED,
  TERMINATED), `amount {currency, value}`, `timestamp`, `idempotencyKey`, `success`.
"""

from __future__ import annotations

import base64
import datetime as dt
import email.utils
import hashlib
import hmac
import json
import threading
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
    ResultKind,
    VippsSettings,
    WebhookRefused,
    from_minor_units,
    header,
    minor_units,
    redirect_allowed,
)

SYSTEM_NAME = "invoice-gateway"
#: Where Vipps' and MobilePay's landing pages live: a payment's `redirectUrl` must be on one of these.
LANDING_PAGE_HOSTS = ("vipps.no", "vippsmobilepay.com", "mobilepay.dk", "mobilepay.fi")
SIGNED_HEADERS = "x-ms-date;host;x-ms-content-sha256"
#: What each event name means to the gateway.
EVENT_KINDS: dict[str, ResultKind] = {
    "AUTHORIZED": "authorized",
    "CAPTURED": "paid",
    "ABORTED": "declined",
    "CANCELLED": "declined",
    "TERMINATED": "declined",
    "EXPIRED": "expired",
}


def content_hash(body: bytes) -> str:
    return base64.b64encode(hashlib.sha256(body).digest()).decode()


def expected_signature(secret: str, path_and_query: str, date: str, host: str, body_hash: str) -> str:
    """Vipps' Webhooks API scheme: base64 HMAC-SHA256 keyed with the webhook's secret."""
    signed = f"POST\n{path_and_query}\n{date};{host};{body_hash}"
    return base64.b64encode(hmac.new(secret.encode(), signed.encode(), hashlib.sha256).digest()).decode()


def verify_signature(
    headers: Mapping[str, str], body: bytes, secret: str, now: dt.datetime, path_and_query: str
) -> None:
    """`WebhookRefused` unless the body's hash, the date's freshness and the HMAC all hold."""
    date = header(headers, "x-ms-date")
    claimed_hash = header(headers, "x-ms-content-sha256")
    authorization = header(headers, "authorization")
    host = header(headers, "host")
    if not date or not claimed_hash or not authorization or not host:
        raise WebhookRefused("missing x-ms-date, x-ms-content-sha256, Authorization or Host header")
    try:
        sent = email.utils.parsedate_to_datetime(date)
    except (TypeError, ValueError):
        raise WebhookRefused("x-ms-date is not an HTTP date") from None
    if sent.tzinfo is None or abs((now - sent).total_seconds()) > TOLERANCE_SECONDS:
        raise WebhookRefused(f"x-ms-date is more than {TOLERANCE_SECONDS} s from now")
    body_hash = content_hash(body)
    if not hmac.compare_digest(body_hash, claimed_hash):
        raise WebhookRefused("x-ms-content-sha256 is not the body's SHA-256")
    scheme, _, params = authorization.partition(" ")
    fields = dict(part.partition("=")[::2] for part in params.split("&"))
    if scheme != "HMAC-SHA256" or fields.get("SignedHeaders") != SIGNED_HEADERS:
        raise WebhookRefused(f"Authorization is not HMAC-SHA256 SignedHeaders={SIGNED_HEADERS}")
    expected = expected_signature(secret, path_and_query, date, host, body_hash)
    if not hmac.compare_digest(expected, fields.get("Signature", "")):
        raise WebhookRefused("the Authorization signature does not match")


def reference_hint(body: bytes) -> str | None:
    """The payment reference an (unverified) event names: it finds the checkout, and so the tenant whose
    secret checks it. Nothing in it is trusted before `verify_webhook` passes."""
    try:
        value = json.loads(body)["reference"]
    except (ValueError, KeyError, TypeError):
        return None
    return value if isinstance(value, str) else None


class VippsProvider:
    """Vipps ePayment for one tenant's sales unit (MSN)."""

    name: ProviderName = "vipps"

    def __init__(self, settings: VippsSettings, *, client: Callable[[], httpx.Client] | None = None) -> None:
        self.settings = settings
        self._client = client or (lambda: httpx.Client(timeout=TIMEOUT_SECONDS))
        self._token: tuple[str, dt.datetime] | None = None
        self._lock = threading.Lock()

    def _url(self, path: str) -> str:
        return self.settings.api_base.rstrip("/") + path

    def _common_headers(self) -> dict[str, str]:
        return {
            "Ocp-Apim-Subscription-Key": self.settings.subscription_key.get_secret_value(),
            "Merchant-Serial-Number": self.settings.merchant_serial_number,
            "Vipps-System-Name": SYSTEM_NAME,
        }

    def access_token(self, client: httpx.Client, now: dt.datetime | None = None) -> str:
        """A bearer token, fetched once and kept until a minute before it expires."""
        now = now or dt.datetime.now(dt.UTC)
        with self._lock:
            if self._token is not None and self._token[1] > now:
                return self._token[0]
            headers = {
                **self._common_headers(),
                "client_id": self.settings.client_id.get_secret_value(),
                "client_secret": self.settings.client_secret.get_secret_value(),
            }
            try:
                answer = client.post(self._url("/accesstoken/get"), headers=headers, content=b"")
            except httpx.HTTPError as error:
                raise ProviderError(f"Vipps could not be reached: {error}") from None
            if answer.status_code != 200:
                raise ProviderError(f"Vipps refused the access token ({answer.status_code})")
            try:
                body = answer.json()
                token, lifetime = str(body["access_token"]), int(body.get("expires_in", 3600))
            except (ValueError, KeyError, TypeError):
                raise ProviderError("Vipps' access token answer has no access_token") from None
            self._token = (token, now + dt.timedelta(seconds=max(lifetime - 60, 0)))
            return token

    def _authorized(self, client: httpx.Client, idempotency_key: str) -> dict[str, str]:
        return {
            **self._common_headers(),
            "Authorization": f"Bearer {self.access_token(client)}",
            "Idempotency-Key": idempotency_key,
        }

    def payment_body(self, request: CheckoutRequest) -> dict[str, Any]:
        return {
            "amount": {"currency": request.currency, "value": minor_units(request.amount, request.currency)},
            "paymentMethod": {"type": "WALLET"},
            "reference": request.checkout_id,
            "returnUrl": request.success_url,
            "userFlow": "WEB_REDIRECT",
            "paymentDescription": (request.description or _describe(request))[:100],
        }

    def start_checkout(self, request: CheckoutRequest, *, idempotency_key: str) -> ProviderCheckout:
        try:
            with self._client() as client:
                headers = self._authorized(client, idempotency_key)
                answer = client.post(
                    self._url("/epayment/v1/payments"), json=self.payment_body(request), headers=headers
                )
        except httpx.HTTPError as error:
            raise ProviderError(f"Vipps could not be reached: {error}") from None
        if answer.status_code not in (200, 201):
            raise ProviderError(f"Vipps refused the payment ({answer.status_code}): {answer.text[:200]}")
        try:
            body = answer.json()
            redirect_url, reference = (
                str(body["redirectUrl"]),
                str(body.get("reference", request.checkout_id)),
            )
        except (ValueError, KeyError, TypeError):
            raise ProviderError("Vipps' answer has no redirectUrl") from None
        if not redirect_allowed(redirect_url, self.settings.api_base, LANDING_PAGE_HOSTS):
            raise ProviderError(f"Vipps' landing page {redirect_url!r} is not on Vipps' host")
        return ProviderCheckout(reference=reference, redirect_url=redirect_url)

    def capture(self, reference: str, amount_minor: int, currency: str, *, idempotency_key: str) -> str:
        """Capture the authorized amount; the answer's pspReference (the capture's)."""
        body = {"modificationAmount": {"currency": currency, "value": amount_minor}}
        try:
            with self._client() as client:
                headers = self._authorized(client, idempotency_key)
                answer = client.post(
                    self._url(f"/epayment/v1/payments/{reference}/capture"), json=body, headers=headers
                )
        except httpx.HTTPError as error:
            raise ProviderError(f"Vipps could not be reached: {error}") from None
        if answer.status_code != 200:
            raise ProviderError(f"Vipps refused the capture ({answer.status_code}): {answer.text[:200]}")
        try:
            return str(answer.json()["pspReference"])
        except (ValueError, KeyError, TypeError):
            raise ProviderError("Vipps' capture answer has no pspReference") from None

    def verify_webhook(
        self,
        headers: Mapping[str, str],
        body: bytes,
        secret: str,
        now: dt.datetime,
        *,
        path_and_query: str = "",
    ) -> dict[str, Any]:
        verify_signature(headers, body, secret, now, path_and_query)
        try:
            event = json.loads(body)
        except ValueError as error:
            raise WebhookRefused(f"the body is not JSON: {error}") from None
        if not isinstance(event, dict) or not event.get("reference") or not event.get("name"):
            raise WebhookRefused("the body is not an ePayment event")
        return event

    def parse_event(self, event: Mapping[str, Any]) -> ProviderResult:
        name = str(event.get("name", "")).upper()
        psp = str(event.get("pspReference") or "")
        reference = str(event["reference"])
        amount = event.get("amount") or {}
        currency = str(amount.get("currency") or "").upper() or None
        value = amount.get("value")
        at = None
        if isinstance(event.get("timestamp"), str):
            try:
                at = dt.datetime.fromisoformat(event["timestamp"].replace("Z", "+00:00"))
            except ValueError:
                at = None
        kind: ResultKind = EVENT_KINDS.get(name, "ignored")
        detail = None
        if event.get("success") is False:
            kind, detail = "ignored", f"{name} did not succeed"
        return ProviderResult(
            kind=kind,
            # Vipps sends no event id: a payment's operation (its pspReference) and the event's name are one
            # event, sent again unchanged when a delivery is retried
            event_id=f"{reference}:{name}:{psp}",
            event_type=f"epayments.payment.{name.lower()}.v1",
            checkout_id=reference,
            provider_reference=reference,
            provider_payment=psp or None,
            amount=from_minor_units(value, currency) if isinstance(value, int) and currency else None,
            currency=currency,
            at=at,
            detail=detail,
            data=event,
        )


def _describe(request: CheckoutRequest) -> str:
    numbers = ", ".join(line.number for line in request.lines)
    return f"Invoice {numbers}" if len(request.lines) == 1 else f"Invoices {numbers}"
