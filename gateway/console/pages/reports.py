"""Reports: receivables aging as of a day, the DSO trend with CEI and days late, deliveries per channel and
matching rates in a month, each a table and a chart. The charts are `<img>`s of
`/console/reports/chart/{name}` (SVG or PNG from `gateway.services.reports.plots`), drawn for the signed-in
person's tenant with the same parameters as the page. Reading only: every role may look.

Bank reconciliation (`/console/reports/reconciliation`): a camt.053 file uploaded by credit control (role
credit or admin) is reconciled as `POST /reports/reconciliation` does it; nothing is booked or kept, and a
file that is not a readable statement is refused on the page itself (422), naming the field and the reason.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, File, HTTPException, Request, UploadFile
from fastapi.responses import Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from db.engine import session_scope
from gateway.console.auth import CreditController, Viewer
from gateway.console.templating import page
from gateway.services.followup.credit import today_in
from gateway.services.parsed import ParsePool
from gateway.services.reports import plots
from gateway.services.reports import reconciliation as reconciliation_service
from gateway.services.reports.aging import BUCKETS, AgingReport, aging_report
from gateway.services.reports.deliveries import DeliveryReport, delivery_report
from gateway.services.reports.dso import DsoReport, dso_report
from gateway.services.reports.matching import matching_report
from gateway.services.reports.periods import Month, ReportRefused, check_day
from gateway.services.tenancy.console_users import ConsoleIdentity

router = APIRouter()

BASE = "/console/reports"
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
MONTH_CHOICES = (3, 6, 12, 24)
CUSTOMER_ROWS = 25
DAYS_LATE_ROWS = 15


def _params(date: str, period: str, months: str) -> tuple[dt.date, Month, int]:
    """The page's choices, checked: a bad one is a 422 page naming the field."""
    today = today_in()
    try:
        if date.strip():
            if not _DATE.match(date.strip()):
                raise ReportRefused("date", f"{date[:20]!r} is not a date; write it as YYYY-MM-DD")
            try:
                day = dt.date.fromisoformat(date.strip())
            except ValueError:
                raise ReportRefused("date", f"{date[:20]!r} is not a date of the calendar") from None
        else:
            day = today
        check_day(day, "date")
        month = Month.parse(period) if period.strip() else Month.of(today)
    except ReportRefused as refused:
        raise HTTPException(422, str(refused)) from None
    if not months.isdigit() or int(months) not in MONTH_CHOICES:
        raise HTTPException(
            422, f"months: {months[:10]!r} is not one of {', '.join(map(str, MONTH_CHOICES))}"
        )
    return day, month, int(months)


def _reports(
    session: Session, tenant_id: str, day: dt.date, month: Month, months: int
) -> tuple[AgingReport, DsoReport | None, DeliveryReport, str | None]:
    aging = aging_report(session, tenant_id, day)
    try:
        dso: DsoReport | None = dso_report(session, tenant_id, month, months, today_in())
        refused = None
    except ReportRefused as error:  # a month not yet begun: the page says so beside the other reports
        dso, refused = None, error.reason
    return aging, dso, delivery_report(session, tenant_id, month), refused


def duration(seconds: float | None) -> str:
    """Seconds as a person reads them: 45 s, 12 min, 3 h 5 min, 2 d 4 h; none as a dash."""
    if seconds is None:
        return "—"
    whole = round(seconds)
    if whole < 60:
        return f"{whole} s"
    minutes, hours = whole // 60, whole // 3600
    if hours == 0:
        return f"{minutes} min"
    if hours < 48:
        return f"{hours} h {minutes % 60} min" if minutes % 60 else f"{hours} h"
    return f"{hours // 24} d {hours % 24} h" if hours % 24 else f"{hours // 24} d"


def _deliveries_view(report: DeliveryReport) -> dict[str, Any]:
    view = report.as_dict()
    for row in view["channels"]:
        row["median_shown"] = duration(row["median_seconds_to_delivered"])
        row["p90_shown"] = duration(row["p90_seconds_to_delivered"])
    return view


@router.get("/console/reports")
def reports_page(
    request: Request, identity: Viewer, date: str = "", period: str = "", months: str = "12"
) -> Response:
    day, month, count = _params(date, period, months)
    with session_scope(request.app.state.engine) as session:
        aging, dso, deliveries, dso_refused = _reports(session, identity.tenant_id, day, month, count)
        matching = matching_report(session, identity.tenant_id, month)
    query = urlencode({"date": day.isoformat(), "period": str(month), "months": count})
    context: dict[str, Any] = {
        "title": "Reports",
        "day": day.isoformat(),
        "period": str(month),
        "months": count,
        "month_choices": [(str(n), f"{n} months") for n in MONTH_CHOICES],
        "buckets": BUCKETS,
        "aging": aging.as_dict(),
        "customer_rows": CUSTOMER_ROWS,
        "dso": dso.as_dict() if dso else None,
        "dso_refused": dso_refused,
        "days_late_rows": DAYS_LATE_ROWS,
        "deliveries": _deliveries_view(deliveries),
        "matching": matching,
        "chart": lambda name, image_format="svg": f"{BASE}/chart/{name}?{query}&format={image_format}",
    }
    return page(request, "reports/reports.html", context, identity=identity)


@router.get("/console/reports/chart/{name}")
def report_chart(
    request: Request,
    name: Literal["aging", "dso", "deliveries"],
    identity: Viewer,
    date: str = "",
    period: str = "",
    months: str = "12",
    format: Literal["png", "svg"] = "svg",
) -> Response:
    """One report's chart for the signed-in person's tenant (the page's parameters)."""
    day, month, count = _params(date, period, months)
    with session_scope(request.app.state.engine) as session:
        report: Any
        if name == "aging":
            report = aging_report(session, identity.tenant_id, day)
        elif name == "dso":
            try:
                report = dso_report(session, identity.tenant_id, month, count, today_in())
            except ReportRefused as refused:
                raise HTTPException(422, str(refused)) from None
        else:
            report = delivery_report(session, identity.tenant_id, month)
    image = plots.CHARTS[name](report, format)
    return Response(
        image, media_type=plots.MEDIA_TYPES[format], headers={"Cache-Control": "private, max-age=60"}
    )


RECONCILIATION = f"{BASE}/reconciliation"


def _reconciliation_page(
    request: Request,
    identity: ConsoleIdentity,
    *,
    result: dict[str, Any] | None = None,
    refusal: str | None = None,
    filename: str | None = None,
    status: int = 200,
) -> Response:
    context: dict[str, Any] = {
        "title": "Bank reconciliation",
        "may_reconcile": identity.may("payments"),
        "result": result,
        "refusal": refusal,
        "filename": filename,
    }
    return page(request, "reports/reconciliation.html", context, identity=identity, status=status)


@router.get("/console/reports/reconciliation")
def reconciliation_form(request: Request, identity: Viewer) -> Response:
    """The upload form (for credit control) and what reconciliation compares."""
    return _reconciliation_page(request, identity)


@router.post("/console/reports/reconciliation")
async def reconciliation_upload(
    request: Request, identity: CreditController, file: Annotated[UploadFile | None, File()] = None
) -> Response:
    """A camt.053 statement reconciled for the signed-in person's tenant; a bad file is refused inline."""
    settings = request.app.state.settings
    limit: int = settings.max_remittance_bytes
    name = (file.filename if file else None) or None
    data = await file.read(limit + 1) if file is not None else b""

    def refused(reason: str) -> Response:
        return _reconciliation_page(request, identity, refusal=reason, filename=name, status=422)

    if not data:
        return refused("file: choose a camt.053 statement to upload")
    if len(data) > limit:
        return refused(f"file: larger than {limit} bytes (GATEWAY_MAX_REMITTANCE_BYTES)")
    pool: ParsePool = request.app.state.parse_pool
    reading = await pool.run(reconciliation_service.read_statement_file, data)

    def answer() -> dict[str, Any]:
        statement = reconciliation_service.statement_or_refusal(reading)
        with session_scope(request.app.state.engine) as session:
            return reconciliation_service.reconcile(session, identity.tenant_id, statement).as_dict()

    try:
        result = await run_in_threadpool(answer)
    except reconciliation_service.ReconciliationRefused as refusal:
        return refused(str(refusal))
    return _reconciliation_page(request, identity, result=result, filename=name)
