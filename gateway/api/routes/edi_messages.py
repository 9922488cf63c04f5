"""`POST /edi`: an EDIFACT or X12 file from a trading partner (acknowledgements and business messages)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from gateway.api.bodies import raw_body_openapi, read_family_body, require_content_type
from gateway.api.deps import EngineDep, IdentityDep, SettingsDep
from gateway.api.errors import ErrorAnswer
from gateway.api.parsing import parse_pool
from gateway.services.inbound.edi_acks import receive_edi
from mappings.acks.received import examine
from mappings.base import FormatError

router = APIRouter(tags=["responses"])

_EDI_TYPES = {
    "application/edifact",
    "application/edi-x12",
    "application/edi-consent",
    "application/octet-stream",
    "text/plain",
    "",
}


@router.post(
    "/edi",
    status_code=201,
    openapi_extra=raw_body_openapi("application/EDIFACT", "application/EDI-X12", "application/octet-stream"),
    responses={
        200: {"description": "the same file again: the first result, nothing applied or answered again"},
        201: {"description": "stored: an ack linked and applied, or a message recorded and answered"},
        413: {"description": "too large"},
        415: {"description": "not an EDI or binary content type"},
        422: {"description": "not EDIFACT / X12, or its envelope cannot be read (segment, position)"},
    },
)
async def post_edi(
    request: Request, identity: IdentityDep, settings: SettingsDep, engine: EngineDep
) -> JSONResponse:
    """An EDIFACT or X12 file from a trading partner of the token's tenant: CONTRL, APERAK, TA1, 997 and
    999 move deliveries; REMADV, 820, IFTSTA, 214… are recorded and answered with CONTRL / 997 / 999."""
    require_content_type(
        request,
        _EDI_TYPES,
        send="application/EDIFACT, application/EDI-X12 or application/octet-stream",
    )
    body = await read_family_body(request, settings, "edi")
    # the CPU-heavy read in the parse pool: a slow file cannot stall the other requests (issue 18)
    parsed = await parse_pool(request).read(examine, body)
    try:
        result = await run_in_threadpool(
            receive_edi, engine, body, tenant_id=identity.tenant_id, actor=identity.actor, parsed=parsed
        )
    except FormatError as error:
        raise ErrorAnswer(422, [error.as_dict()]) from None
    return JSONResponse(result.as_dict(), status_code=200 if result.duplicate else 201)
