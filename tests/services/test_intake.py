"""Invoice intake as a service: one batch meets its own repeats, and one refused invoice spoils nothing.

The API tests cover repeats across requests; these cover what one batch learns as it goes (an invoice
accepted early in a batch is a known invoice for the rest of it).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, func, select

from db.engine import session_scope
from db.models import Delivery, DeliveryEvent, InvoiceRecord
from gateway.samples import sample_invoice_json
from gateway.services.outbound.intake import IntakeItem, accept_invoices
from gateway.services.tenancy.tenants import ensure_tenant


def _accept(engine: Engine, items: list[IntakeItem]) -> list[Any]:
    with session_scope(engine) as session:
        ensure_tenant(session, "acme")
    return accept_invoices(engine, "acme", items, actor="test", default_channel="folder")


def _count(engine: Engine, table: Any) -> int:
    with session_scope(engine) as session:
        return int(session.execute(select(func.count()).select_from(table)).scalar_one())


def test_one_batch_answers_its_own_repeats(engine: Engine) -> None:
    changed = sample_invoice_json(1)
    changed["notes"] = ["another invoice under the same number"]
    results = _accept(
        engine,
        [
            IntakeItem(sample_invoice_json(1)),
            IntakeItem(sample_invoice_json(1)),
            IntakeItem(changed, idempotency_key="k-other"),
            IntakeItem(sample_invoice_json(2), idempotency_key="k-2"),
            IntakeItem(sample_invoice_json(3), idempotency_key="k-2"),
        ],
    )
    assert [r.outcome for r in results] == ["created", "duplicate", "conflict", "created", "conflict"]
    assert results[1].invoice_id == results[2].invoice_id == results[0].invoice_id
    assert results[4].invoice_id == results[3].invoice_id
    assert "with different content" in results[2].errors[0]["reason"]
    assert "Idempotency-Key" in results[4].errors[0]["reason"]
    assert (_count(engine, InvoiceRecord), _count(engine, Delivery), _count(engine, DeliveryEvent)) == (
        2,
        2,
        2,
    )


def test_a_refused_route_rejects_only_its_invoice(engine: Engine) -> None:
    unknown = sample_invoice_json(2)
    unknown["routing"] = {"receiver_id": "nobody"}
    results = _accept(engine, [IntakeItem(sample_invoice_json(1)), IntakeItem(unknown), IntakeItem("junk")])
    assert [r.outcome for r in results] == ["created", "rejected", "rejected"]
    assert results[1].errors == [
        {"field": "routing.receiver_id", "reason": "no receiver profile 'nobody' for this tenant"}
    ]
    assert results[1].number == unknown["number"]
    assert _count(engine, InvoiceRecord) == 1
