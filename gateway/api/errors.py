"""Every error answer has one shape, written here once: `{"errors": [{"field", "reason", "rule"?}],
"request_id"}`.

Routes raise (`ErrorAnswer`, `HTTPException`, or a service's "not found" / "not now" error) instead of
building answers; the handlers installed by `install_error_handlers` turn each into its JSON answer, and
an unexpected exception into a 500 that names nothing but the request id.

Every request carries an id: the client's `X-Request-ID` when it is a sane token, else a new one. It goes
back in the `X-Request-ID` header of every answer and into every JSON error body — also one a route built
itself (an intake result answered as 409 or 422) — so a person can quote it and an operator find the log.
"""

from __future__ import annotations

import json
import logging
import re
import uuid
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.exc import DataError
from starlette.datastructures import Headers, MutableHeaders
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.logging_setup import bound_context
from gateway.services.inbound.pods import NotFound as PodNotFound
from gateway.services.outbound.deliveries import NotFound
from gateway.services.outbound.lookup import AmbiguousReference
from gateway.services.payments.matching_runs import PaymentNotFound
from gateway.services.payments.remittances import RemittanceNotFound
from outbox.queue import StaleStatus
from outbox.states import IllegalTransition

logger = logging.getLogger(__name__)

#: The services' "no such thing for this tenant" errors: a 404 on every route.
NOT_FOUND_ERRORS: tuple[type[LookupError], ...] = (NotFound, PodNotFound, PaymentNotFound, RemittanceNotFound)
#: A state machine that says "not from this state" or "someone moved it first": a 409 on every route.
CONFLICT_ERRORS: tuple[type[Exception], ...] = (IllegalTransition, StaleStatus)

REQUEST_ID_HEADER = "X-Request-ID"
#: A client's id is taken as it is only if it is short and plain: it lands in logs and answers.
SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:+/=-]{0,127}")


class ErrorItem(BaseModel):
    """One thing wrong with the request: where, why, and the business rule where one applies."""

    model_config = ConfigDict(extra="allow")

    field: str | None = Field(
        description="a dotted path into the body (`totals.tax_amount`), `query.<name>`, `path.<name>`, "
        "a header, or null for the request as a whole"
    )
    reason: str
    rule: str | None = Field(None, description="the rule broken (EN 16931 `BR-CO-15`…), where one applies")


class ErrorEnvelope(BaseModel):
    """Every 4xx and 5xx answer. Some carry more keys beside these (the intake's `outcome`, a refused
    remittance's `file_id`); `request_id` is the `X-Request-ID` header of the same answer."""

    model_config = ConfigDict(extra="allow")

    errors: list[ErrorItem] = Field(min_length=1)
    request_id: str = Field(description="quote it when reporting a problem: it names the request in the log")


def error_response(status: int, errors: list[dict[str, Any]], **extra: Any) -> JSONResponse:
    """The envelope without its `request_id`: `RequestIdMiddleware` writes that into every error body."""
    return JSONResponse({"errors": errors, **extra}, status_code=status)


class ErrorAnswer(Exception):
    """A 4xx whose `errors` name the field and the reason; `extra` keys go beside them in the answer."""

    def __init__(self, status: int, errors: list[dict[str, Any]], **extra: Any) -> None:
        super().__init__(f"{status}: {errors}")
        self.status = status
        self.errors = errors
        self.extra = extra

    @classmethod
    def one(cls, status: int, field: str | None, reason: str, **extra: Any) -> ErrorAnswer:
        return cls(status, [{"field": field, "reason": reason}], **extra)


def http_error_response(status: int, detail: Any, headers: dict[str, str] | None = None) -> JSONResponse:
    reason = detail if isinstance(detail, str) else json.dumps(detail, default=str)
    return JSONResponse({"errors": [{"field": None, "reason": reason}]}, status_code=status, headers=headers)


def _console_page(request: Request, status: int, detail: str) -> Response | None:
    """On a page of the console or the portal, the error as a page for a person (`gateway.console` and
    `gateway.portal` register how, by path prefix, in `app.state.error_pages`); else None (JSON). A render
    may answer None for paths under its prefix that are not pages (the portal's provider webhooks)."""
    renders: dict[str, Any] = getattr(request.app.state, "error_pages", {})
    for prefix, render in renders.items():
        if request.url.path.startswith(prefix):
            answer: Response | None = render(request, status, detail)
            return answer
    return None


async def _validation_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, RequestValidationError)
    entries = []
    for item in error.errors():
        location = ".".join(str(part) for part in item.get("loc", ()))
        entries.append({"field": location or "body", "reason": item.get("msg", "invalid")})
    described = "; ".join(f"{entry['field'].rpartition('.')[2]}: {entry['reason']}" for entry in entries)
    return _console_page(request, 422, described) or error_response(422, entries)


async def _http_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, StarletteHTTPException)
    headers = getattr(error, "headers", None)
    detail: Any = error.detail
    # The router's own 404 / 405 say only "Not Found" / "Method Not Allowed": say what was asked.
    if error.status_code == 404 and detail == "Not Found":
        detail = f"no such path: {request.url.path} (the API is described at /docs)"
    elif error.status_code == 405 and detail == "Method Not Allowed":
        allowed = (headers or {}).get("Allow", "")
        detail = f"{request.method} is not allowed on {request.url.path}; allowed: {allowed}"
    for_people = _console_page(request, error.status_code, str(error.detail))
    if for_people is not None:
        return for_people
    return http_error_response(error.status_code, detail, headers)


async def _error_answer(request: Request, error: Exception) -> Response:
    assert isinstance(error, ErrorAnswer)
    described = "; ".join(str(item.get("reason", "")) for item in error.errors)
    return _console_page(request, error.status, described) or error_response(
        error.status, error.errors, **error.extra
    )


async def _not_found(request: Request, error: Exception) -> Response:
    return _console_page(request, 404, str(error)) or http_error_response(404, str(error))


async def _conflict(request: Request, error: Exception) -> Response:
    return _console_page(request, 409, str(error)) or http_error_response(409, str(error))


async def _unexpected(request: Request, error: Exception) -> Response:
    """A bug or an outage: the answer names only the request id (never the exception, which may carry a
    path, a query or a secret); the server logs the traceback under the same id."""
    request_id = request_id_of(request.scope)
    logger.error(
        "request %s (%s %s) failed: %s", request_id, request.method, request.url.path, type(error).__name__
    )
    for_people = _console_page(request, 500, "")
    if for_people is not None:
        return for_people
    body = {
        "errors": [{"field": None, "reason": f"internal error; quote request id {request_id} to report it"}],
        "request_id": request_id,
    }
    return JSONResponse(body, status_code=500, headers={REQUEST_ID_HEADER: request_id})


async def _data_error(request: Request, error: Exception) -> Response:
    """A text with a NUL character that reached PostgreSQL past the edge checks (a console form, a value
    inside a file's metadata): the client's input, a 422; any other data error is unexpected."""
    if "NUL" not in str(getattr(error, "orig", "")):
        return await _unexpected(request, error)
    reason = "a text value contains a NUL character (U+0000), which no text value may hold"
    return _console_page(request, 422, reason) or error_response(422, [{"field": None, "reason": reason}])


async def _ambiguous(request: Request, error: Exception) -> Response:
    """A number (or id prefix) that names several documents: 409 listing them, never a guess."""
    assert isinstance(error, AmbiguousReference)
    for_people = _console_page(request, 409, str(error))
    if for_people is not None:
        return for_people
    candidates = [candidate.as_dict() for candidate in error.candidates]
    return error_response(409, [{"field": error.field, "reason": str(error)}], candidates=candidates)


def install_error_handlers(app: FastAPI) -> None:
    """The services' "not found" and "not now" errors mean the same on every route: answered here once."""
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(ErrorAnswer, _error_answer)
    for not_found in NOT_FOUND_ERRORS:
        app.add_exception_handler(not_found, _not_found)
    for conflict in CONFLICT_ERRORS:
        app.add_exception_handler(conflict, _conflict)
    app.add_exception_handler(AmbiguousReference, _ambiguous)
    app.add_exception_handler(DataError, _data_error)
    app.add_exception_handler(Exception, _unexpected)
    app.add_middleware(RequestIdMiddleware)


# --- request ids ---------------------------------------------------------------------------------------


def request_id_of(scope: Scope) -> str:
    """The id `RequestIdMiddleware` gave this request (a new one if it never ran)."""
    state = scope.setdefault("state", {})
    request_id = state.get("request_id")
    if not isinstance(request_id, str):
        request_id = state["request_id"] = str(uuid.uuid4())
    return request_id


def _is_json(headers: MutableHeaders) -> bool:
    media_type = headers.get("content-type", "").split(";")[0].strip().lower()
    return media_type == "application/json" or media_type.endswith("+json")


def _with_request_id(body: bytes, request_id: str) -> bytes:
    """`body` with `request_id` added, if it is a JSON object without one; else `body` unchanged."""
    try:
        data = json.loads(body)
    except ValueError:
        return body
    if not isinstance(data, dict) or "request_id" in data:
        return body
    data["request_id"] = request_id
    return json.dumps(data, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode()


class RequestIdMiddleware:
    """Gives each request its id and stamps it on the answer: the header always, a JSON error body too.

    Pure ASGI (no `BaseHTTPMiddleware`): answers stream through untouched, except JSON error bodies, which
    are small and held until complete so the id can be written into them.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        offered = Headers(scope=scope).get(REQUEST_ID_HEADER, "")
        request_id = offered if SANE_REQUEST_ID.fullmatch(offered) else str(uuid.uuid4())
        scope.setdefault("state", {})["request_id"] = request_id
        held: Message | None = None
        body = bytearray()

        async def stamped(message: Message) -> None:
            nonlocal held
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers[REQUEST_ID_HEADER] = request_id
                if message["status"] >= 400 and _is_json(headers):
                    held = message
                    return
            elif held is not None and message["type"] == "http.response.body":
                body.extend(message.get("body", b""))
                if message.get("more_body", False):
                    return
                answer = _with_request_id(bytes(body), request_id)
                if answer != body:  # a HEAD answer keeps the length of the body it did not send
                    MutableHeaders(scope=held)["content-length"] = str(len(answer))
                start, held = held, None
                await send(start)
                await send({"type": "http.response.body", "body": answer})
                return
            await send(message)

        with bound_context(request_id=request_id):
            await self.app(scope, receive, stamped)
