"""A payment provider's webhook, from raw request to what it changes: whose it is, whether it is genuine,
and what it means for the checkout it names.

- Which tenant: the event names it (Stripe `metadata.gw_tenant`; a Vipps `reference` is a checkout, and the
  checkout is a tenant's); its signature is then checked with THAT tenant's secret. An event naming none
  (Stripe's `payout.paid`; an unknown Vipps reference) is tried with each configured tenant's secret. No
  secret verifies it: `WebhookRefused` (400), and nothing is recorded.
- Once per event: `ProviderEvent` is unique per (provider, event id); a repeat answers as the first did and
  changes nothing.
- A paid checkout (Stripe `checkout.session.completed` with `payment_status` paid, or
  `…async_payment_succeeded`; Vipps `CAPTURED`) becomes a card payment advice (`schemas.card_advice`) kept
  through the remittance intake (`book_advice`), so matching applies it like any payment. A LATE one (the
  checkout expired, or an invoice was paid another way meanwhile) is booked all the same: the money was
  taken, and matching shows it as overpaid or unapplied — money is never dropped; the outcome says `late`.
- Vipps `AUTHORIZED`: the gateway captures (the invoices are for goods already delivered); the `CAPTURED`
  event that follows books. A capture the provider refuses is not recorded, so Vipps' retry tries again.
- Expired / aborted / cancelled / failed: the open checkout ends (`expired` / `declined`), nothing booked.
- An unknown checkout: recorded with outcome `unknown`, answered 200 (the provider must not retry forever).
- `payout.paid`: the payout and the advices it bundles are recorded (`on_payout_event` →
  `payouts.record_stripe_payout`); the bank statement's entry for it is then reconciled, not matched again.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import httpx
from sqlalchemy import Engine, select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col

from db.engine import session_scope
from db.models import CardCheckout, InvoiceRecord, ProviderEvent, utcnow
from gateway.services.outbound.documents import document_store
from gateway.services.payments.intake import RemittanceUpload, receive_and_match
from gateway.services.payments.matching_runs import MatchingBusy, run_matching
from gateway.services.portal.checkout import checkout_lines, set_note
from gateway.services.portal.notify import send_receipt
from gateway.services.portal.payouts import PayoutRefused, record_stripe_payout
from gateway.services.portal.providers import provider_for, tenants_with, webhook_secret
from gateway.settings import Settings
from schemas.card_advice import AdvisedInvoice, CardPaymentAdvice
from transports.payment_providers import (
    PaymentProvider,
    ProviderError,
    ProviderResult,
    WebhookRefused,
    minor_units,
)
from transports.payment_providers.stripe import StripeProvider, tenant_hint
from transports.payment_providers.stripe_payouts import StripeApiError
from transports.payment_providers.vipps import VippsProvider, reference_hint


class AdviceRefused(Exception):
    """The remittance intake refused a card payment advice (a bug or a missing format, never the
    customer's doing): the webhook is not recorded, so the provider's retry tries again."""


@dataclass(frozen=True)
class EventOutcome:
    """What a webhook did: `outcome` (booked, late, capturing, pending, expired, declined, unknown, payout,
    ignored …), the checkout and booked payment if any, and whether it was a repeat."""

    outcome: str
    event_id: str
    checkout_id: str | None = None
    payment_id: str | None = None
    duplicate: bool = False
    tenant_id: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "received": True,
            "event_id": self.event_id,
            "outcome": self.outcome,
            "duplicate": self.duplicate,
            "checkout_id": self.checkout_id,
            "payment_id": self.payment_id,
        }


def receive_webhook(
    engine: Engine,
    settings: Settings,
    provider_name: str,
    headers: Mapping[str, str],
    body: bytes,
    *,
    path_and_query: str,
    now: dt.datetime | None = None,
    client: Callable[[], httpx.Client] | None = None,
) -> EventOutcome:
    """Verify a webhook with the right tenant's secret and handle it; `WebhookRefused` when no tenant's
    secret verifies it (nothing recorded)."""
    now = now or utcnow()
    candidates = _candidate_tenants(engine, settings, provider_name, body)
    if not candidates:
        raise WebhookRefused(f"no tenant has {provider_name} configured for this event")
    refusal: WebhookRefused | None = None
    for tenant_id in candidates:
        secret = webhook_secret(settings, tenant_id, provider_name)
        provider = provider_for(settings, tenant_id, provider_name, client=client)
        if secret is None or provider is None:
            continue
        try:
            event = provider.verify_webhook(headers, body, secret, now, path_and_query=path_and_query)
        except WebhookRefused as error:
            refusal = refusal or error
            continue
        try:
            result = provider.parse_event(event)
        except (KeyError, TypeError, ValueError) as error:
            raise WebhookRefused(f"the event cannot be read: {error}") from None
        outcome = handle_event(engine, settings, provider, tenant_id, result, now=now)
        if outcome.outcome in ("booked", "late") and not outcome.duplicate and outcome.checkout_id:
            # the event is kept (committed): the first delivery of it sends the receipt, a repeat does not
            send_receipt(engine, settings, outcome.checkout_id, payer_email=result.payer_email)
        return outcome
    raise refusal or WebhookRefused(f"no tenant has {provider_name} configured for this event")


def _candidate_tenants(engine: Engine, settings: Settings, provider_name: str, body: bytes) -> list[str]:
    configured = tenants_with(settings, provider_name)
    named: str | None = None
    if provider_name == "stripe":
        named = tenant_hint(body)
    elif provider_name == "vipps":
        reference = reference_hint(body)
        if reference:
            with session_scope(engine) as session:
                named = session.execute(
                    select(col(CardCheckout.tenant_id)).where(
                        col(CardCheckout.provider) == "vipps",
                        col(CardCheckout.provider_reference) == reference,
                    )
                ).scalar_one_or_none()
    if named is not None:
        return [named] if named in configured else []
    return configured


def _seen(session: Session, provider: str, event_id: str) -> ProviderEvent | None:
    return session.execute(
        select(ProviderEvent).where(
            col(ProviderEvent.provider) == provider, col(ProviderEvent.event_id) == event_id
        )
    ).scalar_one_or_none()


def _repeat(engine: Engine, provider: str, event_id: str) -> EventOutcome | None:
    with session_scope(engine) as session:
        seen = _seen(session, provider, event_id)
        if seen is None:
            return None
        checkout = session.get(CardCheckout, seen.checkout_id) if seen.checkout_id else None
        return EventOutcome(
            seen.outcome,
            event_id,
            seen.checkout_id,
            checkout.payment_id if checkout else None,
            True,
            seen.tenant_id,
        )


def _record(
    engine: Engine,
    tenant_id: str,
    provider: str,
    result: ProviderResult,
    outcome: str,
    detail: str | None,
    checkout_id: str | None,
    now: dt.datetime,
    change: Callable[[Session], None] | None = None,
) -> bool:
    """Keep the event and apply `change` in one transaction; False when it was kept already (a repeat
    that raced this one): then nothing changes."""
    try:
        with session_scope(engine) as session:
            session.add(
                ProviderEvent(
                    tenant_id=tenant_id, provider=provider, event_id=result.event_id[:200],
                    event_type=result.event_type[:100], received_at=now, outcome=outcome,
                    detail=detail, checkout_id=checkout_id,
                )
            )  # fmt: skip
            session.flush()
            if change is not None:
                change(session)
    except IntegrityError:
        return False
    return True


def handle_event(
    engine: Engine,
    settings: Settings,
    provider: PaymentProvider,
    tenant_id: str,
    result: ProviderResult,
    *,
    now: dt.datetime,
) -> EventOutcome:
    """What a verified event of `tenant_id` changes (see the module's docstring)."""
    name = provider.name
    repeat = _repeat(engine, name, result.event_id)
    if repeat is not None:
        return repeat
    if result.kind == "payout":
        return on_payout_event(engine, settings, provider, tenant_id, result, now=now)
    with session_scope(engine) as session:
        checkout = _checkout(session, tenant_id, name, result)
        if checkout is not None:
            session.expunge(checkout)
    if checkout is None:
        outcome = "unknown" if result.checkout_id else "ignored"
        detail = f"no checkout {result.checkout_id!r} of this tenant" if result.checkout_id else result.detail
        return _finish(engine, tenant_id, name, result, outcome, detail, None, now)
    if result.kind == "paid":
        return _paid(engine, settings, tenant_id, name, checkout, result, now)
    if result.kind == "authorized" and isinstance(provider, VippsProvider):
        amount = result.amount if result.amount is not None else Decimal(checkout.amount)
        currency = result.currency or checkout.currency
        psp = provider.capture(
            checkout.provider_reference or checkout.id,
            minor_units(amount, currency),
            currency,
            idempotency_key=f"capture-{checkout.id}",
        )  # ProviderError: not recorded, the provider's retry captures again
        return _finish(engine, tenant_id, name, result, "capturing", f"capture {psp}", checkout.id, now)
    if result.kind in ("expired", "declined"):
        if checkout.status != "open":
            detail = f"the checkout is {checkout.status} already"
            return _finish(engine, tenant_id, name, result, "ignored", detail, checkout.id, now)
        kind = result.kind

        def end(session: Session) -> None:
            row = session.get(CardCheckout, checkout.id)
            if row is not None and row.status == "open":
                row.status = kind
                row.completed_at = now
                set_note(row, result.detail or result.event_type)

        return _finish(engine, tenant_id, name, result, kind, result.detail, checkout.id, now, end)
    outcome = "pending" if result.kind == "pending" else "ignored"
    return _finish(engine, tenant_id, name, result, outcome, result.detail, checkout.id, now)


def _checkout(session: Session, tenant_id: str, provider: str, result: ProviderResult) -> CardCheckout | None:
    if not result.checkout_id:
        return None
    checkout = session.get(CardCheckout, result.checkout_id)
    if checkout is None or checkout.tenant_id != tenant_id or checkout.provider != provider:
        return None
    if result.provider_reference and checkout.provider_reference not in (None, result.provider_reference):
        return None
    return checkout


def _finish(
    engine: Engine,
    tenant_id: str,
    provider: str,
    result: ProviderResult,
    outcome: str,
    detail: str | None,
    checkout_id: str | None,
    now: dt.datetime,
    change: Callable[[Session], None] | None = None,
    payment_id: str | None = None,
) -> EventOutcome:
    if not _record(engine, tenant_id, provider, result, outcome, detail, checkout_id, now, change):
        repeat = _repeat(engine, provider, result.event_id)
        if repeat is not None:
            return repeat
    return EventOutcome(outcome, result.event_id, checkout_id, payment_id, False, tenant_id)


def _paid(
    engine: Engine,
    settings: Settings,
    tenant_id: str,
    provider: str,
    checkout: CardCheckout,
    result: ProviderResult,
    now: dt.datetime,
) -> EventOutcome:
    payment = result.provider_payment or result.provider_reference or result.event_id
    if checkout.status == "paid" and checkout.provider_payment == payment:
        # the same payment told again by another event (booked once: its advice was kept then)
        detail = f"payment {payment} is booked already"
        return _finish(engine, tenant_id, provider, result, "ignored", detail, checkout.id, now)
    with session_scope(engine) as session:
        settled = _settled_numbers(session, checkout)
    late_reasons = []
    if checkout.status != "open":
        late_reasons.append(f"the checkout was {checkout.status}")
    if settled:
        late_reasons.append(f"paid another way meanwhile: {', '.join(settled)}")
    advice = advice_for(checkout, result, payment, now)
    payment_id = book_advice(engine, settings, tenant_id, advice, actor=f"{provider}:webhook")
    outcome = "late" if late_reasons else "booked"
    note = f"{outcome}: {'; '.join(late_reasons)}" if late_reasons else "paid"
    if result.amount is not None and result.amount != Decimal(checkout.amount):
        note += f"; the provider took {result.amount} for {checkout.amount}"

    def complete(session: Session) -> None:
        row = session.get(CardCheckout, checkout.id)
        if row is None:
            return
        row.status = "paid"
        row.provider_payment = payment
        row.payment_id = payment_id
        row.completed_at = now
        set_note(row, note)

    return _finish(engine, tenant_id, provider, result, outcome, note, checkout.id, now, complete, payment_id)


def _settled_numbers(session: Session, checkout: CardCheckout) -> list[str]:
    """The checkout's invoices paid in full since it was opened (another payment came first)."""
    rows = session.execute(
        select(InvoiceRecord).where(col(InvoiceRecord.id).in_(checkout.invoice_ids))
    ).scalars()
    return sorted(row.number for row in rows if row.payment_status in ("paid", "overpaid"))


def advice_for(
    checkout: CardCheckout, result: ProviderResult, payment: str, now: dt.datetime
) -> CardPaymentAdvice:
    """The card payment advice a paid checkout becomes: the provider's amount and payment, the invoices
    and amounts the checkout was opened for."""
    provider = "stripe" if checkout.provider == "stripe" else "vipps"
    return CardPaymentAdvice(
        provider=provider,
        event_id=result.event_id[:200],
        checkout_id=checkout.id,
        provider_payment=payment[:200],
        paid_at=result.at or now,
        amount=result.amount if result.amount is not None else Decimal(checkout.amount),
        currency=(result.currency or checkout.currency).upper(),
        payer_name=(result.payer_name or None) and str(result.payer_name)[:200],
        payer_email=(result.payer_email or None) and str(result.payer_email)[:320],
        customer=checkout.receiver_id,
        invoices=[
            AdvisedInvoice(number=line.number, kid=line.kid or None, amount=line.amount)
            for line in checkout_lines(checkout)
        ],
    )


def book_advice(
    engine: Engine, settings: Settings, tenant_id: str, advice: CardPaymentAdvice, *, actor: str
) -> str | None:
    """Keep the advice through the remittance intake (format "card-advice", source the provider) and
    match it; the booked payment's id. The same advice again is the same bytes: booked once, and the
    first booking's payment is answered."""
    upload = RemittanceUpload(
        data=advice.model_dump_json().encode(),
        filename=f"card-advice-{advice.provider}-{advice.checkout_id}.json",
    )
    intake = receive_and_match(
        engine, document_store(settings, engine), [upload], tenant_id=tenant_id, source=advice.provider,
        actor=actor, match=False,
    )  # fmt: skip
    receipt = intake.files[0].receipt
    if receipt.status == "rejected":
        raise AdviceRefused(f"the card payment advice was refused: {receipt.error_field}: {receipt.reason}")
    payments = intake.files[0].payments
    payment_id = (
        receipt.payment_ids[0] if receipt.payment_ids else (str(payments[0]["id"]) if payments else None)
    )
    if payment_id is not None:
        _match_advice(engine, tenant_id, payment_id, [line.number for line in advice.invoices])
    return payment_id


def _match_advice(engine: Engine, tenant_id: str, payment_id: str, numbers: list[str]) -> None:
    """Match the advice against the invoices it names only (the checkout's: the gateway put them there),
    not every open item of the tenant; a busy lease leaves it `new` for the next run, which sees all."""
    with session_scope(engine) as session:
        invoice_ids = list(
            session.execute(
                select(col(InvoiceRecord.id)).where(
                    col(InvoiceRecord.tenant_id) == tenant_id, col(InvoiceRecord.number).in_(numbers)
                )
            ).scalars()
        )
    with contextlib.suppress(MatchingBusy):  # the worker's periodic run decides it
        run_matching(engine, tenant_id, checkout=([payment_id], invoice_ids))


def on_payout_event(
    engine: Engine,
    settings: Settings,
    provider: PaymentProvider,
    tenant_id: str,
    result: ProviderResult,
    *,
    now: dt.datetime,
) -> EventOutcome:
    """A provider's payout to the seller's bank (Stripe `payout.paid`): the payout's balance transactions
    are read from Stripe and the payout recorded with the card advices it bundles
    (`payouts.record_stripe_payout`), so the bank statement's entry for it is reconciled, not matched again.
    Stripe unreachable: `ProviderError` (nothing recorded: the webhook answers 5xx and Stripe sends it
    again); a payout that does not add up is recorded with outcome "payout-refused" and the reason."""
    outcome, detail_text = "payout", None
    if isinstance(provider, StripeProvider):
        event = {"id": result.event_id, "type": result.event_type, "data": {"object": dict(result.data)}}
        try:
            payout = record_stripe_payout(
                engine,
                tenant_id,
                event,
                secret_key=provider.settings.secret_key.get_secret_value(),
                api_base=provider.settings.api_base,
                now=now,
            )
        except StripeApiError as error:
            raise ProviderError(f"Stripe's balance transactions could not be read: {error}") from None
        except PayoutRefused as error:
            outcome, detail_text = "payout-refused", f"{error.field}: {error.reason}"
        else:
            detail_text = json.dumps(
                {
                    "payout": payout.payout_reference,
                    "card_payout_id": payout.id,
                    "net": str(payout.amount),
                    "gross": str(payout.gross),
                    "fees": str(payout.fees),
                    "currency": payout.currency,
                }
            )
    if detail_text is None:
        data = result.data
        detail_text = json.dumps(
            {
                "payout": result.provider_payment,
                "amount": str(result.amount) if result.amount is not None else None,
                "currency": result.currency,
                "arrival_date": data.get("arrival_date"),
            }
        )
    return _finish(engine, tenant_id, provider.name, result, outcome, detail_text, None, now)


__all__ = [
    "AdviceRefused",
    "EventOutcome",
    "ProviderError",
    "WebhookRefused",
    "advice_for",
    "book_advice",
    "handle_event",
    "on_payout_event",
    "receive_webhook",
]
