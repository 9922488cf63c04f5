"""Validated EHF end to end: worker processes against validator processes, same documents, same run.

    python benchmarks/ehf.py [--invoices 300] [--lines 3] [--databases sqlite,postgresql] [--repeat 1]
                             [--code DIR] [--compare-code DIR] [--claim-batch 20] [--tmpdir DIR]

Issue 23, goals 2 and 4. For each database (a fresh SQLite file, or a throw-away `bench_<random>` schema in
the PostgreSQL database of `BENCH_POSTGRES_URL`) and each code tree:

(a) 1 worker process: the `gateway worker` CLI command in a child process (env-configured, folder channel
    with fsync, the official rules) with the validator compiled before the command starts. A few warm-up
    invoices go through it first. Then N EHF invoices are queued in one intake transaction (untimed: no
    delivery is claimable before its commit), and the clock runs from the measured deliveries' first worker
    event (their claim) to their last `delivered` event, by the workers' own timestamps (the note gives the
    commit-to-last figure too, which adds the wake-up); every delivery is checked `delivered`, every EHF
    file counted.
(b) 1 validator process: bare `Validator.validate` on the bytes of the very EHF files (a) wrote, in a child
    process, warmed on some of them first; one pass over all N.
(c) 2 worker processes over a fresh store and an equal queue, as (a).
(d) 2 validator processes, each validating half of the files, started together.

Every child runs with `PYTHONPATH=<code tree>` (default: this script's tree), so `--code /work/before`
measures the code as it was, and `--compare-code DIR` measures a second tree in the same run, printed side by
side (the trees take turns; with `--repeat` each figure's best round counts). Only APIs present in both
trees are used (Settings through the environment, `accept_invoices`, `IntakeItem`, `ensure_tenant`,
`migrate`, `get_validator`, `sample_invoice_json`, the `gateway` CLI).

It prints the cores, CPU, versions and load average, a table with the ratios per database and tree, and as its
last lines, for the `--code` tree and the lowest over the databases: `workers ratio X.XX` (2 worker
processes over 1) and `ratio X.XX` (1 worker end to end over 1 bare validator process).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

TREE = Path(__file__).resolve().parents[1]
TENANT = "bench"  # throughput.TENANT; repeated so that a child needs nothing from this tree
WORKER_PREFIX = "bench-worker"
MEASURED_PREFIX = "E"  # the measured invoices are numbered E-…, the warm-up's W-…
DEFAULT_RULES = TREE.parent / "shared" / "validation"


# -- child processes: run with PYTHONPATH=<code tree>, importing nothing from this script's tree --------


def child_queue(args: argparse.Namespace) -> None:
    """Migrate the store (`--migrate`) and queue `--count` EHF invoices for the folder channel in one
    intake transaction; prints a JSON line with the commit's wall-clock time.

    That time is taken by SQLAlchemy's `after_commit` event, as soon as the COMMIT has returned: taken
    after `accept_invoices` returned and the engine was disposed, it came tens of ms late, after a worker
    woken by the commit's NOTIFY had already claimed (see `event_window`)."""
    from sqlalchemy import event
    from sqlalchemy.orm import Session

    from db.engine import make_engine, migrate, session_scope
    from gateway.samples import sample_invoice_json
    from gateway.services.outbound.intake import IntakeItem, accept_invoices
    from gateway.services.tenancy.tenants import ensure_tenant

    commits: list[float] = []
    event.listen(Session, "after_commit", lambda _session: commits.append(time.time()))
    engine = make_engine(args.url)
    try:
        if args.migrate:
            migrate(engine)
            with session_scope(engine) as session:
                ensure_tenant(session, TENANT)
        items = []
        for n in range(1, args.count + 1):
            invoice = sample_invoice_json(n, lines=args.lines, number_prefix=args.prefix)
            invoice["routing"] = {"format": "ehf"}
            items.append(IntakeItem(invoice))
        created = 0
        if items:
            results = accept_invoices(engine, TENANT, items, actor="bench", default_channel="folder")
            created = sum(1 for result in results if result.outcome == "created")
        committed_at = commits[-1] if commits else time.time()
    finally:
        engine.dispose()
    print(json.dumps({"created": created, "committed_at": committed_at}), flush=True)


def child_worker(args: argparse.Namespace) -> None:
    """The `gateway worker` command, after compiling the validator and rendering + validating one EHF in
    this process (the bare validator child is warmed too: neither clock holds a compile)."""
    from gateway.samples import sample_invoice
    from gateway.services.validation import get_validator

    validator = get_validator(args.rules_dir)
    validator.warm_up()
    try:  # best effort: the mappings' own caches (templates, number formats)
        from mappings import render

        validator.validate(render("ehf", sample_invoice(1, lines=args.lines)).content)
    except Exception as error:  # a warm-up, not a check
        print(f"warm-up render skipped: {error!r}", flush=True)
    print("warm", flush=True)
    from gateway.cli import app

    app(args=["worker", "--worker-id", args.worker_id], prog_name="gateway")


def child_validate(args: argparse.Namespace) -> None:
    """Bare `Validator.validate` over the files listed in `--files`, after a warm-up on some of them;
    waits for a line on stdin between ready and the clock, so several start together."""
    from gateway.services.validation import get_validator

    documents = [Path(line).read_bytes() for line in Path(args.files).read_text().split("\n") if line]
    validator = get_validator(args.rules_dir)
    validator.warm_up()
    for document in documents[: args.warm]:
        report = validator.validate(document)
        if not report.ok:
            raise SystemExit(f"a document the worker delivered is not valid: {report.blocking[:3]}")
    print("ready", flush=True)
    sys.stdin.readline()
    started = time.perf_counter()
    for document in documents:
        validator.validate(document)
    elapsed = time.perf_counter() - started
    print(json.dumps({"documents": len(documents), "seconds": elapsed}), flush=True)


# -- the parent ------------------------------------------------------------------------------------------


@dataclass
class Figure:
    database: str
    code: str
    measure: str
    documents: int
    seconds: float
    note: str = ""

    @property
    def rate(self) -> float:
        return self.documents / self.seconds if self.seconds > 0 else float("nan")


@dataclass
class Run:
    """One run's children and stores; `close` stops and removes all of them, whatever happened."""

    args: argparse.Namespace
    root: Path
    stores: Any  # benchmarks.throughput.Stores
    figures: list[Figure] = field(default_factory=list)
    children: list[subprocess.Popen[str]] = field(default_factory=list)

    def env(self, code: Path, directory: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
        from benchmarks.throughput import child_env

        env = child_env(directory, extra or {})
        env["PYTHONPATH"] = str(code)
        return env

    @staticmethod
    def child(role: str, *extra: str) -> list[str]:
        """This script as a child in `role` (its code tree comes from the environment: `env`)."""
        return [sys.executable, str(Path(__file__).resolve()), "--child-role", role, *extra]

    def spawn(self, command: list[str], **kwargs: Any) -> subprocess.Popen[str]:
        process = subprocess.Popen(command, text=True, **kwargs)
        self.children.append(process)
        return process

    def stop(self, processes: Sequence[subprocess.Popen[str]]) -> None:
        for process in processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            if process in self.children:
                self.children.remove(process)

    def add(self, figure: Figure) -> None:
        self.figures.append(figure)
        note = f"  [{figure.note}]" if figure.note else ""
        print(
            f"  {figure.database:<10} {figure.code:<7} {figure.measure:<40} {figure.documents:>5} in"
            f" {figure.seconds:6.2f} s = {figure.rate:7.1f}/s{note}",
            flush=True,
        )

    # -- queue -------------------------------------------------------------------------------------------

    def queue(self, store: Any, code: Path, count: int, prefix: str, *, migrate: bool = False) -> float:
        """Run intake in a child with `code`; the commit's wall-clock time."""
        command = self.child(
            "queue", "--url", store.url, "--count", str(count),
            "--prefix", prefix, "--lines", str(self.args.lines), *(["--migrate"] if migrate else []),
        )  # fmt: skip
        process = self.spawn(
            command, stdout=subprocess.PIPE, cwd=store.directory, env=self.env(code, store.directory)
        )
        out, _ = process.communicate(timeout=self.args.timeout)
        self.children.remove(process)
        if process.returncode != 0:
            raise RuntimeError(f"intake child failed (exit {process.returncode})")
        answer = json.loads(out.strip().splitlines()[-1])
        if answer["created"] != count:
            raise RuntimeError(f"intake created {answer['created']} of {count}")
        return float(answer["committed_at"])

    # -- workers -----------------------------------------------------------------------------------------

    def workers(self, kind: str, code: Path, label: str, count: int) -> tuple[list[Figure], list[Path]]:
        """`count` worker processes over a fresh store: warm-up, then N invoices; the figure and the EHF
        files the measured deliveries wrote."""
        from benchmarks.throughput import status_counts

        store = self.stores.new(kind, f"{label}-w{count}", prepare=False)
        self.queue(store, code, 0, "X", migrate=True)
        outbound = store.directory / "outbound"
        env = self.env(
            code,
            store.directory,
            {
                "GATEWAY_DATABASE_URL": store.url,
                "GATEWAY_CHANNELS": json.dumps({"folder": {"directory": str(outbound), "fsync": True}}),
                "GATEWAY_RULES_DIR": str(self.args.rules_dir),
                "GATEWAY_CLAIM_BATCH": str(self.args.claim_batch),
                "GATEWAY_LEASE_SECONDS": "120",
                "GATEWAY_POLL_SECONDS": "0.05",
            },
        )
        reader = store.reader()
        processes: list[subprocess.Popen[str]] = []
        logs = [store.directory / f"worker-{index}.log" for index in range(count)]
        try:
            for index, log_path in enumerate(logs):
                with log_path.open("w") as log:
                    command = self.child(
                        "worker", "--worker-id", f"{WORKER_PREFIX}-{index}",
                        "--rules-dir", str(self.args.rules_dir), "--lines", str(self.args.lines),
                    )  # fmt: skip
                    processes.append(
                        self.spawn(
                            command, stdout=log, stderr=subprocess.STDOUT, cwd=store.directory, env=env
                        )
                    )
            self.wait_until(lambda: all("warm" in p.read_text().split("\n") for p in logs), processes, logs)
            time.sleep(1.0)  # the CLI's start checks and its first round, after the warm-up line
            warm = self.args.warmup * count
            self.queue(store, code, warm, "W")
            self.wait_until(lambda: status_counts(reader).get("delivered", 0) >= warm, processes, logs)
            time.sleep(0.3)
            cpu_before = [process_cpu(p.pid) for p in processes]
            total = warm + self.args.invoices
            committed_at = self.queue(store, code, self.args.invoices, MEASURED_PREFIX)
            self.wait_until(lambda: status_counts(reader).get("delivered", 0) >= total, processes, logs)
            polled = time.time() - committed_at
            cpu = sum(process_cpu(p.pid) - b for p, b in zip(processes, cpu_before, strict=True))
            self.stop(processes)
            counts = status_counts(reader)
            first, last = event_window(reader, MEASURED_PREFIX)
        finally:
            self.stop(processes)
            reader.dispose()
        if counts.get("delivered", 0) != total or set(counts) != {"delivered"}:
            raise RuntimeError(f"{kind}: expected {total} delivered, statuses {counts}; see {logs}")
        files = sorted(outbound.rglob(f"{MEASURED_PREFIX}*.xml"))  # the measured invoices' files, anywhere
        if len(files) != self.args.invoices:
            raise RuntimeError(f"{kind}: {len(files)} EHF files for {self.args.invoices} deliveries")
        seconds = last - first
        shares = [worker_share(log) for log in logs]
        note = (
            f"first claim {(first - committed_at) * 1000:+.0f} ms after the commit; commit to last delivered"
            f" {last - committed_at:.2f} s ({self.args.invoices / (last - committed_at):.1f}/s), polled"
            f" {polled:.2f} s; CPU {cpu / seconds:.0%} of one core; delivered per worker (warm-up included)"
            f" {shares}"
        )
        label_text = f"{count} worker process{'es' if count > 1 else ''}, e2e"
        from_commit = Figure(
            kind, label, f"{label_text} from commit", self.args.invoices, last - committed_at,
            f"first claim {(first - committed_at) * 1000:+.0f} ms (the wake-up)",
        )  # fmt: skip
        return [Figure(kind, label, label_text, self.args.invoices, seconds, note), from_commit], files

    def wait_until(self, done: Any, processes: Sequence[subprocess.Popen[str]], logs: Sequence[Path]) -> None:
        deadline = time.monotonic() + self.args.timeout
        while not done():
            if any(p.poll() is not None for p in processes):
                raise RuntimeError(f"a worker process exited early; see {[str(p) for p in logs]}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"timed out after {self.args.timeout} s; see {[str(p) for p in logs]}")
            time.sleep(0.02)

    # -- validators --------------------------------------------------------------------------------------

    def validators(self, kind: str, code: Path, label: str, files: list[Path], count: int) -> Figure:
        """`count` bare validator processes, each over its share of `files`, started together."""
        processes: list[subprocess.Popen[str]] = []
        try:
            for index in range(count):
                listing = self.root / f"files-{kind}-{label}-{count}-{index}.txt"
                listing.write_text("\n".join(str(f) for f in files[index::count]))
                command = self.child(
                    "validate", "--files", str(listing),
                    "--rules-dir", str(self.args.rules_dir), "--warm", "20",
                )  # fmt: skip
                processes.append(
                    self.spawn(
                        command,
                        stdin=subprocess.PIPE,
                        stdout=subprocess.PIPE,
                        cwd=self.root,
                        env=self.env(code, self.root),
                    )
                )
            for process in processes:
                assert process.stdout is not None
                if process.stdout.readline().strip() != "ready":
                    raise RuntimeError("a validator child did not start; see its error above")
            for process in processes:
                assert process.stdin is not None
                process.stdin.write("go\n")
                process.stdin.flush()
            answers = []
            for process in processes:
                out, _ = process.communicate(timeout=self.args.timeout)
                if process.returncode != 0:
                    raise RuntimeError(f"a validator child failed (exit {process.returncode})")
                answers.append(json.loads(out.strip().splitlines()[-1]))
        finally:
            self.stop(processes)
        seconds = max(answer["seconds"] for answer in answers)
        per = ", ".join(f"{a['documents'] / a['seconds']:.1f}/s" for a in answers)
        label_text = f"{count} validator process{'es' if count > 1 else ''}"
        return Figure(kind, label, label_text, len(files), seconds, f"per process {per}" if count > 1 else "")


def process_cpu(pid: int) -> float:
    """CPU seconds (user + system) of a live process so far, from /proc (NaN where unavailable)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def event_window(reader: Any, prefix: str) -> tuple[float, float]:
    """The first worker event (the claim) and the last `delivered` event of the measured deliveries (their
    invoices numbered `prefix`-…), by the workers' own clocks (`delivery_events.at`, UTC).

    The deliveries are picked by invoice, not by time: a worker woken by the intake's NOTIFY claims (and
    stamps its `rendering` events) within milliseconds of the commit, sooner than the intake child can
    note the time. Picked as "events after the noted commit", those claims were left out and the first
    event counted was the next one: on the grouped folder path, the first claim batch's outcomes, written
    after the whole batch (a 0.4–4.3 s "wake-up", and an e2e clock that skipped the first batch)."""
    from sqlalchemy import func, select

    from db.models import DeliveryEvent, InvoiceRecord

    events = DeliveryEvent.__table__  # type: ignore[attr-defined]
    invoices = InvoiceRecord.__table__  # type: ignore[attr-defined]
    measured = events.c.invoice_id.in_(select(invoices.c.id).where(invoices.c.number.like(f"{prefix}-%")))
    with reader.connect() as connection:
        first = connection.execute(
            select(func.min(events.c.at)).where(measured, events.c.actor.like(f"{WORKER_PREFIX}-%"))
        ).scalar()
        last = connection.execute(
            select(func.max(events.c.at)).where(measured, events.c.to_status == "delivered")
        ).scalar()
    if first is None or last is None:
        raise RuntimeError("no worker events for the measured invoices")
    return as_epoch(first), as_epoch(last)


def as_epoch(value: Any) -> float:
    import datetime as dt

    if isinstance(value, str):  # SQLite through a plain engine: the stored text
        value = dt.datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return float(value.timestamp())


def worker_share(log: Path) -> str:
    """What one worker delivered, from the `claimed N; outcomes …` line it prints when it stops."""
    for line in reversed(log.read_text().splitlines()):
        if line.startswith("claimed"):
            return line.split(";")[0].replace("claimed ", "")
    return "?"


def best(figures: list[Figure], database: str, code: str, measure: str) -> float:
    """The best rate of a figure over the rounds (other work on the cores only ever slows a round down)."""
    rates = [f.rate for f in figures if (f.database, f.code, f.measure) == (database, code, measure)]
    return max(rates, default=float("nan"))


def ratio(figures: list[Figure], database: str, code: str, top: str, bottom: str) -> float:
    return best(figures, database, code, top) / best(figures, database, code, bottom)


W1, W2 = "1 worker process, e2e", "2 worker processes, e2e"
W1C, W2C = f"{W1} from commit", f"{W2} from commit"
V1, V2 = "1 validator process", "2 validator processes"


def print_report(run: Run, header: list[str], databases: list[str], codes: list[tuple[str, Path]]) -> None:
    figures = run.figures
    labels = [label for label, _ in codes]
    print()
    print("=" * 100)
    for line in header:
        print(line)
    print("-" * 100)
    rounds = f" (best of {run.args.repeat})" if run.args.repeat > 1 else ""
    print(f"{'database':<11}{'documents/s' + rounds:<40}" + "".join(f"{label:>12}" for label in labels))
    for database in databases:
        for measure in (W1, W1C, V1, W2, W2C, V2):
            cells = "".join(f"{best(figures, database, label, measure):>12.1f}" for label in labels)
            print(f"{database:<11}{measure:<40}{cells}")
        for name, top, bottom in (
            ("ratio (1 worker / 1 validator)", W1, V1),
            ("  the same from commit", W1C, V1),
            ("workers ratio (2 / 1)", W2, W1),
            ("validators ratio (2 / 1)", V2, V1),
        ):
            cells = "".join(f"{ratio(figures, database, label, top, bottom):>12.2f}" for label in labels)
            print(f"{database:<11}{name:<40}{cells}")
    for figure in figures:
        if figure.note:
            print(f"note: {figure.database}, {figure.code}, {figure.measure}: {figure.note}")
    print("=" * 100)
    main_label = codes[-1][0]
    worst = min(ratio(figures, d, main_label, W1, V1) for d in databases)
    worst_workers = min(ratio(figures, d, main_label, W2, W1) for d in databases)
    print(f"(the last two lines: the code in {codes[-1][1]}, the lowest over {', '.join(databases)})")
    print(f"workers ratio {worst_workers:.2f}")
    print(f"ratio {worst:.2f}")


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--invoices", type=int, default=300, help="invoices per measurement (default 300)")
    parser.add_argument("--lines", type=int, default=3, help="lines per invoice")
    parser.add_argument("--databases", default="sqlite", help="comma list: sqlite,postgresql")
    parser.add_argument("--code", type=Path, default=TREE, help="the code tree the children run")
    parser.add_argument("--compare-code", type=Path, default=None, help="a second tree, measured first")
    parser.add_argument("--rules-dir", type=Path, default=DEFAULT_RULES)
    parser.add_argument("--claim-batch", type=int, default=20, help="worker claim batch (gateway default)")
    parser.add_argument("--warmup", type=int, default=10, help="warm-up invoices per worker process")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds allowed for one step")
    parser.add_argument("--tmpdir", default=None, help="where stores and folders go (default: system)")
    parser.add_argument("--repeat", type=int, default=1, help="rounds; each figure's best round counts")
    parser.add_argument("--only", default="1,2", help="worker/validator process counts to run: 1,2")
    # internal: this script started as a child process
    parser.add_argument("--child-role", choices=["queue", "worker", "validate"], help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--count", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--prefix", default="E", help=argparse.SUPPRESS)
    parser.add_argument("--migrate", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--worker-id", help=argparse.SUPPRESS)
    parser.add_argument("--files", help=argparse.SUPPRESS)
    parser.add_argument("--warm", type=int, default=20, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.invoices < 2:
        parser.error("--invoices must be at least 2")
    return args


def run(args: argparse.Namespace) -> int:
    sys.path.insert(0, str(TREE))  # the parent's helpers (benchmarks.throughput) and models
    from benchmarks.throughput import Stores, cpu_model, filesystem_of, package_version

    databases = [d.strip() for d in args.databases.split(",") if d.strip()]
    counts = [int(c) for c in args.only.split(",") if c.strip()]
    codes = [("before", args.compare_code.resolve())] if args.compare_code else []
    codes.append(("code" if not codes else "after", args.code.resolve()))
    root = Path(tempfile.mkdtemp(prefix="gateway-ehf-bench-", dir=args.tmpdir))
    stores = Stores(root)
    bench = Run(args, root, stores)
    began = time.perf_counter()
    try:
        header = [
            f"machine: {os.cpu_count()} cores ({cpu_model()}), {platform.system()} {platform.release()}",
            f"Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}, "
            + (
                f"PostgreSQL {stores.postgres_version()}"
                if "postgresql" in databases
                else "PostgreSQL not run"
            )
            + f"; lxml {package_version('lxml')}, saxonche {package_version('saxonche')},"
            f" SQLAlchemy {package_version('sqlalchemy')}, psycopg {package_version('psycopg')}",
            f"{args.invoices} EHF invoices ({args.lines} lines) per measurement, folder channel with fsync,"
            f" claim_batch {args.claim_batch}, rules {args.rules_dir}; temp dir on {filesystem_of(root)}",
            "code: " + "; ".join(f"{label} = {path}" for label, path in codes),
            "load average at the start: "
            + ", ".join(f"{load:.2f}" for load in os.getloadavg())
            + " (other processes on these cores slow every figure; compare columns of one run)",
            "e2e = the measured deliveries' first worker event (the claim) -> last `delivered` event"
            " (workers' clocks);"
            " validators = bare Validator.validate on the bytes the 1-worker run wrote",
        ]
        for line in header:
            print(line, flush=True)
        for round_number in range(1, args.repeat + 1):
            for kind in databases:
                print(f"[{kind}, round {round_number} of {args.repeat}]", flush=True)
                for label, code in codes:  # the trees take turns: both see the same load
                    files: list[Path] = []
                    for count in counts:
                        worker_figures, written = bench.workers(kind, code, label, count)
                        for figure in worker_figures:
                            bench.add(figure)
                        files = files or written
                        bench.add(bench.validators(kind, code, label, files, count))
        loads = ", ".join(f"{load:.2f}" for load in os.getloadavg())
        header.append(f"whole run {time.perf_counter() - began:.0f} s; load average at the end: {loads}")
        print_report(bench, header, databases, codes)
        return 0
    finally:
        bench.stop(list(bench.children))
        try:
            stores.close()
        finally:
            import shutil

            shutil.rmtree(root, ignore_errors=True)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.child_role is not None:
        roles = {"queue": child_queue, "worker": child_worker, "validate": child_validate}
        roles[args.child_role](args)
        return 0

    def terminate(signum: int, _frame: FrameType | None) -> None:
        raise SystemExit(128 + signum)  # unwinds through `finally`: children stopped, stores removed

    signal.signal(signal.SIGTERM, terminate)
    return run(args)


if __name__ == "__main__":
    if "--child-role" in sys.argv and sys.path and Path(sys.path[0]).resolve() == Path(__file__).parent:
        sys.path.pop(0)  # a child imports only its PYTHONPATH tree, never benchmarks/ modules by accident
    sys.exit(main())
