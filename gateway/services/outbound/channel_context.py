"""What the gateway hands a channel with a delivery, so that no channel opens the database.

A channel declares in `ChannelCapabilities.needs` what it needs from the outbox. Before each send `prepare`
looks it up or fixes it and attaches it to the `OutboundDelivery`; after the send `record_report` keeps
what the channel reported. `deliver_with_context` does the three steps: the worker calls it where it used
to call `channel.deliver`.

* `ChannelNeed.EDI_INTERCHANGE` (the `edi` channel): the trading partner's profile, and the attempt's
  interchange. In one transaction the attempt's interchange, group and message numbers are counted
  (`interchange_for_attempt`) and the interchange is rendered with them (`channels.edi.render_edi`); the
  transaction commits only when the rendering succeeds, so no number is spent on a document that cannot
  go. A later try of the same attempt finds the same numbers and the same `prepared` time (the row's
  `created_at`) and so renders byte-identical content. After a hand-over the partner's acknowledgement
  deadline is restarted: it runs from when the file left, not from the first try.
* `ChannelNeed.PEPPOL_PARTICIPANT` (the `peppol` channel): what the participant registry (the outbox's
  `participants` table) says about the receiver.
* `ChannelNeed.RECEIVER_IDENTITY` (the `digipost` channel): the receiver profile's national identity number.
* `ChannelNeed.EFAKTURA_RECIPIENT` (the `efaktura` channel): the eFaktura recipient search's answer about
  the consumer, asked again before every send (`gateway.services.outbound.efaktura_recipients`).
* `ChannelNeed.AVTALEGIRO_MANDATE` (the `avtalegiro` channel): the payer's mandate for the invoice's KID
  (`gateway.services.outbound.avtalegiro.mandate_answer`).

Deliveries that carry another document than an invoice — the acknowledgements (CONTRL, 997, 999, TA1) we
answer a partner's interchange with (`gateway.services.inbound.edi_acks`), and follow-up notices, rendered
at their first claim and kept (`gateway.services.followup.notices`) — are built by `document_delivery` and
sent by `send_document`: the same lease, the channel's retry policy and the same events as an invoice
delivery. A batching channel (print) stages the document for its batch as it does an invoice; a notice
whose delivery failed goes on to the next channel of its chain
(`gateway.services.outbound.fallback.fall_back_document`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from sqlalchemy import Engine, func, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session
from sqlmodel import col

from channels import ChannelUnavailable, UnknownChannel
from channels import edi as edi_channel
from channels.base import (
    Channel,
    Delivered,
    DeliveryResult,
    Failed,
    OutboundDelivery,
    Retry,
    Sent,
    Staged,
)
from channels.context import (
    ChannelNeed,
    DocumentKind,
    ParticipantAnswer,
    ParticipantInfo,
    PartnerInterchange,
    ReceiverIdentity,
)
from channels.peppol import participant_of
from db.engine import make_engine, session_scope
from db.models import Delivery, EdiInterchange, Participant, utcnow
from gateway.services.outbound.avtalegiro import mandate_answer
from gateway.services.outbound.batches import stage_delivery
from gateway.services.outbound.documents import DocumentStore
from gateway.services.outbound.efaktura_recipients import efaktura_answer
from gateway.services.outbound.fallback import fall_back_document
from gateway.services.outbound.routing import load_profiles
from gateway.services.tenancy.edi_partners import (
    ControlNumbersExhausted,
    envelope_for,
    get_partner,
    interchange_for_attempt,
)
from gateway.services.tenancy.tenants import tenant_settings
from gateway.settings import Settings
from mappings import format_entry
from mappings.base import RenderedDocument
from outbox.queue import Claim, leased_transition
from outbox.states import DeliveryStatus
from schemas.canonical import Invoice
from schemas.edi_partner import TradingPartner

log = logging.getLogger("gateway.channel_context")

S = DeliveryStatus

#: How each standard's acknowledgements of ours go out (format name as the mappings' registry knows it).
ACK_DOCUMENTS = {
    "edifact": ("edifact-ack", "application/EDIFACT", "edi"),
    "x12": ("x12-ack", "application/EDI-X12", "x12"),
}


# --- the three steps ---------------------------------------------------------------------------------------


def deliver_with_context(engine: Engine, channel: Channel[Any], delivery: OutboundDelivery) -> DeliveryResult:
    """Prepare what `channel` needs, send through its `deliver`, and record what it reported.

    Like `Channel.deliver`, it raises nothing for the unexpected: that is a retry, its text masked."""
    try:
        prepared = prepare(engine, channel, delivery)
    except Exception as error:
        reason = channel.mask(f"unexpected error preparing the delivery: {error!r}")
        log.warning("%s: %s: %s", channel.name, delivery.delivery_id, reason)
        return Retry(reason)
    if not isinstance(prepared, OutboundDelivery):
        return prepared
    result = channel.deliver(prepared)
    record_report(engine, prepared, result)
    return result


def prepare(
    engine: Engine, channel: Channel[Any], delivery: OutboundDelivery
) -> OutboundDelivery | Failed | Retry:
    """`delivery` with what the channel declared it needs; or why it cannot be sent (now).

    A delivery the channel refuses anyway (too large, no address, a kind it does not send) is handed on
    unprepared, so its guard says why and nothing is spent on it."""
    if channel.refusal(delivery) is not None:
        return delivery
    for need in channel.capabilities.needs:
        if need is ChannelNeed.EDI_INTERCHANGE and delivery.edi is None:
            interchange = edi_interchange(engine, delivery)
            if not isinstance(interchange, PartnerInterchange):
                return interchange
            delivery = dataclasses.replace(delivery, edi=interchange)
        elif need is ChannelNeed.PEPPOL_PARTICIPANT and delivery.participant is None:
            answer = participant_answer(engine, delivery)
            if isinstance(answer, Retry):
                return answer
            delivery = dataclasses.replace(delivery, participant=answer)
        elif need is ChannelNeed.RECEIVER_IDENTITY and delivery.receiver is None:
            delivery = dataclasses.replace(delivery, receiver=receiver_identity(engine, delivery))
        elif need is ChannelNeed.EFAKTURA_RECIPIENT and delivery.efaktura is None:
            found = efaktura_answer(engine, channel, delivery)
            if isinstance(found, Failed | Retry):
                return found
            delivery = dataclasses.replace(delivery, efaktura=found)
        elif need is ChannelNeed.AVTALEGIRO_MANDATE and delivery.mandate is None:
            mandate = mandate_answer(engine, delivery)
            if isinstance(mandate, Retry):
                return mandate
            delivery = dataclasses.replace(delivery, mandate=mandate)
    return delivery


def receiver_identity(engine: Engine, delivery: OutboundDelivery) -> ReceiverIdentity:
    """The receiver profile's identity for the invoice's `routing.receiver_id`, else the invoice's own
    national identity number (`routing.national_id`, a consumer without a profile); read at send time, so
    a number corrected in the profile is used by the next try."""
    routing = delivery.invoice.routing if delivery.invoice is not None else None
    own_number = routing.national_id if routing is not None else None
    receiver_id = routing.receiver_id if routing is not None else None
    if not receiver_id:
        return ReceiverIdentity(receiver_id=None, national_id=own_number)
    with session_scope(engine) as session:
        profile = load_profiles(session, delivery.tenant_id, {receiver_id}).get(receiver_id)
    number = profile.national_id if profile is not None and profile.national_id else own_number
    return ReceiverIdentity(receiver_id=receiver_id, national_id=number)


def record_report(engine: Engine, delivery: OutboundDelivery, result: DeliveryResult) -> None:
    """Keep what the channel reported about a hand-over: for EDI, the acknowledgement clock of an invoice's
    interchange, or where an acknowledgement of ours was written."""
    interchange = delivery.edi
    if interchange is None or not isinstance(result, Sent | Delivered):
        return
    try:
        with session_scope(engine) as session:
            if interchange.acknowledgement:
                _record_written(session, delivery.delivery_id, result.where)
            else:
                _start_ack_clock(session, interchange.partner, delivery)
    except SQLAlchemyError as error:  # the hand-over stands; what is lost is said in the log
        log.warning("edi: could not record the hand-over of %s: %s", delivery.delivery_id, error)


# --- EDI ---------------------------------------------------------------------------------------------------


def _validation_summary(error: ValidationError) -> str:
    """What is wrong with a stored profile, by field, without the stored values (they may be secrets)."""
    parts = [
        f"{'.'.join(str(part) for part in item['loc']) or 'profile'}: {item['msg']}"
        for item in error.errors(include_input=False, include_url=False)
    ]
    return "; ".join(parts[:5]) + (f"; and {len(parts) - 5} more" if len(parts) > 5 else "")


def partner_for(session: Session, tenant_id: str, partner_id: str) -> TradingPartner | Failed:
    """The partner's profile, or why there is none (`ValidationError` is reported, not raised)."""
    try:
        partner = get_partner(session, tenant_id, partner_id)
    except ValidationError as error:
        return Failed(
            f"trading partner {partner_id!r}: the stored profile no longer validates "
            f"({_validation_summary(error)}); put it again",
            deviation=True,
        )
    if partner is None:
        return Failed(
            f"unknown trading partner {partner_id!r} for tenant {tenant_id!r}: "
            "put its profile first (PUT /trading-partners/{id} or gateway partner put)",
            deviation=True,
        )
    return partner


def edi_interchange(engine: Engine, delivery: OutboundDelivery) -> PartnerInterchange | Failed | Retry:
    """The attempt's interchange to the delivery's partner, numbered and rendered; or why there is none."""
    partner_id = (delivery.address or "").strip()
    try:
        with Session(engine) as session:
            partner = partner_for(session, delivery.tenant_id, partner_id)
    except SQLAlchemyError as error:
        return Retry(f"trading partner registry unavailable: {type(error).__name__}")
    if isinstance(partner, Failed):
        return partner
    try:
        return _numbered_interchange(engine, partner, delivery, delivery.the_invoice())
    except ValueError as error:  # FormatError and the syntax layer's errors are ValueErrors too
        return Failed(
            f"cannot render {partner.message_format} for trading partner {partner.partner_id!r}: {error}",
            deviation=True,
        )
    except ControlNumbersExhausted as error:
        return Failed(str(error), deviation=True)
    except SQLAlchemyError as error:
        return Retry(f"control numbers could not be counted: {type(error).__name__}")


def _numbered_interchange(
    engine: Engine, partner: TradingPartner, delivery: OutboundDelivery, invoice: Invoice
) -> PartnerInterchange | Failed:
    """Fix the attempt's numbers and render the interchange with them, in one transaction.

    Committed only when the rendering succeeds, so a document that cannot be rendered spends no number.
    """
    message_type = format_entry(partner.message_format).message_type
    for _ in range(2):  # a takeover may record the same attempt at the same moment: then read theirs
        try:
            with Session(engine, expire_on_commit=False) as session, session.begin():
                row = interchange_for_attempt(
                    session,
                    tenant_id=delivery.tenant_id,
                    partner=partner,
                    delivery_id=delivery.delivery_id,
                    attempt=delivery.attempt,
                    invoice_id=delivery.invoice_id,
                    message_type=message_type,
                    now=utcnow().replace(microsecond=0),
                )
                if (row.standard, row.message_type) != (partner.standard, message_type):
                    return Failed(
                        f"trading partner {partner.partner_id!r}: this attempt's interchange "
                        f"{row.interchange_ref} was numbered as {row.standard} {row.message_type}, but the "
                        f"profile now says {partner.message_format}; resend the delivery (a new attempt gets "
                        "new numbers)",
                        deviation=True,
                    )
                document = edi_channel.render_edi(partner.message_format, invoice, envelope_for(partner, row))
                return PartnerInterchange(
                    partner=partner,
                    message_type=row.message_type,
                    interchange_ref=row.interchange_ref,
                    group_ref=row.group_ref,
                    message_refs=tuple(row.message_refs),
                    document=document,
                )
        except IntegrityError:
            continue
    return Failed(  # pragma: no cover - needs two racing takeovers twice in a row
        f"could not record the interchange of delivery {delivery.idempotency_key}", deviation=True
    )


def _start_ack_clock(session: Session, partner: TradingPartner, delivery: OutboundDelivery) -> None:
    """The partner's acknowledgement deadline runs from when the file left, not from the first try."""
    if not (partner.ack_requested and partner.ack_deadline_hours):
        return
    now = utcnow()
    session.execute(
        update(EdiInterchange)
        .where(
            col(EdiInterchange.delivery_id) == delivery.delivery_id,
            col(EdiInterchange.attempt) == delivery.attempt,
        )
        .values(ack_due_at=now + dt.timedelta(hours=partner.ack_deadline_hours), updated_at=now)
    )


def _record_written(session: Session, delivery_id: str, where: str | None) -> None:
    row = _answer_row(session, delivery_id)
    if row is None:
        return
    row.ack_details = {**(row.ack_details or {}), "written": where}
    row.updated_at = utcnow()
    session.add(row)


def _answer_row(session: Session, delivery_id: str) -> EdiInterchange | None:
    return session.execute(
        select(EdiInterchange).where(
            col(EdiInterchange.delivery_id) == delivery_id, col(EdiInterchange.direction) == "out"
        )
    ).scalar_one_or_none()


# --- PEPPOL ------------------------------------------------------------------------------------------------


def find_participant(session: Session, participant_id: str) -> ParticipantInfo | None:
    """What the participant registry says about one participant; identifiers compare case-insensitively
    (PEPPOL Policy for use of Identifiers)."""
    wanted = participant_id.strip().lower()
    row = (
        session.execute(select(Participant).where(func.lower(col(Participant.participant_id)) == wanted))
        .scalars()
        .first()
    )
    if row is None:
        return None
    return ParticipantInfo(
        participant_id=row.participant_id,
        document_types=tuple(row.document_types or ()),
        access_point=row.access_point,
        name=row.name,
    )


class LocalRegistryLookup:
    """The outbox's participant registry (or any database with the `participants` table), by URL or engine."""

    def __init__(self, source: str | Engine) -> None:
        self._owned = isinstance(source, str)
        self.engine = make_engine(source, pool_size=1) if isinstance(source, str) else source

    def find(self, participant_id: str) -> ParticipantInfo | None:
        with Session(self.engine) as session:
            return find_participant(session, participant_id)

    def close(self) -> None:
        if self._owned:
            self.engine.dispose()


def participant_answer(engine: Engine, delivery: OutboundDelivery) -> ParticipantAnswer | Retry | None:
    """The registry's answer about the delivery's receiver; None when it has no participant id at all."""
    receiver = participant_of(delivery)
    if receiver is None:
        return None
    try:
        with Session(engine) as session:
            info = find_participant(session, receiver)
    except SQLAlchemyError as error:
        return Retry(f"participant registry unavailable: {type(error).__name__}")
    return ParticipantAnswer(participant_id=receiver, info=info)


# --- documents that are not invoices -----------------------------------------------------------------------


@dataclass(frozen=True)
class NotSendable:
    """Why a claimed document cannot be sent (the delivery goes to deviation), with what the deviation
    event keeps (a validation report)."""

    reason: str
    details: dict[str, Any] | None = None


def document_delivery(
    session: Session,
    claim: Claim,
    store: DocumentStore | None,
    settings: Settings,
    *,
    actor: str,
    keep: bool = True,
) -> OutboundDelivery | NotSendable:
    """The claimed delivery of a document other than an invoice, from what the outbox keeps; or why it
    cannot be sent. A follow-up notice (`reminder`) is rendered (and validated) now, at its first claim,
    and kept in the document store `store` for every later one (`gateway.services.followup.notices`;
    `keep=False`, a dry run: rendered, not kept)."""
    row = session.get(Delivery, claim.delivery_id)
    kind = row.document_kind if row is not None else None
    if kind == DocumentKind.REMINDER.value:
        from gateway.services.followup.notices import reminder_outbound  # notices import this module

        return reminder_outbound(
            session,
            delivery_id=claim.delivery_id,
            tenant_id=claim.tenant_id,
            attempt=claim.attempt,
            address=claim.address,
            store=store,
            settings=settings,
            actor=actor,
            keep=keep,
        )
    if kind != DocumentKind.EDI_ACK.value:
        return NotSendable(
            f"delivery {claim.delivery_id} carries {kind!r}, which the gateway does not know how to send"
        )
    answer = _answer_row(session, claim.delivery_id)
    content = (answer.ack_details or {}).get("content") if answer is not None else None
    if answer is None or not isinstance(content, str):
        return NotSendable(
            f"the acknowledgement of delivery {claim.delivery_id} is not kept: nothing to send"
        )
    partner = partner_for(session, claim.tenant_id, answer.partner_id)
    if isinstance(partner, Failed):
        return NotSendable(partner.reason)
    format_name, media_type, extension = ACK_DOCUMENTS.get(answer.standard, ACK_DOCUMENTS["edifact"])
    document = RenderedDocument(format_name, content.encode("latin-1"), media_type, extension)
    return OutboundDelivery(
        delivery_id=claim.delivery_id,
        invoice_id=None,
        tenant_id=claim.tenant_id,
        attempt=claim.attempt,
        address=claim.address,
        document=document,
        invoice=None,
        document_kind=DocumentKind.EDI_ACK,
        edi=PartnerInterchange(
            partner=partner,
            message_type=answer.message_type,
            interchange_ref=answer.interchange_ref,
            group_ref=answer.group_ref,
            message_refs=tuple(answer.message_refs),
            document=document,
            acknowledgement=True,
        ),
    )


def send_document(
    engine: Engine,
    claim: Claim,
    channel_for: Callable[[str], Channel[Any]],
    *,
    actor: str,
    lease_seconds: float,
    settings: Settings,
    store: DocumentStore | None = None,
    default_channel: str | None = None,
) -> str:
    """Send one claimed delivery that carries a document other than an invoice; its new status.

    claimed (`rendering`) → `sending`, with the lease extended over the channel's timeout → the outcome,
    each a short transaction that names the lease, as for an invoice (`LeaseLost` passes through).
    `default_channel` (the gateway's) is where a notice's chain starts for a receiver without one, for
    its fallback; without it, no fallback is queued.
    """
    try:
        channel = channel_for(claim.channel)
    except (UnknownChannel, ChannelUnavailable, ValidationError) as error:
        return _without_sending(engine, claim, f"cannot load channel {claim.channel}: {error}", actor)
    with session_scope(engine) as session:
        outbound = document_delivery(session, claim, store, settings, actor=actor)
    if isinstance(outbound, NotSendable):
        return _without_sending(engine, claim, outbound.reason, actor, outbound.details)
    with session_scope(engine) as session:
        claim = leased_transition(
            session,
            claim,
            from_status=S.RENDERING,
            to_status=S.SENDING,
            actor=actor,
            extend_lease_seconds=channel.config.timeout_seconds + lease_seconds,
            details={
                "document_kind": outbound.document_kind.value,
                "format": outbound.document.format,
                "bytes": len(outbound.document.content),
            },
        )
    result = deliver_with_context(engine, channel, outbound)
    return _record_document_outcome(
        engine, claim, channel, outbound, result, actor, default_channel=default_channel
    )


def _without_sending(
    engine: Engine, claim: Claim, reason: str, actor: str, details: dict[str, Any] | None = None
) -> str:
    with session_scope(engine) as session:
        leased_transition(
            session,
            claim,
            from_status=S.RENDERING,
            to_status=S.DEVIATION,
            actor=actor,
            reason=reason,
            details=details,
        )
    return S.DEVIATION.value


def _record_document_outcome(
    engine: Engine,
    claim: Claim,
    channel: Channel[Any],
    outbound: OutboundDelivery,
    result: DeliveryResult,
    actor: str,
    *,
    default_channel: str | None = None,
) -> str:
    now = utcnow()
    tries = claim.tries + 1
    with session_scope(engine) as session:
        if isinstance(result, Delivered | Sent):
            status = S.DELIVERED if isinstance(result, Delivered) else S.SENT
            leased_transition(
                session,
                claim,
                from_status=S.SENDING,
                to_status=status,
                actor=actor,
                reason=result.detail,
                channel_message_id=result.message_id,
                details={"where": result.where} if result.where else None,
                now=now,
            )
            return status.value
        if isinstance(result, Staged):  # a batching channel (print): it waits for its batch's cut-off
            stage_delivery(session, claim, result, outbound.document, actor=actor, now=now)
            return S.BATCHED.value
        if isinstance(result, Retry) and not channel.retry_policy.gives_up_after(tries):
            delay = result.after if result.after is not None else channel.retry_policy.delay_after(tries)
            due = tenant_settings(session, claim.tenant_id).due_at(
                claim.channel, now + dt.timedelta(seconds=delay)
            )
            leased_transition(
                session,
                claim,
                from_status=S.SENDING,
                to_status=S.QUEUED,
                actor=actor,
                tries=tries,
                now=now,
                reason=result.reason,
                next_attempt_at=due,
                details={"retry_in_seconds": round(delay, 3), "try": tries},
            )
            return S.QUEUED.value
        if isinstance(result, Retry):
            status, reason = S.FAILED, f"gave up after {tries} tries; last: {result.reason}"
        else:
            status, reason = (S.DEVIATION if result.deviation else S.FAILED), result.reason
        leased_transition(
            session,
            claim,
            from_status=S.SENDING,
            to_status=status,
            actor=actor,
            reason=reason,
            tries=tries,
            now=now,
        )
        if default_channel is not None:
            fall_back_document(
                session, claim.delivery_id, status, reason, default_channel=default_channel, actor=actor
            )
        return status.value


__all__ = [
    "ACK_DOCUMENTS",
    "LocalRegistryLookup",
    "NotSendable",
    "deliver_with_context",
    "document_delivery",
    "edi_interchange",
    "find_participant",
    "participant_answer",
    "partner_for",
    "prepare",
    "record_report",
    "send_document",
]
