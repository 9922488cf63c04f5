"""The providers' webhook signatures as their documentation states them (Stripe: `t=…,v1=…` over
"t.body", 300 s, several v1; Vipps: x-ms-date, x-ms-content-sha256 and the HMAC over
"POST\\npath\\ndate;host;hash"), their event parsing, their request formats against the stand-ins, and the
redirect check. The signing side is the stand-ins' own code (tests/payment_providers.py)."""

from __future__ import annotations

import datetime as dt
import email.utils
import json
from collections.abc import Iterator
from decimal import Decimal

import pytest

from tests.payment_providers import StripeStandIn, VippsStandIn, stripe_signature, vipps_headers
from transports.payment_providers import (
    CheckoutLine,
    CheckoutRequest,
    ProviderError,
    StripeSettings,
    VippsSettings,
    WebhookRefused,
    minor_units,
    redirect_allowed,
)
from transports.payment_providers.stripe import StripeProvider
from transports.payment_providers.vipps import VippsProvider, verify_signature

SECRET = "whsec_test_secret"
BODY = json.dumps(
    {
        "id": "evt_1",
        "object": "event",
        "type": "checkout.session.completed",
        "created": 1_800_000_000,
        "data": {
            "object": {
                "id": "cs_test_1",
                "object": "checkout.session",
                "client_reference_id": "a" * 32,
                "metadata": {"gw_tenant": "acme", "gw_checkout": "a" * 32},
                "amount_total": 125050,
                "currency": "nok",
                "payment_intent": "pi_1",
                "payment_status": "paid",
                "customer_details": {"email": "ap@c.example", "name": "Kari"},
            }
        },
    }
).encode()
NOW = dt.datetime.fromtimestamp(1_800_000_100, dt.UTC)


def _stripe() -> StripeProvider:
    return StripeProvider(StripeSettings(secret_key="sk", webhook_secret=SECRET))  # type: ignore[arg-type]


def test_stripe_signature_good_and_parsed() -> None:
    headers = {"stripe-signature": stripe_signature(SECRET, BODY, 1_800_000_000)}
    event = _stripe().verify_webhook(headers, BODY, SECRET, NOW)
    result = _stripe().parse_event(event)
    assert result.kind == "paid" and result.event_id == "evt_1" and result.checkout_id == "a" * 32
    assert result.amount == Decimal("1250.50") and result.currency == "NOK"
    assert result.provider_payment == "pi_1" and result.tenant_id == "acme" and result.payer_name == "Kari"


@pytest.mark.parametrize(
    ("headers", "body", "now", "reason"),
    [
        ({}, BODY, NOW, "no Stripe-Signature"),
        ({"Stripe-Signature": stripe_signature("whsec_other", BODY, 1_800_000_000)}, BODY, NOW, "matches"),
        ({"Stripe-Signature": stripe_signature(SECRET, BODY, 1_800_000_000)},
         BODY.replace(b"125050", b"1"), NOW, "matches"),
        ({"Stripe-Signature": stripe_signature(SECRET, BODY, 1_800_000_000)}, BODY,
         NOW + dt.timedelta(seconds=301), "300 s"),
        ({"Stripe-Signature": "v1=abc"}, BODY, NOW, "timestamp"),
        ({"Stripe-Signature": "t=1800000000,v0=abc"}, BODY, NOW, "no v1"),
    ],
    ids=["missing", "wrong-secret", "tampered", "stale", "no-timestamp", "only-v0"],
)  # fmt: skip
def test_stripe_signature_refused(
    headers: dict[str, str], body: bytes, now: dt.datetime, reason: str
) -> None:
    with pytest.raises(WebhookRefused, match=reason):
        _stripe().verify_webhook(headers, body, SECRET, now)


def test_stripe_several_v1_any_may_match() -> None:
    """Secret rotation: Stripe signs with each secret; one matching v1 is enough, in any position."""
    good = stripe_signature(SECRET, BODY, 1_800_000_000).split(",v1=")[1]
    header = f"t=1800000000,v1={'0' * 64},v1={good},v0=deadbeef"
    _stripe().verify_webhook({"Stripe-Signature": header}, BODY, SECRET, NOW)
    just_inside = NOW + dt.timedelta(seconds=200)
    _stripe().verify_webhook({"Stripe-Signature": header}, BODY, SECRET, just_inside)


def test_stripe_event_kinds() -> None:
    def kind(event_type: str, **obj: object) -> str:
        event = json.loads(BODY)
        event["type"] = event_type
        event["data"]["object"].update(obj)
        return _stripe().parse_event(event).kind

    assert kind("checkout.session.completed", payment_status="unpaid") == "pending"
    assert kind("checkout.session.async_payment_succeeded") == "paid"
    assert kind("checkout.session.async_payment_failed") == "declined"
    assert kind("checkout.session.expired", payment_status="unpaid") == "expired"
    assert kind("payout.paid", object="payout", amount=1000, currency="nok") == "payout"
    assert kind("charge.refunded") == "ignored"


VIPPS_SECRET = "A0+AeKBRG2KRGvnNwJpQlb6IJFk48CKXCIcrLoHncVJKDILsQSxS6NWCccwWm6r6FhGKhiHTBsG2wo/xU6FY/A=="
VIPPS_BODY = json.dumps(
    {"msn": "123456", "reference": "b" * 32, "pspReference": "psp-1", "name": "CAPTURED",
     "amount": {"currency": "NOK", "value": 49900}, "timestamp": "2027-01-15T10:00:00.000Z",
     "idempotencyKey": None, "success": True}
).encode()  # fmt: skip
PATH = "/portal/providers/vipps/webhook"


def _vipps() -> VippsProvider:
    return VippsProvider(
        VippsSettings(
            client_id="c", client_secret="s", subscription_key="k",  # type: ignore[arg-type]
            merchant_serial_number="123456", webhook_secret=VIPPS_SECRET,  # type: ignore[arg-type]
        )
    )  # fmt: skip


def _signed(now: dt.datetime, **changes: str) -> dict[str, str]:
    headers = vipps_headers(
        VIPPS_SECRET, VIPPS_BODY, "pay.example", PATH, email.utils.format_datetime(now, True)
    )
    return {**headers, "Host": "pay.example", **changes}


def test_vipps_documentation_example() -> None:
    """The Webhooks API's own worked example: this body, date, host and path give this signature."""
    body = b'{"some-unique-content":"ee6e441b-cc4a-46f8-895d-a5af79bcc233/hello-world"}'
    headers = {
        "x-ms-date": "Thu, 30 Mar 2023 08:38:32 GMT",
        "x-ms-content-sha256": "lNlsp1XA03N34HrQsVzPgJKtC+r7l/RBF4V3JQUWMj4=",
        "Authorization": "HMAC-SHA256 SignedHeaders=x-ms-date;host;x-ms-content-sha256&"
        "Signature=agAiSyogQbDHpeucoNwYz+yAr5nJ+v+zasdkSbqzv+U=",
        "host": "webhook.site",
    }
    when = dt.datetime(2023, 3, 30, 8, 39, tzinfo=dt.UTC)
    verify_signature(headers, body, VIPPS_SECRET, when, "/e2cee29b-012e-4f1d-8ef4-e95fd74a7a63")
    with pytest.raises(WebhookRefused, match="signature"):
        verify_signature(headers, body, VIPPS_SECRET, when, "/another-path")


def test_vipps_signature_good_and_parsed() -> None:
    now = dt.datetime(2027, 1, 15, 10, 0, tzinfo=dt.UTC)
    event = _vipps().verify_webhook(_signed(now), VIPPS_BODY, VIPPS_SECRET, now, path_and_query=PATH)
    result = _vipps().parse_event(event)
    assert result.kind == "paid" and result.checkout_id == "b" * 32 and result.provider_payment == "psp-1"
    assert result.amount == Decimal("499.00") and result.event_id == f"{'b' * 32}:CAPTURED:psp-1"


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"x-ms-content-sha256": "AAAA"}, "SHA-256"),
        ({"Host": "evil.example"}, "signature"),
        ({"Authorization": "HMAC-SHA256 SignedHeaders=host&Signature=x"}, "SignedHeaders"),
        ({"x-ms-date": "yesterday"}, "HTTP date"),
    ],
    ids=["body-hash", "host", "signed-headers", "date"],
)
def test_vipps_signature_refused(change: dict[str, str], reason: str) -> None:
    now = dt.datetime(2027, 1, 15, 10, 0, tzinfo=dt.UTC)
    with pytest.raises(WebhookRefused, match=reason):
        _vipps().verify_webhook(_signed(now, **change), VIPPS_BODY, VIPPS_SECRET, now, path_and_query=PATH)


def test_vipps_wrong_secret_tampered_body_and_stale_date() -> None:
    now = dt.datetime(2027, 1, 15, 10, 0, tzinfo=dt.UTC)
    provider = _vipps()
    with pytest.raises(WebhookRefused, match="signature"):
        provider.verify_webhook(_signed(now), VIPPS_BODY, "another secret", now, path_and_query=PATH)
    with pytest.raises(WebhookRefused, match="SHA-256"):
        provider.verify_webhook(
            _signed(now), VIPPS_BODY.replace(b"49900", b"1"), VIPPS_SECRET, now, path_and_query=PATH
        )
    later = now + dt.timedelta(seconds=301)
    with pytest.raises(WebhookRefused, match="300 s"):
        provider.verify_webhook(_signed(now), VIPPS_BODY, VIPPS_SECRET, later, path_and_query=PATH)
    with pytest.raises(WebhookRefused, match="missing"):
        provider.verify_webhook({}, VIPPS_BODY, VIPPS_SECRET, now, path_and_query=PATH)


@pytest.fixture
def stripe_stand_in() -> Iterator[StripeStandIn]:
    stand_in = StripeStandIn()
    yield stand_in
    stand_in.close()


@pytest.fixture
def vipps_stand_in() -> Iterator[VippsStandIn]:
    stand_in = VippsStandIn()
    yield stand_in
    stand_in.close()


REQUEST = CheckoutRequest(
    checkout_id="c" * 32,
    tenant_id="acme",
    currency="NOK",
    lines=(CheckoutLine("INV-1", Decimal("100.50")), CheckoutLine("INV-2", Decimal("20.00"))),
    success_url="https://portal.example/portal/pay/x/return?result=success",
    cancel_url="https://portal.example/portal/pay/x/return?result=cancel",
    customer_email="ap@c.example",
)


def test_stripe_creates_a_session_as_the_api_reads_it(stripe_stand_in: StripeStandIn) -> None:
    provider = StripeProvider(StripeSettings.model_validate(stripe_stand_in.settings()))
    opened = provider.start_checkout(REQUEST, idempotency_key="checkout-1")
    assert opened.reference.startswith("cs_test_") and opened.redirect_url.startswith(stripe_stand_in.base)
    form = dict(stripe_stand_in.forms[opened.reference])
    assert form["line_items[0][price_data][unit_amount]"] == "10050"
    assert form["line_items[1][price_data][product_data][name]"] == "Invoice INV-2"
    assert form["line_items[0][price_data][currency]"] == "nok" and form["mode"] == "payment"
    assert form["client_reference_id"] == "c" * 32 and form["metadata[gw_tenant]"] == "acme"
    assert stripe_stand_in.sessions[opened.reference]["amount_total"] == 12050
    again = provider.start_checkout(REQUEST, idempotency_key="checkout-1")
    assert again.reference == opened.reference  # the Idempotency-Key: one session
    wrong = StripeProvider(
        StripeSettings.model_validate({**stripe_stand_in.settings(), "secret_key": "sk_bad"})
    )
    with pytest.raises(ProviderError, match="401"):
        wrong.start_checkout(REQUEST, idempotency_key="checkout-2")


def test_vipps_token_create_and_capture(vipps_stand_in: VippsStandIn) -> None:
    provider = VippsProvider(VippsSettings.model_validate(vipps_stand_in.settings()))
    opened = provider.start_checkout(REQUEST, idempotency_key="checkout-1")
    assert opened.reference == "c" * 32 and opened.redirect_url == f"{vipps_stand_in.base}/landing/{'c' * 32}"
    payment = vipps_stand_in.payments["c" * 32]
    assert payment["amount"] == {"currency": "NOK", "value": 12050} and payment["userFlow"] == "WEB_REDIRECT"
    vipps_stand_in.payments["c" * 32]["state"] = "AUTHORIZED"
    psp = provider.capture("c" * 32, 12050, "NOK", idempotency_key="capture-1")
    assert psp.startswith("capture-") and vipps_stand_in.captures[0][1] == {"currency": "NOK", "value": 12050}
    assert len(vipps_stand_in.tokens) == 1  # one access token for both calls
    bad = VippsProvider(VippsSettings.model_validate({**vipps_stand_in.settings(), "client_secret": "no"}))
    with pytest.raises(ProviderError, match="access token"):
        bad.start_checkout(REQUEST, idempotency_key="checkout-2")


def test_redirects_only_to_the_providers_host() -> None:
    hosts = ("checkout.stripe.com",)
    assert redirect_allowed("https://checkout.stripe.com/c/pay/cs_1", "https://api.stripe.com", hosts)
    assert not redirect_allowed("http://checkout.stripe.com/c/pay/cs_1", "https://api.stripe.com", hosts)
    assert not redirect_allowed("https://checkout.stripe.com.evil.example/", "https://api.stripe.com", hosts)
    assert not redirect_allowed("javascript:alert(1)", "https://api.stripe.com", hosts)
    assert redirect_allowed("http://127.0.0.1:9/c/pay/x", "http://127.0.0.1:9", hosts)
    assert not redirect_allowed("http://127.0.0.1:8/c/pay/x", "http://127.0.0.1:9", hosts)


def test_minor_units_are_exact() -> None:
    assert minor_units(Decimal("1250.50"), "NOK") == 125050
    assert minor_units(Decimal("100"), "ISK") == 100
    with pytest.raises(ValueError, match="decimals"):
        minor_units(Decimal("1.005"), "NOK")
