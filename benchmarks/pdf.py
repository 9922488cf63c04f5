"""Printable PDFs rendered per second (ReportLab, embedded fonts), for 3-line and 40-line invoices.

    python benchmarks/pdf.py [--seconds 5]

One process, one core: the worker renders each delivery in its own process, so the rate scales with
worker processes up to the core count printed alongside.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gateway.samples import sample_invoice
from mappings.invoice import pdf


def rate(lines: int, seconds: float) -> tuple[float, int]:
    invoices = [sample_invoice(n, lines=lines) for n in range(1, 21)]
    pdf.render(invoices[0])  # fonts registered, modules imported: outside the clock
    count = 0
    size = 0
    started = time.perf_counter()
    while time.perf_counter() - started < seconds:
        size = len(pdf.render(invoices[count % len(invoices)]).content)
        count += 1
    return count / (time.perf_counter() - started), size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args()
    print(f"cores: {os.cpu_count()}")
    for lines in (3, 40):
        per_second, size = rate(lines, args.seconds)
        print(f"{lines:>3}-line invoice: {per_second:7.1f} PDFs/s on one core ({size / 1024:.0f} KiB each)")


if __name__ == "__main__":
    main()
