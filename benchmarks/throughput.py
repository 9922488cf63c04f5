"""Throughput of the gateway: bulk intake (service and HTTP API) and folder-channel delivery, end to end.

    python benchmarks/throughput.py [--invoices N] [--databases sqlite,postgresql] [--workers K]

Every measurement runs against a fresh store (a SQLite file in a temporary directory, or a throw-away
`bench_<random>` schema in the PostgreSQL `test` database), so table sizes are the same for each figure.
Temporary directories and schemas are removed at the end, also after an error, Ctrl-C or SIGTERM.

What is measured, per database:

* intake, service: `accept_invoices` called directly in batches (a separate process, so its peak RSS is
  its own);
* intake, API: `POST /invoices:bulk` through a real uvicorn server on a loopback port (a separate process),
  posted to by an httpx client in this process; bodies are encoded before the clock starts;
* peak RSS of those processes: `VmHWM` before and after the timed part, and `resource.getrusage`'s
  `ru_maxrss` (which Linux starts, in a fork+exec child, at the parent's peak: an upper bound there);
* end to end, folder channel: invoices queued (loaded untimed) → `delivered`, (a) one in-process
  `Worker.run(once=True)`, (b) K `gateway worker` processes started with the CLI, timed until every
  delivery is `delivered` (the database is polled), then stopped with SIGTERM.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import resource
import secrets
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from importlib.util import find_spec
from pathlib import Path
from types import FrameType
from typing import Any
from urllib.parse import quote

from sqlalchemy import Engine, create_engine, func, select, text

try:  # starlette's TestClient prefers httpx2; either client works here
    import httpx2 as httpx
except ImportError:  # pragma: no cover
    import httpx  # type: ignore[no-redef]

POSTGRES_URL = os.environ.get("BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
TENANT = "bench"
ACTOR = "bench"
WARMUP_INVOICES = 10
CLI = Path(sys.executable).with_name("gateway")


# -- helpers -------------------------------------------------------------------------------------------


def ru_maxrss_mib() -> float:
    """Peak resident set size by `resource.getrusage` (Linux reports `ru_maxrss` in KiB).

    Caveat: Linux carries the parent's peak over `fork` + `exec`, so in a child started by a big parent
    this is at least the parent's peak; `vm_hwm_mib` is the child's own.
    """
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def vm_hwm_mib() -> float:
    """Peak resident set size of this process image (`VmHWM`, reset by `exec`); NaN where unavailable."""
    with contextlib.suppress(OSError), open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def memory_now() -> dict[str, float]:
    return {"hwm": vm_hwm_mib(), "maxrss": ru_maxrss_mib()}


def cpu_seconds(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def package_version(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:
        return "-"


def filesystem_of(path: Path) -> str:
    """The mount point and type holding `path` (fsync cost depends on it: tmpfs makes it free)."""
    best = ("?", "?")
    resolved = str(path.resolve())
    with contextlib.suppress(OSError), open("/proc/mounts") as mounts:
        for line in mounts:
            parts = line.split()
            if len(parts) < 3:
                continue
            mount = parts[1]
            inside = resolved == mount or resolved.startswith(mount.rstrip("/") + "/")
            if inside and (best[0] == "?" or len(mount) >= len(best[0])):
                best = (mount, parts[2])
    return f"{best[1]} ({best[0]})"


def uvicorn_stack() -> str:
    """What uvicorn's `auto` settings pick here: uvloop/httptools when installed, else asyncio/h11."""
    loop = "uvloop" if find_spec("uvloop") else "asyncio"
    http = "httptools" if find_spec("httptools") else "h11"
    return f"{loop}, {http}"


def cpu_model() -> str:
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as info:
        for line in info:
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "?"


def child_env(workdir: Path, extra: dict[str, str]) -> dict[str, str]:
    """The environment of a child: ours without any GATEWAY_* setting, plus `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GATEWAY_")}
    env["GATEWAY_DATA_DIR"] = str(workdir / "gateway-data")
    env.update(extra)
    return env


# -- stores --------------------------------------------------------------------------------------------


@dataclass
class Store:
    kind: str
    url: str
    directory: Path

    def engine(self) -> Engine:
        from db.engine import make_engine

        return make_engine(self.url)

    def reader(self) -> Engine:
        """A plain engine for polling: on SQLite it takes no write lock (no `BEGIN IMMEDIATE` hook)."""
        return create_engine(self.url)


class Stores:
    """Creates fresh stores and removes every one of them in `close`, whatever happened."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.schemas: list[str] = []
        self._admin: Engine | None = None

    @property
    def admin(self) -> Engine:
        if self._admin is None:
            self._admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
        return self._admin

    def new(self, kind: str, label: str, *, prepare: bool = True) -> Store:
        """A fresh store; `prepare=False` leaves it empty (no tables, no tenant) for a child process that
        migrates it with the code it measures (`benchmarks/ehf.py --code`)."""
        from db.engine import make_engine, migrate, session_scope

        directory = Path(tempfile.mkdtemp(prefix=f"{kind}-{label}-", dir=self.root))
        if kind == "sqlite":
            url = f"sqlite:///{directory / 'outbox.sqlite3'}"
        elif kind == "postgresql":
            schema = f"bench_{secrets.token_hex(6)}"
            with self.admin.connect() as connection:
                connection.execute(text(f'CREATE SCHEMA "{schema}"'))
            self.schemas.append(schema)
            separator = "&" if "?" in POSTGRES_URL else "?"
            url = f"{POSTGRES_URL}{separator}options={quote(f'-csearch_path={schema}')}"
        else:
            raise ValueError(f"unknown database {kind!r}; use sqlite or postgresql")
        if not prepare:
            return Store(kind, url, directory)
        engine = make_engine(url)
        try:
            migrate(engine)
            from gateway.services.tenancy.tenants import ensure_tenant

            with session_scope(engine) as session:
                ensure_tenant(session, TENANT)
        finally:
            engine.dispose()
        return Store(kind, url, directory)

    def postgres_version(self) -> str:
        with self.admin.connect() as connection:
            return str(connection.execute(text("SHOW server_version")).scalar())

    def close(self) -> None:
        if self._admin is not None:
            with self._admin.connect() as connection:
                for schema in self.schemas:
                    connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
            self.schemas.clear()
            self._admin.dispose()


def status_counts(reader: Engine) -> dict[str, int]:
    with reader.connect() as connection:
        rows = connection.execute(text("SELECT status, count(*) FROM deliveries GROUP BY status"))
        return {str(status): int(count) for status, count in rows}


def active_window(reader: Engine) -> float:
    """Seconds from the first claim to the last `delivered`, as the workers recorded them."""
    from db.models import DeliveryEvent

    events = DeliveryEvent.__table__  # type: ignore[attr-defined]
    with reader.connect() as connection:
        first = connection.execute(
            select(func.min(events.c.at)).where(events.c.to_status == "rendering")
        ).scalar()
        last = connection.execute(
            select(func.max(events.c.at)).where(events.c.to_status == "delivered")
        ).scalar()
    if first is None or last is None:
        return float("nan")
    return float((last - first).total_seconds())


# -- results -------------------------------------------------------------------------------------------


@dataclass
class Row:
    database: str
    measure: str
    invoices: int
    seconds: float
    note: str = ""

    @property
    def rate(self) -> float:
        return self.invoices / self.seconds if self.seconds > 0 else float("nan")


@dataclass
class Memory:
    database: str
    process: str
    ready: float  # VmHWM MiB before the timed part (imports, app, data loaded)
    peak: float  # VmHWM MiB after it
    maxrss: float  # resource.getrusage ru_maxrss MiB after it


@dataclass
class Report:
    rows: list[Row] = field(default_factory=list)
    memory: list[Memory] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(self, row: Row) -> None:
        self.rows.append(row)
        extra = f"  [{row.note}]" if row.note else ""
        print(
            f"  {row.database:<10} {row.measure:<44} {row.invoices:>6} in {row.seconds:7.2f} s"
            f" = {row.rate:8.1f}/s{extra}",
            flush=True,
        )


# -- child processes (this script run with --child-role) ----------------------------------------------


def child_service(args: argparse.Namespace) -> None:
    """Intake through `accept_invoices` directly; prints one JSON line with the figures."""
    from db.engine import make_engine
    from gateway.services.outbound.intake import IntakeItem, accept_invoices

    invoices: list[dict[str, Any]] = json.loads(Path(args.invoices_file).read_text())
    warmup: list[dict[str, Any]] = json.loads(Path(args.warmup_file).read_text())
    engine = make_engine(args.url)
    accept_invoices(engine, TENANT, [IntakeItem(i) for i in warmup], actor=ACTOR, default_channel="folder")
    ready = vm_hwm_mib()
    created = 0
    started = time.perf_counter()
    for batch in chunks(invoices, args.batch):
        results = accept_invoices(
            engine, TENANT, [IntakeItem(i) for i in batch], actor=ACTOR, default_channel="folder"
        )
        created += sum(1 for r in results if r.outcome == "created")
    elapsed = time.perf_counter() - started
    engine.dispose()
    print(json.dumps({"seconds": elapsed, "created": created, "ready": ready, **memory_now()}))


def child_server(args: argparse.Namespace) -> None:
    """The API under uvicorn on a loopback port; stops when stdin closes and prints its peak RSS."""
    import uvicorn

    from db.engine import make_engine
    from gateway.api.app import create_app
    from gateway.settings import Settings

    settings = Settings(
        database_url=args.url,
        data_dir=Path(args.data_dir),
        _env_file=None,
    )
    engine = make_engine(args.url)
    app = create_app(settings, engine)
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off")
    server = uvicorn.Server(config)

    def stop_when_stdin_closes() -> None:
        sys.stdin.read()
        server.should_exit = True

    threading.Thread(target=stop_when_stdin_closes, daemon=True).start()
    print(json.dumps({"port": listener.getsockname()[1], "ready": vm_hwm_mib()}), flush=True)
    server.run(sockets=[listener])
    engine.dispose()
    print(json.dumps(memory_now()), flush=True)


# -- measurements --------------------------------------------------------------------------------------


class Bench:
    def __init__(self, args: argparse.Namespace, root: Path, stores: Stores, report: Report) -> None:
        self.args = args
        self.root = root
        self.stores = stores
        self.report = report
        self.children: list[subprocess.Popen[str]] = []
        from gateway.samples import sample_invoice_json

        started = time.perf_counter()
        self.invoices = [sample_invoice_json(n, number_prefix="B") for n in range(1, args.invoices + 1)]
        self.warmup = [sample_invoice_json(n, number_prefix="W") for n in range(1, WARMUP_INVOICES + 1)]
        self.invoices_file = root / "invoices.json"
        self.invoices_file.write_text(json.dumps(self.invoices))
        self.warmup_file = root / "warmup.json"
        self.warmup_file.write_text(json.dumps(self.warmup))
        self.bodies = [json.dumps(list(batch)).encode() for batch in chunks(self.invoices, args.batch)]
        print(
            f"prepared {len(self.invoices)} invoices in {time.perf_counter() - started:.1f} s; "
            f"{len(self.bodies)} bulk bodies of up to {args.batch} "
            f"(~{len(self.bodies[0]) / min(args.batch, len(self.invoices)) / 1024:.1f} KiB per invoice)",
            flush=True,
        )

    def spawn(self, command: list[str], **kwargs: Any) -> subprocess.Popen[str]:
        process = subprocess.Popen(command, text=True, **kwargs)
        self.children.append(process)
        return process

    def stop_children(self) -> None:
        for process in self.children:
            if process.poll() is None:
                process.terminate()
        for process in self.children:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self.children.clear()

    def child_command(self, role: str, url: str, *extra: str) -> list[str]:
        return [sys.executable, str(Path(__file__).resolve()), "--child-role", role, "--url", url, *extra]

    # intake ---------------------------------------------------------------------------------------

    def intake_service(self, kind: str) -> None:
        store = self.stores.new(kind, "service")
        command = self.child_command(
            "service",
            store.url,
            "--invoices-file",
            str(self.invoices_file),
            "--warmup-file",
            str(self.warmup_file),
            "--batch",
            str(self.args.batch),
        )
        process = self.spawn(
            command, stdout=subprocess.PIPE, cwd=store.directory, env=child_env(store.directory, {})
        )
        out, _ = process.communicate(timeout=self.args.timeout)
        if process.returncode != 0:
            raise RuntimeError(f"service intake child failed with exit code {process.returncode}")
        figures = json.loads(out.strip().splitlines()[-1])
        if figures["created"] != len(self.invoices):
            raise RuntimeError(f"service intake created {figures['created']} of {len(self.invoices)}")
        self.report.add(
            Row(
                kind,
                f"intake, service accept_invoices (batch {self.args.batch})",
                figures["created"],
                figures["seconds"],
            )
        )
        self.report.memory.append(
            Memory(kind, "intake, service process", figures["ready"], figures["hwm"], figures["maxrss"])
        )

    def intake_api(self, kind: str) -> None:
        from db.engine import session_scope
        from gateway.services.tenancy.tenants import create_token

        store = self.stores.new(kind, "api")
        engine = store.engine()
        try:
            with session_scope(engine) as session:
                token = create_token(session, TENANT, "bench")
        finally:
            engine.dispose()
        command = self.child_command("server", store.url, "--data-dir", str(store.directory / "gateway-data"))
        server = self.spawn(
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            cwd=store.directory,
            env=child_env(store.directory, {}),
        )
        assert server.stdout is not None
        assert server.stdin is not None
        ready = json.loads(server.stdout.readline() or "{}")
        if "port" not in ready:
            raise RuntimeError("the API server did not start")
        base_url = f"http://127.0.0.1:{ready['port']}"
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        latencies: list[float] = []

        def post(client: httpx.Client, body: bytes, expected: int) -> None:
            began = time.perf_counter()
            response = client.post("/invoices:bulk", content=body)
            latencies.append(time.perf_counter() - began)
            if response.status_code != 200:
                raise RuntimeError(f"bulk post answered {response.status_code}: {response.text[:300]}")
            summary = response.json()["summary"]
            if summary != {"created": expected}:
                raise RuntimeError(f"bulk post summary {summary}, expected {expected} created")

        clients = [
            httpx.Client(base_url=base_url, headers=headers, timeout=self.args.timeout)
            for _ in range(self.args.api_concurrency)
        ]
        try:
            deadline = time.monotonic() + 30
            while True:  # the listening socket is bound before uvicorn accepts; wait for the app itself
                try:
                    if clients[0].get("/health").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError("the API server is not answering /health")
                time.sleep(0.05)
            post(clients[0], json.dumps(self.warmup).encode(), len(self.warmup))
            latencies.clear()
            sizes = [
                min(self.args.batch, len(self.invoices) - i)
                for i in range(0, len(self.invoices), self.args.batch)
            ]
            started = time.perf_counter()
            if len(clients) == 1:
                for body, size in zip(self.bodies, sizes, strict=True):
                    post(clients[0], body, size)
            else:
                with ThreadPoolExecutor(len(clients)) as pool:
                    jobs = [
                        pool.submit(post, clients[i % len(clients)], body, size)
                        for i, (body, size) in enumerate(zip(self.bodies, sizes, strict=True))
                    ]
                    for job in jobs:
                        job.result()
            elapsed = time.perf_counter() - started
        finally:
            for client in clients:
                client.close()
        server.stdin.close()  # the server's cue to shut down and report its peak RSS
        out = server.stdout.read()
        server.wait(timeout=30)
        final = json.loads(out.strip().splitlines()[-1])
        note = (
            f"uvicorn+{httpx.__name__}, {len(clients)} client(s);"
            f" per request median {statistics.median(latencies):.2f} s, max {max(latencies):.2f} s"
        )
        self.report.add(
            Row(
                kind,
                f"intake, HTTP POST /invoices:bulk (batch {self.args.batch})",
                len(self.invoices),
                elapsed,
                note,
            )
        )
        self.report.memory.append(
            Memory(kind, "intake, API server (uvicorn)", ready["ready"], final["hwm"], final["maxrss"])
        )
        mine = memory_now()
        self.report.memory.append(
            Memory(kind, "intake, HTTP client (this process)", float("nan"), mine["hwm"], mine["maxrss"])
        )

    # end to end -----------------------------------------------------------------------------------

    def load_queue(self, store: Store) -> None:
        from gateway.services.outbound.intake import IntakeItem, accept_invoices

        engine = store.engine()
        try:
            for batch in chunks(self.invoices, self.args.batch):
                accept_invoices(
                    engine, TENANT, [IntakeItem(i) for i in batch], actor=ACTOR, default_channel="folder"
                )
        finally:
            engine.dispose()

    def check_delivered(self, store: Store, outbound: Path, counts: dict[str, int]) -> str:
        files = sum(1 for _ in outbound.rglob("*.sidecar.json"))
        if counts.get("delivered", 0) != len(self.invoices) or files != len(self.invoices):
            raise RuntimeError(
                f"{store.kind}: expected {len(self.invoices)} delivered and as many sidecar files; "
                f"statuses {counts}, {files} sidecar files"
            )
        return f"{files} files verified"

    def e2e_in_process(self, kind: str, fsync: bool) -> None:
        from gateway.settings import Settings
        from gateway.worker import Worker

        store = self.stores.new(kind, "inproc")
        self.load_queue(store)
        outbound = store.directory / "outbound"
        settings = Settings(
            database_url=store.url,
            data_dir=store.directory / "gateway-data",
            channels={"folder": {"directory": str(outbound), "fsync": fsync}},
            claim_batch=self.args.claim_batch,
            lease_seconds=self.args.lease_seconds,
            _env_file=None,
        )
        engine = store.engine()
        reader = store.reader()
        try:
            cpu_before = cpu_seconds(resource.RUSAGE_SELF)
            started = time.perf_counter()
            stats = Worker(engine, settings, worker_id="bench-in-process").run(once=True)
            elapsed = time.perf_counter() - started
            cpu = cpu_seconds(resource.RUSAGE_SELF) - cpu_before
            verified = self.check_delivered(store, outbound, status_counts(reader))
        finally:
            engine.dispose()
            reader.dispose()
        if stats.outcomes.get("delivered", 0) != len(self.invoices):
            raise RuntimeError(f"in-process worker outcomes {dict(stats.outcomes)}")
        note = (
            f"fsync={str(fsync).lower()}, claim_batch {self.args.claim_batch};"
            f" CPU {cpu / elapsed:.0%} of one core; {verified}"
        )
        self.report.add(
            Row(
                kind,
                f"e2e, 1 worker in-process (run once), fsync={str(fsync).lower()}",
                len(self.invoices),
                elapsed,
                note,
            )
        )

    def e2e_processes(self, kind: str, fsync: bool) -> None:
        if not CLI.exists():
            raise RuntimeError(f"the gateway CLI is not at {CLI}; install the project into this virtualenv")
        workers = self.args.workers
        store = self.stores.new(kind, f"procs{workers}")
        self.load_queue(store)
        outbound = store.directory / "outbound"
        env = child_env(
            store.directory,
            {
                "GATEWAY_DATABASE_URL": store.url,
                "GATEWAY_CHANNELS": json.dumps({"folder": {"directory": str(outbound), "fsync": fsync}}),
                "GATEWAY_CLAIM_BATCH": str(self.args.claim_batch),
                "GATEWAY_LEASE_SECONDS": str(self.args.lease_seconds),
                "GATEWAY_POLL_SECONDS": "0.2",
            },
        )
        reader = store.reader()
        logs: list[Path] = []
        processes: list[subprocess.Popen[str]] = []
        try:
            cpu_before = cpu_seconds(resource.RUSAGE_CHILDREN)
            started = time.perf_counter()
            for index in range(workers):
                log_path = store.directory / f"worker-{index}.log"
                logs.append(log_path)
                with log_path.open("w") as log:
                    processes.append(
                        self.spawn(
                            [str(CLI), "worker", "--worker-id", f"bench-worker-{index}"],
                            stdout=log,
                            stderr=subprocess.STDOUT,
                            cwd=store.directory,
                            env=env,
                        )
                    )
            deadline = started + self.args.timeout
            counts: dict[str, int] = {}
            while True:
                counts = status_counts(reader)
                if counts.get("delivered", 0) >= len(self.invoices):
                    break
                stuck = {s: n for s, n in counts.items() if s in {"deviation", "failed", "cancelled"}}
                if stuck:
                    raise RuntimeError(f"{kind}: deliveries ended {stuck}; see {logs}")
                if any(p.poll() is not None for p in processes):
                    raise RuntimeError(f"{kind}: a worker process exited early; see {logs}")
                if time.perf_counter() > deadline:
                    raise RuntimeError(f"{kind}: not all delivered after {self.args.timeout} s: {counts}")
                time.sleep(0.05)
            elapsed = time.perf_counter() - started
            for process in processes:
                process.send_signal(signal.SIGTERM)
            for process in processes:
                process.wait(timeout=30)
            cpu = cpu_seconds(resource.RUSAGE_CHILDREN) - cpu_before
            window = active_window(reader)
            verified = self.check_delivered(store, outbound, status_counts(reader))
        finally:
            reader.dispose()
        per_worker = [self.worker_summary(log) for log in logs]
        note = (
            f"fsync={str(fsync).lower()}; wall incl. process start-up; CPU {cpu / elapsed:.0%} of one core;"
            f" per worker {per_worker}; {verified}"
        )
        label = f"e2e, {workers} worker processes (CLI), fsync={str(fsync).lower()}"
        self.report.add(Row(kind, f"{label}, wall", len(self.invoices), elapsed, note))
        self.report.add(
            Row(
                kind,
                f"{label}, active",
                len(self.invoices),
                window,
                "active = first claim to last delivered, from the event timestamps",
            )
        )

    @staticmethod
    def worker_summary(log: Path) -> str:
        """The `claimed N; outcomes …` line a worker prints when it stops (its delivered count)."""
        for line in reversed(log.read_text().splitlines()):
            if line.startswith("claimed"):
                return line.split(";")[0].replace("claimed ", "")
        return "?"


# -- main ----------------------------------------------------------------------------------------------


def mib(value: float) -> str:
    return "-" if value != value else f"{value:.1f}"  # NaN: not measured


def print_table(report: Report, header: list[str]) -> None:
    print()
    print("=" * 100)
    for line in header:
        print(line)
    print("-" * 100)
    widths = (10, 58, 8, 8, 9)
    print(
        f"{'database':<{widths[0]}} {'measure':<{widths[1]}} {'invoices':>{widths[2]}}"
        f" {'seconds':>{widths[3]}} {'inv/s':>{widths[4]}}"
    )
    for row in report.rows:
        print(
            f"{row.database:<{widths[0]}} {row.measure:<{widths[1]}} {row.invoices:>{widths[2]}}"
            f" {row.seconds:>{widths[3]}.2f} {row.rate:>{widths[4]}.1f}"
        )
    if report.memory:
        print("-" * 100)
        print(
            f"{'database':<{widths[0]}} {'peak RSS of the process':<{widths[1]}}"
            f" {'ready MiB':>10} {'peak MiB':>9} {'ru_maxrss':>10}"
        )
        for memory in report.memory:
            print(
                f"{memory.database:<{widths[0]}} {memory.process:<{widths[1]}}"
                f" {mib(memory.ready):>10} {mib(memory.peak):>9} {mib(memory.maxrss):>10}"
            )
        print(
            "  ready/peak: VmHWM before/after the timed part; ru_maxrss: resource.getrusage after it\n"
            "  (in a child started by fork+exec Linux starts it at the parent's peak: an upper bound there)"
        )
    for note in report.notes:
        print(f"note: {note}")
    print("=" * 100)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--invoices", type=int, default=5000, help="invoices per measurement (default 5000)")
    parser.add_argument("--databases", default="sqlite,postgresql", help="comma list: sqlite,postgresql")
    parser.add_argument("--workers", type=int, default=2, help="worker processes for the multi-process run")
    parser.add_argument("--batch", type=int, default=500, help="invoices per bulk request / service call")
    parser.add_argument(
        "--fsync", default="true", help="folder-channel fsync values to run: true, false or both"
    )
    parser.add_argument("--claim-batch", type=int, default=20, help="worker claim batch (gateway default 20)")
    parser.add_argument("--lease-seconds", type=float, default=60.0)
    parser.add_argument("--api-concurrency", type=int, default=1, help="concurrent HTTP clients for intake")
    parser.add_argument(
        "--only", default="intake,inproc,procs", help="comma list of parts: intake,inproc,procs"
    )
    parser.add_argument("--timeout", type=float, default=180.0, help="seconds allowed for one measurement")
    parser.add_argument(
        "--tmpdir", default=None, help="where temporary stores and folders go (default: system)"
    )
    # internal: this script started as a child process
    parser.add_argument("--child-role", choices=["service", "server"], help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--invoices-file", help=argparse.SUPPRESS)
    parser.add_argument("--warmup-file", help=argparse.SUPPRESS)
    parser.add_argument("--data-dir", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.invoices < 1 or args.batch < 1 or args.workers < 1 or args.api_concurrency < 1:
        parser.error("--invoices, --batch, --workers and --api-concurrency must be at least 1")
    if args.batch > 1000:
        parser.error("--batch is at most 1000 (the API's max_bulk_items default)")
    return args


def fsync_values(text_value: str) -> list[bool]:
    choices = {"true": [True], "false": [False], "both": [True, False], "true,false": [True, False]}
    if text_value not in choices:
        raise SystemExit(f"--fsync must be one of {', '.join(choices)}")
    return choices[text_value]


def run(args: argparse.Namespace) -> int:
    databases = [d.strip() for d in args.databases.split(",") if d.strip()]
    parts = {p.strip() for p in args.only.split(",") if p.strip()}
    fsyncs = fsync_values(args.fsync)
    root = Path(tempfile.mkdtemp(prefix="gateway-bench-", dir=args.tmpdir))
    stores = Stores(root)
    report = Report()
    bench: Bench | None = None
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
            + f"; SQLAlchemy {package_version('sqlalchemy')}, psycopg {package_version('psycopg')},"
            f" FastAPI {package_version('fastapi')}, uvicorn {package_version('uvicorn')}"
            f" ({uvicorn_stack()}), {httpx.__name__} {httpx.__version__}",
            f"invoices per measurement {args.invoices}, batch {args.batch}, worker processes {args.workers},"
            f" claim_batch {args.claim_batch}, fsync {'/'.join(str(f).lower() for f in fsyncs)};"
            f" temp dir on {filesystem_of(root)}",
        ]
        for line in header:
            print(line, flush=True)
        bench = Bench(args, root, stores, report)
        for kind in databases:
            print(f"[{kind}]", flush=True)
            if "intake" in parts:
                bench.intake_service(kind)
                bench.intake_api(kind)
            for fsync in fsyncs:
                if "inproc" in parts:
                    bench.e2e_in_process(kind, fsync)
                if "procs" in parts:
                    bench.e2e_processes(kind, fsync)
        report.notes.append(f"whole run {time.perf_counter() - began:.0f} s")
        for row in report.rows:
            if row.note:
                report.notes.append(f"{row.database}, {row.measure}: {row.note}")
        print_table(report, header)
        return 0
    finally:
        if bench is not None:
            bench.stop_children()
        try:
            stores.close()
        finally:
            shutil.rmtree(root, ignore_errors=True)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.child_role == "service":
        child_service(args)
        return 0
    if args.child_role == "server":
        child_server(args)
        return 0

    def terminate(signum: int, _frame: FrameType | None) -> None:
        raise SystemExit(128 + signum)  # unwinds through `finally`, so temp dirs and schemas go

    signal.signal(signal.SIGTERM, terminate)
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
