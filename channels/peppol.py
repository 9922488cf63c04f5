"""The PEPPOL channel: EHF / PEPPOL BIS Billing 3 to the receiver's access point, in an SBDH.

The gateway is C1's side: it checks that the receiver can take the document (the answer of a local,
SMP-style registry of participants, which the gateway looks up and hands over with the delivery:
`ChannelNeed.PEPPOL_PARTICIPANT`), wraps the UBL document in the PEPPOL envelope (SBDH) and hands it to an
access point (C2):

- `folder`: an Oxalis-style outbound directory the access point polls; one file per delivery attempt,
  named by the SBDH instance id (the delivery's idempotency key) and written atomically, so a repeated try
  replaces the file instead of adding a second copy.
- `http`: the access point provider's REST API, `POST` of the SBDH with a bearer token and an
  `Idempotency-Key` header (2xx → sent, 4xx → deviation, 5xx / 429 / timeouts → retry honouring
  `Retry-After`).
- `as4`: the gateway is its own access point and pushes to C3 over AS4 (the `as4` package: signed,
  encrypted user message; the signed receipt means sent, an ebMS error a deviation). The `as4` package
  builds the SBDH itself from the same identifiers.

A receiver the registry does not know, or that does not accept the document type, is `Failed` without
deviation, so the worker moves on to the receiver's next channel.

The document type and process ids come from the document itself (its CustomizationID and ProfileID), so an
invoice goes out in its own profile. PEPPOL BIS Self-Billing 3.0 turns the roles round: the buyer issues the
invoice, so the buyer's endpoint sends it and the seller's endpoint receives it (COUNTRY_C1 is the buyer's
country), and a registry's short name for it is `self_billing_invoice` / `self_billing_credit_note` (a
receiver that takes billing invoices does not take self-billed ones by that alone).
"""

from __future__ import annotations

import datetime as dt
import email.utils
import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar, Literal

import httpx
from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

from channels.base import (
    Channel,
    ChannelCapabilities,
    ChannelConfig,
    DeliveryResult,
    Failed,
    OutboundDelivery,
    Retry,
    Sent,
)
from channels.context import ChannelNeed, DocumentKind, ParticipantAnswer, ParticipantInfo
from mappings.base import FormatError
from mappings.sbdh import (
    check_participant,
    document_type_id_of,
    is_self_billing_document_type,
    process_id_of,
    wrap_sbdh,
)
from mappings.xml import local_name, parse_xml
from transports.files import safe_name, sync_directory, write_atomically

log = logging.getLogger("gateway.channels.peppol")

#: The short names the registry may list instead of full document type ids, by UBL root element.
KINDS = {"Invoice": "invoice", "CreditNote": "credit_note"}
#: The same for PEPPOL BIS Self-Billing 3.0 documents.
SELF_BILLING_KINDS = {"Invoice": "self_billing_invoice", "CreditNote": "self_billing_credit_note"}


# -- configuration -----------------------------------------------------------------------------------


class _Settings(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PeppolFolderSettings(_Settings):
    directory: Path = Field(Path("gateway-data/peppol-outbound"), description="the AP's outbound directory")
    fsync: bool = True


class PeppolHttpSettings(_Settings):
    url: str = Field(description="the provider's endpoint that takes an SBDH, e.g. https://ap.example/outbox")
    token: SecretStr = Field(description="bearer token for the provider's API")


class PeppolAs4Settings(_Settings):
    endpoint: str = Field(description="the receiving access point's AS4 endpoint URL")
    certificate: Path = Field(description="our AP certificate (PEM)")
    private_key: Path = Field(description="its private key (PEM)")
    private_key_password: SecretStr | None = None
    receiver_certificate: Path = Field(
        description="the receiving AP's certificate (PEM), as its SMP lists it"
    )
    party_id: str = Field(description="our AP's party id (the CN of our certificate, e.g. POP000001)")
    receiver_party_id: str = Field(description="the receiving AP's party id")


class PeppolConfig(ChannelConfig):
    sender_participant_id: str | None = Field(
        None, description="C1's participant id (scheme:value); unset → the seller's endpoint id"
    )
    country_c1: str | None = Field(None, description="C1's country; unset → the seller's address country")
    transport: Literal["folder", "http", "as4"] = "folder"
    registry_url: str | None = Field(
        None,
        description="ignored, kept so older settings still load: the gateway looks the receiver up in its "
        "participant registry and hands the answer over with the delivery",
    )
    folder: PeppolFolderSettings = Field(default_factory=PeppolFolderSettings)
    http: PeppolHttpSettings | None = None
    as4: PeppolAs4Settings | None = None

    @model_validator(mode="after")
    def _transport_is_configured(self) -> PeppolConfig:
        if self.transport == "http" and self.http is None:
            raise ValueError("transport 'http' needs http settings (url, token)")
        if self.transport == "as4" and self.as4 is None:
            raise ValueError("transport 'as4' needs as4 settings (endpoint, certificates, party ids)")
        if self.sender_participant_id:
            check_participant(self.sender_participant_id, "sender_participant_id")
        return self


# -- the channel -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Envelope:
    """Everything about one send that does not depend on the transport."""

    sender: str
    receiver: str
    document_type_id: str
    process_id: str
    instance_id: str
    country_c1: str
    document: bytes
    created: dt.datetime
    #: further SBDH scopes (Type, InstanceIdentifier) for a service behind the receiver (eFaktura)
    extra_scopes: tuple[tuple[str, str], ...] = ()

    def sbdh(self) -> bytes:
        return wrap_sbdh(
            self.document,
            sender=self.sender,
            receiver=self.receiver,
            document_type_id=self.document_type_id,
            process_id=self.process_id,
            instance_id=self.instance_id,
            created=self.created,
            country_c1=self.country_c1,
            extra_scopes=self.extra_scopes,
        )


def participant_of(delivery: OutboundDelivery) -> str | None:
    """The receiver's participant id: the delivery's address, else the receiving party's endpoint
    `scheme:value` — the buyer's, or for a self-billed invoice (which the buyer issues) the seller's."""
    if delivery.address:
        return delivery.address.strip()
    if delivery.invoice is None:
        return None
    invoice = delivery.invoice
    endpoint = invoice.seller.endpoint if invoice.is_self_billing else invoice.buyer.endpoint
    if endpoint is None or not endpoint.scheme:
        return None
    return f"{endpoint.scheme}:{endpoint.value}"


def retry_after_seconds(value: str | None, now: dt.datetime | None = None) -> float | None:
    """`Retry-After` as seconds: delta-seconds or an HTTP date; None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return max(0.0, (when - (now or dt.datetime.now(dt.UTC))).total_seconds())


def _provider_error(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text.strip()[:500] or response.reason_phrase
    if isinstance(body, dict):
        for key in ("error", "message", "detail", "title"):
            if body.get(key):
                text = body[key]
                return (text if isinstance(text, str) else json.dumps(text))[:500]
    return json.dumps(body)[:500]


class PeppolChannel(Channel[PeppolConfig]):
    """Delivers EHF / PEPPOL BIS Billing 3 documents through a PEPPOL access point."""

    name: ClassVar[str] = "peppol"
    config_model: ClassVar[type[ChannelConfig]] = PeppolConfig
    capabilities: ClassVar[ChannelCapabilities] = ChannelCapabilities(
        formats=("ehf", "peppol-self-billing"),
        default_format="ehf",  # written in the invoice's own profile: a self-billed one stays self-billing
        needs_address=False,
        confirms_delivery=False,
        description="EHF / PEPPOL BIS 3 in an SBDH, to an access point (folder, HTTP API or AS4)",
        extra={"transports": ["folder", "http", "as4"]},
        needs=(ChannelNeed.PEPPOL_PARTICIPANT,),
        # an EHF Reminder is a UBL Invoice in the reminder customization: the SBDH takes its document type
        # and process from the document, the issuer and receiver from the first reminded invoice
        documents=(DocumentKind.INVOICE, DocumentKind.REMINDER),
    )

    def __init__(self, config: PeppolConfig) -> None:
        super().__init__(config)
        self._http: httpx.Client | None = None
        if config.transport == "as4":
            try:
                import channels.peppol_as4  # noqa: F401  (fail now, with the hint, not on the first send)
            except ImportError as error:
                from channels import ChannelUnavailable

                raise ChannelUnavailable(
                    f"the PEPPOL AS4 transport needs the 'as4' package ({error})."
                    " Install it with: pip install 'invoice-gateway[peppol-as4]'"
                ) from error

    # -- steps -----------------------------------------------------------------------------------

    def envelope(self, delivery: OutboundDelivery, *, receiver: str | None = None) -> Envelope | Failed:
        """The identifiers of this send, or why there can be none; `receiver` instead of the delivery's
        participant (eFaktura sends to its provider's participant)."""
        invoice = delivery.the_invoice()
        # the issuer sends: the seller, or for a self-billed invoice the buyer (PEPPOL BIS Self-Billing)
        issuer, issuer_role, receiving_role = (
            (invoice.buyer, "buyer", "seller")
            if invoice.is_self_billing
            else (invoice.seller, "seller", "buyer")
        )
        receiver = receiver or participant_of(delivery)
        if receiver is None:
            return Failed(f"receiver has no PEPPOL participant id (no address, no {receiving_role} endpoint)")
        sender = self.config.sender_participant_id
        if sender is None:
            endpoint = issuer.endpoint
            if endpoint is None or not endpoint.scheme:
                return Failed("no sender participant id: set sender_participant_id", deviation=True)
            sender = f"{endpoint.scheme}:{endpoint.value}"
        country = self.config.country_c1 or (issuer.address.country if issuer.address else None)
        if not country:
            return Failed(f"no COUNTRY_C1: the {issuer_role} has no address country", deviation=True)
        try:
            check_participant(receiver, "receiver")
            check_participant(sender, "sender")
            document_type = document_type_id_of(delivery.document.content)
            process_id = process_id_of(delivery.document.content)
        except FormatError as error:
            return Failed(f"cannot address the PEPPOL envelope: {error}", deviation=True)
        return Envelope(
            sender=sender,
            receiver=receiver,
            document_type_id=document_type,
            process_id=process_id,
            instance_id=delivery.idempotency_key,
            country_c1=str(country),
            document=delivery.document.content,
            created=dt.datetime.now(dt.UTC).replace(microsecond=0),
        )

    def check_capability(self, envelope: Envelope, answer: ParticipantAnswer | None) -> Failed | None:
        """None when the receiver takes this document type; `Failed` (so fallback happens) when not.

        `answer` is the participant registry's, looked up by the gateway before the send.
        """
        if answer is None or answer.participant_id.strip().lower() != envelope.receiver.lower():
            return Failed(
                f"no participant registry answer about {envelope.receiver} came with the delivery "
                "(the gateway looks the receiver up before the send)",
                deviation=True,
            )
        info = answer.info
        if info is None:
            return Failed(
                f"receiver {envelope.receiver} is not PEPPOL-capable (not in the participant registry)"
            )
        kinds = SELF_BILLING_KINDS if is_self_billing_document_type(envelope.document_type_id) else KINDS
        kind = kinds.get(local_name(parse_xml(envelope.document)))
        if not info.accepts(envelope.document_type_id, kind):
            return Failed(
                f"receiver {envelope.receiver} is not PEPPOL-capable for {kind or envelope.document_type_id}"
                f" (it accepts: {', '.join(info.document_types) or 'nothing'})"
            )
        return None

    def send(self, delivery: OutboundDelivery) -> DeliveryResult:
        envelope = self.envelope(delivery)
        if isinstance(envelope, Failed):
            return envelope
        refused = self.check_capability(envelope, delivery.participant)
        if refused is not None:
            return refused
        if self.config.transport == "as4":
            return self._send_as4(envelope)
        try:
            sbdh = envelope.sbdh()
        except FormatError as error:
            return Failed(f"cannot wrap the document in an SBDH: {error}", deviation=True)
        if self.config.transport == "http":
            return self._send_http(envelope, sbdh)
        return self._send_folder(envelope, sbdh, delivery)

    # -- transports ------------------------------------------------------------------------------

    def outbound_path(self, delivery: OutboundDelivery) -> Path:
        directory = self.config.folder.directory / safe_name(delivery.tenant_id)
        return directory / f"{safe_name(delivery.idempotency_key)}.xml"

    def _send_folder(self, envelope: Envelope, sbdh: bytes, delivery: OutboundDelivery) -> DeliveryResult:
        path = self.outbound_path(delivery)
        fsync = self.config.folder.fsync
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            write_atomically(path, sbdh, fsync=fsync)
            if fsync:
                sync_directory(path.parent)
        except PermissionError as error:
            return Failed(f"cannot write to {path.parent}: {error.strerror}", deviation=True)
        except OSError as error:
            return Retry(reason=f"writing to {path.parent} failed: {error.strerror or error}")
        return Sent(message_id=envelope.instance_id, detail=f"handed to the access point as {path}")

    def _client(self) -> httpx.Client:
        if self._http is None:
            self._http = httpx.Client(timeout=self.config.timeout_seconds, follow_redirects=False)
        return self._http

    def _send_http(self, envelope: Envelope, sbdh: bytes) -> DeliveryResult:
        settings = self.config.http
        assert settings is not None  # the config validator guarantees it
        headers = {
            "Authorization": f"Bearer {settings.token.get_secret_value()}",
            "Idempotency-Key": envelope.instance_id,
            "Content-Type": "application/xml",
            "Accept": "application/json",
        }
        try:
            response = self._client().post(settings.url, content=sbdh, headers=headers)
        except httpx.TimeoutException as error:
            return Retry(f"access point did not answer in time ({type(error).__name__})")
        except httpx.TransportError as error:
            return Retry(f"access point unreachable: {self.mask(str(error)) or type(error).__name__}")
        status = response.status_code
        if 200 <= status < 300:
            message_id: str | None = None
            try:
                body = response.json()
            except ValueError:
                body = None
            if isinstance(body, dict):
                for key in ("message_id", "messageId", "id", "transmission_id", "transmissionId"):
                    if body.get(key):
                        message_id = str(body[key])
                        break
            if message_id is None:
                log.warning("peppol: %s accepted %s without a message id", settings.url, envelope.instance_id)
            return Sent(
                message_id=message_id or envelope.instance_id,
                detail=f"access point answered {status}",
            )
        after = retry_after_seconds(response.headers.get("Retry-After"))
        if status in (408, 425, 429) or status >= 500:
            return Retry(f"access point answered {status}: {_provider_error(response)}", after=after)
        return Failed(
            f"access point refused the document ({status}): {_provider_error(response)}", deviation=True
        )

    def _send_as4(self, envelope: Envelope) -> DeliveryResult:
        from channels.peppol_as4 import send_as4  # the optional `as4` package is needed only here

        settings = self.config.as4
        assert settings is not None
        return send_as4(settings, envelope, self._client(), mask=self.mask)

    def close(self) -> None:
        if self._http is not None:
            self._http.close()
            self._http = None


__all__ = [
    "Envelope",
    "ParticipantInfo",
    "PeppolAs4Settings",
    "PeppolChannel",
    "PeppolConfig",
    "PeppolFolderSettings",
    "PeppolHttpSettings",
    "participant_of",
    "retry_after_seconds",
]
