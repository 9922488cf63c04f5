"""`GET /invoices` among a million invoices: p50 / p99 per kind of search, on SQLite and PostgreSQL.

    python benchmarks/search.py [--invoices 1000000] [--buyers 20000] [--queries 200]
                                [--databases sqlite,postgresql] [--postgres-url URL]

Each database gets a fresh outbox (SQLite: a temporary file; PostgreSQL: a throw-away schema on the server
named by `--postgres-url`, `GATEWAY_BENCH_POSTGRES_URL` or `GATEWAY_TEST_POSTGRES_URL`, default the test
server, dropped afterwards), migrated as in production. One tenant owns every invoice (the worst case for the
tenant-first indexes); each invoice has its delivery and the canonical payload of a real sample. Rows are
written straight into the tables, the search indexes dropped during the load and built after it, as a bulk
load would (PostgreSQL is then vacuumed and analysed, as autovacuum would; SQLite gets no statistics). Then
every search is a request to the ASGI app with a bearer token (`httpx.ASGITransport`, no network: the
authentication, validation, the queries, the page's deliveries and the JSON answer): a number, part of a
buyer's name, a KID, an amount, `q` with each of those in turn, and a buyer by amount and a second page.
Not a test: it prints the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import os
import random
import secrets
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
from sqlalchemy import Engine, Index, Table, create_engine, insert, select, text

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from db.engine import make_engine, migrate, session_scope
from db.models import BuyerName, Delivery, Deviation, InvoiceRecord
from gateway.api.app import create_app
from gateway.samples import kid_for, sample_invoice
from gateway.services.tenancy.tenants import create_token, ensure_tenant
from gateway.settings import Settings
from schemas.search_keys import folded, search_columns

TENANT = "bench"
DEFAULT_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
CHUNK = 10_000
_FIRST = [
    "Fjord", "Nord", "Vest", "Øst", "Sør", "Midnatt", "Tromsø", "Bergens", "Lofot", "Hardanger", "Ålesund",
    "Kyst", "Fjell", "Skog", "Elv", "Bre", "Måke", "Sjø", "Havørn", "Lyng",
]  # fmt: skip
_TRADE = [
    "Bygg", "Handel", "Drift", "Transport", "Elektro", "Rør", "Maling", "Regnskap", "Data", "Marine", "Mat",
    "Kjøkken", "Verksted", "Eiendom", "Frakt", "Fisk", "Trelast", "Consult", "Energi", "Service",
]  # fmt: skip
_FORM = ["AS", "ASA", "ANS", "DA", "SA"]
#: When the first invoice was accepted, and the time between two (a million span 347 days).
FIRST_CREATED = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
SPACING = dt.timedelta(seconds=30)


def buyer_names(count: int, rng: random.Random) -> list[str]:
    """Distinct customer names as a Norwegian ledger has them (accents, shared words, a number)."""
    return [
        f"{rng.choice(_FIRST)}{rng.choice(['', 'en', 'byen'])} {rng.choice(_TRADE)} {n} {rng.choice(_FORM)}"
        for n in range(count)
    ]


def invoice_rows(
    start: int, stop: int, names: list[str], payload: str, first_created: dt.datetime = FIRST_CREATED
) -> Iterator[tuple[dict[str, Any], ...]]:
    """(invoice, delivery) rows for invoices `start`..`stop`-1: numbers, KIDs and amounts all differ; one
    invoice every `SPACING` from `first_created`. A buyer's search columns are worked out once per buyer
    (folding a name is most of a row's cost), the KID's check digit without a library call."""
    base = first_created
    buyers: dict[int, tuple[str, str, dict[str, Any]]] = {}
    for n in range(start, stop):
        buyer = (n * 7919) % len(names)
        if buyer not in buyers:
            legal = f"9{buyer:08d}"
            name = names[buyer]
            columns = search_columns(name, Decimal(0), legal_id=legal, vat_id=f"NO{legal}MVA", endpoint=legal)
            buyers[buyer] = (name, legal, dict(columns))
        name, legal, columns = buyers[buyer]
        cents = 50_000 + (n * 104_729) % 9_000_000
        issue = dt.date(2025, 1, 1) + dt.timedelta(days=n % 700)
        invoice_id = f"{n:08x}{secrets.token_hex(12)}"
        created = base + n * SPACING
        invoice = {
            "id": invoice_id, "tenant_id": TENANT, "idempotency_key": f"number:invoice:INV-{n:07d}",
            "payload_sha256": "0" * 64, "document_type": "invoice", "number": f"INV-{n:07d}",
            "issue_date": issue, "due_date": issue + dt.timedelta(days=14), "currency": "NOK",
            "payable_amount": f"{cents // 100}.{cents % 100:02d}", "buyer_name": name, "receiver_id": None,
            "payment_reference": _kid(n), "payload": payload, "created_at": created,
            "customer_key": f"org:0192:{legal}", "payment_status": "paid" if n % 3 else "unpaid",
            **columns, "payable_cents": cents,
        }  # fmt: skip
        delivery = {
            "id": f"{n:08x}{secrets.token_hex(12)}", "invoice_id": invoice_id, "tenant_id": TENANT,
            "channel": "peppol" if n % 4 else "email", "format": None, "address": None, "chain_position": 0,
            "status": "delivered" if n % 50 else "deviation", "attempt": 1, "tries": 1,
            "next_attempt_at": created, "created_at": created, "updated_at": created,
        }  # fmt: skip
        yield invoice, delivery


_LUHN_DOUBLED = [0, 2, 4, 6, 8, 1, 3, 5, 7, 9]


def _kid(number: int) -> str:
    """`gateway.samples.kid_for(number)` (a MOD10 KID), computed inline: a million library calls are
    seconds of a load. `load` checks the two agree."""
    base = f"{number:09d}"
    total = 0
    for position, digit in enumerate(reversed(base)):
        total += _LUHN_DOUBLED[int(digit)] if position % 2 == 0 else int(digit)
    return base + str((10 - total % 10) % 10)


@contextlib.contextmanager
def outbox(kind: str, postgres_url: str, directory: Path) -> Iterator[Engine]:
    """A fresh, migrated outbox: a SQLite file, or a PostgreSQL schema dropped at the end."""
    if kind == "sqlite":
        engine = make_engine(f"sqlite:///{directory / 'search-bench.sqlite3'}")
        migrate(engine)
        try:
            yield engine
        finally:
            engine.dispose()
        return
    schema = f"bench_{secrets.token_hex(6)}"
    admin = create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in postgres_url else "?"
    engine = make_engine(f"{postgres_url}{separator}options={quote(f'-csearch_path={schema}')}")
    try:
        migrate(engine)
        yield engine
    finally:
        engine.dispose()
        with admin.connect() as connection:
            connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


def load(
    engine: Engine,
    count: int,
    names: list[str],
    first_created: dt.datetime = FIRST_CREATED,
    receiver_of: Callable[[int], str] | None = None,
    *,
    start: int = 0,
    deviations: bool = False,
) -> float:
    """Write `count` invoices and deliveries (search indexes built after the rows); the seconds it took.
    `receiver_of(n)`: the n-th invoice's customer (receiver id), for benchmarks that need customers;
    `start`: the first invoice's number (a store filled in steps); `deviations`: each delivery in
    `deviation` gets its open deviation (what `GET /deviations` lists).

    The rows go in as plain tuples in big transactions (SQLite: `executemany` with the columns' own bind
    processors, so dates and times are stored as SQLAlchemy stores them, and no fsync while loading;
    PostgreSQL: `COPY`): a million invoices in minutes."""
    started = time.perf_counter()
    payload = sample_invoice(1).model_dump_json(exclude_none=True)
    indexes: list[Index] = [
        *InvoiceRecord.__table__.indexes,  # type: ignore[attr-defined]
        *Delivery.__table__.indexes,  # type: ignore[attr-defined]
    ]
    with engine.begin() as connection:
        for index in indexes:
            index.drop(connection)
    with session_scope(engine) as session:
        ensure_tenant(session, TENANT)
    invoices, deliveries = InvoiceRecord.__table__, Delivery.__table__  # type: ignore[attr-defined]
    stop = start + count
    assert all(_kid(n) == kid_for(n) for n in range(start, start + 50)), "the inline KID differs"
    with _bulk_writer(engine) as write:
        for first in range(start, stop, CHUNK):
            pairs = list(invoice_rows(first, min(first + CHUNK, stop), names, payload, first_created))
            if receiver_of is not None:
                for n, (invoice, _) in enumerate(pairs, first):
                    invoice["receiver_id"] = receiver_of(n)
            write(invoices, [invoice for invoice, _ in pairs])
            write(deliveries, [delivery for _, delivery in pairs])
            if deviations:
                write(
                    Deviation.__table__, [_open_deviation(d) for _, d in pairs if d["status"] == "deviation"]
                )  # type: ignore[attr-defined]
            if first > start and (first - start) % 100_000 == 0:
                print(
                    f"  {first - start:,} invoices written ({time.perf_counter() - started:.0f} s)",
                    flush=True,
                )
    buyers = BuyerName.__table__  # type: ignore[attr-defined]
    with engine.begin() as connection:
        known = set(
            connection.execute(select(buyers.c.name_search).where(buyers.c.tenant_id == TENANT)).scalars()
        )
        new_names = sorted({folded(n)[:200] for n in names} - known)
        if new_names:
            connection.execute(
                insert(buyers), [{"tenant_id": TENANT, "name_search": name} for name in new_names]
            )
        for index in indexes:
            index.create(connection)
    if engine.dialect.name == "postgresql":  # what autovacuum does after a load; SQLite gets no statistics
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("VACUUM ANALYZE"))
    return time.perf_counter() - started


def _open_deviation(delivery: dict[str, Any]) -> dict[str, Any]:
    """The open deviation of a delivery loaded in `deviation`."""
    return {
        "id": delivery["id"][::-1], "tenant_id": delivery["tenant_id"], "delivery_id": delivery["id"],
        "invoice_id": delivery["invoice_id"], "attempt": 1, "channel": delivery["channel"],
        "cause": "rejected", "detail": "the receiver refused it", "opened_at": delivery["updated_at"],
    }  # fmt: skip


@contextlib.contextmanager
def _bulk_writer(engine: Engine) -> Iterator[Callable[[Table, list[dict[str, Any]]], None]]:
    """`write(table, rows)`: rows appended as fast as the database takes them, all in one transaction."""
    dialect = engine.dialect
    pooled = engine.raw_connection()
    raw: Any = pooled.driver_connection
    sqlite = dialect.name == "sqlite"
    if sqlite:  # for the fill only (a lost fill is simply run again); the engine's settings come back after
        raw.execute("PRAGMA synchronous=OFF")
        raw.execute("PRAGMA foreign_keys=OFF")
        raw.execute("PRAGMA cache_size=-200000")
        raw.execute("BEGIN IMMEDIATE")

    def write(table: Table, rows: list[dict[str, Any]]) -> None:
        if not rows:
            return
        names = list(rows[0])
        columns = ", ".join(f'"{name}"' for name in names)
        if sqlite:
            processors = [
                (position, process)
                for position, name in enumerate(names)
                if (process := table.c[name].type.dialect_impl(dialect).bind_processor(dialect)) is not None
            ]
            # a value converted once: a row's timestamps repeat each other (every timestamp column is the
            # one UTC type, every date column the one date type), and dates repeat across rows
            stored: dict[Any, Any] = {}
            tuples = []
            for row in rows:
                values = list(row.values())
                for position, process in processors:
                    value = values[position]
                    if value is not None:
                        key = (type(value), value)
                        if key not in stored:
                            stored[key] = process(value)
                        values[position] = stored[key]
                tuples.append(values)
            marks = ", ".join("?" for _ in names)
            raw.executemany(f'INSERT INTO "{table.name}" ({columns}) VALUES ({marks})', tuples)
            return
        with raw.cursor() as cursor, cursor.copy(f'COPY "{table.name}" ({columns}) FROM STDIN') as copy:
            for row in rows:
                copy.write_row(tuple(row.values()))

    try:
        yield write
        raw.execute("COMMIT") if sqlite else raw.commit()
    except BaseException:
        raw.execute("ROLLBACK") if sqlite else raw.rollback()
        raise
    finally:
        if sqlite:
            raw.execute("PRAGMA synchronous=NORMAL")
            raw.execute("PRAGMA foreign_keys=ON")
        pooled.close()


def searches(
    count: int, names: list[str], rng: random.Random, queries: int
) -> dict[str, list[dict[str, str]]]:
    """`queries` searches of each kind, for values that exist."""

    def some_invoice() -> int:
        return rng.randrange(count)

    def name_part() -> str:
        name = names[(some_invoice() * 7919) % len(names)]
        length = rng.randint(5, 12)
        start = rng.randrange(max(len(name) - length, 1))
        return name[start : start + length].strip() or name

    def amount() -> str:
        return str(Decimal(50_000 + (some_invoice() * 104_729) % 9_000_000) / 100)

    makers: dict[str, Callable[[], str]] = {
        "number": lambda: f"INV-{some_invoice():07d}",
        "buyer": name_part,
        "kid": lambda: kid_for(some_invoice()),
        "amount": amount,
    }
    kinds: dict[str, list[dict[str, str]]] = {
        kind: [{kind: make()} for _ in range(queries)] for kind, make in makers.items()
    }
    one_box = list(makers.values())
    kinds["q"] = [{"q": one_box[i % len(one_box)]()} for i in range(queries)]
    kinds["buyer, sorted by amount"] = [{"buyer": name_part(), "sort": "-amount"} for _ in range(queries)]
    kinds["buyer, second page"] = [{"buyer": name_part(), "page": "2"} for _ in range(queries)]
    kinds["status deviation (2 %)"] = [{"status": "deviation"} for _ in range(queries)]
    kinds["nothing: newest first"] = [{} for _ in range(queries)]
    return kinds


async def measure(client: httpx.AsyncClient, params: dict[str, str]) -> tuple[float, int]:
    """Seconds for one search (or for its second page, when asked), and how many invoices it listed."""
    wanted = {k: v for k, v in params.items() if k != "page"}
    started = time.perf_counter()
    answer = await client.get("/invoices", params={**wanted, "limit": "50"})
    if params.get("page") == "2" and answer.json()["next"]:
        started = time.perf_counter()
        answer = await client.get(answer.json()["next"])
    elapsed = time.perf_counter() - started
    assert answer.status_code == 200, answer.text
    return elapsed, len(answer.json()["items"])


async def measure_all(
    app: Any, token: str, warm_up: dict[str, list[dict[str, str]]], kinds: dict[str, list[dict[str, str]]]
) -> dict[str, Any]:
    """p50 / p99 per kind, each search a request to the ASGI app (as a server would make it)."""
    transport = httpx.ASGITransport(app=app)
    headers = {"Authorization": f"Bearer {token}"}
    report: dict[str, Any] = {}
    async with httpx.AsyncClient(transport=transport, base_url="http://bench", headers=headers) as client:
        for searches_of_a_kind in warm_up.values():  # compiled statements, warm pages
            for params in searches_of_a_kind:
                await measure(client, params)
        for name, searches_of_a_kind in kinds.items():
            timings = [await measure(client, params) for params in searches_of_a_kind]
            millis = [seconds * 1000 for seconds, _ in timings]
            report[name] = {
                "p50_ms": round(statistics.median(millis), 1),
                "p99_ms": round(percentile(millis, 0.99), 1),
                "max_ms": round(max(millis), 1),
                "found_median": statistics.median(found for _, found in timings),
            }
    return report


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(int(share * len(ordered)), len(ordered) - 1)]


def run(kind: str, args: argparse.Namespace, directory: Path) -> dict[str, Any]:
    rng = random.Random(14)
    names = buyer_names(args.buyers, rng)
    with outbox(kind, args.postgres_url, directory) as engine:
        print(f"{kind}: writing {args.invoices:,} invoices …", flush=True)
        seconds = load(engine, args.invoices, names)
        with session_scope(engine) as session:
            token = create_token(session, TENANT, "bench")
        url = engine.url.render_as_string(hide_password=False)
        settings = Settings(database_url=url, data_dir=directory, _env_file=None)  # type: ignore[call-arg]
        report: dict[str, Any] = {"database": kind, "invoices": args.invoices, "load_s": round(seconds)}
        app = create_app(settings, engine)
        warm_up = searches(args.invoices, names, rng, 5)
        kinds = searches(args.invoices, names, rng, args.queries)
        report.update(asyncio.run(measure_all(app, token, warm_up, kinds)))
        return report


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--invoices", type=int, default=1_000_000)
    parser.add_argument("--buyers", type=int, default=20_000, help="distinct customers among the invoices")
    parser.add_argument("--queries", type=int, default=200, help="searches of each kind")
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get(
            "GATEWAY_BENCH_POSTGRES_URL", os.environ.get("GATEWAY_TEST_POSTGRES_URL", DEFAULT_POSTGRES)
        ),
    )
    args = parser.parse_args()
    for kind in args.databases.split(","):
        with tempfile.TemporaryDirectory(prefix="search-bench-") as directory:
            print(json.dumps(run(kind.strip(), args, Path(directory)), indent=2), flush=True)


if __name__ == "__main__":
    main()
