"""A card payment advice (`schemas.card_advice.CardPaymentAdvice`) as remittance intake reads it.

A completed checkout at a payment provider (Stripe, Vipps) is kept as this small JSON document of ours and
booked through the same intake as a bank's file, so matching treats it like any payment: one credit of
kind "card", its lines naming the invoices paid (number, KID, amount), so it applies by itself. The
provider's payment id (Stripe pi_…, Vipps pspReference) is the payment's bank reference: the same provider
payment in a second advice (the webhook repeated, or another event for the same payment) is recognised as
the same money (`payment_fingerprint`) and booked once. The payer's name is the card holder's as the
provider gave it; the money itself reaches the bank later, bundled in the provider's payout.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import ValidationError

from mappings.base import FormatError
from schemas.card_advice import ADVICE_TYPE, CardPaymentAdvice
from schemas.remittance import Payment, RemittanceDocument, RemittanceLine

FORMAT_NAME = "card-advice"
#: Payment kind of a card advice's payment (matching, the ledger and payout reconciliation know it by this).
CARD_KIND = "card"
#: An advice names at most 200 invoices: far below this; a larger body is no advice of ours.
MAX_ADVICE_BYTES = 256 * 1024
#: The seller's day: a payment at 00:30 in Oslo is booked on that day, not on the day before (UTC).
OSLO = ZoneInfo("Europe/Oslo")
PROVIDER_NAMES = {"stripe": "Stripe", "vipps": "Vipps MobilePay"}
_TYPE_MARKER = re.compile(rb'"type"\s*:\s*"' + re.escape(ADVICE_TYPE.encode()) + rb'"')
#: The marker is looked for in the head only: sniffing stays cheap on a large JSON file of another kind.
_SNIFF_HEAD = 4096


def sniff(data: bytes) -> bool:
    """A JSON object whose head says `"type": "gateway.card-payment-advice"`."""
    body = data.removeprefix(b"\xef\xbb\xbf").lstrip()
    return body.startswith(b"{") and _TYPE_MARKER.search(body[:_SNIFF_HEAD]) is not None


def read_advice(data: bytes) -> CardPaymentAdvice:
    """The advice as its schema reads it; `FormatError` naming the first field that is wrong."""
    if len(data) > MAX_ADVICE_BYTES:
        raise FormatError(
            "file", f"{len(data):,} bytes; a card payment advice is at most {MAX_ADVICE_BYTES:,}"
        )
    try:
        return CardPaymentAdvice.model_validate_json(data.removeprefix(b"\xef\xbb\xbf"))
    except ValidationError as error:
        first = error.errors(include_url=False)[0]
        where = ".".join(str(part) for part in first["loc"]) or "file"
        if first["type"] == "json_invalid":
            where = "file"
        raise FormatError(where, str(first["msg"])[:500]) from None


def paid_on(advice: CardPaymentAdvice) -> dt.date:
    """The day the customer paid, in Oslo (a time without a zone is taken as UTC)."""
    at = advice.paid_at if advice.paid_at.tzinfo else advice.paid_at.replace(tzinfo=dt.UTC)
    return at.astimezone(OSLO).date()


def parse(data: bytes) -> RemittanceDocument:
    """The advice as one card payment (a credit) whose lines name the invoices paid."""
    advice = read_advice(data)
    provider = PROVIDER_NAMES[advice.provider]
    day = paid_on(advice)
    lines = tuple(
        RemittanceLine(kid=invoice.kid, invoice_number=invoice.number, document_kind="invoice",
                       amount=invoice.amount)
        for invoice in advice.invoices
    )  # fmt: skip
    lines_total = sum((line.amount for line in lines if line.amount is not None), Decimal(0))
    if lines_total != advice.amount:
        raise FormatError(
            "invoices", f"the invoices' amounts add up to {lines_total}, the advice says {advice.amount}"
        )
    payment = Payment(
        amount=advice.amount,
        currency=advice.currency,
        direction="credit",
        booking_date=day,
        value_date=day,
        payer_name=advice.payer_name,
        bank_reference=advice.provider_payment,
        end_to_end_id=advice.checkout_id,
        free_text=(f"card payment via {provider}",),
        lines=lines,
        kind=CARD_KIND,
        position="advice",
    )
    return RemittanceDocument(
        format=FORMAT_NAME,
        payments=[payment],
        message_id=advice.event_id,
        created_at=advice.paid_at,
        currency=advice.currency,
        sender=advice.provider,
        declared_count=1,
        declared_total=advice.amount,
        notes=[f"{provider} payment {advice.provider_payment} at checkout {advice.checkout_id}"],
    )


def inspect(data: bytes) -> dict[str, Any]:
    """What the gateway reads from an advice (for `gateway inspect --json`): the remittance document with
    the provider's facts, or `valid: false` and the refusal."""
    try:
        advice = read_advice(data)
        document = parse(data)
    except FormatError as error:
        return {"format": FORMAT_NAME, "valid": False, "errors": [error.as_dict()]}
    return {
        **document.as_dict(),
        "valid": True,
        "errors": [],
        "provider": advice.provider,
        "event_id": advice.event_id,
        "checkout_id": advice.checkout_id,
        "provider_payment": advice.provider_payment,
        "customer": advice.customer,
    }
