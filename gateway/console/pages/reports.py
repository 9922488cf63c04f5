"""Reports: receivables aging as of a day, the DSO trend with CEI and days late, deliveries per channel and
matching rates in a month, each a table and a chart. The charts are `<img>`s of
`/console/reports/chart/{name}` (SVG or PNG from `gateway.services.reports.plots`), drawn for the signed-in
person's tenant with the same parameters as the page. Reading only: every role may look.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from db.engine import session_scope
from gateway.console.auth import Viewer
from gateway.console.templating import page
from gateway.services.followup.credit import today_in
from gateway.services.reports import plots
from gateway.services.reports.aging import BUCKETS, AgingReport, aging_report
from gateway.services.reports.deliveries import DeliveryReport, delivery_report
from gateway.services.reports.dso import DsoReport, dso_report
from gateway.services.reports.matching import matching_report
from gateway.services.reports.periods import Month, ReportRefused, check_day

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
