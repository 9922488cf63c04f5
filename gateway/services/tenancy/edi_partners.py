"""Trading partners and their control numbers.

Control numbers are counted per tenant, partner and kind (interchange, group, message) with one
`UPDATE … RETURNING` in the caller's transaction: the row lock (PostgreSQL) or the database write lock
(SQLite) makes concurrent workers take turns, so a number is never handed out twice. Numbers are fixed
per delivery attempt (`interchange_for_attempt`): a retried try writes the same interchange again instead
of the same invoice under a new number.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any, cast

from pydantic import SecretStr, ValidationError
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlmodel import col

from db.models import EdiControlCounter, EdiInterchange, TradingPartnerRecord, utcnow
from mappings.syntax.edi_envelope import EdiEnvelope
from schemas.edi_partner import TradingPartner

_counters = EdiControlCounter.__table__  # type: ignore[attr-defined]

#: Largest value per kind: ISA13 / GS06 are 9 digits, UNB 0020 14 characters, ST02 9, UNH 0062 14.
CONTROL_LIMITS = {"interchange": 999_999_999, "group": 999_999_999, "message": 999_999_999}


class ControlNumbersExhausted(RuntimeError):
    """A partner's counter reached its maximum: numbers must never repeat, so a person must decide."""


def storable_profile(partner: TradingPartner) -> dict[str, Any]:
    """The profile as JSON with its secrets (the SFTP password or key) in clear.

    `model_dump(mode="json")` writes every `SecretStr` as "**********", which would lose the partner's
    credentials; the outbox keeps them as the channel configuration in the environment does.
    """

    def reveal(value: Any) -> Any:
        if isinstance(value, SecretStr):
            return value.get_secret_value()
        if isinstance(value, dict):
            return {key: reveal(item) for key, item in value.items()}
        if isinstance(value, list | tuple):
            return [reveal(item) for item in value]
        return value

    revealed = reveal(partner.model_dump(mode="python"))
    return cast(dict[str, Any], json.loads(json.dumps(revealed, default=str)))


def put_partner(session: Session, tenant_id: str, partner: TradingPartner) -> None:
    """Create or replace a partner's profile."""
    record = session.execute(
        select(TradingPartnerRecord).where(
            col(TradingPartnerRecord.tenant_id) == tenant_id,
            col(TradingPartnerRecord.partner_id) == partner.partner_id,
        )
    ).scalar_one_or_none()
    profile = storable_profile(partner)
    if record is None:
        session.add(TradingPartnerRecord(tenant_id=tenant_id, partner_id=partner.partner_id, profile=profile))
    else:
        record.profile = profile
        record.updated_at = utcnow()
        session.add(record)
    session.flush()


def get_partner(session: Session, tenant_id: str, partner_id: str) -> TradingPartner | None:
    """The partner's profile; a stored profile that no longer validates raises `ValidationError`."""
    record = session.execute(
        select(TradingPartnerRecord).where(
            col(TradingPartnerRecord.tenant_id) == tenant_id,
            col(TradingPartnerRecord.partner_id) == partner_id,
        )
    ).scalar_one_or_none()
    return TradingPartner.model_validate(record.profile) if record is not None else None


def list_partners(session: Session, tenant_id: str | None = None) -> list[tuple[str, TradingPartner]]:
    query = select(TradingPartnerRecord).order_by(
        col(TradingPartnerRecord.tenant_id), col(TradingPartnerRecord.partner_id)
    )
    if tenant_id is not None:
        query = query.where(col(TradingPartnerRecord.tenant_id) == tenant_id)
    found: list[tuple[str, TradingPartner]] = []
    for record in session.execute(query).scalars():
        try:
            found.append((record.tenant_id, TradingPartner.model_validate(record.profile)))
        except ValidationError:
            continue
    return found


def next_control_number(session: Session, tenant_id: str, partner_id: str, kind: str) -> int:
    """The next number of `kind` for this partner, counted in the caller's transaction."""
    statement = (
        update(_counters)
        .where(
            _counters.c.tenant_id == tenant_id,
            _counters.c.partner_id == partner_id,
            _counters.c.kind == kind,
        )
        .values(last_value=_counters.c.last_value + 1)
        .returning(_counters.c.last_value)
    )
    for _ in range(3):
        value = session.execute(statement).scalar_one_or_none()
        if value is None:
            try:
                with session.begin_nested():  # two workers may create the first row at once
                    session.add(EdiControlCounter(tenant_id=tenant_id, partner_id=partner_id, kind=kind))
                    session.flush()
            except IntegrityError:
                pass
            continue
        if value > CONTROL_LIMITS.get(kind, 999_999_999):
            raise ControlNumbersExhausted(
                f"{partner_id}: {kind} control numbers are used up ({value - 1}); agree a new range"
            )
        return int(value)
    raise RuntimeError(f"could not count a {kind} control number for {partner_id}")  # pragma: no cover


@dataclass(frozen=True)
class ControlNumbers:
    interchange_ref: str
    group_ref: str
    message_ref: str


def interchange_for_attempt(
    session: Session,
    *,
    tenant_id: str,
    partner: TradingPartner,
    delivery_id: str,
    attempt: int,
    invoice_id: str | None,
    message_type: str,
    now: dt.datetime | None = None,
) -> EdiInterchange:
    """The outbound interchange of one delivery attempt: the first try counts the numbers, later tries
    find them."""
    existing = session.execute(
        select(EdiInterchange).where(
            col(EdiInterchange.delivery_id) == delivery_id, col(EdiInterchange.attempt) == attempt
        )
    ).scalar_one_or_none()
    if existing is not None:
        return existing
    now = now or utcnow()
    numbers = {
        kind: str(next_control_number(session, tenant_id, partner.partner_id, kind))
        for kind in ("interchange", "group", "message")
    }
    due = (
        now + dt.timedelta(hours=partner.ack_deadline_hours)
        if partner.ack_requested and partner.ack_deadline_hours
        else None
    )
    interchange = EdiInterchange(
        tenant_id=tenant_id,
        partner_id=partner.partner_id,
        direction="out",
        standard=partner.standard,
        message_type=message_type,
        interchange_ref=numbers["interchange"],
        group_ref=numbers["group"],
        message_refs=[numbers["message"]],
        delivery_id=delivery_id,
        invoice_id=invoice_id,
        attempt=attempt,
        ack_due_at=due,
        created_at=now,
        updated_at=now,
    )
    session.add(interchange)
    session.flush()
    return interchange


def partner_envelope(
    partner: TradingPartner,
    *,
    interchange_ref: str,
    group_ref: str | None,
    message_ref: str,
    prepared: dt.datetime,
    ack_requested: bool,
) -> EdiEnvelope:
    """The envelope of one interchange to `partner`, written the way its profile says."""
    separators = partner.x12_separators
    return EdiEnvelope(
        sender_id=partner.us.id,
        sender_qualifier=partner.us.qualifier,
        recipient_id=partner.them.id,
        recipient_qualifier=partner.them.qualifier,
        interchange_ref=interchange_ref,
        group_ref=group_ref,
        message_ref=message_ref,
        prepared=prepared,
        test=partner.test,
        ack_requested=ack_requested,
        syntax_id=partner.syntax_id,
        syntax_version=partner.syntax_version,
        service_characters=partner.service_characters,
        use_groups=partner.use_groups,
        group_sender_id=partner.us.application_id,
        group_recipient_id=partner.them.application_id,
        x12_element_separator=separators[0],
        x12_component_separator=separators[1],
        x12_segment_terminator=separators[2],
        x12_repetition_separator=separators[3],
        newline="\n" if partner.newline else "",
    )


def envelope_for(partner: TradingPartner, interchange: EdiInterchange) -> EdiEnvelope:
    """The envelope of an outbound `interchange` (its numbers and the time they were counted) as `partner`'s
    profile wants it written: every try of the attempt gets the same envelope, so the same bytes."""
    return partner_envelope(
        partner,
        interchange_ref=interchange.interchange_ref,
        group_ref=interchange.group_ref,
        message_ref=interchange.message_refs[0],
        prepared=interchange.created_at,
        ack_requested=partner.ack_requested,
    )
