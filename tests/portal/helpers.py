"""Portal test helpers: a customer signed in on a TestClient without going through the e-mail link (the
sign-in tests go through it), and the CSRF token of that session."""

from __future__ import annotations

import datetime as dt

from fastapi.testclient import TestClient
from itsdangerous import Signer
from sqlalchemy import Engine, select
from sqlmodel import col

from db.engine import session_scope
from db.models import PortalUser
from gateway.services.installation_key import signing_key
from gateway.services.portal.sessions import PortalIdentity, session_identity, start_session


def portal_session(
    client: TestClient,
    engine: Engine,
    tenant_id: str,
    receiver_id: str,
    *,
    email: str | None = "ap@customer.example",
    invoice_id: str | None = None,
) -> PortalIdentity:
    """Sign `client` in as `email` of customer `receiver_id` (the user is made when missing), or, with
    `email=None`, as the visitor of invoice `invoice_id`'s link. Returns the identity (its `csrf_token`)."""
    settings = client.app.state.settings  # type: ignore[attr-defined]
    with session_scope(engine) as session:
        user_id = None
        if email is not None:
            user = session.execute(
                select(PortalUser).where(
                    col(PortalUser.tenant_id) == tenant_id,
                    col(PortalUser.receiver_id) == receiver_id,
                    col(PortalUser.email) == email,
                )
            ).scalar_one_or_none()
            if user is None:
                user = PortalUser(tenant_id=tenant_id, receiver_id=receiver_id, email=email)
                session.add(user)
                session.flush()
            user_id = user.id
        token, _ = start_session(
            session,
            tenant_id=tenant_id,
            receiver_id=receiver_id,
            user_id=user_id,
            invoice_id=invoice_id,
            lifetime=dt.timedelta(hours=1),
        )
        identity = session_identity(session, token, idle=dt.timedelta(hours=1))
    assert identity is not None
    signed = Signer(signing_key(settings), salt="gw-portal").sign(token.encode()).decode()
    client.cookies.set("gw_portal", signed, path="/portal")
    return identity
