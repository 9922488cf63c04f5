"""What matching has learned about payers, for ops to see and audit: accounts and names a person taught
(`payer_aliases`), and accounts the engine's own confident applications showed (`payer_observations`).

Each entry says where it came from (a person's resolution, or an automatic application and its payment),
whether it still stands, and what the value means today: it identifies one customer, or it is shared (it
has stood for several customers, or the tenant's policy names it) and identifies no one. Withdrawing an
entry is how a person corrects what was learned: an observation is marked withdrawn (kept, with who and
when); a person-taught identity is removed.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlmodel import col

from db.models import PayerAlias, PayerObservation, utcnow
from gateway.matching.references import normalise_account
from gateway.services.tenancy.tenants import tenant_settings

KINDS = ("account", "name")


class LearnedNotFound(LookupError):
    pass


def _iso(moment: dt.datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def _taught(alias: PayerAlias) -> dict[str, Any]:
    return {
        "id": alias.id,
        "kind": alias.kind,
        "value": alias.value,
        "customer_key": alias.customer_key,
        "source": "person",
        "payment_id": alias.learned_from,
        "by": alias.created_by,
        "at": _iso(alias.created_at),
        "withdrawn_at": None,
        "withdrawn_by": None,
    }


def _observed(observation: PayerObservation) -> dict[str, Any]:
    return {
        "id": observation.id,
        "kind": observation.kind,
        "value": observation.value,
        "customer_key": observation.customer_key,
        "source": "automatic",
        "payment_id": observation.payment_id,
        "by": "matching",
        "at": _iso(observation.observed_at),
        "withdrawn_at": _iso(observation.withdrawn_at),
        "withdrawn_by": observation.withdrawn_by,
    }


def list_learned(
    session: Session,
    tenant_id: str,
    *,
    kind: str | None = None,
    value: str | None = None,
    customer_key: str | None = None,
    withdrawn: bool = False,
    limit: int = 500,
) -> list[dict[str, Any]]:
    """Learned payer identities, newest first, each with `standing`: identifies / shared / withdrawn."""
    aliases = select(PayerAlias).where(col(PayerAlias.tenant_id) == tenant_id)
    observations = select(PayerObservation).where(col(PayerObservation.tenant_id) == tenant_id)
    if kind:
        aliases = aliases.where(col(PayerAlias.kind) == kind)
        observations = observations.where(col(PayerObservation.kind) == kind)
    if value:
        wanted = {value, normalise_account(value)} - {""}  # an account as written or as stored
        aliases = aliases.where(col(PayerAlias.value).in_(wanted))
        observations = observations.where(col(PayerObservation.value).in_(wanted))
    if not withdrawn:
        observations = observations.where(col(PayerObservation.withdrawn_at).is_(None))
    entries = [_taught(a) for a in session.execute(aliases).scalars()]
    entries += [_observed(o) for o in session.execute(observations).scalars()]
    standing: dict[tuple[str, str], set[str]] = {}
    for entry in entries:
        if entry["withdrawn_at"] is None:
            standing.setdefault((entry["kind"], entry["value"]), set()).add(entry["customer_key"])
    if any(entry["kind"] == "account" for entry in entries):
        policy = tenant_settings(session, tenant_id).matching
        for account in policy.shared_accounts:
            standing.setdefault(("account", normalise_account(account)), set()).add("policy")
    for entry in entries:
        customers = standing.get((entry["kind"], entry["value"]), set())
        entry["standing"] = (
            "withdrawn" if entry["withdrawn_at"] else "shared" if len(customers) > 1 else "identifies"
        )
    if customer_key:
        entries = [entry for entry in entries if entry["customer_key"] == customer_key]
    entries.sort(key=lambda entry: (entry["at"] or "", entry["id"]), reverse=True)
    return entries[:limit]


def withdraw_learned(session: Session, tenant_id: str, entry_id: str, *, actor: str) -> dict[str, Any]:
    """Withdraw one learned identity: an observation is marked withdrawn, a person-taught one removed."""
    observation = session.get(PayerObservation, entry_id)
    if observation is not None and observation.tenant_id == tenant_id:
        if observation.withdrawn_at is None:
            observation.withdrawn_at, observation.withdrawn_by = utcnow(), actor
            session.add(observation)
        entry = _observed(observation)
        entry["standing"] = "withdrawn"
        return entry
    alias = session.get(PayerAlias, entry_id)
    if alias is not None and alias.tenant_id == tenant_id:
        entry = _taught(alias)
        entry.update(withdrawn_at=utcnow().isoformat(), withdrawn_by=actor, standing="withdrawn")
        session.delete(alias)
        return entry
    raise LearnedNotFound(f"no learned payer identity {entry_id}")
