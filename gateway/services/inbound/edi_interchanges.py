"""A trading partner's interchanges as people read them: newest first, each with its acknowledgement state.

`edi_acks` records what partners answer on each `EdiInterchange` (`ack_status`, `ack_details`); this module
only reads: the state in one word (accepted, rejected, partially, overdue, waiting, not expected) and
what the acknowledgement said in a sentence, so an operator need not read the CONTRL or 997 itself.
Pages are keyset pages (newest first by `created_at`, then id), so a page never repeats or skips a row
while new interchanges are written.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session
from sqlmodel import col

from db.models import EdiInterchange, InvoiceRecord, utcnow
from gateway.services.inbound.edi_acks import ANSWER_TYPES, OVERDUE
from mappings.acks.model import ACCEPTED, PARTIAL, RECEIVED, REJECTED, AckError

#: The acknowledgement states a person sees, in the order a summary lists them.
ACK_STATES = ("overdue", "rejected", "partially", "waiting", "received", "accepted", "not expected")

_WORDS = {
    ACCEPTED: "accepted",
    REJECTED: "rejected",
    PARTIAL: "partially",
    OVERDUE: "overdue",
    RECEIVED: "received",
}


def ack_state(row: EdiInterchange, now: dt.datetime | None = None) -> str:
    """One of `ACK_STATES`: what the partner answered, else whether an answer is still awaited.

    An interchange past its `ack_due_at` that the worker has not flagged yet is already `overdue` here.
    """
    if row.ack_status in _WORDS:
        return _WORDS[row.ack_status]
    if row.direction != "out" or row.ack_due_at is None or row.message_type in ANSWER_TYPES:
        return "not expected"
    due = row.ack_due_at if row.ack_due_at.tzinfo else row.ack_due_at.replace(tzinfo=dt.UTC)
    return "overdue" if due <= (now or utcnow()) else "waiting"


def _error_words(errors: Sequence[dict[str, Any]]) -> list[str]:
    words = []
    for error in errors:
        try:
            words.append(AckError(**error).describe())
        except TypeError:  # a shape this version does not know: say what it says
            words.append(str(error.get("text") or error))
    return words


def ack_in_words(row: EdiInterchange, now: dt.datetime | None = None) -> str:
    """What the acknowledgement said, or why there is none, as one sentence for a person."""
    state = ack_state(row, now)
    latest = (row.ack_details or {}).get("latest") if isinstance(row.ack_details, dict) else None
    if not isinstance(latest, dict) or "status" not in latest:
        if state == "overdue":
            return f"No acknowledgement by {row.ack_due_at:%Y-%m-%d %H:%M} UTC."
        if state == "waiting":
            return f"Waiting for the partner's acknowledgement (due {row.ack_due_at:%Y-%m-%d %H:%M} UTC)."
        if row.message_type in ANSWER_TYPES:
            return "Our acknowledgement of the partner's file; none is expected back."
        if row.direction == "in":
            return "Received from the partner."
        return "The partner's profile asks for no acknowledgement."
    kind = str(latest.get("kind") or "acknowledgement")
    parts = _error_words(latest.get("errors") or [])
    for message in latest.get("messages") or []:
        if not isinstance(message, dict):
            continue
        errors = _error_words(message.get("errors") or [])
        if message.get("status") != REJECTED and not errors:
            continue
        label = f"message {message.get('ref')}" + (f" ({message['type']})" if message.get("type") else "")
        parts.append(f"{label}: {'; '.join(errors) or str(message.get('status'))}")
    verdict = {
        "accepted": f"{kind}: accepted",
        "rejected": f"{kind}: rejected",
        "partially": f"{kind}: partly accepted",
        "received": f"{kind}: received, not yet checked by the partner",
    }.get(state, f"{kind}: {state}")
    sentence = verdict + (" — " + "; ".join(parts[:6]) if parts else "")
    if len(parts) > 6:
        sentence += f"; and {len(parts) - 6} more"
    if latest.get("note"):
        sentence += f" ({latest['note']})"
    return sentence + "."


@dataclass(frozen=True)
class InterchangeLine:
    """One interchange on a partner's page."""

    id: str
    direction: str
    message_type: str
    interchange_ref: str
    group_ref: str | None
    message_count: int
    created_at: dt.datetime
    invoice_number: str | None
    delivery_id: str | None
    ack_state: str
    ack_words: str
    ack_due_at: dt.datetime | None


@dataclass
class InterchangePage:
    lines: list[InterchangeLine]
    #: the id to pass as `after` for the next (older) page; None on the last page
    next_after: str | None


def partner_interchanges(
    session: Session,
    tenant_id: str,
    partner_id: str,
    *,
    after: str | None = None,
    limit: int = 25,
    now: dt.datetime | None = None,
) -> InterchangePage:
    """The partner's interchanges (both directions), newest first, `limit` a page, older than `after`."""
    query = select(EdiInterchange).where(
        col(EdiInterchange.tenant_id) == tenant_id, col(EdiInterchange.partner_id) == partner_id
    )
    if after:
        cursor = session.get(EdiInterchange, after)
        if cursor is not None and cursor.tenant_id == tenant_id and cursor.partner_id == partner_id:
            query = query.where(
                or_(
                    col(EdiInterchange.created_at) < cursor.created_at,
                    (col(EdiInterchange.created_at) == cursor.created_at)
                    & (col(EdiInterchange.id) < cursor.id),
                )
            )
    rows = list(
        session.execute(
            query.order_by(col(EdiInterchange.created_at).desc(), col(EdiInterchange.id).desc()).limit(
                limit + 1
            )
        ).scalars()
    )
    more = len(rows) > limit
    rows = rows[:limit]
    numbers = dict(
        session.execute(
            select(col(InvoiceRecord.id), col(InvoiceRecord.number)).where(
                col(InvoiceRecord.tenant_id) == tenant_id,
                col(InvoiceRecord.id).in_([r.invoice_id for r in rows if r.invoice_id]),
            )
        ).all()
    )
    now = now or utcnow()
    lines = [
        InterchangeLine(
            id=row.id,
            direction=row.direction,
            message_type=row.message_type,
            interchange_ref=row.interchange_ref,
            group_ref=row.group_ref,
            message_count=len(row.message_refs or []),
            created_at=row.created_at,
            invoice_number=numbers.get(row.invoice_id) if row.invoice_id else None,
            delivery_id=row.delivery_id,
            ack_state=ack_state(row, now),
            ack_words=ack_in_words(row, now),
            ack_due_at=row.ack_due_at,
        )
        for row in rows
    ]
    return InterchangePage(lines, rows[-1].id if more and rows else None)


@dataclass
class PartnerActivity:
    """A partner's outbound business interchanges in figures: how many, the last one, and by ack state."""

    sent: int = 0
    last_sent_at: dt.datetime | None = None
    states: dict[str, int] = field(default_factory=dict)


def partner_activity(
    session: Session, tenant_id: str, now: dt.datetime | None = None
) -> dict[str, PartnerActivity]:
    """Per partner of the tenant: the interchanges we sent (not our answers to theirs), by ack state."""
    now = now or utcnow()
    due_passed = col(EdiInterchange.ack_due_at) <= now
    rows = session.execute(
        select(
            col(EdiInterchange.partner_id),
            col(EdiInterchange.ack_status),
            col(EdiInterchange.ack_due_at).is_(None).label("no_deadline"),
            due_passed.label("due_passed"),
            func.count().label("total"),
            func.max(col(EdiInterchange.created_at)).label("last"),
        )
        .where(
            col(EdiInterchange.tenant_id) == tenant_id,
            col(EdiInterchange.direction) == "out",
            col(EdiInterchange.message_type).not_in(sorted(ANSWER_TYPES)),
        )
        .group_by(
            col(EdiInterchange.partner_id),
            col(EdiInterchange.ack_status),
            col(EdiInterchange.ack_due_at).is_(None),
            due_passed,
        )
    )
    activity: dict[str, PartnerActivity] = {}
    for row in rows:
        found = activity.setdefault(row.partner_id, PartnerActivity())
        if row.ack_status in _WORDS:
            state = _WORDS[row.ack_status]
        elif row.no_deadline:
            state = "not expected"
        else:
            state = "overdue" if row.due_passed else "waiting"
        found.sent += row.total
        found.states[state] = found.states.get(state, 0) + row.total
        last = row.last if row.last is None or row.last.tzinfo else row.last.replace(tzinfo=dt.UTC)
        if last is not None and (found.last_sent_at is None or last > found.last_sent_at):
            found.last_sent_at = last
    return activity
