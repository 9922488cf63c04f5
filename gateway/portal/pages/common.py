"""What every portal page shares: the seller's logo, and the language switch."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import FileResponse, RedirectResponse, Response

from db.engine import session_scope
from gateway.portal.auth import SESSION_COOKIE, VisitorPost, session_token
from gateway.portal.templating import LANGUAGE_COOKIE, language_of, redirect
from gateway.portal.texts import LANGUAGES, text
from gateway.services.portal.sessions import end_session
from gateway.services.tenancy.tenants import tenant_settings

router = APIRouter()

LOGO_TYPES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg"}


@router.get("/portal/brand/{tenant_id}/logo")
def logo(request: Request, tenant_id: str) -> Response:
    """The seller's logo from its PDF template (PNG or JPEG): public, like the seller's name on a sign-in
    page; a tenant without one (or no such tenant) is a 404."""
    with session_scope(request.app.state.engine) as session:
        template = tenant_settings(session, tenant_id).pdf_template
    path = Path(template.logo_path) if template and template.logo_path else None
    if path is None or not path.is_file() or path.suffix.lower() not in LOGO_TYPES:
        raise HTTPException(404, "no logo")
    return FileResponse(
        path, media_type=LOGO_TYPES[path.suffix.lower()], headers={"Cache-Control": "max-age=3600"}
    )


def safe_next(next_path: str) -> str:
    """Only a portal path of this server: `next` from a form or a link must not send a person elsewhere."""
    if next_path.startswith("/portal") and not next_path.startswith("//") and "\\" not in next_path:
        return next_path
    return "/portal/"


@router.post("/portal/language")
def choose_language(
    language: Annotated[str, Form(max_length=5)], next: Annotated[str, Form(max_length=2000)] = "/portal/"
) -> Response:
    """Norwegian or English, remembered by this browser for a year (no CSRF token: it changes nothing but
    the words this browser is shown)."""
    if language not in LANGUAGES:
        raise HTTPException(422, f"language: {language!r} is not one of {', '.join(LANGUAGES)}")
    response = RedirectResponse(safe_next(next), status_code=303)
    response.set_cookie(LANGUAGE_COOKIE, language, max_age=365 * 86400, path="/portal", samesite="lax")
    return response


@router.post("/portal/sign-out")
def sign_out(request: Request, identity: VisitorPost) -> Response:
    """The session ends now (an invoice link's too); the browser is sent to the sign-in page."""
    token = session_token(request)
    if token is not None:
        with session_scope(request.app.state.engine) as session:
            end_session(session, token)
    response = redirect(
        request, "/portal/sign-in", text("signed_out", language_of(request, identity)), kind="info"
    )
    response.delete_cookie(SESSION_COOKIE, path="/portal")
    return response
