"""Fix data and resend: correct an invoice's DELIVERY data after a failed delivery (issue 8).

Only where the invoice goes can be corrected: the buyer's postal address (returned mail), the buyer's
e-mail contact (bounce) and the buyer's electronic address (PEPPOL endpoint). Amounts, lines, VAT, dates
and numbers are never touched here; those need a credit note. The corrected invoice is validated whole
again and stored as the new canonical payload (`payload_sha256` stays: it identifies what the ERP sent,
for idempotent re-posts). Every delivery of the invoice gets an event saying who corrected what, why, and
the values before and after.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlmodel import col

from db.models import Delivery, InvoiceRecord
from gateway.services.outbound import deliveries
from gateway.services.outbound import resend as resend_service
from gateway.services.outbound.search import invoice_search_columns
from mappings.invoice.canonical_json import (
    InvoiceValidationError,
    invoice_from_data,
    loads_exact,
    parse_invoice_json,
)
from outbox.queue import note_event
from outbox.states import LEASED, DeliveryStatus
from schemas.canonical import Invoice

#: A delivery in these is being worked on (or is a print batch's now): its payload must not change under it.
_BUSY = LEASED | {DeliveryStatus.BATCHED}
#: Request field → the invoice field it corrects.
FIELDS = {
    "buyer_address": "buyer.address",
    "buyer_email": "buyer.contact.email",
    "buyer_endpoint": "buyer.endpoint",
}


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
) -> InvoiceRecord:
    """Correct the buyer's address, e-mail and/or endpoint of an invoice (see the module doc).

    Raises `deliveries.NotFound` (no such invoice for the tenant), `CorrectionRefused` (a delivery is
    rendering, sending or batched) or `CorrectionInvalid` (nothing to change, or the result is invalid)
    before anything is written.
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
    rows = list(
        session.execute(
            select(Delivery)
            .where(col(Delivery.invoice_id) == record.id, col(Delivery.tenant_id) == tenant_id)
            .order_by(col(Delivery.created_at), col(Delivery.id))
            .with_for_update()
        ).scalars()
    )
    for delivery in rows:
        status = DeliveryStatus(delivery.status)
        if status in _BUSY:
            raise CorrectionRefused(
                f"delivery {delivery.id} is {status.value}: "
                + ("waiting in a print batch" if status is DeliveryStatus.BATCHED else "being worked on")
                + "; correct the data when it has finished"
            )

    before_invoice = parse_invoice_json(record.payload)
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
    corrected = [field for field in FIELDS.values() if before_values[field] != after_values[field]]
    if not corrected:
        raise CorrectionInvalid([{"field": "body", "reason": "nothing to correct: the data is already so"}])

    record.payload = after_invoice.model_dump_json(exclude_none=True)
    record.sqlmodel_update(dict(invoice_search_columns(after_invoice)))  # the endpoint is searched by
    session.add(record)
    details = {
        "corrected": corrected,
        "before": {field: before_values[field] for field in corrected},
        "after": {field: after_values[field] for field in corrected},
        "reason": reason,
        "requested_by": actor,
    }
    note = f"delivery data corrected by {actor}: {', '.join(corrected)} ({reason})"
    for delivery in rows:
        note_event(session, delivery, actor=actor, reason=note, details=details)
    session.flush()
    return record


def resend_corrected(
    session: Session,
    tenant_id: str,
    invoice_id: str,
    *,
    actor: str,
    reason: str,
    buyer_email: str | None = None,
    buyer_endpoint: dict[str, Any] | None = None,
) -> Delivery:
    """Send the corrected invoice again as its latest delivery's next attempt (`resend.resend_invoice`).

    An e-mail delivery goes to the corrected e-mail address, and a PEPPOL delivery with an explicit
    participant id to the corrected endpoint: the delivery's own address would otherwise win.
    """
    latest = resend_service.pick_delivery(session, tenant_id, invoice_id, None)
    address: str | None = None
    if buyer_email is not None and latest.channel == "email":
        address = buyer_email.strip()
    elif buyer_endpoint is not None and latest.channel == "peppol" and latest.address:
        scheme, value = buyer_endpoint.get("scheme"), buyer_endpoint.get("value")
        if scheme and value:
            address = f"{str(scheme).strip()}:{str(value).strip()}"
    return resend_service.resend_invoice(
        session,
        tenant_id,
        invoice_id,
        actor=actor,
        reason=f"resend after delivery data correction: {reason}",
        with_pod=False,
        channel=None,
        address=address,
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
) -> Delivery | None:
    """Correct the delivery data and, if `resend`, send the corrected invoice again (the resent delivery).

    The one use case behind `POST /invoices/{id}/corrections` and `gateway correct`: the errors are those
    of `correct_delivery_data` and `resend_corrected`.
    """
    correct_delivery_data(
        session,
        tenant_id,
        invoice_id,
        actor=actor,
        reason=reason,
        buyer_address=buyer_address,
        buyer_email=buyer_email,
        buyer_endpoint=buyer_endpoint,
    )
    if not resend:
        return None
    return resend_corrected(
        session,
        tenant_id,
        invoice_id,
        actor=actor,
        reason=reason,
        buyer_email=buyer_email,
        buyer_endpoint=buyer_endpoint,
    )
