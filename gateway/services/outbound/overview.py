"""The outbound side of the console's overview: where a tenant's deliveries stand and what needs someone.

Every figure is one aggregate query over an index, bounded so that its cost follows what is moving rather
than the size of the store: a tenant with a million delivered invoices pays for the last 14 days and for
what is still unfinished, never for the archive.

- Unfinished deliveries (held, queued, rendering, sending, batched, sent, deviation, failed) are counted
  whatever their age: a delivery stuck since last month is exactly what the page is for.
- Delivered and cancelled ones are counted for the deliveries created in the last `DAYS` days (the same
  window as the chart of deliveries per day and channel).
- Open deviations are counted by cause and by how long they have been open.

All of it reads `ix_deliveries_status_created` (tenant, status, created_at, channel) and
`ix_deviations_open_cause` (tenant, closed_at, cause, opened_at): the queries name every status they want,
so each is a handful of range scans in an index that holds every column they read. Days are UTC days.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session
from sqlmodel import col

from db.models import Delivery, Deviation, InvoiceRecord, utcnow
from gateway.services.outbound.deviations import CAUSES
from outbox.states import DeliveryStatus

S = DeliveryStatus
#: How many days the per-day chart and the finished deliveries' counts look back (today included).
DAYS = 14
#: Not handed over yet: the oldest of these is the delivery that has waited longest.
WAITING: tuple[DeliveryStatus, ...] = (S.HELD, S.QUEUED, S.RENDERING, S.SENDING, S.BATCHED)
#: Counted whatever their age: not finished, or finished badly and needing someone.
UNFINISHED: tuple[DeliveryStatus, ...] = (*WAITING, S.SENT, S.DEVIATION, S.FAILED)
#: Counted only when created in the window: the archive would otherwise be counted on every visit.
FINISHED: tuple[DeliveryStatus, ...] = (S.DELIVERED, S.CANCELLED)
#: The order statuses are shown in: the way a delivery moves, the ones that need someone last.
STATUS_ORDER: tuple[DeliveryStatus, ...] = (
    S.HELD,
    S.QUEUED,
    S.RENDERING,
    S.SENDING,
    S.BATCHED,
    S.SENT,
    S.DELIVERED,
    S.DEVIATION,
    S.FAILED,
    S.CANCELLED,
)
#: How long open deviations have been open: (label, at least this old), youngest first.
AGE_BUCKETS: tuple[tuple[str, dt.timedelta], ...] = (
    ("under 1 day", dt.timedelta(0)),
    ("1–3 days", dt.timedelta(days=1)),
    ("3–7 days", dt.timedelta(days=3)),
    ("over 7 days", dt.timedelta(days=7)),
)


@dataclass(frozen=True)
class DayVolume:
    """Deliveries created on one UTC day, per channel."""

    day: dt.date
    by_channel: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.by_channel.values())


@dataclass(frozen=True)
class WaitingDelivery:
    """The delivery that has waited longest to be handed over."""

    delivery_id: str
    invoice_id: str | None
    invoice_number: str | None
    channel: str
    status: str
    created_at: dt.datetime
    attempt: int


@dataclass(frozen=True)
class CauseAges:
    """Open deviations of one cause, per age bucket (the labels of `AGE_BUCKETS`), and the oldest."""

    cause: str
    by_age: dict[str, int]
    oldest: dt.datetime

    @property
    def total(self) -> int:
        return sum(self.by_age.values())


@dataclass
class DeliveryOverview:
    """What the overview shows of a tenant's outbound side, as of `now`."""

    now: dt.datetime
    days: list[dt.date]
    channels: list[str]
    #: (status, channel) → deliveries: unfinished ones of any age, finished ones created in the window
    by_status_channel: dict[tuple[str, str], int]
    per_day: list[DayVolume]
    invoices_today: int
    oldest_waiting: WaitingDelivery | None
    deviations: list[CauseAges] = field(default_factory=list)

    @property
    def today(self) -> DayVolume:
        return self.per_day[-1]

    def status_total(self, status: str) -> int:
        return sum(n for (s, _c), n in self.by_status_channel.items() if s == status)

    @property
    def statuses(self) -> list[str]:
        """The statuses with at least one delivery, in `STATUS_ORDER`."""
        present = {status for status, _channel in self.by_status_channel}
        return [status.value for status in STATUS_ORDER if status.value in present]

    @property
    def open_deviations(self) -> int:
        return sum(cause.total for cause in self.deviations)

    @property
    def oldest_deviation(self) -> dt.datetime | None:
        return min((cause.oldest for cause in self.deviations), default=None)


def delivery_overview(
    session: Session, tenant_id: str, *, now: dt.datetime | None = None
) -> DeliveryOverview:
    """The tenant's deliveries by status and channel, per day for `DAYS` days, the oldest waiting one and
    the open deviations by cause and age: five aggregate queries, none reading another tenant's rows."""
    now = now or utcnow()
    today = now.astimezone(dt.UTC).date()
    days = [today - dt.timedelta(days=back) for back in range(DAYS - 1, -1, -1)]
    starts = [dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC) for day in days]
    tenant = col(Delivery.tenant_id) == tenant_id
    status, channel, created = col(Delivery.status), col(Delivery.channel), col(Delivery.created_at)

    by_status_channel: dict[tuple[str, str], int] = {}
    for row_status, row_channel, count in session.execute(
        select(status, channel, func.count())
        .where(tenant, status.in_([s.value for s in UNFINISHED]))
        .group_by(status, channel)
    ):
        by_status_channel[(str(row_status), str(row_channel))] = int(count)

    # one query per day: SQLite sorts what it groups, and fourteen small sorts are cheaper than one large
    per_day: dict[int, dict[str, int]] = {index: {} for index in range(DAYS)}
    for index, (start, end) in enumerate(zip(starts, [*starts[1:], None], strict=True)):
        for day_status, day_channel, day_count in session.execute(
            select(status, channel, func.count())
            .where(
                tenant,
                status.in_([s.value for s in STATUS_ORDER]),
                created >= start,
                *([created < end] if end is not None else []),
            )
            .group_by(status, channel)
        ):
            row_channel, count = str(day_channel), int(day_count)
            per_day[index][row_channel] = per_day[index].get(row_channel, 0) + count
            if day_status in FINISHED:
                key = (str(day_status), row_channel)
                by_status_channel[key] = by_status_channel.get(key, 0) + count

    invoices_today = session.execute(
        select(func.count()).where(
            col(InvoiceRecord.tenant_id) == tenant_id, col(InvoiceRecord.created_at) >= starts[-1]
        )
    ).scalar_one()

    channels = sorted({c for _s, c in by_status_channel} | {c for v in per_day.values() for c in v})
    return DeliveryOverview(
        now=now,
        days=days,
        channels=channels,
        by_status_channel=by_status_channel,
        per_day=[DayVolume(days[index], per_day[index]) for index in range(DAYS)],
        invoices_today=invoices_today,
        oldest_waiting=oldest_waiting(session, tenant_id),
        deviations=open_deviations(session, tenant_id, now=now),
    )


def oldest_waiting(session: Session, tenant_id: str) -> WaitingDelivery | None:
    """The delivery created longest ago among those not handed over yet (held, queued, …, batched).

    One look per status at the head of (tenant, status, created_at), so a backlog costs no more than an
    empty queue."""
    candidates: list[tuple[dt.datetime, str]] = []
    for waiting in WAITING:
        head = session.execute(
            select(col(Delivery.created_at), col(Delivery.id))
            .where(col(Delivery.tenant_id) == tenant_id, col(Delivery.status) == waiting.value)
            .order_by(col(Delivery.created_at))
            .limit(1)
        ).first()
        if head is not None:
            candidates.append((head[0], head[1]))
    if not candidates:
        return None
    _created, oldest_id = min(candidates)
    delivery, number = session.execute(
        select(Delivery, col(InvoiceRecord.number))
        .outerjoin(InvoiceRecord, col(InvoiceRecord.id) == col(Delivery.invoice_id))
        .where(col(Delivery.id) == oldest_id)
    ).one()
    return WaitingDelivery(
        delivery_id=delivery.id,
        invoice_id=delivery.invoice_id,
        invoice_number=number,
        channel=delivery.channel,
        status=str(delivery.status),
        created_at=delivery.created_at,
        attempt=delivery.attempt,
    )


def open_deviations(session: Session, tenant_id: str, *, now: dt.datetime | None = None) -> list[CauseAges]:
    """Open deviations by cause and by how long they have been open (`AGE_BUCKETS`), most first.

    Grouped by cause alone, in the order of `ix_deviations_open_cause` (nothing to sort); each bucket is
    what is at least its age minus what is at least the next one's."""
    now = now or utcnow()
    opened = col(Deviation.opened_at)
    at_least = [func.sum(case((opened <= now - age, 1), else_=0)) for _label, age in AGE_BUCKETS[1:]]
    rows: list[CauseAges] = []
    for cause, count, first, *older in session.execute(
        select(col(Deviation.cause), func.count(), func.min(opened), *at_least)
        .where(col(Deviation.tenant_id) == tenant_id, col(Deviation.closed_at).is_(None))
        .group_by(col(Deviation.cause))
    ):
        cumulative = [int(count), *(int(n or 0) for n in older), 0]
        by_age = {
            label: cumulative[index] - cumulative[index + 1]
            for index, (label, _age) in enumerate(AGE_BUCKETS)
            if cumulative[index] - cumulative[index + 1]
        }
        first_at = first if isinstance(first, dt.datetime) else dt.datetime.fromisoformat(str(first))
        oldest = first_at if first_at.tzinfo else first_at.replace(tzinfo=dt.UTC)
        rows.append(CauseAges(cause, by_age, oldest))
    known = {cause: position for position, cause in enumerate(CAUSES)}
    return sorted(rows, key=lambda row: (-row.total, known.get(row.cause, len(known)), row.cause))
