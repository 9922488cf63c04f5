"""The monthly journal files: a period's vouchers rendered as GBAT10, CSV or JSON, stored, numbered, and the
period closed.

An export of a period:
1. refuses a period that has not ended (`ExportRefused` naming `period`): an event of its last day may
   still arrive, and a closed period never changes again; a malformed period or unknown format is refused
   the same way (`period`, `format`);
2. posts every source event up to the period's last day (`post`, injected: the posting engine's
   `posting.post`) — not for a period closed already, which posting never writes into again;
3. under the tenant's ledger lock (PostgreSQL: a transaction-level advisory lock; SQLite: every transaction
   holds the database's write lock), renders the period's vouchers in the format, keeps the bytes in the
   document store, records a `LedgerExport` numbered max + 1 per tenant, and closes the period
   (`LedgerPeriod` status closed, `export_id` the export that closed it).

Re-exporting a closed period (in the same or another format) is a new numbered run of the same journal: in a
format the period was exported in before, the bytes of the first such export from the store, byte for byte
(what the ledger received stays what the gateway can show again, even if a customer's number changed since);
in a new format, rendered from the period's vouchers, which never change once the period is closed. The
period stays closed by its first export. Later corrections are posted into the next open period by the
posting engine.

The vouchers are read by `journal.iter_vouchers` (keyset by number, a chunk at a time).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session
from sqlmodel import col

from db.engine import session_scope
from db.models import LedgerExport, LedgerLine, LedgerPeriod, LedgerVoucher, utcnow
from gateway.services.ledger import journal, posting, saft
from gateway.services.ledger.errors import LedgerRefused
from gateway.services.outbound.deliveries import NotFound
from gateway.services.outbound.documents import (
    DocumentCorrupted,
    DocumentStore,
    document_store,
    store_document,
)
from gateway.settings import Settings
from mappings import renderer
from schemas.ledger import Voucher

#: The formats a journal is exported in (the name the CLI and API take → the registered format).
JOURNAL_FORMATS: dict[str, str] = {"gbat10": "gbat10", "csv": "journal-csv", "json": "journal-json"}
#: `stored_documents.kind` of a journal file.
DOCUMENT_KIND = "ledger-journal"
JOURNAL_KIND = "journal"
CHUNK = 500
_PERIOD = re.compile(r"^[0-9]{4}-(0[1-9]|1[0-2])$")
_UNSAFE_IN_NAME = re.compile(r"[^A-Za-z0-9._-]+")


class ExportRefused(LedgerRefused):
    """The export cannot be made: `field` names what to change, `reason` says why."""


class Poster(Protocol):
    """The posting engine's entry point (`gateway.services.ledger.posting.post`)."""

    def __call__(self, engine: Engine, tenant_id: str, *, until: dt.date, actor: str) -> object: ...


#: What the CLI, the API and the console post with before an export.
POST_BEFORE_EXPORT: Poster = posting.post


def period_bounds(period: str) -> tuple[dt.date, dt.date]:
    """The first and last day of a YYYY-MM period; `ExportRefused` naming `period` otherwise."""
    if not _PERIOD.match(period):
        raise ExportRefused("period", f"{period[:20]!r} is not a period; write it as YYYY-MM (e.g. 2026-11)")
    year, month = int(period[:4]), int(period[5:])
    first = dt.date(year, month, 1)
    following = dt.date(year + month // 12, month % 12 + 1, 1)
    return first, following - dt.timedelta(days=1)


def journal_format(fmt: str) -> str:
    """The registered format of a journal format name; `ExportRefused` naming `format` otherwise."""
    if fmt not in JOURNAL_FORMATS:
        raise ExportRefused("format", f"{fmt[:20]!r} is not a journal format ({', '.join(JOURNAL_FORMATS)})")
    return JOURNAL_FORMATS[fmt]


def lock_ledger(session: Session, tenant_id: str) -> None:
    """Hold the tenant's ledger lock until `session`'s transaction ends (waiting for a holder to finish).

    Posting and exports take it, so a period is never closed while a posting run writes into it. SQLite
    needs none: every transaction of the gateway's engine begins IMMEDIATE (`db.engine`)."""
    posting.lock_tenant_posting(session, tenant_id)


# --- reading the period's vouchers -------------------------------------------------------------------------


def _period_vouchers(session: Session, tenant_id: str, period: str) -> Iterator[Voucher]:
    """The period's vouchers by number, a chunk at a time (memory flat for any period)."""
    return journal.iter_vouchers(session, tenant_id, period=period)


#: Reads a period's vouchers: (session, tenant, period) → vouchers by number.
VoucherReader = Callable[[Session, str, str], Iterator[Voucher]]


# --- exporting ---------------------------------------------------------------------------------------------


def export_filename(tenant_id: str, period: str, number: int, fmt: str) -> str:
    """journal-acme-2026-11-n7.txt: the tenant, the period and the run, the format's extension."""
    extension = {"gbat10": "txt", "csv": "csv", "json": "json"}.get(fmt, "bin")
    tenant = _UNSAFE_IN_NAME.sub("_", tenant_id)[:60]
    return f"journal-{tenant}-{period}-n{number}.{extension}"


def media_type(fmt: str) -> str:
    return "application/json" if fmt == "json" else "text/csv; charset=utf-8"


def _first_export(session: Session, tenant_id: str, period: str, fmt: str) -> LedgerExport | None:
    return session.execute(
        select(LedgerExport)
        .where(
            col(LedgerExport.tenant_id) == tenant_id,
            col(LedgerExport.kind) == JOURNAL_KIND,
            col(LedgerExport.period_from) == period,
            col(LedgerExport.format) == fmt,
        )
        .order_by(col(LedgerExport.number))
        .limit(1)
    ).scalar_one_or_none()


def _stored_bytes(store: DocumentStore, export: LedgerExport) -> bytes:
    data = store.get(export.document_key)
    if hashlib.sha256(data).hexdigest() != export.sha256:
        raise DocumentCorrupted(f"ledger export {export.number} does not match its recorded SHA-256")
    return data


def _voucher_count(session: Session, tenant_id: str, period: str) -> int:
    return int(
        session.execute(
            select(func.count())
            .select_from(LedgerVoucher)
            .where(col(LedgerVoucher.tenant_id) == tenant_id, col(LedgerVoucher.period) == period)
        ).scalar_one()
    )


def export_journal(
    engine: Engine,
    settings: Settings,
    tenant_id: str,
    period: str,
    fmt: str,
    actor: str,
    *,
    post: Poster,
    today: dt.date,
    store: DocumentStore | None = None,
    read: VoucherReader = _period_vouchers,
) -> LedgerExport:
    """Export the period's journal in `fmt` (gbat10, csv, json) and close the period (see the module's
    docstring); the numbered export, its bytes in the document store."""
    format_name = journal_format(fmt)
    _, last = period_bounds(period)
    if last >= today:
        raise ExportRefused(
            "period",
            f"{period} ends on {last.isoformat()}; a period is exported after its last day (today is "
            f"{today.isoformat()}), so no event of it can arrive later",
        )
    with session_scope(engine) as session:
        known = session.get(LedgerPeriod, (tenant_id, period))
        closed = known is not None and known.status == "closed"
    if not closed:
        post(engine, tenant_id, until=last, actor=actor)
    store = store if store is not None else document_store(settings, engine)
    with session_scope(engine) as session:
        lock_ledger(session, tenant_id)
        row = session.get(LedgerPeriod, (tenant_id, period))
        earlier = _first_export(session, tenant_id, period, fmt) if row and row.status == "closed" else None
        if earlier is not None:
            data = _stored_bytes(store, earlier)
        else:
            data = renderer(format_name)(read(session, tenant_id, period)).content
        number = saft.next_export_number(session, tenant_id)
        document = store_document(
            session,
            store,
            tenant_id=tenant_id,
            data=data,
            media_type=media_type(fmt),
            filename=export_filename(tenant_id, period, number, fmt),
            kind=DOCUMENT_KIND,
        )
        export = LedgerExport(
            tenant_id=tenant_id,
            number=number,
            kind=JOURNAL_KIND,
            format=fmt,
            period_from=period,
            period_to=period,
            voucher_count=_voucher_count(session, tenant_id, period),
            sha256=document.sha256,
            size=len(data),
            document_key=document.storage_key,
            created_by=actor,
        )
        session.add(export)
        session.flush()  # the unique (tenant, number) stops a second numbering that slipped past the lock
        if row is None:
            row = LedgerPeriod(tenant_id=tenant_id, period=period)
        if row.status != "closed":
            row.status, row.closed_at, row.closed_by, row.export_id = "closed", utcnow(), actor, export.id
            session.add(row)
    return export


# --- reading exports and periods -------------------------------------------------------------------------


def export_view(export: LedgerExport, closed_period: bool | None = None) -> dict[str, Any]:
    """An export as the API, the CLI and the console show it (`download`: where its bytes are)."""
    return {
        "id": export.id,
        "number": export.number,
        "kind": export.kind,
        "format": export.format,
        "period": export.period_from,
        "period_to": export.period_to,
        "vouchers": export.voucher_count,
        "size": export.size,
        "sha256": export.sha256,
        "filename": export_filename(export.tenant_id, export.period_from, export.number, export.format),
        "created_by": export.created_by,
        "created_at": export.created_at.isoformat(),
        "download": f"/ledger/exports/{export.id}/file",
        **({} if closed_period is None else {"closed_period": closed_period}),
    }


def list_exports(
    session: Session, tenant_id: str, *, limit: int = 100, before: int | None = None
) -> list[LedgerExport]:
    """The tenant's exports, newest first; `before`: only those numbered below it (the next page)."""
    query = select(LedgerExport).where(col(LedgerExport.tenant_id) == tenant_id)
    if before is not None:
        query = query.where(col(LedgerExport.number) < before)
    return list(session.execute(query.order_by(col(LedgerExport.number).desc()).limit(limit)).scalars())


def get_export(session: Session, tenant_id: str, export_id: str) -> LedgerExport:
    """One export of the tenant; `NotFound` for an unknown id or another tenant's."""
    export = session.get(LedgerExport, export_id)
    if export is None or export.tenant_id != tenant_id:
        raise NotFound(f"ledger export {export_id[:40]} not found")
    return export


def export_file(
    session: Session, store: DocumentStore, tenant_id: str, export_id: str
) -> tuple[str, str, bytes]:
    """An export's file name, media type and bytes (checked against its SHA-256); `NotFound` as above."""
    export = get_export(session, tenant_id, export_id)
    if export.kind != JOURNAL_KIND:  # a SAF-T file: kept gzipped, its digest is the XML's
        data = saft.stored_file(store, export)
        if hashlib.sha256(data).hexdigest() != export.sha256:
            raise DocumentCorrupted(f"ledger export {export.number} does not match its recorded SHA-256")
        return saft.export_filename(export), saft.MEDIA_TYPE, data
    name = export_filename(tenant_id, export.period_from, export.number, export.format)
    return name, media_type(export.format), _stored_bytes(store, export)


@dataclass
class PeriodSummary:
    """A period of the tenant's journal: open or closed (by which export), its vouchers and totals."""

    period: str
    status: str = "open"
    vouchers: int = 0
    debit: Decimal = Decimal(0)
    credit: Decimal = Decimal(0)
    closed_at: dt.datetime | None = None
    closed_by: str | None = None
    export_id: str | None = None
    export_number: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "period": self.period,
            "status": self.status,
            "vouchers": self.vouchers,
            "debit_total": f"{self.debit:.2f}",
            "credit_total": f"{self.credit:.2f}",
            "balanced": self.debit == self.credit,
            "closed_at": self.closed_at.isoformat() if self.closed_at else None,
            "closed_by": self.closed_by,
            "export_id": self.export_id,
            "export_number": self.export_number,
        }


def _cents(column: Any) -> Any:
    return func.sum(journal.cents(column))


_from_cents = journal.amount_of_cents


def list_periods(session: Session, tenant_id: str) -> list[PeriodSummary]:
    """Every period that has vouchers or a status, newest first, with voucher counts and totals."""
    found: dict[str, PeriodSummary] = {}
    counts = session.execute(
        select(col(LedgerVoucher.period), func.count())
        .where(col(LedgerVoucher.tenant_id) == tenant_id)
        .group_by(col(LedgerVoucher.period))
    )
    for period, count in counts:
        found[period] = PeriodSummary(period, vouchers=int(count))
    totals = session.execute(
        select(col(LedgerVoucher.period), _cents(LedgerLine.debit), _cents(LedgerLine.credit))
        .join(LedgerLine, col(LedgerLine.voucher_id) == col(LedgerVoucher.id))
        .where(col(LedgerVoucher.tenant_id) == tenant_id)
        .group_by(col(LedgerVoucher.period))
    )
    for period, debit, credit in totals:
        found[period].debit, found[period].credit = _from_cents(debit), _from_cents(credit)
    rows = session.execute(
        select(LedgerPeriod, col(LedgerExport.number))
        .outerjoin(LedgerExport, col(LedgerExport.id) == col(LedgerPeriod.export_id))
        .where(col(LedgerPeriod.tenant_id) == tenant_id)
    )
    for row, number in rows:
        summary = found.setdefault(row.period, PeriodSummary(row.period))
        summary.status, summary.closed_at, summary.closed_by = row.status, row.closed_at, row.closed_by
        summary.export_id, summary.export_number = row.export_id, number
    return sorted(found.values(), key=lambda summary: summary.period, reverse=True)
