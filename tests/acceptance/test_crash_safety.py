"""Crash safety: real worker processes are SIGKILLed mid-work, yet every invoice is delivered exactly once.

Several `gateway worker` OS processes drain one outbox into the folder channel while the test kills one
of them with SIGKILL again and again (each time starting a replacement, so the pool stays full). A
killed worker leaves its claimed deliveries in `rendering`/`sending` under a lease; once the lease has
expired another worker takes them over. At the end every delivery must be `delivered` with exactly one
`delivered` event, no lease may be left behind, and the folder must hold exactly one document per invoice.

The victim is chosen among the workers that hold live leases at the moment of the kill, and after the
kill the test counts the deliveries the dead worker still held ("orphans"). An orphan can only ever move
on through a takeover, so the takeover events are asserted to be at least the orphans counted; the test
keeps killing (bounded) until at least one kill has orphaned something, which makes that check real.

Leftover temporary files (`.tmp-*.part`) are not deliveries: a reader of the folder ignores them (the
channel renames a file into place only when it is complete). A writer killed between writing and
renaming leaves one behind, so there can be at most one per kill; the invoice it belonged to is delivered
again by the takeover under its final name, which the per-invoice count checks.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from sqlmodel import col

from db.engine import make_engine, migrate, session_scope
from db.models import Delivery, DeliveryEvent, InvoiceRecord
from gateway.samples import sample_invoice_json
from gateway.services.outbound.intake import IntakeItem, accept_invoices
from gateway.services.tenancy.tenants import ensure_tenant
from outbox.states import LEASED, DeliveryStatus
from tests.conftest import DATABASES, PostgresSchema

pytestmark = pytest.mark.slow

S = DeliveryStatus
TENANT = "acme"
WORKER_COMMAND = [sys.executable, "-c", "from gateway.cli import app; app()", "worker"]
LEASE_SECONDS = 3.0
#: The folder channel's timeout; a worker in `sending` holds its lease for timeout + lease seconds.
CHANNEL_TIMEOUT_SECONDS = 1.0
DELIVERY_DEADLINE_SECONDS = 180.0
SHUTDOWN_TIMEOUT_SECONDS = 30.0
READY_TIMEOUT_SECONDS = 60.0
#: Kill until at least this many kills happened and one of them orphaned a delivery, but not beyond this.
MAX_KILLS = 12
KILL_INTERVAL_SECONDS = (0.5, 1.5)
_UNFINISHED = {S.QUEUED.value, S.RENDERING.value, S.SENDING.value}


# -- worker processes ----------------------------------------------------------------------------------


def _handles_sigterm(pid: int, age: float) -> bool:
    """True once the process has installed its SIGTERM handler (read from /proc on Linux).

    Before `Worker.install_signal_handlers` runs, SIGTERM would kill the process with -15 instead of
    stopping it gracefully, so the test only sends SIGTERM to workers that catch it. Without /proc
    (not Linux) a worker running for a while is taken to be ready.
    """
    if not Path("/proc/self/status").exists():  # pragma: no cover - not Linux
        return age > 10
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    for line in status.splitlines():
        if line.startswith("SigCgt:"):
            return bool(int(line.split()[1], 16) & (1 << (signal.SIGTERM - 1)))
    return False


@dataclass
class WorkerProcess:
    worker_id: str
    process: subprocess.Popen[bytes]
    log: Path
    started: float = field(default_factory=time.monotonic)


@dataclass
class Kill:
    worker_id: str
    at_seconds: float
    delivered_before: int
    #: deliveries the killed worker still held (rendering/sending) right after it died
    orphans: int


@dataclass
class WorkerPool:
    """Real `gateway worker` processes with their output in files; always `close()` it."""

    env: dict[str, str]
    directory: Path
    running: dict[str, WorkerProcess] = field(default_factory=dict)
    gone: list[WorkerProcess] = field(default_factory=list)
    spawned: int = 0

    def spawn(self) -> WorkerProcess:
        self.spawned += 1
        worker_id = f"worker-{self.spawned}"
        log = self.directory / f"{worker_id}.log"
        with log.open("wb") as stream:
            process = subprocess.Popen(
                [*WORKER_COMMAND, "--worker-id", worker_id],
                stdin=subprocess.DEVNULL,
                stdout=stream,
                stderr=subprocess.STDOUT,
                env=self.env,
                cwd=self.directory,  # no stray `.env` file is read from the project
            )
        worker = WorkerProcess(worker_id, process, log)
        self.running[worker_id] = worker
        return worker

    def kill(self, worker_id: str) -> None:
        worker = self.running.pop(worker_id)
        worker.process.send_signal(signal.SIGKILL)
        worker.process.wait(timeout=10)
        self.gone.append(worker)

    def check_alive(self) -> None:
        exited = {
            w.worker_id: w.process.returncode for w in self.running.values() if w.process.poll() is not None
        }
        if exited:
            pytest.fail(f"workers exited on their own: {exited}\n{self.tails()}")

    def wait_ready(self, timeout: float = READY_TIMEOUT_SECONDS) -> None:
        deadline = time.monotonic() + timeout
        while not all(
            _handles_sigterm(w.process.pid, time.monotonic() - w.started) for w in self.running.values()
        ):
            self.check_alive()
            if time.monotonic() > deadline:
                pytest.fail(f"workers did not start within {timeout} s\n{self.tails()}")
            time.sleep(0.05)

    def terminate(self, timeout: float = SHUTDOWN_TIMEOUT_SECONDS) -> dict[str, int | None]:
        """SIGTERM every running worker; their return codes (None: still running after `timeout`)."""
        for worker in self.running.values():
            worker.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout
        codes: dict[str, int | None] = {}
        for worker_id, worker in list(self.running.items()):
            try:
                codes[worker_id] = worker.process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                codes[worker_id] = None
            else:
                self.gone.append(self.running.pop(worker_id))
        return codes

    def close(self) -> None:
        """Kill whatever is still running (a failed test must not leave workers behind)."""
        for worker in self.running.values():
            if worker.process.poll() is None:
                worker.process.kill()
        for worker in self.running.values():
            worker.process.wait(timeout=10)
        self.gone.extend(self.running.values())
        self.running.clear()

    def tails(self, lines: int = 15) -> str:
        parts = []
        for worker in [*self.gone, *self.running.values()]:
            text = worker.log.read_text(errors="replace") if worker.log.exists() else ""
            tail = "\n".join(text.splitlines()[-lines:])
            parts.append(f"--- {worker.worker_id} (exit {worker.process.returncode}) ---\n{tail}")
        return "\n".join(parts)


@pytest.fixture
def pools() -> Iterator[list[WorkerPool]]:
    """Every pool a test makes is closed (all processes killed) however the test ends."""
    made: list[WorkerPool] = []
    try:
        yield made
    finally:
        for pool in made:
            pool.close()


# -- the outbox as the test sees it ----------------------------------------------------------------------


def _accept(engine: Engine, count: int) -> dict[str, str]:
    """Accept `count` sample invoices; invoice number → delivery id."""
    with session_scope(engine) as session:
        ensure_tenant(session, TENANT)
    results = accept_invoices(
        engine,
        TENANT,
        [IntakeItem(sample_invoice_json(n)) for n in range(1, count + 1)],
        actor="test",
        default_channel="folder",
    )
    assert [r.outcome for r in results] == ["created"] * count, [r.errors for r in results if r.errors]
    return {r.number or "": r.delivery_ids[0] for r in results}


def _status_counts(engine: Engine) -> Counter[str]:
    with session_scope(engine) as session:
        rows = session.execute(
            select(col(Delivery.status), func.count()).group_by(col(Delivery.status))
        ).all()
    return Counter({str(status): int(count) for status, count in rows})


def _lease_holders(engine: Engine) -> Counter[str]:
    """Worker id → deliveries it holds (rendering/sending) right now."""
    with session_scope(engine) as session:
        rows = session.execute(
            select(col(Delivery.leased_by), func.count())
            .where(col(Delivery.status).in_([s.value for s in LEASED]))
            .group_by(col(Delivery.leased_by))
        ).all()
    return Counter({str(worker): int(count) for worker, count in rows if worker})


def _worker_env(database_url: str, tmp_path: Path, outbound: Path, claim_batch: int) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("GATEWAY_")}
    folder = {"directory": str(outbound), "fsync": False, "timeout_seconds": CHANNEL_TIMEOUT_SECONDS}
    env.update(
        GATEWAY_DATABASE_URL=database_url,
        GATEWAY_DATA_DIR=str(tmp_path / "data"),
        GATEWAY_CHANNELS=json.dumps({"folder": folder}),
        GATEWAY_LEASE_SECONDS=str(LEASE_SECONDS),
        GATEWAY_CLAIM_BATCH=str(claim_batch),
        GATEWAY_POLL_SECONDS="0.1",
        PYTHONUNBUFFERED="1",
    )
    return env


def _run_with_kills(
    engine: Engine, pool: WorkerPool, *, workers: int, total: int, min_kills: int, rng: random.Random
) -> list[Kill]:
    """Start `workers` processes and SIGKILL one now and then until every delivery is delivered."""
    start = time.monotonic()
    for _ in range(workers):
        pool.spawn()
    kills: list[Kill] = []
    next_kill: float | None = None
    while True:
        counts = _status_counts(engine)
        if counts[S.DELIVERED.value] == total:
            return kills
        stuck = {status: n for status, n in counts.items() if status not in _UNFINISHED | {S.DELIVERED.value}}
        if stuck:
            pytest.fail(f"deliveries ended in {stuck}, not delivered\n{pool.tails()}")
        pool.check_alive()
        now = time.monotonic()
        if now - start > DELIVERY_DEADLINE_SECONDS:
            pytest.fail(f"not delivered within {DELIVERY_DEADLINE_SECONDS} s: {dict(counts)}\n{pool.tails()}")
        wants_kill = len(kills) < min_kills or (sum(k.orphans for k in kills) == 0 and len(kills) < MAX_KILLS)
        holders = _lease_holders(engine)
        if wants_kill and next_kill is None and holders:
            next_kill = now + rng.uniform(*KILL_INTERVAL_SECONDS)  # the workers are at work: start the clock
        # a kill is due at its random moment, or when the delivered share passes the kill's slot,
        # whichever comes first, so that fast machines still see every kill while work remains
        slot = min(0.9, 0.8 * (len(kills) + 1) / (min_kills + 1))
        overdue = bool(holders) and counts[S.DELIVERED.value] >= slot * total
        if wants_kill and next_kill is not None and (now >= next_kill or overdue):
            busy = sorted(w for w in holders if w in pool.running)
            victim = rng.choice(busy or sorted(pool.running))
            pool.kill(victim)
            time.sleep(0.3)  # let the database finish (or abort) whatever the victim had in flight
            orphans = _lease_holders(engine)[victim]
            kills.append(Kill(victim, round(now - start, 2), counts[S.DELIVERED.value], orphans))
            pool.spawn()
            next_kill = now + rng.uniform(*KILL_INTERVAL_SECONDS)
        time.sleep(0.05)


# -- what must hold afterwards ---------------------------------------------------------------------------


def _check_exactly_once(engine: Engine, outbound: Path, deliveries: dict[str, str], kills: list[Kill]) -> str:
    """Assert exactly-once delivery in the folder and in the outbox; returns a summary line."""
    total = len(deliveries)
    folder = outbound / TENANT
    names = sorted(p.name for p in folder.iterdir())
    documents = [n for n in names if n.endswith(".json") and not n.endswith(".sidecar.json")]
    sidecars = [n for n in names if n.endswith(".sidecar.json")]
    leftovers = [n for n in names if n.startswith(".tmp-") and n.endswith(".part")]
    unexpected = sorted(set(names) - set(documents) - set(sidecars) - set(leftovers))
    assert unexpected == []

    # one document per invoice, named by its delivery's only attempt, with that invoice inside
    assert len(documents) == total
    numbers = Counter(name.split("__", 1)[0] for name in documents)
    assert set(numbers) == set(deliveries), "an invoice is missing or unknown"
    assert all(n == 1 for n in numbers.values()), {k: n for k, n in numbers.items() if n != 1}
    for name in documents:
        number, key = name.removesuffix(".json").split("__", 1)
        assert key == f"{deliveries[number]}-1"
        assert json.loads((folder / name).read_bytes())["number"] == number
    assert sorted(sidecars) == sorted(name.replace(".json", ".sidecar.json") for name in documents)
    # a writer killed between writing and renaming leaves one temporary file; none is a delivery
    assert len(leftovers) <= len(kills)

    with session_scope(engine) as session:
        rows = session.execute(
            select(
                col(Delivery.id),
                col(Delivery.status),
                col(Delivery.attempt),
                col(Delivery.lease_token),
                col(Delivery.lease_expires_at),
                col(Delivery.leased_by),
                col(Delivery.channel_message_id),
                col(InvoiceRecord.number),
            ).join(InvoiceRecord, col(InvoiceRecord.id) == col(Delivery.invoice_id))
        ).all()
        events = session.execute(
            select(
                col(DeliveryEvent.delivery_id),
                col(DeliveryEvent.from_status),
                col(DeliveryEvent.to_status),
                col(DeliveryEvent.reason),
            ).order_by(col(DeliveryEvent.id))
        ).all()
    assert len(rows) == total
    for row in rows:
        assert row.status == S.DELIVERED.value and row.attempt == 1
        assert (row.lease_token, row.lease_expires_at, row.leased_by) == (None, None, None)
        assert deliveries[row.number] == row.id
        assert Path(row.channel_message_id) == folder / f"{row.number}__{row.id}-1.json"

    # the history of each delivery is one unbroken chain, with exactly one `delivered`
    histories: dict[str, list[tuple[str | None, str]]] = {}
    for event in events:
        histories.setdefault(event.delivery_id, []).append((event.from_status, event.to_status))
    assert set(histories) == set(deliveries.values())
    for delivery_id, history in histories.items():
        assert [to for _, to in history].count(S.DELIVERED.value) == 1, (delivery_id, history)
        assert history[0] == (None, S.QUEUED.value), (delivery_id, history)
        assert history[-1][1] == S.DELIVERED.value, (delivery_id, history)
        for (_, before), (after_from, _) in itertools.pairwise(history):
            assert after_from == before, (delivery_id, history)

    takeovers = sum(1 for e in events if e.reason and "taken over" in e.reason)
    orphans = sum(k.orphans for k in kills)
    assert orphans >= 1, f"no kill landed while the victim held a delivery: {kills}"
    # Every orphan moves on only through a takeover, except one per kill: a COMMIT the victim had already
    # sent can still land after the orphans were counted (the database finishes it after the SIGKILL).
    assert takeovers >= 1
    assert takeovers >= orphans - len(kills), (takeovers, orphans, kills)
    return (
        f"{len(kills)} kills {[(k.worker_id, k.at_seconds, k.delivered_before, k.orphans) for k in kills]}; "
        f"orphans {orphans}; takeovers {takeovers}; temp leftovers {len(leftovers)}; events {len(events)}"
    )


def _crash_test(
    database_url: str, tmp_path: Path, pools: list[WorkerPool], *, workers: int, total: int, min_kills: int
) -> None:
    outbound = tmp_path / "outbound"
    logs = tmp_path / "workers"
    logs.mkdir()
    engine = make_engine(database_url)
    try:
        migrate(engine)
        deliveries = _accept(engine, total)
        pool = WorkerPool(_worker_env(database_url, tmp_path, outbound, claim_batch=5), logs)
        pools.append(pool)
        seed = random.randrange(1 << 32)
        started = time.monotonic()
        kills = _run_with_kills(
            engine, pool, workers=workers, total=total, min_kills=min_kills, rng=random.Random(seed)
        )
        drained = time.monotonic() - started
        assert len(kills) >= min_kills, f"the work ended before {min_kills} kills: {kills}"
        pool.wait_ready()  # a replacement started last must have its SIGTERM handler before it is stopped
        codes = pool.terminate()
        assert codes == dict.fromkeys(codes, 0), f"{codes}\n{pool.tails()}"
        summary = _check_exactly_once(engine, outbound, deliveries, kills)
        print(
            f"\n[crash safety, seed {seed}] {total} delivered by {pool.spawned} workers in {drained:.1f} s;"
        )
        print(f"  {summary}")
    finally:
        engine.dispose()


@pytest.mark.skipif("postgresql" not in DATABASES, reason="GATEWAY_TEST_DATABASES leaves PostgreSQL out")
def test_sigkilled_workers_deliver_every_invoice_exactly_once_on_postgresql(
    tmp_path: Path, pools: list[WorkerPool]
) -> None:
    schema = PostgresSchema()
    try:
        _crash_test(schema.url, tmp_path, pools, workers=4, total=1000, min_kills=3)
    finally:
        for pool in pools:
            pool.close()  # no worker may hold a connection while the schema is dropped
        schema.drop()


def test_sigkilled_worker_delivers_every_invoice_exactly_once_on_sqlite(
    tmp_path: Path, pools: list[WorkerPool]
) -> None:
    url = f"sqlite:///{tmp_path / 'outbox.sqlite3'}"
    _crash_test(url, tmp_path, pools, workers=2, total=200, min_kills=1)
