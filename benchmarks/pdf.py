"""Printable PDFs rendered per second (ReportLab, embedded fonts), with and without ReportLab's C accelerator.

    python benchmarks/pdf.py [--seconds 3] [--repeat 3] [--lines 3,100] [--code DIR] [--compare-code DIR]

Issue 23, goal 5. Each column is a child process with `PYTHONPATH=<code tree>` (default: this script's
tree; `--compare-code /work/before` adds the code as it was, so settings changed in
`mappings/invoice/pdf.py` are measured side by side), run once with `rl_accel` (ReportLab >= 4 imports the
separate `rl_accel` package's `_rl_accel` when it is installed) and once with that import blocked (the pure
Python fallbacks of `reportlab.lib.rl_accel`). The columns take turns, `--repeat` rounds of `--seconds` per
invoice size, and the best round counts. The rate is PDFs per CPU second of the rendering process
(`time.process_time`), so other processes on the same cores change it little; the wall-clock rate is
printed beside it.
One process, one core: the worker renders each delivery in its own process, so the rate scales with worker
processes up to the core count printed alongside. Every PDF rendered before the clock passes the strict
printability check (`mappings.print.printability.check_printable`).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

TREE = Path(__file__).resolve().parents[1]


def child(args: argparse.Namespace) -> None:
    """Render in this process (PYTHONPATH = the code tree) and print one JSON line of rates and sizes."""
    if args.no_accel:
        sys.modules["_rl_accel"] = None  # type: ignore[assignment]  # import fails: Python fallbacks
    import reportlab.lib.rl_accel as accel

    from gateway.samples import sample_invoice
    from mappings.invoice import pdf
    from mappings.print.printability import check_printable

    answer: dict[str, object] = {"c_functions": sorted(getattr(accel, "_c_funcs", {}) or {})}
    for lines in args.line_counts:
        invoices = [sample_invoice(n, lines=lines) for n in range(1, 11)]
        for invoice in invoices:  # fonts registered, modules imported, and each one printable
            document = pdf.render(invoice).content
            problems = check_printable(document, margin_band_mm=None)  # strict: the whole height
            if problems:
                raise SystemExit(f"a {lines}-line PDF fails the printability check: {problems}")
        count = 0
        started, cpu_started = time.perf_counter(), time.process_time()
        while (elapsed := time.perf_counter() - started) < args.seconds or count == 0:
            document = pdf.render(invoices[count % len(invoices)]).content
            count += 1
        cpu = time.process_time() - cpu_started
        answer[str(lines)] = {"rate": count / cpu, "wall_rate": count / elapsed, "bytes": len(document)}
    print(json.dumps(answer), flush=True)


def measure(code: Path, accel: bool, args: argparse.Namespace) -> dict[str, object]:
    command = [
        sys.executable, str(Path(__file__).resolve()), "--child", "--seconds", str(args.seconds),
        "--lines", args.lines, *([] if accel else ["--no-accel"]),
    ]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(code)}
    out = subprocess.run(command, env=env, cwd=code, check=True, capture_output=True, text=True).stdout
    return dict(json.loads(out.strip().splitlines()[-1]))


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=3.0, help="seconds per size and round")
    parser.add_argument("--repeat", type=int, default=3, help="rounds; the best counts")
    parser.add_argument("--lines", default="3,100", help="invoice sizes (lines), comma list")
    parser.add_argument("--code", type=Path, default=TREE)
    parser.add_argument("--compare-code", type=Path, default=None)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--no-accel", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.line_counts = [int(n) for n in args.lines.split(",") if n.strip()]
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.child:
        child(args)
        return 0
    from importlib.metadata import PackageNotFoundError, version

    def package(name: str) -> str:
        try:
            return version(name)
        except PackageNotFoundError:
            return "not installed"

    codes = [("before", args.compare_code.resolve())] if args.compare_code else []
    codes.append(("after" if codes else "code", args.code.resolve()))
    columns = [
        (f"{label}, {'rl_accel' if on else 'pure Python'}", code, on)
        for label, code in codes
        for on in (False, True)
    ]
    print(
        f"cores: {os.cpu_count()}; Python {platform.python_version()}; reportlab {package('reportlab')},"
        f" rl_accel {package('rl_accel')}; load average {', '.join(f'{x:.2f}' for x in os.getloadavg())}"
    )
    print("code: " + "; ".join(f"{label} = {path}" for label, path in codes))
    best: dict[str, dict[int, float]] = {name: {} for name, _, _ in columns}
    wall: dict[str, dict[int, float]] = {name: {} for name, _, _ in columns}
    sizes: dict[str, dict[int, int]] = {name: {} for name, _, _ in columns}
    functions: dict[str, object] = {}
    for round_number in range(1, args.repeat + 1):
        for name, code, on in columns:
            answer = measure(code, on, args)
            functions[name] = answer["c_functions"]
            for lines in args.line_counts:
                figures = answer[str(lines)]
                assert isinstance(figures, dict)
                best[name][lines] = max(best[name].get(lines, 0.0), float(figures["rate"]))
                wall[name][lines] = max(wall[name].get(lines, 0.0), float(figures["wall_rate"]))
                sizes[name][lines] = int(figures["bytes"])
            rates = ", ".join(
                f"{lines} lines {best[name][lines]:.1f}/CPU s ({wall[name][lines]:.1f}/s wall)"
                for lines in args.line_counts
            )
            print(f"  round {round_number}: {name:<28} best so far {rates}", flush=True)
    print()
    print(
        f"{'PDFs per CPU second (best of ' + str(args.repeat) + ')':<34}"
        + "".join(f"{n:>26}" for n, _, _ in columns)
    )
    for lines in args.line_counts:
        print(f"{f'{lines}-line invoice':<34}" + "".join(f"{best[n][lines]:>26.1f}" for n, _, _ in columns))
        print(f"{'  PDFs/s wall clock':<34}" + "".join(f"{wall[n][lines]:>26.1f}" for n, _, _ in columns))
        print(f"{'  KiB per PDF':<34}" + "".join(f"{sizes[n][lines] / 1024:>26.1f}" for n, _, _ in columns))
    for name, _, _ in columns:
        print(f"C functions in use, {name}: {functions[name] or 'none'}")
    first, last = columns[0][0], columns[-1][0]
    for lines in args.line_counts:
        print(f"{lines}-line: {last} / {first} = {best[last][lines] / best[first][lines]:.2f}")
    return 0


if __name__ == "__main__":
    if "--child" in sys.argv and sys.path and Path(sys.path[0]).resolve() == Path(__file__).parent:
        sys.path.pop(0)  # the child imports its PYTHONPATH tree only
    sys.exit(main())
