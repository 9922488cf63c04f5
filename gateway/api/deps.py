"""Dependencies declared once: the settings, the engine, a session, the document store, the caller, and
the checks every request passes before its route runs (`check_request`)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request
from fastapi.dependencies.models import Dependant
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from db.engine import session_scope
from gateway.api.bodies import content_type, is_json_media_type
from gateway.services.outbound.documents import DocumentStore, document_store
from gateway.services.tenancy.tenants import Identity, authenticate
from gateway.settings import Settings


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_engine(request: Request) -> Engine:
    engine: Engine = request.app.state.engine
    return engine


def get_session(engine: Annotated[Engine, Depends(get_engine)]) -> Iterator[Session]:
    with session_scope(engine) as session:
        yield session


def get_document_store(
    settings: Annotated[Settings, Depends(get_settings)], engine: Annotated[Engine, Depends(get_engine)]
) -> DocumentStore:
    return document_store(settings, engine)


_bearer = HTTPBearer(auto_error=False, description="an API token made with `gateway token create`")


def get_identity(
    engine: Annotated[Engine, Depends(get_engine)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Identity:
    if credentials is None:
        raise HTTPException(401, "missing bearer token", headers={"WWW-Authenticate": "Bearer"})
    with session_scope(engine) as session:
        identity = authenticate(session, credentials.credentials)
    if identity is None:
        raise HTTPException(401, "invalid or revoked token", headers={"WWW-Authenticate": "Bearer"})
    return identity


SettingsDep = Annotated[Settings, Depends(get_settings)]
EngineDep = Annotated[Engine, Depends(get_engine)]
SessionDep = Annotated[Session, Depends(get_session)]
IdentityDep = Annotated[Identity, Depends(get_identity)]
DocumentStoreDep = Annotated[DocumentStore, Depends(get_document_store)]


# --- what every request is checked for --------------------------------------------------------------------

_QUERY_NAMES: dict[int, tuple[APIRoute, frozenset[str]]] = {}
NUL_REASON = "contains a NUL character (U+0000), which no text value may hold"
#: `\u0000` in a JSON text, not itself escaped (an odd number of backslashes before the `u`).
_JSON_NUL = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000")


def _query_names(dependant: Dependant) -> set[str]:
    names: set[str] = set()
    for param in dependant.query_params:
        annotation: Any = param.field_info.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):  # a query parameter model
            names |= {field.alias or name for name, field in annotation.model_fields.items()}
        else:
            names.add(param.alias)
    for sub in dependant.dependencies:
        names |= _query_names(sub)
    return names


def declared_query_names(route: APIRoute) -> frozenset[str]:
    """The query parameters `route` declares, its dependencies' included (by alias, as clients send them)."""
    known = _QUERY_NAMES.get(id(route))
    if known is None or known[0] is not route:
        known = _QUERY_NAMES[id(route)] = (route, frozenset(_query_names(route.dependant)))
    return known[1]


async def check_request(request: Request) -> None:
    """Refuse what a route would otherwise misread or silently ignore, the same way on every route.

    An unknown query parameter is a 422 naming it (`GET /deliveries?number=X` would else list everything);
    a route that reads a JSON model refuses another content type with a 415 naming `application/json`
    (else the client would get a puzzling 422 on a body it never meant as JSON). A NUL character in a
    query or path parameter or a JSON string is a 422 naming where: PostgreSQL cannot hold one in text, and
    no name, number or id has one.
    """
    route = request.scope.get("route")
    path = request.url.path
    if not isinstance(route, APIRoute) or (
        path.startswith(("/console/", "/portal/")) and not path.startswith("/portal/providers/")
    ):
        return  # the console's and the portal's pages (HTML forms) check their own input
    declared = declared_query_names(route)
    unknown = sorted({name for name in request.query_params if name not in declared})
    if unknown:
        takes = ", ".join(sorted(declared)) or "no query parameters"
        raise RequestValidationError(
            [
                {"loc": ("query", name), "msg": f"unknown query parameter; this operation takes: {takes}",
                 "type": "extra_forbidden"}
                for name in unknown
            ]
        )  # fmt: skip
    with_nul = [("query", name) for name, value in request.query_params.multi_items() if "\x00" in value]
    with_nul += [("path", name) for name, value in request.path_params.items() if "\x00" in str(value)]
    if with_nul:
        raise RequestValidationError(
            [{"loc": loc, "msg": NUL_REASON, "type": "string_nul"} for loc in with_nul]
        )
    if route.body_field is not None and await request.body():
        found = content_type(request)
        if not found:
            raise HTTPException(415, "a body without a Content-Type is not read here; send application/json")
        if not is_json_media_type(found):
            raise HTTPException(415, f"content type {found!r} is not accepted here; send application/json")
        if _JSON_NUL.search(await request.body()):
            raise RequestValidationError([{"loc": ("body",), "msg": NUL_REASON, "type": "string_nul"}])
