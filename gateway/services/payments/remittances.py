"""Remittance intake: a payment file from the bank, Nets or a payer, taken in whole or refused whole.

Every file is kept (document store + a `remittance_files` row) whether it is read or refused, so a refused
file can be inspected and sent again once fixed. A file is read completely before anything is booked: a
reader that finds any fault (a control total that does not add up, a bad amount, an unknown version)
refuses the whole file, naming the field and the reason — booking half a bank file is worse than booking
none. The same bytes twice for a tenant are one file (the second receipt answers with the first); the same
payment in another file (the bank's reference, amount and date) is kept as a duplicate and never matched.

Payments are written as `new`; matching (`gateway.services.payments.matching_runs`) picks them up right after
(`gateway.services.payments.intake`) or from the worker, so a crash between the two leaves them waiting,
never lost.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError
from sqlalchemy import Engine, func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlmodel import col

from db.engine import session_scope
from db.models import PaymentRecord, RemittanceFile, RemittanceLineRecord, new_id, utcnow
from gateway.services.downloads import filename_problem
from gateway.services.outbound.documents import DocumentStore
from gateway.services.tenancy.tenants import ensure_tenant, tenant_settings
from mappings import detect_format, formats, parser
from mappings.base import FormatError
from schemas.remittance import Payment, RemittanceDocument
from schemas.sftp import SftpSettings
from transports.drop_folder import (
    DropFolder,
    DroppedFile,
    Kept,
    take_waiting_files,
)

#: Payment kinds that are a payer's advice rather than the bank's record of money received.
ADVICE_KINDS = frozenset({"remadv", "x12-820"})

MAX_REMITTANCE_BYTES = 200 * 1024 * 1024
#: `document_key` of a refused file whose body was not kept (the tenant's quota for refused files was full).
NOT_KEPT = ""
NOT_KEPT_NOTE = "not kept: the tenant's quota for refused remittance files was full when it came"


class RemittanceTooLarge(ValueError):
    def __init__(self, size: int, limit: int) -> None:
        super().__init__(f"{size:,} bytes; at most {limit:,}")
        self.size = size
        self.limit = limit


#: The longest file name kept (the `remittance_files.filename` column).
MAX_FILENAME_LENGTH = 255


class RemittanceNameRefused(ValueError):
    """A remittance file name that is not kept (`downloads.filename_problem`), before anything is stored:
    it is handed back in `Content-Disposition` and shown on pages, as a POD's name is."""

    field = "filename"

    def __init__(self, reason: str) -> None:
        super().__init__(f"filename: {reason}")
        self.reason = reason


def check_remittance_filename(name: str | None) -> str | None:
    """`name` when a remittance file may be kept under it (None: no name); else `RemittanceNameRefused`."""
    problem = None if name is None else filename_problem(name, MAX_FILENAME_LENGTH)
    if problem is not None:
        raise RemittanceNameRefused(problem)
    return name


class RemittanceNotFound(LookupError):
    pass


@dataclass
class RemittanceReceipt:
    """What became of one received file."""

    file_id: str
    outcome: str  # accepted, rejected, duplicate
    format: str | None
    status: str  # the file's status: accepted or rejected
    payments: int = 0
    duplicate_payments: int = 0
    reason: str | None = None
    error_field: str | None = None
    payment_ids: list[str] = field(default_factory=list)
    #: False: a refused file whose body was not kept (the tenant's quota for refused files was full)
    kept: bool = True
    note: str | None = None

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "file_id": self.file_id,
            "outcome": self.outcome,
            "status": self.status,
            "format": self.format,
            "payments": self.payments,
            "duplicate_payments": self.duplicate_payments,
        }
        if self.reason:
            data["error"] = {"field": self.error_field, "reason": self.reason}
        if not self.kept:
            data["kept"] = False
            data["note"] = self.note
        return data


@dataclass(frozen=True)
class RemittanceReading:
    """What reading a file gave: its format and document, or the refusal (field and reason).

    Plain data, so it crosses a process boundary: the API reads uploads in a process pool
    (`gateway.api.parsing`) and hands the reading to `receive_remittance`.
    """

    format_name: str | None
    document: RemittanceDocument | None = None
    error_where: str | None = None
    error_reason: str | None = None

    @property
    def error(self) -> FormatError | None:
        if self.error_where is None:
            return None
        return FormatError(self.error_where, self.error_reason or "refused")


def read_remittance_file(data: bytes) -> RemittanceReading:
    """`read_remittance` as plain data, never raising for a bad file: the CPU-heavy step of intake, pure."""
    try:
        format_name, document = read_remittance(data)
    except FormatError as refused:
        return RemittanceReading(detect_format(data), None, refused.where, refused.reason)
    except RecursionError:  # a pathological nesting that a reader could not descend: refused, kept
        return RemittanceReading(detect_format(data), None, "file", "nested too deeply to read")
    return RemittanceReading(format_name, document)


def read_remittance(data: bytes) -> tuple[str, RemittanceDocument]:
    """Which remittance format `data` is and what it says; `FormatError` naming the field otherwise."""
    readers = formats("remittance")  # the formats that carry payments, in the registry
    name = detect_format(data)
    if name is None:
        raise FormatError("file", "not a remittance format the gateway reads (" + ", ".join(readers) + ")")
    if name not in readers:
        raise FormatError(
            "file", f"a {name} file carries no payments (remittance formats: " + ", ".join(readers) + ")"
        )
    return name, cast(RemittanceDocument, parser(name, kind="remittance")(data))


def payment_fingerprint(payment: Payment) -> str | None:
    """The same money movement in any file: the bank's reference with amount, currency, date, direction."""
    if not payment.bank_reference:
        return None
    day = payment.booking_date or payment.value_date
    text = "|".join(
        [payment.bank_reference, str(payment.amount), payment.currency, str(day or ""), payment.direction]
    )
    return hashlib.sha256(text.encode()).hexdigest()


def _first_file(session: Session, tenant_id: str, digest: str) -> RemittanceFile | None:
    return session.execute(
        select(RemittanceFile).where(
            col(RemittanceFile.tenant_id) == tenant_id, col(RemittanceFile.payload_sha256) == digest
        )
    ).scalar_one_or_none()


def kept_refused_bytes(session: Session, tenant_id: str) -> int:
    """Bytes of refused remittance files the tenant keeps in the document store (for inspection)."""
    total = session.execute(
        select(func.coalesce(func.sum(col(RemittanceFile.size)), 0)).where(
            col(RemittanceFile.tenant_id) == tenant_id,
            col(RemittanceFile.status) == "rejected",
            col(RemittanceFile.document_key) != NOT_KEPT,
        )
    ).scalar_one()
    return int(total)


def _receipt(session: Session, file: RemittanceFile, outcome: str) -> RemittanceReceipt:
    rows = session.execute(
        select(col(PaymentRecord.id), col(PaymentRecord.duplicate_of))
        .where(col(PaymentRecord.file_id) == file.id)
        .order_by(col(PaymentRecord.sequence))
    ).all()
    return RemittanceReceipt(
        file_id=file.id,
        outcome=outcome,
        format=file.format,
        status=file.status,
        payments=len(rows),
        duplicate_payments=sum(1 for row in rows if row.duplicate_of),
        reason=file.reason,
        error_field=file.error_field,
        payment_ids=[row.id for row in rows],
        kept=file.document_key != NOT_KEPT,
        note=None if file.document_key != NOT_KEPT else NOT_KEPT_NOTE,
    )


def receive_remittance(
    engine: Engine,
    store: DocumentStore,
    *,
    tenant_id: str,
    data: bytes,
    filename: str | None = None,
    source: str = "api",
    actor: str,
    max_bytes: int = MAX_REMITTANCE_BYTES,
    reading: RemittanceReading | None = None,
    refused_quota_bytes: int | None = None,
) -> RemittanceReceipt:
    """Keep one remittance file and book its payments as `new`, or refuse it whole (kept, with the reason).

    `reading`: the file already read (`read_remittance_file`, in the API's parse pool); else it is read
    here. `refused_quota_bytes`: how many bytes of refused files the tenant may keep; a refused file past it
    is recorded (size, SHA-256, reason) without its body (None: no quota).
    """
    check_remittance_filename(filename)
    if len(data) > max_bytes:
        raise RemittanceTooLarge(len(data), max_bytes)
    digest = hashlib.sha256(data).hexdigest()
    if reading is None:
        reading = read_remittance_file(data)
    format_name, document, error = reading.format_name, reading.document, reading.error
    for _ in range(3):
        try:
            with session_scope(engine) as session:
                first = _first_file(session, tenant_id, digest)
                if first is not None:
                    return _receipt(session, first, "duplicate")
                ensure_tenant(session, tenant_id)
                return _book(
                    session,
                    store,
                    tenant_id,
                    data,
                    digest,
                    filename,
                    source,
                    actor,
                    format_name,
                    document,
                    error,
                    refused_quota_bytes,
                )
        except IntegrityError:  # the same file or payment booked by a concurrent receipt: read it again
            continue
    with session_scope(engine) as session:  # pragma: no cover - three lost races in a row
        first = _first_file(session, tenant_id, digest)
        if first is None:
            raise RuntimeError("the remittance file could not be stored after three tries")
        return _receipt(session, first, "duplicate")


def _book(
    session: Session,
    store: DocumentStore,
    tenant_id: str,
    data: bytes,
    digest: str,
    filename: str | None,
    source: str,
    actor: str,
    format_name: str | None,
    document: RemittanceDocument | None,
    error: FormatError | None,
    refused_quota_bytes: int | None = None,
) -> RemittanceReceipt:
    note: str | None = None
    if document is None and refused_quota_bytes is not None:
        kept = kept_refused_bytes(session, tenant_id)
        if kept + len(data) > refused_quota_bytes:
            note = (
                f"not kept: the tenant keeps {kept:,} bytes of refused remittance files, the quota is "
                f"{refused_quota_bytes:,} (GATEWAY_REFUSED_REMITTANCE_QUOTA_BYTES); "
                "only its size, SHA-256 and reason are recorded"
            )
    file = RemittanceFile(
        tenant_id=tenant_id,
        payload_sha256=digest,
        document_key=NOT_KEPT if note else store.put(data),
        size=len(data),
        format=format_name,
        source=source,
        filename=filename,
        received_by=actor,
        status="rejected" if document is None else "accepted",
    )
    if document is None:
        assert error is not None
        file.reason, file.error_field = error.reason[:5000], error.where[:300]
        session.add(file)
        session.flush()
        receipt = _receipt(session, file, "rejected")
        if note:
            receipt.kept, receipt.note = False, note
        return receipt
    file.message_id = (document.message_id or "")[:200] or None
    file.payment_count = len(document.payments)
    file.credit_total = str(document.credit_total)
    file.currency = document.currency or (document.payments[0].currency if document.payments else None)
    session.add(file)
    session.flush()
    book_advices = tenant_settings(session, tenant_id).matching.book_advices
    fingerprints = [payment_fingerprint(p) for p in document.payments]
    known = _known_fingerprints(session, tenant_id, [f for f in fingerprints if f])
    now = utcnow()
    payment_rows: list[dict[str, Any]] = []
    line_rows: list[dict[str, Any]] = []
    for sequence, (payment, fingerprint) in enumerate(zip(document.payments, fingerprints, strict=True), 1):
        payment_id = new_id()
        duplicate_of = known.get(fingerprint) if fingerprint else None
        if fingerprint and duplicate_of is None:
            known[fingerprint] = payment_id
        status = "duplicate" if duplicate_of else "hint" if payment.hint_only else "new"
        note = "the same payment (bank reference, amount, date) was booked before" if duplicate_of else None
        if status == "new" and payment.kind in ADVICE_KINDS and not book_advices:
            status, note = (
                "hint",
                "an advice only: the money is booked from the bank's file (book_advices off)",
            )
        if status == "new" and payment.kind.endswith("-reversal"):
            # a bank's reversal undoes an earlier booking: no customer paid anything; a person looks at it
            status, note = "ignored", "a reversal of an earlier booking, not a payment"
        payment_rows.append(
            {
                "id": payment_id,
                "tenant_id": tenant_id,
                "file_id": file.id,
                "sequence": sequence,
                "position": payment.position[:200],
                "fingerprint": None if duplicate_of else fingerprint,
                "duplicate_of": duplicate_of,
                "kind": payment.kind[:40],
                "direction": payment.direction,
                "hint_only": payment.hint_only,
                "amount": str(payment.amount),
                "currency": payment.currency,
                "booking_date": payment.booking_date,
                "value_date": payment.value_date,
                "payer_name": (payment.payer_name or "")[:200] or None,
                "payer_account": (payment.payer_account or "")[:50] or None,
                "bank_reference": (payment.bank_reference or "")[:200] or None,
                "data": payment.as_dict(),
                "status": status,
                "note": note,
                "created_at": now,
            }
        )
        for line_number, line in enumerate(payment.lines, 1):
            line_rows.append(
                {
                    "payment_id": payment_id,
                    "sequence": line_number,
                    "kid": (line.kid or "")[:35] or None,
                    "invoice_number": (line.invoice_number or "")[:100] or None,
                    "document_kind": line.document_kind,
                    "amount": None if line.amount is None else str(line.amount),
                    "document_amount": None if line.document_amount is None else str(line.document_amount),
                    "adjustment": None if line.adjustment is None else str(line.adjustment),
                    "adjustment_reason": (line.adjustment_reason or "")[:200] or None,
                    "text": line.text,
                }
            )
    for start in range(0, len(payment_rows), 1000):
        session.execute(insert(PaymentRecord.__table__), payment_rows[start : start + 1000])  # type: ignore[attr-defined]
    for start in range(0, len(line_rows), 1000):
        session.execute(insert(RemittanceLineRecord.__table__), line_rows[start : start + 1000])  # type: ignore[attr-defined]
    return RemittanceReceipt(
        file_id=file.id,
        outcome="accepted",
        format=format_name,
        status="accepted",
        payments=len(payment_rows),
        duplicate_payments=sum(1 for row in payment_rows if row["duplicate_of"]),
        payment_ids=[row["id"] for row in payment_rows],
    )


def _known_fingerprints(session: Session, tenant_id: str, fingerprints: list[str]) -> dict[str, str]:
    known: dict[str, str] = {}
    for start in range(0, len(fingerprints), 500):
        chunk = fingerprints[start : start + 500]
        rows = session.execute(
            select(col(PaymentRecord.fingerprint), col(PaymentRecord.id)).where(
                col(PaymentRecord.tenant_id) == tenant_id, col(PaymentRecord.fingerprint).in_(chunk)
            )
        )
        known.update({row.fingerprint: row.id for row in rows})
    return known


def get_file(session: Session, tenant_id: str, file_id: str) -> RemittanceFile:
    file = session.get(RemittanceFile, file_id)
    if file is None or file.tenant_id != tenant_id:
        raise RemittanceNotFound(f"no remittance file {file_id}")
    return file


def list_files(
    session: Session, tenant_id: str, *, status: str | None = None, limit: int = 100
) -> list[RemittanceFile]:
    query = select(RemittanceFile).where(col(RemittanceFile.tenant_id) == tenant_id)
    if status:
        query = query.where(col(RemittanceFile.status) == status)
    return list(
        session.execute(query.order_by(col(RemittanceFile.received_at).desc()).limit(limit)).scalars()
    )


def file_view(file: RemittanceFile) -> dict[str, Any]:
    return {
        "id": file.id,
        "format": file.format,
        "status": file.status,
        "source": file.source,
        "filename": file.filename,
        "size": file.size,
        "sha256": file.payload_sha256,
        "message_id": file.message_id,
        "payments": file.payment_count,
        "credit_total": file.credit_total,
        "currency": file.currency,
        "received_at": file.received_at.isoformat(),
        "received_by": file.received_by,
        "error": {"field": file.error_field, "reason": file.reason} if file.status == "rejected" else None,
        "kept": file.document_key != NOT_KEPT,
    }


class RemittanceSftpSource(BaseModel):
    """A bank's (or Nets') SFTP folder the worker pulls one tenant's remittance files from."""

    model_config = ConfigDict(extra="forbid")

    tenant: str = Field(min_length=1, max_length=64)
    directory: str = Field("outgoing", min_length=1)
    sftp: SftpSettings


def load_sftp_sources(path: Path) -> list[RemittanceSftpSource]:
    """The sources listed in `path` (`GATEWAY_REMITTANCE_SFTP_SOURCES`); `ValueError` naming what is wrong."""
    try:
        return TypeAdapter(list[RemittanceSftpSource]).validate_json(path.read_bytes())
    except (OSError, ValidationError) as error:
        raise ValueError(f"{path}: {error}") from None


@dataclass(frozen=True)
class OtherFileOutcome:
    """What became of a dropped file that is no remittance but was read for something else (`outcome`,
    e.g. "mandates", and a `note` for the drop's answer), or why it was refused (`refused`)."""

    outcome: str
    note: str | None = None
    refused: str | None = None


#: Reads a dropped file that carries no payments: (name, bytes) → its outcome, or None when not its kind.
OtherFileReader = Callable[[str, bytes], OtherFileOutcome | None]


@dataclass
class DropItem:
    """One file taken from a drop folder (local or SFTP) and where it went."""

    name: str
    outcome: str
    file_id: str | None = None
    reason: str | None = None
    moved_to: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v is not None}


def receive_remittance_drop(
    engine: Engine,
    store: DocumentStore,
    folder: DropFolder,
    tenant_id: str,
    actor: str,
    *,
    max_bytes: int = MAX_REMITTANCE_BYTES,
    refused_quota_bytes: int | None = None,
    other_files: OtherFileReader | None = None,
) -> list[DropItem]:
    """Take every file waiting in a drop folder (local, or the bank's / Nets' SFTP folder:
    `transports.drop_folder`); each goes to `done/` (read or a repeat) or to `rejected/` with a
    `<file>.reason.txt` — always after it has been kept, so a crash or a dropped connection means it is read
    again and answered as a duplicate, never lost. The file's source is the folder's transport. Matching is
    the caller's step (`gateway.services.payments.intake.receive_drop_and_match`).

    `other_files` reads the files that come the same way but carry no payments (Nets' AvtaleGiro
    agreements file): it answers what became of such a file, or None for a file it does not take."""

    def keep(file: DroppedFile) -> Kept[RemittanceReceipt | OtherFileOutcome]:
        data = file.read()
        if other_files is not None:
            other = other_files(file.name, data)
            if other is not None:
                return Kept(other, refused=other.refused)
        try:
            receipt = receive_remittance(
                engine,
                store,
                tenant_id=tenant_id,
                data=data,
                filename=file.name,
                source=folder.transport,
                actor=actor,
                max_bytes=max_bytes,
                refused_quota_bytes=refused_quota_bytes,
            )
        except RemittanceTooLarge as error:
            return Kept(refused=f"content: {error}")
        except RemittanceNameRefused as error:
            return Kept(refused=str(error))
        if receipt.status == "rejected":
            return Kept(receipt, refused=f"{receipt.error_field}: {receipt.reason}")
        return Kept(receipt)

    items: list[DropItem] = []
    for taken in take_waiting_files(folder, keep, max_bytes=max_bytes):
        receipt = taken.result
        if isinstance(receipt, OtherFileOutcome):
            outcome = "rejected" if taken.refused is not None else receipt.outcome
            items.append(DropItem(taken.name, outcome, None, taken.refused or receipt.note, taken.moved_to))
            continue
        file_id = receipt.file_id if receipt is not None else None
        if taken.refused is not None or receipt is None:
            items.append(DropItem(taken.name, "rejected", file_id, taken.refused, taken.moved_to))
        else:
            items.append(DropItem(taken.name, receipt.outcome, file_id, moved_to=taken.moved_to))
    return items
