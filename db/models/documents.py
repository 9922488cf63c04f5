"""The bytes of stored documents when the document store is the database (`GATEWAY_DOCUMENTS_URL` unset
with a PostgreSQL outbox, `database`, or a `postgresql://` URL): a header per document and its chunks.

Chunked rows rather than large objects: plain rows are copied by `pg_dump`, replicated, dropped with a
schema and counted by the usual size queries; large objects need `lo_unlink` bookkeeping (an orphan is
never freed), their own privileges, and `pg_dump --blobs`. The store (`gateway.services.outbound.
document_postgres`) writes the header and every chunk in one transaction, so a reader never sees half a
document. The tables exist on SQLite too (one schema for both databases), where nothing uses them.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, Column, Integer, LargeBinary
from sqlmodel import Field, SQLModel

from db.models.base import UTCDateTime, utcnow


class DocumentBlob(SQLModel, table=True):
    """One document's header: its content key (`ab/cd/<sha256>`), size and SHA-256, how it was cut."""

    __tablename__ = "document_blobs"

    key: str = Field(primary_key=True, max_length=80)
    size: int = Field(sa_column=Column(BigInteger, nullable=False))
    sha256: str = Field(max_length=64)
    chunk_size: int = Field(sa_column=Column(Integer, nullable=False))
    created_at: dt.datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


class DocumentChunk(SQLModel, table=True):
    """One slice of a document's bytes, `seq` from 0; the header row above says how many to expect."""

    __tablename__ = "document_chunks"

    key: str = Field(primary_key=True, max_length=80, foreign_key="document_blobs.key", ondelete="CASCADE")
    seq: int = Field(sa_column=Column(Integer, primary_key=True, autoincrement=False))
    data: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
