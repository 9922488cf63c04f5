"""X12 810 speed: invoices rendered and read per second, 004010 and 005010, small to large.

    python benchmarks/x12_810.py [--seconds 1.0] [--lines 1,10,100,1000]

Rows: `x12_810.render` (canonical → interchange bytes, the grammar check included, as the worker calls it),
`x12_810.parse` (bytes → canonical invoices, the envelope checked strictly), `x12_810.parse(strict=True)` (the
grammar check of each transaction set as well), `x12_810.inspect`, and the bare grammar check on an already
parsed transaction set. The invoices are `gateway.samples.sample_invoice(n, lines=k)`: a few VAT rates, a
freight charge, a KID and an account. Last, `x12_810.parse` on the real 810 samples it reads
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
from mappings.invoice import x12_810
from mappings.syntax import x12
from mappings.syntax.edi_grammar import check_message
from mappings.syntax.grammars.x12_810 import grammar_for

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
            documents = [x12_810.render(invoice, version=version).content for invoice in invoices]  # type: ignore[arg-type]
            segments = sum(d.count(b"~") for d in documents) // len(documents)
            transactions = [x12.parse(d).transactions[0].segments for d in documents]
            grammar = grammar_for(version)
            label = f"{size} line{'s' if size != 1 else ''}"
            rows.append(
                (
                    f"x12_810.render {version}",
                    label,
                    size,
                    segments,
                    measure(invoices, lambda i, v=version: x12_810.render(i, version=v), args.seconds),
                )
            )
            rows.append(
                (
                    f"x12_810.parse {version}",
                    label,
                    size,
                    segments,
                    measure(documents, x12_810.parse, args.seconds),
                )
            )
            rows.append(
                (
                    f"x12_810.parse strict {version}",
                    label,
                    size,
                    segments,
                    measure(documents, lambda d: x12_810.parse(d, strict=True), args.seconds),
                )
            )
            rows.append(
                (
                    f"x12_810.inspect {version}",
                    label,
                    size,
                    segments,
                    measure(documents, x12_810.inspect, args.seconds),
                )
            )
            rows.append(
                (
                    f"check_message {version}",
                    label,
                    size,
                    segments,
                    measure(transactions, lambda s, g=grammar: check_message(g, s), args.seconds),
                )
            )

    readable: list[bytes] = []
    for path in sorted(SAMPLES.iterdir()):
        try:
            x12_810.parse(path.read_bytes())
        except FormatError:
            continue
        readable.append(path.read_bytes())
    sample_segments = sum(d.count(b"\n") for d in readable) // max(len(readable), 1)
    rows.append(
        (
            "x12_810.parse (samples)",
            f"{len(readable)} real files",
            0,
            sample_segments,
            measure(readable, x12_810.parse, args.seconds),
        )
    )

    print(
        f"cores: {os.cpu_count()}; Python {platform.python_version()} on {platform.machine()}; one core; "
        f"{args.seconds:.1f} s of work per row"
    )
    print()
    header = f"{'what':<28} {'invoice':<15} {'segments':>8} {'docs/s':>10} {'ms/doc':>9} {'lines/s':>11}"
    print(header)
    print("-" * len(header))
    for what, label, size, segments, rate in rows:
        lines = f"{rate * size:>11,.0f}" if size else f"{'':>11}"
        print(f"{what:<28} {label:<15} {segments:>8} {rate:>10,.1f} {1000 / rate:>9.3f} {lines}")


if __name__ == "__main__":
    main()
