"""`POST /responses`: a status document from the receiver's side (Invoice Response, MLR, MLS)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from gateway.api.bodies import raw_body_openapi, read_family_body, require_content_type
from gateway.api.deps import EngineDep, IdentityDep, SettingsDep
from gateway.api.errors import ErrorAnswer
from gateway.api.parsing import parse_pool
from gateway.services.inbound.responses import read_status_document, receive_status_document
from mappings.base import FormatError
from mappings.status.invoice_response import StatusDocumentError

router = APIRouter(tags=["responses"])


@router.post(
    "/responses",
    openapi_extra=raw_body_openapi("application/xml"),
    responses={
        200: {"description": "stored (a repeat answers with the first result); `applied`: moved or not"},
        400: {"description": "not well-formed XML"},
        422: {"description": "XML, but not an Invoice Response, MLR or MLS the gateway reads"},
    },
)
async def post_response(
    request: Request, identity: IdentityDep, settings: SettingsDep, engine: EngineDep
) -> JSONResponse:
    """A status document from the receiver's side: Invoice Response (T111), MLR (T71) or MLS."""
    require_content_type(request, {"application/xml", "text/xml", ""}, send="application/xml", suffix="+xml")
    body = await read_family_body(request, settings, "responses")
    # the CPU-heavy read (and the official rules) in the parse pool: a slow file cannot stall the others
    parsed = await parse_pool(request).read(read_status_document, body, settings.rules_dir)
    try:
        result = await run_in_threadpool(
            receive_status_document,
            engine,
            body,
            actor=identity.actor,
            tenant_id=identity.tenant_id,
            rules_dir=settings.rules_dir,
            parsed=parsed,
        )
    except StatusDocumentError as error:
        raise ErrorAnswer(422, [error.as_dict()]) from None
    except FormatError as error:
        raise ErrorAnswer(400, [error.as_dict()]) from None
    return JSONResponse(result.as_dict())
