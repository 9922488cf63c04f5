"""The overview, the first page after signing in: where deliveries stand, what needs someone, matching.

The figures come from `gateway.services.outbound.overview` and `gateway.services.payments.overview` (a few
aggregate queries over bounded windows); this module only turns them into cards, tables and charts.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from db.engine import session_scope
from gateway.console.auth import Viewer
from gateway.console.charts import percent_columns, stacked_bars, stacked_columns
from gateway.console.templating import page
from gateway.services.outbound.overview import AGE_BUCKETS, DAYS, DeliveryOverview, delivery_overview
from gateway.services.payments.overview import PaymentOverview, payment_overview

router = APIRouter()


def _charts(deliveries: DeliveryOverview, payments: PaymentOverview) -> dict[str, Any]:
    per_day = stacked_columns(
        f"Deliveries created per day and channel, last {DAYS} days",
        [
            f"{day.day} {day:%b}" if index == 0 or day.day == 1 else str(day.day)
            for index, day in enumerate(deliveries.days)
        ],
        [
            (channel, [d.by_channel.get(channel, 0) for d in deliveries.per_day])
            for channel in deliveries.channels
        ],
        tooltip_prefix=[f"{day:%a %Y-%m-%d}" for day in deliveries.days],
    )
    causes = stacked_bars(
        "Open deviations by cause, split by how long they have been open",
        [row.cause.replace("-", " ") for row in deliveries.deviations],
        [(label, [row.by_age.get(label, 0) for row in deliveries.deviations]) for label, _ in AGE_BUCKETS],
        classes=[f"age-{index}" for index in range(len(AGE_BUCKETS))],
    )
    weeks = percent_columns(
        "Automatic-match rate and false automatic rate per week",
        [f"{week.since.day} {week.since:%b}" for week in payments.weeks],
        [
            ("automatic", [w.auto_rate_pct if w.matchable else None for w in payments.weeks]),
            ("false automatic", [w.false_auto_rate_pct if w.matchable else None for w in payments.weeks]),
        ],
        classes=["series-0", "series-5"],
    )
    return {"per_day_chart": per_day, "causes_chart": causes, "weeks_chart": weeks}


@router.get("/console/")
def overview(request: Request, identity: Viewer) -> Response:
    with session_scope(request.app.state.engine) as session:
        deliveries = delivery_overview(session, identity.tenant_id)
        payments = payment_overview(session, identity.tenant_id, now=deliveries.now)
    context: dict[str, Any] = {
        "title": "Overview",
        "deliveries": deliveries,
        "payments": payments,
        "age_buckets": [label for label, _ in AGE_BUCKETS],
        # the table's narrow headings; the full label is the abbreviation's title
        "age_headings": ["< 1 d", "1–3 d", "3–7 d", "> 7 d"],
        "window_days": DAYS,
        **_charts(deliveries, payments),
    }
    return page(request, "overview.html", context, identity=identity)
