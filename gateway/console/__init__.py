"""The ops console: server-rendered pages under `/console/` for operations and credit control.

Served by the API's app (`install_console`), on the same services the API uses, so a person's action and an
ERP's action are the same action and land in the same event history (the person as `console:<email>`).
Pages are Jinja2 templates with plain HTML forms (each with its CSRF token) and one style sheet; charts are
SVG drawn on the server. Nothing is fetched from another host: the pages work on a closed network.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.console.auth import SignInRequired, current_identity
from gateway.console.pages import PAGES
from gateway.console.templating import page

STATIC = Path(__file__).parent / "static"
PREFIX = "/console"

#: The pages load only what this server serves; a document may be framed by a console page, nothing else.
PAGE_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'; "
    "frame-src 'self'; object-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'self'"
)

_TITLES = {
    400: "Bad request",
    401: "Sign in",
    403: "Not allowed",
    404: "Not found",
    405: "Not allowed",
    409: "Conflict",
    413: "Too large",
    422: "Check the form",
    429: "Too many attempts",
}


def console_error_page(request: Request, status: int, detail: str) -> Response:
    """An error on a console path, as a page a person can read (the API answers JSON). A 500 names only the
    request id, as the API's does."""
    if status in (404, 405) and getattr(request.state, "console_identity", None) is None:
        try:  # a stranger learns nothing about which pages exist: sign in first
            current_identity(request)
        except SignInRequired as error:
            return _sign_in_first(request, error)
    request_id = str(request.scope.get("state", {}).get("request_id", ""))
    heading = _TITLES.get(status, "Something went wrong")
    if status >= 500:
        detail = "The gateway could not finish this. Quote the request id below when you report it."
    elif status == 404 and detail in ("", "Not Found"):
        detail = f"There is no page {request.url.path}."
    return page(
        request, "error.html", {"heading": heading, "detail": detail, "request_id": request_id}, status=status
    )


class PageHeaders:
    """Security headers on every answer under `prefix` (the console's, the portal's pages): the content
    policy `headers(scope)` gives with the other headers, no sniffing; a header the route set itself wins."""

    def __init__(self, app: ASGIApp, prefix: str, headers: Callable[[Scope], dict[bytes, bytes]]) -> None:
        self.app = app
        self.prefix = prefix
        self.headers = headers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not str(scope.get("path", "")).startswith(self.prefix):
            await self.app(scope, receive, send)
            return

        async def stamped(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                names = {name.lower() for name, _ in headers}
                extra = {b"x-content-type-options": b"nosniff", **self.headers(scope)}
                headers += [(name, value) for name, value in extra.items() if name not in names]
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, stamped)


def console_headers(scope: Scope) -> dict[bytes, bytes]:
    """The console's: its content policy, no referrer elsewhere, framed only by itself (a document shown in
    a console page)."""
    return {
        b"content-security-policy": PAGE_POLICY.encode(),
        b"referrer-policy": b"same-origin",
        b"x-frame-options": b"SAMEORIGIN",
    }


def _sign_in_first(request: Request, error: Exception) -> Response:
    assert isinstance(error, SignInRequired)
    return RedirectResponse(f"{PREFIX}/login?next={quote(error.next_path, safe='/')}", status_code=303)


def install_console(app: FastAPI) -> None:
    for router in PAGES:
        app.include_router(router, include_in_schema=False)
    app.mount(f"{PREFIX}/static", StaticFiles(directory=STATIC), name="console-static")
    app.add_exception_handler(SignInRequired, _sign_in_first)
    app.add_middleware(PageHeaders, prefix=PREFIX, headers=console_headers)
    app.state.error_pages = {**getattr(app.state, "error_pages", {}), PREFIX: console_error_page}
