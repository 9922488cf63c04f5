"""Card payments: the portal's checkouts and the providers' payouts, for the operations team to see what
customers paid by card, what is still open at the provider, and which payouts reached the bank.

Read-only (a checkout is finished by the provider's webhook, a payout reconciled by matching the bank
statement); over `gateway.services.portal.card_payments`, which the API's `/card-checkouts` and
`/card-payouts` routes use too. Every signed-in role may look.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import Response

from db.engine import session_scope
from gateway.console.auth import Viewer
from gateway.console.templating import page
from gateway.services.portal import card_payments as service

router = APIRouter()

PATH = "/console/payments/cards"
#: Rows shown of each list (newest first).
SHOWN = 100
CHECKOUT_FILTER = {"": "Every status", **{name: name.capitalize() for name in service.CHECKOUT_STATUSES}}


@router.get(PATH)
def card_payments_page(
    request: Request,
    identity: Viewer,
    status: Annotated[str, Query(max_length=20)] = "",
    customer: Annotated[str, Query(max_length=100)] = "",
) -> Response:
    """Checkouts (customer, invoices, amount, provider, status, when, the provider's events) and payouts
    (reference, net, gross, fees, arrival, reconciled with which bank payment, the card payments bundled)."""
    if status not in CHECKOUT_FILTER:
        raise HTTPException(404, f"There is no checkout status {status!r}.")
    with session_scope(request.app.state.engine) as session:
        checkouts = service.list_card_checkouts(
            session, identity.tenant_id, status=status or None, receiver_id=customer.strip() or None,
            limit=SHOWN + 1,
        )  # fmt: skip
        payouts = [
            service.payout_detail(session, identity.tenant_id, row["id"])
            for row in service.list_card_payouts(session, identity.tenant_id, limit=SHOWN)
        ]
    context = {
        "title": "Card payments",
        "checkouts": checkouts[:SHOWN],
        "more_checkouts": len(checkouts) > SHOWN,
        "payouts": payouts,
        "status": status,
        "customer": customer.strip(),
        "status_options": list(CHECKOUT_FILTER.items()),
    }
    return page(request, "payments/cards.html", context, identity=identity)
