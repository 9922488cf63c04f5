"""The envelope of one outgoing EDI interchange: who sends to whom, under which control numbers.

Message mappings (INVOIC, 810, acknowledgements) take one of these and wrap their message in it; the EDI
channel fills it from the trading partner's profile and the control numbers the outbox allocated for
the delivery attempt, so a retried try writes the same interchange again. `gateway render` uses
`EdiEnvelope.preview(...)` (test indicator set, control number 1).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class EdiEnvelope:
    """Interchange, group and message envelope values for EDIFACT (UNB/UNG/UNH) and X12 (ISA/GS/ST).

    Identifiers carry their qualifiers: EDIFACT UNB 0007 ("14" = GLN, "ZZZ" = mutually defined, "30" =
    VAT number…), X12 ISA05/ISA07 ("01" = DUNS, "ZZ" = mutually defined, "12" = phone…).
    """

    sender_id: str
    sender_qualifier: str
    recipient_id: str
    recipient_qualifier: str
    interchange_ref: str
    message_ref: str
    prepared: dt.datetime
    group_ref: str | None = None
    test: bool = False
    ack_requested: bool = False
    # EDIFACT
    syntax_id: Literal["UNOA", "UNOB", "UNOC", "UNOW", "UNOY"] = "UNOC"
    syntax_version: Literal[3, 4] = 3
    service_characters: str | None = None  # the six UNA characters, None = the defaults
    application_ref: str = ""
    use_groups: bool = False  # UNG…UNE around the message
    group_sender_id: str | None = None  # UNG / GS02 application sender (defaults to sender_id)
    group_recipient_id: str | None = None  # UNG / GS03 application receiver (defaults to recipient_id)
    # X12
    x12_element_separator: str = "*"
    x12_component_separator: str = ":"
    x12_segment_terminator: str = "~"
    x12_repetition_separator: str = "^"
    newline: Literal["", "\n", "\r\n"] = ""

    @classmethod
    def preview(
        cls,
        sender_id: str,
        recipient_id: str,
        *,
        sender_qualifier: str = "14",
        recipient_qualifier: str = "14",
        prepared: dt.datetime | None = None,
    ) -> EdiEnvelope:
        """A dry run's envelope: control numbers 1, the test indicator set, a newline after each segment."""
        return cls(
            sender_id=sender_id,
            sender_qualifier=sender_qualifier,
            recipient_id=recipient_id,
            recipient_qualifier=recipient_qualifier,
            interchange_ref="1",
            group_ref="1",
            message_ref="1",
            prepared=prepared or dt.datetime.now(dt.UTC).replace(second=0, microsecond=0),
            test=True,
            newline="\n",
        )
