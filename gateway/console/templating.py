"""The console's pages are Jinja2 templates (`templates/`), autoescaped, rendered with what every page
needs: who is signed in, their CSRF token, the navigation, and a one-time notice from the last action.

Formatting lives here as filters so every page shows money, dates and ages the same way: amounts as exact
decimals with two or more decimals and a thin grouping space (12 345.50), timestamps in UTC with the zone
said, ages in the largest two units ("3 d 4 h").
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from itsdangerous import BadSignature, URLSafeSerializer
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from gateway.services.installation_key import signing_key
from gateway.services.tenancy.console_users import ConsoleIdentity

TEMPLATES = Path(__file__).parent / "templates"
NOTICE_COOKIE = "gw_console_notice"

#: The navigation: (path, label). Every page of the console is reachable from here.
NAVIGATION: list[tuple[str, str]] = [
    ("/console/", "Overview"),
    ("/console/invoices", "Invoices"),
    ("/console/deviations", "Deviations"),
    ("/console/payments", "Payments"),
    ("/console/follow-up", "Follow-up"),
    ("/console/reports", "Reports"),
    ("/console/ledger", "Ledger"),
    ("/console/print-batches", "Print batches"),
    ("/console/partners", "EDI partners"),
    ("/console/webhooks", "Webhooks"),
    ("/console/settings", "Settings"),
]


def money(value: Any, currency: str | None = None) -> str:
    """12 345.50 NOK: exact, at least two decimals, grouped by a narrow no-break space."""
    if value is None or value == "":
        return ""
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        return str(value)
    exponent = amount.as_tuple().exponent
    places = max(2, -exponent) if isinstance(exponent, int) else 2
    text = f"{amount:,.{places}f}".replace(",", "\u202f")
    return f"{text} {currency}" if currency else text


def when(value: Any) -> str:
    """2026-12-06 14:03 UTC (a date alone stays a date)."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value)
        except ValueError:
            return str(value)
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.UTC)
        return f"{value:%Y-%m-%d %H:%M} UTC"
    if isinstance(value, dt.date):
        return f"{value:%Y-%m-%d}"
    return str(value)


def age(value: Any, now: dt.datetime | None = None) -> str:
    """How long ago, in the largest two units: 45 s, 12 min, 3 h 5 min, 2 d 4 h."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    seconds = max(0, int(((now or dt.datetime.now(dt.UTC)) - value).total_seconds()))
    if seconds < 60:
        return f"{seconds} s"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes} min"
    hours = minutes // 60
    if hours < 48:
        return f"{hours} h {minutes % 60} min" if minutes % 60 else f"{hours} h"
    days = hours // 24
    return f"{days} d {hours % 24} h" if hours % 24 else f"{days} d"


def shown(value: Any) -> str:
    """A recorded value as a person reads it: yes / no, lists joined, nothing as a dash."""
    if value is None or value == "" or value == []:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        return ", ".join(shown(item) for item in value)
    return str(value)


def query(request: Request, **changes: Any) -> str:
    """This page's query string with `changes` applied (None removes a parameter): for sort and page links."""
    params = {key: value for key, value in request.query_params.multi_items()}
    for key, value in changes.items():
        if value is None or value == "":
            params.pop(key, None)
        else:
            params[key] = str(value)
    return "?" + urlencode(params) if params else request.url.path


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
    environment.filters["age"] = age
    environment.filters["shown"] = shown
    environment.filters["tojson_pretty"] = lambda value: json.dumps(
        value, indent=2, ensure_ascii=False, default=str
    )
    environment.globals["navigation"] = NAVIGATION
    return environment


ENVIRONMENT = _environment()


class Notices:
    """The one-time notice an action leaves for the page after its redirect: a short-lived cookie signed
    with the installation's key (so a link cannot put words in a page), under `path`, read once.
    The console and the portal each have one (their own cookie, path and salt)."""

    def __init__(self, cookie: str, path: str, salt: str) -> None:
        self.cookie = cookie
        self.path = path
        self.salt = salt

    def _serializer(self, request: Request) -> URLSafeSerializer:
        cache: dict[str, URLSafeSerializer] = request.app.state.__dict__.setdefault("_notice_serializers", {})
        if self.salt not in cache:
            cache[self.salt] = URLSafeSerializer(signing_key(request.app.state.settings), salt=self.salt)
        return cache[self.salt]

    def take(self, request: Request) -> dict[str, str] | None:
        signed = request.cookies.get(self.cookie)
        if not signed:
            return None
        try:
            kind, words = self._serializer(request).loads(signed)
        except (BadSignature, ValueError, TypeError):
            return None
        return {"kind": str(kind), "text": str(words)}

    def forget(self, response: Response) -> None:
        response.delete_cookie(self.cookie, path=self.path)

    def redirect(self, request: Request, to: str, notice: str | None = None, *, kind: str = "ok") -> Response:
        """After a POST: to the page that shows its result (303), with a one-time notice of what happened."""
        response = RedirectResponse(to, status_code=303)
        if notice:
            signed = self._serializer(request).dumps([kind, notice[:500]])
            response.set_cookie(
                self.cookie, signed, path=self.path, httponly=True, samesite="lax", max_age=60
            )
        return response


NOTICES = Notices(NOTICE_COOKIE, "/console", "gw-console-notice")


def page(
    request: Request,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    status: int = 200,
    identity: ConsoleIdentity | None = None,
) -> HTMLResponse:
    """A rendered page; the identity (if any) gives the header, the navigation and the forms' CSRF token."""
    who = identity or getattr(request.state, "console_identity", None)
    return render(ENVIRONMENT, NOTICES, request, template, who, context or {}, status=status)


def render(
    environment: Environment,
    notices: Notices,
    request: Request,
    template: str,
    identity: Any,
    context: dict[str, Any],
    *,
    status: int,
) -> HTMLResponse:
    """A page of the console or the portal: `context` over what every page has (the request, who is
    looking and their CSRF token, the one-time notice, the path, a query-string helper); never cached."""
    notice = notices.take(request)
    values = {
        "request": request,
        "identity": identity,
        "csrf_token": identity.csrf_token if identity else "",
        "notice": notice,
        "current_path": request.url.path,
        "query": lambda **changes: query(request, **changes),
        **context,
    }
    response = HTMLResponse(environment.get_template(template).render(values), status_code=status)
    if notice is not None:
        notices.forget(response)
    response.headers["Cache-Control"] = "no-store"
    return response


def redirect(request: Request, to: str, notice: str | None = None, *, kind: str = "ok") -> Response:
    """After a POST: to the page that shows its result (303), with a one-time notice saying what happened."""
    return NOTICES.redirect(request, to, notice, kind=kind)
