"""The EDI channel: interchanges to a trading partner by folder or SFTP — invoices and our acknowledgements.

The delivery's address is the partner id. The channel opens no database: it declares
`ChannelNeed.EDI_INTERCHANGE`, and the gateway hands it, with each delivery, the partner's profile
(`schemas.edi_partner.TradingPartner`: who we are to them, which message and syntax they take, how their
files travel) and the attempt's interchange, numbered and rendered (`channels.context.PartnerInterchange`;
`gateway.services.outbound.channel_context` counts the numbers once per attempt, renders with
`render_edi`, and records what the channel reports). Per try the channel only puts the file in place:

* under a name that depends only on the partner and the interchange number — `<partner>_<ref>.<ext>` for an
  invoice, `<partner>_ack_<ref>.<ext>` for an acknowledgement of ours (CONTRL, 997, 999, TA1);
* into a folder (written beside the name, then linked into place; a name that exists was committed by an
  earlier try and is not touched), or over SFTP (`SftpSession.upload_file_atomically` into the partner's
  `outgoing` folder, same rule).

So a later try of the same attempt, which gets the same numbers and the same bytes, never makes a second
copy. An invoice is confirmed later, by the partner's acknowledgement (CONTRL / 997), so success is
`Sent`. The partner's SFTP secrets live in its profile, not in the channel config: they are masked here,
in every reason and log line, on top of the base class's masking.
"""

from __future__ import annotations

import errno
import logging
import posixpath
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from pydantic import Field

from channels.base import (
    Channel,
    ChannelCapabilities,
    ChannelConfig,
    DeliveryResult,
    Failed,
    OutboundDelivery,
    Retry,
    Sent,
    mask_secrets,
)
from channels.context import ChannelNeed, DocumentKind, PartnerInterchange
from mappings import format_entry, formats, render
from mappings.base import RenderedDocument
from mappings.syntax.edi_envelope import EdiEnvelope
from schemas.canonical import Invoice
from schemas.edi_partner import TradingPartner
from transports.files import safe_name, write_once
from transports.sftp import HostKeyRefused, SftpError, open_sftp

log = logging.getLogger("gateway.channels.edi")


#: The channel's formats, as `TradingPartner.message_format` names them: the mappings' EDI invoice messages.
EDI_FORMATS: tuple[str, ...] = tuple(
    name for name in formats("invoice", can="render") if format_entry(name).message_type
)


class EdiConfig(ChannelConfig):
    registry_url: str | None = Field(
        None,
        description="ignored, kept so older settings still load: the gateway hands the channel the partner's "
        "profile and the attempt's numbered interchange with each delivery",
    )
    fsync: bool = Field(True, description="folder transport: flush each interchange to disk before commit")


def render_edi(message_format: str, invoice: Invoice, envelope: EdiEnvelope) -> RenderedDocument:
    """`invoice` as one interchange in `message_format`, in `envelope`; the mappings' errors pass through."""
    if message_format not in EDI_FORMATS:
        raise ValueError(f"the EDI channel does not send {message_format!r}")
    return render(message_format, invoice, envelope)


def interchange_file_name(
    partner_id: str, interchange_ref: str, extension: str, *, acknowledgement: bool = False
) -> str:
    """The interchange's file name: the same on every try of its attempt, never the same for two."""
    ack = "_ack" if acknowledgement else ""
    return f"{safe_name(partner_id)}{ack}_{safe_name(interchange_ref)}.{safe_name(extension)}"


def partner_secrets(partner: TradingPartner) -> list[str]:
    """The secrets in a partner's profile (its SFTP password, key and passphrase)."""
    sftp = partner.transport.sftp
    return sftp.secrets() if sftp is not None else []


@dataclass(frozen=True)
class _Handed:
    """Where the file is, and how this try found it."""

    where: str
    note: str


class EdiChannel(Channel[EdiConfig]):
    """Delivers EDIFACT INVOIC (D96A, D01B) or X12 810 (4010, 5010) interchanges, and the acknowledgements
    we answer a partner with, into the partner's folder or SFTP server."""

    name: ClassVar[str] = "edi"
    config_model: ClassVar[type[ChannelConfig]] = EdiConfig
    capabilities: ClassVar[ChannelCapabilities] = ChannelCapabilities(
        formats=EDI_FORMATS,
        default_format="edifact-d96a",
        needs_address=True,
        confirms_delivery=False,
        description="EDIFACT INVOIC / X12 810 interchanges to a trading partner (address = partner id), "
        "by folder or SFTP; the partner's acknowledgement confirms delivery",
        needs=(ChannelNeed.EDI_INTERCHANGE,),
        documents=(DocumentKind.INVOICE, DocumentKind.EDI_ACK),
        extra={"transports": ["folder", "sftp"]},
    )

    def send(self, delivery: OutboundDelivery) -> DeliveryResult:
        interchange = delivery.edi
        if interchange is None:
            return Failed(
                "no trading partner interchange came with the delivery (the gateway numbers and renders "
                "it before the send)",
                deviation=True,
            )
        partner = interchange.partner
        hidden = partner_secrets(partner)

        def mask(text: str) -> str:
            return self.mask(mask_secrets(text, hidden))

        try:
            result = self._send_to(interchange, delivery, mask)
        except Exception as error:  # the base class would not know the partner's secrets
            log.warning("edi: unexpected error sending %s: %s", delivery.delivery_id, mask(repr(error)))
            return Retry(reason=mask(f"unexpected error: {error!r}"))
        if isinstance(result, Retry):
            return Retry(reason=mask(result.reason), after=result.after)
        if isinstance(result, Failed):
            return Failed(reason=mask(result.reason), deviation=result.deviation)
        return result

    def _send_to(
        self, interchange: PartnerInterchange, delivery: OutboundDelivery, mask: Callable[[str], str]
    ) -> DeliveryResult:
        partner = interchange.partner
        document = interchange.document
        name = interchange_file_name(
            partner.partner_id,
            interchange.interchange_ref,
            document.extension,
            acknowledgement=interchange.acknowledgement,
        )
        if partner.transport.kind == "sftp":
            handed = self._upload(partner, name, document.content, mask)
        else:
            handed = self._write(partner, name, document.content)
        if not isinstance(handed, _Handed):
            return handed
        if interchange.acknowledgement:
            notes = [
                f"{interchange.message_type} {interchange.interchange_ref} for trading partner "
                f"{partner.partner_id}: "
                f"{handed.note}"
            ]
        else:
            notes = [
                f"interchange {interchange.interchange_ref} (group {interchange.group_ref}, message "
                f"{interchange.message_refs[0]}) for trading partner {partner.partner_id}: {handed.note}"
            ]
        if not interchange.acknowledgement and delivery.document.format != partner.message_format:
            notes.append(
                f"rendered as {partner.message_format}, the partner's format, not {delivery.document.format}"
            )
        return Sent(
            message_id=f"{partner.partner_id}:{interchange.interchange_ref}",
            detail="; ".join(notes),
            where=handed.where,
        )

    # -- transports ------------------------------------------------------------------------------------

    def _write(self, partner: TradingPartner, name: str, content: bytes) -> _Handed | Retry | Failed:
        """Write into the partner's folder; the final name appears complete or not at all, and only once."""
        assert partner.transport.directory is not None  # the profile's validator guarantees it
        directory = Path(partner.transport.directory)
        final = directory / name
        try:
            written = write_once(final, content, fsync=self.config.fsync)
        except PermissionError as error:
            return Failed(f"cannot write to {directory}: {error.strerror}", deviation=True)
        except OSError as error:
            if error.errno == errno.EROFS:
                return Failed(f"cannot write to {directory}: {error.strerror}", deviation=True)
            return Retry(f"writing to {directory} failed: {error.strerror or error}")
        if not written:
            return _Handed(str(final), f"{final} was already written by an earlier try")
        return _Handed(str(final), f"written to {final}")

    def _upload(
        self, partner: TradingPartner, name: str, content: bytes, mask: Callable[[str], str]
    ) -> _Handed | Retry | Failed:
        """Upload into the partner's outgoing folder over SFTP, committed by one rename."""
        settings = partner.transport.sftp
        assert settings is not None  # the profile's validator guarantees it
        remote = posixpath.join(partner.transport.outgoing, name)
        try:
            with open_sftp(settings) as session:
                result = session.upload_file_atomically(remote, content)
        except HostKeyRefused as error:
            reason = f"trading partner {partner.partner_id!r}: HostKeyRefused: {error}"
            return Failed(mask(reason), deviation=True)
        except SftpError as error:
            reason = mask(f"trading partner {partner.partner_id!r}: {type(error).__name__}: {error}")
            return Retry(reason) if error.transient else Failed(reason, deviation=True)
        where = f"sftp://{settings.host}:{settings.port}/{result.final_path}"
        if result.already_committed:
            return _Handed(where, f"{where} was already uploaded by an earlier try")
        return _Handed(where, f"uploaded to {where}")


__all__ = [
    "EDI_FORMATS",
    "EdiChannel",
    "EdiConfig",
    "interchange_file_name",
    "partner_secrets",
    "render_edi",
]
