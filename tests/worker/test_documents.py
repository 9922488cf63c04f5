"""The worker's record of the documents it keeps as sent (`gateway.worker.documents`), on both databases."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, event, func, select
from sqlmodel import col

from db.engine import session_scope
from db.models import StoredDocument
from gateway.services.tenancy.tenants import ensure_tenant
from gateway.worker import documents
from gateway.worker.documents import SentDocumentRow, record_stored_document, record_stored_documents


def _row(tenant: str, data: bytes, key: str) -> SentDocumentRow:
    return SentDocumentRow(tenant, data, key, "application/xml", f"{key}.xml", documents.SENT_DOCUMENT_KIND)


def _count(engine: Engine) -> int:
    with session_scope(engine) as session:
        return int(session.execute(select(func.count()).select_from(StoredDocument)).scalar_one())


@pytest.fixture
def tenants(engine: Engine) -> Engine:
    with session_scope(engine) as session:
        ensure_tenant(session, "acme")
        ensure_tenant(session, "beta")
    return engine


def test_a_batch_of_copies_is_one_read_one_insert_and_the_same_bytes_are_one_row(tenants: Engine) -> None:
    with session_scope(tenants) as session:
        kept_before = record_stored_document(
            session, tenant_id="acme", data=b"<old/>", storage_key="k0", media_type="application/xml",
            filename="old.xml", kind=documents.SENT_DOCUMENT_KIND,
        )  # fmt: skip
    statements: list[str] = []
    listener = lambda *args: statements.append(str(args[2]).split()[0].upper())  # noqa: E731
    event.listen(tenants, "before_cursor_execute", listener)
    rows = [
        _row("acme", b"<a/>", "k1"),
        _row("acme", b"<a/>", "k2"),  # the same bytes again: the same row
        _row("acme", b"<old/>", "k3"),  # kept before: that row
        _row("beta", b"<a/>", "k4"),  # another tenant's: a row of its own
    ]
    with session_scope(tenants) as session:
        ids = record_stored_documents(session, rows)
    event.remove(tenants, "before_cursor_execute", listener)
    assert ids[0] == ids[1] and ids[2] == kept_before and len({ids[0], ids[2], ids[3]}) == 3
    assert statements.count("INSERT") == 1 and statements.count("SELECT") == 2  # a read per tenant
    assert _count(tenants) == 3  # <old/>, and <a/> once for each tenant
    with session_scope(tenants) as session:
        keys = dict(session.execute(select(col(StoredDocument.id), col(StoredDocument.storage_key))).all())
    assert (keys[ids[0]], keys[ids[3]]) == ("k1", "k4")


def test_a_copy_another_worker_recorded_meanwhile_is_taken_not_duplicated(
    tenants: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    with session_scope(tenants) as session:
        theirs = record_stored_documents(session, [_row("acme", b"<a/>", "theirs")])[0]
    real_lookup = documents._stored_ids
    calls: list[int] = []

    def lookup_missing_the_first_time(*args: object, **kwargs: object) -> dict[tuple[str, str], str]:
        calls.append(1)
        return {} if len(calls) == 1 else real_lookup(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(documents, "_stored_ids", lookup_missing_the_first_time)
    with session_scope(tenants) as session:
        ids = record_stored_documents(session, [_row("acme", b"<a/>", "mine"), _row("acme", b"<b/>", "b")])
    assert ids[0] == theirs and ids[1] != theirs
    assert len(calls) == 2 and _count(tenants) == 2
