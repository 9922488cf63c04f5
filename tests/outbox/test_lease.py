"""The lease primitive on tables of its own, on SQLite and PostgreSQL: claim, take over, renew, refuse."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from sqlalchemy import Column, Engine, Integer, MetaData, String, Table, event, select

from db.engine import session_scope
from db.models.base import UTCDateTime
from outbox.lease import (
    Claimed,
    LeasedTable,
    LeasedWrite,
    LeaseLost,
    acquire,
    claim_due,
    release,
    write_many_under_lease,
    write_under_lease,
)

T0 = dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.UTC)

_metadata = MetaData()
_jobs = Table(
    "lease_probe_jobs",
    _metadata,
    Column("id", Integer, primary_key=True),
    Column("status", String(20), nullable=False),
    Column("due_at", UTCDateTime(), nullable=False),
    Column("lease_token", String(32)),
    Column("lease_expires_at", UTCDateTime()),
    Column("leased_by", String(200)),
    Column("updated_at", UTCDateTime()),
    Column("result", String(50)),
)
_locks = Table(
    "lease_probe_locks",
    _metadata,
    Column("name", String(64), primary_key=True),
    Column("holder", String(200)),
    Column("expires_at", UTCDateTime()),
)
JOBS = LeasedTable(_jobs, noun="job")
LOCKS = LeasedTable(
    _locks, noun="lock", key="name", token="holder", expires_at="expires_at", holder=None, updated_at=None
)


@pytest.fixture
def tables(engine: Engine) -> Iterator[Engine]:
    _metadata.create_all(engine)
    yield engine
    _metadata.drop_all(engine)


def _add_jobs(engine: Engine, count: int, status: str = "ready") -> None:
    with session_scope(engine) as session:
        session.execute(
            _jobs.insert(), [{"id": n, "status": status, "due_at": T0} for n in range(1, count + 1)]
        )


def _claim(engine: Engine, holder: str, now: dt.datetime, limit: int = 10, seconds: float = 60) -> list[int]:
    c = _jobs.c
    with session_scope(engine) as session:
        claimed = claim_due(
            session,
            JOBS,
            ready=(c.status == "ready") & (c.due_at <= now),
            held=c.status == "working",
            returning=[c.id],
            lease_seconds=seconds,
            now=now,
            limit=limit,
            order_by=[c.due_at, c.id],
            values={"status": "working"},
            holder=holder,
        )
    assert len(claimed.token) == 32 and claimed.expires_at == now + dt.timedelta(seconds=seconds)
    return sorted(row.id for row in claimed.rows)


def _held_by_a(tables: Engine, limit: int) -> Claimed:
    """Holder A claims up to `limit` ready jobs under a 10-second lease taken at T0."""
    c = _jobs.c
    with session_scope(tables) as session:
        return claim_due(
            session, JOBS, ready=c.status == "ready", held=c.status == "working", returning=[c.id],
            lease_seconds=10, now=T0, limit=limit, order_by=[c.id], values={"status": "working"}, holder="A",
        )  # fmt: skip


def _job(engine: Engine, job_id: int) -> dict[str, object]:
    with session_scope(engine) as session:
        return dict(session.execute(select(_jobs).where(_jobs.c.id == job_id)).one()._mapping)


def test_a_claim_takes_due_rows_once_and_sets_the_lease(tables: Engine) -> None:
    _add_jobs(tables, 5)
    assert _claim(tables, "A", T0, limit=3) == [1, 2, 3]
    assert _claim(tables, "B", T0) == [4, 5]
    assert _claim(tables, "C", T0) == []
    job = _job(tables, 1)
    assert job["status"] == "working" and job["leased_by"] == "A" and job["lease_token"]
    assert job["updated_at"] == T0


def test_an_expired_lease_is_taken_over_with_a_new_token_and_the_old_holder_is_refused(
    tables: Engine,
) -> None:
    _add_jobs(tables, 1)
    with session_scope(tables) as session:
        c = _jobs.c
        first = claim_due(
            session, JOBS, ready=c.status == "ready", held=c.status == "working", returning=[c.id],
            lease_seconds=10, now=T0, limit=1, order_by=[c.id], values={"status": "working"}, holder="A",
        )  # fmt: skip
    assert _claim(tables, "B", T0 + dt.timedelta(seconds=9)) == []  # still A's
    assert _claim(tables, "B", T0 + dt.timedelta(seconds=11)) == [1]  # expired: taken over
    assert _job(tables, 1)["leased_by"] == "B" and _job(tables, 1)["lease_token"] != first.token
    with (
        pytest.raises(LeaseLost, match=r"job 1: lease .* is no longer held; late"),
        session_scope(tables) as s,
    ):
        write_under_lease(
            s,
            JOBS,
            1,
            first.token,
            now=T0 + dt.timedelta(seconds=12),
            values={"result": "A"},
            refused="; late",
        )
    assert _job(tables, 1)["result"] is None


def test_a_write_needs_a_live_lease_unless_told_otherwise(tables: Engine) -> None:
    _add_jobs(tables, 2)
    claimed = _held_by_a(tables, 2)
    late = T0 + dt.timedelta(seconds=30)  # expired, but no one took it over
    with pytest.raises(LeaseLost), session_scope(tables) as session:
        write_under_lease(session, JOBS, 1, claimed.token, now=late, values={"result": "late"})
    with session_scope(tables) as session:
        released = write_under_lease(
            session, JOBS, 2, claimed.token, now=late, values={"status": "done"}, live=False
        )
    assert released is None
    job = _job(tables, 2)
    assert (job["status"], job["lease_token"], job["lease_expires_at"], job["leased_by"]) == (
        "done", None, None, None,
    )  # fmt: skip


def test_a_holder_renews_and_the_caller_guard_is_checked(tables: Engine) -> None:
    _add_jobs(tables, 1)
    c = _jobs.c
    claimed = _held_by_a(tables, 1)
    renewed_at = T0 + dt.timedelta(seconds=5)
    with session_scope(tables) as session:
        expires = write_under_lease(
            session,
            JOBS,
            1,
            claimed.token,
            now=renewed_at,
            keep_for_seconds=60,
            where=[c.status == "working"],
        )
    assert expires == renewed_at + dt.timedelta(seconds=60)
    job = _job(tables, 1)
    assert job["lease_token"] == claimed.token and job["leased_by"] == "A"
    assert _claim(tables, "B", T0 + dt.timedelta(seconds=30)) == []  # the renewal holds it
    with pytest.raises(LeaseLost), session_scope(tables) as session:  # the status the caller read is gone
        write_under_lease(
            session,
            JOBS,
            1,
            claimed.token,
            now=renewed_at,
            values={"result": "x"},
            where=[c.status == "ready"],
        )


def _statements(engine: Engine) -> list[str]:
    """The UPDATE statements sent from now on (one entry per execute or executemany)."""
    sent: list[str] = []

    def note(conn: object, cursor: object, statement: str, *args: object) -> None:
        if statement.lstrip().upper().startswith("UPDATE"):
            sent.append(statement)

    event.listen(engine, "before_cursor_execute", note)
    return sent


def test_many_writes_under_their_leases_go_as_one_statement_when_every_lease_is_held(tables: Engine) -> None:
    _add_jobs(tables, 4)
    claimed = _held_by_a(tables, 4)
    updates = _statements(tables)
    writes = [
        LeasedWrite(n, claimed.token, {"status": "done", "result": f"r{n}"}, {"status": "working"})
        for n in (1, 2, 3)
    ] + [LeasedWrite(4, claimed.token, {"status": "failed"}, {"status": "working"})]
    with session_scope(tables) as session:
        refused = write_many_under_lease(session, JOBS, writes, now=T0 + dt.timedelta(seconds=1))
    assert refused == []
    assert len(updates) == 2  # one executemany for the three alike, one update for the other
    jobs = [_job(tables, n) for n in (1, 2, 3, 4)]
    assert [(j["status"], j["result"], j["lease_token"]) for j in jobs] == [
        ("done", "r1", None), ("done", "r2", None), ("done", "r3", None), ("failed", None, None),
    ]  # fmt: skip


def test_many_writes_refuse_exactly_the_rows_whose_lease_or_status_is_gone(tables: Engine) -> None:
    _add_jobs(tables, 4)
    c = _jobs.c
    claimed = _held_by_a(tables, 4)
    with session_scope(tables) as session:  # job 2 taken over by B; job 3 moved on by someone else
        session.execute(_jobs.update().where(c.id == 2).values(lease_token="b" * 32, leased_by="B"))
        session.execute(_jobs.update().where(c.id == 3).values(status="cancelled"))
    writes = [
        LeasedWrite(n, claimed.token, {"status": "done", "result": f"r{n}"}, {"status": "working"})
        for n in (1, 2, 3, 4)
    ]
    with session_scope(tables) as session:
        refused = write_many_under_lease(session, JOBS, writes, now=T0 + dt.timedelta(seconds=1))
    assert refused == [1, 2]  # positions of jobs 2 and 3
    jobs = {n: _job(tables, n) for n in (1, 2, 3, 4)}
    assert [jobs[n]["result"] for n in (1, 2, 3, 4)] == ["r1", None, None, "r4"]
    assert (jobs[2]["status"], jobs[2]["leased_by"]) == ("working", "B")
    assert jobs[3]["status"] == "cancelled"
    with session_scope(tables) as session:  # job 4's lease has expired by now: refused, though no one took it
        session.execute(_jobs.update().where(c.id == 4).values(lease_token=claimed.token, status="working"))
    with session_scope(tables) as session:
        late = write_many_under_lease(session, JOBS, writes[3:] * 2, now=T0 + dt.timedelta(seconds=60))
    assert late == [0, 1]
    assert _job(tables, 4)["result"] == "r4"  # as the first write left it


def test_a_named_lease_is_created_on_first_use_reentrant_and_exclusive(tables: Engine) -> None:
    with session_scope(tables) as session:
        assert acquire(session, LOCKS, "acme", "one", seconds=60, now=T0)
    with session_scope(tables) as session:
        assert acquire(session, LOCKS, "acme", "one", seconds=60, now=T0 + dt.timedelta(seconds=30))
        assert not acquire(session, LOCKS, "acme", "two", seconds=60, now=T0 + dt.timedelta(seconds=80))
        assert acquire(session, LOCKS, "globex", "two", seconds=60, now=T0)
    # the renewal at +30 s holds until +90 s; after that another holder takes it over
    with session_scope(tables) as session:
        assert acquire(session, LOCKS, "acme", "two", seconds=60, now=T0 + dt.timedelta(seconds=91))
        assert not release(session, LOCKS, "acme", "one")  # no longer one's to give back
        assert release(session, LOCKS, "acme", "two")
        assert acquire(session, LOCKS, "acme", "three", seconds=60, now=T0 + dt.timedelta(seconds=92))
    with session_scope(tables) as session:
        rows = {row.name: row.holder for row in session.execute(select(_locks))}
    assert rows == {"acme": "three", "globex": "two"}
