"""Receivables per customer: balance, overdue, credit limit and headroom, disputes, promises, lateness."""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter

from gateway.api.deps import IdentityDep, SessionDep
from gateway.api.params import Limit, Offset
from gateway.api.views import CustomerPage, CustomerView
from gateway.services.followup import customers as customer_service
from gateway.services.followup.credit import today_in

router = APIRouter(tags=["receivables"])


@router.get("/receivables/customers")
def get_customers(
    identity: IdentityDep,
    session: SessionDep,
    over_limit: bool = False,
    on: dt.date | None = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> CustomerPage:
    """The tenant's customers (receiver profiles) with balances and headroom; `over_limit=true`: only
    those whose open balance is above their credit limit."""
    items = customer_service.list_customers(
        session, identity.tenant_id, on=on or today_in(), over_limit=over_limit, limit=limit, offset=offset
    )
    return CustomerPage.model_validate({"items": items, "limit": limit, "offset": offset})


@router.get("/receivables/customers/{receiver_id}")
def get_customer(
    receiver_id: str, identity: IdentityDep, session: SessionDep, on: dt.date | None = None
) -> CustomerView:
    """One customer: balance, overdue amount and count, limit and headroom, risk flag, open disputes,
    promises (open, kept, broken), average days late, follow-up level reached, notices sent, hand-offs."""
    view = customer_service.customer_view(session, identity.tenant_id, receiver_id, on=on or today_in())
    return CustomerView.model_validate(view)
