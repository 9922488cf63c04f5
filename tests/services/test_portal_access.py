"""Portal access in the service: users made for the address a receiver profile names, links (single use,
expiry, browser binding, invitations unbound), the rate limit and its window, passwords, disabling."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import Engine, select
from sqlmodel import col

from db.engine import session_scope
from db.models import PortalLinkToken, PortalSession, PortalUser, utcnow
from gateway.services.portal.access import (
    LinkRefused,
    PortalAccessError,
    TooManyRequests,
    UnknownCustomer,
    consume_link,
    disable_user,
    invite_user,
    list_users,
    password_sign_in,
    request_sign_in_link,
    set_password,
)
from gateway.services.portal.sessions import hash_token, session_identity
from tests.portal.mailbox import seed_customer

MINUTES_15 = dt.timedelta(minutes=15)
HOUR = dt.timedelta(hours=1)
BROWSER = "b" * 64


def _ask(engine: Engine, email: str, now: dt.datetime, client: str = "10.0.0.1", tenant: str = "acme"):  # type: ignore[no-untyped-def]
    with session_scope(engine) as session:
        return request_sign_in_link(
            session, tenant, email, client=client, browser_hash=BROWSER, limit=3, lifetime=MINUTES_15, now=now
        )


def test_a_link_request_makes_the_profiles_user_once_and_nobody_else(engine: Engine) -> None:
    seed_customer(engine, email_address=" AP@Customer.test ")
    seed_customer(engine, receiver_id="C2", email_address="other@customer.test")
    now = utcnow()
    first = _ask(engine, "ap@CUSTOMER.test", now)
    second = _ask(engine, "Ap@customer.test", now)
    assert first is not None and second is not None and first.token != second.token
    assert first.user_id == second.user_id and first.email == "ap@customer.test"
    assert _ask(engine, "stranger@customer.test", now) is None
    assert _ask(engine, "not an address", now) is None
    with session_scope(engine) as session:
        users = list(session.execute(select(PortalUser)).scalars())
        assert [(user.receiver_id, user.email) for user in users] == [("C1", "ap@customer.test")]
        stored = session.get(PortalLinkToken, hash_token(first.token))
        assert stored is not None and stored.browser_hash == BROWSER and stored.purpose == "sign-in"
        # The token itself is stored nowhere.
        assert session.get(PortalLinkToken, first.token) is None


def test_the_rate_limit_counts_known_and_unknown_alike_and_its_window_passes(engine: Engine) -> None:
    seed_customer(engine)
    now = utcnow()
    for address in ("ap@customer.test", "nobody@customer.test"):
        for _ in range(3):
            _ask(engine, address, now)
        with pytest.raises(TooManyRequests) as caught:
            _ask(engine, address, now + dt.timedelta(minutes=5))
        assert dt.timedelta(minutes=9) < caught.value.retry_after <= dt.timedelta(minutes=10)
    assert _ask(engine, "ap@customer.test", now + dt.timedelta(minutes=16)) is not None
    # Per tenant: the same address at another seller is counted apart.
    seed_customer(engine, tenant_id="globex")
    assert _ask(engine, "ap@customer.test", now, tenant="globex") is not None


def test_a_link_is_used_once_in_its_own_browser_before_it_expires(engine: Engine) -> None:
    seed_customer(engine)
    now = utcnow()
    link = _ask(engine, "ap@customer.test", now)
    assert link is not None
    with session_scope(engine) as session, pytest.raises(LinkRefused) as refused:
        consume_link(session, link.token, browser_hash="c" * 64, lifetime=HOUR, now=now)
    assert refused.value.problem == "browser"
    with session_scope(engine) as session, pytest.raises(LinkRefused) as refused:
        consume_link(session, link.token, browser_hash=None, lifetime=HOUR, now=now)
    assert refused.value.problem == "browser"
    with session_scope(engine) as session, pytest.raises(LinkRefused) as refused:
        consume_link(session, link.token, browser_hash=BROWSER, lifetime=HOUR, now=now + MINUTES_15)
    assert refused.value.problem == "expired"
    with session_scope(engine) as session:
        token, row = consume_link(session, link.token, browser_hash=BROWSER, lifetime=HOUR, now=now)
        assert row.user_id == link.user_id and row.receiver_id == "C1"
    with session_scope(engine) as session, pytest.raises(LinkRefused) as refused:
        consume_link(session, link.token, browser_hash=BROWSER, lifetime=HOUR, now=now)
    assert refused.value.problem == "used"
    with session_scope(engine) as session, pytest.raises(LinkRefused) as refused:
        consume_link(session, "no-such-token", browser_hash=BROWSER, lifetime=HOUR, now=now)
    assert refused.value.problem == "unknown"
    with session_scope(engine) as session:
        identity = session_identity(session, token, idle=HOUR, now=now)
        assert identity is not None and identity.email == "ap@customer.test"
        user = session.get(PortalUser, link.user_id)
        assert user is not None and user.last_sign_in_at is not None


def test_an_invitation_is_unbound_single_use_and_disabling_ends_everything(engine: Engine) -> None:
    seed_customer(engine, email_address=None)
    now = utcnow()
    with session_scope(engine) as session:
        with pytest.raises(UnknownCustomer):
            invite_user(
                session, "acme", "C9", "x@y.test", language=None, invited_by="api:erp", lifetime=HOUR, now=now
            )
        with pytest.raises(PortalAccessError):
            invite_user(
                session, "acme", "C1", "nonsense", language=None, invited_by="api:erp", lifetime=HOUR, now=now
            )
        view, link = invite_user(
            session,
            "acme",
            "C1",
            "Buyer@Customer.test",
            language="en",
            invited_by="api:erp",
            lifetime=HOUR,
            now=now,
        )
    assert view.email == "buyer@customer.test" and view.language == "en" and link.purpose == "invite"
    with session_scope(engine) as session:
        token, _ = consume_link(session, link.token, browser_hash=None, lifetime=HOUR, now=now)
        set_password(session, view.id, "correct horse battery", keep_session=hash_token(token), now=now)
    with session_scope(engine) as session:
        assert (
            password_sign_in(
                session,
                "acme",
                "buyer@customer.test",
                "wrong password!",
                client="c",
                limit=3,
                lifetime=HOUR,
                now=now,
            )
            is None
        )
        started = password_sign_in(
            session,
            "acme",
            "BUYER@customer.test",
            "correct horse battery",
            client="c",
            limit=3,
            lifetime=HOUR,
            now=now,
        )
        assert started is not None
    # A pending link of the user's is no use once it is disabled.
    pending = _ask(engine, "buyer@customer.test", now)
    assert pending is not None
    with session_scope(engine) as session:
        assert disable_user(session, "globex", "C1", view.id, now) is None  # another tenant: nothing
        assert disable_user(session, "acme", "C1", view.id, now) is not None
    with session_scope(engine) as session:
        live = session.execute(
            select(PortalSession).where(
                col(PortalSession.user_id) == view.id, col(PortalSession.ended_at).is_(None)
            )
        ).all()
        assert live == []
        assert session_identity(session, token, idle=HOUR, now=now) is None
        with pytest.raises(LinkRefused):
            consume_link(session, pending.token, browser_hash=BROWSER, lifetime=HOUR, now=now)
        assert (
            password_sign_in(
                session,
                "acme",
                "buyer@customer.test",
                "correct horse battery",
                client="c",
                limit=3,
                lifetime=HOUR,
                now=now,
            )
            is None
        )
        assert [user.active for user in list_users(session, "acme", "C1")] == [False]
    assert _ask(engine, "buyer@customer.test", now + dt.timedelta(hours=1)) is None


def test_a_password_needs_twelve_characters(engine: Engine) -> None:
    seed_customer(engine)
    with session_scope(engine) as session:
        user = PortalUser(tenant_id="acme", receiver_id="C1", email="ap@customer.test")
        session.add(user)
        session.flush()
        with pytest.raises(PortalAccessError):
            set_password(session, user.id, "eleven char", keep_session=None, now=utcnow())


def test_old_portal_history_is_forgotten(engine: Engine) -> None:
    from gateway.services.portal.sessions import forget_old_portal_rows

    seed_customer(engine)
    long_ago = utcnow() - dt.timedelta(days=40)
    now = utcnow()
    old = _ask(engine, "ap@customer.test", long_ago)
    fresh = _ask(engine, "ap@customer.test", now)
    assert old is not None and fresh is not None
    with session_scope(engine) as session:
        consume_link(session, old.token, browser_hash=BROWSER, lifetime=HOUR, now=long_ago)
    with session_scope(engine) as session:
        # the old request, the old link, the old (expired) session
        assert forget_old_portal_rows(session, now) == 3
    with session_scope(engine) as session:
        assert session.get(PortalLinkToken, hash_token(fresh.token)) is not None
        assert session.get(PortalLinkToken, hash_token(old.token)) is None
