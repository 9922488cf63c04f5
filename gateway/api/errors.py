"""Every error answer has one shape, `{"errors": [{"field", "reason"}, …]}`, written here once.

Routes raise (`ErrorAnswer`, `HTTPException`, or a service's "not found" / "not now" error) instead of
building answers; the handlers installed by `install_error_handlers` turn each into its JSON answer.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from gateway.services.inbound.pods import NotFound as PodNotFound
from gateway.services.outbound.deliveries import NotFound
from gateway.services.outbound.lookup import AmbiguousReference
from gateway.services.payments.matching_runs import PaymentNotFound
from gateway.services.payments.remittances import RemittanceNotFound
from outbox.queue import StaleStatus
from outbox.states import IllegalTransition

#: The services' "no such thing for this tenant" errors: a 404 on every route.
NOT_FOUND_ERRORS: tuple[type[LookupError], ...] = (NotFound, PodNotFound, PaymentNotFound, RemittanceNotFound)
#: A state machine that says "not from this state" or "someone moved it first": a 409 on every route.
CONFLICT_ERRORS: tuple[type[Exception], ...] = (IllegalTransition, StaleStatus)


def error_response(status: int, errors: list[dict[str, Any]], **extra: Any) -> JSONResponse:
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
    """`detail` for clients written against FastAPI's default, `errors` for everyone else."""
    return JSONResponse(
        {"detail": detail, "errors": [{"field": None, "reason": detail}]}, status_code=status, headers=headers
    )


async def _validation_error(_: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)
    entries = []
    for item in error.errors():
        location = ".".join(str(part) for part in item.get("loc", ()))
        entries.append({"field": location or "body", "reason": item.get("msg", "invalid")})
    return error_response(422, entries)


async def _http_error(_: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, StarletteHTTPException)
    return http_error_response(error.status_code, error.detail, getattr(error, "headers", None))


async def _error_answer(_: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, ErrorAnswer)
    return error_response(error.status, error.errors, **error.extra)


async def _not_found(_: Request, error: Exception) -> JSONResponse:
    return http_error_response(404, str(error))


async def _conflict(_: Request, error: Exception) -> JSONResponse:
    return http_error_response(409, str(error))


async def _ambiguous(_: Request, error: Exception) -> JSONResponse:
    """A number (or id prefix) that names several documents: 409 listing them, never a guess."""
    assert isinstance(error, AmbiguousReference)
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
