"""The portal's pages are Jinja2 templates (`templates/`), autoescaped, rendered with what every page needs:
who is looking, the CSRF token, the seller's branding, the language and a one-time notice.

Formatting is the console's (`gateway.console.templating`: money, dates), so an amount reads the same for
the seller's team and its customer.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, Response
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from db.engine import session_scope
from db.models import Tenant
from gateway.console.templating import Notices, money, render, shown, when
from gateway.portal.texts import LANGUAGES, text
from gateway.services.portal.sessions import PortalIdentity
from gateway.services.tenancy.tenants import tenant_settings

TEMPLATES = Path(__file__).parent / "templates"
NOTICE_COOKIE = "gw_portal_notice"
LANGUAGE_COOKIE = "gw_portal_lang"
DEFAULT_ACCENT = "#1F4E79"
#: The tabs a signed-in customer sees on every page: (path, text key).
NAVIGATION: list[tuple[str, str]] = [
    ("/portal/", "overview"),
    ("/portal/invoices", "invoices"),
    ("/portal/inquiries", "inquiries"),
    ("/portal/statements", "statements"),
    ("/portal/reminders", "reminders"),
    ("/portal/account", "account"),
]


def _environment() -> Environment:
    environment = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(default=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters["money"] = money
    environment.filters["when"] = when
    environment.filters["shown"] = shown
    return environment


ENVIRONMENT = _environment()


def brand(request: Request, tenant_id: str | None) -> dict[str, Any]:
    """The seller's look from its PDF template: display name, accent colour, whether it has a logo, and the
    language its documents are in."""
    if tenant_id is None:
        return {"tenant_id": None, "name": None, "accent": DEFAULT_ACCENT, "logo": False, "language": "nb"}
    with session_scope(request.app.state.engine) as session:
        tenant = session.get(Tenant, tenant_id)
        template = tenant_settings(session, tenant_id).pdf_template
        name = (template.company_display_name if template else None) or (tenant.name if tenant else tenant_id)
    return {
        "tenant_id": tenant_id,
        "name": name,
        "accent": template.accent_color if template else DEFAULT_ACCENT,
        "logo": bool(template and template.logo_path and Path(template.logo_path).is_file()),
        "language": template.language if template else "nb",
    }


def language_of(request: Request, identity: PortalIdentity | None, fallback: str = "nb") -> str:
    """The user's language, else the browser's choice (the switch's cookie), else `fallback`."""
    chosen = request.cookies.get(LANGUAGE_COOKIE)
    if chosen in LANGUAGES:
        return str(chosen)
    if identity is not None and identity.user_id is not None and identity.language in LANGUAGES:
        return identity.language
    return fallback


NOTICES = Notices(NOTICE_COOKIE, "/portal", "gw-portal-notice")


def page(
    request: Request,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    status: int = 200,
    identity: PortalIdentity | None = None,
    tenant_id: str | None = None,
) -> HTMLResponse:
    """A rendered page for `identity` (or a stranger of `tenant_id`'s portal: sign-in pages)."""
    who = identity or getattr(request.state, "portal_identity", None)
    seller = brand(request, who.tenant_id if who else tenant_id)
    language = language_of(request, who, seller["language"])
    values = {
        "brand": seller,
        "lang": language,
        "t": lambda key, **more: text(key, language, **more),
        "portal_navigation": NAVIGATION,
        **(context or {}),
    }
    return render(ENVIRONMENT, NOTICES, request, template, who, values, status=status)


def redirect(request: Request, to: str, notice: str | None = None, *, kind: str = "ok") -> Response:
    """After a POST: to the page that shows its result (303), with a one-time notice."""
    return NOTICES.redirect(request, to, notice, kind=kind)
