"""Payments and people's decisions on them: resolve, approve, ignore, reverse."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Query

from gateway.api.deps import EngineDep, IdentityDep, SessionDep
from gateway.api.errors import ErrorAnswer
from gateway.api.params import Since
from gateway.api.requests import PaymentApprovalRequest, PaymentResolutionRequest, ResolveRequest
from gateway.api.views import PaymentDecision, PaymentList, PaymentView
from gateway.services.payments import matching_runs as payment_service

router = APIRouter(tags=["payments"])

Decided = TypeVar("Decided", PaymentDecision, PaymentView)


@router.get("/payments")
def get_payments(
    identity: IdentityDep,
    session: SessionDep,
    status: str | None = None,
    since: Since = None,
    file_id: str | None = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 100,
) -> PaymentList:
    """Payments and what became of them (`exception`, `needs_approval`: the work queue)."""
    found = payment_service.list_payments(
        session, identity.tenant_id, status=status, since=since, file_id=file_id, limit=limit
    )
    return PaymentList.model_validate({"items": [payment_service.payment_view(session, p) for p in found]})


@router.get("/payments/{payment_id}")
def get_payment(payment_id: str, identity: IdentityDep, session: SessionDep) -> PaymentView:
    """One payment: what the file said, the engine's evidence and suggestions, what was applied."""
    payment = payment_service.get_payment(session, identity.tenant_id, payment_id)
    return PaymentView.model_validate(payment_service.payment_view(session, payment))


def _decide(view: type[Decided], decision: Callable[[], dict[str, Any]]) -> Decided:
    """A person's decision booked; an unknown payment or a refused decision answered with its field."""
    try:
        return view.model_validate(decision())
    except payment_service.PaymentNotFound as error:
        raise ErrorAnswer.one(404, "payment_id", str(error)) from None
    except payment_service.ResolutionRefused as error:
        raise ErrorAnswer(422, [error.as_dict()]) from None


@router.post("/payments/{payment_id}/resolve")
def resolve_payment_route(
    payment_id: str, body: PaymentResolutionRequest, identity: IdentityDep, engine: EngineDep
) -> PaymentDecision:
    """A person's answer: which invoices the payment settles. The gateway learns the payer's account,
    name and reference pattern from it (unless `learn` is false)."""
    allocations = [(allocation.invoice_id, allocation.amount) for allocation in body.allocations]
    return _decide(PaymentDecision, lambda: payment_service.resolve_payment(
        engine, identity.tenant_id, payment_id, allocations, actor=identity.actor, reason=body.reason,
        write_off=body.write_off, learn=body.learn,
    ))  # fmt: skip


@router.post("/payments/{payment_id}/approve")
def approve_payment_route(
    payment_id: str, body: PaymentApprovalRequest, identity: IdentityDep, engine: EngineDep
) -> PaymentDecision:
    """Book the engine's proposal (needs approval) or one of its suggestions (exception)."""
    return _decide(PaymentDecision, lambda: payment_service.approve_payment(
        engine, identity.tenant_id, payment_id, actor=identity.actor, reason=body.reason,
        suggestion=body.suggestion,
    ))  # fmt: skip


@router.post("/payments/{payment_id}/ignore")
def ignore_payment_route(
    payment_id: str, body: ResolveRequest, identity: IdentityDep, engine: EngineDep
) -> PaymentDecision:
    """Not an invoice payment (a refund, a transfer): nothing applied, kept with the reason."""
    return _decide(PaymentDecision, lambda: payment_service.ignore_payment(
        engine, identity.tenant_id, payment_id, actor=identity.actor, reason=body.reason))  # fmt: skip


@router.post("/payments/{payment_id}/reverse")
def reverse_payment_route(
    payment_id: str, body: ResolveRequest, identity: IdentityDep, engine: EngineDep
) -> PaymentView:
    """Take back what was applied; the payment waits as an exception again."""
    return _decide(PaymentView, lambda: payment_service.reverse_payment(
        engine, identity.tenant_id, payment_id, actor=identity.actor, reason=body.reason))  # fmt: skip
