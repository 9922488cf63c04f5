"""Deliveries per channel in a period: how many, how many had a deviation, how long until delivered, how
many failed.

A delivery belongs to the period it was created in (UTC). Per channel:
- `deliveries`: deliveries created in the period; `by_status`: where they stand now;
- `deviations`: the deviation rows of those deliveries (every attempt's); `deviation_rate_pct` = deviations
  ÷ deliveries × 100 (it can pass 100 when attempts deviate again); `with_deviation`: deliveries with one;
- time to delivered: from the delivery's creation to its first `delivered` event, over the deliveries that
  got there: the median (of an even count, the mean of the middle two) and the 90th percentile (nearest
  rank: the ⌈0.9·n⌉-th smallest), in seconds;
- `failed`: deliveries that ended `failed`.
"""

from __future__ import annotations

import datetime as dt
import math
import statistics
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from sqlmodel import col

from db.models import Delivery, DeliveryEvent, Deviation
from gateway.services.reports.periods import Month, start_of


def nearest_rank(values: list[float], share: float) -> float:
    """The ⌈share·n⌉-th smallest of `values` (not empty)."""
    ordered = sorted(values)
    return ordered[max(1, math.ceil(share * len(ordered))) - 1]


def _rate(part: int, whole: int) -> float:
    return round(part / whole * 100, 2) if whole else 0.0


@dataclass
class ChannelDeliveries:
    channel: str
    deliveries: int = 0
    by_status: dict[str, int] = field(default_factory=dict)
    deviations: int = 0
    with_deviation: int = 0
    seconds_to_delivered: list[float] = field(default_factory=list)

    @property
    def delivered(self) -> int:
        return len(self.seconds_to_delivered)

    @property
    def failed(self) -> int:
        return self.by_status.get("failed", 0)

    @property
    def deviation_rate_pct(self) -> float:
        return _rate(self.deviations, self.deliveries)

    def as_dict(self) -> dict[str, Any]:
        times = self.seconds_to_delivered
        return {
            "channel": self.channel,
            "deliveries": self.deliveries,
            "by_status": dict(sorted(self.by_status.items())),
            "delivered": self.delivered,
            "failed": self.failed,
            "failure_rate_pct": _rate(self.failed, self.deliveries),
            "deviations": self.deviations,
            "with_deviation": self.with_deviation,
            "deviation_rate_pct": self.deviation_rate_pct,
            "median_seconds_to_delivered": round(statistics.median(times), 1) if times else None,
            "p90_seconds_to_delivered": round(nearest_rank(times, 0.9), 1) if times else None,
        }


@dataclass
class DeliveryReport:
    tenant_id: str
    period: Month
    first_day: dt.date
    last_day: dt.date
    channels: list[ChannelDeliveries]

    def as_dict(self) -> dict[str, Any]:
        total = sum(c.deliveries for c in self.channels)
        deviations = sum(c.deviations for c in self.channels)
        return {
            "tenant": self.tenant_id,
            "period": str(self.period),
            "from": self.first_day.isoformat(),
            "to": self.last_day.isoformat(),
            "deliveries": total,
            "deviations": deviations,
            "deviation_rate_pct": _rate(deviations, total),
            "failed": sum(c.failed for c in self.channels),
            "channels": [channel.as_dict() for channel in self.channels],
        }


def _seconds(start: dt.datetime, end: dt.datetime) -> float:
    if start.tzinfo is None:
        start = start.replace(tzinfo=dt.UTC)
    if end.tzinfo is None:
        end = end.replace(tzinfo=dt.UTC)
    return max(0.0, (end - start).total_seconds())


def delivery_report(session: Session, tenant_id: str, period: Month) -> DeliveryReport:
    """The tenant's deliveries created in `period`, per channel (most deliveries first)."""
    since, until = start_of(period.first_day), start_of(period.shifted(1).first_day)
    window = (
        col(Delivery.tenant_id) == tenant_id,
        col(Delivery.created_at) >= since,
        col(Delivery.created_at) < until,
    )
    channels: dict[str, ChannelDeliveries] = {}

    def of(channel: str) -> ChannelDeliveries:
        return channels.setdefault(channel, ChannelDeliveries(channel))

    for channel, status, count in session.execute(
        select(col(Delivery.channel), col(Delivery.status), func.count())
        .where(*window)
        .group_by(col(Delivery.channel), col(Delivery.status))
    ):
        row = of(channel)
        row.deliveries += count
        row.by_status[str(status)] = count
    for channel, rows, deliveries in session.execute(
        select(col(Delivery.channel), func.count(), func.count(func.distinct(col(Deviation.delivery_id))))
        .join(Deviation, col(Deviation.delivery_id) == col(Delivery.id))
        .where(*window)
        .group_by(col(Delivery.channel))
    ):
        of(channel).deviations, of(channel).with_deviation = rows, deliveries
    for channel, created_at, delivered_at in session.execute(
        select(col(Delivery.channel), col(Delivery.created_at), func.min(col(DeliveryEvent.at)))
        .join(DeliveryEvent, col(DeliveryEvent.delivery_id) == col(Delivery.id))
        .where(*window, col(DeliveryEvent.to_status) == "delivered")
        .group_by(col(Delivery.id), col(Delivery.channel), col(Delivery.created_at))
    ):
        of(channel).seconds_to_delivered.append(_seconds(created_at, delivered_at))
    ordered = sorted(channels.values(), key=lambda c: (-c.deliveries, c.channel))
    return DeliveryReport(tenant_id, period, period.first_day, period.last_day, ordered)
