"""The periods reports are asked for: a calendar month written `YYYY-MM`.

Days and months are calendar days in UTC, the zone every stored moment is in: an allocation made at
23:30 UTC on 31 October counts in October. A report of the current month covers the month up to today.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass

#: The years a report may ask about: far beyond any real books, safely inside what dates can hold.
EARLIEST_YEAR, LATEST_YEAR = 2000, 2999
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


class ReportRefused(ValueError):
    """A report's parameter cannot be used; `field` names it (API 422, CLI exit 2)."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


@dataclass(frozen=True, order=True)
class Month:
    """One calendar month."""

    year: int
    month: int

    @classmethod
    def parse(cls, text: str, field: str = "period") -> Month:
        """`2026-11` → Month(2026, 11); anything else is refused naming `field`."""
        found = _MONTH.match(text.strip())
        if not found:
            raise ReportRefused(field, f"{text[:20]!r} is not a month; write it as YYYY-MM (e.g. 2026-11)")
        year, month = int(found.group(1)), int(found.group(2))
        if not 1 <= month <= 12:
            raise ReportRefused(field, f"{text[:20]!r}: the month must be 01 to 12")
        if not EARLIEST_YEAR <= year <= LATEST_YEAR:
            raise ReportRefused(field, f"{text[:20]!r}: the year must be {EARLIEST_YEAR} to {LATEST_YEAR}")
        return cls(year, month)

    @classmethod
    def of(cls, day: dt.date) -> Month:
        return cls(day.year, day.month)

    @property
    def first_day(self) -> dt.date:
        return dt.date(self.year, self.month, 1)

    @property
    def last_day(self) -> dt.date:
        return dt.date(self.year, self.month, calendar.monthrange(self.year, self.month)[1])

    def shifted(self, months: int) -> Month:
        """The month `months` later (earlier when negative)."""
        index = self.year * 12 + self.month - 1 + months
        return Month(index // 12, index % 12 + 1)

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"


def check_day(day: dt.date, field: str = "date") -> dt.date:
    """`day`, refused naming `field` when it lies outside the years reports cover."""
    if not EARLIEST_YEAR <= day.year <= LATEST_YEAR:
        raise ReportRefused(field, f"{day.isoformat()}: the year must be {EARLIEST_YEAR} to {LATEST_YEAR}")
    return day


def start_of(day: dt.date) -> dt.datetime:
    """The first moment of `day` (UTC): what was stored before it happened before the day."""
    return dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)


def utc_day(moment: dt.datetime) -> dt.date:
    """The calendar day (UTC) a stored moment falls on."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.UTC)
    return moment.date()
