"""The Digipost channel: a consumer's invoice into Posten's digital mailbox (API v8), with paper as fallback.

Per send the recipient is identified first (`identify_recipient`), by the receiver profile's national
identity number (prepared by the gateway, `ChannelNeed.RECEIVER_IDENTITY`; never stored in the delivery's
address), else the buyer's organisation number, else name and postal address. A recipient with a Digipost
mailbox gets the message digitally (and, when the tenant asks for it, `print-if-unread` after N days); one
without gets it on paper through Digipost's print service when the tenant's print profile here has print
fallback on, else the send fails *without* deviation, so the receiver's next channel takes over.

The message is the invoice PDF as primary document carrying the `Invoice` data type (due date, sum,
creditor account, KID) and the invoice's embedded attachments (PODs, terms) as attachments, as one signed
multipart request (`transports.digipost`); XML from `mappings.consumer.digipost`. When paper may happen,
the PDF passes the printability check first. The message id and document uuids are derived from the
delivery's idempotency key, so a try repeated after a crash sends the same message: Digipost answers 409
and the try counts as sent. The primary document's uuid is the delivery's channel message id: Digipost's
document events (polled by the worker, `gateway.services.inbound.digipost_events`) name it.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import threading
import uuid as uuid_module
from pathlib import Path
from typing import ClassVar, Literal

from lxml import etree
from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

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
from channels.context import ChannelNeed, DocumentKind
from mappings.base import FormatError, RenderedDocument
from mappings.consumer import digipost as xml
from mappings.print.printability import check_printable
from schemas.canonical import Address, Invoice
from schemas.national_id import mask_national_id
from transports.digipost import (
    DigipostClient,
    DigipostError,
    DocumentPart,
    DuplicateMessage,
    load_signing_identity,
)

#: Namespace of the uuids this channel derives (message id, document uuids) from idempotency keys.
UUID_NAMESPACE = uuid_module.UUID("5f7c1e52-3c1d-4d8e-9a57-3b0f3a1c2d41")
#: `gateway check` warns this many days before the enterprise certificate expires.
CERTIFICATE_WARNING_DAYS = 30
#: Embedded attachment types Digipost shows (BG-24 mime type → Digipost file type).
ATTACHMENT_TYPES = {"application/pdf": "pdf", "image/png": "png", "image/jpeg": "jpg"}


class DigipostPostalAddress(BaseModel):
    """A return address for paper sent through Digipost."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=130)
    lines: list[str] = Field(default_factory=list, max_length=3)
    postal_code: str | None = Field(None, max_length=10)
    city: str | None = Field(None, max_length=80)
    country: str = Field("NO", pattern=r"^[A-Z]{2}$")


class DigipostPrintProfile(BaseModel):
    """Paper through Digipost for the tenants whose `print_profile` setting names this profile."""

    model_config = ConfigDict(extra="forbid")

    print_fallback: bool = Field(True, description="print when the recipient has no Digipost mailbox")
    print_if_unread_days: int | None = Field(
        None, ge=1, le=365, description="also print when the message is still unread this many days later"
    )
    colour: bool = False
    nondeliverable_handling: Literal["RETURN_TO_SENDER", "SHRED"] = "RETURN_TO_SENDER"
    return_address: DigipostPostalAddress | None = Field(
        None, description="where undeliverable letters go; None = the seller's address on the invoice"
    )
    max_pages: int = Field(20, ge=1, le=1000, description="Digipost prints at most 20 pages")


class DigipostConfig(ChannelConfig):
    base_url: str = Field("https://api.digipost.no/", description="the API's entry point")
    broker_id: str = Field(pattern=r"^[0-9]{1,19}$", description="X-Digipost-UserId: the broker's account id")
    sender_id: int | None = Field(
        None, gt=0, description="the sender a broker sends on behalf of (None: the broker itself)"
    )
    pkcs12: Path = Field(description="the enterprise certificate and key (PKCS#12) that sign requests")
    pkcs12_password: SecretStr
    profiles: dict[str, DigipostPrintProfile] = Field(
        default_factory=dict,
        description="paper options by print profile name (the tenant's print_profile, else 'default'); "
        "a tenant without one gets no paper from Digipost",
    )
    events_page_size: int = Field(100, ge=1, le=1000)
    events_first_window_hours: float = Field(
        24.0, gt=0, description="how far back the first poll of document events looks"
    )
    events_settle_seconds: float = Field(
        60.0, ge=0, description="events newer than this are left for the next poll (late commits)"
    )

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("https://", "http://")):
            raise ValueError("base_url must be an http(s) URL")
        return value


def derived_uuid(key: str, part: str) -> str:
    """A stable uuid for one part of the message of one try (`key`: the delivery's idempotency key)."""
    return str(uuid_module.uuid5(UUID_NAMESPACE, f"{key}:{part}"))


class DigipostChannel(Channel[DigipostConfig]):
    """Invoices to Digipost mailboxes, with Digipost's print service as paper fallback."""

    name: ClassVar[str] = "digipost"
    config_model: ClassVar[type[ChannelConfig]] = DigipostConfig
    capabilities: ClassVar[ChannelCapabilities] = ChannelCapabilities(
        formats=("pdf",),
        default_format="pdf",
        needs_address=False,
        confirms_delivery=True,
        description="Digipost (Posten) digital mailbox, API v8, signed multipart; paper via Digipost print",
        needs=(ChannelNeed.RECEIVER_IDENTITY,),
        # a follow-up notice's PDF goes as a plain letter (`mappings.consumer.digipost.message_for_notice`)
        documents=(DocumentKind.INVOICE, DocumentKind.REMINDER),
    )

    def __init__(self, config: DigipostConfig) -> None:
        super().__init__(config)
        self._client: DigipostClient | None = None
        self._lock = threading.Lock()

    @classmethod
    def local_check(cls, config: ChannelConfig) -> str | None:
        """The enterprise certificate opens with its password and is valid today; it says whose it is and
        until when, and warns a month ahead (an expired certificate stops every send, and Digipost takes
        a while to register a new one)."""
        assert isinstance(config, DigipostConfig)
        identity = load_signing_identity(config.pkcs12, config.pkcs12_password)
        certificate = identity.certificate
        now = dt.datetime.now(dt.UTC)
        subject = certificate.subject.rfc4514_string()
        until = certificate.not_valid_after_utc
        starts = certificate.not_valid_before_utc
        if now < starts:
            raise ValueError(f"the enterprise certificate {subject} is not valid before {starts:%Y-%m-%d}")
        if now >= until:
            raise ValueError(f"the enterprise certificate {subject} expired on {until:%Y-%m-%d}")
        days = (until - now).days
        warning = f" — renew it: {days} day(s) left" if days < CERTIFICATE_WARNING_DAYS else ""
        return f"enterprise certificate {subject}, valid until {until:%Y-%m-%d}{warning}"

    # -- the client --

    def client(self) -> DigipostClient:
        """The signed client (the PKCS#12 file is read on first use); `ValueError` when it cannot be read."""
        with self._lock:
            if self._client is None:
                identity = load_signing_identity(self.config.pkcs12, self.config.pkcs12_password)
                self._client = DigipostClient(
                    self.config.base_url,
                    self.config.broker_id,
                    identity,
                    timeout_seconds=self.config.timeout_seconds,
                )
            return self._client

    def close(self) -> None:
        with self._lock:
            if self._client is not None:
                self._client.close()
                self._client = None

    @property
    def sender(self) -> str:
        return str(self.config.sender_id or self.config.broker_id)

    # -- what goes --

    def print_profile(self, delivery: OutboundDelivery) -> DigipostPrintProfile | None:
        settings = delivery.tenant_settings
        return self.config.profiles.get((settings.print_profile if settings else None) or "default")

    @staticmethod
    def primary_pdf(delivery: OutboundDelivery) -> RenderedDocument | None:
        if delivery.document.format == "pdf":
            return delivery.document
        return next((a for a in delivery.attachments if a.format == "pdf"), None)

    @staticmethod
    def embedded_attachments(invoice: Invoice) -> list[tuple[str, str, bytes]] | Failed:
        """(file name, media type, bytes) of each embedded attachment Digipost can show."""
        found: list[tuple[str, str, bytes]] = []
        for index, attachment in enumerate(invoice.attachments):
            if attachment.content_base64 is None or attachment.mime_type not in ATTACHMENT_TYPES:
                continue
            try:
                content = base64.b64decode(attachment.content_base64, validate=True)
            except binascii.Error:
                return Failed(f"attachments[{index}]: content_base64 is not base64", deviation=True)
            suffix = ATTACHMENT_TYPES[attachment.mime_type]
            name = attachment.filename or f"{attachment.id}.{suffix}"
            if not name.lower().endswith(f".{suffix}") and not (
                suffix == "jpg" and name.lower().endswith(".jpeg")
            ):
                name = f"{name}.{suffix}"
            found.append((name, attachment.mime_type, content))
        return found

    @staticmethod
    def paper_address(party_name: str, address: Address | None) -> xml.PrintAddress:
        if address is None or not (address.lines or address.city):
            raise FormatError("address", "missing — a letter needs a postal address")
        return xml.PrintAddress(
            name=party_name,
            address_lines=tuple(address.lines[:3]),
            postal_code=address.postal_code,
            city=address.city,
            country=address.country,
        )

    def print_details(self, invoice: Invoice, profile: DigipostPrintProfile) -> xml.PrintDetails:
        """Paper details from the buyer's address and the profile (`FormatError` naming what is wrong)."""
        recipient = self.paper_address(invoice.buyer.name, invoice.buyer.address)
        configured = profile.return_address
        if configured is not None:
            return_address = xml.PrintAddress(
                name=configured.name,
                address_lines=tuple(configured.lines),
                postal_code=configured.postal_code,
                city=configured.city,
                country=configured.country,
            )
        else:
            return_address = self.paper_address(invoice.seller.name, invoice.seller.address)
        return xml.PrintDetails(
            recipient=recipient,
            return_address=return_address,
            colour="COLORS" if profile.colour else "MONOCHROME",
            nondeliverable_handling=profile.nondeliverable_handling,
        )

    # -- the send --

    def send(self, delivery: OutboundDelivery) -> DeliveryResult:
        result = self._send(delivery)
        number = delivery.receiver.national_id if delivery.receiver is not None else None
        if number and isinstance(result, Retry | Failed) and number in result.reason:
            # Digipost's error texts may quote the number: reasons are stored and shown, so it is masked
            masked = result.reason.replace(number, mask_national_id(number) or "")
            return (
                Retry(masked, result.after) if isinstance(result, Retry) else Failed(masked, result.deviation)
            )
        return result

    def _send(self, delivery: OutboundDelivery) -> DeliveryResult:
        identity = delivery.receiver
        if identity is None:
            return Failed(
                "no receiver identity came with the delivery (the gateway reads the receiver profile "
                "before the send)",
                deviation=True,
            )
        invoice = delivery.the_invoice()  # a notice's: the first reminded invoice (buyer, address)
        notice = delivery.notice if delivery.document_kind is DocumentKind.REMINDER else None
        if delivery.document_kind is DocumentKind.REMINDER and notice is None:
            return Failed("a reminder delivery came without what the notice says", deviation=True)
        pdf = self.primary_pdf(delivery)
        if pdf is None:
            return Failed(
                f"Digipost needs the document as PDF; the delivery has {delivery.document.format}",
                deviation=True,
            )
        # a notice goes alone: the invoice's own attachments (PODs, terms) went with the invoice
        attachments = self.embedded_attachments(invoice) if notice is None else []
        if isinstance(attachments, Failed):
            return attachments
        try:
            recipient = xml.recipient_for_buyer(invoice.buyer, national_id=identity.national_id)
        except FormatError as error:
            return Failed(f"Digipost cannot address the receiver: {error}")  # the next channel may
        profile = self.print_profile(delivery)
        paper_possible = profile is not None and (profile.print_fallback or profile.print_if_unread_days)
        if profile is not None and paper_possible:
            problems = check_printable(pdf.content, max_pages=profile.max_pages)
            if problems:
                listed = "; ".join(
                    f"{p.code}" + (f" (page {p.page})" if p.page else "") + f": {p.detail}"
                    for p in problems[:5]
                )
                return Failed(f"not printable by Digipost: {listed}", deviation=True)
        key = delivery.idempotency_key
        primary_uuid = derived_uuid(key, "document:0")
        try:
            client = self.client()
        except ValueError as error:
            return Failed(f"Digipost enterprise certificate: {error}", deviation=True)
        try:
            identified = xml.read_identification_result(
                client.identify_recipient(xml.render_identification(recipient))
            )
        except DigipostError as error:
            return self._failure(error, "identifying the recipient")
        except FormatError as error:
            return Retry(f"Digipost's identification answer cannot be read: {error}")
        if identified.result == "INVALID":
            return Failed(
                f"Digipost finds the recipient's {recipient.kind} invalid ({identified.invalid_reason})",
                deviation=True,
            )
        digital = identified.result == "DIGIPOST"
        print_details = print_if_unread = None
        if not digital:
            if profile is None or not profile.print_fallback:
                why = identified.unidentified_reason or identified.result
                return Failed(
                    f"the recipient has no Digipost mailbox ({identified.result}, {why}) and print fallback "
                    "is off"
                )
            try:
                print_details = self.print_details(invoice, profile)
            except FormatError as error:
                return Failed(f"no Digipost mailbox, and no letter possible: {error}", deviation=True)
        elif profile is not None and profile.print_if_unread_days:
            try:
                print_if_unread = xml.PrintIfUnread(
                    print_if_unread_after=dt.datetime.now(dt.UTC).date()
                    + dt.timedelta(days=profile.print_if_unread_days),
                    print_details=self.print_details(invoice, profile),
                )
            except FormatError:
                print_if_unread = None  # a mailbox without a postal address: digital only
        try:
            message = (
                xml.message_for_notice(
                    notice,
                    recipient=recipient,
                    sender_id=self.config.sender_id,
                    message_id=primary_uuid,
                    primary_uuid=primary_uuid,
                    print_details=print_details,
                    print_if_unread=print_if_unread,
                )
                if notice is not None
                else xml.message_for_invoice(
                    invoice,
                    recipient=recipient,
                    sender_id=self.config.sender_id,
                    message_id=primary_uuid,
                    primary_uuid=primary_uuid,
                    attachment_names=[name for name, _type, _content in attachments],
                    attachment_uuids=[
                        derived_uuid(key, f"document:{i}") for i in range(1, len(attachments) + 1)
                    ],
                    print_details=print_details,
                    print_if_unread=print_if_unread,
                )
            )
            body = message.xml()
        except FormatError as error:
            return Failed(f"the Digipost message cannot be made: {error}", deviation=True)
        parts = [DocumentPart(primary_uuid, "application/pdf", pdf.content)]
        parts += [
            DocumentPart(document.uuid, media_type, content)
            for document, (_name, media_type, content) in zip(message.attachments, attachments, strict=True)
        ]
        try:
            answer = xml.read_message_delivery(client.send_message(body, parts))
        except DuplicateMessage:
            return Sent(
                message_id=primary_uuid,
                detail=f"already with Digipost (message {primary_uuid} was sent by an earlier try)"
                + self._where_it_went(client, primary_uuid),
            )
        except DigipostError as error:
            return self._failure(error, "sending the message")
        except FormatError as error:  # sent, but the answer is unreadable: the next try learns 409
            return Retry(f"Digipost's answer to the message cannot be read: {error}")
        via = answer.delivery_method
        extra = " (unless read, on paper later)" if print_if_unread is not None and via == "DIGIPOST" else ""
        return Sent(
            message_id=primary_uuid,
            detail=f"delivered via {via}: {answer.status}{extra}",
        )

    def _where_it_went(self, client: DigipostClient, document_uuid: str) -> str:
        """`; delivered via X` from the document's status, or nothing when Digipost will not say."""
        try:
            status = client.document_status(self.sender, document_uuid)
            channel = etree.fromstring(status, parser=etree.XMLParser(resolve_entities=False)).get("channel")
        except (DigipostError, etree.XMLSyntaxError):
            return ""
        return f"; delivered via {channel}" if channel else ""

    @staticmethod
    def _failure(error: DigipostError, doing: str) -> Retry | Failed:
        reason = f"Digipost, {doing}: {error.reason}"
        if error.transient:
            return Retry(reason)
        return Failed(reason, deviation=True)


__all__ = [
    "DigipostChannel",
    "DigipostConfig",
    "DigipostPostalAddress",
    "DigipostPrintProfile",
    "derived_uuid",
]
