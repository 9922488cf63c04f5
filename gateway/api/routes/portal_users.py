"""Who of a customer may use the seller's portal: invitations by ops, the list, and disabling a user.

An invitation makes (or enables again) the portal user and e-mails it a one-time link valid
`portal_invite_days`; the answer says whether the e-mail went, never what the link is. Another tenant's
customer is a 404, exactly like a customer that does not exist.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from db.models import utcnow
from gateway.api.deps import IdentityDep, SessionDep
from gateway.api.errors import ErrorAnswer
from gateway.services.portal.access import (
    PortalAccessError,
    PortalUserView,
    UnknownCustomer,
    disable_user,
    list_users,
    receiver_exists,
)
from gateway.services.portal.mail import invite_and_send

router = APIRouter(tags=["portal"])


class PortalInvitation(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: str = Field(max_length=320, description="the address to invite (its invitation link goes there)")
    language: Literal["nb", "en"] | None = Field(None, description="the user's language; unset: nb")


class PortalUserOut(BaseModel):
    """A portal user: never its password, only whether it has one."""

    id: str
    receiver_id: str
    email: str
    language: str
    has_password: bool
    invited_by: str | None
    created_at: dt.datetime
    last_sign_in_at: dt.datetime | None
    disabled_at: dt.datetime | None
    active: bool


class InvitationOut(PortalUserOut):
    mail_sent: bool = Field(description="whether the invitation e-mail left (the mail server took it)")
    mail_error: str | None = Field(None, description="why not, when it did not")


def _out(view: PortalUserView) -> dict[str, object]:
    return {
        "id": view.id,
        "receiver_id": view.receiver_id,
        "email": view.email,
        "language": view.language,
        "has_password": view.has_password,
        "invited_by": view.invited_by,
        "created_at": view.created_at,
        "last_sign_in_at": view.last_sign_in_at,
        "disabled_at": view.disabled_at,
        "active": view.active,
    }


def _no_customer(receiver_id: str) -> ErrorAnswer:
    return ErrorAnswer.one(404, "path.receiver_id", f"no customer {receiver_id!r} for this tenant")


@router.post(
    "/customers/{receiver_id}/portal-users",
    status_code=201,
    response_model=InvitationOut,
    responses={404: {"description": "no such customer (receiver profile) for this tenant"}},
)
def invite_portal_user(
    receiver_id: str, body: PortalInvitation, request: Request, identity: IdentityDep, session: SessionDep
) -> JSONResponse:
    """Invite an address to the customer's portal pages: the user (made, or enabled again) and an e-mail
    with a one-time link valid `portal_invite_days`."""
    try:
        invitation = invite_and_send(
            session,
            request.app.state.settings,
            identity.tenant_id,
            receiver_id,
            body.email,
            language=body.language,
            invited_by=identity.actor,
            base_url=str(request.base_url),
            now=utcnow(),
        )
    except UnknownCustomer:
        raise _no_customer(receiver_id) from None
    except PortalAccessError as error:
        raise ErrorAnswer.one(422, f"body.{error.field}", error.reason) from None
    view, mail_error = invitation.user, invitation.mail_error
    answer = InvitationOut.model_validate(
        {**_out(view), "mail_sent": mail_error is None, "mail_error": mail_error}
    )
    return JSONResponse(answer.model_dump(mode="json"), status_code=201)


@router.get(
    "/customers/{receiver_id}/portal-users",
    response_model=list[PortalUserOut],
    responses={404: {"description": "no such customer (receiver profile) for this tenant"}},
)
def list_portal_users(
    receiver_id: str, identity: IdentityDep, session: SessionDep
) -> list[dict[str, object]]:
    """The customer's portal users, disabled ones too."""
    if not receiver_exists(session, identity.tenant_id, receiver_id):
        raise _no_customer(receiver_id)
    return [_out(view) for view in list_users(session, identity.tenant_id, receiver_id)]


@router.delete(
    "/customers/{receiver_id}/portal-users/{user_id}",
    response_model=PortalUserOut,
    responses={404: {"description": "no such customer, or no such user of it"}},
)
def disable_portal_user(
    receiver_id: str, user_id: str, identity: IdentityDep, session: SessionDep
) -> dict[str, object]:
    """The user can no longer sign in; its sessions and unused links end now (the row stays, for history)."""
    view = disable_user(session, identity.tenant_id, receiver_id, user_id, utcnow())
    if view is None:
        raise ErrorAnswer.one(404, "path.user_id", f"no portal user {user_id!r} of customer {receiver_id!r}")
    return _out(view)
