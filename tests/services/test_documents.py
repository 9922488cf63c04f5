"""The document store: content-addressed, idempotent, atomic, and a corrupted file is caught on read."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from db.engine import session_scope
from db.models import StoredDocument
from gateway.services.outbound.document_postgres import PostgresDocumentStore
from gateway.services.outbound.documents import (
    DocumentCorrupted,
    DocumentMissing,
    DocumentNotFound,
    LocalDocumentStore,
    document_store,
    load_document,
    store_document,
)
from gateway.services.tenancy.tenants import ensure_tenant
from gateway.settings import Settings
from tests.document_stores import corrupt


def test_local_store_is_content_addressed_and_idempotent(tmp_path: Path) -> None:
    store = LocalDocumentStore(tmp_path / "docs")
    data = b"%PDF-1.7 proof"
    digest = hashlib.sha256(data).hexdigest()
    key = store.put(data)
    assert key == f"{digest[:2]}/{digest[2:4]}/{digest}"
    assert store.put(data) == key
    assert store.exists(key) and store.get(key) == data
    assert [p.name for p in (tmp_path / "docs").rglob("*") if p.is_file()] == [digest]  # no temp files left


def test_corrupted_or_missing_file_is_detected(tmp_path: Path) -> None:
    store = LocalDocumentStore(tmp_path)
    key = store.put(b"original bytes")
    (tmp_path / key).write_bytes(b"original bytez")
    with pytest.raises(DocumentCorrupted, match="corrupted"):
        store.get(key)
    assert store.put(b"original bytes") == key  # putting the bytes again repairs it
    assert store.get(key) == b"original bytes"
    other = "00/00/" + "0" * 64
    assert not store.exists(other)
    with pytest.raises(DocumentMissing):
        store.get(other)


@pytest.mark.parametrize("key", ["../../etc/passwd", "ab/cd/../../x", "/etc/passwd", "AB/CD/" + "A" * 64])
def test_keys_that_are_not_content_addresses_are_refused(tmp_path: Path, key: str) -> None:
    store = LocalDocumentStore(tmp_path)
    assert not store.exists(key)
    with pytest.raises(DocumentMissing):
        store.get(key)


def test_store_document_dedupes_per_tenant(engine: Engine, settings: Settings) -> None:
    store = document_store(settings, engine)
    if engine.dialect.name == "sqlite":
        assert isinstance(store, LocalDocumentStore) and store.root == settings.data_dir / "documents"
    else:  # a PostgreSQL outbox keeps the documents too, so every host reads them
        assert isinstance(store, PostgresDocumentStore) and store.engine is engine
    with session_scope(engine) as session:
        ensure_tenant(session, "acme")
        ensure_tenant(session, "globex")
        first = store_document(session, store, tenant_id="acme", data=b"pod", media_type="application/pdf",
                               filename="a.pdf", kind="pod")  # fmt: skip
        again = store_document(session, store, tenant_id="acme", data=b"pod", media_type="application/pdf",
                               filename="b.pdf", kind="pod")  # fmt: skip
        other = store_document(session, store, tenant_id="globex", data=b"pod", media_type="application/pdf",
                               filename="c.pdf", kind="pod")  # fmt: skip
        assert again.id == first.id and again.filename == "a.pdf"
        assert other.id != first.id and other.storage_key == first.storage_key
        assert session.execute(select(func.count()).select_from(StoredDocument)).scalar_one() == 2
    with session_scope(engine) as session:
        document, data = load_document(session, store, first.id, "acme")
        assert data == b"pod" and document.sha256 == hashlib.sha256(b"pod").hexdigest()
        with pytest.raises(DocumentNotFound):
            load_document(session, store, first.id, "globex")  # another tenant's id
        corrupt(store, first.storage_key, b"pox")
        with pytest.raises(DocumentCorrupted):
            load_document(session, store, first.id, "acme")
