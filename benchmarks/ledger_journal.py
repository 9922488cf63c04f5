"""Journal export speed and memory: a month of posted vouchers exported as GBAT10, CSV and JSON.

    python benchmarks/ledger_journal.py [--vouchers 100000] [--database URL]

Writes `--vouchers` vouchers (an invoice's three lines each: 1500 with customer, invoice number and KID,
3000 with tax code 3, 2700) into the ledger tables of a fresh outbox (SQLite in a temporary folder unless
`--database` names a PostgreSQL one), then times `exports.export_journal` per format (period 2026-10,
posting stubbed: the vouchers are there already; the first export closes the month, the next two render the
same vouchers in the other formats) and `exports.list_periods`; then, under `tracemalloc`, each format's
rendering alone (the file itself is held whole: the document store takes bytes). RSS is the process's peak.
"""

from __future__ import annotations

import argparse
import datetime as dt
import platform
import resource
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import insert

from db.engine import make_engine, migrate, session_scope
from db.models import LedgerLine, LedgerVoucher
from gateway.services.ledger import exports
from gateway.services.tenancy.tenants import ensure_tenant
from gateway.settings import Settings
from mappings import renderer


def _no_posting(engine: object, tenant_id: str, *, until: dt.date, actor: str) -> None:
    """The vouchers are written before: nothing to post."""


def seed(engine: object, count: int) -> None:
    with session_scope(engine) as session:  # type: ignore[arg-type]
        ensure_tenant(session, "bench")
    chunk = 5000
    for start in range(1, count + 1, chunk):
        vouchers, lines = [], []
        for number in range(start, min(start + chunk, count + 1)):
            day = dt.date(2026, 10, 1 + number % 31)
            voucher_id = f"{number:032x}"
            vouchers.append({
                "id": voucher_id, "tenant_id": "bench", "number": number, "period": "2026-10",
                "voucher_date": day, "event_date": day, "voucher_type": "invoice",
                "source_key": f"invoice:{number}", "customer_key": f"C-{number % 977}",
                "description": f"Invoice {number}", "created_at": dt.datetime.now(dt.UTC),
            })  # fmt: skip
            net = 100 + number % 9000
            for line_no, (account, debit, credit) in enumerate(
                (
                    ("1500", f"{net * 1.25:.2f}", "0"),
                    ("3000", "0", f"{net}.00"),
                    ("2700", "0", f"{net * 0.25:.2f}"),
                ),
                start=1,
            ):
                lines.append({
                    "voucher_id": voucher_id, "tenant_id": "bench", "line_no": line_no, "voucher_date": day,
                    "account": account, "debit": debit, "credit": credit,
                    "tax_code": "3" if account == "3000" else None,
                    "customer_key": f"C-{number % 977}" if account == "1500" else None,
                    "document_number": str(number) if account == "1500" else None,
                    "kid": f"{number:09d}" if account == "1500" else None, "text": f"Invoice {number}",
                })  # fmt: skip
        with session_scope(engine) as session:  # type: ignore[arg-type]
            session.execute(insert(LedgerVoucher), vouchers)
            session.execute(insert(LedgerLine), lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vouchers", type=int, default=100_000)
    parser.add_argument("--database", default=None)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="ledger-bench-"))
    url = args.database or f"sqlite:///{folder / 'outbox.sqlite3'}"
    settings = Settings(database_url=url, data_dir=folder, _env_file=None)  # type: ignore[call-arg]
    engine = make_engine(url)
    migrate(engine)
    started = time.perf_counter()
    seed(engine, args.vouchers)
    print(f"{platform.python_implementation()} {platform.python_version()}, {engine.dialect.name}")
    seconds = time.perf_counter() - started
    print(f"seeded {args.vouchers:,} vouchers ({args.vouchers * 3:,} lines) in {seconds:.1f} s")
    for fmt in ("gbat10", "csv", "json"):
        started = time.perf_counter()
        export = exports.export_journal(
            engine, settings, "bench", "2026-10", fmt, "bench", post=_no_posting, today=dt.date(2026, 12, 7)
        )
        elapsed = time.perf_counter() - started
        rate = args.vouchers / elapsed
        print(f"{fmt:7} {export.size / 1e6:7.1f} MB in {elapsed:6.2f} s ({rate:,.0f} vouchers/s)")
    for fmt, name in exports.JOURNAL_FORMATS.items():
        tracemalloc.start()
        with session_scope(engine) as session:
            size = len(renderer(name)(exports._period_vouchers(session, "bench", "2026-10")).content)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        print(f"{fmt:7} rendering alone: peak allocations {peak / 1e6:.0f} MB, file {size / 1e6:.1f} MB")
    started = time.perf_counter()
    with session_scope(engine) as session:
        periods = exports.list_periods(session, "bench")
    print(f"list_periods: {len(periods)} period(s) in {time.perf_counter() - started:.2f} s")
    print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    main()
