"""Promises to pay: a customer's promise pauses follow-up on the invoice until its date."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from db.models import InvoiceRecord, utcnow
from gateway.api.deps import IdentityDep, SessionDep
from gateway.api.params import Limit, Offset
from gateway.api.routes.disputes import refusals
from gateway.api.views import View
from gateway.services.followup import disputes as dispute_service
from gateway.services.followup import promises as service

router = APIRouter(tags=["disputes"])


class PromiseRequest(BaseModel):
    """The customer will pay `amount` by `date` (today up to `promise_max_days` ahead)."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"date": "2026-12-10", "amount": "2500.00"}]}
    )

    date: dt.date
    amount: Annotated[Decimal, Field(gt=0, max_digits=19, decimal_places=2)]


class PromiseView(View):
    id: str
    invoice_id: str
    invoice_number: str | None
    customer_key: str | None
    date: str
    amount: str
    status: str
    created_by: str
    created_at: str
    resolved_at: str | None


class PromisePage(View):
    items: list[PromiseView]
    limit: int
    offset: int


@router.post("/invoices/{invoice_id}/promises", status_code=201)
def post_promise(
    invoice_id: str, body: PromiseRequest, identity: IdentityDep, session: SessionDep
) -> PromiseView:
    """Record a promise to pay; an open promise on the invoice is replaced (it becomes cancelled)."""
    now = utcnow()
    with refusals():
        promise = service.add_promise(
            session, identity.tenant_id, invoice_id, promised_on=body.date, amount=body.amount,
            actor=identity.actor, on=dispute_service.today(now), now=now,
        )  # fmt: skip
    return PromiseView.model_validate(
        service.promise_view(promise, session.get(InvoiceRecord, promise.invoice_id))
    )


@router.get("/promises")
def get_promises(
    identity: IdentityDep,
    session: SessionDep,
    status: Annotated[Literal["open", "kept", "broken", "cancelled"] | None, Query()] = None,
    customer: Annotated[str | None, Query(max_length=200, description="the customer key")] = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> PromisePage:
    """The tenant's promises to pay, soonest date first."""
    found = service.list_promises(
        session, identity.tenant_id, status=status, customer=customer, limit=limit, offset=offset
    )
    items = [service.promise_view(p) for p in found]
    return PromisePage.model_validate({"items": items, "limit": limit, "offset": offset})


@router.get("/promises/{promise_id}")
def get_promise(promise_id: str, identity: IdentityDep, session: SessionDep) -> PromiseView:
    promise = service.get_promise(session, identity.tenant_id, promise_id)
    return PromiseView.model_validate(
        service.promise_view(promise, session.get(InvoiceRecord, promise.invoice_id))
    )


@router.delete("/promises/{promise_id}")
def delete_promise(promise_id: str, identity: IdentityDep, session: SessionDep) -> PromiseView:
    """Cancel an open promise: follow-up no longer waits for it (a settled one is a 409)."""
    with refusals():
        promise = service.cancel_promise(
            session, identity.tenant_id, promise_id, actor=identity.actor, now=utcnow()
        )
    return PromiseView.model_validate(
        service.promise_view(promise, session.get(InvoiceRecord, promise.invoice_id))
    )
