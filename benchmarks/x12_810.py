"""X12 810 speed: invoices rendered and read per second, 004010 and 005010, small to large.

    python benchmarks/x12_810.py [--seconds 1.0] [--lines 1,10,100,1000]

Rows: `render_810` (canonical → interchange bytes, the grammar check included, as the worker calls it),
`parse_810` (bytes → canonical invoices, the envelope checked strictly), `parse_810(strict=True)` (the
grammar check of each transaction set as well), `inspect_810`, and the bare grammar check on an already
parsed transaction set. The invoices are `gateway.samples.sample_invoice(n, lines=k)`: a few VAT rates, a
freight charge, a KID and an account. Last, `parse_810` on the real 810 samples it reads
(shared/samples/edi/x12/810). Each row repeats its work until `--seconds` have passed, on one core.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gateway.samples import sample_invoice
from mappings.base import FormatError
from mappings.invoice.x12_810 import inspect_810, parse_810, render_810
from mappings.syntax.edi_grammar import check_message
from mappings.syntax.grammars.x12_810 import grammar_for
from mappings.syntax.x12 import parse_interchange

SAMPLES = Path(__file__).resolve().parents[2] / "shared" / "samples" / "edi" / "x12" / "810"


def measure(items: list[Any], work: Callable[[Any], Any], seconds: float) -> float:
    """Items per second over `items`, repeated until `seconds` of work have passed (one warm-up round)."""
    for item in items:
        work(item)
    done = 0
    started = time.perf_counter()
    while True:
        for item in items:
            work(item)
        done += len(items)
        elapsed = time.perf_counter() - started
        if elapsed >= seconds:
            return done / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--seconds", type=float, default=1.0, help="work per row (default 1.0)")
    parser.add_argument("--lines", default="1,10,100,1000", help="invoice sizes (default: %(default)s)")
    args = parser.parse_args()
    sizes = [int(size) for size in args.lines.split(",")]

    rows: list[tuple[str, str, int, int, float]] = []
    for version in ("004010", "005010"):
        for size in sizes:
            invoices = [sample_invoice(n, lines=size) for n in range(1, 6)]
            documents = [render_810(invoice, version=version).content for invoice in invoices]  # type: ignore[arg-type]
            segments = sum(d.count(b"~") for d in documents) // len(documents)
            transactions = [parse_interchange(d).transactions[0].segments for d in documents]
            grammar = grammar_for(version)
            label = f"{size} line{'s' if size != 1 else ''}"
            rows.append((f"render_810 {version}", label, size, segments,
                         measure(invoices, lambda i, v=version: render_810(i, version=v), args.seconds)))
            rows.append((f"parse_810 {version}", label, size, segments,
                         measure(documents, parse_810, args.seconds)))
            rows.append((f"parse_810 strict {version}", label, size, segments,
                         measure(documents, lambda d: parse_810(d, strict=True), args.seconds)))
            rows.append((f"inspect_810 {version}", label, size, segments,
                         measure(documents, inspect_810, args.seconds)))
            rows.append((f"check_message {version}", label, size, segments,
                         measure(transactions, lambda s, g=grammar: check_message(g, s), args.seconds)))

    readable: list[bytes] = []
    for path in sorted(SAMPLES.iterdir()):
        try:
            parse_810(path.read_bytes())
        except FormatError:
            continue
        readable.append(path.read_bytes())
    sample_segments = sum(d.count(b"\n") for d in readable) // max(len(readable), 1)
    rows.append(("parse_810 (samples)", f"{len(readable)} real files", 0, sample_segments,
                 measure(readable, parse_810, args.seconds)))

    print(f"cores: {os.cpu_count()}; Python {platform.python_version()} on {platform.machine()}; one core; "
          f"{args.seconds:.1f} s of work per row")
    print()
    header = f"{'what':<28} {'invoice':<15} {'segments':>8} {'docs/s':>10} {'ms/doc':>9} {'lines/s':>11}"
    print(header)
    print("-" * len(header))
    for what, label, size, segments, rate in rows:
        lines = f"{rate * size:>11,.0f}" if size else f"{'':>11}"
        print(f"{what:<28} {label:<15} {segments:>8} {rate:>10,.1f} {1000 / rate:>9.3f} {lines}")


if __name__ == "__main__":
    main()
