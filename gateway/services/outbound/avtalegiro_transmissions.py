"""AvtaleGiro claim files' numbers: counted per data transmitter, fixed once per closed batch.

Nets refuses a transmission number its data transmitter has used before, and an assignment number used
within twelve months. A number derived from the batch (a hash) collides sooner or later, so the numbers are
counted instead, as EDI control numbers are (`gateway.services.tenancy.edi_partners.next_control_number`):
one counter row per data transmitter and kind (`transmission`, `assignment`), advanced with one
`UPDATE … RETURNING` in the transaction that records the batch's numbers (`avtalegiro_transmissions`).

`prepare_batch` runs before the channel's `send_batch` (the channel opens no database) and commits the
numbers before the hand-over: a later try of the same batch — after a transient failure, a lost lease or
a crash between the numbering and the hand-over — finds the row and writes the same numbers, so a file
Nets may already hold is the same file. A batch counts only the assignments its file holds (claims,
cancellations), and an empty batch (no file) counts nothing.

The numbers are seven digits and never wrap (a reused number is refused by Nets): the counter stops at
9,999,999 with `TransmissionNumbersExhausted`, which fails the batch naming the data transmitter.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from sqlalchemy import Engine, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session

from channels.avtalegiro import AvtaleGiroChannel
from channels.base import Channel, Failed, OutboundBatch, Retry
from channels.context import ChannelNeed, TransmissionNumbers
from db.models import AvtaleGiroCounter, AvtaleGiroTransmission, utcnow

_counters = AvtaleGiroCounter.__table__  # type: ignore[attr-defined]

#: Transmission and assignment numbers are seven digits; 0000000 is not used.
NUMBER_LIMIT = 9_999_999
TRANSMISSION = "transmission"
ASSIGNMENT = "assignment"


class TransmissionNumbersExhausted(RuntimeError):
    """A data transmitter has used every 7-digit number of a kind: Nets would refuse any of them again."""


def next_number(session: Session, data_transmitter: str, kind: str) -> int:
    """The data transmitter's next `kind` number, counted in the caller's transaction (which a raised
    `TransmissionNumbersExhausted` must roll back, so the counter stays at the last number used)."""
    statement = (
        update(_counters)
        .where(_counters.c.data_transmitter == data_transmitter, _counters.c.kind == kind)
        .values(last_value=_counters.c.last_value + 1)
        .returning(_counters.c.last_value)
    )
    for _ in range(3):
        value = session.execute(statement).scalar_one_or_none()
        if value is None:
            try:
                with session.begin_nested():  # two workers may create the first row at once
                    session.add(AvtaleGiroCounter(data_transmitter=data_transmitter, kind=kind))
                    session.flush()
            except IntegrityError:
                pass
            continue
        if value > NUMBER_LIMIT:
            raise TransmissionNumbersExhausted(
                f"AvtaleGiro {kind} numbers of data transmitter {data_transmitter} are used up (the last was "
                f"{NUMBER_LIMIT:07d}); Nets refuses a number used before: agree a new data transmitter id "
                "with Nets"
            )
        return int(value)
    raise RuntimeError(f"could not count an AvtaleGiro {kind} number")  # pragma: no cover


def numbers_of(row: AvtaleGiroTransmission) -> TransmissionNumbers:
    def digits(value: int | None) -> str | None:
        return None if value is None else f"{value:07d}"

    return TransmissionNumbers(
        data_transmitter=row.data_transmitter,
        transmission=f"{row.transmission_number:07d}",
        claims_assignment=digits(row.claims_assignment),
        cancellations_assignment=digits(row.cancellations_assignment),
    )


def numbers_for_batch(
    session: Session, *, batch_id: str, data_transmitter: str, claims: bool, cancellations: bool
) -> AvtaleGiroTransmission:
    """The batch's numbers: the first call counts them (only the assignments its file holds), later calls
    find the same row."""
    existing = session.get(AvtaleGiroTransmission, batch_id)
    if existing is not None:
        return existing
    transmission = next_number(session, data_transmitter, TRANSMISSION)
    claims_assignment = next_number(session, data_transmitter, ASSIGNMENT) if claims else None
    cancellations_assignment = next_number(session, data_transmitter, ASSIGNMENT) if cancellations else None
    row = AvtaleGiroTransmission(
        batch_id=batch_id,
        data_transmitter=data_transmitter,
        transmission_number=transmission,
        claims_assignment=claims_assignment,
        cancellations_assignment=cancellations_assignment,
        created_at=utcnow(),
    )
    session.add(row)
    session.flush()
    return row


def transmission_numbers(engine: Engine, batch: OutboundBatch, data_transmitter: str) -> TransmissionNumbers:
    """Count (or find) the batch's numbers and commit them before the hand-over."""
    for _ in range(2):  # a takeover may number the same batch at the same moment: then read theirs
        try:
            with Session(engine, expire_on_commit=False) as session, session.begin():
                row = numbers_for_batch(
                    session,
                    batch_id=batch.batch_id,
                    data_transmitter=data_transmitter,
                    claims=bool(batch.entries),
                    cancellations=bool(batch.cancellations),
                )
                return numbers_of(row)
        except IntegrityError:
            continue
    raise RuntimeError(f"could not record the numbers of batch {batch.batch_id}")  # pragma: no cover


def prepare_batch(
    engine: Engine, channel: Channel[Any], batch: OutboundBatch
) -> OutboundBatch | Failed | Retry:
    """`batch` with the numbers its channel declared it needs (`ChannelNeed.AVTALEGIRO_TRANSMISSION`); or why
    it cannot be handed over (now). A batch that needs none, already has them, or carries nothing to file
    is handed on as it is."""
    if (
        ChannelNeed.AVTALEGIRO_TRANSMISSION not in channel.capabilities.needs
        or batch.transmission is not None
        or not (batch.entries or batch.cancellations)
    ):
        return batch
    if not isinstance(channel, AvtaleGiroChannel):
        return Failed(
            f"channel {channel.name} asks for AvtaleGiro transmission numbers but is no AvtaleGiro channel",
            deviation=True,
        )
    try:
        numbers = transmission_numbers(engine, batch, channel.config.data_transmitter)
    except TransmissionNumbersExhausted as error:
        return Failed(str(error), deviation=True)
    except SQLAlchemyError as error:
        return Retry(f"AvtaleGiro transmission numbers could not be counted: {type(error).__name__}")
    except Exception as error:  # as `deliver_batch` does: the unexpected is a retry, its text masked
        return Retry(channel.mask(f"unexpected error numbering batch {batch.batch_id}: {error!r}"))
    return dataclasses.replace(batch, transmission=numbers)


__all__ = [
    "NUMBER_LIMIT",
    "TransmissionNumbersExhausted",
    "next_number",
    "numbers_for_batch",
    "prepare_batch",
    "transmission_numbers",
]
