"""Local-time schedules: a time zone by name, weekdays, and the cut-offs at which a batch closes.

A print house's batches and a tenant's AvtaleGiro claim files both close "at set times of day, on
working days, in the other side's time zone", and a tenant's sending window opens on weekdays in a time
zone too, so the fields, their checks and the search for the next cut-off live here once.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BaseModel, ConfigDict, Field


def _known_zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {value!r}") from None
    return value


#: An IANA time zone name this machine knows (e.g. Europe/Oslo).
TimeZoneName = Annotated[str, AfterValidator(_known_zone)]
#: A day of the week; 0 = Monday.
Weekday = Annotated[int, Field(ge=0, le=6)]


class CutoffSchedule(BaseModel):
    """Local cut-off times on weekdays: a batch collects until the next one, then closes.

    Subclasses name what closes (a print batch, a claim file), set their own default cut-offs and say
    in their own words that a schedule needs at least one cut-off and one weekday.
    """

    model_config = ConfigDict(extra="forbid")

    cutoffs: list[dt.time] = Field(
        default_factory=lambda: [dt.time(15, 0)], description="local times the day's batch closes"
    )
    timezone: TimeZoneName = "Europe/Oslo"
    weekdays: list[Weekday] = Field(
        default_factory=lambda: [0, 1, 2, 3, 4], description="days a batch closes; 0 = Monday"
    )

    def next_cutoff(self, at: dt.datetime) -> dt.datetime:
        """The first cut-off strictly after `at` (UTC): the batch a document staged at `at` joins."""
        zone = ZoneInfo(self.timezone)
        local = at.astimezone(zone)
        for offset in range(8):
            day = local.date() + dt.timedelta(days=offset)
            if day.weekday() not in self.weekdays:
                continue
            for cutoff in sorted(self.cutoffs):
                moment = dt.datetime.combine(day, cutoff, tzinfo=zone)
                if moment > local:
                    return moment.astimezone(dt.UTC)
        raise AssertionError("a schedule with a weekday and a cut-off closes within a week")
