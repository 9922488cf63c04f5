"""Deviations across channels: list them with the actions that fit, resolve one, or resend and close it."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Query

from gateway.api.deps import IdentityDep, SessionDep
from gateway.api.errors import ErrorAnswer
from gateway.api.params import Limit, Offset, Since
from gateway.api.requests import ResendRequest, ResolveRequest
from gateway.api.views import DeviationPage, DeviationResent, DeviationView
from gateway.services.outbound.deviations import (
    LISTED_BY_DEFAULT,
    DeviationClosed,
    list_deviations,
    resend_deviation,
    resolve_deviation,
)

# `actions[].channels` is there for "resend-elsewhere" only: `response_model_exclude_unset` keeps an unset
# key out of the answer instead of answering it as null.
router = APIRouter(tags=["deviations"])


DeviationState = Literal["open", "covered", "closed", "all"]


@router.get("/deviations", response_model_exclude_unset=True)
def get_deviations(
    identity: IdentityDep,
    session: SessionDep,
    state: Annotated[
        list[DeviationState] | None,
        Query(description="open, covered, closed or all; repeat for several (unset: open and covered)"),
    ] = None,
    status: Annotated[
        DeviationState | None, Query(description="one state: the older name of `state`", deprecated=True)
    ] = None,
    cause: Annotated[str | None, Query(max_length=40)] = None,
    channel: Annotated[str | None, Query(max_length=50)] = None,
    since: Since = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> DeviationPage:
    """Deviations across channels (newest first), each with its cause and the actions that fit it; a
    covered one (closed because another delivery took over) names that delivery and where it stands."""
    if state and status:
        raise ErrorAnswer.one(422, "status", "give state (or the older status), not both")
    items = list_deviations(
        session,
        identity.tenant_id,
        status=state or ([status] if status else LISTED_BY_DEFAULT),
        cause=cause,
        channel=channel,
        since=since,
        limit=limit,
        offset=offset,
    )
    return DeviationPage.model_validate({"items": items, "limit": limit, "offset": offset})


@router.post("/deviations/{deviation_id}/resolve", response_model_exclude_unset=True)
def resolve_deviation_route(
    deviation_id: str, body: ResolveRequest, identity: IdentityDep, session: SessionDep
) -> DeviationView:
    """Close a deviation without sending again; the delivery's history records who and why."""
    try:
        closed = resolve_deviation(
            session, identity.tenant_id, deviation_id, actor=identity.actor, reason=body.reason
        )
    except DeviationClosed as error:
        raise HTTPException(409, str(error)) from None
    return DeviationView.model_validate(closed)


@router.post(
    "/deviations/{deviation_id}/resend",
    status_code=202,
    response_model_exclude_unset=True,
)
def resend_deviation_route(
    deviation_id: str, identity: IdentityDep, session: SessionDep, body: ResendRequest | None = None
) -> DeviationResent:
    """Send again (the next attempt, or a new delivery on `channel`) and close the deviation; the invoice's
    other deliveries still waiting are named (`warnings`), or cancelled with `cancel_others`."""
    body = body or ResendRequest()
    try:
        resent = resend_deviation(
            session,
            identity.tenant_id,
            deviation_id,
            actor=identity.actor,
            reason=body.reason,
            channel=body.channel,
            address=body.address,
            cancel_others=body.cancel_others,
        )
    except DeviationClosed as error:
        raise HTTPException(409, str(error)) from None
    return DeviationResent.model_validate(resent)
