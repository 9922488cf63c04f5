"""Print profiles: the cut-off schedule (time zone, weekdays, several cut-offs a day) and validation."""

from __future__ import annotations

import datetime as dt

import pytest
from pydantic import ValidationError

from schemas.print_profile import PrintProfile

UTC = dt.UTC


def _utc(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        # Tuesday 2026-11-24, Oslo is UTC+1 in winter: 15:00 local is 14:00 UTC
        (_utc(2026, 11, 24, 9, 0), _utc(2026, 11, 24, 14, 0)),
        (_utc(2026, 11, 24, 13, 59, 59), _utc(2026, 11, 24, 14, 0)),
        # exactly at the cut-off the batch has closed: the next working day's
        (_utc(2026, 11, 24, 14, 0), _utc(2026, 11, 25, 14, 0)),
        # Friday after the cut-off → Monday
        (_utc(2026, 11, 27, 16, 0), _utc(2026, 11, 30, 14, 0)),
        # Saturday → Monday
        (_utc(2026, 11, 28, 10, 0), _utc(2026, 11, 30, 14, 0)),
        # summer time: 15:00 local is 13:00 UTC
        (_utc(2026, 6, 16, 8, 0), _utc(2026, 6, 16, 13, 0)),
    ],
)
def test_next_cutoff_in_the_print_houses_time_zone(now: dt.datetime, expected: dt.datetime) -> None:
    assert PrintProfile().next_cutoff(now) == expected


def test_several_cutoffs_a_day_and_weekend_runs() -> None:
    profile = PrintProfile(cutoffs=[dt.time(13, 0), dt.time(9, 0)], weekdays=[5], timezone="UTC")
    assert profile.next_cutoff(_utc(2026, 11, 24, 10, 0)) == _utc(2026, 11, 28, 9, 0)
    assert profile.next_cutoff(_utc(2026, 11, 28, 9, 30)) == _utc(2026, 11, 28, 13, 0)
    assert profile.next_cutoff(_utc(2026, 11, 28, 13, 0)) == _utc(2026, 12, 5, 9, 0)


def test_local_label_names_the_cutoff_as_the_print_house_sees_it() -> None:
    assert PrintProfile().local_label(_utc(2026, 11, 24, 14, 0)) == "20261124-1500"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"timezone": "Europe/Atlantis"}, "unknown time zone"),
        ({"home_country": "XX"}, "alpha-2"),
        ({"cutoffs": []}, "cut-off"),
        ({"weekdays": []}, "weekday"),
        ({"weekdays": [7]}, "less than or equal to 6"),
        ({"layout": "booklet"}, "per-document"),
        ({"max_pages": 0}, "greater than or equal to 1"),
        ({"colour_mode": "cmyk"}, "Extra inputs"),
    ],
)
def test_bad_profiles_are_refused_naming_the_field(changes: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        PrintProfile.model_validate(changes)
