"""SAF-T Financial export of a big month: time, peak memory, file size.

    python benchmarks/saft_export.py [--invoices 100000] [--payments 100000] [--customers-per 4]
                                     [--database-url URL] [--rules-dir ../shared/validation] [--tracemalloc]

Fills a fresh SQLite file (or the PostgreSQL database given) with one tenant's posted November: `--invoices`
invoice vouchers (receivables debit with customer, invoice number and KID; revenue credit with VAT
information; output VAT credit) and `--payments` payment vouchers (bank debit, receivables credit), plus an
October invoice per customer for opening balances, and one invoice record per customer (the customer
register). Rows are inserted by plain executemany in batches of 20,000. It then times one real
`export_to_path` — write, xmlschema validation (lazy), the reference and balance checks, gzip into the
document store — and prints seconds, the file's size, transactions per second and peak RSS
(`ru_maxrss`, read after the fill and after the export). With `--tracemalloc` it also prints the Python
heap's peak during the export (slower).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import platform
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import insert

from db.engine import make_engine, migrate, session_scope
from db.models import InvoiceRecord, Tenant
from db.models.ledger import LedgerLine, LedgerVoucher
from gateway.samples import sample_invoice_json
from gateway.services.ledger import saft
from gateway.settings import Settings
from schemas.ledger import LedgerSettings, SaftCompany
from schemas.tenant import TenantSettings

TENANT = "bench"
BATCH = 20_000
NOVEMBER = (dt.date(2026, 11, 1), dt.date(2026, 11, 30))


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class Filler:
    def __init__(self, url: str) -> None:
        self.engine = make_engine(url)
        migrate(self.engine)
        self.vouchers: list[dict[str, Any]] = []
        self.lines: list[dict[str, Any]] = []
        self.number = 0

    def voucher(self, day: dt.date, kind: str, lines: list[tuple[str, str, str, dict[str, Any]]]) -> None:
        self.number += 1
        voucher_id = uuid.uuid4().hex
        self.vouchers.append({
            "id": voucher_id, "tenant_id": TENANT, "number": self.number, "period": f"{day:%Y-%m}",
            "voucher_date": day, "event_date": day, "voucher_type": kind,
            "source_key": f"{kind}:{self.number}",
            "customer_key": None, "description": "", "created_at": dt.datetime(2026, 12, 1, tzinfo=dt.UTC),
        })  # fmt: skip
        for line_no, (account, debit, credit, extra) in enumerate(lines, 1):
            row = {
                "voucher_id": voucher_id, "tenant_id": TENANT, "line_no": line_no, "voucher_date": day,
                "account": account, "debit": debit, "credit": credit, "tax_code": None, "tax_rate": None,
                "tax_base": None, "tax_amount": None, "customer_key": None, "document_number": None,
                "kid": None, "due_date": None, "text": "", "currency": None, "currency_amount": None,
                "exchange_rate": None,
            }  # fmt: skip
            row.update(extra)
            self.lines.append(row)
        if len(self.lines) >= BATCH:
            self.flush()

    def flush(self) -> None:
        with self.engine.begin() as connection:
            if self.vouchers:
                connection.execute(insert(LedgerVoucher), self.vouchers)
            if self.lines:
                connection.execute(insert(LedgerLine), self.lines)
        self.vouchers, self.lines = [], []


def fill(url: str, invoices: int, payments: int, customers_per: int) -> None:
    filler = Filler(url)
    ledger = LedgerSettings(
        company=SaftCompany(registration_number="987654325", name="Bench AS", contact_telephone="22000000")
    )
    with session_scope(filler.engine) as session:
        session.add(
            Tenant(id=TENANT, name=TENANT, settings=TenantSettings(ledger=ledger).model_dump(mode="json"))
        )
    customers = max(1, invoices // customers_per)
    payload = json.dumps(sample_invoice_json(1), default=str)
    with filler.engine.begin() as connection:
        for start in range(0, customers, BATCH):
            rows = [
                {
                    "id": uuid.uuid4().hex, "tenant_id": TENANT, "idempotency_key": f"k{n}",
                    "payload_sha256": "0" * 64, "document_type": "invoice", "number": f"INV-{n:08d}",
                    "issue_date": dt.date(2026, 10, 1), "currency": "NOK", "payable_amount": "1250.00",
                    "buyer_name": f"Kunde {n}", "payload": payload if n == 0 else "{}",
                    "created_at": dt.datetime(2026, 10, 1, tzinfo=dt.UTC), "customer_key": f"C{n:07d}",
                    "payment_status": "unpaid", "payable_cents": 125000,
                }
                for n in range(start, min(start + BATCH, customers))
            ]  # fmt: skip
            connection.execute(insert(InvoiceRecord), rows)
    october = dt.date(2026, 10, 15)
    for n in range(customers):
        key = f"C{n:07d}"
        filler.voucher(october, "invoice", [
            ("1500", "1250.00", "0", {"customer_key": key, "document_number": f"OCT-{n:08d}"}),
            ("3000", "0", "1000.00", {"tax_code": "3", "tax_rate": "25", "tax_base": "1000.00",
                                      "tax_amount": "250.00"}),
            ("2700", "0", "250.00", {}),
        ])  # fmt: skip
    for n in range(invoices):
        key, day = f"C{n // customers_per:07d}", NOVEMBER[0] + dt.timedelta(days=n % 30)
        net = 100 + n % 9000
        filler.voucher(day, "invoice", [
            ("1500", f"{net * 1.25:.2f}", "0", {"customer_key": key, "document_number": f"INV-{n:08d}",
                                                "kid": f"{n:010d}", "due_date": day + dt.timedelta(days=14)}),
            ("3000", "0", f"{net:.2f}", {"tax_code": "3", "tax_rate": "25", "tax_base": f"{net:.2f}",
                                         "tax_amount": f"{net * 0.25:.2f}"}),
            ("2700", "0", f"{net * 0.25:.2f}", {}),
        ])  # fmt: skip
    for n in range(payments):
        key, day = f"C{n // customers_per:07d}", NOVEMBER[0] + dt.timedelta(days=n % 30)
        filler.voucher(day, "payment", [
            ("1920", "1250.00", "0", {}),
            ("1500", "0", "1250.00", {"customer_key": key,
                                      "document_number": f"OCT-{n // customers_per:08d}"}),
        ])  # fmt: skip
    filler.flush()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--invoices", type=int, default=100_000)
    parser.add_argument("--payments", type=int, default=100_000)
    parser.add_argument("--customers-per", type=int, default=4)
    parser.add_argument("--database-url")
    parser.add_argument(
        "--rules-dir", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "validation"
    )
    parser.add_argument("--tracemalloc", action="store_true")
    parser.add_argument("--fill-only", action="store_true", help=argparse.SUPPRESS)  # the child that fills
    args = parser.parse_args()
    if args.fill_only:
        fill(args.database_url, args.invoices, args.payments, args.customers_per)
        return
    cores = Path("/proc/cpuinfo").read_text().count("processor")
    print(f"python {platform.python_version()}, {platform.machine()}, {cores} cores")
    with tempfile.TemporaryDirectory(prefix="saft-bench-") as folder:
        url = args.database_url or f"sqlite:///{folder}/bench.sqlite3"
        started = time.perf_counter()
        # filled in a child process: this process's peak RSS is the export's alone
        subprocess.run(
            [sys.executable, __file__, "--fill-only", "--database-url", url, "--invoices", str(args.invoices),
             "--payments", str(args.payments), "--customers-per", str(args.customers_per)],
            check=True,
        )  # fmt: skip
        print(f"fill: {time.perf_counter() - started:.1f} s (child process)")
        settings = Settings(database_url=url, data_dir=Path(folder) / "data", rules_dir=args.rules_dir,
                            _env_file=None)  # type: ignore[call-arg]  # fmt: skip
        engine = make_engine(url)
        target = Path(folder) / "saft.xml"
        before = rss_mb()
        if args.tracemalloc:
            tracemalloc.start()
        started = time.perf_counter()
        result = saft.export_to_path(engine, settings, TENANT, *NOVEMBER, target, actor="bench")
        seconds = time.perf_counter() - started
        heap = tracemalloc.get_traced_memory()[1] / 2**20 if args.tracemalloc else None
        print(
            f"export: {result.transactions} transactions, {result.customers} customers, "
            f"{result.size / 2**20:.0f} MB file, {seconds:.1f} s "
            f"({result.transactions / seconds:.0f} transactions/s); "
            f"peak RSS {rss_mb():.0f} MB (before {before:.0f} MB)"
            + (f"; Python heap peak {heap:.0f} MB" if heap else "")
        )


if __name__ == "__main__":
    main()
