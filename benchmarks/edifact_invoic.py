"""INVOIC speed: our render (canonical → INVOIC, grammar check included), our parse (INVOIC → canonical, EN
16931 checks included), our tokenizer, and pydifact reading the same files, in one run.

    python benchmarks/edifact_invoic.py [--seconds 1.0]

Files: INVOIC interchanges we render from the project's samples (`sample_invoice` 1…20, 3 lines, D.96A
EAN008; and one 200-line invoice) plus the shared INVOIC samples that are whole interchanges.
`edifact_invoic.parse` runs on the files that become canonical invoices (ours and the pydifact credit
notes: the Bots samples carry placeholder amounts that EN 16931 refuses, so they are tokenized only).
Each row repeats its set until `--seconds` of work have passed, on one core, and reports documents/s and
segments/s (segments as our tokenizer counts them). Bytes → text decoding is inside the clock for every row.

pydifact is a comparison only, not a dependency: without it the script prints our rows alone.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import os
import platform
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gateway.samples import sample_invoice
from mappings.invoice import edifact_invoic
from mappings.syntax import edifact
from mappings.syntax.edi_envelope import EdiEnvelope

SAMPLES = Path(__file__).resolve().parents[2] / "shared" / "samples" / "edi" / "edifact" / "INVOIC"
ENVELOPE = EdiEnvelope.preview("987654325", "910667831", sender_qualifier="ZZZ", recipient_qualifier="ZZZ")


def measure(items: list[Any], work: Callable[[Any], Any], seconds: float) -> float:
    """Items per second over `items`, repeated until `seconds` have passed (one warm-up round first)."""
    for item in items:
        work(item)
    rounds = 0
    started = time.perf_counter()
    while True:
        for item in items:
            work(item)
        rounds += 1
        elapsed = time.perf_counter() - started
        if elapsed >= seconds:
            return rounds * len(items) / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--seconds", type=float, default=1.0, help="work per row (default 1.0)")
    args = parser.parse_args()

    invoices = [sample_invoice(n, lines=3) for n in range(1, 21)]
    large = [sample_invoice(1, lines=200)]
    ours = [edifact_invoic.render(invoice, ENVELOPE).content for invoice in invoices]
    ours_large = [edifact_invoic.render(invoice, ENVELOPE).content for invoice in large]
    shared = [p.read_bytes() for p in sorted(SAMPLES.iterdir())]
    shared = [data for data in shared if _is_interchange(data)]
    readable = [data for data in shared if _parses(data)]
    every = ours + ours_large + shared

    def segments(files: list[bytes]) -> float:
        return sum(len(edifact.tokenize(data)) for data in files) / len(files)

    rows: list[tuple[str, str, float, float]] = []

    def row(name: str, what: str, items: list[Any], work: Callable[[Any], Any], per: float) -> None:
        rate = measure(items, work, args.seconds)
        rows.append((name, what, rate, rate * per))
        print(f"{name:<44} {what:<34} {rate:>10,.0f}/s {rate * per:>12,.0f} segments/s", flush=True)

    cpu = platform.processor() or platform.machine()
    print(f"{os.cpu_count()} cores, {cpu}, Python {platform.python_version()}")
    print(f"files: {len(ours)} rendered 3-line INVOIC, 1 rendered 200-line INVOIC, {len(shared)} shared ones")
    row("ours: edifact_invoic.render D.96A (3 lines)", "invoice → INVOIC bytes", invoices,
        lambda i: edifact_invoic.render(i, ENVELOPE), segments(ours))  # fmt: skip
    row("ours: edifact_invoic.render D.01B (3 lines)", "invoice → INVOIC bytes", invoices,
        lambda i: edifact_invoic.render(i, ENVELOPE, version="D01B"), segments(ours))  # fmt: skip
    row("ours: edifact_invoic.render D.96A (200 lines)", "invoice → INVOIC bytes", large,
        lambda i: edifact_invoic.render(i, ENVELOPE), segments(ours_large))  # fmt: skip
    parse = edifact_invoic.parse
    row("ours: edifact_invoic.parse (3 lines)", "INVOIC → canonical Invoice", ours, parse, segments(ours))
    row("ours: edifact_invoic.parse (200 lines)", "INVOIC → canonical Invoice", ours_large, parse,
        segments(ours_large))  # fmt: skip
    row("ours: edifact_invoic.parse (pydifact samples)", "INVOIC → canonical Invoice", readable, parse,
        segments(readable))  # fmt: skip
    row("ours: edifact.tokenize (all files)", "bytes → segments", every, edifact.tokenize, segments(every))
    row("ours: edifact.parse (all files)", "bytes → checked envelope", every,
        edifact.parse, segments(every))  # fmt: skip
    try:
        from pydifact.parser import Parser
        from pydifact.segmentcollection import Interchange
    except ImportError:
        print("pydifact is not installed (pip install pydifact): no comparison rows")
    else:
        version = importlib.metadata.version("pydifact")
        warnings.simplefilter("ignore")  # pydifact warns once per service segment it has no XML for
        row(f"pydifact {version}: Parser.parse (all files)", "bytes → segments", every,
            lambda d: list(Parser().parse(d.decode("latin-1"))), segments(every))  # fmt: skip
        row(f"pydifact {version}: Interchange.from_str", "bytes → interchange", every,
            lambda d: Interchange.from_str(d.decode("latin-1")), segments(every))  # fmt: skip
    print()
    print("| row | what | per second | segments/s |")
    print("|---|---|---:|---:|")
    for name, what, rate, segment_rate in rows:
        print(f"| {name} | {what} | {rate:,.0f} | {segment_rate:,.0f} |")


def _is_interchange(data: bytes) -> bool:
    try:
        edifact.parse(data)
    except edifact.FormatError:
        return False
    return True


def _parses(data: bytes) -> bool:
    try:
        edifact_invoic.parse(data)
    except edifact.FormatError:
        return False
    return True


if __name__ == "__main__":
    main()
