"""Who is signed in to the console, and the checks every console request passes.

- The session cookie (`gw_console`) carries a random token signed with the installation's key
  (`itsdangerous`); it is HttpOnly, SameSite=Lax, Secure behind TLS, and means nothing without its row in
  `console_sessions` (`gateway.services.tenancy.console_users`), which log-out, idleness, expiry and a
  disabled user end.
- Every state-changing request (POST) carries the session's CSRF token, as the form field `csrf_token` or
  the `X-CSRF-Token` header, and, when the browser says where it comes from (`Origin`), comes from here.
  A missing or wrong token is a 403 before the route runs.
- Roles are checked here, on the server: `require("deliveries")` on a route is a 403 for a viewer,
  whatever the page showed.
"""

from __future__ import annotations

import datetime as dt
import hmac
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from itsdangerous import BadSignature, Signer
from sqlalchemy import Engine

from db.engine import session_scope
from gateway.services.installation_key import signing_key
from gateway.services.tenancy.console_users import ConsoleIdentity, session_identity
from gateway.settings import Settings

SESSION_COOKIE = "gw_console"
LOGIN_CSRF_COOKIE = "gw_console_login"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"


class SignInRequired(Exception):
    """No live session: a page answers with the sign-in page (and comes back to `next_path` after)."""

    def __init__(self, next_path: str) -> None:
        super().__init__("sign in first")
        self.next_path = next_path


def app_settings(request: Request) -> Settings:
    """The installation's settings, as the app was made with them."""
    settings: Settings = request.app.state.settings
    return settings


def app_engine(request: Request) -> Engine:
    """The outbox database the app was made with."""
    engine: Engine = request.app.state.engine
    return engine


class SignedCookie:
    """A cookie whose value is a token signed with the installation's key under `salt` (the console's and
    the portal's session cookies: each its own salt, so one is never taken for the other)."""

    def __init__(self, name: str, salt: str) -> None:
        self.name = name
        self.salt = salt

    def signer(self, request: Request) -> Signer:
        cache: dict[str, Signer] = request.app.state.__dict__.setdefault("_cookie_signers", {})
        if self.salt not in cache:
            cache[self.salt] = Signer(signing_key(app_settings(request)), salt=self.salt)
        return cache[self.salt]

    def sign(self, request: Request, token: str) -> str:
        return self.signer(request).sign(token.encode()).decode()

    def value(self, request: Request) -> str | None:
        """The token the browser sent, or None (none, or not signed by this installation for this use)."""
        signed = request.cookies.get(self.name)
        if not signed:
            return None
        try:
            return self.signer(request).unsign(signed).decode()
        except BadSignature:
            return None


SESSION = SignedCookie(SESSION_COOKIE, "gw-console")


def signer(request: Request) -> Signer:
    return SESSION.signer(request)


def session_token(request: Request) -> str | None:
    return SESSION.value(request)


def idle_limit(settings: Settings) -> dt.timedelta:
    return dt.timedelta(minutes=settings.console_idle_minutes)


def current_identity(request: Request) -> ConsoleIdentity:
    """The signed-in person, or `SignInRequired` (answered with the sign-in page)."""
    token = session_token(request)
    identity = None
    if token is not None:
        with session_scope(app_engine(request)) as session:
            identity = session_identity(session, token, idle=idle_limit(app_settings(request)))
    if identity is None:
        next_path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise SignInRequired(next_path if request.method == "GET" else "/console/")
    request.state.console_identity = identity
    return identity


def same_origin(request: Request) -> bool:
    """True when the browser names no origin, or names this server's."""
    origin = request.headers.get("origin")
    if origin is None or origin == "null":
        return origin is None
    host = request.headers.get("host", "")
    return origin.split("://", 1)[-1] == host


async def presented_csrf(request: Request) -> str:
    header = request.headers.get(CSRF_HEADER)
    if header:
        return header
    if request.method == "POST":
        form = await request.form()
        value = form.get(CSRF_FIELD)
        return value if isinstance(value, str) else ""
    return ""


async def csrf_protected(
    request: Request, identity: Annotated[ConsoleIdentity, Depends(current_identity)]
) -> ConsoleIdentity:
    """The identity of a state-changing request, once its CSRF token and origin are right; else 403."""
    if not same_origin(request):
        raise HTTPException(403, "this form was sent from another site")
    presented = await presented_csrf(request)
    if not presented or not hmac.compare_digest(presented, identity.csrf_token):
        raise HTTPException(
            403, "the form's security token is missing or stale: reload the page and try again"
        )
    return identity


def require(permission: str) -> object:
    """A dependency: the CSRF-checked identity of a POST that needs `permission`; a 403 without it."""

    async def permitted(identity: Annotated[ConsoleIdentity, Depends(csrf_protected)]) -> ConsoleIdentity:
        if not identity.may(permission):
            raise HTTPException(403, f"your role ({identity.role}) may not do this")
        return identity

    return Depends(permitted)


#: A page: the signed-in person (GET).
Viewer = Annotated[ConsoleIdentity, Depends(current_identity)]
#: A state-changing request any signed-in role may make (switch tenant, sign out).
Poster = Annotated[ConsoleIdentity, Depends(csrf_protected)]
Operator = Annotated[ConsoleIdentity, require("deliveries")]
CreditController = Annotated[ConsoleIdentity, require("payments")]
Admin = Annotated[ConsoleIdentity, require("settings")]
