"""The store of documents the gateway keeps (invoices as sent, proofs of delivery), by their SHA-256.

`DocumentStore` is deliberately small (put, get, exists) so that an object store can replace the local
directory. Keys are content addresses: the same bytes are one file, and reading checks that the bytes still
hash to their key, so a file corrupted on disk is reported instead of being sent on.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import tempfile
from pathlib import Path
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlmodel import col

from db.models import StoredDocument
from gateway.settings import Settings

_KEY = re.compile(r"[0-9a-f]{2}/[0-9a-f]{2}/[0-9a-f]{64}")


class DocumentStoreError(Exception):
    """The store cannot give back what it was asked for."""


class DocumentMissing(DocumentStoreError, LookupError):
    pass


class DocumentCorrupted(DocumentStoreError):
    pass


class DocumentNotFound(LookupError):
    """No stored document with that id for the tenant."""


class DocumentStore(Protocol):
    def put(self, data: bytes) -> str: ...  # a storage key; content-addressed, idempotent

    def get(self, key: str) -> bytes: ...

    def exists(self, key: str) -> bool: ...


def content_key(data: bytes) -> str:
    digest = hashlib.sha256(data).hexdigest()
    return f"{digest[:2]}/{digest[2:4]}/{digest}"


class LocalDocumentStore:
    """Files under `root` at `ab/cd/<sha256>`, written atomically (temporary file, fsync, rename)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, key: str) -> Path:
        if not _KEY.fullmatch(key):
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


def document_store(settings: Settings) -> DocumentStore:
    return LocalDocumentStore(settings.documents_dir)


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
