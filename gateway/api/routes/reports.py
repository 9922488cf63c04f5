"""Reports: receivables aging, DSO and CEI, deliveries per channel and matching rates of the caller's
tenant, as JSON or (`format=png|svg`) as the chart; and bank reconciliation of an uploaded camt.053
statement. A parameter the report cannot use is a 422 naming it."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from gateway.api.bodies import raw_body_openapi, read_family_body
from gateway.api.deps import IdentityDep, SessionDep, SettingsDep
from gateway.api.errors import ErrorAnswer
from gateway.api.parsing import parse_pool
from gateway.api.views import MatchReport, View
from gateway.services.followup.credit import today_in
from gateway.services.reports import plots
from gateway.services.reports import reconciliation as reconciliation_service
from gateway.services.reports.aging import aging_report
from gateway.services.reports.deliveries import delivery_report
from gateway.services.reports.dso import MAX_MONTHS, dso_report
from gateway.services.reports.matching import matching_report
from gateway.services.reports.periods import EARLIEST_YEAR, LATEST_YEAR, Month, ReportRefused

router = APIRouter(tags=["reports"])

Format = Annotated[
    Literal["json", "png", "svg"],
    Query(description="json (the figures), png or svg (the chart, 1280 × 640 pixels)"),
]
Period = Annotated[
    str | None,
    Query(
        pattern=r"^\d{4}-\d{2}$",
        description=f"a month, YYYY-MM ({EARLIEST_YEAR} to {LATEST_YEAR}); unset: this month (Europe/Oslo)",
        examples=["2026-11"],
    ),
]
_IMAGE = {"schema": {"type": "string", "format": "binary"}}
CHART_ANSWER: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "the report (JSON) or its chart",
        "content": {"image/png": _IMAGE, "image/svg+xml": _IMAGE},
    }
}


# --- answers ------------------------------------------------------------------------------------------------


class AgingBucketView(View):
    key: str
    label: str


class AgingCustomerView(View):
    customer_key: str
    name: str
    currency: str
    buckets: dict[str, str]
    total: str
    overdue: str
    items: int


class AgingCurrencyView(View):
    currency: str
    buckets: dict[str, str]
    total: str
    customers: list[AgingCustomerView]


class AgingReportView(View):
    """Open amounts per customer and currency in buckets of days past due, as of the end of a day."""

    tenant: str
    as_of: str
    buckets: list[AgingBucketView]
    currencies: list[AgingCurrencyView]


class DsoMonthView(View):
    month: str
    end: str
    days: int
    sales: str
    opening_receivables: str
    receivables: str
    current_receivables: str
    overdue_receivables: str
    count_back_dso: str
    count_back_complete: bool
    best_possible_dso: str | None
    cei_pct: str | None


class DsoCurrencyView(View):
    currency: str
    months: list[DsoMonthView]


class DaysLateView(View):
    customer_key: str
    name: str
    currency: str
    payments: int
    amount: str
    average_days_late: str


class DsoReportView(View):
    """Count-back DSO, best-possible DSO and CEI per month and currency; average days late per customer."""

    tenant: str
    period: str
    months: int
    count_back_months: int
    currencies: list[DsoCurrencyView]
    days_late: list[DaysLateView]


class ChannelDeliveriesView(View):
    channel: str
    deliveries: int
    by_status: dict[str, int]
    delivered: int
    failed: int
    failure_rate_pct: float
    deviations: int
    with_deviation: int
    deviation_rate_pct: float
    median_seconds_to_delivered: float | None
    p90_seconds_to_delivered: float | None


class DeliveryReportView(View):
    """Deliveries created in a month, per channel."""

    tenant: str
    period: str
    deliveries: int
    deviations: int
    deviation_rate_pct: float
    failed: int
    channels: list[ChannelDeliveriesView]


class MatchingReportView(MatchReport):
    """`GET /matching/report` over the payments received in a month."""

    period: str


# --- routes -------------------------------------------------------------------------------------------------


def _refused(refused: ReportRefused) -> ErrorAnswer:
    return ErrorAnswer.one(422, f"query.{refused.field}", refused.reason)


def _month(period: str | None) -> Month:
    try:
        return Month.parse(period) if period else Month.of(today_in())
    except ReportRefused as refused:
        raise _refused(refused) from None


def _chart(image_format: str, draw: Any, report: Any) -> Response:
    return Response(draw(report, image_format), media_type=plots.MEDIA_TYPES[image_format])


@router.get("/reports/aging", response_model=AgingReportView, responses=CHART_ANSWER)
def get_aging(
    identity: IdentityDep,
    session: SessionDep,
    date: Annotated[
        dt.date | None,
        Query(
            description=f"as of the end of this day ({EARLIEST_YEAR} to {LATEST_YEAR}); unset: today "
            "(Europe/Oslo)"
        ),
    ] = None,
    format: Format = "json",
) -> Any:
    """Open amounts per customer in buckets of days past due (not due, 1–30, 31–60, 61–90, over 90), per
    currency, as of a day: a past day shows what was open then (later payments not yet counted, reversals
    made later still standing)."""
    try:
        report = aging_report(session, identity.tenant_id, date or today_in())
    except ReportRefused as refused:
        raise _refused(refused) from None
    if format != "json":
        return _chart(format, plots.aging_chart, report)
    return AgingReportView.model_validate(report.as_dict())


@router.get("/reports/dso", response_model=DsoReportView, responses=CHART_ANSWER)
def get_dso(
    identity: IdentityDep,
    session: SessionDep,
    period: Period = None,
    months: Annotated[int, Query(ge=1, le=MAX_MONTHS, description="months shown, ending with `period`")] = 12,
    format: Format = "json",
) -> Any:
    """Count-back DSO, best-possible DSO and the collection effectiveness index per month and currency, and
    the payment-weighted average days late per customer over those months."""
    try:
        report = dso_report(session, identity.tenant_id, _month(period), months, today_in())
    except ReportRefused as refused:
        raise _refused(refused) from None
    if format != "json":
        return _chart(format, plots.dso_chart, report)
    return DsoReportView.model_validate(report.as_dict())


@router.get("/reports/deliveries", response_model=DeliveryReportView, responses=CHART_ANSWER)
def get_deliveries(
    identity: IdentityDep,
    session: SessionDep,
    period: Period = None,
    format: Format = "json",
) -> Any:
    """Deliveries created in a month per channel: volume, where they stand, deviation rate, median and 90th
    percentile seconds to delivered, failures."""
    report = delivery_report(session, identity.tenant_id, _month(period))
    if format != "json":
        return _chart(format, plots.deliveries_chart, report)
    return DeliveryReportView.model_validate(report.as_dict())


@router.get("/reports/matching")
def get_matching(identity: IdentityDep, session: SessionDep, period: Period = None) -> MatchingReportView:
    """Match rates of the payments received in a month, per payment and per invoice, by count and amount."""
    return MatchingReportView.model_validate(matching_report(session, identity.tenant_id, _month(period)))


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
