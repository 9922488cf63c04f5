"""Who may enter: the sign-in page (a one-time link by e-mail, or a password), the link's "Continue" page, the
account page (password, language), and the invoice link ("view online / pay") of an e-mail or a PDF.

- The sign-in forms carry a login CSRF token from a pre-session cookie (`gw_portal_login`), as the console's
  login does, so another site cannot sign a browser into an account of its choosing.
- Asking for a link answers with the same page whether the address is a customer's or not, rate-limited the
  same way; the e-mail goes out after the answer (a background task), so the answer's timing does not tell.
- A sign-in link is bound to this browser: the random value in `gw_portal_browser` (its SHA-256 is stored).
- GET on a link only shows a "Continue" button: mail scanners fetch links, and must not use them up. The
  POST starts a new session and ends the browser's previous one (no session fixation).
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import hashlib
import hmac
import secrets
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, BackgroundTasks, Form, HTTPException, Request
from fastapi.responses import Response

from db.engine import session_scope
from db.models import PortalUser, Tenant, utcnow
from gateway.console.auth import same_origin
from gateway.portal.auth import (
    PREFIX,
    Customer,
    CustomerPost,
    optional_identity,
    session_token,
    set_session_cookie,
)
from gateway.portal.pages.common import safe_next
from gateway.portal.templating import LANGUAGE_COOKIE, brand, language_of, page, redirect
from gateway.portal.texts import text
from gateway.services.portal.access import (
    LinkRefused,
    LinkToSend,
    PortalAccessError,
    TooManyRequests,
    UnknownCustomer,
    consume_link,
    link_owner,
    link_state,
    open_invoice_link,
    password_sign_in,
    request_sign_in_link,
    set_language,
    set_password,
)
from gateway.services.portal.links import read_invoice_link
from gateway.services.portal.mail import LinkMail, MailNotSent, link_mail, send_link_mail
from gateway.services.portal.sessions import end_session
from gateway.settings import Settings

router = APIRouter()

LOGIN_CSRF_COOKIE = "gw_portal_login"
BROWSER_COOKIE = "gw_portal_browser"


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _known_tenant(request: Request, seller: str) -> str | None:
    if not seller or len(seller) > 64:
        return None
    with session_scope(request.app.state.engine) as session:
        return seller if session.get(Tenant, seller) is not None else None


def _login_token(request: Request) -> str:
    return request.cookies.get(LOGIN_CSRF_COOKIE) or secrets.token_urlsafe(24)


def _with_login_cookie(response: Response, token: str) -> Response:
    response.set_cookie(LOGIN_CSRF_COOKIE, token, path=PREFIX, httponly=True, samesite="strict")
    return response


def _check_login_csrf(request: Request, presented: str) -> None:
    expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not same_origin(request) or not expected or not hmac.compare_digest(expected, presented):
        raise HTTPException(403, text("login_stale", language_of(request, None)))


def _sign_in_path(tenant_id: str | None) -> str:
    """The sign-in page of the seller: where the language switch and "ask for a new link" lead."""
    return f"{PREFIX}/sign-in" + (f"?{urlencode({'seller': tenant_id})}" if tenant_id else "")


def _sign_in_page(
    request: Request,
    *,
    seller: str,
    next_path: str,
    email: str = "",
    error: str | None = None,
    status: int = 200,
    retry_after: dt.timedelta | None = None,
) -> Response:
    tenant_id = _known_tenant(request, seller)
    token = _login_token(request)
    response = page(
        request,
        "access/sign_in.html",
        {
            "login_csrf": token,
            "seller": tenant_id,
            "next_path": safe_next(next_path),
            "email": email,
            "error": error,
            "current_path": _sign_in_path(tenant_id),
        },
        status=status,
        identity=None,
        tenant_id=tenant_id,
    )
    if retry_after is not None:
        response.headers["Retry-After"] = str(int(retry_after.total_seconds()) + 1)
    return _with_login_cookie(response, token)


@router.get("/portal/sign-in")
def sign_in_form(request: Request, seller: str = "", next: str = "/portal/") -> Response:
    """The e-mail form of one seller's portal (its branding); without a known seller, a page saying to use
    the link in an invoice e-mail, with a field for the seller's id."""
    return _sign_in_page(request, seller=seller, next_path=next)


def _send_in_background(tasks: BackgroundTasks, request: Request, link: LinkToSend, next_path: str) -> None:
    settings = _settings(request)
    try:
        mail = link_mail(
            settings, link, seller=str(brand(request, link.tenant_id)["name"]), base_url=str(request.base_url)
        )
    except MailNotSent:
        return
    if next_path != f"{PREFIX}/":
        mail = dataclasses.replace(mail, link=f"{mail.link}?{urlencode({'next': next_path})}")
    tasks.add_task(_send_quietly, settings, mail)


def _send_quietly(settings: Settings, mail: LinkMail) -> None:
    """After the answer: a mail that did not go is logged (by kind, never the link), not shown."""
    with contextlib.suppress(MailNotSent):  # logged by send_link_mail; the page said the same either way
        send_link_mail(settings, mail)


@router.post("/portal/sign-in")
def ask_for_link(
    request: Request,
    tasks: BackgroundTasks,
    seller: Annotated[str, Form(max_length=64)],
    email: Annotated[str, Form(max_length=320)],
    csrf_token: Annotated[str, Form(max_length=100)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/portal/",
) -> Response:
    """Always the same "check your e-mail" page; the link goes only to an address that may sign in."""
    _check_login_csrf(request, csrf_token)
    settings = _settings(request)
    browser = request.cookies.get(BROWSER_COOKIE) or secrets.token_urlsafe(32)
    lifetime = dt.timedelta(minutes=settings.portal_link_minutes)
    next_path = safe_next(next)
    try:
        with session_scope(request.app.state.engine) as session:
            link = request_sign_in_link(
                session,
                seller.strip(),
                email,
                client=_client(request),
                browser_hash=hashlib.sha256(browser.encode()).hexdigest(),
                limit=settings.portal_link_limit,
                lifetime=lifetime,
                now=utcnow(),
            )
    except TooManyRequests as error:
        language = language_of(request, None)
        return _sign_in_page(
            request,
            seller=seller,
            next_path=next,
            email=email,
            error=text("too_many_links", language),
            status=429,
            retry_after=error.retry_after,
        )
    if link is not None:
        _send_in_background(tasks, request, link, next_path)
    tenant_id = _known_tenant(request, seller.strip())
    response = page(
        request,
        "access/check_email.html",
        {
            "seller": tenant_id,
            "minutes": int(settings.portal_link_minutes),
            "current_path": _sign_in_path(tenant_id),
        },
        tenant_id=tenant_id,
    )
    response.set_cookie(
        BROWSER_COOKIE,
        browser,
        max_age=int(lifetime.total_seconds()) + 60,
        path=PREFIX,
        httponly=True,
        samesite="lax",
        secure=settings.console_secure_cookie,
    )
    return response


def _link_page(
    request: Request, token: str, template: str, context: dict[str, object], status: int = 200
) -> Response:
    """A page about a link: the seller's look, in the link user's language (unless this browser chose)."""
    with session_scope(request.app.state.engine) as session:
        owner = link_owner(session, token)
    tenant_id, language = owner if owner is not None else (None, None)
    context = {**context, "sign_in_path": _sign_in_path(tenant_id)}
    if language is not None:
        language = language_of(request, None, language)
        context = {**context, "lang": language, "t": lambda key, **more: text(key, str(language), **more)}
    return page(request, template, context, status=status, identity=None, tenant_id=tenant_id)


def _refused_page(request: Request, token: str, problem: str) -> Response:
    status = 410 if problem in ("expired", "used") else 400
    return _link_page(request, token, "access/link_refused.html", {"problem": problem}, status=status)


@router.get("/portal/link/{token}")
def link_page(request: Request, token: str, next: str = "/portal/") -> Response:
    """One button that signs in (a POST): opening the link changes nothing, so a mail scanner that fetches
    it does not use it up."""
    with session_scope(request.app.state.engine) as session:
        problem = link_state(session, token, utcnow())
    if problem is not None:
        return _refused_page(request, token, problem)
    login = _login_token(request)
    response = _link_page(
        request,
        token,
        "access/continue.html",
        {"token": token, "login_csrf": login, "next_path": safe_next(next)},
    )
    return _with_login_cookie(response, login)


def _signed_in(request: Request, new_token: str, next_path: str) -> Response:
    response = redirect(request, safe_next(next_path))
    set_session_cookie(request, response, new_token)
    response.delete_cookie(LOGIN_CSRF_COOKIE, path=PREFIX)
    return response


@router.post("/portal/link/{token}")
def use_link(
    request: Request,
    token: str,
    csrf_token: Annotated[str, Form(max_length=100)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/portal/",
) -> Response:
    """Use the link once: a new session in place of the browser's old one."""
    _check_login_csrf(request, csrf_token)
    settings = _settings(request)
    browser = request.cookies.get(BROWSER_COOKIE)
    old = session_token(request)
    now = utcnow()
    try:
        with session_scope(request.app.state.engine) as session:
            new_token, _ = consume_link(
                session,
                token,
                browser_hash=hashlib.sha256(browser.encode()).hexdigest() if browser else None,
                lifetime=dt.timedelta(hours=settings.portal_session_hours),
                now=now,
            )
            if old is not None:
                end_session(session, old, now)
    except LinkRefused as refused:
        return _refused_page(request, token, refused.problem)
    response = _signed_in(request, new_token, next)
    response.delete_cookie(BROWSER_COOKIE, path=PREFIX)
    return response


@router.post("/portal/sign-in/password")
def password_login(
    request: Request,
    seller: Annotated[str, Form(max_length=64)],
    email: Annotated[str, Form(max_length=320)],
    password: Annotated[str, Form(max_length=1024)],
    csrf_token: Annotated[str, Form(max_length=100)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/portal/",
) -> Response:
    """Sign in with a password the user chose: a wrong one and an unknown address are the same answer."""
    _check_login_csrf(request, csrf_token)
    settings = _settings(request)
    old = session_token(request)
    now = utcnow()
    language = language_of(request, None)
    try:
        with session_scope(request.app.state.engine) as session:
            started = password_sign_in(
                session,
                seller.strip(),
                email,
                password,
                client=_client(request),
                limit=settings.portal_link_limit,
                lifetime=dt.timedelta(hours=settings.portal_session_hours),
                now=now,
            )
            if started is not None and old is not None:
                end_session(session, old, now)
    except TooManyRequests as error:
        return _sign_in_page(
            request,
            seller=seller,
            next_path=next,
            email=email,
            error=text("too_many_links", language),
            status=429,
            retry_after=error.retry_after,
        )
    if started is None:
        return _sign_in_page(
            request,
            seller=seller,
            next_path=next,
            email=email,
            error=text("wrong_password", language),
            status=401,
        )
    return _signed_in(request, started[0], next)


def _account_page(
    request: Request, identity: Customer, *, error: str | None = None, status: int = 200
) -> Response:
    with session_scope(request.app.state.engine) as session:
        user = session.get(PortalUser, identity.user_id)
        has_password = bool(user and user.password_hash)
    return page(
        request,
        "access/account.html",
        {"has_password": has_password, "error": error},
        status=status,
        identity=identity,
    )


@router.get("/portal/account")
def account(request: Request, identity: Customer) -> Response:
    """The signed-in user's account: a password (optional), and the language of pages and e-mails."""
    return _account_page(request, identity)


@router.post("/portal/account")
def change_account(
    request: Request,
    identity: CustomerPost,
    action: Annotated[str, Form(max_length=20)],
    password: Annotated[str, Form(max_length=1024)] = "",
    repeat: Annotated[str, Form(max_length=1024)] = "",
    language: Annotated[str, Form(max_length=5)] = "",
) -> Response:
    """`action=password` sets or changes the password (the user's other sessions end); `action=language`."""
    assert identity.user_id is not None
    shown_language = language_of(request, identity)
    if action == "password":
        if password != repeat:
            return _account_page(
                request, identity, error=text("passwords_differ", shown_language), status=422
            )
        try:
            with session_scope(request.app.state.engine) as session:
                set_password(
                    session, identity.user_id, password, keep_session=identity.session_id, now=utcnow()
                )
        except PortalAccessError:
            return _account_page(
                request, identity, error=text("password_too_short", shown_language), status=422
            )
        return redirect(request, f"{PREFIX}/account", text("password_saved", shown_language))
    if action == "language":
        try:
            with session_scope(request.app.state.engine) as session:
                set_language(session, identity.user_id, language)
        except PortalAccessError as error:
            raise HTTPException(422, error.reason) from None
        response = redirect(request, f"{PREFIX}/account", text("language_saved", language))
        response.set_cookie(LANGUAGE_COOKIE, language, max_age=365 * 86400, path=PREFIX, samesite="lax")
        return response
    raise HTTPException(422, f"action: {action!r} is not password or language")


@router.get("/portal/i/{token}")
def invoice_link(request: Request, token: str) -> Response:
    """An invoice's "view online / pay" link: that invoice's page, in a session for it alone, unless this
    browser is signed in as the invoice's customer already. A token this installation did not sign, or an
    invoice that is gone, is a 404."""
    settings = _settings(request)
    named = read_invoice_link(settings, token)
    if named is None:
        raise HTTPException(404, "no such link")
    identity = optional_identity(request)
    signed_in_as = (identity.tenant_id, identity.receiver_id) if identity and identity.signed_in else None
    old = session_token(request)
    now = utcnow()
    try:
        with session_scope(request.app.state.engine) as session:
            new_token = open_invoice_link(
                session,
                named.tenant_id,
                named.invoice_id,
                signed_in_as=signed_in_as,
                lifetime=dt.timedelta(hours=settings.portal_session_hours),
                now=now,
            )
            if new_token is not None and old is not None:
                end_session(session, old, now)
    except UnknownCustomer:
        raise HTTPException(404, "no such invoice") from None
    response = redirect(request, f"{PREFIX}/invoices/{named.invoice_id}")
    if new_token is not None:
        set_session_cookie(request, response, new_token)
    return response
