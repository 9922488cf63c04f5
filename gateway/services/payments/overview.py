"""The payment side of the console's overview: what waits for a person, and how well matching did.

The rates are `match_report`'s (the API's report and `gateway match --report`), counted by `match_rates`
with the same definitions: the automatic-match rate is the share of matchable payments the engine applied
by itself, and the false automatic rate the share of those automatic applications a person later reversed
or re-allocated. The month is one aggregate and the last `WEEKS` weeks another, over the payments received
in that span (`ix_payments_status`), so the cost follows eight weeks of payments, not the history.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from sqlmodel import col

from db.models import PaymentRecord, utcnow
from gateway.services.payments.matching_runs import MatchRates, match_rates

#: How many weeks (Monday to Sunday, UTC; the current one so far included) the rate chart shows.
WEEKS = 8
#: Payments a person has to look at: the engine could not decide, or wants a yes first.
WAITING_FOR_PEOPLE = ("exception", "needs_approval")


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


def payment_overview(session: Session, tenant_id: str, *, now: dt.datetime | None = None) -> PaymentOverview:
    """Exceptions and approvals waiting (with the oldest), this calendar month's match rates and the
    rates of the last `WEEKS` weeks, oldest week first."""
    today = (now or utcnow()).astimezone(dt.UTC).date()
    waiting: dict[str, tuple[int, dt.datetime | None]] = {}
    for status in WAITING_FOR_PEOPLE:  # per status, so that the oldest is the head of its range
        count, first = session.execute(
            select(func.count(), func.min(col(PaymentRecord.created_at))).where(
                col(PaymentRecord.tenant_id) == tenant_id, col(PaymentRecord.status) == status
            )
        ).one()
        waiting[status] = (int(count), first)
    firsts = [first for _count, first in waiting.values() if first is not None]
    monday = today - dt.timedelta(days=today.weekday())
    weeks = [_midnight(monday - dt.timedelta(weeks=back)) for back in range(WEEKS - 1, -1, -1)]
    month = _midnight(today.replace(day=1))  # always after the first of the weeks: one pass counts both
    spans = match_rates(session, tenant_id, sorted({*weeks, month}), _midnight(today + dt.timedelta(days=1)))
    return PaymentOverview(
        exceptions=waiting.get("exception", (0, None))[0],
        awaiting_approval=waiting.get("needs_approval", (0, None))[0],
        oldest_waiting=min(firsts) if firsts else None,
        month=_together(month, [span for span in spans if span.since >= month]),
        weeks=[
            _together(start, [span for span in spans if start <= span.since < start + dt.timedelta(weeks=1)])
            for start in weeks
        ],
    )


def _together(since: dt.datetime, spans: list[MatchRates]) -> MatchRates:
    """Consecutive spans' counts as one span's from `since`."""
    return MatchRates(
        since,
        sum(span.matchable for span in spans),
        sum(span.automatic for span in spans),
        sum(span.false_automatic for span in spans),
    )


def _midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)
