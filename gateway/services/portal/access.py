"""Who may enter the customer portal: portal users, one-time sign-in and invitation links, the rate limit on
asking for links, and the optional password.

Why it is shaped this way:
- a link is a random 256-bit token: the e-mail carries it, the database only its SHA-256, so a copy of the
  table signs nobody in; it is single-use (marked used by one conditional UPDATE, so two clicks racing
  cannot both win) and short-lived; a sign-in link is bound to the browser that asked for it (the SHA-256
  of a random value in that browser's cookie), so a link read from someone else's mailbox or a proxy log is
  worth nothing elsewhere. An invitation link is not bound (ops sent it; the customer opens it wherever);
- asking for a link answers the same for a known and an unknown address, counts against the same limit, and
  does the same database work (the lookups, the request row, a token made): nobody learns from the portal
  which addresses are customers';
- a user is made, on a link request, for the address a receiver profile names (`addresses.email`), or by
  an invitation from the seller's ops; a disabled user cannot sign in and its sessions end;
- consuming a link always starts a NEW session (the caller ends the browser's previous one): no fixation;
- a password is optional, argon2id like the console's, and a wrong one is the same answer as an unknown
  address, after the same hashing work.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Literal

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session
from sqlmodel import col

from db.models import InvoiceRecord, PortalLinkRequest, PortalLinkToken, PortalSession, PortalUser, Receiver
from gateway.services.portal.sessions import end_user_sessions, hash_token, start_session
from gateway.services.tenancy.console_users import (
    DUMMY_HASH,
    PASSWORD_HASHER,
    ConsoleUserError,
    check_password,
    password_matches,
)

Purpose = Literal["sign-in", "invite"]
SIGN_IN: Purpose = "sign-in"
INVITE: Purpose = "invite"
LANGUAGES = ("nb", "en")

#: The rate limit's window: `limit` link requests (or failed password sign-ins) per address, ten times
#: that per client.
RATE_WINDOW = dt.timedelta(minutes=15)
CLIENT_LIMIT_FACTOR = 10


class PortalAccessError(ValueError):
    """A portal user could not be added or changed; `field` names what to fix."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(reason)
        self.field = field
        self.reason = reason


class UnknownCustomer(LookupError):
    """No such receiver (customer) for this tenant: the caller answers 404, like any other id."""


class TooManyRequests(Exception):
    """Too many links asked for (or passwords tried) lately, for this address or from this client."""

    def __init__(self, retry_after: dt.timedelta) -> None:
        super().__init__(f"too many attempts; try again in {max(1, round(retry_after.seconds / 60))} min")
        self.retry_after = retry_after


LinkProblem = Literal["unknown", "expired", "used", "browser"]


class LinkRefused(Exception):
    """A link that signs nobody in: unknown (or its user disabled), expired, used, or opened in a browser
    other than the one that asked for it."""

    def __init__(self, problem: LinkProblem) -> None:
        super().__init__(f"the link is {problem}")
        self.problem = problem


@dataclass(frozen=True)
class PortalUserView:
    """A portal user as ops see it: never the password hash, only whether there is one."""

    id: str
    tenant_id: str
    receiver_id: str
    email: str
    language: str
    has_password: bool
    invited_by: str | None
    created_at: dt.datetime
    last_sign_in_at: dt.datetime | None
    disabled_at: dt.datetime | None

    @property
    def active(self) -> bool:
        return self.disabled_at is None


@dataclass(frozen=True)
class LinkToSend:
    """A link made, for the mail to carry: the token is in no log line, no answer, no table."""

    token: str
    purpose: Purpose
    user_id: str
    tenant_id: str
    email: str
    language: str
    expires_at: dt.datetime


def _view(user: PortalUser) -> PortalUserView:
    return PortalUserView(
        id=user.id,
        tenant_id=user.tenant_id,
        receiver_id=user.receiver_id,
        email=user.email,
        language=user.language,
        has_password=user.password_hash is not None,
        invited_by=user.invited_by,
        created_at=user.created_at,
        last_sign_in_at=user.last_sign_in_at,
        disabled_at=user.disabled_at,
    )


def normalise_email(email: str) -> str:
    """A syntactically valid address, lower-cased (no DNS lookup), as `console_users.normalise_email`."""
    try:
        checked = validate_email(email.strip(), check_deliverability=False, test_environment=True)
    except EmailNotValidError as error:
        raise PortalAccessError("email", str(error)) from None
    return checked.normalized.lower()


def _loose_address(email: str) -> str:
    """What the rate limit counts for an address that is not one: its text, trimmed and lower-cased."""
    try:
        return normalise_email(email)
    except PortalAccessError:
        return email.strip().lower()[:320]


def email_hash(tenant_id: str, address: str) -> str:
    """The address as the rate-limit table keeps it (not the address itself: it is no customer list)."""
    return hashlib.sha256(f"{tenant_id}\0{address}".encode()).hexdigest()


# --- the rate limit ----------------------------------------------------------------------------------------


def _count_since(session: Session, where: object, since: dt.datetime) -> tuple[int, dt.datetime]:
    count, first = session.execute(
        select(func.count(), func.min(col(PortalLinkRequest.at))).where(
            where,  # type: ignore[arg-type]
            col(PortalLinkRequest.at) >= since,
        )
    ).one()
    return int(count), first or since


def check_rate(
    session: Session, tenant_id: str, address: str, client: str, limit: int, now: dt.datetime
) -> None:
    """`TooManyRequests` once the address (of this tenant) or the client reached its limit in the window."""
    since = now - RATE_WINDOW
    for where, allowed in (
        (col(PortalLinkRequest.email_hash) == email_hash(tenant_id, address), limit),
        (col(PortalLinkRequest.client) == client[:100], limit * CLIENT_LIMIT_FACTOR),
    ):
        count, first = _count_since(session, where, since)
        if count >= allowed:
            raise TooManyRequests(first + RATE_WINDOW - now)


def _count_request(session: Session, tenant_id: str, address: str, client: str, now: dt.datetime) -> None:
    session.add(
        PortalLinkRequest(
            tenant_id=tenant_id, email_hash=email_hash(tenant_id, address), client=client[:100], at=now
        )
    )
    session.flush()


# --- users -------------------------------------------------------------------------------------------------


def receiver_exists(session: Session, tenant_id: str, receiver_id: str) -> bool:
    return (
        session.execute(
            select(col(Receiver.id)).where(
                col(Receiver.tenant_id) == tenant_id, col(Receiver.receiver_id) == receiver_id
            )
        ).first()
        is not None
    )


def _receivers_naming(session: Session, tenant_id: str, address: str) -> list[str]:
    """The receivers of the tenant whose profile names `address` as their e-mail (any case)."""
    named = func.lower(func.trim(Receiver.profile[("addresses", "email")].as_string()))  # type: ignore[index]
    rows = session.execute(
        select(col(Receiver.receiver_id))
        .where(col(Receiver.tenant_id) == tenant_id, named == address)
        .order_by(col(Receiver.receiver_id))
    )
    return [str(row[0]) for row in rows]


def _users_of(session: Session, tenant_id: str, address: str) -> list[PortalUser]:
    return list(
        session.execute(
            select(PortalUser)
            .where(col(PortalUser.tenant_id) == tenant_id, col(PortalUser.email) == address)
            .order_by(col(PortalUser.last_sign_in_at).desc(), col(PortalUser.created_at))
        ).scalars()
    )


def _user_for_link(session: Session, tenant_id: str, address: str) -> PortalUser | None:
    """Who a sign-in link for `address` signs in: its user (the latest signed in, when the address is a
    user of several customers), else a new user for the customer whose profile names the address; None
    when the address is nobody's, or its only users are disabled."""
    users = _users_of(session, tenant_id, address)
    receivers = _receivers_naming(session, tenant_id, address)  # asked every time: the same work for all
    active = [user for user in users if user.disabled_at is None]
    if active:
        return active[0]
    taken = {user.receiver_id for user in users}
    fresh = [receiver for receiver in receivers if receiver not in taken]
    if not fresh:
        return None
    user = PortalUser(tenant_id=tenant_id, receiver_id=fresh[0], email=address)
    session.add(user)
    session.flush()
    return user


def list_users(session: Session, tenant_id: str, receiver_id: str) -> list[PortalUserView]:
    users = session.execute(
        select(PortalUser)
        .where(col(PortalUser.tenant_id) == tenant_id, col(PortalUser.receiver_id) == receiver_id)
        .order_by(col(PortalUser.email))
    ).scalars()
    return [_view(user) for user in users]


def get_user(session: Session, tenant_id: str, user_id: str) -> PortalUserView | None:
    user = session.get(PortalUser, user_id)
    return _view(user) if user is not None and user.tenant_id == tenant_id else None


def _new_link(
    session: Session,
    user: PortalUser,
    purpose: Purpose,
    browser_hash: str | None,
    expires_at: dt.datetime,
    now: dt.datetime,
) -> LinkToSend:
    token = secrets.token_urlsafe(32)
    session.add(
        PortalLinkToken(
            id=hash_token(token),
            user_id=user.id,
            purpose=purpose,
            browser_hash=browser_hash,
            created_at=now,
            expires_at=expires_at,
        )
    )
    session.flush()
    return LinkToSend(
        token=token,
        purpose=purpose,
        user_id=user.id,
        tenant_id=user.tenant_id,
        email=user.email,
        language=user.language,
        expires_at=expires_at,
    )


def invite_user(
    session: Session,
    tenant_id: str,
    receiver_id: str,
    email: str,
    *,
    language: str | None,
    invited_by: str,
    lifetime: dt.timedelta,
    now: dt.datetime,
) -> tuple[PortalUserView, LinkToSend]:
    """Ops let `email` sign in for customer `receiver_id` (made, or enabled again) and the invitation link
    to send it. `UnknownCustomer` when the tenant has no such receiver."""
    address = normalise_email(email)
    if language is not None and language not in LANGUAGES:
        raise PortalAccessError("language", f"language {language!r} is not one of {', '.join(LANGUAGES)}")
    if not receiver_exists(session, tenant_id, receiver_id):
        raise UnknownCustomer(receiver_id)
    user = session.execute(
        select(PortalUser).where(
            col(PortalUser.tenant_id) == tenant_id,
            col(PortalUser.receiver_id) == receiver_id,
            col(PortalUser.email) == address,
        )
    ).scalar_one_or_none()
    if user is None:
        user = PortalUser(tenant_id=tenant_id, receiver_id=receiver_id, email=address, created_at=now)
    user.invited_by = invited_by[:200]
    user.disabled_at = None
    if language is not None:
        user.language = language
    session.add(user)
    session.flush()
    link = _new_link(session, user, INVITE, None, now + lifetime, now)
    return _view(user), link


def disable_user(
    session: Session, tenant_id: str, receiver_id: str, user_id: str, now: dt.datetime
) -> PortalUserView | None:
    """The user can no longer sign in and every session of theirs ends now; None when the tenant's customer
    has no such user."""
    user = session.get(PortalUser, user_id)
    if user is None or user.tenant_id != tenant_id or user.receiver_id != receiver_id:
        return None
    if user.disabled_at is None:
        user.disabled_at = now
        session.add(user)
    end_user_sessions(session, user.id, now)
    session.execute(
        update(PortalLinkToken)
        .where(col(PortalLinkToken.user_id) == user.id, col(PortalLinkToken.used_at).is_(None))
        .values(used_at=now)
    )
    session.flush()
    return _view(user)


def find_user(session: Session, tenant_id: str, email: str, receiver_id: str | None = None) -> PortalUser:
    """The tenant's user with this address (of `receiver_id` when several customers share it)."""
    address = normalise_email(email)
    users = [
        user
        for user in _users_of(session, tenant_id, address)
        if receiver_id is None or user.receiver_id == receiver_id
    ]
    if not users:
        raise PortalAccessError("email", f"no portal user {address} for tenant {tenant_id}")
    if len(users) > 1:
        names = ", ".join(sorted(user.receiver_id for user in users))
        raise PortalAccessError("receiver", f"{address} is a user of several customers ({names}): name one")
    return users[0]


# --- signing in --------------------------------------------------------------------------------------------


def request_sign_in_link(
    session: Session,
    tenant_id: str,
    email: str,
    *,
    client: str,
    browser_hash: str,
    limit: int,
    lifetime: dt.timedelta,
    now: dt.datetime,
) -> LinkToSend | None:
    """A sign-in link for `email` bound to the asking browser, or None when the address is nobody's (the
    caller shows the same page either way). `TooManyRequests` before anything else past the limit; every
    request counts, known address or not."""
    address = _loose_address(email)
    check_rate(session, tenant_id, address, client, limit, now)
    _count_request(session, tenant_id, address, client, now)
    user = _user_for_link(session, tenant_id, address)
    if user is None:
        # The same work as for a user: a token drawn and hashed, though nothing is kept or sent.
        hash_token(secrets.token_urlsafe(32))
        return None
    return _new_link(session, user, SIGN_IN, browser_hash, now + lifetime, now)


def _start(
    session: Session, user: PortalUser, lifetime: dt.timedelta, now: dt.datetime
) -> tuple[str, PortalSession]:
    user.last_sign_in_at = now
    session.add(user)
    return start_session(
        session,
        tenant_id=user.tenant_id,
        receiver_id=user.receiver_id,
        user_id=user.id,
        lifetime=lifetime,
        now=now,
    )


def link_state(session: Session, token: str, now: dt.datetime) -> LinkProblem | None:
    """What is wrong with a link before it is used (for the "Continue" page), or None: it looks usable."""
    row = session.get(PortalLinkToken, hash_token(token)) if len(token) <= 100 else None
    if row is None:
        return "unknown"
    if row.used_at is not None:
        return "used"
    if row.expires_at <= now:
        return "expired"
    return None


def link_owner(session: Session, token: str) -> tuple[str, str] | None:
    """The tenant and language of a link's user (the "Continue" page wears the seller's look and speaks the
    user's language), or None for a token nobody made."""
    row = session.get(PortalLinkToken, hash_token(token)) if len(token) <= 100 else None
    user = session.get(PortalUser, row.user_id) if row is not None else None
    return (user.tenant_id, user.language) if user is not None else None


def consume_link(
    session: Session, token: str, *, browser_hash: str | None, lifetime: dt.timedelta, now: dt.datetime
) -> tuple[str, PortalSession]:
    """Use a link once: a new session (its token and row) for its user, or `LinkRefused`."""
    problem = link_state(session, token, now)
    if problem is not None:
        raise LinkRefused(problem)
    row = session.get(PortalLinkToken, hash_token(token))
    assert row is not None
    if row.purpose == SIGN_IN and (
        browser_hash is None
        or row.browser_hash is None
        or not hmac.compare_digest(row.browser_hash, browser_hash)
    ):
        raise LinkRefused("browser")
    user = session.get(PortalUser, row.user_id)
    if user is None or user.disabled_at is not None:
        raise LinkRefused("unknown")
    used = session.execute(
        update(PortalLinkToken)
        .where(col(PortalLinkToken.id) == row.id, col(PortalLinkToken.used_at).is_(None))
        .values(used_at=now)
    )
    if not getattr(used, "rowcount", 0):  # another click took it a moment ago
        raise LinkRefused("used")
    return _start(session, user, lifetime, now)


def password_sign_in(
    session: Session,
    tenant_id: str,
    email: str,
    password: str,
    *,
    client: str,
    limit: int,
    lifetime: dt.timedelta,
    now: dt.datetime,
) -> tuple[str, PortalSession] | None:
    """A new session for the address's user whose password this is, or None (unknown address, no password,
    wrong password, disabled: one answer). Failures count against the link requests' limit."""
    address = _loose_address(email)
    check_rate(session, tenant_id, address, client, limit, now)
    users = [user for user in _users_of(session, tenant_id, address) if user.password_hash is not None]
    if not users:
        password_matches(DUMMY_HASH, password)
    for user in users:
        if password_matches(str(user.password_hash), password) and user.disabled_at is None:
            if PASSWORD_HASHER.check_needs_rehash(str(user.password_hash)):
                user.password_hash = PASSWORD_HASHER.hash(password)
            return _start(session, user, lifetime, now)
    _count_request(session, tenant_id, address, client, now)
    return None


def set_password(
    session: Session, user_id: str, password: str, *, keep_session: str | None, now: dt.datetime
) -> None:
    """A new password for the user; its other sessions end (the one doing it, `keep_session`, stays)."""
    try:
        check_password(password)  # the console's rules: 12 to 1,024 characters
    except ConsoleUserError as error:
        raise PortalAccessError(error.field, error.reason) from None
    user = session.get(PortalUser, user_id)
    if user is None:
        raise PortalAccessError("user", "no such user")
    user.password_hash = PASSWORD_HASHER.hash(password)
    session.add(user)
    session.execute(
        update(PortalSession)
        .where(
            col(PortalSession.user_id) == user_id,
            col(PortalSession.ended_at).is_(None),
            col(PortalSession.id) != (keep_session or ""),
        )
        .values(ended_at=now)
    )
    session.flush()


def set_language(session: Session, user_id: str, language: str) -> None:
    if language not in LANGUAGES:
        raise PortalAccessError("language", f"language {language!r} is not one of {', '.join(LANGUAGES)}")
    user = session.get(PortalUser, user_id)
    if user is None:
        raise PortalAccessError("user", "no such user")
    user.language = language
    session.add(user)
    session.flush()


def open_invoice_link(
    session: Session,
    tenant_id: str,
    invoice_id: str,
    *,
    signed_in_as: tuple[str, str] | None,
    lifetime: dt.timedelta,
    now: dt.datetime,
) -> str | None:
    """An invoice link opened: a new visitor session for that one invoice (its token), or None when the
    browser is already signed in as (tenant, receiver) of the invoice's customer and keeps its session.
    `UnknownCustomer` when the tenant has no such invoice or it names no customer."""
    row = session.execute(
        select(col(InvoiceRecord.receiver_id)).where(
            col(InvoiceRecord.id) == invoice_id, col(InvoiceRecord.tenant_id) == tenant_id
        )
    ).first()
    if row is None or not row[0]:
        raise UnknownCustomer(invoice_id)
    receiver_id = str(row[0])
    if signed_in_as == (tenant_id, receiver_id):
        return None
    token, _ = start_session(
        session,
        tenant_id=tenant_id,
        receiver_id=receiver_id,
        invoice_id=invoice_id,
        lifetime=lifetime,
        now=now,
    )
    return token
