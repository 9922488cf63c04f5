"""Moments given from outside (a query's `since`, a search's "changed since"): read one way everywhere.

A date-time that names no offset is UTC, and a date alone is its midnight, UTC: the API has always
answered in UTC, and a client asking for "since 2026-01-01" means the day as the answers show it. A
moment that names an offset is turned into UTC; one that falls outside the years 1–9999 once it is
(`0001-01-01T00:00:00+14:00`, `9999-12-31T23:59:59-23:59`) cannot be held by Python or compared in the
database, and is refused as a value error (a 422 naming the parameter), never an OverflowError.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import AfterValidator

#: What an API description says about such a value.
UTC_MOMENT_WORDS = (
    "a date-time (RFC 3339) or a date; without an offset it is read as UTC (a date: its midnight, UTC); "
    "it must lie within the years 1 to 9999 in UTC"
)


def as_utc(value: dt.datetime) -> dt.datetime:
    """`value` in UTC (naive: taken as UTC); ValueError when it is outside the years 1–9999 in UTC."""
    if value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    try:
        return value.astimezone(dt.UTC)
    except OverflowError:
        raise ValueError("outside the years 1 to 9999 once turned into UTC") from None


#: A moment from outside as an aware UTC date-time (see the module's docstring).
UtcMoment = Annotated[dt.datetime, AfterValidator(as_utc)]
