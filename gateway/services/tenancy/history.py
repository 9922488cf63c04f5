"""A tenant's configuration history: who changed its settings or its webhook endpoints, when, why, and
what changed (field by field, before and after).

Deliveries have their own history (`delivery_events`), payments theirs; this one holds what is neither, so
that "who turned off hold-for-review?" has an answer whether it was done through the API, the command line
or the console. Secrets are never written here: a replaced webhook secret is recorded as replaced.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlmodel import col

from db.models import TenantEvent


def changes_between(before: Mapping[str, Any], after: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """`{field: [before, after]}` for every field that differs; nested objects by dotted name."""
    changed: dict[str, Any] = {}
    for key in sorted(set(before) | set(after)):
        old, new = before.get(key), after.get(key)
        name = f"{prefix}{key}"
        if isinstance(old, Mapping) and isinstance(new, Mapping):
            changed.update(changes_between(old, new, prefix=f"{name}."))
        elif old != new:
            changed[name] = [old, new]
    return changed


def record_tenant_event(
    session: Session,
    tenant_id: str,
    *,
    actor: str,
    subject: str,
    action: str,
    changes: dict[str, Any] | None = None,
    reason: str | None = None,
) -> TenantEvent:
    event = TenantEvent(
        tenant_id=tenant_id,
        actor=actor,
        subject=subject,
        action=action,
        changes=changes or None,
        reason=(reason or "").strip() or None,
    )
    session.add(event)
    session.flush()
    return event


def tenant_events(session: Session, tenant_id: str, *, limit: int = 20) -> list[TenantEvent]:
    """The tenant's latest configuration changes, newest first."""
    query = (
        select(TenantEvent)
        .where(col(TenantEvent.tenant_id) == tenant_id)
        .order_by(col(TenantEvent.at).desc(), col(TenantEvent.id).desc())
        .limit(limit)
    )
    return list(session.execute(query).scalars())
