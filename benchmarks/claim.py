"""Claim latency among a million finished deliveries: the claim before migration 0027 against after it.

    python benchmarks/claim.py [--finished 1000000] [--queued 300] [--rounds 200] [--backlog 100000]
                               [--databases sqlite,postgresql] [--tmpdir DIR]

One store per database (a SQLite file in a temporary directory, or a throw-away `bench_<random>` schema in
the database of `BENCH_POSTGRES_URL`), migrated to head and filled with raw INSERT … SELECT: `--finished`
finished deliveries (delivered, a few sent, failed or in deviation), `--queued` queued and due ones, and a
few held under a live lease. Then, on that same store, each in turn:

* `old`: the claim indexes as after migration 0026, `(status, next_attempt_at)` and
  `(status, lease_expires_at)`, with 0026's claim statement (one UPDATE whose subquery ORs queued and
  expired rows, statuses bound as parameters);
* `new`: the partial `ix_deliveries_due` and `ix_deliveries_leased` of migration 0027, with the statements
  `claim_deliveries` sends now (takeovers, then queued; statuses as literals);

the indexes built in place (the other set dropped), VACUUM (PostgreSQL) and ANALYZE, then three states:
`at rest`; `backlog`: `--backlog` finished deliveries queued again (as a resend would), all due; `after
backlog`: those delivered again in one committed UPDATE (timed: every index a new row version enters is
written), their old entries left dead (autovacuum is off for the table on PostgreSQL; a timed plain VACUUM
follows, which scans every index of the table). In each: `--rounds` timed `claim_deliveries(limit=20)`
(current code on both index sets: statements, 20 events and their hooks) and `--rounds` timed runs of the
claim's statements alone (captured from the engine), each in its own transaction and rolled back, so the
same rows stay due; a few untimed runs first. On PostgreSQL also, from `EXPLAIN (ANALYZE, BUFFERS)` of the
statements: the index entries their scans returned (a bitmap scan returns every matching entry, dead ones
included; a plain index scan counts only the rows it hands on, so its dead entries show in the buffers
only) and the shared buffers; and the claim indexes' size. The table is vacuumed before the next index set
is built.

The last line is `claim ratio X.XX`: the old median statement time over the new one (above 1: faster
now), the lowest over the databases and states measured.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import shutil
import signal
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

from sqlalchemy import Connection, Engine, event
from sqlalchemy.orm import Session

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.throughput import Stores, cpu_model, package_version
from db.engine import make_engine
from outbox.lease import claim_due
from outbox.queue import DELIVERY_LEASES, claim_deliveries

TENANT = "bench"  # the tenant `Stores.new` creates
#: The claim's indexes as after migration 0026, and as after 0027.
INDEX_SETS: dict[str, list[str]] = {
    "old": [
        "CREATE INDEX ix_deliveries_claim ON deliveries (status, next_attempt_at)",
        "CREATE INDEX ix_deliveries_lease ON deliveries (status, lease_expires_at)",
    ],
    "new": [
        "CREATE INDEX ix_deliveries_due ON deliveries (next_attempt_at) WHERE status = 'queued'",
        "CREATE INDEX ix_deliveries_leased ON deliveries (lease_expires_at)"
        " WHERE status IN ('rendering', 'sending')",
    ],
}
INDEX_NAMES = {
    "old": ["ix_deliveries_claim", "ix_deliveries_lease"],
    "new": ["ix_deliveries_due", "ix_deliveries_leased"],
}
#: Every delivery was made in the year before this; the queued ones are due from then on.
EPOCH = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
NOW = EPOCH + dt.timedelta(days=400)
#: finished rows: 1 in 50 `sent`, 1 in 100 `failed`, 1 in 200 `deviation`, the rest `delivered`
FINISHED_STATUS = (
    "CASE WHEN n % 50 = 1 THEN 'sent' WHEN n % 100 = 2 THEN 'failed' WHEN n % 200 = 3 THEN 'deviation'"
    " ELSE 'delivered' END"
)
COLUMNS = (
    "id, tenant_id, channel, address, chain_position, status, attempt, tries, next_attempt_at,"
    " lease_token, lease_expires_at, created_at, updated_at"
)


@dataclass
class Figures:
    database: str
    index_set: str
    state: str
    #: the claim's statement alone, per run
    times_ms: list[float]
    #: the whole `claim_deliveries` (statement, events, hooks), per run
    claims_ms: list[float]
    entries: int | None = None
    buffers: int | None = None
    index_kib: int | None = None
    backlog_seconds: float | None = None
    vacuum_seconds: float | None = None

    @property
    def median(self) -> float:
        return statistics.median(self.times_ms)

    @property
    def p95(self) -> float:
        ordered = sorted(self.times_ms)
        return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


# -- filling ----------------------------------------------------------------------------------------------


def _rows_sql(kind: str, first: int, count: int, status: str, due_seconds: str, lease: str) -> str:
    """INSERT … SELECT of `count` deliveries numbered from `first`: no Python per row."""
    if kind == "sqlite":
        epoch = "'2026-01-01 00:00:00'"
        stamp = f"strftime('%Y-%m-%d %H:%M:%S', {epoch}, '+' || ({{s}}) || ' seconds') || '.000000'"
        last = first + count - 1
        series = f"WITH RECURSIVE seq(n) AS (SELECT {first} UNION ALL SELECT n + 1 FROM seq WHERE n < {last})"
        ident = "printf('%032x', n)"
        source = "seq"
        prefix, suffix = series + f" INSERT INTO deliveries ({COLUMNS}) SELECT ", f" FROM {source}"
    else:
        stamp = "(timestamp '2026-01-01' + ({s}) * interval '1 second')"
        ident = "lpad(to_hex(n), 32, '0')"
        prefix = f"INSERT INTO deliveries ({COLUMNS}) SELECT "
        suffix = f" FROM generate_series({first}, {first + count - 1}) AS n"
    created = stamp.format(s="n % 31536000")
    due = stamp.format(s=due_seconds)
    lease_until = "NULL" if lease == "none" else stamp.format(s=lease)
    token = "NULL" if lease == "none" else "'" + "b" * 32 + "'"
    statement = (
        prefix
        + f"{ident}, '{TENANT}', 'folder', 'r' || (n % 1000) || '@example.no', 0, {status}, 1, 0, {due},"
        + f" {token}, {lease_until}, {created}, {created}"
        + suffix
    )
    return statement if kind == "sqlite" else statement.replace("%", "%%")  # psycopg: `%%` is `%`


def fill(engine: Engine, kind: str, finished: int, queued: int) -> float:
    """The store's deliveries (seconds taken): finished ones, queued and due ones, a few held."""
    began = time.perf_counter()
    now_seconds = int((NOW - EPOCH).total_seconds())
    with engine.begin() as connection:
        for first in range(0, finished, 250_000):
            count = min(250_000, finished - first)
            connection.exec_driver_sql(_rows_sql(kind, first, count, FINISHED_STATUS, "n % 31536000", "none"))
        # due a second apart, the last one a few minutes before NOW
        connection.exec_driver_sql(
            _rows_sql(kind, finished, queued, "'queued'", f"{now_seconds - 600} - (n - {finished})", "none")
        )
        # held under a lease that is still live: not claimable
        connection.exec_driver_sql(
            _rows_sql(kind, finished + queued, 10, "'sending'", "n % 31536000", str(now_seconds + 3600))
        )
    return time.perf_counter() - began


def use_index_set(engine: Engine, kind: str, name: str) -> None:
    """Drop whichever claim indexes exist, build `name`'s set, ANALYZE (and VACUUM on PostgreSQL)."""
    with engine.begin() as connection:
        for index in [*INDEX_NAMES["old"], *INDEX_NAMES["new"]]:
            connection.exec_driver_sql(f"DROP INDEX IF EXISTS {index}")
        for statement in INDEX_SETS[name]:
            connection.exec_driver_sql(statement)
    if kind == "postgresql":
        with engine.connect() as connection:
            autocommit = connection.execution_options(isolation_level="AUTOCOMMIT")
            autocommit.exec_driver_sql("VACUUM ANALYZE deliveries")
    else:
        with engine.begin() as connection:
            connection.exec_driver_sql("ANALYZE")


def requeue(engine: Engine, count: int) -> None:
    """A backlog: `count` finished deliveries queued again (as a resend would), due since they were made."""
    with engine.begin() as connection:
        connection.exec_driver_sql(
            "UPDATE deliveries SET status = 'queued', next_attempt_at = created_at"
            f" WHERE id IN (SELECT id FROM deliveries WHERE status = 'delivered' ORDER BY id LIMIT {count})"
        )


def deliver_backlog(engine: Engine, count: int) -> float:
    """The backlog delivered (one committed UPDATE); the seconds it took: every index a new row version
    enters is written, and the old versions' entries are left dead until a vacuum."""
    began = time.perf_counter()
    with engine.begin() as connection:
        connection.exec_driver_sql(
            "UPDATE deliveries SET status = 'delivered'"
            f" WHERE id IN (SELECT id FROM deliveries WHERE status = 'queued'"
            f" AND next_attempt_at < '2026-12-01' ORDER BY id LIMIT {count})"
        )
    return time.perf_counter() - began


def vacuum(engine: Engine) -> float:
    """Seconds a plain VACUUM of the table takes (every index of it is scanned for dead entries)."""
    with engine.connect() as connection:
        autocommit = connection.execution_options(isolation_level="AUTOCOMMIT")
        began = time.perf_counter()
        autocommit.exec_driver_sql("VACUUM deliveries")
        return time.perf_counter() - began


# -- measuring --------------------------------------------------------------------------------------------


@contextmanager
def capturing(engine: Engine) -> Iterator[list[tuple[str, Any]]]:
    """The claim's UPDATE statements (and parameters) the engine sends meanwhile."""
    seen: list[tuple[str, Any]] = []

    def capture(
        _conn: Connection, _cursor: Any, statement: str, parameters: Any, _ctx: Any, _many: bool
    ) -> None:
        if statement.lstrip().upper().startswith("UPDATE DELIVERIES"):
            seen.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", capture)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", capture)


def claim_once(engine: Engine) -> float:
    """One `claim_deliveries(limit=20)` (its statements, 20 events and their hooks), rolled back: ms."""
    with engine.connect() as connection:
        transaction = connection.begin()
        began = time.perf_counter()
        claims = claim_deliveries(Session(bind=connection), worker_id="bench", limit=20, now=NOW)
        elapsed = (time.perf_counter() - began) * 1000
        transaction.rollback()
    if len(claims) != 20:
        raise RuntimeError(f"the claim took {len(claims)} deliveries, not 20")
    return elapsed


def claim_before(session: Session, limit: int) -> int:
    """The claim's statement as it was up to migration 0026: one UPDATE whose subquery ORs the queued and
    the expired, statuses bound as parameters, ordered by due time. Returns the rows it took."""
    c = DELIVERY_LEASES.table.c
    claimed = claim_due(
        session,
        DELIVERY_LEASES,
        ready=(c.status == "queued") & (c.next_attempt_at <= NOW),
        held=c.status.in_(["rendering", "sending"]),
        order_by=[c.next_attempt_at],
        limit=limit,
        lease_seconds=60,
        now=NOW,
        holder="bench",
        values={"claimed_from": c.status, "status": "rendering"},
        returning=[c.id],
    )
    return len(claimed.rows)


def claim_statements(engine: Engine, version: str) -> list[tuple[str, Any]]:
    """The UPDATE … RETURNING statements (and parameters) a claim of 20 sends: `before` (0026) or `after`
    (the current `claim_deliveries`), captured from a claim that is rolled back."""
    with capturing(engine) as seen:
        if version == "after":
            claim_once(engine)
        else:
            with engine.connect() as connection:
                transaction = connection.begin()
                claim_before(Session(bind=connection), 20)
                transaction.rollback()
    return list(seen)


def statements_once(engine: Engine, statements: Sequence[tuple[str, Any]]) -> float:
    """The claim's statements alone, in one transaction, rolled back: ms."""
    with engine.connect() as connection:
        transaction = connection.begin()
        began = time.perf_counter()
        taken = sum(len(connection.exec_driver_sql(sql, parameters).all()) for sql, parameters in statements)
        elapsed = (time.perf_counter() - began) * 1000
        transaction.rollback()
    if taken != 20:
        raise RuntimeError(f"the claim's statements took {taken} deliveries, not 20")
    return elapsed


def explain_claim(
    engine: Engine, statements: Sequence[tuple[str, Any]], indexes: Sequence[str]
) -> tuple[int, int, str]:
    """The claim's statements under EXPLAIN (ANALYZE, BUFFERS), rolled back: (index entries the scans of
    `indexes` returned (a bitmap scan: every matching entry, dead ones included; a plain index scan: the
    rows it handed on, as far as the limit), shared buffers hit + read, the scans' node types)."""
    entries, buffers, shapes = 0, 0, []
    with engine.connect() as connection:
        transaction = connection.begin()
        for sql, parameters in statements:
            plan = connection.exec_driver_sql(
                "EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + sql, parameters
            ).scalar_one()
            top = plan[0]["Plan"]
            buffers += int(top.get("Shared Hit Blocks", 0)) + int(top.get("Shared Read Blocks", 0))
            pending = [top]
            while pending:
                node = pending.pop()
                pending.extend(node.get("Plans", []))
                if node.get("Index Name") in indexes:
                    entries += int(node["Actual Rows"]) * int(node["Actual Loops"])
                    shapes.append(f"{node['Node Type']} {node['Index Name']}")
        transaction.rollback()
    return entries, buffers, ", ".join(shapes)


def index_kib(engine: Engine, names: Sequence[str]) -> int:
    listed = ", ".join(f"'{name}'" for name in names)
    with engine.connect() as connection:
        size = connection.exec_driver_sql(
            f"SELECT sum(pg_relation_size(c.oid)) FROM pg_class c WHERE c.relname IN ({listed})"
        ).scalar_one()
    return int(size or 0) // 1024


def measure(engine: Engine, kind: str, index_set: str, state: str, rounds: int) -> Figures:
    """`rounds` whole claims (current code), then `rounds` runs of the claim's statements alone: 0026's
    statement on the old index set, the current ones on the new set (before and after)."""
    for _ in range(5):  # warm: caches, the statement cache, psycopg's prepared statements
        claim_once(engine)
    claims = [claim_once(engine) for _ in range(rounds)]
    statements = claim_statements(engine, "before" if index_set == "old" else "after")
    for _ in range(5):
        statements_once(engine, statements)
    times = [statements_once(engine, statements) for _ in range(rounds)]
    figures = Figures(kind, index_set, state, times, claims)
    if kind == "postgresql":
        names = INDEX_NAMES[index_set]
        figures.entries, figures.buffers, shapes = explain_claim(engine, statements, names)
        figures.index_kib = index_kib(engine, names)
        print(f"  {index_set:>3} {state:<14} plan: {shapes}")
    print(
        f"  {index_set:>3} {state:<14} statement median {figures.median:6.2f} ms p95 {figures.p95:6.2f} ms;"
        f" whole claim median {statistics.median(claims):6.2f} ms"
        + (
            f"; index entries read {figures.entries:,}, buffers {figures.buffers:,},"
            f" claim indexes {figures.index_kib:,} KiB"
            if kind == "postgresql"
            else ""
        ),
        flush=True,
    )
    return figures


def run_database(stores: Stores, kind: str, args: argparse.Namespace) -> list[Figures]:
    store = stores.new(kind, "claim")
    engine = make_engine(store.url)
    try:
        seconds = fill(engine, kind, args.finished, args.queued)
        print(
            f"[{kind}] {args.finished:,} finished + {args.queued} queued: filled in {seconds:.0f} s",
            flush=True,
        )
        if kind == "postgresql":
            with engine.begin() as connection:
                connection.exec_driver_sql("ALTER TABLE deliveries SET (autovacuum_enabled = false)")
        results: list[Figures] = []
        for index_set in ("old", "new"):
            use_index_set(engine, kind, index_set)
            results.append(measure(engine, kind, index_set, "at rest", args.rounds))
            if not args.backlog:
                continue
            requeue(engine, args.backlog)
            results.append(measure(engine, kind, index_set, "backlog", args.rounds))
            seconds = deliver_backlog(engine, args.backlog)
            print(f"  {index_set:>3} backlog of {args.backlog:,} delivered in {seconds:.1f} s", flush=True)
            results.append(measure(engine, kind, index_set, "after backlog", args.rounds))
            results[-1].backlog_seconds = seconds
            if kind == "postgresql":
                results[-1].vacuum_seconds = vacuum(engine)
        return results
    finally:
        engine.dispose()


def print_table(results: list[Figures]) -> float:
    """The side-by-side table; returns the lowest old/new ratio of medians."""
    print()
    print(
        "| database | state | index set | statement median ms | statement p95 ms | whole claim median ms"
        " | index entries read | buffers | claim indexes KiB | backlog delivered s | vacuum s |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for figures in results:
        optional = [figures.entries, figures.buffers, figures.index_kib]
        cells = " | ".join("–" if value is None else f"{value:,}" for value in optional)
        for seconds in (figures.backlog_seconds, figures.vacuum_seconds):
            cells += " | " + ("–" if seconds is None else f"{seconds:.2f}")
        print(
            f"| {figures.database} | {figures.state} | {figures.index_set} | {figures.median:.2f} |"
            f" {figures.p95:.2f} | {statistics.median(figures.claims_ms):.2f} | {cells} |"
        )
    ratios: list[float] = []
    print()
    for figures in results:
        if figures.index_set != "old":
            continue
        [new] = [
            f
            for f in results
            if (f.database, f.state, f.index_set) == (figures.database, figures.state, "new")
        ]
        ratio = figures.median / new.median
        ratios.append(ratio)
        print(f"{figures.database}, {figures.state}: old/new statement median {ratio:.2f}")
    return min(ratios)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--finished", type=int, default=1_000_000)
    parser.add_argument("--queued", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument(
        "--backlog", type=int, default=100_000, help="finished rows queued again, then delivered"
    )
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--tmpdir", default=None)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.queued < 20:
        raise SystemExit("--queued must be at least 20 (one claim takes 20)")

    def terminate(signum: int, _frame: FrameType | None) -> None:
        raise SystemExit(128 + signum)  # unwinds through `finally`, so the temp dir and schema go

    signal.signal(signal.SIGTERM, terminate)
    databases = [name.strip() for name in args.databases.split(",") if name.strip()]
    root = Path(tempfile.mkdtemp(prefix="gateway-bench-claim-", dir=args.tmpdir))
    stores = Stores(root)
    began = time.perf_counter()
    try:
        print(f"machine: {os.cpu_count()} cores ({cpu_model()}), {platform.system()} {platform.release()}")
        print(
            f"Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}, "
            + (
                f"PostgreSQL {stores.postgres_version()}"
                if "postgresql" in databases
                else "PostgreSQL not run"
            )
            + f"; SQLAlchemy {package_version('sqlalchemy')}, psycopg {package_version('psycopg')}"
        )
        print(
            f"finished {args.finished:,}, queued {args.queued}, rounds {args.rounds}, claim limit 20,"
            f" backlog {args.backlog:,}",
            flush=True,
        )
        results: list[Figures] = []
        for kind in databases:
            results.extend(run_database(stores, kind, args))
        lowest = print_table(results)
        print(f"whole run {time.perf_counter() - began:.0f} s")
        print(f"claim ratio {lowest:.2f}")
        return 0
    finally:
        try:
            stores.close()
        finally:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
