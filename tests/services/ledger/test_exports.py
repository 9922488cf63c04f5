"""Journal exports: a period rendered, stored, numbered and closed; a closed period re-exported byte for
byte; refusals naming the field; the period list's counts and totals."""

from __future__ import annotations

import datetime as dt
import hashlib
import threading
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select
from sqlmodel import col

from db.engine import session_scope
from db.models import LedgerExport, LedgerPeriod, StoredDocument
from gateway.services.ledger import exports
from gateway.services.ledger.exports import ExportRefused, export_journal
from gateway.services.outbound.deliveries import NotFound
from gateway.services.outbound.documents import document_store
from gateway.settings import Settings
from mappings import inspect_file
from tests.services.ledger.journal_rows import add_invoice, add_payment, add_voucher

TODAY = dt.date(2026, 12, 7)
NOV = dt.date(2026, 11, 1)


class Posting:
    """The posting engine's place: records each call (the engine itself is tested on its own)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dt.date, str]] = []

    def __call__(self, engine: Engine, tenant_id: str, *, until: dt.date, actor: str) -> None:
        self.calls.append((tenant_id, until, actor))


@pytest.fixture
def november(engine: Engine) -> Engine:
    """acme's November: two invoices and a payment; one invoice in December."""
    add_invoice(engine, "acme", NOV + dt.timedelta(days=2), "1000.00", number="1001", customer="C-1")
    add_invoice(engine, "acme", NOV + dt.timedelta(days=9), "80.10", number="1002", customer="C-2")
    add_payment(engine, "acme", NOV + dt.timedelta(days=20), "1250.00", customer="C-1")
    add_invoice(engine, "acme", dt.date(2026, 12, 1), "400.00", number="1003", customer="C-1")
    return engine


def _export(
    engine: Engine, settings: Settings, fmt: str, period: str = "2026-11", **extra: Any
) -> LedgerExport:
    options: dict[str, Any] = {"post": Posting(), "today": TODAY, **extra}
    return export_journal(engine, settings, "acme", period, fmt, "cli:kari", **options)


def _bytes(engine: Engine, settings: Settings, export: LedgerExport) -> bytes:
    with session_scope(engine) as session:
        _, _, data = exports.export_file(session, document_store(settings, engine), "acme", export.id)
    return data


def test_an_export_posts_renders_stores_numbers_and_closes_the_period(
    november: Engine, settings: Settings
) -> None:
    posting = Posting()
    export = _export(november, settings, "gbat10", post=posting)
    assert posting.calls == [("acme", dt.date(2026, 11, 30), "cli:kari")]
    assert (export.number, export.kind, export.format, export.period_from) == (
        1,
        "journal",
        "gbat10",
        "2026-11",
    )
    assert export.voucher_count == 3
    data = _bytes(november, settings, export)
    assert hashlib.sha256(data).hexdigest() == export.sha256 and len(data) == export.size
    summary = inspect_file(data)
    assert summary["format"] == "gbat10"
    assert (summary["vouchers"], summary["lines"], summary["balanced"]) == (3, 8, True)
    assert summary["debit_total"] == summary["credit_total"] == "2600.12"
    assert summary["periods"] == ["2026-11"]  # December's invoice stays out
    with session_scope(november) as session:
        period = session.get(LedgerPeriod, ("acme", "2026-11"))
        assert period is not None and period.status == "closed"
        assert (period.export_id, period.closed_by) == (export.id, "cli:kari")
        document = session.execute(
            select(StoredDocument).where(col(StoredDocument.sha256) == export.sha256)
        ).scalar_one()
        assert document.kind == "ledger-journal" and document.storage_key == export.document_key


@pytest.mark.parametrize("fmt", ["gbat10", "csv", "json"])
def test_rendering_the_same_vouchers_gives_the_same_bytes(november: Engine, fmt: str) -> None:
    name = exports.JOURNAL_FORMATS[fmt]
    with session_scope(november) as session:
        first = exports.renderer(name)(exports._period_vouchers(session, "acme", "2026-11")).content
    with session_scope(november) as session:
        again = exports.renderer(name)(exports._period_vouchers(session, "acme", "2026-11")).content
    assert first == again and inspect_file(first)["vouchers"] == 3


def test_a_closed_period_re_exported_gives_the_first_exports_bytes_in_every_format(
    november: Engine, settings: Settings
) -> None:
    first = _export(november, settings, "gbat10")
    posting = Posting()
    again = _export(november, settings, "gbat10", post=posting)
    assert posting.calls == []  # a closed period is never posted into again
    assert again.number == 2 and again.sha256 == first.sha256
    assert _bytes(november, settings, again) == _bytes(november, settings, first)
    as_csv = _export(november, settings, "csv")
    as_csv_again = _export(november, settings, "csv")
    assert (as_csv.number, as_csv_again.number) == (3, 4)
    assert as_csv.sha256 == as_csv_again.sha256 != first.sha256
    assert inspect_file(_bytes(november, settings, as_csv))["debit_total"] == "2600.12"
    with session_scope(november) as session:
        period = session.get(LedgerPeriod, ("acme", "2026-11"))
        assert period is not None and period.export_id == first.id  # closed by its first export


def test_a_re_export_serves_the_stored_bytes_even_if_the_rows_were_touched(
    november: Engine, settings: Settings
) -> None:
    """What the ledger received stays what the gateway shows: the store's bytes, not a new rendering."""
    first = _export(november, settings, "json")
    add_voucher(november, "acme", dt.date(2026, 11, 30), [("1920", "5.00", "0"), ("1500", "0", "5.00")])
    again = _export(november, settings, "json")
    assert _bytes(november, settings, again) == _bytes(november, settings, first)


def test_numbers_are_per_tenant(november: Engine, settings: Settings) -> None:
    add_invoice(november, "other", NOV, "10.00", number="9", customer="X")
    assert _export(november, settings, "csv").number == 1
    other = export_journal(
        november, settings, "other", "2026-11", "csv", "api:erp", post=Posting(), today=TODAY
    )
    assert other.number == 1 and other.voucher_count == 1
    assert _export(november, settings, "json", period="2026-10").number == 2  # an empty period exports too


def test_concurrent_exports_get_distinct_numbers(november: Engine, settings: Settings) -> None:
    numbers: list[int] = []
    failures: list[BaseException] = []

    def run(fmt: str) -> None:
        try:
            numbers.append(_export(november, settings, fmt).number)
        except BaseException as error:  # pragma: no cover - reported below
            failures.append(error)

    threads = [threading.Thread(target=run, args=(fmt,)) for fmt in ("gbat10", "csv", "json", "gbat10")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == [] and sorted(numbers) == [1, 2, 3, 4]


@pytest.mark.parametrize(
    ("period", "fmt", "field", "words"),
    [
        ("2026-13", "csv", "period", "not a period; write it as YYYY-MM"),
        ("2026-1", "csv", "period", "not a period"),
        ("2026-12", "csv", "period", "2026-12 ends on 2026-12-31; a period is exported after its last day"),
        ("2027-01", "csv", "period", "ends on 2027-01-31"),
        ("2026-11", "xml", "format", "'xml' is not a journal format (gbat10, csv, json)"),
    ],
)
def test_refusals_name_the_field_and_post_nothing(
    november: Engine, settings: Settings, period: str, fmt: str, field: str, words: str
) -> None:
    posting = Posting()
    with pytest.raises(ExportRefused) as refused:
        _export(november, settings, fmt, period=period, post=posting)
    assert refused.value.field == field and words in refused.value.reason
    assert posting.calls == []
    with session_scope(november) as session:
        assert session.execute(select(func.count()).select_from(LedgerExport)).scalar_one() == 0
        assert session.execute(select(func.count()).select_from(LedgerPeriod)).scalar_one() == 0


def test_the_last_day_of_a_period_is_too_early_and_the_next_day_is_not(
    november: Engine, settings: Settings
) -> None:
    with pytest.raises(ExportRefused, match="today is 2026-11-30"):
        _export(november, settings, "csv", today=dt.date(2026, 11, 30))
    assert _export(november, settings, "csv", today=dt.date(2026, 12, 1)).number == 1


def test_the_reader_reads_chunk_by_chunk_in_number_order(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    for day in range(1, 8):
        add_payment(engine, "acme", dt.date(2026, 11, day), f"{day}.00", customer="C-1")
    monkeypatch.setattr(exports, "CHUNK", 3)
    with session_scope(engine) as session:
        found = list(exports._period_vouchers(session, "acme", "2026-11"))
    assert [v.number for v in found] == list(range(1, 8))
    assert all(len(v.lines) == 2 and v.debit_total == v.credit_total for v in found)
    assert found[0].lines[1].customer_number == "C-1" and found[0].lines[0].customer_key is None


def test_periods_list_counts_totals_and_status(november: Engine, settings: Settings) -> None:
    add_voucher(november, "acme", dt.date(2026, 10, 5), [("1920", "10.00", "0"), ("1500", "0", "9.99")])
    export = _export(november, settings, "gbat10")
    with session_scope(november) as session:
        found = {p.period: p.as_dict() for p in exports.list_periods(session, "acme")}
        assert exports.list_periods(session, "nobody") == []
    assert list(found) == ["2026-12", "2026-11", "2026-10"]
    assert found["2026-11"] == {
        "period": "2026-11", "status": "closed", "vouchers": 3, "debit_total": "2600.12",
        "credit_total": "2600.12", "balanced": True, "closed_at": found["2026-11"]["closed_at"],
        "closed_by": "cli:kari", "export_id": export.id, "export_number": 1,
    }  # fmt: skip
    assert found["2026-12"]["status"] == "open" and found["2026-12"]["debit_total"] == "500.00"
    assert found["2026-10"]["balanced"] is False and found["2026-10"]["credit_total"] == "9.99"


def test_exports_list_newest_first_by_page_and_stay_in_their_tenant(
    november: Engine, settings: Settings
) -> None:
    made = [_export(november, settings, fmt) for fmt in ("gbat10", "csv", "json")]
    with session_scope(november) as session:
        assert [e.number for e in exports.list_exports(session, "acme")] == [3, 2, 1]
        assert [e.number for e in exports.list_exports(session, "acme", limit=1, before=3)] == [2]
        assert exports.list_exports(session, "other") == []
        view = exports.export_view(exports.get_export(session, "acme", made[1].id))
        assert view["filename"] == "journal-acme-2026-11-n2.csv"
        assert view["download"] == f"/ledger/exports/{made[1].id}/file"
        with pytest.raises(NotFound):
            exports.get_export(session, "other", made[1].id)
        with pytest.raises(NotFound):
            exports.get_export(session, "acme", "0" * 32)
        name, media, data = exports.export_file(
            session, document_store(settings, november), "acme", made[2].id
        )
    assert (name, media) == ("journal-acme-2026-11-n3.json", "application/json")
    assert inspect_file(data)["format"] == "journal-json"


def test_a_corrupted_stored_file_is_reported_not_served(november: Engine, settings: Settings) -> None:
    export = _export(november, settings, "csv")
    path = Path(settings.documents_dir) / export.document_key
    if path.exists():  # the local store (SQLite); PostgreSQL keeps documents in the database
        path.write_bytes(b"changed")
        with session_scope(november) as session, pytest.raises(exports.DocumentCorrupted):
            exports.export_file(session, document_store(settings, november), "acme", export.id)
