"""The credit note a dispute's agreed credit becomes: the amount spread over the invoice's VAT categories in
whole cents, VAT = round(net × rate) exactly per category, the total exactly the credit, and the intake
takes it (its EN 16931 checks, with no tolerance used: no arithmetic warning)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import Engine

from db.engine import session_scope
from db.models import InvoiceRecord
from db.models.followup import Dispute
from gateway.samples import sample_invoice_json
from gateway.services.followup.disputes import credit_note_for, spread_credit
from gateway.services.outbound.intake import IntakeItem, accept_in_session, accept_invoices
from gateway.services.tenancy.tenants import ensure_tenant
from schemas.canonical import Invoice, round_amount

AMOUNTS = ["0.01", "0.02", "0.03", "0.05", "1.00", "99.99", "333.33", "1234.56"]


@pytest.mark.parametrize("amount", [Decimal(a) for a in AMOUNTS])
def test_a_credit_spreads_over_the_vat_categories_in_exact_cents(amount: Decimal) -> None:
    invoice = Invoice.model_validate(sample_invoice_json(5))
    parts, rounding = spread_credit(invoice, amount)
    assert sum((p.net + p.tax for p in parts), Decimal(0)) + rounding == amount
    assert abs(rounding) <= Decimal("0.01")
    for part in parts:
        assert part.tax == round_amount(part.net * (part.rate or Decimal(0)) / 100)


def test_credit_notes_for_many_amounts_pass_the_intake(engine: Engine) -> None:
    with session_scope(engine) as session:
        ensure_tenant(session, "acme")
    [created] = accept_invoices(
        engine, "acme", [IntakeItem(sample_invoice_json(5))], actor="t", default_channel="folder"
    )
    assert created.invoice_id is not None
    with session_scope(engine) as session:
        record = session.get(InvoiceRecord, created.invoice_id)
        assert record is not None
        payable = Decimal(record.payable_amount)
        dispute = Dispute(
            tenant_id="acme", invoice_id=record.id, category="goods", origin="internal", reason="test",
            status="awaiting_approval", opened_by="t",
        )  # fmt: skip
        session.add(dispute)
        session.flush()
        for index, amount in enumerate([*(Decimal(a) for a in AMOUNTS), payable - Decimal("0.01"), payable]):
            note = credit_note_for(session, dispute, record, amount, dt.date(2026, 11, 20))
            assert note.totals.payable == amount
            assert note.arithmetic_warnings == []
            data = note.model_dump(mode="json", exclude_none=True)
            data["number"] = f"CN-T-{index}"
            [result] = accept_in_session(
                session, "acme", [IntakeItem(data)], actor="t", default_channel="folder"
            )
            assert result.outcome == "created", (amount, result.errors)
