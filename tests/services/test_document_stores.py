"""One contract for every document store (local folder, PostgreSQL, S3 on a real S3-protocol server): the
same tests, like fsspec's abstract filesystem tests, run against each through the `store` fixture.

The backend is reached directly (`tests.document_stores.corrupt`) to damage what a store keeps: a store
must notice on read, whatever the damage, and a put of the same bytes must repair it.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gateway.services.outbound.document_postgres import PostgresDocumentStore, create_document_tables
from gateway.services.outbound.document_s3 import S3DocumentStore, S3Location
from gateway.services.outbound.documents import (
    DocumentCorrupted,
    DocumentMissing,
    ListableDocumentStore,
    LocalDocumentStore,
    content_key,
    put_documents,
)
from tests.conftest import PostgresSchema
from tests.document_stores import SECRET_KEY, chunk_count, corrupt

STORES = ["local", "postgresql", "s3"]
MISSING = "00/00/" + "0" * 64
NOT_KEYS = ["../../etc/passwd", "ab/cd/../../x", "/etc/passwd", "AB/CD/" + "A" * 64, ""]


@pytest.fixture(params=STORES)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ListableDocumentStore]:
    if request.param == "local":
        yield LocalDocumentStore(tmp_path / "documents")
    elif request.param == "postgresql":
        from db.engine import make_engine

        schema = PostgresSchema()
        engine = make_engine(schema.url, pool_size=2)
        try:
            create_document_tables(engine)
            yield PostgresDocumentStore(engine)
        finally:
            engine.dispose()
            schema.drop()
    else:
        server: Any = request.getfixturevalue("s3_server")
        yield S3DocumentStore(S3Location.from_url(server.url(server.new_bucket())))


def test_round_trip_by_content_key(store: ListableDocumentStore) -> None:
    data = b"%PDF-1.7 invoice as sent"
    key = store.put(data)
    assert key == content_key(data) and key.endswith(hashlib.sha256(data).hexdigest())
    assert store.exists(key)
    assert store.get(key) == data
    assert list(store.keys()) == [key]


def test_the_empty_document_is_a_document(store: ListableDocumentStore) -> None:
    key = store.put(b"")
    assert store.exists(key) and store.get(key) == b""


def test_putting_the_same_bytes_again_is_one_document(store: ListableDocumentStore) -> None:
    first = store.put(b"same bytes")
    assert store.put(b"same bytes") == first
    other = store.put(b"other bytes")
    assert sorted(store.keys()) == sorted({first, other})
    assert store.get(first) == b"same bytes" and store.get(other) == b"other bytes"


def test_a_missing_document_is_reported(store: ListableDocumentStore) -> None:
    assert not store.exists(MISSING)
    with pytest.raises(DocumentMissing, match="not in the store"):
        store.get(MISSING)


@pytest.mark.parametrize("key", NOT_KEYS)
def test_anything_but_a_content_key_is_never_looked_up(store: ListableDocumentStore, key: str) -> None:
    assert not store.exists(key)
    with pytest.raises(DocumentMissing):
        store.get(key)


@pytest.mark.parametrize("damage", [b"original bytez", b"", b"original bytes and more"])
def test_corrupted_bytes_are_caught_on_read_and_repaired_by_a_put(
    store: ListableDocumentStore, damage: bytes
) -> None:
    key = store.put(b"original bytes")
    corrupt(store, key, damage)
    with pytest.raises(DocumentCorrupted, match="corrupted"):
        store.get(key)
    assert store.exists(key)  # there, but damaged: a put of the same bytes mends it
    assert store.put(b"original bytes") == key
    assert store.get(key) == b"original bytes"


def test_several_documents_put_in_one_step_are_each_as_put_alone(store: ListableDocumentStore) -> None:
    """`put_documents` (PostgreSQL: one transaction; the others one put each): keys in order, the same
    bytes twice one document, an intact one kept, a damaged one repaired, the empty and a large one too."""
    kept, damaged = store.put(b"kept before"), store.put(b"damaged before")
    corrupt(store, damaged, b"damaged befor")
    large = os.urandom(2 * 1024 * 1024 + 3)
    datas = [b"one", b"two", b"one", b"kept before", b"damaged before", b"", large]
    keys = put_documents(store, datas)
    assert keys == [content_key(data) for data in datas]
    assert keys[3] == kept and keys[4] == damaged
    assert [store.get(key) for key in keys] == datas
    assert len(set(store.keys())) == 6
    if isinstance(store, PostgresDocumentStore):
        assert [chunk_count(store, key) for key in (keys[0], keys[5], keys[6])] == [1, 0, 3]


def test_a_large_document_round_trips_in_chunks(store: ListableDocumentStore) -> None:
    data = os.urandom(5 * 1024 * 1024 + 17)  # five full 1 MiB chunks and a short one
    key = store.put(data)
    assert store.get(key) == data
    if isinstance(store, PostgresDocumentStore):
        assert chunk_count(store, key) == 6
    assert store.put(data) == key  # checked in place, not written again
    assert list(store.keys()) == [key]


def test_two_threads_putting_the_same_document_at_once(store: ListableDocumentStore) -> None:
    data = os.urandom(2 * 1024 * 1024 + 5)
    start = threading.Barrier(2)
    keys: list[str] = []
    failures: list[BaseException] = []

    def put() -> None:
        start.wait()
        try:
            keys.append(store.put(data))
        except BaseException as error:  # pragma: no cover - reported below
            failures.append(error)

    threads = [threading.Thread(target=put) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert keys == [content_key(data)] * 2
    assert store.get(keys[0]) == data
    assert list(store.keys()) == [keys[0]]
    if isinstance(store, PostgresDocumentStore):
        assert chunk_count(store, keys[0]) == 3  # not written twice


def test_a_store_never_shows_its_credentials(store: ListableDocumentStore) -> None:
    shown = repr(store)
    assert SECRET_KEY not in shown and "secret" not in shown.lower()
    if isinstance(store, S3DocumentStore):
        assert SECRET_KEY not in repr(store.location) and "**********" in repr(store.location)
