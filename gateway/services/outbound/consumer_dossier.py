"""What the invoice page shows about an invoice to a consumer, and the AvtaleGiro mandate behind its KID.

A credit or operations person answering a private customer asks: which steps of the tenant's consumer
waterfall did this invoice take, what did the eFaktura registry say about this person, does the KID pay by
AvtaleGiro? The answers are already kept — the delivery events name the waterfall step each delivery was
(`routing.Route.describe`), the recipient registry (`efaktura_recipients`) and the mandates read from
Nets' agreements files (`avtalegiro.mandate_info`) — this module only gathers them for one invoice.

The consumer's national identity number is personal data of the strictest kind: nothing here carries it
but masked (`mask_national_id`), so no page built from it can show it in full.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from channels.context import EfakturaStatus
from gateway.services.outbound.avtalegiro import mandate_info
from gateway.services.outbound.efaktura_recipients import find_recipient, lookup_key
from gateway.services.outbound.routing import (
    CONSUMER_DEFAULT,
    WATERFALL,
    is_consumer_invoice,
    load_profiles,
)
from schemas.canonical import Invoice
from schemas.national_id import mask_national_id

#: "step 2 of 3 of the tenant's consumer waterfall", as the intake and fallback events write it.
_STEP = re.compile(
    r"step (?P<step>\d+) of (?P<of>\d+) of (?P<source>"
    + "|".join(re.escape(source) for source in (CONSUMER_DEFAULT, WATERFALL))
    + ")"
)

#: Where a registry row's word came from, as a person reads it.
_REGISTRY_SOURCES = {
    "import": "an imported recipient-search file",
    "http": "the provider's recipient search before a send",
    "receipt": "a provider's receipt",
}
_REGISTRY_STATUSES = {
    EfakturaStatus.FOUND.value: "the consumer takes eFaktura from this issuer",
    EfakturaStatus.NOT_FOUND.value: "the consumer has given no eFaktura consent",
    EfakturaStatus.BLOCKED.value: "the consumer refuses eFaktura from this issuer",
}


@dataclass(frozen=True)
class WaterfallStep:
    """One delivery of the invoice as a step of the consumer waterfall (as its events recorded it)."""

    delivery_id: str
    channel: str
    status: str
    step: int
    of: int
    source: str  # the tenant's consumer waterfall, or the default channel when the tenant has none

    @property
    def from_waterfall(self) -> bool:
        """False when the tenant had no waterfall and the consumer's invoice took the default channel."""
        return self.source == WATERFALL


@dataclass(frozen=True)
class ConsumerDossier:
    """The consumer side of one invoice; `national_id` is masked (or None when only a segment says so)."""

    national_id: str | None
    steps: list[WaterfallStep] = field(default_factory=list)
    efaktura: dict[str, Any] | None = None

    def step_of(self, delivery_id: str) -> WaterfallStep | None:
        return next((step for step in self.steps if step.delivery_id == delivery_id), None)


def waterfall_steps(
    deliveries: Iterable[dict[str, Any]], timeline: Iterable[dict[str, Any]]
) -> list[WaterfallStep]:
    """Each delivery's consumer-waterfall step, from the first of its events that names one (the event that
    made the delivery: the intake's "accepted; route …", or a fallback's "next …"), in chain order."""
    found: dict[str, tuple[int, int, str]] = {}
    for event in timeline:
        delivery_id = str(event["delivery_id"])
        named = _STEP.search(event.get("reason") or "")
        if named is not None and delivery_id not in found:
            found[delivery_id] = (int(named["step"]), int(named["of"]), named["source"])
    steps = [
        WaterfallStep(delivery["id"], delivery["channel"], delivery["status"], *found[delivery["id"]])
        for delivery in deliveries
        if delivery["id"] in found
    ]
    return sorted(steps, key=lambda step: step.step)


def consumer_dossier(
    session: Session,
    tenant_id: str,
    invoice: Invoice,
    *,
    deliveries: list[dict[str, Any]],
    timeline: list[dict[str, Any]],
) -> ConsumerDossier | None:
    """The consumer side of `invoice` (None when its buyer is no consumer): the national identity number
    masked, the waterfall step each delivery was, and what the eFaktura registry says about this consumer."""
    receiver_id = invoice.routing.receiver_id if invoice.routing else None
    profile = load_profiles(session, tenant_id, {receiver_id}).get(receiver_id) if receiver_id else None
    if not is_consumer_invoice(invoice, profile):
        return None
    national_id = (profile.national_id if profile is not None else None) or (
        invoice.routing.national_id if invoice.routing else None
    )
    return ConsumerDossier(
        national_id=mask_national_id(national_id),
        steps=waterfall_steps(deliveries, timeline),
        efaktura=_registry_entry(session, tenant_id, invoice),
    )


def _registry_entry(session: Session, tenant_id: str, invoice: Invoice) -> dict[str, Any] | None:
    """The registry's row for the consumer the eFaktura channel would look up (by the same key), or None."""
    key = lookup_key(session, tenant_id, invoice)
    if key is None:
        return None
    row = find_recipient(session, tenant_id, key)
    if row is None:
        return None
    return {
        "status": row.status,
        "status_words": _REGISTRY_STATUSES.get(row.status, row.status),
        "efaktura_id": row.efaktura_id if row.status == EfakturaStatus.FOUND.value else None,
        "looked_up_by": key.describe(),  # the number masked, or "name and address"
        "source": _REGISTRY_SOURCES.get(row.source, row.source),
        "note": row.note,
        "updated_at": row.updated_at,
    }


def mandate_view(session: Session, tenant_id: str, kid: str | None) -> dict[str, Any] | None:
    """The AvtaleGiro mandate for the invoice's KID as Nets' agreements files last described it, or None
    when the KID has none (or there is no KID)."""
    if not kid:
        return None
    mandate = mandate_info(session, tenant_id, kid)
    if mandate is None:
        return None
    updated: dt.datetime = mandate.updated_at
    return {
        "kid": mandate.kid,
        "status": mandate.status,
        "active": mandate.active,
        "notify": mandate.notify,
        "source_file": mandate.source_file,
        "updated_at": updated,
    }


__all__ = ["ConsumerDossier", "WaterfallStep", "consumer_dossier", "mandate_view", "waterfall_steps"]
