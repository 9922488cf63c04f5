"""Who is looking at the portal, and the checks every portal request passes.

- The session cookie (`gw_portal`, path `/portal`) carries a random token signed with the installation's key
  (salt of its own: a console cookie is no portal cookie); it is HttpOnly, SameSite=Lax, Secure behind TLS,
  and means nothing without its live row in `portal_sessions` (`gateway.services.portal.sessions`).
- Every state-changing request (POST) carries the session's CSRF token (form field `csrf_token` or the
  `X-CSRF-Token` header) and, when the browser names its origin, comes from this server: else a 403 before
  the route runs. The providers' webhooks are not portal pages: they carry their provider's signature.
- Isolation: a page asks `owned_invoice` (and its kin in the services) for the customer's own documents only;
  another customer's id answers 404, exactly as an id that does not exist.
"""

from __future__ import annotations

import datetime as dt
import hmac
from typing import Annotated

from fastapi import Depends, HTTPException, Request

from db.engine import session_scope
from gateway.console.auth import (
    SignedCookie,
    SignInRequired,
    app_engine,
    app_settings,
    presented_csrf,
    same_origin,
)
from gateway.services.portal.sessions import PortalIdentity, session_identity

PREFIX = "/portal"
SESSION_COOKIE = "gw_portal"
CSRF_FIELD = "csrf_token"


class PortalSignInRequired(SignInRequired):
    """No live portal session: a page answers with the portal's sign-in page (and comes back to
    `next_path`), not the console's (its own handler, `install_portal`)."""


SESSION = SignedCookie(SESSION_COOKIE, "gw-portal")


def session_token(request: Request) -> str | None:
    return SESSION.value(request)


def set_session_cookie(request: Request, response: object, token: str) -> None:
    """Put a (new) session's signed token in the browser."""
    settings = app_settings(request)
    response.set_cookie(  # type: ignore[attr-defined]
        SESSION_COOKIE,
        SESSION.sign(request, token),
        max_age=int(settings.portal_session_hours * 3600),
        path=PREFIX,
        httponly=True,
        samesite="lax",
        secure=settings.console_secure_cookie,
    )


def optional_identity(request: Request) -> PortalIdentity | None:
    """The live session's identity, or None."""
    token = session_token(request)
    if token is None:
        return None
    settings = app_settings(request)
    with session_scope(app_engine(request)) as session:
        identity = session_identity(session, token, idle=dt.timedelta(minutes=settings.portal_idle_minutes))
    if identity is not None:
        request.state.portal_identity = identity
    return identity


def current_identity(request: Request) -> PortalIdentity:
    """The customer (or invoice-link visitor) looking, or `PortalSignInRequired`."""
    identity = optional_identity(request)
    if identity is None:
        next_path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise PortalSignInRequired(next_path if request.method == "GET" else f"{PREFIX}/")
    return identity


def signed_in_identity(
    identity: Annotated[PortalIdentity, Depends(current_identity)], request: Request
) -> PortalIdentity:
    """A signed-in customer user: an invoice link's visitor is asked to sign in for anything beyond it."""
    if not identity.signed_in:
        raise PortalSignInRequired(request.url.path if request.method == "GET" else f"{PREFIX}/")
    return identity


async def csrf_protected(
    request: Request, identity: Annotated[PortalIdentity, Depends(current_identity)]
) -> PortalIdentity:
    """The identity of a state-changing request, once its CSRF token and origin are right; else 403."""
    if not same_origin(request):
        raise HTTPException(403, "this form was sent from another site")
    presented = await presented_csrf(request)
    if not presented or not hmac.compare_digest(presented, identity.csrf_token):
        raise HTTPException(
            403, "the form's security token is missing or stale: reload the page and try again"
        )
    return identity


async def signed_in_poster(
    request: Request, identity: Annotated[PortalIdentity, Depends(csrf_protected)]
) -> PortalIdentity:
    if not identity.signed_in:
        raise HTTPException(403, "sign in to do this")
    return identity


#: A page anyone with a live session may see (a signed-in user, or an invoice link's visitor).
Visitor = Annotated[PortalIdentity, Depends(current_identity)]
#: A page for a signed-in customer user only.
Customer = Annotated[PortalIdentity, Depends(signed_in_identity)]
#: A POST anyone with a live session may make (CSRF checked): pay the linked invoice, sign out.
VisitorPost = Annotated[PortalIdentity, Depends(csrf_protected)]
#: A POST for a signed-in customer user only (CSRF checked).
CustomerPost = Annotated[PortalIdentity, Depends(signed_in_poster)]
