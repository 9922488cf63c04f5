"""Matching rates of the payments received in a period: `payments.matching_runs.match_report` (per payment
and per invoice, by count and amount, the false-auto rate beside the auto rate) over the period's days."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from gateway.services.payments.matching_runs import match_report
from gateway.services.reports.periods import Month, start_of


def matching_report(session: Session, tenant_id: str, period: Month) -> dict[str, Any]:
    """`match_report` of the payments received in `period` (UTC), with the period said."""
    since, until = start_of(period.first_day), start_of(period.shifted(1).first_day)
    report = match_report(session, tenant_id, since=since, until=until)
    return {
        "period": str(period),
        "from": period.first_day.isoformat(),
        "to": period.last_day.isoformat(),
        **report,
    }
