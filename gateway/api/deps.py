"""Dependencies declared once: the settings, the engine, a session, the document store, the caller."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from db.engine import session_scope
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


def get_document_store(settings: Annotated[Settings, Depends(get_settings)]) -> DocumentStore:
    return document_store(settings)


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
