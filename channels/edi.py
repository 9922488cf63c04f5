"""The EDI channel: invoices as EDIFACT INVOIC or X12 810 interchanges to a trading partner.

The delivery's address is the partner id; the partner's profile (`schemas.edi_partner.TradingPartner`, in
the outbox database that `registry_url` names) says who we are to them, which message and syntax they take
and how their files travel. Per delivery attempt:

1. The profile is read. An unknown partner, or a stored profile that no longer validates, is a deviation.
2. In one transaction the attempt's interchange, group and message numbers are counted
   (`interchange_for_attempt`) and the interchange is rendered with them; the transaction commits before
   anything is written. A rendering error rolls it back, so no number is spent on a document that cannot
   go. A later try of the same attempt finds the same numbers and the same `prepared` time (the row's
   `created_at`) and so renders byte-identical content.
3. The file goes by the partner's transport under a name that depends only on the partner and the
   interchange number, `<partner>_<interchange ref>.<ext>`: into a folder (written beside the name, then
   linked into place; a name that exists was committed by an earlier try and is not touched), or over SFTP
   (`SftpSession.upload_file_atomically` into the partner's `outgoing` folder, same rule).

Delivery is confirmed later, by the partner's acknowledgement (CONTRL / 997), so success is `Sent`.
The partner's SFTP secrets live in its profile, not in the channel config: they are masked here, in every
reason and log line, on top of the base class's masking.
"""

from __future__ import annotations

import datetime as dt
import errno
import logging
import os
import posixpath
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from pydantic import Field, ValidationError
from sqlalchemy import Engine, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session
from sqlmodel import col

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
from channels.folder import safe_name, sync_directory, write_atomically
from db.engine import make_engine, session_scope
from db.models import EdiInterchange, utcnow
from gateway.services.tenancy.edi_partners import (
    ControlNumbersExhausted,
    get_partner,
    interchange_for_attempt,
    partner_envelope,
)
from mappings import format_entry, formats, render
from mappings.base import RenderedDocument
from mappings.syntax.edi_envelope import EdiEnvelope
from schemas.edi_partner import TradingPartner
from transports.sftp import HostKeyRefused, SftpError, open_sftp

log = logging.getLogger("gateway.channels.edi")


class EdiConfig(ChannelConfig):
    registry_url: str | None = Field(
        None, description="database with the trading partners and control numbers (the gateway's outbox)"
    )
    fsync: bool = Field(True, description="folder transport: flush each interchange to disk before commit")


def envelope_for(partner: TradingPartner, interchange: EdiInterchange) -> EdiEnvelope:
    """The envelope of `interchange` (its numbers and time) as `partner`'s profile wants it written."""
    return partner_envelope(
        partner,
        interchange_ref=interchange.interchange_ref,
        group_ref=interchange.group_ref,
        message_ref=interchange.message_refs[0],
        prepared=interchange.created_at,
        ack_requested=partner.ack_requested,
    )


def interchange_file_name(partner_id: str, interchange_ref: str, extension: str) -> str:
    """The interchange's file name: the same on every try of its attempt, never the same for two."""
    return f"{safe_name(partner_id)}_{safe_name(interchange_ref)}.{safe_name(extension)}"


def partner_secrets(partner: TradingPartner) -> list[str]:
    """The secrets in a partner's profile (its SFTP password, key and passphrase)."""
    sftp = partner.transport.sftp
    return sftp.secrets() if sftp is not None else []


def _validation_summary(error: ValidationError) -> str:
    """What is wrong with a stored profile, by field, without the stored values (they may be secrets)."""
    parts = [
        f"{'.'.join(str(part) for part in item['loc']) or 'profile'}: {item['msg']}"
        for item in error.errors(include_input=False, include_url=False)
    ]
    return "; ".join(parts[:5]) + (f"; and {len(parts) - 5} more" if len(parts) > 5 else "")


@dataclass(frozen=True)
class PreparedInterchange:
    """One attempt's interchange, rendered with its fixed numbers."""

    interchange_ref: str
    group_ref: str | None
    message_ref: str
    document: RenderedDocument


class EdiChannel(Channel[EdiConfig]):
    """Delivers invoices as EDIFACT INVOIC (D96A, D01B) or X12 810 (4010, 5010) to a trading partner."""

    name: ClassVar[str] = "edi"
    config_model: ClassVar[type[ChannelConfig]] = EdiConfig
    capabilities: ClassVar[ChannelCapabilities] = ChannelCapabilities(
        formats=tuple(name for name in formats(can="render") if format_entry(name).message_type),
        default_format="edifact-d96a",
        needs_address=True,
        confirms_delivery=False,
        description="EDIFACT INVOIC / X12 810 interchanges to a trading partner (address = partner id), "
        "by folder or SFTP; the partner's acknowledgement confirms delivery",
        extra={"transports": ["folder", "sftp"]},
    )

    def __init__(self, config: EdiConfig) -> None:
        super().__init__(config)
        self._engine: Engine | None = (
            make_engine(config.registry_url, pool_size=1) if config.registry_url else None
        )

    def close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()

    # -- steps -----------------------------------------------------------------------------------------

    def partner_for(self, delivery: OutboundDelivery) -> TradingPartner | Failed | Retry:
        """The delivery's partner profile, or why there is none."""
        partner_id = (delivery.address or "").strip()
        if self._engine is None:
            return Failed("no trading partner registry is configured (registry_url)", deviation=True)
        try:
            with Session(self._engine) as session:
                partner = get_partner(session, delivery.tenant_id, partner_id)
        except ValidationError as error:
            return Failed(
                f"trading partner {partner_id!r}: the stored profile no longer validates "
                f"({_validation_summary(error)}); put it again",
                deviation=True,
            )
        except SQLAlchemyError as error:
            return Retry(f"trading partner registry unavailable: {type(error).__name__}")
        if partner is None:
            return Failed(
                f"unknown trading partner {partner_id!r} for tenant {delivery.tenant_id!r}: "
                "put its profile first (PUT /trading-partners/{id} or gateway partner put)",
                deviation=True,
            )
        return partner

    def prepare(self, partner: TradingPartner, delivery: OutboundDelivery) -> PreparedInterchange | Failed:
        """Fix the attempt's numbers and render the interchange with them, in one transaction.

        Committed only when the rendering succeeds, so a document that cannot be rendered spends no number.
        """
        assert self._engine is not None
        message_type = format_entry(partner.message_format).message_type
        for _ in range(2):  # a takeover may record the same attempt at the same moment: then read theirs
            try:
                with Session(self._engine, expire_on_commit=False) as session, session.begin():
                    interchange = interchange_for_attempt(
                        session,
                        tenant_id=delivery.tenant_id,
                        partner=partner,
                        delivery_id=delivery.delivery_id,
                        attempt=delivery.attempt,
                        invoice_id=delivery.invoice_id,
                        message_type=message_type,
                        now=utcnow().replace(microsecond=0),
                    )
                    if (interchange.standard, interchange.message_type) != (
                        partner.standard,
                        message_type,
                    ):
                        return Failed(
                            f"trading partner {partner.partner_id!r}: this attempt's interchange "
                            f"{interchange.interchange_ref} was numbered as {interchange.standard} "
                            f"{interchange.message_type}, but the profile now says {partner.message_format}; "
                            "resend the delivery (a new attempt gets new numbers)",
                            deviation=True,
                        )
                    document = render(
                        partner.message_format, delivery.invoice, envelope_for(partner, interchange)
                    )
                    return PreparedInterchange(
                        interchange_ref=interchange.interchange_ref,
                        group_ref=interchange.group_ref,
                        message_ref=interchange.message_refs[0],
                        document=document,
                    )
            except IntegrityError:
                continue
        return Failed(  # pragma: no cover - needs two racing takeovers twice in a row
            f"could not record the interchange of delivery {delivery.idempotency_key}", deviation=True
        )

    # -- send ------------------------------------------------------------------------------------------

    def send(self, delivery: OutboundDelivery) -> DeliveryResult:
        partner = self.partner_for(delivery)
        if not isinstance(partner, TradingPartner):
            return partner
        hidden = partner_secrets(partner)

        def mask(text: str) -> str:
            for secret in hidden:
                text = text.replace(secret, "********")
            return self.mask(text)

        try:
            result = self._send_to(partner, delivery, mask)
        except Exception as error:  # the base class would not know the partner's secrets
            log.warning("edi: unexpected error sending %s: %s", delivery.delivery_id, mask(repr(error)))
            return Retry(reason=mask(f"unexpected error: {error!r}"))
        if isinstance(result, Retry):
            return Retry(reason=mask(result.reason), after=result.after)
        if isinstance(result, Failed):
            return Failed(reason=mask(result.reason), deviation=result.deviation)
        return result

    def _send_to(
        self, partner: TradingPartner, delivery: OutboundDelivery, mask: Callable[[str], str]
    ) -> DeliveryResult:
        try:
            prepared = self.prepare(partner, delivery)
        except ValueError as error:  # FormatError and the syntax layer's errors are ValueErrors too
            return Failed(
                f"cannot render {partner.message_format} for trading partner {partner.partner_id!r}: {error}",
                deviation=True,
            )
        except ControlNumbersExhausted as error:
            return Failed(str(error), deviation=True)
        except SQLAlchemyError as error:
            return Retry(f"control numbers could not be counted: {type(error).__name__}")
        if isinstance(prepared, Failed):
            return prepared
        name = interchange_file_name(
            partner.partner_id, prepared.interchange_ref, prepared.document.extension
        )
        if partner.transport.kind == "sftp":
            handed = self._upload(partner, name, prepared.document.content, mask)
        else:
            handed = self._write(partner, name, prepared.document.content)
        if not isinstance(handed, str):
            return handed
        self._start_ack_clock(partner, delivery)
        notes = [
            f"interchange {prepared.interchange_ref} (group {prepared.group_ref}, message "
            f"{prepared.message_ref}) for trading partner {partner.partner_id}: {handed}"
        ]
        if delivery.document.format != partner.message_format:
            notes.append(
                f"rendered as {partner.message_format}, the partner's format, not {delivery.document.format}"
            )
        return Sent(message_id=f"{partner.partner_id}:{prepared.interchange_ref}", detail="; ".join(notes))

    def _start_ack_clock(self, partner: TradingPartner, delivery: OutboundDelivery) -> None:
        """The partner's acknowledgement deadline runs from when the file left, not from the first try."""
        if self._engine is None or not (partner.ack_requested and partner.ack_deadline_hours):
            return
        due = utcnow() + dt.timedelta(hours=partner.ack_deadline_hours)
        try:
            with session_scope(self._engine) as session:
                session.execute(
                    update(EdiInterchange)
                    .where(
                        col(EdiInterchange.delivery_id) == delivery.delivery_id,
                        col(EdiInterchange.attempt) == delivery.attempt,
                    )
                    .values(ack_due_at=due, updated_at=utcnow())
                )
        except SQLAlchemyError as error:  # the deadline set when the numbers were counted still stands
            log.warning(
                "edi: could not restart the acknowledgement clock of %s: %s", delivery.delivery_id, error
            )

    # -- transports ------------------------------------------------------------------------------------

    def _write(self, partner: TradingPartner, name: str, content: bytes) -> str | Retry | Failed:
        """Write into the partner's folder; the final name appears complete or not at all, and only once."""
        assert partner.transport.directory is not None  # the profile's validator guarantees it
        directory = Path(partner.transport.directory)
        final = directory / name
        fsync = self.config.fsync
        try:
            if final.exists():
                return f"{final} was already written by an earlier try"
            directory.mkdir(parents=True, exist_ok=True)
            for leftover in directory.glob(f".{name}.*.part"):  # from tries that died before the commit
                leftover.unlink(missing_ok=True)
            part = directory / f".{name}.{secrets.token_hex(4)}.part"
            write_atomically(part, content, fsync=fsync)
            try:
                os.link(part, final)  # refuses an existing name: a committed interchange is never replaced
            except FileExistsError:
                return f"{final} was already written by an earlier try"
            finally:
                part.unlink(missing_ok=True)
            if fsync:
                sync_directory(directory)
        except PermissionError as error:
            return Failed(f"cannot write to {directory}: {error.strerror}", deviation=True)
        except OSError as error:
            if error.errno == errno.EROFS:
                return Failed(f"cannot write to {directory}: {error.strerror}", deviation=True)
            return Retry(f"writing to {directory} failed: {error.strerror or error}")
        return f"written to {final}"

    def _upload(
        self, partner: TradingPartner, name: str, content: bytes, mask: Callable[[str], str]
    ) -> str | Retry | Failed:
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
            return f"{where} was already uploaded by an earlier try"
        return f"uploaded to {where}"


__all__ = [
    "EdiChannel",
    "EdiConfig",
    "PreparedInterchange",
    "envelope_for",
    "interchange_file_name",
    "partner_secrets",
]
