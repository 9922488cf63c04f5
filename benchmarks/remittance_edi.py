"""EDIFACT REMADV and X12 820 reading speed: payments and remittance lines per second.

    python benchmarks/remittance_edi.py [--seconds 1.0] [--lines 10000]

Rows, each on generated files (the envelope checked strictly, the amounts checked, as intake reads them):

* one advice with `--lines` documents (a REMADV message with that many DOC groups, an 820 set with that
  many RMR segments): the large-file case;
* 1,000 advices of 10 documents each in one interchange (1,000 REMADV messages / 820 sets): the
  many-payments case.

The REMADVs are written by `edifact_remadv.render` (D.01B: EANCOM 1997's D.96A allows 9,999 DOC groups per
message; a discount on every tenth invoice, a credit note on every twentieth document), the 820s with
`mappings.syntax.x12` (004010, the same pattern with RMR06 and RMR01 CM). Each row repeats its file until
`--seconds` have passed, on one core; the file sizes are printed too.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import sys
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mappings.remittance import edifact_remadv, x12_820
from mappings.syntax import x12
from schemas.remittance import Payment, RemittanceDocument, RemittanceLine

PREPARED = dt.datetime(2026, 11, 24, 12, 0, tzinfo=dt.UTC)


def _lines(count: int, start: int = 0) -> tuple[list[RemittanceLine], Decimal]:
    lines: list[RemittanceLine] = []
    total = Decimal(0)
    for n in range(start, start + count):
        amount = Decimal(100 + n % 900) + Decimal(n % 100) / 100
        if n % 20 == 19:
            lines.append(RemittanceLine(invoice_number=f"CN-{n:07d}", document_kind="credit_note",
                                        amount=amount))  # fmt: skip
            total -= amount
        elif n % 10 == 9:
            lines.append(RemittanceLine(invoice_number=f"INV-{n:07d}", document_kind="invoice",
                                        amount=amount - 1, document_amount=amount, adjustment=Decimal(1),
                                        adjustment_reason="discount"))  # fmt: skip
            total += amount - 1
        else:
            lines.append(RemittanceLine(invoice_number=f"INV-{n:07d}", document_kind="invoice", amount=amount,
                                        kid=f"{n:09d}0"))  # fmt: skip
            total += amount
    return lines, total


def remadv_file(payments: int, lines_each: int) -> bytes:
    """A REMADV interchange with `payments` messages of `lines_each` documents."""
    out: list[Payment] = []
    for p in range(payments):
        lines, total = _lines(lines_each, p * lines_each)
        out.append(Payment(amount=total, currency="NOK", bank_reference=f"RA-{p:06d}", payer_name="Payer AS",
                           payer_account="15030012345", kind="remadv", lines=tuple(lines)))  # fmt: skip
    document = RemittanceDocument(format="remadv", payments=out, message_id="1", created_at=PREPARED,
                                  sender="7080000000009", receiver="7090000000005")  # fmt: skip
    # D.96A allows at most 9,999 DOC groups per message
    return edifact_remadv.render(document, version="D01B")


def x12_820_file(payments: int, lines_each: int) -> bytes:
    """An 820 interchange with `payments` transaction sets of `lines_each` RMR segments."""
    transactions: list[x12.TransactionSet] = []
    for p in range(payments):
        lines, total = _lines(lines_each, p * lines_each)
        body = [
            x12.Segment.of("BPR", "C", str(total), "C", "ACH", "CTX", "01", "021000021", "DA", "1234567890",
                           "1123456789", "", "01", "026009593", "DA", "9876543210", "20261125"),
            x12.Segment.of("TRN", "1", f"TRACE{p:06d}"),
            x12.Segment.of("N1", "PR", "Payer Inc"),
            x12.Segment.of("ENT", "1"),
        ]  # fmt: skip
        for line in lines:
            amount = line.amount or Decimal(0)
            if line.document_kind == "credit_note":
                body.append(x12.Segment.of("RMR", "CM", line.invoice_number or "", "", str(amount)))
            elif line.adjustment:
                body.append(x12.Segment.of("RMR", "IV", line.invoice_number or "", "PI", str(amount),
                                           str(line.document_amount), str(line.adjustment)))  # fmt: skip
            else:
                body.append(x12.Segment.of("RMR", "IV", line.invoice_number or "", "PI", str(amount)))
            body.append(x12.Segment.of("DTM", "003", "20261101"))
        transactions.append(x12.TransactionSet("820", f"{p + 1:04d}", segments=body))
    group = x12.FunctionalGroup("RA", "PAYER", "PAYEE", "20261124", "1200", "1", "X", "004010", transactions)
    interchange = x12.build_interchange(sender=x12.Party("ZZ", "PAYER"), receiver=x12.Party("ZZ", "PAYEE"),
                                        control_number=1, prepared=PREPARED, groups=[group])  # fmt: skip
    return x12.write_interchange(interchange, newline="\n")


def measure(
    data: bytes, read: Callable[[bytes], RemittanceDocument], seconds: float
) -> tuple[float, int, int]:
    """(files per second, payments per file, lines per file), repeated until `seconds` have passed."""
    document = read(data)  # warm-up, and the counts
    payments = len(document.payments)
    lines = sum(len(p.lines) for p in document.payments)
    done = 0
    started = time.perf_counter()
    while True:
        read(data)
        done += 1
        elapsed = time.perf_counter() - started
        if elapsed >= seconds:
            return done / elapsed, payments, lines


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--seconds", type=float, default=1.0, help="work per row (default 1.0)")
    parser.add_argument("--lines", type=int, default=10_000, help="documents in the large advice (10000)")
    args = parser.parse_args()
    print(f"python {platform.python_version()} on {platform.machine()}, {os.cpu_count()} cores, one used")
    shapes = [(1, args.lines), (1000, 10)]
    print(f"{'reader':<14} {'shape':<24} {'size':>10} {'files/s':>9} {'payments/s':>11} {'lines/s':>10}")
    readers = (
        ("edifact_remadv.parse", remadv_file, edifact_remadv.parse),
        ("x12_820.parse", x12_820_file, x12_820.parse),
    )
    for name, write, read in readers:
        for payments, lines_each in shapes:
            data = write(payments, lines_each)
            rate, paid, lines = measure(data, read, args.seconds)
            shape = f"{payments} × {lines_each} lines"
            print(
                f"{name:<14} {shape:<24} {len(data) / 1024:>8.0f} K {rate:>9.2f} {rate * paid:>11.0f} "
                f"{rate * lines:>10.0f}"
            )


if __name__ == "__main__":
    main()
