"""Put and get throughput of each document store: the local folder, PostgreSQL (chunked rows) and S3 (moto's
server on loopback, so the S3 figure is moto's speed, not AWS's).

    python benchmarks/document_stores.py [--large-mib 5] [--large 8] [--small 200]
                                         [--stores local,postgresql,s3]

Large documents (a scanned POD, a big remittance file) give MiB/s; small ones (an invoice as sent, ~10 KiB)
give operations per second, where the per-request cost dominates. Every document is new (random bytes), so
a put really writes; a second put of the same bytes (the idempotent path: checked, not written) is timed
too. Each get hashes what it read, as in production. Needs PostgreSQL at 127.0.0.1:5432 (trust auth,
database `test`; `BENCH_POSTGRES_URL` overrides it); a throw-away schema is dropped at the end.
"""

from __future__ import annotations

import argparse
import os
import platform
import secrets
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import create_engine, text

from db.engine import make_engine
from gateway.services.outbound.document_postgres import PostgresDocumentStore, create_document_tables
from gateway.services.outbound.document_s3 import S3DocumentStore, S3Location
from gateway.services.outbound.documents import DocumentStore, LocalDocumentStore

POSTGRES_URL = os.environ.get("BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
MIB = 1024 * 1024


@contextmanager
def local_store() -> Iterator[DocumentStore]:
    with tempfile.TemporaryDirectory() as directory:
        yield LocalDocumentStore(Path(directory))


@contextmanager
def postgres_store() -> Iterator[DocumentStore]:
    schema = f"bench_{secrets.token_hex(4)}"
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine = make_engine(f"{POSTGRES_URL}?options={quote(f'-csearch_path={schema}')}")
    try:
        create_document_tables(engine)
        yield PostgresDocumentStore(engine)
    finally:
        engine.dispose()
        with admin.connect() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@contextmanager
def s3_store() -> Iterator[DocumentStore]:
    from tests.document_stores import running_s3_server

    servers = running_s3_server()
    server: Any = next(servers)
    try:
        yield S3DocumentStore(S3Location.from_url(server.url(server.new_bucket())))
    finally:
        servers.close()


STORES: dict[str, Callable[[], Any]] = {"local": local_store, "postgresql": postgres_store, "s3": s3_store}


def timed(action: Callable[[], object], times: int) -> float:
    started = time.perf_counter()
    for _ in range(times):
        action()
    return time.perf_counter() - started


def measure(store: DocumentStore, size: int, count: int) -> dict[str, float]:
    documents = [os.urandom(size) for _ in range(count)]
    keys: list[str] = []
    started = time.perf_counter()
    for data in documents:
        keys.append(store.put(data))
    put = time.perf_counter() - started
    started = time.perf_counter()
    for data in documents:
        store.put(data)
    again = time.perf_counter() - started
    started = time.perf_counter()
    for key, data in zip(keys, documents, strict=True):
        assert store.get(key) == data
    get = time.perf_counter() - started
    megabytes = size * count / MIB
    return {
        "put MiB/s": megabytes / put,
        "get MiB/s": megabytes / get,
        "put/s": count / put,
        "get/s": count / get,
        "put again/s": count / again,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--large-mib", type=float, default=5.0, help="size of a large document")
    parser.add_argument("--large", type=int, default=8, help="large documents per store")
    parser.add_argument("--small", type=int, default=200, help="10 KiB documents per store")
    parser.add_argument("--stores", default="local,postgresql,s3")
    args = parser.parse_args()
    machine = platform.processor() or platform.machine()
    print(f"cores: {os.cpu_count()}; {machine}; Python {platform.python_version()}")
    heads = ("put MiB/s", "get MiB/s", "put/s", "get/s", "again/s")
    print(f"{'store':<11} {'document':<10} " + " ".join(f"{h:>10}" for h in heads))
    for name in args.stores.split(","):
        with STORES[name]() as store:
            store.put(b"warm-up")
            for label, size, count in (
                (f"{args.large_mib:g} MiB", int(args.large_mib * MIB), args.large),
                ("10 KiB", 10 * 1024, args.small),
            ):
                row = measure(store, size, count)
                figures = (row[h] for h in ("put MiB/s", "get MiB/s", "put/s", "get/s", "put again/s"))
                print(f"{name:<11} {label:<10} " + " ".join(f"{f:>10.1f}" for f in figures))


if __name__ == "__main__":
    main()
