"""Resend an invoice, optionally with its proofs of delivery: the operator's answer to "it never came".

The invoice's latest delivery (or its delivery on the asked channel) is sent again: on the same channel as
its next attempt, on another channel as a new delivery. With `with_pod` the documents of the proofs of
delivery linked to the invoice travel with that attempt (`Delivery.extra_documents`); the worker appends
them to a PDF, embeds them in EHF or hands them to the channel beside the document. The resend event
records who asked, why, and what went along.

Every way of sending again (this module, `POST /deliveries/{id}/resend`, corrections, deviations) then
looks at the invoice's other deliveries (`settle_siblings`): one still waiting to go out — queued, held, or
batched in a print batch that has not closed, e.g. the fallback letter of a bounced e-mail — would reach
the buyer too. The caller is warned about each, or with `cancel_others` they are cancelled, each with an
event saying who cancelled it and for which delivery.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlmodel import col

from channels import channel_class
from db.models import BatchItem, Delivery
from gateway.services.inbound.pods import pods_for_invoice
from gateway.services.outbound import deliveries
from outbox.states import LEASED, DeliveryStatus, check_transition


class ResendRefused(RuntimeError):
    """The delivery cannot be sent again now (being worked on, waiting in a batch, …); nothing changed."""


class NoProofOfDelivery(ResendRefused):
    """A resend with proof of delivery was asked for, and the invoice has none with a document."""


#: POD kinds whose file travels with a resend (appended to a PDF, embedded in EHF, or beside the document).
SENDABLE_KINDS = frozenset({"pdf", "jpeg", "png"})
#: A document waiting for a print batch is the batch's now; a resend would print it twice.
_BUSY = LEASED | {DeliveryStatus.BATCHED}


def pick_delivery(session: Session, tenant_id: str, invoice_id: str, channel: str | None) -> Delivery:
    """The invoice's delivery on `channel` if it has one, else its latest delivery."""
    deliveries.find_invoice(session, tenant_id, invoice_id)
    query = select(Delivery).where(
        col(Delivery.invoice_id) == invoice_id, col(Delivery.tenant_id) == tenant_id
    )
    newest_first = query.order_by(col(Delivery.created_at).desc(), col(Delivery.id).desc())
    if channel is not None:
        on_channel = session.execute(
            newest_first.where(col(Delivery.channel) == channel).limit(1)
        ).scalar_one_or_none()
        if on_channel is not None:
            return on_channel
    latest = session.execute(newest_first.limit(1)).scalar_one_or_none()
    if latest is None:
        raise deliveries.NotFound(f"invoice {invoice_id} has no delivery to send again")
    return latest


def base_delivery(
    session: Session, tenant_id: str, invoice_id: str, *, delivery_id: str | None, channel: str | None
) -> Delivery:
    """The delivery a resend of the invoice starts from: the one named (it must be this invoice's), else
    the one `pick_delivery` takes. `deliveries.NotFound` for a delivery of another invoice or tenant."""
    if delivery_id is None:
        return pick_delivery(session, tenant_id, invoice_id, channel)
    return deliveries.find_invoice_delivery(session, tenant_id, invoice_id, delivery_id)


def pod_documents(
    session: Session, tenant_id: str, invoice_id: str, only: Collection[str] | None = None
) -> tuple[list[str], list[str]]:
    """The ids of the invoice's linked proofs of delivery with a signed document or photo (those of them
    in `only`, when given), and the stored document ids of those files (a transport status is data for the
    history, not a page to send)."""
    pods = [
        pod
        for pod in pods_for_invoice(session, tenant_id, invoice_id)
        if pod.document_id and pod.kind in SENDABLE_KINDS and (only is None or pod.id in only)
    ]
    pod_ids = [pod.id for pod in pods]
    document_ids = list(dict.fromkeys(pod.document_id for pod in pods if pod.document_id))
    return pod_ids, document_ids


@dataclass(frozen=True)
class ResendPlan:
    """What a resend will do, worked out before anything is written: the delivery sent again (`base`), the
    channel and address it goes to, the proofs of delivery that go with it and the invoice's deliveries that
    will still be waiting beside it. A preview shows this; `carry_out_resend` does exactly this."""

    base: Delivery
    channel: str
    requested_address: str | None  # None: the delivery's own address (same channel) or the invoice's
    new_delivery: bool  # another channel: a new delivery; else the base's next attempt
    with_pod: bool
    pod_ids: tuple[str, ...]
    document_ids: tuple[str, ...]
    waiting: tuple[Delivery, ...]  # the invoice's other deliveries that will still go out afterwards
    reason: str

    @property
    def address(self) -> str | None:
        """Where the attempt goes; None when a new delivery takes its address from the invoice."""
        if self.requested_address is not None:
            return self.requested_address
        return None if self.new_delivery else self.base.address


def plan_resend(
    session: Session,
    delivery: Delivery,
    *,
    reason: str | None,
    with_pod: bool,
    channel: str | None,
    address: str | None,
    only_pods: Collection[str] | None = None,
) -> ResendPlan:
    """The plan of sending `delivery`'s invoice again, or the refusal (`ResendRefused`, `NoProofOfDelivery`,
    `IllegalTransition`, `UnknownChannel`, `ChannelUnavailable`); reads only, writes nothing. With
    `with_pod`, `only_pods` chooses which of the invoice's proofs of delivery go (each must be sendable)."""
    status = DeliveryStatus(delivery.status)
    if status in _BUSY:
        raise ResendRefused(
            f"delivery {delivery.id} is {status.value}: "
            + ("waiting in a print batch" if status is DeliveryStatus.BATCHED else "being worked on")
            + "; try again when it has finished"
        )
    new_delivery = channel is not None and channel != delivery.channel
    if new_delivery:
        assert channel is not None
        channel_class(channel)  # UnknownChannel / ChannelUnavailable before anything changes
    else:
        check_transition(status, DeliveryStatus.QUEUED)  # IllegalTransition: already queued, cancelled
    pod_ids: list[str] = []
    document_ids: list[str] = []
    if with_pod:
        pod_ids, document_ids = pod_documents(
            session, delivery.tenant_id, delivery.invoice_id or "", only_pods
        )
        missing = sorted(set(only_pods or ()) - set(pod_ids))
        if missing:
            raise NoProofOfDelivery(
                f"proof of delivery {missing[0]} is not linked to invoice {delivery.invoice_id} "
                "or has no document to send"
            )
        if not document_ids:
            raise NoProofOfDelivery(
                f"no proof of delivery linked to invoice {delivery.invoice_id} "
                "(or none with a document to send)"
            )
    waiting = waiting_deliveries(
        session, delivery.tenant_id, delivery.invoice_id, besides=None if new_delivery else delivery.id
    )
    return ResendPlan(
        base=delivery,
        channel=channel if new_delivery and channel is not None else delivery.channel,
        requested_address=address,
        new_delivery=new_delivery,
        with_pod=with_pod,
        pod_ids=tuple(pod_ids),
        document_ids=tuple(document_ids),
        waiting=tuple(waiting),
        reason=reason or ("resend with proof of delivery" if with_pod else "resend requested"),
    )


def carry_out_resend(session: Session, plan: ResendPlan, *, actor: str) -> Delivery:
    """Do what `plan` says: the base's next attempt, or a new delivery on the plan's channel."""
    base = plan.base
    details: dict[str, Any] = {
        "with_pod": plan.with_pod,
        "pod_ids": list(plan.pod_ids),
        "extra_documents": list(plan.document_ids),
        "channel": plan.channel,
        "address": plan.requested_address if plan.requested_address is not None else base.address,
        "reason": plan.reason,
        "requested_by": actor,
    }
    return deliveries.resend(
        session,
        base,
        actor=actor,
        reason=plan.reason,
        channel=plan.channel if plan.new_delivery else None,
        address=plan.requested_address,
        extra_documents=list(plan.document_ids),
        details=details,
    )


def resend_delivery(
    session: Session,
    delivery: Delivery,
    *,
    actor: str,
    reason: str | None,
    with_pod: bool,
    channel: str | None,
    address: str | None,
    only_pods: Collection[str] | None = None,
) -> Delivery:
    """Send `delivery`'s invoice again (see the module doc): `plan_resend`, then `carry_out_resend`; raises
    before writing anything when refused."""
    plan = plan_resend(
        session,
        delivery,
        reason=reason,
        with_pod=with_pod,
        channel=channel,
        address=address,
        only_pods=only_pods,
    )
    return carry_out_resend(session, plan, actor=actor)


def resend_invoice(
    session: Session,
    tenant_id: str,
    invoice_id: str,
    *,
    actor: str,
    reason: str | None,
    with_pod: bool,
    channel: str | None,
    address: str | None,
) -> Delivery:
    """Send an invoice again: its delivery on `channel` (else its latest) gets the next attempt, or a new
    delivery on `channel` is made; `with_pod` sends the linked proofs of delivery with it."""
    delivery = pick_delivery(session, tenant_id, invoice_id, channel)
    return resend_delivery(
        session,
        delivery,
        actor=actor,
        reason=reason,
        with_pod=with_pod,
        channel=channel,
        address=address,
    )


# --- the invoice's other deliveries that are still waiting -----------------------------------------------

#: A delivery in these has not gone out yet and will unless stopped (batched: while its batch is open).
_WAITING = (DeliveryStatus.QUEUED, DeliveryStatus.HELD, DeliveryStatus.BATCHED)


@dataclass(frozen=True)
class Sibling:
    """Another delivery of the same invoice that was still waiting when the invoice was sent again."""

    delivery: Delivery
    waited_as: DeliveryStatus
    cancelled: bool

    @property
    def warning(self) -> str:
        delivery = self.delivery
        where = " in an open print batch" if self.waited_as is DeliveryStatus.BATCHED else ""
        if self.cancelled:
            return (
                f"delivery {delivery.id} via {delivery.channel} was {self.waited_as.value}{where}: cancelled"
            )
        return (
            f"delivery {delivery.id} via {delivery.channel} is still {self.waited_as.value}{where}: it goes "
            "out too unless cancelled (cancel_others, --cancel-others)"
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "delivery_id": self.delivery.id,
            "channel": self.delivery.channel,
            "address": self.delivery.address,
            "waited_as": self.waited_as.value,
            "status": DeliveryStatus(self.delivery.status).value,
            "cancelled": self.cancelled,
        }


def waiting_siblings(session: Session, delivery: Delivery) -> list[Delivery]:
    """The invoice's other deliveries that will still go out: queued, held, or in an open print batch."""
    return waiting_deliveries(session, delivery.tenant_id, delivery.invoice_id, besides=delivery.id)


def waiting_deliveries(
    session: Session, tenant_id: str, invoice_id: str | None, *, besides: str | None = None
) -> list[Delivery]:
    """The invoice's deliveries (but `besides`) that will still go out: queued, held, or batched in a print
    batch that has not closed; oldest first."""
    if invoice_id is None:
        return []
    query = select(Delivery).where(
        col(Delivery.invoice_id) == invoice_id,
        col(Delivery.tenant_id) == tenant_id,
        col(Delivery.status).in_([status.value for status in _WAITING]),
    )
    if besides is not None:
        query = query.where(col(Delivery.id) != besides)
    rows = session.execute(query.order_by(col(Delivery.created_at), col(Delivery.id))).scalars()
    return [
        row
        for row in rows
        if DeliveryStatus(row.status) is not DeliveryStatus.BATCHED or _in_open_batch(session, row)
    ]


def _in_open_batch(session: Session, delivery: Delivery) -> bool:
    batch_id = session.execute(
        select(col(BatchItem.batch_id)).where(
            col(BatchItem.delivery_id) == delivery.id, col(BatchItem.attempt) == delivery.attempt
        )
    ).first()
    return batch_id is not None and batch_id[0] is None


def settle_siblings(
    session: Session, resent: Delivery, *, actor: str, reason: str | None, cancel_others: bool
) -> tuple[Sibling, ...]:
    """After `resent` was queued again: the invoice's other deliveries still waiting, each cancelled when
    `cancel_others` (an event names who and the delivery it made way for), else left as they are."""
    settled: list[Sibling] = []
    for sibling in waiting_siblings(session, resent):
        waited_as = DeliveryStatus(sibling.status)
        if cancel_others:
            why = f"cancelled by {actor}: the invoice went again as delivery {resent.id} via {resent.channel}"
            deliveries.cancel(
                session,
                sibling,
                actor=actor,
                reason=why + (f" ({reason})" if reason else ""),
                details={"cancelled_for": resent.id, "requested_by": actor, "was": waited_as.value},
            )
        settled.append(Sibling(sibling, waited_as, cancelled=cancel_others))
    return tuple(settled)


def sibling_report(siblings: Sequence[Sibling]) -> dict[str, Any]:
    """`siblings` and `warnings` as answers and listings show them beside the delivery sent again."""
    return {
        "siblings": [sibling.as_dict() for sibling in siblings],
        "warnings": [sibling.warning for sibling in siblings],
    }
