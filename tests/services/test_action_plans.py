"""The plans behind the console's previews: `plan_resend`, `plan_correction` with `correction_outlook`, and
`cancel_refusal` read only, and say exactly what the action that follows them then does (or refuses)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Engine, func, select
from sqlmodel import col

from db.engine import session_scope
from db.models import Delivery, DeliveryEvent, InvoiceRecord
from gateway.samples import sample_invoice_json
from gateway.services.inbound.pods import link_pod, receive_pod
from gateway.services.outbound import corrections
from gateway.services.outbound import deliveries as delivery_service
from gateway.services.outbound import resend as resend_service
from gateway.services.outbound.documents import document_store
from gateway.services.outbound.intake import IntakeItem, accept_invoices
from gateway.services.tenancy.tenants import ensure_tenant
from gateway.settings import Settings
from gateway.worker import Worker
from outbox.states import IllegalTransition
from tests.services.test_resend_with_pod import photo, pod_pdf


def _accept(engine: Engine, count: int = 1, start: int = 1) -> list[str]:
    with session_scope(engine) as session:
        ensure_tenant(session, "acme")
    items = [IntakeItem(sample_invoice_json(n)) for n in range(start, start + count)]
    results = accept_invoices(engine, "acme", items, actor="test", default_channel="folder")
    return [result.invoice_id or "" for result in results]


def _written(engine: Engine) -> dict[str, Any]:
    with session_scope(engine) as session:
        return {
            "deliveries": sorted(
                tuple(row)
                for row in session.execute(
                    select(Delivery.id, Delivery.status, Delivery.attempt, Delivery.address)
                ).all()
            ),
            "events": session.execute(select(func.count()).select_from(DeliveryEvent)).scalar_one(),
            "payloads": sorted(session.execute(select(InvoiceRecord.payload)).scalars()),
        }


def _pods(engine: Engine, settings: Settings, invoice_id: str) -> list[str]:
    """A signed PDF linked to the invoice, and a photo that is not linked to it."""
    store = document_store(settings)
    signed = receive_pod(engine, store, tenant_id="acme", data=pod_pdf(1), filename="signed.pdf", actor="t")
    other = receive_pod(engine, store, tenant_id="acme", data=photo(), filename="other.png", actor="t")
    with session_scope(engine) as session:
        link_pod(session, "acme", signed.pod_ids[0], invoice_id, "t")
    return [signed.pod_ids[0], other.pod_ids[0]]


def test_the_resend_plan_writes_nothing_and_is_what_the_resend_does(
    engine: Engine, settings: Settings
) -> None:
    [invoice_id] = _accept(engine)
    Worker(engine, settings, worker_id="w").run(once=True)
    linked, unlinked = _pods(engine, settings, invoice_id)
    with session_scope(engine) as session:
        held = Delivery(invoice_id=invoice_id, tenant_id="acme", channel="print", status="held")
        session.add(held)
        session.flush()
        held_id = held.id
    before = _written(engine)
    with session_scope(engine) as session:
        base = resend_service.base_delivery(session, "acme", invoice_id, delivery_id=None, channel="folder")
        plan = resend_service.plan_resend(
            session, base, reason="never arrived", with_pod=True, channel="email", address="k@buyer.example"
        )
        assert plan.new_delivery and (plan.channel, plan.address) == ("email", "k@buyer.example")
        assert plan.pod_ids == (linked,) and len(plan.document_ids) == 1
        assert [row.id for row in plan.waiting] == [held_id]  # the held letter would go out too
        with pytest.raises(resend_service.NoProofOfDelivery, match=unlinked):
            resend_service.plan_resend(
                session, base, reason=None, with_pod=True, channel=None, address=None, only_pods=[unlinked]
            )
    assert _written(engine) == before

    with session_scope(engine) as session:
        base = session.get(Delivery, plan.base.id)
        assert base is not None
        resent = resend_service.resend_delivery(
            session, base, actor="console:o@x", reason="never arrived", with_pod=True, channel="email",
            address="k@buyer.example",
        )  # fmt: skip
        siblings = resend_service.settle_siblings(
            session, resent, actor="console:o@x", reason="never arrived", cancel_others=False
        )
        assert (resent.channel, resent.address) == (plan.channel, plan.address)
        assert resent.extra_documents == list(plan.document_ids)
        assert [sibling.delivery.id for sibling in siblings] == [row.id for row in plan.waiting]


def test_the_resend_plan_refuses_what_the_resend_refuses(engine: Engine) -> None:
    [invoice_id] = _accept(engine)  # queued: not sent yet
    with session_scope(engine) as session:
        [queued] = delivery_service.deliveries_of_invoice(session, "acme", invoice_id)
        with pytest.raises(IllegalTransition, match="from queued to queued"):
            resend_service.plan_resend(
                session, queued, reason=None, with_pod=False, channel=None, address=None
            )
        with pytest.raises(resend_service.NoProofOfDelivery):
            resend_service.plan_resend(
                session, queued, reason=None, with_pod=True, channel="email", address=None
            )
        queued.status = "batched"
        with pytest.raises(resend_service.ResendRefused, match="waiting in a print batch"):
            resend_service.plan_resend(
                session, queued, reason=None, with_pod=False, channel="email", address=None
            )
        session.rollback()


def test_a_delivery_of_another_invoice_is_not_found(engine: Engine) -> None:
    first, second = _accept(engine, 2)
    with session_scope(engine) as session:
        [other] = delivery_service.deliveries_of_invoice(session, "acme", second)
        with pytest.raises(delivery_service.NotFound):
            resend_service.base_delivery(session, "acme", first, delivery_id=other.id, channel=None)
        with pytest.raises(delivery_service.NotFound):
            delivery_service.find_invoice_delivery(session, "globex", second, other.id)


def test_the_correction_plan_writes_nothing_and_is_what_the_correction_writes(
    engine: Engine, settings: Settings
) -> None:
    [invoice_id] = _accept(engine)
    Worker(engine, settings, worker_id="w").run(once=True)
    before = _written(engine)
    with session_scope(engine) as session:
        plan = corrections.plan_correction(
            session, "acme", invoice_id, reason="bounce", buyer_address=None,
            buyer_email="new@buyer.example", buyer_endpoint=None, lock=False,
        )  # fmt: skip
        assert plan.corrected == ["buyer.contact.email"]
        assert plan.after == {"buyer.contact.email": "new@buyer.example"}
        assert plan.target is not None and plan.target.channel == "folder"
        notes, siblings = corrections.correction_outlook(session, plan, resend=True, cancel_others=False)
        assert (notes, siblings) == ([], ())
        notes, _ = corrections.correction_outlook(session, plan, resend=False, cancel_others=False)
        assert notes == []
        with pytest.raises(corrections.CorrectionInvalid, match="cancel_others"):
            corrections.correction_outlook(session, plan, resend=False, cancel_others=True)
    assert _written(engine) == before
    with session_scope(engine) as session:
        done = corrections.correct_and_resend(
            session, "acme", invoice_id, actor="console:o@x", reason="bounce", buyer_address=None,
            buyer_email="new@buyer.example", buyer_endpoint=None, resend=True,
        )  # fmt: skip
        assert done.corrected == plan.corrected and done.channels == plan.channels
        assert done.resent is not None and done.resent.id == plan.target.id and done.resent.attempt == 2


def test_the_correction_outlook_says_what_a_resend_would_refuse_or_note(engine: Engine) -> None:
    [invoice_id] = _accept(engine)  # its folder delivery is still queued
    with session_scope(engine) as session:
        plan = corrections.plan_correction(
            session, "acme", invoice_id, reason="moved", buyer_address=None,
            buyer_email="new@buyer.example", buyer_endpoint=None, lock=False,
        )  # fmt: skip
        notes, _ = corrections.correction_outlook(session, plan, resend=True, cancel_others=False)
        assert notes == [f"delivery {plan.target.id} is still queued: it goes out with the corrected data"]
        plan.target = None
        with pytest.raises(corrections.CorrectionRefused, match="no delivery on email"):
            corrections.correction_outlook(session, plan, resend=True, cancel_others=False)
        assert corrections.correction_outlook(session, plan, resend=False, cancel_others=False) == (
            ["no delivery on email to send again"],
            (),
        )


def test_cancel_refusal_says_before_what_cancel_refuses(engine: Engine, settings: Settings) -> None:
    [delivered_invoice] = _accept(engine)
    Worker(engine, settings, worker_id="w").run(once=True)
    [later] = _accept(engine, 1, start=2)
    with session_scope(engine) as session:
        [delivered] = delivery_service.deliveries_of_invoice(session, "acme", delivered_invoice)
        [queued] = delivery_service.deliveries_of_invoice(session, "acme", later)
        refusal = delivery_service.cancel_refusal(session, delivered)
        assert refusal is not None and "cannot go from delivered to cancelled" in refusal
        assert delivery_service.cancel_refusal(session, queued) is None
        assert resend_service.waiting_deliveries(session, "acme", later) == [queued]
        with pytest.raises(IllegalTransition) as refused:
            delivery_service.cancel(session, delivered, actor="console:o@x", reason="late")
        assert str(refused.value) == refusal
        delivery_service.cancel(session, queued, actor="console:o@x", reason="withdrawn")
        assert resend_service.waiting_deliveries(session, "acme", later) == []
    with session_scope(engine) as session:
        statuses = session.execute(
            select(Delivery.status).where(col(Delivery.invoice_id).in_([delivered_invoice, later]))
        ).scalars()
        assert sorted(statuses) == ["cancelled", "delivered"]
