"""EDI parsing speed: our EDIFACT and X12 syntax layer, and pydifact on the same EDIFACT files, in one run.

    python benchmarks/edi_parse.py [--seconds 1.0]

Files: every EDIFACT INVOIC sample in ../shared/samples/edi/edifact/INVOIC (tokenizing), the ones among them
that are whole interchanges (UNB…UNZ) for envelope parsing, and the X12 810 samples our parser accepts. Each
row repeats its file set until `--seconds` of work have passed, on one core, and reports files/s and
segments/s (segments as our tokenizer counts them, UNA not included, so both parsers are measured against the
same figure). Bytes → text decoding is inside the clock for every row.

pydifact is an optional comparison, not a dependency: if it is missing the script says so (install it with
`pip install pydifact`) and prints our rows alone.
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

from mappings.syntax import edifact, x12

SAMPLES = Path(__file__).resolve().parents[2] / "shared" / "samples" / "edi"


def measure(files: list[bytes], work: Callable[[bytes], Any], seconds: float) -> tuple[float, int]:
    """Files per second over `files`, repeated until `seconds` have passed; and the number of rounds."""
    for data in files:  # imports, caches and compiled patterns: outside the clock
        work(data)
    rounds = 0
    started = time.perf_counter()
    while True:
        for data in files:
            work(data)
        rounds += 1
        elapsed = time.perf_counter() - started
        if elapsed >= seconds:
            return rounds * len(files) / elapsed, rounds


def _tolerant(work: Callable[[bytes], Any], errors: tuple[type[Exception], ...]) -> Callable[[bytes], Any]:
    def run(data: bytes) -> Any:
        try:
            return work(data)
        except errors:
            return None

    return run


def pydifact_rows() -> tuple[str | None, Callable[[bytes], Any] | None, Callable[[bytes], Any] | None]:
    try:
        from pydifact.parser import Parser
        from pydifact.segmentcollection import Interchange
    except ImportError:
        return None, None, None
    version = importlib.metadata.version("pydifact")

    def tokenize(data: bytes) -> Any:
        return list(Parser().parse(data.decode("latin-1")))

    def interchange(data: bytes) -> Any:
        return Interchange.from_str(data.decode("latin-1"))

    return version, tokenize, interchange


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=1.0, help="work per row (default 1.0)")
    args = parser.parse_args()

    invoic = [p.read_bytes() for p in sorted((SAMPLES / "edifact" / "INVOIC").glob("*.edi"))]
    interchanges = [
        d
        for d in invoic
        if d.lstrip(b"\xef\xbb\xbf \r\n").startswith((b"UNA", b"UNB"))
        and _tolerant(edifact.parse, (edifact.EdiSyntaxError,))(d) is not None
    ]
    x12_810 = [p.read_bytes() for p in sorted((SAMPLES / "x12" / "810").iterdir())]
    x12_good = [d for d in x12_810 if _tolerant(x12.parse, (x12.X12SyntaxError,))(d) is not None]

    def segments(files: list[bytes], tokenize: Callable[[bytes], list[Any]]) -> int:
        return sum(len(tokenize(d)) for d in files)

    edifact_segments = segments(invoic, edifact.tokenize)
    interchange_segments = segments(interchanges, edifact.tokenize)
    x12_segments = segments(x12_good, x12.tokenize)

    rows: list[tuple[str, str, int, int, float | None]] = []

    def row(
        label: str, what: str, files: list[bytes], count: int, work: Callable[[bytes], Any] | None
    ) -> None:
        rate = None if work is None else measure(files, work, args.seconds)[0]
        rows.append((label, what, len(files), count, rate))

    version, pydifact_tokenize, pydifact_interchange = pydifact_rows()
    with warnings.catch_warnings():
        # pydifact warns once per segment tag that it has no directory data to validate against
        warnings.simplefilter("ignore")
        row("ours  edifact.tokenize", "INVOIC, all", invoic, edifact_segments, edifact.tokenize)
        row("pydifact Parser.parse", "INVOIC, all", invoic, edifact_segments, pydifact_tokenize)
        row("ours  edifact.parse", "INVOIC interchanges", interchanges, interchange_segments, edifact.parse)
        row(
            "pydifact Interchange.from_str",
            "INVOIC interchanges",
            interchanges,
            interchange_segments,
            pydifact_interchange,
        )
    row("ours  x12.tokenize", "810, accepted", x12_good, x12_segments, x12.tokenize)
    row("ours  x12.parse", "810, accepted", x12_good, x12_segments, x12.parse)

    print(
        f"cores: {os.cpu_count()}; Python {platform.python_version()}; one core per row; "
        f"{args.seconds:.1f} s of work per row"
    )
    if version is None:
        print("pydifact: not installed, its rows are left out (pip install pydifact)")
    else:
        print(f"pydifact: {version}")
    print()
    header = f"{'parser':<33} {'files':<20} {'n':>3} {'segments':>8} {'files/s':>10} {'segments/s':>12}"
    print(header)
    print("-" * len(header))
    for label, what, files, count, rate in rows:
        if rate is None:
            print(f"{label:<33} {what:<20} {files:>3} {count:>8} {'(missing)':>10} {'':>12}")
            continue
        print(f"{label:<33} {what:<20} {files:>3} {count:>8} {rate:>10,.0f} {rate * count / files:>12,.0f}")
    rates = {label: rate for label, _, _, _, rate in rows}
    for ours, theirs in (
        ("ours  edifact.tokenize", "pydifact Parser.parse"),
        ("ours  edifact.parse", "pydifact Interchange.from_str"),
    ):
        mine, other = rates[ours], rates[theirs]
        if mine and other:
            print(f"{ours.split()[1]} / {theirs.split()[1]}: {mine / other:.1f}×")


if __name__ == "__main__":
    main()
