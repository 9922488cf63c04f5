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
from mappings.remittance import statement_zip
from mappings.remittance.card_advice import CARD_KIND
from mappings.remittance.statement_zip import ZipLimits
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
    #: what the sender should hear about an accepted file read with tolerance (`RemittanceDocument.warnings`)
    warnings: list[str] = field(default_factory=list)

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
        if self.warnings:
            data["warnings"] = list(self.warnings)
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
    # the formats that carry payments, in the registry (a statement zip is opened by intake, not read here)
    readers = [name for name in formats("remittance") if name != statement_zip.FORMAT_NAME]
    name = detect_format(data)
    if name == statement_zip.FORMAT_NAME:
        raise FormatError("file", "a statement zip: its members are read one by one where files are received")
    if name is None:
        raise FormatError("file", "not a remittance format the gateway reads (" + ", ".join(readers) + ")")
    if name not in readers:
        raise FormatError(
            "file", f"a {name} file carries no payments (remittance formats: " + ", ".join(readers) + ")"
        )
    return name, cast(RemittanceDocument, parser(name, kind="remittance")(data))


@dataclass(frozen=True)
class ArchiveMember:
    """One file of a statement zip: its name in the archive, its bytes, and what reading it gave."""

    name: str
    data: bytes
    reading: RemittanceReading


@dataclass(frozen=True)
class ArchiveReading:
    """A statement zip opened and each member read (plain data, for the API's parse pool), or the refusal
    of the whole archive (a zip bomb, a path in a member name…: `error_where` names the member)."""

    members: tuple[ArchiveMember, ...] = ()
    error_where: str | None = None
    error_reason: str | None = None

    @property
    def refusal(self) -> RemittanceReading | None:
        """The archive's own refusal as a reading (the archive is kept as a refused file), or None."""
        if self.error_where is None:
            return None
        return RemittanceReading(statement_zip.FORMAT_NAME, None, self.error_where, self.error_reason)


def is_statement_zip(data: bytes) -> bool:
    """A zip archive: remittance intake opens it and reads each member on its own."""
    return statement_zip.sniff(data)


def read_remittance_archive(data: bytes, limits: ZipLimits) -> ArchiveReading:
    """Open a statement zip under `limits` and read every member (`read_remittance_file`), never raising for
    a bad archive: the CPU-heavy step of a zip's intake, pure."""
    try:
        members = statement_zip.open_statement_zip(data, limits)
    except FormatError as refused:
        return ArchiveReading((), refused.where, refused.reason)
    return ArchiveReading(
        tuple(
            ArchiveMember(member.name, member.data, read_remittance_file(member.data)) for member in members
        )
    )


def archive_member_filename(archive: str | None, member: str, index: int) -> str:
    """The name a member is kept under: the archive's name and the member's (its folders joined by `_`),
    e.g. `statements.zip#camt054-1.xml`; `#<n>` when the member's name is no keepable file name."""
    prefix = archive or "statement.zip"
    candidate = f"{prefix}#{member.replace('/', '_').replace(chr(92), '_')}"
    if filename_problem(candidate, MAX_FILENAME_LENGTH) is None:
        return candidate
    return f"{prefix[: MAX_FILENAME_LENGTH - 12]}#{index}"


def payment_fingerprint(payment: Payment) -> str | None:
    """The same money movement in any file: the bank's reference with amount, currency, date, direction.

    A card payment advice's reference is the provider's payment id (Stripe pi_…, Vipps pspReference),
    unique by itself: the same provider payment in two advices (two events of one payment, whose times may
    fall on two days) is one payment whatever the advice's date says."""
    if not payment.bank_reference:
        return None
    if payment.kind == CARD_KIND:
        text = "|".join([CARD_KIND, payment.bank_reference, str(payment.amount), payment.currency])
        return hashlib.sha256(text.encode()).hexdigest()
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
        warnings=list(file.warnings or []),
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


@dataclass
class ArchiveReceipts:
    """What became of a statement zip: one receipt per member (`members` their names in the archive), or
    the archive refused whole (`refused`: field and reason; its one receipt is the refused zip, kept)."""

    archive: str | None
    members: list[str] = field(default_factory=list)
    receipts: list[RemittanceReceipt] = field(default_factory=list)
    refused: str | None = None
    error_field: str | None = None
    error_reason: str | None = None


def receive_archive(
    engine: Engine,
    store: DocumentStore,
    *,
    tenant_id: str,
    data: bytes,
    filename: str | None,
    source: str,
    actor: str,
    max_bytes: int = MAX_REMITTANCE_BYTES,
    refused_quota_bytes: int | None = None,
    limits: ZipLimits,
    reading: ArchiveReading | None = None,
) -> ArchiveReceipts:
    """Keep and book every member of a statement zip as a remittance file of its own (in archive order), or
    refuse the archive whole: then the zip itself is kept as a refused file with the reason naming the
    member, and nothing inside it is booked. `reading`: the archive already read (the API's parse pool)."""
    check_remittance_filename(filename)
    if len(data) > max_bytes:
        raise RemittanceTooLarge(len(data), max_bytes)
    if reading is None:
        reading = read_remittance_archive(data, limits)
    refusal = reading.refusal
    if refusal is not None:
        receipt = receive_remittance(
            engine, store, tenant_id=tenant_id, data=data, filename=filename, source=source, actor=actor,
            max_bytes=max_bytes, reading=refusal, refused_quota_bytes=refused_quota_bytes,
        )  # fmt: skip
        return ArchiveReceipts(
            filename,
            receipts=[receipt],
            refused=f"{reading.error_where}: {reading.error_reason}",
            error_field=reading.error_where,
            error_reason=reading.error_reason,
        )
    result = ArchiveReceipts(filename)
    for index, member in enumerate(reading.members, 1):
        result.members.append(member.name)
        result.receipts.append(
            receive_remittance(
                engine,
                store,
                tenant_id=tenant_id,
                data=member.data,
                filename=archive_member_filename(filename, member.name, index),
                source=source,
                actor=actor,
                max_bytes=max_bytes,
                reading=member.reading,
                refused_quota_bytes=refused_quota_bytes,
            )
        )
    return result


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
    file.warnings = [warning[:1000] for warning in document.warnings] or None
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
        warnings=list(file.warnings or []),
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
        "warnings": list(file.warnings or []),
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
    zip_limits: ZipLimits | None = None,
) -> list[DropItem]:
    """Take every file waiting in a drop folder (local, or the bank's / Nets' SFTP folder:
    `transports.drop_folder`); each goes to `done/` (read or a repeat) or to `rejected/` with a
    `<file>.reason.txt` — always after it has been kept, so a crash or a dropped connection means it is read
    again and answered as a duplicate, never lost. The file's source is the folder's transport. Matching is
    the caller's step (`gateway.services.payments.intake.receive_drop_and_match`).

    `other_files` reads the files that come the same way but carry no payments (Nets' AvtaleGiro
    agreements file): it answers what became of such a file, or None for a file it does not take.

    A statement zip is opened (`zip_limits`): each member is kept and booked as a file of its own and listed
    as `<zip>#<member>`; the zip goes to `done/`, or, refused whole (a zip bomb, a path in a member name…),
    to `rejected/` with the reason naming the member."""

    def keep(file: DroppedFile) -> Kept[RemittanceReceipt | OtherFileOutcome | ArchiveReceipts]:
        data = file.read()
        if is_statement_zip(data):
            try:
                receipts = receive_archive(
                    engine, store, tenant_id=tenant_id, data=data, filename=file.name,
                    source=folder.transport, actor=actor, max_bytes=max_bytes,
                    refused_quota_bytes=refused_quota_bytes, limits=zip_limits or ZipLimits(),
                )  # fmt: skip
            except RemittanceTooLarge as error:
                return Kept(refused=f"content: {error}")
            if receipts.refused is not None:
                return Kept(receipts, refused=receipts.refused)
            return Kept(receipts)
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
        if isinstance(receipt, ArchiveReceipts):
            if receipt.refused is not None:
                file_id = receipt.receipts[0].file_id if receipt.receipts else None
                items.append(DropItem(taken.name, "rejected", file_id, taken.refused, taken.moved_to))
                continue
            for member, member_receipt in zip(receipt.members, receipt.receipts, strict=True):
                reason = (
                    f"{member_receipt.error_field}: {member_receipt.reason}"
                    if member_receipt.status == "rejected"
                    else None
                )
                outcome = "rejected" if reason else member_receipt.outcome
                items.append(
                    DropItem(
                        f"{taken.name}#{member}", outcome, member_receipt.file_id, reason, taken.moved_to
                    )
                )
            continue
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
