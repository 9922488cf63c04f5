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

#: The request example: a day's statement with its booked balances and one credit entry.
_CAMT053_EXAMPLE = """<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08">
  <BkToCstmrStmt>
    <GrpHdr><MsgId>STMT-20261125</MsgId><CreDtTm>2026-11-25T18:00:00+01:00</CreDtTm></GrpHdr>
    <Stmt>
      <Id>15038366383-20261125</Id>
      <CreDtTm>2026-11-25T18:00:00+01:00</CreDtTm>
      <FrToDt><FrDtTm>2026-11-25T00:00:00+01:00</FrDtTm><ToDtTm>2026-11-25T23:59:59+01:00</ToDtTm></FrToDt>
      <Acct><Id><Othr><Id>15038366383</Id></Othr></Id><Ccy>NOK</Ccy></Acct>
      <Bal><Tp><CdOrPrtry><Cd>OPBD</Cd></CdOrPrtry></Tp><Amt Ccy="NOK">10000.00</Amt>
        <CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>2026-11-25</Dt></Dt></Bal>
      <Bal><Tp><CdOrPrtry><Cd>CLBD</Cd></CdOrPrtry></Tp><Amt Ccy="NOK">11250.00</Amt>
        <CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>2026-11-25</Dt></Dt></Bal>
      <Ntry>
        <Amt Ccy="NOK">1250.00</Amt>
        <CdtDbtInd>CRDT</CdtDbtInd>
        <Sts><Cd>BOOK</Cd></Sts>
        <BookgDt><Dt>2026-11-25</Dt></BookgDt>
        <ValDt><Dt>2026-11-25</Dt></ValDt>
        <AcctSvcrRef>20261125-000123</AcctSvcrRef>
        <BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>RCDT</Cd><SubFmlyCd>VCOM</SubFmlyCd></Fmly></Domn></BkTxCd>
      </Ntry>
    </Stmt>
  </BkToCstmrStmt>
</Document>
"""


def _statement_body() -> dict[str, Any]:
    extra = raw_body_openapi("application/xml", "text/xml", "application/octet-stream")
    extra["requestBody"]["content"]["application/xml"]["example"] = _CAMT053_EXAMPLE
    return extra


@router.post(
    "/reports/reconciliation",
    openapi_extra=_statement_body(),
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
