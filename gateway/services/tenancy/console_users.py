"""The ops console's people: accounts with roles, password checks with a rate limit, and sessions.

Why it is shaped this way:
- a password is hashed with argon2id (`argon2-cffi`, its current defaults) and re-hashed on sign-in when
  those defaults grow; it is never logged, never shown, and a wrong one costs as much time as a right one;
- a session is a random 256-bit token: the browser keeps it (signed, in an HttpOnly cookie), the database
  only its SHA-256, so a copy of the table signs nobody in; it ends at log-out, after an idle time, at an
  absolute expiry, and when its user is disabled or given a new password;
- what a person may do is decided here, by role (`may`), so the pages and the server ask the same question;
- a console user's identity in the event history is `console:<email>`, beside the API's `api:<token>`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from email_validator import EmailNotValidError, validate_email
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session
from sqlmodel import col

from db.models import ConsoleLoginAttempt, ConsoleSession, ConsoleUser, Tenant, utcnow

Role = Literal["viewer", "operator", "credit", "admin"]
ROLES: tuple[Role, ...] = ("viewer", "operator", "credit", "admin")

#: What each role may do beyond looking. `deliveries`: resend, correct, cancel, resolve deviations, PODs;
#: `payments`: resolve, approve, reverse and ignore payments; `settings`: change a tenant's settings.
PERMISSIONS: dict[str, frozenset[str]] = {
    "viewer": frozenset(),
    "operator": frozenset({"deliveries"}),
    "credit": frozenset({"payments"}),
    "admin": frozenset({"deliveries", "payments", "settings"}),
}

MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 1024  # argon2 would hash a megabyte; a sign-in form has no business sending one
LOGIN_WINDOW = dt.timedelta(minutes=15)
CLIENT_LIMIT_FACTOR = 4

PASSWORD_HASHER = PasswordHasher()
#: Verified against when the address is unknown, so an unknown address takes as long as a wrong password.
DUMMY_HASH = PASSWORD_HASHER.hash(secrets.token_urlsafe(16))


class ConsoleUserError(ValueError):
    """A user could not be added or changed; `field` names what to fix."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(reason)
        self.field = field
        self.reason = reason


class TooManyAttempts(Exception):
    """Too many failed sign-ins lately, for this address or from this client."""

    def __init__(self, retry_after: dt.timedelta) -> None:
        super().__init__(
            f"too many failed sign-ins; try again in {max(1, round(retry_after.seconds / 60))} min"
        )
        self.retry_after = retry_after


@dataclass(frozen=True)
class ConsoleIdentity:
    """Who is signed in, for which tenant, and what they may do."""

    user_id: str
    email: str
    role: str
    tenant_id: str
    tenant_ids: tuple[str, ...]
    session_id: str
    csrf_token: str

    @property
    def actor(self) -> str:
        return f"console:{self.email}"

    def may(self, permission: str) -> bool:
        return permission in PERMISSIONS.get(self.role, frozenset())


@dataclass(frozen=True)
class ConsoleUserView:
    """A user as `gateway user list` shows them: never the hash."""

    id: str
    email: str
    role: str
    tenant_ids: tuple[str, ...]
    created_at: dt.datetime
    disabled_at: dt.datetime | None

    @property
    def active(self) -> bool:
        return self.disabled_at is None


def normalise_email(email: str) -> str:
    """The sign-in name: a syntactically valid address, lower-cased (no DNS lookup: this is a login)."""
    try:
        checked = validate_email(email.strip(), check_deliverability=False)
    except EmailNotValidError as error:
        raise ConsoleUserError("email", str(error)) from None
    return checked.normalized.lower()


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ConsoleUserError("password", f"a password needs at least {MIN_PASSWORD_LENGTH} characters")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise ConsoleUserError("password", f"a password has at most {MAX_PASSWORD_LENGTH} characters")


def add_user(
    session: Session, email: str, password: str, *, role: str, tenant_ids: Sequence[str]
) -> ConsoleUserView:
    """A new console user. Only an admin may hold several tenants; every tenant must exist already."""
    address = normalise_email(email)
    if role not in ROLES:
        raise ConsoleUserError("role", f"role {role!r} is not one of {', '.join(ROLES)}")
    tenants = list(dict.fromkeys(tenant.strip() for tenant in tenant_ids if tenant.strip()))
    if not tenants:
        raise ConsoleUserError("tenant", "a console user belongs to a tenant: name it with --tenant")
    if len(tenants) > 1 and role != "admin":
        raise ConsoleUserError("tenant", "only an admin may hold several tenants")
    missing = [tenant for tenant in tenants if session.get(Tenant, tenant) is None]
    if missing:
        raise ConsoleUserError("tenant", f"no such tenant: {', '.join(missing)}")
    check_password(password)
    if session.execute(select(col(ConsoleUser.id)).where(col(ConsoleUser.email) == address)).first():
        raise ConsoleUserError("email", f"{address} already has a console account")
    user = ConsoleUser(
        email=address, password_hash=PASSWORD_HASHER.hash(password), role=role, tenant_ids=tenants
    )
    session.add(user)
    session.flush()
    return _view(user)


def _view(user: ConsoleUser) -> ConsoleUserView:
    return ConsoleUserView(
        id=user.id,
        email=user.email,
        role=user.role,
        tenant_ids=tuple(user.tenant_ids),
        created_at=user.created_at,
        disabled_at=user.disabled_at,
    )


def list_users(session: Session, tenant_id: str | None = None) -> list[ConsoleUserView]:
    users = session.execute(select(ConsoleUser).order_by(col(ConsoleUser.email))).scalars()
    return [_view(user) for user in users if tenant_id is None or tenant_id in user.tenant_ids]


def _user_by_email(session: Session, email: str) -> ConsoleUser:
    address = normalise_email(email)
    user = session.execute(select(ConsoleUser).where(col(ConsoleUser.email) == address)).scalar_one_or_none()
    if user is None:
        raise ConsoleUserError("email", f"no console user {address}")
    return user


def _end_sessions(session: Session, user_id: str, now: dt.datetime) -> None:
    session.execute(
        update(ConsoleSession)
        .where(col(ConsoleSession.user_id) == user_id, col(ConsoleSession.ended_at).is_(None))
        .values(ended_at=now)
    )


def disable_user(session: Session, email: str) -> ConsoleUserView:
    """The user can no longer sign in, and every session of theirs ends now."""
    user = _user_by_email(session, email)
    now = utcnow()
    if user.disabled_at is None:
        user.disabled_at = now
        session.add(user)
    _end_sessions(session, user.id, now)
    session.flush()
    return _view(user)


def reset_password(session: Session, email: str, password: str) -> ConsoleUserView:
    """A new password (which also enables a disabled user); every session of theirs ends now."""
    check_password(password)
    user = _user_by_email(session, email)
    now = utcnow()
    user.password_hash = PASSWORD_HASHER.hash(password)
    user.password_changed_at = now
    user.disabled_at = None
    session.add(user)
    _end_sessions(session, user.id, now)
    session.flush()
    return _view(user)


# --- signing in ---------------------------------------------------------------------------------------------


def _failures_since(session: Session, column: str, value: str, since: dt.datetime) -> tuple[int, dt.datetime]:
    where = col(getattr(ConsoleLoginAttempt, column)) == value
    count, first = session.execute(
        select(func.count(), func.min(col(ConsoleLoginAttempt.at))).where(
            where, col(ConsoleLoginAttempt.at) >= since
        )
    ).one()
    return int(count), first or since


def _check_rate(session: Session, address: str, client: str, limit: int, now: dt.datetime) -> None:
    since = now - LOGIN_WINDOW
    for column, value, allowed in (
        ("email", address, limit),
        ("client", client, limit * CLIENT_LIMIT_FACTOR),
    ):
        count, first = _failures_since(session, column, value, since)
        if count >= allowed:
            raise TooManyAttempts(first + LOGIN_WINDOW - now)


def sign_in(
    session: Session,
    email: str,
    password: str,
    *,
    client: str,
    limit: int,
    lifetime: dt.timedelta,
) -> tuple[str, ConsoleIdentity] | None:
    """A new session token and its identity, or None for a wrong address or password (the same answer
    for both). Raises `TooManyAttempts` before checking anything once the limit is reached."""
    now = utcnow()
    try:
        address = normalise_email(email)
    except ConsoleUserError:
        address = email.strip().lower()[:320]
    _check_rate(session, address, client[:100], limit, now)
    user = session.execute(select(ConsoleUser).where(col(ConsoleUser.email) == address)).scalar_one_or_none()
    matches = password_matches(user.password_hash if user else DUMMY_HASH, password)
    if user is None or not matches or user.disabled_at is not None:
        session.add(ConsoleLoginAttempt(email=address, client=client[:100], at=now))
        session.flush()
        return None
    if PASSWORD_HASHER.check_needs_rehash(user.password_hash):
        user.password_hash = PASSWORD_HASHER.hash(password)
        session.add(user)
    session.execute(delete(ConsoleLoginAttempt).where(col(ConsoleLoginAttempt.email) == address))
    token = secrets.token_urlsafe(32)
    row = ConsoleSession(
        id=_digest(token),
        user_id=user.id,
        tenant_id=user.tenant_ids[0],
        csrf_token=secrets.token_urlsafe(32),
        created_at=now,
        last_seen_at=now,
        expires_at=now + lifetime,
    )
    session.add(row)
    session.flush()
    return token, _identity(user, row)


def password_matches(password_hash: str, password: str) -> bool:
    """Whether `password` is the one hashed (argon2id); an over-long one never is (never hashed either).
    The console's and the portal's sign-ins use this, with `DUMMY_HASH` for an unknown address."""
    if len(password) > MAX_PASSWORD_LENGTH:
        return False
    try:
        return PASSWORD_HASHER.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _identity(user: ConsoleUser, row: ConsoleSession) -> ConsoleIdentity:
    return ConsoleIdentity(
        user_id=user.id,
        email=user.email,
        role=user.role,
        tenant_id=row.tenant_id,
        tenant_ids=tuple(user.tenant_ids),
        session_id=row.id,
        csrf_token=row.csrf_token,
    )


def session_identity(session: Session, token: str, *, idle: dt.timedelta) -> ConsoleIdentity | None:
    """Who holds this session token, or None when it is unknown, ended, idle too long or expired, or its
    user is disabled. A live session's idle clock starts again."""
    row = session.get(ConsoleSession, _digest(token))
    if row is None or row.ended_at is not None:
        return None
    now = utcnow()
    if now >= row.expires_at or now - row.last_seen_at >= idle:
        row.ended_at = now
        session.add(row)
        return None
    user = session.get(ConsoleUser, row.user_id)
    if user is None or user.disabled_at is not None or row.tenant_id not in user.tenant_ids:
        return None
    row.last_seen_at = now
    session.add(row)
    return _identity(user, row)


def sign_out(session: Session, token: str) -> None:
    row = session.get(ConsoleSession, _digest(token))
    if row is not None and row.ended_at is None:
        row.ended_at = utcnow()
        session.add(row)


def switch_tenant(session: Session, identity: ConsoleIdentity, tenant_id: str) -> bool:
    """Show another of the user's tenants in this session; False if the tenant is not theirs."""
    if tenant_id not in identity.tenant_ids:
        return False
    row = session.get(ConsoleSession, identity.session_id)
    if row is None:
        return False
    row.tenant_id = tenant_id
    session.add(row)
    return True


#: How long ended sessions and old failed sign-ins are kept, for a look back after an incident.
KEEP_HISTORY = dt.timedelta(days=30)


def forget_old_sign_ins(session: Session, now: dt.datetime) -> int:
    """Delete sessions that ended (or expired) and failed sign-ins older than `KEEP_HISTORY`: the tables
    would otherwise only grow. How many rows went."""
    before = now - KEEP_HISTORY
    attempts = session.execute(delete(ConsoleLoginAttempt).where(col(ConsoleLoginAttempt.at) < before))
    sessions = session.execute(
        delete(ConsoleSession).where(
            (col(ConsoleSession.ended_at) < before) | (col(ConsoleSession.expires_at) < before)
        )
    )
    return int(getattr(attempts, "rowcount", 0) or 0) + int(getattr(sessions, "rowcount", 0) or 0)
