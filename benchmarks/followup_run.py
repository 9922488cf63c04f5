"""The daily follow-up run over many open invoices: time, memory and notices written.

    python benchmarks/followup_run.py [--invoices 1000000] [--overdue 200000] [--customers-per 4]
                                      [--database-url URL] [--chunk 5000] [--tracemalloc]

Fills a fresh SQLite file (or the PostgreSQL database given) with `--invoices` open invoices of one tenant
by a plain executemany in batches of 20,000 (only the columns a run reads; a minimal payload): `--overdue` of
them due 30 days before the run day, the rest due in the future. Every `--customers-per` overdue invoices
share a customer, so the run groups them into one notice, and carries a real canonical payload (the notice is
queued on its channel: `notices.queue_notice`, which renders nothing). Follow-up is enabled with the default
strategies.
It then times one real `run_follow_up` (a transaction of its own, committed) and a second run the same day
(which must write nothing), and prints invoices looked at, notices, decisions, seconds, invoices/s and peak
RSS (`resource.getrusage(RUSAGE_SELF).ru_maxrss`, which only grows: read after the fill, after each run).
With `--tracemalloc` it also prints the Python heap's peak during the first run (slower).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import platform
import resource
import sqlite3
import sys
import tempfile
import time
import tracemalloc
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import func, insert, select

from db.engine import make_engine, migrate, session_scope
from db.models import FollowUpDecision, InvoiceRecord, ReminderNotice, ReminderNoticeItem, Tenant
from gateway.samples import sample_invoice_json
from gateway.services.followup import run as followup_run
from gateway.settings import Settings
from schemas.followup import FollowUpSettings
from schemas.tenant import TenantSettings

TENANT = "bench"
RUN_DAY = dt.date(2026, 12, 1)
BATCH = 20_000


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def fill(url: str, invoices: int, overdue: int, customers_per: int) -> None:
    engine = make_engine(url)
    migrate(engine)
    settings = TenantSettings(follow_up=FollowUpSettings(enabled=True)).model_dump(mode="json")
    with session_scope(engine) as session:
        session.add(Tenant(id=TENANT, name=TENANT, settings=settings))
    now = dt.datetime(2026, 10, 1, tzinfo=dt.UTC)
    # an overdue invoice carries a real canonical payload: queueing its notice reads the buyer and routing
    payload = json.dumps(sample_invoice_json(1), default=str)
    late, future = RUN_DAY - dt.timedelta(days=30), RUN_DAY + dt.timedelta(days=20)
    started = time.perf_counter()
    for start in range(0, invoices, BATCH):
        rows = []
        for n in range(start, min(start + BATCH, invoices)):
            is_late = n < overdue
            amount = f"{1000 + n % 9000}.00"
            rows.append(
                {
                    "id": uuid.uuid4().hex, "tenant_id": TENANT, "idempotency_key": f"k{n}",
                    "payload_sha256": "0" * 64, "document_type": "invoice", "number": f"INV-{n:08d}",
                    "issue_date": (late if is_late else future) - dt.timedelta(days=14),
                    "due_date": late if is_late else future, "currency": "NOK", "payable_amount": amount,
                    "buyer_name": f"Kunde {n // customers_per}", "payload": payload if is_late else "{}",
                    "created_at": now,
                    "customer_key": f"C{n // customers_per:08d}", "payment_status": "unpaid",
                    "payable_cents": int(amount[:-3]) * 100, "payment_reference": f"{n:010d}",
                }
            )  # fmt: skip
        with session_scope(engine) as session:
            session.execute(insert(InvoiceRecord), rows)
    print(f"filled {invoices:,} invoices ({overdue:,} overdue) in {time.perf_counter() - started:.1f} s")
    engine.dispose()


def count(url: str) -> dict[str, int]:
    engine = make_engine(url)
    with session_scope(engine) as session:
        found = {
            model.__name__: session.execute(select(func.count()).select_from(model)).scalar_one()
            for model in (ReminderNotice, ReminderNoticeItem, FollowUpDecision)
        }
    engine.dispose()
    return found


def timed_run(url: str, chunk: int, *, trace: bool) -> tuple[followup_run.RunReport, float, int | None]:
    engine = make_engine(url)
    if trace:
        tracemalloc.start()
    started = time.perf_counter()
    report = followup_run.run_follow_up(
        engine, TENANT, on=RUN_DAY, dry_run=False, actor="bench", settings=Settings(), chunk_size=chunk
    )
    seconds = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1] if trace else None
    if trace:
        tracemalloc.stop()
    engine.dispose()
    return report, seconds, peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--invoices", type=int, default=1_000_000)
    parser.add_argument("--overdue", type=int, default=None, help="default: a fifth of --invoices")
    parser.add_argument("--customers-per", type=int, default=4)
    parser.add_argument("--database-url", default=None, help="default: a fresh SQLite file")
    parser.add_argument("--chunk", type=int, default=followup_run.CHUNK_SIZE)
    parser.add_argument("--tracemalloc", action="store_true")
    args = parser.parse_args()
    overdue = args.overdue if args.overdue is not None else args.invoices // 5
    print(f"python {platform.python_version()}, sqlite {sqlite3.sqlite_version}, {platform.machine()}")
    with tempfile.TemporaryDirectory() as folder:
        url = args.database_url or f"sqlite:///{Path(folder) / 'bench.sqlite3'}"
        fill(url, args.invoices, overdue, args.customers_per)
        print(f"peak RSS after the fill: {rss_mb():.0f} MB")
        report, seconds, heap = timed_run(url, args.chunk, trace=args.tracemalloc)
        written = count(url)
        print(
            f"run: {report.looked_at:,} looked at, {report.notices:,} notices for {report.notice_invoices:,} "
            f"invoices, {written['FollowUpDecision']:,} decisions in {seconds:.1f} s "
            f"({report.looked_at / seconds:,.0f} invoices/s); peak RSS {rss_mb():.0f} MB"
            + (f"; Python heap peak {heap / 2**20:.0f} MB" if heap is not None else "")
        )
        assert written["ReminderNotice"] == report.notices
        assert written["ReminderNoticeItem"] == report.notice_invoices == overdue
        again, seconds_again, _ = timed_run(url, args.chunk, trace=False)
        print(
            f"rerun the same day: {again.notices} notices, {again.looked_at:,} looked at "
            f"in {seconds_again:.1f} s; "
            f"peak RSS {rss_mb():.0f} MB"
        )
        assert again.notices == 0


if __name__ == "__main__":
    main()
