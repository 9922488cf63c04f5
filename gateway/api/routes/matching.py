"""Payment matching: run it now for the tenant, how well it matches (the report), and what it learned about
payers (to audit, and to withdraw what is wrong)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query

from gateway.api.deps import EngineDep, IdentityDep, SessionDep
from gateway.api.errors import ErrorAnswer
from gateway.api.params import Since
from gateway.api.views import LearnedPayer, LearnedPayerList, MatchReport, MatchRunView
from gateway.services.payments import learned as learned_service
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


@router.get("/matching/learned")
def get_learned_payers(
    identity: IdentityDep,
    session: SessionDep,
    kind: Literal["account", "name"] | None = None,
    value: Annotated[str | None, Query(max_length=200)] = None,
    customer_key: Annotated[str | None, Query(max_length=200)] = None,
    withdrawn: bool = False,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 500,
) -> LearnedPayerList:
    """Payer accounts and names matching learned, newest first: from a person's resolution (`person`) or
    from the engine's own confident application of a structured reference (`automatic`), with the payment
    it came from and whether it identifies the customer or is shared. `withdrawn=true` lists withdrawn
    ones too."""
    items = learned_service.list_learned(
        session, identity.tenant_id, kind=kind, value=value, customer_key=customer_key,
        withdrawn=withdrawn, limit=limit,
    )  # fmt: skip
    return LearnedPayerList.model_validate({"items": items})


@router.delete("/matching/learned/{entry_id}")
def withdraw_learned_payer(entry_id: str, identity: IdentityDep, session: SessionDep) -> LearnedPayer:
    """Withdraw a learned payer identity: matching no longer uses it (an automatic one is kept, marked
    withdrawn by you; a person-taught one is removed). The next matching run builds without it."""
    try:
        entry = learned_service.withdraw_learned(session, identity.tenant_id, entry_id, actor=identity.actor)
    except learned_service.LearnedNotFound as error:
        raise ErrorAnswer.one(404, "entry_id", str(error)) from None
    return LearnedPayer.model_validate(entry)
