"""What every intake of documents from the world shares: store once, survive races, find the delivery.

Status documents (Invoice Response, MLR, MLS), e-mail bounces (DSN), EDI files and print-house return files
are each kept whole in `inbound_documents`, identified by the SHA-256 of their bytes, so the same file twice
is one row and the second receipt answers with the first result. (Drop folders, where some of them arrive,
are `transports.drop_folder`; `take_into_report` walks one for a poll.)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from sqlalchemy import Engine, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlmodel import col

from db.engine import session_scope
from db.models import Delivery, DeliveryEvent, InboundDocument
from mappings.base import FormatError
from outbox.queue import StaleStatus
from transports.drop_folder import DropFolder, DroppedFile, Kept, take_waiting_files

ResultT = TypeVar("ResultT")


def find_by_digest(session: Session, digest: str) -> InboundDocument | None:
    return session.execute(
        select(InboundDocument).where(col(InboundDocument.payload_sha256) == digest)
    ).scalar_one_or_none()


def store_once(
    engine: Engine,
    digest: str,
    *,
    receive: Callable[[Session], ResultT],
    replay: Callable[[Session, InboundDocument], ResultT],
    what: str,
) -> ResultT:
    """`receive` the document in one transaction, or `replay` the first receipt of the same bytes.

    A concurrent receipt of the same bytes (unique digest) or a delivery moved under us (`StaleStatus`)
    makes the whole step run again on fresh reads, up to three times.
    """
    for _ in range(3):
        try:
            with session_scope(engine) as session:
                existing = find_by_digest(session, digest)
                if existing is not None:
                    return replay(session, existing)
                return receive(session)
        except (IntegrityError, StaleStatus):
            continue
    with session_scope(engine) as session:  # pragma: no cover - three lost races in a row
        existing = find_by_digest(session, digest)
        if existing is None:
            raise RuntimeError(f"the {what} could not be stored after three tries")
        return replay(session, existing)


def decode_payload(data: bytes) -> str:
    """The document as text for storage: UTF-8 (with or without BOM), else every byte kept as latin-1."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def store_rejected(
    session: Session,
    data: bytes,
    error: FormatError,
    *,
    kind: str,
    digest: str,
    source: str | None,
    tenant_id: str | None,
) -> InboundDocument:
    """Keep a file that cannot be read, whole and with the reason, so a repeat answers with the refusal."""
    document = InboundDocument(
        tenant_id=tenant_id,
        kind=kind,
        payload_sha256=digest,
        document_id=(source or "")[:200] or None,
        applied=False,
        note=f"rejected: {error}",
        reasons=[error.as_dict()],
        payload=decode_payload(data),
    )
    session.add(document)
    session.flush()
    return document


class _Reported(Protocol):
    def as_dict(self) -> dict[str, Any]: ...


@dataclass
class DropPollReport:
    """What one poll of a drop folder did: a row per file received, and what could not be taken."""

    files: list[dict[str, Any]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def take_into_report(
    report: DropPollReport,
    folder: DropFolder,
    receive: Callable[[bytes, str], _Reported],
    *,
    max_bytes: int,
) -> None:
    """Hand every waiting file to `receive(content, name)` (which stores it once and applies it), then
    archive it; each file's outcome goes into `report` as soon as it has moved, so a pass that stops
    half-way (a connection lost) still reports what it took. A file past `max_bytes` is left where it is
    and reported, so raising the limit lets it be read."""

    def keep(file: DroppedFile) -> Kept[_Reported]:
        return Kept(receive(file.read(), file.name))

    for taken in take_waiting_files(folder, keep, max_bytes=max_bytes, leave_too_large=True):
        if taken.result is None:
            report.errors.append(f"{taken.name}: {taken.refused}")
            continue
        report.files.append({"file": taken.name, "archived_as": taken.moved_to, **taken.result.as_dict()})


def find_by_message_id(
    session: Session, message_id: str, tenant_id: str | None
) -> tuple[Delivery, int] | None:
    """The delivery (and attempt) whose channel message id — now, or an earlier attempt's — is `message_id`.

    Message ids are compared with and without angle brackets (`<id@host>` as mail headers write them).
    """
    bare = message_id.strip().strip("<>")
    forms = list(dict.fromkeys([message_id.strip(), bare, f"<{bare}>"]))
    query = select(Delivery).where(col(Delivery.channel_message_id).in_(forms))
    if tenant_id is not None:
        query = query.where(col(Delivery.tenant_id) == tenant_id)
    found = session.execute(query.order_by(col(Delivery.created_at).desc()).limit(1)).scalar_one_or_none()
    if found is not None:
        return found, found.attempt
    events = select(col(DeliveryEvent.delivery_id), col(DeliveryEvent.attempt)).where(
        col(DeliveryEvent.channel_message_id).in_(forms)
    )
    if tenant_id is not None:
        events = events.where(col(DeliveryEvent.tenant_id) == tenant_id)
    row = session.execute(events.order_by(col(DeliveryEvent.id).desc()).limit(1)).first()
    if row is None:
        return None
    delivery = session.get(Delivery, row[0])
    return (delivery, int(row[1])) if delivery is not None else None
