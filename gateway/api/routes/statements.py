"""Consolidated statements: one periodic statement of open items per statement customer."""

from __future__ import annotations

from fastapi import APIRouter

from gateway.api.deps import IdentityDep, SessionDep, SettingsDep
from gateway.api.requests import StatementRunRequest
from gateway.api.views import StatementRunView
from gateway.services.followup import statements as statement_service
from gateway.services.followup.credit import today_in

router = APIRouter(tags=["receivables"])


@router.post("/statements/run")
def post_statements_run(
    identity: IdentityDep,
    session: SessionDep,
    settings: SettingsDep,
    body: StatementRunRequest | None = None,
) -> StatementRunView:
    """Write the statements of the date (default today) for customers whose profile asks for them (and
    the tenant's `follow_up.statements` is on); `dry_run`: say what would be written, write nothing."""
    body = body or StatementRunRequest()
    on = body.date or today_in()
    results = statement_service.run_statements(
        session, identity.tenant_id, on=on, actor=identity.actor, settings=settings, dry_run=body.dry_run
    )
    return StatementRunView.model_validate(
        {"date": on.isoformat(), "dry_run": body.dry_run, "statements": [r.as_dict() for r in results]}
    )
