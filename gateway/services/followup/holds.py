"""Holding follow-up on one invoice: a person stops reminders (the daily run skips a held invoice with the
reason `held`) and later resumes them.

The hold itself is `FollowUpState.held` (the row is made when follow-up never touched the invoice yet); who
held it and why is a line in the invoice's own history (`notices.note_on_invoices`), which `hold_note`
reads back for the invoice page, so the state table needs no column for it.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlmodel import col

from db.models import DeliveryEvent, FollowUpState
from gateway.services.followup.disputes import FollowUpRefused, invoice_of
from gateway.services.followup.notices import note_on_invoices

#: The key of the history line's details that says a person held or resumed follow-up.
HOLD_KEY = "follow_up_hold"
MAX_REASON = 1000


def set_hold(
    session: Session,
    tenant_id: str,
    invoice_reference: str,
    *,
    held: bool,
    reason: str,
    actor: str,
    now: dt.datetime,
) -> FollowUpState:
    """Hold (or resume) follow-up on the tenant's invoice, saying why; holding a held one is a 409."""
    invoice = invoice_of(session, tenant_id, invoice_reference)
    reason = reason.strip()
    if not reason:
        raise FollowUpRefused("reason", "say why follow-up is held or resumed (it is written to its history)")
    if len(reason) > MAX_REASON:
        raise FollowUpRefused("reason", f"at most {MAX_REASON} characters")
    state = session.get(FollowUpState, invoice.id, with_for_update=True)
    if state is None:
        state = FollowUpState(invoice_id=invoice.id, tenant_id=tenant_id)
    if state.held == held:
        raise FollowUpRefused(
            "held", f"follow-up on {invoice.number} is {'held' if held else 'not held'} already", 409
        )
    state.held = held
    state.updated_at = now
    session.add(state)
    session.flush()
    word = "held" if held else "resumed"
    note_on_invoices(
        session, [invoice.id], actor=actor, reason=f"follow-up {word}: {reason}", details={HOLD_KEY: word}
    )
    return state


def hold_note(session: Session, invoice_id: str) -> dict[str, Any] | None:
    """Who last held follow-up on the invoice, when and why (from its history); None when no line says."""
    events = session.execute(
        select(DeliveryEvent)
        .where(col(DeliveryEvent.invoice_id) == invoice_id)
        .order_by(col(DeliveryEvent.id).desc())
    ).scalars()
    for event in events:
        if (event.details or {}).get(HOLD_KEY) == "held":
            reason = (event.reason or "").removeprefix("follow-up held: ")
            return {"actor": event.actor, "reason": reason, "at": event.at}
    return None
