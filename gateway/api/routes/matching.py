"""Payment matching: run it now for the tenant, and how well it matches (the report)."""

from __future__ import annotations

from fastapi import APIRouter

from gateway.api.deps import EngineDep, IdentityDep, SessionDep
from gateway.api.errors import ErrorAnswer
from gateway.api.params import Since
from gateway.api.views import MatchReport, MatchRunView
from gateway.services.payments import matching_runs as payment_service

router = APIRouter(tags=["payments"])


@router.post("/matching/run")
def run_matching_route(identity: IdentityDep, engine: EngineDep) -> MatchRunView:
    """Match the tenant's new payments now (the worker does it on its own every few seconds)."""
    try:
        run = payment_service.run_matching(engine, identity.tenant_id)
    except payment_service.MatchingBusy as error:
        raise ErrorAnswer.one(409, "tenant", str(error)) from None
    return MatchRunView.model_validate(run.as_dict())


@router.get("/matching/report")
def get_match_report(
    identity: IdentityDep,
    session: SessionDep,
    since: Since = None,
    file_id: str | None = None,
) -> MatchReport:
    """Match rates per payment and per invoice, by count and amount, with the false-auto rate."""
    report = payment_service.match_report(session, identity.tenant_id, since=since, file_id=file_id)
    return MatchReport.model_validate(report)
