"""A print house's profile: when a tenant's paper invoices are batched, and what the batch looks like.

Print houses print "at a set time of day": the gateway collects the paper deliveries per tenant and
profile until a cut-off, then uploads them as one batch (PDFs plus an index file). Each print house wants
its own shape (one PDF per document or one merged PDF, a CSV or XML index, PGP or not), so the shape is
configuration, not code.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal
from zoneinfo import ZoneInfo

import pycountry
from pydantic import Field, field_validator, model_validator

from schemas.schedule import CutoffSchedule


class PrintProfile(CutoffSchedule):
    """One print-house profile (a channel configuration may hold several, chosen per tenant); its
    cut-off schedule (`cutoffs`, `timezone`, `weekdays`) says when a batch closes."""

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

    def local_label(self, cutoff: dt.datetime) -> str:
        """The cut-off as the print house's local `YYYYMMDD-HHMM`, for batch ids and file names."""
        return cutoff.astimezone(ZoneInfo(self.timezone)).strftime("%Y%m%d-%H%M")
