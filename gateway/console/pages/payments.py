"""Payments for credit controllers: the exception queue, one payment with the engine's suggestions and their
evidence in words, and a person's decisions on it (choose a suggestion or approve the proposal, allocate by
hand with a write-off, ignore, reverse).

Every decision calls the same service function the API's `/payments/{id}/…` routes call, with the person
as the actor (`console:<email>`), so the payment's history and the invoices' allocations say who did it.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Form, HTTPException, Query, Request
from fastapi.responses import Response
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from db.engine import session_scope
from db.models import PaymentRecord
from gateway.console.amounts import form_amount
from gateway.console.auth import CreditController, Viewer
from gateway.console.templating import money, page, redirect
from gateway.services.outbound.lookup import AmbiguousReference
from gateway.services.payments import matching_runs as payment_service
from gateway.services.payments import remittances as remittance_service
from gateway.services.payments import review
from gateway.services.tenancy.console_users import ConsoleIdentity

router = APIRouter()

PAGE_SIZE = 50
#: Rows of the allocate-by-hand form.
HAND_ROWS = 3
#: Statuses a person may still allocate by hand (the engine's choices only while it waits for a person).
ALLOCATABLE = ("exception", "needs_approval", "ignored")
CHOOSABLE = ("exception", "needs_approval")
REVERSIBLE = ("applied", "resolved")

Reason = Annotated[str, Form(max_length=2000)]


def _engine(request: Request) -> Engine:
    engine: Engine = request.app.state.engine
    return engine


def _payment(session: Session, identity: ConsoleIdentity, payment_id: str) -> PaymentRecord:
    try:
        return payment_service.get_payment(session, identity.tenant_id, payment_id)
    except payment_service.PaymentNotFound:
        raise HTTPException(404, f"There is no payment {payment_id}.") from None


@router.get("/console/payments")
def payments_page(
    request: Request,
    identity: Viewer,
    queue: str = "exceptions",
    file: Annotated[str | None, Query(max_length=32)] = None,
    page_number: Annotated[int, Query(alias="page", ge=1, le=100_000)] = 1,
) -> Response:
    if queue not in review.QUEUES:
        raise HTTPException(404, f"There is no payment queue {queue!r}.")
    _label, statuses = review.QUEUES[queue]
    with session_scope(_engine(request)) as session:
        source = None
        if file:
            try:
                source = remittance_service.get_file(session, identity.tenant_id, file)
            except remittance_service.RemittanceNotFound:
                raise HTTPException(404, f"There is no remittance file {file}.") from None
        found = payment_service.list_payments(
            session, identity.tenant_id, statuses=statuses, file_id=file, limit=PAGE_SIZE + 1,
            offset=(page_number - 1) * PAGE_SIZE,
        )  # fmt: skip
        counts = review.queue_counts(review.count_by_status(session, identity.tenant_id, file_id=file))
        rows = [
            {"payment": p, "references": _references(p.data), "best": review.best_in_words(p)}
            for p in found[:PAGE_SIZE]
        ]
        context = {
            "title": "Payments",
            "queues": [(name, label, counts[name]) for name, (label, _s) in review.QUEUES.items()],
            "queue": queue,
            "rows": rows,
            "file": source,
            "page_number": page_number,
            "next_url": f"?{_query(queue, file, page_number + 1)}" if len(found) > PAGE_SIZE else None,
            "previous_url": f"?{_query(queue, file, 1)}" if page_number > 1 else None,
        }
        return page(request, "payments/list.html", context, identity=identity)


def _query(queue: str, file: str | None, page_number: int) -> str:
    parts = [f"queue={queue}"] + ([f"file={file}"] if file else []) + [f"page={page_number}"]
    return "&".join(parts)


def _references(data: dict[str, Any]) -> list[str]:
    """What the payer wrote to say what it pays: KIDs, document numbers, free text."""
    out: list[str] = []
    for line in data.get("lines") or []:
        if line.get("kid"):
            out.append(f"KID {line['kid']}")
        if line.get("invoice_number"):
            kind = "credit note" if line.get("document_kind") == "credit_note" else "invoice"
            out.append(f"{kind} {line['invoice_number']}")
        if line.get("text"):
            out.append(f"“{line['text']}”")
    out += [f"“{text}”" for text in data.get("free_text") or []]
    return list(dict.fromkeys(out))


def _payment_page(
    request: Request,
    identity: ConsoleIdentity,
    payment_id: str,
    *,
    hand: dict[str, Any] | None = None,
    preview: list[review.InvoiceEffect] | None = None,
) -> Response:
    with session_scope(_engine(request)) as session:
        payment = _payment(session, identity, payment_id)
        try:
            source = remittance_service.get_file(session, identity.tenant_id, payment.file_id)
        except remittance_service.RemittanceNotFound:  # pragma: no cover - a payment always has its file
            source = None
        decision = payment.decision or {}
        history = [
            *({"what": "Resolved", **r} for r in decision.get("resolutions") or []),
            *({"what": "Reversed", **r} for r in decision.get("reversals") or []),
        ]
        history.sort(key=lambda entry: str(entry.get("at", "")))
        context = {
            "title": f"Payment {money(payment.amount, payment.currency)}",
            "payment": payment,
            "file": source,
            "references": _references(payment.data),
            "data": payment.data,
            "reason": review.sentence(str(decision.get("reason") or "")),
            "evidence": review.evidence_in_words(decision.get("evidence") or []),
            "learned": review.learned_in_words(session, payment),
            "learned_accounts": list((decision.get("learned") or {}).get("accounts") or {}),
            "choices": review.choices_in_words(session, payment) if payment.status in CHOOSABLE else [],
            "applied": review.applied_to(session, payment),
            "reversal": review.reversal_effects(session, payment) if payment.status in REVERSIBLE else [],
            "history": history,
            "settled": {
                key: Decimal(value) if value is not None else None
                for key, value in (
                    ("applied", payment.applied_amount),
                    ("write_off", payment.write_off),
                    ("unapplied", payment.unapplied),
                )
            },
            "may_act": identity.may("payments"),
            "may_choose": payment.status in CHOOSABLE,
            "may_allocate": payment.status in ALLOCATABLE,
            "may_ignore": payment.status in CHOOSABLE,
            "may_reverse": payment.status in REVERSIBLE,
            "hand": hand or {"rows": [{"invoice": "", "amount": ""} for _ in range(HAND_ROWS)],
                             "write_off": "", "reason": ""},
            "preview": preview,
        }  # fmt: skip
        return page(request, "payments/payment.html", context, identity=identity)


@router.get("/console/payments/{payment_id}")
def payment_page(request: Request, identity: Viewer, payment_id: str) -> Response:
    return _payment_page(request, identity, payment_id)


def _decide(request: Request, identity: ConsoleIdentity, payment_id: str, decision: Callable[[], Any]) -> str:
    """Book a decision; a refused one is a page naming the field, an unknown payment a 404. Returns what
    became of the invoices, in words, for the notice."""
    try:
        decision()
    except payment_service.PaymentNotFound:
        raise HTTPException(404, f"There is no payment {payment_id}.") from None
    except payment_service.ResolutionRefused as error:
        raise HTTPException(422, f"{error.field}: {error.reason}") from None
    except AmbiguousReference as error:
        raise HTTPException(409, str(error)) from None
    with session_scope(_engine(request)) as session:
        payment = _payment(session, identity, payment_id)
        rows = review.applied_to(session, payment)
        active = [row for row in rows if row["reversed_at"] is None] or rows
        states = [
            f"invoice {row['number']} is now {row['invoice_status'].replace('_', ' ')}" for row in active
        ]
    return "; ".join(dict.fromkeys(states))


def _said(reason: str) -> str | None:
    return reason.strip() or None


@router.post("/console/payments/{payment_id}/choose")
def choose_suggestion(
    request: Request,
    identity: CreditController,
    payment_id: str,
    suggestion: Annotated[int, Form(ge=0, le=100)],
    reason: Reason = "",
) -> Response:
    """Book the proposal (awaiting approval) or the chosen suggestion (an exception)."""
    result = _decide(request, identity, payment_id, lambda: payment_service.approve_payment(
        _engine(request), identity.tenant_id, payment_id, actor=identity.actor, reason=_said(reason),
        suggestion=suggestion,
    ))  # fmt: skip
    return redirect(request, f"/console/payments/{payment_id}", f"Booked: {result}.")


@router.post("/console/payments/{payment_id}/allocate")
def allocate_by_hand(
    request: Request,
    identity: CreditController,
    payment_id: str,
    invoice_1: Annotated[str, Form(max_length=100)] = "",
    amount_1: Annotated[str, Form(max_length=60)] = "",
    invoice_2: Annotated[str, Form(max_length=100)] = "",
    amount_2: Annotated[str, Form(max_length=60)] = "",
    invoice_3: Annotated[str, Form(max_length=100)] = "",
    amount_3: Annotated[str, Form(max_length=60)] = "",
    write_off: Annotated[str, Form(max_length=60)] = "",
    reason: Reason = "",
    step: Annotated[str, Form(max_length=20)] = "preview",
) -> Response:
    """Allocate to invoices named by number, with an optional write-off (and its reason): first a preview
    of what it will do, then (step `book`) booked."""
    typed = [(invoice_1, amount_1), (invoice_2, amount_2), (invoice_3, amount_3)]
    with session_scope(_engine(request)) as session:
        currency = _payment(session, identity, payment_id).currency
    requested: list[tuple[str, Decimal]] = []
    for row, (invoice, amount) in enumerate(typed, 1):
        if not invoice.strip() and not amount.strip():
            continue
        if not invoice.strip():
            raise HTTPException(422, f"invoice_{row}: name the invoice the amount in row {row} pays")
        parsed = form_amount(amount, field=f"amount_{row}", currency=currency)
        assert parsed is not None
        requested.append((invoice.strip(), parsed))
    if not requested:
        raise HTTPException(422, "invoice_1: name at least one invoice and its amount")
    off = form_amount(write_off, field="write_off", currency=currency, required=False, allow_zero=True)
    off = off or Decimal(0)
    if off and not reason.strip():
        raise HTTPException(422, "reason: say why the write-off is written off")
    if step == "book":
        result = _decide(request, identity, payment_id, lambda: payment_service.resolve_payment(
            _engine(request), identity.tenant_id, payment_id, requested, actor=identity.actor,
            reason=_said(reason) or "allocated by hand", write_off=off,
        ))  # fmt: skip
        return redirect(request, f"/console/payments/{payment_id}", f"Booked: {result}.")
    try:
        with session_scope(_engine(request)) as session:
            payment = _payment(session, identity, payment_id)
            preview = review.preview_allocations(session, payment, requested, off)
    except payment_service.ResolutionRefused as error:
        raise HTTPException(422, f"{error.field}: {error.reason}") from None
    except AmbiguousReference as error:
        raise HTTPException(409, str(error)) from None
    hand = {
        "rows": [{"invoice": i, "amount": a} for i, a in typed],
        "write_off": write_off,
        "reason": reason,
    }
    return _payment_page(request, identity, payment_id, hand=hand, preview=preview)


@router.post("/console/payments/{payment_id}/ignore")
def ignore(request: Request, identity: CreditController, payment_id: str, reason: Reason) -> Response:
    """Not an invoice payment (a refund, a transfer): nothing applied, kept with the reason."""
    if not reason.strip():
        raise HTTPException(422, "reason: say why this payment pays no invoice")
    _decide(request, identity, payment_id, lambda: payment_service.ignore_payment(
        _engine(request), identity.tenant_id, payment_id, actor=identity.actor, reason=reason.strip(),
    ))  # fmt: skip
    return redirect(request, f"/console/payments/{payment_id}", "Ignored: nothing applied.", kind="info")


@router.post("/console/payments/{payment_id}/reverse")
def reverse(request: Request, identity: CreditController, payment_id: str, reason: Reason) -> Response:
    """Take back what the payment applied; it waits as an exception again."""
    if not reason.strip():
        raise HTTPException(422, "reason: say why the allocation is reversed")
    words = _decide(request, identity, payment_id, lambda: payment_service.reverse_payment(
        _engine(request), identity.tenant_id, payment_id, actor=identity.actor, reason=reason.strip(),
    ))  # fmt: skip
    return redirect(
        request, f"/console/payments/{payment_id}", f"Reversed: {words}; the payment is an exception again."
    )
