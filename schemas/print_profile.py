"""A print house's profile: when a tenant's paper invoices are batched, and what the batch looks like.

Print houses print "at a set time of day": the gateway collects the paper deliveries per tenant and
profile until a cut-off, then uploads them as one batch (PDFs plus an index file). Each print house wants
its own shape (one PDF per document or one merged PDF, a CSV or XML index, PGP or not), so the shape is
configuration, not code.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pycountry
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator


class PrintProfile(BaseModel):
    """One print-house profile (a channel configuration may hold several, chosen per tenant)."""

    model_config = ConfigDict(extra="forbid")

    cutoffs: list[dt.time] = Field(
        default_factory=lambda: [dt.time(15, 0)], description="local times the day's batch closes"
    )
    timezone: str = "Europe/Oslo"
    weekdays: list[Annotated[int, Field(ge=0, le=6)]] = Field(
        default_factory=lambda: [0, 1, 2, 3, 4], description="days a batch closes; 0 = Monday"
    )
    layout: Literal["per-document", "merged"] = Field(
        "per-document", description="one PDF per invoice, or one merged PDF for the whole batch"
    )
    index_format: Literal["csv", "xml"] = "csv"
    packaging: Literal["directory", "zip"] = Field(
        "directory", description="the batch as a directory of files, or as one ZIP file"
    )
    duplex: bool = True
    colour: bool = False
    post_class: Literal["A", "B"] = Field("B", description="post class for domestic letters")
    international_post_class: Literal["A", "B"] = "A"
    home_country: str = Field("NO", description="ISO 3166-1 alpha-2: letters elsewhere are international")
    envelope: str = Field("C5", description="envelope for letters up to `large_envelope_from_sheets` - 1")
    large_envelope: str = "C4"
    large_envelope_from_sheets: int = Field(6, ge=1)
    max_pages: int = Field(20, ge=1, le=1000, description="a longer document goes to deviation")
    pgp_public_key: str | None = Field(
        None, description="ASCII-armoured OpenPGP public key: when set, every batch file is encrypted to it"
    )

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}") from None
        return value

    @field_validator("home_country")
    @classmethod
    def _country(cls, value: str) -> str:
        if pycountry.countries.get(alpha_2=value.upper()) is None:
            raise ValueError(f"{value!r} is not an ISO 3166-1 alpha-2 country code")
        return value.upper()

    @model_validator(mode="after")
    def _schedule(self) -> PrintProfile:
        if not self.cutoffs:
            raise ValueError("a print profile needs at least one cut-off time")
        if not self.weekdays:
            raise ValueError("a print profile needs at least one weekday")
        return self

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
        raise AssertionError("a profile with a weekday and a cut-off closes within a week")

    def local_label(self, cutoff: dt.datetime) -> str:
        """The cut-off as the print house's local `YYYYMMDD-HHMM`, for batch ids and file names."""
        return cutoff.astimezone(ZoneInfo(self.timezone)).strftime("%Y%m%d-%H%M")
