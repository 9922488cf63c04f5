"""Pay by link: the pay form's target, and the page the customer comes back to from the provider.

`POST /portal/pay` (CSRF checked; an invoice link's visitor may pay its one invoice) opens a checkout for the
chosen invoices at the chosen provider and sends the browser there (303) — only to the provider's own
page: the address comes from the provider's answer and must be HTTPS on the provider's host (or the
configured API host of a stand-in). Another customer's invoice is a 404, and no checkout is made.
`GET /portal/pay/{checkout_id}/return` shows what became of the customer's own checkout: being confirmed
(the webhook has not come yet), paid, cancelled or declined.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from db.engine import session_scope
from db.models import CardCheckout
from gateway.portal.auth import Visitor, VisitorPost
from gateway.portal.templating import page
from gateway.services.portal.checkout import (
    CheckoutFailed,
    CheckoutNotFound,
    CheckoutRefused,
    checkout_lines,
    customer_checkout,
    portal_base,
    start_checkout,
)
from gateway.services.portal.providers import ProvidersFileError

router = APIRouter()


@router.post("/portal/pay")
def pay(
    request: Request,
    identity: VisitorPost,
    provider: Annotated[str, Form(max_length=20)],
    invoice: Annotated[list[str], Form(max_length=32)],
) -> Response:
    """Open a checkout for the chosen invoices and send the customer to the provider's page."""
    settings = request.app.state.settings
    try:
        checkout = start_checkout(
            request.app.state.engine,
            settings,
            tenant_id=identity.tenant_id,
            receiver_id=identity.receiver_id,
            invoice_ids=invoice,
            provider=provider,
            actor=identity.actor,
            base_url=portal_base(settings, str(request.base_url)),
            customer_email=identity.email,
            only_invoice=None if identity.signed_in else identity.invoice_id,
        )
    except CheckoutNotFound:
        raise HTTPException(404, "no such invoice") from None
    except CheckoutRefused as error:
        raise HTTPException(422, f"{error.field}: {error.reason}") from None
    except (CheckoutFailed, ProvidersFileError) as error:
        raise HTTPException(502, str(error)) from None
    assert checkout.redirect_url is not None
    return RedirectResponse(checkout.redirect_url, status_code=303)


def _state(checkout: CardCheckout, result: str) -> str:
    if checkout.status == "paid":
        return "paid"
    if checkout.status in ("expired", "declined", "failed"):
        return checkout.status
    return "cancelled" if result == "cancel" else "confirming"


@router.get("/portal/pay/{checkout_id}/return")
def pay_return(request: Request, identity: Visitor, checkout_id: str, result: str = "success") -> Response:
    """The customer back from the provider: the customer's own checkout only (else 404)."""
    with session_scope(request.app.state.engine) as session:
        try:
            checkout = customer_checkout(
                session,
                identity.tenant_id,
                identity.receiver_id,
                checkout_id,
                only_invoice=None if identity.signed_in else identity.invoice_id,
            )
        except CheckoutNotFound:
            raise HTTPException(404, "no such checkout") from None
        session.expunge(checkout)
    state = _state(checkout, result)
    return page(
        request,
        "pay_return.html",
        {
            "checkout": checkout,
            "state": state,
            "lines": checkout_lines(checkout),
            "amount": Decimal(checkout.amount),
            "refresh": state == "confirming",
        },
        identity=identity,
    )
