"""`POST /bounces`: an e-mail delivery status notification (bounce, delay, delivery report)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from gateway.api.bodies import raw_body_openapi, read_family_body, require_content_type
from gateway.api.deps import EngineDep, IdentityDep, SettingsDep
from gateway.api.errors import ErrorAnswer
from gateway.api.parsing import parse_pool
from gateway.services.inbound.bounces import receive_bounce
from mappings.base import FormatError
from mappings.status import dsn as dsn_reports
from mappings.status.dsn import MAX_DSN_BYTES, DsnError, DsnTooLarge

router = APIRouter(tags=["responses"])

_BOUNCE_TYPES = {"message/rfc822", "application/octet-stream", ""}


@router.post(
    "/bounces",
    openapi_extra=raw_body_openapi("message/rfc822", "application/octet-stream"),
    responses={
        200: {"description": "stored (a repeat answers with the first result); `applied`: moved or not"},
        400: {"description": "not an e-mail message"},
        413: {"description": "too large"},
        415: {"description": "not message/rfc822 or application/octet-stream"},
        422: {"description": "an e-mail, but not a bounce (RFC 3464 or text), auto-reply or ARF report"},
    },
)
async def post_bounce(
    request: Request, identity: IdentityDep, settings: SettingsDep, engine: EngineDep
) -> JSONResponse:
    """An e-mail delivery status notification (bounce, delay, delivery report), e.g. from an MTA pipe."""
    require_content_type(request, _BOUNCE_TYPES, send="message/rfc822 or application/octet-stream")
    body = await read_family_body(request, settings, "bounces", cap=MAX_DSN_BYTES)
    # the CPU-heavy read in the parse pool: a slow file cannot stall the other requests (issue 18)
    parsed = await parse_pool(request).read(dsn_reports.parse, body)
    try:
        result = await run_in_threadpool(
            receive_bounce, engine, body, actor=identity.actor, tenant_id=identity.tenant_id, parsed=parsed
        )
    except DsnTooLarge as error:
        raise ErrorAnswer(413, [error.as_dict()]) from None
    except DsnError as error:
        raise ErrorAnswer(422, [error.as_dict()]) from None
    except FormatError as error:
        raise ErrorAnswer(400, [error.as_dict()]) from None
    return JSONResponse(result.as_dict())
