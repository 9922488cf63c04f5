"""The channel adapter interface: one method, `send(delivery) -> DeliveryResult`.

The base class owns what every channel needs the same way (in the manner of Apprise's plugin base): the
size limit, turning an unexpected exception into a retry, and keeping secrets out of every reason and log
line. A channel module only knows its own protocol.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, ClassVar, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, SecretBytes, SecretStr

from channels.context import (
    ChannelNeed,
    ClaimCancellation,
    DocumentKind,
    EfakturaAnswer,
    MandateAnswer,
    ParticipantAnswer,
    PartnerInterchange,
    ReceiverIdentity,
    TransmissionNumbers,
)
from mappings.base import RenderedDocument
from outbox.retry import RetryPolicy
from schemas.canonical import Invoice
from schemas.followup import ReminderDocument
from schemas.national_id import mask_national_ids
from schemas.tenant import TenantSettings
from transports.files import WriteGroup

log = logging.getLogger("gateway.channels")


@dataclass(frozen=True)
class Delivered:
    """The receiver has the document (the channel's own protocol confirms it)."""

    message_id: str | None = None
    detail: str | None = None
    #: where the document was put (a path, an sftp:// URL), when the channel can say
    where: str | None = None


@dataclass(frozen=True)
class Sent:
    """Handed over (to an MTA, an access point, a print house); delivery is confirmed later, if at all."""

    message_id: str | None = None
    detail: str | None = None
    #: where the document was put (a path, an sftp:// URL), when the channel can say
    where: str | None = None


@dataclass(frozen=True)
class Retry:
    """A transient failure: try again, after `after` seconds if the receiver said so."""

    reason: str
    after: float | None = None


@dataclass(frozen=True)
class Failed:
    """A permanent failure: trying again will not help. `deviation` asks a person to fix something."""

    reason: str
    deviation: bool = False


@dataclass(frozen=True)
class Staged:
    """Checked and accepted into a batching channel's next batch, which closes at `due_at`.

    `batch_key` groups a tenant's documents into one batch (the print profile); `meta` is what the
    channel needs about the document when it builds the batch (recipient, pages, …), as JSON.
    """

    batch_key: str
    due_at: dt.datetime
    meta: dict[str, Any] = field(default_factory=dict)
    detail: str | None = None


DeliveryResult = Delivered | Sent | Retry | Failed | Staged
BatchResult = Sent | Retry | Failed


@dataclass(frozen=True)
class OutboundDelivery:
    """Everything a channel needs to send one attempt of one delivery; the channel opens no database.

    What a channel declares in `ChannelCapabilities.needs` comes prepared by the gateway: `edi` (the
    partner's numbered interchange), `participant` (the receiver's PEPPOL capabilities) and `mandate` (the
    payer's AvtaleGiro mandate). A delivery that
    carries another document than an invoice (`document_kind`, e.g. an EDI acknowledgement of ours) has no
    `invoice` and no `invoice_id`; only channels that list its kind in `ChannelCapabilities.documents` get it.
    """

    delivery_id: str
    invoice_id: str | None
    tenant_id: str
    attempt: int
    address: str | None
    document: RenderedDocument
    invoice: Invoice | None
    attachments: tuple[RenderedDocument, ...] = ()
    #: the tenant's settings, for channels with per-tenant choices (the print profile)
    tenant_settings: TenantSettings | None = None
    document_kind: DocumentKind = DocumentKind.INVOICE
    #: `ChannelNeed.EDI_INTERCHANGE`: the trading partner and this attempt's interchange
    edi: PartnerInterchange | None = None
    #: `ChannelNeed.PEPPOL_PARTICIPANT`: what the participant registry says about the receiver
    participant: ParticipantAnswer | None = None
    #: `ChannelNeed.RECEIVER_IDENTITY`: the receiver profile's identity (a consumer's national id)
    receiver: ReceiverIdentity | None = None
    #: `ChannelNeed.EFAKTURA_RECIPIENT`: what the eFaktura recipient lookup says about the consumer
    efaktura: EfakturaAnswer | None = None
    #: `ChannelNeed.AVTALEGIRO_MANDATE`: the payer's AvtaleGiro mandate for the invoice's KID
    mandate: MandateAnswer | None = None
    #: a follow-up notice (`DocumentKind.REMINDER`): what it says, so a channel names it as a reminder and
    #: not as the invoice; `invoice` is then the first reminded invoice (parties, routing, address)
    notice: ReminderDocument | None = None
    #: the customer portal's "view online / pay" link for what the delivery carries (the invoice's signed
    #: link; for a notice about several invoices, the portal's sign-in page), made by the gateway when the
    #: portal has a public address and the invoice names a receiver; the rendered PDF prints it already,
    #: a channel that writes its own text (the e-mail body) says it there
    portal_link: str | None = None
    #: a channel with `ChannelCapabilities.writes_in_groups` writes its files through this group (the
    #: worker's claim batch) and answers `Delivered` meaning "delivered once the group settles"; None: it
    #: writes and flushes on its own, as every other caller expects
    write_group: WriteGroup | None = None

    @property
    def idempotency_key(self) -> str:
        """Same for every try of one attempt: a channel uses it so a re-sent try is not a second copy."""
        return f"{self.delivery_id}-{self.attempt}"

    def the_invoice(self) -> Invoice:
        """The invoice, for channels that send only invoices (`deliver` keeps other documents from them)."""
        if self.invoice is None:
            raise TypeError(f"delivery {self.delivery_id} carries {self.document_kind.value}, not an invoice")
        return self.invoice


@dataclass(frozen=True)
class BatchEntry:
    """One staged document in a closed batch, exactly as it was checked when it was staged."""

    delivery_id: str
    #: None for a document that is no invoice (a follow-up notice; `meta["document_kind"]` says which)
    invoice_id: str | None
    attempt: int
    sequence: int
    document: RenderedDocument
    meta: dict[str, Any]


@dataclass(frozen=True)
class OutboundBatch:
    """A closed batch: the same id and members on every try, so a retried hand-over is not a second one."""

    batch_id: str
    tenant_id: str
    channel: str
    batch_key: str
    cutoff_at: dt.datetime
    try_number: int
    entries: tuple[BatchEntry, ...]
    #: AvtaleGiro claims withdrawn since the last file, fixed into this batch when it closed
    cancellations: tuple[ClaimCancellation, ...] = ()
    #: `ChannelNeed.AVTALEGIRO_TRANSMISSION`: the claim file's counted numbers, fixed for this batch
    transmission: TransmissionNumbers | None = None


@dataclass(frozen=True)
class ChannelCapabilities:
    """What a channel can do, as data the router and the CLI can read."""

    formats: tuple[str, ...]
    default_format: str
    needs_address: bool = False
    confirms_delivery: bool = False
    description: str = ""
    #: formats rendered besides the main document and handed over as attachments (e.g. EHF with a PDF)
    attachment_formats: tuple[str, ...] = ()
    #: formats rendered and embedded in the main document as BG-24 attachments (eFaktura: the invoice PDF
    #: inside the EHF), before the main document is validated
    embedded_formats: tuple[str, ...] = ()
    #: documents are staged and handed over in batches at cut-off times (`BatchingChannel`)
    batched: bool = False
    #: what the gateway must prepare before each send (`channels.context`): the channel opens no database
    needs: tuple[ChannelNeed, ...] = ()
    #: the kinds of document it sends; a delivery of another kind is refused as a deviation
    documents: tuple[DocumentKind, ...] = (DocumentKind.INVOICE,)
    #: the document says when the payer has an active AvtaleGiro mandate for the invoice's KID (eFaktura
    #: with AvtaleGiro): the gateway marks the invoice from the mandates Nets reported before it renders
    marks_avtalegiro: bool = False
    #: it writes local files and can hand them to a `transports.files.WriteGroup` (`OutboundDelivery.
    #: write_group`) instead of flushing each one: the worker then flushes a claim batch's files at once
    #: and records their outcomes after that; its `send` is synchronous (no `sending` worth observing)
    writes_in_groups: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


class RetryPolicyConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    base_seconds: float = Field(30.0, gt=0)
    factor: float = Field(2.0, ge=1)
    max_delay_seconds: float = Field(6 * 3600.0, gt=0)
    max_tries: int = Field(8, ge=1)
    jitter: bool = True

    def policy(self) -> RetryPolicy:
        return RetryPolicy(**self.model_dump())


class ChannelConfig(BaseModel):
    """Settings every channel has; a channel's own config model extends it. Secrets are `SecretStr`."""

    model_config = ConfigDict(extra="forbid")

    timeout_seconds: float = Field(30.0, gt=0, le=3600)
    max_document_bytes: int = Field(50_000_000, gt=0)
    retry: RetryPolicyConfig = Field(default_factory=RetryPolicyConfig)


ConfigT = TypeVar("ConfigT", bound=ChannelConfig)


def secret_values(model: BaseModel) -> list[str]:
    """Every secret in a config model, nested models included, so it can be masked wherever it shows."""
    found: list[str] = []
    for name in type(model).model_fields:
        value = getattr(model, name)
        if isinstance(value, SecretStr):
            found.append(value.get_secret_value())
        elif isinstance(value, SecretBytes):
            found.append(value.get_secret_value().decode(errors="replace"))
        elif isinstance(value, BaseModel):
            found.extend(secret_values(value))
    return [secret for secret in found if secret]


#: A line of a multi-line secret this long is masked on its own too (a PEM key printed in part).
_SECRET_LINE = 16


def secret_forms(secret: str) -> list[str]:
    """Every way `secret` shows in a text, longest first: as it is, escaped as in a `repr` (an exception's
    repr quotes its message: a private key's newlines become `\\n`) or a JSON string, and each long line of
    a multi-line secret (a PEM key) on its own."""
    forms = {secret, repr(secret)[1:-1], json.dumps(secret)[1:-1]}
    forms.update(line.strip() for line in secret.splitlines() if len(line.strip()) >= _SECRET_LINE)
    return sorted((form for form in forms if form), key=len, reverse=True)


def mask_secrets(text: str, secrets: list[str]) -> str:
    """`text` with every form of every secret (`secret_forms`) replaced by `********`."""
    for secret in secrets:
        for form in secret_forms(secret):
            text = text.replace(form, "********")
    return text


class Channel(ABC, Generic[ConfigT]):
    """A delivery channel. Subclasses set `name`, `config_model`, `capabilities` and implement `send`.

    `send` must be idempotent per `delivery.idempotency_key`: after a crash the same try is sent again,
    and the receiver must not end up with two copies where the protocol allows avoiding it.
    """

    name: ClassVar[str]
    config_model: ClassVar[type[ChannelConfig]]
    capabilities: ClassVar[ChannelCapabilities]

    def __init__(self, config: ConfigT) -> None:
        self.config = config
        self._secrets = secret_values(config)

    @classmethod
    def local_check(cls, config: ChannelConfig) -> str | None:
        """What can be checked of `config` on this machine without sending anything (a key file that opens,
        a certificate still valid), for `gateway check`: a line saying what was found, or None when there is
        nothing to check. Raises `ValueError` with the reason when these settings cannot work."""
        return None

    @property
    def retry_policy(self) -> RetryPolicy:
        return self.config.retry.policy()

    @abstractmethod
    def send(self, delivery: OutboundDelivery) -> DeliveryResult:
        """Send one try of `delivery`; return the outcome, raise only for the unexpected."""

    def refusal(self, delivery: OutboundDelivery) -> Failed | None:
        """Why this channel will not take `delivery` at all (size, address, kind); None when it will.

        The gateway asks before it prepares what the channel needs, so a refused delivery spends nothing
        (no EDI control number)."""
        size = len(delivery.document.content)
        if size > self.config.max_document_bytes:
            return Failed(
                f"document is {size} bytes; {self.name} takes at most {self.config.max_document_bytes}",
                deviation=True,
            )
        if self.capabilities.needs_address and not delivery.address:
            return Failed(
                f"channel {self.name} needs a receiver address and the delivery has none", deviation=True
            )
        if delivery.document_kind not in self.capabilities.documents:
            return Failed(
                f"channel {self.name} does not send {delivery.document_kind} documents", deviation=True
            )
        return None

    def deliver(self, delivery: OutboundDelivery) -> DeliveryResult:
        """`send` with the common guards: size limit, exceptions as retries, secrets masked."""
        refused = self.refusal(delivery)
        if refused is not None:
            return refused
        try:
            result = self.send(delivery)
        except Exception as error:
            log.warning(
                "%s: unexpected error sending %s: %s", self.name, delivery.delivery_id, self.mask(repr(error))
            )
            return Retry(reason=self.mask(f"unexpected error: {error!r}"))
        return self._masked(result)

    def mask(self, text: str) -> str:
        """`text` with every configured secret replaced (in every form it may take), for reasons, events
        and logs; and every national identity number masked, since a reason is shown to people and sent in
        webhooks (a consumer channel that names its recipient in a reason leaks nothing)."""
        return mask_national_ids(mask_secrets(text, self._secrets))

    def _masked(self, result: DeliveryResult) -> DeliveryResult:
        if isinstance(result, Retry):
            return Retry(reason=self.mask(result.reason), after=result.after)
        if isinstance(result, Failed):
            return Failed(reason=self.mask(result.reason), deviation=result.deviation)
        if isinstance(result, Staged) and result.detail:
            return Staged(result.batch_key, result.due_at, result.meta, self.mask(result.detail))
        return result

    def attachment_formats(self) -> tuple[str, ...]:
        """Formats to render besides the main one for this channel's deliveries (configurable per channel)."""
        return self.capabilities.attachment_formats

    def close(self) -> None:
        """Release connections; the worker calls it on shutdown."""


class BatchingChannel(Channel[ConfigT]):
    """A channel that hands documents over in batches at cut-off times (a print house's daily run).

    Per delivery, `stage` does the document's own checks and answers `Staged` (or `Failed` for a
    document that cannot go, which then does not hold up the rest of the batch). When a batch closes, the
    worker calls `send_batch` with every staged document, as often as it takes: the implementation must
    make a repeated hand-over of the same `batch_id` a no-op once one has been committed.
    """

    @abstractmethod
    def stage(self, delivery: OutboundDelivery) -> Staged | Failed | Retry:
        """Check one document and say which batch it joins."""

    def send(self, delivery: OutboundDelivery) -> DeliveryResult:
        return self.stage(delivery)

    @abstractmethod
    def send_batch(self, batch: OutboundBatch) -> BatchResult:
        """Hand over one closed batch; idempotent per `batch.batch_id`."""

    def deliver_batch(self, batch: OutboundBatch) -> BatchResult:
        """`send_batch` with the common guards: exceptions become retries, secrets are masked."""
        try:
            result = self.send_batch(batch)
        except Exception as error:
            log.warning(
                "%s: unexpected error sending batch %s: %s", self.name, batch.batch_id, self.mask(repr(error))
            )
            return Retry(reason=self.mask(f"unexpected error: {error!r}"))
        masked = self._masked(result)
        if isinstance(masked, Delivered | Staged):  # not a batch outcome; a channel bug, said plainly
            return Failed(f"{self.name}: send_batch answered {type(masked).__name__}", deviation=True)
        return masked
