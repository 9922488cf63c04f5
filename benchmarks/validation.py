"""Bare validator throughput: UBL 2.1 XSD + CEN + PEPPOL rules, official examples and a 100-line invoice.

    python benchmarks/validation.py [--rules-dir DIR] [--seconds 3]

Prints documents per second of `gateway.services.validation.Validator.validate` alone (no intake, outbox or
channel),
single-threaded, after the one-off compile, with the machine's core count. `bare_validator_rate(files)` is
importable for other benchmarks.
"""

from __future__ import annotations

import argparse
import copy
import os
import sys
import time
from pathlib import Path

from lxml import etree

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gateway.services.validation import Validator, get_validator

DEFAULT_RULES = Path(__file__).resolve().parents[1].parent / "shared" / "validation"
CAC = "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
CBC = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"


def _rate(validator: Validator, documents: list[bytes], seconds: float) -> float:
    for document in documents:  # warm: first use of each stylesheet path is slower
        report = validator.validate(document)
        if not report.ok:
            raise SystemExit(f"benchmark document is not valid: {report.blocking[:3]}")
    done = 0
    started = time.perf_counter()
    while (elapsed := time.perf_counter() - started) < seconds or done == 0:
        for document in documents:
            validator.validate(document)
            done += 1
    return done / elapsed


def bare_validator_rate(
    files: list[Path] | list[bytes], *, rules_dir: Path | None = DEFAULT_RULES, seconds: float = 3.0
) -> float:
    """Documents per second of the bare validator over `files` (paths or bytes), one thread."""
    documents = [f if isinstance(f, bytes) else Path(f).read_bytes() for f in files]
    validator = get_validator(rules_dir if rules_dir and rules_dir.is_dir() else None)
    validator.warm_up()
    return _rate(validator, documents, seconds)


def many_line_invoice(template: Path, lines: int = 100) -> bytes:
    """A valid invoice: `lines` copies of the one line of a zero-rated official example, totals adjusted."""
    root = etree.parse(str(template)).getroot()
    (line,) = root.findall(f"{{{CAC}}}InvoiceLine")
    amount = float(line.findtext(f"{{{CBC}}}LineExtensionAmount") or "0")
    parent = line.getparent()
    assert parent is not None
    for number in range(2, lines + 1):
        extra = copy.deepcopy(line)
        id_element = extra.find(f"{{{CBC}}}ID")
        assert id_element is not None
        id_element.text = str(number)
        parent.append(extra)
    total = f"{amount * lines:.2f}"
    for path in (
        f"{{{CAC}}}TaxTotal/{{{CAC}}}TaxSubtotal/{{{CBC}}}TaxableAmount",
        *(
            f"{{{CAC}}}LegalMonetaryTotal/{{{CBC}}}{name}"
            for name in ("LineExtensionAmount", "TaxExclusiveAmount", "TaxInclusiveAmount", "PayableAmount")
        ),
    ):
        element = root.find(path)
        assert element is not None, path
        element.text = total
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rules-dir", type=Path, default=DEFAULT_RULES)
    parser.add_argument("--seconds", type=float, default=3.0)
    args = parser.parse_args()
    rules_dir: Path | None = args.rules_dir if args.rules_dir.is_dir() else None

    started = time.perf_counter()
    validator = get_validator(rules_dir)
    validator.warm_up()
    compile_seconds = time.perf_counter() - started
    examples = sorted((args.rules_dir / "examples" / "billing").glob("*.xml"))
    big = many_line_invoice(args.rules_dir / "examples" / "billing" / "vat-category-Z.xml", 100)
    rule_sets = validator.validate(big).rule_sets

    print(f"cores: {os.cpu_count()}  (one validating thread)")
    print(f"rule sets: {', '.join(rule_sets)}")
    print(f"compile (XSD + stylesheets, once per process): {compile_seconds:.2f} s")
    if examples:
        size = sum(p.stat().st_size for p in examples) / len(examples) / 1000
        rate = bare_validator_rate(examples, rules_dir=rules_dir, seconds=args.seconds)
        print(
            f"official examples ({len(examples)}, avg {size:.0f} KB): {rate:8.1f} docs/s  "
            f"({1000 / rate:.1f} ms/doc)"
        )
    rate = bare_validator_rate([big], rules_dir=rules_dir, seconds=args.seconds)
    size = len(big) / 1000
    print(f"generated 100-line invoice ({size:.0f} KB): {rate:8.1f} docs/s  ({1000 / rate:.1f} ms/doc)")


if __name__ == "__main__":
    main()
