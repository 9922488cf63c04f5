"""E-mail delivery status notifications (bounces, delay warnings, delivery reports): store, link, apply.

Mirrors `gateway.services.inbound.responses`: every DSN that parses is kept whole in `inbound_documents` (kind
`dsn`), once — the same bytes twice are one row (unique `payload_sha256`) and the second receipt answers
with the first result, without applying again.

Linking. The e-mail channel sends each delivery with envelope sender `bounces+<delivery id>@<bounce
domain>`, `ENVID=<delivery id>-<attempt>` and `Message-ID: <<delivery id>-<attempt>@<bounce domain>>`.
A DSN is linked by the first of these that names a delivery (of the tenant, when the tenant is known):

1. `Original-Envelope-Id` (the ENVID): `<delivery id>-<attempt>`;
2. the VERP address the DSN was sent to (`bounces+<delivery id>@…`, from X-Envelope-To / Delivered-To /
   X-Original-To / To, Postfix's `X-Postfix-Sender`, the returned `Return-Path`);
3. the returned message's `Message-ID`: `<delivery id>-<attempt>@…`, or a delivery's channel message id
   (now, or an earlier attempt's, from its events);
4. the returned `X-Delivery-Id` header;
5. last resort, within the tenant: an invoice number — the returned `X-Invoice-Number`, else an ENVID or
   VERP tag that is not a delivery id (senders that tag mail with the invoice number, as the test rig
   does) — and that invoice's latest `email` delivery. A failed or delivered report linked this way whose
   recipients are not the delivery's address is stored with a note and not applied.

Attempts. When the DSN names the attempt (ENVID, Message-ID, an earlier attempt's message id) and that is
older than the delivery's current attempt, it reports on a message a resend has replaced: it is stored
with a note and not applied.

Effects, by each recipient's `Action` (never by the status code — an expiry failure carries 4.x.x), the
report summed up as failed > delayed > delivered > expanded > relayed; every effect is also an event whose
details hold every recipient's action, status and diagnostic:

| action | effect |
|---|---|
| failed | `sent`/`delivered` → `deviation`; failed recipients' status + diagnostic in `last_error` |
| delayed | an event (with `Will-Retry-Until`); the MTA keeps trying |
| delivered | `sent` → `delivered` |
| relayed, expanded | an event only: handed on is not delivered, the delivery stays `sent` |

A delivery in another status is not moved; the event is written with its current status.

Bounces that are not RFC 3464 reports (issue 17) are read by `mappings.status.dsn` too (plain-text bounces
by `flufl.bounce` or their text, `read_by`), and linked by the same keys, plus two: the notice's own
`In-Reply-To` / `References` (checked like the returned Message-ID), and, last, a failed recipient's address
when exactly one e-mail delivery (of the tenant, when known) to that address is `sent` — two or more, and
the report is recorded unlinked, never guessed. Auto-replies (out-of-office) and ARF feedback reports are
stored with their classification (`auto-reply`, `feedback-report`), linked when a key names the delivery,
and never applied.
"""

from __future__ import annotations

import hashlib
import mailbox
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session
from sqlmodel import col

from db.models import Delivery, InboundDocument, InvoiceRecord, Tenant, new_id, utcnow
from gateway.services.inbound.store import decode_payload, find_by_message_id, store_once
from gateway.services.parsed import Parsed
from mappings.status import dsn as dsn_reports
from mappings.status.dsn import (
    DELAYED,
    DELIVERED,
    EXPANDED,
    FAILED,
    FEEDBACK_REPORT,
    RELAYED,
    DeliveryStatusNotification,
    RecipientStatus,
    verp_tag,
)
from outbox.queue import change_status, note_event
from outbox.states import DeliveryStatus

S = DeliveryStatus
KIND = "dsn"
EMAIL_CHANNEL = "email"
#: The local part before `+` of our envelope sender (`bounces+<id>@domain`). None: any — the e-mail
#: channel's `bounce_local_part` is configurable, and every address a DSN's VERP candidates come from
#: (where it was sent, `X-Postfix-Sender`, the returned `Return-Path`) is our envelope sender anyway.
VERP_PREFIX: str | None = None

ENVID, VERP, MESSAGE_ID, X_DELIVERY_ID, INVOICE_NUMBER, REFERENCES, RECIPIENT = (
    "envid",
    "verp",
    "message-id",
    "x-delivery-id",
    "invoice-number",
    "references",
    "recipient",
)
#: `inbound_documents.response_code` holds at most 10 characters: the one classification longer than that is
#: stored short and answered in full.
_STORED_CODES = {FEEDBACK_REPORT: "feedback"}
_READ_CODES = {stored: code for code, stored in _STORED_CODES.items()}
_WITH_ATTEMPT = re.compile(r"^(?P<id>.+)-(?P<attempt>\d{1,6})$")


@dataclass
class BounceResult:
    """What became of one received DSN."""

    inbound_id: str
    classification: str | None
    original_envelope_id: str | None
    message_id: str | None
    invoice_id: str | None
    delivery_id: str | None
    delivery_status: str | None
    applied: bool
    note: str | None
    linked_by: str | None = None
    attempt: int | None = None
    duplicate: bool = False
    recipients: list[dict[str, Any]] = field(default_factory=list)

    @property
    def kind(self) -> str:
        return KIND

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.inbound_id,
            "kind": KIND,
            "classification": self.classification,
            "original_envelope_id": self.original_envelope_id,
            "message_id": self.message_id,
            "invoice_id": self.invoice_id,
            "delivery_id": self.delivery_id,
            "delivery_status": self.delivery_status,
            "attempt": self.attempt,
            "linked_by": self.linked_by,
            "applied": self.applied,
            "note": self.note,
            "duplicate": self.duplicate,
            "recipients": self.recipients,
        }


@dataclass(frozen=True)
class _Link:
    delivery: Delivery
    by: str
    key: str
    attempt: int | None = None


def receive_bounce(
    engine: Engine,
    data: bytes,
    *,
    actor: str,
    tenant_id: str | None,
    parsed: Parsed[DeliveryStatusNotification] | None = None,
) -> BounceResult:
    """Parse, store once, link and apply one DSN; `FormatError` (`DsnError`) when it cannot be read.

    `parsed`: `data` already read (`dsn_reports.parse`, in the API's parse pool); None reads it here.
    """
    dsn = parsed.get() if parsed is not None else dsn_reports.parse(data)
    digest = hashlib.sha256(data).hexdigest()
    return store_once(
        engine,
        digest,
        receive=lambda session: _receive(session, dsn, data, digest, actor=actor, tenant_id=tenant_id),
        replay=lambda session, existing: _result_of(session, existing, tenant_id, duplicate=True),
        what="DSN",
    )


# --- storing -----------------------------------------------------------------------------------------------


def _result_of(
    session: Session,
    row: InboundDocument,
    tenant_id: str | None,
    *,
    duplicate: bool,
    link: _Link | None = None,
) -> BounceResult:
    foreign = tenant_id is not None and row.tenant_id is not None and row.tenant_id != tenant_id
    if foreign:  # the same bytes arrived for another tenant first: say so, but show nothing of theirs
        return BounceResult(
            inbound_id=row.id,
            classification=_READ_CODES.get(row.response_code or "", row.response_code),
            original_envelope_id=None,
            message_id=None,
            invoice_id=None,
            delivery_id=None,
            delivery_status=None,
            applied=False,
            duplicate=True,
            note="the same DSN was already received for another tenant; not applied",
        )
    delivery = session.get(Delivery, row.delivery_id) if row.delivery_id else None
    note = row.note
    if duplicate:
        note = "the same DSN was received before; not applied again" + (f" (first: {note})" if note else "")
    return BounceResult(
        inbound_id=row.id,
        classification=_READ_CODES.get(row.response_code or "", row.response_code),
        original_envelope_id=row.document_id,
        message_id=row.referenced_document_id,
        invoice_id=row.invoice_id,
        delivery_id=row.delivery_id,
        delivery_status=DeliveryStatus(delivery.status).value if delivery else None,
        applied=row.applied and not duplicate,
        note=note,
        linked_by=link.by if link else None,
        attempt=link.attempt if link else None,
        duplicate=duplicate,
        recipients=list(row.reasons),
    )


def _receive(
    session: Session,
    dsn: DeliveryStatusNotification,
    data: bytes,
    digest: str,
    *,
    actor: str,
    tenant_id: str | None,
) -> BounceResult:
    link, note = _link(session, dsn, tenant_id)
    delivery = link.delivery if link else None
    returned_id = dsn.returned.message_id if dsn.returned else None
    row = InboundDocument(
        id=new_id(),
        tenant_id=tenant_id or (delivery.tenant_id if delivery else None),
        kind=KIND,
        payload_sha256=digest,
        document_id=(dsn.original_envelope_id or "")[:200] or None,
        referenced_document_id=(returned_id or "")[:200] or None,
        response_code=_STORED_CODES.get(dsn.classification, dsn.classification),
        reasons=[recipient.as_dict() for recipient in dsn.recipients],
        delivery_id=delivery.id if delivery else None,
        invoice_id=delivery.invoice_id if delivery else None,
        applied=False,
        note=note,
        payload=decode_payload(data),
        received_at=utcnow(),
    )
    if not dsn.is_delivery_report:
        row.note = f"{dsn.classification}: recorded, never applied as a bounce" + (
            f" ({note})" if note and link is None else ""
        )
    elif link is not None:
        other_recipient = _other_recipient(dsn, link)
        if link.attempt is not None and link.attempt < link.delivery.attempt:
            row.note = (
                f"reports on attempt {link.attempt}; the delivery is on attempt {link.delivery.attempt} "
                "(resent since): recorded, not applied"
            )
        elif other_recipient is not None:
            row.note = other_recipient
        else:
            row.applied, row.note = _apply(session, dsn, row, link, actor=actor)
    session.add(row)
    session.flush()
    return _result_of(session, row, tenant_id, duplicate=False, link=link)


# --- linking -----------------------------------------------------------------------------------------------


def _delivery(session: Session, delivery_id: str, tenant_id: str | None) -> Delivery | None:
    if not delivery_id or len(delivery_id) > 32:
        return None
    delivery = session.get(Delivery, delivery_id)
    if delivery is None or (tenant_id is not None and delivery.tenant_id != tenant_id):
        return None
    return delivery


def _by_tagged_id(session: Session, value: str, tenant_id: str | None) -> tuple[Delivery, int | None] | None:
    """`<delivery id>-<attempt>` or `<delivery id>` → (delivery, attempt or None)."""
    match = _WITH_ATTEMPT.match(value)
    if match is not None:
        delivery = _delivery(session, match.group("id"), tenant_id)
        if delivery is not None:
            return delivery, int(match.group("attempt"))
    delivery = _delivery(session, value, tenant_id)
    return (delivery, None) if delivery is not None else None


def _by_invoice_number(
    session: Session, number: str, tenant_id: str | None
) -> tuple[Delivery | None, str | None]:
    """(the invoice's latest e-mail delivery, or None with a note; (None, None): no such invoice)."""
    query = select(InvoiceRecord).where(col(InvoiceRecord.number) == number)
    if tenant_id is not None:
        query = query.where(col(InvoiceRecord.tenant_id) == tenant_id)
    invoices = list(session.execute(query).scalars())
    if not invoices:
        return None, None
    deliveries = list(
        session.execute(
            select(Delivery)
            .where(
                col(Delivery.invoice_id).in_([invoice.id for invoice in invoices]),
                col(Delivery.channel) == EMAIL_CHANNEL,
            )
            .order_by(col(Delivery.created_at).desc(), col(Delivery.id).desc())
        ).scalars()
    )
    if not deliveries:
        return None, f"invoice {number!r} has no e-mail delivery"
    if len({delivery.invoice_id for delivery in deliveries}) > 1:
        return None, (
            f"{len(invoices)} invoices have number {number!r}" + ("" if tenant_id else " (name the tenant)")
        )
    return deliveries[0], None


def _by_recipient(
    session: Session, dsn: DeliveryStatusNotification, tenant_id: str | None
) -> tuple[Delivery | None, str | None]:
    """The one `sent` e-mail delivery to a failed or delayed recipient; (None, note) when more than one."""
    addresses = {
        address.strip().strip("<>").casefold()
        for recipient in dsn.recipients
        if recipient.action in {FAILED, DELAYED}
        and (address := recipient.final_recipient or recipient.original_recipient)
        and "@" in address
    }
    if not addresses:
        return None, None
    query = select(Delivery).where(
        func.lower(col(Delivery.address)).in_(sorted(addresses)),
        col(Delivery.channel) == EMAIL_CHANNEL,
        col(Delivery.status) == S.SENT.value,
    )
    if tenant_id is not None:
        query = query.where(col(Delivery.tenant_id) == tenant_id)
    else:
        # every tenant, named: one (tenant, status) range each in ix_deliveries_status_created, where SQLite
        # would otherwise read every delivery (no index begins with the status since migration 0027)
        query = query.where(col(Delivery.tenant_id).in_(select(col(Tenant.id))))
    deliveries = list(session.execute(query.limit(2)).scalars())
    if len(deliveries) == 1:
        return deliveries[0], None
    if len(deliveries) > 1:
        return None, f"more than one sent e-mail delivery to {', '.join(sorted(addresses))}: not guessed"
    return None, None


def _attempt_of(session: Session, dsn: DeliveryStatusNotification, delivery: Delivery) -> int | None:
    """The attempt a DSN linked without one (VERP, X-Delivery-Id, invoice number) reports on, if it says."""
    returned_id = dsn.returned.message_id if dsn.returned else None
    tagged = [
        dsn.original_envelope_id,
        returned_id.strip().strip("<>").rpartition("@")[0] if returned_id else None,
    ]
    for value in tagged:
        match = _WITH_ATTEMPT.match(value or "")
        if match is not None and match.group("id") == delivery.id:
            return int(match.group("attempt"))
    if returned_id:
        found = find_by_message_id(session, returned_id, delivery.tenant_id)
        if found is not None and found[0].id == delivery.id:
            return found[1]
    return None


def _other_recipient(dsn: DeliveryStatusNotification, link: _Link) -> str | None:
    """A note when a DSN linked only by invoice number reports a failure or delivery for someone else.

    An invoice number is a weak key (another sender, or an earlier e-mail to another address, may carry
    it): such a DSN moves the delivery only when a recipient it reports on is the delivery's address.
    """
    if link.by != INVOICE_NUMBER or dsn.classification not in {FAILED, DELIVERED}:
        return None
    reported = [
        address
        for recipient in dsn.recipients
        if recipient.action == dsn.classification
        and (address := recipient.final_recipient or recipient.original_recipient)
    ]
    if not reported:
        return None

    def folded(address: str) -> str:
        return address.strip().strip("<>").casefold()

    ours = folded(link.delivery.address or "")
    if any(folded(address) == ours for address in reported):
        return None
    return (
        f"linked only by invoice number {link.key!r}, and it reports {dsn.classification} for "
        f"{', '.join(reported)}, not the delivery's address {link.delivery.address or '(none)'}: "
        "recorded, not applied"
    )


def _link(
    session: Session, dsn: DeliveryStatusNotification, tenant_id: str | None
) -> tuple[_Link | None, str | None]:
    """(link, note when not linked); the attempt is filled in from the other keys when they name it."""
    link, note = _find_link(session, dsn, tenant_id)
    if link is not None and link.attempt is None:
        attempt = _attempt_of(session, dsn, link.delivery)
        if attempt is not None:
            link = _Link(link.delivery, link.by, link.key, attempt)
    return link, note


def _find_link(
    session: Session, dsn: DeliveryStatusNotification, tenant_id: str | None
) -> tuple[_Link | None, str | None]:
    envid = dsn.original_envelope_id
    if envid:
        found = _by_tagged_id(session, envid, tenant_id)
        if found is not None:
            return _Link(found[0], ENVID, envid, found[1]), None
    tags: list[str] = []
    for address in dsn.verp_addresses():
        tag = verp_tag(address, VERP_PREFIX)
        if tag and tag not in tags:
            tags.append(tag)
    for tag in tags:
        found = _by_tagged_id(session, tag, tenant_id)
        if found is not None:
            return _Link(found[0], VERP, tag, found[1]), None
    returned = dsn.returned
    message_id = returned.message_id if returned else None
    if message_id:
        local = message_id.strip().strip("<>").rpartition("@")[0]
        found = _by_tagged_id(session, local, tenant_id) if local else None
        if found is not None:
            return _Link(found[0], MESSAGE_ID, message_id, found[1]), None
        by_channel = find_by_message_id(session, message_id, tenant_id)
        if by_channel is not None:
            return _Link(by_channel[0], MESSAGE_ID, message_id, by_channel[1]), None
    for reference in dsn.references:
        local = reference.strip().strip("<>").rpartition("@")[0]
        found = _by_tagged_id(session, local, tenant_id) if local else None
        if found is not None:
            return _Link(found[0], REFERENCES, reference, found[1]), None
        by_channel = find_by_message_id(session, reference, tenant_id)
        if by_channel is not None:
            return _Link(by_channel[0], REFERENCES, reference, by_channel[1]), None
    header_id = returned.delivery_id if returned else None
    if header_id:
        found = _by_tagged_id(session, header_id, tenant_id)
        if found is not None:
            return _Link(found[0], X_DELIVERY_ID, header_id, found[1]), None
    numbers = [n for n in [returned.invoice_number if returned else None, envid, *tags] if n]
    notes: list[str] = []
    for number in dict.fromkeys(numbers):
        delivery, problem = _by_invoice_number(session, number, tenant_id)
        if delivery is not None:
            return _Link(delivery, INVOICE_NUMBER, number), None
        if problem:
            notes.append(problem)
    if dsn.is_delivery_report:
        delivery, problem = _by_recipient(session, dsn, tenant_id)
        if delivery is not None:
            return _Link(delivery, RECIPIENT, delivery.address or ""), None
        if problem:
            notes.append(problem)
    keys = {
        "ENVID": envid,
        "VERP": ", ".join(tags) or None,
        "Message-ID": message_id,
        "X-Delivery-Id": header_id,
        "X-Invoice-Number": returned.invoice_number if returned else None,
    }
    named = "; ".join(f"{name} {value!r}" for name, value in keys.items() if value) or "no link keys at all"
    where = f" of tenant {tenant_id}" if tenant_id else ""
    return None, f"no delivery{where} found ({named})" + (": " + "; ".join(notes) if notes else "")


# --- applying ----------------------------------------------------------------------------------------------


def _describe(recipient: RecipientStatus) -> str:
    parts = [recipient.final_recipient or recipient.original_recipient or "?"]
    if recipient.status:
        parts.append(recipient.status)
    text = " ".join(parts)
    if recipient.diagnostic_code:
        text += f" ({recipient.diagnostic_code})"
    if recipient.action == DELAYED and recipient.will_retry_until:
        text += f", retried until {recipient.will_retry_until.isoformat()}"
    return text


_HEADLINES = {
    FAILED: "e-mail bounced (DSN: failed)",
    DELAYED: "e-mail delayed (DSN: delayed; the MTA keeps trying)",
    DELIVERED: "e-mail delivered (DSN: delivered)",
    EXPANDED: "e-mail expanded to further recipients (DSN: expanded; not a delivery confirmation)",
    RELAYED: "e-mail relayed onward (DSN: relayed; handed on, not a delivery confirmation)",
}


def _reason_text(dsn: DeliveryStatusNotification) -> str:
    action = dsn.classification
    head = _HEADLINES[action]
    if dsn.reporting_mta:
        head += f" from {dsn.reporting_mta}"
    relevant = [r for r in dsn.recipients if r.action == action]
    return head + ": " + "; ".join(_describe(r) for r in relevant)


def _apply(
    session: Session,
    dsn: DeliveryStatusNotification,
    row: InboundDocument,
    link: _Link,
    *,
    actor: str,
) -> tuple[bool, str | None]:
    """Apply the DSN to its delivery; (applied, note)."""
    delivery = link.delivery
    action = dsn.classification
    details: dict[str, Any] = {
        "inbound_document_id": row.id,
        "kind": KIND,
        "classification": action,
        "linked_by": link.by,
        "link_key": link.key,
        "attempt": link.attempt,
        "dsn_message_id": dsn.message_id,
        "original_envelope_id": dsn.original_envelope_id,
        "returned_message_id": dsn.returned.message_id if dsn.returned else None,
        "reporting_mta": dsn.reporting_mta,
        "arrival_date": dsn.arrival_date.isoformat() if dsn.arrival_date else None,
        "recipients": [recipient.as_dict() for recipient in dsn.recipients],
    }
    retry_until = [r.will_retry_until for r in dsn.recipients if r.action == DELAYED and r.will_retry_until]
    if retry_until:
        details["will_retry_until"] = max(retry_until).isoformat()
    reason = _reason_text(dsn)
    current = DeliveryStatus(delivery.status)
    target = {FAILED: S.DEVIATION, DELIVERED: S.DELIVERED}.get(action)
    movable = {FAILED: {S.SENT, S.DELIVERED}, DELIVERED: {S.SENT}}.get(action, set())
    note: str | None = None
    if target is not None and current in movable:
        change_status(session, delivery, target, actor=actor, reason=reason, details=details)
    else:
        if target is not None and current != target:
            note = f"delivery is {current.value}; not moved to {target.value}, recorded as an event"
        note_event(session, delivery, actor=actor, reason=reason, details=details)
    return True, note


# --- reading mail stores (the CLI's `gateway bounces`) -----------------------------------------------------

#: Maildir's info separator and "seen" flag (https://cr.yp.to/proto/maildir.html).
MAILDIR_INFO, MAILDIR_SEEN = ":2,", "S"


@dataclass
class MailSource:
    """One message to take in: its name for the table, its bytes, and what to do once it was read."""

    name: str
    data: bytes
    maildir_path: Path | None = None

    def done(self) -> Path | None:
        """Mark a Maildir message read: move it to `cur/` with the `S` flag (no-op for files and mbox)."""
        path = self.maildir_path
        if path is None:
            return None
        base, info, flags = path.name.partition(MAILDIR_INFO)
        if info and MAILDIR_SEEN in flags:
            return path
        target = path.parent.parent / "cur" / f"{base}{MAILDIR_INFO}{''.join(sorted({*flags, MAILDIR_SEEN}))}"
        os.rename(path, target)
        self.maildir_path = target
        return target


def is_maildir(path: Path) -> bool:
    return path.is_dir() and (path / "new").is_dir() and (path / "cur").is_dir()


def _maildir_sources(folder: Path) -> Iterator[MailSource]:
    """Unread messages: everything in `new/`, and messages in `cur/` without the `S` flag, oldest first."""
    entries: list[Path] = []
    for sub in ("new", "cur"):
        for path in sorted((folder / sub).iterdir()):
            if not path.is_file() or path.name.startswith("."):
                continue
            _, info, flags = path.name.partition(MAILDIR_INFO)
            if sub == "cur" and info and MAILDIR_SEEN in flags:
                continue
            entries.append(path)
    for path in entries:
        yield MailSource(f"{folder.name}/{path.parent.name}/{path.name}", path.read_bytes(), path)


def _mbox_sources(path: Path) -> Iterator[MailSource]:
    box = mailbox.mbox(path, create=False)
    try:
        for number, key in enumerate(box.keys(), start=1):
            yield MailSource(f"{path.name}#{number}", box.get_bytes(key))
    finally:
        box.close()


def is_mbox(path: Path) -> bool:
    if path.suffix.lower() == ".mbox":
        return True
    with path.open("rb") as handle:
        return handle.read(5) == b"From "


def mail_sources(paths: list[Path]) -> Iterator[MailSource]:
    """Messages from files (.eml), mbox files, folders of them, and Maildir folders (unread ones only).

    Raises `FileNotFoundError` for a path that does not exist (before anything is read).
    """
    for path in paths:
        if not path.exists():
            raise FileNotFoundError(f"{path}: no such file or directory")
    for path in paths:
        if is_maildir(path):
            yield from _maildir_sources(path)
        elif path.is_dir():
            for child in sorted(path.iterdir()):
                if is_maildir(child):
                    yield from _maildir_sources(child)
                elif child.is_file() and child.suffix.lower() == ".mbox":
                    yield from _mbox_sources(child)
                elif child.is_file() and child.suffix.lower() == ".eml":
                    yield MailSource(child.name, child.read_bytes())
        elif is_mbox(path):
            yield from _mbox_sources(path)
        else:
            yield MailSource(path.name, path.read_bytes())
