"""Digipost's document events, read back and applied to deliveries (as print returns and EDI acks are).

Digipost records what became of each document: opened in the mailbox, postmarked by its print service,
printing failed, shredded as undeliverable, delivered or failed through PEPPOL or e-mail. A digipost
channel's events are polled in windows of creation time (`[polled_until, now - settle)`) and each event
finds its delivery by the primary document's uuid, which the channel made the delivery's channel message
id. OPENED, POSTMARKED, PEPPOL_DELIVERED, EMAIL_MESSAGE_SENT move a sent delivery to `delivered`;
PRINT_FAILED, SHREDDED, PEPPOL_FAILED, EMAIL_MESSAGE_FAILED move a sent or delivered one to `deviation`
with the cause; anything else (an SMS notification that failed, a later OPENED) is noted in its history.

The window's events and the moved cursor (`digipost_event_cursors`) are written in one transaction, and the
cursor only moves from where this poll found it: a crash, a failed request or a second worker polling at
the same time leaves the window to be read again, and no event is applied twice.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from channels.digipost import DigipostChannel
from db.engine import session_scope
from db.models import DigipostEventCursor, utcnow
from gateway.services.inbound.store import find_by_message_id
from mappings.base import FormatError
from mappings.consumer.digipost import DocumentEvent, read_document_events
from outbox.queue import StaleStatus, change_status, note_event
from outbox.states import DeliveryStatus
from transports.digipost import DigipostError

log = logging.getLogger("gateway.digipost_events")

S = DeliveryStatus

#: Events that say the recipient has the document, and how the history says it.
DELIVERED_EVENTS = {
    "OPENED": "opened in the recipient's Digipost mailbox",
    "POSTMARKED": "postmarked by Digipost's print service",
    "PEPPOL_DELIVERED": "delivered by Digipost through PEPPOL",
    "EMAIL_MESSAGE_SENT": "sent by Digipost as e-mail",
}
#: Events that say it did not get there, and why (a person has to act).
DEVIATION_EVENTS = {
    "PRINT_FAILED": "Digipost could not print the letter",
    "SHREDDED": "the letter could not be delivered and was shredded",
    "PEPPOL_FAILED": "Digipost could not deliver it through PEPPOL",
    "EMAIL_MESSAGE_FAILED": "Digipost could not deliver it as e-mail",
}


@dataclass
class DigipostEventsReport:
    """What one poll of one channel did."""

    channel: str
    start: dt.datetime | None = None
    end: dt.datetime | None = None
    events: int = 0
    applied: int = 0
    noted: int = 0
    unlinked: int = 0
    error: str | None = None
    results: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "channel": self.channel,
            "from": self.start.isoformat() if self.start else None,
            "to": self.end.isoformat() if self.end else None,
            "events": self.events,
            "applied": self.applied,
            "noted": self.noted,
            "unlinked": self.unlinked,
            "error": self.error,
            "results": self.results,
        }


class _CursorMoved(Exception):
    """Another poll moved the cursor first: this one's writes are rolled back."""


def fetch_events(channel: DigipostChannel, start: dt.datetime, end: dt.datetime) -> list[DocumentEvent]:
    """Every event created in [start, end), page by page; `DigipostError` / `FormatError` / `ValueError`."""
    client = channel.client()
    size = channel.config.events_page_size
    sender = str(channel.config.sender_id) if channel.config.sender_id else None
    found: list[DocumentEvent] = []
    offset = 0
    while True:
        page = read_document_events(
            client.document_events(start, end, offset=offset, max_results=size, sender_id=sender)
        ).events
        found.extend(page)
        if len(page) < size:
            return found
        offset += size


def poll_digipost_events(
    engine: Engine,
    channel: DigipostChannel,
    *,
    channel_name: str = "digipost",
    now: dt.datetime | None = None,
    actor: str = "digipost:events",
) -> DigipostEventsReport:
    """Read the channel's events since the last poll and apply them; the report says what happened."""
    now = now or utcnow()
    report = DigipostEventsReport(channel_name)
    with session_scope(engine) as session:
        cursor = session.get(DigipostEventCursor, channel_name)
        start = cursor.polled_until if cursor is not None else None
    first_poll = start is None
    start = start or now - dt.timedelta(hours=channel.config.events_first_window_hours)
    end = now - dt.timedelta(seconds=channel.config.events_settle_seconds)
    report.start, report.end = start, end
    if end <= start:
        return report
    try:
        events = fetch_events(channel, start, end)
    except (DigipostError, FormatError, ValueError) as error:
        report.error = channel.mask(str(error))
        log.warning("digipost events (%s): %s", channel_name, report.error)
        return report
    report.events = len(events)
    try:
        with session_scope(engine) as session:
            for event in sorted(events, key=lambda e: e.created):
                report.results.append(_apply(session, event, report, actor=actor))
            _move_cursor(session, channel_name, start if not first_poll else None, end)
    except (_CursorMoved, IntegrityError):
        report.applied = report.noted = report.unlinked = 0
        report.results = []
        report.error = "another poll read this window at the same time; nothing applied here"
    return report


def _move_cursor(session: Session, channel_name: str, expected: dt.datetime | None, end: dt.datetime) -> None:
    if expected is None:
        session.add(DigipostEventCursor(channel=channel_name, polled_until=end, updated_at=utcnow()))
        session.flush()  # a concurrent first poll: IntegrityError here, and the whole window rolls back
        return
    table = DigipostEventCursor.__table__  # type: ignore[attr-defined]
    moved = session.execute(
        update(table)
        .where(table.c.channel == channel_name, table.c.polled_until == expected)
        .values(polled_until=end, updated_at=utcnow())
    )
    if moved.rowcount != 1:  # type: ignore[attr-defined]
        raise _CursorMoved(channel_name)


def _apply(
    session: Session, event: DocumentEvent, report: DigipostEventsReport, *, actor: str
) -> dict[str, Any]:
    result: dict[str, Any] = {
        "document": event.uuid,
        "event": event.type,
        "created": event.created.isoformat(),
    }
    found = find_by_message_id(session, event.uuid, None)
    if found is None:  # an attachment's uuid, or a message another system sent
        report.unlinked += 1
        return {**result, "result": "unlinked"}
    delivery, attempt = found
    result["delivery_id"] = delivery.id
    cause = event.metadata.get("error-code")
    details: dict[str, Any] = {"digipost_event": event.type, "document": event.uuid, **dict(event.metadata)}
    when = f" ({event.created.astimezone(dt.UTC).strftime('%Y-%m-%d %H:%M')} UTC)"
    if event.type in DELIVERED_EVENTS:
        text, target = DELIVERED_EVENTS[event.type], S.DELIVERED
    elif event.type in DEVIATION_EVENTS:
        text = DEVIATION_EVENTS[event.type] + (f": {cause}" if cause else "")
        target = S.DEVIATION
    else:
        text, target = f"Digipost event {event.type}" + (f": {cause}" if cause else ""), None
    reason = f"Digipost: {text}{when}"
    current = DeliveryStatus(delivery.status)
    movable = (
        {S.DELIVERED: {S.SENT}, S.DEVIATION: {S.SENT, S.DELIVERED}}.get(target, set()) if target else set()
    )
    if attempt == delivery.attempt and current in movable and target is not None:
        try:
            change_status(session, delivery, target, actor=actor, reason=reason, details=details)
        except StaleStatus:
            pass  # being worked on (a resend): the event is noted below instead
        else:
            report.applied += 1
            return {**result, "result": f"applied: {target.value}"}
    else:
        reason += f" (attempt {attempt})" if attempt != delivery.attempt else ""
    session.refresh(delivery)
    note_event(session, delivery, actor=actor, reason=reason, details=details)
    report.noted += 1
    return {**result, "result": f"noted ({DeliveryStatus(delivery.status).value})"}
