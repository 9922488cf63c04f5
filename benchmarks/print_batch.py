"""The print-house path: batch building, PGP, SFTP upload, and the outbox end to end (folder transport).

    python benchmarks/print_batch.py [--quick] [--sizes 200,1000] [--distinct 50] [--repeat 3]
                                     [--e2e-invoices 300] [--postgres URL] [--only build,pgp,sftp,e2e]

Four parts, one process (the worker builds and uploads a batch in one process, on one core):

* build: `build_print_batch` for N documents and every profile shape (layout per-document / merged, index
  csv / xml, packaging directory / zip, where zip adds `package_zip` as the channel does). The PDFs are
  rendered once (`--distinct` different invoices, reused round-robin; each item keeps its own delivery id,
  sequence and recipient). MB/s counts the input PDF bytes. Then, untimed and in a fresh child process (so
  the heap the timed part grew hides nothing), the peak memory of the largest merged batch: tracemalloc's
  peak (Python allocations during the build) in one build, the process RSS in another (psutil sampled
  every 2 ms, and the kernel's `VmHWM` after resetting it through /proc/self/clear_refs).
* pgp: `PgpEncryptor` (a throwaway ed25519/cv25519 key made with python-gnupg in a temporary GNUPGHOME)
  encrypting each file of a batch, as the channel does: one gpg run per file. One file is decrypted and
  compared, untimed.
* sftp: `open_sftp` + `upload_directory_atomically` / `upload_file_atomically` against a private OpenSSH
  sshd on loopback (`tests.sftp_server.OpenSshSftpServer`: needs root, installs openssh-server if
  missing). A batch's time includes connecting and logging in, as the channel opens one connection per
  batch; each upload is checked on the server's disk, then removed. One extra row per size, marked
  TCP_NODELAY, is a what-if: the same per-document upload with Nagle's algorithm switched off on the
  client socket, which `open_sftp` leaves on (each file's close otherwise waits for a delayed ACK).
* e2e: N invoices accepted (untimed) with `routing.channel = "print"` into a fresh outbox (SQLite in a
  temporary directory; also PostgreSQL in a throw-away schema with `--postgres URL`), staged by
  `Worker.run(once=True)` (render + printability check + stage), then the cut-off is moved into the past
  and a second `run(once=True)` closes the batch and hands it over (build + folder transport with fsync
  + recording `sent` on every delivery). Checks: every delivery `sent`, the index lists all N.

Every time is the median of `--repeat` runs (more for the short ones, until 0.5 s have passed; fewer, at
least one, for the slow ones once 15 s have passed), except e2e (one run). MB = 10^6 bytes. Needs the test
extras (psutil; pytest for tests/sftp_server.py). Temporary directories, the sshd, the key ring and the
schema are removed at the end, also after Ctrl-C or SIGTERM.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import functools
import gc
import io
import json
import os
import platform
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
import tracemalloc
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from types import FrameType
from typing import Any, Literal, TypeVar
from urllib.parse import quote

import psutil  # type: ignore[import-untyped]
from pypdf import PdfReader
from sqlalchemy import Engine, create_engine, text, update

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gateway.samples import sample_invoice, sample_invoice_json
from mappings.invoice import pdf as invoice_pdf
from mappings.print import batch as print_batch
from mappings.print.batch import PrintItem, build_print_batch, package_zip, recipient_from_invoice
from schemas.canonical import Invoice
from schemas.print_profile import PrintProfile
from transports.pgp import PgpEncryptor
from transports.sftp import SftpSession

T = TypeVar("T")
Layout = Literal["per-document", "merged"]
IndexFormat = Literal["csv", "xml"]
Packaging = Literal["directory", "zip"]
Files = list[tuple[str, bytes]]

TENANT = "bench"
CUTOFF = dt.datetime(2026, 11, 24, 14, 0, tzinfo=dt.UTC)
MB = 1_000_000
MIB = 1024 * 1024
MIN_SECONDS = 0.5  # a short case repeats until it has run this long (and at least --repeat times)
BUDGET_SECONDS = 15.0  # a slow case stops repeating once it has run this long (at least once)
FAST_KEY = {"key_type": "EDDSA", "key_curve": "ed25519", "subkey_type": "ECDH", "subkey_curve": "cv25519"}
SHAPES: tuple[tuple[Layout, IndexFormat, Packaging], ...] = tuple(
    (layout, index, packaging)
    for layout in ("per-document", "merged")
    for index in ("csv", "xml")
    for packaging in ("directory", "zip")
)


# -- helpers -------------------------------------------------------------------------------------------


def package_version(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:
        return "-"


def command_version(command: list[str]) -> str:
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return "not found"
    lines = (result.stdout or result.stderr).strip().splitlines()
    return lines[0] if lines else "?"


def cpu_model() -> str:
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as info:
        for line in info:
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "?"


def filesystem_of(path: Path) -> str:
    """The mount point and type holding `path` (fsync costs nothing on tmpfs)."""
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


def measure(run: Callable[[], T], repeat: int) -> tuple[float, T]:
    """Median seconds of `repeat` runs and the last result. A short case runs more often (up to 50 times,
    until MIN_SECONDS have passed); a slow one stops early once BUDGET_SECONDS have passed."""
    times: list[float] = []
    began = time.perf_counter()
    while True:
        started = time.perf_counter()
        result = run()
        times.append(time.perf_counter() - started)
        spent = time.perf_counter() - began
        if (len(times) >= repeat and spent >= MIN_SECONDS) or spent >= BUDGET_SECONDS or len(times) >= 50:
            return statistics.median(times), result


def size_of(files: Sequence[tuple[str, bytes]]) -> int:
    return sum(len(content) for _name, content in files)


def vm_hwm() -> int:
    """This process's peak RSS in bytes by the kernel (`VmHWM`); -1 where unavailable."""
    with contextlib.suppress(OSError), open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return -1


def reset_vm_hwm() -> bool:
    """Reset `VmHWM` to the current RSS (Linux ≥ 4.0: write 5 to clear_refs); False if not possible."""
    try:
        with open("/proc/self/clear_refs", "w") as refs:
            refs.write("5")
    except OSError:
        return False
    return True


class RssSampler:
    """The highest RSS psutil sees while running, sampled every `interval` seconds in a thread."""

    def __init__(self, interval: float = 0.002) -> None:
        self.interval = interval
        self.peak = 0
        self._process = psutil.Process()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="rss-sampler")

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, int(self._process.memory_info().rss))
            self._stop.wait(self.interval)

    def __enter__(self) -> RssSampler:
        self.peak = int(self._process.memory_info().rss)
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, int(self._process.memory_info().rss))


# -- results -------------------------------------------------------------------------------------------


@dataclass
class Row:
    part: str
    case: str
    documents: int
    seconds: float
    megabytes: float  # the bytes the step processed (input PDFs, plaintext, uploaded), in MB
    out_megabytes: float = float("nan")  # what it produced, where that differs
    note: str = ""

    @property
    def documents_per_second(self) -> float:
        return self.documents / self.seconds if self.seconds > 0 and self.documents else float("nan")

    @property
    def megabytes_per_second(self) -> float:
        return self.megabytes / self.seconds if self.seconds > 0 and self.megabytes else float("nan")


@dataclass
class Report:
    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(self, row: Row) -> None:
        self.rows.append(row)
        out = "" if row.out_megabytes != row.out_megabytes else f" → {row.out_megabytes:.2f} MB"
        extra = f"  [{row.note}]" if row.note else ""
        print(
            f"  {row.part:<6} {row.case:<50} {row.documents:>5} docs {row.seconds:8.3f} s"
            f" {number(row.documents_per_second, '8.0f')} docs/s"
            f" {number(row.megabytes_per_second, '7.1f')} MB/s ({row.megabytes:.2f} MB{out}){extra}",
            flush=True,
        )


def number(value: float, spec: str) -> str:
    return "-" if value != value else format(value, spec)  # NaN: not measured


def print_table(report: Report, header: list[str]) -> None:
    print()
    print("=" * 114)
    for line in header:
        print(line)
    print("-" * 114)
    print(
        f"{'part':<6} {'case':<50} {'docs':>5} {'seconds':>8} {'docs/s':>8} {'MB/s':>7}"
        f" {'MB in':>8} {'MB out':>8}"
    )
    for row in report.rows:
        print(
            f"{row.part:<6} {row.case:<50} {row.documents:>5} {row.seconds:>8.3f}"
            f" {number(row.documents_per_second, '.0f'):>8} {number(row.megabytes_per_second, '.1f'):>7}"
            f" {number(row.megabytes, '.2f'):>8} {number(row.out_megabytes, '.2f'):>8}"
        )
    print("-" * 114)
    for note in report.notes:
        print(f"note: {note}")
    print("=" * 114)


# -- the documents -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rendered:
    invoice: Invoice
    pdf: bytes
    pages: int


class Corpus:
    """`distinct` invoices rendered once; `items(n)` reuses them round-robin as n distinct deliveries."""

    def __init__(self, distinct: int) -> None:
        started = time.perf_counter()
        self.documents: list[Rendered] = []
        for n in range(1, distinct + 1):
            invoice = sample_invoice(n)
            pdf = invoice_pdf.render(invoice).content
            self.documents.append(Rendered(invoice, pdf, len(PdfReader(io.BytesIO(pdf)).pages)))
        self.render_seconds = time.perf_counter() - started
        self._cache: dict[tuple[int, Layout, IndexFormat, Packaging], Files] = {}

    @property
    def mean_size(self) -> float:
        return statistics.mean(len(document.pdf) for document in self.documents)

    def items(self, count: int) -> list[PrintItem]:
        out = []
        for index in range(count):
            document = self.documents[index % len(self.documents)]
            out.append(
                PrintItem(
                    delivery_id=f"bench{index + 1:06d}",
                    sequence=index + 1,
                    invoice_number=f"{document.invoice.number}-{index + 1}",
                    pdf=document.pdf,
                    pages=document.pages,
                    recipient=recipient_from_invoice(document.invoice),
                )
            )
        return out

    def files(self, count: int, layout: Layout, index: IndexFormat, packaging: Packaging) -> Files:
        """A batch's files as the channel uploads them (before PGP), built once per shape and kept."""
        key = (count, layout, index, packaging)
        if key not in self._cache:
            self._cache[key] = build_files(self.items(count), count, layout, index, packaging)
        return self._cache[key]

    def keep(
        self, count: int, layout: Layout, index: IndexFormat, packaging: Packaging, files: Files
    ) -> None:
        if index == "csv":  # the later parts use the csv shapes only
            self._cache[(count, layout, index, packaging)] = files


def batch_id(count: int, layout: Layout, packaging: Packaging) -> str:
    return f"{TENANT}-{layout}-{packaging}-{count}"


def build_files(
    items: Sequence[PrintItem], count: int, layout: Layout, index: IndexFormat, packaging: Packaging
) -> Files:
    """`build_print_batch`, then `package_zip` for zip packaging, as `PrintChannel.build_batch_files`."""
    name = batch_id(count, layout, packaging)
    profile = PrintProfile(layout=layout, index_format=index, packaging=packaging)
    built = build_print_batch(name, items, profile, tenant_id=TENANT, cutoff=CUTOFF)
    if built.totals.documents != count:
        raise RuntimeError(f"{name}: {built.totals.documents} documents, expected {count}")
    files = list(built.files)
    return [package_zip(name, files)] if packaging == "zip" else files


# -- part 1: building ----------------------------------------------------------------------------------


def part_build(corpus: Corpus, sizes: Sequence[int], repeat: int, report: Report) -> None:
    warm = corpus.items(3)
    for layout, index, packaging in SHAPES:  # imports, pypdf and lxml first calls: outside the clock
        build_files(warm, 3, layout, index, packaging)
    for count in sizes:
        items = corpus.items(count)
        input_mb = sum(len(item.pdf) for item in items) / MB
        for layout, index, packaging in SHAPES:
            seconds, files = measure(
                functools.partial(build_files, items, count, layout, index, packaging), repeat
            )
            expected = 1 if packaging == "zip" else (count + 1 if layout == "per-document" else 2)
            if len(files) != expected:
                raise RuntimeError(f"{layout}/{index}/{packaging}: {len(files)} files, expected {expected}")
            corpus.keep(count, layout, index, packaging, files)
            report.add(
                Row(
                    "build",
                    f"{layout}, {index}, {packaging}",
                    count,
                    seconds,
                    input_mb,
                    size_of(files) / MB,
                    f"{len(files)} file(s)",
                )
            )


def memory_child(count: int, distinct: int) -> None:
    """In a fresh process: peak memory of building one merged batch (csv, directory). Prints JSON."""
    corpus = Corpus(distinct)
    items = corpus.items(count)
    build_files(corpus.items(3), 3, "merged", "csv", "directory")  # imports and first calls
    gc.collect()
    rss_before = int(psutil.Process().memory_info().rss)
    hwm_reset = reset_vm_hwm()
    with RssSampler() as sampler:
        files = build_files(items, count, "merged", "csv", "directory")
    hwm = vm_hwm() if hwm_reset else -1
    del files
    gc.collect()
    tracemalloc.start()
    try:
        files = build_files(items, count, "merged", "csv", "directory")
        traced_peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    figures = {
        "input": sum(len(item.pdf) for item in items),
        "output": size_of(files),
        "rss_before": rss_before,
        "rss_peak": sampler.peak,
        "hwm": hwm,
        "traced_peak": traced_peak,
    }
    print(json.dumps(figures))


def part_memory(count: int, distinct: int, report: Report) -> None:
    """Peak memory of building the largest merged batch, measured in a child process of its own (so the
    heap this process grew in the timed part does not hide it): tracemalloc and process RSS."""
    command = [sys.executable, __file__, "--memory-child", str(count), "--distinct", str(distinct)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"the memory child exited {result.returncode}:\n{result.stderr[-3000:]}")
    figures: dict[str, int] = json.loads(result.stdout.strip().splitlines()[-1])
    before, peak, hwm = figures["rss_before"], figures["rss_peak"], figures["hwm"]
    kernel = f"{hwm / MIB:.1f} MiB ({(hwm - before) / MIB:+.1f})" if hwm > 0 else "not available"
    line = (
        f"memory, build {count} merged (csv, directory; {figures['input'] / MB:.1f} MB of PDFs in,"
        f" {figures['output'] / MB:.1f} MB out), in a fresh process: tracemalloc peak"
        f" {figures['traced_peak'] / MIB:.1f} MiB; RSS {before / MIB:.1f} MiB before the build (imports,"
        f" {distinct} PDFs, {count} items), peak {peak / MIB:.1f} MiB ({(peak - before) / MIB:+.1f};"
        f" psutil, sampled every 2 ms), kernel VmHWM {kernel}"
    )
    print(f"  {line}", flush=True)
    report.notes.append(line)


# -- part 2: PGP ---------------------------------------------------------------------------------------


@contextlib.contextmanager
def print_house_key() -> Iterator[tuple[Any, str]]:
    """A throwaway ed25519/cv25519 key pair in its own GNUPGHOME: (the gnupg.GPG holding it, public key)."""
    import gnupg  # type: ignore[import-untyped]

    home = tempfile.mkdtemp(prefix="gw-bench-pgp-keys-")
    try:
        gpg = gnupg.GPG(gnupghome=home)
        key = gpg.gen_key(gpg.gen_key_input(name_email="print@house.example", no_protection=True, **FAST_KEY))
        if not key.fingerprint:
            raise RuntimeError(f"gpg could not make a key: {key.stderr}")
        yield gpg, str(gpg.export_keys(key.fingerprint))
    finally:
        subprocess.run(["gpgconf", "--homedir", home, "--kill", "all"], check=False, capture_output=True)
        shutil.rmtree(home, ignore_errors=True)


def encrypt_all(encryptor: PgpEncryptor, files: Files) -> Files:
    """Every file of a batch encrypted, one gpg run each, named as the channel names them."""
    return [(f"{name}.gpg", encryptor.encrypt(content)) for name, content in files]


def part_pgp(corpus: Corpus, sizes: Sequence[int], repeat: int, report: Report) -> None:
    with print_house_key() as (gpg, public_key):
        setup_seconds, _ = measure(lambda: PgpEncryptor(public_key).close(), repeat)
        report.add(Row("pgp", "encryptor set-up (key import, per batch)", 0, setup_seconds, 0.0))
        with PgpEncryptor(public_key) as encryptor:
            sample = corpus.files(sizes[0], "merged", "csv", "directory")[0][1]
            decrypted = gpg.decrypt(encryptor.encrypt(sample))
            if not decrypted.ok or bytes(decrypted.data) != sample:
                raise RuntimeError(f"the PGP round trip failed: {decrypted.status}")
            shapes: tuple[tuple[Layout, Packaging], ...] = (
                ("per-document", "directory"),
                ("per-document", "zip"),
                ("merged", "directory"),
            )
            for count in sizes:
                for layout, packaging in shapes:
                    files = corpus.files(count, layout, "csv", packaging)
                    seconds, encrypted = measure(functools.partial(encrypt_all, encryptor, files), repeat)
                    report.add(
                        Row(
                            "pgp",
                            f"{layout}, {packaging} ({len(files)} file(s))",
                            count,
                            seconds,
                            size_of(files) / MB,
                            size_of(encrypted) / MB,
                            f"{1000 * seconds / len(files):.1f} ms per file",
                        )
                    )


# -- part 3: SFTP --------------------------------------------------------------------------------------


def check_and_remove(local: Path, files: Files) -> None:
    """The upload as the print house sees it on its disk: the same file sizes; then it goes."""
    if local.is_dir():
        on_disk = sorted((path.name, path.stat().st_size) for path in local.iterdir())
        shutil.rmtree(local)
    else:
        on_disk = [(files[0][0], local.stat().st_size)]
        local.unlink()
    if on_disk != sorted((name, len(content)) for name, content in files):
        raise RuntimeError(f"{local}: the files on the server differ from the batch")


def nagle_off(session: SftpSession) -> None:
    """What-if: TCP_NODELAY on the session's socket (open_sftp leaves Nagle's algorithm on)."""
    sock = session._transport.sock
    if isinstance(sock, socket.socket):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def part_sftp(corpus: Corpus, sizes: Sequence[int], repeat: int, report: Report, header: list[str]) -> None:
    import pytest

    from tests.sftp_server import STATE_DIRECTORY, OpenSshSftpServer
    from transports.sftp import open_sftp

    server = OpenSshSftpServer()
    try:
        server.start()
    except pytest.fail.Exception as error:  # the rig reports set-up problems the pytest way
        raise RuntimeError(f"the SFTP server did not start: {error}") from None
    try:
        settings = server.settings()
        sshd = command_version(["/usr/sbin/sshd", "-V"])
        line = (
            f"SFTP: {sshd}, paramiko {package_version('paramiko')};"
            f" server disk {filesystem_of(STATE_DIRECTORY)}"
        )
        header.append(line)
        print(f"  {line}", flush=True)
        connect_seconds, _ = measure(lambda: open_sftp(settings).close(), repeat)
        report.add(Row("sftp", "connect + log in + close", 0, connect_seconds, 0.0))
        runs = 0
        cases: list[tuple[Layout, Packaging, bool]] = [
            ("per-document", "directory", False),
            ("per-document", "directory", True),
            ("merged", "directory", False),
            ("per-document", "zip", False),
        ]
        for count in sizes:
            for layout, packaging, nodelay in cases:
                files = corpus.files(count, layout, "csv", packaging)
                timings: list[float] = []
                began = time.perf_counter()
                while len(timings) < repeat and time.perf_counter() - began < BUDGET_SECONDS:
                    runs += 1
                    remote = f"in/{files[0][0]}.{runs}" if packaging == "zip" else f"in/run-{runs}"
                    started = time.perf_counter()
                    with open_sftp(settings) as session:
                        if nodelay:
                            nagle_off(session)
                        if packaging == "zip":
                            result = session.upload_file_atomically(remote, files[0][1])
                        else:
                            result = session.upload_directory_atomically(remote, files)
                    timings.append(time.perf_counter() - started)
                    if result.already_committed or result.bytes_written != size_of(files):
                        raise RuntimeError(f"upload to {remote}: {result}")
                    check_and_remove(server.local(remote), files)
                seconds = statistics.median(timings)
                note = f"incl. connect; {1000 * seconds / len(files):.1f} ms per file; {len(timings)} run(s)"
                if nodelay:
                    note += "; what-if: Nagle off on the client socket (open_sftp leaves it on)"
                case = f"{layout}, {packaging} ({len(files)} file(s))" + (", TCP_NODELAY" if nodelay else "")
                report.add(Row("sftp", case, count, seconds, size_of(files) / MB, note=note))
    finally:
        server.stop()


# -- part 4: end to end --------------------------------------------------------------------------------


class Stores:
    """Fresh outboxes (SQLite files under `root`, PostgreSQL schemas); `close` drops the schemas."""

    def __init__(self, root: Path, postgres_url: str | None) -> None:
        self.root = root
        self.postgres_url = postgres_url
        self.schemas: list[str] = []
        self._admin: Engine | None = None

    @property
    def admin(self) -> Engine:
        if self._admin is None:
            if self.postgres_url is None:
                raise RuntimeError("no --postgres URL given")
            self._admin = create_engine(self.postgres_url, isolation_level="AUTOCOMMIT")
        return self._admin

    def new(self, kind: str) -> tuple[str, Path]:
        """(database URL, a fresh directory) for one run, the schema migrated and the tenant made."""
        from db.engine import make_engine, migrate, session_scope
        from gateway.services.tenancy.tenants import ensure_tenant

        directory = Path(tempfile.mkdtemp(prefix=f"e2e-{kind}-", dir=self.root))
        if kind == "sqlite":
            url = f"sqlite:///{directory / 'outbox.sqlite3'}"
        else:
            assert self.postgres_url is not None
            schema = f"bench_print_{secrets.token_hex(6)}"
            with self.admin.connect() as connection:
                connection.execute(text(f'CREATE SCHEMA "{schema}"'))
            self.schemas.append(schema)
            separator = "&" if "?" in self.postgres_url else "?"
            url = f"{self.postgres_url}{separator}options={quote(f'-csearch_path={schema}')}"
        engine = make_engine(url)
        try:
            migrate(engine)
            with session_scope(engine) as session:
                ensure_tenant(session, TENANT)
        finally:
            engine.dispose()
        return url, directory

    def postgres_version(self) -> str:
        with self.admin.connect() as connection:
            return str(connection.execute(text("SHOW server_version")).scalar())

    def close(self) -> None:
        if self._admin is None:
            return
        with self._admin.connect() as connection:
            for schema in self.schemas:
                connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        self.schemas.clear()
        self._admin.dispose()


def part_e2e(stores: Stores, kind: str, invoices: int, report: Report) -> None:
    from db.engine import make_engine, session_scope
    from db.models import BatchItem, utcnow
    from gateway.services.outbound.intake import IntakeItem, accept_invoices
    from gateway.settings import Settings
    from gateway.worker import Worker

    url, directory = stores.new(kind)
    print_house = directory / "print-house"
    settings = Settings(
        database_url=url,
        data_dir=directory / "gateway-data",
        channels={"print": {"directory": str(print_house), "profiles": {"default": {"cutoffs": ["15:00"]}}}},
        _env_file=None,
    )
    engine = make_engine(url)
    try:
        payloads = []
        for n in range(1, invoices + 1):
            payload = sample_invoice_json(n)
            payload["routing"] = {"channel": "print"}
            payloads.append(payload)
        for start in range(0, invoices, 500):
            results = accept_invoices(
                engine,
                TENANT,
                [IntakeItem(p) for p in payloads[start : start + 500]],
                actor="bench",
                default_channel="folder",
            )
            if any(r.outcome != "created" for r in results):
                raise RuntimeError(f"intake: {[r.errors for r in results if r.outcome != 'created'][:3]}")

        started = time.perf_counter()
        staged = Worker(engine, settings, worker_id="bench-stage").run(once=True)
        stage_seconds = time.perf_counter() - started
        if dict(staged.outcomes) != {"batched": invoices}:
            raise RuntimeError(f"{kind}: staging outcomes {dict(staged.outcomes)}")
        with session_scope(engine) as session:
            pdf_bytes = sum(
                len(content) for content in session.execute(text("SELECT content FROM batch_items")).scalars()
            )
        report.add(
            Row(
                "e2e",
                f"{kind}: stage (render + check + stage)",
                invoices,
                stage_seconds,
                pdf_bytes / MB,
                note=f"claim_batch {settings.claim_batch}; MB = the staged PDFs",
            )
        )

        with session_scope(engine) as session:  # the cut-off has passed
            session.execute(update(BatchItem).values(due_at=utcnow() - dt.timedelta(seconds=1)))
        started = time.perf_counter()
        handed = Worker(engine, settings, worker_id="bench-hand-over").run(once=True)
        hand_over_seconds = time.perf_counter() - started
        if dict(handed.outcomes) != {"batch sent": 1}:
            raise RuntimeError(f"{kind}: hand-over outcomes {dict(handed.outcomes)}")
        [uploaded] = [path for path in (print_house / "in").iterdir() if not path.name.endswith(".part")]
        files = sorted(uploaded.iterdir())
        index = print_batch.parse((uploaded / f"{uploaded.name}.csv").read_bytes())
        with engine.connect() as connection:
            rows = connection.execute(text("SELECT status, count(*) FROM deliveries GROUP BY status"))
            statuses = {str(status): int(count) for status, count in rows}
        if len(index.entries) != invoices or len(files) != invoices + 1 or statuses != {"sent": invoices}:
            raise RuntimeError(
                f"{kind}: {len(index.entries)} index rows, {len(files)} files, deliveries {statuses}"
            )
        report.add(
            Row(
                "e2e",
                f"{kind}: hand-over (close + build + write)",
                invoices,
                hand_over_seconds,
                sum(path.stat().st_size for path in files) / MB,
                note=(
                    f"one batch, per-document/csv/directory, folder transport with fsync on"
                    f" {filesystem_of(print_house)}; {invoices} deliveries → sent"
                ),
            )
        )
    finally:
        engine.dispose()


# -- main ----------------------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="a small run: 50 documents, one repeat, 40 e2e")
    parser.add_argument("--sizes", help="batch sizes (documents), comma-separated; default 200,1000")
    parser.add_argument("--distinct", type=int, help="different PDFs rendered and reused; default 50")
    parser.add_argument("--repeat", type=int, help="runs per figure (the median is shown); default 3")
    parser.add_argument("--e2e-invoices", type=int, help="invoices through the outbox; default 300")
    parser.add_argument("--postgres", metavar="URL", help="also run e2e on PostgreSQL (a throw-away schema)")
    parser.add_argument("--only", default="build,pgp,sftp,e2e", help="parts to run; default all four")
    parser.add_argument("--tmpdir", help="where the temporary directory goes (default: the system's)")
    parser.add_argument("--memory-child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    defaults = {"sizes": "50", "distinct": 10, "repeat": 1, "e2e_invoices": 40} if args.quick else {
        "sizes": "200,1000", "distinct": 50, "repeat": 3, "e2e_invoices": 300,
    }  # fmt: skip
    for name, value in defaults.items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    args.sizes = [int(size) for size in str(args.sizes).split(",") if size.strip()]
    unknown = {part.strip() for part in args.only.split(",")} - {"build", "pgp", "sftp", "e2e"}
    if unknown or not args.sizes or min(args.sizes) < 1 or args.distinct < 1 or args.repeat < 1:
        parser.error(f"check --only ({', '.join(sorted(unknown)) or 'ok'}), --sizes, --distinct, --repeat")
    return args


def run(args: argparse.Namespace) -> int:
    parts = {part.strip() for part in args.only.split(",")}
    began = time.perf_counter()
    report = Report()
    root = Path(tempfile.mkdtemp(prefix="print-bench-", dir=args.tmpdir))
    stores = Stores(root, args.postgres)
    try:
        header = [
            f"machine: {os.cpu_count()} cores ({cpu_model()}), {platform.system()} {platform.release()}",
            f"Python {platform.python_version()}, pypdf {package_version('pypdf')}, ReportLab"
            f" {package_version('reportlab')}, python-gnupg {package_version('python-gnupg')}"
            f" ({command_version(['gpg', '--version'])}), SQLite {sqlite3.sqlite_version}"
            + (f", PostgreSQL {stores.postgres_version()}" if args.postgres and "e2e" in parts else ""),
        ]
        for line in header:
            print(line, flush=True)
        corpus = Corpus(args.distinct)
        line = (
            f"{args.distinct} distinct PDFs ({corpus.mean_size / 1024:.1f} KiB, "
            f"{sorted({d.pages for d in corpus.documents})} page(s) each; rendered in"
            f" {corpus.render_seconds:.1f} s), reused round-robin; batch sizes {args.sizes};"
            f" median of {args.repeat}; temp dir on {filesystem_of(root)}"
        )
        header.append(line)
        print(line, flush=True)
        if "build" in parts:
            print("[build]", flush=True)
            part_build(corpus, args.sizes, args.repeat, report)
            part_memory(max(args.sizes), args.distinct, report)
        if "pgp" in parts:
            print("[pgp]", flush=True)
            part_pgp(corpus, args.sizes, args.repeat, report)
        if "sftp" in parts:
            print("[sftp]", flush=True)
            part_sftp(corpus, args.sizes, args.repeat, report, header)
        if "e2e" in parts:
            print("[e2e]", flush=True)
            for kind in ["sqlite", *(["postgresql"] if args.postgres else [])]:
                part_e2e(stores, kind, args.e2e_invoices, report)
        if "build" in parts and args.distinct < max(args.sizes):
            report.notes.append(
                f"merged PDFs (and their ZIPs) are smaller than with {max(args.sizes)} different invoices:"
                f" pypdf stores identical objects once, and only {args.distinct} invoices are distinct"
                " (--distinct N to change it); the build MB/s count the input PDFs"
            )
        report.notes.append(f"whole run {time.perf_counter() - began:.0f} s")
        for row in report.rows:
            if row.note and row.part == "e2e":
                report.notes.append(f"{row.case}: {row.note}")
        print_table(report, header)
        return 0
    finally:
        try:
            stores.close()
        finally:
            shutil.rmtree(root, ignore_errors=True)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.memory_child:
        memory_child(args.memory_child, args.distinct)
        return 0

    def terminate(signum: int, _frame: FrameType | None) -> None:
        raise SystemExit(128 + signum)  # unwinds through `finally`: sshd, key ring, dirs and schema go

    signal.signal(signal.SIGTERM, terminate)
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
