"""What the gateway looks up or fixes for a channel before a send, handed over with the delivery.

A channel opens no database. One that needs what only the outbox knows declares it in its capabilities
(`ChannelCapabilities.needs`); the gateway prepares it before the send and attaches it to the
`OutboundDelivery` (`gateway.services.outbound.channel_context`), and afterwards records what the channel
reported. The channel then only speaks its protocol:

* `ChannelNeed.EDI_INTERCHANGE` → `OutboundDelivery.edi`: the trading partner's profile and the attempt's
  interchange, numbered and rendered. The numbers are counted once per delivery attempt and the same ones
  come back on every later try of that attempt, so a retried try writes the same interchange again.
* `ChannelNeed.PEPPOL_PARTICIPANT` → `OutboundDelivery.participant`: what the participant registry says
  about the receiver (which document types it takes, or that it is unknown).
* `ChannelNeed.RECEIVER_IDENTITY` → `OutboundDelivery.receiver`: the receiver profile's national identity
  number, read at send time (never copied into the delivery's address, which views and logs show).
* `ChannelNeed.EFAKTURA_RECIPIENT` → `OutboundDelivery.efaktura`: the eFaktura recipient lookup's answer
  about the consumer (found with an eFaktura identifier, not found, or blocked this issuer), refreshed
  before each send.
* `ChannelNeed.AVTALEGIRO_MANDATE` → `OutboundDelivery.mandate`: the payer's AvtaleGiro mandate for the
  invoice's KID, as Nets' agreements files last told the gateway (or that there is none).

* `ChannelNeed.AVTALEGIRO_TRANSMISSION` → `OutboundBatch.transmission`: the numbers a closed batch's claim
  file goes under (`TransmissionNumbers`). Nets refuses a transmission number its data transmitter used
  before, so they are counted per data transmitter, fixed the first time the batch is handed over and the
  same on every later try (also after a crash between the numbering and the hand-over).

A batching channel may also be handed records that are no staged document: `OutboundBatch.cancellations`
are the AvtaleGiro claims a person withdrew (`gateway avtalegiro cancel`), fixed into the batch when it
closes so every try writes the same file.

A delivery may also carry a document that is not an invoice (`DocumentKind`): an EDI acknowledgement we
answer a partner with goes out as a delivery on the `edi` channel, with its own row, retries and events.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum

from mappings.base import RenderedDocument
from schemas.edi_partner import TradingPartner


class ChannelNeed(StrEnum):
    """Something a channel needs the gateway to prepare before each send."""

    EDI_INTERCHANGE = "edi-interchange"
    PEPPOL_PARTICIPANT = "peppol-participant"
    #: who the receiver is beyond the invoice: the receiver profile's national identity number (Digipost)
    RECEIVER_IDENTITY = "receiver-identity"
    EFAKTURA_RECIPIENT = "efaktura-recipient"
    AVTALEGIRO_MANDATE = "avtalegiro-mandate"
    #: per closed batch, not per delivery: the claim file's counted transmission and assignment numbers
    AVTALEGIRO_TRANSMISSION = "avtalegiro-transmission"


class DocumentKind(StrEnum):
    """What a delivery carries."""

    INVOICE = "invoice"
    #: a CONTRL / 997 / 999 / TA1 of ours, answering a partner's interchange
    EDI_ACK = "edi-ack"
    #: a follow-up notice (reminder, debt-collection warning, payment demand) about one or more invoices
    REMINDER = "reminder"


@dataclass(frozen=True)
class PartnerInterchange:
    """One interchange to a trading partner for one delivery attempt, numbered and rendered by the gateway.

    The gateway counts the numbers and renders the interchange in one transaction, so a document that cannot
    be rendered spends no number; a later try of the same attempt gets the same numbers and the same
    `document`, byte for byte.
    """

    partner: TradingPartner
    #: what the interchange carries: INVOIC, 810; CONTRL, 997, 999, TA1 for an acknowledgement of ours
    message_type: str
    interchange_ref: str
    group_ref: str | None
    message_refs: tuple[str, ...]
    #: the interchange as it goes: the partner's format, in the partner's envelope, under these numbers
    document: RenderedDocument
    #: an acknowledgement of ours (CONTRL, 997, 999, TA1) rather than an invoice
    acknowledgement: bool = False


@dataclass(frozen=True)
class ParticipantInfo:
    """What the participant registry says about one PEPPOL participant."""

    participant_id: str
    document_types: tuple[str, ...]
    access_point: str | None = None
    name: str | None = None

    def accepts(self, document_type_id: str, kind: str | None) -> bool:
        """True when it lists the full document type id, or the short name (`invoice`, `credit_note`)."""
        return document_type_id in self.document_types or (kind is not None and kind in self.document_types)


@dataclass(frozen=True)
class ParticipantAnswer:
    """The registry's answer about one receiver: `info` is None when the registry does not know it."""

    participant_id: str
    info: ParticipantInfo | None


@dataclass(frozen=True)
class ReceiverIdentity:
    """Who the receiver is, from its receiver profile, for channels that address people (Digipost).

    The national identity number stays out of `repr` (a logged delivery must not show it)."""

    receiver_id: str | None
    national_id: str | None = field(default=None, repr=False)


class EfakturaStatus(StrEnum):
    """What an eFaktura recipient search says about one consumer and this issuer."""

    #: the consumer has an eFaktura identifier and takes eFaktura from this issuer
    FOUND = "found"
    #: no consent (no eFaktura identifier) for that national identity number or name and address
    NOT_FOUND = "not-found"
    #: the consumer has eFaktura but has blocked this issuer
    BLOCKED = "blocked"


@dataclass(frozen=True)
class EfakturaAnswer:
    """The recipient lookup's answer about one consumer, looked up by the gateway before the send.

    `looked_up_by` names the key without its value ("national identity number ******* 1234" or "name and
    address"): a national identity number is never carried here in full, so it cannot reach a reason or
    a log line. `efaktura_id` is set only when `status` is FOUND.
    """

    status: EfakturaStatus
    looked_up_by: str
    efaktura_id: str | None = None
    #: where the answer came from: "http" (the provider's search, just now) or "registry" (imported)
    source: str = "registry"


@dataclass(frozen=True)
class MandateInfo:
    """One payer's AvtaleGiro mandate as Nets' agreements files last described it."""

    kid: str
    #: "active" or "deleted"
    status: str
    #: the payer wants the bank to notify them of each claim (the claim then carries the notice text)
    notify: bool
    updated_at: dt.datetime
    #: the agreements file the latest change came from
    source_file: str | None = None

    @property
    def active(self) -> bool:
        return self.status == "active"


@dataclass(frozen=True)
class MandateAnswer:
    """The gateway's answer about the mandate for the invoice's `kid`: `mandate` is None when there is none
    (and `kid` None when the invoice carries no KID to look up)."""

    kid: str | None
    mandate: MandateInfo | None


@dataclass(frozen=True)
class ClaimCancellation:
    """An AvtaleGiro claim handed over earlier and now withdrawn: a copy of the claim as it went (Nets
    matches a cancellation on KID, due date and amount), with the delivery it belongs to."""

    cancellation_id: str
    delivery_id: str
    invoice_id: str
    kid: str
    due_date: dt.date
    amount: Decimal
    reference: str | None = None
    payer_name: str | None = None


@dataclass(frozen=True)
class TransmissionNumbers:
    """The numbers of one claim file, counted by the gateway for one closed batch (7 digits each).

    `claims_assignment` is None when the batch carries only cancellations, `cancellations_assignment` when
    it withdraws nothing; the gateway counts only the assignments the batch's file holds.
    """

    data_transmitter: str
    transmission: str
    claims_assignment: str | None = None
    cancellations_assignment: str | None = None


__all__ = [
    "ChannelNeed",
    "ClaimCancellation",
    "DocumentKind",
    "EfakturaAnswer",
    "EfakturaStatus",
    "MandateAnswer",
    "MandateInfo",
    "ParticipantAnswer",
    "ParticipantInfo",
    "PartnerInterchange",
    "ReceiverIdentity",
    "TransmissionNumbers",
]
