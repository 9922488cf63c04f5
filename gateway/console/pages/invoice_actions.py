"""An operator's actions on one invoice: send it again, correct its delivery data and send again, cancel
its waiting deliveries, and its proofs of delivery.

Each action is a form, then a preview (`step=preview`) that says exactly what will happen — which delivery
is sent again, on which channel and to which address, which proofs of delivery go along, which of the
invoice's other deliveries are still waiting and what becomes of them — worked out by the same plan the
action then carries out (`resend.plan_resend`, `corrections.plan_correction`, `deliveries.cancel_refusal`),
so the preview and the action cannot disagree. A refusal (a delivered delivery cannot be cancelled, a
delivery being sent cannot be sent again) is said in the preview, with no button to confirm. The action
itself (`step=confirm`) runs the service the API runs, as `console:<email>` with the reason given, and
goes back to the invoice page with a notice naming what it did.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any, Literal
from urllib.parse import quote

from fastapi import APIRouter, File, Form, HTTPException, Request, UploadFile
from fastapi.responses import Response
from sqlalchemy import Engine
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from channels import ChannelUnavailable, UnknownChannel, known_channels
from db.engine import session_scope
from db.models import Delivery, InvoiceRecord
from gateway.console.auth import Operator, Viewer
from gateway.console.templating import page, redirect
from gateway.services.downloads import content_disposition, safe_media_type
from gateway.services.inbound import pods as pod_service
from gateway.services.outbound import corrections
from gateway.services.outbound import deliveries as delivery_service
from gateway.services.outbound import resend as resend_service
from gateway.services.outbound.documents import DocumentStoreError, document_store, load_document
from gateway.services.outbound.lookup import find_invoice
from gateway.services.parsed import ParsePool
from gateway.services.tenancy.console_users import ConsoleIdentity
from gateway.settings import Settings
from mappings.invoice import canonical_json
from outbox.states import DeliveryStatus, IllegalTransition

router = APIRouter()

Step = Annotated[Literal["preview", "confirm"], Form()]
Reason = Annotated[str, Form(max_length=1000)]
#: Where a POD can be looked at in the browser; any other kind is downloaded.
_VIEWABLE = frozenset({"application/pdf", "image/jpeg", "image/png"})


def _engine(request: Request) -> Engine:
    engine: Engine = request.app.state.engine
    return engine


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _invoice_path(invoice_id: str, tail: str = "") -> str:
    return f"/console/invoices/{quote(invoice_id, safe='')}{tail}"


def _short(delivery_id: str) -> str:
    return delivery_id[:8]


def _require_operator(identity: ConsoleIdentity) -> None:
    """An action's form is for those who may do it: a viewer is told so (the POST would be refused too)."""
    if not identity.may("deliveries"):
        raise HTTPException(403, f"your role ({identity.role}) may not change deliveries")


def _reason_error(reason: str) -> dict[str, str]:
    return {} if reason.strip() else {"reason": "Say why: the reason is written to the event history."}


def delivery_row(delivery: Delivery) -> dict[str, Any]:
    """A delivery as the action pages list it (the status as its word, a short id a person can compare)."""
    return {
        "id": delivery.id,
        "short": _short(delivery.id),
        "channel": delivery.channel,
        "address": delivery.address,
        "status": DeliveryStatus(delivery.status).value,
        "attempt": delivery.attempt,
        "updated_at": delivery.updated_at,
        "last_error": delivery.last_error,
    }


def _invoice_context(session: Session, identity: ConsoleIdentity, record: InvoiceRecord) -> dict[str, Any]:
    """What every action page shows of the invoice: its number, buyer, amount and deliveries."""
    rows = delivery_service.deliveries_of_invoice(session, identity.tenant_id, record.id)
    return {
        "invoice": record,
        "invoice_path": _invoice_path(record.id),
        "deliveries": rows,
        "delivery_rows": [delivery_row(row) for row in rows],
    }


# --- resend ---------------------------------------------------------------------------------------------


def _resend_context(
    session: Session, identity: ConsoleIdentity, record: InvoiceRecord, form: dict[str, Any]
) -> dict[str, Any]:
    pods = pod_service.pods_for_invoice(session, identity.tenant_id, record.id)
    sendable = {pod.id for pod in pods if pod.document_id and pod.kind in resend_service.SENDABLE_KINDS}
    return {
        **_invoice_context(session, identity, record),
        "title": f"Resend {record.number}",
        "pods": pods,
        "sendable": sendable,
        "channels": known_channels(),
        "form": form,
        "errors": {},
        "plan": None,
        "refusal": None,
    }


@router.get("/console/invoices/{ref}/resend")
def resend_form(request: Request, ref: str, identity: Viewer) -> Response:
    _require_operator(identity)
    with session_scope(_engine(request)) as session:
        record = find_invoice(session, identity.tenant_id, ref)
        context = _resend_context(session, identity, record, {})
        latest = context["deliveries"][-1].id if context["deliveries"] else ""
        context["form"] = {
            "delivery": latest,
            "channel": "",
            "to": "",
            "pods": [],
            "cancel_others": False,
            "reason": "",
        }
        return page(request, "invoice/action_resend.html", context, identity=identity)


@router.post("/console/invoices/{ref}/resend")
def resend_action(
    request: Request,
    ref: str,
    identity: Operator,
    step: Step,
    reason: Reason = "",
    delivery: Annotated[str, Form(max_length=32)] = "",
    channel: Annotated[str, Form(max_length=50)] = "",
    to: Annotated[str, Form(max_length=500)] = "",
    pods: Annotated[list[str], Form()] = [],  # noqa: B006 - FastAPI copies the default
    cancel_others: Annotated[bool, Form()] = False,
) -> Response:
    chosen_pods = list(dict.fromkeys(pods))
    form: dict[str, Any] = {
        "delivery": delivery,
        "channel": channel.strip(),
        "to": to.strip(),
        "pods": chosen_pods,
        "cancel_others": cancel_others,
        "reason": reason,
    }
    with session_scope(_engine(request)) as session:
        record = find_invoice(session, identity.tenant_id, ref)
        context = _resend_context(session, identity, record, form)
        context["errors"] = _reason_error(reason)
        if context["errors"]:
            return page(request, "invoice/action_resend.html", context, identity=identity, status=422)
        base = resend_service.base_delivery(
            session, identity.tenant_id, record.id, delivery_id=delivery or None, channel=None
        )
        arguments: dict[str, Any] = {
            "reason": reason.strip(),
            "with_pod": bool(form["pods"]),
            "channel": form["channel"] or None,
            "address": form["to"] or None,
            "only_pods": form["pods"] or None,
        }
        if step == "preview":
            try:
                plan = resend_service.plan_resend(session, base, **arguments)
            except (resend_service.ResendRefused, IllegalTransition) as error:
                context["refusal"] = str(error)
                return page(request, "invoice/action_resend.html", context, identity=identity, status=409)
            except (UnknownChannel, ChannelUnavailable) as error:
                context["errors"] = {"channel": str(error)}
                return page(request, "invoice/action_resend.html", context, identity=identity, status=422)
            context["plan"] = plan
            context["plan_base"] = delivery_row(plan.base)
            context["plan_waiting"] = [delivery_row(row) for row in plan.waiting]
            return page(request, "invoice/action_resend.html", context, identity=identity)
        try:
            resent = resend_service.resend_delivery(session, base, actor=identity.actor, **arguments)
        except resend_service.ResendRefused as error:
            raise HTTPException(409, str(error)) from None
        except (UnknownChannel, ChannelUnavailable) as error:
            raise HTTPException(422, f"channel: {error}") from None
        siblings = resend_service.settle_siblings(
            session, resent, actor=identity.actor, reason=reason.strip(), cancel_others=cancel_others
        )
        where = f" to {resent.address}" if resent.address else ""
        count = len(chosen_pods)
        with_pods = f" with {count} proof{'s' if count > 1 else ''} of delivery" if count else ""
        notice = (
            f"{record.number} goes again: delivery {_short(resent.id)} via {resent.channel}{where}, "
            f"attempt {resent.attempt}{with_pods}."
        )
        warnings = resend_service.sibling_report(siblings)["warnings"]
        if warnings:
            notice += " " + "; ".join(warnings) + "."
        return redirect(request, _invoice_path(record.id), notice, kind="warn" if warnings else "ok")


# --- correct delivery data and resend --------------------------------------------------------------------

#: The address form's fields, as `Address` names them.
_ADDRESS_FIELDS = ("city", "postal_code", "subdivision", "country")


def _current_data(record: InvoiceRecord) -> dict[str, Any]:
    """The buyer's delivery data as the correction form shows it."""
    buyer = canonical_json.parse(record.payload).buyer
    address = buyer.address
    endpoint = buyer.endpoint
    return {
        "buyer_email": buyer.contact.email if buyer.contact and buyer.contact.email else "",
        "address_lines": "\n".join(address.lines) if address else "",
        **{name: (getattr(address, name) or "") if address else "" for name in _ADDRESS_FIELDS},
        "endpoint_scheme": (endpoint.scheme or "") if endpoint else "",
        "endpoint_value": endpoint.value if endpoint else "",
    }


def _requested_corrections(current: dict[str, Any], form: dict[str, Any]) -> dict[str, Any]:
    """The service's arguments: only what the form changed (a group left as it was is not corrected)."""
    changed: dict[str, Any] = {"buyer_address": None, "buyer_email": None, "buyer_endpoint": None}
    if form["buyer_email"] != current["buyer_email"]:
        changed["buyer_email"] = form["buyer_email"]
    address_keys = ("address_lines", *_ADDRESS_FIELDS)
    if any(form[key] != current[key] for key in address_keys):
        lines = [line.strip() for line in form["address_lines"].splitlines() if line.strip()]
        address: dict[str, Any] = {"lines": lines, "country": form["country"].upper()}
        address.update({name: form[name] for name in _ADDRESS_FIELDS[:3] if form[name]})
        changed["buyer_address"] = address
    if (form["endpoint_scheme"], form["endpoint_value"]) != (
        current["endpoint_scheme"],
        current["endpoint_value"],
    ):
        changed["buyer_endpoint"] = {"scheme": form["endpoint_scheme"], "value": form["endpoint_value"]}
    return changed


def _shown(name: str, value: Any) -> str:
    """A corrected value as a person reads it: an address on one line, an endpoint as scheme:value."""
    if value is None:
        return "(none)"
    if name == "buyer.address" and isinstance(value, dict):
        parts = [
            *value.get("lines", []),
            " ".join(filter(None, [value.get("postal_code"), value.get("city")])),
        ]
        parts += [value.get("subdivision") or "", value.get("country") or ""]
        return ", ".join(part for part in parts if part)
    if name == "buyer.endpoint" and isinstance(value, dict):
        return f"{value.get('scheme', '')}:{value.get('value', '')}"
    return str(value)


_FIELD_LABELS = {
    "buyer.address": "Postal address",
    "buyer.contact.email": "E-mail",
    "buyer.endpoint": "Electronic address (PEPPOL)",
}


@router.get("/console/invoices/{ref}/correct")
def correct_form(request: Request, ref: str, identity: Viewer) -> Response:
    _require_operator(identity)
    with session_scope(_engine(request)) as session:
        record = find_invoice(session, identity.tenant_id, ref)
        form = {**_current_data(record), "resend": True, "cancel_others": False, "reason": ""}
        context = {
            **_invoice_context(session, identity, record),
            "title": f"Correct {record.number}",
            "form": form,
            "errors": {},
            "preview": None,
            "refusal": None,
        }
        return page(request, "invoice/action_correct.html", context, identity=identity)


@router.post("/console/invoices/{ref}/correct")
def correct_action(
    request: Request,
    ref: str,
    identity: Operator,
    step: Step,
    reason: Reason = "",
    buyer_email: Annotated[str, Form(max_length=254)] = "",
    address_lines: Annotated[str, Form(max_length=1000)] = "",
    city: Annotated[str, Form(max_length=200)] = "",
    postal_code: Annotated[str, Form(max_length=20)] = "",
    subdivision: Annotated[str, Form(max_length=200)] = "",
    country: Annotated[str, Form(max_length=2)] = "",
    endpoint_scheme: Annotated[str, Form(max_length=10)] = "",
    endpoint_value: Annotated[str, Form(max_length=200)] = "",
    resend: Annotated[bool, Form()] = False,
    cancel_others: Annotated[bool, Form()] = False,
) -> Response:
    form: dict[str, Any] = {
        "buyer_email": buyer_email.strip(),
        "address_lines": address_lines.replace("\r\n", "\n").strip(),
        "city": city.strip(),
        "postal_code": postal_code.strip(),
        "subdivision": subdivision.strip(),
        "country": country.strip(),
        "endpoint_scheme": endpoint_scheme.strip(),
        "endpoint_value": endpoint_value.strip(),
        "resend": resend,
        "cancel_others": cancel_others,
        "reason": reason,
    }
    with session_scope(_engine(request)) as session:
        record = find_invoice(session, identity.tenant_id, ref)
        current = _current_data(record)
        context: dict[str, Any] = {
            **_invoice_context(session, identity, record),
            "title": f"Correct {record.number}",
            "form": form,
            "errors": _reason_error(reason),
            "preview": None,
            "refusal": None,
        }
        if context["errors"]:
            return page(request, "invoice/action_correct.html", context, identity=identity, status=422)
        requested = _requested_corrections(current, form)
        if step == "preview":
            return _correct_preview(request, session, identity, record, context, requested)
        try:
            correction = corrections.correct_and_resend(
                session,
                identity.tenant_id,
                record.id,
                actor=identity.actor,
                reason=reason.strip(),
                resend=resend,
                cancel_others=cancel_others,
                **requested,
            )
        except corrections.CorrectionInvalid as error:
            raise HTTPException(422, _described(error.errors)) from None
        except (corrections.CorrectionRefused, resend_service.ResendRefused) as error:
            raise HTTPException(409, str(error)) from None
        changed = ", ".join(_FIELD_LABELS.get(name, name) for name in correction.corrected)
        notice = f"{record.number}: {changed} corrected."
        if correction.resent is not None:
            resent = correction.resent
            notice += (
                f" Sent again as delivery {_short(resent.id)} via {resent.channel}, attempt {resent.attempt}."
            )
        if correction.warnings:
            notice += " " + "; ".join(correction.warnings) + "."
        kind = "warn" if correction.warnings else "ok"
        return redirect(request, _invoice_path(record.id), notice, kind=kind)


def _described(errors: Sequence[dict[str, Any]]) -> str:
    return "; ".join(f"{entry.get('field')}: {entry.get('reason')}" for entry in errors)


def _correct_preview(
    request: Request,
    session: Session,
    identity: ConsoleIdentity,
    record: InvoiceRecord,
    context: dict[str, Any],
    requested: dict[str, Any],
) -> Response:
    form = context["form"]
    try:
        plan = corrections.plan_correction(
            session, identity.tenant_id, record.id, reason=form["reason"], lock=False, **requested
        )
        notes, siblings = corrections.correction_outlook(
            session, plan, resend=form["resend"], cancel_others=form["cancel_others"]
        )
    except corrections.CorrectionInvalid as error:
        context["errors"] = {"fields": _described(error.errors)}
        return page(request, "invoice/action_correct.html", context, identity=identity, status=422)
    except (corrections.CorrectionRefused, resend_service.ResendRefused, IllegalTransition) as error:
        context["refusal"] = str(error)
        return page(request, "invoice/action_correct.html", context, identity=identity, status=409)
    context["preview"] = {
        "changes": [
            (_FIELD_LABELS.get(name, name), _shown(name, plan.before[name]), _shown(name, plan.after[name]))
            for name in plan.corrected
        ],
        "plan": plan,
        "concerned": [delivery_row(row) for row in plan.concerned],
        "target": delivery_row(plan.target) if plan.target is not None else None,
        "notes": notes,
        "siblings": siblings,
    }
    return page(request, "invoice/action_correct.html", context, identity=identity)


# --- cancel ------------------------------------------------------------------------------------------


def _cancel_context(
    session: Session, identity: ConsoleIdentity, record: InvoiceRecord, form: dict[str, Any]
) -> dict[str, Any]:
    context = _invoice_context(session, identity, record)
    rows: list[Delivery] = context["deliveries"]
    return {
        **context,
        "title": f"Cancel deliveries of {record.number}",
        "refusals": {row.id: delivery_service.cancel_refusal(session, row) for row in rows},
        "form": form,
        "errors": {},
        "preview": None,
        "refusal": None,
    }


@router.get("/console/invoices/{ref}/cancel")
def cancel_form(request: Request, ref: str, identity: Viewer) -> Response:
    _require_operator(identity)
    with session_scope(_engine(request)) as session:
        record = find_invoice(session, identity.tenant_id, ref)
        waiting = resend_service.waiting_deliveries(session, identity.tenant_id, record.id)
        form = {"deliveries": [row.id for row in waiting], "reason": ""}
        context = _cancel_context(session, identity, record, form)
        return page(request, "invoice/action_cancel.html", context, identity=identity)


@router.post("/console/invoices/{ref}/cancel")
def cancel_action(
    request: Request,
    ref: str,
    identity: Operator,
    step: Step,
    reason: Reason = "",
    deliveries: Annotated[list[str], Form()] = [],  # noqa: B006 - FastAPI copies the default
) -> Response:
    form = {"deliveries": list(dict.fromkeys(deliveries)), "reason": reason}
    with session_scope(_engine(request)) as session:
        record = find_invoice(session, identity.tenant_id, ref)
        context = _cancel_context(session, identity, record, form)
        context["errors"] = _reason_error(reason)
        if not form["deliveries"]:
            context["errors"]["deliveries"] = "Choose at least one delivery to cancel."
        if context["errors"]:
            return page(request, "invoice/action_cancel.html", context, identity=identity, status=422)
        chosen = [
            delivery_service.find_invoice_delivery(session, identity.tenant_id, record.id, delivery_id)
            for delivery_id in form["deliveries"]
        ]
        refusals = [refusal for row in chosen if (refusal := delivery_service.cancel_refusal(session, row))]
        if step == "preview" or refusals:
            if refusals:
                context["refusal"] = "; ".join(refusals)
            chosen_ids = {row.id for row in chosen}
            context["preview"] = {
                "chosen": [delivery_row(row) for row in chosen],
                "still_waiting": [
                    delivery_row(row)
                    for row in resend_service.waiting_deliveries(session, identity.tenant_id, record.id)
                    if row.id not in chosen_ids
                ],
            }
            return page(
                request,
                "invoice/action_cancel.html",
                context,
                identity=identity,
                status=409 if refusals else 200,
            )
        for row in chosen:
            delivery_service.cancel(session, row, actor=identity.actor, reason=reason.strip())
        named = ", ".join(f"{_short(row.id)} via {row.channel}" for row in chosen)
        return redirect(request, _invoice_path(record.id), f"{record.number}: cancelled delivery {named}.")


# --- proofs of delivery --------------------------------------------------------------------------------


@router.get("/console/invoices/{ref}/pods")
def pods_page(request: Request, ref: str, identity: Viewer) -> Response:
    with session_scope(_engine(request)) as session:
        record = find_invoice(session, identity.tenant_id, ref)
        linked = [
            pod_service.pod_view(session, pod)
            for pod in pod_service.pods_for_invoice(session, identity.tenant_id, record.id)
        ]
        waiting = pod_service.list_pods(session, identity.tenant_id, linked=False, limit=20)
        unlinked = []
        for pod in waiting:
            view = pod_service.pod_view(session, pod)
            view["suggested"] = any(s.get("invoice_id") == record.id for s in view["suggestions"])
            unlinked.append(view)
        unlinked.sort(key=lambda view: not view["suggested"])  # the ones that name this invoice first
        context = {
            "title": f"Proofs of delivery of {record.number}",
            "invoice": record,
            "invoice_path": _invoice_path(record.id),
            "pods_path": _invoice_path(record.id, "/pods"),
            "linked": linked,
            "unlinked": unlinked,
            "max_bytes": _settings(request).max_pod_bytes,
            "accept": ",".join(sorted(pod_service.POD_CONTENT_TYPES)) + ",.pdf,.jpg,.jpeg,.png,.edi,.x12",
        }
        return page(request, "invoice/action_pods.html", context, identity=identity)


@router.get("/console/invoices/{ref}/pods/{pod_id}/file")
def pod_file(request: Request, ref: str, pod_id: str, identity: Viewer) -> Response:
    """The POD's file as received: shown in the browser when it is a PDF or a photo, else downloaded."""
    with session_scope(_engine(request)) as session:
        find_invoice(session, identity.tenant_id, ref)
        pod = pod_service.get_pod(session, identity.tenant_id, pod_id)
        if pod.document_id is None:
            raise pod_service.NotFound(f"proof of delivery {pod_id} has no stored file")
        try:
            store = document_store(_settings(request), _engine(request))
            document, data = load_document(session, store, pod.document_id, identity.tenant_id)
        except DocumentStoreError as error:
            raise HTTPException(500, str(error)) from None
        except LookupError as error:
            raise HTTPException(404, str(error)) from None
    media_type = safe_media_type(document.media_type)
    disposition = content_disposition(
        document.filename,
        fallback=f"pod-{pod_id}",
        disposition="inline" if media_type in _VIEWABLE else "attachment",
    )
    return Response(data, media_type=media_type, headers={"Content-Disposition": disposition})


@router.post("/console/invoices/{ref}/pods/link")
def link_pod(
    request: Request, ref: str, identity: Operator, pod: Annotated[str, Form(min_length=1, max_length=100)]
) -> Response:
    with session_scope(_engine(request)) as session:
        record = find_invoice(session, identity.tenant_id, ref)
        pod_id = pod.strip()
        try:
            found = pod_service.get_pod(session, identity.tenant_id, pod_id)
        except pod_service.NotFound:
            raise HTTPException(404, f"pod: there is no proof of delivery {pod_id!r}") from None
        pod_service.link_pod(session, identity.tenant_id, found.id, record.id, identity.actor)
        name = found.filename or found.id
    return redirect(request, _invoice_path(record.id, "/pods"), f"Linked {name} to {record.number}.")


@router.post("/console/invoices/{ref}/pods/{pod_id}/unlink")
def unlink_pod(request: Request, ref: str, pod_id: str, identity: Operator) -> Response:
    with session_scope(_engine(request)) as session:
        record = find_invoice(session, identity.tenant_id, ref)
        found = pod_service.get_pod(session, identity.tenant_id, pod_id)
        pod_service.unlink_pod(session, identity.tenant_id, found.id, record.id, identity.actor)
        name = found.filename or found.id
    notice = f"Unlinked {name} from {record.number}."
    return redirect(request, _invoice_path(record.id, "/pods"), notice, kind="info")


@router.post("/console/invoices/{ref}/pods/upload")
async def upload_pod(
    request: Request,
    ref: str,
    identity: Operator,
    file: Annotated[UploadFile, File()],
    signer_name: Annotated[str, Form(max_length=200)] = "",
    signed_at: Annotated[str, Form(max_length=40)] = "",
    place: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """A new POD file for this invoice: checked as `POST /pods` checks it, kept, and linked to the invoice."""
    settings = _settings(request)
    data = await file.read(settings.max_pod_bytes + 1)
    declared = (file.content_type or "").split(";")[0].strip().lower()
    if declared not in pod_service.POD_CONTENT_TYPES and declared != "application/octet-stream":
        raise HTTPException(415, f"file: {declared or 'no type'} is not accepted; send a PDF, JPEG or PNG")
    if not data:
        raise HTTPException(422, "file: choose a file to upload")
    engine = _engine(request)
    # the CPU-heavy check (a PDF's pages, an image's header) in the app's parse pool (issue 18)
    pool: ParsePool = request.app.state.parse_pool
    examined = await pool.read(
        pod_service.examine, data, media_type_hint=declared, max_bytes=settings.max_pod_bytes
    )

    def receive() -> tuple[str, str, pod_service.PodReceipt]:
        with session_scope(engine) as session:
            record = find_invoice(session, identity.tenant_id, ref)  # a 404 before anything is kept
            invoice_id, number = record.id, record.number
        receipt = pod_service.receive_pod(
            engine,
            document_store(settings, engine),
            tenant_id=identity.tenant_id,
            data=data,
            filename=file.filename or None,
            media_type_hint=declared,
            signer_name=signer_name or None,
            signed_at=pod_service.parse_signed_at(signed_at or None),
            place=place or None,
            source="console",
            actor=identity.actor,
            max_bytes=settings.max_pod_bytes,
            examined=examined,
        )
        with session_scope(engine) as session:
            for pod_id in receipt.pod_ids:
                pod_service.link_pod(session, identity.tenant_id, pod_id, invoice_id, identity.actor)
        return invoice_id, number, receipt

    try:
        invoice_id, number, receipt = await run_in_threadpool(receive)
    except pod_service.PodRefused as error:
        field = "file" if error.field in ("content", "content_type", "filename") else error.field
        raise HTTPException(error.status, f"{field}: {error.reason}") from None
    name = file.filename or "the file"
    if receipt.duplicate:
        notice = f"{name} was received before; it is linked to {number}."
    else:
        notice = f"Received {name} and linked it to {number}."
    return redirect(request, _invoice_path(invoice_id, "/pods"), notice)
