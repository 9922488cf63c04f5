"""The customer portal ("invoice hotel"): server-rendered pages under `/portal/` where a seller's customers
see their invoices, documents as sent, proofs of delivery and payments, pay by link, and raise inquiries.

Built on the console's stack (Jinja2, plain forms with CSRF tokens, one style sheet, nothing fetched from
another host) and on the same services, so a customer's inquiry is the dispute the seller's team answers in
the console. The providers' webhooks (`/portal/providers/…/webhook`) are API routes, not pages: they answer
JSON and are listed in the OpenAPI document.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.types import Scope

from gateway.console import PageHeaders
from gateway.portal.auth import PREFIX, PortalSignInRequired, optional_identity
from gateway.portal.pages import PAGES, PROVIDER_ROUTERS
from gateway.portal.templating import language_of, page
from gateway.portal.texts import text
from gateway.services.portal.providers import checkout_origins

STATIC = Path(__file__).parent / "static"
#: Routes under the prefix that are not pages: they answer JSON errors, like the API.
NOT_PAGES = (f"{PREFIX}/providers/",)

#: The pages load only what this server serves, and may not be framed by anyone (a payment page).
PAGE_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'; "
    "frame-src 'self'; object-src 'self'; base-uri 'none'; form-action 'self' https:; frame-ancestors 'none'"
)


def page_policy(scope: Scope) -> str:
    """The content policy, with the payment providers' non-HTTPS checkout origins (a stand-in, a sandbox)
    added to `form-action`: a pay form's answer redirects the browser there."""
    app = scope.get("app")
    settings = getattr(getattr(app, "state", None), "settings", None)
    extra = checkout_origins(settings) if settings is not None else []
    if not extra:
        return PAGE_POLICY
    return PAGE_POLICY.replace("form-action 'self' https:", "form-action 'self' https: " + " ".join(extra))


_TITLES = {
    400: "bad_request",
    401: "sign_in",
    403: "not_allowed",
    404: "not_found",
    405: "not_allowed",
    413: "check_form",
    415: "check_form",
    422: "check_form",
    429: "too_many",
}


def portal_error_page(request: Request, status: int, detail: str) -> Response | None:
    """An error on a portal page, as a page a customer can read; None for the provider webhooks (JSON).
    A 404 says nothing about whether the thing exists for someone else."""
    if request.url.path.startswith(NOT_PAGES):
        return None
    identity = getattr(request.state, "portal_identity", None) or optional_identity(request)
    request_id = str(request.scope.get("state", {}).get("request_id", ""))
    language = language_of(request, identity)
    heading_key = _TITLES.get(status, "error")
    if status >= 500:
        detail = text("error_text", language)
    elif status == 404:
        detail = text("not_found_text", language)
    return page(
        request,
        "error.html",
        {"heading": text(heading_key, language), "detail": detail, "request_id": request_id},
        status=status,
        identity=identity,
    )


def portal_headers(scope: Scope) -> dict[bytes, bytes]:
    """Security headers on every portal answer: its content policy (`page_policy`), no referrer to other
    sites (a link token in a URL must not leak; `same-origin`, not `no-referrer`, because under
    `no-referrer` Chromium sends `Origin: null` with a form's POST and the same-origin check refuses it),
    never framed."""
    return {
        b"content-security-policy": page_policy(scope).encode(),
        b"referrer-policy": b"same-origin",
        b"x-frame-options": b"DENY",
    }


def _sign_in_first(request: Request, error: Exception) -> Response:
    assert isinstance(error, PortalSignInRequired)
    return RedirectResponse(f"{PREFIX}/sign-in?next={quote(error.next_path, safe='/')}", status_code=303)


def install_portal(app: FastAPI) -> None:
    for router in PAGES:
        app.include_router(router, include_in_schema=False)
    for router in PROVIDER_ROUTERS:
        app.include_router(router)
    app.mount(f"{PREFIX}/static", StaticFiles(directory=STATIC), name="portal-static")
    app.add_exception_handler(PortalSignInRequired, _sign_in_first)
    app.add_middleware(PageHeaders, prefix=PREFIX, headers=portal_headers)
    app.state.error_pages = {**getattr(app.state, "error_pages", {}), PREFIX: portal_error_page}
