"""Flat cost as the store grows: intake, delivery, claim, search and the deviation list at 0 … 1M invoices.

    python benchmarks/scale.py [--databases sqlite,postgresql] [--sizes 1000,100000,1000000]
                               [--intake 2000] [--batch 500] [--baseline-code DIR] [--postgres-url URL]

Each database gets one fresh outbox (SQLite: a temporary file; PostgreSQL: a throw-away schema on the server
named by `--postgres-url` or `BENCH_POSTGRES_URL`, default the test server, dropped afterwards), migrated as
in production. It is measured empty, then filled to each size in turn with `benchmarks.search.load` (rows
written straight into the tables, nearly every delivery `delivered`, one in fifty in `deviation` with its
open deviation) and measured again:

* intake: `accept_invoices` of `--intake` new invoices in batches of `--batch` (invoices/s), in a child
  process whose `PYTHONPATH` is the code measured; with `--baseline-code DIR` the same again with the code
  in DIR (e.g. the session's starting checkout), on the same store, at the empty store and the top size;
  the best of `--repeat` runs, the two codes taking turns (other work on a shared machine only slows);
* end to end: those invoices delivered through the folder channel by `Worker(...).run(once=True)`;
* claim: median of `claim_deliveries(limit=20)` over the queued rows (each rolled back, so all stay queued);
* `GET /invoices` (a number, part of a buyer's name, a KID, newest first, deliveries in deviation) and
  `GET /deviations`: median ms of requests to the ASGI app.

Then the table, and as its last lines one per database: `intake ratio X.XX`, intake at the largest size over
intake into the empty store. Not a test: it prints the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import platform
import random
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import Engine, func, select, text, update
from sqlalchemy.orm import Session

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.search import TENANT, buyer_names, load, outbox, searches  # noqa: E402
from db.engine import session_scope  # noqa: E402
from db.models import Delivery  # noqa: E402
from gateway.api.app import create_app  # noqa: E402
from gateway.samples import sample_invoice_json  # noqa: E402
from gateway.services.tenancy.tenants import create_token  # noqa: E402
from gateway.settings import Settings  # noqa: E402
from gateway.worker import Worker  # noqa: E402
from outbox.queue import claim_deliveries  # noqa: E402

DEFAULT_POSTGRES = os.environ.get("BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
SEARCH_KINDS = ("number", "buyer", "kid", "nothing: newest first", "status deviation (2 %)")

#: The intake child: only the code under test is imported (from its PYTHONPATH), nothing of this tree.
INTAKE_CHILD = """
import json, sys, time
from db.engine import make_engine
from gateway.services.outbound.intake import IntakeItem, accept_invoices
url, path, batch, tenant = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
warm_up, invoices = json.loads(open(path).read())
engine = make_engine(url)
accept_invoices(engine, tenant, [IntakeItem(i) for i in warm_up], actor="bench", default_channel="folder")
created = 0
started = time.perf_counter()
for first in range(0, len(invoices), batch):
    items = [IntakeItem(i) for i in invoices[first:first + batch]]
    results = accept_invoices(engine, tenant, items, actor="bench", default_channel="folder")
    created += sum(1 for r in results if r.outcome == "created")
seconds = time.perf_counter() - started
engine.dispose()
print(json.dumps({"seconds": seconds, "created": created}))
"""


def new_invoices(label: str, count: int) -> list[dict[str, Any]]:
    """`count` sample invoices under numbers no other run of this benchmark uses."""
    invoices = []
    for n in range(count):
        invoice = sample_invoice_json(n % 50 + 1)
        invoice["number"] = f"S-{label}-{n:05d}"
        invoices.append(invoice)
    return invoices


def intake(url: str, code: Path, label: str, count: int, batch: int, directory: Path) -> float:
    """Invoices/s of `accept_invoices` with the code in `code`, in a child process."""
    path = directory / f"intake-{label}.json"
    path.write_text(json.dumps([new_invoices(f"{label}-warm", 20), new_invoices(label, count)]))
    env = {**os.environ, "PYTHONPATH": str(code)}
    done = subprocess.run(
        [sys.executable, "-c", INTAKE_CHILD, url, str(path), str(batch), TENANT],
        env=env, cwd=code, capture_output=True, text=True, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        raise RuntimeError(f"intake child ({code}) failed:\n{done.stderr[-3000:]}")
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    if figures["created"] != count:
        raise RuntimeError(f"intake child ({code}) created {figures['created']} of {count}")
    return float(count / figures["seconds"])


def queued(engine: Engine) -> int:
    with session_scope(engine) as session:
        return int(
            session.execute(select(func.count()).where(Delivery.status == "queued")).scalar_one()  # type: ignore[arg-type]
        )


def claim_ms(engine: Engine, rounds: int = 25) -> float:
    """Median ms of one claim of 20 queued deliveries (rolled back: the queue stays as it was)."""
    millis = []
    for n in range(rounds + 3):
        with Session(engine) as session:
            started = time.perf_counter()
            claims = claim_deliveries(session, worker_id="bench-claim", limit=20, lease_seconds=60)
            elapsed = time.perf_counter() - started
            session.rollback()
        if len(claims) != 20:
            raise RuntimeError(f"claimed {len(claims)} of 20 queued deliveries")
        if n >= 3:  # the first ones compile the statements
            millis.append(elapsed * 1000)
    return statistics.median(millis)


def deliver(engine: Engine, url: str, directory: Path) -> float:
    """Invoices/s delivered through the folder channel by one in-process worker, until none is queued
    (the intake's invoices and its warm-up's)."""
    settings = Settings(
        database_url=url,
        data_dir=directory / "gateway-data",
        channels={"folder": {"directory": str(directory / "outbound"), "fsync": True}},
        _env_file=None,  # type: ignore[call-arg]
    )
    count = queued(engine)
    started = time.perf_counter()
    delivered = 0
    while queued(engine):
        stats = Worker(engine, settings, worker_id="bench-worker").run(once=True)
        delivered += stats.outcomes.get("delivered", 0)
    elapsed = time.perf_counter() - started
    if delivered != count:
        raise RuntimeError(f"the worker delivered {delivered} of {count}")
    return count / elapsed


async def requests_ms(app: Any, token: str, size: int, names: list[str]) -> tuple[float, float]:
    """Median ms of `GET /invoices` (the `SEARCH_KINDS`) and of `GET /deviations`."""
    rng = random.Random(size)
    kinds = searches(max(size, 1), names, rng, 12)
    transport = httpx.ASGITransport(app=app)
    headers = {"Authorization": f"Bearer {token}"}
    search: list[float] = []
    deviations: list[float] = []
    async with httpx.AsyncClient(transport=transport, base_url="http://bench", headers=headers) as client:
        for _warm_up in range(2):
            await client.get("/invoices", params={"limit": "50"})
            await client.get("/deviations", params={"limit": "50"})
        for kind in SEARCH_KINDS:
            for params in kinds[kind]:
                started = time.perf_counter()
                answer = await client.get("/invoices", params={**params, "limit": "50"})
                search.append((time.perf_counter() - started) * 1000)
                assert answer.status_code == 200, answer.text
        for _ in range(20):
            started = time.perf_counter()
            answer = await client.get("/deviations", params={"limit": "50"})
            deviations.append((time.perf_counter() - started) * 1000)
            assert answer.status_code == 200, answer.text
    return statistics.median(search), statistics.median(deviations)


def measure(
    kind: str,
    engine: Engine,
    size: int,
    args: argparse.Namespace,
    directory: Path,
    names: list[str],
    token: str,
) -> dict[str, Any]:
    """One row of the table: every figure at `size` stored invoices."""
    url = engine.url.render_as_string(hide_password=False)
    row: dict[str, Any] = {"database": kind, "invoices": size}
    label = f"{kind[:2]}{size}"
    rates = [intake(url, ROOT, label, args.intake, args.batch, directory)]
    row["claim_ms"] = claim_ms(engine)
    row["e2e_per_s"] = deliver(engine, url, directory / label)
    baseline = args.baseline_code and (size == 0 or size == max(args.sizes))
    base_rates = []
    for repeat in range(args.repeat):  # best of `--repeat`, the two codes taking turns (a shared machine)
        if baseline:
            base_rates.append(
                intake(url, args.baseline_code, f"{label}b{repeat}", args.intake, args.batch, directory)
            )
        if repeat:
            rates.append(intake(url, ROOT, f"{label}r{repeat}", args.intake, args.batch, directory))
    row["intake_per_s"] = max(rates)
    if base_rates:
        row["baseline_intake_per_s"] = max(base_rates)
    with session_scope(engine) as session:  # the repeats' deliveries are not the next size's queue
        session.execute(update(Delivery).where(Delivery.status == "queued").values(status="delivered"))  # type: ignore[arg-type]
    settings = Settings(database_url=url, data_dir=directory / "api-data", _env_file=None)  # type: ignore[call-arg]
    app = create_app(settings, engine)
    logging.getLogger().setLevel(logging.WARNING)  # not a line per request
    row["search_ms"], row["deviations_ms"] = asyncio.run(requests_ms(app, token, size, names))
    print(
        "  " + json.dumps({k: round(v, 2) if isinstance(v, float) else v for k, v in row.items()}), flush=True
    )
    return row


def run(kind: str, args: argparse.Namespace, directory: Path) -> list[dict[str, Any]]:
    names = buyer_names(args.buyers, random.Random(14))
    rows = []
    with outbox(kind, args.postgres_url, directory) as engine:
        with session_scope(engine) as session:
            token = create_token(session, TENANT, "bench")
        stored = 0
        for size in [0, *args.sizes]:
            if size > stored:
                print(f"{kind}: filling to {size:,} invoices …", flush=True)
                seconds = load(engine, size - stored, names, start=stored, deviations=True)
                print(f"  {size - stored:,} invoices in {seconds:.0f} s", flush=True)
                stored = size
            print(f"{kind}: measuring at {size:,} invoices", flush=True)
            rows.append(measure(kind, engine, size, args, directory, names, token))
        if kind == "postgresql":
            with engine.connect() as connection:
                args.postgres_version = connection.execute(text("SHOW server_version")).scalar_one()
    return rows


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "?"


def table(rows: list[dict[str, Any]]) -> list[str]:
    header = (
        f"{'database':<11}{'invoices':>10}{'intake/s':>10}{'base/s':>9}{'e2e/s':>8}{'claim ms':>10}"
        f"{'search ms':>11}{'deviations ms':>15}"
    )
    lines = [header, "-" * len(header)]
    for row in rows:
        base = row.get("baseline_intake_per_s")
        lines.append(
            f"{row['database']:<11}{row['invoices']:>10,}{row['intake_per_s']:>10.0f}"
            f"{(f'{base:.0f}' if base else '-'):>9}{row['e2e_per_s']:>8.0f}{row['claim_ms']:>10.2f}"
            f"{row['search_ms']:>11.1f}{row['deviations_ms']:>15.1f}"
        )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--sizes", default="1000,100000,1000000", help="stored invoices, comma-separated")
    parser.add_argument("--intake", type=int, default=2000, help="new invoices per intake measurement")
    parser.add_argument("--batch", type=int, default=500, help="invoices per accept_invoices call")
    parser.add_argument("--buyers", type=int, default=20_000, help="distinct customers among the invoices")
    parser.add_argument("--repeat", type=int, default=3, help="intake measured this often; the best counts")
    parser.add_argument("--baseline-code", type=Path, help="a checkout whose intake is measured beside")
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES)
    args = parser.parse_args()
    args.sizes = sorted(int(size) for size in args.sizes.split(","))
    args.postgres_version = "-"
    started = time.perf_counter()
    rows: list[dict[str, Any]] = []
    databases = [kind.strip() for kind in args.databases.split(",")]
    for kind in databases:
        with tempfile.TemporaryDirectory(prefix="scale-bench-") as directory:
            rows += run(kind, args, Path(directory))
    print(
        f"cores {os.cpu_count()}; CPU {cpu_model()}; Python {platform.python_version()}; "
        f"SQLite {sqlite3.sqlite_version}; PostgreSQL {args.postgres_version}; intake {args.intake} "
        f"in batches of {args.batch}; {time.perf_counter() - started:.0f} s in all"
    )
    if args.baseline_code:
        print(f"base/s: intake with the code in {args.baseline_code} on the same store")
    print("\n".join(table(rows)))
    for kind in databases:
        mine = [row for row in rows if row["database"] == kind]
        empty, top = mine[0], mine[-1]
        if args.baseline_code:
            ratio = top["baseline_intake_per_s"] / empty["baseline_intake_per_s"]
            print(f"{kind}: baseline intake ratio {ratio:.2f} (at {top['invoices']:,} over empty)")
    for kind in databases:
        mine = [row for row in rows if row["database"] == kind]
        print(f"{kind}: intake ratio {mine[-1]['intake_per_s'] / mine[0]['intake_per_s']:.2f}")


if __name__ == "__main__":
    main()
