"""The portal's frame: sessions (idle, expiry, sign-out), the sign-in redirect, CSRF on posts, security
headers, the language switch and the seller's logo."""

from __future__ import annotations

import datetime as dt

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from db.engine import session_scope
from db.models import PortalUser, Tenant, utcnow
from gateway.services.portal.sessions import end_session, session_identity, start_session
from tests.portal.helpers import portal_session


def _tenant(engine: Engine, tenant_id: str = "acme") -> None:
    with session_scope(engine) as session:
        if session.get(Tenant, tenant_id) is None:
            session.add(Tenant(id=tenant_id, name=tenant_id.title() + " AS"))


def test_a_session_ends_when_idle_expired_or_signed_out(engine: Engine) -> None:
    _tenant(engine)
    now = utcnow()
    with session_scope(engine) as session:
        user = PortalUser(tenant_id="acme", receiver_id="C1", email="ap@c1.example")
        session.add(user)
        session.flush()
        token, _ = start_session(
            session,
            tenant_id="acme",
            receiver_id="C1",
            user_id=user.id,
            lifetime=dt.timedelta(hours=2),
            now=now,
        )
    idle = dt.timedelta(minutes=30)
    with session_scope(engine) as session:
        identity = session_identity(session, token, idle=idle, now=now + dt.timedelta(minutes=10))
        assert identity is not None and identity.email == "ap@c1.example" and identity.signed_in
        assert identity.actor == "portal:ap@c1.example"
        assert session_identity(session, "not-a-token", idle=idle, now=now) is None
        assert session_identity(session, token, idle=idle, now=now + dt.timedelta(hours=3)) is None
    with session_scope(engine) as session:
        end_session(session, token)
    with session_scope(engine) as session:
        assert session_identity(session, token, idle=idle, now=now + dt.timedelta(minutes=11)) is None


def test_a_disabled_user_is_signed_out(engine: Engine) -> None:
    _tenant(engine)
    with session_scope(engine) as session:
        user = PortalUser(tenant_id="acme", receiver_id="C1", email="ap@c1.example")
        session.add(user)
        session.flush()
        token, _ = start_session(
            session, tenant_id="acme", receiver_id="C1", user_id=user.id, lifetime=dt.timedelta(hours=1)
        )
        user.disabled_at = utcnow()
        session.add(user)
    with session_scope(engine) as session:
        assert session_identity(session, token, idle=dt.timedelta(minutes=30)) is None


def test_a_stranger_is_sent_to_sign_in_and_a_post_needs_the_csrf_token(
    client: TestClient, engine: Engine
) -> None:
    answer = client.post("/portal/sign-out", follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"].startswith("/portal/sign-in")
    _tenant(engine)
    identity = portal_session(client, engine, "acme", "C1")
    refused = client.post("/portal/sign-out", data={"csrf_token": "wrong"}, follow_redirects=False)
    assert refused.status_code == 403
    assert "security token" in refused.text and "<html" in refused.text
    foreign = client.post(
        "/portal/sign-out",
        data={"csrf_token": identity.csrf_token},
        headers={"Origin": "https://evil.example"},
        follow_redirects=False,
    )
    assert foreign.status_code == 403


def test_portal_answers_carry_security_headers_and_a_404_page(client: TestClient) -> None:
    answer = client.get("/portal/brand/nobody/logo")
    assert answer.status_code == 404
    assert answer.headers["x-frame-options"] == "DENY"
    assert answer.headers["referrer-policy"] == "same-origin"  # nothing to other sites; Origin kept
    assert "frame-ancestors 'none'" in answer.headers["content-security-policy"]
    assert "<html" in answer.text


def test_the_language_switch_is_remembered_and_stays_on_this_server(client: TestClient) -> None:
    answer = client.post(
        "/portal/language", data={"language": "en", "next": "https://evil.example/"}, follow_redirects=False
    )
    assert answer.status_code == 303 and answer.headers["location"] == "/portal/"
    assert "gw_portal_lang=en" in answer.headers["set-cookie"]
    assert client.post("/portal/language", data={"language": "de"}).status_code == 422
