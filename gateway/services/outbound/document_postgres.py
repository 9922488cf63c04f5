"""Documents kept in PostgreSQL: every host of an installation reads what any host stored, with nothing to
set up beyond the outbox's database.

Chunked rows (`document_blobs` header + `document_chunks`, see `db.models.documents`) rather than large
objects: rows are portable (`pg_dump`, replication, a dropped schema takes them along, the usual size
queries count them), need no `lo_unlink` bookkeeping for orphans nor large-object privileges, and a chunk is
a bounded parameter (1 MiB by default) so a 200 MB remittance file is never one giant statement. The header
and every chunk are written in one transaction, so a reader never sees half a document; the header is
inserted first with `ON CONFLICT DO NOTHING`, so a second writer of the same bytes waits for the first to
commit and then finds the document there (idempotent, also between hosts). A put of a key that is already
there checks the stored chunks' lengths and SHA-256 in the database (`sha256(data)` per chunk: no bytes
travel back) and rewrites them only when they were damaged, as the local store repairs a corrupted file.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from typing import Any

from sqlalchemy import Connection, Engine, Table, delete, func, select, text, update
from sqlalchemy.dialects.postgresql import insert

from db.models import DocumentBlob, DocumentChunk, utcnow
from gateway.services.outbound.documents import (
    DocumentCorrupted,
    DocumentMissing,
    content_key,
    is_document_key,
)

#: One chunk row's bytes: small enough for a bounded statement and memory, large enough that a 20 MB PDF is
#: 20 rows.
CHUNK_BYTES = 1024 * 1024
_BLOBS: Table = DocumentBlob.__table__  # type: ignore[attr-defined]
_CHUNKS: Table = DocumentChunk.__table__  # type: ignore[attr-defined]
#: Serialises the creation of the tables in a documents database of its own (hosts starting together).
_CREATE_LOCK_KEY = 0x646F_6373  # "docs"


def create_document_tables(engine: Engine) -> None:
    """The two tables in a PostgreSQL database that is not the outbox (the outbox's are made by migration
    0015); a no-op when they exist."""
    with engine.begin() as connection:
        connection.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _CREATE_LOCK_KEY})
        _BLOBS.create(connection, checkfirst=True)
        _CHUNKS.create(connection, checkfirst=True)


class PostgresDocumentStore:
    """Documents as chunked rows in PostgreSQL, checked against their SHA-256 on every read."""

    def __init__(self, engine: Engine, *, chunk_bytes: int = CHUNK_BYTES) -> None:
        if engine.dialect.name != "postgresql":
            raise ValueError("the database document store needs PostgreSQL")
        self.engine = engine
        self.chunk_bytes = chunk_bytes

    def __repr__(self) -> str:
        return f"PostgresDocumentStore({self.engine.url.render_as_string(hide_password=True)!r})"

    def put(self, data: bytes) -> str:
        return self.put_many([data])[0]

    def put_many(self, datas: Sequence[bytes]) -> list[str]:
        """Every document of `datas` in ONE transaction (their keys, in order): the headers inserted by one
        statement, the one-chunk documents' chunks by another, so a worker's claim batch of stored copies
        costs one commit instead of one each. A document already there is checked (and repaired) as by
        `put`, under its header's row lock."""
        keys = [content_key(data) for data in datas]
        pending = dict(zip(keys, datas, strict=True))  # the same key twice: the same bytes
        if not pending:
            return keys
        now = utcnow()
        headers = [
            {
                "key": key,
                "size": len(data),
                "sha256": key[-64:],
                "chunk_size": self.chunk_bytes,
                "created_at": now,
            }
            for key, data in pending.items()
        ]
        with self.engine.begin() as connection:
            statement = insert(_BLOBS).on_conflict_do_nothing(index_elements=["key"]).returning(_BLOBS.c.key)
            created = set(connection.execute(statement, headers).scalars())
            # there already (perhaps written a moment ago by another host): kept when intact, else rewritten
            write = [
                key for key in pending if key in created or not self._keep(connection, key, pending[key])
            ]
            single = [key for key in write if 0 < len(pending[key]) <= self.chunk_bytes]
            if single:
                rows = [{"key": key, "seq": 0, "data": pending[key]} for key in single]
                connection.execute(_CHUNKS.insert(), rows)
            for key in write:
                if len(pending[key]) > self.chunk_bytes:  # chunk by chunk: a big document is not copied twice
                    for seq, chunk in enumerate(self._chunks(pending[key])):
                        connection.execute(_CHUNKS.insert().values(key=key, seq=seq, data=chunk))
        return keys

    def _keep(self, connection: Connection, key: str, data: bytes) -> bool:
        """A document whose header exists: True when its chunks are intact; else its chunks are deleted and
        its header reset, to be written again (False)."""
        connection.execute(select(_BLOBS.c.key).where(_BLOBS.c.key == key).with_for_update())
        if self._intact(connection, key, data):
            return True
        connection.execute(delete(_CHUNKS).where(_CHUNKS.c.key == key))
        values = {"size": len(data), "chunk_size": self.chunk_bytes}
        connection.execute(update(_BLOBS).where(_BLOBS.c.key == key).values(values))
        return False

    def _chunks(self, data: bytes) -> Iterator[bytes]:
        view = memoryview(data)
        for start in range(0, len(data), self.chunk_bytes):
            yield bytes(view[start : start + self.chunk_bytes])

    def _intact(self, connection: Connection, key: str, data: bytes) -> bool:
        """Whether the stored chunks are exactly `data` cut by this store's chunk size (hashed in the
        database, chunk by chunk)."""
        stored = connection.execute(
            select(_CHUNKS.c.seq, func.length(_CHUNKS.c.data), func.sha256(_CHUNKS.c.data))
            .where(_CHUNKS.c.key == key)
            .order_by(_CHUNKS.c.seq)
        ).all()
        expected = [
            (seq, len(chunk), hashlib.sha256(chunk).digest()) for seq, chunk in enumerate(self._chunks(data))
        ]
        return [(seq, length, bytes(digest)) for seq, length, digest in stored] == expected

    def get(self, key: str) -> bytes:
        if not is_document_key(key):
            raise DocumentMissing(f"not a document key: {key!r}")
        with self.engine.connect() as connection:
            size = connection.execute(select(_BLOBS.c.size).where(_BLOBS.c.key == key)).scalar_one_or_none()
            if size is None:
                raise DocumentMissing(f"document {key} is not in the store")
            rows: Any = connection.execution_options(stream_results=True, yield_per=4).execute(
                select(_CHUNKS.c.seq, _CHUNKS.c.data).where(_CHUNKS.c.key == key).order_by(_CHUNKS.c.seq)
            )
            digest = hashlib.sha256()
            parts: list[bytes] = []
            try:
                for expected, (seq, chunk) in enumerate(rows):
                    if seq != expected:
                        raise DocumentCorrupted(f"document {key} is corrupted: chunk {expected} is missing")
                    digest.update(chunk)
                    parts.append(bytes(chunk))
            finally:
                rows.close()  # the server-side cursor, also when the read stopped early
        data = b"".join(parts)
        if len(data) != size or digest.hexdigest() != key[-64:]:
            raise DocumentCorrupted(f"document {key} is corrupted: its bytes no longer match their SHA-256")
        return data

    def exists(self, key: str) -> bool:
        if not is_document_key(key):
            return False
        with self.engine.connect() as connection:
            found = connection.execute(select(_BLOBS.c.key).where(_BLOBS.c.key == key)).first()
        return found is not None

    def keys(self) -> Iterator[str]:
        """Every stored document's key, in key order, read in pages (a store may hold millions)."""
        after = ""
        while True:
            with self.engine.connect() as connection:
                page = list(
                    connection.execute(
                        select(_BLOBS.c.key).where(_BLOBS.c.key > after).order_by(_BLOBS.c.key).limit(1000)
                    ).scalars()
                )
            yield from page
            if len(page) < 1000:
                return
            after = page[-1]
