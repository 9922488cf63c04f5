"""Disputes and inquiries: open one on an invoice, write to its history, change owner and due date, resolve.

Thin over `gateway.services.followup.disputes`, which holds the rules. An API token carries no role, so a
token may propose a credit but never approve one: `POST /disputes/{id}/approve-credit` answers 403 saying
who may (a console user with role credit or admin, or `gateway disputes approve` on the host).
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import AsyncGenerator, Iterator
from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import APIRouter, BackgroundTasks, Query, Request
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import Engine
from sqlalchemy.orm import Session
from starlette.datastructures import UploadFile
from starlette.formparsers import FormParser, MultiPartException, MultiPartParser

from db.models import utcnow
from gateway.api.bodies import content_type, is_json_media_type, read_body
from gateway.api.deps import DocumentStoreDep, IdentityDep, SessionDep, SettingsDep
from gateway.api.errors import ErrorAnswer
from gateway.api.params import Limit, Offset
from gateway.api.views import View
from gateway.services.followup import disputes as service
from gateway.services.portal.notify import tell_customer
from gateway.settings import Settings

router = APIRouter(tags=["disputes"])

Category = Literal["wrong_amount", "not_received", "already_paid", "goods", "other"]
Side = Literal["customer", "internal"]
#: Who a message is from: `seller` is the seller's answer to the customer (it reads it in the portal;
#: `internal` is a note the customer never sees).
MessageSide = Literal["customer", "internal", "seller"]
PositiveMoney = Annotated[Decimal, Field(gt=0, max_digits=19, decimal_places=2)]


# --- bodies -------------------------------------------------------------------------------------------------


class DisputeRequest(BaseModel):
    """A dispute on an invoice: why, what kind, how much of it (all of it when no amount), from whom."""

    model_config = ConfigDict(
        extra="forbid",
        populate_by_name=True,
        json_schema_extra={
            "examples": [
                {"reason": "the customer says 3 of 10 chairs arrived broken", "category": "goods",
                 "amount": "1875.00", "from": "customer", "owner": "kari@seller.example",
                 "due_date": "2026-12-15"}
            ]
        },
    )  # fmt: skip

    reason: str = Field(min_length=1, max_length=service.MAX_REASON)
    category: Category
    amount: PositiveMoney | None = Field(None, description="the disputed part; none: the whole open amount")
    from_: Side = Field("customer", alias="from", description="who raised it")
    owner: str | None = Field(None, max_length=service.MAX_NAME, description="who works on it")
    due_date: dt.date | None = Field(None, description="when it should be answered")


class DisputeChangeRequest(BaseModel):
    """A new owner and/or due date (null clears); each change is written to the history."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"owner": "ola@seller.example", "due_date": "2026-12-20"}]},
    )

    owner: str | None = Field(None, max_length=service.MAX_NAME)
    due_date: dt.date | None = None


class DisputeMessageRequest(BaseModel):
    """A message as JSON (without an attachment); with one, send `multipart/form-data`."""

    model_config = ConfigDict(
        extra="forbid",
        populate_by_name=True,
        json_schema_extra={"examples": [{"text": "photos of the damage attached", "from": "customer"}]},
    )

    text: str = Field(min_length=1, max_length=service.MAX_TEXT)
    from_: MessageSide = Field("internal", alias="from")


class DisputeMessageForm(BaseModel):
    """`multipart/form-data`: `text` and/or one `attachment` file (PDF, JPEG or PNG, checked like a proof
    of delivery: by its bytes, size, dimensions, pages and file name), and `from`."""

    model_config = ConfigDict(populate_by_name=True)

    text: str | None = Field(None, max_length=service.MAX_TEXT)
    attachment: bytes | None = Field(None, description="one file: PDF, JPEG or PNG")
    from_: MessageSide = Field("internal", alias="from")


class ResolveDisputeRequest(BaseModel):
    """rejected / withdrawn: follow-up resumes; credited: a credit of `credit_amount` awaits approval."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"outcome": "credited", "note": "agreed by phone", "credit_amount": "1875.00"}]
        },
    )

    outcome: Literal["rejected", "withdrawn", "credited"]
    note: str | None = Field(None, max_length=service.MAX_TEXT)
    credit_amount: PositiveMoney | None = Field(None, description="required for credited")


# --- answers ------------------------------------------------------------------------------------------------


class DisputeView(View):
    id: str
    invoice_id: str
    invoice_number: str | None
    status: str
    category: str
    origin: str
    reason: str
    amount: str | None
    owner: str | None
    due_date: str | None
    opened_by: str
    opened_at: str
    resolved_at: str | None
    resolved_by: str | None
    resolution_note: str | None
    credit_amount: str | None
    credit_requested_by: str | None
    credit_note_invoice_id: str | None
    paused_days: int


class DisputeAttachmentView(View):
    document_id: str = Field(description="GET /documents/{document_id} gives the file")
    filename: str | None
    media_type: str | None


class DisputeMessageView(View):
    id: int | None
    at: str
    author: str
    from_: str = Field(alias="from")
    event: str | None
    text: str | None
    attachment: DisputeAttachmentView | None


class DisputedInvoiceView(View):
    id: str
    number: str
    currency: str
    due_date: str | None
    payable_amount: str
    open_amount: str
    payment_status: str
    customer_key: str | None


class DisputeDetail(DisputeView):
    days_paused: int = Field(description="whole days follow-up has been (or was) paused")
    invoice: DisputedInvoiceView
    messages: list[DisputeMessageView]


class DisputePage(View):
    items: list[DisputeView]
    limit: int
    offset: int


# --- helpers ------------------------------------------------------------------------------------------------


@contextlib.contextmanager
def refusals() -> Iterator[None]:
    """A service refusal as the one error envelope, with its status."""
    try:
        yield
    except service.FollowUpRefused as error:
        raise ErrorAnswer(error.status, [error.as_dict()]) from None


def _detail(session: Any, tenant_id: str, dispute_id: str) -> DisputeDetail:
    dispute = service.get_dispute(session, tenant_id, dispute_id)
    return DisputeDetail.model_validate(service.dispute_view(session, dispute, now=utcnow()))


# --- routes -------------------------------------------------------------------------------------------------


@router.post("/invoices/{invoice_id}/disputes", status_code=201, response_model_by_alias=True)
def post_dispute(
    invoice_id: str, body: DisputeRequest, identity: IdentityDep, session: SessionDep
) -> DisputeDetail:
    """Open a dispute: follow-up stops on the disputed amount. 409 while another is open (it is named)."""
    with refusals():
        dispute = service.open_dispute(
            session, identity.tenant_id, invoice_id, reason=body.reason, category=body.category,
            side=body.from_, amount=body.amount, owner=body.owner, due_on=body.due_date,
            actor=identity.actor, now=utcnow(),
        )  # fmt: skip
    return _detail(session, identity.tenant_id, dispute.id)


@router.get("/disputes")
def get_disputes(
    identity: IdentityDep,
    session: SessionDep,
    status: Annotated[
        Literal["open", "awaiting_approval", "rejected", "credited", "withdrawn"] | None, Query()
    ] = None,
    owner: Annotated[str | None, Query(max_length=service.MAX_NAME)] = None,
    overdue: Annotated[bool, Query(description="only open ones past their due date")] = False,
    limit: Limit = 100,
    offset: Offset = 0,
) -> DisputePage:
    """The tenant's disputes, oldest first."""
    found = service.list_disputes(
        session, identity.tenant_id, status=status, owner=owner,
        overdue_on=service.today() if overdue else None, limit=limit, offset=offset,
    )  # fmt: skip
    items = [service.dispute_summary(d) for d in found]
    return DisputePage.model_validate({"items": items, "limit": limit, "offset": offset})


@router.get("/disputes/{dispute_id}")
def get_dispute(dispute_id: str, identity: IdentityDep, session: SessionDep) -> DisputeDetail:
    """One dispute with its invoice, its whole history and the days follow-up has been paused."""
    return _detail(session, identity.tenant_id, dispute_id)


@router.patch("/disputes/{dispute_id}")
def patch_dispute(
    dispute_id: str, body: DisputeChangeRequest, identity: IdentityDep, session: SessionDep
) -> DisputeDetail:
    """Change the owner and/or the due date; each change is a history entry."""
    with refusals():
        service.update_dispute(
            session, identity.tenant_id, dispute_id, changes=body.model_dump(exclude_unset=True),
            actor=identity.actor, now=utcnow(),
        )  # fmt: skip
    return _detail(session, identity.tenant_id, dispute_id)


_MESSAGE_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {"$ref": "#/components/schemas/DisputeMessageForm"},
                "example": {"text": "photos of the damage attached", "from": "customer"},
            },
            "application/x-www-form-urlencoded": {
                "schema": {"$ref": "#/components/schemas/DisputeMessageForm"},
                "example": {"text": "the customer called; photos follow", "from": "customer"},
            },
            "application/json": {
                "schema": {"$ref": "#/components/schemas/DisputeMessageRequest"},
                "example": {"text": "called the customer; they will send photos", "from": "internal"},
            },
        },
    }
}
#: The largest form beside the file itself: the text field, the boundaries and the part headers.
FORM_OVERHEAD = 64 * 1024


async def _once(data: bytes) -> AsyncGenerator[bytes, None]:
    yield data


async def _read_message(request: Request, max_bytes: int) -> tuple[Any, Any, service.AttachmentUpload | None]:
    """(text, from, attachment) of a JSON or multipart body, or a 4xx naming the field."""
    media_type = content_type(request)
    body = await read_body(request, max_bytes + FORM_OVERHEAD, "GATEWAY_MAX_POD_BYTES")
    if is_json_media_type(media_type):
        try:
            message = DisputeMessageRequest.model_validate_json(body)
        except ValidationError as error:
            raise ErrorAnswer(
                422,
                [
                    {"field": ".".join(str(p) for p in e["loc"]) or "body", "reason": e["msg"]}
                    for e in error.errors()
                ],
            ) from None
        return message.text, message.from_, None
    form_types = ("multipart/form-data", "application/x-www-form-urlencoded")
    if media_type not in form_types:
        raise ErrorAnswer.one(
            415,
            "content_type",
            f"{media_type!r} is not accepted; send multipart/form-data (with an attachment), "
            "application/x-www-form-urlencoded or application/json",
        )
    parser: MultiPartParser | FormParser
    if media_type == "multipart/form-data":
        parser = MultiPartParser(
            request.headers, _once(body), max_files=1, max_fields=3, max_part_size=service.MAX_TEXT * 4
        )
    else:
        parser = FormParser(request.headers, _once(body), max_fields=3, max_part_size=service.MAX_TEXT * 4)
    try:
        form = await parser.parse()
    except MultiPartException as error:
        raise ErrorAnswer.one(400, "body", f"not a readable form: {error.message}") from None
    unknown = sorted(set(form.keys()) - {"text", "attachment", "from"})
    if unknown:
        raise ErrorAnswer.one(422, unknown[0], "unknown form field; send text, attachment and from")
    text, side, upload = form.get("text"), form.get("from", "internal"), form.get("attachment")
    if isinstance(text, UploadFile) or isinstance(side, UploadFile):
        raise ErrorAnswer.one(
            422, "text" if isinstance(text, UploadFile) else "from", "expected a text field"
        )
    attachment = None
    if upload is not None:
        if not isinstance(upload, UploadFile):
            raise ErrorAnswer.one(422, "attachment", "expected a file part")
        data = await upload.read()
        if data:
            attachment = service.AttachmentUpload(data, upload.filename, upload.content_type)
        await upload.close()
    await form.close()
    return text, side, attachment


@router.post(
    "/disputes/{dispute_id}/messages",
    status_code=201,
    openapi_extra=_MESSAGE_BODY,
    responses={
        413: {"description": "the attachment is larger than GATEWAY_MAX_POD_BYTES"},
        415: {"description": "not a PDF, JPEG or PNG attachment (by its bytes), or not a form or JSON"},
    },
)
async def post_dispute_message(
    dispute_id: str,
    request: Request,
    identity: IdentityDep,
    session: SessionDep,
    settings: SettingsDep,
    store: DocumentStoreDep,
    background: BackgroundTasks,
) -> DisputeMessageView:
    """A message and/or one attachment on the dispute's history (the file goes to the document store).
    From `seller` it is an answer the customer reads in the portal: its portal users are told by e-mail
    once it is committed (a mail that fails is noted on the history, the answer stands)."""
    service.get_dispute(session, identity.tenant_id, dispute_id)  # 404 before reading a large body
    text, side, attachment = await _read_message(request, settings.max_pod_bytes)
    with refusals():
        message = service.add_message(
            session, store, identity.tenant_id, dispute_id, text=text, side=side, attachment=attachment,
            max_bytes=settings.max_pod_bytes, actor=identity.actor, now=utcnow(),
        )  # fmt: skip
    view = DisputeMessageView.model_validate(service.message_view(message))
    if message.side == "seller":
        _tell_after_commit(session, background, settings, identity.tenant_id, dispute_id, message.id)
    return view


def _tell_after_commit(
    session: Session,
    background: BackgroundTasks,
    settings: Settings,
    tenant_id: str,
    dispute_id: str,
    message_id: int | None,
) -> None:
    """Commit now (the session's dependency would commit only after the background tasks ran), then e-mail
    the customer once the answer is sent (`notify.tell_customer`)."""
    session.commit()
    engine = session.get_bind()
    assert isinstance(engine, Engine)
    background.add_task(tell_customer, engine, settings, tenant_id, dispute_id, message_id=message_id)


@router.post("/disputes/{dispute_id}/resolve")
def post_resolve(
    dispute_id: str,
    body: ResolveDisputeRequest,
    identity: IdentityDep,
    session: SessionDep,
    settings: SettingsDep,
    background: BackgroundTasks,
) -> DisputeDetail:
    """rejected / withdrawn: closed, follow-up resumes with the days paused added (the customer's portal
    users are told by e-mail when the inquiry shows in its portal). credited: the credit is proposed and
    waits for another person with the right role to approve it."""
    with refusals():
        dispute = service.resolve_dispute(
            session, identity.tenant_id, dispute_id, outcome=body.outcome, note=body.note,
            credit_amount=body.credit_amount, actor=identity.actor, now=utcnow(),
        )  # fmt: skip
    detail = _detail(session, identity.tenant_id, dispute_id)
    if dispute.status in ("rejected", "withdrawn"):
        _tell_after_commit(session, background, settings, identity.tenant_id, dispute_id, None)
    return detail


@router.post(
    "/disputes/{dispute_id}/approve-credit",
    responses={403: {"description": "an API token has no role: approving a credit is for a person"}},
)
def post_approve_credit(dispute_id: str, identity: IdentityDep, session: SessionDep) -> DisputeDetail:
    """Always refused for an API token (403): a credit is approved by a console user with role credit or
    admin, or by `gateway disputes approve ID --as NAME` on the host — never by the one who proposed it."""
    service.get_dispute(session, identity.tenant_id, dispute_id)
    with refusals():
        service.approve_credit(
            session,
            dispute_id,
            approver=identity.actor,
            approver_role="api-token",
            tenant_id=identity.tenant_id,
        )
    return _detail(session, identity.tenant_id, dispute_id)  # pragma: no cover - refused above
