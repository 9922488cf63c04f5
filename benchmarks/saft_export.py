"""The month's ledger hand-off at volume: posting and the SAF-T Financial 1.30 export, time and memory.

    python benchmarks/saft_export.py [--invoices 100000] [--payments 100000] [--customers 5000]
                                     [--database-url URL] [--rules-dir DIR]

Fills a fresh SQLite file (or the PostgreSQL database given) with `--invoices` invoices of one tenant issued
in November 2026 (plain executemany in batches of 20,000; each row carries one of twenty real canonical
payloads with two or three VAT rates, so posting reads a real VAT breakdown) and `--payments` payments
booked in November, each applied in full to one invoice (a payment row and an allocation row, as matching
books them). Then it times, each in its own process state:
1. `posting.post` up to 30 November (every invoice and payment becomes a voucher);
2. the SAF-T export of 1–30 November to a file, validated against the official XSD (`--rules-dir`, default
   `$GATEWAY_SHARED_DIR/validation` or `../shared/validation`) before it is kept.
It prints vouchers, lines, seconds, vouchers/s, the file's size and peak RSS (`ru_maxrss`, which only grows:
read after the fill, after posting and after the export).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import resource
import sqlite3
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import func, insert, select

from db.engine import make_engine, migrate, session_scope
from db.models import (
    InvoiceRecord,
    LedgerLine,
    LedgerVoucher,
    PaymentAllocation,
    PaymentRecord,
    RemittanceFile,
    Tenant,
)
from gateway.samples import sample_invoice_json
from schemas.ledger import LedgerSettings, SaftCompany
from schemas.tenant import TenantSettings

TENANT = "bench"
MONTH_START, MONTH_END = dt.date(2026, 11, 1), dt.date(2026, 11, 30)
BATCH = 20_000
PAYLOADS = 20


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def fill(url: str, invoices: int, payments: int, customers: int) -> None:
    engine = make_engine(url)
    migrate(engine)
    ledger = LedgerSettings(
        company=SaftCompany(registration_number="999999999", name="Bench AS", contact_telephone="+4722000000")
    )
    settings = TenantSettings(ledger=ledger).model_dump(mode="json")
    samples = [sample_invoice_json(n) for n in range(1, PAYLOADS + 1)]
    payloads = [json.dumps(sample, default=str) for sample in samples]
    payables = [sample["totals"]["payable"] for sample in samples]
    now = dt.datetime(2026, 11, 30, 12, tzinfo=dt.UTC)
    file_id = uuid.uuid4().hex
    with session_scope(engine) as session:
        session.add(Tenant(id=TENANT, name=TENANT, settings=settings))
        session.flush()
        session.add(
            RemittanceFile(
                id=file_id, tenant_id=TENANT, payload_sha256="0" * 64, document_key="bench", size=0,
                format="camt.054", source="cli", status="accepted", payment_count=payments,
            )
        )  # fmt: skip
    started = time.perf_counter()
    invoice_ids: list[str] = []
    for start in range(0, invoices, BATCH):
        rows = []
        for n in range(start, min(start + BATCH, invoices)):
            which = n % PAYLOADS
            issued = MONTH_START + dt.timedelta(days=n % 28)
            paid = n < payments
            invoice_id = uuid.uuid4().hex
            invoice_ids.append(invoice_id)
            rows.append(
                {
                    "id": invoice_id, "tenant_id": TENANT, "idempotency_key": f"k{n}",
                    "payload_sha256": "0" * 64, "document_type": "invoice", "number": f"INV-{n:08d}",
                    "issue_date": issued, "due_date": issued + dt.timedelta(days=14), "currency": "NOK",
                    "payable_amount": payables[which], "buyer_name": f"Kunde {n % customers}",
                    "payload": payloads[which], "created_at": now, "customer_key": f"C{n % customers:06d}",
                    "payment_status": "paid" if paid else "unpaid", "open_amount": "0" if paid else None,
                    "payable_cents": int(payables[which].replace(".", "")), "payment_reference": f"{n:010d}",
                }
            )  # fmt: skip
        with session_scope(engine) as session:
            session.execute(insert(InvoiceRecord), rows)
    for start in range(0, payments, BATCH):
        payment_rows, allocation_rows = [], []
        for n in range(start, min(start + BATCH, payments)):
            payment_id = uuid.uuid4().hex
            amount = payables[n % PAYLOADS]
            booked = MONTH_START + dt.timedelta(days=n % 28 + 2)
            payment_rows.append(
                {
                    "id": payment_id, "tenant_id": TENANT, "file_id": file_id, "sequence": n + 1,
                    "position": f"entry {n + 1}", "fingerprint": f"f{n}", "kind": "credit-transfer",
                    "direction": "credit", "hint_only": False, "amount": amount, "currency": "NOK",
                    "booking_date": booked, "value_date": booked, "payer_name": f"Kunde {n % customers}",
                    "bank_reference": f"REF{n:010d}", "data": {}, "status": "applied",
                    "customer_key": f"C{n % customers:06d}", "applied_amount": amount, "unapplied": "0",
                    "created_at": now, "false_automatic": False,
                }
            )  # fmt: skip
            allocation_rows.append(
                {
                    "id": uuid.uuid4().hex, "tenant_id": TENANT, "payment_id": payment_id,
                    "invoice_id": invoice_ids[n], "amount": amount, "write_off": "0",
                    "created_by": "matching", "created_at": now,
                }
            )  # fmt: skip
        with session_scope(engine) as session:
            session.execute(insert(PaymentRecord), payment_rows)
            session.execute(insert(PaymentAllocation), allocation_rows)
    print(
        f"filled {invoices:,} invoices and {payments:,} applied payments in "
        f"{time.perf_counter() - started:.1f} s"
    )
    engine.dispose()


def counts(url: str) -> tuple[int, int]:
    engine = make_engine(url)
    with session_scope(engine) as session:
        vouchers = session.execute(select(func.count()).select_from(LedgerVoucher)).scalar_one()
        lines = session.execute(select(func.count()).select_from(LedgerLine)).scalar_one()
    engine.dispose()
    return vouchers, lines


def default_rules_dir() -> Path:
    shared = os.environ.get("GATEWAY_SHARED_DIR")
    base = Path(shared) if shared else Path(__file__).resolve().parents[2] / "shared"
    return base / "validation"


def main() -> None:
    from gateway.services.ledger import posting, saft
    from gateway.settings import Settings

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--invoices", type=int, default=100_000)
    parser.add_argument("--payments", type=int, default=100_000)
    parser.add_argument("--customers", type=int, default=5_000)
    parser.add_argument("--database-url", default=None, help="default: a fresh SQLite file")
    parser.add_argument("--rules-dir", type=Path, default=default_rules_dir())
    args = parser.parse_args()
    print(
        f"python {platform.python_version()}, sqlite {sqlite3.sqlite_version}, {platform.machine()}, "
        f"{os.cpu_count()} cores"
    )
    with tempfile.TemporaryDirectory() as folder:
        url = args.database_url or f"sqlite:///{Path(folder) / 'bench.sqlite3'}"
        fill(url, args.invoices, args.payments, args.customers)
        print(f"peak RSS after the fill: {rss_mb():.0f} MB")

        engine = make_engine(url)
        started = time.perf_counter()
        posting.post(engine, TENANT, until=MONTH_END, actor="bench")
        seconds = time.perf_counter() - started
        vouchers, lines = counts(url)
        print(
            f"posting: {vouchers:,} vouchers, {lines:,} lines in {seconds:.1f} s "
            f"({vouchers / seconds:,.0f} vouchers/s); peak RSS {rss_mb():.0f} MB"
        )

        settings = Settings(
            database_url=url, data_dir=Path(folder) / "data", rules_dir=args.rules_dir,
            _env_file=None,  # type: ignore[call-arg]
        )  # fmt: skip
        target = Path(folder) / "saft.xml"
        started = time.perf_counter()
        result = saft.export_to_path(engine, settings, TENANT, MONTH_START, MONTH_END, target, actor="bench")
        assert result.total_debit == result.total_credit
        seconds = time.perf_counter() - started
        print(
            f"SAF-T export (validated): {target.stat().st_size / 2**20:,.1f} MiB in {seconds:.1f} s "
            f"({vouchers / seconds:,.0f} vouchers/s); peak RSS {rss_mb():.0f} MB"
        )
        engine.dispose()


if __name__ == "__main__":
    main()
