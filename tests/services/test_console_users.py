"""Console accounts: who may sign in, for how long, how often they may guess, and what each role may do."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import Engine, func, select

from db.engine import session_scope
from db.models import ConsoleLoginAttempt, ConsoleSession
from gateway.services.tenancy import console_users as users
from gateway.services.tenancy.tenants import ensure_tenant

HOUR = dt.timedelta(hours=1)
SECRET = "correct horse battery staple"


def _sign_in(engine: Engine, email: str, password: str, client: str = "10.0.0.1") -> object:
    with session_scope(engine) as session:
        return users.sign_in(session, email, password, client=client, limit=5, lifetime=HOUR)


@pytest.fixture
def kari(engine: Engine) -> str:
    with session_scope(engine) as session:
        ensure_tenant(session, "acme")
        users.add_user(session, "kari@acme.example", SECRET, role="credit", tenant_ids=["acme"])
    return "kari@acme.example"


def test_roles_say_what_a_person_may_do() -> None:
    def identity(role: str) -> users.ConsoleIdentity:
        return users.ConsoleIdentity("u", "a@b.example", role, "acme", ("acme",), "s", "c")

    assert [p for p in ("deliveries", "payments", "settings") if identity("viewer").may(p)] == []
    assert [p for p in ("deliveries", "payments", "settings") if identity("operator").may(p)] == [
        "deliveries"
    ]
    assert [p for p in ("deliveries", "payments", "settings") if identity("credit").may(p)] == ["payments"]
    assert (
        identity("admin").may("deliveries")
        and identity("admin").may("payments")
        and identity("admin").may("settings")
    )
    assert identity("credit").actor == "console:a@b.example"


def test_a_session_is_kept_only_as_a_hash(engine: Engine, kari: str) -> None:
    signed_in = _sign_in(engine, kari, SECRET)
    assert signed_in is not None
    token, identity = signed_in  # type: ignore[misc]
    with session_scope(engine) as session:
        row = session.execute(select(ConsoleSession)).scalar_one()
        assert row.id != token and len(row.id) == 64
        assert users.session_identity(session, token, idle=HOUR) == identity
        assert users.session_identity(session, token + "x", idle=HOUR) is None


def test_a_client_guessing_many_addresses_is_paused_too(engine: Engine, kari: str) -> None:
    for n in range(20):
        assert _sign_in(engine, f"guess{n}@acme.example", "guess guess guess") is None
    with pytest.raises(users.TooManyAttempts):
        _sign_in(engine, kari, SECRET)
    assert _sign_in(engine, kari, SECRET, client="10.0.0.2") is not None  # another client is not held back


def test_a_good_sign_in_forgets_the_failures_of_its_address(engine: Engine, kari: str) -> None:
    for _ in range(4):
        assert _sign_in(engine, kari, "wrong wrong wrong") is None
    assert _sign_in(engine, kari, SECRET) is not None
    with session_scope(engine) as session:
        left = session.execute(
            select(func.count()).select_from(ConsoleLoginAttempt).where(ConsoleLoginAttempt.email == kari)
        ).scalar_one()
    assert left == 0


def test_a_new_password_ends_every_session_and_the_old_password(engine: Engine, kari: str) -> None:
    token, _ = _sign_in(engine, kari, SECRET)  # type: ignore[misc]
    with session_scope(engine) as session:
        users.reset_password(session, kari, "a brand new passphrase")
    with session_scope(engine) as session:
        assert users.session_identity(session, token, idle=HOUR) is None
    assert _sign_in(engine, kari, SECRET) is None
    assert _sign_in(engine, kari, "a brand new passphrase") is not None


def test_an_overlong_password_is_refused_without_hashing_it(engine: Engine, kari: str) -> None:
    assert _sign_in(engine, kari, "x" * 100_000) is None
    with session_scope(engine) as session, pytest.raises(users.ConsoleUserError, match="at most"):
        users.reset_password(session, kari, "x" * 2000)


def test_old_sessions_and_failed_sign_ins_are_forgotten(engine: Engine, kari: str) -> None:
    assert _sign_in(engine, kari, "wrong wrong wrong") is None
    _sign_in(engine, kari, SECRET)
    _sign_in(engine, kari, "wrong again, sorry")
    with session_scope(engine) as session:
        assert users.forget_old_sign_ins(session, dt.datetime.now(dt.UTC)) == 0
    later = dt.datetime.now(dt.UTC) + users.KEEP_HISTORY + HOUR + HOUR
    with session_scope(engine) as session:
        assert users.forget_old_sign_ins(session, later) == 2  # the session (expired) and the failed try
        assert session.execute(select(func.count()).select_from(ConsoleSession)).scalar_one() == 0
