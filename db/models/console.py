"""The ops console's people: their accounts, their sessions, and the login attempts the rate limit counts.

A password is kept only as an argon2id hash; a session only as the SHA-256 of its random token (the cookie
carries the token, signed). A console user belongs to one tenant; an admin may hold several.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, Column, Index
from sqlmodel import Field, SQLModel

from db.models.base import UTCDateTime, new_id, timestamp_column, utcnow


class ConsoleUser(SQLModel, table=True):
    """A person who signs in to the console: viewer, operator, credit or admin, of one or more tenants."""

    __tablename__ = "console_users"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    email: str = Field(max_length=320, unique=True, description="lower-cased; the sign-in name")
    password_hash: str = Field(max_length=200, description="argon2id, with its own salt and parameters")
    role: str = Field(max_length=20, description="viewer, operator, credit or admin")
    tenant_ids: list[str] = Field(sa_column=Column(JSON, nullable=False))
    created_at: dt.datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    password_changed_at: dt.datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False)
    )
    disabled_at: dt.datetime | None = timestamp_column(nullable=True)


class ConsoleSession(SQLModel, table=True):
    """One signed-in browser: ends at log-out, when idle too long, at its absolute expiry, or when the
    user is disabled or gets a new password."""

    __tablename__ = "console_sessions"

    id: str = Field(primary_key=True, max_length=64, description="SHA-256 of the session token")
    user_id: str = Field(foreign_key="console_users.id", index=True, max_length=32)
    tenant_id: str = Field(max_length=64, description="the tenant the pages show (one of the user's)")
    csrf_token: str = Field(max_length=64)
    created_at: dt.datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    last_seen_at: dt.datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    expires_at: dt.datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    ended_at: dt.datetime | None = timestamp_column(nullable=True)


class ConsoleLoginAttempt(SQLModel, table=True):
    """A failed sign-in, by address and by client: what the login rate limit counts."""

    __tablename__ = "console_login_attempts"
    __table_args__ = (
        Index("ix_console_login_attempts_email", "email", "at"),
        Index("ix_console_login_attempts_client", "client", "at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(max_length=320)
    client: str = Field(max_length=100, description="the client's address as the server saw it")
    at: dt.datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
