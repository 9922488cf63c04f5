"""Reports: bank reconciliation of an uploaded camt.053 statement (and the receivables reports)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from gateway.api.bodies import raw_body_openapi, read_family_body
from gateway.api.deps import IdentityDep, SessionDep, SettingsDep
from gateway.api.errors import ErrorAnswer
from gateway.api.parsing import parse_pool
from gateway.services.reports import reconciliation as reconciliation_service

router = APIRouter(tags=["reports"])


@router.post(
    "/reports/reconciliation",
    openapi_extra=raw_body_openapi("application/xml", "text/xml", "application/octet-stream"),
    responses={
        200: {
            "description": "the statement's entries against the payments the gateway booked, its balances "
            "against the journal's bank account; `differences`, `verdict` ('reconciled' or 'N differences')"
        },
        413: {"description": "larger than GATEWAY_MAX_REMITTANCE_BYTES (the answer names the limit)"},
        422: {"description": "not a camt.053 statement, or not readable whole: the field and the reason"},
    },
)
async def post_reconciliation(
    request: Request, identity: IdentityDep, settings: SettingsDep, session: SessionDep
) -> dict[str, Any]:
    """A camt.053 statement as the raw body, reconciled for the caller's tenant; nothing is booked or kept."""
    body = await read_family_body(request, settings, "remittances")
    reading = await parse_pool(request).run(reconciliation_service.read_statement_file, body)
    try:
        statement = reconciliation_service.statement_or_refusal(reading)
        found = await run_in_threadpool(
            reconciliation_service.reconcile, session, identity.tenant_id, statement
        )
    except reconciliation_service.ReconciliationRefused as refused:
        raise ErrorAnswer.one(422, refused.field, refused.reason) from None
    return found.as_dict()
