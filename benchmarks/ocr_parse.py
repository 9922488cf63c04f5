"""OCR giro reading speed and memory: `ocr_giro.parse` on one file of many transactions.

    python benchmarks/ocr_parse.py [--transactions 100000] [--rounds 3]

netsgiro's writer generates the file (type 10 giro payments with MOD10 KIDs, every 50th a type 21 purchase
with an amount item 3 of free text), outside the clock and in this process. Each timed round runs in a
fresh child process that reads the file, imports the module and parses it once, timed (a first and only
parse: no warm cache to lean on), and reports transactions/s and its peak RSS (`VmHWM`) before and after
parsing, so the generator's memory is not counted. Bytes → text decoding and the control-total
checks are inside the clock.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

NETS_DATE = dt.date(2026, 3, 2)


def generate(transactions: int) -> bytes:
    """An OCR giro file of `transactions` transactions in one assignment, as netsgiro writes it."""
    from netsgiro import AssignmentType, ServiceCode, Transaction, TransactionType, Transmission

    from schemas.kid import mod10_check_digit

    transmission = Transmission(
        number="0000001", data_transmitter="00008080", data_recipient="00123456", date=NETS_DATE
    )
    assignment = transmission.add_assignment(
        service_code=ServiceCode.OCR_GIRO,
        assignment_type=AssignmentType.TRANSACTIONS,
        agreement_id="001234567",
        number="0000001",
        account="15038366383",
        date=NETS_DATE,
    )
    for number in range(1, transactions + 1):
        body = f"{number:09d}"
        with_text = number % 50 == 0
        assignment.transactions.append(
            Transaction(
                service_code=ServiceCode.OCR_GIRO,
                type=TransactionType.PURCHASE_WITH_TEXT
                if with_text
                else TransactionType.FROM_GIRO_DEBITED_ACCOUNT,
                number=number,
                date=NETS_DATE,
                amount=Decimal(number % 100_000 + 1) / 100 + 100,
                kid=body + mod10_check_digit(body),
                reference=f"{number:09d}",
                text=f"Faktura {number}" if with_text else None,
                centre_id="13",
                day_code=2,
                partial_settlement_number=1,
                partial_settlement_serial_number="00001",
                sign="0",
                form_number="0000000000",
                bank_date=NETS_DATE - dt.timedelta(days=1),
                debit_account="86011117947",
                filler=None,
            )
        )
    return (transmission.to_ocr() + "\n").encode("iso-8859-1")


def _high_water_mark_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def child(path: str) -> None:
    """One timed parse in this (fresh) process; prints its figures as JSON."""
    data = Path(path).read_bytes()
    from mappings.remittance import ocr_giro

    ready_kib = _high_water_mark_kib()
    started = time.perf_counter()
    document = ocr_giro.parse(data)
    elapsed = time.perf_counter() - started
    print(
        json.dumps(
            {
                "seconds": elapsed,
                "payments": len(document.payments),
                "credit_total": str(document.credit_total),
                "ready_kib": ready_kib,
                "peak_kib": _high_water_mark_kib(),
            }
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--transactions", type=int, default=100_000, help="transactions in the file (100000)")
    parser.add_argument("--rounds", type=int, default=3, help="timed parses, each in a fresh process (3)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child)
        return

    from importlib.metadata import version

    import netsgiro  # noqa: F401  (fail early, before the long generation, if it is missing)

    print(f"Python {platform.python_version()} on {platform.machine()}, {os.cpu_count()} cores")
    print(f"netsgiro {version('netsgiro')}")
    started = time.perf_counter()
    data = generate(args.transactions)
    records = data.count(b"\n")
    print(
        f"generated {args.transactions:,} transactions, {len(data) / 1e6:.1f} MB, "
        f"{records:,} records in {time.perf_counter() - started:.1f} s (netsgiro's writer)"
    )
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "ocr.txt"
        path.write_bytes(data)
        rates: list[float] = []
        for round_number in range(1, args.rounds + 1):
            result = subprocess.run(
                [sys.executable, __file__, "--child", str(path)], capture_output=True, text=True, check=True
            )
            figures = json.loads(result.stdout)
            assert figures["payments"] == args.transactions, figures
            rate = figures["payments"] / figures["seconds"]
            rates.append(rate)
            print(
                f"round {round_number}: {figures['seconds']:.2f} s, {rate:,.0f} transactions/s, "
                f"peak RSS {figures['ready_kib'] / 1024:.0f} MiB before parsing (file read, modules imported)"
                f" → {figures['peak_kib'] / 1024:.0f} MiB after; credit total {figures['credit_total']} NOK"
            )
    print(f"best {max(rates):,.0f} transactions/s, median {sorted(rates)[len(rates) // 2]:,.0f}")


if __name__ == "__main__":
    main()
