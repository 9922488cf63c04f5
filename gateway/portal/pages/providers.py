"""The payment providers' webhooks: API routes (in the OpenAPI document, JSON answers), not pages.

Each reads the raw body (the signature is over its exact bytes), bounded in size, and hands it to
`gateway.services.portal.provider_events.receive_webhook`: a missing or wrong signature is a 400 naming the
reason, and nothing is recorded; a repeat answers 200 as the first did; an unknown checkout answers 200
(recorded as "unknown"), so the provider does not retry it forever.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from gateway.services.portal.provider_events import AdviceRefused, receive_webhook
from gateway.services.portal.providers import ProvidersFileError
from transports.payment_providers import ProviderError, WebhookRefused

router = APIRouter(tags=["payment providers"])


class ProviderEventAnswer(BaseModel):
    """What the gateway did with a provider's event (the provider only needs the 200)."""

    received: bool = Field(description="always true: the event was verified and taken")
    event_id: str = Field(description="the provider's event id (Vipps: reference, event name, psp reference)")
    outcome: str = Field(
        description="booked, late, capturing, pending, expired, declined, unknown, payout, payout-refused, "
        "ignored"
    )
    duplicate: bool = Field(description="the same event came before: answered as then, nothing changed")
    checkout_id: str | None = Field(None, description="the checkout it concerns, if any")
    payment_id: str | None = Field(None, description="the card payment advice booked, if any")

#: A provider's event is a few kilobytes; anything much larger is not one.
MAX_WEBHOOK_BYTES = 256 * 1024

_RAW_JSON = {
    "requestBody": {
        "required": True,
        "description": "the provider's event, exactly as sent (its signature is over these bytes)",
        "content": {"application/json": {"schema": {"type": "string", "format": "binary"}}},
    }
}
_ANSWERS: dict[int | str, dict[str, Any]] = {
    200: {
        "model": ProviderEventAnswer,
        "description": "received: `outcome` says what it did (booked, late, capturing, pending, expired, "
        "declined, unknown, payout, ignored); a repeat answers as the first did with `duplicate` true",
    },
    400: {"description": "not the provider's: the signature is missing, stale or wrong (nothing recorded)"},
    413: {"description": "too large to be an event"},
    502: {"description": "the provider refused a follow-up call (Vipps capture): not recorded, retry"},
}


async def _body(request: Request) -> bytes:
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_WEBHOOK_BYTES:
            raise HTTPException(413, f"an event is at most {MAX_WEBHOOK_BYTES:,} bytes")
    return bytes(body)


async def _receive(request: Request, provider: str) -> JSONResponse:
    body = await _body(request)
    path_and_query = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    try:
        outcome = await run_in_threadpool(
            receive_webhook,
            request.app.state.engine,
            request.app.state.settings,
            provider,
            dict(request.headers),
            body,
            path_and_query=path_and_query,
        )
    except WebhookRefused as error:
        raise HTTPException(400, f"{provider} webhook refused: {error.reason}") from None
    except ProviderError as error:
        raise HTTPException(502, str(error)) from None
    except (AdviceRefused, ProvidersFileError) as error:
        raise HTTPException(503, str(error)) from None
    return JSONResponse(outcome.as_dict())


@router.post("/portal/providers/stripe/webhook", openapi_extra=_RAW_JSON, responses=_ANSWERS)
async def stripe_webhook(request: Request) -> JSONResponse:
    """Stripe's events for the tenants' checkouts (`Stripe-Signature` checked with the tenant's endpoint
    secret): `checkout.session.completed` / `…async_payment_succeeded` book a card payment advice,
    `…async_payment_failed` / `…expired` end the checkout, `payout.paid` is recorded for reconciliation."""
    return await _receive(request, "stripe")


@router.post("/portal/providers/vipps/webhook", openapi_extra=_RAW_JSON, responses=_ANSWERS)
async def vipps_webhook(request: Request) -> JSONResponse:
    """Vipps MobilePay's ePayment events (Webhooks API, HMAC-SHA256 checked with the tenant's webhook
    secret): AUTHORIZED is captured by the gateway, CAPTURED books a card payment advice, ABORTED /
    CANCELLED / EXPIRED / TERMINATED end the checkout."""
    return await _receive(request, "vipps")
