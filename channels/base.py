"""The channel adapter interface: one method, `send(delivery) -> DeliveryResult`.

The base class owns what every channel needs the same way (in the manner of Apprise's plugin base): the
size limit, turning an unexpected exception into a retry, and keeping secrets out of every reason and log
line. A channel module only knows its own protocol.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, ClassVar, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, SecretBytes, SecretStr

from mappings.base import RenderedDocument
from outbox.retry import RetryPolicy
from schemas.canonical import Invoice

log = logging.getLogger("gateway.channels")


@dataclass(frozen=True)
class Delivered:
    """The receiver has the document (the channel's own protocol confirms it)."""

    message_id: str | None = None
    detail: str | None = None


@dataclass(frozen=True)
class Sent:
    """Handed over (to an MTA, an access point, a print house); delivery is confirmed later, if at all."""

    message_id: str | None = None
    detail: str | None = None


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


DeliveryResult = Delivered | Sent | Retry | Failed


@dataclass(frozen=True)
class OutboundDelivery:
    """Everything a channel needs to send one attempt of one delivery."""

    delivery_id: str
    invoice_id: str
    tenant_id: str
    attempt: int
    address: str | None
    document: RenderedDocument
    invoice: Invoice
    attachments: tuple[RenderedDocument, ...] = ()

    @property
    def idempotency_key(self) -> str:
        """Same for every try of one attempt: a channel uses it so a re-sent try is not a second copy."""
        return f"{self.delivery_id}-{self.attempt}"


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

    @property
    def retry_policy(self) -> RetryPolicy:
        return self.config.retry.policy()

    @abstractmethod
    def send(self, delivery: OutboundDelivery) -> DeliveryResult:
        """Send one try of `delivery`; return the outcome, raise only for the unexpected."""

    def deliver(self, delivery: OutboundDelivery) -> DeliveryResult:
        """`send` with the common guards: size limit, exceptions as retries, secrets masked."""
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
        try:
            result = self.send(delivery)
        except Exception as error:
            log.warning(
                "%s: unexpected error sending %s: %s", self.name, delivery.delivery_id, self.mask(repr(error))
            )
            return Retry(reason=self.mask(f"unexpected error: {error!r}"))
        return self._masked(result)

    def mask(self, text: str) -> str:
        """`text` with every configured secret replaced, for reasons, events and logs."""
        for secret in self._secrets:
            text = text.replace(secret, "********")
        return text

    def _masked(self, result: DeliveryResult) -> DeliveryResult:
        if isinstance(result, Retry):
            return Retry(reason=self.mask(result.reason), after=result.after)
        if isinstance(result, Failed):
            return Failed(reason=self.mask(result.reason), deviation=result.deviation)
        return result

    def attachment_formats(self) -> tuple[str, ...]:
        """Formats to render besides the main one for this channel's deliveries (configurable per channel)."""
        return self.capabilities.attachment_formats

    def close(self) -> None:
        """Release connections; the worker calls it on shutdown."""
