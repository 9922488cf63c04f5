"""A database outage: PostgreSQL restarted under four delivering workers; a worker started while it is down.

Issue 18 found all four workers dead (exit 1) after a PostgreSQL restart, and a worker started during the
outage dead at start. Here a private server (`tests.pg_cluster`, so no other test is disturbed) is
stopped with `pg_ctl stop -m fast` (every connection cut, open transactions rolled back, as in a restart)
while four real `gateway worker` processes deliver 1,000 invoices to the folder channel, and started again
a moment later. Afterwards every invoice must be delivered exactly once (one document in the folder, one
`delivered` event, an unbroken history), every worker must still be running (none restarted), each must
have logged the outage once (its start and its end, not each try), and SIGTERM must stop each with exit 0.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from sqlmodel import col

from db.engine import make_engine, migrate, session_scope
from db.models import Delivery, DeliveryEvent, InvoiceRecord
from outbox.states import DeliveryStatus
from tests.acceptance.test_crash_safety import TENANT, WORKER_COMMAND, WorkerPool, _accept, _status_counts
from tests.pg_cluster import PostgresCluster

pytestmark = pytest.mark.slow

S = DeliveryStatus
TOTAL = 1000
WORKERS = 4
#: Longer than the outage, so that a write interrupted by it is finished under its lease, not taken over.
LEASE_SECONDS = 15.0
OUTAGE_SECONDS = 2.0
DEADLINE_SECONDS = 180.0
OUTAGE_STARTED = "the database does not answer"
OUTAGE_ENDED = re.compile(r"the database answers again after ([0-9.]+) s")


@pytest.fixture(scope="module")
def cluster() -> Iterator[PostgresCluster]:
    with PostgresCluster() as server:
        yield server


@pytest.fixture
def pools() -> Iterator[list[WorkerPool]]:
    made: list[WorkerPool] = []
    try:
        yield made
    finally:
        for pool in made:
            pool.close()


def _env(database_url: str, tmp_path: Path, outbound: Path) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("GATEWAY_")}
    env.update(
        GATEWAY_DATABASE_URL=database_url,
        GATEWAY_DATA_DIR=str(tmp_path / "data"),
        GATEWAY_CHANNELS=json.dumps({"folder": {"directory": str(outbound), "fsync": False}}),
        GATEWAY_LEASE_SECONDS=str(LEASE_SECONDS),
        GATEWAY_CLAIM_BATCH="10",
        GATEWAY_POLL_SECONDS="0.2",
        GATEWAY_WORKER_DB_BACKOFF_INITIAL_SECONDS="0.2",
        GATEWAY_WORKER_DB_BACKOFF_MAX_SECONDS="1",
        PYTHONUNBUFFERED="1",
    )
    return env


def _delivered(engine: Engine) -> int:
    return _status_counts(engine)[S.DELIVERED.value]


def _wait_for(engine: Engine, pool: WorkerPool, delivered: int, deadline: float) -> None:
    while _delivered(engine) < delivered:
        pool.check_alive()
        if time.monotonic() > deadline:
            pytest.fail(f"not {delivered} delivered in time: {dict(_status_counts(engine))}\n{pool.tails()}")
        time.sleep(0.05)


def _check_exactly_once(engine: Engine, outbound: Path, deliveries: dict[str, str]) -> dict[str, int]:
    """Every invoice one document and one `delivered` event, no lease left; returns the counts."""
    folder = outbound / TENANT
    names = [p.name for p in folder.iterdir()]
    documents = [n for n in names if n.endswith(".json") and not n.endswith(".sidecar.json")]
    per_invoice = Counter(name.split("__", 1)[0] for name in documents)
    assert set(per_invoice) == set(deliveries), "an invoice is missing or unknown"
    duplicates = sum(n - 1 for n in per_invoice.values())
    assert duplicates == 0, {k: n for k, n in per_invoice.items() if n != 1}
    with session_scope(engine) as session:
        rows = session.execute(
            select(
                col(Delivery.id), col(Delivery.status), col(Delivery.lease_token), col(InvoiceRecord.number)
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
        distinct = session.execute(select(func.count(func.distinct(col(Delivery.invoice_id))))).scalar_one()
    assert len(rows) == distinct == len(deliveries)
    assert all(r.status == S.DELIVERED.value and r.lease_token is None for r in rows)
    assert {r.number: r.id for r in rows} == deliveries
    histories: dict[str, list[tuple[str | None, str]]] = {}
    for event in events:
        histories.setdefault(event.delivery_id, []).append((event.from_status, event.to_status))
    delivered_events = 0
    for delivery_id, history in histories.items():
        delivered_events += [to for _, to in history].count(S.DELIVERED.value)
        assert [to for _, to in history].count(S.DELIVERED.value) == 1, (delivery_id, history)
        for (_, before), (after_from, _) in itertools.pairwise(history):
            assert after_from == before, (delivery_id, history)
    takeovers = sum(1 for event in events if event.reason and "taken over" in event.reason)
    return {
        "documents": len(documents),
        "delivered_events": delivered_events,
        "duplicates": duplicates,
        "takeovers": takeovers,
    }


def test_four_workers_ride_out_a_postgresql_restart_and_deliver_every_invoice_once(
    cluster: PostgresCluster, tmp_path: Path, pools: list[WorkerPool]
) -> None:
    url = cluster.create_database("restart")
    outbound = tmp_path / "outbound"
    logs = tmp_path / "workers"
    logs.mkdir()
    engine = make_engine(url)
    try:
        migrate(engine)
        deliveries = _accept(engine, TOTAL)
        engine.dispose()
        pool = WorkerPool(_env(url, tmp_path, outbound), logs)
        pools.append(pool)
        started = time.monotonic()
        deadline = started + DEADLINE_SECONDS
        for _ in range(WORKERS):
            pool.spawn()
        pool.wait_ready()
        _wait_for(engine, pool, TOTAL // 10, deadline)  # all four at work
        before = _delivered(engine)
        engine.dispose()  # the test's own connections die with the server too

        down = time.monotonic()
        cluster.stop("fast")
        time.sleep(OUTAGE_SECONDS)
        pool.check_alive()  # nobody exited while the database was away
        cluster.start()
        up = time.monotonic()

        _wait_for(engine, pool, before + 1, deadline)
        first_after = time.monotonic() - up
        _wait_for(engine, pool, TOTAL, deadline)
        drained = time.monotonic() - up
        pool.check_alive()
        assert len(pool.running) == WORKERS and pool.spawned == WORKERS  # no worker restarted
        codes = pool.terminate()
        assert codes == dict.fromkeys(codes, 0), f"{codes}\n{pool.tails()}"
        counts = _check_exactly_once(engine, outbound, deliveries)

        texts = {w.worker_id: w.log.read_text(errors="replace") for w in pool.gone}
        assert all("Traceback" not in text for text in texts.values()), pool.tails(40)
        # each worker saw the outage, and said so once when it began and once when it ended
        for worker_id, text in texts.items():
            assert text.count(OUTAGE_STARTED) == 1, (worker_id, text[-3000:])
            assert len(OUTAGE_ENDED.findall(text)) == 1, (worker_id, text[-3000:])
            assert "database outages 1" in text, (worker_id, text[-3000:])
        seen = [float(OUTAGE_ENDED.findall(text)[0]) for text in texts.values()]
        lost = sum(int(m) for text in texts.values() for m in re.findall(r"leases lost (\d+)", text))
        resumed = sum(int(m) for text in texts.values() for m in re.findall(r"writes resumed (\d+)", text))
        print(
            f"\n[database outage] {TOTAL} invoices, {WORKERS} workers; server down {up - down:.2f} s after "
            f"{before} delivered; outage seen by the workers {min(seen):.2f}–{max(seen):.2f} s; first "
            f"delivery {first_after:.2f} s after the server was back, all delivered {drained:.2f} s after "
            f"({time.monotonic() - started:.1f} s in all); documents {counts['documents']}, delivered "
            f"events {counts['delivered_events']}, duplicates {counts['duplicates']}, worker restarts "
            f"{pool.spawned - WORKERS}, takeovers {counts['takeovers']}, in-flight writes resumed "
            f"{resumed}, leases lost {lost}, exit codes {sorted(codes.values())}"
        )
    finally:
        engine.dispose()


def test_a_worker_and_migrate_started_while_the_database_is_down_wait_for_it(
    cluster: PostgresCluster, tmp_path: Path, pools: list[WorkerPool]
) -> None:
    url = cluster.create_database("late")  # empty: the worker creates the schema once it answers
    outbound = tmp_path / "outbound"
    logs = tmp_path / "workers"
    logs.mkdir()
    env = _env(url, tmp_path, outbound)
    cluster.stop("fast")
    engine = make_engine(url)
    try:
        pool = WorkerPool(env, logs)
        pools.append(pool)
        worker = pool.spawn()
        migrating = subprocess.Popen(
            [*WORKER_COMMAND[:-1], "migrate", "--wait", "120"],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=logs,
        )
        try:
            deadline = time.monotonic() + 60
            while OUTAGE_STARTED not in worker.log.read_text(errors="replace"):
                pool.check_alive()
                assert time.monotonic() < deadline, pool.tails()
                time.sleep(0.05)
            time.sleep(1.5)  # several tries (backoff 0.2 → 1 s), yet one line
            pool.check_alive()
            assert migrating.poll() is None, "migrate gave up while the database was down"
            cluster.start()
            output, _ = migrating.communicate(timeout=120)
        finally:
            if migrating.poll() is None:
                migrating.kill()
                migrating.wait()
        assert migrating.returncode == 0, output
        assert b"the outbox migrated from empty to" in output or b"nothing to do" in output, output

        deliveries = _accept(engine, 20)
        _wait_for(engine, pool, 20, time.monotonic() + 60)
        pool.wait_ready()
        codes = pool.terminate()
        assert codes == dict.fromkeys(codes, 0), f"{codes}\n{pool.tails()}"
        text = worker.log.read_text(errors="replace")
        assert text.count(OUTAGE_STARTED) == 1 and len(OUTAGE_ENDED.findall(text)) == 1, text
        assert "Traceback" not in text, text
        assert _check_exactly_once(engine, outbound, deliveries)["duplicates"] == 0
    finally:
        engine.dispose()
