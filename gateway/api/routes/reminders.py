"""Reminders: the notices follow-up wrote (list, show, approve, cancel), a run's decisions, and a run on
demand for an ERP that drives follow-up itself."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Path, Query
from pydantic import BaseModel, ConfigDict, Field

from gateway.api.deps import IdentityDep, SessionDep, SettingsDep
from gateway.api.params import Limit, Offset
from gateway.api.views import View
from gateway.services.followup import reminders as reminder_service
from gateway.services.followup.run import FollowUpRunBusy, run_follow_up, tenant_today
from schemas.followup import NoticeStatus

router = APIRouter(tags=["reminders"])

EARLIEST_RUN = dt.date(2000, 1, 1)
LATEST_RUN = dt.date(2999, 12, 31)

NoticeId = Annotated[str, Path(min_length=1, max_length=32, description="the notice's id")]
RunId = Annotated[str, Path(min_length=1, max_length=32, description="the run's id")]


# --- bodies and answers -------------------------------------------------------------------------------------


class FollowUpRunRequest(BaseModel):
    """Run follow-up now for the caller's tenant."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"date": "2026-11-25", "dry_run": True}]}
    )

    date: dt.date | None = Field(
        None, ge=EARLIEST_RUN, le=LATEST_RUN, description="the run's day; unset: today in Europe/Oslo"
    )
    dry_run: bool = Field(False, description="decide and report, write nothing")


class NoticeCancelRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"reason": "the customer paid at the counter"}]}
    )

    reason: str = Field(min_length=1, max_length=1000)


class ReminderView(View):
    """One notice: to whom, which level and kind, what it claims, where it stands."""

    id: str
    run_id: str | None
    customer_key: str
    receiver_id: str | None
    level: int
    kind: str
    status: str
    notice_on: str
    deadline: str
    currency: str
    open_total: str
    fee: str
    interest: str
    compensation: str
    total: str
    kid: str | None
    channel: str | None
    delivery_id: str | None


class ReminderItemView(View):
    invoice_id: str
    invoice_number: str
    due_date: str | None
    open_amount: str
    fee: str
    interest: str
    days_late: int


class DecisionView(View):
    """What a run decided about one invoice: a notice, or skipped / refused / past_last_level and why."""

    id: int
    run_id: str
    invoice_id: str
    invoice_number: str | None
    level: int | None
    decision: str
    reason: str | None
    rule: str | None
    notice_id: str | None


class ReminderDetail(ReminderView):
    items: list[ReminderItemView]
    decisions: list[DecisionView]


class ReminderPage(View):
    items: list[ReminderView]
    limit: int
    offset: int


class FollowUpRunView(View):
    id: str
    run_on: str
    dry_run: bool
    actor: str
    started_at: str
    finished_at: str | None
    counts: dict[str, Any]


class DecisionPage(View):
    run: FollowUpRunView
    total: int
    items: list[DecisionView]
    limit: int
    offset: int


class FollowUpRunReport(View):
    """What a run decided, in counts; `run_id` is null for a dry run (nothing was written)."""

    run_id: str | None
    tenant_id: str
    date: str
    dry_run: bool
    looked_at: int
    notices: int
    notice_invoices: int
    awaiting_approval: int
    notices_by_level: dict[str, int]
    skipped: dict[str, int]
    refused: dict[str, int]
    without_fee: dict[str, int]
    past_last_level: int
    promises_kept: int
    promises_broken: int
    broken_promises_by_customer: dict[str, int]
    fees: str
    interest: str
    compensation: str


# --- routes -------------------------------------------------------------------------------------------------


def _not_found(error: LookupError) -> HTTPException:
    return HTTPException(404, str(error))


@router.get("/reminders")
def get_reminders(
    identity: IdentityDep,
    session: SessionDep,
    status: NoticeStatus | None = None,
    customer: Annotated[
        str | None, Query(min_length=1, max_length=200, description="customer key or receiver id")
    ] = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> ReminderPage:
    """The tenant's reminder notices, newest first."""
    items = reminder_service.list_notices(
        session,
        identity.tenant_id,
        status=status.value if status else None,
        customer=customer,
        limit=limit,
        offset=offset,
    )
    return ReminderPage.model_validate({"items": items, "limit": limit, "offset": offset})


@router.get("/reminders/{notice_id}")
def get_reminder(notice_id: NoticeId, identity: IdentityDep, session: SessionDep) -> ReminderDetail:
    """A notice with the invoices it lists and the decisions that wrote it."""
    try:
        found = reminder_service.show_notice(session, identity.tenant_id, notice_id)
    except reminder_service.NoticeNotFound as error:
        raise _not_found(error) from None
    return ReminderDetail.model_validate(found)


@router.post("/reminders/{notice_id}/approve")
def approve_reminder(
    notice_id: NoticeId, identity: IdentityDep, session: SessionDep, settings: SettingsDep
) -> ReminderView:
    """Approve a notice awaiting approval: it is queued for delivery (409 from any other status); one no
    channel can carry comes back `failed`, with why."""
    try:
        view = reminder_service.approve_notice(
            session, identity.tenant_id, notice_id, actor=identity.actor, settings=settings
        )
    except reminder_service.NoticeNotFound as error:
        raise _not_found(error) from None
    except reminder_service.NoticeStateError as error:
        raise HTTPException(409, str(error)) from None
    return ReminderView.model_validate(view)


@router.post("/reminders/{notice_id}/cancel")
def cancel_reminder(
    notice_id: NoticeId, body: NoticeCancelRequest, identity: IdentityDep, session: SessionDep
) -> ReminderView:
    """Cancel a notice that has not left; its invoices' follow-up goes back a level, so a next run may
    write it again (409 once it has left)."""
    try:
        view = reminder_service.cancel_notice(
            session, identity.tenant_id, notice_id, actor=identity.actor, reason=body.reason
        )
    except reminder_service.NoticeNotFound as error:
        raise _not_found(error) from None
    except reminder_service.NoticeStateError as error:
        raise HTTPException(409, str(error)) from None
    return ReminderView.model_validate(view)


@router.get("/followup/runs/{run_id}/decisions")
def get_run_decisions(
    run_id: RunId,
    identity: IdentityDep,
    session: SessionDep,
    decision: Literal["notice", "skipped", "refused", "past_last_level"] | None = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> DecisionPage:
    """Every decision a run took (one per invoice it looked at), in order."""
    try:
        found = reminder_service.run_decisions(
            session, identity.tenant_id, run_id, decision=decision, limit=limit, offset=offset
        )
    except reminder_service.NoticeNotFound as error:
        raise _not_found(error) from None
    return DecisionPage.model_validate(found)


@router.post("/followup/run")
def post_follow_up_run(
    identity: IdentityDep,
    session: SessionDep,
    settings: SettingsDep,
    body: FollowUpRunRequest | None = None,
) -> FollowUpRunReport:
    """Run follow-up for the caller's tenant on a day (today in Europe/Oslo by default); a dry run
    decides and reports without writing. Running again the same day writes no second notice; 409 while
    another run of the tenant is under way."""
    request = body or FollowUpRunRequest()
    try:
        report = run_follow_up(
            session,
            identity.tenant_id,
            on=request.date or tenant_today(),
            dry_run=request.dry_run,
            actor=identity.actor,
            settings=settings,
        )
    except FollowUpRunBusy as busy:
        raise HTTPException(409, str(busy)) from None
    return FollowUpRunReport.model_validate(report.as_dict())
