"""Validated EHF end to end next to the bare validator, on the same documents, in the same run.

    python benchmarks/ehf.py [--invoices 300] [--lines 3] [--rules-dir DIR]

End to end = intake (`accept_invoices`, canonical checks, outbox rows) → worker (claim, render to EHF,
XSD + CEN + PEPPOL validation, folder transport with fsync, events) on an embedded SQLite outbox. Bare =
`Validator.validate` alone over the very EHF files the worker wrote. Prints both rates and their ratio
with the machine's core count.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.validation import DEFAULT_RULES, bare_validator_rate
from db.engine import session_scope
from gateway.runtime import outbox_engine
from gateway.samples import sample_invoice_json
from gateway.services.outbound.intake import IntakeItem, accept_invoices
from gateway.services.tenancy.tenants import ensure_tenant
from gateway.services.validation import get_validator
from gateway.settings import Settings
from gateway.worker import Worker


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--invoices", type=int, default=300)
    parser.add_argument("--lines", type=int, default=3)
    parser.add_argument("--rules-dir", type=Path, default=DEFAULT_RULES)
    args = parser.parse_args()
    get_validator(args.rules_dir).warm_up()  # compile once, outside both clocks
    with tempfile.TemporaryDirectory(prefix="ehf-bench-") as temporary:
        data_dir = Path(temporary)
        settings = Settings(
            database_url=f"sqlite:///{data_dir / 'outbox.sqlite3'}",
            data_dir=data_dir,
            rules_dir=args.rules_dir,
            _env_file=None,
        )  # type: ignore[call-arg]
        invoices = []
        for n in range(1, args.invoices + 1):
            invoice = sample_invoice_json(n, lines=args.lines, number_prefix="EHF")
            invoice["routing"] = {"format": "ehf"}
            invoices.append(IntakeItem(invoice))
        with outbox_engine(settings) as engine:
            with session_scope(engine) as session:
                ensure_tenant(session, "bench")
            started = time.perf_counter()
            results = accept_invoices(engine, "bench", invoices, actor="bench", default_channel="folder")
            stats = Worker(engine, settings, worker_id="bench").run(once=True)
            end_to_end = time.perf_counter() - started
        assert all(r.outcome == "created" for r in results)
        assert stats.outcomes == {"delivered": args.invoices}, stats.outcomes
        files = sorted((data_dir / "outbound" / "bench").glob("*.xml"))
        assert len(files) == args.invoices
        size = sum(f.stat().st_size for f in files) / len(files)
        e2e_rate = args.invoices / end_to_end
        bare_rate = bare_validator_rate(files, rules_dir=args.rules_dir, seconds=3.0)
    print(
        f"cores: {os.cpu_count()}; documents: {args.invoices} EHF invoices, {args.lines} lines, "
        f"~{size / 1024:.1f} KiB each; rules: XSD + CEN + PEPPOL 3.0.21; fsync on"
    )
    print(
        f"end to end (intake → render → validate → folder): {e2e_rate:8.1f} invoices/s ({end_to_end:.2f} s)"
    )
    print(f"bare validator on the same files:                 {bare_rate:8.1f} documents/s")
    print(f"ratio end to end / bare:                          {e2e_rate / bare_rate:8.2f}")


if __name__ == "__main__":
    main()
