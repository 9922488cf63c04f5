"""`GET /health`: can the gateway reach its database (for load balancers and monitoring)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import text

from gateway.api.deps import EngineDep

router = APIRouter(tags=["operations"])


@router.get("/health", responses={503: {"description": "the database cannot be reached"}})
def health(engine: EngineDep) -> JSONResponse:
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as error:
        reason = str(error)[:200]
        return JSONResponse(
            {
                "status": "unavailable",
                "database": reason,
                "errors": [{"field": "database", "reason": reason}],
            },
            status_code=503,
        )
    return JSONResponse({"status": "ok", "database": engine.dialect.name})
