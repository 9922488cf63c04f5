"""Tenants, their API tokens and their receiver profiles.

A token is `gw_<id>_<secret>`: the id finds the row, the secret is compared with a SHA-256 kept at rest
(the secret is 256 random bits, so a plain hash is enough; no password stretching is needed).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from sqlmodel import col

from db.models import ApiToken, Participant, Receiver, Tenant, utcnow
from schemas.canonical import ReceiverProfile
from schemas.national_id import mask_national_id
from schemas.tenant import TenantSettings


@dataclass(frozen=True)
class Identity:
    """Who is calling: the tenant every query is limited to, and the token's name for the audit trail."""

    tenant_id: str
    token_id: str
    token_name: str

    @property
    def actor(self) -> str:
        return f"api:{self.token_name}"


def ensure_tenant(session: Session, tenant_id: str, name: str | None = None) -> Tenant:
    tenant = session.get(Tenant, tenant_id)
    if tenant is None:
        tenant = Tenant(id=tenant_id, name=name or tenant_id)
        session.add(tenant)
        session.flush()
    return tenant


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_token(session: Session, tenant_id: str, name: str) -> str:
    """A new token for `tenant_id` (created if new); the returned text is the only copy of the secret."""
    ensure_tenant(session, tenant_id)
    token_id = secrets.token_hex(8)
    secret = secrets.token_urlsafe(32)
    session.add(ApiToken(id=token_id, tenant_id=tenant_id, name=name, secret_sha256=_digest(secret)))
    session.flush()
    return f"gw_{token_id}_{secret}"


def revoke_token(session: Session, token_id: str) -> bool:
    token = session.get(ApiToken, token_id)
    if token is None or token.revoked_at is not None:
        return False
    token.revoked_at = utcnow()
    session.add(token)
    return True


def authenticate(session: Session, presented: str) -> Identity | None:
    prefix, _, rest = presented.partition("_")
    token_id, _, secret = rest.partition("_")
    if prefix != "gw" or not token_id or not secret:
        return None
    token = session.get(ApiToken, token_id)
    if token is None or token.revoked_at is not None:
        return None
    if not hmac.compare_digest(token.secret_sha256, _digest(secret)):
        return None
    return Identity(tenant_id=token.tenant_id, token_id=token.id, token_name=token.name)


def put_receiver(session: Session, tenant_id: str, profile: ReceiverProfile) -> None:
    """Create or replace a receiver profile."""
    ensure_tenant(session, tenant_id)
    row = session.execute(
        select(Receiver).where(
            col(Receiver.tenant_id) == tenant_id, col(Receiver.receiver_id) == profile.receiver_id
        )
    ).scalar_one_or_none()
    data = profile.model_dump(mode="json")
    if row is None:
        session.add(Receiver(tenant_id=tenant_id, receiver_id=profile.receiver_id, profile=data))
    else:
        row.profile = data
        row.updated_at = utcnow()
        session.add(row)
    session.flush()


def put_participant(
    session: Session,
    participant_id: str,
    *,
    document_types: list[str],
    name: str | None = None,
    access_point: str | None = None,
) -> Participant:
    """Record that a PEPPOL participant can receive these document types (the local SMP-style registry)."""
    scheme, _, value = participant_id.partition(":")
    if not scheme or not value or not scheme.isdigit() or len(scheme) != 4:
        raise ValueError(
            f"participant id {participant_id!r} is not <4-digit scheme>:<value>, e.g. 0192:987654325"
        )
    row = session.execute(
        select(Participant).where(col(Participant.participant_id) == participant_id)
    ).scalar_one_or_none()
    if row is None:
        row = Participant(participant_id=participant_id)
    row.document_types = document_types
    row.name = name
    row.access_point = access_point
    row.updated_at = utcnow()
    session.add(row)
    session.flush()
    return row


def tenant_settings(session: Session, tenant_id: str) -> TenantSettings:
    """The tenant's delivery settings (defaults when none are stored)."""
    tenant = session.get(Tenant, tenant_id)
    return TenantSettings.model_validate(tenant.settings or {}) if tenant is not None else TenantSettings()


def put_tenant_settings(
    session: Session, tenant_id: str, settings: TenantSettings, *, actor: str, reason: str | None = None
) -> dict[str, Any]:
    """Store the tenant's settings; what changed (`{field: [before, after]}`) goes into its history with
    `actor` and `reason`, and is returned (empty when nothing changed, and then nothing is recorded)."""
    from gateway.services.tenancy.history import changes_between, record_tenant_event

    tenant = ensure_tenant(session, tenant_id)
    before = TenantSettings.model_validate(tenant.settings or {}).model_dump(mode="json")
    after = settings.model_dump(mode="json")
    tenant.settings = after
    session.add(tenant)
    session.flush()
    changed = changes_between(before, after)
    if changed:
        record_tenant_event(
            session, tenant_id, actor=actor, subject="settings", action="settings changed",
            changes=changed, reason=reason,
        )  # fmt: skip
    return changed


# --- read-only views for operators (the CLI's `token list`, `receiver list | show`) ---------------------


@dataclass(frozen=True)
class TokenView:
    """A token as an operator may see it: who has it and since when, never its secret or the secret's hash."""

    id: str
    tenant_id: str
    name: str
    created_at: dt.datetime
    revoked_at: dt.datetime | None

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "tenant_id": self.tenant_id,
            "name": self.name,
            "active": self.active,
            "created_at": self.created_at.isoformat(),
            "revoked_at": self.revoked_at.isoformat() if self.revoked_at else None,
        }


def _token_view(token: ApiToken) -> TokenView:
    return TokenView(token.id, token.tenant_id, token.name, token.created_at, token.revoked_at)


def list_tokens(session: Session, tenant_id: str | None, *, include_revoked: bool = False) -> list[TokenView]:
    """Tokens (of one tenant, or every tenant's), oldest first; revoked ones only when asked for."""
    query = select(ApiToken).order_by(col(ApiToken.tenant_id), col(ApiToken.created_at), col(ApiToken.id))
    if tenant_id is not None:
        query = query.where(col(ApiToken.tenant_id) == tenant_id)
    if not include_revoked:
        query = query.where(col(ApiToken.revoked_at).is_(None))
    return [_token_view(token) for token in session.execute(query).scalars()]


def find_token(session: Session, token_id: str) -> TokenView | None:
    token = session.get(ApiToken, token_id)
    return _token_view(token) if token is not None else None


@dataclass(frozen=True)
class ReceiverView:
    """A stored receiver profile with whose it is and when it last changed."""

    tenant_id: str
    profile: ReceiverProfile
    updated_at: dt.datetime

    def as_dict(self) -> dict[str, Any]:
        return {
            "tenant_id": self.tenant_id,
            **masked_profile(self.profile),
            "updated_at": self.updated_at.isoformat(),
        }


def masked_profile(profile: ReceiverProfile) -> dict[str, Any]:
    """The profile as every view shows it (API, CLI, console): the national identity number masked."""
    data = profile.model_dump(mode="json")
    data["national_id"] = mask_national_id(profile.national_id)
    return data


def list_receivers(
    session: Session, tenant_id: str | None, *, limit: int | None = None, offset: int = 0
) -> list[ReceiverView]:
    """Receiver profiles (of one tenant, or every tenant's), by tenant and receiver id; a page of them
    when `limit` is given (a consumer biller has one per customer)."""
    query = select(Receiver).order_by(col(Receiver.tenant_id), col(Receiver.receiver_id))
    if tenant_id is not None:
        query = query.where(col(Receiver.tenant_id) == tenant_id)
    if limit is not None:
        query = query.limit(limit).offset(offset)
    return [
        ReceiverView(row.tenant_id, ReceiverProfile.model_validate(row.profile), row.updated_at)
        for row in session.execute(query).scalars()
    ]


def count_receivers(session: Session, tenant_id: str) -> int:
    """How many receiver profiles the tenant has (the settings page shows the figure, not the list)."""
    return int(
        session.execute(
            select(func.count()).select_from(Receiver).where(col(Receiver.tenant_id) == tenant_id)
        ).scalar_one()
    )


def get_receiver(session: Session, tenant_id: str, receiver_id: str) -> ReceiverView | None:
    row = session.execute(
        select(Receiver).where(col(Receiver.tenant_id) == tenant_id, col(Receiver.receiver_id) == receiver_id)
    ).scalar_one_or_none()
    if row is None:
        return None
    return ReceiverView(row.tenant_id, ReceiverProfile.model_validate(row.profile), row.updated_at)
