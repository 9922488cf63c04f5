"""Does validation leave the GIL to the worker's other Python work? Validation alone, then beside a thread.

    python benchmarks/saxon_gil.py [--rules-dir DIR] [--documents 100] [--lines 3]

Issue 23's goal 2 hoped to overlap the worker's own Python work (rendering, the model, files, database,
logging) with validation in one process. That only helps if validation releases the GIL. This measures it:
`Validator.validate` of one rendered EHF invoice `--documents` times alone; then the same while a second
thread counts in a pure-Python loop; then that loop alone for as long as the second measurement took. Were
validation free of the GIL, it would take as long beside the loop as alone, and the loop would make its
solo progress (share 1.00; two cores). The Saxon part (the schematron transforms, `saxonche`) is measured
the same way on its own. The last line is `loop share X.XX` for the whole validation.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.validation import DEFAULT_RULES
from gateway.samples import sample_invoice
from gateway.services import validation
from mappings import render
from mappings.xml import parse_xml


def _count_until(stop: threading.Event, counted: list[int]) -> None:
    n = 0
    while not stop.is_set():
        n += 1
    counted.append(n)


def _beside_a_loop(step: Callable[[], object], times: int) -> tuple[float, float, float]:
    """(ms per step alone, ms per step beside the loop, the loop's progress over its solo progress)."""
    started = time.perf_counter()
    for _ in range(times):
        step()
    alone = time.perf_counter() - started
    stop, counted = threading.Event(), []
    loop = threading.Thread(target=_count_until, args=(stop, counted))
    started = time.perf_counter()
    loop.start()
    for _ in range(times):
        step()
    beside = time.perf_counter() - started
    stop.set()
    loop.join()
    solo_stop, solo = threading.Event(), []
    solo_loop = threading.Thread(target=_count_until, args=(solo_stop, solo))
    solo_loop.start()
    time.sleep(beside)
    solo_stop.set()
    solo_loop.join()
    return alone / times * 1000, beside / times * 1000, counted[0] / max(solo[0], 1)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rules-dir", type=Path, default=DEFAULT_RULES)
    parser.add_argument("--documents", type=int, default=100)
    parser.add_argument("--lines", type=int, default=3)
    args = parser.parse_args(argv)
    validator = validation.get_validator(args.rules_dir)
    validator.warm_up()
    document = render("ehf", sample_invoice(1, lines=args.lines)).content
    report = validator.validate(document)
    if not report.ok:
        raise SystemExit(f"the sample EHF invoice is not valid: {report.blocking[:3]}")
    root = parse_xml(document)
    customization = root.findtext(f"{{{validation.NS_CBC}}}CustomizationID")
    rule_sets = validator.source.rule_sets_for(validation.INVOICE, customization)
    processor, text = validation._Saxon.processor(), document.decode()

    def transforms() -> None:
        node = processor.parse_xml(xml_text=text)
        for rule_set in rule_sets:
            validator._executable(rule_set).transform_to_string(xdm_node=node)

    print(f"machine: {os.cpu_count()} cores; Python {sys.version.split()[0]}; {args.documents} documents")
    print(f"rule sets: {[r.name for r in rule_sets]}")
    share = 0.0
    for name, step in (
        ("saxon transforms", transforms),
        ("Validator.validate", lambda: validator.validate(document)),
    ):
        alone, beside, share = _beside_a_loop(step, args.documents)
        print(f"{name:20s} alone {alone:6.2f} ms, beside the loop {beside:6.2f} ms; loop share {share:.2f}")
    print(f"loop share {share:.2f}")


if __name__ == "__main__":
    main()
