"""The deviations inbox: what needs someone, filtered by cause, channel, age and state, with the actions that
fit each cause, and a bulk resend / resolve that shows what it will do before it does it.

The same services as `GET /deviations` and its POSTs (`gateway.services.outbound.deviations`), and for bulk
`deviation_bulk`; the person is the actor (`console:<email>`), so the event history says who and why.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any
from urllib.parse import parse_qsl, urlencode

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import Response

from channels import known_channels
from db.engine import session_scope
from gateway.console.auth import Operator, Viewer
from gateway.console.templating import page, query, redirect
from gateway.services.moments import as_utc
from gateway.services.outbound.deviation_bulk import (
    BULK_ACTIONS,
    BulkAction,
    TooManyItems,
    checked_ids,
    plan_bulk,
    run_bulk,
)
from gateway.services.outbound.deviations import (
    CAUSES,
    DeviationClosed,
    DeviationCursor,
    count_by_cause,
    deviation_channels,
    list_deviations,
    resend_deviation,
    resolve_deviation,
    wanted_states,
)
from gateway.settings import Settings

router = APIRouter()

PAGE_SIZE = 50
BASE = "/console/deviations"
#: What a person reads for each cause.
CAUSE_LABELS = {
    "validation-failed": "Validation failed",
    "render-failed": "Render failed",
    "rejected": "Rejected by receiver",
    "bounced": "E-mail bounced",
    "returned-mail": "Returned mail",
    "negative-ack": "Negative acknowledgement",
    "no-ack": "No acknowledgement",
    "undeliverable": "Undeliverable",
    "other": "Other",
}
#: The age filter: "older than" choices and how long each is.
AGES: dict[str, tuple[str, dt.timedelta]] = {
    "1h": ("older than 1 hour", dt.timedelta(hours=1)),
    "1d": ("older than 1 day", dt.timedelta(days=1)),
    "7d": ("older than 7 days", dt.timedelta(days=7)),
}
STATE_CHOICES = [("open", "Open"), ("covered", "Covered"), ("closed", "Closed"), ("all", "All")]
_ID = re.compile(r"^[0-9a-f]{32}$")
_CHANNEL = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,49}$")
_DETAIL_LENGTH = 120


def _bad(field: str, why: str) -> HTTPException:
    return HTTPException(422, f"{field}: {why}")


def _deviation_id(value: str, field: str = "deviation") -> str:
    if not _ID.match(value):
        raise _bad(field, f"{value[:40]!r} is not a deviation id")
    return value


def _cursor(value: str) -> DeviationCursor:
    """`after` is `<opened_at ISO>_<id>`, as the "Next page" link writes it."""
    opened, _, deviation_id = value.rpartition("_")
    try:
        opened_at = dt.datetime.fromisoformat(opened)
        if opened_at.tzinfo is None or not _ID.match(deviation_id):
            raise ValueError("not a cursor")
        return as_utc(opened_at), deviation_id  # out of range in UTC: no page of this list either
    except ValueError:
        raise _bad("after", "not a page of this list; start from the first page") from None


def _short(text: str | None) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= _DETAIL_LENGTH else text[: _DETAIL_LENGTH - 1].rstrip() + "…"


def _back(query_string: str) -> str:
    """The inbox with the filters a form came from (only its own query: never another page)."""
    kept = [(key, value) for key, value in parse_qsl(query_string) if key in _FILTERS]
    return f"{BASE}?{urlencode(kept)}" if kept else BASE


#: The filters a form carries back to the inbox after acting (not the page or the selection: both are spent).
_FILTERS = ("cause", "channel", "age", "state")


@router.get("/console/deviations")
def deviations_inbox(
    request: Request,
    identity: Viewer,
    cause: str = "",
    channel: str = "",
    age: str = "",
    state: str = "open",
    after: str = "",
    select: str = "",
) -> Response:
    if cause and cause not in CAUSES:
        raise _bad("cause", f"{cause[:40]!r} is not a cause; known: {', '.join(CAUSES)}")
    if channel and not _CHANNEL.match(channel):
        raise _bad("channel", f"{channel[:40]!r} is not a channel name")
    if age and age not in AGES:
        raise _bad("age", f"{age[:20]!r}: choose one of {', '.join(AGES)}")
    try:
        states = wanted_states(state)
    except ValueError as error:
        raise _bad("state", str(error)) from None
    cursor = _cursor(after) if after else None
    opened_before = dt.datetime.now(dt.UTC) - AGES[age][1] if age else None
    with session_scope(request.app.state.engine) as session:
        rows = list_deviations(
            session,
            identity.tenant_id,
            status=states,
            cause=cause or None,
            channel=channel or None,
            opened_before=opened_before,
            after=cursor,
            limit=PAGE_SIZE + 1,
        )
        counts = count_by_cause(
            session, identity.tenant_id, status=states, channel=channel or None, opened_before=opened_before
        )
        channels = deviation_channels(session, identity.tenant_id)
    more = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    for row in rows:
        row["detail_short"] = _short(row["detail"])
        row["cause_label"] = CAUSE_LABELS.get(row["cause"], row["cause"])
    next_url = None
    if more:
        last = rows[-1]
        next_url = query(request, after=f"{last['opened_at']}_{last['id']}", select=None)
    context: dict[str, Any] = {
        "title": "Deviations",
        "rows": rows,
        "filters": {"cause": cause, "channel": channel, "age": age, "state": state},
        "cause_choices": [(c, f"{CAUSE_LABELS[c]} ({counts.get(c, 0)})") for c in CAUSES],
        "cause_counts": [(c, CAUSE_LABELS.get(c, c), n) for c, n in counts.items() if n],
        "channel_choices": [(c, c) for c in sorted({*channels, *([channel] if channel else [])})],
        "age_choices": [(key, text) for key, (text, _) in AGES.items()],
        "state_choices": STATE_CHOICES,
        "all_channels": known_channels(),
        "next_url": next_url,
        "first_url": query(request, after=None, select=None) if after else None,
        "select_all_url": query(request, select="all"),
        "clear_url": query(request, select=None),
        "selected_all": select == "all",
        "back": urlencode([(k, v) for k, v in request.query_params.multi_items() if k in _FILTERS and v]),
        "filtered": bool(cause or channel or age or state != "open"),
        "cause_url": lambda c: query(request, cause=c, after=None, select=None),
    }
    return page(request, "deviations/inbox.html", context, identity=identity)


# --- one deviation ---------------------------------------------------------------------------------------


@router.post("/console/deviations/{deviation_id}/resend")
def resend_one(
    request: Request,
    identity: Operator,
    deviation_id: str,
    reason: Annotated[str, Form(max_length=2000)] = "",
    channel: Annotated[str, Form(max_length=50)] = "",
    address: Annotated[str, Form(max_length=320)] = "",
    back: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    _deviation_id(deviation_id)
    if channel and not _CHANNEL.match(channel):
        raise _bad("channel", f"{channel[:40]!r} is not a channel name")
    with session_scope(request.app.state.engine) as session:
        try:
            result = resend_deviation(
                session,
                identity.tenant_id,
                deviation_id,
                actor=identity.actor,
                reason=reason.strip() or None,
                channel=channel or None,
                address=address.strip() or None,
            )
        except DeviationClosed as error:
            return redirect(request, _back(back), f"Nothing done: {error}.", kind="warn")
    sent = result["delivery"]
    number = result["deviation"]["invoice_number"] or sent["id"][:8]
    where = f" to {sent['address']}" if sent.get("address") else ""
    notice = f"Invoice {number}: sent again on {sent['channel']}{where} (attempt {sent['attempt']})."
    if result.get("warnings"):
        notice += " " + " ".join(str(warning) for warning in result["warnings"])
    return redirect(request, _back(back), notice)


@router.post("/console/deviations/{deviation_id}/resolve")
def resolve_one(
    request: Request,
    identity: Operator,
    deviation_id: str,
    reason: Annotated[str, Form(max_length=2000)] = "",
    back: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    _deviation_id(deviation_id)
    if not reason.strip():
        raise _bad("reason", "say why the deviation is resolved (it is written to the history)")
    with session_scope(request.app.state.engine) as session:
        try:
            closed = resolve_deviation(
                session, identity.tenant_id, deviation_id, actor=identity.actor, reason=reason.strip()
            )
        except DeviationClosed as error:
            return redirect(request, _back(back), f"Nothing done: {error}.", kind="warn")
    number = closed["invoice_number"] or closed["delivery_id"][:8]
    return redirect(request, _back(back), f"Invoice {number}: deviation resolved.")


# --- many at once ----------------------------------------------------------------------------------------


def _bulk_input(request: Request, ids: list[str], action: str) -> tuple[list[str], BulkAction]:
    settings: Settings = request.app.state.settings
    for value in ids:
        _deviation_id(value, "ids")
    if action not in BULK_ACTIONS:
        raise _bad("action", f"{action[:20]!r}: resend or resolve")
    try:
        unique = checked_ids(ids, settings.max_bulk_items)
    except TooManyItems as error:
        raise HTTPException(413, f"ids: {error}") from None
    except ValueError as error:
        raise _bad("ids", str(error)) from None
    return unique, action


@router.post("/console/deviations/bulk")
def bulk_confirm(
    request: Request,
    identity: Operator,
    ids: Annotated[list[str], Form()] = [],  # noqa: B006  (FastAPI reads the default)
    action: Annotated[str, Form(max_length=20)] = "",
    reason: Annotated[str, Form(max_length=2000)] = "",
    back: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """The confirmation page: what will happen to each selected deviation; nothing changes yet."""
    unique, chosen = _bulk_input(request, ids, action)
    if chosen == "resolve" and not reason.strip():
        raise _bad("reason", "say why these deviations are resolved (it is written to each history)")
    with session_scope(request.app.state.engine) as session:
        steps = plan_bulk(session, identity.tenant_id, unique, chosen)
    context = {
        "title": "Confirm " + ("resend" if chosen == "resend" else "resolve"),
        "action": chosen,
        "steps": steps,
        "acting": [step for step in steps if step.will != "skip"],
        "skipping": [step for step in steps if step.will == "skip"],
        "reason": reason.strip(),
        "back": back,
        "back_url": _back(back),
        "cause_labels": CAUSE_LABELS,
    }
    return page(request, "deviations/confirm.html", context, identity=identity)


@router.post("/console/deviations/bulk/confirm")
def bulk_run(
    request: Request,
    identity: Operator,
    ids: Annotated[list[str], Form()] = [],  # noqa: B006
    action: Annotated[str, Form(max_length=20)] = "",
    reason: Annotated[str, Form(max_length=2000)] = "",
    back: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    unique, chosen = _bulk_input(request, ids, action)
    if chosen == "resolve" and not reason.strip():
        raise _bad("reason", "say why these deviations are resolved (it is written to each history)")
    outcome = run_bulk(
        request.app.state.engine,
        identity.tenant_id,
        unique,
        chosen,
        actor=identity.actor,
        reason=reason.strip() or None,
    )
    kind = "error" if outcome.failed else ("warn" if outcome.skipped else "ok")
    return redirect(request, _back(back), outcome.summary(), kind=kind)
