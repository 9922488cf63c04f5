"""Per-tenant delivery settings: sending windows and "hold for review".

Finance teams often want invoices to go out at a set time of day, after a person has looked at them. A
sending window delays a delivery until the window opens (in the tenant's time zone, on the given
weekdays); hold-for-review parks new deliveries as `held` until someone releases them.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from schemas.branding import PdfTemplate
from schemas.followup import FollowUpSettings
from schemas.kid import KidAgreement
from schemas.ledger import LedgerSettings
from schemas.matching import MatchingPolicy
from schemas.schedule import TimeZoneName, Weekday


class SendWindow(BaseModel):
    """Deliveries on these channels leave only between `start` and `end`, local time, on `weekdays`."""

    model_config = ConfigDict(extra="forbid")

    start: dt.time = Field(description="local time the window opens, e.g. 08:00")
    end: dt.time = Field(description="local time the window closes, e.g. 16:00")
    timezone: TimeZoneName = "Europe/Oslo"
    weekdays: list[Weekday] = Field(default_factory=lambda: [0, 1, 2, 3, 4], description="0 = Monday")

    @model_validator(mode="after")
    def _ordered(self) -> SendWindow:
        if self.end <= self.start:
            raise ValueError("the window must end after it starts (same day)")
        if not self.weekdays:
            raise ValueError("a window needs at least one weekday")
        return self

    def next_open(self, at: dt.datetime) -> dt.datetime:
        """`at` itself when inside the window, else the moment the window next opens (UTC)."""
        zone = ZoneInfo(self.timezone)
        local = at.astimezone(zone)
        for offset in range(8):
            day = local.date() + dt.timedelta(days=offset)
            if day.weekday() not in self.weekdays:
                continue
            opens = dt.datetime.combine(day, self.start, tzinfo=zone)
            closes = dt.datetime.combine(day, self.end, tzinfo=zone)
            if local < opens:
                return opens.astimezone(dt.UTC)
            if local < closes:
                return at
        raise AssertionError("a window with a weekday opens within a week")  # pragma: no cover


class TenantSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    hold_for_review: bool = False
    hold_channels: list[str] | None = Field(None, description="channels held for review; None = all")
    send_window: SendWindow | None = None
    window_channels: list[str] | None = Field(None, description="channels the window applies to; None = all")
    pdf_template: PdfTemplate | None = Field(None, description="branding of the tenant's PDF invoices")
    print_profile: str | None = Field(
        None, description="the print channel's profile for this tenant's paper invoices; None = 'default'"
    )
    kid: KidAgreement | None = Field(
        None, description="the payee's KID agreement: KIDs are checked by it, and generated when it says so"
    )
    matching: MatchingPolicy = Field(
        default_factory=MatchingPolicy, description="when payments may be applied without a person"
    )
    consumer_waterfall: list[Annotated[str, Field(min_length=1, max_length=50)]] = Field(
        default_factory=list,
        description="the channels a consumer's invoices try in turn (e.g. efaktura, digipost, print) "
        "when its receiver profile names no chain of its own; empty = the default channel",
    )
    follow_up: FollowUpSettings = Field(
        default_factory=FollowUpSettings,
        description="receivables follow-up: dunning strategies per segment, the dated fee and interest "
        "rules, the small-amount threshold, what a credit limit does",
    )
    ledger: LedgerSettings = Field(
        default_factory=LedgerSettings,
        description="the ledger hand-off: chart of accounts with SAF-T grouping codes, posting roles, VAT "
        "category → standard tax code, accounting currency and exchange rates, the SAF-T company header",
    )

    @field_validator("consumer_waterfall")
    @classmethod
    def _waterfall_without_repeats(cls, value: list[str]) -> list[str]:
        """A channel twice in the waterfall would send the same invoice twice the same way."""
        repeated = sorted({name for name in value if value.count(name) > 1})
        if repeated:
            raise ValueError(f"a channel appears more than once: {', '.join(repeated)}")
        return value

    def render_options(self, format_name: str) -> PdfTemplate | None:
        """What the renderer of `format_name` takes from these settings (None: its defaults)."""
        return self.pdf_template if format_name in {"pdf", "factur-x"} else None  # Factur-X is our PDF too

    def holds(self, channel: str) -> bool:
        return self.hold_for_review and (self.hold_channels is None or channel in self.hold_channels)

    def due_at(self, channel: str, at: dt.datetime) -> dt.datetime:
        """When a delivery on `channel` that is ready at `at` may be sent."""
        if self.send_window is None:
            return at
        if self.window_channels is not None and channel not in self.window_channels:
            return at
        return self.send_window.next_open(at)
