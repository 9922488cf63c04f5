"""The payment side of the console's overview: what waits for a person, and how well matching did.

The rates are `match_report`'s, computed the one way the API's report and `gateway match --report` do:
the automatic-match rate is the share of matchable payments the engine applied by itself, and the false
automatic rate is the share of those automatic applications a person later reversed or re-allocated. The
month and each of the last `WEEKS` weeks are one report each over the payments received in that span
(`ix_payments_created`), so the cost follows the payments of eight weeks, not the history.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from sqlmodel import col

from db.models import PaymentRecord, utcnow
from gateway.services.payments.matching_runs import match_report

#: How many weeks (Monday to Sunday, UTC; the current one so far included) the rate chart shows.
WEEKS = 8
#: Payments a person has to look at: the engine could not decide, or wants a yes first.
WAITING_FOR_PEOPLE = ("exception", "needs_approval")


@dataclass(frozen=True)
class MatchRates:
    """One span's automatic-match figures, as `match_report` counts them."""

    start: dt.date
    matchable: int
    automatic: int
    auto_rate_pct: float
    false_automatic: int
    false_auto_rate_pct: float


@dataclass
class PaymentOverview:
    """Payments waiting for people, this month's rates, and the rate per week."""

    exceptions: int
    awaiting_approval: int
    oldest_waiting: dt.datetime | None
    month: MatchRates
    weeks: list[MatchRates]

    @property
    def waiting(self) -> int:
        return self.exceptions + self.awaiting_approval


def _rates(session: Session, tenant_id: str, start: dt.date, end: dt.date | None) -> MatchRates:
    def moment(day: dt.date) -> dt.datetime:
        return dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)

    report = match_report(
        session, tenant_id, since=moment(start), until=moment(end) if end is not None else None
    )["per_payment"]
    return MatchRates(
        start=start,
        matchable=report["matchable"],
        automatic=report["auto_applied"],
        auto_rate_pct=report["auto_rate_pct"],
        false_automatic=report["false_auto_applied"],
        false_auto_rate_pct=report["false_auto_rate_pct"] if report["auto_applied"] else 0.0,
    )


def payment_overview(session: Session, tenant_id: str, *, now: dt.datetime | None = None) -> PaymentOverview:
    """Exceptions and approvals waiting (with the oldest), this calendar month's match rates and the
    rates of the last `WEEKS` weeks, oldest week first."""
    today = (now or utcnow()).astimezone(dt.UTC).date()
    waiting = {
        status: (count, first)
        for status, count, first in session.execute(
            select(col(PaymentRecord.status), func.count(), func.min(col(PaymentRecord.created_at)))
            .where(
                col(PaymentRecord.tenant_id) == tenant_id,
                col(PaymentRecord.status).in_(WAITING_FOR_PEOPLE),
            )
            .group_by(col(PaymentRecord.status))
        )
    }
    firsts = [first for _count, first in waiting.values() if first is not None]
    monday = today - dt.timedelta(days=today.weekday())
    week_starts = [monday - dt.timedelta(weeks=back) for back in range(WEEKS - 1, -1, -1)]
    return PaymentOverview(
        exceptions=waiting.get("exception", (0, None))[0],
        awaiting_approval=waiting.get("needs_approval", (0, None))[0],
        oldest_waiting=min(firsts) if firsts else None,
        month=_rates(session, tenant_id, today.replace(day=1), None),
        weeks=[
            _rates(session, tenant_id, start, start + dt.timedelta(weeks=1) if start != monday else None)
            for start in week_starts
        ],
    )
