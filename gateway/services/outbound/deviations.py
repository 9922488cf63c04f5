"""Deviations: one row per time a delivery enters `deviation`, with its cause, until someone closes it.

`on_status_change` is the gateway's status-change hook (`outbox.hooks`, subscribed by
`gateway.services.install_status_hooks`): the outbox calls it for every status change, in its transaction:
entering `deviation` opens a row (cause from `classify_deviation`); leaving it closes the open row —
`queued` (a resend, next attempt) → "resent", `delivered` (a late positive acknowledgement) or `cancelled` →
"resolved" by that actor; a new delivery queued for it (the worker's fallback, `details.fallback_of`, or an
operator's resend on another channel, `details.resend_of`) → "fallback", the row naming that delivery in
`covered_by`. An operator may also close a row without moving the delivery (`resolve_deviation`): the
delivery's history gets an event saying who and why.

The list shows each row in one of three states: `open` (someone has to act), `covered` (closed because
another delivery took over: it says which, and where that one stands) and `closed` (resent, resolved).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import ColumnElement, and_, func, insert, literal_column, or_, select, union_all, update
from sqlalchemy.orm import Session
from sqlmodel import col

from db.models import Delivery, Deviation, InvoiceRecord, new_id, utcnow
from gateway.services.outbound.deliveries import NotFound, delivery_view, find_delivery, resend
from gateway.services.outbound.resend import settle_siblings, sibling_report
from gateway.services.outbound.routing import chain_of, load_profiles
from gateway.services.tenancy import webhooks
from gateway.services.tenancy.tenants import tenant_settings
from outbox.hooks import StatusChange
from outbox.queue import note_event
from outbox.states import DeliveryStatus

VALIDATION_FAILED, RENDER_FAILED, REJECTED = "validation-failed", "render-failed", "rejected"
BOUNCED, RETURNED_MAIL, NEGATIVE_ACK, NO_ACK = "bounced", "returned-mail", "negative-ack", "no-ack"
UNDELIVERABLE, OTHER = "undeliverable", "other"
CAUSES = (
    VALIDATION_FAILED,
    RENDER_FAILED,
    REJECTED,
    BOUNCED,
    RETURNED_MAIL,
    NEGATIVE_ACK,
    NO_ACK,
    UNDELIVERABLE,
    OTHER,
)
RESOLVED, RESENT, FALLBACK = "resolved", "resent", "fallback"
#: The states the list shows; a row is in exactly one. `covered` is closed by a fallback (`covered_by`).
OPEN, COVERED, CLOSED = "open", "covered", "closed"
STATES = (OPEN, COVERED, CLOSED)
#: What the list shows unless asked otherwise: what needs someone, and what another delivery took over.
LISTED_BY_DEFAULT = (OPEN, COVERED)

_DEVIATION = DeliveryStatus.DEVIATION.value
_table = Deviation.__table__  # type: ignore[attr-defined]
_deliveries = Delivery.__table__  # type: ignore[attr-defined]
_INSERT = insert(_table)

#: `details["kind"]` of the services that move deliveries → cause (responses, bounces, EDI acks).
_KINDS = {
    "dsn": BOUNCED,
    "edi-ack-overdue": NO_ACK,
    "invoice-response": REJECTED,
    "mlr": REJECTED,
    "mls": REJECTED,
}
#: First match wins; the texts are the ones the worker, channels and services write as the reason.
_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    (BOUNCED, re.compile(r"^e-mail bounced\b")),
    (RETURNED_MAIL, re.compile(r"^returned mail\b")),
    (NO_ACK, re.compile(r"^no acknowledgement from\b")),
    (REJECTED, re.compile(r"^APERAK from\b")),
    (NEGATIVE_ACK, re.compile(r"^(CONTRL|997|999|TA1) from .*: (rejected|partial)\b")),
    (REJECTED, re.compile(r"^(Invoice Response|Message Level Response|Message Level Status) RE\b")),
    (REJECTED, re.compile(r"print house rejected batch\b")),
    (VALIDATION_FAILED, re.compile(r"^validation failed\b")),
    (
        RENDER_FAILED,
        re.compile(
            r"^cannot render\b|^rendering failed\b|^not printable\b|cannot render \S+ for trading partner"
        ),
    ),
    (
        VALIDATION_FAILED,
        re.compile(
            r"not a postable address|is not an e-mail address"
            r"|needs a receiver address and the delivery has none|the seller has no address country"
            r"|cannot address the PEPPOL envelope"
        ),
    ),
    (
        UNDELIVERABLE,
        re.compile(
            r"refused the (recipient|message|login|document)|host key|login .* refused|permission denied"
            r"|gave up after|cannot write to|AS4 error|AS4 endpoint|access point refused|cannot send to"
            r"|cannot take this message|\bunreachable\b|takes at most \d+",
            re.IGNORECASE,
        ),
    ),
]


def classify_deviation(
    channel: str | None, actor: str | None, reason: str | None, details: Mapping[str, Any] | None
) -> str:
    """The cause of a delivery entering `deviation`: `details["cause"]` if given, else by what reported it."""
    details = details or {}
    given = details.get("cause")
    if isinstance(given, str) and given in CAUSES:
        return given
    kind = details.get("kind")
    if kind == "edi-ack":
        return REJECTED if details.get("ack_kind") == "APERAK" else NEGATIVE_ACK
    if isinstance(kind, str) and kind in _KINDS:
        return _KINDS[kind]
    if details.get("validation"):
        return VALIDATION_FAILED
    text = (reason or "").strip()
    for cause, pattern in _PATTERNS:
        if pattern.search(text):
            return cause
    if actor and actor.endswith(":returns"):  # the print house's return files
        return RETURNED_MAIL if "returned" in text else REJECTED
    return OTHER


# --- tracking (the gateway's status-change hook) ---------------------------------------------------------


def on_status_change(session: Session, change: StatusChange) -> None:
    """What a delivery's status change means to the gateway, in the change's transaction: open or close
    its deviation row, then tell the tenant's webhooks (a deviation just opened gives its cause)."""
    cause = track_deviation(session, change)
    webhooks.emit_status_change(session, change, cause)


def track_deviation(session: Session, change: StatusChange) -> str | None:
    """Open or close deviation rows for one history row; the cause when the delivery entered deviation."""
    to_status, from_status = change.to_status, change.from_status
    if to_status == _DEVIATION and from_status != _DEVIATION:
        return _open(session, change)
    if from_status == _DEVIATION and to_status != _DEVIATION:
        closure = RESENT if to_status == DeliveryStatus.QUEUED.value else RESOLVED
        close_open(
            session,
            change.delivery_id,
            closure=closure,
            actor=change.actor,
            reason=change.reason,
            at=change.at,
        )
    elif from_status is None and change.details:
        replaced = change.details.get("fallback_of") or change.details.get("resend_of")
        if isinstance(replaced, str):
            close_open(
                session,
                replaced,
                closure=FALLBACK,
                actor=change.actor,
                reason=f"{change.reason} (delivery {change.delivery_id})",
                at=change.at,
                covered_by=change.delivery_id,
            )
    return None


def _open(session: Session, change: StatusChange) -> str:
    channel = session.execute(
        select(_deliveries.c.channel).where(_deliveries.c.id == change.delivery_id)
    ).scalar_one()
    cause = classify_deviation(channel, change.actor, change.reason, change.details)
    row = {
        "id": new_id(),
        "tenant_id": change.tenant_id,
        "delivery_id": change.delivery_id,
        "invoice_id": change.invoice_id,
        "attempt": change.attempt,
        "channel": channel,
        "cause": cause,
        "detail": change.reason,
        "opened_at": change.at,
    }
    session.execute(_INSERT, row)
    if webhooks.wants_any(session, change.tenant_id, webhooks.DEVIATION_OPENED):
        webhooks.emit(
            session,
            change.tenant_id,
            webhooks.DEVIATION_OPENED,
            _payload(session, row, status="open"),
            at=change.at,
        )
    return cause


def close_open(
    session: Session,
    delivery_id: str,
    *,
    closure: str,
    actor: str,
    reason: str | None,
    at: dt.datetime | None = None,
    deviation_id: str | None = None,
    covered_by: str | None = None,
) -> list[str]:
    """Close the delivery's open deviation rows (or only `deviation_id`); the ids closed.

    `covered_by`: the delivery that took over (a "fallback" closure), shown as what covers the row."""
    at = at or utcnow()
    condition = [_table.c.delivery_id == delivery_id, _table.c.closed_at.is_(None)]
    if deviation_id is not None:
        condition.append(_table.c.id == deviation_id)
    rows = session.execute(
        update(_table)
        .where(*condition)
        .values(
            closed_at=at,
            closed_by=actor[:200],
            closure=closure,
            closure_reason=reason,
            covered_by=covered_by,
        )
        .returning(
            _table.c.id,
            _table.c.tenant_id,
            _table.c.delivery_id,
            _table.c.invoice_id,
            _table.c.attempt,
            _table.c.channel,
            _table.c.cause,
            _table.c.detail,
        )
    ).all()
    for row in rows:
        if webhooks.wants_any(session, row.tenant_id, webhooks.DEVIATION_CLOSED):
            payload = _payload(session, dict(row._mapping), status=COVERED if covered_by else CLOSED)
            payload.update(closure=closure, closed_by=actor, closure_reason=reason, covered_by=covered_by)
            webhooks.emit(session, row.tenant_id, webhooks.DEVIATION_CLOSED, payload, at=at)
    return [row.id for row in rows]


def _payload(session: Session, row: Mapping[str, Any], *, status: str) -> dict[str, Any]:
    number = session.execute(
        select(col(InvoiceRecord.number)).where(col(InvoiceRecord.id) == row["invoice_id"])
    ).scalar_one_or_none()
    return {
        "deviation_id": row["id"],
        "invoice_id": row["invoice_id"],
        "invoice_number": number,
        "delivery_id": row["delivery_id"],
        "channel": row["channel"],
        "attempt": row["attempt"],
        "deviation_cause": row["cause"],
        "reason": row["detail"],
        "deviation_status": status,
    }


# --- operations: list, resolve, resend ---------------------------------------------------------------------


class DeviationClosed(ValueError):
    """The deviation was closed already (resolved, resent or fallen back); nothing changed."""


_HINTS: dict[str, dict[str, str]] = {
    VALIDATION_FAILED: {
        "resend": "fix the invoice data or the receiver's address the reason names, then resend",
        "resend-elsewhere": "send it on a channel whose format the data can pass",
        "resolve": "the invoice was corrected or replaced outside the gateway",
    },
    RENDER_FAILED: {
        "resend": "fix the data or the format/branding settings that failed to render, then resend",
        "resend-elsewhere": "send it on a channel with another format",
        "resolve": "the invoice was handled outside the gateway",
    },
    REJECTED: {
        "resend": "after the receiver's objection is fixed (often a credit note and a corrected invoice)",
        "resolve": "the rejection was handled with the receiver (credit note, new invoice)",
    },
    BOUNCED: {
        "resend": "resend to another e-mail address (--to / address)",
        "resend-elsewhere": "fall back to paper or EHF",
        "resolve": "the customer got the invoice another way",
    },
    RETURNED_MAIL: {
        "resend": "resend after fixing the buyer's postal address",
        "resend-elsewhere": "switch to e-mail or EHF",
        "resolve": "the customer got the invoice another way",
    },
    NEGATIVE_ACK: {
        "resend": "fix the segment/element the acknowledgement names (data or partner profile), then resend",
        "resend-elsewhere": "send it on another channel",
        "resolve": "the partner accepted it out of band",
    },
    NO_ACK: {
        "resend": "resend (a new interchange with new control numbers)",
        "resend-elsewhere": "send it on another channel",
        "resolve": "the partner confirms receipt out of band",
    },
    UNDELIVERABLE: {
        "resend": "resend once the channel or the address is fixed",
        "resend-elsewhere": "send it on the receiver's fallback channel",
        "resolve": "the invoice was delivered another way",
    },
    OTHER: {
        "resend": "resend once the cause is fixed",
        "resend-elsewhere": "send it on another channel",
        "resolve": "handled outside the gateway",
    },
}


def _actions(cause: str, channel: str, chain: list[str] | None) -> list[dict[str, Any]]:
    hints = _HINTS.get(cause, _HINTS[OTHER])
    actions: list[dict[str, Any]] = []
    for action, hint in hints.items():
        entry: dict[str, Any] = {"action": action, "hint": hint}
        if action == "resend-elsewhere":
            others = [c for c in (chain or []) if c != channel]
            entry["channels"] = others or ["any"]
        actions.append(entry)
    return actions


#: Where a page of the list ended: the last row's `opened_at` and id (the list's order, newest first).
DeviationCursor = tuple[dt.datetime, str]


def deviation_state(deviation: Deviation) -> str:
    """`open`, `covered` (closed because another delivery took over) or `closed`."""
    if deviation.closed_at is None:
        return OPEN
    return COVERED if deviation.closure == FALLBACK else CLOSED


def _state_condition(state: str) -> ColumnElement[bool]:
    closed_at, closure = col(Deviation.closed_at), col(Deviation.closure)
    if state == OPEN:
        return closed_at.is_(None)
    if state == COVERED:  # a closure is written only when a deviation is closed
        return closure == literal_column(f"'{FALLBACK}'")
    return and_(closed_at.is_not(None), or_(closure.is_(None), closure != FALLBACK))


def wanted_states(status: str | Iterable[str]) -> tuple[str, ...]:
    """The states asked for: one of `STATES`, several, or "all"; ValueError names what is known."""
    asked = [status] if isinstance(status, str) else list(status)
    if "all" in asked:
        return STATES
    unknown = [state for state in asked if state not in STATES]
    if unknown or not asked:
        raise ValueError(f"state {', '.join(map(repr, unknown)) or 'none'}: open, covered, closed or all")
    return tuple(state for state in STATES if state in asked)


def deviation_view(
    deviation: Deviation,
    *,
    number: str | None = None,
    buyer: str | None = None,
    delivery_status: str | None = None,
    chain: list[str] | None = None,
    covering: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """One row as the list shows it; `covering`: the covering delivery's id, channel and status."""
    is_open = deviation.closed_at is None
    return {
        "id": deviation.id,
        "status": deviation_state(deviation),
        "delivery_id": deviation.delivery_id,
        "invoice_id": deviation.invoice_id,
        "invoice_number": number,
        "buyer": buyer,
        "channel": deviation.channel,
        "attempt": deviation.attempt,
        "cause": deviation.cause,
        "detail": deviation.detail,
        "opened_at": deviation.opened_at.isoformat(),
        "closed_at": deviation.closed_at.isoformat() if deviation.closed_at else None,
        "closed_by": deviation.closed_by,
        "closure": deviation.closure,
        "closure_reason": deviation.closure_reason,
        "delivery_status": delivery_status,
        "covered_by": dict(covering) if covering else None,
        "actions": _actions(deviation.cause, deviation.channel, chain) if is_open else [],
    }


def list_deviations(
    session: Session,
    tenant_id: str | None,
    *,
    status: str | Iterable[str] = OPEN,
    cause: str | None = None,
    channel: str | None = None,
    since: dt.datetime | None = None,
    opened_before: dt.datetime | None = None,
    after: DeviationCursor | None = None,
    limit: int = 100,
    offset: int = 0,
    deviation_id: str | None = None,
) -> list[dict[str, Any]]:
    """Deviations across channels in the states asked for (`wanted_states`), newest first, each with the
    actions that fit its cause; a covered one names the delivery that took over and where it stands.

    `opened_before`: only those older than that (an inbox's "older than 1 d"); `after`: the page after the
    row the cursor names (keyset paging: rows opened meanwhile do not shift the pages)."""
    states = wanted_states(status)
    # The page's rows are chosen on the deviations table alone (filters, order, limit), then joined: a
    # planner that joins every open deviation to its invoice and deliveries before sorting them would
    # read tens of thousands of rows to show fifty.
    common = _filters(
        tenant_id, STATES, cause=cause, channel=channel, since=since, opened_before=opened_before
    )
    if deviation_id is not None:
        common.append(col(Deviation.id) == deviation_id)
    if after is not None:
        opened_at, after_id = after
        common.append(
            or_(
                col(Deviation.opened_at) < opened_at,
                and_(col(Deviation.opened_at) == opened_at, col(Deviation.id) > after_id),
            )
        )
    ordered = (col(Deviation.opened_at).desc(), col(Deviation.id))
    # One branch per state, each the newest `limit + offset` of its own index range (open: closed_at is
    # null; covered: closure `fallback`, in opened_at order), merged: an OR of the states let both
    # planners read every deviation the tenant ever had, and covered ones are never closed further.
    branches = [
        select(col(Deviation.id), col(Deviation.opened_at))
        .where(*common, *([] if states == STATES else [_state_condition(state)]))
        .order_by(*ordered)
        .limit(limit + offset)
        .subquery()
        for state in (states if states != STATES else (OPEN,))
    ]
    merged = union_all(*(select(branch.c.id, branch.c.opened_at) for branch in branches)).subquery()
    page = select(merged.c.id).order_by(merged.c.opened_at.desc(), merged.c.id).limit(limit).offset(offset)
    page_ids = list(session.execute(page).scalars())
    if not page_ids:
        return []
    covering = _deliveries.alias("covering")
    query = (
        select(
            Deviation,
            col(InvoiceRecord.number),
            col(InvoiceRecord.buyer_name),
            col(InvoiceRecord.receiver_id),
            col(Delivery.status),
            covering.c.channel,
            covering.c.status,
        )
        .outerjoin(InvoiceRecord, col(InvoiceRecord.id) == col(Deviation.invoice_id))  # an EDI ack has none
        .join(Delivery, col(Delivery.id) == col(Deviation.delivery_id))
        .outerjoin(covering, covering.c.id == col(Deviation.covered_by))
        .where(col(Deviation.id).in_(page_ids))
        .order_by(*ordered)
    )
    rows = session.execute(query).all()
    chains: dict[tuple[str, str], list[str]] = {}
    wanted: dict[str, set[str]] = {}
    for deviation, _number, _buyer, receiver_id, *_statuses in rows:
        if receiver_id and deviation.closed_at is None:
            wanted.setdefault(deviation.tenant_id, set()).add(receiver_id)
    for tenant, receivers in wanted.items():
        waterfall = tenant_settings(session, tenant).consumer_waterfall
        for receiver_id, profile in load_profiles(session, tenant, receivers).items():
            chains[(tenant, receiver_id)] = chain_of(profile, waterfall)
    return [
        deviation_view(
            deviation,
            number=number,
            buyer=buyer,
            delivery_status=str(delivery_status),
            chain=chains.get((deviation.tenant_id, receiver_id or "")),
            covering={"delivery_id": deviation.covered_by, "channel": channel, "status": str(status)}
            if deviation.covered_by and channel is not None
            else None,
        )
        for deviation, number, buyer, receiver_id, delivery_status, channel, status in rows
    ]


def _filters(
    tenant_id: str | None,
    states: tuple[str, ...],
    *,
    cause: str | None = None,
    channel: str | None = None,
    since: dt.datetime | None = None,
    opened_before: dt.datetime | None = None,
) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if tenant_id is not None:
        conditions.append(col(Deviation.tenant_id) == tenant_id)
    if states != STATES:
        conditions.append(or_(*(_state_condition(state) for state in states)))
    if cause is not None:
        conditions.append(col(Deviation.cause) == cause)
    if channel is not None:
        conditions.append(col(Deviation.channel) == channel)
    if since is not None:
        conditions.append(col(Deviation.opened_at) >= since)
    if opened_before is not None:
        conditions.append(col(Deviation.opened_at) < opened_before)
    return conditions


def count_by_cause(
    session: Session,
    tenant_id: str | None,
    *,
    status: str | Iterable[str] = OPEN,
    channel: str | None = None,
    since: dt.datetime | None = None,
    opened_before: dt.datetime | None = None,
) -> dict[str, int]:
    """How many deviations of each cause match the other filters (an inbox shows them beside its cause
    filter, so a person sees where the work is before choosing); causes with none are left out."""
    conditions = _filters(
        tenant_id, wanted_states(status), channel=channel, since=since, opened_before=opened_before
    )
    rows = session.execute(
        select(col(Deviation.cause), func.count()).where(*conditions).group_by(col(Deviation.cause))
    ).all()
    return {cause: int(count) for cause, count in sorted(rows)}


def deviation_channels(session: Session, tenant_id: str | None) -> list[str]:
    """The channels the tenant's deviations were on, by name: what a channel filter can offer."""
    query = select(col(Deviation.channel)).distinct()
    if tenant_id is not None:
        query = query.where(col(Deviation.tenant_id) == tenant_id)
    return sorted(session.execute(query).scalars())


def find_deviation(session: Session, tenant_id: str | None, deviation_id: str) -> Deviation:
    deviation = session.get(Deviation, deviation_id)
    if deviation is None or (tenant_id is not None and deviation.tenant_id != tenant_id):
        raise NotFound(f"deviation {deviation_id} not found")
    return deviation


def _view(session: Session, deviation: Deviation) -> dict[str, Any]:
    session.refresh(deviation)
    found = list_deviations(session, deviation.tenant_id, status="all", deviation_id=deviation.id)
    return found[0] if found else deviation_view(deviation)


def resolve_deviation(
    session: Session, tenant_id: str | None, deviation_id: str, *, actor: str, reason: str
) -> dict[str, Any]:
    """Close an open deviation as "resolved"; the delivery stays as it is, an event says who and why."""
    deviation = find_deviation(session, tenant_id, deviation_id)
    if deviation.closed_at is not None:
        raise DeviationClosed(f"deviation {deviation_id} was closed already ({deviation.closure})")
    now = utcnow()
    closed = close_open(
        session,
        deviation.delivery_id,
        closure=RESOLVED,
        actor=actor,
        reason=reason,
        at=now,
        deviation_id=deviation.id,
    )
    if not closed:
        raise DeviationClosed(f"deviation {deviation_id} was closed at the same time by someone else")
    delivery = find_delivery(session, None, deviation.delivery_id)
    note_event(
        session,
        delivery,
        actor=actor,
        reason=f"deviation resolved ({deviation.cause}): {reason}",
        details={"deviation_id": deviation.id, "closure": RESOLVED, "cause": deviation.cause},
    )
    return _view(session, deviation)


def resend_deviation(
    session: Session,
    tenant_id: str | None,
    deviation_id: str,
    *,
    actor: str,
    reason: str | None,
    channel: str | None = None,
    address: str | None = None,
    cancel_others: bool = False,
) -> dict[str, Any]:
    """Resend the deviating delivery (its next attempt, or a new delivery on `channel`) and close the row;
    the invoice's other deliveries still waiting are reported, or cancelled (`resend.settle_siblings`)."""
    deviation = find_deviation(session, tenant_id, deviation_id)
    if deviation.closed_at is not None:
        raise DeviationClosed(f"deviation {deviation_id} was closed already ({deviation.closure})")
    delivery = find_delivery(session, None, deviation.delivery_id)
    why = reason or f"resend after deviation ({deviation.cause})"
    sent = resend(session, delivery, actor=actor, reason=why, channel=channel, address=address)
    # record_event closed it (resent / fallback); this covers a delivery that was no longer in deviation
    elsewhere = sent.id != delivery.id
    close_open(
        session,
        delivery.id,
        closure=FALLBACK if elsewhere else RESENT,
        actor=actor,
        reason=why,
        deviation_id=deviation.id,
        covered_by=sent.id if elsewhere else None,
    )
    siblings = settle_siblings(session, sent, actor=actor, reason=why, cancel_others=cancel_others)
    return {
        "deviation": _view(session, deviation),
        "delivery": delivery_view(sent),
        **sibling_report(siblings),
    }
