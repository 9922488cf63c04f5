"""Portal sessions: one browser of one customer (a receiver of one tenant), or of one invoice's link.

A session is a random 256-bit token: the browser keeps it (signed, in an HttpOnly cookie), the database only
its SHA-256, so a copy of the table signs nobody in. A new session is made at every sign-in (never an
earlier one taken over: no session fixation); it ends at sign-out, when idle too long, at its absolute
expiry, and when its user is disabled. A session opened by an invoice's "view online / pay" link
(`invoice_id` set, no user) shows that invoice only.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import delete, update
from sqlalchemy.orm import Session
from sqlmodel import col

from db.models import PortalLinkRequest, PortalLinkToken, PortalSession, PortalUser, utcnow


@dataclass(frozen=True)
class PortalIdentity:
    """Who is looking: the tenant (seller), the customer (receiver id), the user (None for an invoice link),
    and, for an invoice link, the one invoice they may see."""

    session_id: str
    tenant_id: str
    receiver_id: str
    user_id: str | None
    email: str | None
    invoice_id: str | None
    csrf_token: str
    language: str = "nb"

    @property
    def actor(self) -> str:
        """Who did it, in every history: `portal:<email>`, or `portal-link:<invoice id>` for a link."""
        return f"portal:{self.email}" if self.email else f"portal-link:{self.invoice_id}"

    @property
    def signed_in(self) -> bool:
        return self.user_id is not None

    def may_see(self, invoice_id: str) -> bool:
        """An invoice link's visitor sees its one invoice; a signed-in user all of the customer's (the
        caller still checks the invoice is this customer's)."""
        return self.invoice_id is None or self.invoice_id == invoice_id


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(
    session: Session,
    *,
    tenant_id: str,
    receiver_id: str,
    user_id: str | None = None,
    invoice_id: str | None = None,
    lifetime: dt.timedelta,
    now: dt.datetime | None = None,
) -> tuple[str, PortalSession]:
    """A new session (its token, to sign into the cookie, and its row)."""
    moment = now or utcnow()
    token = secrets.token_urlsafe(32)
    row = PortalSession(
        id=hash_token(token),
        tenant_id=tenant_id,
        receiver_id=receiver_id,
        user_id=user_id,
        invoice_id=invoice_id,
        csrf_token=secrets.token_urlsafe(24),
        created_at=moment,
        last_seen_at=moment,
        expires_at=moment + lifetime,
    )
    session.add(row)
    session.flush()
    return token, row


def session_identity(
    session: Session, token: str, *, idle: dt.timedelta, now: dt.datetime | None = None
) -> PortalIdentity | None:
    """The live session's identity (and its last-seen time moved on), or None: unknown, ended, expired,
    idle too long, or its user disabled."""
    moment = now or utcnow()
    row = session.get(PortalSession, hash_token(token))
    if row is None or row.ended_at is not None or row.expires_at <= moment:
        return None
    if row.last_seen_at + idle <= moment:
        row.ended_at = moment
        session.add(row)
        return None
    user = session.get(PortalUser, row.user_id) if row.user_id else None
    if row.user_id is not None and (user is None or user.disabled_at is not None):
        return None
    if (moment - row.last_seen_at).total_seconds() > 30:  # one write a half-minute, not one per request
        row.last_seen_at = moment
        session.add(row)
    return PortalIdentity(
        session_id=row.id,
        tenant_id=row.tenant_id,
        receiver_id=row.receiver_id,
        user_id=row.user_id,
        email=user.email if user else None,
        invoice_id=row.invoice_id,
        csrf_token=row.csrf_token,
        language=user.language if user else "nb",
    )


def end_session(session: Session, token: str, now: dt.datetime | None = None) -> None:
    """Sign out: the session ends now (an unknown token is nothing to end)."""
    session.execute(
        update(PortalSession)
        .where(col(PortalSession.id) == hash_token(token), col(PortalSession.ended_at).is_(None))
        .values(ended_at=now or utcnow())
    )


def end_user_sessions(session: Session, user_id: str, now: dt.datetime | None = None) -> None:
    """Every session of the user ends now (disabled, or a new password)."""
    session.execute(
        update(PortalSession)
        .where(col(PortalSession.user_id) == user_id, col(PortalSession.ended_at).is_(None))
        .values(ended_at=now or utcnow())
    )


#: Ended sessions, used or expired links and link requests are kept this long (what happened, for a while).
KEEP_HISTORY = dt.timedelta(days=30)


def forget_old_portal_rows(session: Session, now: dt.datetime) -> int:
    """Delete portal sessions that ended or expired, sign-in links used or expired, and link requests (the
    rate limit's memory) older than `KEEP_HISTORY`: the tables would otherwise only grow.
    How many rows went."""
    before = now - KEEP_HISTORY
    removed = 0
    for statement in (
        delete(PortalLinkRequest).where(col(PortalLinkRequest.at) < before),
        delete(PortalLinkToken).where(
            (col(PortalLinkToken.used_at) < before) | (col(PortalLinkToken.expires_at) < before)
        ),
        delete(PortalSession).where(
            (col(PortalSession.ended_at) < before) | (col(PortalSession.expires_at) < before)
        ),
    ):
        result = session.execute(statement)
        removed += int(getattr(result, "rowcount", 0) or 0)
    return removed
