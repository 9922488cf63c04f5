"""One action on many deviations at once: resend them all, or resolve them all with one reason.

A person picks rows in an inbox, sees what will happen to each (`plan_bulk`) and confirms (`run_bulk`).
Every item goes through the same service as a single action (`resend_deviation`, `resolve_deviation`), in
its own transaction: one that fails (its delivery was taken by a worker meanwhile, say) is reported and
does not undo the others. An item closed already is skipped and said so. Any id that is not the tenant's
refuses the whole request before anything is done, so a forged form acts on nobody's deviations.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from db.engine import session_scope
from db.models import Deviation, InvoiceRecord
from gateway.services.outbound.deliveries import NotFound, find_delivery
from gateway.services.outbound.deviations import (
    DeviationClosed,
    deviation_state,
    find_deviation,
    resend_deviation,
    resolve_deviation,
)
from outbox.queue import StaleStatus
from outbox.states import IllegalTransition

BulkAction = Literal["resend", "resolve"]
BULK_ACTIONS: tuple[BulkAction, ...] = ("resend", "resolve")


class TooManyItems(ValueError):
    """More items than one bulk action may take (`settings.max_bulk_items`)."""


@dataclass(frozen=True)
class PlannedStep:
    """What a bulk action will do to one deviation: `will` is "resend", "resolve" or "skip"; `what` says it
    in words (which attempt on which channel to which address, or why it is skipped)."""

    deviation_id: str
    label: str
    buyer: str | None
    channel: str
    cause: str
    will: str
    what: str


@dataclass
class BulkOutcome:
    """What a bulk action did, item by item (each list holds the items' labels)."""

    resent: list[str] = field(default_factory=list)
    resolved: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)

    def summary(self) -> str:
        """`Resent 2, resolved 0, skipped 1 (already closed)`, then which failed and why."""
        text = f"Resent {len(self.resent)}, resolved {len(self.resolved)}, skipped {len(self.skipped)}"
        if self.skipped:
            text += f" (already closed: {', '.join(self.skipped)})"
        if self.failed:
            reasons = "; ".join(f"{label}: {why}" for label, why in self.failed)
            text += f"; failed {len(self.failed)} ({reasons})"
        return text + "."


def _label(session: Session, deviation: Deviation) -> str:
    """A person's name for the item: the invoice number, else the delivery (an EDI ack has no invoice)."""
    if deviation.invoice_id is not None:
        invoice = session.get(InvoiceRecord, deviation.invoice_id)
        if invoice is not None:
            return f"invoice {invoice.number}"
    return f"delivery {deviation.delivery_id[:8]}"


def checked_ids(deviation_ids: Sequence[str], limit: int) -> list[str]:
    """The ids once each, in the order given; `TooManyItems` above `limit`, ValueError for none."""
    unique = list(dict.fromkeys(deviation_ids))
    if not unique:
        raise ValueError("select at least one deviation")
    if len(unique) > limit:
        raise TooManyItems(f"{len(unique)} deviations selected; at most {limit} per action")
    return unique


def plan_bulk(
    session: Session, tenant_id: str, deviation_ids: Sequence[str], action: BulkAction
) -> list[PlannedStep]:
    """What `run_bulk` would do to each deviation, changing nothing; `NotFound` if any is not the tenant's."""
    deviations = [find_deviation(session, tenant_id, deviation_id) for deviation_id in deviation_ids]
    steps = []
    for deviation in deviations:
        label = _label(session, deviation)
        invoice = session.get(InvoiceRecord, deviation.invoice_id) if deviation.invoice_id else None
        buyer = invoice.buyer_name if invoice is not None else None
        if deviation.closed_at is not None:
            state = "covered by another delivery" if deviation_state(deviation) == "covered" else "closed"
            how = f"{deviation.closure} by {deviation.closed_by}" if deviation.closure else "closed"
            will, what = "skip", f"already {state} ({how})"
        elif action == "resend":
            delivery = find_delivery(session, None, deviation.delivery_id)
            to = f" to {delivery.address}" if delivery.address else ""
            will = "resend"
            what = f"attempt {delivery.attempt + 1} on {delivery.channel}{to}"
        else:
            will, what = "resolve", "closes as resolved; the delivery stays as it is"
        steps.append(PlannedStep(deviation.id, label, buyer, deviation.channel, deviation.cause, will, what))
    return steps


def run_bulk(
    engine: Engine,
    tenant_id: str,
    deviation_ids: Sequence[str],
    action: BulkAction,
    *,
    actor: str,
    reason: str | None,
) -> BulkOutcome:
    """Resend or resolve each deviation, each in its own transaction, through the single-item services."""
    if action == "resolve" and not reason:
        raise ValueError("resolving needs a reason")
    with session_scope(engine) as session:  # any id not the tenant's: refuse before doing anything
        labels = {
            deviation_id: _label(session, find_deviation(session, tenant_id, deviation_id))
            for deviation_id in deviation_ids
        }
    outcome = BulkOutcome()
    for deviation_id in deviation_ids:
        label = labels[deviation_id]
        try:
            with session_scope(engine) as session:
                if action == "resend":
                    resend_deviation(session, tenant_id, deviation_id, actor=actor, reason=reason or None)
                else:
                    resolve_deviation(session, tenant_id, deviation_id, actor=actor, reason=reason or "")
        except DeviationClosed:
            outcome.skipped.append(label)
        except (IllegalTransition, StaleStatus, NotFound, ValueError) as error:
            outcome.failed.append((label, str(error)))
        else:
            (outcome.resent if action == "resend" else outcome.resolved).append(label)
    return outcome
