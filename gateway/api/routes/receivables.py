"""Receivables: the invoices a reminder may be sent for."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Query

from gateway.api.deps import IdentityDep, SessionDep
from gateway.api.views import OverdueInvoice, OverdueInvoiceList
from gateway.services.payments import matching_runs as payment_service

router = APIRouter(tags=["payments"])


@router.get("/receivables/overdue")
def get_overdue(
    identity: IdentityDep,
    session: SessionDep,
    today: dt.date | None = None,
    grace_days: Annotated[int, Query(ge=0, le=365)] = 14,
) -> OverdueInvoiceList:
    """Invoices a reminder may be sent for: past due and not paid (paid ones never appear)."""
    found = payment_service.reminder_candidates(
        session, identity.tenant_id, today=today or dt.date.today(), grace_days=grace_days
    )
    return OverdueInvoiceList(
        items=[
            OverdueInvoice(
                id=invoice.id,
                number=invoice.number,
                due_date=invoice.due_date.isoformat() if invoice.due_date else None,
                currency=invoice.currency,
                payable_amount=invoice.payable_amount,
                open_amount=invoice.open_amount or invoice.payable_amount,
                payment_status=invoice.payment_status,
                buyer_name=invoice.buyer_name,
            )
            for invoice in found
        ]
    )
