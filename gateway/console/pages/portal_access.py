"""Portal access on a customer's page: who at this customer can sign in to the seller's portal, an
invitation for another address, and disabling a user.

The invitation is the one the API's `POST /customers/{id}/portal-users` and `gateway portal invite` make
(`gateway.services.portal.mail.invite_and_send`): the user (made, or enabled again) and an e-mail with a
one-time link valid `portal_invite_days`. The user is kept when the e-mail does not leave (no e-mail
settings, the server down): the notice says so and why, and inviting again sends a fresh link. Disabling
ends the user's sessions and unused links (`access.disable_user`, as `DELETE …/portal-users/{id}`).

Who may: roles with the "deliveries" permission (operator, admin) invite and disable — reaching the
customer is operations' work; a viewer and a credit controller see the list without buttons, and their
forged POST is a 403 (`Operator` checks role and CSRF on the server).
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from db.engine import session_scope
from db.models import utcnow
from gateway.console.auth import Operator
from gateway.console.templating import redirect
from gateway.services.portal import access
from gateway.services.portal.mail import invite_and_send
from gateway.services.tenancy.console_users import ConsoleIdentity

router = APIRouter()

BASE = "/console/follow-up/customers"
ANCHOR = "#portal-access-h"
LANGUAGES = {"nb": "Norsk (bokmål)", "en": "English"}


def _page(receiver_id: str) -> str:
    return f"{BASE}/{quote(receiver_id, safe='')}{ANCHOR}"


def portal_block(session: Session, identity: ConsoleIdentity, receiver_id: str) -> dict[str, Any]:
    """What the customer page's "Portal access" block shows: the users (disabled ones last), whether the
    customer can be invited to (it needs a receiver profile), and whether this person may change it."""
    users = access.list_users(session, identity.tenant_id, receiver_id)
    return {
        "users": sorted(users, key=lambda user: (not user.active, user.email)),
        "has_profile": access.receiver_exists(session, identity.tenant_id, receiver_id),
        "may_act": identity.may("deliveries"),
        "languages": list(LANGUAGES.items()),
    }


@router.post(BASE + "/{receiver_id}/portal-users")
def invite_portal_user(
    request: Request,
    identity: Operator,
    receiver_id: str,
    email: Annotated[str, Form(max_length=320)] = "",
    language: Annotated[str, Form(max_length=5)] = "nb",
) -> Response:
    """Invite an address to this customer's portal pages, as the API's invitation does."""
    with session_scope(request.app.state.engine) as session:
        try:
            invitation = invite_and_send(
                session,
                request.app.state.settings,
                identity.tenant_id,
                receiver_id,
                email,
                language=language,
                invited_by=identity.actor,
                base_url=str(request.base_url),
                now=utcnow(),
            )
        except access.UnknownCustomer:
            raise HTTPException(
                404, f"There is no customer {receiver_id} with a receiver profile for {identity.tenant_id}."
            ) from None
        except access.PortalAccessError as error:
            why = f"Nobody was invited: {error.field}: {error.reason}"
            return redirect(request, _page(receiver_id), why, kind="error")
    address = invitation.user.email
    if invitation.mail_error is not None:
        return redirect(
            request,
            _page(receiver_id),
            f"{address} is invited, but the invitation e-mail did not leave: {invitation.mail_error}. "
            "Invite again once that is fixed: it sends a fresh link.",
            kind="warn",
        )
    days = request.app.state.settings.portal_invite_days
    return redirect(
        request,
        _page(receiver_id),
        f"Invited {address}: the e-mail with a sign-in link (valid {days:g} days) has left.",
    )


@router.post(BASE + "/{receiver_id}/portal-users/{user_id}/disable")
def disable_portal_user(request: Request, identity: Operator, receiver_id: str, user_id: str) -> Response:
    """The user can no longer sign in; its sessions and unused links end now."""
    with session_scope(request.app.state.engine) as session:
        view = access.disable_user(session, identity.tenant_id, receiver_id, user_id, utcnow())
    if view is None:
        raise HTTPException(404, f"There is no portal user {user_id} of customer {receiver_id}.")
    return redirect(
        request,
        _page(receiver_id),
        f"Disabled {view.email}: signed out everywhere, unused links no longer work. Inviting the address "
        "again lets it back in.",
        kind="info",
    )
