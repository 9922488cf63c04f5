"""One lease primitive for every table a worker holds rows of: deliveries, batches, webhook events, and the
one-row-per-tenant matching lease.

A claim takes the due rows with ONE statement, `UPDATE … WHERE key IN (SELECT … FOR UPDATE SKIP LOCKED)
RETURNING …`: on PostgreSQL two workers skip each other's locked rows; on SQLite (where `FOR UPDATE` is not
rendered) the database-wide write lock taken by `BEGIN IMMEDIATE` gives the same exclusivity. A claim sets a
fresh token and an expiry. A row still held under a lease that has expired belongs to a worker that died or
stalled: the next claim takes it over with a new token. Every write that ends or extends a hold names the
token (and, for most tables, checks the lease is still live), so a stalled worker's late write is refused
with `LeaseLost` instead of overwriting the newer holder's result.

What differs between the tables is data (`LeasedTable`: which columns hold the key, token, expiry, holder
and touch time) and the caller's conditions (when a row is ready, which statuses a holder keeps it in).
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Column, ColumnElement, Row, Table, and_, bindparam, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

__all__ = [
    "Claimed",
    "LeaseLost",
    "LeasedTable",
    "LeasedWrite",
    "acquire",
    "claim_due",
    "new_token",
    "release",
    "write_many_under_lease",
    "write_under_lease",
]


class LeaseLost(RuntimeError):
    """The worker's lease expired or was taken over; its write was refused and nothing changed."""


def new_token() -> str:
    """A fresh lease token (32 hex characters, the width of every `lease_token` column)."""
    return secrets.token_hex(16)


@dataclass(frozen=True)
class LeasedTable:
    """Where a table keeps a row's lease: the names of its key, token and expiry columns, and of the
    optional holder (a worker's name, for operators) and touch-time columns a claim also sets."""

    table: Table
    #: What a lost lease names the row as ("delivery", "batch", …).
    noun: str
    key: str = "id"
    token: str = "lease_token"  # noqa: S105 - a column name, not a secret
    expires_at: str = "lease_expires_at"
    holder: str | None = "leased_by"
    updated_at: str | None = "updated_at"

    def column(self, name: str) -> Column[Any]:
        return self.table.c[name]

    def held_values(
        self, token: str, expires_at: dt.datetime, holder: str | None, now: dt.datetime
    ) -> dict[str, Any]:
        """The lease columns of a row held by `holder` under `token` until `expires_at`."""
        values: dict[str, Any] = {self.token: token, self.expires_at: expires_at}
        if self.holder is not None:
            values[self.holder] = holder
        if self.updated_at is not None:
            values[self.updated_at] = now
        return values

    def released_values(self) -> dict[str, Any]:
        """The lease columns of a row no one holds."""
        values: dict[str, Any] = {self.token: None, self.expires_at: None}
        if self.holder is not None:
            values[self.holder] = None
        return values


@dataclass(frozen=True)
class Claimed:
    """What one claim took: the token and expiry every claimed row now holds, and the returned rows."""

    token: str
    expires_at: dt.datetime
    rows: list[Row[Any]]


def claim_due(
    session: Session,
    leased: LeasedTable,
    *,
    ready: ColumnElement[bool] | None,
    held: ColumnElement[bool] | None,
    returning: Sequence[ColumnElement[Any]],
    lease_seconds: float,
    now: dt.datetime,
    limit: int,
    order_by: Sequence[ColumnElement[Any]],
    where: Sequence[ColumnElement[bool]] = (),
    values: Mapping[str, Any] | None = None,
    holder: str | None = None,
) -> Claimed:
    """Claim up to `limit` due rows under one fresh lease, in one statement; the caller commits.

    Due means `ready` (waiting its turn), or `held` (in a status a holder keeps it in) under a lease that
    has expired, which the claim takes over; None leaves that kind out (a caller that claims each kind with
    a statement of its own, so that each is one ordered range of one index). `values` are set with the
    lease (the new status, say); until the caller commits, the rows stay locked (PostgreSQL) or the write
    lock is held (SQLite).
    """
    token = new_token()
    expires = now + dt.timedelta(seconds=lease_seconds)
    due = [ready] if ready is not None else []
    if held is not None:
        due.append(and_(held, leased.column(leased.expires_at) < now))
    if not due:
        raise ValueError("claim_due needs `ready`, `held` or both")
    key = leased.column(leased.key)
    eligible = (
        select(key)
        .where(or_(*due) if len(due) > 1 else due[0], *where)
        .order_by(*order_by)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    statement = (
        update(leased.table)
        .where(key.in_(eligible.scalar_subquery()))
        .values(**dict(values or {}), **leased.held_values(token, expires, holder, now))
        .returning(*returning)
    )
    return Claimed(token, expires, list(session.execute(statement)))


def write_under_lease(
    session: Session,
    leased: LeasedTable,
    key: object,
    token: str,
    *,
    now: dt.datetime,
    values: Mapping[str, Any] | None = None,
    where: Sequence[ColumnElement[bool]] = (),
    keep_for_seconds: float | None = None,
    live: bool = True,
    refused: str = "",
    error: type[LeaseLost] = LeaseLost,
) -> dt.datetime | None:
    """Write `values` to the row only while `token` still holds it; raises `error` (nothing written) if not.

    `live` also requires the lease not to have expired (a stalled holder whose lease ran out may not
    write even if no one has taken over yet); `where` adds the caller's own guard (the status it read).
    With `keep_for_seconds` the holder keeps the lease (renewed from `now`; returns the new expiry),
    otherwise the write releases it (returns None). `refused` ends the error message.
    """
    guard = [leased.column(leased.key) == key, leased.column(leased.token) == token, *where]
    if live:
        guard.append(leased.column(leased.expires_at) > now)
    expires = now + dt.timedelta(seconds=keep_for_seconds) if keep_for_seconds is not None else None
    lease = {leased.expires_at: expires} if expires is not None else leased.released_values()
    result = session.execute(update(leased.table).where(*guard).values(**dict(values or {}), **lease))
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise error(f"{leased.noun} {key}: lease {token[:8]}… is no longer held{refused}")
    return expires


@dataclass(frozen=True)
class LeasedWrite:
    """One row's write in `write_many_under_lease`: its key, the token that must still hold it, the
    columns to write, and the values the row must still have (`expect`: the status its holder read)."""

    key: object
    token: str
    values: Mapping[str, Any]
    expect: Mapping[str, Any]


def write_many_under_lease(
    session: Session, leased: LeasedTable, writes: Sequence[LeasedWrite], *, now: dt.datetime
) -> list[int]:
    """`write_under_lease` (live, releasing the lease) for many rows in the caller's transaction; the
    positions of the writes refused (lease lost, or the row no longer as expected), nothing written for
    them.

    Writes that set the same columns go as one executemany inside a savepoint; when its row count says
    every row was still held, that is all. Otherwise the savepoint is rolled back and those writes go one
    by one, so exactly the refused ones are known (a lost lease is rare: a stalled worker's late write).
    """
    groups: dict[tuple[tuple[str, ...], tuple[str, ...]], list[int]] = {}
    for position, write in enumerate(writes):
        groups.setdefault((tuple(sorted(write.values)), tuple(sorted(write.expect))), []).append(position)
    refused: list[int] = []
    for names, positions in groups.items():
        if len(positions) > 1 and _write_group(session, leased, writes, positions, *names, now=now):
            continue
        for position in positions:
            write = writes[position]
            try:
                write_under_lease(
                    session, leased, write.key, write.token, now=now, values=write.values,
                    where=[leased.column(name) == value for name, value in write.expect.items()],
                )  # fmt: skip
            except LeaseLost:
                refused.append(position)
    return sorted(refused)


def _write_group(
    session: Session,
    leased: LeasedTable,
    writes: Sequence[LeasedWrite],
    positions: Sequence[int],
    value_names: Sequence[str],
    expect_names: Sequence[str],
    *,
    now: dt.datetime,
) -> bool:
    """One executemany of writes setting the same columns, in a savepoint: True when every row was still
    held (kept), False when some were not (rolled back: the caller writes them one by one)."""
    guard = [
        leased.column(leased.key) == bindparam("lease_key"),
        leased.column(leased.token) == bindparam("lease_token_held"),
        leased.column(leased.expires_at) > now,
        *[leased.column(name) == bindparam(f"expect_{name}") for name in expect_names],
    ]
    released = leased.released_values()
    statement = (
        update(leased.table)
        .where(*guard)
        .values({**{name: bindparam(f"set_{name}") for name in value_names}, **released})
    )
    parameters = [
        {
            "lease_key": writes[p].key,
            "lease_token_held": writes[p].token,
            **{f"expect_{name}": writes[p].expect[name] for name in expect_names},
            **{f"set_{name}": writes[p].values[name] for name in value_names},
        }
        for p in positions
    ]
    savepoint = session.begin_nested()
    written = session.execute(statement, parameters).rowcount  # type: ignore[attr-defined]
    if written == len(positions):
        savepoint.commit()
        return True
    savepoint.rollback()
    return False


def acquire(
    session: Session, leased: LeasedTable, key: object, holder: str, *, seconds: float, now: dt.datetime
) -> bool:
    """Take a keyed row's lease for `holder` (its name is the token), creating the row on first use.

    Re-entrant: a holder that has it renews it. A free or expired lease is taken over; one held by another
    holder is refused (False). Two first acquirers race on the key's uniqueness: one wins.
    """
    token = leased.column(leased.token)
    expires_column = leased.column(leased.expires_at)
    expires = now + dt.timedelta(seconds=seconds)
    taken = session.execute(
        update(leased.table)
        .where(
            leased.column(leased.key) == key,
            or_(expires_column.is_(None), expires_column < now, token == holder),
        )
        .values(**leased.held_values(holder, expires, None, now))
    ).rowcount  # type: ignore[attr-defined]
    if taken:
        return True
    try:
        with session.begin_nested():
            session.execute(
                insert(leased.table).values(
                    {leased.key: key, **leased.held_values(holder, expires, None, now)}
                )
            )
    except IntegrityError:
        return False
    return True


def release(session: Session, leased: LeasedTable, key: object, token: str) -> bool:
    """Give the lease back if `token` still holds it; True when it did (a lost lease is left alone)."""
    result = session.execute(
        update(leased.table)
        .where(leased.column(leased.key) == key, leased.column(leased.token) == token)
        .values(**leased.released_values())
    )
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]
