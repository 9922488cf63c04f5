"""The eFaktura recipient lookup the gateway makes before each send, and the tenant's recipient registry.

A consumer is looked up by the national identity number of its receiver profile, else by the buyer's name
and address (first street line and postal code). With the channel's `lookup` settings the provider's
recipient search is asked over HTTP before every send (a consent can be withdrawn, an issuer blocked at
any time); its answer is written to the registry and handed over with the delivery. A search that cannot
answer now is a retry (a stale "found" is not trusted); one that refuses the question is a deviation.
Without `lookup` the registry answers: what `gateway efaktura recipients import` read from a provider's
recipient-search file, kept up to date by receipts (a consent withdrawn or an issuer blocked).

The HTTP client is pinned by the webhooks' SSRF policy (`net_policy`), with the channel's own allowances.
A national identity number is stored (the search is by it) but never printed or logged in full.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session
from sqlmodel import col

from channels.base import Channel, Failed, OutboundDelivery, Retry
from channels.context import EfakturaAnswer, EfakturaStatus
from channels.efaktura import (
    EfakturaConfig,
    HttpEfakturaLookup,
    LookupKey,
    LookupRefused,
    LookupUnavailable,
)
from db.engine import session_scope
from db.models import EfakturaRecipient, utcnow
from gateway.services.net_policy import AddressPolicy, AddressRefused, check_url, pinned_client
from gateway.services.outbound.routing import load_profiles
from mappings.efaktura import recipients as recipient_files
from schemas.canonical import Invoice
from schemas.national_id import mask_national_id

log = logging.getLogger("gateway.efaktura")


# --- the key ------------------------------------------------------------------------------------------------


def issuer_of(invoice: Invoice) -> str | None:
    """The issuer as the search knows it: the seller's organisation number."""
    seller = invoice.seller
    if seller.legal_registration is not None:
        return "".join(seller.legal_registration.value.split())
    if seller.endpoint is not None:
        return seller.endpoint.value
    return None


def lookup_key(session: Session, tenant_id: str, invoice: Invoice) -> LookupKey | None:
    """The profile's national identity number, else the invoice's own (`routing.national_id`), else the
    buyer's name and address; None when there is none of them."""
    issuer = issuer_of(invoice)
    receiver_id = invoice.routing.receiver_id if invoice.routing else None
    if receiver_id:
        profile = load_profiles(session, tenant_id, {receiver_id}).get(receiver_id)
        if profile is not None and profile.national_id is not None:
            return LookupKey(issuer, national_id=profile.national_id)
    if invoice.routing is not None and invoice.routing.national_id is not None:
        return LookupKey(issuer, national_id=invoice.routing.national_id)
    address = invoice.buyer.address
    if address is None or not address.lines or not address.postal_code:
        return None
    return LookupKey(
        issuer, name=invoice.buyer.name, street=address.lines[0], postal_code=address.postal_code
    )


# --- the registry -------------------------------------------------------------------------------------------


def find_recipient(session: Session, tenant_id: str, key: LookupKey) -> EfakturaRecipient | None:
    return session.execute(
        select(EfakturaRecipient).where(
            col(EfakturaRecipient.tenant_id) == tenant_id,
            col(EfakturaRecipient.lookup_key) == key.registry_key(),
        )
    ).scalar_one_or_none()


def registry_answer(session: Session, tenant_id: str, key: LookupKey) -> EfakturaAnswer:
    """What the registry says; a consumer it does not know has no consent it knows of (not found)."""
    row = find_recipient(session, tenant_id, key)
    if row is None:
        return EfakturaAnswer(EfakturaStatus.NOT_FOUND, key.describe(), None, "registry")
    status = EfakturaStatus(row.status)
    efaktura_id = row.efaktura_id if status is EfakturaStatus.FOUND else None
    if status is EfakturaStatus.FOUND and not efaktura_id:
        status = EfakturaStatus.NOT_FOUND
    return EfakturaAnswer(status, key.describe(), efaktura_id, "registry")


def remember(
    session: Session,
    tenant_id: str,
    key: LookupKey,
    status: EfakturaStatus,
    efaktura_id: str | None,
    *,
    source: str,
    note: str | None = None,
) -> bool:
    """Write what was learnt about one consumer (insert or update); True when it was new."""
    row = find_recipient(session, tenant_id, key)
    created = row is None
    if row is None:
        row = EfakturaRecipient(
            tenant_id=tenant_id,
            lookup_key=key.registry_key(),
            national_id=key.national_id,
            name=key.name,
            street=key.street,
            postal_code=key.postal_code,
            status=status.value,
            source=source,
        )
    row.status = status.value
    if efaktura_id is not None or status is not EfakturaStatus.FOUND:
        row.efaktura_id = efaktura_id if status is EfakturaStatus.FOUND else row.efaktura_id
    row.source = source
    row.note = note[:500] if note else None
    row.updated_at = utcnow()
    session.add(row)
    session.flush()
    return created


@dataclass
class ImportReport:
    """What an import did, every line as views show it (the national identity number masked)."""

    added: int = 0
    updated: int = 0
    lines: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"added": self.added, "updated": self.updated, "lines": self.lines}


def import_recipients(engine: Engine, tenant_id: str, data: bytes) -> ImportReport:
    """Read a recipient-search answer (CSV, `mappings.efaktura.recipients`) into the tenant's registry, in
    one transaction; a file with a bad line is refused whole (`RecipientFileRefused`, naming each)."""
    lines = recipient_files.parse(data)
    report = ImportReport()
    with session_scope(engine) as session:
        for line in lines:
            key = LookupKey(None, line.national_id, line.name, line.street, line.postal_code)
            created = remember(
                session, tenant_id, key, EfakturaStatus(line.status), line.efaktura_id, source="import"
            )
            if created:
                report.added += 1
            else:
                report.updated += 1
            report.lines.append({**line.as_dict(), "result": "added" if created else "updated"})
    log.info("efaktura: imported %d recipient(s) for %s", len(lines), tenant_id)
    return report


def recipient_views(session: Session, tenant_id: str) -> list[dict[str, Any]]:
    """The tenant's registry as views show it: national identity numbers masked."""
    rows = session.execute(
        select(EfakturaRecipient)
        .where(col(EfakturaRecipient.tenant_id) == tenant_id)
        .order_by(col(EfakturaRecipient.id))
    ).scalars()
    return [
        {
            "national_id": mask_national_id(row.national_id),
            "name": row.name,
            "postal_code": row.postal_code,
            "efaktura_id": row.efaktura_id,
            "status": row.status,
            "source": row.source,
            "note": row.note,
            "updated_at": row.updated_at.isoformat(),
        }
        for row in rows
    ]


# --- before each send ---------------------------------------------------------------------------------------


def lookup_policy(config: EfakturaConfig) -> AddressPolicy:
    """The SSRF policy of the search URL: public addresses, and what the channel's settings allow."""
    settings = config.lookup
    if settings is None:
        return AddressPolicy()
    return AddressPolicy.of(settings.allow_private, settings.allowed_networks)


def efaktura_answer(
    engine: Engine, channel: Channel[Any], delivery: OutboundDelivery
) -> EfakturaAnswer | Failed | Retry:
    """The lookup's answer about the delivery's consumer, refreshed now; or why there is none (yet)."""
    invoice = delivery.the_invoice()
    config = channel.config
    search = config.lookup if isinstance(config, EfakturaConfig) else None
    try:
        with session_scope(engine) as session:
            key = lookup_key(session, delivery.tenant_id, invoice)
            if key is None:
                return EfakturaAnswer(
                    EfakturaStatus.NOT_FOUND,
                    "nothing to look up (no national identity number, no buyer name and postal address)",
                )
            if search is None:
                return registry_answer(session, delivery.tenant_id, key)
    except SQLAlchemyError as error:
        return Retry(f"eFaktura recipient registry unavailable: {type(error).__name__}")
    assert isinstance(config, EfakturaConfig)
    policy = lookup_policy(config)
    try:
        check_url(search.url, policy)  # said plainly here; the pinned client checks every request again
    except AddressRefused as error:
        return Failed(f"eFaktura recipient search URL refused: {error.reason}", deviation=True)
    with pinned_client(policy, timeout=config.timeout_seconds) as client:
        try:
            answer = HttpEfakturaLookup(search.url, search.token, client).lookup(key)
        except LookupUnavailable as error:
            return Retry(channel.mask(f"eFaktura recipient search: {error}"))
        except LookupRefused as error:
            return Failed(channel.mask(f"eFaktura recipient search: {error}"), deviation=True)
    try:
        with session_scope(engine) as session:
            remember(session, delivery.tenant_id, key, answer.status, answer.efaktura_id, source="http")
    except (SQLAlchemyError, IntegrityError) as error:  # the answer stands; the registry catches up later
        log.warning("efaktura: could not keep the search's answer: %s", type(error).__name__)
    return answer


__all__ = [
    "ImportReport",
    "efaktura_answer",
    "find_recipient",
    "import_recipients",
    "issuer_of",
    "lookup_key",
    "recipient_views",
    "registry_answer",
    "remember",
]
