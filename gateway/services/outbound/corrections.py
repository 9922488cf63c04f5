"""Fix data and resend: correct an invoice's DELIVERY data after a failed delivery (issues 8 and 14).

Only where the invoice goes can be corrected: the buyer's postal address (returned mail), the buyer's
e-mail contact (bounce) and the buyer's electronic address (PEPPOL endpoint). Amounts, lines, VAT, dates
and numbers are never touched here; those need a credit note. The corrected invoice is validated whole
again and stored as the new canonical payload (`payload_sha256` stays: it identifies what the ERP sent,
for idempotent re-posts).

Each field addresses one channel (`ADDRESSED_BY`: postal address → print, e-mail → email, endpoint →
peppol). A correction concerns the deliveries on the channels it corrected and those on channels no buyer
field addresses (a folder, an EDI partner: the document itself carries the data); the invoice's other
deliveries are left alone, so correcting the e-mail never blocks, touches or re-queues a print letter.
Each concerned delivery gets an event saying who corrected what, why, and the values before and after.
The e-mail correction also readdresses the invoice's e-mail delivery (and `routing.address` where it named
the old address), the endpoint correction a PEPPOL delivery sent to an explicit participant id, so the
next attempt goes to the corrected address. The delivery a resend goes to is named up front
(`Correction.target`): the newest concerned delivery on a corrected channel, else the newest concerned
one; the invoice's other deliveries still waiting are reported, or cancelled (`resend.settle_siblings`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlmodel import col

from db.models import Delivery, InvoiceRecord
from gateway.services.outbound import deliveries
from gateway.services.outbound import resend as resend_service
from gateway.services.outbound.resend import Sibling, settle_siblings
from gateway.services.outbound.search import invoice_search_columns
from mappings.invoice import canonical_json
from mappings.invoice.canonical_json import InvoiceValidationError, invoice_from_data, loads_exact
from outbox.queue import note_event
from outbox.states import LEASED, DeliveryStatus
from schemas.canonical import Invoice

#: A delivery in these is being worked on (or is a print batch's now): its payload must not change under it.
_BUSY = LEASED | {DeliveryStatus.BATCHED}
#: A delivery in these has not gone out yet: a resend is not needed, it goes with the corrected data.
_NOT_SENT_YET = {DeliveryStatus.QUEUED, DeliveryStatus.HELD}
#: Request field → the invoice field it corrects.
FIELDS = {
    "buyer_address": "buyer.address",
    "buyer_email": "buyer.contact.email",
    "buyer_endpoint": "buyer.endpoint",
}
#: Invoice field → the channel it addresses: correcting it is about that channel's deliveries.
ADDRESSED_BY = {"buyer.address": "print", "buyer.contact.email": "email", "buyer.endpoint": "peppol"}
_ADDRESSED_CHANNELS = frozenset(ADDRESSED_BY.values())


class CorrectionInvalid(ValueError):
    """The correction asks for nothing, or the corrected invoice does not validate; `errors` name fields."""

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        first = errors[0] if errors else {"field": "body", "reason": "invalid"}
        super().__init__(f"{first['field']}: {first['reason']}")
        self.errors = errors


class CorrectionRefused(RuntimeError):
    """A delivery of the invoice is being worked on now; nothing changed."""


def _request_field(invoice_field: str) -> str:
    """`buyer.address.country` → `buyer_address.country` (the name the operator sent)."""
    for request_name, path in FIELDS.items():
        if invoice_field == path or invoice_field.startswith(path + "."):
            return request_name + invoice_field[len(path) :]
    return invoice_field


def _current(invoice: Invoice) -> dict[str, Any]:
    buyer = invoice.buyer
    return {
        "buyer.address": buyer.address.model_dump(mode="json", exclude_none=True) if buyer.address else None,
        "buyer.contact.email": buyer.contact.email if buyer.contact else None,
        "buyer.endpoint": buyer.endpoint.model_dump(mode="json", exclude_none=True)
        if buyer.endpoint
        else None,
    }


@dataclass
class Correction:
    """What one correction changed, and the delivery a resend goes (or went) to."""

    record: InvoiceRecord
    corrected: list[str]  # invoice fields, e.g. buyer.contact.email
    channels: list[str]  # the channels those fields address
    concerned: list[Delivery]  # the deliveries the correction is about (each got an event)
    readdressed: list[dict[str, Any]]  # {delivery_id, channel, before, after}
    target: Delivery | None  # where a resend goes: named before anything is sent
    resent: Delivery | None = None  # the delivery queued again (`target`, as its next attempt)
    siblings: tuple[Sibling, ...] = ()  # the invoice's other deliveries still waiting
    notes: list[str] = field(default_factory=list)

    @property
    def warnings(self) -> list[str]:
        return [*self.notes, *(sibling.warning for sibling in self.siblings)]

    def as_dict(self) -> dict[str, Any]:
        target = self.target
        return {
            "corrected": self.corrected,
            "channels": self.channels,
            "readdressed": self.readdressed,
            "resend_target": {
                "delivery_id": target.id,
                "channel": target.channel,
                "address": target.address,
                "status": DeliveryStatus(target.status).value,
                "attempt": target.attempt,
            }
            if target is not None
            else None,
            "resent": self.resent is not None,
            "siblings": [sibling.as_dict() for sibling in self.siblings],
            "warnings": self.warnings,
        }


def _concerns(delivery: Delivery, channels: list[str]) -> bool:
    return delivery.channel in channels or delivery.channel not in _ADDRESSED_CHANNELS


def _latest(rows: list[Delivery], channel: str) -> Delivery | None:
    on_channel = [row for row in rows if row.channel == channel]
    return on_channel[-1] if on_channel else None


def _new_addresses(
    concerned: list[Delivery], corrected: list[str], invoice: Invoice
) -> list[tuple[Delivery, str]]:
    """The deliveries whose own address the correction replaces: the newest e-mail delivery, and the newest
    PEPPOL delivery that was sent to an explicit participant id (else it follows the buyer's endpoint)."""
    moves: list[tuple[Delivery, str]] = []
    contact = invoice.buyer.contact
    email = _latest(concerned, "email") if "buyer.contact.email" in corrected else None
    if email is not None and contact is not None and contact.email and contact.email != email.address:
        moves.append((email, contact.email))
    endpoint = invoice.buyer.endpoint
    peppol = _latest(concerned, "peppol") if "buyer.endpoint" in corrected else None
    if peppol is not None and peppol.address and endpoint is not None and endpoint.scheme:
        participant = f"{endpoint.scheme.strip()}:{endpoint.value.strip()}"
        if participant != peppol.address:
            moves.append((peppol, participant))
    return moves


def _resend_target(concerned: list[Delivery], channels: list[str]) -> Delivery | None:
    on_corrected = [row for row in concerned if row.channel in channels]
    candidates = on_corrected or concerned
    return candidates[-1] if candidates else None


@dataclass
class CorrectionPlan:
    """What a correction will change, worked out before anything is written (the preview shows it, and
    `correct_delivery_data` writes exactly it): the values before and after, the deliveries concerned, the
    addresses moved and the delivery a resend goes to."""

    record: InvoiceRecord
    invoice: Invoice  # the corrected invoice, as it will be stored
    before: dict[str, Any]  # corrected invoice field → value before
    after: dict[str, Any]  # corrected invoice field → value after
    channels: list[str]
    concerned: list[Delivery]
    moves: list[tuple[Delivery, str]]  # (delivery, its new address)
    target: Delivery | None

    @property
    def corrected(self) -> list[str]:
        return list(self.before)

    @property
    def readdressed(self) -> list[dict[str, Any]]:
        return [
            {"delivery_id": d.id, "channel": d.channel, "before": d.address, "after": address}
            for d, address in self.moves
        ]


def plan_correction(
    session: Session,
    tenant_id: str,
    invoice_id: str,
    *,
    reason: str,
    buyer_address: dict[str, Any] | None,
    buyer_email: str | None,
    buyer_endpoint: dict[str, Any] | None,
    lock: bool = True,
) -> CorrectionPlan:
    """The plan of correcting the buyer's address, e-mail and/or endpoint (see the module doc); reads only.

    Raises `deliveries.NotFound` (no such invoice for the tenant), `CorrectionRefused` (a concerned delivery
    is rendering, sending or batched) or `CorrectionInvalid` (nothing to change, or the result is invalid).
    `lock` holds the invoice's deliveries until the transaction ends, as a correction about to be written
    must; a preview need not.
    """
    record = deliveries.find_invoice(session, tenant_id, invoice_id)
    if not reason or not reason.strip():
        raise CorrectionInvalid([{"field": "reason", "reason": "say why the data is corrected"}])
    if buyer_address is None and buyer_email is None and buyer_endpoint is None:
        raise CorrectionInvalid(
            [
                {
                    "field": "body",
                    "reason": "nothing to correct: give buyer_address, buyer_email or buyer_endpoint",
                }
            ]
        )
    query = (
        select(Delivery)
        .where(col(Delivery.invoice_id) == record.id, col(Delivery.tenant_id) == tenant_id)
        .order_by(col(Delivery.created_at), col(Delivery.id))
    )
    rows = list(session.execute(query.with_for_update() if lock else query).scalars())
    before_invoice = canonical_json.parse(record.payload)
    data = loads_exact(record.payload)
    buyer = data.setdefault("buyer", {})
    if buyer_address is not None:
        buyer["address"] = buyer_address
    if buyer_email is not None:
        contact = buyer.get("contact") or {}
        buyer["contact"] = {**contact, "email": buyer_email}
    if buyer_endpoint is not None:
        buyer["endpoint"] = buyer_endpoint
    try:
        after_invoice = invoice_from_data(data)
    except InvoiceValidationError as error:
        raise CorrectionInvalid(
            [{**entry, "field": _request_field(str(entry["field"]))} for entry in error.errors]
        ) from None

    before_values, after_values = _current(before_invoice), _current(after_invoice)
    corrected = [name for name in FIELDS.values() if before_values[name] != after_values[name]]
    if not corrected:
        raise CorrectionInvalid([{"field": "body", "reason": "nothing to correct: the data is already so"}])
    channels = sorted({ADDRESSED_BY[name] for name in corrected})
    concerned = [row for row in rows if _concerns(row, channels)]
    for delivery in concerned:
        status = DeliveryStatus(delivery.status)
        if status in _BUSY:
            raise CorrectionRefused(
                f"delivery {delivery.id} is {status.value}: "
                + ("waiting in a print batch" if status is DeliveryStatus.BATCHED else "being worked on")
                + "; correct the data when it has finished"
            )

    moves = _new_addresses(concerned, corrected, after_invoice)
    routing = after_invoice.routing
    for delivery, address in moves:
        if routing is not None and routing.address and routing.address == delivery.address:
            routing = routing.model_copy(update={"address": address})
    if routing is not after_invoice.routing:
        after_invoice = after_invoice.model_copy(update={"routing": routing})
    return CorrectionPlan(
        record,
        after_invoice,
        before={name: before_values[name] for name in corrected},
        after={name: after_values[name] for name in corrected},
        channels=channels,
        concerned=concerned,
        moves=moves,
        target=_resend_target(concerned, channels),
    )


def correct_delivery_data(
    session: Session,
    tenant_id: str,
    invoice_id: str,
    *,
    actor: str,
    reason: str,
    buyer_address: dict[str, Any] | None,
    buyer_email: str | None,
    buyer_endpoint: dict[str, Any] | None,
) -> Correction:
    """Correct the buyer's address, e-mail and/or endpoint of an invoice: `plan_correction` (whose errors
    it raises before anything is written), then written, with an event on every concerned delivery."""
    plan = plan_correction(
        session,
        tenant_id,
        invoice_id,
        reason=reason,
        buyer_address=buyer_address,
        buyer_email=buyer_email,
        buyer_endpoint=buyer_endpoint,
    )
    record, corrected, readdressed = plan.record, plan.corrected, plan.readdressed
    record.payload = plan.invoice.model_dump_json(exclude_none=True)
    record.sqlmodel_update(dict(invoice_search_columns(plan.invoice)))  # the endpoint is searched by
    session.add(record)
    for delivery, address in plan.moves:
        delivery.address = address
        session.add(delivery)
    details = {
        "corrected": corrected,
        "before": plan.before,
        "after": plan.after,
        "channels": plan.channels,
        "readdressed": readdressed,
        "reason": reason,
        "requested_by": actor,
    }
    note = f"delivery data corrected by {actor}: {', '.join(corrected)} ({reason})"
    for delivery in plan.concerned:
        note_event(session, delivery, actor=actor, reason=note, details=details)
    session.flush()
    return Correction(record, corrected, plan.channels, plan.concerned, readdressed, target=plan.target)


def correction_outlook(
    session: Session, plan: CorrectionPlan, *, resend: bool, cancel_others: bool
) -> tuple[list[str], tuple[Sibling, ...]]:
    """What `correct_and_resend` will add after the data is corrected, said before: its notes and the
    invoice's other deliveries still waiting (each `cancelled` when `cancel_others`). Raises what the
    resend would refuse (`CorrectionRefused`, `resend.ResendRefused`, `IllegalTransition`); writes nothing."""
    _check_cancel_others(resend=resend, cancel_others=cancel_others)
    target = plan.target
    if target is None:
        if resend:
            raise _no_target(session, plan.record, plan.channels)
        return [_nothing_to_resend(plan.channels)], ()
    notes: list[str] = []
    if resend:
        note = _still_waiting(target)
        if note is not None:
            notes.append(note)
        else:  # what resend_delivery would refuse, asked before anything is written
            resend_service.plan_resend(
                session, target, reason=None, with_pod=False, channel=None, address=None
            )
    siblings = tuple(
        Sibling(row, DeliveryStatus(row.status), cancelled=resend and cancel_others)
        for row in resend_service.waiting_siblings(session, target)
    )
    return notes, siblings


def _check_cancel_others(*, resend: bool, cancel_others: bool) -> None:
    if cancel_others and not resend:
        raise CorrectionInvalid(
            [{"field": "cancel_others", "reason": "cancelling the other deliveries goes with resend"}]
        )


def _no_target(session: Session, record: InvoiceRecord, channels: list[str]) -> CorrectionRefused:
    others = ", ".join(
        f"{row.channel} ({DeliveryStatus(row.status).value})" for row in _deliveries_of(session, record)
    )
    return CorrectionRefused(
        f"invoice {record.number} has no delivery on {' or '.join(channels)} to "
        f"send again (its deliveries: {others or 'none'}); send it there with resend --channel and --to"
    )


def _nothing_to_resend(channels: list[str]) -> str:
    return f"no delivery on {' or '.join(channels)} to send again"


def _still_waiting(target: Delivery) -> str | None:
    """The note for a resend target that has not gone out yet (it goes with the corrected data)."""
    status = DeliveryStatus(target.status)
    if status in _NOT_SENT_YET:
        return f"delivery {target.id} is still {status.value}: it goes out with the corrected data"
    return None


def resend_corrected(
    session: Session,
    correction: Correction,
    *,
    actor: str,
    reason: str,
    cancel_others: bool = False,
) -> Correction:
    """Send the corrected invoice again as the next attempt of the named delivery (`Correction.target`).

    A target not sent yet (queued, held) is left to go with the corrected data. Then the invoice's other
    deliveries still waiting are reported, or cancelled with `cancel_others` (`resend.settle_siblings`).
    Raises `CorrectionRefused` when no delivery is on a corrected channel or one no field addresses.
    """
    target = correction.target
    if target is None:
        raise _no_target(session, correction.record, correction.channels)
    why = f"resend after delivery data correction: {reason}"
    notes: list[str] = []
    waiting_note = _still_waiting(target)
    if waiting_note is not None:
        notes.append(waiting_note)
        sent_again = target
    else:
        sent_again = resend_service.resend_delivery(
            session, target, actor=actor, reason=why, with_pod=False, channel=None, address=None
        )
        correction.resent = sent_again
    correction.siblings = settle_siblings(
        session, sent_again, actor=actor, reason=why, cancel_others=cancel_others
    )
    correction.notes.extend(notes)
    return correction


def _deliveries_of(session: Session, record: InvoiceRecord) -> list[Delivery]:
    return list(
        session.execute(
            select(Delivery).where(col(Delivery.invoice_id) == record.id).order_by(col(Delivery.created_at))
        ).scalars()
    )


def correct_and_resend(
    session: Session,
    tenant_id: str,
    invoice_id: str,
    *,
    actor: str,
    reason: str,
    buyer_address: dict[str, Any] | None,
    buyer_email: str | None,
    buyer_endpoint: dict[str, Any] | None,
    resend: bool,
    cancel_others: bool = False,
) -> Correction:
    """Correct the delivery data and, if `resend`, send the corrected invoice again (`resend_corrected`).

    The one use case behind `POST /invoices/{id}/corrections` and `gateway correct`: the errors are those
    of `correct_delivery_data` and `resend_corrected`. Without `resend` the correction still names the
    delivery a resend would go to, and warns about the invoice's other deliveries still waiting.
    """
    _check_cancel_others(resend=resend, cancel_others=cancel_others)
    correction = correct_delivery_data(
        session,
        tenant_id,
        invoice_id,
        actor=actor,
        reason=reason,
        buyer_address=buyer_address,
        buyer_email=buyer_email,
        buyer_endpoint=buyer_endpoint,
    )
    if resend:
        return resend_corrected(session, correction, actor=actor, reason=reason, cancel_others=cancel_others)
    if correction.target is not None:
        correction.siblings = settle_siblings(
            session, correction.target, actor=actor, reason=None, cancel_others=False
        )
    else:
        correction.notes.append(_nothing_to_resend(correction.channels))
    return correction
