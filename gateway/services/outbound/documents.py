"""The store of documents the gateway keeps (invoices as sent, proofs of delivery, remittance files), by
their SHA-256.

`DocumentStore` is deliberately small (put, get, exists) so that the local directory, the database
(`document_postgres`) and an S3-compatible object store (`document_s3`) are interchangeable; `document_store`
picks one from `GATEWAY_DOCUMENTS_URL`. Keys are content addresses (`ab/cd/<sha256>`) and are the same in
every store, so `stored_documents.storage_key` stays valid when the bytes move (`gateway documents
migrate`). The same bytes are one entry, and reading checks that the bytes still hash to their key, so a
document corrupted at rest is reported instead of being sent on.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import tempfile
import threading
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Protocol, runtime_checkable
from urllib.parse import unquote, urlsplit

from sqlalchemy import Engine, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlmodel import col

from db.models import StoredDocument
from gateway.settings import Settings
from transports.files import WriteGroup, sweep_stale_parts

KEY_PATTERN = re.compile(r"[0-9a-f]{2}/[0-9a-f]{2}/[0-9a-f]{64}")
#: Where `LocalDocumentStore.put_in_group` keeps parts until the group settles (never a key: `keys()`)
PARTS_DIRECTORY = ".parts"
#: A part older than this was left by a writer that died before its group settled.
STALE_PART_SECONDS = 3600.0


class DocumentStoreError(Exception):
    """The store cannot give back what it was asked for."""


class DocumentMissing(DocumentStoreError, LookupError):
    pass


class DocumentCorrupted(DocumentStoreError):
    pass


class DocumentStoreUnavailable(DocumentStoreError):
    """The store could not be reached or refused the request (an object store's outage, a missing bucket)."""


class DocumentStoreConfigError(ValueError):
    """`GATEWAY_DOCUMENTS_URL` (or a `--to`/`--from` URL) names no usable store; the message never repeats
    the URL, which may hold credentials."""


class DocumentNotFound(LookupError):
    """No stored document with that id for the tenant."""


class DocumentStore(Protocol):
    def put(self, data: bytes) -> str: ...  # a storage key; content-addressed, idempotent

    def get(self, key: str) -> bytes: ...

    def exists(self, key: str) -> bool: ...


@runtime_checkable
class BatchDocumentStore(DocumentStore, Protocol):
    """A store that keeps several documents in one step (one transaction): what a worker's claim batch of
    stored copies uses when it can."""

    def put_many(self, datas: Sequence[bytes]) -> list[str]: ...  # their storage keys, in order


def put_documents(store: DocumentStore, datas: Sequence[bytes]) -> list[str]:
    """`store.put` of each of `datas` (their keys, in order), in one step where the store has one."""
    if isinstance(store, BatchDocumentStore):
        return store.put_many(datas)
    return [store.put(data) for data in datas]


@runtime_checkable
class ListableDocumentStore(DocumentStore, Protocol):
    """A store that can also say what it holds: what `gateway documents migrate` copies from."""

    def keys(self) -> Iterator[str]: ...


def is_document_key(key: str) -> bool:
    """Whether `key` is a content address (`ab/cd/<sha256>`): anything else is never looked up."""
    return KEY_PATTERN.fullmatch(key) is not None


def content_key(data: bytes) -> str:
    digest = hashlib.sha256(data).hexdigest()
    return f"{digest[:2]}/{digest[2:4]}/{digest}"


class LocalDocumentStore:
    """Files under `root` at `ab/cd/<sha256>`, written atomically (temporary file, fsync, rename)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._swept = False

    def _path(self, key: str) -> Path:
        if not is_document_key(key):
            raise DocumentMissing(f"not a document key: {key!r}")
        return self.root / key

    def put(self, data: bytes) -> str:
        key = content_key(data)
        path = self._path(key)
        if path.exists() and hashlib.sha256(path.read_bytes()).hexdigest() == key[-64:]:
            return key
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".put-", suffix=".part")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temporary, path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temporary)
            raise
        directory = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)
        return key

    def put_in_group(self, data: bytes, group: WriteGroup, *, tag: str) -> str:
        """`put` through a write group: the bytes are a part until `group.settle()` (one flush for the
        batch), so the key may be recorded only once the group has settled `tag`. Raises `OSError` when
        the part cannot be written."""
        key = content_key(data)
        path = self._path(key)
        if path.exists() and hashlib.sha256(path.read_bytes()).hexdigest() == key[-64:]:
            return key
        parts = self.root / PARTS_DIRECTORY
        group.ensure_directory(path.parent)
        group.ensure_directory(parts)
        if not self._swept:
            self._swept = True
            sweep_stale_parts(parts, STALE_PART_SECONDS)
        group.write(path, data, parts=parts, tag=tag)
        return key

    def get(self, key: str) -> bytes:
        path = self._path(key)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise DocumentMissing(f"document {key} is not in the store") from None
        if hashlib.sha256(data).hexdigest() != key[-64:]:
            raise DocumentCorrupted(f"document {key} is corrupted: its bytes no longer match their SHA-256")
        return data

    def exists(self, key: str) -> bool:
        try:
            return self._path(key).is_file()
        except DocumentMissing:
            return False

    def keys(self) -> Iterator[str]:
        """Every stored document's key (temporary files of a put in progress are not documents)."""
        if not self.root.is_dir():
            return
        for path in sorted(self.root.glob("??/??/*")):
            key = path.relative_to(self.root).as_posix()
            if is_document_key(key) and path.is_file():
                yield key

    def __repr__(self) -> str:
        return f"LocalDocumentStore({str(self.root)!r})"


def document_store(settings: Settings, engine: Engine | None = None) -> DocumentStore:
    """The store `GATEWAY_DOCUMENTS_URL` names; unset, the outbox's PostgreSQL when it is one (so every host
    of an installation reads the same documents with nothing more to set up), else `documents_dir`.

    `engine` is the caller's outbox: a store in the outbox's database shares its pool rather than opening
    one of its own.
    """
    url = settings.documents_url.get_secret_value() if settings.documents_url else None
    return open_document_store(url, settings, engine)


def open_document_store(
    url: str | None, settings: Settings, engine: Engine | None = None, *, timeout_seconds: float | None = None
) -> DocumentStore:
    """The store at `url` (the forms of `Settings.documents_url`, or a plain folder path); None: the
    default of `document_store`. `timeout_seconds` bounds an object store's requests (a check's store,
    made apart from the shared one)."""
    if url is None:
        return (
            _database_store(settings, engine)
            if _is_postgresql(settings.database)
            else LocalDocumentStore(settings.documents_dir)
        )
    if url == "database":
        if not _is_postgresql(settings.database):
            raise DocumentStoreConfigError(
                "GATEWAY_DOCUMENTS_URL=database keeps documents in the outbox's database, which must be "
                "PostgreSQL (GATEWAY_DATABASE_URL); on SQLite leave it unset for the local folder"
            )
        return _database_store(settings, engine)
    scheme = url.partition("://")[0].lower() if "://" in url else ""
    if scheme == "":
        return LocalDocumentStore(Path(url).expanduser())
    if scheme == "file":
        parts = urlsplit(url)
        if parts.netloc not in ("", "localhost") or not parts.path:
            raise DocumentStoreConfigError("a file: document store is file:///absolute/path")
        return LocalDocumentStore(Path(unquote(parts.path)))
    if scheme in ("postgresql", "postgresql+psycopg"):
        from gateway.services.outbound.document_postgres import PostgresDocumentStore

        target = "postgresql+psycopg" + url[len(scheme) :]
        if engine is not None and _same_database(target, engine):
            return PostgresDocumentStore(engine)
        return PostgresDocumentStore(_engine_for(target, create_tables=True))
    if scheme == "s3":
        from gateway.services.outbound.document_s3 import S3DocumentStore, S3Location, s3_document_store

        if timeout_seconds is not None:
            return S3DocumentStore(S3Location.from_url(url), timeout_seconds=timeout_seconds)
        return s3_document_store(url)
    raise DocumentStoreConfigError(
        "a document store URL is file:///path, database, postgresql[+psycopg]://…, or s3://bucket/prefix"
    )


def in_outbox_database(url: str | None, settings: Settings) -> bool:
    """Whether the store at `url` (None: the default) keeps its documents in the outbox's own database."""
    if url is None or url == "database":
        return _is_postgresql(settings.database)
    scheme = url.partition("://")[0].lower()
    if scheme not in ("postgresql", "postgresql+psycopg") or not _is_postgresql(settings.database):
        return False
    target = make_url("postgresql+psycopg" + url[len(scheme) :])
    return target == make_url(settings.database).set(drivername="postgresql+psycopg")


#: What `gateway check` writes and reads back. Fixed bytes, so content-addressed: one entry in a store
#: however often it is checked, from however many hosts.
PROBE_DOCUMENT = b"invoice-gateway: the document store probe, written and read back by `gateway check`\n"


def probe_document_store(store: DocumentStore, *, write: bool = True) -> str:
    """Put `PROBE_DOCUMENT` and read it back: the store answers, takes a document and gives it back whole.

    `write=False` (a dry run, which must change nothing) only asks whether the probe is there, and reads
    it back when it is: the store answers, but whether it takes a document is not known.

    Returns its key; raises what the store raises (`DocumentStoreError`, `OSError` from a folder, the
    database driver's errors), or `DocumentCorrupted` when other bytes came back.
    """
    if not write:
        key = content_key(PROBE_DOCUMENT)
        if store.exists(key) and store.get(key) != PROBE_DOCUMENT:  # pragma: no cover - hashes checked
            raise DocumentCorrupted(f"the probe document {key} came back changed")
        return key
    key = store.put(PROBE_DOCUMENT)
    if store.get(key) != PROBE_DOCUMENT:  # pragma: no cover - every store checks the SHA-256 on reading
        raise DocumentCorrupted(f"the probe document {key} came back changed")
    return key


def _is_postgresql(url: str) -> bool:
    return make_url(url).get_backend_name() == "postgresql"


def _same_database(url: str, engine: Engine) -> bool:
    return make_url(url) == engine.url.set(drivername="postgresql+psycopg") or make_url(url) == engine.url


def _database_store(settings: Settings, engine: Engine | None) -> DocumentStore:
    from gateway.services.outbound.document_postgres import PostgresDocumentStore

    if engine is not None and engine.dialect.name == "postgresql":
        return PostgresDocumentStore(engine)
    return PostgresDocumentStore(_engine_for(settings.database, create_tables=False))


#: Engines opened for a store by URL (a caller without its outbox engine, a separate documents database),
#: kept so that a store made per request reuses one pool; the least recently used beyond the bound is
#: disposed (tests open many databases; a deployment uses one or two).
_ENGINES: OrderedDict[str, Engine] = OrderedDict()
_ENGINES_KEPT = 4
_ENGINES_LOCK = threading.Lock()


def _engine_for(url: str, *, create_tables: bool) -> Engine:
    from db.engine import make_engine
    from gateway.services.outbound.document_postgres import create_document_tables

    with _ENGINES_LOCK:
        engine = _ENGINES.get(url)
        if engine is not None:
            _ENGINES.move_to_end(url)
            return engine
        engine = make_engine(url, pool_size=2)
        if create_tables:  # a database of its own for documents: no outbox migration made the tables
            create_document_tables(engine)
        _ENGINES[url] = engine
        while len(_ENGINES) > _ENGINES_KEPT:
            _, evicted = _ENGINES.popitem(last=False)
            evicted.dispose()
        return engine


#: `stored_documents.filename` holds this many characters (PostgreSQL refuses more; SQLite would keep them).
FILENAME_LENGTH = 200


def _bounded_name(filename: str) -> str:
    """`filename` cut to what the column holds, keeping a short extension: a sender's 300-character name
    is kept shortened, never a database error."""
    if len(filename) <= FILENAME_LENGTH:
        return filename
    stem, dot, extension = filename.rpartition(".")
    if dot and stem and len(extension) <= 16:
        return stem[: FILENAME_LENGTH - len(extension) - 1] + "." + extension
    return filename[:FILENAME_LENGTH]


def store_document(
    session: Session,
    store: DocumentStore,
    *,
    tenant_id: str,
    data: bytes,
    media_type: str,
    filename: str,
    kind: str,
) -> StoredDocument:
    """Keep `data` for the tenant: the bytes in the store, a `stored_documents` row; the same bytes twice
    for a tenant are one row (the first one's name and kind stay)."""
    digest = hashlib.sha256(data).hexdigest()
    query = select(StoredDocument).where(
        col(StoredDocument.tenant_id) == tenant_id, col(StoredDocument.sha256) == digest
    )
    existing = session.execute(query).scalar_one_or_none()
    if existing is not None:
        if not store.exists(existing.storage_key):  # lost from the store: the caller has the bytes again
            store.put(data)
        return existing
    key = store.put(data)
    document = StoredDocument(
        tenant_id=tenant_id,
        sha256=digest,
        size=len(data),
        media_type=media_type,
        filename=_bounded_name(filename),
        kind=kind,
        storage_key=key,
    )
    try:
        with session.begin_nested():  # another request may store the same bytes at the same moment
            session.add(document)
    except IntegrityError:
        return session.execute(query).scalar_one()
    return document


def load_document(
    session: Session, store: DocumentStore, document_id: str, tenant_id: str
) -> tuple[StoredDocument, bytes]:
    """The row and its bytes (checked against the SHA-256); `DocumentNotFound` for another tenant's id."""
    document = session.get(StoredDocument, document_id)
    if document is None or document.tenant_id != tenant_id:
        raise DocumentNotFound(f"no document {document_id}")
    data = store.get(document.storage_key)
    if hashlib.sha256(data).hexdigest() != document.sha256:
        raise DocumentCorrupted(f"document {document_id} does not match its recorded SHA-256")
    return document, data
