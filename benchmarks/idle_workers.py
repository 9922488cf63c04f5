"""The load idle workers put on PostgreSQL: polling (the old way) next to LISTEN/NOTIFY (the new default).

    python benchmarks/idle_workers.py [--workers 4] [--seconds 20] [--posts 5]

A private PostgreSQL server (`tests.pg_cluster`: initdb + pg_ctl on a free loopback port, nothing else
connects to it) and an empty, migrated outbox. For each mode (`GATEWAY_WORKER_WAKEUP=poll`, then `listen`)
K real `gateway worker` processes are started with the default settings otherwise (poll_seconds 1,
worker_listen_poll_seconds 15, the periodic tasks at their default intervals), left to settle, and then:

* idle load: `xact_commit + xact_rollback` of the outbox's database in `pg_stat_database`, read at the
  start and the end of `--seconds` (the two reads' own transactions taken off), as transactions per second.
  Every worker query runs in a transaction of its own or with a few others (a claim round is one), so this
  is the rate of round trips that cost the server a transaction;
* wake-up latency: one invoice posted at a time (`--posts` of them, 1.5 s apart), the time from intake's
  commit to its `delivered` status (polled every 10 ms), mean and max.

PostgreSQL's statistics reach `pg_stat_database` from each backend at most once a second, so the rate is
exact to about one second's worth of transactions over the window.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg
from sqlalchemy import Engine, select
from sqlmodel import col

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from db.engine import make_engine, migrate, session_scope  # noqa: E402
from db.models import Delivery  # noqa: E402
from gateway.samples import sample_invoice_json  # noqa: E402
from gateway.services.outbound.intake import IntakeItem, accept_invoices  # noqa: E402
from gateway.services.tenancy.tenants import ensure_tenant  # noqa: E402
from tests.pg_cluster import PostgresCluster  # noqa: E402

DATABASE = "idle_bench"
WORKER = [sys.executable, "-c", "from gateway.cli import app; app()", "worker"]


def _counters(cluster: PostgresCluster) -> tuple[int, int]:
    """The outbox database's transactions so far, and the scans of its `deliveries` table (claims)."""
    info = f"host=127.0.0.1 port={cluster.port} user=postgres dbname={DATABASE}"
    with psycopg.connect(info, autocommit=True) as connection:
        row = connection.execute(
            "SELECT (SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = %s), "
            "(SELECT seq_scan + coalesce(idx_scan, 0) FROM pg_stat_user_tables WHERE relname = 'deliveries')",
            (DATABASE,),
        ).fetchone()
    assert row is not None
    return int(row[0]), int(row[1])


def _handles_sigterm(pid: int) -> bool:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("SigCgt:"):
            return bool(int(line.split()[1], 16) & (1 << (signal.SIGTERM - 1)))
    return False


def _post_and_time(engine: Engine, number: int) -> float:
    [result] = accept_invoices(
        engine, "bench", [IntakeItem(sample_invoice_json(number))], actor="bench", default_channel="folder"
    )
    committed = time.monotonic()
    while True:
        with session_scope(engine) as session:
            status = session.execute(
                select(col(Delivery.status)).where(col(Delivery.id) == result.delivery_ids[0])
            ).scalar_one()
        if status == "delivered":
            return time.monotonic() - committed
        if time.monotonic() - committed > 60:
            raise RuntimeError(f"invoice {number} not delivered within 60 s (status {status})")
        time.sleep(0.01)


def measure(
    cluster: PostgresCluster, engine: Engine, mode: str, workers: int, seconds: float, posts: int, first: int
) -> tuple[tuple[float, float], list[float]]:
    """Idle transactions and claims per second, and the wake-up latencies of `posts` invoices."""
    work = Path(tempfile.mkdtemp(prefix=f"idle-{mode}-"))
    env = {key: value for key, value in os.environ.items() if not key.startswith("GATEWAY_")}
    env.update(
        GATEWAY_DATABASE_URL=cluster.url(DATABASE),
        GATEWAY_DATA_DIR=str(work / "data"),
        GATEWAY_CHANNELS=json.dumps({"folder": {"directory": str(work / "out"), "fsync": False}}),
        GATEWAY_WORKER_WAKEUP=mode,
    )
    processes = [
        subprocess.Popen(
            [*WORKER, "--worker-id", f"{mode}-{n}"],
            env=env,
            cwd=work,
            stdout=subprocess.DEVNULL,
            stderr=(work / f"{mode}-{n}.log").open("wb"),
        )
        for n in range(workers)
    ]
    try:
        deadline = time.monotonic() + 60
        while not all(_handles_sigterm(p.pid) for p in processes):
            if time.monotonic() > deadline or any(p.poll() is not None for p in processes):
                raise RuntimeError(f"workers did not start; see {work}")
            time.sleep(0.05)
        time.sleep(5)  # first rounds, first periodic runs, connections made
        before = _counters(cluster)
        started = time.monotonic()
        time.sleep(seconds)
        after = _counters(cluster)
        elapsed = time.monotonic() - started
        # the first read's own transaction is counted in `after`
        rate = ((after[0] - before[0] - 1) / elapsed, (after[1] - before[1]) / elapsed)
        latencies = []
        for n in range(posts):
            latencies.append(_post_and_time(engine, first + n))
            time.sleep(1.5)
        return rate, latencies
    finally:
        for process in processes:
            process.send_signal(signal.SIGTERM)
        for process in processes:
            process.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--posts", type=int, default=5)
    args = parser.parse_args()
    with PostgresCluster() as cluster:
        url = cluster.create_database(DATABASE)
        engine = make_engine(url)
        try:
            migrate(engine)
            with session_scope(engine) as session:
                ensure_tenant(session, "bench")
            with psycopg.connect(
                f"host=127.0.0.1 port={cluster.port} user=postgres dbname=postgres"
            ) as connection:
                version = connection.info.server_version
            print(f"{args.workers} idle `gateway worker` processes, PostgreSQL {version}, {args.seconds:g} s")
            results = {}
            for n, mode in enumerate(("poll", "listen")):
                results[mode] = measure(
                    cluster, engine, mode, args.workers, args.seconds, args.posts, first=1 + n * args.posts
                )
                (rate, claims), latencies = results[mode]
                mean, worst = statistics.mean(latencies) * 1000, max(latencies) * 1000
                print(
                    f"  {mode:6} idle {rate:6.2f} transactions/s, {claims:5.2f} claim queries/s; "
                    f"wake-up mean {mean:6.1f} ms, max {worst:6.1f} ms"
                )
        finally:
            engine.dispose()
    poll, listen = results["poll"], results["listen"]

    def latency(figures: list[float]) -> str:
        return f"{statistics.mean(figures) * 1000:.0f} ms ({max(figures) * 1000:.0f} ms)"

    print()
    print(f"| {args.workers} idle workers | polling (poll_seconds 1) | LISTEN/NOTIFY (looks every 15 s) |")
    print("|---|---|---|")
    print(f"| database transactions per second | {poll[0][0]:.2f} | {listen[0][0]:.2f} |")
    print(f"| claim queries (scans of deliveries) per second | {poll[0][1]:.2f} | {listen[0][1]:.2f} |")
    print(f"| new invoice → delivered, mean (max) | {latency(poll[1])} | {latency(listen[1])} |")


if __name__ == "__main__":
    main()
