"""Signing in and out, and an admin's switch between tenants."""

from __future__ import annotations

import datetime as dt
import hmac
import secrets
from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import Response

from db.engine import session_scope
from gateway.console.auth import (
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    Poster,
    same_origin,
    session_token,
    signer,
)
from gateway.console.templating import page, redirect
from gateway.services.tenancy.console_users import TooManyAttempts, sign_in, sign_out, switch_tenant
from gateway.settings import Settings

router = APIRouter()


def _safe_next(next_path: str) -> str:
    """Only a console path of this server: `next` from a link must not send a person elsewhere."""
    if next_path.startswith("/console") and not next_path.startswith("//") and "\\" not in next_path:
        return next_path
    return "/console/"


def _login_page(
    request: Request, *, next_path: str, email: str = "", error: str | None = None, status: int = 200
) -> Response:
    token = request.cookies.get(LOGIN_CSRF_COOKIE) or secrets.token_urlsafe(24)
    response = page(
        request,
        "login.html",
        {"login_csrf": token, "next_path": _safe_next(next_path), "email": email, "error": error},
        status=status,
    )
    response.set_cookie(LOGIN_CSRF_COOKIE, token, path="/console", httponly=True, samesite="strict")
    return response


@router.get("/console/login")
def login_form(request: Request, next: str = "/console/") -> Response:
    return _login_page(request, next_path=next)


@router.post("/console/login")
def login(
    request: Request,
    email: Annotated[str, Form(max_length=320)],
    password: Annotated[str, Form(max_length=1024)],
    csrf_token: Annotated[str, Form(max_length=100)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/console/",
) -> Response:
    expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not same_origin(request) or not expected or not hmac.compare_digest(expected, csrf_token):
        raise HTTPException(403, "the sign-in form's security token is missing or stale: reload the page")
    settings: Settings = request.app.state.settings
    client = request.client.host if request.client else "unknown"
    try:
        with session_scope(request.app.state.engine) as session:
            signed_in = sign_in(
                session,
                email,
                password,
                client=client,
                limit=settings.console_login_limit,
                lifetime=dt.timedelta(hours=settings.console_session_hours),
            )
    except TooManyAttempts as error:
        response = _login_page(request, next_path=next, email=email, error=str(error), status=429)
        response.headers["Retry-After"] = str(int(error.retry_after.total_seconds()) + 1)
        return response
    if signed_in is None:
        return _login_page(
            request, next_path=next, email=email, error="Wrong e-mail or password.", status=401
        )
    token, _identity = signed_in
    response = redirect(request, _safe_next(next))
    response.set_cookie(
        SESSION_COOKIE,
        signer(request).sign(token.encode()).decode(),
        max_age=int(settings.console_session_hours * 3600),
        path="/console",
        httponly=True,
        samesite="lax",
        secure=settings.console_secure_cookie,
    )
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/console")
    return response


@router.post("/console/logout")
def logout(request: Request, identity: Poster) -> Response:
    token = session_token(request)
    if token is not None:
        with session_scope(request.app.state.engine) as session:
            sign_out(session, token)
    response = redirect(request, "/console/login", f"Signed out {identity.email}.", kind="info")
    response.delete_cookie(SESSION_COOKIE, path="/console")
    return response


@router.post("/console/tenant")
def choose_tenant(
    request: Request, identity: Poster, tenant: Annotated[str, Form(max_length=64)]
) -> Response:
    with session_scope(request.app.state.engine) as session:
        switched = switch_tenant(session, identity, tenant)
    if not switched:
        raise HTTPException(403, f"you hold no tenant {tenant!r}")
    return redirect(request, "/console/", f"Now showing tenant {tenant}.", kind="info")
