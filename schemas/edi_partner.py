"""A trading partner's EDI profile: who we are to them, which message and syntax, how files travel.

Every EDI partner agrees its own interchange identifiers and qualifiers, separators, syntax level,
message version and acknowledgement habits; the gateway keeps one profile per partner and tenant and
counts control numbers per partner (`db.models.EdiControlCounter`) so they never repeat.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from schemas.sftp import SftpSettings

EdiMessageFormat = Literal["edifact-d96a", "edifact-d01b", "x12-810", "x12-810-5010"]


class EdiParty(BaseModel):
    """An interchange identifier with its qualifier (EDIFACT UNB 0007, X12 ISA05/ISA07)."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1, max_length=35)
    qualifier: str = Field(min_length=1, max_length=4, description="e.g. 14 (GLN), ZZZ; X12: 01, ZZ, 12")
    application_id: str | None = Field(
        None, max_length=35, description="UNG / GS application sender or receiver code, if it differs"
    )


class EdiTransport(BaseModel):
    """Where the partner's files go and where theirs come from (AS2 is a later step)."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["folder", "sftp"] = "folder"
    directory: str | None = Field(None, description="folder transport: the partner's outbound folder")
    sftp: SftpSettings | None = None
    outgoing: str = Field("out", description="remote folder for our interchanges (sftp)")
    incoming: str = Field("in", description="remote folder for the partner's files to us (sftp)")

    @model_validator(mode="after")
    def _complete(self) -> EdiTransport:
        if self.kind == "sftp" and self.sftp is None:
            raise ValueError("an sftp transport needs its sftp settings")
        if self.kind == "folder" and not self.directory:
            raise ValueError("a folder transport needs a directory")
        return self


class TradingPartner(BaseModel):
    """One partner's profile (stored per tenant in `trading_partners`)."""

    model_config = ConfigDict(extra="forbid")

    partner_id: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9._-]+$")
    name: str | None = Field(None, max_length=200)
    message_format: EdiMessageFormat = "edifact-d96a"
    us: EdiParty = Field(description="our identifier in the partner's interchanges (sender)")
    them: EdiParty = Field(description="the partner's identifier (recipient)")
    syntax_id: Literal["UNOA", "UNOB", "UNOC", "UNOW", "UNOY"] = "UNOC"
    syntax_version: Literal[3, 4] = 3
    service_characters: str | None = Field(
        None, min_length=6, max_length=6, description="the six UNA characters; None = the defaults"
    )
    use_groups: bool = Field(False, description="EDIFACT: wrap messages in UNG…UNE")
    x12_separators: str = Field(
        "*:~^", min_length=4, max_length=4, description="X12 element, component, segment, repetition"
    )
    newline: bool = Field(True, description="a line break after each segment terminator")
    test: bool = Field(False, description="the test indicator (UNB 0035 = 1, ISA15 = T)")
    ack_requested: bool = Field(True, description="ask for CONTRL / 997 (UNB 0031, ISA14)")
    answer_inbound: bool = Field(
        True, description="answer the partner's business files with CONTRL / 997 / 999 (always recorded)"
    )
    functional_ack: Literal["auto", "997", "999"] = Field(
        "auto", description="X12: the functional acknowledgement the partner expects; auto = 999 for 005010X…"
    )
    ack_deadline_hours: float | None = Field(
        24.0, gt=0, description="no acknowledgement within this time → deviation; None = none expected"
    )
    transport: EdiTransport

    @model_validator(mode="after")
    def _consistent(self) -> TradingPartner:
        x12 = self.message_format.startswith("x12")
        if x12:
            if len(set(self.x12_separators[:3])) != 3:
                raise ValueError("x12_separators: element, component and segment separators must differ")
            for party in ("us", "them"):
                value = getattr(self, party)
                if len(value.id) > 15 or len(value.qualifier) != 2:
                    raise ValueError(
                        f"{party}: an X12 id has at most 15 characters and a 2-character qualifier"
                    )
        if self.syntax_id == "UNOA" and not x12:
            for party in ("us", "them"):
                if not re.fullmatch(r"[A-Z0-9 .,\-()/=]*", getattr(self, party).id):
                    raise ValueError(
                        f"{party}.id: UNOA allows only upper case letters, digits and . , - ( ) / ="
                    )
        return self

    @property
    def standard(self) -> Literal["edifact", "x12"]:
        return "x12" if self.message_format.startswith("x12") else "edifact"
